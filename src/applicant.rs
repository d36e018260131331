//! Applicants: as given ([`Applicant`], a map of column name to value, from JSON, Python
//! or code), as read from CSV, and validated into a typed [`Record`] the rules run on.
//!
//! One validator serves every source, so an applicant built in code is checked exactly like
//! a CSV row (known city, numbers finite and not negative, dates that exist, booleans, a
//! non-empty id) with the same messages. Reading a file is split in two so it can stream
//! and parallelise: [`ApplicantSource`] pulls raw rows off the file in order (cheap, one
//! thread) and [`RowParser`] turns a raw row into a [`Record`] (shareable across threads).
//! A workbook's sheet gives the same raw rows as a CSV file (see `crate::xlsx`), so both
//! are validated here alike.

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
use std::fmt;
use std::sync::Arc;

use serde::de::{MapAccess, Visitor};
use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::date::Date;
use crate::dialect::{self, Cells, CsvInput, Dialect, NextCells};
use crate::error::{Problem, Problems, Result};
use crate::hash::FastSet;
use crate::scenario::DataSource;
use crate::suggest;

/// The typed core columns, in the order of the README's applicants table.
pub const CORE_COLUMNS: [&str; 14] = [
    "id",
    "name",
    "gender",
    "birth_year",
    "city",
    "release_date",
    "training_track",
    "training_hours",
    "training_certified",
    "pm_training",
    "plan_trade",
    "plan_approved",
    "plan_cost",
    "experience_years",
];

/// Gender as recorded by the programme.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Gender {
    /// Woman.
    F,
    /// Man.
    M,
}

impl Gender {
    /// `"F"` or `"M"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Gender::F => "F",
            Gender::M => "M",
        }
    }
}

/// A value of a column that is not one of the core columns, as the rules see it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Value {
    /// A cell that reads as a number in the file's dialect.
    Number(f64),
    /// Any other cell, trimmed (empty cells are empty text).
    Text(String),
}

/// One applicant, validated: every core column typed. What the rules run on.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Record {
    /// Unique identifier; the only personal field idmaj ever prints.
    pub id: String,
    /// Full name (may be empty); never printed in messages.
    pub name: String,
    /// F or M.
    pub gender: Gender,
    /// Year of birth.
    pub birth_year: i32,
    /// One of the scenario's cities.
    pub city: String,
    /// End of the sentence.
    pub release_date: Date,
    /// Vocational trade trained in during the sentence.
    pub training_track: String,
    /// Hours of vocational training completed.
    pub training_hours: f64,
    /// Certificate obtained.
    pub training_certified: bool,
    /// Project-management training done.
    pub pm_training: bool,
    /// Trade of the individual life project.
    pub plan_trade: String,
    /// Life project validated by the reintegration service.
    pub plan_approved: bool,
    /// Money the project needs, in MAD.
    pub plan_cost: f64,
    /// Prior work experience in the planned trade, in years.
    pub experience_years: f64,
    /// Names of the extra columns (shared by every row of a file).
    pub extra_names: Arc<[String]>,
    /// Values of the extra columns, in the order of `extra_names`.
    pub extra: Vec<Value>,
    /// Line of the row in its file (1 is the header), 0 when not read from a file.
    pub line: u64,
}

impl Record {
    /// A record to parse rows into ([`RowParser::parse_into`]), for a file with these extra
    /// columns.
    pub fn blank(extra_names: Arc<[String]>) -> Record {
        Record {
            id: String::new(),
            name: String::new(),
            gender: Gender::F,
            birth_year: 0,
            city: String::new(),
            release_date: Date::PLACEHOLDER,
            training_track: String::new(),
            training_hours: 0.0,
            training_certified: false,
            pm_training: false,
            plan_trade: String::new(),
            plan_approved: false,
            plan_cost: 0.0,
            experience_years: 0.0,
            extra_names,
            extra: Vec::new(),
            line: 0,
        }
    }

    /// The value of an extra column, by name.
    pub fn extra(&self, name: &str) -> Option<&Value> {
        self.extra_names
            .iter()
            .position(|n| n == name)
            .map(|i| &self.extra[i])
    }
}

/// The value of one field of an [`Applicant`] given in code, JSON or Python.
///
/// Numbers may also be given as numeric text, booleans as the CSV words (`oui`, `1`, ...),
/// dates as `"YYYY-MM-DD"` or `"DD/MM/YYYY"` text.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum FieldValue {
    /// Missing (`null`).
    Null,
    /// `true` or `false`.
    Bool(bool),
    /// A whole number.
    Int(i64),
    /// A number.
    Float(f64),
    /// Text.
    Text(String),
}

// Read by hand rather than `#[serde(untagged)]`: an untagged enum buffers each value and
// formats an error message for every variant it tries and misses, which cost more than the
// rules themselves for a single applicant sent over HTTP.
impl<'de> Deserialize<'de> for FieldValue {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct Value;
        impl Visitor<'_> for Value {
            type Value = FieldValue;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a number, text, boolean or null")
            }
            fn visit_unit<E>(self) -> std::result::Result<FieldValue, E> {
                Ok(FieldValue::Null)
            }
            fn visit_none<E>(self) -> std::result::Result<FieldValue, E> {
                Ok(FieldValue::Null)
            }
            fn visit_bool<E>(self, v: bool) -> std::result::Result<FieldValue, E> {
                Ok(FieldValue::Bool(v))
            }
            fn visit_i64<E>(self, v: i64) -> std::result::Result<FieldValue, E> {
                Ok(FieldValue::Int(v))
            }
            fn visit_u64<E>(self, v: u64) -> std::result::Result<FieldValue, E> {
                Ok(i64::try_from(v).map_or(FieldValue::Float(v as f64), FieldValue::Int))
            }
            fn visit_f64<E>(self, v: f64) -> std::result::Result<FieldValue, E> {
                Ok(FieldValue::Float(v))
            }
            fn visit_str<E>(self, v: &str) -> std::result::Result<FieldValue, E> {
                Ok(FieldValue::Text(v.to_string()))
            }
            fn visit_string<E>(self, v: String) -> std::result::Result<FieldValue, E> {
                Ok(FieldValue::Text(v))
            }
        }
        d.deserialize_any(Value)
    }
}

