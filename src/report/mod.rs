//! Outputs: assessment rows (`score`), and the allocation's decisions and summaries.
//!
//! Every text cell that comes from input or rules goes through [`crate::dialect::cell`] so
//! a spreadsheet never runs it as a formula.

pub mod allocation;
pub mod html;

use crate::assessment::{Assessment, Status};
use crate::dialect::cell;
use crate::pipeline::Outcome;

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
    let s = format!("{v:.2}");
    if s == "-0.00" {
        "0.00".to_string()
    } else {
        s
    }
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
}
