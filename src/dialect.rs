//! CSV dialects, in one place.
//!
//! Applicant lists come from spreadsheets: French-locale Excel writes `;` separators,
//! decimal commas, `oui`/`non`, a UTF-8 byte-order mark and CRLF line ends. Everything that
//! reads or writes CSV goes through this module so every file is read the same way, and
//! every CSV output is written in one of the [`OutputDialect`]s. A workbook (`.xlsx`) is
//! read here too, through [`crate::xlsx`], as the same rows of text cells a CSV file gives,
//! so one validator checks both.

use std::borrow::Cow;
use std::fs::File;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::path::Path;
use std::str::FromStr;

use crate::csv_rows::{line_fields, CsvRows, Raw};
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
        let s = trim(s);
        if s.is_empty() {
            return None;
        }
        let plain = |t: &str| -> Option<f64> {
            if let Some(v) = simple_decimal(t) {
                return Some(v);
            }
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

/// `t` as a number when it is digits with at most one decimal point between digits, 15
/// digits at most (`120`, `12000`, `7.5`): exactly what `t.parse::<f64>()` gives, computed
/// without the general parser; `None` for anything else (left to the parser).
///
/// Why exact: the digits make a whole number below 2^53 and the power of ten is at most
/// 10^15, both exact in an f64, so their quotient, rounded once to the nearest f64 (ties
/// to even), is the decimal value rounded as the parser rounds it.
fn simple_decimal(t: &str) -> Option<f64> {
    let b = t.as_bytes();
    if b.is_empty() || b.len() > 16 {
        return None;
    }
    let (mut whole, mut digits, mut decimals, mut point) = (0u64, 0u32, 0usize, None);
    for (i, &c) in b.iter().enumerate() {
        match c {
            b'0'..=b'9' => {
                whole = whole * 10 + u64::from(c - b'0');
                digits += 1;
                if point.is_some() {
                    decimals += 1;
                }
            }
            b'.' if point.is_none() && i > 0 && i + 1 < b.len() => point = Some(i),
            _ => return None,
        }
    }
    if digits > 15 {
        return None;
    }
    const POW10: [f64; 16] = [
        1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
    ];
    Some(whole as f64 / POW10[decimals])
}

/// Reads a boolean: true/false, 1/0, yes/no, oui/non, vrai/faux (any case).
pub fn boolean(s: &str) -> Option<bool> {
    const YES: [&str; 7] = ["true", "1", "yes", "y", "oui", "o", "vrai"];
    const NO: [&str; 6] = ["false", "0", "no", "n", "non", "faux"];
    // Compared without case rather than lowercased: no allocation for each cell.
    let s = trim(s);
    if YES.iter().any(|w| s.eq_ignore_ascii_case(w)) {
        Some(true)
    } else if NO.iter().any(|w| s.eq_ignore_ascii_case(w)) {
        Some(false)
    } else {
        None
    }
}

/// `s.trim()`, without decoding characters when `s` plainly has no space at either end
/// (cells read from CSV are trimmed already).
pub(crate) fn trim(s: &str) -> &str {
    match (s.as_bytes().first(), s.as_bytes().last()) {
        (Some(a), Some(b)) if a.is_ascii_graphic() && b.is_ascii_graphic() => s,
        _ => s.trim(),
    }
}

/// Longest line any CSV input may have: a longer one is an error, so memory stays bounded
/// whatever the file holds (a file without line ends, `/dev/zero`).
pub(crate) const MAX_LINE: u64 = 1 << 20;

/// Most bytes one input file may have: `IDMAJ_MAX_INPUT_MB` megabytes, 4096 by default.
pub(crate) fn max_input_bytes() -> u64 {
    std::env::var("IDMAJ_MAX_INPUT_MB")
        .ok()
        .and_then(|v| v.trim().parse::<u64>().ok())
        .unwrap_or(4096)
        .saturating_mul(1 << 20)
}

/// Why a bounded input stopped.
#[derive(Debug)]
struct TooLarge {
    /// 1-based line being read.
    line: u64,
    /// What was too large, in words.
    what: String,
}

impl std::fmt::Display for TooLarge {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.what)
    }
}

impl std::error::Error for TooLarge {}

