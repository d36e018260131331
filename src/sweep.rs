//! What-if sweeps: one scenario solved at many settings (budgets, thresholds, quotas).
//!
//! Planners decide budgets by trying alternatives, so a sweep solves the programme at every
//! point of a grid of [`Setting`]s and returns one [`SweepRow`] per point. Scoring is the
//! slow part that rarely changes: assessments depend only on the rules, `[params]`,
//! `[program]`, kit costs and trades, and quota `when` expressions, so they are computed
//! once per distinct value of those and shared by every point that only moves budgets,
//! funders, stock, quota bounds, the objective or the solver. Points are solved in
//! parallel and come back in grid order, so the result does not depend on the thread count
//! (except for points the solver's time limit stopped, see [`SweepRow::timed_out`]).
//!
//! ```
//! use idmaj::Setting;
//!
//! # fn main() -> idmaj::Result<()> {
//! let engine = idmaj::Engine::load("scenarios/tangier-2016")?;
//! let s = engine.sweep(&[Setting::budget_range("150000..300000:4")?])?;
//! assert_eq!(s.rows.len(), 4);
//! assert!(s.rows.windows(2).all(|w| w[0].served <= w[1].served));
//! # Ok(())
//! # }
//! ```

use std::collections::BTreeMap;

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::allocate::solve;
use crate::applicant::Gender;
use crate::assessment::Assessment;
use crate::engine::Engine;
use crate::error::{Error, Problem, Result};
use crate::overrides::{Override, SetValue};
use crate::rules::Detail;
use crate::scenario::{Mad, Scenario};

/// One swept setting: a scenario key (as for `--set`) and the values it takes, in order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Setting {
    /// Dotted key, e.g. `budget.total` or `params.min_training_hours`.
    pub key: String,
    /// The values, in the order the points take them.
    pub values: Vec<SetValue>,
}

fn bad(arg: &str, message: String) -> Error {
    Error::from(Problem::error(arg, message))
}

impl Setting {
    /// `A..B:STEPS` on `budget.total`: `STEPS` whole-MAD budgets from `A` to `B` inclusive,
    /// evenly spaced (rounded to the nearest MAD). Needs `A < B` and `STEPS >= 2`.
    pub fn budget_range(spec: &str) -> Result<Setting> {
        let arg = "--budget";
        let shape = || {
            bad(
                arg,
                format!("`{spec}` is not A..B:STEPS (e.g. 3000000..6000000:13)"),
            )
        };
        let (range, steps) = spec.rsplit_once(':').ok_or_else(shape)?;
        let (a, b) = range.split_once("..").ok_or_else(shape)?;
        let int = |s: &str, what: &str| -> Result<i64> {
            s.trim().replace('_', "").parse::<i64>().map_err(|_| {
                bad(
                    arg,
                    format!(
                        "`{spec}`: {what} `{}` is not a whole number of MAD",
                        s.trim()
                    ),
                )
            })
        };
        let (a, b) = (int(a, "A")?, int(b, "B")?);
        let steps: u32 = steps.trim().parse().map_err(|_| {
            bad(
                arg,
                format!("`{spec}`: STEPS `{}` is not a whole number", steps.trim()),
            )
        })?;
        Setting::budget(a, b, steps).map_err(|e| match e {
            Error::Input { problems } => Error::Input {
                problems: problems
                    .list
                    .into_iter()
                    .map(|p| Problem {
                        message: format!("`{spec}`: {}", p.message),
                        ..p
                    })
                    .collect(),
            },
            other => other,
        })
    }

    /// `steps` whole-MAD budgets on `budget.total` from `from` to `to` inclusive, evenly
    /// spaced (rounded to the nearest MAD). Needs `from < to` and `steps >= 2`.
    pub fn budget(from: i64, to: i64, steps: u32) -> Result<Setting> {
        let (a, b) = (from, to);
        let arg = "--budget";
        if steps < 2 {
            return Err(bad(arg, format!("STEPS must be at least 2 (got {steps})")));
        }
        if steps as usize > MAX_POINTS {
            return Err(bad(
                arg,
                format!("STEPS is {steps}; a sweep has at most {MAX_POINTS} points"),
            ));
        }
        if a >= b {
            return Err(bad(arg, format!("A must be less than B (got {a} and {b})")));
        }
        let n = i128::from(steps - 1);
        let values = (0..=n)
            .map(|i| {
                let span = i128::from(b) - i128::from(a);
                // Round half up, in integers, so the ends are exactly A and B.
                let v = i128::from(a) + (2 * span * i + n) / (2 * n);
                SetValue::Int(v as i64)
            })
            .collect();
        Ok(Setting {
            key: "budget.total".to_string(),
            values,
        })
    }

