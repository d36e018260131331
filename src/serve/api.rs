//! The JSON API: health, the scenarios, assess, allocate, sweep and explain, each a thin
//! wrapper over the [`Engine`](crate::Engine) method of the same name.
//!
//! A single applicant is assessed on the thread that answers the request (it takes
//! microseconds); batches, allocations and sweeps go to the worker pool
//! ([`AppState::heavy`]) so they never hold up other requests.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::body::{JsonBody, Ordered};
use super::error::ApiError;
use super::log::ApplicantCount;
use super::state::AppState;
use crate::{Allocation, Applicant, Assessment, Error, Override, Problem, SetValue, Setting};

/// A 200 JSON answer about `applicants` applicants (logged with the request).
fn answer(value: &impl Serialize, applicants: Option<usize>) -> Response {
    let mut r = super::json_response(StatusCode::OK, value);
    if let Some(n) = applicants {
        r.extensions_mut().insert(ApplicantCount(n));
    }
    r
}

/// `GET /v1/health`: no token needed.
pub async fn health() -> Response {
    answer(
        &json!({"status": "ok", "version": env!("CARGO_PKG_VERSION")}),
        None,
    )
}

/// `GET /openapi.json`: the API described.
pub async fn openapi() -> Response {
    (
        [(header::CONTENT_TYPE, "application/json")],
        include_str!("openapi.json"),
    )
        .into_response()
}

/// One entry of `GET /v1/scenarios`.
#[derive(Serialize)]
struct Listed<'a> {
    name: &'a str,
    program: String,
    currency: String,
    applicants: usize,
    budget_total: Option<i64>,
}

/// `GET /v1/scenarios`.
pub async fn list(State(state): State<AppState>) -> Response {
    let list: Vec<Listed> = state
        .scenarios()
        .iter()
        .map(|s| {
            let info = s.engine.info();
            Listed {
                name: &s.name,
                program: info.program,
                currency: info.currency,
                applicants: s.applicants.len(),
                budget_total: info.budget_total,
            }
        })
        .collect();
    answer(&list, None)
}

/// Body of `assess`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AssessBody {
    applicants: Vec<Applicant>,
}

/// `POST /v1/scenarios/{name}/assess`.
pub async fn assess(
    State(state): State<AppState>,
    Path(name): Path<String>,
    JsonBody(body): JsonBody<AssessBody>,
) -> Result<Response, ApiError> {
    let s = state.scenario(&name)?;
    let n = body.applicants.len();
    state.check_count(n)?;
    #[derive(Serialize)]
    struct Answer {
        assessments: Vec<Assessment>,
    }
    let assessments = if n == 1 {
        vec![s.engine.assess(&body.applicants[0])?]
    } else {
        state
            .heavy(move || Ok(s.engine.assess_all(&body.applicants)?))
            .await?
    };
    Ok(answer(&Answer { assessments }, Some(n)))
}

/// Problems about a `set` key or a budget range name the request body and the key, not the
/// command-line flag.
fn in_body(e: Error, key: &str) -> ApiError {
    match e {
        Error::Input { mut problems } => {
            for p in &mut problems.list {
                if matches!(p.file.as_deref(), Some("--set" | "--budget")) {
                    p.file = Some("request body".to_string());
                    p.key.get_or_insert_with(|| key.to_string());
                }
            }
            ApiError::BadInput(problems)
        }
        other => other.into(),
    }
}

fn overrides(set: Ordered<SetValue>) -> Result<Vec<Override>, ApiError> {
    set.0
        .into_iter()
        .map(|(k, v)| Override::new(&k, v).map_err(|e| in_body(e, &k)))
        .collect()
}

/// Body of `allocate`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AllocateBody {
    #[serde(default)]
    set: Ordered<SetValue>,
    #[serde(default)]
    applicants: Option<Vec<Applicant>>,
    /// Decisions of an earlier batch, kept as they were.
    #[serde(default)]
    committed: Option<Vec<crate::Decision>>,
}

