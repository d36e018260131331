//! CSV dialects, in one place.
//!
//! Applicant lists come from spreadsheets: French-locale Excel writes `;` separators,
//! decimal commas, `oui`/`non`, a UTF-8 byte-order mark and CRLF line ends. Everything that
//! reads or writes CSV goes through this module so every file is read the same way.

use std::borrow::Cow;
use std::fs::File;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::path::Path;

use crate::error::{Error, Problem, Result};

/// How a CSV file is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Dialect {
    /// Field separator: `,`, `;` or tab.
    pub delimiter: u8,
    /// Numbers may use a decimal comma (`12,5`); true for `;` and tab files.
    pub decimal_comma: bool,
}

impl Dialect {
    /// The dialect of a file whose first line is `header`: the separator that occurs most
    /// often outside quotes (ties prefer `,`, then `;`, then tab).
    pub fn sniff(header: &[u8]) -> Dialect {
        let mut counts = [0usize; 3];
        let mut quoted = false;
        for &b in header {
            match b {
                b'"' => quoted = !quoted,
                b',' if !quoted => counts[0] += 1,
                b';' if !quoted => counts[1] += 1,
                b'\t' if !quoted => counts[2] += 1,
                b'\n' => break,
                _ => {}
            }
        }
        let delimiter = if counts[1] > counts[0] && counts[1] >= counts[2] {
            b';'
        } else if counts[2] > counts[0] && counts[2] > counts[1] {
            b'\t'
        } else {
            b','
        };
        Dialect {
            delimiter,
            decimal_comma: delimiter != b',',
        }
    }

    /// Reads a number written in this dialect: `12.5`, and with a decimal comma also `12,5`
    /// and `1 234,5` (space or no-break space as thousands separator).
    pub fn number(&self, s: &str) -> Option<f64> {
        let s = s.trim();
        if s.is_empty() {
            return None;
        }
        let plain = |t: &str| -> Option<f64> {
            // Reject what Rust accepts but a spreadsheet never writes: inf, nan, "1e5x".
            if !t
                .bytes()
                .all(|b| b.is_ascii_digit() || b"+-.eE".contains(&b))
            {
                return None;
            }
            t.parse::<f64>().ok().filter(|v| v.is_finite())
        };
        if let Some(v) = plain(s) {
            return Some(v);
        }
        if !self.decimal_comma {
            return None;
        }
        let cleaned: String = s
            .chars()
            .filter(|c| !matches!(c, ' ' | '\u{a0}' | '\u{202f}'))
            .map(|c| if c == ',' { '.' } else { c })
            .collect();
        if s.contains('.') || s.matches(',').count() > 1 {
            return None;
        }
        plain(&cleaned)
    }
}

/// Reads a boolean: true/false, 1/0, yes/no, oui/non, vrai/faux (any case).
pub fn boolean(s: &str) -> Option<bool> {
    match s.trim().to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" | "y" | "oui" | "o" | "vrai" => Some(true),
        "false" | "0" | "no" | "n" | "non" | "faux" => Some(false),
        _ => None,
    }
}

/// A CSV file opened for streaming: dialect sniffed, BOM skipped, fields trimmed.
pub struct CsvInput {
    /// The file as the user knows it, for messages.
    pub display: String,
    /// The sniffed dialect.
    pub dialect: Dialect,
    /// The reader, positioned after the header.
    pub reader: csv::Reader<Box<dyn Read + Send>>,
    /// Header names, trimmed.
    pub headers: Vec<String>,
}

impl CsvInput {
    /// Opens `path` (or standard input for `-`), naming it `display` in messages.
    pub fn open(path: &Path, display: &str) -> Result<CsvInput> {
        let source: Box<dyn Read + Send> = if path == Path::new("-") {
            Box::new(io::stdin())
        } else {
            Box::new(File::open(path).map_err(|e| {
                Error::from(Problem::error(
                    display,
                    format!("cannot open the file: {e}"),
                ))
            })?)
        };
        Self::from_reader(source, display)
    }

