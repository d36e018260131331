//! Python values in, Python values out.
//!
//! In: an applicant is a dict of column name to value, a batch a list of them or a dict of
//! columns (what the pure-Python layer makes of a DataFrame: one list per column, read
//! column by column, which is far cheaper than a dict per row). Values keep their Python
//! type and the library validates them exactly like a CSV cell, so this module only maps
//! types: a date becomes `YYYY-MM-DD`, and NaN, `pandas.NA` and `NaT` (how pandas marks an
//! empty cell) become a missing value.
//!
//! Out: every result is the library type's own serde JSON made into dicts and lists (see
//! `topy`), so Python sees exactly the keys and values of the HTTP API.

use idmaj::{Applicant, FieldValue, Override, Problem, Problems, SetValue};
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyDate, PyDateAccess, PyDict, PyFloat, PyInt, PyList, PyString};
use pythonize::depythonize;
use serde::Serialize;

use crate::errors::bad_value;
use crate::topy::{GcPause, Strings};

/// A value of a type that is not an applicant field value, by row and field.
struct BadType {
    row: usize,
    field: String,
    type_name: String,
}

/// The applicant fields as given, with the values of unsupported types set aside.
#[derive(Default)]
struct Batch {
    applicants: Vec<Applicant>,
    bad: Vec<BadType>,
}

impl Batch {
    fn set(&mut self, row: usize, field: &str, value: &Bound<'_, PyAny>) {
        match field_value(value) {
            Some(v) => self.applicants[row].set(field, v),
            None => self.bad.push(BadType {
                row,
                field: field.to_string(),
                type_name: type_name(value),
            }),
        }
    }

    /// The applicants, or an input error naming each value of an unsupported type.
    fn finish(self, py: Python<'_>) -> PyResult<Vec<Applicant>> {
        if self.bad.is_empty() {
            return Ok(self.applicants);
        }
        let problems: Problems = self
            .bad
            .iter()
            .map(|b| {
                let mut p = Problem::error(
                    "",
                    format!(
                        "a value of type `{}` is not a number, text, boolean, date or None",
                        b.type_name
                    ),
                )
                .column(b.field.as_str());
                if let Some(id) = self.applicants[b.row].id() {
                    p = p.applicant(id);
                }
                p
            })
            .collect();
        Err(crate::errors::exception(
            py,
            idmaj::Error::Input { problems },
        ))
    }
}

fn type_name(v: &Bound<'_, PyAny>) -> String {
    v.get_type()
        .name()
        .map_or_else(|_| "?".to_string(), |n| n.to_string())
}

/// The field value of a Python value; `None` for a type no CSV cell could hold.
fn field_value(v: &Bound<'_, PyAny>) -> Option<FieldValue> {
    if v.is_none() {
        return Some(FieldValue::Null);
    }
    if let Ok(s) = v.cast::<PyString>() {
        return Some(FieldValue::Text(s.to_cow().ok()?.into_owned()));
    }
    if let Ok(f) = v.cast::<PyFloat>() {
        let x = f.value();
        return Some(if x.is_nan() {
            FieldValue::Null
        } else {
            FieldValue::Float(x)
        });
    }
    // bool is a subclass of int: test it first.
    if let Ok(b) = v.cast::<PyBool>() {
        return Some(FieldValue::Bool(b.is_true()));
    }
    if let Ok(i) = v.cast::<PyInt>() {
        return Some(match i.extract::<i64>() {
            Ok(i) => FieldValue::Int(i),
            Err(_) => FieldValue::Text(i.to_string()),
        });
    }
    let missing = matches!(type_name(v).as_str(), "NaTType" | "NAType");
    if missing {
        return Some(FieldValue::Null);
    }
    // datetime.date, datetime.datetime and pandas.Timestamp (both subclasses of date).
    if let Ok(d) = v.cast::<PyDate>() {
        let text = format!(
            "{:04}-{:02}-{:02}",
            d.get_year(),
            d.get_month(),
            d.get_day()
        );
        return Some(FieldValue::Text(text));
    }
    // numpy scalars: numpy.bool_, integers (through __index__) and floats.
    if let Ok(b) = v.extract::<bool>() {
        return Some(FieldValue::Bool(b));
    }
    if let Ok(i) = v.extract::<i64>() {
        return Some(FieldValue::Int(i));
    }
    if let Ok(x) = v.extract::<f64>() {
        return Some(if x.is_nan() {
            FieldValue::Null
        } else {
            FieldValue::Float(x)
        });
    }
    None
}

/// A column name, which must be text.
fn column_name(py: Python<'_>, key: &Bound<'_, PyAny>) -> PyResult<String> {
    key.cast::<PyString>()
        .ok()
        .and_then(|s| s.to_cow().ok())
        .map(|s| s.into_owned())
        .ok_or_else(|| {
            bad_value(
                py,
                Problem::error(
                    "",
                    format!("column names must be text (got a `{}`)", type_name(key)),
                ),
            )
        })
}

/// One applicant from a dict (or any mapping) of column name to value.
pub fn applicant(py: Python<'_>, record: &Bound<'_, PyAny>) -> PyResult<Applicant> {
    let mut batch = Batch {
        applicants: vec![Applicant::default()],
        bad: Vec::new(),
    };
    add_record(py, &mut batch, 0, record)?;
    Ok(batch.finish(py)?.remove(0))
}

