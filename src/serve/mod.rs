//! `idmaj serve`: the engine over HTTP, for case-management systems (a JSON API) and for
//! planners (a what-if page), so neither needs the command line or files.
//!
//! One [`Engine`](crate::Engine) per scenario is loaded at start, its applicants assessed
//! and allocated once; every request then works in memory. The server is safe to leave
//! running: it listens on loopback unless told otherwise, wants a token for everything but
//! its health check, bounds every request's size, applicants, work and time, and logs no
//! personal data (see `log`).
//!
//! One file per concern: `state` (scenarios, limits, the worker pool), `auth` (token and
//! sessions), `body` (JSON bodies and their problems), `error` (the error bodies), `api`
//! (the JSON routes), `page` (the what-if page), `log` (the request log).

mod api;
mod auth;
mod body;
mod error;
mod log;
mod page;
mod state;

use std::io::Write as _;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use axum::extract::{Request, State};
use axum::http::{header, StatusCode};
use axum::middleware::{from_fn, from_fn_with_state, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::serve::ListenerExt as _;
use axum::Router;
use serde::Serialize;

use crate::{Error, Problem, Result};
use auth::Auth;
use error::ApiError;
pub use state::Limits;
use state::{AppState, Served};

/// How to run the server.
#[derive(Debug, Clone)]
pub struct Options {
    /// The scenarios to serve (folders or scenario TOML files), each under its folder name.
    pub scenarios: Vec<PathBuf>,
    /// Where to listen.
    pub addr: SocketAddr,
    /// The token; `None` makes a random one for this run (loopback only).
    pub token: Option<String>,
    /// Limits on requests.
    pub limits: Limits,
}

/// A JSON answer.
pub(crate) fn json_response(status: StatusCode, value: &impl Serialize) -> Response {
    match serde_json::to_vec(value) {
        Ok(bytes) => (status, [(header::CONTENT_TYPE, "application/json")], bytes).into_response(),
        Err(e) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("cannot write the answer: {e}"),
        )
            .into_response(),
    }
}

/// Every route, with authentication, limits and the request log.
fn router(state: AppState) -> Router {
    let api = Router::new()
        .route("/v1/scenarios", get(api::list))
        .route("/v1/scenarios/{name}/assess", post(api::assess))
        .route("/v1/scenarios/{name}/allocate", post(api::allocate))
        .route("/v1/scenarios/{name}/sweep", post(api::sweep))
        .route("/v1/scenarios/{name}/explain/{id}", get(api::explain))
        .route("/openapi.json", get(api::openapi))
        .route_layer(from_fn_with_state(state.clone(), auth::require_token));
    Router::new()
        .route("/v1/health", get(api::health))
        .route("/", get(page::show))
        .route("/login", post(page::login))
        .route("/logout", post(page::logout))
        .merge(api)
        .route_layer(from_fn(log::tag_route))
        .fallback(|| async { ApiError::NotFound("no such route; see GET /openapi.json".into()) })
        .method_not_allowed_fallback(|| async { ApiError::MethodNotAllowed })
        .layer(from_fn_with_state(state.clone(), time_limit))
        .layer(from_fn(log::log_request))
        .with_state(state)
}

/// Middleware: a request not answered within the time limit is answered 503 (the work it
/// started finishes on its worker, which stays counted against the pool).
async fn time_limit(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let limit = state.limits().timeout;
    match tokio::time::timeout(limit, next.run(req)).await {
        Ok(r) => r,
        Err(_) => ApiError::Timeout(limit.as_secs()).into_response(),
    }
}

/// Checks the options, loads every scenario, then serves until interrupted (Ctrl-C or
/// SIGTERM). Prints `listening on http://ADDR` on stdout once ready.
pub fn run(options: Options) -> Result<ExitCode> {
    let token = match options.token {
        Some(t) => t,
        None if options.addr.ip().is_loopback() => {
            let t = Auth::random_token()?;
            eprintln!(
                "no IDMAJ_TOKEN or --token-file: this run's token is {t}\n\
                 (send it as `Authorization: Bearer {t}`, or type it on the page)"
            );
            t
        }
        None => {
            return Err(Error::from(Problem::error(
                "--addr",
                format!(
                    "{} is not a loopback address: set IDMAJ_TOKEN or --token-file before serving beyond this machine",
                    options.addr
                ),
            )))
        }
    };
    let auth = Auth::new(&token)?;
    let scenarios = options
        .scenarios
        .iter()
        .map(|p| Served::load(p))
        .collect::<Result<Vec<_>>>()?;
    for s in &scenarios {
        if let Err(e) = &s.base {
            eprintln!("warning: {}: no base allocation: {}", s.name, e.message());
        }
    }
    let limits = options.limits;
    let workers = limits.workers.max(1);
    let state = AppState::new(scenarios, limits, auth)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(workers)
        .enable_all()
        .build()
        .map_err(|e| Error::Internal(format!("cannot start the async runtime: {e}")))?;
    let served = runtime.block_on(serve(options.addr, state));
    // Work still running on a blocking thread (a long solve) is not waited for long.
    runtime.shutdown_timeout(std::time::Duration::from_secs(5));
    served?;
    Ok(ExitCode::SUCCESS)
}

async fn serve(addr: SocketAddr, state: AppState) -> Result<()> {
    let cannot = |e: std::io::Error| {
        Error::from(Problem::error(
            "--addr",
            format!("cannot listen on {addr}: {e}"),
        ))
    };
    let listener = tokio::net::TcpListener::bind(addr).await.map_err(cannot)?;
    let bound = listener.local_addr().map_err(cannot)?;
    let names: Vec<&str> = state.scenarios().iter().map(|s| s.name.as_str()).collect();
    {
        let mut out = std::io::stdout().lock();
        let _ = writeln!(
            out,
            "listening on http://{bound} (scenarios: {})",
            names.join(", ")
        );
        let _ = out.flush();
    }
    let listener = listener.tap_io(|tcp| {
        // Small JSON answers go out at once rather than waiting for more to send.
        let _ = tcp.set_nodelay(true);
    });
    axum::serve(listener, router(state))
        .with_graceful_shutdown(shutdown())
        .await
        .map_err(|e| Error::Internal(format!("the server stopped: {e}")))
}

/// Resolves on Ctrl-C or SIGTERM.
async fn shutdown() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = term => {}
    }
}
