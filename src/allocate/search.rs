//! Integer allocations: a price-guided heuristic (round, repair, fill) and an exact
//! branch-and-bound over the few candidates whose choice the prices leave in doubt.
//!
//! Reduced-cost fixing keeps the search small: at prices `λ`, an allocation that gives a
//! candidate anything but its best option is worth at most `g(λ)` minus that candidate's
//! margin, so candidates whose margin exceeds `g(λ) − incumbent` are held at their best option.

use std::time::Instant;

use super::knapsack;
use super::lagrange;
use super::lp::{self, Allowed};
use super::model::{Model, QuotaBound, RowKind};
use super::share;

/// An integer allocation with its exact row usage.
#[derive(Debug, Clone)]
pub(crate) struct State {
    /// Option chosen per candidate.
    pub choice: Vec<Option<usize>>,
    /// Exact usage per row.
    pub usage: Vec<i128>,
    /// Objective value.
    pub value: f64,
}

impl State {
    /// The allocation `choice` with its exact row usage and value.
    pub(crate) fn new(m: &Model, choice: Vec<Option<usize>>) -> State {
        let mut usage = vec![0i128; m.nrows()];
        let mut value = 0.0;
        for (c, o) in choice.iter().enumerate() {
            if let Some(o) = o {
                let opt = &m.cands[c].opts[*o];
                for k in opt.start..opt.end {
                    usage[m.row_of[k] as usize] += i128::from(m.coef[k]);
                }
                value += m.value[c];
            }
        }
        State {
            choice,
            usage,
            value,
        }
    }

    /// The allocation of the candidates `allowed` holds at one choice (the others unserved).
    pub(crate) fn held(m: &Model, allowed: &[Allowed]) -> State {
        let choice = allowed
            .iter()
            .map(|a| match *a {
                Allowed::Forced(o) => o,
                _ => None,
            })
            .collect();
        State::new(m, choice)
    }

    /// True when every row holds.
    pub(crate) fn feasible(&self, m: &Model) -> bool {
        self.usage
            .iter()
            .zip(&m.rows)
            .all(|(u, r)| *u <= i128::from(r.b))
    }

    fn set(&mut self, m: &Model, c: usize, to: Option<usize>) {
        if let Some(o) = self.choice[c] {
            let opt = &m.cands[c].opts[o];
            for k in opt.start..opt.end {
                self.usage[m.row_of[k] as usize] -= i128::from(m.coef[k]);
            }
            self.value -= m.value[c];
        }
        if let Some(o) = to {
            let opt = &m.cands[c].opts[o];
            for k in opt.start..opt.end {
                self.usage[m.row_of[k] as usize] += i128::from(m.coef[k]);
            }
            self.value += m.value[c];
        }
        self.choice[c] = to;
    }

    /// Moves each served candidate, in `order`, to its cheapest option that keeps every
    /// row holding. A candidate's value does not depend on its option, so the objective is
    /// unchanged: of equally good allocations, the one that spends no more than it must
    /// (and `compare` shows no option changes that only spend spare money).
    pub(crate) fn cheapen(&mut self, m: &Model, order: &[usize]) {
        for &c in order {
            let Some(o) = self.choice[c] else { continue };
            let opts = &m.cands[c].opts;
            let mut cheaper: Vec<usize> = (0..opts.len())
                .filter(|&k| opts[k].cost < opts[o].cost)
                .collect();
            cheaper.sort_by_key(|&k| (opts[k].cost, k));
            if let Some(k) = cheaper.into_iter().find(|&k| self.fits(m, c, k)) {
                self.set(m, c, Some(k));
            }
        }
    }

    /// True when candidate `c` can switch to `to` with every row still holding.
    fn fits(&self, m: &Model, c: usize, to: usize) -> bool {
        let new = &m.cands[c].opts[to];
        let old = self.choice[c].map(|o| &m.cands[c].opts[o]);
        for k in new.start..new.end {
            let r = m.row_of[k] as usize;
            let mut u = self.usage[r] + i128::from(m.coef[k]);
            if let Some(old) = old {
                for j in old.start..old.end {
                    if m.row_of[j] as usize == r {
                        u -= i128::from(m.coef[j]);
                    }
                }
            }
            if u > i128::from(m.rows[r].b) {
                return false;
            }
        }
        true
    }

    /// Violation after switching `c` to `to`, minus the violation now (rows touched only).
    fn violation_change(
        &self,
        m: &Model,
        c: usize,
        to: Option<usize>,
        buf: &mut Vec<(usize, i128)>,
    ) -> f64 {
        buf.clear();
        if let Some(o) = self.choice[c] {
            let opt = &m.cands[c].opts[o];
            for k in opt.start..opt.end {
                buf.push((m.row_of[k] as usize, -i128::from(m.coef[k])));
            }
        }
        if let Some(o) = to {
            let opt = &m.cands[c].opts[o];
            for k in opt.start..opt.end {
                buf.push((m.row_of[k] as usize, i128::from(m.coef[k])));
            }
        }
        buf.sort_unstable();
        let mut change = 0.0;
        let mut i = 0;
        while i < buf.len() {
            let r = buf[i].0;
            let mut d = 0i128;
            while i < buf.len() && buf[i].0 == r {
                d += buf[i].1;
                i += 1;
            }
            let b = i128::from(m.rows[r].b);
            let before = (self.usage[r] - b).max(0);
            let after = (self.usage[r] + d - b).max(0);
            change += (after - before) as f64 / m.rows[r].scale;
        }
        change
    }

    fn violation(&self, m: &Model) -> f64 {
        self.usage
            .iter()
            .zip(&m.rows)
            .map(|(u, r)| (*u - i128::from(r.b)).max(0) as f64 / r.scale)
            .sum()
    }
}

// The heuristics move every open candidate, those that must be served included: any
// allocation meeting every row is a valid incumbent.

/// Fractional candidates of the LP at a node, most fractional first: (candidate, share).
pub(crate) type Fractional = Vec<(usize, f64)>;

