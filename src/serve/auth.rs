//! Who may ask: a bearer token for the API, and for the what-if page a session cookie
//! given once the token is typed into its login form.
//!
//! The token is kept only as its SHA-256 digest and a given token is hashed and compared in
//! constant time, so neither its bytes nor its length leak through timing. Sessions are
//! random 256-bit ids, stored hashed, that expire; the cookie is `HttpOnly` (no script can
//! read it) and `SameSite=Strict` (no other site's page can send it, so no form elsewhere can
//! run a what-if in a planner's name).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::extract::{Request, State};
use axum::http::{header, HeaderMap};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::error::ApiError;
use super::state::AppState;
use crate::{Error, Problem, Result};

/// The session cookie's name.
pub const COOKIE: &str = "idmaj_session";
/// How long a session lasts.
const SESSION_LIFE: Duration = Duration::from_secs(12 * 3600);
/// Sessions kept at most; the oldest goes first.
const MAX_SESSIONS: usize = 1024;
/// Shortest token accepted: guessing must be hopeless even without a rate limit.
pub const MIN_TOKEN_LEN: usize = 16;

type Digest32 = [u8; 32];

fn digest(s: &[u8]) -> Digest32 {
    Sha256::digest(s).into()
}

/// The token and the open sessions.
pub struct Auth {
    token: Digest32,
    sessions: Mutex<HashMap<Digest32, Instant>>,
}

impl Auth {
    /// Checks `token` (at least [`MIN_TOKEN_LEN`] characters, no spaces at its ends).
    pub fn new(token: &str) -> Result<Auth> {
        if token.chars().count() < MIN_TOKEN_LEN || token.trim() != token {
            return Err(Error::from(Problem::error(
                "IDMAJ_TOKEN",
                format!("the token must be at least {MIN_TOKEN_LEN} characters, without spaces at its ends (e.g. 32 random hex digits)"),
            )));
        }
        Ok(Auth {
            token: digest(token.as_bytes()),
            sessions: Mutex::new(HashMap::new()),
        })
    }

    /// A random token for a run started without one.
    pub fn random_token() -> Result<String> {
        Ok(hex(&random_bytes()?))
    }

    /// True when `given` is the token (constant time).
    pub fn token_ok(&self, given: &str) -> bool {
        digest(given.as_bytes()).ct_eq(&self.token).into()
    }

    /// A new session: the cookie value to give the browser.
    pub fn start_session(&self) -> Result<String> {
        let id = hex(&random_bytes()?);
        let now = Instant::now();
        let mut sessions = self.lock();
        sessions.retain(|_, until| *until > now);
        if sessions.len() >= MAX_SESSIONS {
            if let Some(oldest) = sessions.iter().min_by_key(|(_, t)| **t).map(|(k, _)| *k) {
                sessions.remove(&oldest);
            }
        }
        sessions.insert(digest(id.as_bytes()), now + SESSION_LIFE);
        Ok(id)
    }

    /// True when the request carries a live session cookie.
    pub fn session_ok(&self, headers: &HeaderMap) -> bool {
        let Some(id) = session_cookie(headers) else {
            return false;
        };
        let now = Instant::now();
        self.lock()
            .get(&digest(id.as_bytes()))
            .is_some_and(|until| *until > now)
    }

    /// Ends the request's session, if any.
    pub fn end_session(&self, headers: &HeaderMap) {
        if let Some(id) = session_cookie(headers) {
            self.lock().remove(&digest(id.as_bytes()));
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Digest32, Instant>> {
        // A panic while holding the lock leaves the map whole: keep using it.
        self.sessions
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// The `Set-Cookie` value for session `id`; an empty id clears the cookie.
pub fn set_cookie(id: &str) -> String {
    let max_age = if id.is_empty() {
        0
    } else {
        SESSION_LIFE.as_secs()
    };
    format!("{COOKIE}={id}; Path=/; HttpOnly; SameSite=Strict; Max-Age={max_age}")
}

fn session_cookie(headers: &HeaderMap) -> Option<&str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == COOKIE)
        .map(|(_, v)| v)
}

fn random_bytes() -> Result<[u8; 32]> {
    let mut b = [0u8; 32];
    getrandom::fill(&mut b)
        .map_err(|e| Error::Internal(format!("no randomness from the system: {e}")))?;
    Ok(b)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Middleware: the API's routes need `Authorization: Bearer <token>`.
pub async fn require_token(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let given = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim);
    match given {
        Some(t) if state.auth().token_ok(t) => next.run(req).await,
        _ => ApiError::Unauthorized.into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn tokens_are_checked_whole() {
        let auth = Auth::new("0123456789abcdef").unwrap();
        assert!(auth.token_ok("0123456789abcdef"));
        assert!(!auth.token_ok("0123456789abcde"));
        assert!(!auth.token_ok("0123456789abcdef0"));
        assert!(!auth.token_ok(""));
        assert!(Auth::new("short").is_err());
        assert!(Auth::new(" 0123456789abcdef").is_err());
        assert_eq!(Auth::random_token().unwrap().len(), 64);
    }

    #[test]
    fn sessions_open_and_close() {
        let auth = Auth::new("0123456789abcdef").unwrap();
        let id = auth.start_session().unwrap();
        let mut h = HeaderMap::new();
        assert!(!auth.session_ok(&h));
        h.insert(
            header::COOKIE,
            HeaderValue::from_str(&format!("other=1; {COOKIE}={id}")).unwrap(),
        );
        assert!(auth.session_ok(&h));
        auth.end_session(&h);
        assert!(!auth.session_ok(&h));
        assert!(set_cookie(&id).contains("HttpOnly; SameSite=Strict"));
    }
}
