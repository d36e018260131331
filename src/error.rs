//! One error type for the whole library.
//!
//! Every input problem carries where it was found (file, line, column or TOML key) so a
//! planner can open the file and fix it. Messages never quote personal data: a bad cell is
//! quoted only for typed columns (numbers, dates, booleans, codes), never for `name`.

use std::fmt;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// Longest piece of input quoted in a message.
const SHOWN: usize = 40;

/// A value from input as a message may quote it: control characters and escape sequences
/// escaped (`\u{1b}`), at most 40 characters, in double quotes. The one place input text
/// enters a message.
pub(crate) fn shown(v: &str) -> String {
    let mut out = String::from("\"");
    for (i, c) in v.chars().enumerate() {
        if i == SHOWN {
            out.push('…');
            break;
        }
        push_escaped(&mut out, c);
    }
    out.push('"');
    out
}

fn push_escaped(out: &mut String, c: char) {
    if c.is_control() {
        out.push_str(&c.escape_unicode().to_string());
    } else {
        out.push(c);
    }
}

/// `s` with control characters escaped, so nothing from input can drive a terminal.
fn escaped(s: &str) -> std::borrow::Cow<'_, str> {
    if s.chars().any(char::is_control) {
        let mut out = String::with_capacity(s.len() + 8);
        s.chars().for_each(|c| push_escaped(&mut out, c));
        std::borrow::Cow::Owned(out)
    } else {
        std::borrow::Cow::Borrowed(s)
    }
}

/// How serious a [`Problem`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// Worth knowing, does not stop the run.
    Warning,
    /// Bad input: the run stops with exit code 2.
    #[default]
    Error,
}

/// One problem found in an input, with its location: the same object in Rust, in the HTTP
/// API's 400 bodies and in Python's `InputError.problems`. Absent parts are `None` (JSON
/// `null`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Problem {
    /// File (or in-memory part such as `scenario.toml`) the problem is in, as the user
    /// named it; `None` for an applicant given in code.
    pub file: Option<String>,
    /// 1-based line in that file, where known.
    pub line: Option<u64>,
    /// 1-based character column (rule scripts), where known.
    pub column: Option<u64>,
    /// TOML key such as `budget.total` or `funder[2].cities`, or `--set` key.
    pub key: Option<String>,
    /// Applicant field (CSV column), where the problem is about one.
    pub field: Option<String>,
    /// Applicant id, where the problem is about one applicant.
    pub id: Option<String>,
    /// What was wrong and what was expected.
    pub message: String,
    /// Error or warning (not part of the JSON form: only errors are returned as such).
    #[serde(skip)]
    pub severity: Severity,
}

impl Problem {
    /// An error in `file` (empty: no file) with no position yet.
    pub fn error(file: impl Into<String>, message: impl Into<String>) -> Self {
        let file = file.into();
        Problem {
            severity: Severity::Error,
            file: (!file.is_empty()).then_some(file),
            line: None,
            column: None,
            key: None,
            field: None,
            id: None,
            message: message.into(),
        }
    }

    /// A warning in `file` with no position yet.
    pub fn warning(file: impl Into<String>, message: impl Into<String>) -> Self {
        Problem {
            severity: Severity::Warning,
            ..Problem::error(file, message)
        }
    }

    /// Sets the line.
    pub fn at_line(mut self, line: u64) -> Self {
        self.line = Some(line);
        self
    }

    /// Sets line and column.
    pub fn at(mut self, line: u64, col: u64) -> Self {
        self.line = Some(line);
        self.column = Some(col);
        self
    }

    /// Names the applicant field (CSV column).
    pub fn column(mut self, name: impl Into<String>) -> Self {
        self.field = Some(name.into());
        self
    }

    /// Names the TOML key.
    pub fn key(mut self, key: impl Into<String>) -> Self {
        self.key = Some(key.into());
        self
    }

    /// Names the applicant.
    pub fn applicant(mut self, id: impl Into<String>) -> Self {
        self.id = Some(id.into());
        self
    }

    /// True for errors, false for warnings.
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.file, &self.id) {
            (Some(file), _) => {
                f.write_str(&escaped(file))?;
                if let Some(line) = self.line {
                    write!(f, ":{line}")?;
                    if let Some(col) = self.column {
                        write!(f, ":{col}")?;
                    }
                }
                f.write_str(": ")?;
            }
            (None, Some(id)) => write!(f, "applicant {}: ", escaped(id))?,
            (None, None) => {}
        }
        if self.severity == Severity::Warning {
            f.write_str("warning: ")?;
        }
        if let Some(c) = &self.field {
            write!(f, "column {}: ", escaped(c))?;
        } else if let Some(k) = &self.key {
            write!(f, "key {}: ", escaped(k))?;
        }
        f.write_str(&escaped(&self.message))
    }
}