/// Rounds the LP solution at prices `lambda` down, repairs broken rows and fills what is
/// left, best profit first. Also returns the LP's fractional candidates (`None` when the
/// primal could not be recovered).
pub(crate) fn heuristic(
    m: &Model,
    allowed: &[Allowed],
    lambda: &[f64],
    deadline: Instant,
    near: usize,
) -> (State, Option<Fractional>) {
    let n = m.cands.len();
    let profit: Vec<f64> = (0..n)
        .map(|c| match allowed[c] {
            Allowed::Free | Allowed::Served => lp::best(m, c, lambda).1,
            Allowed::Forced(_) => 0.0,
        })
        .collect();
    let (choice, fractional) = match lp::primal(m, allowed, lambda, deadline) {
        Some(p) => {
            let mut choice = p.base;
            let mut frac = Vec::new();
            for (c, share) in p.shares {
                let total: f64 = share.iter().sum();
                match share.iter().position(|&x| x >= 1.0 - 1e-6) {
                    Some(o) => choice[c] = Some(o),
                    None if total <= 1e-6 => {}
                    None => frac.push((c, share.iter().fold(0.0f64, |a, &x| a.max(x)))),
                }
            }
            frac.sort_by(|a, b| {
                (a.1 - 0.5)
                    .abs()
                    .total_cmp(&(b.1 - 0.5).abs())
                    .then(a.0.cmp(&b.0))
            });
            (choice, Some(frac))
        }
        None => {
            let t = lp::tol(m);
            let choice = (0..n)
                .map(|c| match allowed[c] {
                    Allowed::Forced(o) => o,
                    Allowed::Free | Allowed::Served => {
                        let (o, p, margin) = lp::best(m, c, lambda);
                        if p > t && margin > t {
                            o
                        } else {
                            None
                        }
                    }
                })
                .collect();
            (choice, None)
        }
    };
    let mut s = State::new(m, choice);
    repair(m, allowed, lambda, &mut s, deadline);
    if !s.feasible(m) {
        // Start again from nobody free served: that meets every row but the minimums.
        let choice = (0..n)
            .map(|c| match allowed[c] {
                Allowed::Forced(o) => o,
                Allowed::Free | Allowed::Served => None,
            })
            .collect();
        s = State::new(m, choice);
        repair(m, allowed, lambda, &mut s, deadline);
        if !s.feasible(m) {
            return (s, fractional);
        }
    }
    improve(m, allowed, lambda, &profit, &mut s, deadline, near);
    (s, fractional)
}

/// Fills and swaps until neither changes anything (a few rounds at most).
pub(crate) fn improve(
    m: &Model,
    allowed: &[Allowed],
    lambda: &[f64],
    profit: &[f64],
    s: &mut State,
    deadline: Instant,
    near: usize,
) {
    for _round in 0..4 {
        let filled = fill(m, allowed, lambda, profit, s, deadline);
        let swapped = swaps(m, allowed, profit, s, deadline, near);
        if !(filled || swapped) || Instant::now() >= deadline {
            break;
        }
    }
}

/// Adds left-out candidates, best profit first, wherever every row still holds.
fn fill(
    m: &Model,
    allowed: &[Allowed],
    lambda: &[f64],
    profit: &[f64],
    s: &mut State,
    deadline: Instant,
) -> bool {
    let n = m.cands.len();
    let mut order: Vec<usize> = (0..n)
        .filter(|&c| allowed[c].is_open() && s.choice[c].is_none() && m.value[c] > 0.0)
        .collect();
    order.sort_by(|&a, &b| profit[b].total_cmp(&profit[a]).then(a.cmp(&b)));
    let mut opts_by_profit: Vec<usize> = Vec::new();
    let mut any = false;
    for _pass in 0..2 {
        let mut changed = false;
        for &c in &order {
            if s.choice[c].is_some() {
                continue;
            }
            opts_by_profit.clear();
            opts_by_profit.extend(0..m.cands[c].opts.len());
            opts_by_profit.sort_by(|&a, &b| {
                m.profit(c, b, lambda)
                    .total_cmp(&m.profit(c, a, lambda))
                    .then(a.cmp(&b))
            });
            if let Some(&o) = opts_by_profit.iter().find(|&&o| s.fits(m, c, o)) {
                s.set(m, c, Some(o));
                changed = true;
            }
        }
        any |= changed;
        if !changed || Instant::now() >= deadline {
            break;
        }
    }
    any
}

/// Improves an allocation by swaps: a left-out candidate replaces a served one of lower value
/// when every row still holds. Only the candidates nearest the cut-off are tried.
fn swaps(
    m: &Model,
    allowed: &[Allowed],
    profit: &[f64],
    s: &mut State,
    deadline: Instant,
    near: usize,
) -> bool {
    let mut any = false;
    let free = |c: &usize| allowed[*c].is_open();
    let mut out: Vec<usize> = (0..m.cands.len())
        .filter(free)
        .filter(|&c| s.choice[c].is_none() && m.value[c] > 0.0)
        .collect();
    out.sort_by(|&a, &b| profit[b].total_cmp(&profit[a]).then(a.cmp(&b)));
    out.truncate(near);
    let mut inside: Vec<usize> = (0..m.cands.len())
        .filter(free)
        .filter(|&c| s.choice[c].is_some())
        .collect();
    inside.sort_by(|&a, &b| profit[a].total_cmp(&profit[b]).then(a.cmp(&b)));
    inside.truncate(near);
    inside.sort_by(|&a, &b| m.value[a].total_cmp(&m.value[b]).then(a.cmp(&b)));
    for u in out {
        if Instant::now() >= deadline {
            return any;
        }
        'options: for ou in 0..m.cands[u].opts.len() {
            for k in 0..inside.len() {
                let v = inside[k];
                if m.value[v] >= m.value[u] {
                    break;
                }
                let Some(old) = s.choice[v] else { continue };
                s.set(m, v, None);
                if s.fits(m, u, ou) {
                    s.set(m, u, Some(ou));
                    inside.remove(k);
                    any = true;
                    break 'options;
                }
                s.set(m, v, Some(old));
            }
        }
    }
    any
}

