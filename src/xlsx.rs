//! Reading workbooks: the first sheet of an `.xlsx` file as the rows of text cells a CSV
//! file gives.
//!
//! Planners keep applicant lists in Excel; asking them to export CSV loses them on decimal
//! commas and dates. Rather than a second validator, each sheet row becomes the same
//! `csv::StringRecord` a CSV row is, with the sheet row as its line, so
//! [`RowParser`](crate::applicant::RowParser) and the labour-market reader check it with the
//! same rules and messages. Cells are turned into text the validator reads: numbers with
//! a decimal point (whole numbers without one, so `1985` stays a year), dates as
//! `YYYY-MM-DD`, booleans as `true`/`false`, spreadsheet errors as Excel shows them
//! (`#DIV/0!`, which no typed column accepts).

use std::collections::BTreeMap;
use std::fs::File;
use std::io::BufReader;
use std::path::Path;

use calamine::{DataRef, Reader, Xlsx};

use crate::dialect::max_input_bytes;
use crate::error::{Error, Problem, Result};

/// The first sheet of a workbook: its header and rows.
pub(crate) struct Sheet {
    /// Header names, trimmed: the first row that has a cell.
    pub headers: Vec<String>,
    /// Sheet row of the header (1-based, as Excel numbers rows).
    pub header_line: u64,
    /// Every later row that has a cell, as text cells; each record's line is its sheet row.
    pub rows: Vec<csv::StringRecord>,
}

/// Reads the first sheet of the workbook at `path`, named `display` in messages.
pub(crate) fn read_first_sheet(path: &Path, display: &str) -> Result<Sheet> {
    let problem = |m: String| Error::from(Problem::error(display, m));
    let limit = max_input_bytes();
    let file = File::open(path).map_err(|e| problem(format!("cannot open the file: {e}")))?;
    let size = file.metadata().map_or(0, |m| m.len());
    let unpacked = zip::ZipArchive::new(BufReader::new(&file))
        .map_err(|e| problem(not_a_workbook(&e.to_string())))?
        .decompressed_size();
    // A workbook is compressed: its unpacked size (as the archive declares it) is what
    // reading it costs, so that is what the input limit bounds.
    if size > limit || unpacked.is_some_and(|u| u > u128::from(limit)) {
        return Err(problem(format!(
            "the workbook holds more than {} MB, the most idmaj reads (IDMAJ_MAX_INPUT_MB)",
            limit >> 20
        )));
    }
    let file = File::open(path).map_err(|e| problem(format!("cannot open the file: {e}")))?;
    let mut book: Xlsx<_> =
        Xlsx::new(BufReader::new(file)).map_err(|e| problem(not_a_workbook(&e.to_string())))?;
    let Some(name) = book.sheet_names().first().cloned() else {
        return Err(problem("the workbook has no sheet".to_string()));
    };
    let mut cells = book.worksheet_cells_reader(&name).map_err(|e| {
        problem(format!(
            "cannot read its first sheet: {}",
            crate::error::shown(&e.to_string())
        ))
    })?;
    // Sheet row → (column, text), every cell that is not empty. Rows are collected in a
    // map because the file format does not promise they come in order.
    let mut rows: BTreeMap<u32, Vec<(u32, String)>> = BTreeMap::new();
    let mut bytes: u64 = 0;
    while let Some(c) = cells.next_cell().map_err(|e| {
        problem(format!(
            "cannot read its first sheet: {}",
            crate::error::shown(&e.to_string())
        ))
    })? {
        let text = cell_text(c.get_value());
        let text = text.trim();
        if text.is_empty() {
            continue;
        }
        let (row, col) = c.get_position();
        bytes += text.len() as u64 + 1;
        if bytes > limit {
            return Err(Problem::error(
                display,
                format!(
                    "the sheet holds more than {} MB of text, the most idmaj reads (IDMAJ_MAX_INPUT_MB)",
                    limit >> 20
                ),
            )
            .at_line(u64::from(row) + 1)
            .into());
        }
        rows.entry(row).or_default().push((col, text.to_string()));
    }
    let mut rows = rows.into_iter();
    let Some((header_row, header_cells)) = rows.next() else {
        return Err(
            Problem::error(display, "the first sheet is empty; expected a header row")
                .at_line(1)
                .into(),
        );
    };
    let headers = spread(header_cells, 0);
    let width = headers.len();
    let total = rows.len().max(1) as u64;
    let records = rows
        .enumerate()
        .map(|(i, (row, cells))| {
            let mut r = csv::StringRecord::from(spread(cells, width));
            let mut pos = csv::Position::new();
            // The byte offset only drives progress bars: the share of rows read.
            pos.set_line(u64::from(row) + 1)
                .set_record(i as u64 + 1)
                .set_byte(size * (i as u64 + 1) / total);
            r.set_position(Some(pos));
            r
        })
        .collect();
    Ok(Sheet {
        headers,
        header_line: u64::from(header_row) + 1,
        rows: records,
    })
}

