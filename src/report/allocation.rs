//! The allocation's outputs: `decisions.csv` (one row per applicant), `summary.json` and
//! `summary.md` (the programme at a glance, binding budgets with their shadow prices).
//!
//! Nothing here depends on time or thread count: the same allocation always writes the
//! same bytes.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::allocate::{Allocation, Solution};
use crate::assessment::{Assessment, Status};
use crate::decision::Decision;
use crate::dialect::{cell, OutputDialect};
use crate::error::{Error, Result};
use crate::output::{write_file, Output};
use crate::report::{number, score_cell, thousands};
use crate::scenario::{Mad, Scenario};

/// Columns of `decisions.csv`.
pub const DECISION_COLUMNS: [&str; 12] = [
    "id",
    "eligible",
    "failed_checks",
    "reasons",
    "score",
    "option",
    "kit",
    "cash",
    "amount",
    "funders",
    "why_not",
    "committed",
];

/// The cells of one `decisions.csv` row.
pub fn decision_row(d: &Decision) -> [String; 12] {
    let reasons = match &d.error {
        Some(e) => e.clone(),
        None => d.reasons.join("; "),
    };
    [
        cell(&d.id).into_owned(),
        d.eligible_cell().to_string(),
        d.failed_checks.join("|"),
        cell(&reasons).into_owned(),
        score_cell(d.score),
        d.option.as_str().to_string(),
        d.kit.clone().unwrap_or_default(),
        d.cash.to_string(),
        d.amount.to_string(),
        d.funders
            .iter()
            .map(|f| format!("{}:{}", f.funder, f.amount))
            .collect::<Vec<_>>()
            .join("|"),
        cell(d.why_not.as_ref().map_or("", |w| w.message.as_str())).into_owned(),
        d.committed.to_string(),
    ]
}

/// A CSV writer's error on `path`: the disk's, or a bug.
pub(crate) fn csv_error(path: &Path) -> impl Fn(csv::Error) -> Error + '_ {
    move |e| match e.into_kind() {
        csv::ErrorKind::Io(e) => Error::io(path, e),
        other => Error::Internal(format!("writing {}: {other:?}", path.display())),
    }
}

/// Writes `decisions.csv` in `dialect`: exactly one row per decision, in input order.
pub fn write_decisions(path: &Path, decisions: &[Decision], dialect: OutputDialect) -> Result<()> {
    let numbers = |c: &str| matches!(c, "score" | "cash" | "amount");
    super::write_csv(
        path,
        dialect,
        &DECISION_COLUMNS,
        numbers,
        decisions.iter().map(decision_row),
    )
}

/// Writes `decisions.jsonl`: one JSON decision per line, in input order.
pub fn write_decisions_jsonl(path: &Path, decisions: &[Decision]) -> Result<()> {
    let mut w = Output::create(path)?;
    for d in decisions {
        serde_json::to_writer(&mut w, d).map_err(|e| Error::Internal(e.to_string()))?;
        w.write_all(b"\n").map_err(|e| Error::io(path, e))?;
    }
    w.commit()
}

/// Counts and money for one group (a city, a trade, a gender, a funder).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Tally {
    /// Applicants in the group.
    pub applicants: u64,
    /// Eligible applicants.
    pub eligible: u64,
    /// Applicants served.
    pub served: u64,
    /// Money allocated, MAD.
    pub spent: Mad,
    /// The group's cap or amount, MAD, where it has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<Mad>,
}

/// One constraint of the allocation, as reported.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ConstraintSummary {
    /// `budget.total`, `budget.cities.Fes`, `funder.x`, `kit.x.stock`, `quota.x.min_share`.
    pub name: String,
    /// The limit.
    pub limit: f64,
    /// What the allocation uses.
    pub used: f64,
    /// Whether it holds someone back.
    pub binding: bool,
    /// Objective units per unit of the limit (per MAD for budgets), from the LP relaxation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shadow_price: Option<f64>,
    /// What 1,000 MAD more would buy, in words (budgets only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub per_1000_mad: Option<String>,
}