/// Problems found together, e.g. every bad row of a CSV file (capped).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Problems {
    /// The problems kept, in the order found.
    pub list: Vec<Problem>,
    /// How many more were found past the cap and not kept.
    pub omitted: usize,
}

impl Problems {
    /// How many problems are kept at most; the rest are only counted.
    pub const CAP: usize = 50;

    /// Adds a problem, counting it only once the cap is reached.
    pub fn push(&mut self, p: Problem) {
        if self.list.len() < Self::CAP {
            self.list.push(p);
        } else {
            self.omitted += 1;
        }
    }

    /// True when at least one problem is an error.
    pub fn has_errors(&self) -> bool {
        self.omitted > 0 || self.list.iter().any(Problem::is_error)
    }

    /// True when nothing was found.
    pub fn is_empty(&self) -> bool {
        self.list.is_empty() && self.omitted == 0
    }

    /// Moves every problem of `other` into `self`.
    pub fn extend(&mut self, other: Problems) {
        for p in other.list {
            self.push(p);
        }
        self.omitted += other.omitted;
    }

    /// Errors only, as an [`Error`], or `Ok` when there are none.
    pub fn into_result(self) -> Result<(), Error> {
        if self.has_errors() {
            let list = self.list.into_iter().filter(Problem::is_error).collect();
            Err(Error::Input {
                problems: Problems {
                    list,
                    omitted: self.omitted,
                },
            })
        } else {
            Ok(())
        }
    }
}

impl fmt::Display for Problems {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, p) in self.list.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            write!(f, "{p}")?;
        }
        if self.omitted > 0 {
            write!(f, "\n... and {} more problems not shown", self.omitted)?;
        }
        Ok(())
    }
}

impl FromIterator<Problem> for Problems {
    fn from_iter<I: IntoIterator<Item = Problem>>(iter: I) -> Self {
        let mut all = Problems::default();
        iter.into_iter().for_each(|p| all.push(p));
        all
    }
}

impl From<Problem> for Problems {
    fn from(p: Problem) -> Self {
        Problems {
            list: vec![p],
            omitted: 0,
        }
    }
}

/// Everything that can go wrong in idmaj.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Bad input: scenario, CSV data, applicants, rule scripts or options. Exit code 2.
    #[error("{problems}")]
    Input {
        /// Every problem found (capped), each with its location.
        problems: Problems,
    },
    /// A file could not be read or written.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// What the operating system said.
        source: std::io::Error,
    },
    /// Rules ran but failed for some applicants (each such assessment has status `error`);
    /// returned where a whole batch is needed, e.g. by `idmaj allocate`. Exit code 2.
    #[error("{problems}")]
    Rules {
        /// One problem per failing applicant (capped).
        problems: Problems,
    },
    /// The scenario's constraints cannot all hold. Exit code 1.
    #[error("infeasible scenario: {message}")]
    Infeasible {
        /// The conflicting constraints, as named in `summary.json`
        /// (`quota.women.min_count`, `budget.total`, ...).
        constraints: Vec<String>,
        /// By how many people the first of them falls short, where known.
        shortfall: Option<i64>,
        /// The conflict in words.
        message: String,
    },
    /// Rule test cases failed. Exit code 1.
    #[error("{0}")]
    TestsFailed(String),
    /// A result broke an invariant the library guarantees (a bug, never bad input).
    #[error("internal error (please report): {0}")]
    Internal(String),
}

impl Error {
    /// Exit code the command line maps this error to: 1 infeasible or failed tests,
    /// 2 bad input, 3 internal error.
    pub fn exit_code(&self) -> u8 {
        match self {
            Error::Infeasible { .. } | Error::TestsFailed(_) => 1,
            Error::Internal(_) => 3,
            _ => 2,
        }
    }

    /// An I/O error on `path`.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }

    /// The input problems of an [`Error::Input`] or [`Error::Rules`]; empty otherwise.
    pub fn problems(&self) -> &[Problem] {
        match self {
            Error::Input { problems } | Error::Rules { problems } => &problems.list,
            _ => &[],
        }
    }
}

impl From<Problem> for Error {
    fn from(p: Problem) -> Self {
        Error::Input { problems: p.into() }
    }
}

/// Result with the library's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