/// Greedy repair of broken rows: the move that removes most violation per profit lost.
fn repair(m: &Model, allowed: &[Allowed], lambda: &[f64], s: &mut State, deadline: Instant) {
    let mut buf = Vec::new();
    let mut steps = 0;
    while s.violation(m) > 0.0 && steps < 10 * m.nrows() + 100 && Instant::now() < deadline {
        steps += 1;
        // Only candidates touching a broken row can help.
        let broken: Vec<bool> = s
            .usage
            .iter()
            .zip(&m.rows)
            .map(|(u, r)| *u > i128::from(r.b))
            .collect();
        let mut best: Option<(f64, usize, Option<usize>)> = None;
        for (c, a) in allowed.iter().enumerate() {
            if !a.is_open() {
                continue;
            }
            let touches = m.cands[c]
                .opts
                .iter()
                .any(|o| (o.start..o.end).any(|k| broken[m.row_of[k] as usize]));
            if !touches {
                continue;
            }
            let now = s.choice[c].map_or(0.0, |o| m.profit(c, o, lambda));
            let targets = std::iter::once(None).chain((0..m.cands[c].opts.len()).map(Some));
            for to in targets {
                if to == s.choice[c] {
                    continue;
                }
                let gain = -s.violation_change(m, c, to, &mut buf);
                if gain <= 1e-12 {
                    continue;
                }
                let loss = now - to.map_or(0.0, |o| m.profit(c, o, lambda));
                let key = loss / gain;
                if best.is_none_or(|(k, _, _)| key < k) {
                    best = Some((key, c, to));
                }
            }
        }
        match best {
            Some((_, c, to)) => s.set(m, c, to),
            None => return,
        }
    }
}

/// Result of the search.
#[derive(Debug, Clone)]
pub(crate) struct Outcome {
    /// Best allocation found (`None`: none meets every row).
    pub best: Option<State>,
    /// Proven upper bound.
    pub bound: f64,
    /// Prices at the root (for shadow prices and explanations).
    pub lambda: Vec<f64>,
    /// True when the search ran out of time.
    pub timed_out: bool,
    /// True when the search used its work budget (before any time limit).
    pub work_limited: bool,
}

/// When a search stops, and whom it tells how it is going.
pub(crate) struct Limits<'p> {
    /// The hard stop.
    pub deadline: Instant,
    /// The work budget (see [`WORK_PER_OPEN`]).
    pub work: f64,
    /// Told now and then during branch-and-bound: the share of the work budget used (0-1),
    /// the best objective so far and the bound.
    pub progress: &'p dyn Fn(f64, f64, f64),
    /// True for the search of a neighbourhood (which looks for no neighbourhoods itself).
    pub nested: bool,
    /// Most evaluations of each Lagrangian descent ([`lagrange::MAX_EVALUATIONS`] but at the
    /// root of a small programme; see [`SMALL_DESCENT_EVALUATIONS`]).
    pub descent: usize,
    /// Most table cells the knapsack's descent may spend (see [`lagrange::DESCENT_CELLS`]).
    pub descent_cells: usize,
    /// Whether [`polish`] runs before branch-and-bound (not in the quick looks near the
    /// incumbent, which stay quick).
    pub polish: bool,
}

/// How far above `incumbent` a bound may be and still prove it within `gap` as the gap is
/// reported, `(bound - incumbent) / |bound|` (at least `floor`). The root's bound was the
/// yardstick before; a search whose bound had come down from it could end a little above
/// the gap it reported meeting.
fn tolerance(gap: f64, floor: f64, incumbent: f64) -> f64 {
    if !incumbent.is_finite() {
        return floor;
    }
    (gap / (1.0 + gap) * incumbent.abs()).max(floor)
}

struct Search<'a> {
    m: &'a Model,
    deadline: Instant,
    progress: &'a dyn Fn(f64, f64, f64),
    best: Option<State>,
    /// Largest bound of a subtree closed without being searched to the end.
    closed: f64,
    /// The gap the search proves, and the least tolerance (the LP's noise).
    gap: f64,
    tol_floor: f64,
    timed_out: bool,
    nodes: usize,
    /// Work the search may do (see [`WORK_PER_OPEN`]): a budget that, unlike the clock,
    /// gives the same allocation on every run.
    work_limit: f64,
    work_limited: bool,
    /// Most table cells of the knapsack bound at each node (0: none).
    node_cells: usize,
    /// Knapsack bounds evaluated at nodes, and the most one was below its node's LP (after
    /// a few, nodes whose LP is further above the incumbent skip it: it could not close them).
    knap_evals: usize,
    knap_gain: f64,
    /// The prices of the root's knapsack descent: any prices bound every node, and these
    /// price the stock and funder rows better than a node's LP does.
    node_prices: Option<Vec<f64>>,
    /// The prices of the root's quota-exact descent, when its bound was the root's lowest:
    /// that bound is cheap (a sort), and bounds every node at them.
    share_prices: Option<Vec<f64>>,
    /// A value found elsewhere: only allocations better than it are looked for.
    cutoff: f64,
    /// The search ends once its incumbent is worth this much (see [`Start::target`]).
    target: f64,
}

/// Knapsack cells counted as one unit of work (measured on this machine: a cell costs a few
/// nanoseconds, a unit of LP work about fifty times as much).
const CELLS_PER_WORK: usize = 50;

/// Most table cells of the knapsack bound at a branch-and-bound node.
const NODE_CELLS: usize = 2_000_000;
/// Most candidates of a programme whose branch-and-bound nodes get the knapsack bound.
const NODE_CANDIDATES: usize = 300;
/// How many times the descent's table cells a programme of up to [`NODE_CANDIDATES`]
/// candidates may spend: on 500 applicants seed 8 the descent had stopped at its cells with a
/// bound 0.04 above what proves the incumbent (12 s of branch-and-bound to the search
/// budget); twice the cells prove it at the root. Larger programmes' tables cost more than
/// that saves.
const SMALL_DESCENT: usize = 2;
/// How many times the usual evaluations the root's descent of a programme of up to
/// [`NODE_CANDIDATES`] candidates may take (within its cells): its tables are cheap, and on
/// one generated 150-applicant programme the descent stopped at 64 evaluations 0.7 above the
/// bound that proves the incumbent, which 4 × 64 reach at once.
const SMALL_DESCENT_EVALUATIONS: usize = 4;

/// Search work of a node per candidate in doubt, besides its LP work (constraints ×
/// variables of each LP solved): what its prices, allocation and branching cost, measured
/// against the LP work on this machine.
const WORK_PER_OPEN: u64 = 13;

