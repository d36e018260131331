//! A bound with one quota kept exact: the Lagrangian relaxation of every other row, its
//! prices improved row by row.
//!
//! A share quota is a lattice: "at least 30% of those served are women" is `3·S ≤ 10·W` in
//! whole people, and with 303 served the best allocation may need 91 women where the LP may
//! use 90.9. The LP and the knapsack (which prices the quota) charge that fraction at the
//! quota's price, which on a programme of a few hundred people is worth far more than the
//! 0.01% gap (ramadan-2016 at a 30% share: 17 points of 19,497). Here the quota is exact
//! instead. Every row of one quota has one coefficient for the group's members and one for
//! everyone else (`p − q` and `p` for a min share p/q, `−1` and `0` for a min count), so once
//! the other rows are priced, the best allocation takes the `i` most profitable members and
//! the `j` most profitable others for the best `(i, j)` the quota allows: a pass over sorted
//! profits, not a table.
//!
//! The prices of the other rows start at the LP's and are then improved row by row
//! ([`lagrange::descend`]).

use super::lagrange::{self, Point, Watch};
use super::lp::{self, Allowed};
use super::model::{Model, RowKind};
use super::search::State;

/// The bound and the allocation reaching it at the best prices found.
pub(crate) struct ShareBound {
    /// Upper bound on every allocation's value.
    pub bound: f64,
    /// The allocation attaining it (the quota holds; other rows unchecked).
    pub choice: Vec<Option<usize>>,
    /// The prices of the other rows giving it.
    pub prices: Vec<f64>,
}

/// The quota kept exact: its rows and, per row, the coefficient of a member and of anyone
/// else.
struct Exact {
    rows: Vec<usize>,
    /// Per row: (member coefficient, other coefficient).
    coef: Vec<(i64, i64)>,
    /// Per candidate: in the group.
    member: Vec<bool>,
    /// What the held candidates leave of each of `rows`.
    left: Vec<i128>,
}

/// The quota worth keeping exact at `lambda`: the one whose rows have the highest price, if
/// every free candidate uses each of its rows the same way with every option.
fn exact_quota(m: &Model, allowed: &[Allowed], lambda: &[f64], held: &State) -> Option<Exact> {
    let mut best: Option<(f64, usize)> = None;
    for (r, row) in m.rows.iter().enumerate() {
        if let RowKind::Quota(q, _) = row.kind {
            let worth: f64 = (0..m.nrows())
                .filter(|&s| matches!(m.rows[s].kind, RowKind::Quota(x, _) if x == q))
                .map(|s| lambda[s])
                .sum();
            if worth > 1e-9 && best.is_none_or(|(w, _)| worth > w) {
                best = Some((worth, r));
            }
        }
    }
    let (_, first) = best?;
    let RowKind::Quota(q, _) = m.rows[first].kind else {
        return None;
    };
    let rows: Vec<usize> = (0..m.nrows())
        .filter(|&s| matches!(m.rows[s].kind, RowKind::Quota(x, _) if x == q))
        .collect();
    // Two coefficient vectors at most: the members' and the others'. Which is which does
    // not matter to the bound; the first seen is called "member".
    let mut kinds: Vec<Vec<i64>> = Vec::new();
    let mut member = vec![false; m.cands.len()];
    for (c, cand) in m.cands.iter().enumerate() {
        if !allowed[c].is_open() {
            continue;
        }
        let of = |o: &super::model::Opt| rows.iter().map(|&r| m.coef_in(o, r)).collect();
        let first: Vec<i64> = of(&cand.opts[0]);
        if cand.opts[1..].iter().any(|o| of(o) != first) {
            return None;
        }
        let k = match kinds.iter().position(|v| *v == first) {
            Some(k) => k,
            None if kinds.len() < 2 => {
                kinds.push(first);
                kinds.len() - 1
            }
            None => return None,
        };
        member[c] = k == 0;
    }
    let zero = vec![0; rows.len()];
    let a = kinds.first().unwrap_or(&zero);
    let b = kinds.get(1).unwrap_or(&zero);
    let left = rows
        .iter()
        .map(|&r| i128::from(m.rows[r].b) - held.usage[r])
        .collect();
    Some(Exact {
        coef: a.iter().zip(b).map(|(&a, &b)| (a, b)).collect(),
        rows,
        member,
        left,
    })
}

