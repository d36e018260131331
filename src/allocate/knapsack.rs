//! A bound stronger than the LP relaxation for small programmes, by dynamic programming.
//!
//! The LP relaxation lets the last applicants under a budget take a fraction of a grant; on a
//! programme of a few hundred people those fractions are worth more than the 0.01% gap a
//! planner asks for, and branch-and-bound would have to enumerate them away. Here the total
//! budget and the city caps inside it are kept exact (a knapsack over whole budget units, each
//! capped city a knapsack of its own whose best values are merged into the total), while every
//! other row (stock, quotas, most funder rows) is priced by the LP prices `λ`. By weak duality
//! the result bounds every allocation; its best allocation is also a candidate incumbent, and
//! it often meets the priced rows as well, in which case it is optimal up to the gap between
//! the two bounds.
//!
//! One more money row can be kept exact when it binds: a funder row that charges most
//! applicants their whole cost but a few only part of it (the funders without an earmarked
//! regional kit budget pay only the cash part of that region's grants). Those few, with their
//! city when it is capped, get a table over both rows; the rest use both rows alike, so
//! merging stays one pass over the budget.

use std::collections::BTreeMap;
use std::time::Instant;

use super::lagrange::{self, Point, Watch};
use super::lp::{self, Allowed};
use super::model::{Model, RowKind};
use super::search::State;

/// Most knapsack cells (candidates × the budget units in their band, one byte each) worth
/// spending.
const MAX_CELLS: usize = 60_000_000;
/// Most steps merging the capped cities into the total (each city's spends × the band of
/// the total they are merged over).
const MAX_MERGE: usize = 2_000_000_000;
/// Most choices of the pair's items weighed at once before its row is priced instead.
const MAX_PAIR_NODES: usize = 2_000_000;

/// A knapsack bound and the allocation reaching it.
pub(crate) struct Knapsack {
    /// Upper bound on every allocation's value.
    pub bound: f64,
    /// The allocation attaining it (total budget and city caps hold; other rows unchecked).
    pub choice: Vec<Option<usize>>,
    /// Table cells and merge steps it may take: what one evaluation is budgeted at.
    pub cells: usize,
    /// Table cells and merge steps it took (the spends where a merged table improves, each
    /// against the band of the total): the work of this evaluation.
    pub work: usize,
}

/// Items of one knapsack: per candidate, its options as (weight in units, profit).
struct Items {
    cands: Vec<usize>,
    opts: Vec<Vec<(usize, f64)>>,
}

impl Items {
    fn new() -> Items {
        Items {
            cands: Vec::new(),
            opts: Vec::new(),
        }
    }

    /// Each item's band of capacities for a table over `0..=cap` needed from `need` up:
    /// (where its choices start, lowest, highest), from `need` less what the items after it
    /// weigh, up to what it and those before it weigh; and the cells of all bands.
    fn bands(&self, cap: usize, need: usize) -> (Vec<(usize, usize, usize)>, usize) {
        let heaviest = |o: &Vec<(usize, f64)>| o.iter().map(|&(w, _)| w).max().unwrap_or(0);
        let mut after = self
            .opts
            .iter()
            .fold(0usize, |s, o| s.saturating_add(heaviest(o)));
        let mut top = 0usize;
        let mut cells = 0usize;
        let mut bands = Vec::with_capacity(self.cands.len());
        for o in &self.opts {
            let w = heaviest(o);
            after -= w;
            let hi = top.saturating_add(w).min(cap);
            let lo = need.saturating_sub(after).min(hi);
            bands.push((cells, lo, hi));
            cells += hi - lo + 1;
            top = hi;
        }
        (bands, cells)
    }
}

/// The best profit of `items` within each capacity `need..=cap`, and each item's choice per
/// capacity (0: none, k + 1: option k) to walk back from.
///
/// Only the capacities that can still matter are computed: item `i` needs `need` minus what
/// the items after it can weigh and up to what it and those before it can weigh (above that
/// the best stays the same). When the items weigh little more than the budget, that is a
/// narrow band instead of the whole budget.
struct Table {
    best: Vec<f64>,
    /// Each item's choices over its band of capacities, one after another.
    choice: Vec<u8>,
    /// Per item: where its band starts in `choice`, and its lowest and highest capacity
    /// (above the highest the best is the same).
    bands: Vec<(usize, usize, usize)>,
}

impl Table {
    fn build(items: &Items, cap: usize, need: usize, deadline: Instant) -> Option<Table> {
        let (bands, start) = items.bands(cap, need);
        let mut best = vec![0.0f64; cap + 1];
        let mut next = vec![0.0f64; cap + 1];
        let mut choice = vec![0u8; start];
        let mut top = 0usize;
        for (i, (opts, &(start, lo, hi))) in items.opts.iter().zip(&bands).enumerate() {
            if i % 64 == 0 && Instant::now() >= deadline {
                return None;
            }
            // Above the last item's top the best is the same as at it.
            let flat = best[top];
            best[top..=hi].fill(flat);
            let band = &mut choice[start..=start + hi - lo];
            next[lo..=hi].copy_from_slice(&best[lo..=hi]);
            // `best` is nondecreasing in the capacity, so an option without profit never wins.
            for (k, &(weight, profit)) in opts.iter().enumerate() {
                if profit <= 0.0 || weight > hi {
                    continue;
                }
                let tag = k as u8 + 1;
                let from = lo.max(weight);
                let with = best[from - weight..=hi - weight].iter().map(|b| b + profit);
                for ((slot, pick), v) in next[from..=hi]
                    .iter_mut()
                    .zip(&mut band[from - lo..])
                    .zip(with)
                {
                    if v > *slot {
                        *slot = v;
                        *pick = tag;
                    }
                }
            }
            std::mem::swap(&mut best, &mut next);
            top = hi;
        }
        let flat = best[top];
        best[top..].fill(flat);
        Some(Table {
            best,
            choice,
            bands,
        })
    }

    /// Writes the items' choices for capacity `w` (at least the `need` built for) into `out`.
    fn walk_back(&self, items: &Items, mut w: usize, out: &mut [Option<usize>]) {
        for i in (0..items.cands.len()).rev() {
            let (start, lo, hi) = self.bands[i];
            w = w.min(hi);
            let pick = w.checked_sub(lo).map_or(0, |at| self.choice[start + at]);
            if pick > 0 {
                let k = usize::from(pick) - 1;
                out[items.cands[i]] = Some(k);
                w -= items.opts[i][k].0;
            }
        }
    }
}

/// Counts of stocked kits a table keeps exact: one digit per kit, each from 0 to the kits left
/// of it (a mixed-radix number, so a state is one index).
#[derive(Clone)]
struct Counts {
    limit: Vec<usize>,
    stride: Vec<usize>,
    /// How many states: the product of every limit + 1.
    size: usize,
}

impl Counts {
    fn new(limit: Vec<usize>) -> Counts {
        let mut stride = Vec::with_capacity(limit.len());
        let mut size = 1usize;
        for &l in &limit {
            stride.push(size);
            size = size.saturating_mul(l + 1);
        }
        Counts {
            limit,
            stride,
            size,
        }
    }

    /// The state with one more of kit `d` than `s`, if that is within its limit.
    fn bump(&self, s: usize, d: usize) -> Option<usize> {
        ((s / self.stride[d]) % (self.limit[d] + 1) < self.limit[d]).then(|| s + self.stride[d])
    }

