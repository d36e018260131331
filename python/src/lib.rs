//! `idmaj._idmaj`: the engine for Python, behind the pure-Python package `idmaj`.
//!
//! Every method goes through the library's [`idmaj::Engine`], so Python gets the answers of
//! the command line and the HTTP API, with the same JSON: results are the library types'
//! serde form made into dicts. The Python package adds what needs Python itself (pandas
//! DataFrames in and out, the exception classes). Work on whole batches runs with the GIL
//! released; a panic becomes a Python exception (`pyo3_runtime.PanicException`), never a
//! crash.
#![deny(missing_docs)]

// The engine allocates a great deal per applicant: mimalloc, as in the command line (where
// it took 30% off scoring time). It serves Rust's allocations in this library only; Python
// objects keep Python's allocator.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

mod convert;
mod errors;
mod topy;

use std::path::PathBuf;

use idmaj::{Assessment, Decision, Error, Problem, Problems, Setting, Sources, Status};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};
use serde::ser::SerializeMap;
use serde::{Serialize, Serializer};

use convert::{list_to_py, to_py};
use errors::{bad_value, exception};

/// One checked scenario with its rules compiled (the library's `Engine`).
#[pyclass(frozen, module = "idmaj._idmaj", name = "Engine")]
struct PyEngine {
    engine: idmaj::Engine,
}

/// A library result as a Python one: the value, or the exception for its error.
fn ok<T>(py: Python<'_>, r: idmaj::Result<T>) -> PyResult<T> {
    r.map_err(|e| exception(py, e))
}

/// Fails with [`Error::Rules`] when the rules failed for any applicant: an allocation is
/// for a whole programme (as `idmaj allocate` refuses one).
fn all_assessed(assessments: &[Assessment]) -> idmaj::Result<()> {
    let problems: Problems = assessments
        .iter()
        .filter_map(|a| match &a.status {
            Status::Error(m) => Some(Problem::error("", m.clone()).applicant(&a.id)),
            _ => None,
        })
        .collect();
    if problems.is_empty() {
        Ok(())
    } else {
        Err(Error::Rules { problems })
    }
}

/// What `explain` returns: the HTTP API's explain body.
#[derive(Serialize)]
struct Explanation<'a> {
    assessment: &'a Assessment,
    decision: &'a Decision,
    checks: Vec<CheckReads<'a>>,
}

/// One check with the applicant fields it had read, as `{field: value}`.
#[derive(Serialize)]
struct CheckReads<'a> {
    id: &'a str,
    passed: bool,
    #[serde(serialize_with = "in_order")]
    reads: &'a [(String, String)],
}

fn in_order<S: Serializer>(pairs: &&[(String, String)], s: S) -> Result<S::Ok, S::Error> {
    let mut map = s.serialize_map(Some(pairs.len()))?;
    for (k, v) in pairs.iter() {
        map.serialize_entry(k, v)?;
    }
    map.end()
}

#[pymethods]
impl PyEngine {
    /// Loads a scenario folder (or its scenario TOML file).
    #[staticmethod]
    fn load(py: Python<'_>, path: PathBuf) -> PyResult<PyEngine> {
        let engine = py.detach(|| idmaj::Engine::load(&path));
        Ok(PyEngine {
            engine: ok(py, engine)?,
        })
    }

    /// Builds an engine from in-memory parts: `rules` maps a file name to its text.
    #[staticmethod]
    #[pyo3(signature = (*, scenario_toml, labour_market_csv, rules, applicants_csv=None))]
    fn from_sources(
        py: Python<'_>,
        scenario_toml: String,
        labour_market_csv: String,
        rules: &Bound<'_, PyDict>,
        applicants_csv: Option<String>,
    ) -> PyResult<PyEngine> {
        let rules = rules
            .iter()
            .map(|(name, text)| Ok((name.extract()?, text.extract()?)))
            .collect::<PyResult<Vec<(String, String)>>>()?;
        let sources = Sources {
            scenario_toml,
            labour_market_csv,
            rules,
            applicants_csv,
        };
        let engine = py.detach(|| idmaj::Engine::from_sources(sources));
        Ok(PyEngine {
            engine: ok(py, engine)?,
        })
    }

    /// The assessment of one applicant (a dict of column name to value).
    fn assess(&self, py: Python<'_>, applicant: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
        let applicant = convert::applicant(py, applicant)?;
        let assessment = ok(py, self.engine.assess(&applicant))?;
        to_py(py, &assessment)
    }

    /// The assessments of a list of dicts or a dict of columns, in input order: a list of
    /// dicts, or with `columns` a dict of one list per key.
    #[pyo3(signature = (applicants, columns=false))]
    fn assess_many(
        &self,
        py: Python<'_>,
        applicants: &Bound<'_, PyAny>,
        columns: bool,
    ) -> PyResult<Py<PyAny>> {
        let applicants = convert::applicants(py, applicants)?;
        let assessments = py.detach(|| self.engine.assess_all(&applicants));
        list_to_py(py, &ok(py, assessments)?, columns)
    }

