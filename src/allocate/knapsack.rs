//! A bound stronger than the LP relaxation for small programmes, by dynamic programming.
//!
//! The LP relaxation lets the last applicants under a budget take a fraction of a grant; on a
//! programme of a few hundred people those fractions are worth more than the 0.01% gap a
//! planner asks for, and branch-and-bound would have to enumerate them away. Here the total
//! budget and the city caps inside it are kept exact (a knapsack over whole budget units, each
//! capped city a knapsack of its own whose best values are merged into the total), while every
//! other row (funders, stock, quotas) is priced by the LP prices `λ`. By weak duality the
//! result bounds every allocation; its best allocation is also a candidate incumbent, and it
//! often meets the priced rows as well, in which case it is optimal up to the gap between the
//! two bounds.

use std::time::Instant;

use super::lp::Allowed;
use super::model::{Model, RowKind};
use super::search::State;

/// Most knapsack cells (candidates × budget units, one byte each) worth spending.
const MAX_CELLS: usize = 60_000_000;
/// Most steps merging the capped cities into the total.
const MAX_MERGE: usize = 200_000_000;

/// A knapsack bound and the allocation reaching it.
pub(crate) struct Knapsack {
    /// Upper bound on every allocation's value.
    pub bound: f64,
    /// The allocation attaining it (total budget and city caps hold; other rows unchecked).
    pub choice: Vec<Option<usize>>,
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
}

/// The best profit of `items` within each capacity `0..=cap`, and each item's choice per
/// capacity (0: none, k + 1: option k) to walk back from.
struct Table {
    best: Vec<f64>,
    choice: Vec<u8>,
    cap: usize,
}

impl Table {
    fn build(items: &Items, cap: usize, deadline: Instant) -> Option<Table> {
        let mut best = vec![0.0f64; cap + 1];
        let mut next = vec![0.0f64; cap + 1];
        let mut choice = vec![0u8; items.cands.len() * (cap + 1)];
        for (i, opts) in items.opts.iter().enumerate() {
            if i % 64 == 0 && Instant::now() >= deadline {
                return None;
            }
            let row = &mut choice[i * (cap + 1)..(i + 1) * (cap + 1)];
            next.copy_from_slice(&best);
            // `best` is nondecreasing in the capacity, so an option without profit never wins.
            for (k, &(weight, profit)) in opts.iter().enumerate() {
                if profit <= 0.0 || weight > cap {
                    continue;
                }
                let tag = k as u8 + 1;
                let with = best[..=cap - weight].iter().map(|b| b + profit);
                for ((slot, pick), v) in next[weight..].iter_mut().zip(&mut row[weight..]).zip(with)
                {
                    if v > *slot {
                        *slot = v;
                        *pick = tag;
                    }
                }
            }
            std::mem::swap(&mut best, &mut next);
        }
        Some(Table { best, choice, cap })
    }