impl From<&str> for FieldValue {
    fn from(v: &str) -> Self {
        FieldValue::Text(v.to_string())
    }
}

impl From<String> for FieldValue {
    fn from(v: String) -> Self {
        FieldValue::Text(v)
    }
}

impl From<bool> for FieldValue {
    fn from(v: bool) -> Self {
        FieldValue::Bool(v)
    }
}

impl From<i64> for FieldValue {
    fn from(v: i64) -> Self {
        FieldValue::Int(v)
    }
}

impl From<i32> for FieldValue {
    fn from(v: i32) -> Self {
        FieldValue::Int(i64::from(v))
    }
}

impl From<f64> for FieldValue {
    fn from(v: f64) -> Self {
        FieldValue::Float(v)
    }
}

impl<T: Into<FieldValue>> From<Option<T>> for FieldValue {
    fn from(v: Option<T>) -> Self {
        v.map_or(FieldValue::Null, Into::into)
    }
}

/// One applicant as given: column name → value, with the CSV column names as keys (`id`,
/// `gender`, `city`, `training_hours`, ...; see the README's applicants table). Any other
/// key is an extra column the rules may read.
///
/// Deserialising checks only the shape (an object of numbers, text, booleans and nulls);
/// [`Engine::assess`](crate::Engine::assess) validates the values against the scenario,
/// exactly like a CSV row.
///
/// ```
/// let a = idmaj::Applicant::new("A1").with("gender", "F").with("training_hours", 200);
/// assert_eq!(a.id(), Some("A1"));
/// ```
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Applicant {
    fields: Vec<(String, FieldValue)>,
}

impl Applicant {
    /// An applicant with only an id.
    pub fn new(id: impl Into<String>) -> Applicant {
        Applicant::default().with("id", id.into())
    }

    /// Sets field `name` (replacing any value it had) and returns the applicant.
    pub fn with(mut self, name: impl Into<String>, value: impl Into<FieldValue>) -> Applicant {
        self.set(name, value);
        self
    }

    /// Sets field `name`, replacing any value it had.
    pub fn set(&mut self, name: impl Into<String>, value: impl Into<FieldValue>) {
        let name = name.into();
        let value = value.into();
        match self.fields.iter_mut().find(|(n, _)| *n == name) {
            Some(slot) => slot.1 = value,
            None => self.fields.push((name, value)),
        }
    }

    /// The value of field `name`.
    pub fn get(&self, name: &str) -> Option<&FieldValue> {
        self.fields.iter().find(|(n, _)| n == name).map(|(_, v)| v)
    }

    /// The id, when it is text.
    pub fn id(&self) -> Option<&str> {
        match self.get("id") {
            Some(FieldValue::Text(t)) => Some(t),
            _ => None,
        }
    }

    /// Field `name` as text (numbers as Rust writes them, booleans `true`/`false`).
    pub fn text(&self, name: &str) -> Option<String> {
        self.get(name).map(|v| Cell::of(v).text().into_owned())
    }

    /// Field `name` as a number, when it is one (or numeric text).
    pub fn number(&self, name: &str) -> Option<f64> {
        self.get(name).and_then(|v| Cell::of(v).number(POINT))
    }

    /// Every field, in the order given.
    pub fn fields(&self) -> impl Iterator<Item = (&str, &FieldValue)> {
        self.fields.iter().map(|(n, v)| (n.as_str(), v))
    }
}

impl Serialize for Applicant {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(self.fields.len()))?;
        for (k, v) in &self.fields {
            map.serialize_entry(k, v)?;
        }
        map.end()
    }
}

impl<'de> Deserialize<'de> for Applicant {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct Fields;
        impl<'de> Visitor<'de> for Fields {
            type Value = Applicant;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str(
                    "an applicant: an object of column name to number, text, boolean or null",
                )
            }
            fn visit_map<A: MapAccess<'de>>(
                self,
                mut map: A,
            ) -> std::result::Result<Applicant, A::Error> {
                let mut a = Applicant::default();
                while let Some((k, v)) = map.next_entry::<String, FieldValue>()? {
                    if a.get(&k).is_some() {
                        return Err(serde::de::Error::custom(format!("field `{k}` given twice")));
                    }
                    a.fields.push((k, v));
                }
                Ok(a)
            }
        }
        d.deserialize_map(Fields)
    }
}

impl Record {
    /// The record as an [`Applicant`] (every column, typed values).
    pub fn to_applicant(&self) -> Applicant {
        let mut a = Applicant::default()
            .with("id", self.id.as_str())
            .with("name", self.name.as_str())
            .with("gender", self.gender.as_str())
            .with("birth_year", self.birth_year)
            .with("city", self.city.as_str())
            .with("release_date", self.release_date.to_string())
            .with("training_track", self.training_track.as_str())
            .with("training_hours", self.training_hours)
            .with("training_certified", self.training_certified)
            .with("pm_training", self.pm_training)
            .with("plan_trade", self.plan_trade.as_str())
            .with("plan_approved", self.plan_approved)
            .with("plan_cost", self.plan_cost)
            .with("experience_years", self.experience_years);
        for (n, v) in self.extra_names.iter().zip(&self.extra) {
            a.set(
                n.as_str(),
                match v {
                    Value::Number(x) => FieldValue::Float(*x),
                    Value::Text(t) => FieldValue::Text(t.clone()),
                },
            );
        }
        a
    }
}