    /// Every pair of states whose sum is within the limits, with that sum: in order of the
    /// first state, then the second.
    fn sums(&self) -> Vec<(usize, usize, usize)> {
        let digits = |s: usize| {
            (0..self.limit.len()).map(move |d| (s / self.stride[d]) % (self.limit[d] + 1))
        };
        let mut out = Vec::new();
        for a in 0..self.size {
            for b in 0..self.size {
                if digits(a)
                    .zip(digits(b))
                    .zip(&self.limit)
                    .all(|((x, y), &l)| x + y <= l)
                {
                    out.push((a, b, a + b));
                }
            }
        }
        out
    }
}

/// Like [`Table`], for items some of whose options take a kit whose stock is counted exactly:
/// the best profit with each state of [`Counts`] within each capacity `0..=cap`, and each
/// item's choice per (state, capacity).
struct CountTable {
    /// best[s·(cap + 1) + w]: most profit with exactly the counts `s` within capacity `w`
    /// (−∞ when none has them).
    best: Vec<f64>,
    /// Per item, per state, per capacity: 0 for none, k + 1 for option k.
    choice: Vec<u8>,
    cap: usize,
    states: usize,
    /// Per item: the highest capacity it was weighed at (above it, its choice is the same).
    his: Vec<usize>,
}

impl CountTable {
    /// `uses[i][k]`: the counted kit option `k` of item `i` takes, if any.
    fn build(
        items: &Items,
        uses: &[Vec<Option<usize>>],
        cap: usize,
        counts: &Counts,
        deadline: Instant,
    ) -> Option<CountTable> {
        let width = cap + 1;
        let layer = counts.size * width;
        let mut best = vec![f64::NEG_INFINITY; layer];
        best[..width].fill(0.0);
        let mut next = best.clone();
        // Per state: the least spend at which the items so far reach it (`width`: not yet).
        // Below it the state's best is −∞, which no option can improve on.
        let mut reach = vec![width; counts.size];
        reach[0] = 0;
        let mut reached = reach.clone();
        let mut choice = vec![0u8; items.cands.len() * layer];
        // As in [`Table`]: the items so far weigh at most `top`, above which every state's
        // best stays the same, so item `i` is only weighed up to its own `his[i]`.
        let mut top = 0usize;
        let mut his = Vec::with_capacity(items.cands.len());
        for (i, opts) in items.opts.iter().enumerate() {
            if i % 16 == 0 && Instant::now() >= deadline {
                return None;
            }
            let weighed = |&&(weight, profit): &&(usize, f64)| profit > 0.0 && weight <= cap;
            let heaviest = opts.iter().filter(weighed).map(|o| o.0).max().unwrap_or(0);
            let hi = (top + heaviest).min(cap);
            for s in 0..counts.size {
                let row = &mut best[s * width..(s + 1) * width];
                let flat = row[top];
                row[top..=hi].fill(flat);
                next[s * width..=s * width + hi].copy_from_slice(&row[..=hi]);
            }
            let picks = &mut choice[i * layer..(i + 1) * layer];
            reached.clone_from(&reach);
            for (k, &(weight, profit)) in opts.iter().enumerate() {
                if profit <= 0.0 || weight > cap {
                    continue;
                }
                for s in 0..counts.size {
                    let to_state = match uses[i][k] {
                        Some(d) => match counts.bump(s, d) {
                            Some(t) => t,
                            None => continue,
                        },
                        None => s,
                    };
                    let lo = reached[s].saturating_add(weight);
                    if lo > hi {
                        continue;
                    }
                    reach[to_state] = reach[to_state].min(lo);
                    let from = &best[s * width + lo - weight..=s * width + hi - weight];
                    let to = &mut next[to_state * width + lo..=to_state * width + hi];
                    let pick = &mut picks[to_state * width + lo..=to_state * width + hi];
                    let tag = k as u8 + 1;
                    for ((slot, p), &f) in to.iter_mut().zip(pick.iter_mut()).zip(from) {
                        let v = f + profit;
                        let better = v > *slot;
                        *slot = if better { v } else { *slot };
                        *p = if better { tag } else { *p };
                    }
                }
            }
            std::mem::swap(&mut best, &mut next);
            his.push(hi);
            top = hi;
        }
        for s in 0..counts.size {
            let row = &mut best[s * width..(s + 1) * width];
            let flat = row[top];
            row[top..].fill(flat);
        }
        Some(CountTable {
            best,
            choice,
            cap,
            states: counts.size,
            his,
        })
    }

    /// The best over every state within each capacity, and the state giving it.
    fn flat(&self) -> (Vec<f64>, Vec<usize>) {
        flat(&self.best, self.states, self.cap + 1)
    }

    /// Writes the items' choices for state `s` and capacity `w` into `out`.
    fn walk_back(
        &self,
        items: &Items,
        uses: &[Vec<Option<usize>>],
        counts: &Counts,
        mut s: usize,
        mut w: usize,
        out: &mut [Option<usize>],
    ) {
        let width = self.cap + 1;
        let layer = self.states * width;
        for i in (0..items.cands.len()).rev() {
            w = w.min(self.his[i]);
            let pick = self.choice[i * layer + s * width + w];
            if pick > 0 {
                let k = usize::from(pick) - 1;
                out[items.cands[i]] = Some(k);
                w -= items.opts[i][k].0;
                if let Some(d) = uses[i][k] {
                    s -= counts.stride[d];
                }
            }
        }
    }
}

/// The spends where a table's best value per spend improves (and 0): the only ones worth
/// merging, since a larger spend for the same value never does better.
fn improving(best: &[f64]) -> Vec<usize> {
    (0..best.len())
        .filter(|&t| t == 0 || best[t] > best[t - 1])
        .collect()
}

/// The best of `best` (`states` rows of `width` values) over every state at each column, and
/// the state giving it (the first).
fn flat(best: &[f64], states: usize, width: usize) -> (Vec<f64>, Vec<usize>) {
    let mut top = vec![f64::NEG_INFINITY; width];
    let mut state = vec![0usize; width];
    for s in 0..states {
        for (w, &v) in best[s * width..(s + 1) * width].iter().enumerate() {
            if v > top[w] {
                top[w] = v;
                state[w] = s;
            }
        }
    }
    (top, state)
}

/// A table merged into the total: a capped city's, a counted kit's (with the state giving each
/// spend's best), or the groups sharing counts merged together.
enum Part {
    City(Table),
    Kit(CountTable, Vec<f64>, Vec<usize>),
    Joint(Joint, Vec<f64>, Vec<usize>),
}

impl Part {
    fn best(&self) -> &[f64] {
        match self {
            Part::City(t) => &t.best,
            Part::Kit(_, flat, _) | Part::Joint(_, flat, _) => flat,
        }
    }
}

/// A group merged into the total: its row, capacity in units, items, and when it counts kits,
/// the kit each item's options take and the counts (kept across tables when `shared`, else
/// its own).
struct Group {
    row: usize,
    cap: usize,
    items: Items,
    counted: Option<Counted>,
}

/// The counts a group keeps: per item and option, the counted kit it takes.
struct Counted {
    uses: Vec<Vec<Option<usize>>>,
    counts: Counts,
    shared: bool,
}

/// The tightest row that charges every option its whole cost: `budget.total`, or the funders
/// together when they have less money.
fn whole_budget(m: &Model) -> Option<usize> {
    let whole = |r: usize| {
        m.cands
            .iter()
            .all(|cand| cand.opts.iter().all(|o| m.coef_in(o, r) == o.cost))
    };
    (0..m.nrows())
        .filter(|&r| matches!(m.rows[r].kind, RowKind::Total | RowKind::Funders(_)))
        .filter(|&r| whole(r))
        .min_by_key(|&r| (m.rows[r].b, r))
}

fn gcd(a: i64, b: i64) -> i64 {
    if b == 0 {
        a.abs()
    } else {
        gcd(b, a % b)
    }
}