/// A reader that fails once the input passes its size limit or a line passes
/// [`MAX_LINE`].
struct Bounded<R> {
    inner: R,
    total: u64,
    limit: u64,
    line: u64,
    line_len: u64,
}

impl<R: Read> Read for Bounded<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.total += n as u64;
        if self.total > self.limit {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                TooLarge {
                    line: self.line,
                    what: format!(
                        "the file is larger than {} MB, the most idmaj reads (IDMAJ_MAX_INPUT_MB)",
                        self.limit >> 20
                    ),
                },
            ));
        }
        let mut start = 0;
        for end in memchr::memchr_iter(b'\n', &buf[..n]) {
            self.line_len += (end - start) as u64;
            if self.line_len > MAX_LINE {
                break;
            }
            self.line += 1;
            self.line_len = 0;
            start = end + 1;
        }
        if self.line_len <= MAX_LINE {
            self.line_len += (n - start) as u64;
        }
        if self.line_len > MAX_LINE {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                TooLarge {
                    line: self.line,
                    what: format!(
                        "the line is longer than {} MB; expected one applicant per line",
                        MAX_LINE >> 20
                    ),
                },
            ));
        }
        Ok(n)
    }
}

/// Reads a whole text file of at most `limit` bytes (scenario TOML, rule scripts),
/// naming the line of invalid UTF-8.
pub(crate) fn read_text(path: &Path, display: &str, what: &str, limit: u64) -> Result<String> {
    let meta = std::fs::metadata(path);
    if meta.as_ref().is_ok_and(|m| m.is_dir()) {
        return Err(
            Problem::error(display, format!("is a folder; expected the {what} file")).into(),
        );
    }
    let file = File::open(path).map_err(|e| {
        Error::from(Problem::error(
            display,
            format!("cannot read the {what}: {e}"),
        ))
    })?;
    let mut bytes = Vec::new();
    file.take(limit + 1).read_to_end(&mut bytes).map_err(|e| {
        Error::from(Problem::error(
            display,
            format!("cannot read the {what}: {e}"),
        ))
    })?;
    if bytes.len() as u64 > limit {
        return Err(Problem::error(
            display,
            format!(
                "the {what} is larger than {} MB; expected a short text file",
                limit >> 20
            ),
        )
        .into());
    }
    String::from_utf8(bytes).map_err(|e| {
        let at = e.utf8_error().valid_up_to();
        let line = e.as_bytes()[..at].iter().filter(|&&b| b == b'\n').count() as u64 + 1;
        Error::from(
            Problem::error(
                display,
                "not valid UTF-8; save the file as UTF-8".to_string(),
            )
            .at_line(line),
        )
    })
}

/// A CSV file opened for streaming (dialect sniffed, BOM skipped, fields trimmed), or the
/// first sheet of a workbook read as the same rows of text cells.
pub struct CsvInput {
    /// The file as the user knows it, for messages.
    pub display: String,
    /// The sniffed dialect (a workbook's text cells are read with a decimal point).
    pub dialect: Dialect,
    /// Header names, trimmed.
    pub headers: Vec<String>,
    /// Line of the header: 1 in CSV; in a workbook, the sheet row holding it.
    pub header_line: u64,
    rows: Rows,
    /// A record to leave in the caller's place while a row is read into its old one, then
    /// kept for the next row (taking the caller's record would leave a new, allocated one
    /// there for every row).
    spare: Option<csv::StringRecord>,
    /// Where a record with quotes is read before it is checked as text.
    bytes: csv::ByteRecord,
}

/// The cells of one row, trimmed of ASCII white space as every CSV cell is read, borrowed
/// from where they were read.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Cells<'a> {
    /// A line without quotes (checked as UTF-8): its cells lie between the separators at
    /// `cuts`. Most rows of most files: read without copying a byte.
    Line {
        text: &'a str,
        cuts: &'a [usize],
        /// Line and first byte of the row in the file.
        line: u64,
        byte: u64,
    },
    /// A row read into a record: a row with quotes, a sheet's row, a row built in code.
    Record(&'a csv::StringRecord),
}

impl<'a> Cells<'a> {
    /// How many cells the row has.
    pub fn len(&self) -> usize {
        match self {
            Cells::Line { cuts, .. } => cuts.len() + 1,
            Cells::Record(r) => r.len(),
        }
    }

