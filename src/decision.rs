//! What the allocation decided for one applicant, as data.
//!
//! A [`Decision`] is one row of `decisions.csv` with its parts typed: the funders as a list,
//! and the reason an eligible applicant was left unfunded as a [`WhyNot`] whose kind and
//! constraint are fields. Reports group and count reasons by those fields; nothing reads a
//! message back.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::assessment::{Assessment, Eligibility, Offer};
use crate::scenario::Mad;

/// What held an eligible applicant back.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WhyNotKind {
    /// `budget.total` is spent.
    BudgetTotal,
    /// A city's cap is spent.
    CityCap,
    /// The funders who may pay for this applicant's offer have spent their money.
    Funder,
    /// A kit's stock is used up.
    Stock,
    /// Serving the applicant would break a quota bound.
    Quota,
    /// The most people that can be served are served (second stage of
    /// `served_then_score`).
    Served,
    /// The rules offered nothing.
    NoOffer,
    /// No funder may pay for any offer (earmarks).
    NoFunder,
    /// Serving the applicant adds nothing to the objective.
    NotWorth,
    /// Left out within the optimality gap the search stops at.
    WithinGap,
}

/// Why an eligible applicant was left unfunded.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WhyNot {
    /// What kind of limit held them back.
    pub kind: WhyNotKind,
    /// The constraint, as named in `summary.json` (`budget.total`,
    /// `budget.cities.Tangier`, `funder.wilaya-tth`, `kit.plumbing.stock`,
    /// `quota.women.min_share`, ...); `None` for reasons that are not a constraint.
    pub constraint: Option<String>,
    /// The cut-off the applicant missed: objective value per 1,000 MAD the binding
    /// constraints ask for at their LP prices; `None` where no price applies.
    pub cutoff: Option<f64>,
    /// The reason in words (no personal data).
    pub message: String,
}

impl WhyNot {
    /// The reason without the applicant's own figures, for counting: `budget.total is
    /// spent`, `kit.plumbing.stock is used up`, `no offer from the rules`.
    pub fn headline(&self) -> String {
        match (&self.constraint, self.kind) {
            (Some(c), kind) => format!("{c} {}", verb(kind, c)),
            (None, WhyNotKind::NoOffer) => "no offer from the rules".into(),
            (None, WhyNotKind::NotWorth) => "not worth serving".into(),
            (None, WhyNotKind::WithinGap) => "left out within the optimality gap".into(),
            (None, _) => self.message.clone(),
        }
    }
}

/// What a constraint being in the way is called.
pub(crate) fn verb(kind: WhyNotKind, constraint: &str) -> &'static str {
    match kind {
        WhyNotKind::Stock => "is used up",
        WhyNotKind::Quota if constraint.ends_with(".max_count") => "is reached",
        WhyNotKind::Quota => "would no longer hold",
        WhyNotKind::Served => "is reached",
        _ => "is spent",
    }
}

impl fmt::Display for WhyNot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

/// Money one funder pays for an applicant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Funding {
    /// Funder id.
    pub funder: String,
    /// Whole MAD.
    pub amount: Mad,
}

/// The kind of option an applicant receives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum OptionKind {
    /// Not funded.
    #[serde(rename = "none")]
    None,
    /// An equipment kit.
    #[serde(rename = "kit")]
    Kit,
    /// A cash grant.
    #[serde(rename = "cash")]
    Cash,
    /// A kit and a cash grant.
    #[serde(rename = "kit+cash")]
    KitAndCash,
}

impl OptionKind {
    /// `none`, `kit`, `cash` or `kit+cash`.
    pub fn as_str(self) -> &'static str {
        match self {
            OptionKind::None => "none",
            OptionKind::Kit => "kit",
            OptionKind::Cash => "cash",
            OptionKind::KitAndCash => "kit+cash",
        }
    }
}

/// The outcome for one applicant: eligibility with its reasons, what they receive and who
/// pays, or why an eligible applicant was left unfunded. `decisions.csv` is its flat form.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Decision {
    /// Applicant id.
    pub id: String,
    /// `eligible`, `ineligible` or `error`.
    pub status: Eligibility,
    /// Ids of the failed checks, in the order the rules recorded them.
    pub failed_checks: Vec<String>,
    /// The failed checks' texts, in the same order.
    pub reasons: Vec<String>,
    /// Priority score.
    pub score: f64,
    /// The option received.
    pub option: OptionKind,
    /// Kit id, for `kit` and `kit+cash`.
    pub kit: Option<String>,
    /// Cash grant, whole MAD (0 without cash).
    pub cash: Mad,
    /// Kit cost plus cash, whole MAD (0 when not funded).
    pub amount: Mad,
    /// Who pays, in scenario funder order; the amounts add up to `amount`.
    pub funders: Vec<Funding>,
    /// Why an eligible applicant was left unfunded; `None` for the funded and the
    /// ineligible.
    pub why_not: Option<WhyNot>,
    /// Decided in an earlier batch and kept as it was.
    pub committed: bool,
    /// The rule error, for status `error`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl Decision {
    /// The decision for `a`: funded with `offer` by `funders`, or not (with `why_not`).
    pub(crate) fn new(
        a: &Assessment,
        offer: Option<&Offer>,
        funders: Vec<Funding>,
        why_not: Option<WhyNot>,
    ) -> Decision {
        let failed: Vec<_> = a.failed().collect();
        Decision {
            id: a.id.clone(),
            status: a.status.eligibility(),
            failed_checks: failed.iter().map(|c| c.id.clone()).collect(),
            reasons: failed.iter().map(|c| c.text.clone()).collect(),
            score: a.score,
            option: offer.map_or(OptionKind::None, Offer::option_kind),
            kit: offer.and_then(|o| o.kit.clone()),
            cash: offer.map_or(0, |o| o.cash),
            amount: offer.map_or(0, Offer::cost),
            funders,
            why_not,
            committed: false,
            error: a.error().map(str::to_string),
        }
    }

    /// True when the applicant receives something.
    pub fn funded(&self) -> bool {
        self.option != OptionKind::None
    }

    /// `true`, `false` or `error`, as in the `eligible` column.
    pub fn eligible_cell(&self) -> &'static str {
        self.status.cell()
    }
}
