//! Outputs: assessment rows (`score`), and the allocation's decisions and summaries.
//!
//! Every text cell that comes from input or rules goes through [`crate::dialect::cell`] so
//! a spreadsheet never runs it as a formula (ids pass through unchanged: input validation
//! refuses an id a spreadsheet would run). Every CSV output is written by [`CsvOut`] in
//! the chosen [`OutputDialect`], which knows the number columns so `excel-fr` can give
//! them decimal commas.

pub mod allocation;
pub mod html;
pub mod xlsx;

use std::io::Write;
use std::path::Path;

use crate::assessment::{push_label, Assessment, Status};
use crate::dialect::{cell, OutputDialect};
use crate::error::{Error, Result};
use crate::output::Output;
use crate::pipeline::Outcome;
use crate::rules::Out;

/// How `allocate`'s outputs are written ([`Engine::write_outputs_with`](crate::Engine::write_outputs_with)).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OutputOptions {
    /// The dialect of `decisions.csv`.
    pub dialect: OutputDialect,
    /// Also write `decisions.xlsx` (decisions and summary sheets).
    pub xlsx: bool,
}

/// A CSV output in an [`OutputDialect`]: the header first, then rows whose number columns
/// take the dialect's decimal mark. Cells are written as given otherwise (escape text
/// with [`cell`] before).
pub(crate) struct CsvOut<W: Write> {
    w: csv::Writer<W>,
    dialect: OutputDialect,
    numeric: Vec<bool>,
}

impl<W: Write> CsvOut<W> {
    /// Starts the output on `w` with `header`; `is_number(name)` says which columns hold
    /// numbers.
    pub(crate) fn new<S: AsRef<str>>(
        w: W,
        dialect: OutputDialect,
        header: &[S],
        is_number: impl Fn(&str) -> bool,
    ) -> csv::Result<Self> {
        let mut w = dialect.writer(w)?;
        w.write_record(header.iter().map(AsRef::as_ref))?;
        Ok(CsvOut {
            w,
            dialect,
            numeric: header.iter().map(|h| is_number(h.as_ref())).collect(),
        })
    }

    /// Writes one row.
    pub(crate) fn row<S: AsRef<str>>(&mut self, cells: &[S]) -> csv::Result<()> {
        for (i, c) in cells.iter().enumerate() {
            if self.numeric.get(i).copied().unwrap_or(false) {
                self.w
                    .write_field(self.dialect.number(c.as_ref()).as_bytes())?;
            } else {
                self.w.write_field(c.as_ref())?;
            }
        }
        // An empty record after fields ends the row.
        self.w.write_record(std::iter::empty::<&[u8]>())
    }

    /// Flushes and returns the writer underneath.
    pub(crate) fn into_inner(self) -> std::io::Result<W> {
        self.w
            .into_inner()
            .map_err(|e| std::io::Error::other(e.to_string()))
    }
}

/// Writes `header` and `rows` to the CSV file `path` in `dialect`, whole or not at all;
/// `is_number(name)` says which columns hold numbers.
pub(crate) fn write_csv<H, R>(
    path: &Path,
    dialect: OutputDialect,
    header: &[H],
    is_number: impl Fn(&str) -> bool,
    rows: impl IntoIterator<Item = R>,
) -> Result<()>
where
    H: AsRef<str>,
    R: AsRef<[String]>,
{
    let csv_error = allocation::csv_error(path);
    let mut w =
        CsvOut::new(Output::create(path)?, dialect, header, is_number).map_err(&csv_error)?;
    for row in rows {
        w.row(row.as_ref()).map_err(&csv_error)?;
    }
    w.into_inner().map_err(|e| Error::io(path, e))?.commit()
}

/// Columns of `score --out` that hold numbers.
pub fn score_is_number(column: &str) -> bool {
    column == "score"
}

/// Columns of `score --out`.
pub const SCORE_COLUMNS: [&str; 6] = [
    "id",
    "eligible",
    "failed_checks",
    "reasons",
    "score",
    "options",
];

/// Whole MAD (or any integer) with thousands separators: `5,200,000`.
pub fn thousands(v: i64) -> String {
    separated(v, ',')
}

/// An integer with `sep` between groups of three digits (`_` writes TOML literals).
pub fn separated(v: i64, sep: char) -> String {
    let digits = v.unsigned_abs().to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3 + 1);
    if v < 0 {
        out.push('-');
    }
    for (i, ch) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(sep);
        }
        out.push(ch);
    }
    out
}