    /// `KEY=V1,V2,...`: each value read like `--set` (integer, float, boolean, else text).
    pub fn parse(spec: &str) -> Result<Setting> {
        let arg = "--set";
        let (key, values) = spec
            .split_once('=')
            .ok_or_else(|| bad(arg, format!("`{spec}` is not KEY=V1,V2,...")))?;
        let key = key.trim();
        if key.is_empty() {
            return Err(bad(arg, format!("`{spec}`: the key is empty")));
        }
        let values: Vec<&str> = split_outside_brackets(values)
            .into_iter()
            .map(str::trim)
            .collect();
        if values.iter().all(|v| v.is_empty()) {
            return Err(bad(
                arg,
                format!("`{spec}`: no values for `{key}` (expected {key}=V1,V2,...)"),
            ));
        }
        if let Some(i) = values.iter().position(|v| v.is_empty()) {
            return Err(bad(
                arg,
                format!("`{spec}`: value {} of `{key}` is empty", i + 1),
            ));
        }
        Ok(Setting {
            key: key.to_string(),
            values: values.into_iter().map(SetValue::parse).collect(),
        })
    }
}

/// `s` split at the commas outside `[...]`: `[Tangier],[Tangier,Fes]` is two values.
fn split_outside_brackets(s: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let (mut depth, mut start) = (0usize, 0);
    for (i, c) in s.char_indices() {
        match c {
            '[' => depth += 1,
            ']' => depth = depth.saturating_sub(1),
            ',' if depth == 0 => {
                out.push(&s[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(&s[start..]);
    out
}

/// Most points one sweep solves (each is a whole allocation).
pub const MAX_POINTS: usize = 10_000;

/// The overrides of every point of the grid: the cartesian product of `settings`, the
/// first setting varying slowest. Empty `settings` give one point with no overrides.
pub(crate) fn points(settings: &[Setting]) -> Vec<Vec<Override>> {
    let mut out: Vec<Vec<Override>> = vec![Vec::new()];
    for s in settings {
        out = out
            .into_iter()
            .flat_map(|p| {
                s.values.iter().map(move |v| {
                    let mut p = p.clone();
                    p.push(Override {
                        key: s.key.clone(),
                        value: v.clone(),
                    });
                    p
                })
            })
            .collect();
    }
    out
}

/// True when an override can change assessments (so they must be computed again), false
/// when it only changes what the allocator sees.
pub(crate) fn changes_scores(key: &str) -> bool {
    let parts: Vec<&str> = key.split('.').collect();
    match parts.as_slice() {
        ["params" | "program", ..] => true,
        ["kit", _, "cost" | "trade"] => true,
        ["quota", _, "when"] => true,
        ["budget" | "funder" | "objective" | "solver", ..] => false,
        ["kit", _, "stock"] => false,
        ["quota", ..] => false,
        // Anything else: be safe and score again.
        _ => true,
    }
}

use crate::report::html::FrontierPoint;

/// The outcome at one point of a sweep: the sweep CSV's columns. In JSON the swept
/// settings are an object `{"key": value}` in the sweep's key order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SweepRow {
    /// The swept settings of this point, `(key, value)`, in the sweep's key order.
    #[serde(with = "settings_map")]
    pub settings: Vec<(String, SetValue)>,
    /// The point's `budget.total`, where it has one.
    pub budget_total: Option<Mad>,
    /// The funders' amounts added up (the money there is when `budget.total` is unset).
    #[serde(default, skip_serializing)]
    pub funders_total: Mad,
    /// Applicants read.
    pub applicants: u64,
    /// Eligible applicants.
    pub eligible: u64,
    /// Applicants served (0 for an infeasible point).
    pub served: u64,
    /// Money allocated, MAD.
    pub spent: Mad,
    /// Value of the allocation in the scenario's objective.
    pub objective: f64,
    /// Proven upper bound on the objective.
    pub bound: f64,
    /// Relative gap between objective and bound.
    pub gap: f64,
    /// True when the solver proved no better allocation exists.
    pub proven_optimal: bool,
    /// True when the time limit stopped the search: the allocation is the best found, and
    /// may differ between runs (the only thing in a sweep that can).
    pub timed_out: bool,
    /// True when the search's work budget stopped it before it closed the gap: the best
    /// allocation found, the same on every run.
    pub work_limit_reached: bool,
    /// Women's share of those served; `None` when nobody is served.
    pub women_share: Option<f64>,
    /// Women served.
    pub women_served: u64,
    /// Served per city, every city of the scenario (zeros included).
    pub served_by_city: BTreeMap<String, u64>,
    /// Why the point has no allocation (an infeasible scenario); `None` when solved.
    pub infeasible: Option<String>,
    /// Why the point could not run at all (a value the scenario refuses, rules that fail
    /// at that point); `None` when it ran.
    #[serde(default)]
    pub error: Option<String>,
}

/// `(key, value)` pairs as a JSON object, in order.
mod settings_map {
    use serde::de::{MapAccess, Visitor};
    use serde::ser::SerializeMap;
    use serde::{Deserializer, Serializer};

    use crate::overrides::SetValue;

    pub fn serialize<S: Serializer>(v: &[(String, SetValue)], s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(v.len()))?;
        for (k, x) in v {
            m.serialize_entry(k, x)?;
        }
        m.end()
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Vec<(String, SetValue)>, D::Error> {
        struct Pairs;
        impl<'de> Visitor<'de> for Pairs {
            type Value = Vec<(String, SetValue)>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("an object of setting key to value")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut m: A) -> Result<Self::Value, A::Error> {
                let mut out = Vec::new();
                while let Some(e) = m.next_entry()? {
                    out.push(e);
                }
                Ok(out)
            }
        }
        d.deserialize_map(Pairs)
    }
}

impl SweepRow {
    /// The row as a frontier point; `None` for an infeasible point.
    pub(crate) fn frontier_point(&self) -> Option<FrontierPoint> {
        if self.infeasible.is_some() || self.error.is_some() {
            return None;
        }
        Some(FrontierPoint {
            budget: self.budget_total.unwrap_or(self.funders_total),
            served: self.served,
            objective: self.objective,
            bound: self.bound,
            spent: self.spent,
        })
    }
}

/// Every point of a sweep, in grid order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Sweep {
    /// Programme name of the base scenario.
    pub program: String,
    /// The swept keys, slowest-varying first.
    pub keys: Vec<String>,
    /// The scenario's cities (the keys of every row's `served_by_city`).
    pub cities: Vec<String>,
    /// One row per point.
    pub rows: Vec<SweepRow>,
    /// How many times the applicants were scored (distinct score-changing settings).
    pub scorings: usize,
    /// How many allocations were solved (points that are the same programme share one).
    pub solves: usize,
    /// What produced the sweep: version, inputs with their hashes, the base overrides and
    /// solver settings (`search` is `sweep`: each row says how its search ended).
    pub manifest: crate::report::allocation::Manifest,
}

impl Sweep {
    /// The feasible points as a frontier, in grid order.
    pub(crate) fn frontier(&self) -> Vec<FrontierPoint> {
        self.rows
            .iter()
            .filter_map(SweepRow::frontier_point)
            .collect()
    }
}

/// Solves `base` at every point of the grid of `settings` (the first setting varying
/// slowest). `on_solve(total)` is called each time one of the `total` allocations is solved
/// or given up (its points' rules failed), from any thread, for progress; points that are
/// the same programme share one solve (see [`Sweep::solves`]).
///
/// Every point's scenario is checked before anything is solved, so a bad key or value is an
/// [`Error::Input`] naming it; so is bad applicant data. An infeasible point, or one whose
/// rules fail, is a row with its message.
pub(crate) fn sweep(
    base_scenario: &Scenario,
    settings: &[Setting],
    on_solve: &(dyn Fn(usize) + Sync),
) -> Result<Sweep> {
    let mut seen: Vec<&str> = Vec::new();
    for s in settings {
        if seen.contains(&s.key.as_str()) {
            return Err(Error::from(
                Problem::error("--set", format!("`{}` is set more than once", s.key))
                    .key(s.key.clone()),
            ));
        }
        if s.values.is_empty() {
            return Err(Error::from(
                Problem::error("--set", format!("`{}` has no values", s.key)).key(s.key.clone()),
            ));
        }
        seen.push(&s.key);
    }
    let count = settings
        .iter()
        .try_fold(1usize, |n, s| n.checked_mul(s.values.len()))
        .filter(|&n| n <= MAX_POINTS);
    if count.is_none() {
        return Err(Error::from(Problem::error(
            "--set",
            format!(
                "the settings make more than {MAX_POINTS} points (the product of their value \
                 counts); sweep fewer values at once"
            ),
        )));
    }
    let grid = points(settings);

    // A key that names nothing stops the sweep; a value a point cannot take is that
    // point's row, with its message.
    base_scenario.check_keys(settings.iter().filter_map(|s| {
        s.values.first().map(|v| Override {
            key: s.key.clone(),
            value: v.clone(),
        })
    }))?;
    let scenarios: Vec<std::result::Result<Scenario, String>> = grid
        .iter()
        .map(|p| base_scenario.with_overrides(p).map_err(|e| e.to_string()))
        .collect();

    // Group the points by the overrides that change scores; score each group once.
    let mut groups: Vec<Vec<(String, String)>> = Vec::new();
    let mut group_of = Vec::with_capacity(grid.len());
    for p in &grid {
        let key: Vec<(String, String)> = p
            .iter()
            .filter(|o| changes_scores(&o.key))
            .map(|o| (o.key.clone(), o.value.text()))
            .collect();
        let g = match groups.iter().position(|k| *k == key) {
            Some(g) => g,
            None => {
                groups.push(key);
                groups.len() - 1
            }
        };
        group_of.push(g);
    }
    // Each group is scored at its first point that loads.
    let firsts: Vec<Option<usize>> = (0..groups.len())
        .map(|g| (0..grid.len()).find(|&i| group_of[i] == g && scenarios[i].is_ok()))
        .collect();
    // The applicants are read once for every group (overrides never change them).
    // Bad applicant data is no point's doing: it stops the sweep, naming file and line.
    let records = if firsts.iter().any(Option::is_some) {
        crate::pipeline::read_records(base_scenario)?
    } else {
        Vec::new()
    };

    // Points whose scenarios are the same programme are solved once: same scores and same
    // overrides, except a `budget.total` at or above the funders' total, which allows no
    // more spending than the funders do (every MAD comes from a funder).
    let mut solves: Vec<usize> = Vec::new();
    let mut solve_keys: Vec<SolveKey> = Vec::new();
    let mut solve_of = vec![None; grid.len()];
    for (i, p) in grid.iter().enumerate() {
        let Ok(sc) = &scenarios[i] else {
            continue;
        };
        let money = sc.budget_total.unwrap_or(Mad::MAX).min(sc.funders_total());
        let others: Vec<(String, String)> = p
            .iter()
            .filter(|o| o.key != "budget.total")
            .map(|o| (o.key.clone(), o.value.text()))
            .collect();
        let key = (group_of[i], others, money);
        let k = match solve_keys.iter().position(|k| *k == key) {
            Some(k) => k,
            None => {
                solve_keys.push(key);
                solves.push(i);
                solves.len() - 1
            }
        };
        solve_of[i] = Some(k);
    }

    // Each group is scored and its programmes solved before its assessments are dropped,
    // so only the groups being worked on hold assessments (less memory, and what a group
    // frees is reused by the next instead of asking the system for more).
    let worked: Vec<Worked> = firsts
        .par_iter()
        .enumerate()
        .map(|(g, first)| {
            let assessed = match first {
                None => Err(String::new()),
                Some(i) => scenarios[*i].as_ref().map_err(Clone::clone).and_then(|s| {
                    Engine::from_scenario(s.clone())
                        .and_then(|e| e.assess_records_strict(records.par_iter(), Detail::Bare))
                        .map_err(|e| e.to_string())
                }),
            };
            let Ok(assessments) = assessed else {
                // Its allocations cannot be solved: counted as done, so progress ends whole.
                for _ in solves.iter().filter(|&&i| group_of[i] == g) {
                    on_solve(solves.len());
                }
                return (assessed.map(|_| Counts::default()), Vec::new());
            };
            let counts = Counts {
                applicants: assessments.len() as u64,
                eligible: assessments.iter().filter(|a| a.eligible()).count() as u64,
            };
            let solved = solves
                .par_iter()
                .filter(|&&i| group_of[i] == g)
                .map(|&i| {
                    let Ok(sc) = &scenarios[i] else {
                        unreachable!("only points that load are solved")
                    };
                    let s = solve_point(sc, &assessments);
                    on_solve(solves.len());
                    s
                })
                .collect();
            (Ok(counts), solved)
        })
        .collect();
    let scorings = firsts.iter().flatten().count();

    // The solves in their order (each group's are in order; the first failure stops the
    // sweep).
    let mut solved: Vec<Option<Solved>> = Vec::with_capacity(solves.len());
    solved.resize_with(solves.len(), || None);
    let mut of_group: Vec<std::vec::IntoIter<Result<Solved>>> = Vec::new();
    let mut counts = Vec::with_capacity(worked.len());
    for (c, s) in worked {
        counts.push(c);
        of_group.push(s.into_iter());
    }
    for (k, &i) in solves.iter().enumerate() {
        if let Some(s) = of_group[group_of[i]].next() {
            solved[k] = Some(s?);
        }
    }
    let rows: Vec<SweepRow> = grid
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let solve = solve_of[i].and_then(|k| solved[k].as_ref());
            match (&scenarios[i], &counts[group_of[i]], solve) {
                (Ok(sc), Ok(c), Some(s)) => row(p, sc, c, s),
                (Err(m), ..) | (Ok(_), Err(m), _) => error_row(p, base_scenario, m),
                (Ok(sc), Ok(_), None) => error_row(p, sc, "not solved"),
            }
        })
        .collect();

    let program = base_scenario.program.name.clone();
    let cities = base_scenario.market.cities.clone();
    Ok(Sweep {
        program,
        keys: settings.iter().map(|s| s.key.clone()).collect(),
        cities,
        rows,
        scorings,
        solves: solved.iter().flatten().count(),
        manifest: crate::report::allocation::manifest(base_scenario, "sweep", None),
    })
}