    /// Cell `i`, trimmed.
    pub fn get(&self, i: usize) -> Option<&'a str> {
        match *self {
            Cells::Line { text, cuts, .. } => {
                let start = match i {
                    0 => 0,
                    _ => cuts.get(i - 1)? + 1,
                };
                let end = match cuts.get(i) {
                    Some(&e) => e,
                    None if i == cuts.len() => text.len(),
                    None => return None,
                };
                // Cut at separators, which are ASCII: still text.
                text.get(start..end).map(str::trim_ascii)
            }
            Cells::Record(r) => r.get(i),
        }
    }

    /// Line of the row in its file (0 when it has none).
    pub fn line(&self) -> u64 {
        match self {
            Cells::Line { line, .. } => *line,
            Cells::Record(r) => r.position().map_or(0, csv::Position::line),
        }
    }

    /// First byte of the row in its file (0 when it has none).
    pub fn byte(&self) -> u64 {
        match self {
            Cells::Line { byte, .. } => *byte,
            Cells::Record(r) => r.position().map_or(0, csv::Position::byte),
        }
    }
}

/// What [`CsvInput::next_cells`] read.
pub(crate) enum NextCells<'a> {
    Row(Cells<'a>),
    End,
    /// A CSV row that is not valid UTF-8, as bytes.
    NotUtf8(csv::ByteRecord),
}

/// Where the rows after the header come from.
enum Rows {
    /// Parsed from CSV as they are asked for.
    Csv(Box<CsvRows<Box<dyn Read + Send>>>),
    /// Read from a workbook's sheet, each with its sheet row as its line.
    Sheet(std::vec::IntoIter<csv::StringRecord>),
}

/// What [`CsvInput::next_row`] read.
pub(crate) enum NextRow {
    /// A row, in the record passed in.
    Row,
    /// The end of the file.
    End,
    /// A CSV row that is not valid UTF-8, as bytes.
    NotUtf8(csv::ByteRecord),
}

/// File names read as workbooks.
const WORKBOOK_EXTENSIONS: [&str; 2] = ["xlsx", "xlsm"];

/// Spreadsheet files idmaj does not read, and what to do instead.
const OTHER_SPREADSHEETS: [&str; 4] = ["xls", "xlsb", "ods", "numbers"];

/// True when `path` names a workbook idmaj reads as a sheet (`.xlsx`, `.xlsm`).
pub(crate) fn is_workbook(path: &Path) -> bool {
    extension(path).is_some_and(|e| WORKBOOK_EXTENSIONS.contains(&e.as_str()))
}

fn extension(path: &Path) -> Option<String> {
    path.extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase)
}