/// `summary.json`: the programme at a glance.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Summary {
    /// Programme name.
    pub program: String,
    /// The `--set KEY=VALUE` overrides the scenario was run with, if any.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub overrides: Vec<String>,
    /// Currency of every amount.
    pub currency: String,
    /// `score`, `served` or `served_then_score`.
    pub objective_kind: String,
    /// Value of the allocation in that objective.
    pub objective: f64,
    /// Proven upper bound on the objective.
    pub bound: f64,
    /// Relative gap between objective and bound.
    pub gap: f64,
    /// True when no better allocation exists.
    pub proven_optimal: bool,
    /// True when the time limit (the wall clock) stopped the search: another run may find
    /// another allocation.
    pub timed_out: bool,
    /// True when the search's work budget (`solver.work_limit`, by default set by
    /// `solver.time_limit`) stopped it before it closed the gap: the best allocation found,
    /// the same on every run.
    pub work_limit_reached: bool,
    /// Applicants read.
    pub applicants: u64,
    /// Eligible applicants.
    pub eligible: u64,
    /// Applicants served.
    pub served: u64,
    /// Money allocated, MAD.
    pub spent: Mad,
    /// `budget.total`, where set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub budget_total: Option<Mad>,
    /// Sum of the served applicants' scores.
    pub score_served: f64,
    /// By funder id: `spent` is what the funder pays, `limit` its amount.
    pub by_funder: BTreeMap<String, Tally>,
    /// By city, with its cap as `limit`.
    pub by_city: BTreeMap<String, Tally>,
    /// By planned trade.
    pub by_trade: BTreeMap<String, Tally>,
    /// By gender (`F`, `M`).
    pub by_gender: BTreeMap<String, Tally>,
    /// By option kind (`kit`, `cash`, `kit+cash`): served and spent.
    pub by_option: BTreeMap<String, Tally>,
    /// Applicants excluded by each check.
    pub excluded_by: BTreeMap<String, u64>,
    /// Every constraint, binding ones with shadow prices.
    pub constraints: Vec<ConstraintSummary>,
    /// Money left unallocated and what holds it back.
    pub unspent: Unspent,
    /// What produced this result: idmaj version, every input with its SHA-256, the
    /// overrides, the solver settings and how the search ended.
    pub manifest: Manifest,
}

/// Money the scenario holds but the allocation leaves unspent, and why.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Unspent {
    /// MAD: the money there is (`budget.total`, or the funders' money when less) minus
    /// what is allocated.
    pub amount: Mad,
    /// The constraint that holds it back (the one most eligible applicants left unfunded
    /// meet: a quota, a cap, an earmarked funder, a stock), when one does.
    pub held_by: Option<String>,
    /// The reason in words.
    pub reason: String,
}

impl Unspent {
    /// `709,100 MAD: quota.women.min_share holds back ...`, as the CLI, summary.md and the
    /// report say it.
    pub fn sentence(&self, currency: &str) -> String {
        format!("{} {currency}: {}", thousands(self.amount), self.reason)
    }
}

/// One input of a run.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct ManifestInput {
    /// `scenario file`, `applicants file`, `labour-market file`, `rule file`, ...
    pub role: String,
    /// The path as the run named it (or the in-memory part's name).
    pub path: String,
    /// SHA-256 of its bytes, hex.
    pub sha256: String,
}

/// What produced a result, so a committee can tell which data and rules a report came
/// from, and `idmaj verify` can run it again.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Manifest {
    /// The idmaj version.
    pub idmaj_version: String,
    /// Every input, with its hash.
    pub inputs: Vec<ManifestInput>,
    /// The `--set KEY=VALUE` overrides.
    pub overrides: Vec<String>,
    /// `[solver]`: time limit (s), gap, work limit (`null`: from the time limit).
    pub solver: SolverManifest,
    /// How the search ended: `proven optimal`, `within gap`, `search budget reached` or
    /// `time limit reached`.
    pub search: String,
    /// Work units the search used (the sizes of the LPs it solved and the candidates in doubt
    /// at each node): counted, not timed, so the same on every run the clock did not stop.
    /// `null` for a sweep (each point's allocation has its own).
    #[serde(default)]
    pub work: Option<u64>,
}

