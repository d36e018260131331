//! Applicant records and reading them from CSV.
//!
//! Reading is split in two so it can stream and parallelise: [`ApplicantSource`] pulls raw
//! rows off the file in order (cheap, one thread) and [`RowParser`] turns a raw row into a
//! typed [`Applicant`] (shareable across threads). [`read_applicants`] does both for callers
//! who want every record in memory.

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::sync::Arc;

use crate::date::Date;
use crate::dialect::{self, CsvInput, Dialect};
use crate::error::{Problem, Problems, Result};
use crate::suggest;

/// The typed core columns, in the order DESIGN.md lists them.
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
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
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

/// A value of a column that is not one of the core columns.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// A cell that reads as a number in the file's dialect.
    Number(f64),
    /// Any other cell, trimmed (empty cells are empty text).
    Text(String),
}

/// One applicant, as read from a row of `applicants.csv`.
#[derive(Debug, Clone, PartialEq)]
pub struct Applicant {
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

impl Applicant {
    /// The value of an extra column, by name.
    pub fn extra(&self, name: &str) -> Option<&Value> {
        self.extra_names
            .iter()
            .position(|n| n == name)
            .map(|i| &self.extra[i])
    }
}

/// Turns raw CSV rows into typed applicants; shared by the threads that parse.
#[derive(Debug)]
pub struct RowParser {
    display: String,
    dialect: Dialect,
    /// Index of each core column in the row (`name` may be absent).
    core: [Option<usize>; 14],
    extra_idx: Vec<usize>,
    extra_names: Arc<[String]>,
    width: usize,
    cities: Arc<HashSet<String>>,
}

/// What [`ApplicantSource::next_row`] read.
#[derive(Debug)]
pub enum Row {
    /// A row, in the record passed in.
    Record,
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

/// The applicants file opened for streaming, header checked.
pub struct ApplicantSource {
    input: CsvInput,
    parser: Arc<RowParser>,
}

impl ApplicantSource {
    /// Opens `path` (shown as `display`); `cities` are the scenario's cities.
    pub fn open(path: &Path, display: &str, cities: Arc<HashSet<String>>) -> Result<Self> {
        let input = CsvInput::open(path, display)?;
        let parser = RowParser::new(display, input.dialect, &input.headers, cities)?;
        Ok(ApplicantSource {
            input,
            parser: Arc::new(parser),
        })
    }

    /// The parser for this file's rows.
    pub fn parser(&self) -> Arc<RowParser> {
        Arc::clone(&self.parser)
    }

    /// Reads the next row into `record`. A row that is not valid UTF-8 is
    /// [`Row::Unreadable`] and reading goes on; only a failing file is an error.
    pub fn next_row(&mut self, record: &mut csv::StringRecord) -> Result<Row, Problem> {
        let mut bytes = std::mem::take(record).into_byte_record();
        match self.input.reader.read_byte_record(&mut bytes) {
            Ok(false) => return Ok(Row::End),
            Ok(true) => {}
            Err(e) => return Err(dialect::csv_problem(&self.input.display, &e)),
        }
        match csv::StringRecord::from_byte_record(bytes) {
            Ok(r) => {
                *record = r;
                Ok(Row::Record)
            }
            Err(e) => {
                let bytes = e.into_byte_record();
                let line = bytes.position().map_or(0, |p| p.line());
                let id = self.parser.core[0]
                    .and_then(|i| bytes.get(i))
                    .map(|b| String::from_utf8_lossy(b).trim().to_string())
                    .unwrap_or_default();
                let p = Problem::error(
                    &self.input.display,
                    "the row is not valid UTF-8; save the file as UTF-8 (CSV UTF-8 in Excel)",
                )
                .at_line(line);
                Ok(Row::Unreadable {
                    id,
                    line,
                    problem: p,
                })
            }
        }
    }

    /// The file's dialect.
    pub fn dialect(&self) -> Dialect {
        self.input.dialect
    }
}

/// A cell value quoted for a message: typed columns only, shortened.
fn quoted(s: &str) -> String {
    let short: String = s.chars().take(40).collect();
    if short.len() < s.len() {
        format!("\"{short}…\"")
    } else {
        format!("\"{short}\"")
    }
}

impl RowParser {
    /// A parser for rows with these `headers` (core columns required, others kept).
    pub fn new(
        display: &str,
        dialect: Dialect,
        headers: &[String],
        cities: Arc<HashSet<String>>,
    ) -> Result<RowParser> {
        let mut problems = Problems::default();
        for (i, h) in headers.iter().enumerate() {
            if h.is_empty() {
                problems
                    .push(Problem::error(display, format!("header {} is empty", i + 1)).at_line(1));
            } else if headers[..i].contains(h) {
                problems.push(
                    Problem::error(display, format!("column `{h}` appears twice")).at_line(1),
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
                        .at_line(1),
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
        })
    }

    /// The id cell of a raw row, without parsing the rest.
    pub fn id_of<'r>(&self, record: &'r csv::StringRecord) -> Option<&'r str> {
        self.core[0].and_then(|i| record.get(i))
    }

    /// Names of the file's extra (non-core) columns.
    pub fn extra_names(&self) -> &[String] {
        &self.extra_names
    }

    /// The file name shown in messages.
    pub fn display(&self) -> &str {
        &self.display
    }