    /// Reads CSV from any byte source, naming it `display` in messages.
    pub fn from_reader(source: Box<dyn Read + Send>, display: &str) -> Result<CsvInput> {
        let mut buf = BufReader::with_capacity(1 << 16, source);
        let read_err =
            |e: io::Error| Error::from(Problem::error(display, format!("cannot read: {e}")));
        let head = buf.fill_buf().map_err(read_err)?;
        let bom = head.starts_with(b"\xEF\xBB\xBF");
        let body = if bom { &head[3..] } else { head };
        if body.iter().all(|b| b.is_ascii_whitespace()) {
            return Err(
                Problem::error(display, "the file is empty; expected a header line")
                    .at_line(1)
                    .into(),
            );
        }
        let dialect = Dialect::sniff(body);
        if bom {
            buf.consume(3);
        }
        let source: Box<dyn Read + Send> = Box::new(buf);
        let mut reader = csv::ReaderBuilder::new()
            .delimiter(dialect.delimiter)
            .trim(csv::Trim::All)
            // Rows end at `\n` only: the csv crate's CRLF handling counts lines one short,
            // and a `\r` left at the end of a row is trimmed with the other spaces.
            .terminator(csv::Terminator::Any(b'\n'))
            .flexible(true)
            .has_headers(true)
            .buffer_capacity(1 << 16)
            .from_reader(source);
        let headers = match reader.headers() {
            Ok(h) => h.iter().map(|s| s.trim().to_string()).collect(),
            Err(e) => return Err(csv_problem(display, &e).into()),
        };
        Ok(CsvInput {
            display: display.to_string(),
            dialect,
            reader,
            headers,
        })
    }
}

/// A problem from the csv crate (bad UTF-8, unreadable file), with its line.
pub fn csv_problem(display: &str, e: &csv::Error) -> Problem {
    let line = e.position().map(|p| p.line());
    let message = match e.kind() {
        csv::ErrorKind::Utf8 { err, .. } => format!(
            "field {} is not valid UTF-8; save the file as UTF-8 (CSV UTF-8 in Excel)",
            err.field() + 1
        ),
        csv::ErrorKind::Io(io) => format!("cannot read: {io}"),
        _ => format!("unreadable CSV: {e}"),
    };
    let p = Problem::error(display, message);
    match line {
        Some(l) => p.at_line(l),
        None => p,
    }
}

/// A CSV writer to `path`, or to standard output for `-` or no path.
pub fn writer(path: Option<&Path>) -> Result<csv::Writer<Box<dyn Write>>> {
    let sink: Box<dyn Write> = match path {
        Some(p) if p != Path::new("-") => Box::new(File::create(p).map_err(|e| Error::io(p, e))?),
        _ => Box::new(io::stdout().lock()),
    };
    Ok(
        csv::WriterBuilder::new()
            .from_writer(Box::new(io::BufWriter::with_capacity(1 << 16, sink))),
    )
}

/// A text cell made safe for spreadsheets: a cell that starts like a formula (`=`, `+`,
/// `-`, `@`, tab, CR) gets a leading `'` so Excel shows it instead of running it.
pub fn cell(s: &str) -> Cow<'_, str> {
    match s.as_bytes().first() {
        Some(b'=' | b'+' | b'-' | b'@' | b'\t' | b'\r') => Cow::Owned(format!("'{s}")),
        _ => Cow::Borrowed(s),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sniffs_the_separator_from_the_header() {
        assert_eq!(Dialect::sniff(b"id,name;x,gender\n").delimiter, b',');
        assert_eq!(Dialect::sniff(b"id;name;gender\r\n").delimiter, b';');
        assert_eq!(Dialect::sniff(b"id\tname\tgender\n").delimiter, b'\t');
        assert_eq!(Dialect::sniff(b"\"a;b\",c\n").delimiter, b',');
    }

    #[test]
    fn numbers_follow_the_dialect() {
        let fr = Dialect {
            delimiter: b';',
            decimal_comma: true,
        };
        let en = Dialect {
            delimiter: b',',
            decimal_comma: false,
        };
        assert_eq!(fr.number("12,5"), Some(12.5));
        assert_eq!(fr.number("1\u{a0}234,5"), Some(1234.5));
        assert_eq!(fr.number("12.5"), Some(12.5));
        assert_eq!(en.number("12,5"), None);
        assert_eq!(en.number("12O"), None);
        assert_eq!(en.number("inf"), None);
        assert_eq!(en.number("NaN"), None);
        assert_eq!(fr.number("1,2,3"), None);
    }

    #[test]
    fn booleans_in_english_and_french() {
        for t in ["true", "1", "yes", "OUI", "Vrai"] {
            assert_eq!(boolean(t), Some(true), "{t}");
        }
        for f in ["false", "0", "no", "Non", "faux"] {
            assert_eq!(boolean(f), Some(false), "{f}");
        }
        assert_eq!(boolean("maybe"), None);
    }

    #[test]
    fn formula_cells_are_escaped() {
        assert_eq!(cell("=SUM(A1)"), "'=SUM(A1)");
        assert_eq!(cell("@x"), "'@x");
        assert_eq!(cell("plain"), "plain");
    }
}
