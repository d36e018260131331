//! The result of running the rules for one applicant.
//!
//! An [`Assessment`] is plain data so it can be written, compared, sent as JSON and handed
//! to the allocator without the rule engine around: it carries what allocation needs (city,
//! gender, quota membership, options) and the fingerprint of the scenario that made it.

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::applicant::Gender;
use crate::decision::OptionKind;
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

/// [`Status`] without the message: `eligible`, `ineligible` or `error` in JSON.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Eligibility {
    /// Every check passed.
    Eligible,
    /// At least one check failed.
    Ineligible,
    /// The rules failed.
    Error,
}

impl Eligibility {
    /// `true`, `false` or `error`, as in the CSV `eligible` column.
    pub fn cell(self) -> &'static str {
        match self {
            Eligibility::Eligible => "true",
            Eligibility::Ineligible => "false",
            Eligibility::Error => "error",
        }
    }
}

impl Status {
    /// The status without its message.
    pub fn eligibility(&self) -> Eligibility {
        match self {
            Status::Eligible => Eligibility::Eligible,
            Status::Ineligible => Eligibility::Ineligible,
            Status::Error(_) => Eligibility::Error,
        }
    }
}

/// One `check(id, text, passed)` call.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Check {
    /// Check id, e.g. `training`.
    pub id: String,
    /// What the check requires, in words the applicant sees.
    pub text: String,
    /// Whether it passed.
    pub passed: bool,
    /// Applicant fields the rules had read when the check was recorded (`name`, value as
    /// text), filled by `explain` only.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub read: Vec<(String, String)>,
}

/// One `add_score(points, why)` call.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScoreItem {
    /// Points added (may be negative).
    pub points: f64,
    /// Why.
    pub why: String,
}

/// Something the applicant could receive: a kit, cash, or both.
///
/// In JSON: `{"label", "kind", "kit", "cash", "amount"}` (amount = kit cost + cash).
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
    pub fn option_kind(&self) -> OptionKind {
        match (&self.kit, self.cash > 0) {
            (Some(_), true) => OptionKind::KitAndCash,
            (Some(_), false) => OptionKind::Kit,
            (None, _) => OptionKind::Cash,
        }
    }

    /// `kit`, `cash` or `kit+cash`.
    pub fn kind(&self) -> &'static str {
        self.option_kind().as_str()
    }

    /// `kit:plumbing=11500`, `cash=15000` or `kit:plumbing=11500+cash=3000`.
    pub fn label(&self) -> String {
        let mut s = String::new();
        push_label(&mut s, self.kit.as_deref(), self.kit_cost, self.cash);
        s
    }
}

/// Appends an offer's label to `s` (see [`Offer::label`]): the same text as
/// `format!("kit:{kit}={kit_cost}+cash={cash}")` and its shorter forms, without the
/// formatting machinery (labels are written by the million).
pub(crate) fn push_label(s: &mut String, kit: Option<&str>, kit_cost: Mad, cash: Mad) {
    match kit {
        Some(k) => {
            s.push_str("kit:");
            s.push_str(k);
            s.push('=');
            push_int(s, kit_cost);
            if cash > 0 {
                s.push_str("+cash=");
                push_int(s, cash);
            }
        }
        None => {
            s.push_str("cash=");
            push_int(s, cash);
        }
    }
}

/// Appends `v` as `v.to_string()` writes it.
pub(crate) fn push_int(s: &mut String, v: i64) {
    if v < 0 {
        s.push('-');
    }
    let digits = crate::digits::Decimal::new(v.unsigned_abs(), 1);
    s.extend(digits.bytes().iter().map(|&d| char::from(d)));
}

#[derive(Serialize, Deserialize)]
struct OfferJson {
    #[serde(default)]
    label: String,
    kind: OptionKind,
    kit: Option<String>,
    cash: Mad,
    amount: Mad,
}

impl Serialize for Offer {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        OfferJson {
            label: self.label(),
            kind: self.option_kind(),
            kit: self.kit.clone(),
            cash: self.cash,
            amount: self.cost(),
        }
        .serialize(s)
    }
}

impl<'de> Deserialize<'de> for Offer {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        let j = OfferJson::deserialize(d)?;
        let kit_cost = j.amount - j.cash;
        if j.cash < 0 || kit_cost < 0 || (j.kit.is_none() && kit_cost != 0) {
            return Err(D::Error::custom(format!(
                "option `{}`: cash {} and amount {} do not fit (amount is kit cost + cash)",
                j.label, j.cash, j.amount
            )));
        }
        Ok(Offer {
            kit: j.kit,
            kit_cost,
            cash: j.cash,
        })
    }
}