    /// The applicant in `record`, or every problem the row has.
    pub fn parse(&self, record: &csv::StringRecord) -> Result<Applicant, Vec<Problem>> {
        let line = record.position().map_or(0, |p| p.line());
        let mut problems = Vec::new();
        if record.len() != self.width {
            let p = Problem::error(
                &self.display,
                format!(
                    "row has {} fields, expected {} as in the header (check the separator and quotes)",
                    record.len(),
                    self.width
                ),
            )
            .at_line(line);
            return Err(vec![p]);
        }
        let cell = |c: usize| self.core[c].map_or("", |i| record.get(i).unwrap_or(""));
        let mut bad = |c: usize, msg: String| {
            problems.push(
                Problem::error(&self.display, msg)
                    .at_line(line)
                    .column(CORE_COLUMNS[c]),
            );
        };
        let required =
            |c: usize, what: &str, bad: &mut dyn FnMut(usize, String)| -> Option<String> {
                let v = cell(c);
                if v.is_empty() {
                    bad(c, format!("empty; expected {what}"));
                    None
                } else {
                    Some(v.to_string())
                }
            };
        let id = required(0, "an applicant id", &mut bad);
        let gender =
            required(2, "F or M", &mut bad).and_then(|v| match v.to_ascii_uppercase().as_str() {
                "F" => Some(Gender::F),
                "M" => Some(Gender::M),
                _ => {
                    bad(
                        2,
                        format!("{} is not a gender; expected F or M", quoted(&v)),
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
                            quoted(&v)
                        ),
                    );
                    None
                }
            });
        let city = required(4, "one of the scenario's cities", &mut bad).and_then(|v| {
            if self.cities.contains(&v) {
                Some(v)
            } else {
                let hint = suggest::hint(&v, self.cities.iter().map(String::as_str));
                bad(
                    4,
                    format!(
                        "unknown city {}{hint}; expected a city of labour_market.csv",
                        quoted(&v)
                    ),
                );
                None
            }
        });
        let release_date = required(5, "a date YYYY-MM-DD", &mut bad).and_then(|v| {
            let d = Date::parse(&v);
            if d.is_none() {
                bad(
                    5,
                    format!(
                        "{} is not a date that exists; expected YYYY-MM-DD",
                        quoted(&v)
                    ),
                );
            }
            d
        });
        let training_track = required(6, "the trade trained in", &mut bad);
        let number = |c: usize, what: &str, bad: &mut dyn FnMut(usize, String)| -> Option<f64> {
            let v = cell(c);
            if v.is_empty() {
                bad(c, format!("empty; expected {what}"));
                return None;
            }
            match self.dialect.number(v) {
                Some(n) if n >= 0.0 => Some(n),
                Some(_) => {
                    bad(c, format!("{} is negative; expected {what}", quoted(v)));
                    None
                }
                None => {
                    bad(c, format!("{} is not a number; expected {what}", quoted(v)));
                    None
                }
            }
        };
        let flag = |c: usize, bad: &mut dyn FnMut(usize, String)| -> Option<bool> {
            let v = cell(c);
            let b = dialect::boolean(v);
            if b.is_none() {
                let shown = if v.is_empty() {
                    "empty".to_string()
                } else {
                    format!("{} is not a yes/no value", quoted(v))
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

        let extra = self
            .extra_idx
            .iter()
            .map(|&i| {
                let v = record.get(i).unwrap_or("");
                match self.dialect.number(v) {
                    Some(n) => Value::Number(n),
                    None => Value::Text(v.to_string()),
                }
            })
            .collect();

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
            ) if problems.is_empty() => Ok(Applicant {
                id,
                name: cell(1).to_string(),
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
                extra_names: Arc::clone(&self.extra_names),
                extra,
                line,
            }),
            _ => Err(problems),
        }
    }
}

/// Tracks ids seen so far and reports the second occurrence of any id.
///
/// Keeps a 128-bit fingerprint per id instead of the id itself, so checking a million
/// applicants needs about 30 MB whatever the ids look like; two different ids share a
/// fingerprint with a probability around 1e-27.
#[derive(Debug, Default)]
pub struct DuplicateIds {
    seen: HashMap<[u64; 2], u32>,
}

fn fingerprint(id: &str) -> [u64; 2] {
    use std::hash::{Hash, Hasher};
    let mut a = std::hash::DefaultHasher::new();
    id.hash(&mut a);
    let mut b = std::hash::DefaultHasher::new();
    (0x9e37_79b9_7f4a_7c15_u64, id).hash(&mut b);
    [a.finish(), b.finish()]
}

impl DuplicateIds {
    /// Records `id` from `line`; a problem when it was seen before.
    pub fn see(&mut self, display: &str, id: &str, line: u64) -> Option<Problem> {
        match self.seen.entry(fingerprint(id)) {
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
        mut each: impl FnMut(Applicant),
    ) -> u64 {
        let parser = self.parser();
        let mut record = csv::StringRecord::new();
        let mut ids = DuplicateIds::default();
        let mut rows = 0;
        loop {
            match self.next_row(&mut record) {
                Ok(Row::End) => break,
                Ok(Row::Record) => {}
                Ok(Row::Unreadable { problem, .. }) => {
                    rows += 1;
                    problems.push(problem);
                    continue;
                }
                Err(p) => {
                    problems.push(p);
                    break;
                }
            }
            rows += 1;
            match parser.parse(&record) {
                Ok(a) => {
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

/// Reads every applicant of `path`, or all of the file's problems (up to the cap).
pub fn read_applicants(
    path: &Path,
    display: &str,
    cities: Arc<HashSet<String>>,
) -> Result<Vec<Applicant>> {
    let mut source = ApplicantSource::open(path, display, cities)?;
    let mut out = Vec::new();
    let mut problems = Problems::default();
    source.for_each_applicant(&mut problems, |a| out.push(a));
    problems.into_result()?;
    Ok(out)
}