impl CsvInput {
    /// Opens `path` (or standard input for `-`), naming it `display` in messages: a
    /// workbook for `.xlsx` and `.xlsm` names, CSV otherwise.
    pub fn open(path: &Path, display: &str) -> Result<CsvInput> {
        let source: Box<dyn Read + Send> = if path == Path::new("-") {
            Box::new(io::stdin())
        } else if path.is_dir() {
            return Err(Problem::error(display, "is a folder; expected a CSV file").into());
        } else if is_workbook(path) {
            return Self::from_sheet(crate::xlsx::read_first_sheet(path, display)?, display);
        } else if let Some(ext) =
            extension(path).filter(|e| OTHER_SPREADSHEETS.contains(&e.as_str()))
        {
            return Err(Problem::error(
                display,
                format!(
                    "a .{ext} spreadsheet is not read; save it as an Excel workbook (.xlsx) or \
                     as CSV UTF-8"
                ),
            )
            .into());
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

    /// The rows of a workbook's sheet.
    fn from_sheet(sheet: crate::xlsx::Sheet, display: &str) -> Result<CsvInput> {
        Ok(CsvInput {
            display: display.to_string(),
            dialect: Dialect {
                delimiter: b',',
                decimal_comma: false,
            },
            headers: sheet.headers,
            header_line: sheet.header_line,
            rows: Rows::Sheet(sheet.rows.into_iter()),
            spare: None,
            bytes: csv::ByteRecord::new(),
        })
    }

    /// Reads CSV from any byte source, naming it `display` in messages.
    pub fn from_reader(source: Box<dyn Read + Send>, display: &str) -> Result<CsvInput> {
        let bounded = Bounded {
            inner: source,
            total: 0,
            limit: max_input_bytes(),
            line: 1,
            line_len: 0,
        };
        let mut buf = BufReader::with_capacity(1 << 16, bounded);
        let read_err = |e: io::Error| Error::from(io_problem(display, &e, None));
        let head = buf.fill_buf().map_err(read_err)?;
        if let Some(what) = binary_spreadsheet(head) {
            return Err(Problem::error(display, what).into());
        }
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
        // The bytes read to sniff, then the file itself: the rows are read straight into
        // the CSV reader's buffer, not copied through this one.
        let head = io::Cursor::new(buf.buffer().to_vec());
        let source: Box<dyn Read + Send> = Box::new(head.chain(buf.into_inner()));
        let mut reader = CsvRows::new(source, dialect.delimiter);
        let mut first = csv::ByteRecord::new();
        let header_line = match reader.read_record(&mut first) {
            Ok(_) => first.position().map_or(1, csv::Position::line),
            Err(e) => return Err(io_problem(display, &e, None).into()),
        };
        let headers = match csv::StringRecord::from_byte_record(first) {
            Ok(h) => h.iter().map(|s| s.trim().to_string()).collect(),
            Err(e) => {
                return Err(not_utf8(display, e.utf8_error().field(), header_line).into());
            }
        };
        Ok(CsvInput {
            display: display.to_string(),
            dialect,
            headers,
            header_line,
            rows: Rows::Csv(Box::new(reader)),
            spare: None,
            bytes: csv::ByteRecord::new(),
        })
    }

    /// Reads the next row into `record` (its position's line is the row's line). A CSV
    /// row that is not valid UTF-8 comes back as bytes; only a failing file is an error.
    pub(crate) fn next_row(
        &mut self,
        record: &mut csv::StringRecord,
    ) -> std::result::Result<NextRow, Box<Problem>> {
        let mut scratch = self.spare.take().unwrap_or_default();
        let (next, took) = match self.next_cells(&mut scratch)? {
            NextCells::End => (NextRow::End, false),
            NextCells::NotUtf8(bytes) => (NextRow::NotUtf8(bytes), false),
            NextCells::Row(Cells::Record(_)) => (NextRow::Row, true),
            NextCells::Row(cells) => {
                record.clear();
                for i in 0..cells.len() {
                    record.push_field(cells.get(i).unwrap_or(""));
                }
                let mut at = csv::Position::new();
                at.set_line(cells.line()).set_byte(cells.byte());
                record.set_position(Some(at));
                (NextRow::Row, false)
            }
        };
        if took {
            std::mem::swap(record, &mut scratch);
        }
        self.spare = Some(scratch);
        Ok(next)
    }

    /// Reads the next row's cells: a plain CSV line in place, a row with quotes (or a
    /// sheet's row) into `record`. A CSV row that is not valid UTF-8 comes back as bytes;
    /// only a failing file is an error.
    pub(crate) fn next_cells<'s>(
        &'s mut self,
        record: &'s mut csv::StringRecord,
    ) -> std::result::Result<NextCells<'s>, Box<Problem>> {
        let bytes = &mut self.bytes;
        match &mut self.rows {
            Rows::Csv(reader) => match reader.read_raw(bytes) {
                Ok(Raw::End) => Ok(NextCells::End),
                Ok(Raw::Line {
                    bytes: line,
                    cuts,
                    at,
                }) => match std::str::from_utf8(line) {
                    Ok(text) => Ok(NextCells::Row(Cells::Line {
                        text,
                        cuts,
                        line: at.line(),
                        byte: at.byte(),
                    })),
                    Err(_) => {
                        for field in line_fields(line, cuts) {
                            bytes.push_field(field.trim_ascii());
                        }
                        bytes.set_position(Some(at));
                        Ok(NextCells::NotUtf8(std::mem::take(bytes)))
                    }
                },
                Ok(Raw::Record) => {
                    let raw = trimmed(std::mem::take(bytes));
                    match csv::StringRecord::from_byte_record(raw) {
                        Ok(r) => {
                            let old = std::mem::replace(record, r);
                            *bytes = old.into_byte_record();
                            Ok(NextCells::Row(Cells::Record(record)))
                        }
                        Err(e) => Ok(NextCells::NotUtf8(e.into_byte_record())),
                    }
                }
                Err(e) => Err(Box::new(io_problem(&self.display, &e, None))),
            },
            Rows::Sheet(rows) => Ok(match rows.next() {
                Some(r) => {
                    *record = r;
                    NextCells::Row(Cells::Record(record))
                }
                None => NextCells::End,
            }),
        }
    }