/// One cell to validate, from a CSV row or an applicant given in code.
#[derive(Debug, Clone, Copy)]
enum Cell<'a> {
    Missing,
    Text(&'a str),
    Number(f64),
    Bool(bool),
}

impl<'a> Cell<'a> {
    fn of(v: &'a FieldValue) -> Cell<'a> {
        match v {
            FieldValue::Null => Cell::Missing,
            FieldValue::Bool(b) => Cell::Bool(*b),
            FieldValue::Int(i) => Cell::Number(*i as f64),
            FieldValue::Float(x) => Cell::Number(*x),
            FieldValue::Text(t) => Cell::Text(t.trim()),
        }
    }

    /// The cell as text (numbers as written by Rust: `12`, `12.5`).
    fn text(self) -> Cow<'a, str> {
        match self {
            Cell::Missing => Cow::Borrowed(""),
            Cell::Text(t) => Cow::Borrowed(t),
            Cell::Number(x) => Cow::Owned(x.to_string()),
            Cell::Bool(b) => Cow::Borrowed(if b { "true" } else { "false" }),
        }
    }

    fn number(self, dialect: Dialect) -> Option<f64> {
        match self {
            Cell::Text(t) => dialect.number(t),
            Cell::Number(x) => Some(x).filter(|x| x.is_finite()),
            Cell::Missing | Cell::Bool(_) => None,
        }
    }

    fn flag(self) -> Option<bool> {
        match self {
            Cell::Bool(b) => Some(b),
            Cell::Number(x) => match x {
                1.0 => Some(true),
                0.0 => Some(false),
                _ => None,
            },
            Cell::Text(t) => dialect::boolean(t),
            _ => None,
        }
    }

    /// Sets `v` to the cell's value as [`Cell::extra`] gives it, reusing its text.
    fn extra_into(self, dialect: Dialect, v: &mut Value) {
        match self {
            Cell::Text(t) => match (dialect.number(t), v) {
                (Some(n), v) => *v = Value::Number(n),
                (None, Value::Text(old)) => {
                    old.clear();
                    old.push_str(t);
                }
                (None, v) => *v = Value::Text(t.to_string()),
            },
            other => *v = other.extra(dialect),
        }
    }

    fn extra(self, dialect: Dialect) -> Value {
        match self {
            Cell::Number(x) => Value::Number(x),
            other => {
                let t = other.text();
                match dialect.number(&t) {
                    Some(n) => Value::Number(n),
                    None => Value::Text(t.into_owned()),
                }
            }
        }
    }
}

/// Validates applicants given in code against a scenario's cities.
#[derive(Debug, Clone)]
pub(crate) struct Validator {
    cities: Arc<FastSet<String>>,
}

impl Validator {
    pub(crate) fn new(cities: Arc<FastSet<String>>) -> Validator {
        Validator { cities }
    }

    /// The typed record of `a`, or every problem it has (each naming the field and id).
    pub(crate) fn record(&self, a: &Applicant) -> std::result::Result<Record, Vec<Problem>> {
        let core: [Cell; 14] = CORE_COLUMNS.map(|c| a.get(c).map_or(Cell::Missing, Cell::of));
        let (extra_names, extra): (Vec<String>, Vec<Value>) = a
            .fields
            .iter()
            .filter(|(n, _)| !CORE_COLUMNS.contains(&n.as_str()))
            .map(|(n, v)| (n.clone(), Cell::of(v).extra(POINT)))
            .unzip();
        let id = a.id().map(str::trim).filter(|s| !s.is_empty());
        let mut record = Record::blank(extra_names.into());
        record.extra = extra;
        validate(
            &Context {
                display: "",
                dialect: POINT,
                cities: &self.cities,
                line: 0,
                id,
            },
            |c| core[c],
            &mut record,
        )?;
        Ok(record)
    }
}

/// Numbers in code and JSON text use a decimal point.
const POINT: Dialect = Dialect {
    delimiter: b',',
    decimal_comma: false,
};

/// Where the cells being validated come from, for messages.
struct Context<'a> {
    display: &'a str,
    dialect: Dialect,
    cities: &'a FastSet<String>,
    line: u64,
    /// The applicant's id, for problems about applicants given in code.
    id: Option<&'a str>,
}

/// Turns raw CSV rows into typed applicants; shared by the threads that parse.
#[derive(Debug)]
pub(crate) struct RowParser {
    display: String,
    dialect: Dialect,
    /// Index of each core column in the row (`name` may be absent).
    core: [Option<usize>; 14],
    extra_idx: Vec<usize>,
    extra_names: Arc<[String]>,
    width: usize,
    cities: Arc<FastSet<String>>,
    /// Rows come from a workbook's sheet (messages speak of cells, not separators).
    sheet: bool,
}

/// The applicants file opened for streaming, header checked.
pub(crate) struct ApplicantSource {
    input: CsvInput,
    parser: Arc<RowParser>,
}

impl ApplicantSource {
    /// Opens the applicants `data`; `cities` are the scenario's cities.
    pub fn open(data: &DataSource, cities: Arc<FastSet<String>>) -> Result<Self> {
        let input = data.open()?;
        let mut parser = RowParser::with_header_line(
            &input.display,
            input.dialect,
            &input.headers,
            input.header_line,
            cities,
        )?;
        parser.sheet = input.is_sheet();
        Ok(ApplicantSource {
            input,
            parser: Arc::new(parser),
        })
    }