/// The row of a point that cannot run: its settings and the message.
fn error_row(point: &[Override], scenario: &Scenario, message: &str) -> SweepRow {
    let mut r = row(
        point,
        scenario,
        &Counts::default(),
        &Solved {
            outcome: Err(String::new()),
        },
    );
    r.infeasible = None;
    r.applicants = 0;
    r.eligible = 0;
    r.error = Some(message.to_string());
    r
}

/// Rounds to 9 significant digits (and noise below 1e-9 to 0) so solver noise never
/// changes the output.
fn tidy(v: f64) -> f64 {
    if v.abs() < 1e-9 || !v.is_finite() {
        return 0.0;
    }
    let mag = 10f64.powi(8 - v.abs().log10().floor() as i32);
    (v * mag).round() / mag
}

/// What makes two points the same programme: scoring group, other overrides, money.
type SolveKey = (usize, Vec<(String, String)>, Mad);

/// A scoring group's counts (or why it could not be scored) and its solves, in order.
type Worked = (std::result::Result<Counts, String>, Vec<Result<Solved>>);

/// What a scoring group's rows say of its applicants.
#[derive(Default)]
struct Counts {
    applicants: u64,
    eligible: u64,
}

/// What one solve gives the rows that share it.
struct Solved {
    /// The allocation's figures, or the infeasibility message.
    outcome: std::result::Result<Figures, String>,
}