/// A limit or use as people read it: whole numbers with separators, else 3 decimals.
pub fn number(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        thousands(v as i64)
    } else {
        format!("{v:.3}")
    }
}

/// A score as written: two decimals, no `-0.00`.
pub fn score_cell(v: f64) -> String {
    let mut s = String::new();
    push_score(&mut s, v);
    s
}

/// True when field `f` holds `delimiter`, a double quote, `\r` or `\n` (the bytes the csv
/// crate's writer quotes a field for). Eight bytes at a time: a byte equal to one of them
/// is a zero byte of the word xor that byte repeated, found by the exact zero-byte test.
fn needs_quotes(f: &[u8], delimiter: u8) -> bool {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let has_zero = |v: u64| v.wrapping_sub(ONES) & !v & HIGH != 0;
    let special = [b'"', b'\r', b'\n', delimiter].map(|b| u64::from(b) * ONES);
    let mut words = f.chunks_exact(8);
    for w in &mut words {
        let mut bytes = [0; 8];
        bytes.copy_from_slice(w);
        let v = u64::from_le_bytes(bytes);
        if special.iter().any(|&s| has_zero(v ^ s)) {
            return true;
        }
    }
    words
        .remainder()
        .iter()
        .any(|&b| matches!(b, b'"' | b'\r' | b'\n') || b == delimiter)
}

/// Appends a score as written (see [`score_cell`]) to `s`.
fn push_score(s: &mut String, v: f64) {
    if push_fixed2(s, v) {
        return;
    }
    use std::fmt::Write;
    let start = s.len();
    // Writing to a String cannot fail.
    let _ = write!(s, "{v:.2}");
    if &s[start..] == "-0.00" {
        s.replace_range(start.., "0.00");
    }
}

/// Appends `v` with two decimals as `format!("{v:.2}")` writes it (rounded half to even
/// on the exact binary value), except `-0.00` written `0.00`, and true; false (nothing
/// appended) for a value it leaves to `format!`: not finite, or 2^52 or more in size.
///
/// Why: the scores of a run are written by the million, and the formatting machinery cost
/// several times this integer arithmetic.
fn push_fixed2(s: &mut String, v: f64) -> bool {
    let bits = v.to_bits();
    let negative = bits >> 63 == 1;
    let exp = ((bits >> 52) & 0x7ff) as i32;
    let frac = bits & ((1 << 52) - 1);
    // v = m * 2^e exactly.
    let (m, e) = match exp {
        0 => (frac, -1074),
        0x7ff => return false,
        _ => (frac | 1 << 52, exp - 1075),
    };
    if e >= 0 {
        return false;
    }
    // 100 * v = num / 2^k exactly, with num < 2^60: round it to an integer, ties to even.
    let (num, k) = (m * 100, e.unsigned_abs());
    let hundredths = if k > 61 {
        // Below a quarter of a hundredth: rounds to zero.
        0
    } else {
        let q = num >> k;
        let rest = num & ((1 << k) - 1);
        let half = 1 << (k - 1);
        if rest > half || (rest == half && q & 1 == 1) {
            q + 1
        } else {
            q
        }
    };
    if negative && hundredths > 0 {
        s.push('-');
    }
    // Below 2^52, so it fits.
    let whole = (hundredths / 100) as i64;
    let cents = (hundredths % 100) as u8;
    crate::assessment::push_int(s, whole);
    s.push('.');
    s.push(char::from(b'0' + cents / 10));
    s.push(char::from(b'0' + cents % 10));
    true
}

/// Failed check ids joined by `|`.
pub fn failed_ids(a: &Assessment) -> String {
    a.failed()
        .map(|c| c.id.as_str())
        .collect::<Vec<_>>()
        .join("|")
}

/// Why the applicant is not eligible (failed check texts joined by `; `), or the rule
/// error.
pub fn reasons(a: &Assessment) -> String {
    match &a.status {
        Status::Error(m) => m.clone(),
        _ => a
            .failed()
            .map(|c| c.text.as_str())
            .collect::<Vec<_>>()
            .join("; "),
    }
}

/// The cells of one `score` row.
pub fn score_row(o: &Outcome) -> [String; 6] {
    match o {
        Outcome::Assessed(a) => [
            cell(&a.id).into_owned(),
            a.eligible_cell().to_string(),
            failed_ids(a),
            cell(&reasons(a)).into_owned(),
            score_cell(a.score),
            a.offers
                .iter()
                .map(|o| o.label())
                .collect::<Vec<_>>()
                .join("|"),
        ],
        Outcome::Invalid { id, message, .. } => [
            cell(id).into_owned(),
            "error".to_string(),
            String::new(),
            cell(message).into_owned(),
            String::new(),
            String::new(),
        ],
    }
}

