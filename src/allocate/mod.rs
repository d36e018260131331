//! Allocation of kits and cash under every budget (the design is in `docs/allocation.md`).
//!
//! The model is a multiple-choice knapsack: a binary per (eligible applicant, offer), at most
//! one offer each, and a few dozen coupling rows (total budget, city caps, funder cuts, kit
//! stock, quotas). A general MIP solver does not exploit that shape, so this module does:
//! the LP relaxation is solved through its ~50 prices (`lp`), an integer allocation is built
//! from the prices (round, repair, fill, swap) and improved and proven by a best-first
//! branch-and-bound over the applicants the prices leave in doubt (`search`), whose node LPs
//! start from the parent's prices over a handful of close calls. On small programmes a
//! knapsack over whole budget units (`knapsack`: total budget, city caps and one binding
//! funder row exact, the other rows priced) gives a bound tighter than the LP and often ends
//! the search at the root. The result is re-checked in exact integers (`verify`) before anyone
//! sees it, money is split to funders by an integral flow (`funding`), and every eligible
//! applicant left out gets a reason (`explain`).
//!
//! The bound reported is always valid: any prices `λ ≥ 0` bound every allocation (weak
//! duality), so even a search cut short by the time limit reports an honest gap.

pub(crate) mod committed;
mod explain;
mod funding;
mod knapsack;
mod lagrange;
mod lp;
mod model;
mod search;
mod share;
mod verify;

#[cfg(test)]
mod brute_force;
#[cfg(test)]
mod tests;

use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::assessment::{Assessment, Status};
use crate::decision::{Decision, Funding, WhyNot};
use crate::error::{Error, Result};
use crate::report::allocation::{summarize, Summary};
use crate::scenario::{Mad, Objective, Scenario};

use model::{Model, RowKind};

/// An allocation as every face shows it: one [`Decision`] per assessment (in input order)
/// and the programme's [`Summary`]. Its JSON is `{"summary": {...}, "decisions": [...]}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Allocation {
    /// What `summary.json` holds.
    pub summary: Summary,
    /// One decision per assessment, in input order.
    pub decisions: Vec<Decision>,
    /// How every budget, cap, funder, stock and quota came out.
    #[serde(skip)]
    pub constraints: Vec<ConstraintReport>,
    /// Wall-clock time of the solve (the only thing that differs between two runs).
    #[serde(skip)]
    pub elapsed: Duration,
}

impl Allocation {
    /// One decision per assessment, in input order.
    pub fn decisions(&self) -> &[Decision] {
        &self.decisions
    }

    /// The programme at a glance: what `summary.json` holds.
    pub fn summary(&self) -> &Summary {
        &self.summary
    }
}

/// The solver's outcome in input positions: who gets what, who pays, and how good it is.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Solution {
    /// Per input assessment (same index): index of the chosen offer, `None` if not served.
    pub choices: Vec<Option<usize>>,
    /// Per input assessment: `(funder id, MAD)` pairs paying it, in scenario funder order;
    /// they sum to the chosen offer's cost. Empty when not served.
    pub funding: Vec<Vec<(String, Mad)>>,
    /// Per input assessment: why an eligible applicant was left unfunded (no personal
    /// data); `None` for the served and the ineligible.
    pub why_not: Vec<Option<WhyNot>>,
    /// Value of the allocation in the scenario's objective: total score (`score`), number
    /// served (`served`), or total score among allocations serving the most people
    /// (`served_then_score`).
    pub objective: f64,
    /// Proven upper bound on `objective` (LP relaxation or better). For
    /// `served_then_score` it bounds the score among allocations serving at least
    /// [`served`](Self::served) people; that is the lexicographic bound when the first
    /// stage (most people served) was proven optimal.
    pub bound: f64,
    /// `(bound - objective) / max(|bound|, 1e-9)`.
    pub gap: f64,
    /// True when no allocation is better (bound equals objective).
    pub proven_optimal: bool,
    /// True when the time limit (the wall clock) stopped the search; the allocation is the
    /// best found, and another run may find another.
    pub timed_out: bool,
    /// True when the search's work budget stopped it before it closed the gap; the
    /// allocation is the best found, the same on every run. The budget is
    /// `solver.work_limit`, by default `solver.time_limit` × [`WORK_PER_SECOND`].
    pub work_limited: bool,
    /// Number of applicants served.
    pub served: usize,
    /// Money spent in all.
    pub spent: Mad,
    /// Every budget, city cap, funder, kit stock and quota bound, in that order.
    pub constraints: Vec<ConstraintReport>,
    /// Work units the search used (LP sizes and candidates in doubt at each node: counted,
    /// not timed, so the same on every run that the clock did not stop).
    pub work: u64,
    /// Wall-clock time of the allocation (the only field that differs between two runs).
    pub elapsed: Duration,
}