struct Figures {
    served: u64,
    spent: Mad,
    objective: f64,
    bound: f64,
    gap: f64,
    proven_optimal: bool,
    timed_out: bool,
    work_limited: bool,
    women_served: u64,
    served_by_city: BTreeMap<String, u64>,
}

fn solve_point(scenario: &Scenario, assessments: &[Assessment]) -> Result<Solved> {
    let alloc = match solve(scenario, assessments, &|_| {}) {
        Ok(a) => a,
        Err(Error::Infeasible { message, .. }) => {
            return Ok(Solved {
                outcome: Err(message),
            })
        }
        Err(e) => return Err(e),
    };
    let mut f = Figures {
        served: alloc.served as u64,
        spent: alloc.spent,
        objective: tidy(alloc.objective),
        bound: tidy(alloc.bound),
        gap: tidy(alloc.gap),
        proven_optimal: alloc.proven_optimal,
        timed_out: alloc.timed_out,
        work_limited: alloc.work_limited,
        women_served: 0,
        served_by_city: BTreeMap::new(),
    };
    for (a, c) in assessments.iter().zip(&alloc.choices) {
        if c.is_some() {
            *f.served_by_city.entry(a.city.clone()).or_default() += 1;
            f.women_served += u64::from(a.gender == Gender::F);
        }
    }
    Ok(Solved { outcome: Ok(f) })
}