    /// The parser for this file's rows.
    pub fn parser(&self) -> Arc<RowParser> {
        Arc::clone(&self.parser)
    }

    /// Reads the next row's cells, in place where they can be (see [`CsvInput::next_cells`]),
    /// else into `record`. A row that is not valid UTF-8 is [`RowCells::Unreadable`] and
    /// reading goes on; only a failing file is an error.
    pub fn next_cells<'s>(
        &'s mut self,
        record: &'s mut csv::StringRecord,
    ) -> Result<RowCells<'s>, Box<Problem>> {
        Ok(match self.input.next_cells(record)? {
            NextCells::End => RowCells::End,
            NextCells::Row(cells) => RowCells::Row(cells),
            NextCells::NotUtf8(bytes) => unreadable(&self.parser, &bytes),
        })
    }
}

/// What [`ApplicantSource::next_cells`] read.
pub(crate) enum RowCells<'a> {
    /// A row's cells.
    Row(Cells<'a>),
    /// The end of the file.
    End,
    /// A row that cannot be read as text; it is reported and reading goes on.
    Unreadable {
        /// The id cell, as well as it can be read.
        id: String,
        /// Line of the row.
        line: u64,
        /// What is wrong.
        problem: Problem,
    },
}

/// The row of `bytes`, which are not valid UTF-8: its id as well as it can be read.
fn unreadable<'a>(parser: &RowParser, bytes: &csv::ByteRecord) -> RowCells<'a> {
    let line = bytes.position().map_or(0, |p| p.line());
    let id = parser.core[0]
        .and_then(|i| bytes.get(i))
        .map(|b| String::from_utf8_lossy(b).trim().to_string())
        .unwrap_or_default();
    let problem = Problem::error(
        &parser.display,
        "the row is not valid UTF-8; save the file as UTF-8 (CSV UTF-8 in Excel)",
    )
    .at_line(line);
    RowCells::Unreadable { id, line, problem }
}

/// A cell value quoted for a message: typed columns only, shortened.
fn quoted(s: &str) -> String {
    crate::error::shown(s)
}

/// What a bad cell of a typed column may look like in a message. A name typed into the
/// wrong column (or a file whose `name` and `gender` headers are swapped) must not end up
/// in a message, so a value is shown only when it looks like what the column holds: a
/// number or date with a digit in it, a short code; otherwise it is described, not quoted.
fn shown_if(v: &str, looks_typed: bool) -> String {
    if looks_typed {
        quoted(v)
    } else {
        "the value (not shown: it does not look like this column's values)".to_string()
    }
}

fn has_digit(v: &str) -> bool {
    v.bytes().any(|b| b.is_ascii_digit())
}

impl RowParser {
    /// A parser for rows with these `headers` (core columns required, others kept).
    pub fn new(
        display: &str,
        dialect: Dialect,
        headers: &[String],
        cities: Arc<FastSet<String>>,
    ) -> Result<RowParser> {
        Self::with_header_line(display, dialect, headers, 1, cities)
    }

    /// Like [`RowParser::new`], for a header on line `header_line` (a workbook's header
    /// row need not be its first).
    pub fn with_header_line(
        display: &str,
        dialect: Dialect,
        headers: &[String],
        header_line: u64,
        cities: Arc<FastSet<String>>,
    ) -> Result<RowParser> {
        let mut problems = Problems::default();
        let mut seen = HashSet::with_capacity(headers.len());
        for (i, h) in headers.iter().enumerate() {
            if h.is_empty() {
                problems.push(
                    Problem::error(display, format!("header {} is empty", i + 1))
                        .at_line(header_line),
                );
            } else if !seen.insert(h.as_str()) {
                problems.push(
                    Problem::error(display, format!("column `{h}` appears twice"))
                        .at_line(header_line),
                );
            }
        }
        let mut core = [None; 14];
        for (i, name) in CORE_COLUMNS.iter().enumerate() {
            core[i] = headers.iter().position(|h| h == name);
            if core[i].is_none() && *name != "name" {
                let hint = suggest::hint(name, headers.iter().map(String::as_str));
                problems.push(
                    Problem::error(display, format!("missing required column `{name}`{hint}"))
                        .at_line(header_line),
                );
            }
        }
        problems.into_result()?;
        let extra_idx: Vec<usize> = (0..headers.len())
            .filter(|i| !core.contains(&Some(*i)))
            .collect();
        let extra_names: Arc<[String]> = extra_idx.iter().map(|&i| headers[i].clone()).collect();
        Ok(RowParser {
            display: display.to_string(),
            dialect,
            core,
            extra_idx,
            extra_names,
            width: headers.len(),
            cities,
            sheet: false,
        })
    }