/// The solver settings of a run.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct SolverManifest {
    /// Seconds.
    pub time_limit: f64,
    /// Relative gap.
    pub gap: f64,
    /// Work units, where set.
    pub work_limit: Option<f64>,
}

/// The manifest of a run of `scenario` that ended as `search` says.
pub(crate) fn manifest(scenario: &Scenario, search: &str, work: Option<u64>) -> Manifest {
    Manifest {
        idmaj_version: env!("CARGO_PKG_VERSION").to_string(),
        inputs: scenario
            .input_hashes()
            .into_iter()
            .map(|(role, path, sha256)| ManifestInput {
                role: role.to_string(),
                path,
                sha256,
            })
            .collect(),
        overrides: scenario.overrides.clone(),
        solver: SolverManifest {
            time_limit: scenario.solver.time_limit,
            gap: scenario.solver.gap,
            work_limit: scenario.solver.work_limit,
        },
        search: search.to_string(),
        work,
    }
}

/// What holds money back: the constraint most unfunded eligible applicants meet.
fn unspent(scenario: &Scenario, spent: Mad, alloc: &Solution) -> Unspent {
    let money = scenario
        .budget_total
        .unwrap_or(Mad::MAX)
        .min(scenario.funders_total());
    let amount = (money - spent).max(0);
    let mut held: BTreeMap<String, usize> = BTreeMap::new();
    let mut left = 0;
    for w in alloc.why_not.iter().flatten() {
        left += 1;
        if let Some(c) = &w.constraint {
            *held.entry(c.clone()).or_default() += 1;
        }
    }
    let top = held
        .iter()
        .max_by(|a, b| a.1.cmp(b.1).then(b.0.cmp(a.0)))
        .map(|(c, n)| (c.clone(), *n));
    let reason = match (&top, amount) {
        (_, 0) => "all the money is allocated".to_string(),
        _ if left == 0 => "no eligible applicant is left to fund".to_string(),
        (Some((c, n)), _) => {
            format!("{c} holds back {n} of the {left} eligible applicants left unfunded")
        }
        (None, _) => {
            format!("the {left} eligible applicants left unfunded have no offer a funder may pay")
        }
    };
    Unspent {
        amount,
        held_by: top.filter(|_| amount > 0 && left > 0).map(|(c, _)| c),
        reason,
    }
}

impl Summary {
    /// `score = 1559.60, bound 1559.60, gap 0.0000% (optimal)`: the objective, its proven
    /// bound and how the search ended, as the CLI and `summary.md` say it.
    pub fn objective_line(&self) -> String {
        format!(
            "{} = {:.2}, bound {:.2}, gap {:.4}%{}{}",
            self.objective_kind,
            self.objective,
            self.bound,
            100.0 * self.gap,
            if self.proven_optimal {
                " (optimal)"
            } else {
                ""
            },
            if self.timed_out {
                " (time limit reached: best found)"
            } else if self.work_limit_reached {
                " (search budget reached: best found)"
            } else {
                ""
            }
        )
    }
}

/// A Markdown table of applicants, eligible, served and spent per group.
fn tally_table(o: &mut String, heading: &str, group: &str, rows: &BTreeMap<String, Tally>) {
    o.push_str(&format!(
        "\n## {heading}\n\n| {group} | applicants | eligible | served | spent (MAD) |\n|---|---:|---:|---:|---:|\n"
    ));
    for (g, t) in rows {
        o.push_str(&format!(
            "| {g} | {} | {} | {} | {} |\n",
            t.applicants,
            t.eligible,
            t.served,
            thousands(t.spent)
        ));
    }
}

/// Rounds a float to 9 significant digits so tiny solver noise never changes the output.
pub(crate) fn tidy(v: f64) -> f64 {
    if v == 0.0 || !v.is_finite() {
        return 0.0;
    }
    let mag = 10f64.powi(8 - v.abs().log10().floor() as i32);
    (v * mag).round() / mag
}