fn row(point: &[Override], scenario: &Scenario, counts: &Counts, solved: &Solved) -> SweepRow {
    let mut row = SweepRow {
        settings: point
            .iter()
            .map(|o| (o.key.clone(), o.value.clone()))
            .collect(),
        budget_total: scenario.budget_total,
        funders_total: scenario.funders_total(),
        applicants: counts.applicants,
        eligible: counts.eligible,
        served: 0,
        spent: 0,
        objective: 0.0,
        bound: 0.0,
        gap: 0.0,
        proven_optimal: false,
        timed_out: false,
        work_limit_reached: false,
        women_share: None,
        women_served: 0,
        served_by_city: scenario
            .market
            .cities
            .iter()
            .map(|c| (c.clone(), 0))
            .collect(),
        infeasible: None,
        error: None,
    };
    let f = match &solved.outcome {
        Ok(f) => f,
        Err(m) => {
            row.infeasible = Some(m.clone());
            return row;
        }
    };
    for (c, n) in &f.served_by_city {
        row.served_by_city.insert(c.clone(), *n);
    }
    row.served = f.served;
    row.spent = f.spent;
    row.objective = f.objective;
    row.bound = f.bound;
    row.gap = f.gap;
    row.proven_optimal = f.proven_optimal;
    row.timed_out = f.timed_out;
    row.work_limit_reached = f.work_limited;
    row.women_served = f.women_served;
    row.women_share = (f.served > 0).then(|| tidy(f.women_served as f64 / f.served as f64));
    row
}