    /// True when the rows come from a workbook's sheet.
    pub(crate) fn is_sheet(&self) -> bool {
        matches!(self.rows, Rows::Sheet(_))
    }
}

/// `row` with each field trimmed of ASCII white space, as the csv crate trims: copied only
/// when a field has some.
fn trimmed(mut row: csv::ByteRecord) -> csv::ByteRecord {
    let space = |b: Option<&u8>| b.is_some_and(u8::is_ascii_whitespace);
    if row.iter().any(|f| space(f.first()) || space(f.last())) {
        row.trim();
    }
    row
}

/// What to tell a planner whose "CSV" file is really a binary workbook (by its first
/// bytes), or `None` for text.
fn binary_spreadsheet(head: &[u8]) -> Option<&'static str> {
    if head.starts_with(b"PK\x03\x04") {
        Some(
            "this is a workbook (.xlsx), not CSV text; give it a name ending in .xlsx in \
             [data], or save it as CSV UTF-8",
        )
    } else if head.starts_with(b"\xD0\xCF\x11\xE0") {
        Some("this is an old Excel workbook (.xls), not CSV text; save it as .xlsx or CSV UTF-8")
    } else {
        None
    }
}

/// A problem reading `display`: a limit passed (with its line), or what the system said.
fn io_problem(display: &str, e: &io::Error, line: Option<u64>) -> Problem {
    match e.get_ref().and_then(|x| x.downcast_ref::<TooLarge>()) {
        Some(t) => Problem::error(display, t.what.clone()).at_line(t.line),
        None => {
            let p = Problem::error(display, format!("cannot read: {e}"));
            match line {
                Some(l) => p.at_line(l),
                None => p,
            }
        }
    }
}

/// Field `field` (from 0) of the record on `line` is not UTF-8.
fn not_utf8(display: &str, field: usize, line: u64) -> Problem {
    Problem::error(
        display,
        format!(
            "field {} is not valid UTF-8; save the file as UTF-8 (CSV UTF-8 in Excel)",
            field + 1
        ),
    )
    .at_line(line)
}

/// True for text a spreadsheet would run as a formula when it opens a CSV file: it starts
/// with `=`, `+`, `-` or `@`.
pub(crate) fn formula_like(s: &str) -> bool {
    matches!(s.as_bytes().first(), Some(b'=' | b'+' | b'-' | b'@'))
}

/// A text cell made safe for spreadsheets: a cell that starts like a formula (`=`, `+`,
/// `-`, `@`, tab, CR) gets a leading `'` so Excel shows it instead of running it.
///
/// Ids go through it too, and come out exactly as read: input validation refuses an id
/// that begins with `=`, `+`, `-` or `@` (trimmed, it cannot begin with a tab or CR), so
/// only an id that never passed validation (an assessment given as JSON) is ever escaped.
pub fn cell(s: &str) -> Cow<'_, str> {
    match s.as_bytes().first() {
        Some(b'=' | b'+' | b'-' | b'@' | b'\t' | b'\r') => Cow::Owned(format!("'{s}")),
        _ => Cow::Borrowed(s),
    }
}

/// How a CSV output is written.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum OutputDialect {
    /// `,` separators, decimal points, LF line ends, no byte-order mark: what scripts and
    /// most tools read (`comma`, the default).
    #[default]
    Comma,
    /// What French-locale Excel opens in columns by a double click: `;` separators,
    /// decimal commas, a UTF-8 byte-order mark and CRLF line ends (`excel-fr`).
    ExcelFr,
}

impl FromStr for OutputDialect {
    type Err = String;

    fn from_str(s: &str) -> std::result::Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "comma" => Ok(OutputDialect::Comma),
            "excel-fr" => Ok(OutputDialect::ExcelFr),
            other => Err(format!(
                "unknown dialect {}; expected comma or excel-fr",
                crate::error::shown(other)
            )),
        }
    }
}