    /// The id cell of a raw row, without parsing the rest.
    pub fn id_of<'r>(&self, cells: &Cells<'r>) -> Option<&'r str> {
        self.core[0].and_then(|i| cells.get(i))
    }

    /// Names of the file's extra (non-core) columns, shared (see [`Record::blank`]).
    pub fn extra_names_shared(&self) -> Arc<[String]> {
        Arc::clone(&self.extra_names)
    }

    /// Names of the file's extra (non-core) columns.
    pub fn extra_names(&self) -> &[String] {
        &self.extra_names
    }

    /// The applicant in `record`, or every problem the row has.
    pub fn parse(&self, record: &csv::StringRecord) -> std::result::Result<Record, Vec<Problem>> {
        self.parse_cells(&Cells::Record(record))
    }

    /// The applicant in a row's `cells`, or every problem the row has.
    pub fn parse_cells(&self, cells: &Cells) -> std::result::Result<Record, Vec<Problem>> {
        let mut into = Record::blank(Arc::clone(&self.extra_names));
        self.parse_into(cells, &mut into)?;
        Ok(into)
    }

    /// Like [`RowParser::parse`], into a record made by [`Record::blank`] with this file's
    /// extra columns and reused from row to row (its texts keep their memory). After a
    /// problem, `into` holds parts of the row.
    pub fn parse_into(
        &self,
        record: &Cells,
        into: &mut Record,
    ) -> std::result::Result<(), Vec<Problem>> {
        let line = record.line();
        if record.len() != self.width {
            let message = if self.sheet {
                format!(
                    "row has a value in column {}, right of the header's last column ({}); \
                     give the column a header or clear the cell",
                    record.len(),
                    self.width
                )
            } else {
                format!(
                    "row has {} fields, expected {} as in the header (check the separator and quotes)",
                    record.len(),
                    self.width
                )
            };
            let p = Problem::error(&self.display, message).at_line(line);
            return Err(vec![p]);
        }
        if into.extra.len() != self.extra_idx.len() {
            into.extra.resize(self.extra_idx.len(), Value::Number(0.0));
        }
        for (&i, v) in self.extra_idx.iter().zip(&mut into.extra) {
            Cell::Text(record.get(i).unwrap_or("")).extra_into(self.dialect, v);
        }
        if self.parse_clean(record, line, into) {
            return Ok(());
        }
        self.validate_cells(record, line, into)
    }

    /// The core cells of `record` through [`validate`]: the record, or every problem.
    fn validate_cells(
        &self,
        record: &Cells,
        line: u64,
        into: &mut Record,
    ) -> std::result::Result<(), Vec<Problem>> {
        validate(
            &Context {
                display: &self.display,
                dialect: self.dialect,
                cities: &self.cities,
                line,
                id: None,
            },
            |c| match self.core[c] {
                Some(i) => Cell::Text(record.get(i).unwrap_or("")),
                None => Cell::Missing,
            },
            into,
        )
    }

    /// The usual row, every core cell as expected, parsed without the bookkeeping of
    /// [`validate`] (its closures and problem list were a third of reading a row): the
    /// same conditions, column by column, and the same record. `false` as soon as a cell is
    /// not as expected (`into` then holds parts of the row), and [`validate`] says why.
    fn parse_clean(&self, record: &Cells, line: u64, into: &mut Record) -> bool {
        let cell = |c: usize| match self.core[c] {
            Some(i) => record.get(i).unwrap_or(""),
            None => "",
        };
        let present = |c: usize| Some(cell(c)).filter(|v| !v.is_empty());
        let number = |c: usize| {
            present(c)
                .and_then(|v| self.dialect.number(v))
                .filter(|n| *n >= 0.0)
        };
        let flag = |c: usize| dialect::boolean(cell(c));
        let Some(id) = present(0).filter(|v| !dialect::formula_like(v)) else {
            return false;
        };
        let gender = match cell(2).as_bytes() {
            [b'F' | b'f'] => Gender::F,
            [b'M' | b'm'] => Gender::M,
            _ => return false,
        };
        let Some(birth_year) = present(3)
            .and_then(|v| v.parse::<i32>().ok())
            .filter(|y| (1900..=2100).contains(y))
        else {
            return false;
        };
        let Some(city) = present(4).filter(|v| self.cities.contains(*v)) else {
            return false;
        };
        let Some(release_date) = present(5).and_then(Date::parse) else {
            return false;
        };
        let (Some(training_track), Some(plan_trade)) = (present(6), present(10)) else {
            return false;
        };
        let (Some(training_hours), Some(plan_cost), Some(experience_years)) =
            (number(7), number(12), number(13))
        else {
            return false;
        };
        let (Some(training_certified), Some(pm_training), Some(plan_approved)) =
            (flag(8), flag(9), flag(11))
        else {
            return false;
        };
        let set = |s: &mut String, v: &str| {
            s.clear();
            s.push_str(v);
        };
        set(&mut into.id, id);
        set(&mut into.name, cell(1));
        into.gender = gender;
        into.birth_year = birth_year;
        set(&mut into.city, city);
        into.release_date = release_date;
        set(&mut into.training_track, training_track);
        into.training_hours = training_hours;
        into.training_certified = training_certified;
        into.pm_training = pm_training;
        set(&mut into.plan_trade, plan_trade);
        into.plan_approved = plan_approved;
        into.plan_cost = plan_cost;
        into.experience_years = experience_years;
        into.line = line;
        true
    }
}