/// Builds the summary of an allocation.
pub(crate) fn summarize(
    scenario: &Scenario,
    assessments: &[Assessment],
    alloc: &Solution,
) -> Summary {
    let mut s = Summary {
        program: scenario.program.name.clone(),
        overrides: scenario.overrides.clone(),
        currency: scenario.program.currency.clone(),
        objective_kind: scenario.objective.as_str().to_string(),
        objective: tidy(alloc.objective),
        bound: tidy(alloc.bound),
        gap: tidy(alloc.gap),
        proven_optimal: alloc.proven_optimal,
        timed_out: alloc.timed_out,
        work_limit_reached: alloc.work_limited,
        applicants: assessments.len() as u64,
        eligible: 0,
        served: alloc.served as u64,
        spent: alloc.spent,
        budget_total: scenario.budget_total,
        score_served: 0.0,
        by_funder: BTreeMap::new(),
        by_city: BTreeMap::new(),
        by_trade: BTreeMap::new(),
        by_gender: BTreeMap::new(),
        by_option: BTreeMap::new(),
        excluded_by: BTreeMap::new(),
        constraints: Vec::new(),
        unspent: unspent(scenario, alloc.spent, alloc),
        manifest: manifest(scenario, alloc.search_ended(), Some(alloc.work)),
    };
    for f in &scenario.funders {
        s.by_funder.insert(
            f.id.clone(),
            Tally {
                limit: Some(f.amount),
                ..Tally::default()
            },
        );
    }
    for c in &scenario.market.cities {
        s.by_city.insert(
            c.clone(),
            Tally {
                limit: scenario.city_caps.get(c).copied(),
                ..Tally::default()
            },
        );
    }
    let mut score_served = 0.0;
    for (i, a) in assessments.iter().enumerate() {
        let eligible = a.status == Status::Eligible;
        s.eligible += u64::from(eligible);
        for c in a.failed() {
            *s.excluded_by.entry(c.id.clone()).or_default() += 1;
        }
        let offer = alloc.choices[i].and_then(|o| a.offers.get(o));
        let cost = offer.map_or(0, |o| o.cost());
        for t in [
            s.by_city.entry(a.city.clone()).or_default(),
            s.by_trade.entry(a.trade.clone()).or_default(),
            s.by_gender
                .entry(a.gender.as_str().to_string())
                .or_default(),
        ] {
            t.applicants += 1;
            t.eligible += u64::from(eligible);
            t.served += u64::from(offer.is_some());
            t.spent += cost;
        }
        if let Some(o) = offer {
            score_served += a.score;
            let t = s.by_option.entry(o.kind().to_string()).or_default();
            t.served += 1;
            t.spent += cost;
        }
        for (f, m) in &alloc.funding[i] {
            let t = s.by_funder.entry(f.clone()).or_default();
            t.served += 1;
            t.spent += m;
        }
    }
    s.score_served = tidy(score_served);
    let avg_cost = if alloc.served > 0 {
        alloc.spent as f64 / alloc.served as f64
    } else {
        0.0
    };
    for c in &alloc.constraints {
        let money = c.name.starts_with("budget.") || c.name.starts_with("funder.");
        let per_1000_mad = match (money, c.shadow_price) {
            (true, Some(p)) if c.binding && p > 0.0 => Some(match scenario.objective {
                crate::scenario::Objective::Served => format!("1,000 MAD more funds about {:.2} more people", 1000.0 * p),
                _ => format!(
                    "1,000 MAD more adds about {:.1} score (about {:.2} more people at the average grant)",
                    1000.0 * p,
                    if avg_cost > 0.0 { 1000.0 / avg_cost } else { 0.0 }
                ),
            }),
            _ => None,
        };
        s.constraints.push(ConstraintSummary {
            name: c.name.clone(),
            limit: tidy(c.limit),
            used: tidy(c.used),
            binding: c.binding,
            shadow_price: c.shadow_price.map(tidy),
            per_1000_mad,
        });
    }
    s
}