/// How one constraint came out.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConstraintReport {
    /// `budget.total`, `budget.cities.Fes`, `funder.wilaya-tth`, `kit.plumbing.stock`,
    /// `quota.women.min_share`, `quota.women.min_count`, ...
    pub name: String,
    /// The limit: MAD for budgets and funders, kits for stock, a share (0-1) or a count for
    /// quotas.
    pub limit: f64,
    /// What the allocation uses, in the same unit (for shares: the group's share of those
    /// served).
    pub used: f64,
    /// True when the constraint holds someone back: its LP price is positive, it is the
    /// reason given to an applicant left out, or it is met exactly.
    pub binding: bool,
    /// Change of the LP relaxation's optimum per unit increase of the limit (objective units
    /// per MAD, per kit, per person, or per unit of share), from the LP prices. `None` when
    /// there was no LP to solve.
    pub shadow_price: Option<f64>,
}

/// Search work per second of `solver.time_limit`. Work is counted, not timed: each LP's
/// constraints × variables, plus 13 per candidate in doubt at each branch-and-bound node.
/// The search stops at this budget rather than at the clock, so the same scenario gives the
/// same allocation on every run and machine. On the 2-core reference machine one second
/// does 7-17 million units (denser programmes are slower per unit), so the budget takes
/// 25-55% of the time limit, which stays the hard stop for slower machines.
pub const WORK_PER_SECOND: f64 = 4_000_000.0;

/// How a long search is going (see [`Engine::allocate_with_progress`](crate::Engine::allocate_with_progress)).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct SearchProgress {
    /// Share of the search's work budget used, 0 to 1 (`served_then_score`: its first half
    /// is the most-people stage, whose objective and bound count people).
    pub done: f64,
    /// Objective of the best allocation found so far.
    pub objective: f64,
    /// Proven bound on the objective so far.
    pub bound: f64,
}

/// Allocates offers to the eligible among `assessments` under every budget, stock and
/// quota of the scenario and describes the outcome: one decision per assessment and the
/// summary. `progress` hears now and then how a long search is going.
pub(crate) fn allocate(
    scenario: &Scenario,
    assessments: &[Assessment],
    progress: &dyn Fn(&SearchProgress),
) -> Result<Allocation> {
    let solution = solve(scenario, assessments, progress)?;
    match &scenario.committed {
        None => Ok(describe(scenario, assessments, solution)),
        Some(c) => {
            // The committed options, where the rules no longer offer them, as `solve` saw them.
            let mut full = assessments.to_vec();
            committed::prepare(scenario, &mut full, c)?;
            Ok(describe(scenario, &full, solution))
        }
    }
}

/// The decisions and summary of a solution.
pub(crate) fn describe(
    scenario: &Scenario,
    assessments: &[Assessment],
    solution: Solution,
) -> Allocation {
    let summary = summarize(scenario, assessments, &solution);
    let committed: std::collections::HashSet<&str> = scenario
        .committed
        .iter()
        .flat_map(|c| c.decisions.iter().map(|d| d.id.as_str()))
        .collect();
    let decisions = assessments
        .iter()
        .enumerate()
        .map(|(i, a)| {
            let offer = solution.choices[i].and_then(|o| a.offers.get(o));
            let funders = solution.funding[i]
                .iter()
                .map(|(f, m)| Funding {
                    funder: f.clone(),
                    amount: *m,
                })
                .collect();
            let mut d = Decision::new(a, offer, funders, solution.why_not[i].clone());
            d.committed = committed.contains(a.id.as_str());
            d
        })
        .collect();
    Allocation {
        summary,
        decisions,
        constraints: solution.constraints,
        elapsed: solution.elapsed,
    }
}

