//! Better prices for a relaxation that keeps some rows exact and prices the others.
//!
//! For prices `μ ≥ 0` on the priced rows, `L(μ) = μ·b + max over allocations meeting the
//! exact rows of (value − μ·usage)` bounds every allocation (weak duality), and `L` is convex
//! and piecewise linear in each price. Starting from the LP's prices (which are optimal for
//! the LP, not for a relaxation with exact rows), each priced row's price is moved in turn to
//! where the bound is lowest along it. The slope of `L` in a row's price, at the allocation
//! reached, is the row's slack: first a bracket (the price doubled until the row holds, or a
//! zero price tried when the row has room at a positive price), then cutting planes in one
//! dimension: the tangents at the bracket's ends meet below `L`, at a price where another
//! piece begins or where the lowest point is; the bracket shrinks to it, and the row is done
//! when `L` there is the tangents' meeting value. Bisection on the slack's sign took twelve
//! evaluations a row where this takes about four. A row searched since any other price last
//! moved is skipped. A few rounds over the rows, a bounded number of steps each: the same
//! bound on every run, and a valid one wherever the search stops.
//!
//! Every allocation evaluated on the way meets the exact rows and, near the best prices, often
//! every other row too (a Lagrangian heuristic): those are offered as incumbents.

use std::time::Instant;

use super::lp::Allowed;
use super::model::Model;
use super::search::State;

/// Rounds of improving the prices row by row.
const ROUNDS: usize = 3;
/// Most cutting-plane steps per row and round (most rows take three or four).
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

/// The price of one row giving the lowest bound so far.
struct RowBest {
    price: f64,
    improved: bool,
}

impl RowBest {
    /// Keeps `p` as the best point when its bound is the lowest yet (at `mu`, whose row `r`
    /// is the price being moved).
    fn offer(&mut self, p: Point, mu: &[f64], r: usize, best: &mut Point, best_mu: &mut Vec<f64>) {
        if p.bound < best.bound {
            *best = p;
            best_mu.clear();
            best_mu.extend_from_slice(mu);
            self.price = mu[r];
            self.improved = true;
        }
    }
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
    // The slope of the bound in row r's price at p's allocation: what the row has left, in
    // the solver's scale.
    let slope = |p: &Point, r: usize| slack(p, r) as f64 / m.rows[r].scale;
    // Rows whose price may lower the bound: all at first, and all but the one moved after
    // each move.
    let mut stale = vec![true; m.nrows()];
    'rounds: for _round in 0..ROUNDS {
        let before = best.bound;
        for r in (0..m.nrows()).filter(|&r| moved[r]) {
            if (watch.enough)(best.bound) || Instant::now() >= watch.deadline {
                break 'rounds;
            }
            // A row searched since the last move of any other price has nothing to give.
            if !stale[r] {
                continue;
            }
            stale[r] = false;
            let start = mu[r];
            let mut row_best = RowBest {
                price: start,
                improved: false,
            };
            // The bracket's ends as (price, bound, slope): the slope is negative at `lo` (the
            // row breaks) and not at `hi`.
            let (mut lo, mut hi);
            if slack(&best, r) < 0 {
                lo = (start, best.bound, slope(&best, r));
                // From no price at all: where the allocation's own line reaches zero, past
                // which leaving its excess out is worth more (doubling from a speck took
                // dozens of evaluations to get anywhere).
                let mut price = if start > 0.0 {
                    start * 2.0
                } else {
                    (best.bound.abs() / -lo.2).max(1e-6)
                }
                .min(cap);
                // Raise the price until the row holds (or the price reaches the cap).
                hi = loop {
                    mu[r] = price;
                    let Some(p) = at(&mu) else {
                        break 'rounds;
                    };
                    let end = (price, p.bound, slope(&p, r));
                    row_best.offer(p, &mu, r, &mut best, &mut best_mu);
                    if end.2 >= 0.0 || price >= cap {
                        break end;
                    }
                    lo = end;
                    price = (price * 2.0).min(cap);
                };
                if hi.2 < 0.0 {
                    // Still broken at the cap: the bound falls all the way.
                    mu[r] = row_best.price;
                    continue;
                }
            } else if start > 0.0 && slack(&best, r) > 0 {
                hi = (start, best.bound, slope(&best, r));
                mu[r] = 0.0;
                let Some(p) = at(&mu) else {
                    break 'rounds;
                };
                lo = (0.0, p.bound, slope(&p, r));
                row_best.offer(p, &mu, r, &mut best, &mut best_mu);
                if lo.2 >= 0.0 {
                    // The bound rises from a zero price on.
                    mu[r] = row_best.price;
                    continue;
                }
            } else {
                // A zero price and room in the row, or no room and none to spare: either way
                // no price of this row alone gives a lower bound.
                continue;
            }
            // The bound is convex and piecewise linear in the price: the tangents at the
            // bracket's ends meet below it, at a price where a new piece begins or where the
            // lowest point is (Kelley's cutting planes in one dimension). The bound there
            // equal to the tangents' is the bracket's lowest.
            for _ in 0..STEPS {
                let (a, b) = (lo, hi);
                let mut price = (b.1 - a.1 + a.2 * a.0 - b.2 * b.0) / (a.2 - b.2);
                if !(price > a.0 && price < b.0) {
                    price = 0.5 * (a.0 + b.0);
                }
                let floor = a.1 + a.2 * (price - a.0);
                mu[r] = price;
                let Some(p) = at(&mu) else {
                    break 'rounds;
                };
                let here = (price, p.bound, slope(&p, r));
                row_best.offer(p, &mu, r, &mut best, &mut best_mu);
                if here.1 <= floor + 1e-9 * floor.abs().max(1.0) {
                    break;
                }
                if here.2 < 0.0 {
                    lo = here;
                } else {
                    hi = here;
                }
            }
            mu[r] = row_best.price;
            if row_best.improved {
                stale.fill(true);
                stale[r] = false;
            }
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