impl Search<'_> {
    fn round(&self, bound: f64) -> f64 {
        if self.m.integral_values {
            (bound + 1e-6).floor()
        } else {
            bound
        }
    }

    /// The best value to beat: the incumbent's, or the cut-off when that is higher.
    fn incumbent(&self) -> f64 {
        self.best
            .as_ref()
            .map_or(f64::NEG_INFINITY, |s| s.value)
            .max(self.cutoff)
    }

    /// How far above the incumbent a bound may be and still prove it within the gap.
    fn prune_tol(&self) -> f64 {
        tolerance(self.gap, self.tol_floor, self.incumbent())
    }

    fn offer(&mut self, s: State) {
        if s.feasible(self.m) && s.value > self.incumbent() {
            self.best = Some(s);
        }
    }

    fn close(&mut self, bound: f64) {
        self.closed = self.closed.max(bound);
    }

    /// Evaluates one node: its LP, a heuristic allocation, and its children with the bound
    /// each inherits (`None` when the LP failed).
    fn expand(&mut self, allowed: &[Allowed], warm: &[f64]) -> Option<Expansion> {
        self.nodes += 1;
        let lp = lp::solve(self.m, allowed, Some(warm), self.deadline)?;
        let mut bound = self.round(lp.bound);
        if bound <= self.incumbent() + self.prune_tol() {
            return Some(Expansion::Closed(bound));
        }
        // The knapsack at the node's prices keeps the money rows exact: at the same prices it
        // is never above the LP, and on small programmes far below it (candidates that must be
        // served are let free there).
        let hopeless =
            self.knap_evals >= 16 && bound - self.knap_gain > self.incumbent() + self.prune_tol();
        if self.node_cells > 0 && !hopeless {
            self.knap_evals += 1;
            let prices = self.node_prices.take();
            for lambda in prices.iter().chain(std::iter::once(&lp.lambda)) {
                if self.node_cells == 0 {
                    break;
                }
                let k =
                    knapsack::bound_within(self.m, allowed, lambda, self.deadline, self.node_cells);
                if let Some(k) = k {
                    lp::charge((k.work / CELLS_PER_WORK) as u64);
                    self.knap_gain = self.knap_gain.max(lp.bound - k.bound);
                    bound = bound.min(self.round(k.bound));
                    if bound <= self.incumbent() + self.prune_tol() {
                        self.node_prices = prices;
                        return Some(Expansion::Closed(bound));
                    }
                } else {
                    // Too large for the tables here: not worth trying again below.
                    self.node_cells = 0;
                }
            }
            self.node_prices = prices;
        }
        if let Some(prices) = &self.share_prices {
            if let Some(b) = share::bound_at(self.m, allowed, prices) {
                lp::charge(self.m.cands.len() as u64);
                bound = bound.min(self.round(b));
                if bound <= self.incumbent() + self.prune_tol() {
                    return Some(Expansion::Closed(bound));
                }
            }
        }
        let (h, fractional) = heuristic(
            self.m,
            allowed,
            &lp.lambda,
            self.deadline,
            node_near(self.m),
        );
        self.offer(h);
        if bound <= self.incumbent() + self.prune_tol() {
            return Some(Expansion::Closed(bound));
        }
        // Branch on the most fractional candidate, else on the one closest to a tie.
        let t = lp::tol(self.m);
        let mut pick: Option<(usize, f64, f64)> = None; // (cand, margin, priced usage)
        for (c, a) in allowed.iter().enumerate() {
            if !self.undecided(c, *a) {
                continue;
            }
            let (o, p, margin) = lp::respond(self.m, c, *a, &lp.lambda);
            let priced = o.map_or(0.0, |_| self.m.value[c] - p);
            let key_margin = if margin <= t { 0.0 } else { margin };
            let better = match pick {
                None => true,
                Some((_, pm, pu)) => key_margin < pm || (key_margin == pm && priced > pu),
            };
            if better {
                pick = Some((c, key_margin, priced));
            }
        }
        let Some((mut c, _, _)) = pick else {
            // Every choice is made: this node is one allocation.
            let only = allowed
                .iter()
                .map(|a| match a {
                    Allowed::Forced(o) => *o,
                    _ => Some(0),
                })
                .collect();
            self.offer(State::new(self.m, only));
            return Some(Expansion::Closed(self.incumbent()));
        };
        if let Some(&(f, _)) = fractional.as_ref().and_then(|f| f.first()) {
            c = f;
        }
        // A free candidate is first split into "not served" and "served" (any option: the
        // option rarely matters to the bound, so it is decided lower down); a candidate that
        // must be served is split by option.
        let n_opts = self.m.cands[c].opts.len();
        let splits: Vec<Allowed> = match allowed[c] {
            Allowed::Free if n_opts > 1 => vec![Allowed::Forced(None), Allowed::Served],
            _ => std::iter::once(None)
                .filter(|_| allowed[c] == Allowed::Free)
                .chain((0..n_opts).map(Some))
                .map(Allowed::Forced)
                .collect(),
        };
        let here = lp::respond(self.m, c, allowed[c], &lp.lambda).1;
        let children = splits
            .into_iter()
            .map(|a| {
                let p = lp::respond(self.m, c, a, &lp.lambda).1;
                (self.round(lp.bound - (here - p)).min(bound), c, a)
            })
            .collect();
        Some(Expansion::Branch(children, lp.lambda))
    }

    /// True when candidate `c`'s choice is still open under `a`.
    fn undecided(&self, c: usize, a: Allowed) -> bool {
        match a {
            Allowed::Free => true,
            Allowed::Served => self.m.cands[c].opts.len() > 1,
            Allowed::Forced(_) => false,
        }
    }
}

/// A relaxation's allocation within `allowed`, repaired where a row breaks, then improved by
/// swaps at the prices `lambda`.
fn adopt(
    m: &Model,
    allowed: &[Allowed],
    lambda: &[f64],
    profit: &[f64],
    choice: Vec<Option<usize>>,
    deadline: Instant,
) -> State {
    let mut s = State::new(m, choice);
    if !s.feasible(m) {
        repair(m, allowed, lambda, &mut s, deadline);
    }
    if s.feasible(m) {
        improve(m, allowed, lambda, profit, &mut s, deadline, ROOT_NEAR);
    }
    s
}

/// Most times [`polish`] runs the knapsack again around a better incumbent.
const POLISH_ROUNDS: usize = 3;

/// Before branch-and-bound: the knapsack with the stocks counted exactly around the
/// incumbent (the capped cities' kit users held), within `allowed` and with tables of at most
/// `cells`, as long as that finds better. It fits the money left exactly where no swap of one
/// or two candidates reaches, and often ends the search before it starts.
fn polish(
    search: &mut Search,
    allowed: &[Allowed],
    lambda: &[f64],
    profit: &[f64],
    deadline: Instant,
    cells: usize,
) {
    let m = search.m;
    for _ in 0..POLISH_ROUNDS {
        let Some(best) = search.best.as_ref() else {
            return;
        };
        let before = best.value;
        let Some(k) = knapsack::primal(m, allowed, lambda, &best.choice, deadline, cells) else {
            return;
        };
        lp::charge((k.work / CELLS_PER_WORK) as u64);
        search.offer(adopt(m, allowed, lambda, profit, k.choice, deadline));
        if search.incumbent() <= before {
            return;
        }
    }
}

