//! `decisions.xlsx`: the decisions and the summary as a workbook a committee opens
//! directly, whatever its spreadsheet's locale.
//!
//! The "decisions" sheet holds exactly the cells of `decisions.csv` (same columns, same
//! order, same text), typed: ids and other text as text cells, so an id such as `00123`
//! keeps its zeros and joins with the applicants file; scores and amounts as numbers. The
//! "summary" sheet holds the headline figures and the spend by city and by funder. Like
//! every output, the same run writes the same bytes: the workbook's creation time is the
//! programme's date, not the clock.

use std::path::Path;

use rust_xlsxwriter::{DocProperties, ExcelDateTime, Format, Workbook, Worksheet, XlsxError};

use crate::allocate::Allocation;
use crate::error::{Error, Result};
use crate::output::write_file;
use crate::report::allocation::{decision_row, Summary, Tally, DECISION_COLUMNS};
use crate::scenario::Scenario;

/// Most rows a sheet holds.
const MAX_ROWS: usize = 1_048_576;

/// Longest text a cell holds.
const MAX_TEXT: usize = 32_767;

/// Columns of the decisions sheet written as numbers.
fn is_number(column: &str) -> bool {
    matches!(column, "score" | "cash" | "amount")
}

/// Writes `decisions.xlsx` for `alloc` (an allocation of `scenario`) to `path`, whole or
/// not at all.
pub fn write_decisions(path: &Path, scenario: &Scenario, alloc: &Allocation) -> Result<()> {
    if alloc.decisions.len() >= MAX_ROWS {
        return Err(Error::from(crate::Problem::error(
            path.display().to_string(),
            format!(
                "{} decisions do not fit in one sheet ({} rows at most); use decisions.csv",
                alloc.decisions.len(),
                MAX_ROWS - 1
            ),
        )));
    }
    let mut book = Workbook::new();
    let xlsx_error = |e: XlsxError| Error::Internal(format!("writing {}: {e}", path.display()));
    let date = scenario.program.date.to_string();
    let ymd: Vec<u16> = date.split('-').filter_map(|p| p.parse().ok()).collect();
    let created = match ymd[..] {
        [y, m, d] => ExcelDateTime::from_ymd(y, m as u8, d as u8).map_err(xlsx_error)?,
        _ => return Err(Error::Internal(format!("programme date {date}"))),
    };
    book.set_properties(
        &DocProperties::new()
            .set_title(text(&scenario.program.name))
            .set_creation_datetime(&created),
    );
    decisions_sheet(book.add_worksheet(), alloc).map_err(xlsx_error)?;
    summary_sheet(book.add_worksheet(), &alloc.summary).map_err(xlsx_error)?;
    let bytes = book.save_to_buffer().map_err(xlsx_error)?;
    write_file(path, &bytes)
}

/// Text for a cell: at most the length a cell holds.
fn text(s: &str) -> &str {
    match s.char_indices().nth(MAX_TEXT - 1) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}

fn decisions_sheet(ws: &mut Worksheet, alloc: &Allocation) -> std::result::Result<(), XlsxError> {
    ws.set_name("decisions")?;
    let bold = Format::new().set_bold();
    let numeric: Vec<bool> = DECISION_COLUMNS.iter().map(|c| is_number(c)).collect();
    for (c, name) in DECISION_COLUMNS.iter().enumerate() {
        ws.write_string_with_format(0, c as u16, *name, &bold)?;
    }
    for (r, d) in alloc.decisions.iter().enumerate() {
        let row = r as u32 + 1;
        for (c, cell) in decision_row(d).iter().enumerate() {
            let col = c as u16;
            if cell.is_empty() {
                continue;
            }
            match cell.parse::<f64>() {
                Ok(x) if numeric.get(c).copied().unwrap_or(false) => {
                    ws.write_number(row, col, x)?;
                }
                _ => {
                    ws.write_string(row, col, text(cell))?;
                }
            }
        }
    }
    ws.set_freeze_panes(1, 0)?;
    ws.autofilter(
        0,
        0,
        alloc.decisions.len() as u32,
        DECISION_COLUMNS.len() as u16 - 1,
    )?;
    ws.autofit();
    Ok(())
}

