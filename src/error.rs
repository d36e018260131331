//! One error type for the whole library.
//!
//! Every input problem carries where it was found (file, line, column or TOML key) so a
//! planner can open the file and fix it. Messages never quote personal data: a bad cell is
//! quoted only for typed columns (numbers, dates, booleans, codes), never for `name`.

use std::fmt;
use std::path::PathBuf;

/// How serious a [`Problem`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    /// Worth knowing, does not stop the run.
    Warning,
    /// Bad input: the run stops with exit code 2.
    Error,
}

/// The field a problem is about: a CSV column or a TOML key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Field {
    /// A CSV column, by header name.
    Column(String),
    /// A TOML key path such as `budget.total` or `funder[2].cities`.
    Key(String),
}

/// One problem found in an input, with its location.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// Error or warning.
    pub severity: Severity,
    /// File the problem is in, as the user named it (or relative to the scenario).
    pub file: String,
    /// 1-based line in that file, where known.
    pub line: Option<u64>,
    /// 1-based character column (rule scripts), where known.
    pub col: Option<u64>,
    /// CSV column or TOML key, where known.
    pub field: Option<Field>,
    /// What was wrong and what was expected.
    pub message: String,
}

impl Problem {
    /// An error in `file` with no position yet.
    pub fn error(file: impl Into<String>, message: impl Into<String>) -> Self {
        Problem {
            severity: Severity::Error,
            file: file.into(),
            line: None,
            col: None,
            field: None,
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
        self.col = Some(col);
        self
    }

    /// Names the CSV column.
    pub fn column(mut self, name: impl Into<String>) -> Self {
        self.field = Some(Field::Column(name.into()));
        self
    }

    /// Names the TOML key.
    pub fn key(mut self, key: impl Into<String>) -> Self {
        self.field = Some(Field::Key(key.into()));
        self
    }

    /// True for errors, false for warnings.
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if !self.file.is_empty() {
            f.write_str(&self.file)?;
            if let Some(line) = self.line {
                write!(f, ":{line}")?;
                if let Some(col) = self.col {
                    write!(f, ":{col}")?;
                }
            }
            f.write_str(": ")?;
        }
        if self.severity == Severity::Warning {
            f.write_str("warning: ")?;
        }
        match &self.field {
            Some(Field::Column(c)) => write!(f, "column {c}: ")?,
            Some(Field::Key(k)) => write!(f, "key {k}: ")?,
            None => {}
        }
        f.write_str(&self.message)
    }
}

/// Problems found together, e.g. every bad row of a CSV file (capped).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
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
            Err(Error::Input(Problems {
                list,
                omitted: self.omitted,
            }))
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
    /// Bad input: scenario, CSV data, rule scripts or options. Exit code 2.
    #[error("{0}")]
    Input(Problems),
    /// A file could not be read or written.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// What the operating system said.
        source: std::io::Error,
    },
    /// Rules ran but failed for some applicants (each row is marked `error`). Exit code 2.
    #[error("{0}")]
    Rules(Problems),
    /// The scenario's constraints cannot all hold. Exit code 1.
    #[error("infeasible scenario: {0}")]
    Infeasible(String),
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
            Error::Infeasible(_) | Error::TestsFailed(_) => 1,
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
}

impl From<Problem> for Error {
    fn from(p: Problem) -> Self {
        Error::Input(p.into())
    }
}

/// Result with the library's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