/// A second money row kept exact, and the candidates it charges differently from the whole
/// row (with every free candidate of their city, when that city is capped). Every option of
/// theirs costs `a` in the whole row and `b ≤ a` in the second (for an earmarked regional kit
/// budget: the whole grant, and its cash part).
struct Pair {
    row: usize,
    /// The capped city all of whose free candidates are in the table, if any.
    city: Option<usize>,
    members: Vec<bool>,
    /// Most the members may spend in the whole row (and their city's cap) and in the second
    /// row, in MAD.
    room: (i64, i64),
}

/// Items of the pair: per candidate, its options as (MAD in the whole row, MAD in the second
/// row, profit).
struct PairItems {
    cands: Vec<usize>,
    opts: Vec<Vec<(i64, i64, f64)>>,
}

/// A choice of the pair's items so far: its spend in both rows, its profit, and how it was
/// reached (index in the previous layer, option + 1 or 0 for none).
#[derive(Clone, Copy)]
struct Node {
    a: i64,
    b: i64,
    v: f64,
    from: u32,
    pick: u8,
}

/// Every choice of the pair's items that no other beats on both spends and profit, built item
/// by item (a Pareto knapsack: a few thousand points where a table would need millions of
/// cells), and the best profit within each second-row spend.
struct PairFront {
    layers: Vec<Vec<Node>>,
    /// Final nodes in order of second-row spend, each with the best profit (and its node) at
    /// that spend or less.
    edge: Vec<(i64, f64, u32)>,
}

impl PairFront {
    fn build(items: &PairItems, room: (i64, i64), deadline: Instant) -> Option<PairFront> {
        let mut layers = vec![vec![Node {
            a: 0,
            b: 0,
            v: 0.0,
            from: 0,
            pick: 0,
        }]];
        let mut next = Vec::new();
        let mut stair: BTreeMap<i64, f64> = BTreeMap::new();
        for opts in &items.opts {
            if Instant::now() >= deadline {
                return None;
            }
            let last = layers.last()?;
            next.clear();
            for (i, n) in last.iter().enumerate() {
                let from = u32::try_from(i).ok()?;
                next.push(Node {
                    from,
                    pick: 0,
                    ..*n
                });
                for (k, &(a, b, profit)) in opts.iter().enumerate() {
                    let (a, b) = (n.a + a, n.b + b);
                    if profit > 0.0 && a <= room.0 && b <= room.1 {
                        let pick = k as u8 + 1;
                        next.push(Node {
                            a,
                            b,
                            v: n.v + profit,
                            from,
                            pick,
                        });
                    }
                }
            }
            if next.len() > MAX_PAIR_NODES {
                return None;
            }
            next.sort_unstable_by(|x, y| {
                (x.a, x.b)
                    .cmp(&(y.a, y.b))
                    .then(y.v.total_cmp(&x.v))
                    .then((x.from, x.pick).cmp(&(y.from, y.pick)))
            });
            // In that order a node is beaten exactly when one before it, spending no more in
            // the second row, has at least its profit: the staircase of the best profit by
            // second-row spend answers that.
            stair.clear();
            let mut layer = Vec::new();
            for n in &next {
                let below = stair
                    .range(..=n.b)
                    .next_back()
                    .map_or(f64::NEG_INFINITY, |e| *e.1);
                if below >= n.v {
                    continue;
                }
                layer.push(*n);
                let beaten: Vec<i64> = stair
                    .range(n.b..)
                    .take_while(|e| *e.1 <= n.v)
                    .map(|e| *e.0)
                    .collect();
                for b in beaten {
                    stair.remove(&b);
                }
                stair.insert(n.b, n.v);
            }
            layers.push(layer);
        }
        let last = layers.last()?;
        let mut order: Vec<u32> = (0..u32::try_from(last.len()).ok()?).collect();
        order.sort_unstable_by_key(|&i| (last[i as usize].b, i));
        let mut edge = Vec::with_capacity(order.len());
        let mut top = (f64::NEG_INFINITY, 0);
        for i in order {
            let n = &last[i as usize];
            if n.v > top.0 {
                top = (n.v, i);
            }
            edge.push((n.b, top.0, top.1));
        }
        Some(PairFront { layers, edge })
    }

    /// The best profit (and its node) spending at most `a` in the whole row and `b` in the
    /// second; `None` when not even the empty choice fits.
    fn within(&self, a: i64, b: i64, room: i64) -> Option<(f64, u32)> {
        let at = self.edge.partition_point(|e| e.0 <= b).checked_sub(1)?;
        let (_, v, i) = self.edge[at];
        if a >= room {
            return Some((v, i));
        }
        let last = self.layers.last()?;
        let mut top = None::<(f64, u32)>;
        for (i, n) in last.iter().enumerate() {
            if n.a <= a && n.b <= b && top.is_none_or(|t| n.v > t.0) {
                top = Some((n.v, i as u32));
            }
        }
        top
    }

    /// Writes the choices leading to final node `i` into `out`.
    fn walk_back(&self, items: &PairItems, mut i: u32, out: &mut [Option<usize>]) {
        for (layer, c) in self.layers[1..].iter().zip(&items.cands).rev() {
            let n = layer[i as usize];
            if n.pick > 0 {
                out[*c] = Some(usize::from(n.pick) - 1);
            }
            i = n.from;
        }
    }
}

/// The binding funder row worth keeping exact beside `whole`: every free candidate it charges
/// differently from `whole` (never more) lives in one capped city, all of whose free
/// candidates join the table, or in no capped city; and the table fits. The row contributing
/// most to the priced bound wins.
fn second_row(m: &Model, rows: &Rows, lambda: &[f64]) -> Option<Pair> {
    let Rows {
        total: whole,
        ref city_row,
        ref kept,
        ref left,
        ref free,
        ..
    } = *rows;
    let free: Vec<usize> = (0..m.cands.len()).filter(|&c| free[c]).collect();
    let mut best: Option<(f64, Pair)> = None;
    for s in 0..m.nrows() {
        let worth = lambda[s] * m.b_s[s];
        if s == whole
            || !matches!(m.rows[s].kind, RowKind::Total | RowKind::Funders(_))
            || lambda[s] <= 1e-9
            || left[s] < 0
            || best.as_ref().is_some_and(|(w, _)| *w >= worth)
        {
            continue;
        }
        let mut city = None;
        let mut loose = false;
        let mut differ = vec![false; m.cands.len()];
        let fits = free.iter().all(|&c| {
            let parts = m.cands[c]
                .opts
                .iter()
                .map(|o| (m.coef_in(o, whole), m.coef_in(o, s)));
            if parts.clone().all(|(a, b)| a == b) {
                return true;
            }
            if parts.clone().any(|(a, b)| b < 0 || b > a) {
                return false;
            }
            differ[c] = true;
            match city_row[c].filter(|&r| kept[r]) {
                Some(r) if !loose && city.is_none_or(|x| x == r) => {
                    city = Some(r);
                    true
                }
                None if city.is_none() => {
                    loose = true;
                    true
                }
                _ => false,
            }
        });
        if !fits {
            continue;
        }
        let members: Vec<bool> = match city {
            Some(r) => (0..m.cands.len())
                .map(|c| differ[c] || (city_row[c] == Some(r) && rows.free[c]))
                .collect(),
            None => differ,
        };
        let room = city.map_or(left[whole], |r| left[r].min(left[whole]));
        let clamp = |x: i128| i64::try_from(x).unwrap_or(i64::MAX);
        let pair = Pair {
            row: s,
            city,
            members,
            room: (clamp(room), clamp(room.min(left[s]))),
        };
        best = Some((worth, pair));
    }
    best.map(|(_, p)| p)
}