fn add_record(
    py: Python<'_>,
    batch: &mut Batch,
    row: usize,
    record: &Bound<'_, PyAny>,
) -> PyResult<()> {
    if let Ok(dict) = record.cast::<PyDict>() {
        for (k, v) in dict.iter() {
            batch.set(row, &column_name(py, &k)?, &v);
        }
        return Ok(());
    }
    let items = record.call_method0("items").map_err(|_| {
        bad_value(
            py,
            Problem::error(
                "",
                format!(
                    "applicant {}: a `{}` is not a dict of column name to value",
                    row + 1,
                    type_name(record)
                ),
            ),
        )
    })?;
    for item in items.try_iter()? {
        let (k, v): (Bound<'_, PyAny>, Bound<'_, PyAny>) = item?.extract()?;
        batch.set(row, &column_name(py, &k)?, &v);
    }
    Ok(())
}

/// Applicants from a list (any iterable) of dicts, or from a dict of columns (name to a
/// list of values, all of one length).
pub fn applicants(py: Python<'_>, given: &Bound<'_, PyAny>) -> PyResult<Vec<Applicant>> {
    if let Ok(columns) = given.cast::<PyDict>() {
        return from_columns(py, columns);
    }
    let mut batch = Batch::default();
    for (row, record) in given.try_iter()?.enumerate() {
        batch.applicants.push(Applicant::default());
        add_record(py, &mut batch, row, &record?)?;
    }
    batch.finish(py)
}

fn from_columns(py: Python<'_>, columns: &Bound<'_, PyDict>) -> PyResult<Vec<Applicant>> {
    let mut batch = Batch::default();
    let mut rows: Option<(String, usize)> = None;
    for (k, values) in columns.iter() {
        let name = column_name(py, &k)?;
        let values = match values.cast_into::<PyList>() {
            Ok(list) => list,
            Err(e) => {
                let values = e.into_inner();
                PyList::new(py, values.try_iter()?.collect::<PyResult<Vec<_>>>()?)?
            }
        };
        match &rows {
            None => {
                batch.applicants = vec![Applicant::default(); values.len()];
                rows = Some((name.clone(), values.len()));
            }
            Some((first, n)) if *n != values.len() => {
                let message = format!(
                    "column `{name}` has {} values but column `{first}` has {n}",
                    values.len()
                );
                return Err(bad_value(py, Problem::error("", message).column(name)));
            }
            Some(_) => {}
        }
        for (row, v) in values.iter().enumerate() {
            batch.set(row, &name, &v);
        }
    }
    batch.finish(py)
}

/// A library value as its JSON, in Python dicts, lists, numbers, text and None.
pub fn to_py<T: Serialize + ?Sized>(py: Python<'_>, value: &T) -> PyResult<Py<PyAny>> {
    let _paused = GcPause::new(py);
    Ok(Strings::new(py).convert(value)?.unbind())
}

/// A list of library values, each as its JSON: a list of dicts, or (`columns`) a dict of
/// one list per key, in the order the keys first appear (`None` where a value has no such
/// key), which pandas takes as a DataFrame far faster than a dict per row.
pub fn list_to_py<T: Serialize>(
    py: Python<'_>,
    values: &[T],
    columns: bool,
) -> PyResult<Py<PyAny>> {
    let _paused = GcPause::new(py);
    let mut strings = Strings::new(py);
    if !columns {
        let rows = values.iter().map(|v| strings.convert(v));
        return Ok(PyList::new(py, rows.collect::<PyResult<Vec<_>>>()?)?
            .into_any()
            .unbind());
    }
    let mut keys: Vec<Bound<'_, PyAny>> = Vec::new();
    let mut cols: Vec<Vec<Bound<'_, PyAny>>> = Vec::new();
    for (i, v) in values.iter().enumerate() {
        strings.convert_fields(v, |k, v| {
            // Names are shared string objects: the same name is the same object.
            let at = keys.iter().position(|x| x.is(&k)).unwrap_or_else(|| {
                keys.push(k);
                cols.push(vec![py.None().into_bound(py); i]);
                keys.len() - 1
            });
            cols[at].push(v);
        })?;
        for col in &mut cols {
            if col.len() == i {
                col.push(py.None().into_bound(py));
            }
        }
    }
    let out = PyDict::new(py);
    for (k, col) in keys.into_iter().zip(cols) {
        out.set_item(k, PyList::new(py, col)?)?;
    }
    Ok(out.into_any().unbind())
}

/// `set={"key": value}` as overrides; values as JSON gives them (a list for list keys).
pub fn overrides(py: Python<'_>, set: Option<&Bound<'_, PyDict>>) -> PyResult<Vec<Override>> {
    let Some(set) = set else {
        return Ok(Vec::new());
    };
    set.iter()
        .map(|(k, v)| {
            let key = column_name(py, &k)?;
            let value = set_value(py, &key, &v)?;
            Override::new(&key, value).map_err(|e| crate::errors::exception(py, e))
        })
        .collect()
}

/// A `set` value: a bool, a number, text, or a list of them.
pub fn set_value(py: Python<'_>, key: &str, v: &Bound<'_, PyAny>) -> PyResult<SetValue> {
    depythonize::<SetValue>(v).map_err(|_| {
        let message = format!(
            "a value of type `{}` cannot be set; expected a number, text, boolean or a list of them",
            type_name(v)
        );
        bad_value(py, Problem::error("", message).key(key))
    })
}