impl OutputDialect {
    /// Its name on the command line: `comma`, `excel-fr`.
    pub fn as_str(self) -> &'static str {
        match self {
            OutputDialect::Comma => "comma",
            OutputDialect::ExcelFr => "excel-fr",
        }
    }

    /// The dialect a CSV output was written in, from its first bytes (`idmaj verify` writes
    /// a run's outputs again in the dialect it used).
    pub(crate) fn of_output(head: &[u8]) -> OutputDialect {
        if head.starts_with(b"\xEF\xBB\xBF") {
            OutputDialect::ExcelFr
        } else {
            OutputDialect::Comma
        }
    }

    /// A CSV writer in this dialect over `w`, the byte-order mark already written.
    pub(crate) fn writer<W: Write>(self, mut w: W) -> io::Result<csv::Writer<W>> {
        if self == OutputDialect::ExcelFr {
            w.write_all(b"\xEF\xBB\xBF")?;
        }
        Ok(self.rows_writer(w))
    }

    /// A CSV writer in this dialect over `w` for rows alone (no byte-order mark): what
    /// [`OutputDialect::writer`] writes after it.
    pub(crate) fn rows_writer<W: Write>(self, w: W) -> csv::Writer<W> {
        let mut b = csv::WriterBuilder::new();
        if self == OutputDialect::ExcelFr {
            b.delimiter(b';').terminator(csv::Terminator::CRLF);
        }
        b.from_writer(w)
    }

    /// The field separator of [`OutputDialect::rows_writer`].
    pub(crate) fn delimiter(self) -> u8 {
        match self {
            OutputDialect::Comma => b',',
            OutputDialect::ExcelFr => b';',
        }
    }

    /// The row end of [`OutputDialect::rows_writer`].
    pub(crate) fn line_end(self) -> &'static [u8] {
        match self {
            OutputDialect::Comma => b"\n",
            OutputDialect::ExcelFr => b"\r\n",
        }
    }

    /// A number cell (written with a decimal point) in this dialect: `12,5` in `excel-fr`.
    /// A cell that is not a number (empty, `-`) is left as it is.
    pub(crate) fn number(self, cell: &str) -> Cow<'_, str> {
        let is_number = || {
            cell.bytes()
                .all(|b| b.is_ascii_digit() || b"+-.eE".contains(&b))
                && cell.parse::<f64>().is_ok()
        };
        if self == OutputDialect::ExcelFr && cell.contains('.') && is_number() {
            Cow::Owned(cell.replace('.', ","))
        } else {
            Cow::Borrowed(cell)
        }
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
    fn simple_decimals_read_as_the_parser_reads_them() {
        let mut cells: Vec<String> = [
            "0",
            "1",
            "120",
            "0.1",
            "0.25",
            "7.5",
            "12000",
            "007",
            "0.000000000000001",
            "999999999999999",
            "99999999.9999999",
            "1.000000000000000",
            "123456789012345",
            "1234567890123456",
            "1.",
            ".5",
            ".",
            "1..2",
            "1.2.3",
            "",
            "-1",
            "+1",
            "1e5",
            "9007199254740993",
            "0.30000000000000004",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let mut x = 0x853c_49e6_748f_ea9bu64;
        for _ in 0..200_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let digits = format!("{}", x % 10u64.pow(1 + (x >> 60) as u32 % 16));
            let at = (x >> 32) as usize % (digits.len() + 1);
            cells.push(digits.clone());
            cells.push(format!("{}.{}", &digits[..at], &digits[at..]));
        }
        for c in &cells {
            let parsed = c.parse::<f64>().ok().filter(|v| v.is_finite());
            if let Some(v) = simple_decimal(c) {
                assert_eq!(Some(v.to_bits()), parsed.map(f64::to_bits), "{c}");
            }
            let en = Dialect {
                delimiter: b',',
                decimal_comma: false,
            };
            let general = if c
                .bytes()
                .all(|b| b.is_ascii_digit() || b"+-.eE".contains(&b))
            {
                parsed
            } else {
                None
            };
            assert_eq!(
                en.number(c).map(f64::to_bits),
                general.map(f64::to_bits),
                "{c}"
            );
        }
        assert_eq!(simple_decimal("7.5"), Some(7.5));
        assert_eq!(simple_decimal("1."), None);
        assert_eq!(simple_decimal(".5"), None);
        assert_eq!(simple_decimal("1234567890123456"), None);
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

    #[test]
    fn ids_that_pass_validation_are_written_as_read() {
        for id in ["TNG-001", "00123", "A 1", "'quoted", "x=y"] {
            assert!(!formula_like(id));
            assert_eq!(cell(id), id);
        }
        for id in ["=1+1", "+212", "-5", "@me"] {
            assert!(formula_like(id));
        }
    }

    #[test]
    fn excel_fr_writes_semicolons_decimal_commas_bom_and_crlf() {
        let mut w = OutputDialect::ExcelFr.writer(Vec::new()).unwrap();
        let d = OutputDialect::ExcelFr;
        w.write_record(["a;b", &d.number("12.50"), &d.number("-"), &d.number("x.y")])
            .unwrap();
        let bytes = w.into_inner().unwrap();
        assert_eq!(bytes, b"\xEF\xBB\xBF\"a;b\";12,50;-;x.y\r\n");
        assert_eq!(OutputDialect::of_output(&bytes), OutputDialect::ExcelFr);
        assert_eq!(
            OutputDialect::of_output(b"id,eligible"),
            OutputDialect::Comma
        );
        assert_eq!(OutputDialect::Comma.number("12.50"), "12.50");
        assert_eq!("excel-fr".parse(), Ok(OutputDialect::ExcelFr));
        assert!("excel".parse::<OutputDialect>().is_err());
    }

    /// Every row's cells as [`CsvInput::next_cells`] gives them (a row that is not UTF-8 as
    /// `None`), with their lines.
    fn cells_of(data: &[u8]) -> Vec<(Option<Vec<String>>, u64)> {
        let mut input = CsvInput::from_reader(Box::new(io::Cursor::new(data.to_vec())), "t.csv")
            .expect("a header");
        let mut record = csv::StringRecord::new();
        let mut rows = Vec::new();
        loop {
            match input.next_cells(&mut record).expect("readable") {
                NextCells::End => return rows,
                NextCells::Row(cells) => {
                    let texts = (0..cells.len())
                        .map(|i| cells.get(i).unwrap_or("?").to_string())
                        .collect();
                    assert_eq!(cells.get(cells.len()), None);
                    rows.push((Some(texts), cells.line()));
                }
                NextCells::NotUtf8(b) => rows.push((None, b.position().map_or(0, |p| p.line()))),
            }
        }
    }

    /// The same rows read by the csv crate, each field trimmed of ASCII white space.
    fn csv_crate(data: &[u8], delimiter: u8) -> Vec<Option<Vec<String>>> {
        let mut r = csv::ReaderBuilder::new()
            .delimiter(delimiter)
            .flexible(true)
            .from_reader(data);
        r.byte_records()
            .map(|row| {
                let mut row = row.expect("readable");
                row.trim();
                csv::StringRecord::from_byte_record(row)
                    .ok()
                    .map(|r| r.iter().map(str::to_string).collect())
            })
            .collect()
    }

    #[test]
    fn cells_read_in_place_are_the_trimmed_cells_of_the_csv_crate() {
        let files: [&[u8]; 5] = [
            b"id,name,x\n A1 , Na me ,\t7\r\nB2,,\n\nC3,\"q, \"\"x\"\"\",  9  \r\n",
            b"id;n\n1;caf\xc3\xa9\n2;\xff\n3; 4 ;5\n",
            b"a,b\n\"line\nbreak\",2\n3,\"\xc3\",\xa9\n4\n",
            b"a,b\n,\n , \n",
            b"a,b\nx,y",
        ];
        for data in files {
            let delimiter = Dialect::sniff(data).delimiter;
            let ours = cells_of(data);
            let theirs = csv_crate(data, delimiter);
            let texts: Vec<_> = ours.iter().map(|(t, _)| t.clone()).collect();
            assert_eq!(texts, theirs, "{}", String::from_utf8_lossy(data));
        }
        let lines: Vec<u64> = cells_of(b"id,name,x\n A1 , Na me ,\t7\r\nB2,,\n\nC3,\"q\",9\n")
            .iter()
            .map(|(_, l)| *l)
            .collect();
        assert_eq!(lines, [2, 3, 5]);
    }
}
