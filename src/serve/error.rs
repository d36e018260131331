//! Every failure of a request as one JSON shape per HTTP status, so a client can branch on
//! `error` and read the problems it already knows from the library and the command line.
//!
//! Bad input of any kind (a malformed body, an unknown key, an invalid applicant) is a 400
//! with [`Problem`]s; only a broken invariant of the library is a 500.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::{Error, Problem, Problems};

/// Why a request failed.
#[derive(Debug, Clone)]
pub enum ApiError {
    /// 400: the problems, as the command line would print them.
    BadInput(Problems),
    /// 401: no valid token (or session, for the page).
    Unauthorized,
    /// 404: what was not found.
    NotFound(String),
    /// 405: the route exists with another method.
    MethodNotAllowed,
    /// 413: the body, or the number of applicants in it, is over its limit (in words).
    TooLarge(String),
    /// 422: the scenario's constraints cannot all hold.
    Infeasible {
        constraints: Vec<String>,
        shortfall: Option<i64>,
        message: String,
    },
    /// 503: the request's time limit (seconds) passed before its answer was ready.
    Timeout(u64),
    /// 500: a bug, never bad input.
    Internal(String),
}

impl ApiError {
    /// A 400 with one problem.
    pub fn bad(p: Problem) -> ApiError {
        ApiError::BadInput(p.into())
    }

    /// The status this error is answered with.
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::BadInput(_) => StatusCode::BAD_REQUEST,
            ApiError::Unauthorized => StatusCode::UNAUTHORIZED,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::Infeasible { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::Timeout(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The JSON body (fields in this order, absent ones left out).
    pub fn body(&self) -> ErrorBody<'_> {
        let mut b = ErrorBody {
            error: "",
            problems: None,
            omitted: None,
            constraints: None,
            shortfall: None,
            message: None,
        };
        match self {
            ApiError::BadInput(ps) => {
                b.error = "bad_input";
                b.problems = Some(&ps.list);
                b.omitted = (ps.omitted > 0).then_some(ps.omitted);
            }
            ApiError::Unauthorized => b.error = "unauthorized",
            ApiError::NotFound(what) => {
                b.error = "not_found";
                b.message = Some(what.clone());
            }
            ApiError::MethodNotAllowed => {
                b.error = "method_not_allowed";
                b.message = Some("see GET /openapi.json".into());
            }
            ApiError::TooLarge(message) => {
                b.error = "too_large";
                b.message = Some(message.clone());
            }
            ApiError::Infeasible {
                constraints,
                shortfall,
                message,
            } => {
                b.error = "infeasible";
                b.constraints = Some(constraints);
                b.shortfall = Some(*shortfall);
                b.message = Some(message.clone());
            }
            ApiError::Timeout(secs) => {
                b.error = "timeout";
                b.message = Some(format!(
                    "no answer within the time limit of {secs} s; try again later or with less work"
                ));
            }
            ApiError::Internal(m) => {
                b.error = "internal";
                b.message = Some(m.clone());
            }
        }
        b
    }

    /// The error in words, for the what-if page.
    pub fn message(&self) -> String {
        match self {
            ApiError::BadInput(ps) => ps.to_string(),
            ApiError::Unauthorized => "unauthorized".to_string(),
            other => other.body().message.unwrap_or_default(),
        }
    }
}

/// The JSON of an error: `{"error", "problems"?, "omitted"?, "constraints"?, "shortfall"?,
/// "message"?}`.
#[derive(Serialize)]
pub struct ErrorBody<'a> {
    error: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    problems: Option<&'a [Problem]>,
    #[serde(skip_serializing_if = "Option::is_none")]
    omitted: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    constraints: Option<&'a [String]>,
    #[serde(skip_serializing_if = "Option::is_none")]
    shortfall: Option<Option<i64>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    message: Option<String>,
}

impl From<Error> for ApiError {
    fn from(e: Error) -> Self {
        match e {
            Error::Input { problems } | Error::Rules { problems } => ApiError::BadInput(problems),
            Error::Infeasible {
                constraints,
                shortfall,
                message,
            } => ApiError::Infeasible {
                constraints,
                shortfall,
                message,
            },
            other => ApiError::Internal(other.to_string()),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut r = super::json_response(self.status(), &self.body());
        if matches!(self, ApiError::Unauthorized) {
            r.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"idmaj\""),
            );
        }
        r
    }
}