/// Candidates the swap step tries at the root, and at most at every branch-and-bound node
/// (small programmes try fewer: their nodes are many and each is cheap).
const ROOT_NEAR: usize = 300;

/// Candidates the swap step tries at a node: 1 in 40, between 30 and [`ROOT_NEAR`].
fn node_near(m: &Model) -> usize {
    (m.cands.len() / 40).clamp(30, ROOT_NEAR)
}

/// What evaluating a node gave.
enum Expansion {
    /// Nothing better below; the subtree's bound.
    Closed(f64),
    /// Children (bound, candidate, what it may do) and the node's prices.
    Branch(Vec<(f64, usize, Allowed)>, Vec<f64>),
}

/// An open node: the choices forced on the way down and the bound it inherits.
struct Open {
    bound: f64,
    seq: usize,
    forced: Vec<(usize, Allowed)>,
    warm: std::rc::Rc<Vec<f64>>,
}

impl PartialEq for Open {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == std::cmp::Ordering::Equal
    }
}
impl Eq for Open {}
impl PartialOrd for Open {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Open {
    /// Highest bound first, then the earliest made (deterministic).
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.bound
            .total_cmp(&other.bound)
            .then(other.seq.cmp(&self.seq))
    }
}

impl Search<'_> {
    /// Best-first branch-and-bound below `base`; the open nodes' bounds at a time-out are
    /// closed, so the final bound stays valid.
    fn run(&mut self, base: &[Allowed], warm: Vec<f64>, bound: f64) {
        let mut heap = std::collections::BinaryHeap::new();
        let mut seq = 0usize;
        heap.push(Open {
            bound,
            seq,
            forced: Vec::new(),
            warm: std::rc::Rc::new(warm),
        });
        let mut allowed = base.to_vec();
        // Best-first, but each expanded node's best child is searched next (a dive), so
        // allocations are found early as in depth-first search.
        let mut dive: Option<Open> = None;
        let mut work = 0.0f64;
        while let Some(node) = dive.take().or_else(|| heap.pop()) {
            // `bound` holds for every node (the knapsack bound can be below their LPs'): an
            // incumbent within the gap of it ends the search.
            if bound <= self.incumbent() + self.prune_tol() {
                self.close(node.bound.min(bound));
                break;
            }
            if self.incumbent() >= self.target {
                self.close(node.bound);
                break;
            }
            if node.bound <= self.incumbent() + self.prune_tol() {
                self.close(node.bound);
                continue;
            }
            if Instant::now() >= self.deadline {
                self.timed_out = true;
                self.close(node.bound);
                break;
            }
            if work >= self.work_limit {
                self.work_limited = true;
                self.close(node.bound);
                break;
            }
            allowed.copy_from_slice(base);
            for &(c, a) in &node.forced {
                allowed[c] = a;
            }
            let open = allowed.iter().filter(|a| a.is_open()).count();
            let lp_work = lp::work_done();
            let expansion = self.expand(&allowed, &node.warm);
            lp::charge(WORK_PER_OPEN * open as u64);
            work += (lp::work_done() - lp_work) as f64;
            if self.nodes % 16 == 0 {
                let open = heap.peek().map_or(f64::NEG_INFINITY, |o| o.bound);
                let now = self.closed.max(open).max(node.bound).min(bound);
                let best = self.incumbent();
                (self.progress)((work / self.work_limit).min(1.0), best, now.max(best));
            }
            match expansion {
                None => {
                    self.timed_out |= Instant::now() >= self.deadline;
                    self.close(node.bound);
                }
                Some(Expansion::Closed(b)) => self.close(b.min(node.bound)),
                Some(Expansion::Branch(mut children, lambda)) => {
                    let warm = std::rc::Rc::new(lambda);
                    children.sort_by(|a, b| b.0.total_cmp(&a.0));
                    for (b, c, o) in children {
                        if b <= self.incumbent() + self.prune_tol() {
                            self.close(b);
                            continue;
                        }
                        seq += 1;
                        let mut forced = node.forced.clone();
                        forced.push((c, o));
                        let open = Open {
                            bound: b,
                            seq,
                            forced,
                            warm: warm.clone(),
                        };
                        if dive.is_none() {
                            dive = Some(open);
                        } else {
                            heap.push(open);
                        }
                    }
                }
            }
        }
        if let Some(top) = heap.peek() {
            self.close(top.bound);
        }
        if let Some(d) = dive {
            self.close(d.bound);
        }
    }
}

/// Finds an allocation within `gap` of the optimum, or the best one within the work budget
/// or by the deadline of `limits`, whichever comes first. `seed` is an allocation to start
/// from (it is used only if it meets every row).
pub(crate) fn solve(
    m: &Model,
    gap: f64,
    limits: &Limits,
    seed: Option<Vec<Option<usize>>>,
) -> Outcome {
    solve_from(m, gap, limits, seed, Start::whole(m, limits))
}

/// [`solve`] (gap 0) from `seed` until an allocation worth `target` is found: what a
/// neighbourhood's search needs to close the whole programme's gap, which it then need not
/// prove optimal for itself.
pub(crate) fn solve_for(
    m: &Model,
    limits: &Limits,
    seed: Vec<Option<usize>>,
    target: f64,
) -> Outcome {
    let start = Start {
        target,
        ..Start::whole(m, limits)
    };
    solve_from(m, 0.0, limits, Some(seed), start)
}

/// Where a search starts: the whole programme, or one side of a [`split`].
struct Start {
    /// Candidates held or that must be served from the start.
    allowed: Vec<Allowed>,
    /// Only allocations better than this are looked for (the other side's incumbent).
    cutoff: f64,
    /// Whether the search may split on a quota's group (the whole programme's only).
    split: bool,
    /// An allocation worth this much is enough: the search ends when it finds one (a
    /// neighbourhood's search, once it has what closes the whole programme's gap).
    target: f64,
}

