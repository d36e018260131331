//! Scenario comparison: who changes outcome between two scenarios, and why.
//!
//! "Who loses if the training threshold rises to 150 h?" is answered by solving both
//! scenarios over the same applicants and matching them by id. Each changed applicant gets
//! the reason on each side in the programme's own words: the checks that fail, the budget,
//! stock or quota that left them out, or the option they receive.
//!
//! ```
//! # fn main() -> idmaj::Result<()> {
//! let base = idmaj::Engine::load("scenarios/tangier-2016")?;
//! let stricter = base.with_overrides(&[("params.min_training_hours", "250")])?;
//! let c = base.compare(&stricter)?;
//! assert!(c.changes.iter().any(|ch| ch.reason_after.contains("training")));
//! # Ok(())
//! # }
//! ```

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};

use crate::allocate::{solve, Solution};
use crate::applicant::Gender;
use crate::assessment::{Assessment, Status};
use crate::dialect::cell;
use crate::engine::Engine;
use crate::error::{Error, Result};
use crate::scenario::{Mad, Scenario};

/// Totals of one side.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Totals {
    /// What the side is (path and overrides).
    pub label: String,
    /// Applicants read.
    pub applicants: u64,
    /// Eligible applicants.
    pub eligible: u64,
    /// Applicants served.
    pub served: u64,
    /// Money allocated, MAD.
    pub spent: Mad,
    /// `budget.total`, where set.
    pub budget_total: Option<Mad>,
    /// Value of the allocation in the side's objective.
    pub objective: f64,
    /// `score`, `served` or `served_then_score`.
    pub objective_kind: String,
    /// Women served.
    pub women_served: u64,
    /// Served per city (every city of the scenario).
    pub served_by_city: BTreeMap<String, u64>,
}

/// How an applicant's outcome changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChangeKind {
    /// Not funded before, funded after.
    NowFunded,
    /// Funded before, not after.
    NoLongerFunded,
    /// Funded on both sides with a different kind of option or kit.
    OptionChanged,
    /// Funded on both sides with the same option at a different amount.
    AmountChanged,
    /// Unfunded on both sides, but eligible on one side only.
    EligibilityChanged,
}

impl ChangeKind {
    /// `now_funded`, `no_longer_funded`, `option_changed`, `amount_changed`,
    /// `eligibility_changed`, as in the CSV.
    pub fn as_str(self) -> &'static str {
        match self {
            ChangeKind::NowFunded => "now_funded",
            ChangeKind::NoLongerFunded => "no_longer_funded",
            ChangeKind::OptionChanged => "option_changed",
            ChangeKind::AmountChanged => "amount_changed",
            ChangeKind::EligibilityChanged => "eligibility_changed",
        }
    }
}

/// One applicant whose outcome differs between the sides.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Change {
    /// Applicant id.
    pub id: String,
    /// Option before (`kit:plumbing=11500`, `cash=15000`, ...), `none` when unfunded.
    pub before_option: String,
    /// Amount before (kit cost + cash), MAD.
    pub before_amount: Mad,
    /// Option after.
    pub after_option: String,
    /// Amount after, MAD.
    pub after_amount: Mad,
    /// What changed.
    pub change: ChangeKind,
    /// The outcome before, with its reason: `funded: ...`, `not eligible: ...`,
    /// `not funded: ...` (the allocator's why-not).
    pub reason_before: String,
    /// The outcome after, with its reason.
    pub reason_after: String,
    /// Failed check ids after that passed before (newly failing checks).
    pub newly_failed: Vec<String>,
}

/// Who changes outcome between two scenarios ([`Engine::compare`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Comparison {
    /// Totals of the first side.
    pub before: Totals,
    /// Totals of the second side.
    pub after: Totals,
    /// Ids present on both sides.
    pub common: u64,
    /// Ids only in the first side's applicants, in its input order.
    pub only_before: Vec<String>,
    /// Ids only in the second side's applicants, in its input order.
    pub only_after: Vec<String>,
    /// Every common applicant whose outcome changed, in the first side's input order.
    pub changes: Vec<Change>,
}

/// Columns of `compare --out`.
pub(crate) const CHANGE_COLUMNS: [&str; 8] = [
    "id",
    "before_option",
    "before_amount",
    "after_option",
    "after_amount",
    "change",
    "reason_before",
    "reason_after",
];

impl Change {
    /// The CSV cells, matching [`CHANGE_COLUMNS`], formula-escaped.
    pub(crate) fn csv_row(&self) -> [String; 8] {
        [
            cell(&self.id).into_owned(),
            cell(&self.before_option).into_owned(),
            self.before_amount.to_string(),
            cell(&self.after_option).into_owned(),
            self.after_amount.to_string(),
            self.change.as_str().to_string(),
            cell(&self.reason_before).into_owned(),
            cell(&self.reason_after).into_owned(),
        ]
    }
}

/// One side solved.
struct Solved<'a> {
    scenario: &'a Scenario,
    label: String,
    assessments: Vec<Assessment>,
    alloc: Solution,
}

fn solve_side<'a>(scenario: &'a Scenario, label: String, which: &str) -> Result<Solved<'a>> {
    let assessments = Engine::from_scenario(scenario.clone())?
        .assess_scenario_strict(crate::rules::Detail::Failed)?;
    let alloc = solve(scenario, &assessments, &|_| {}).map_err(|e| match e {
        Error::Infeasible {
            constraints,
            shortfall,
            message,
        } => Error::Infeasible {
            constraints,
            shortfall,
            message: format!("{which} ({label}): {message}"),
        },
        other => other,
    })?;
    Ok(Solved {
        scenario,
        label,
        assessments,
        alloc,
    })
}

