//! Better prices for a relaxation that keeps some rows exact and prices the others.
//!
//! For prices `μ ≥ 0` on the priced rows, `L(μ) = μ·b + max over allocations meeting the
//! exact rows of (value − μ·usage)` bounds every allocation (weak duality), and `L` is convex
//! and piecewise linear in each price. Starting from the LP's prices (which are optimal for
//! the LP, not for a relaxation with exact rows), each priced row's price is moved in turn by
//! bisection on the sign of the row's slack at the best allocation: raised while the row is
//! broken, lowered while it has room at a positive price, keeping the lowest bound seen. A
//! few rounds over the rows, a fixed number of steps each: the same bound on every run, and a
//! valid one wherever the search stops.
//!
//! Every allocation evaluated on the way meets the exact rows and, near the best prices, often
//! every other row too (a Lagrangian heuristic): those are offered as incumbents.

use std::time::Instant;

use super::lp::Allowed;
use super::model::Model;
use super::search::State;

/// Rounds of improving the prices row by row.
const ROUNDS: usize = 3;
/// Bisection steps per row and round.
const STEPS: usize = 12;
/// Most evaluations of the relaxation in one descent (each can be a whole knapsack).
pub(crate) const MAX_EVALUATIONS: usize = 64;

/// When a descent stops and where its allocations go.
pub(crate) struct Watch<'a> {
    /// The hard stop: the descent gives up (`None`).
    pub deadline: Instant,
    /// Told every allocation met on the way that holds every row.
    pub offer: &'a mut dyn FnMut(&State),
    /// True when a bound is low enough (the incumbent is within the gap of it): the descent
    /// ends there.
    pub enough: &'a dyn Fn(f64) -> bool,
    /// Most evaluations of the relaxation ([`MAX_EVALUATIONS`], or a multiple of it where
    /// evaluations are cheap).
    pub evaluations: usize,
    /// Most table cells and merge steps a knapsack descent may spend in all (see
    /// [`DESCENT_CELLS`]).
    pub cells: usize,
}

/// Most table cells and merge steps one descent of the knapsack's prices may spend in all.
pub(crate) const DESCENT_CELLS: usize = 3_000_000_000;

/// The rows some open candidate of `allowed` uses (free, or served with a choice of option): those whose price can matter.
pub(crate) fn used_rows(m: &Model, allowed: &[Allowed]) -> Vec<bool> {
    let mut used = vec![false; m.nrows()];
    for (c, a) in allowed.iter().enumerate() {
        if a.is_open() {
            for o in &m.cands[c].opts {
                for k in o.start..o.end {
                    used[m.row_of[k] as usize] = true;
                }
            }
        }
    }
    used
}

/// A relaxation evaluated at some prices: its bound and the allocation reaching it (with its
/// exact usage of every row).
pub(crate) struct Point {
    pub bound: f64,
    pub state: State,
}

/// Where a descent ended: the lowest bound it saw and the prices giving it.
pub(crate) struct Descent {
    pub best: Point,
    pub prices: Vec<f64>,
}

/// Improves the prices of the rows marked in `moved`, from `lambda` (up to `cap`), where the
/// relaxation gave `start`, with `evaluate` giving its bound and allocation at other prices,
/// watched by `watch`. Any prices give a valid bound, so a descent cut short (by the deadline
/// or its evaluations) returns the best so far, with its prices.
pub(crate) fn descend(
    m: &Model,
    moved: &[bool],
    lambda: &[f64],
    cap: f64,
    watch: &mut Watch,
    start: Point,
    mut evaluate: impl FnMut(&[f64]) -> Option<Point>,
) -> Descent {
    if start.state.feasible(m) {
        (watch.offer)(&start.state);
    }
    let mut mu = lambda.to_vec();
    // `start` counts as the first evaluation.
    let mut evaluations = 1;
    let mut at = |mu: &[f64]| {
        evaluations += 1;
        if evaluations > watch.evaluations {
            return None;
        }
        let p = evaluate(mu)?;
        if p.state.feasible(m) {
            (watch.offer)(&p.state);
        }
        Some(p)
    };
    let mut best = start;
    let mut best_mu = mu.clone();
    let slack = |p: &Point, r: usize| i128::from(m.rows[r].b) - p.state.usage[r];
    'rounds: for _round in 0..ROUNDS {
        let before = best.bound;
        for r in (0..m.nrows()).filter(|&r| moved[r]) {
            if (watch.enough)(best.bound) || Instant::now() >= watch.deadline {
                break 'rounds;
            }
            let start = mu[r];
            let (mut lo, mut hi) = if slack(&best, r) < 0 {
                (start, (start * 2.0).max(1e-6).min(cap))
            } else if start > 0.0 {
                (0.0, start)
            } else {
                continue;
            };
            if slack(&best, r) < 0 {
                // Raise the price until the row holds (or the price reaches the cap).
                loop {
                    mu[r] = hi;
                    let Some(p) = at(&mu) else {
                        break 'rounds;
                    };
                    if slack(&p, r) >= 0 || hi >= cap {
                        break;
                    }
                    lo = hi;
                    hi = (hi * 2.0).min(cap);
                }
            }
            // The lowest bound seen is kept as it is found (`best`), with its price.
            let mut price_of_best = start;
            for step in 0..=STEPS + 1 {
                let price = match step {
                    s if s < STEPS => 0.5 * (lo + hi),
                    s if s == STEPS => lo,
                    _ => hi,
                };
                mu[r] = price;
                let Some(p) = at(&mu) else {
                    break 'rounds;
                };
                let holds = slack(&p, r) >= 0;
                if p.bound < best.bound {
                    best = p;
                    price_of_best = price;
                    best_mu.clone_from(&mu);
                }
                if step < STEPS {
                    if holds {
                        hi = price;
                    } else {
                        lo = price;
                    }
                }
            }
            mu[r] = price_of_best;
        }
        if best.bound >= before - 1e-9 * before.abs().max(1.0) {
            break;
        }
    }
    Descent {
        best,
        prices: best_mu,
    }
}