/// `POST /v1/scenarios/{name}/allocate`: the scenario's own applicants (or those given), with
/// `set` overrides and, optionally, an earlier batch's `committed` decisions.
pub async fn allocate(
    State(state): State<AppState>,
    Path(name): Path<String>,
    JsonBody(body): JsonBody<AllocateBody>,
) -> Result<Response, ApiError> {
    let s = state.scenario(&name)?;
    if let Some(list) = &body.applicants {
        state.check_count(list.len())?;
    }
    let overrides = overrides(body.set)?;
    let given = body.applicants;
    let committed = body.committed;
    let alloc: Arc<Allocation> = state
        .heavy(move || {
            if overrides.is_empty() && given.is_none() && committed.is_none() {
                return s.base();
            }
            let keys: Vec<&str> = overrides.iter().map(|o| o.key.as_str()).collect();
            let mut engine = s
                .engine
                .with_settings(&overrides)
                .map_err(|e| in_body(e, &keys.join(", ")))?;
            if let Some(c) = committed {
                engine = engine.with_committed(c)?;
            }
            let fresh;
            let assessments: &[Assessment] = match &given {
                Some(list) => {
                    fresh = engine.assess_all(list)?;
                    &fresh
                }
                None if engine.fingerprint() == s.engine.fingerprint() => &s.assessments,
                None => {
                    fresh = engine.assess_all(&s.applicants)?;
                    &fresh
                }
            };
            Ok(Arc::new(engine.allocate(assessments)?))
        })
        .await?;
    Ok(answer(&*alloc, Some(alloc.decisions.len())))
}

/// `budget` of a sweep: `steps` budgets from `from` to `to`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BudgetRange {
    from: i64,
    to: i64,
    steps: u32,
}

/// Body of `sweep`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SweepBody {
    #[serde(default)]
    budget: Option<BudgetRange>,
    #[serde(default)]
    set: Ordered<Vec<SetValue>>,
}

/// `POST /v1/scenarios/{name}/sweep`: one row per point of the grid (`set` keys vary slowest,
/// in the order written; the budget fastest).
pub async fn sweep(
    State(state): State<AppState>,
    Path(name): Path<String>,
    JsonBody(body): JsonBody<SweepBody>,
) -> Result<Response, ApiError> {
    let s = state.scenario(&name)?;
    let mut settings: Vec<Setting> = body
        .set
        .0
        .into_iter()
        .map(|(key, values)| Setting { key, values })
        .collect();
    if let Some(b) = body.budget {
        settings.push(Setting::budget(b.from, b.to, b.steps).map_err(|e| in_body(e, "budget"))?);
    }
    if settings.is_empty() {
        return Err(ApiError::bad(Problem::error(
            "request body",
            "nothing to sweep: give \"budget\": {\"from\", \"to\", \"steps\"} and/or \"set\": {\"key\": [value, ...]}",
        )));
    }
    let points: usize = settings
        .iter()
        .map(|x| x.values.len())
        .try_fold(1usize, usize::checked_mul)
        .unwrap_or(usize::MAX);
    let max = state.limits().max_sweep_points;
    if points > max {
        return Err(ApiError::bad(Problem::error(
            "request body",
            format!("{points} points to solve; a sweep has at most {max}"),
        )));
    }
    let sweep = state
        .heavy(move || s.engine.sweep(&settings).map_err(|e| in_body(e, "set")))
        .await?;
    #[derive(Serialize)]
    struct Answer {
        rows: Vec<crate::SweepRow>,
    }
    let applicants = sweep.rows.first().map(|r| r.applicants as usize);
    Ok(answer(&Answer { rows: sweep.rows }, applicants))
}

/// `GET /v1/scenarios/{name}/explain/{id}`: every check with the fields it read, the
/// assessment and the decision of the scenario as written.
pub async fn explain(
    State(state): State<AppState>,
    Path((name, id)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let s = state.scenario(&name)?;
    let i = s
        .applicants
        .iter()
        .position(|a| a.id() == Some(id.as_str()))
        .ok_or_else(|| {
            ApiError::NotFound(format!("no applicant with id `{id}` in scenario `{name}`"))
        })?;
    let base = s.base()?;
    let assessment = s.engine.explain(&s.applicants[i])?;
    let checks: Vec<CheckRead> = assessment
        .checks
        .iter()
        .map(|c| CheckRead {
            id: &c.id,
            text: &c.text,
            passed: c.passed,
            reads: ReadMap(&c.read),
        })
        .collect();
    let answer_body = Explained {
        assessment: &assessment,
        decision: base.decisions.get(i),
        checks,
    };
    Ok(answer(&answer_body, Some(1)))
}

/// The answer of `explain`.
#[derive(Serialize)]
struct Explained<'a> {
    assessment: &'a Assessment,
    decision: Option<&'a crate::Decision>,
    checks: Vec<CheckRead<'a>>,
}

/// One check with the applicant fields it read.
#[derive(Serialize)]
struct CheckRead<'a> {
    id: &'a str,
    text: &'a str,
    passed: bool,
    reads: ReadMap<'a>,
}

/// `(field, value)` pairs as a JSON object, in the order read.
struct ReadMap<'a>(&'a [(String, String)]);

impl Serialize for ReadMap<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut m = s.serialize_map(Some(self.0.len()))?;
        for (k, v) in self.0 {
            m.serialize_entry(k, v)?;
        }
        m.end()
    }
}