fn totals(s: &Solved) -> Totals {
    let mut t = Totals {
        label: s.label.clone(),
        applicants: s.assessments.len() as u64,
        eligible: s.assessments.iter().filter(|a| a.eligible()).count() as u64,
        served: s.alloc.served as u64,
        spent: s.alloc.spent,
        budget_total: s.scenario.budget_total,
        objective: s.alloc.objective,
        objective_kind: s.scenario.objective.as_str().to_string(),
        women_served: 0,
        served_by_city: s
            .scenario
            .market
            .cities
            .iter()
            .map(|c| (c.clone(), 0))
            .collect(),
    };
    for (a, c) in s.assessments.iter().zip(&s.alloc.choices) {
        if c.is_some() {
            *t.served_by_city.entry(a.city.clone()).or_default() += 1;
            t.women_served += u64::from(a.gender == Gender::F);
        }
    }
    t
}

/// What one applicant gets on one side, and why.
fn outcome(s: &Solved, i: usize) -> (String, Mad, String) {
    let a = &s.assessments[i];
    if let Some(o) = s.alloc.choices[i].and_then(|o| a.offers.get(o)) {
        return (
            o.label(),
            o.cost(),
            format!("funded: {} (score {:.2})", o.label(), a.score),
        );
    }
    let reason = match &a.status {
        Status::Error(m) => format!("rule error: {m}"),
        Status::Ineligible => {
            let failed: Vec<String> = a
                .failed()
                .map(|c| format!("{} ({})", c.id, c.text))
                .collect();
            format!("not eligible: {}", failed.join("; "))
        }
        Status::Eligible => format!(
            "not funded (score {:.2}): {}",
            a.score,
            s.alloc.why_not[i]
                .as_ref()
                .map_or("no fundable option", |w| w.message.as_str())
        ),
    };
    ("none".to_string(), 0, reason)
}

/// Solves both sides (in parallel, each a scenario with its label) and lists every
/// applicant, matched by id, whose outcome changed. Errors: input errors of either side,
/// and [`Error::Infeasible`] naming the side that has no allocation.
pub(crate) fn compare(
    before: (&Scenario, String),
    after: (&Scenario, String),
) -> Result<Comparison> {
    let (a, b) = rayon::join(
        || solve_side(before.0, before.1, "A"),
        || solve_side(after.0, after.1, "B"),
    );
    let (a, b) = (a?, b?);
    let index: HashMap<&str, usize> = b
        .assessments
        .iter()
        .enumerate()
        .map(|(i, x)| (x.id.as_str(), i))
        .collect();
    let in_a: HashMap<&str, usize> = a
        .assessments
        .iter()
        .enumerate()
        .map(|(i, x)| (x.id.as_str(), i))
        .collect();
    let mut changes = Vec::new();
    let mut only_before = Vec::new();
    let mut common = 0;
    for (i, x) in a.assessments.iter().enumerate() {
        let Some(&j) = index.get(x.id.as_str()) else {
            only_before.push(x.id.clone());
            continue;
        };
        common += 1;
        let y = &b.assessments[j];
        let oa = a.alloc.choices[i].and_then(|o| x.offers.get(o));
        let ob = b.alloc.choices[j].and_then(|o| y.offers.get(o));
        let change = match (oa, ob) {
            (None, Some(_)) => ChangeKind::NowFunded,
            (Some(_), None) => ChangeKind::NoLongerFunded,
            (Some(p), Some(q)) if (p.kind(), &p.kit) != (q.kind(), &q.kit) => {
                ChangeKind::OptionChanged
            }
            (Some(p), Some(q)) if p != q => ChangeKind::AmountChanged,
            (None, None) if x.eligible() != y.eligible() => ChangeKind::EligibilityChanged,
            _ => continue,
        };
        let (before_option, before_amount, reason_before) = outcome(&a, i);
        let (after_option, after_amount, reason_after) = outcome(&b, j);
        let failed_before: Vec<&str> = x.failed().map(|c| c.id.as_str()).collect();
        let newly_failed = y
            .failed()
            .filter(|c| !failed_before.contains(&c.id.as_str()))
            .map(|c| c.id.clone())
            .collect();
        changes.push(Change {
            id: x.id.clone(),
            before_option,
            before_amount,
            after_option,
            after_amount,
            change,
            reason_before,
            reason_after,
            newly_failed,
        });
    }
    let only_after = b
        .assessments
        .iter()
        .filter(|y| !in_a.contains_key(y.id.as_str()))
        .map(|y| y.id.clone())
        .collect();
    Ok(Comparison {
        before: totals(&a),
        after: totals(&b),
        common,
        only_before,
        only_after,
        changes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_cells_are_escaped() {
        let c = Change {
            id: "=1+1".into(),
            before_option: "none".into(),
            before_amount: 0,
            after_option: "cash=100".into(),
            after_amount: 100,
            change: ChangeKind::NowFunded,
            reason_before: "-x".into(),
            reason_after: "funded".into(),
            newly_failed: vec![],
        };
        let row = c.csv_row();
        assert_eq!(row[0], "'=1+1");
        assert_eq!(row[5], "now_funded");
        assert_eq!(row[6], "'-x");
    }
}