/// `score` rows formatted as bytes in an [`OutputDialect`], as [`CsvOut`] writes them after
/// the header: the pipeline's workers format rows and the writing thread only copies
/// bytes. An applicant the compiled rules assessed is formatted straight from what they
/// recorded, without an [`Assessment`], and written without the csv crate's writer
/// ([`ScoreRows::field`] quotes as it does); other rows go through it.
pub(crate) struct ScoreRows {
    bytes: Vec<u8>,
    dialect: OutputDialect,
    /// One cell being joined.
    cell: String,
}

impl ScoreRows {
    /// No rows yet.
    pub(crate) fn new(dialect: OutputDialect) -> ScoreRows {
        Self::with_buffer(dialect, Vec::new())
    }

    /// No rows yet, written into `buffer` (emptied first).
    pub(crate) fn with_buffer(dialect: OutputDialect, mut buffer: Vec<u8>) -> ScoreRows {
        buffer.clear();
        ScoreRows {
            bytes: buffer,
            dialect,
            cell: String::new(),
        }
    }

    /// Appends the row of `o` (the cells of [`score_row`]), by the csv crate's writer.
    pub(crate) fn outcome(&mut self, o: &Outcome) -> csv::Result<()> {
        let mut w = self.dialect.rows_writer(&mut self.bytes);
        for (i, c) in score_row(o).iter().enumerate() {
            if score_is_number(SCORE_COLUMNS[i]) {
                w.write_field(self.dialect.number(c).as_bytes())?;
            } else {
                w.write_field(c)?;
            }
        }
        // An empty record after fields ends the row.
        w.write_record(std::iter::empty::<&[u8]>())?;
        w.flush()?;
        Ok(())
    }

    /// Appends one field of a row as the csv crate's writer writes it (quoting only when
    /// necessary, the default): after a separator unless it is the row's `first`; in
    /// double quotes, each double quote doubled, when it holds the separator, a double
    /// quote, `\r` or `\n`; as it is otherwise.
    fn field(&mut self, first: bool, f: &[u8]) {
        let delimiter = self.dialect.delimiter();
        if !first {
            self.bytes.push(delimiter);
        }
        if needs_quotes(f, delimiter) {
            self.bytes.push(b'"');
            for &b in f {
                if b == b'"' {
                    self.bytes.push(b'"');
                }
                self.bytes.push(b);
            }
            self.bytes.push(b'"');
        } else {
            self.bytes.extend_from_slice(f);
        }
    }

    /// Appends the row of applicant `id`, whom the compiled rules assessed into `out`.
    pub(crate) fn compiled(&mut self, id: &str, out: &Out) -> csv::Result<()> {
        let failed = || out.checks.iter().filter(|c| !c.passed);
        self.field(true, cell(id).as_bytes());
        let eligible = if out.all_passed() {
            Status::Eligible
        } else {
            Status::Ineligible
        };
        self.field(false, eligible.eligibility().cell().as_bytes());
        let mut s = std::mem::take(&mut self.cell);
        s.clear();
        for (i, c) in failed().enumerate() {
            if i > 0 {
                s.push('|');
            }
            s.push_str(out.str(c.id));
        }
        self.field(false, s.as_bytes());
        s.clear();
        for (i, c) in failed().enumerate() {
            if i > 0 {
                s.push_str("; ");
            }
            s.push_str(out.str(c.text));
        }
        self.field(false, cell(&s).as_bytes());
        s.clear();
        push_score(&mut s, out.score());
        self.field(false, self.dialect.number(&s).as_bytes());
        s.clear();
        for (i, o) in out.offers.iter().enumerate() {
            if i > 0 {
                s.push('|');
            }
            push_label(&mut s, o.kit.map(|k| out.str(k)), o.kit_cost, o.cash);
        }
        self.field(false, s.as_bytes());
        self.cell = s;
        self.bytes.extend_from_slice(self.dialect.line_end());
        Ok(())
    }

    /// Bytes of the rows so far.
    pub(crate) fn len(&self) -> usize {
        self.bytes.len()
    }

