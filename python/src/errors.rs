//! The library's errors as the Python exceptions of `idmaj`.
//!
//! The exception classes live in the pure-Python package (so they can be caught, documented
//! and subclassed like any Python class); this module only fills them: an input error's
//! problems are the same objects as in Rust and JSON, dicts made by serde.

use idmaj::{Error, Problem, Problems};
use pyo3::exceptions::{PyOSError, PyRuntimeError};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::PyType;

use crate::convert::to_py;

/// The class `idmaj.<name>`, looked up once.
fn class<'py>(
    py: Python<'py>,
    cell: &'static PyOnceLock<Py<PyType>>,
    name: &str,
) -> PyResult<Bound<'py, PyType>> {
    cell.import(py, "idmaj", name).cloned()
}

static INPUT_ERROR: PyOnceLock<Py<PyType>> = PyOnceLock::new();
static RULE_ERROR: PyOnceLock<Py<PyType>> = PyOnceLock::new();
static INFEASIBLE_ERROR: PyOnceLock<Py<PyType>> = PyOnceLock::new();
static ERROR: PyOnceLock<Py<PyType>> = PyOnceLock::new();

/// `idmaj.InputError(message, problems)`: one problem per bad field, row or key.
fn input_error(py: Python<'_>, problems: &Problems) -> PyErr {
    let args = (problems.to_string(), to_py(py, &problems.list).ok());
    raise(py, &INPUT_ERROR, "InputError", args)
}

/// One input problem about a value given from Python (no file, no line).
pub fn bad_value(py: Python<'_>, problem: Problem) -> PyErr {
    input_error(py, &problem.into())
}

/// The Python exception for a library error.
pub fn exception(py: Python<'_>, error: Error) -> PyErr {
    let message = error.to_string();
    match error {
        Error::Input { problems } => input_error(py, &problems),
        Error::Rules { problems } => raise(
            py,
            &RULE_ERROR,
            "RuleError",
            (message, to_py(py, &problems.list).ok()),
        ),
        Error::Infeasible {
            constraints,
            shortfall,
            ..
        } => raise(
            py,
            &INFEASIBLE_ERROR,
            "InfeasibleError",
            (message, constraints, shortfall),
        ),
        // OSError(errno, text, path) becomes FileNotFoundError, PermissionError... by errno.
        Error::Io { path, source } => match source.raw_os_error() {
            Some(errno) => PyOSError::new_err((errno, source.to_string(), path)),
            None => PyOSError::new_err(message),
        },
        _ => raise(py, &ERROR, "Error", (message,)),
    }
}

/// An instance of `idmaj.<name>(*args)` as a `PyErr`; a `RuntimeError` if the package
/// cannot be imported (only when `_idmaj` is used without it).
fn raise<'py, A>(
    py: Python<'py>,
    cell: &'static PyOnceLock<Py<PyType>>,
    name: &str,
    args: A,
) -> PyErr
where
    A: pyo3::call::PyCallArgs<'py>,
{
    match class(py, cell, name).and_then(|c| c.call1(args)) {
        Ok(instance) => PyErr::from_value(instance),
        Err(e) => PyRuntimeError::new_err(format!("idmaj.{name} could not be raised: {e}")),
    }
}