/// Allocates offers to eligible applicants under every budget, stock and quota of the
/// scenario, maximising its objective within `scenario.solver.gap` and the search limits.
///
/// Same inputs give the same allocation (apart from `elapsed`). Errors:
/// [`Error::Infeasible`] when no allocation meets the quotas (naming them and by how much),
/// [`Error::Internal`] when the result fails its exact re-check (a bug).
pub(crate) fn solve(
    scenario: &Scenario,
    assessments: &[Assessment],
    progress: &dyn Fn(&SearchProgress),
) -> Result<Solution> {
    let Some(c) = scenario.committed.clone() else {
        return solve_open(scenario, assessments, progress, None);
    };
    let mut full = assessments.to_vec();
    let prepared = committed::prepare(scenario, &mut full, &c)?;
    solve_open(
        &prepared.scenario,
        &prepared.open,
        progress,
        Some((scenario, &full, &prepared)),
    )
}

/// The committed part of a run: the scenario as written, the assessments with committed
/// offers, and the committed choices.
type Fixed<'a> = (&'a Scenario, &'a [Assessment], &'a committed::Prepared);

/// [`solve`] over the applicants still open; `fixed` adds a batch committed earlier, whose
/// choices join the solution before the whole programme is checked against the scenario
/// as written.
fn solve_open(
    scenario: &Scenario,
    assessments: &[Assessment],
    progress: &dyn Fn(&SearchProgress),
    fixed: Option<Fixed>,
) -> Result<Solution> {
    let start = Instant::now();
    let limit = scenario.solver.time_limit.max(0.0);
    // Leave a little time for funding, checks and explanations.
    let deadline = start + Duration::from_secs_f64((limit * 0.97 - 0.01).max(0.0));
    let mut m = model::build(scenario, assessments)?;
    explain::check_min_counts(scenario, assessments, &m, deadline)?;

    let work = scenario
        .solver
        .work_limit
        .unwrap_or(limit * WORK_PER_SECOND);
    let tell = |from: f64, share: f64| {
        move |done: f64, objective: f64, bound: f64| {
            progress(&SearchProgress {
                done: from + share * done,
                objective,
                bound,
            });
        }
    };
    let whole = tell(0.0, 1.0);
    let limits = search::Limits {
        deadline,
        work,
        progress: &whole,
        nested: false,
        descent: lagrange::MAX_EVALUATIONS,
        descent_cells: lagrange::DESCENT_CELLS,
        polish: true,
    };
    let work_start = lp::work_done();
    let (outcome, first_stage_limited) = match scenario.objective {
        Objective::Score | Objective::Served => (
            search::solve(&m, scenario.solver.gap, &limits, None),
            (false, false),
        ),
        Objective::ServedThenScore => {
            let scores = m.value.clone();
            m.set_values(vec![1.0; m.cands.len()]);
            let half = start + (deadline - start) / 2;
            let first_half = tell(0.0, 0.5);
            let first_limits = search::Limits {
                deadline: half,
                work: work / 2.0,
                progress: &first_half,
                nested: false,
                descent: lagrange::MAX_EVALUATIONS,
                descent_cells: lagrange::DESCENT_CELLS,
                polish: true,
            };
            let first = search::solve(&m, 0.0, &first_limits, None);
            let Some(best) = first.best else {
                return Err(no_allocation(
                    &m,
                    first.timed_out || first.work_limited,
                    limit,
                ));
            };
            let most = best.choice.iter().filter(|c| c.is_some()).count() as i64;
            if most > 0 {
                m.add_served_row(most);
            }
            m.set_values(scores);
            let second_half = tell(0.5, 0.5);
            let second_limits = search::Limits {
                deadline,
                work: work / 2.0,
                progress: &second_half,
                nested: false,
                descent: lagrange::MAX_EVALUATIONS,
                descent_cells: lagrange::DESCENT_CELLS,
                polish: true,
            };
            let second = search::solve(&m, scenario.solver.gap, &second_limits, Some(best.choice));
            let unproven = first.bound > most as f64;
            (
                second,
                (
                    first.timed_out,
                    first.work_limited || (unproven && !first.timed_out),
                ),
            )
        }
    };
    let Some(mut best) = outcome.best.clone() else {
        return Err(no_allocation(
            &m,
            outcome.timed_out || outcome.work_limited,
            limit,
        ));
    };
    let mut by_id: Vec<usize> = (0..m.cands.len()).collect();
    by_id.sort_by(|&a, &b| {
        assessments[m.cands[a].input]
            .id
            .cmp(&assessments[m.cands[b].input].id)
    });
    best.cheapen(&m, &by_id);
    let best = &best;

    // Choices in input order; the served in id order for the funding split.
    let mut choices = vec![None; assessments.len()];
    let mut served_list: Vec<(usize, usize)> = Vec::new();
    for (c, o) in best.choice.iter().enumerate() {
        if let Some(o) = o {
            let cand = &m.cands[c];
            choices[cand.input] = Some(cand.opts[*o].offer);
            served_list.push((cand.input, cand.opts[*o].offer));
        }
    }
    let paid = funding::fund(scenario, assessments, &served_list)?;
    let mut parts: Vec<Vec<funding::Part>> = vec![Vec::new(); assessments.len()];
    for ((i, _), p) in served_list.iter().zip(paid) {
        parts[*i] = p;
    }
    let mut why_not = explain::why_not(scenario, assessments, &m, best, &outcome.lambda);
    // A committed batch joins here; from now on the programme is the whole one.
    let mut fixed_value = 0.0;
    let (scenario, assessments) = match fixed {
        None => (scenario, assessments),
        Some((whole, full, p)) => {
            for (i, o, ps) in &p.fixed {
                choices[*i] = Some(*o);
                parts[*i] = ps.clone();
                served_list.push((*i, *o));
                fixed_value += match whole.objective {
                    Objective::Served => 1.0,
                    _ => full[*i].score,
                };
            }
            for &i in &p.committed {
                why_not[i] = None;
            }
            (whole, full)
        }
    };
    verify::check(scenario, assessments, &choices, &parts)?;
    let funding: Vec<Vec<(String, Mad)>> =
        parts.iter().map(|p| funding::merge(scenario, p)).collect();

    let served = served_list.len();
    let spent: Mad = served_list
        .iter()
        .map(|&(i, o)| assessments[i].offers[o].cost())
        .sum();
    let objective = match scenario.objective {
        Objective::Served => served as f64,
        _ => served_list.iter().map(|&(i, _)| assessments[i].score).sum(),
    };
    let bound = (outcome.bound + fixed_value).max(objective);
    let gap = (bound - objective) / bound.abs().max(1e-9);
    let constraints = explain::reports(
        scenario,
        assessments,
        &m,
        &choices,
        &funding,
        &why_not,
        &outcome.lambda,
    );
    let timed_out = outcome.timed_out || first_stage_limited.0;
    let work_limited = !timed_out && (outcome.work_limited || first_stage_limited.1);
    Ok(Solution {
        choices,
        funding,
        why_not,
        objective,
        bound,
        gap,
        proven_optimal: !timed_out && !work_limited && gap <= 1e-9,
        timed_out,
        work_limited,
        served,
        spent,
        constraints,
        work: lp::work_done() - work_start,
        elapsed: start.elapsed(),
    })
}