    /// Allocates the scenario's own applicants, or `applicants` (a list of dicts or a dict of
    /// columns), with `set` overrides: `{"summary": ..., "decisions": [...]}`, the decisions
    /// as a dict of one list per key with `columns`.
    #[pyo3(signature = (set=None, applicants=None, columns=false, committed=None))]
    fn allocate(
        &self,
        py: Python<'_>,
        set: Option<&Bound<'_, PyDict>>,
        applicants: Option<&Bound<'_, PyAny>>,
        columns: bool,
        committed: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Py<PyAny>> {
        let overrides = convert::overrides(py, set)?;
        let applicants = applicants.map(|a| convert::applicants(py, a)).transpose()?;
        let committed: Option<Vec<idmaj::Decision>> = committed
            .map(|c| {
                pythonize::depythonize(c).map_err(|e| {
                    errors::bad_value(
                        py,
                        idmaj::Problem::error(
                            "",
                            format!(
                                "committed: expected a list of decisions (dicts as allocate \
                                 returns them): {e}"
                            ),
                        )
                        .column("committed"),
                    )
                })
            })
            .transpose()?;
        let allocation = py.detach(|| {
            let mut engine = self.engine.with_settings(&overrides)?;
            if let Some(c) = committed {
                engine = engine.with_committed(c)?;
            }
            let assessments = match &applicants {
                Some(a) => engine.assess_all(a)?,
                None => engine.assess_scenario()?,
            };
            all_assessed(&assessments)?;
            engine.allocate(&assessments)
        });
        let allocation = ok(py, allocation)?;
        if !columns {
            return to_py(py, &allocation);
        }
        let out = PyDict::new(py);
        out.set_item("summary", to_py(py, allocation.summary())?)?;
        out.set_item("decisions", list_to_py(py, allocation.decisions(), true)?)?;
        Ok(out.into_any().unbind())
    }

    /// The scenario solved at every budget of `budget=(from, to, steps)` and every point of
    /// `set={"key": [v1, v2]}` (the first key varying slowest, the budget fastest).
    #[pyo3(signature = (budget=None, set=None))]
    fn sweep(
        &self,
        py: Python<'_>,
        budget: Option<(i64, i64, u32)>,
        set: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<Py<PyAny>> {
        let mut settings = Vec::new();
        for (k, v) in set.into_iter().flat_map(|s| s.iter()) {
            let key: String = k.extract()?;
            let values = match v.cast::<PyList>() {
                Ok(points) => points
                    .iter()
                    .map(|p| convert::set_value(py, &key, &p))
                    .collect::<PyResult<_>>()?,
                Err(_) => vec![convert::set_value(py, &key, &v)?],
            };
            settings.push(Setting { key, values });
        }
        if let Some((from, to, steps)) = budget {
            settings.push(ok(py, Setting::budget(from, to, steps))?);
        }
        if settings.is_empty() {
            let message = "nothing to sweep: give budget=(from, to, steps) or set={key: [values]}";
            return Err(bad_value(py, Problem::error("", message)));
        }
        let sweep = py.detach(|| self.engine.sweep(&settings));
        list_to_py(py, &ok(py, sweep)?.rows, false)
    }

    /// Every check with the fields it read, the assessment and the allocation's decision for
    /// applicant `id` of the scenario's own applicants.
    fn explain(&self, py: Python<'_>, id: &str) -> PyResult<Py<PyAny>> {
        let explained = py.detach(|| -> idmaj::Result<_> {
            let applicants = self.engine.applicants()?;
            let Some(applicant) = applicants.iter().find(|a| a.id() == Some(id)) else {
                let message = format!("no applicant with id `{id}` in the scenario's applicants");
                return Err(Problem::error("", message).column("id").into());
            };
            let assessment = self.engine.explain(applicant)?;
            let assessments = self.engine.assess_scenario()?;
            all_assessed(&assessments)?;
            let allocation = self.engine.allocate(&assessments)?;
            let decision = allocation.decisions().iter().find(|d| d.id == id).cloned();
            let decision =
                decision.ok_or_else(|| Error::Internal(format!("no decision for `{id}`")))?;
            Ok((assessment, decision))
        });
        let (assessment, decision) = ok(py, explained)?;
        let checks = assessment
            .checks
            .iter()
            .map(|c| CheckReads {
                id: &c.id,
                passed: c.passed,
                reads: &c.read,
            })
            .collect();
        let explanation = Explanation {
            assessment: &assessment,
            decision: &decision,
            checks,
        };
        to_py(py, &explanation)
    }

    /// The scenario at a glance: programme, cities, kits, quotas, rules, fingerprint...
    fn info(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        to_py(py, &self.engine.info())
    }

    fn __repr__(&self) -> String {
        let info = self.engine.info();
        format!(
            "Engine(program={:?}, fingerprint={:?})",
            info.program, info.fingerprint
        )
    }
}

/// Panics in Rust with the GIL released: for the test that a panic is an exception.
#[pyfunction]
fn _panic(py: Python<'_>, message: String) {
    py.detach(|| panic!("{message}"))
}

/// The extension module.
#[pymodule]
fn _idmaj(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PyEngine>()?;
    m.add_function(wrap_pyfunction!(_panic, m)?)?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