/// `summary.md`: the same as `summary.json`, for people.
pub fn summary_markdown(s: &Summary) -> String {
    let mut o = String::new();
    let cur = &s.currency;
    o.push_str(&format!("# {}\n\n", s.program));
    if !s.overrides.is_empty() {
        o.push_str(&format!(
            "What-if run of the scenario with `--set {}`.\n\n",
            s.overrides.join("`, `--set ")
        ));
    }
    o.push_str(&format!(
        "**{} served** of {} eligible ({} applicants), **{} {cur} allocated**{}.\n\n",
        s.served,
        s.eligible,
        s.applicants,
        thousands(s.spent),
        s.budget_total.map_or(String::new(), |t| format!(
            " of a {} {cur} budget",
            thousands(t)
        ))
    ));
    if s.unspent.amount > 0 {
        o.push_str(&format!("**Unspent:** {}.\n\n", s.unspent.sentence(cur)));
    }
    let women = s.by_gender.get("F").map_or(0, |t| t.served);
    if s.served > 0 {
        o.push_str(&format!(
            "Women served: {women} ({:.1}%).\n\n",
            100.0 * women as f64 / s.served as f64
        ));
    }
    o.push_str(&format!("Objective: {}.\n\n", s.objective_line()));
    o.push_str("## By city\n\n| city | applicants | eligible | served | spent (MAD) | cap (MAD) |\n|---|---:|---:|---:|---:|---:|\n");
    for (c, t) in &s.by_city {
        o.push_str(&format!(
            "| {c} | {} | {} | {} | {} | {} |\n",
            t.applicants,
            t.eligible,
            t.served,
            thousands(t.spent),
            t.limit.map_or("-".to_string(), thousands)
        ));
    }
    o.push_str("\n## By funder\n\n| funder | served | spent (MAD) | amount (MAD) |\n|---|---:|---:|---:|\n");
    for (f, t) in &s.by_funder {
        o.push_str(&format!(
            "| {f} | {} | {} | {} |\n",
            t.served,
            thousands(t.spent),
            t.limit.map_or("-".to_string(), thousands)
        ));
    }
    tally_table(&mut o, "By trade", "trade", &s.by_trade);
    tally_table(&mut o, "By gender", "gender", &s.by_gender);
    o.push_str("\n## Excluded by each check\n\n| check | applicants |\n|---|---:|\n");
    let mut ex: Vec<_> = s.excluded_by.iter().collect();
    ex.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
    for (c, n) in ex {
        o.push_str(&format!("| {c} | {n} |\n"));
    }
    o.push_str("\n## Constraints\n\n| constraint | limit | used | binding | shadow price | 1,000 MAD more |\n|---|---:|---:|:---:|---:|---|\n");
    for c in &s.constraints {
        o.push_str(&format!(
            "| {} | {} | {} | {} | {} | {} |\n",
            c.name,
            number(c.limit),
            number(c.used),
            if c.binding { "yes" } else { "" },
            c.shadow_price.map_or(String::new(), |p| format!("{p:.6}")),
            c.per_1000_mad.clone().unwrap_or_default()
        ));
    }
    o.push_str("\n## Run\n\n");
    o.push_str(&manifest_markdown(&s.manifest));
    o
}

/// The manifest as Markdown lines.
fn manifest_markdown(m: &Manifest) -> String {
    let mut o = format!(
        "idmaj {}; search: {}; solver: time limit {} s, gap {}",
        m.idmaj_version, m.search, m.solver.time_limit, m.solver.gap
    );
    if !m.overrides.is_empty() {
        o.push_str(&format!("; --set {}", m.overrides.join(", --set ")));
    }
    o.push_str(".\n\n| input | file | SHA-256 |\n|---|---|---|\n");
    for i in &m.inputs {
        o.push_str(&format!("| {} | {} | `{}` |\n", i.role, i.path, i.sha256));
    }
    o
}

/// Writes `decisions.csv` (in `dialect`), `decisions.jsonl`, `summary.json` and
/// `summary.md` into `dir` (created if missing).
pub fn write_all(dir: &Path, alloc: &Allocation, dialect: OutputDialect) -> Result<()> {
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    write_decisions(&dir.join("decisions.csv"), &alloc.decisions, dialect)?;
    write_decisions_jsonl(&dir.join("decisions.jsonl"), &alloc.decisions)?;
    let summary = &alloc.summary;
    let json = serde_json::to_string_pretty(summary).map_err(|e| Error::Internal(e.to_string()))?;
    write_file(&dir.join("summary.json"), format!("{json}\n").as_bytes())?;
    write_file(
        &dir.join("summary.md"),
        summary_markdown(summary).as_bytes(),
    )
}