/// The knapsack bound at prices `lambda` over the allocations `allowed` (free candidates,
/// held ones, and those that must be served), or `None` when the programme has no
/// total budget, is too large for the tables, or time runs out.
#[cfg(test)]
pub(crate) fn bound(
    m: &Model,
    allowed: &[Allowed],
    lambda: &[f64],
    deadline: Instant,
) -> Option<Knapsack> {
    bound_within(m, allowed, lambda, deadline, MAX_CELLS)
}

/// [`bound`] with tables of at most `max_cells` cells (none when they would be larger).
pub(crate) fn bound_within(
    m: &Model,
    allowed: &[Allowed],
    lambda: &[f64],
    deadline: Instant,
    max_cells: usize,
) -> Option<Knapsack> {
    let mut rows = Rows::new(m, allowed)?;
    rows.max_cells = max_cells.min(MAX_CELLS);
    let pair = second_row(m, &rows, lambda);
    // A pair with too many best choices is priced instead.
    let (first, _) = first(m, allowed, lambda, deadline, &rows, pair)?;
    Some(first)
}

/// The knapsack at `lambda`, with `pair` kept exact if its table fits (the pair is returned
/// when it was kept).
fn first(
    m: &Model,
    allowed: &[Allowed],
    lambda: &[f64],
    deadline: Instant,
    rows: &Rows,
    pair: Option<Pair>,
) -> Option<(Knapsack, Option<Pair>)> {
    if let Some(p) = pair {
        if let Some(k) = tables(m, allowed, lambda, deadline, rows, Some(&p), false) {
            return Some((k, Some(p)));
        }
    }
    Some((
        tables(m, allowed, lambda, deadline, rows, None, false)?,
        None,
    ))
}

/// The knapsack bound with the priced rows' prices improved from `lambda` (see
/// [`lagrange::descend`], watched by `watch`), and those prices.
pub(crate) fn improved(
    m: &Model,
    allowed: &[Allowed],
    lambda: &[f64],
    cap: f64,
    watch: &mut Watch,
) -> Option<(Knapsack, Vec<f64>)> {
    let deadline = watch.deadline;
    let mut rows = Rows::new(m, allowed)?;
    // At least a few evaluations' worth of cells per table.
    rows.max_cells = (watch.cells / 8).min(MAX_CELLS);
    let pair = second_row(m, &rows, lambda);
    let (at_lambda, pair) = first(m, allowed, lambda, deadline, &rows, pair)?;
    // A descent of a few dozen knapsacks pays on small programmes; on large ones each table
    // costs more and the LP gap is smaller: as many evaluations as the cells allow.
    let evaluations = watch.cells / at_lambda.cells.max(1);
    if evaluations < 4 {
        return Some((at_lambda, lambda.to_vec()));
    }
    watch.evaluations = watch.evaluations.min(evaluations);
    let mut moved = lagrange::used_rows(m, allowed);
    for (r, kept) in rows.kept.iter().enumerate() {
        moved[r] &= !kept && pair.as_ref().is_none_or(|p| p.row != r);
    }
    let point = |k: Knapsack| Point {
        bound: k.bound,
        state: State::new(m, k.choice),
    };
    let start = point(at_lambda);
    let descent = lagrange::descend(m, &moved, lambda, cap, watch, start, |mu| {
        Some(point(tables(
            m,
            allowed,
            mu,
            deadline,
            &rows,
            pair.as_ref(),
            false,
        )?))
    });
    let knapsack = Knapsack {
        bound: descent.best.bound,
        choice: descent.best.state.choice,
        cells: 0,
        work: 0,
    };
    Some((knapsack, descent.prices))
}

/// An allocation from the knapsack that keeps every stock row it can exact: the candidates
/// of capped cities who could take a kit with a stock are held at their choice in
/// `incumbent`, so each kit's stock is counted exactly for the others, and not priced. The
/// total budget and the city caps hold; the other rows are priced at `lambda` and may break
/// (the caller checks); its `bound` is not one. `None` when the tables do not fit or time
/// runs out.
pub(crate) fn primal(
    m: &Model,
    allowed: &[Allowed],
    lambda: &[f64],
    incumbent: &[Option<usize>],
    deadline: Instant,
    max_cells: usize,
) -> Option<Knapsack> {
    let rows = Rows::new(m, allowed)?;
    let stock: Vec<usize> = (0..m.nrows())
        .filter(|&r| matches!(m.rows[r].kind, RowKind::Stock(_)))
        .collect();
    let mut held = allowed.to_vec();
    for (c, a) in held.iter_mut().enumerate() {
        let capped = rows.city_row[c].is_some_and(|r| rows.kept[r]);
        let kit = || {
            m.cands[c]
                .opts
                .iter()
                .any(|o| stock.iter().any(|&r| m.coef_in(o, r) != 0))
        };
        if a.is_open() && capped && kit() {
            *a = Allowed::Forced(incumbent[c]);
        }
    }
    let mut rows = Rows::new(m, &held)?;
    rows.max_cells = max_cells.min(MAX_CELLS);
    tables(m, &held, lambda, deadline, &rows, None, true)
}

/// The rows as the held candidates leave them, and which of them the tables keep exact.
struct Rows {
    /// The whole-cost row the tables are over.
    total: usize,
    /// Per candidate and option: its weight in `total`.
    weight: Vec<Vec<i64>>,
    /// Per candidate: its capped city's row.
    city_row: Vec<Option<usize>>,
    /// What the held candidates leave of each row.
    left: Vec<i128>,
    /// `total` and the city caps nested in it.
    kept: Vec<bool>,
    /// Candidates free to choose.
    free: Vec<bool>,
    /// The held candidates' choices.
    held: Vec<Option<usize>>,
    /// Most cells of the tables (none are built beyond it); see [`MAX_CELLS`].
    max_cells: usize,
}

impl Rows {
    fn new(m: &Model, allowed: &[Allowed]) -> Option<Rows> {
        let total = whole_budget(m)?;
        let n = m.cands.len();
        // Per option: its weight in the total row; city rows nest when they weigh the same.
        let mut weight = vec![Vec::new(); n];
        let mut city_row = vec![None; n];
        let mut nests = vec![true; m.nrows()];
        for (c, cand) in m.cands.iter().enumerate() {
            if cand.opts.len() >= usize::from(u8::MAX) {
                return None;
            }
            for o in &cand.opts {
                let w = m.coef_in(o, total);
                if w < 0 {
                    return None;
                }
                weight[c].push(w);
                for k in o.start..o.end {
                    let r = m.row_of[k] as usize;
                    if matches!(m.rows[r].kind, RowKind::City(_)) {
                        nests[r] &= m.coef[k] == w && city_row[c].is_none_or(|x| x == r);
                        city_row[c] = Some(r);
                    }
                }
            }
        }
        let held = State::held(m, allowed);
        let left: Vec<i128> = m
            .rows
            .iter()
            .zip(&held.usage)
            .map(|(r, u)| i128::from(r.b) - u)
            .collect();
        let kept = (0..m.nrows())
            .map(|r| {
                r == total
                    || (nests[r] && matches!(m.rows[r].kind, RowKind::City(_)) && left[r] >= 0)
            })
            .collect();
        Some(Rows {
            total,
            weight,
            city_row,
            left,
            kept,
            // A candidate that must be served is free to choose, with a bonus that makes
            // every allocation leaving it out worse than any that serves it (see
            // `tables_counting`).
            free: allowed.iter().map(|a| a.is_open()).collect(),
            held: held.choice,
            max_cells: MAX_CELLS,
        })
    }
}

/// A kit whose stock is counted exactly in the tables: its row, the free candidates outside
/// the capped cities and the pair who could take it, the capacity of their table in units and
/// how many kits are left.
struct CountedKit {
    row: usize,
    members: Vec<bool>,
    cap: usize,
    limit: usize,
}