impl Start {
    /// The whole programme: every candidate free, nothing to beat, no target.
    fn whole(m: &Model, limits: &Limits) -> Start {
        Start {
            allowed: vec![Allowed::Free; m.cands.len()],
            cutoff: f64::NEG_INFINITY,
            split: !limits.nested,
            target: f64::INFINITY,
        }
    }
}

/// [`solve`] from `start`.
fn solve_from(
    m: &Model,
    gap: f64,
    limits: &Limits,
    seed: Option<Vec<Option<usize>>>,
    start: Start,
) -> Outcome {
    let deadline = limits.deadline;
    let n = m.cands.len();
    let mut allowed = start.allowed;
    let Some(root) = lp::solve(m, &allowed, None, deadline) else {
        // No time for the LP: zero prices still give a (weak) valid bound and a greedy
        // allocation.
        let lambda = vec![0.0; m.nrows()];
        let bound = lp::bound_at(m, &allowed, &lambda);
        let (mut h, _) = heuristic(m, &allowed, &lambda, deadline, ROOT_NEAR);
        if let Some(seed) = seed {
            let s = State::new(m, seed);
            if s.feasible(m) && (!h.feasible(m) || s.value > h.value) {
                h = s;
            }
        }
        let best = h.feasible(m).then_some(h);
        return Outcome {
            best,
            bound,
            lambda,
            timed_out: true,
            work_limited: false,
        };
    };
    // Small programmes: their tables are cheap next to their searches, which bound every
    // node by the knapsack too.
    let small = !limits.nested && n <= NODE_CANDIDATES;
    let mut search = Search {
        m,
        deadline,
        progress: limits.progress,
        best: None,
        closed: f64::NEG_INFINITY,
        gap,
        tol_floor: lp::tol(m),
        timed_out: false,
        nodes: 0,
        work_limit: f64::INFINITY,
        work_limited: false,
        // Only where the tables are small next to the nodes' LPs: larger programmes (and the
        // neighbourhoods' searches) spend more on them than they save.
        node_cells: if small { NODE_CELLS } else { 0 },
        knap_evals: 0,
        knap_gain: 0.0,
        node_prices: None,
        share_prices: None,
        cutoff: start.cutoff,
        target: start.target,
    };
    let mut ub = search.round(root.bound);
    let (h, _) = heuristic(m, &allowed, &root.lambda, deadline, ROOT_NEAR);
    search.offer(h);
    let profit: Vec<f64> = (0..n).map(|c| lp::best(m, c, &root.lambda).1).collect();
    if let Some(seed) = seed {
        let mut s = State::new(m, seed);
        if s.feasible(m) {
            improve(m, &allowed, &root.lambda, &profit, &mut s, deadline, 3000);
        }
        search.offer(s);
    }
    // Work spent looking near the incumbent: it comes out of the search's budget.
    let mut near_work = 0.0;
    let done = |search: &Search, ub: f64| {
        search.incumbent() + search.prune_tol() >= ub || search.incumbent() >= search.target
    };
    // Hold candidates whose margin rules out any allocation better by more than `tol` that
    // moves them; what those allocations could reach at most.
    let hold = |search: &Search, allowed: &mut [Allowed], tol: f64| {
        let slack = root.bound - search.incumbent() - tol;
        let mut excluded = f64::NEG_INFINITY;
        for (c, a) in allowed.iter_mut().enumerate() {
            // A candidate that must be served is held at its best option, never left out.
            let (o, _, margin) = lp::respond(m, c, *a, &root.lambda);
            if search.incumbent().is_finite() && margin > slack {
                *a = Allowed::Forced(o);
                excluded = excluded.max(root.bound - margin);
            }
        }
        search.round(excluded)
    };
    if !done(&search, ub) {
        // Small programmes: the knapsack bound over the candidates that could still make a
        // better allocation, and its allocation (repaired where a priced row breaks), often
        // close the gap without any branching, and can prove the incumbent optimal.
        let mut open = allowed.clone();
        let excluded = hold(&search, &mut open, 0.0);
        let cap = lp::price_cap(m);
        // Allocations the relaxations meet that hold every row, each better than the last;
        // the descents stop once the best of them is within the gap of their bound.
        let mut found: Vec<State> = Vec::new();
        let seen = std::cell::Cell::new(search.incumbent());
        let mut keep = |s: &State| {
            if s.value > seen.get() {
                seen.set(s.value);
                found.push(s.clone());
            }
        };
        let (gap, floor, target) = (search.gap, search.tol_floor, search.target);
        let integral = m.integral_values;
        let enough = |bound: f64| {
            let bound = if integral {
                (bound + 1e-6).floor()
            } else {
                bound
            };
            seen.get() + tolerance(gap, floor, seen.get()) >= bound || seen.get() >= target
        };
        let mut watch = lagrange::Watch {
            deadline,
            offer: &mut keep,
            enough: &enough,
            evaluations: if small {
                limits.descent * SMALL_DESCENT_EVALUATIONS
            } else {
                limits.descent
            },
            cells: if small {
                limits.descent_cells.saturating_mul(SMALL_DESCENT)
            } else {
                limits.descent_cells
            },
        };
        // A relaxation's allocation, repaired where a priced row breaks, then improved.
        let adopt = |choice| adopt(m, &open, &root.lambda, &profit, choice, deadline);
        // The knapsack at the LP prices, then (when that does not close the gap) a quick look
        // for better allocations near the incumbent, then the knapsack with the priced rows'
        // prices improved.
        for descend in [false, true] {
            if descend && !limits.nested && !done(&search, ub) {
                neighbourhoods(
                    &mut search,
                    &open,
                    &root,
                    ub,
                    limits.work,
                    &mut near_work,
                    Effort::Quick,
                );
                seen.set(seen.get().max(search.incumbent()));
            }
            if done(&search, ub) {
                break;
            }
            let k = if descend {
                knapsack::improved(m, &open, &root.lambda, cap, &mut watch).map(|(k, prices)| {
                    search.node_prices = Some(prices);
                    k
                })
            } else {
                knapsack::bound_within(m, &open, &root.lambda, deadline, limits.descent_cells / 8)
            };
            let Some(k) = k else { break };
            ub = ub.min(search.round(k.bound).max(excluded));
            search.offer(adopt(k.choice));
            seen.set(seen.get().max(search.incumbent()));
        }
        // A quota that binds is a lattice the LP and the knapsack price by the fraction of a
        // person: keep it exact, with every other row priced.
        if !done(&search, ub) {
            watch.evaluations = limits.descent;
            if let Some(k) = share::bound(m, &open, &root.lambda, cap, &mut watch) {
                if search.round(k.bound) < ub {
                    search.share_prices = Some(k.prices);
                }
                ub = ub.min(search.round(k.bound).max(excluded));
                search.offer(adopt(k.choice));
            }
        }
        seen.set(seen.get().max(search.incumbent()));
        // The relaxations' allocations that met every row, improved.
        for mut s in found {
            improve(m, &open, &root.lambda, &profit, &mut s, deadline, ROOT_NEAR);
            search.offer(s);
        }
    }
    if start.split && !done(&search, ub) {
        let group = search
            .best
            .as_ref()
            .and_then(|best| whole_group(m, &root.lambda, best));
        if let (Some(group), Some(best)) = (group, search.best.clone()) {
            return split(m, gap, limits, best, group, ub, root.lambda);
        }
    }
    if !done(&search, ub) {
        // The search only looks for allocations better by more than the gap.
        let excluded = hold(&search, &mut allowed, search.prune_tol());
        search.close(excluded);
        // Longer looks near the incumbent first: far cheaper than the whole search when
        // the bound is already close and the allocation is not.
        if !limits.nested {
            neighbourhoods(
                &mut search,
                &allowed,
                &root,
                ub,
                limits.work,
                &mut near_work,
                Effort::Thorough,
            );
        }
        if limits.polish && !done(&search, ub) {
            let cells = limits.descent_cells / 8;
            polish(
                &mut search,
                &allowed,
                &root.lambda,
                &profit,
                deadline,
                cells,
            );
        }
    }
    if done(&search, ub) {
        return Outcome {
            best: search.best,
            bound: ub,
            lambda: root.lambda,
            timed_out: false,
            work_limited: false,
        };
    }
    search.work_limit = (limits.work - near_work).max(0.0);
    search.run(&allowed, root.lambda.clone(), ub);
    // A search the clock stopped reports the bound proven before it began: how far it got
    // depends on the machine, and the bound should not.
    let bound = if search.timed_out {
        ub.max(search.incumbent())
    } else {
        ub.min(search.closed.max(search.incumbent()))
    };
    Outcome {
        best: search.best,
        bound,
        lambda: root.lambda,
        timed_out: search.timed_out,
        work_limited: search.work_limited,
    }
}