impl Solution {
    /// How the search ended, in words: `proven optimal`, `within gap`, `search budget
    /// reached` or `time limit reached`.
    pub(crate) fn search_ended(&self) -> &'static str {
        if self.proven_optimal {
            "proven optimal"
        } else if self.timed_out {
            "time limit reached"
        } else if self.work_limited {
            "search budget reached"
        } else {
            "within gap"
        }
    }
}

/// The error when the search ends without any allocation meeting every row (`stopped`: the
/// search stopped at its work budget or time limit first).
fn no_allocation(m: &Model, stopped: bool, limit: f64) -> Error {
    let constraints: Vec<String> = m
        .rows
        .iter()
        .filter(|r| r.b < 0 && matches!(r.kind, RowKind::Quota(..)))
        .map(|r| r.name.clone())
        .collect();
    let quotas = if constraints.is_empty() {
        "the quotas".to_string()
    } else {
        constraints.join(" and ")
    };
    let message = if stopped {
        format!(
            "no allocation meeting {quotas} was found within the search limit (solver.time_limit = {limit} s)"
        )
    } else {
        format!("no allocation meets {quotas} together with the budgets, stock and other quotas")
    };
    Error::Infeasible {
        constraints,
        shortfall: None,
        message,
    }
}

/// True when `a` is eligible (used by explanations).
fn is_eligible(a: &Assessment) -> bool {
    a.status == Status::Eligible
}