/// The message for a file that calamine cannot open as a workbook.
fn not_a_workbook(why: &str) -> String {
    format!(
        "cannot read it as an Excel workbook ({}); save it again as .xlsx, or as CSV UTF-8 \
         with a .csv name",
        crate::error::shown(why)
    )
}

/// The cells of one row as a full row of text: empty text where the sheet has no cell, at
/// least `width` cells (a row shorter than the header is padded, as a spreadsheet shows
/// it), more where a cell lies right of the last header.
fn spread(cells: Vec<(u32, String)>, width: usize) -> Vec<String> {
    let n = cells
        .iter()
        .map(|(c, _)| *c as usize + 1)
        .max()
        .unwrap_or(0)
        .max(width);
    let mut out = vec![String::new(); n];
    for (c, t) in cells {
        out[c as usize] = t;
    }
    out
}

/// A cell as the text the validator reads.
fn cell_text(v: &DataRef<'_>) -> String {
    match v {
        DataRef::Empty => String::new(),
        DataRef::String(s) => s.clone(),
        DataRef::SharedString(s) => (*s).to_string(),
        DataRef::Int(i) => i.to_string(),
        DataRef::Float(x) => number_text(*x),
        DataRef::Bool(b) => b.to_string(),
        DataRef::DateTime(d) if d.is_datetime() => {
            let (y, m, day, ..) = d.to_ymd_hms_milli();
            format!("{y:04}-{m:02}-{day:02}")
        }
        DataRef::DateTime(d) => number_text(d.as_f64()),
        // `2016-06-06T00:00:00` from strict-format workbooks: the date part.
        DataRef::DateTimeIso(s) => match s.split_once('T') {
            Some((date, _)) => date.to_string(),
            None => s.clone(),
        },
        DataRef::DurationIso(s) => s.clone(),
        DataRef::Error(e) => e.to_string(),
    }
}

/// A number as text: whole numbers without a decimal point (`1985`, not `1985.0`).
fn number_text(x: f64) -> String {
    if x.fract() == 0.0 && x.abs() < 1e15 {
        format!("{}", x as i64)
    } else {
        x.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use calamine::{ExcelDateTime, ExcelDateTimeType};

    #[test]
    fn cells_read_as_the_validator_expects() {
        assert_eq!(number_text(1985.0), "1985");
        assert_eq!(number_text(12.5), "12.5");
        assert_eq!(number_text(-0.0), "0");
        let date = ExcelDateTime::new(42527.0, ExcelDateTimeType::DateTime, false);
        assert_eq!(cell_text(&DataRef::DateTime(date)), "2016-06-06");
        let with_time = ExcelDateTime::new(42527.75, ExcelDateTimeType::DateTime, false);
        assert_eq!(cell_text(&DataRef::DateTime(with_time)), "2016-06-06");
        assert_eq!(
            cell_text(&DataRef::DateTimeIso("2016-06-06T00:00:00".into())),
            "2016-06-06"
        );
        assert_eq!(cell_text(&DataRef::Bool(true)), "true");
        assert_eq!(
            cell_text(&DataRef::Error(calamine::CellErrorType::Div0)),
            "#DIV/0!"
        );
    }

    #[test]
    fn rows_are_spread_to_the_header_width() {
        assert_eq!(spread(vec![(1, "b".into())], 3), ["", "b", ""]);
        assert_eq!(spread(vec![(3, "d".into())], 2), ["", "", "", "d"]);
    }
}