/// A quota group the incumbent serves in full, with the row that asks for its members: a
/// `min_share` or `min_count` row priced at `lambda` (so the quota binds), whose members
/// (those it counts against the others) are each served by `best`.
fn whole_group(m: &Model, lambda: &[f64], best: &State) -> Option<Group> {
    (0..m.nrows()).find_map(|r| {
        let group = Group::asked_by(m, r)?;
        let size = group.member.iter().filter(|&&x| x).count();
        let whole = (0..m.cands.len()).all(|c| !group.member[c] || best.choice[c].is_some());
        // A min_count of the whole group leaves no allocation with a member out.
        let asked = (0..m.nrows())
            .filter(|&s| m.rows[s].kind == RowKind::Quota(group.quota, QuotaBound::MinCount))
            .map(|s| -m.rows[s].b)
            .max()
            .unwrap_or(0);
        (lambda[r] > 0.0 && size > 0 && whole && asked < size as i64).then_some(group)
    })
}

/// The members of one quota's group.
pub(crate) struct Group {
    quota: usize,
    pub member: Vec<bool>,
}

impl Group {
    /// The group row `r` asks for, when it is a `min_share` or `min_count` row: its
    /// members are the candidates it counts against the others (a negative coefficient).
    pub(crate) fn asked_by(m: &Model, r: usize) -> Option<Group> {
        let RowKind::Quota(quota, QuotaBound::MinShare | QuotaBound::MinCount) = m.rows[r].kind
        else {
            return None;
        };
        let member = m
            .cands
            .iter()
            .map(|c| c.opts.iter().all(|o| m.coef_in(o, r) < 0))
            .collect();
        Some(Group { quota, member })
    }
}

/// Splits the search on a quota group the incumbent `best` serves in full: every allocation
/// either serves every member, or at most all but one. A quota and the money binding
/// together is what neither the knapsack (which prices the quota) nor the share bound (which
/// prices the money) can bound closely, and the two sides are far easier: with every member
/// held served the knapsack needs no price for the quota's members, and with one member out
/// the quota asks for fewer of everyone else, which the root's bounds usually rule out at
/// once (ramadan-2016 at a women share of 0.26, where all 91 women are served: 37,089 nodes
/// of branch-and-bound did not prove the incumbent; the two sides prove it at their roots).
/// The side with a member out is searched first, for allocations better than `best` only,
/// within half of the work budget; then the side with every member served, from `best`,
/// within what is left. The bound is the higher of the two sides' (and at most `ub`).
pub(crate) fn split(
    m: &Model,
    gap: f64,
    limits: &Limits,
    best: State,
    group: Group,
    ub: f64,
    lambda: Vec<f64>,
) -> Outcome {
    let n = m.cands.len();
    let size = group.member.iter().filter(|&&x| x).count() as i64;
    let before = lp::work_done();
    let (value, top) = (best.value, ub);
    let out_progress = |done: f64, objective: f64, _: f64| {
        (limits.progress)(done / 2.0, objective.max(value), top);
    };
    let mut fewer = m.clone();
    let a: Vec<i64> = group.member.iter().map(|&x| i64::from(x)).collect();
    fewer.add_row(
        format!("quota {} with a member out", group.quota),
        RowKind::Quota(group.quota, QuotaBound::MaxCount),
        size - 1,
        &a,
    );
    let out = solve_from(
        &fewer,
        gap,
        &Limits {
            work: limits.work / 2.0,
            progress: &out_progress,
            ..*limits
        },
        None,
        Start {
            allowed: vec![Allowed::Free; n],
            cutoff: value,
            split: false,
            target: f64::INFINITY,
        },
    );
    let mut best = best;
    // A side's allocation, with its usage of this model's rows.
    let take = |best: &mut State, s: Option<State>| {
        if let Some(s) = s.map(|s| State::new(m, s.choice)) {
            if s.feasible(m) && s.value > best.value {
                *best = s;
            }
        }
    };
    take(&mut best, out.best);
    let spent = (lp::work_done() - before) as f64;
    let out_bound = out.bound;
    let all_progress = |done: f64, objective: f64, bound: f64| {
        (limits.progress)(0.5 + done / 2.0, objective, bound.max(out_bound).min(top));
    };
    let served = group
        .member
        .iter()
        .map(|&x| if x { Allowed::Served } else { Allowed::Free })
        .collect();
    let all = if out.timed_out {
        None
    } else {
        Some(solve_from(
            m,
            gap,
            &Limits {
                work: (limits.work - spent).max(0.0),
                progress: &all_progress,
                ..*limits
            },
            Some(best.choice.clone()),
            Start {
                allowed: served,
                cutoff: f64::NEG_INFINITY,
                split: false,
                target: f64::INFINITY,
            },
        ))
    };
    let (all_bound, timed_out, work_limited) = match &all {
        Some(all) => (
            all.bound,
            all.timed_out,
            out.work_limited || all.work_limited,
        ),
        None => (ub, true, out.work_limited),
    };
    take(&mut best, all.and_then(|all| all.best));
    // A side the clock stopped: the bound proven before the split, as for any search the
    // clock stops.
    let bound = if timed_out {
        ub
    } else {
        ub.min(out_bound.max(all_bound))
    };
    Outcome {
        bound: bound.max(best.value),
        best: Some(best),
        lambda,
        timed_out,
        work_limited,
    }
}