fn evaluate(m: &Model, allowed: &[Allowed], exact: &Exact, mu: &[f64]) -> Option<Point> {
    let mut priced = mu.to_vec();
    for &r in &exact.rows {
        priced[r] = 0.0;
    }
    let mut bound: f64 = m.b_s.iter().zip(&priced).map(|(b, l)| b * l).sum();
    let mut choice = vec![None; m.cands.len()];
    // A candidate that must be served gets `must` more, taken back from the bound (see
    // `lp::must_bonus`), as in the knapsack's tables.
    let must = lp::must_bonus(m, allowed, &priced);
    // Per class: (profit, candidate, option), best first.
    let mut classes: [Vec<(f64, usize, usize)>; 2] = [Vec::new(), Vec::new()];
    for (c, a) in allowed.iter().enumerate() {
        let bonus = match *a {
            Allowed::Forced(o) => {
                if let Some(o) = o {
                    bound += m.profit(c, o, &priced);
                }
                choice[c] = o;
                continue;
            }
            Allowed::Free => 0.0,
            Allowed::Served => {
                bound -= must;
                must
            }
        };
        let (o, p) = (0..m.cands[c].opts.len())
            .map(|k| (k, m.profit(c, k, &priced)))
            .fold((0, f64::NEG_INFINITY), |b, x| if x.1 > b.1 { x } else { b });
        classes[usize::from(!exact.member[c])].push((p + bonus, c, o));
    }
    for class in &mut classes {
        class.sort_by(|x, y| y.0.total_cmp(&x.0).then(x.1.cmp(&y.1)));
    }
    let [members, others] = &classes;
    let positive = others.iter().take_while(|x| x.0 > 0.0).count();
    let prefix: Vec<f64> = std::iter::once(0.0)
        .chain(others.iter().scan(0.0, |s, x| {
            *s += x.0;
            Some(*s)
        }))
        .collect();
    let mut top: Option<(f64, usize, usize)> = None;
    let mut with_members = 0.0;
    for i in 0..=members.len() {
        if i > 0 {
            with_members += members[i - 1].0;
        }
        // The others' counts the quota allows with `i` members.
        let (mut lo, mut hi) = (0i128, others.len() as i128);
        for (&(a, b), &left) in exact.coef.iter().zip(&exact.left) {
            let room = left - i128::from(a) * i as i128;
            match b.cmp(&0) {
                std::cmp::Ordering::Greater => hi = hi.min(room.div_euclid(i128::from(b))),
                std::cmp::Ordering::Less => {
                    // b·j ≤ room ⇔ j ≥ ⌈room / b⌉ = ⌈−room / |b|⌉.
                    let need = -room;
                    let b = -i128::from(b);
                    lo = lo.max((need + b - 1).div_euclid(b));
                }
                std::cmp::Ordering::Equal if room < 0 => hi = -1,
                std::cmp::Ordering::Equal => {}
            }
        }
        if lo > hi {
            continue;
        }
        // Prefix sums of profits sorted best first are concave: the best count in [lo, hi]
        // is the number of profitable others, clamped.
        let j = (positive as i128).clamp(lo, hi) as usize;
        let value = with_members + prefix[j];
        if top.is_none_or(|t| value > t.0) {
            top = Some((value, i, j));
        }
    }
    let (value, i, j) = top?;
    bound += value;
    for &(_, c, o) in members[..i].iter().chain(&others[..j]) {
        choice[c] = Some(o);
    }
    Some(Point {
        bound,
        state: State::new(m, choice),
    })
}

/// The bound with the most binding quota exact, at prices improved from `lambda`, or `None`
/// when no quota binds, a quota cannot be kept exact, or time runs out.
pub(crate) fn bound(
    m: &Model,
    allowed: &[Allowed],
    lambda: &[f64],
    cap: f64,
    watch: &mut Watch,
) -> Option<ShareBound> {
    let held = State::held(m, allowed);
    let exact = exact_quota(m, allowed, lambda, &held)?;
    let mut used = lagrange::used_rows(m, allowed);
    for &r in &exact.rows {
        used[r] = false;
    }
    let start = evaluate(m, allowed, &exact, lambda)?;
    let descent = lagrange::descend(m, &used, lambda, cap, watch, start, |mu| {
        evaluate(m, allowed, &exact, mu)
    });
    Some(ShareBound {
        bound: descent.best.bound,
        choice: descent.best.state.choice,
        prices: descent.prices,
    })
}

/// The bound with the most binding quota exact at `prices` (no descent): at a search node,
/// with the prices the root's descent ended at. `None` as for [`bound`].
pub(crate) fn bound_at(m: &Model, allowed: &[Allowed], prices: &[f64]) -> Option<f64> {
    let held = State::held(m, allowed);
    let exact = exact_quota(m, allowed, prices, &held)?;
    evaluate(m, allowed, &exact, prices).map(|p| p.bound)
}
