//! What the server holds: one [`Engine`] per scenario with its applicants, their assessments
//! and the base allocation (computed once at start, since explain and the what-if page need
//! them on every request), the limits, and the pools that keep CPU work off the threads
//! that answer requests.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Semaphore;

use super::auth::Auth;
use super::error::ApiError;
use crate::{Allocation, Applicant, Assessment, Engine, Error, Problem, Result};

/// Limits on what one request may ask.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Largest request body, bytes (larger: 413).
    pub max_body: usize,
    /// Most applicants in one request (more: 413).
    pub max_applicants: usize,
    /// Most points in one sweep.
    pub max_sweep_points: usize,
    /// Time a request may take before it is answered 503.
    pub timeout: Duration,
    /// Allocations, sweeps and large batches solved at once; others wait their turn.
    pub workers: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_body: 16 << 20,
            max_applicants: 20_000,
            max_sweep_points: 101,
            timeout: Duration::from_secs(120),
            workers: std::thread::available_parallelism().map_or(2, |n| n.get()),
        }
    }
}

/// One scenario as served.
pub struct Served {
    /// Its folder name, as in URLs.
    pub name: String,
    /// The engine.
    pub engine: Engine,
    /// The scenario's own applicants, read once.
    pub applicants: Arc<Vec<Applicant>>,
    /// Their assessments, in file order (rule errors are per-row statuses).
    pub assessments: Arc<Vec<Assessment>>,
    /// The allocation of the scenario as written, or why there is none.
    pub base: Result<Arc<Allocation>, ApiError>,
}

impl Served {
    /// Loads the scenario at `path`, reads and assesses its applicants and allocates them.
    /// Bad data or rules stop here, as they stop the command line; an infeasible scenario is
    /// served (its allocations answer 422).
    pub fn load(path: &Path) -> Result<Served> {
        let engine = Engine::load(path)?;
        let applicants = engine.applicants()?;
        let assessments = engine.assess_all(&applicants)?;
        let base = engine
            .allocate(&assessments)
            .map(Arc::new)
            .map_err(ApiError::from);
        Ok(Served {
            name: scenario_name(path),
            engine,
            applicants: Arc::new(applicants),
            assessments: Arc::new(assessments),
            base,
        })
    }

    /// The base allocation.
    pub fn base(&self) -> Result<Arc<Allocation>, ApiError> {
        self.base.clone()
    }
}

/// The name a scenario is served under: its folder's name (for `x/scenario.toml` too), or a
/// TOML file's stem.
pub fn scenario_name(path: &Path) -> String {
    let is_toml = path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("toml"));
    if is_toml && path.file_name().is_some_and(|f| f != "scenario.toml") {
        if let Some(stem) = path.file_stem() {
            return stem.to_string_lossy().into_owned();
        }
    }
    let folder = if is_toml { path.parent() } else { Some(path) };
    let folder = folder
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let folder = std::fs::canonicalize(folder).unwrap_or_else(|_| folder.to_path_buf());
    folder.file_name().map_or_else(
        || "scenario".to_string(),
        |n| n.to_string_lossy().into_owned(),
    )
}

/// Everything the handlers share.
#[derive(Clone)]
pub struct AppState {
    inner: Arc<Inner>,
}

struct Inner {
    scenarios: Vec<Arc<Served>>,
    limits: Limits,
    auth: Auth,
    heavy: Arc<Semaphore>,
}

impl AppState {
    /// The state over `scenarios` (names must differ).
    pub fn new(scenarios: Vec<Served>, limits: Limits, auth: Auth) -> Result<AppState> {
        for (i, s) in scenarios.iter().enumerate() {
            if scenarios[..i].iter().any(|t| t.name == s.name) {
                return Err(Error::from(Problem::error(
                    "serve",
                    format!(
                        "two scenarios are named `{}`; each is served under its folder name, which must differ",
                        s.name
                    ),
                )));
            }
        }
        let heavy = Arc::new(Semaphore::new(limits.workers.max(1)));
        Ok(AppState {
            inner: Arc::new(Inner {
                scenarios: scenarios.into_iter().map(Arc::new).collect(),
                limits,
                auth,
                heavy,
            }),
        })
    }

    /// The limits.
    pub fn limits(&self) -> &Limits {
        &self.inner.limits
    }

    /// Tokens and sessions.
    pub fn auth(&self) -> &Auth {
        &self.inner.auth
    }

    /// Every scenario, in the order given.
    pub fn scenarios(&self) -> &[Arc<Served>] {
        &self.inner.scenarios
    }

    /// The scenario called `name`, or 404.
    pub fn scenario(&self, name: &str) -> Result<Arc<Served>, ApiError> {
        self.inner
            .scenarios
            .iter()
            .find(|s| s.name == name)
            .cloned()
            .ok_or_else(|| ApiError::NotFound(format!("no scenario named `{name}`")))
    }

    /// Refuses more applicants than one request may carry (413).
    pub fn check_count(&self, n: usize) -> Result<(), ApiError> {
        let max = self.inner.limits.max_applicants;
        if n > max {
            return Err(ApiError::TooLarge(format!(
                "{n} applicants in one request; at most {max}"
            )));
        }
        Ok(())
    }

    /// Runs CPU-bound `work` (an allocation, a sweep, a large batch) on a blocking thread,
    /// at most [`Limits::workers`] at once; the others wait. The permit is held until the
    /// work ends, even when the request has timed out, so the limit holds.
    pub async fn heavy<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> Result<T, ApiError> + Send + 'static,
    ) -> Result<T, ApiError> {
        let permit = Arc::clone(&self.inner.heavy)
            .acquire_owned()
            .await
            .map_err(|_| ApiError::Internal("the worker pool is closed".into()))?;
        tokio::task::spawn_blocking(move || {
            let _permit = permit;
            work()
        })
        .await
        .map_err(|e| ApiError::Internal(format!("a worker failed: {e}")))?
    }
}