    /// Writes the items' choices for capacity `w` into `out`.
    fn walk_back(&self, items: &Items, mut w: usize, out: &mut [Option<usize>]) {
        for i in (0..items.cands.len()).rev() {
            let pick = self.choice[i * (self.cap + 1) + w];
            if pick > 0 {
                let k = usize::from(pick) - 1;
                out[items.cands[i]] = Some(k);
                w -= items.opts[i][k].0;
            }
        }
    }
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

/// The knapsack bound at prices `lambda` over the allocations `allowed` (free candidates and
/// held ones; `None` for candidates that must be served), or `None` when the programme has no
/// total budget, is too large for the tables, or time runs out.
pub(crate) fn bound(
    m: &Model,
    allowed: &[Allowed],
    lambda: &[f64],
    deadline: Instant,
) -> Option<Knapsack> {
    let total = whole_budget(m)?;
    let n = m.cands.len();
    // Per option: its weight in the total row; city rows nest when they weigh the same.
    let mut unit = 0i64;
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
            unit = gcd(unit, w);
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
    if unit == 0 {
        return None;
    }
    if allowed.contains(&Allowed::Served) {
        return None;
    }
    // What the held candidates leave of each row.
    let held = State::new(
        m,
        allowed
            .iter()
            .map(|a| match *a {
                Allowed::Forced(o) => o,
                _ => None,
            })
            .collect(),
    );
    let left: Vec<i128> = m
        .rows
        .iter()
        .zip(&held.usage)
        .map(|(r, u)| i128::from(r.b) - u)
        .collect();
    let mut choice = held.choice;
    let units = |b: i128| usize::try_from(b / i128::from(unit)).ok();
    let cap = units(left[total])?.min(usize::MAX / 2);
    // Rows kept exact; every other row is priced.
    let mut kept = vec![false; m.nrows()];
    kept[total] = true;
    for (r, row) in m.rows.iter().enumerate() {
        kept[r] = kept[r] || (nests[r] && matches!(row.kind, RowKind::City(_)) && left[r] >= 0);
    }
    let priced: Vec<f64> = lambda
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

    let mut main = Items::new();
    // Each capped city: its row, its capacity in units, its items.
    let mut groups: Vec<(usize, usize, Items)> = (0..m.nrows())
        .filter(|&r| kept[r] && r != total)
        .map(|r| Some((r, units(left[r])?.min(cap), Items::new())))
        .collect::<Option<_>>()?;
    let mut cells = 0usize;
    let mut merge = 0usize;
    for (_, city_cap, _) in &groups {
        merge = merge.saturating_add((cap + 1).saturating_mul(city_cap + 1));
    }
    for c in (0..n).filter(|&c| allowed[c] == Allowed::Free) {
        let opts: Vec<(usize, f64)> = (0..m.cands[c].opts.len())
            .map(|k| Some((units(i128::from(weight[c][k]))?, m.profit(c, k, &priced))))
            .collect::<Option<_>>()?;
        if opts.iter().all(|&(_, p)| p <= 0.0) {
            continue;
        }
        let items = match city_row[c].and_then(|r| groups.iter_mut().find(|g| g.0 == r)) {
            Some((_, city_cap, items)) => {
                cells = cells.saturating_add(*city_cap + 1);
                items
            }
            None => {
                cells = cells.saturating_add(cap + 1);
                &mut main
            }
        };
        items.cands.push(c);
        items.opts.push(opts);
    }
    if cells > MAX_CELLS || merge > MAX_MERGE {
        return None;
    }

    let table = Table::build(&main, cap, deadline)?;
    let mut best = table.best.clone();
    // Merge each capped city: its best value per spend, at the spends where it improves.
    let mut merged = Vec::new();
    for (_, city_cap, items) in &groups {
        let city = Table::build(items, *city_cap, deadline)?;
        if Instant::now() >= deadline {
            return None;
        }
        let steps: Vec<usize> = (0..=city.cap)
            .filter(|&t| t == 0 || city.best[t] > city.best[t - 1])
            .collect();
        let mut next = vec![f64::NEG_INFINITY; cap + 1];
        let mut spend = vec![0u32; cap + 1];
        for &t in &steps {
            let tag = t as u32;
            let with = best[..=cap - t].iter().map(|b| b + city.best[t]);
            for ((slot, s), v) in next[t..].iter_mut().zip(&mut spend[t..]).zip(with) {
                if v > *slot {
                    *slot = v;
                    *s = tag;
                }
            }
        }
        best = next;
        merged.push((city, spend));
    }
    bound += best[cap];

    let mut w = cap;
    for ((_, _, items), (city, spend)) in groups.iter().zip(&merged).rev() {
        let t = spend[w] as usize;
        city.walk_back(items, t, &mut choice);
        w -= t;
    }
    table.walk_back(&main, w, &mut choice);
    Some(Knapsack { bound, choice })
}