    /// The rows' bytes.
    pub(crate) fn into_bytes(self) -> Vec<u8> {
        self.bytes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_read_like_money() {
        assert_eq!(thousands(5_200_000), "5,200,000");
        assert_eq!(thousands(-1_000), "-1,000");
        assert_eq!(thousands(999), "999");
        assert_eq!(number(262519.0), "262,519");
        assert_eq!(number(0.25), "0.250");
        assert_eq!(score_cell(-0.001), "0.00");
    }

    #[test]
    fn quotes_are_needed_for_a_special_byte_anywhere() {
        for delimiter in [b',', b';'] {
            for len in 0..40 {
                let plain = vec![b'a'; len];
                assert!(!needs_quotes(&plain, delimiter), "{len}");
                for at in 0..len {
                    for b in 0..=255u8 {
                        let mut f = plain.clone();
                        f[at] = b;
                        let special = matches!(b, b'"' | b'\r' | b'\n') || b == delimiter;
                        assert_eq!(needs_quotes(&f, delimiter), special, "{len} {at} {b}");
                    }
                }
            }
        }
    }

    #[test]
    fn fields_are_written_as_the_csv_writer_writes_them() {
        let pieces = [
            "", "a", "x y", ",", ";", "\"", "\r", "\n", "\r\n", "é", " ", "'", "|", "=1",
        ];
        let mut x = 0x1234_5678_9abc_def1u64;
        for dialect in [OutputDialect::Comma, OutputDialect::ExcelFr] {
            let mut rows = ScoreRows::new(dialect);
            let mut w = dialect.rows_writer(Vec::new());
            for _ in 0..20_000 {
                for f in 0..6 {
                    let mut next = || {
                        x ^= x << 13;
                        x ^= x >> 7;
                        x ^= x << 17;
                        x
                    };
                    // Mostly plain text, now and then a byte that needs quotes, anywhere
                    // in fields of up to about 40 bytes.
                    let mut field = String::new();
                    for _ in 0..next() % 20 {
                        let p = next();
                        field.push_str(if p % 4 == 0 {
                            pieces[(p >> 8) as usize % pieces.len()]
                        } else {
                            "ab"
                        });
                    }
                    rows.field(f == 0, field.as_bytes());
                    w.write_field(&field).unwrap();
                }
                rows.bytes.extend_from_slice(dialect.line_end());
                w.write_record(std::iter::empty::<&[u8]>()).unwrap();
            }
            assert!(rows.into_bytes() == w.into_inner().unwrap(), "{dialect:?}");
        }
    }

    /// `score_cell` as `format!` writes it (the slow path the fast one must match).
    fn score_by_format(v: f64) -> String {
        let s = format!("{v:.2}");
        if s == "-0.00" {
            "0.00".to_string()
        } else {
            s
        }
    }

    #[test]
    fn scores_are_written_as_format_writes_them() {
        let mut values = vec![
            0.0,
            -0.0,
            0.005,
            -0.005,
            0.015,
            0.125,
            0.375,
            0.625,
            0.875,
            -0.125,
            -0.375,
            1.125,
            2.5,
            99.995,
            99.994999,
            45.0,
            100.0,
            1.0 / 3.0,
            -2.0 / 3.0,
            0.1 + 0.2,
            f64::MIN_POSITIVE,
            5e-324,
            -5e-324,
            1e-300,
            0.0049999999999999,
            0.00500000000000001,
            (1u64 << 52) as f64 - 0.5,
            (1u64 << 52) as f64,
            (1u64 << 53) as f64,
            1e15 + 0.125,
            1e300,
            -1e300,
            f64::MAX,
            f64::MIN,
            f64::NAN,
            -f64::NAN,
            f64::INFINITY,
            f64::NEG_INFINITY,
        ];
        // Exact ties at every eighth and every 2^-k, and the floats either side of them
        // and of every x.xx5 written in decimal.
        for i in -4000i32..4000 {
            for t in [
                f64::from(i) / 8.0,
                f64::from(i) / 1024.0,
                f64::from(i) * 0.005,
            ] {
                values.push(t);
                values.push(f64::from_bits(t.to_bits() + 1));
                values.push(f64::from_bits(t.to_bits().saturating_sub(1)));
            }
        }
        // Random bit patterns (every size, NaNs included) and random scores.
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        for _ in 0..300_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            values.push(f64::from_bits(x));
            values.push((x >> 11) as f64 / (1u64 << 53) as f64 * 200.0 - 50.0);
            values.push(f64::from((x >> 40) as u32) / 100.0);
        }
        for v in values {
            assert_eq!(
                score_cell(v),
                score_by_format(v),
                "{v:e} ({:#x})",
                v.to_bits()
            );
        }
    }
}