/// One labelled figure per row, then the tables by city and by funder.
fn summary_sheet(ws: &mut Worksheet, s: &Summary) -> std::result::Result<(), XlsxError> {
    ws.set_name("summary")?;
    let bold = Format::new().set_bold();
    let money = Format::new().set_num_format("#,##0");
    let ratio = Format::new().set_num_format("0.00%");
    let cur = &s.currency;
    let mut row = 0u32;
    let mut label = |ws: &mut Worksheet, name: &str| -> std::result::Result<u32, XlsxError> {
        ws.write_string_with_format(row, 0, name, &bold)?;
        row += 1;
        Ok(row - 1)
    };
    let r = label(ws, "programme")?;
    ws.write_string(r, 1, text(&s.program))?;
    if !s.overrides.is_empty() {
        let r = label(ws, "what-if")?;
        ws.write_string(r, 1, text(&s.overrides.join(", ")))?;
    }
    let r = label(ws, "objective")?;
    ws.write_string(r, 1, &s.objective_kind)?;
    ws.write_number(r, 2, s.objective)?;
    let r = label(ws, "bound")?;
    ws.write_number(r, 2, s.bound)?;
    let r = label(ws, "gap")?;
    ws.write_number_with_format(r, 2, s.gap, &ratio)?;
    for (name, v) in [
        ("applicants", s.applicants),
        ("eligible", s.eligible),
        ("served", s.served),
        (
            "women served",
            s.by_gender.get("F").map_or(0, |t: &Tally| t.served),
        ),
    ] {
        let r = label(ws, name)?;
        ws.write_number(r, 2, v as f64)?;
    }
    let r = label(ws, &format!("spent ({cur})"))?;
    ws.write_number_with_format(r, 2, s.spent as f64, &money)?;
    if let Some(t) = s.budget_total {
        let r = label(ws, &format!("budget total ({cur})"))?;
        ws.write_number_with_format(r, 2, t as f64, &money)?;
    }

    row += 1;
    let spent = format!("spent ({cur})");
    let city_head = ["city", "applicants", "eligible", "served", &spent, "cap"];
    row = tally_table(ws, row, "by city", &city_head, &s.by_city, true)?;
    let funder_head = ["funder", "served", &spent, "amount"];
    tally_table(ws, row + 1, "by funder", &funder_head, &s.by_funder, false)?;
    ws.autofit();
    Ok(())
}

/// A titled table of tallies from `row` on (cities with applicants and eligible counts,
/// funders without); returns the row after it.
fn tally_table(
    ws: &mut Worksheet,
    mut row: u32,
    title: &str,
    head: &[&str],
    tallies: &std::collections::BTreeMap<String, Tally>,
    counts: bool,
) -> std::result::Result<u32, XlsxError> {
    let bold = Format::new().set_bold();
    let money = Format::new().set_num_format("#,##0");
    ws.write_string_with_format(row, 0, title, &bold)?;
    row += 1;
    for (c, h) in head.iter().enumerate() {
        ws.write_string_with_format(row, c as u16, *h, &bold)?;
    }
    row += 1;
    for (name, t) in tallies {
        let mut figures = Vec::new();
        if counts {
            figures.extend([t.applicants, t.eligible]);
        }
        figures.push(t.served);
        ws.write_string(row, 0, text(name))?;
        let mut col = 1u16;
        for v in figures {
            ws.write_number(row, col, v as f64)?;
            col += 1;
        }
        ws.write_number_with_format(row, col, t.spent as f64, &money)?;
        if let Some(l) = t.limit {
            ws.write_number_with_format(row, col + 1, l as f64, &money)?;
        }
        row += 1;
    }
    Ok(row)
}