/// Validates the core cells of one applicant (`cell(i)` is column `CORE_COLUMNS[i]`) into
/// the core fields of `into`, or every problem found, each naming its column.
fn validate<'a>(
    ctx: &Context,
    cell: impl Fn(usize) -> Cell<'a>,
    into: &mut Record,
) -> std::result::Result<(), Vec<Problem>> {
    let line = ctx.line;
    let mut problems = Vec::new();
    let mut bad = |c: usize, msg: String| {
        let mut p = Problem::error(ctx.display, msg).column(CORE_COLUMNS[c]);
        if line > 0 {
            p = p.at_line(line);
        }
        if let Some(id) = ctx.id {
            p = p.applicant(id);
        }
        problems.push(p);
    };
    let required =
        |c: usize, what: &str, bad: &mut dyn FnMut(usize, String)| -> Option<Cow<'a, str>> {
            let v = cell(c).text();
            if v.is_empty() {
                bad(c, format!("empty; expected {what}"));
                None
            } else {
                Some(v)
            }
        };
    let id = required(0, "an applicant id", &mut bad).and_then(|v| {
        if dialect::formula_like(&v) {
            bad(
                0,
                format!(
                    "id {} begins with `{}`, which a spreadsheet would run as a formula; \
                     expected an id that does not begin with =, +, - or @ (ids are written \
                     as read in every output, so joins on id keep every row)",
                    quoted(&v),
                    &v[..1]
                ),
            );
            None
        } else {
            Some(v)
        }
    });
    let gender = required(2, "F or M", &mut bad).and_then(|v| match v.as_bytes() {
        [b'F' | b'f'] => Some(Gender::F),
        [b'M' | b'm'] => Some(Gender::M),
        _ => {
            bad(
                2,
                format!(
                    "{} is not a gender; expected F or M",
                    shown_if(&v, v.chars().count() <= 3)
                ),
            );
            None
        }
    });
    let birth_year =
        required(3, "a year such as 1985", &mut bad).and_then(|v| match v.parse::<i32>() {
            Ok(y) if (1900..=2100).contains(&y) => Some(y),
            _ => {
                bad(
                    3,
                    format!(
                        "{} is not a year; expected a whole year such as 1985",
                        shown_if(&v, has_digit(&v))
                    ),
                );
                None
            }
        });
    let city = required(4, "one of the scenario's cities", &mut bad).and_then(|v| {
        if ctx.cities.contains(&*v) {
            Some(v)
        } else {
            let hint = suggest::hint(&v, ctx.cities.iter().map(String::as_str));
            bad(
                4,
                format!(
                    "unknown city {}{hint}; expected a city of labour_market.csv",
                    shown_if(&v, !hint.is_empty())
                ),
            );
            None
        }
    });
    let release_date = required(5, "a date YYYY-MM-DD or DD/MM/YYYY", &mut bad).and_then(|v| {
        let d = Date::parse(&v);
        if d.is_none() {
            bad(
                5,
                format!(
                    "{} is not a date that exists; expected YYYY-MM-DD or DD/MM/YYYY",
                    shown_if(&v, has_digit(&v))
                ),
            );
        }
        d
    });
    let training_track = required(6, "the trade trained in", &mut bad);
    let number = |c: usize, what: &str, bad: &mut dyn FnMut(usize, String)| -> Option<f64> {
        let v = cell(c);
        if v.text().is_empty() {
            bad(c, format!("empty; expected {what}"));
            return None;
        }
        match v.number(ctx.dialect) {
            Some(n) if n >= 0.0 => Some(n),
            Some(_) => {
                bad(
                    c,
                    format!("{} is negative; expected {what}", quoted(&v.text())),
                );
                None
            }
            None => {
                bad(
                    c,
                    format!("{} is not a number; expected {what}", quoted(&v.text())),
                );
                None
            }
        }
    };
    let flag = |c: usize, bad: &mut dyn FnMut(usize, String)| -> Option<bool> {
        let v = cell(c);
        let b = v.flag();
        if b.is_none() {
            let t = v.text();
            let shown = if t.is_empty() {
                "empty".to_string()
            } else {
                format!(
                    "{} is not a yes/no value",
                    shown_if(&t, t.chars().count() <= 5 && t.is_ascii())
                )
            };
            bad(
                c,
                format!("{shown}; expected true/false, 1/0, yes/no or oui/non"),
            );
        }
        b
    };
    let training_hours = number(7, "hours of training (a number ≥ 0)", &mut bad);
    let training_certified = flag(8, &mut bad);
    let pm_training = flag(9, &mut bad);
    let plan_trade = required(10, "the trade of the life project", &mut bad);
    let plan_approved = flag(11, &mut bad);
    let plan_cost = number(12, "the project's cost in MAD (a number ≥ 0)", &mut bad);
    let experience_years = number(13, "years of experience (a number ≥ 0)", &mut bad);

    match (
        id,
        gender,
        birth_year,
        city,
        release_date,
        training_track,
        training_hours,
        training_certified,
        pm_training,
        plan_trade,
        plan_approved,
        plan_cost,
        experience_years,
    ) {
        (
            Some(id),
            Some(gender),
            Some(birth_year),
            Some(city),
            Some(release_date),
            Some(training_track),
            Some(training_hours),
            Some(training_certified),
            Some(pm_training),
            Some(plan_trade),
            Some(plan_approved),
            Some(plan_cost),
            Some(experience_years),
        ) if problems.is_empty() => {
            let set = |s: &mut String, v: &str| {
                s.clear();
                s.push_str(v);
            };
            set(&mut into.id, &id);
            set(&mut into.name, &cell(1).text());
            into.gender = gender;
            into.birth_year = birth_year;
            set(&mut into.city, &city);
            into.release_date = release_date;
            set(&mut into.training_track, &training_track);
            into.training_hours = training_hours;
            into.training_certified = training_certified;
            into.pm_training = pm_training;
            set(&mut into.plan_trade, &plan_trade);
            into.plan_approved = plan_approved;
            into.plan_cost = plan_cost;
            into.experience_years = experience_years;
            into.line = line;
            Ok(())
        }
        _ => Err(problems),
    }
}

/// Tracks ids seen so far and reports the second occurrence of any id.
///
/// Keeps a 128-bit fingerprint per id instead of the id itself, so checking a million
/// applicants needs about 30 MB whatever the ids look like; two different ids share a
/// fingerprint with a probability around 1e-27.
#[derive(Debug, Default)]
pub(crate) struct DuplicateIds {
    seen: HashMap<Fingerprint, u32, BuildFingerprintHasher>,
}

/// A 128-bit hash of an id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Fingerprint([u64; 2]);

impl std::hash::Hash for Fingerprint {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        state.write_u64(self.0[0]);
    }
}