/// Columns of the sweep CSV after the swept keys; then `served.CITY` per city, then
/// `error`.
pub const SWEEP_COLUMNS: [&str; 14] = [
    "budget_total",
    "applicants",
    "eligible",
    "served",
    "spent",
    "objective",
    "bound",
    "gap",
    "proven_optimal",
    "timed_out",
    "work_limit_reached",
    "women_served",
    "women_share",
    "infeasible",
];

impl Sweep {
    /// The CSV header: the swept keys, the fixed columns (budget_total ... infeasible), then `served.CITY` per city.
    pub fn csv_header(&self) -> Vec<String> {
        self.keys
            .iter()
            .cloned()
            .chain(SWEEP_COLUMNS.iter().map(|s| s.to_string()))
            .chain(self.cities.iter().map(|c| format!("served.{c}")))
            .chain(std::iter::once("error".to_string()))
            .collect()
    }

    /// The CSV cells of each row, matching [`csv_header`](Self::csv_header).
    pub fn csv_rows(&self) -> Vec<Vec<String>> {
        self.rows
            .iter()
            .map(|r| {
                let mut cells: Vec<String> = r
                    .settings
                    .iter()
                    .map(|(_, v)| crate::dialect::cell(&v.text()).into_owned())
                    .collect();
                cells.extend([
                    r.budget_total.map_or(String::new(), |b| b.to_string()),
                    r.applicants.to_string(),
                    r.eligible.to_string(),
                    r.served.to_string(),
                    r.spent.to_string(),
                    r.objective.to_string(),
                    r.bound.to_string(),
                    r.gap.to_string(),
                    r.proven_optimal.to_string(),
                    r.timed_out.to_string(),
                    r.work_limit_reached.to_string(),
                    r.women_served.to_string(),
                    r.women_share.map_or(String::new(), |s| s.to_string()),
                    crate::dialect::cell(r.infeasible.as_deref().unwrap_or("")).into_owned(),
                ]);
                cells.extend(
                    self.cities
                        .iter()
                        .map(|c| r.served_by_city.get(c).copied().unwrap_or(0).to_string()),
                );
                cells.push(crate::dialect::cell(r.error.as_deref().unwrap_or("")).into_owned());
                cells
            })
            .collect()
    }