/// Most cells of one counted kit's table (items × (kits + 1) × capacity).
const MAX_KIT_CELLS: usize = 3_000_000;

/// The stock rows worth counting exactly: every free candidate outside `elsewhere` (capped
/// cities, the pair) who could take the kit takes at most one of it and uses no other stock
/// row, and the table fits. Those candidates' use of the kit stays priced too; the table
/// only adds that they alone cannot take more than the stock left, a valid (and, when the
/// capped cities rarely want the kit, nearly exact) constraint. With `across`, the capped
/// cities' candidates (`also`) are counted too, so a kit is worth counting when all of them
/// together could take more than the stock, even if the others alone could not.
fn counted_kits(
    m: &Model,
    free: &[usize],
    left: &[i128],
    cap: usize,
    unit: i64,
    elsewhere: &dyn Fn(usize) -> bool,
    also: Option<&dyn Fn(usize) -> bool>,
) -> Vec<CountedKit> {
    let stock: Vec<usize> = (0..m.nrows())
        .filter(|&r| matches!(m.rows[r].kind, RowKind::Stock(_)) && left[r] >= 0)
        .collect();
    let mut taken = vec![false; m.cands.len()];
    let mut out = Vec::new();
    for &r in &stock {
        let users: Vec<usize> = free
            .iter()
            .copied()
            .filter(|&c| !elsewhere(c))
            .filter(|&c| m.cands[c].opts.iter().any(|o| m.coef_in(o, r) != 0))
            .collect();
        let alone = users.iter().all(|&c| {
            !taken[c]
                && m.cands[c].opts.iter().all(|o| {
                    stock
                        .iter()
                        .all(|&s| matches!((s == r, m.coef_in(o, s)), (true, 0 | 1) | (false, 0)))
                })
        });
        let wanted_also = also.map_or(0, |also| {
            free.iter()
                .filter(|&&c| also(c))
                .filter(|&&c| m.cands[c].opts.iter().any(|o| m.coef_in(o, r) != 0))
                .count()
        });
        let left_r = usize::try_from(left[r]).unwrap_or(usize::MAX);
        let limit = left_r.min(users.len());
        if !alone || left_r >= users.len() + wanted_also || (users.is_empty() && wanted_also == 0) {
            continue;
        }
        let heaviest: i64 = users
            .iter()
            .map(|&c| m.cands[c].opts.iter().map(|o| o.cost).max().unwrap_or(0))
            .sum();
        let table_cap = usize::try_from(heaviest / unit)
            .unwrap_or(usize::MAX)
            .min(cap);
        let cells = users
            .len()
            .saturating_mul(limit + 1)
            .saturating_mul(table_cap + 1);
        if cells > MAX_KIT_CELLS {
            continue;
        }
        let mut members = vec![false; m.cands.len()];
        for &c in &users {
            members[c] = true;
            taken[c] = true;
        }
        out.push(CountedKit {
            row: r,
            members,
            cap: table_cap,
            limit,
        });
    }
    out
}

/// Most states of the kit counts kept across the capped cities and the counted kits' tables.
const MAX_STATES: usize = 16;
/// Most open candidates for counting stocks across the capped cities: on larger programmes
/// their merges cost more than the bound gains (generated 1,000-applicant programmes: the
/// same allocations and work, the root up to twice as slow).
const MAX_ACROSS: usize = 300;

/// The knapsack over `rows`, with `pair` kept exact too if given. With `primal`, the counted
/// kits' rows are not priced (their count is exact there): the allocation is what counts,
/// not the bound, which is then not valid.
///
/// On programmes of up to [`MAX_ACROSS`] open candidates, the counted kits whose stock the
/// capped cities' candidates want too (up to [`MAX_STATES`] states of their counts) are
/// counted across the cities' tables as well, so their stock holds for everyone outside the
/// pair; when those tables do not fit, the cities price them as before.
fn tables(
    m: &Model,
    allowed: &[Allowed],
    lambda: &[f64],
    deadline: Instant,
    rows: &Rows,
    pair: Option<&Pair>,
    primal: bool,
) -> Option<Knapsack> {
    let across = rows.free.iter().filter(|&&f| f).count() <= MAX_ACROSS;
    match tables_counting(m, allowed, lambda, deadline, rows, pair, primal, across) {
        Err(Overflow) => tables_counting(m, allowed, lambda, deadline, rows, pair, primal, false)
            .ok()
            .flatten(),
        Ok(k) => k,
    }
}

/// The tables counting kits across cities would be larger than allowed.
struct Overflow;

/// The counted kits the capped cities' candidates want too, to count across the tables: the
/// highest priced first, each up to its stock left (or its users), while their states fit in
/// [`MAX_STATES`]. Their indexes in `kits`, and their limits.
fn shared_kits(
    m: &Model,
    kits: &[CountedKit],
    free: &[usize],
    in_city: &dyn Fn(usize) -> bool,
    left: &[i128],
    lambda: &[f64],
) -> (Vec<usize>, Vec<usize>) {
    // Whether candidate `c` has an option taking kit `k`.
    let wants = |c: usize, k: &CountedKit| m.cands[c].opts.iter().any(|o| m.coef_in(o, k.row) > 0);
    let wanted_in_cities =
        |k: &CountedKit| free.iter().filter(|&&c| in_city(c)).any(|&c| wants(c, k));
    let mut order: Vec<usize> = (0..kits.len())
        .filter(|&k| wanted_in_cities(&kits[k]))
        .collect();
    order.sort_by(|&a, &b| {
        lambda[kits[b].row]
            .total_cmp(&lambda[kits[a].row])
            .then(a.cmp(&b))
    });
    let mut shared: Vec<usize> = Vec::new();
    let mut limits: Vec<usize> = Vec::new();
    let mut states = 1usize;
    for k in order {
        let users = free
            .iter()
            .filter(|&&c| (kits[k].members[c] || in_city(c)) && wants(c, &kits[k]))
            .count();
        let limit = usize::try_from(left[kits[k].row])
            .unwrap_or(usize::MAX)
            .min(users);
        if states.saturating_mul(limit + 1) <= MAX_STATES {
            states *= limit + 1;
            shared.push(k);
            limits.push(limit);
        }
    }
    (shared, limits)
}