/// The fingerprint of an id for [`DuplicateIds`] (computed where the row is read, so the
/// in-order part of a run only looks it up).
pub(crate) fn fingerprint(id: &str) -> Fingerprint {
    use std::hash::{Hash, Hasher};
    let mut a = std::hash::DefaultHasher::new();
    id.hash(&mut a);
    let mut b = std::hash::DefaultHasher::new();
    (0x9e37_79b9_7f4a_7c15_u64, id).hash(&mut b);
    Fingerprint([a.finish(), b.finish()])
}

/// Hashes a [`Fingerprint`] by its first word: it is already a hash, hashing it again
/// would only cost time.
#[derive(Debug, Default, Clone, Copy)]
struct BuildFingerprintHasher;

impl std::hash::BuildHasher for BuildFingerprintHasher {
    type Hasher = FingerprintHasher;
    fn build_hasher(&self) -> FingerprintHasher {
        FingerprintHasher(0)
    }
}

/// See [`BuildFingerprintHasher`].
#[derive(Debug, Default, Clone, Copy)]
struct FingerprintHasher(u64);

impl std::hash::Hasher for FingerprintHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        // Fingerprints only write one word; mix in anything else all the same.
        for &b in bytes {
            self.0 = (self.0.rotate_left(5) ^ u64::from(b)).wrapping_mul(0x517c_c1b7_2722_0a95);
        }
    }
    fn write_u64(&mut self, v: u64) {
        self.0 ^= v;
    }
}

impl DuplicateIds {
    /// Makes room for the ids of a whole file at once, estimated after `rows` rows that
    /// took `bytes` of its `total` bytes: growing the table a step at a time rehashes
    /// every id seen at each step, and holds the old table beside the new one meanwhile.
    /// Does nothing when the estimate is not above what the table holds (or `total` is not
    /// known, 0).
    pub fn reserve_for(&mut self, rows: u64, bytes: u64, total: u64) {
        if rows == 0 || bytes == 0 || total <= bytes {
            return;
        }
        let estimate = u128::from(rows) * u128::from(total) / u128::from(bytes);
        let estimate = usize::try_from(estimate).unwrap_or(usize::MAX);
        if estimate > self.seen.capacity() {
            // Only an estimate: if the memory cannot be had, the table grows as it fills.
            let _ = self.seen.try_reserve(estimate - self.seen.len());
        }
    }

    /// Records `id` from `line`; a problem when it was seen before.
    pub fn see(&mut self, display: &str, id: &str, line: u64) -> Option<Problem> {
        self.see_fingerprint(display, fingerprint(id), id, line)
    }

    /// Like [`DuplicateIds::see`], with the id's [`fingerprint`] already computed.
    pub fn see_fingerprint(
        &mut self,
        display: &str,
        fingerprint: Fingerprint,
        id: &str,
        line: u64,
    ) -> Option<Problem> {
        match self.seen.entry(fingerprint) {
            std::collections::hash_map::Entry::Occupied(first) => Some(
                Problem::error(
                    display,
                    format!("duplicate id `{id}` (first on line {})", first.get()),
                )
                .at_line(line)
                .column("id"),
            ),
            std::collections::hash_map::Entry::Vacant(v) => {
                v.insert(u32::try_from(line).unwrap_or(u32::MAX));
                None
            }
        }
    }
}

impl ApplicantSource {
    /// Reads every remaining row, calling `each` with each valid applicant in file order.
    /// Every problem — unreadable rows, bad cells, duplicate ids — goes to `problems`, so a
    /// file's problems are all reported together. Returns the number of rows read.
    pub fn for_each_applicant(
        &mut self,
        problems: &mut Problems,
        mut each: impl FnMut(Record),
    ) -> u64 {
        let parser = self.parser();
        let mut record = csv::StringRecord::new();
        let mut ids = DuplicateIds::default();
        let mut rows = 0;
        loop {
            let cells = match self.next_cells(&mut record) {
                Ok(RowCells::End) => break,
                Ok(RowCells::Row(cells)) => cells,
                Ok(RowCells::Unreadable { problem, .. }) => {
                    rows += 1;
                    problems.push(problem);
                    continue;
                }
                Err(p) => {
                    problems.push(*p);
                    break;
                }
            };
            rows += 1;
            let mut a = Record::blank(parser.extra_names_shared());
            match parser.parse_into(&cells, &mut a) {
                Ok(()) => {
                    if let Some(p) = ids.see(&parser.display, &a.id, a.line) {
                        problems.push(p);
                    }
                    each(a);
                }
                Err(ps) => ps.into_iter().for_each(|p| problems.push(p)),
            }
        }
        rows
    }
}

