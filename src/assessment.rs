//! The result of running the rules for one applicant.
//!
//! An [`Assessment`] is plain data so it can be written, compared and handed to the
//! allocator without the rule engine around.

use crate::applicant::Gender;
use crate::scenario::Mad;

/// Outcome of the rules for one applicant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Status {
    /// Every check passed.
    Eligible,
    /// At least one check failed.
    Ineligible,
    /// The rules failed for this applicant (message names rule file, line and column).
    Error(String),
}

/// One `check(id, text, passed)` call.
#[derive(Debug, Clone, PartialEq)]
pub struct Check {
    /// Check id, e.g. `training`.
    pub id: String,
    /// What the check requires, in words the applicant sees.
    pub text: String,
    /// Whether it passed.
    pub passed: bool,
    /// Applicant fields the rules had read when the check was recorded (`name=value`).
    pub read: Vec<(String, String)>,
}

/// One `add_score(points, why)` call.
#[derive(Debug, Clone, PartialEq)]
pub struct ScoreItem {
    /// Points added (may be negative).
    pub points: f64,
    /// Why.
    pub why: String,
}

/// Something the applicant could receive: a kit, cash, or both.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Offer {
    /// Kit id, for kit and kit+cash offers.
    pub kit: Option<String>,
    /// Cost of the kit (0 without a kit).
    pub kit_cost: Mad,
    /// Cash grant (0 for a kit alone).
    pub cash: Mad,
}

impl Offer {
    /// Total cost: kit plus cash.
    pub fn cost(&self) -> Mad {
        self.kit_cost + self.cash
    }

    /// `kit`, `cash` or `kit+cash`.
    pub fn kind(&self) -> &'static str {
        match (&self.kit, self.cash > 0) {
            (Some(_), true) => "kit+cash",
            (Some(_), false) => "kit",
            (None, _) => "cash",
        }
    }

    /// `kit:plumbing=11500`, `cash=15000` or `kit:plumbing=11500+cash=3000`.
    pub fn label(&self) -> String {
        match (&self.kit, self.cash > 0) {
            (Some(k), true) => format!("kit:{k}={}+cash={}", self.kit_cost, self.cash),
            (Some(k), false) => format!("kit:{k}={}", self.kit_cost),
            (None, _) => format!("cash={}", self.cash),
        }
    }
}

/// Everything the rules decided about one applicant.
#[derive(Debug, Clone, PartialEq)]
pub struct Assessment {
    /// Applicant id.
    pub id: String,
    /// Line of the applicant in the input file.
    pub line: u64,
    /// Applicant's city (for caps and earmarks).
    pub city: String,
    /// Applicant's gender (for summaries).
    pub gender: Gender,
    /// Planned trade (for summaries).
    pub trade: String,
    /// Eligible, ineligible or error.
    pub status: Status,
    /// Every check, in the order the rules recorded them.
    pub checks: Vec<Check>,
    /// Priority score: the sum of the items.
    pub score: f64,
    /// Score items, in order.
    pub score_items: Vec<ScoreItem>,
    /// Offers, without duplicates, in the order the rules made them.
    pub offers: Vec<Offer>,
    /// Membership of each quota group, in the scenario's quota order.
    pub groups: Vec<bool>,
    /// Messages the rules printed with `print`/`debug`.
    pub log: Vec<String>,
}

impl Assessment {
    /// True when every check passed and the rules ran without error.
    pub fn eligible(&self) -> bool {
        self.status == Status::Eligible
    }

    /// The failed checks.
    pub fn failed(&self) -> impl Iterator<Item = &Check> {
        self.checks.iter().filter(|c| !c.passed)
    }

    /// `true`, `false` or `error`, as in the output columns.
    pub fn eligible_cell(&self) -> &'static str {
        match self.status {
            Status::Eligible => "true",
            Status::Ineligible => "false",
            Status::Error(_) => "error",
        }
    }
}