#[allow(clippy::too_many_arguments)]
fn tables_counting(
    m: &Model,
    allowed: &[Allowed],
    lambda: &[f64],
    deadline: Instant,
    rows: &Rows,
    pair: Option<&Pair>,
    primal: bool,
    across: bool,
) -> Result<Option<Knapsack>, Overflow> {
    let Rows {
        total,
        ref weight,
        ref city_row,
        ref left,
        ..
    } = *rows;
    let n = m.cands.len();
    let mut choice = rows.held.clone();
    let mut kept = rows.kept.clone();
    let free: Vec<usize> = (0..n).filter(|&c| rows.free[c]).collect();
    let in_pair = |c: usize| pair.is_some_and(|p| p.members[c]);
    let second = pair.map_or(total, |p| p.row);
    kept[second] = true;
    let mut priced: Vec<f64> = lambda
        .iter()
        .zip(&kept)
        .map(|(&l, &k)| if k { 0.0 } else { l })
        .collect();
    let mut bound: f64 = m.b_s.iter().zip(&priced).map(|(b, l)| b * l).sum();
    for (c, a) in allowed.iter().enumerate() {
        if let Allowed::Forced(Some(o)) = *a {
            bound += m.profit(c, o, &priced);
        }
    }

    // One unit for the main items and the nested cities: whatever divides all their weights.
    let unit = (0..n)
        .filter(|&c| !in_pair(c))
        .flat_map(|c| &weight[c])
        .fold(0, |g, &w| gcd(g, w));
    if unit == 0 {
        return Ok(None);
    }
    let units = |b: i128, unit: i64| usize::try_from(b / i128::from(unit)).ok();
    let Some(room) = units(left[total].min(left[second]), unit) else {
        return Ok(None);
    };
    let cap = room.min(usize::MAX / 2);
    let pair_city = pair.and_then(|p| p.city);
    // Each capped city outside the pair: its row, its capacity in units, its items.
    let Some(mut groups) = (0..m.nrows())
        .filter(|&r| kept[r] && r != total && r != second && Some(r) != pair_city)
        .map(|r| {
            Some(Group {
                row: r,
                cap: units(left[r], unit)?.min(cap),
                items: Items::new(),
                counted: None,
            })
        })
        .collect::<Option<Vec<_>>>()
    else {
        return Ok(None);
    };
    let in_city = |c: usize| city_row[c].is_some_and(|r| groups.iter().any(|g| g.row == r));
    let also = |c: usize| in_city(c) && !in_pair(c);
    let kits = counted_kits(
        m,
        &free,
        left,
        cap,
        unit,
        &|c| in_pair(c) || in_city(c),
        across.then_some(&also as &dyn Fn(usize) -> bool),
    );
    let (shared, limits) = if across {
        shared_kits(m, &kits, &free, &in_city, left, lambda)
    } else {
        (Vec::new(), Vec::new())
    };
    let across_counts = Counts::new(limits);
    // A kit counted only for the capped cities' sake but not shared counts nothing.
    let useful: Vec<bool> = (0..kits.len())
        .map(|k| {
            let members = kits[k].members.iter().filter(|&&x| x).count();
            shared.contains(&k) || kits[k].limit < members
        })
        .collect();
    let kit_of = |c: usize| (0..kits.len()).find(|&k| useful[k] && kits[k].members[c]);
    // The shared kit an option takes (the first, when it takes several: counting fewer uses
    // than there are only loosens the count).
    let shared_use =
        |o: &super::model::Opt| shared.iter().position(|&k| m.coef_in(o, kits[k].row) > 0);
    if primal {
        for (k, _) in kits.iter().zip(&useful).filter(|(_, &u)| u) {
            priced[k.row] = 0.0;
        }
    }
    // The capped cities some of whose candidates want a shared kit count it too.
    for g in &mut groups {
        let wants = free
            .iter()
            .filter(|&&c| city_row[c] == Some(g.row))
            .any(|&c| m.cands[c].opts.iter().any(|o| shared_use(o).is_some()));
        if wants {
            g.counted = Some(Counted {
                uses: Vec::new(),
                counts: across_counts.clone(),
                shared: true,
            });
        }
    }
    let first_kit = groups.len();
    for (i, k) in kits.iter().enumerate() {
        let counts = match shared.iter().position(|&s| s == i) {
            Some(_) => (across_counts.clone(), true),
            None => (Counts::new(vec![k.limit]), false),
        };
        groups.push(Group {
            row: k.row,
            cap: if useful[i] { k.cap } else { 0 },
            items: Items::new(),
            counted: useful[i].then(|| Counted {
                uses: Vec::new(),
                counts: counts.0,
                shared: counts.1,
            }),
        });
    }
    let mut cells = 0usize;
    let mut main = Items::new();
    let mut pair_items = PairItems {
        cands: Vec::new(),
        opts: Vec::new(),
    };
    // A candidate that must be served gets `must` more for each option, taken back from the
    // bound (see `lp::must_bonus`).
    let must = lp::must_bonus(m, allowed, &priced);
    for &c in &free {
        let bonus = if allowed[c] == Allowed::Served {
            bound -= must;
            must
        } else {
            0.0
        };
        let profits: Vec<f64> = (0..m.cands[c].opts.len())
            .map(|k| m.profit(c, k, &priced) + bonus)
            .collect();
        if profits.iter().all(|&p| p <= 0.0) {
            continue;
        }
        if let Some(p) = pair.filter(|p| p.members[c]) {
            let opts = m.cands[c].opts.iter().zip(&profits);
            pair_items.cands.push(c);
            pair_items.opts.push(
                opts.map(|(o, &profit)| (m.coef_in(o, total), m.coef_in(o, p.row), profit))
                    .collect(),
            );
            continue;
        }
        let Some(opts) = weight[c]
            .iter()
            .zip(&profits)
            .map(|(&w, &profit)| Some((units(i128::from(w), unit)?, profit)))
            .collect::<Option<Vec<(usize, f64)>>>()
        else {
            return Ok(None);
        };
        let group = match kit_of(c) {
            Some(k) => groups.get_mut(first_kit + k),
            None => city_row[c].and_then(|r| groups.iter_mut().find(|g| g.row == r)),
        };
        let items = match group {
            Some(g) => {
                let per_item = match &mut g.counted {
                    Some(counted) => {
                        let opts = m.cands[c].opts.iter();
                        counted.uses.push(match (counted.shared, kit_of(c)) {
                            // A counted kit's own table: the one digit of its kit.
                            (false, Some(k)) => {
                                let row = kits[k].row;
                                opts.map(|o| (m.coef_in(o, row) > 0).then_some(0)).collect()
                            }
                            _ => opts.map(shared_use).collect(),
                        });
                        counted.counts.size.saturating_mul(g.cap + 1)
                    }
                    None => g.cap + 1,
                };
                cells = cells.saturating_add(per_item);
                &mut g.items
            }
            None => &mut main,
        };
        items.cands.push(c);
        items.opts.push(opts);
    }
    // The groups sharing counts are merged among themselves first into one part (the best
    // per spend over every state within the stocks); the others are parts of their own.
    let shared_groups: Vec<usize> = (0..groups.len())
        .filter(|&g| groups[g].counted.as_ref().is_some_and(|c| c.shared))
        .collect();
    let mut entries: Vec<Entry> = (0..groups.len())
        .filter(|g| !shared_groups.contains(g))
        .map(|g| Entry {
            cap: groups[g].cap,
            groups: vec![g],
        })
        .collect();
    let sums = across_counts.sums();
    if !shared_groups.is_empty() {
        let joint_cap = shared_groups
            .iter()
            .fold(0usize, |sum, &g| sum.saturating_add(groups[g].cap))
            .min(cap);
        entries.push(Entry {
            cap: joint_cap,
            groups: shared_groups.clone(),
        });
    }
    // Below what the cities and the pair can spend together, more for the rest is never
    // worse: only spends from `need[e]` up matter after merging the first `e` parts.
    let Some(pair_units) = pair.map_or(Some(0), |p| {
        usize::try_from((i128::from(p.room.0) + i128::from(unit) - 1) / i128::from(unit)).ok()
    }) else {
        return Ok(None);
    };
    let mut need = vec![cap.saturating_sub(pair_units)];
    for e in entries.iter().rev() {
        need.push(need[need.len() - 1].saturating_sub(e.cap));
    }
    need.reverse();
    let cells = cells.saturating_add(main.bands(cap, need[0]).1);
    // Merging part `e` tries each of its spends against the spends from `need[e + 1]` up.
    let merge = entries
        .iter()
        .zip(&need[1..])
        .fold(0usize, |sum, (e, &lo)| {
            sum.saturating_add((e.cap + 1).saturating_mul(cap - lo + 1))
        });
    let merge_cap = MAX_MERGE / MAX_CELLS * rows.max_cells;
    if cells > rows.max_cells || merge > merge_cap {
        return if shared.is_empty() {
            Ok(None)
        } else {
            Err(Overflow)
        };
    }
    // The joint part first, so that when its own merges, as taken (only at the spends where
    // a table improves: a bound before building its tables, every pair of spends, is a
    // hundred times more), exceed what the merges into the total leave of the limit, nothing
    // else has been built for nothing.
    let mut joint = match entries.last().filter(|e| e.groups.len() > 1) {
        Some(entry) => {
            let budget = merge_cap - merge;
            match Joint::build(
                &groups,
                &entry.groups,
                (&across_counts, &sums),
                entry.cap,
                budget,
                deadline,
            )? {
                Some(j) => Some(j),
                None => return Ok(None),
            }
        }
        None => None,
    };
    let joint_work = joint.as_ref().map_or(0, |j| j.work);
    let Some(table) = Table::build(&main, cap, need[0], deadline) else {
        return Ok(None);
    };
    let mut best = table.best.clone();
    // Merge each part: its best value per spend, at the spends where it improves.
    let mut merged = Vec::new();
    let mut merged_steps = 0usize;
    for (e, entry) in entries.iter().enumerate() {
        let part = match entry.groups[..] {
            [g] => {
                let group = &groups[g];
                match &group.counted {
                    Some(counted) => {
                        let Some(t) = CountTable::build(
                            &group.items,
                            &counted.uses,
                            group.cap,
                            &counted.counts,
                            deadline,
                        ) else {
                            return Ok(None);
                        };
                        let (flat, state) = t.flat();
                        Part::Kit(t, flat, state)
                    }
                    None => match Table::build(&group.items, group.cap, 0, deadline) {
                        Some(t) => Part::City(t),
                        None => return Ok(None),
                    },
                }
            }
            _ => match joint.take() {
                Some(j) => {
                    merged_steps = merged_steps.saturating_add(j.work);
                    let (flat, state) = j.flat();
                    Part::Joint(j, flat, state)
                }
                None => return Ok(None),
            },
        };
        if Instant::now() >= deadline {
            return Ok(None);
        }
        let part_best = part.best();
        let steps = improving(part_best);
        let mut next = vec![f64::NEG_INFINITY; cap + 1];
        let lo = need[e + 1];
        merged_steps = merged_steps.saturating_add(steps.len().saturating_mul(cap - lo + 1));
        // Only the best per spend here (a loop without branches); which spend of the part
        // gives it is found again for the one total the walk back comes through.
        for &t in &steps {
            let from = lo.max(t);
            let with = best[from - t..=cap - t].iter().map(|b| b + part_best[t]);
            for (slot, v) in next[from..].iter_mut().zip(with) {
                *slot = if v > *slot { v } else { *slot };
            }
        }
        let before = std::mem::replace(&mut best, next);
        merged.push((part, steps, lo, before));
    }
    // The pair's best choices, looked up with what each spend of the rest leaves of both rows.
    let front = match pair {
        Some(p) => match PairFront::build(&pair_items, p.room, deadline) {
            Some(f) => Some((f, p.room.0)),
            None => return Ok(None),
        },
        None => None,
    };
    let mut top = (f64::NEG_INFINITY, 0, 0);
    let lo = need[entries.len()];
    for (w, v) in best.iter().enumerate().skip(lo) {
        let used = w as i128 * i128::from(unit);
        let (extra, at) = match &front {
            Some((f, room)) => {
                let clamp = |x: i128| i64::try_from(x).unwrap_or(i64::MAX);
                let b = clamp(left[second] - used);
                // The best at the pair's whole room bounds every lookup; only scan when it
                // could win.
                match f.within(*room, b, *room) {
                    Some((most, _)) if v + most > top.0 => {
                        f.within(clamp(left[total] - used), b, *room)
                    }
                    _ => None,
                }
                .unwrap_or((f64::NEG_INFINITY, 0))
            }
            None => (0.0, 0),
        };
        if v + extra > top.0 {
            top = (v + extra, w, at);
        }
    }
    bound += top.0;

    let mut w = top.1;
    if let Some((f, _)) = &front {
        f.walk_back(&pair_items, top.2, &mut choice);
    }
    for (entry, (part, steps, lo, before)) in entries.iter().zip(&merged).rev() {
        // The first of the part's spends (in order) to reach the best at `w`, as the merge
        // compared them (none below `lo`, where it merged nothing).
        let mut t = 0;
        let mut most = f64::NEG_INFINITY;
        let merged_here = w >= *lo;
        for &s in steps.iter().take_while(|&&s| merged_here && s <= w) {
            let v = before[w - s] + part.best()[s];
            if v > most {
                most = v;
                t = s;
            }
        }
        let group = &groups[entry.groups[0]];
        match (part, &group.counted) {
            (Part::Kit(table, _, state), Some(counted)) => table.walk_back(
                &group.items,
                &counted.uses,
                &counted.counts,
                state[t],
                t,
                &mut choice,
            ),
            (Part::City(table), _) => table.walk_back(&group.items, t, &mut choice),
            (Part::Joint(joint, _, state), _) => {
                joint.walk_back(&groups, &entry.groups, &sums, state[t], t, &mut choice)
            }
            (Part::Kit(..), None) => return Ok(None),
        }
        w -= t;
    }
    table.walk_back(&main, w, &mut choice);
    Ok(Some(Knapsack {
        bound,
        choice,
        cells: cells.saturating_add(merge).saturating_add(joint_work),
        work: cells.saturating_add(merged_steps),
    }))
}