/// Reads every applicant of `data`, or all of the file's problems (up to the cap).
pub(crate) fn read_records(data: &DataSource, cities: Arc<FastSet<String>>) -> Result<Vec<Record>> {
    let mut source = ApplicantSource::open(data, cities)?;
    let mut out = Vec::new();
    let mut problems = Problems::default();
    source.for_each_applicant(&mut problems, |a| out.push(a));
    problems.into_result()?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_duplicate_table_is_sized_for_the_whole_file_once_and_still_finds_repeats() {
        let mut ids = DuplicateIds::default();
        // Nothing known: nothing reserved.
        ids.reserve_for(0, 0, 1 << 20);
        ids.reserve_for(4096, 1 << 20, 0);
        ids.reserve_for(4096, 1 << 20, 1 << 20);
        assert_eq!(ids.seen.capacity(), 0);
        // 4,096 rows in 400 kB of a 100 MB file: about a million rows.
        ids.reserve_for(4096, 409_600, 100_000_000);
        let capacity = ids.seen.capacity();
        assert!((1_000_000..4_000_000).contains(&capacity), "{capacity}");
        // Already room for fewer: nothing changes.
        ids.reserve_for(4096, 819_200, 100_000_000);
        assert_eq!(ids.seen.capacity(), capacity);
        assert!(ids.see("f.csv", "A1", 2).is_none());
        let p = ids.see("f.csv", "A1", 3).map(|p| p.to_string());
        assert!(p.is_some_and(|p| p.contains("duplicate id `A1` (first on line 2)")));
    }

    /// Cells for each core column: usual values first, then values the validator refuses
    /// (or refuses in one dialect only).
    const CELLS: [(&[&str], &[&str]); 14] = [
        (&["A1", "007", "é-1"], &["", "=1", "+2", "-3", "@x"]),
        (&["Name", "", "=x"], &[]),
        (&["F", "f", "M", "m"], &["", "X", "FM", "female"]),
        (
            &["1985", "1900", "2100"],
            &["1899", "2101", "+1985", "-5", "", "19x5", "1985.0"],
        ),
        (&["Tangier", "Fes"], &["", "tangier", "Atlantis"]),
        (
            &["2016-01-31", "31/01/2016", "1/2/2016"],
            &["2016-02-30", "", "2016-1-5", "x"],
        ),
        (&["plumbing", "x y"], &[""]),
        (
            &["120", "0", "12.5", "1e3"],
            &["", "-1", "12,5", "1 200", "inf", "nan", "x", ".5", "5."],
        ),
        (
            &["true", "yes", "OUI", "1", "vrai", "y"],
            &["", "maybe", "2"],
        ),
        (&["false", "n", "0", "FAUX", "o"], &["", "x"]),
        (&["plumbing", "tailoring"], &[""]),
        (&["true", "0"], &["", "?"]),
        (
            &["12000", "0", "-0"],
            &["", "-0.5", "12000,50", "12.000,5", "1,2,3", "1e400"],
        ),
        (&["0", "3.5"], &["", "-2", "2,5"]),
    ];

    /// The quick parse and the validator on one row: whether each took it, and their records.
    fn both(values: &[&str], named: bool, decimal_comma: bool) -> ((bool, Record), (bool, Record)) {
        let mut headers: Vec<String> = CORE_COLUMNS.iter().map(|c| c.to_string()).collect();
        let mut values = values.to_vec();
        if !named {
            headers.remove(1);
            values.remove(1);
        }
        let cities: Arc<FastSet<String>> =
            Arc::new(["Tangier", "Fes"].iter().map(|c| c.to_string()).collect());
        let dialect = Dialect {
            delimiter: b';',
            decimal_comma,
        };
        let parser = RowParser::new("t.csv", dialect, &headers, cities).unwrap();
        let record = csv::StringRecord::from(values);
        let cells = Cells::Record(&record);
        let names: Arc<[String]> = Arc::from(Vec::new());
        let (mut quick, mut full) = (Record::blank(names.clone()), Record::blank(names));
        let took = parser.parse_clean(&cells, 7, &mut quick);
        let valid = parser.validate_cells(&cells, 7, &mut full).is_ok();
        ((took, quick), (valid, full))
    }

    #[test]
    fn the_quick_parse_takes_the_usual_row() {
        let usual: Vec<&str> = CELLS.iter().map(|(ok, _)| ok[0]).collect();
        let ((took, quick), (valid, full)) = both(&usual, true, false);
        assert!(took && valid);
        assert_eq!(quick, full);
        assert_eq!((quick.id.as_str(), quick.line), ("A1", 7));
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(3000))]
        /// The quick parse accepts exactly the rows the validator accepts, and makes the
        /// same record of them, in both number dialects, with and without a name column.
        #[test]
        fn the_quick_parse_is_the_validator_on_every_row_it_takes(
            picks in proptest::collection::vec(0usize..1000, 14),
            decimal_comma in proptest::bool::ANY,
            named in proptest::bool::ANY,
        ) {
            // Each cell usual with probability 7/8: about one row in six is all usual.
            let values: Vec<&str> = CELLS
                .iter()
                .zip(&picks)
                .map(|((ok, bad), &p)| {
                    if p < 875 || bad.is_empty() {
                        ok[p % ok.len()]
                    } else {
                        bad[p % bad.len()]
                    }
                })
                .collect();
            let ((took, quick), (valid, full)) = both(&values, named, decimal_comma);
            proptest::prop_assert_eq!(took, valid, "{:?}", values);
            if took {
                proptest::prop_assert_eq!(quick, full);
            }
        }
    }

    #[test]
    fn field_values_read_as_their_json_type() {
        let read = |j: &str| serde_json::from_str::<FieldValue>(j);
        assert_eq!(read("null").unwrap(), FieldValue::Null);
        assert_eq!(read("true").unwrap(), FieldValue::Bool(true));
        assert_eq!(read("-3").unwrap(), FieldValue::Int(-3));
        assert_eq!(read("2.5").unwrap(), FieldValue::Float(2.5));
        assert_eq!(
            read("18446744073709551615").unwrap(),
            FieldValue::Float(18446744073709551615.0)
        );
        assert_eq!(read("\"oui\"").unwrap(), FieldValue::Text("oui".into()));
        for bad in ["[1]", "{\"a\": 1}"] {
            let e = read(bad).unwrap_err().to_string();
            assert!(e.contains("a number, text, boolean or null"), "{e}");
        }
        let a: Applicant = serde_json::from_str(r#"{"id": "A1", "hours": 120}"#).unwrap();
        assert_eq!(a.get("hours"), Some(&FieldValue::Int(120)));
    }
}