/// Everything the rules decided about one applicant.
///
/// Its JSON is `{"id", "status", "failed_checks", "reasons", "score", "score_items",
/// "options", "city", "gender", "trade", "quotas", "error", "scenario"}`: enough to allocate
/// from JSON alone.
#[derive(Debug, Clone, PartialEq)]
pub struct Assessment {
    /// Applicant id.
    pub id: String,
    /// Line of the applicant in the input file (0 when not read from a file).
    pub line: u64,
    /// Applicant's city (for caps and earmarks).
    pub city: String,
    /// Applicant's gender (for summaries).
    pub gender: Gender,
    /// Planned trade (for summaries).
    pub trade: String,
    /// Eligible, ineligible or error.
    pub status: Status,
    /// The checks the rules recorded, in order (read back from JSON: the failed ones).
    pub checks: Vec<Check>,
    /// Priority score: the sum of the items.
    pub score: f64,
    /// Score items, in order.
    pub score_items: Vec<ScoreItem>,
    /// Offers, without duplicates, in the order the rules made them.
    pub offers: Vec<Offer>,
    /// Names of the quotas whose `when` holds for the applicant (eligible applicants only).
    pub quotas: Vec<String>,
    /// Messages the rules printed with `print`/`debug`.
    pub log: Vec<String>,
    /// Fingerprint of the scenario that made the assessment.
    pub scenario: String,
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
        self.status.eligibility().cell()
    }

    /// The rule error, for status `error`.
    pub fn error(&self) -> Option<&str> {
        match &self.status {
            Status::Error(m) => Some(m),
            _ => None,
        }
    }

    /// True when the applicant belongs to the quota group `name`.
    pub fn in_quota(&self, name: &str) -> bool {
        self.quotas.iter().any(|q| q == name)
    }
}

#[derive(Serialize, Deserialize)]
struct AssessmentJson {
    id: String,
    status: Eligibility,
    #[serde(default)]
    failed_checks: Vec<String>,
    #[serde(default)]
    reasons: Vec<String>,
    score: f64,
    #[serde(default)]
    score_items: Vec<ScoreItem>,
    #[serde(default)]
    options: Vec<Offer>,
    city: String,
    gender: Gender,
    #[serde(default)]
    trade: String,
    #[serde(default)]
    quotas: Vec<String>,
    #[serde(default)]
    error: Option<String>,
    scenario: String,
}

impl Serialize for Assessment {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let failed: Vec<&Check> = self.failed().collect();
        AssessmentJson {
            id: self.id.clone(),
            status: self.status.eligibility(),
            failed_checks: failed.iter().map(|c| c.id.clone()).collect(),
            reasons: failed.iter().map(|c| c.text.clone()).collect(),
            score: self.score,
            score_items: self.score_items.clone(),
            options: self.offers.clone(),
            city: self.city.clone(),
            gender: self.gender,
            trade: self.trade.clone(),
            quotas: self.quotas.clone(),
            error: self.error().map(str::to_string),
            scenario: self.scenario.clone(),
        }
        .serialize(s)
    }
}

impl<'de> Deserialize<'de> for Assessment {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        let j = AssessmentJson::deserialize(d)?;
        if j.failed_checks.len() != j.reasons.len() {
            return Err(D::Error::custom(format!(
                "assessment {}: {} failed_checks but {} reasons (one text per failed check)",
                j.id,
                j.failed_checks.len(),
                j.reasons.len()
            )));
        }
        let status = match j.status {
            Eligibility::Eligible => Status::Eligible,
            Eligibility::Ineligible => Status::Ineligible,
            Eligibility::Error => Status::Error(j.error.unwrap_or_default()),
        };
        Ok(Assessment {
            id: j.id,
            line: 0,
            city: j.city,
            gender: j.gender,
            trade: j.trade,
            status,
            checks: j
                .failed_checks
                .into_iter()
                .zip(j.reasons)
                .map(|(id, text)| Check {
                    id,
                    text,
                    passed: false,
                    read: Vec::new(),
                })
                .collect(),
            score: j.score,
            score_items: j.score_items,
            offers: j.options,
            quotas: j.quotas,
            log: Vec::new(),
            scenario: j.scenario,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_are_written_as_format_writes_them() {
        let mut ints = vec![
            0,
            1,
            -1,
            9,
            10,
            99,
            100,
            11_500,
            -11_500,
            i64::MAX,
            i64::MIN,
        ];
        let mut x = 0x2545_f491_4f6c_dd1du64;
        for _ in 0..100_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            ints.push(x as i64);
            ints.push((x >> (x % 64)) as i64);
            ints.push(-((x % 1_000_000) as i64));
        }
        for pair in ints.windows(2) {
            let (a, b) = (pair[0], pair[1]);
            let mut s = String::new();
            push_int(&mut s, a);
            assert_eq!(s, a.to_string());
            for kit in [Some("plumbing"), None] {
                let mut s = String::from("x|");
                push_label(&mut s, kit, a, b);
                let expected = match (kit, b > 0) {
                    (Some(k), true) => format!("x|kit:{k}={a}+cash={b}"),
                    (Some(k), false) => format!("x|kit:{k}={a}"),
                    (None, _) => format!("x|cash={b}"),
                };
                assert_eq!(s, expected);
            }
        }
    }
}