/// What is merged into the total as one part: one group, or the groups sharing counts.
struct Entry {
    cap: usize,
    groups: Vec<usize>,
}

/// The groups sharing counts merged among themselves: the best profit per (state, spend) of
/// all of them together, within each one's capacity, and what each merge started from.
struct Joint {
    tables: Vec<CountTable>,
    /// Per table after the first: its spends where it improves, per state, and the best per
    /// (state, spend) of the tables before it, with that width.
    history: Vec<(Vec<Vec<usize>>, Vec<f64>, usize)>,
    best: Vec<f64>,
    cap: usize,
    states: usize,
    /// Merge steps taken.
    work: usize,
}

impl Joint {
    /// Merges `members`' tables (groups sharing `counts`, whose pairs of states within the
    /// limits are `sums`), up to spend `most`, in at most `budget` merge steps.
    fn build(
        groups: &[Group],
        members: &[usize],
        (counts, sums): (&Counts, &[(usize, usize, usize)]),
        most: usize,
        budget: usize,
        deadline: Instant,
    ) -> Result<Option<Joint>, Overflow> {
        let mut tables = Vec::with_capacity(members.len());
        let mut history = Vec::new();
        let mut best: Vec<f64> = Vec::new();
        let mut cap = 0usize;
        let mut work = 0usize;
        for &g in members {
            let group = &groups[g];
            let Some(counted) = group.counted.as_ref() else {
                return Ok(None);
            };
            let Some(t) =
                CountTable::build(&group.items, &counted.uses, group.cap, counts, deadline)
            else {
                return Ok(None);
            };
            if tables.is_empty() {
                best.clone_from(&t.best);
                cap = group.cap;
                tables.push(t);
                continue;
            }
            let (width, pw) = (cap + 1, group.cap + 1);
            let next_cap = (cap + group.cap).min(most);
            let next_width = next_cap + 1;
            let steps: Vec<Vec<usize>> = t.best.chunks(pw).map(improving).collect();
            // Every table so far is nondecreasing in the spend (the best within it), so only
            // the spends where it rises need merging; the running best fills in the rest.
            let rises: Vec<Vec<usize>> = best.chunks(width).map(improving).collect();
            let mut next = vec![f64::NEG_INFINITY; counts.size * next_width];
            for &(a, b, s) in sums {
                let before = &best[a * width..(a + 1) * width];
                let row = &mut next[s * next_width..(s + 1) * next_width];
                for &x in &steps[b] {
                    let pv = t.best[b * pw + x];
                    if pv == f64::NEG_INFINITY {
                        continue;
                    }
                    let top = (cap + x).min(next_cap);
                    let mut merged = 0usize;
                    for &z in rises[a].iter().take_while(|&&z| x + z <= top) {
                        let v = before[z] + pv;
                        let slot = &mut row[x + z];
                        *slot = if v > *slot { v } else { *slot };
                        merged += 1;
                    }
                    // The steps taken (and one for the spend itself).
                    work = work.saturating_add(merged + 1);
                    if work > budget {
                        return Err(Overflow);
                    }
                }
            }
            // Carrying the best forward is a step per state and spend.
            work = work.saturating_add(next.len());
            for row in next.chunks_mut(next_width) {
                let mut running = f64::NEG_INFINITY;
                for slot in row {
                    running = if *slot > running { *slot } else { running };
                    *slot = running;
                }
            }
            if Instant::now() >= deadline {
                return Ok(None);
            }
            history.push((steps, std::mem::replace(&mut best, next), width));
            cap = next_cap;
            tables.push(t);
        }
        Ok(Some(Joint {
            tables,
            history,
            best,
            cap,
            states: counts.size,
            work,
        }))
    }