    /// The sweep as JSON: `program`, `keys`, `cities` and `points` (each with its
    /// `settings` as an object, the totals, `served_by_city`, and `infeasible`), keys in
    /// alphabetical order.
    pub fn to_json(&self) -> serde_json::Value {
        use serde_json::json;
        json!({
            "program": self.program,
            "keys": self.keys,
            "cities": self.cities,
            "points": serde_json::to_value(&self.rows).unwrap_or_default(),
            "manifest": self.manifest,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn budget_ranges_include_both_ends() {
        let s = Setting::budget_range("3000000..6000000:13").unwrap();
        assert_eq!(s.key, "budget.total");
        assert_eq!(s.values.len(), 13);
        assert_eq!(s.values[0], SetValue::Int(3_000_000));
        assert_eq!(s.values[1], SetValue::Int(3_250_000));
        assert_eq!(s.values[12], SetValue::Int(6_000_000));
        let s = Setting::budget_range("0..10:4").unwrap();
        let v: Vec<i64> = s.values.iter().map(|v| v.as_int().unwrap()).collect();
        assert_eq!(v, [0, 3, 7, 10]);
    }

    #[test]
    fn bad_ranges_name_the_argument() {
        for spec in ["3000000-6000000:13", "3000000..6000000", "a..6:3", "1..6:x"] {
            let e = Setting::budget_range(spec).unwrap_err().to_string();
            assert!(e.contains("--budget") && e.contains(spec), "{e}");
        }
        let e = Setting::budget_range("1..6:1").unwrap_err().to_string();
        assert!(e.contains("STEPS must be at least 2"), "{e}");
        let e = Setting::budget_range("6..1:3").unwrap_err().to_string();
        assert!(e.contains("A must be less than B"), "{e}");
    }

    #[test]
    fn settings_parse_values_in_order() {
        let s = Setting::parse("quota.women.min_share=0,0.2, 0.3").unwrap();
        assert_eq!(s.key, "quota.women.min_share");
        assert_eq!(
            s.values,
            [SetValue::Int(0), SetValue::Float(0.2), SetValue::Float(0.3)]
        );
        for spec in ["params.x=", "params.x", "=1,2", "params.x=1,,2"] {
            let e = Setting::parse(spec).unwrap_err().to_string();
            assert!(e.contains("--set"), "{e}");
        }
    }

    #[test]
    fn points_are_the_product_first_setting_slowest() {
        let a = Setting::parse("params.a=1,2").unwrap();
        let b = Setting::parse("params.b=x,y,z").unwrap();
        let p = points(&[a, b]);
        let text: Vec<String> = p
            .iter()
            .map(|p| p.iter().map(|o| o.value.text()).collect::<String>())
            .collect();
        assert_eq!(text, ["1x", "1y", "1z", "2x", "2y", "2z"]);
    }

    #[test]
    fn only_scoring_keys_rescore() {
        assert!(changes_scores("params.min_training_hours"));
        assert!(changes_scores("program.date"));
        assert!(changes_scores("kit.plumbing.cost"));
        assert!(changes_scores("quota.women.when"));
        assert!(!changes_scores("budget.total"));
        assert!(!changes_scores("budget.cities.Tangier"));
        assert!(!changes_scores("quota.women.min_share"));
        assert!(!changes_scores("funder.anapec.amount"));
        assert!(!changes_scores("kit.plumbing.stock"));
        assert!(!changes_scores("objective.maximize"));
        assert!(!changes_scores("solver.time_limit"));
    }
}