/// How hard [`neighbourhoods`] looks: the descent evaluations and the share of the
/// search's work budget each neighbourhood's own search may spend.
#[derive(Debug, Clone, Copy)]
enum Effort {
    /// Before the knapsack's descent: quick looks that often close the gap at once.
    Quick,
    /// Before branch-and-bound: longer looks, still much cheaper than the whole search.
    Thorough,
}

impl Effort {
    fn descent(self) -> usize {
        match self {
            Effort::Quick => 16,
            Effort::Thorough => lagrange::MAX_EVALUATIONS,
        }
    }

    /// A fraction of what the whole programme's descent may spend: each window's table is
    /// narrower, but there are many windows.
    fn descent_cells(self) -> usize {
        match self {
            Effort::Quick => lagrange::DESCENT_CELLS / 100,
            Effort::Thorough => lagrange::DESCENT_CELLS / 25,
        }
    }

    fn work_share(self) -> f64 {
        match self {
            Effort::Quick => 0.005,
            Effort::Thorough => 0.02,
        }
    }
}

/// Candidates in one neighbourhood.
const NEAR: usize = 100;
/// Neighbourhoods looked at per pass: the candidates nearest the cut-off, in overlapping
/// windows of [`NEAR`] by half of it.
const WINDOWS: usize = 4;
/// Passes over the windows (a pass that improves nothing ends them).
const PASSES: usize = 3;
/// Share of the search's work budget all the neighbourhoods of a solve may spend.
const NEAR_WORK: f64 = 0.3;

/// Looks for better allocations near the incumbent (a large-neighbourhood search): the
/// candidates `allowed` leaves open are ordered by their margin at the root prices (the
/// closest to another choice first), and each window of that order is solved as a programme
/// of its own, with the rows' right-hand sides lowered by what everyone else uses, everyone
/// else held at the incumbent's choice. Windows whose incumbent has not changed since they
/// were searched are skipped. Each search is bounded by its work and evaluations, so the
/// allocations found are the same on every run. `spent` counts the work of all the
/// neighbourhoods of the solve, which stop at [`NEAR_WORK`] of `work`; a programme that fits
/// in one window has none (the whole search is as cheap).
fn neighbourhoods(
    search: &mut Search,
    allowed: &[Allowed],
    root: &lp::Lp,
    ub: f64,
    work: f64,
    spent: &mut f64,
    effort: Effort,
) {
    let m = search.m;
    if allowed.iter().filter(|a| a.is_open()).count() <= NEAR {
        return;
    }
    let mut order: Vec<(f64, usize)> = allowed
        .iter()
        .enumerate()
        .filter(|(_, a)| a.is_open())
        .map(|(c, _)| (lp::best(m, c, &root.lambda).2, c))
        .collect();
    order.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
    let order: Vec<usize> = order.into_iter().map(|(_, c)| c).collect();
    let limits = Limits {
        deadline: search.deadline,
        work: work * effort.work_share(),
        progress: &|_, _, _| {},
        nested: true,
        descent: effort.descent(),
        descent_cells: effort.descent_cells(),
        polish: matches!(effort, Effort::Thorough),
    };
    // Per window: where it started and the incumbent when it was last searched.
    let mut searched: Vec<Option<(usize, Vec<Option<usize>>)>> = vec![None; WINDOWS];
    for pass in 0..PASSES {
        let mut improved = false;
        for (w, searched) in searched.iter_mut().enumerate() {
            // Every other pass shifts the windows by a quarter, so the windows' edges move.
            let from = w * NEAR / 2 + (pass % 2) * NEAR / 4;
            if w > 0 && from + NEAR / 2 >= order.len() {
                break;
            }
            let Some(best) = search.best.as_ref() else {
                return;
            };
            if search.incumbent() + search.prune_tol() >= ub
                || Instant::now() >= search.deadline
                || *spent >= NEAR_WORK * work
            {
                return;
            }
            if searched
                .as_ref()
                .is_some_and(|(at, choice)| *at == from && *choice == best.choice)
            {
                continue;
            }
            *searched = Some((from, best.choice.clone()));
            let window = &order[from..(from + NEAR).min(order.len())];
            let mut outside = best.usage.clone();
            let mut now = 0.0;
            for &c in window {
                if let Some(o) = best.choice[c] {
                    let opt = &m.cands[c].opts[o];
                    for k in opt.start..opt.end {
                        outside[m.row_of[k] as usize] -= i128::from(m.coef[k]);
                    }
                    now += m.value[c];
                }
            }
            let sub = m.restrict(window, &outside);
            let held = window.iter().map(|&c| best.choice[c]).collect();
            let before = lp::work_done();
            // Enough for the window: what brings the incumbent within the gap of `ub`.
            let target = now + (ub - search.prune_tol() - search.incumbent());
            let out = solve_for(&sub, &limits, held, target);
            *spent += (lp::work_done() - before) as f64;
            let Some(found) = out.best else {
                continue;
            };
            if found.value > now + lp::tol(m) {
                let mut choice = best.choice.clone();
                for (&c, &o) in window.iter().zip(&found.choice) {
                    choice[c] = o;
                }
                search.offer(State::new(m, choice));
                improved = true;
            }
        }
        if !improved {
            break;
        }
    }
}