    /// The best over every state within each spend, and the state giving it.
    fn flat(&self) -> (Vec<f64>, Vec<usize>) {
        flat(&self.best, self.states, self.cap + 1)
    }

    /// Writes the groups' choices for state `s` and spend `w` into `out`.
    fn walk_back(
        &self,
        groups: &[Group],
        members: &[usize],
        sums: &[(usize, usize, usize)],
        mut s: usize,
        mut w: usize,
        out: &mut [Option<usize>],
    ) {
        for (i, &g) in members.iter().enumerate().skip(1).rev() {
            let (steps, before, width) = &self.history[i - 1];
            let t = &self.tables[i];
            let pw = t.cap + 1;
            // The first (state pair, spend) in the order the merge compared them to reach
            // the best at (s, w).
            let (mut from, mut state, mut spend) = (0, 0, 0);
            let mut most = f64::NEG_INFINITY;
            for &(a, b, _) in sums.iter().filter(|x| x.2 == s) {
                for &x in steps[b].iter().take_while(|&&x| x <= w) {
                    // The tables before are nondecreasing: beyond their width, the best within
                    // it.
                    let v = before[a * width + (w - x).min(width - 1)] + t.best[b * pw + x];
                    if v > most {
                        most = v;
                        (from, state, spend) = (a, b, x);
                    }
                }
            }
            let group = &groups[g];
            if let Some(counted) = &group.counted {
                t.walk_back(
                    &group.items,
                    &counted.uses,
                    &counted.counts,
                    state,
                    spend,
                    out,
                );
            }
            s = from;
            w -= spend;
        }
        let group = &groups[members[0]];
        if let Some(counted) = &group.counted {
            self.tables[0].walk_back(&group.items, &counted.uses, &counted.counts, s, w, out);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every way of choosing the groups' items (none, or one option each) within each group's
    /// capacity and the kits' limits: (state, total spend, profit).
    fn every_choice(groups: &[Group], counts: &Counts) -> Vec<(usize, usize, f64)> {
        let mut out = Vec::new();
        let items: Vec<(usize, usize)> = (0..groups.len())
            .flat_map(|g| (0..groups[g].items.cands.len()).map(move |i| (g, i)))
            .collect();
        let mut pick = vec![0usize; items.len()];
        loop {
            let mut spend = vec![0usize; groups.len()];
            let (mut state, mut profit, mut ok) = (0usize, 0.0, true);
            for (&(g, i), &k) in items.iter().zip(&pick) {
                if k == 0 {
                    continue;
                }
                let (w, p) = groups[g].items.opts[i][k - 1];
                spend[g] += w;
                profit += p;
                let uses = &groups[g].counted.as_ref().expect("counted").uses;
                if let Some(d) = uses[i][k - 1] {
                    match counts.bump(state, d) {
                        Some(t) => state = t,
                        None => ok = false,
                    }
                }
            }
            if ok && spend.iter().zip(groups).all(|(&s, g)| s <= g.cap) {
                out.push((state, spend.iter().sum(), profit));
            }
            // The next choice, as a mixed-radix count.
            let mut at = 0;
            loop {
                if at == items.len() {
                    return out;
                }
                let (g, i) = items[at];
                pick[at] += 1;
                if pick[at] <= groups[g].items.opts[i].len() {
                    break;
                }
                pick[at] = 0;
                at += 1;
            }
        }
    }

    /// The capped cities' tables merged across the kits' counts hold, for every state and
    /// spend, the most profit of any choice with exactly those kits within that spend (and
    /// each city's cap), and the walk back gives a choice reaching it.
    #[test]
    fn joint_tables_hold_the_best_within_each_spend_for_each_count_of_kits() {
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        let mut rand = |n: usize| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            (seed % n as u64) as usize
        };
        let far = Instant::now() + std::time::Duration::from_secs(3600);
        for _round in 0..300 {
            let counts = Counts::new(vec![rand(3), rand(3)]);
            let sums = counts.sums();
            let mut groups = Vec::new();
            let mut n = 0;
            for g in 0..2 + rand(2) {
                let mut items = Items::new();
                let mut uses = Vec::new();
                for _ in 0..1 + rand(3) {
                    let opts: Vec<(usize, f64)> = (0..1 + rand(2))
                        .map(|_| (rand(6), (1 + rand(9)) as f64))
                        .collect();
                    uses.push(
                        opts.iter()
                            .map(|_| match rand(3) {
                                2 => None,
                                d => Some(d),
                            })
                            .collect(),
                    );
                    items.cands.push(n);
                    items.opts.push(opts);
                    n += 1;
                }
                groups.push(Group {
                    row: g,
                    cap: rand(10),
                    items,
                    counted: Some(Counted {
                        uses,
                        counts: counts.clone(),
                        shared: true,
                    }),
                });
            }
            let members: Vec<usize> = (0..groups.len()).collect();
            let most = rand(25);
            let joint = Joint::build(&groups, &members, (&counts, &sums), most, usize::MAX, far)
                .ok()
                .flatten()
                .expect("a joint table");
            let width = joint.cap + 1;
            let choices = every_choice(&groups, &counts);
            for s in 0..counts.size {
                for y in 0..width {
                    let want = choices
                        .iter()
                        .filter(|c| c.0 == s && c.1 <= y)
                        .map(|c| c.2)
                        .fold(f64::NEG_INFINITY, f64::max);
                    assert_eq!(joint.best[s * width + y], want, "state {s} spend {y}");
                    if want == f64::NEG_INFINITY {
                        continue;
                    }
                    let mut out = vec![None; n];
                    joint.walk_back(&groups, &members, &sums, s, y, &mut out);
                    let (mut profit, mut state, mut spend) = (0.0, 0usize, 0usize);
                    for g in &groups {
                        let uses = &g.counted.as_ref().expect("counted").uses;
                        let mut own = 0;
                        for (i, &c) in g.items.cands.iter().enumerate() {
                            if let Some(k) = out[c] {
                                let (w, p) = g.items.opts[i][k];
                                own += w;
                                profit += p;
                                if let Some(d) = uses[i][k] {
                                    state = counts.bump(state, d).expect("within the limits");
                                }
                            }
                        }
                        assert!(own <= g.cap);
                        spend += own;
                    }
                    assert_eq!((profit, state), (want, s), "walk back at {s}, {y}");
                    assert!(spend <= y);
                }
            }
        }
    }
}
