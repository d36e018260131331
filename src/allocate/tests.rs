//! Unit tests of the solver on hand-made models, built directly (no scenario, no rules), with
//! optima worked out by hand in the comments or by enumerating every allocation.

use std::time::{Duration, Instant};

use good_lp::{constraint, microlp, variable, Expression, ProblemVariables, Solution, SolverModel};

use super::knapsack;
use super::lp::{self, Allowed};
use super::model::{share_rational, Cand, Model, Opt, QuotaBound, Row, RowKind};
use super::search::{self, State};

/// A model as plain data: per candidate its value and its options (cost, `(row, coefficient)`
/// entries), and the rows `(kind, b)` of `Σ a·x ≤ b`.
#[derive(Debug, Clone)]
struct Spec {
    values: Vec<f64>,
    options: Vec<Vec<Entries>>,
    rows: Vec<(RowKind, i64)>,
}

/// An option: its cost and its `(row, coefficient)` entries.
type Entries = (i64, Vec<(usize, i64)>);
/// The same, borrowed, for writing models inline.
type OptSpec<'a> = (i64, &'a [(usize, i64)]);

fn spec(values: &[f64], options: &[&[OptSpec]], rows: &[(RowKind, i64)]) -> Spec {
    assert_eq!(values.len(), options.len());
    Spec {
        values: values.to_vec(),
        options: options
            .iter()
            .map(|os| os.iter().map(|&(cost, e)| (cost, e.to_vec())).collect())
            .collect(),
        rows: rows.to_vec(),
    }
}

/// The solver's model of `spec`, as `model::build` lays it out: entries sorted by row,
/// each row scaled by its largest |coefficient| (at least 1).
fn model(values: &[f64], options: &[&[OptSpec]], rows: &[(RowKind, i64)]) -> Model {
    spec(values, options, rows).model()
}

impl Spec {
    fn model(&self) -> Model {
        let mut scale = vec![1i64; self.rows.len()];
        for os in &self.options {
            for (_, e) in os {
                for &(r, a) in e {
                    scale[r] = scale[r].max(a.abs());
                }
            }
        }
        let rows: Vec<Row> = self
            .rows
            .iter()
            .enumerate()
            .map(|(r, (kind, b))| Row {
                name: format!("row{r}"),
                kind: kind.clone(),
                b: *b,
                scale: scale[r] as f64,
                per_person: 1.0,
            })
            .collect();
        let (mut row_of, mut coef, mut coef_s) = (Vec::new(), Vec::new(), Vec::new());
        let mut cands = Vec::new();
        for (c, os) in self.options.iter().enumerate() {
            let mut opts = Vec::new();
            for (k, (cost, e)) in os.iter().enumerate() {
                let mut e = e.clone();
                e.sort_unstable();
                let start = row_of.len();
                for (r, a) in e {
                    assert!(a != 0, "model::build leaves zero coefficients out");
                    row_of.push(r as u32);
                    coef.push(a);
                    coef_s.push(a as f64 / rows[r].scale);
                }
                opts.push(Opt {
                    offer: k,
                    cost: *cost,
                    start,
                    end: row_of.len(),
                });
            }
            cands.push(Cand {
                input: c,
                city: 0,
                opts,
            });
        }
        Model {
            b_s: rows.iter().map(|r| r.b as f64 / r.scale).collect(),
            cands,
            rows,
            row_of,
            coef,
            coef_s,
            value: self.values.clone(),
            integral_values: self.values.iter().all(|v| v.fract() == 0.0),
            unfundable: Default::default(),
        }
    }

    /// Value of `choice` when it meets every row, checked here in integers from the spec
    /// alone (not through the model or `State`).
    fn value_of(&self, choice: &[Option<usize>]) -> Option<f64> {
        let mut usage = vec![0i128; self.rows.len()];
        let mut value = 0.0;
        for (c, o) in choice.iter().enumerate() {
            if let Some(o) = o {
                for &(r, a) in &self.options[c][*o].1 {
                    usage[r] += i128::from(a);
                }
                value += self.values[c];
            }
        }
        let ok = usage
            .iter()
            .zip(&self.rows)
            .all(|(u, (_, b))| *u <= i128::from(*b));
        ok.then_some(value)
    }

    /// Drops the rows whose kind `keep` refuses, and their entries.
    fn keep_rows(&mut self, keep: impl Fn(&RowKind) -> bool) {
        let kept: Vec<bool> = self.rows.iter().map(|(k, _)| keep(k)).collect();
        let new_index: Vec<usize> = kept
            .iter()
            .scan(0, |i, &k| {
                *i += usize::from(k);
                Some(*i - 1)
            })
            .collect();
        self.rows.retain(|(k, _)| keep(k));
        for os in &mut self.options {
            for (_, e) in os {
                e.retain(|&(r, _)| kept[r]);
                for (r, _) in e.iter_mut() {
                    *r = new_index[*r];
                }
            }
        }
    }

    /// Calls `f` with every allocation (feasible or not).
    fn each(&self, f: &mut dyn FnMut(&[Option<usize>])) {
        let n = self.options.len();
        let mut choice: Vec<Option<usize>> = vec![None; n];
        loop {
            f(&choice);
            // Next choice, as a mixed-radix counter (None, Some(0), Some(1), ...).
            let mut c = 0;
            loop {
                if c == n {
                    return;
                }
                choice[c] = match choice[c] {
                    None if !self.options[c].is_empty() => Some(0),
                    Some(o) if o + 1 < self.options[c].len() => Some(o + 1),
                    _ => None,
                };
                if choice[c].is_some() {
                    break;
                }
                c += 1;
            }
        }
    }

    /// The best feasible allocation by enumeration, among those where `fixed` (candidate,
    /// choice) holds; `None` when none meets every row.
    fn brute_with(&self, fixed: Option<(usize, Option<usize>)>) -> Option<f64> {
        self.brute_where(&|choice| fixed.is_none_or(|(c, o)| choice[c] == o))
            .map(|(v, _)| v)
    }

    /// The best feasible allocation by enumeration among those `keep` accepts, and its
    /// choices (the first in enumeration order among equals); `None` when none meets every
    /// row.
    fn brute_where(
        &self,
        keep: &dyn Fn(&[Option<usize>]) -> bool,
    ) -> Option<(f64, Vec<Option<usize>>)> {
        let mut best: Option<(f64, Vec<Option<usize>>)> = None;
        self.each(&mut |choice| {
            if !keep(choice) {
                return;
            }
            if let Some(v) = self.value_of(choice) {
                if best.as_ref().is_none_or(|(b, _)| v > *b) {
                    best = Some((v, choice.to_vec()));
                }
            }
        });
        best
    }

    fn brute(&self) -> Option<f64> {
        self.brute_with(None)
    }

    /// True when `choice` meets every row and is worth `value` (up to float rounding: the
    /// solver adds values in another order).
    fn is_worth(&self, choice: &[Option<usize>], value: f64) -> bool {
        self.value_of(choice).is_some_and(|v| close(v, value))
    }

    /// The LP relaxation's optimum, solved as a plain primal LP (`x` in [0, 1], at most one
    /// option each) by microlp: an independent reference for the prices' bound.
    fn lp_optimum(&self) -> Option<f64> {
        let mut vars = ProblemVariables::new();
        let x: Vec<Vec<_>> = self
            .options
            .iter()
            .map(|os| {
                os.iter()
                    .map(|_| vars.add(variable().min(0.0).max(1.0)))
                    .collect()
            })
            .collect();
        let mut obj = Expression::default();
        for (c, xs) in x.iter().enumerate() {
            for &v in xs {
                obj.add_mul(self.values[c], v);
            }
        }
        let mut p = vars.maximise(obj).using(microlp);
        let mut rows = vec![Expression::default(); self.rows.len()];
        for (c, xs) in x.iter().enumerate() {
            let mut one = Expression::default();
            for (o, &v) in xs.iter().enumerate() {
                one.add_mul(1.0, v);
                for &(r, a) in &self.options[c][o].1 {
                    rows[r].add_mul(a as f64, v);
                }
            }
            p.add_constraint(constraint!(one <= 1.0));
        }
        for (e, (_, b)) in rows.into_iter().zip(&self.rows) {
            p.add_constraint(constraint!(e <= *b as f64));
        }
        let sol = p.solve().ok()?;
        let mut value = 0.0;
        for (c, xs) in x.iter().enumerate() {
            for &v in xs {
                value += self.values[c] * sol.value(v);
            }
        }
        Some(value)
    }
}

fn far() -> Instant {
    Instant::now() + Duration::from_secs(120)
}

fn quiet(_: f64, _: f64, _: f64) {}

/// Limits that never stop a small search: work is practically unbounded, the clock far.
fn limits(work: f64) -> search::Limits<'static> {
    search::Limits {
        deadline: far(),
        work,
        progress: &quiet,
        nested: false,
        descent: super::lagrange::MAX_EVALUATIONS,
        descent_cells: super::lagrange::DESCENT_CELLS,
        polish: true,
    }
}

const NO_LIMIT: f64 = 1e15;

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-6 * (1.0 + a.abs().max(b.abs()))
}

fn free(m: &Model) -> Vec<Allowed> {
    vec![Allowed::Free; m.cands.len()]
}

/// Values 6, 5, 4, weights 3, 3, 2, capacity 4 (`budget.total`, coefficient = cost).
///
/// Integer optimum: no two items fit (3+3, 3+2 > 4), so the best is item 0 alone, 6.
/// LP optimum: items 0 and 2 both earn 2 per unit, item 1 only 5/3, so the LP fills the 4
/// units at 2 each: 8 (item 0 whole and half of item 2, or two thirds of item 0 and item 2
/// whole). Its dual `g(λ) = 4λ + Σ max(0, v − wλ)` falls until λ = 2 and rises after:
/// the price is exactly 2 per unit.
fn knapsack_645_spec() -> Spec {
    spec(
        &[6.0, 5.0, 4.0],
        &[&[(3, &[(0, 3)])], &[(3, &[(0, 3)])], &[(2, &[(0, 2)])]],
        &[(RowKind::Total, 4)],
    )
}

fn knapsack_645() -> Model {
    knapsack_645_spec().model()
}

#[test]
fn model_helper_scales_rows_as_the_builder_does() {
    let m = model(
        &[1.0, 1.0],
        &[&[(10, &[(0, 10), (1, -75)])], &[(4, &[(0, 4), (1, 25)])]],
        &[
            (RowKind::Total, 12),
            (RowKind::Quota(0, QuotaBound::MinShare), 0),
        ],
    );
    assert_eq!(m.rows[0].scale, 10.0);
    assert_eq!(m.rows[1].scale, 75.0);
    assert_eq!(m.b_s, vec![1.2, 0.0]);
    assert_eq!(m.coef_s, vec![1.0, -1.0, 0.4, 25.0 / 75.0]);
    assert_eq!(m.coef_in(&m.cands[1].opts[0], 1), 25);
}

#[test]
fn share_rational_is_the_exact_decimal() {
    assert_eq!(share_rational(0.25), (25, 100));
    assert_eq!(share_rational(0.3), (3, 10));
    assert_eq!(share_rational(0.5), (5, 10));
    assert_eq!(share_rational(1.0), (1, 1));
    assert_eq!(share_rational(0.0), (0, 1));
}

// ---------------------------------------------------------------- the LP relaxation

#[test]
fn lp_bound_and_price_of_a_fractional_knapsack() {
    let m = knapsack_645();
    let lp = lp::solve(&m, &free(&m), None, far()).expect("LP");
    assert!(close(lp.bound, 8.0), "LP bound {} (hand: 8)", lp.bound);
    // λ is per scaled row (÷ 3, the largest coefficient): 2 per unit is 6 scaled.
    assert!(
        close(lp.lambda[0] / m.rows[0].scale, 2.0),
        "{:?}",
        lp.lambda
    );
    assert!(close(lp::bound_at(&m, &free(&m), &lp.lambda), lp.bound));
}

#[test]
fn lp_prices_of_two_coupled_rows() {
    // max 4x0 + 3x1 + x2, rows A: 2x0 + x1 + 2x2 ≤ 2 and B: x0 + 2x1 + 2x2 ≤ 2.
    // Both rows tight at x0 = x1 = 2/3 (value 14/3, above the vertices (1, 0): 4 and
    // (0, 1): 3). Duals: 2λA + λB = 4 and λA + 2λB = 3, so λA = 5/3, λB = 2/3, and item 2
    // is priced out (1 − 2·5/3 − 2·2/3 < 0). Integer optimum: x0 alone, 4. (The row kinds
    // do not matter to the LP.)
    let s = spec(
        &[4.0, 3.0, 1.0],
        &[
            &[(2, &[(0, 2), (1, 1)])],
            &[(1, &[(0, 1), (1, 2)])],
            &[(2, &[(0, 2), (1, 2)])],
        ],
        &[(RowKind::Total, 2), (RowKind::Stock(0), 2)],
    );
    let m = s.model();
    let lp = lp::solve(&m, &free(&m), None, far()).expect("LP");
    assert!(close(lp.bound, 14.0 / 3.0), "LP bound {}", lp.bound);
    assert!(
        close(lp.lambda[0] / m.rows[0].scale, 5.0 / 3.0),
        "{:?}",
        lp.lambda
    );
    assert!(
        close(lp.lambda[1] / m.rows[1].scale, 2.0 / 3.0),
        "{:?}",
        lp.lambda
    );
    assert!(close(s.lp_optimum().unwrap(), 14.0 / 3.0));
    assert_eq!(s.brute(), Some(4.0));
}

#[test]
fn lp_of_subproblems_with_held_and_served_candidates() {
    let m = knapsack_645();
    // Item 0 held out: items 2 (ratio 2) and 1 (5/3) share 4 units: 4 + 5·2/3 = 22/3.
    let mut allowed = free(&m);
    allowed[0] = Allowed::Forced(None);
    let lp = lp::solve(&m, &allowed, None, far()).expect("LP");
    assert!(close(lp.bound, 22.0 / 3.0), "{}", lp.bound);
    // Item 1 must be served: it takes 3 units (5), the last unit at 2 per unit: 7.
    let mut allowed = free(&m);
    allowed[1] = Allowed::Served;
    let lp = lp::solve(&m, &allowed, None, far()).expect("LP");
    assert!(close(lp.bound, 7.0), "{}", lp.bound);
    // Held at its only option, the same subproblem from the other side.
    allowed[1] = Allowed::Forced(Some(0));
    let lp = lp::solve(&m, &allowed, None, far()).expect("LP");
    assert!(close(lp.bound, 7.0), "{}", lp.bound);
}

#[test]
fn lp_working_set_reaches_the_greedy_optimum() {
    // 60 candidates on one row: more than one direct LP takes, so the prices come from a
    // sample and a working set. The LP optimum of a one-row knapsack is Dantzig's greedy:
    // best value per unit first, the last item fractional.
    let mut rng = Lcg(7);
    let n = 60;
    let values: Vec<f64> = (0..n).map(|_| 1.0 + rng.below(100) as f64).collect();
    let weights: Vec<i64> = (0..n).map(|_| 1 + rng.below(50) as i64).collect();
    let cap: i64 = weights.iter().sum::<i64>() / 3;
    let s = Spec {
        values: values.clone(),
        options: weights.iter().map(|&w| vec![(w, vec![(0, w)])]).collect(),
        rows: vec![(RowKind::Total, cap)],
    };
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|&a, &b| {
        (values[b] / weights[b] as f64).total_cmp(&(values[a] / weights[a] as f64))
    });
    let (mut left, mut greedy) = (cap as f64, 0.0);
    for c in order {
        let take = (left / weights[c] as f64).min(1.0);
        greedy += take * values[c];
        left -= take * weights[c] as f64;
        if left <= 0.0 {
            break;
        }
    }
    let m = s.model();
    let lp = lp::solve(&m, &free(&m), None, far()).expect("LP");
    assert!(close(lp.bound, greedy), "LP {} greedy {greedy}", lp.bound);
    // Warm-started from those prices, the same LP gives the same bound.
    let warm = lp::solve(&m, &free(&m), Some(&lp.lambda), far()).expect("LP");
    assert!(
        close(warm.bound, greedy),
        "warm {} greedy {greedy}",
        warm.bound
    );
}

#[test]
fn lp_matches_a_plain_primal_lp_on_random_models() {
    // Strong duality: the prices' bound equals the primal LP optimum, on models small enough
    // for one direct LP and on larger ones solved through working sets.
    let mut rng = Lcg(11);
    let mut compared = 0;
    for round in 0..120 {
        let n = if round % 2 == 0 {
            1 + rng.below(7)
        } else {
            21 + rng.below(50)
        };
        let s = random_spec(&mut rng, n as usize);
        let Some(reference) = s.lp_optimum() else {
            continue;
        };
        let m = s.model();
        let lp = lp::solve(&m, &free(&m), None, far()).expect("LP");
        assert!(
            close(lp.bound, reference),
            "round {round}: prices' bound {} vs primal LP {reference}\n{s:?}",
            lp.bound
        );
        assert!(lp.lambda.iter().all(|&l| l >= 0.0));
        compared += 1;
    }
    assert!(compared >= 100, "only {compared} models compared");
}

#[test]
fn lp_bound_at_any_prices_bounds_every_allocation() {
    // Weak duality: g(λ) ≥ every feasible allocation, for any λ ≥ 0.
    let mut rng = Lcg(3);
    for round in 0..200 {
        let n = 1 + rng.below(6) as usize;
        let s = random_spec(&mut rng, n);
        let Some(opt) = s.brute() else { continue };
        let m = s.model();
        let lambda: Vec<f64> = (0..m.nrows())
            .map(|_| rng.below(1000) as f64 / 100.0)
            .collect();
        let g = lp::bound_at(&m, &free(&m), &lambda);
        assert!(g >= opt - 1e-9, "round {round}: g(λ) = {g} < optimum {opt}");
    }
}

#[test]
fn lp_primal_shares_ties_within_the_row() {
    // At λ = 2 per unit items 0 and 2 tie at profit 0; the primal LP shares out the 4 units
    // between them and reaches the dual bound 8 (complementary slackness).
    let m = knapsack_645();
    let lp = lp::solve(&m, &free(&m), None, far()).expect("LP");
    let p = lp::primal(&m, &free(&m), &lp.lambda, far()).expect("primal");
    assert_eq!(p.base, vec![None, None, None]);
    let mut x = [0.0f64; 3];
    for (c, share) in &p.shares {
        x[*c] = share[0];
    }
    assert_eq!(x[1], 0.0, "item 1 is priced out");
    let used = 3.0 * x[0] + 3.0 * x[1] + 2.0 * x[2];
    let value = 6.0 * x[0] + 5.0 * x[1] + 4.0 * x[2];
    assert!(used <= 4.0 + 1e-6, "uses {used} of 4");
    assert!(close(value, 8.0), "primal value {value}");
}

// ---------------------------------------------------------------- the knapsack bound

#[test]
fn knapsack_bound_is_tighter_than_the_lp() {
    let m = knapsack_645();
    let lp = lp::solve(&m, &free(&m), None, far()).expect("LP");
    let k = knapsack::bound(&m, &free(&m), &lp.lambda, far()).expect("knapsack");
    // One row, kept exact: the knapsack bound is the integer optimum 6, where the LP says 8.
    assert!(close(lp.bound, 8.0), "LP bound {}", lp.bound);
    assert!(close(k.bound, 6.0), "knapsack bound {}", k.bound);
    assert_eq!(knapsack_645_spec().brute(), Some(6.0));
    assert_eq!(k.choice, vec![Some(0), None, None]);
}

#[test]
fn knapsack_keeps_a_second_money_row_exact() {
    // budget.total ≤ 10 charges every cost; a funder row ≤ 6 charges items 0 and 2 their
    // whole cost but item 1 only 1 of its 5 and item 3 nothing (like the funders who may not
    // pay one region's kits). Subsets within both rows: {0,3} and {1,2} are worth 9; {0,2}
    // (10) breaks the funder row (10 > 6); every other subset is worth less or costs over
    // 10. Optimum 9.
    let s = spec(
        &[6.0, 5.0, 4.0, 3.0],
        &[
            &[(6, &[(0, 6), (1, 6)])],
            &[(5, &[(0, 5), (1, 1)])],
            &[(4, &[(0, 4), (1, 4)])],
            &[(3, &[(0, 3)])],
        ],
        &[(RowKind::Total, 10), (RowKind::Funders(vec![0]), 6)],
    );
    assert_eq!(s.brute(), Some(9.0));
    let m = s.model();
    // A priced funder row is kept exact beside the total: the bound is the optimum.
    let k = knapsack::bound(&m, &free(&m), &[0.0, 1.0], far()).expect("knapsack");
    assert!(close(k.bound, 9.0), "pair bound {}", k.bound);
    assert_eq!(s.value_of(&k.choice), Some(9.0), "{:?}", k.choice);
    // Unpriced, the funder row is left out: only the total binds, {0,2} is worth 10.
    let k = knapsack::bound(&m, &free(&m), &[0.0, 0.0], far()).expect("knapsack");
    assert!(close(k.bound, 10.0), "total-only bound {}", k.bound);
}

#[test]
fn knapsack_is_exact_with_total_and_city_caps() {
    // Only budget.total and city caps (nested in it): every row is kept exact, so the bound
    // is the integer optimum itself.
    let mut rng = Lcg(5);
    for round in 0..150 {
        let n = 1 + rng.below(7) as usize;
        let mut s = random_spec(&mut rng, n);
        s.keep_rows(|k| matches!(k, RowKind::Total | RowKind::City(_)));
        let opt = s.brute().expect("nobody served meets money rows");
        let m = s.model();
        let lp = lp::solve(&m, &free(&m), None, far()).expect("LP");
        let k = knapsack::bound(&m, &free(&m), &lp.lambda, far()).expect("knapsack");
        assert!(
            close(k.bound, opt),
            "round {round}: knapsack {} vs optimum {opt}\n{s:?}",
            k.bound
        );
        assert!(
            s.is_worth(&k.choice, opt),
            "round {round}: {:?}\n{s:?}",
            k.choice
        );
    }
}

#[test]
fn primal_knapsack_counts_stock_exactly_around_the_incumbent() {
    // Only the money rows and a kit's stock: the capped city's kit users are held at the
    // incumbent's choice, everyone else's use of the kit is counted exactly, so the knapsack's
    // allocation meets every row and is the best of those that keep the held choices.
    let mut rng = Lcg(29);
    let mut checked = 0;
    for round in 0..300 {
        let n = 1 + rng.below(7) as usize;
        let mut s = random_spec(&mut rng, n);
        if !s.rows.iter().any(|(k, _)| matches!(k, RowKind::Stock(_))) {
            continue;
        }
        s.keep_rows(|k| matches!(k, RowKind::Total | RowKind::City(_) | RowKind::Stock(_)));
        let m = s.model();
        let uses = |c: usize, kind: &dyn Fn(&RowKind) -> bool| {
            s.options[c]
                .iter()
                .any(|(_, e)| e.iter().any(|&(r, _)| kind(&s.rows[r].0)))
        };
        let held: Vec<bool> = (0..n)
            .map(|c| {
                uses(c, &|k| matches!(k, RowKind::City(_)))
                    && uses(c, &|k| matches!(k, RowKind::Stock(_)))
            })
            .collect();
        // From nobody served, and from the optimum itself (which it must then find).
        let mut best_choice = None;
        let mut best_value = f64::NEG_INFINITY;
        s.each(&mut |choice| {
            if let Some(v) = s.value_of(choice) {
                if v > best_value {
                    best_value = v;
                    best_choice = Some(choice.to_vec());
                }
            }
        });
        let optimum = best_choice.expect("nobody served meets these rows");
        for incumbent in [vec![None; n], optimum] {
            let mut want = f64::NEG_INFINITY;
            s.each(&mut |choice| {
                let keeps = (0..n).all(|c| !held[c] || choice[c] == incumbent[c]);
                if let Some(v) = s.value_of(choice).filter(|_| keeps) {
                    want = want.max(v);
                }
            });
            let zero = vec![0.0; m.nrows()];
            let k = knapsack::primal(&m, &free(&m), &zero, &incumbent, far(), usize::MAX)
                .expect("tables fit");
            assert!(
                s.is_worth(&k.choice, want),
                "round {round}: {:?} from {incumbent:?}, want {want}\n{s:?}",
                k.choice
            );
            for c in (0..n).filter(|&c| held[c]) {
                assert_eq!(k.choice[c], incumbent[c], "round {round}: {c} moved\n{s:?}");
            }
            checked += 1;
        }
    }
    assert!(checked >= 100, "only {checked} checked");
}

#[test]
fn knapsack_counts_small_stocks_across_capped_cities() {
    // The total budget, two capped cities and up to three kits with stocks of 0 to 2; each
    // candidate (in a capped city or not) has cash, a kit, or both, a kit taking one of its
    // stock. At zero prices every row is kept exact (the stocks counted across the cities'
    // tables and the others'), so the bound is the optimum and its allocation meets every row.
    // Counting the stocks only outside the capped cities (pricing them at zero inside) gives
    // a bound above the optimum in many of these rounds.
    let mut rng = Lcg(41);
    let mut above_if_priced = 0;
    for round in 0..400 {
        let n = 2 + rng.below(6) as usize;
        let kits = 1 + rng.below(3) as usize;
        // Rows: 0 total, 1 and 2 the cities, then the kits' stocks.
        let mut rows = vec![
            (RowKind::Total, 0),
            (RowKind::City("A".into()), 0),
            (RowKind::City("B".into()), 0),
        ];
        for k in 0..kits {
            rows.push((RowKind::Stock(k), rng.below(3) as i64));
        }
        let mut values = Vec::new();
        let mut options = Vec::new();
        let mut cost_all = 0;
        for _ in 0..n {
            values.push(1.0 + rng.below(9) as f64);
            let city = rng.below(3) as usize; // 0: no capped city
            let money = |cost: i64| {
                let mut e = vec![(0, cost)];
                if city > 0 {
                    e.push((city, cost));
                }
                e
            };
            let mut os = Vec::new();
            if rng.chance(60) {
                let cost = 250 * (1 + rng.below(8) as i64);
                os.push((cost, money(cost)));
            }
            if os.is_empty() || rng.chance(70) {
                let cost = 250 * (1 + rng.below(8) as i64);
                let mut e = money(cost);
                e.push((3 + rng.below(kits as u64) as usize, 1));
                os.push((cost, e));
            }
            cost_all += os.iter().map(|o: &Entries| o.0).max().unwrap_or(0);
            options.push(os);
        }
        rows[0].1 = cost_all * (30 + rng.below(60) as i64) / 100;
        rows[1].1 = cost_all * (10 + rng.below(30) as i64) / 100;
        rows[2].1 = cost_all * (10 + rng.below(30) as i64) / 100;
        let s = Spec {
            values,
            options,
            rows,
        };
        let m = s.model();
        let opt = s.brute().expect("nobody served meets every row");
        let zero = vec![0.0; m.nrows()];
        let k = knapsack::bound(&m, &free(&m), &zero, far()).expect("tables fit");
        assert!(
            close(k.bound, opt),
            "round {round}: bound {} where the optimum is {opt}\n{s:?}",
            k.bound
        );
        assert!(
            s.is_worth(&k.choice, opt),
            "round {round}: {:?} is not an optimal allocation\n{s:?}",
            k.choice
        );
        // The same programme with the capped cities' kits unlimited: what pricing them at
        // zero would allow.
        let mut loose = s.clone();
        for (c, os) in loose.options.iter_mut().enumerate() {
            let capped = s.options[c][0].1.iter().any(|&(r, _)| r == 1 || r == 2);
            for (_, e) in os.iter_mut().filter(|_| capped) {
                e.retain(|&(r, _)| r < 3);
            }
        }
        if loose.brute().is_some_and(|v| v > opt + 1e-9) {
            above_if_priced += 1;
        }
    }
    assert!(
        above_if_priced >= 40,
        "only {above_if_priced} rounds where the capped cities' kits matter"
    );
}

#[test]
fn descent_finds_the_lowest_bound_along_one_row_in_a_few_evaluations() {
    // One row priced, every other row kept exact: the bound along the price is the upper
    // envelope of one line per allocation meeting the exact rows, `v + μ·(b − u)`, and its
    // lowest point is where two lines cross (or at a zero price). The descent reaches it
    // within ten evaluations of the relaxation (bisection on the slack's sign took fourteen
    // a row and stopped short of it).
    let mut rng = Lcg(61);
    let mut checked = 0;
    for round in 0..300 {
        let n = 2 + rng.below(6) as usize;
        let s = random_spec(&mut rng, n);
        let m = s.model();
        let Some(r) = (1..m.nrows()).find(|&r| m.rows[r].kind != RowKind::Total) else {
            continue;
        };
        // The lines: per allocation meeting every row but `r`, its value and slack in `r`
        // (in the solver's scale), the best value per slack.
        let mut lines: Vec<(f64, f64)> = Vec::new();
        s.each(&mut |choice| {
            let st = State::new(&m, choice.to_vec());
            let holds = (0..m.nrows()).all(|q| q == r || st.usage[q] <= i128::from(m.rows[q].b));
            if holds {
                lines.push((
                    st.value,
                    (i128::from(m.rows[r].b) - st.usage[r]) as f64 / m.rows[r].scale,
                ));
            }
        });
        // No allocation meeting the row: the bound falls to the price cap (nothing to find).
        if !lines.iter().any(|l| l.1 >= 0.0) {
            continue;
        }
        // Of lines with one slope only the highest matters.
        lines.sort_by(|a, b| a.1.total_cmp(&b.1).then(b.0.total_cmp(&a.0)));
        lines.dedup_by(|a, b| a.1 == b.1);
        let envelope = |mu: f64| {
            lines
                .iter()
                .map(|(v, g)| v + mu * g)
                .fold(f64::NEG_INFINITY, f64::max)
        };
        let cap = lp::price_cap(&m);
        let mut lowest = envelope(0.0).min(envelope(cap));
        for (i, a) in lines.iter().enumerate() {
            for b in &lines[..i] {
                if a.1 != b.1 {
                    let mu = (b.0 - a.0) / (a.1 - b.1);
                    if mu > 0.0 && mu < cap {
                        lowest = lowest.min(envelope(mu));
                    }
                }
            }
        }
        let evaluate = |mu: &[f64]| {
            let mut best: Option<(f64, Vec<Option<usize>>)> = None;
            s.each(&mut |choice| {
                let st = State::new(&m, choice.to_vec());
                let holds =
                    (0..m.nrows()).all(|q| q == r || st.usage[q] <= i128::from(m.rows[q].b));
                let g = (i128::from(m.rows[r].b) - st.usage[r]) as f64 / m.rows[r].scale;
                let l = st.value + mu[r] * g;
                if holds && best.as_ref().is_none_or(|(b, _)| l > *b) {
                    best = Some((l, choice.to_vec()));
                }
            });
            best.map(|(bound, choice)| super::lagrange::Point {
                bound,
                state: State::new(&m, choice),
            })
        };
        let Some(start) = evaluate(&vec![0.0; m.nrows()]) else {
            continue;
        };
        let mut moved = vec![false; m.nrows()];
        moved[r] = true;
        let mut offer = |_: &State| {};
        let mut watch = super::lagrange::Watch {
            deadline: far(),
            offer: &mut offer,
            enough: &|_| false,
            evaluations: 10,
            cells: super::lagrange::DESCENT_CELLS,
        };
        let d = super::lagrange::descend(
            &m,
            &moved,
            &vec![0.0; m.nrows()],
            cap,
            &mut watch,
            start,
            evaluate,
        );
        checked += 1;
        assert!(
            d.best.bound >= lowest - 1e-6 && d.best.bound <= lowest + 1e-6 * (1.0 + lowest.abs()),
            "round {round}: the descent ended at {}, the lowest bound along row {r} is {lowest}\n{s:?}",
            d.best.bound
        );
        assert!(
            close(envelope(d.prices[r]), d.best.bound),
            "round {round}: the prices give another bound"
        );
    }
    assert!(checked >= 150, "only {checked} descents checked");
}

#[test]
fn knapsack_descent_returns_the_prices_of_its_bound() {
    // Branch-and-bound bounds small programmes' nodes at the prices the root's descent ends
    // at: the knapsack at those prices gives the descent's bound again, which is never below
    // the optimum and never above the knapsack at the LP's prices.
    let mut rng = Lcg(53);
    let mut moved = 0;
    for round in 0..200 {
        let n = 2 + rng.below(6) as usize;
        let s = random_spec(&mut rng, n);
        let m = s.model();
        let Some(opt) = s.brute() else { continue };
        let Some(lp) = lp::solve(&m, &free(&m), None, far()) else {
            panic!("round {round}: no LP");
        };
        let Some(start) = knapsack::bound(&m, &free(&m), &lp.lambda, far()) else {
            continue;
        };
        let mut offer = |_: &State| {};
        let mut watch = super::lagrange::Watch {
            deadline: far(),
            offer: &mut offer,
            enough: &|_| false,
            evaluations: super::lagrange::MAX_EVALUATIONS,
            cells: super::lagrange::DESCENT_CELLS,
        };
        let cap = lp::price_cap(&m);
        let (k, prices) = knapsack::improved(&m, &free(&m), &lp.lambda, cap, &mut watch)
            .expect("the knapsack fits");
        let again = knapsack::bound(&m, &free(&m), &prices, far()).expect("the knapsack fits");
        assert!(
            close(again.bound, k.bound),
            "round {round}: {} at the returned prices, the descent said {}\n{s:?}",
            again.bound,
            k.bound
        );
        assert!(
            k.bound >= opt - 1e-6,
            "round {round}: {} < {opt}\n{s:?}",
            k.bound
        );
        assert!(
            k.bound <= start.bound + 1e-9,
            "round {round}: above the start\n{s:?}"
        );
        if k.bound < start.bound - 1e-9 {
            moved += 1;
        }
    }
    assert!(moved >= 10, "the descent lowered only {moved} bounds");
}

#[test]
fn knapsack_bound_lies_between_the_optimum_and_the_lp() {
    // Rows other than the money rows are priced: the bound holds by weak duality, and at
    // the same prices it is never above the LP's g(λ) (the LP relaxes the kept rows too).
    // A third of the rounds hold one candidate at a random choice, as a search node does.
    let mut rng = Lcg(13);
    let mut checked = 0;
    for round in 0..250 {
        let n = 1 + rng.below(7) as usize;
        let s = random_spec(&mut rng, n);
        let m = s.model();
        let mut allowed = free(&m);
        let mut fixed = None;
        if round % 3 == 1 {
            let c = rng.below(n as u64) as usize;
            let o = rng.below(m.cands[c].opts.len() as u64 + 1) as usize;
            let o = o.checked_sub(1);
            allowed[c] = Allowed::Forced(o);
            fixed = Some((c, o));
        }
        let Some(lp) = lp::solve(&m, &allowed, None, far()) else {
            panic!("round {round}: no LP");
        };
        let Some(k) = knapsack::bound(&m, &allowed, &lp.lambda, far()) else {
            continue;
        };
        // A subproblem nothing meets has no optimum to compare with (any number bounds it).
        let Some(opt) = s.brute_with(fixed) else {
            continue;
        };
        checked += 1;
        assert!(
            lp.bound >= opt - 1e-6,
            "round {round}: LP {} < {opt}",
            lp.bound
        );
        assert!(
            k.bound >= opt - 1e-6,
            "round {round}: knapsack bound {} below the optimum {opt}\n{s:?}",
            k.bound
        );
        assert!(
            k.bound <= lp.bound + 1e-6 * (1.0 + lp.bound.abs()),
            "round {round}: knapsack {} above the LP {}\n{s:?}",
            k.bound,
            lp.bound
        );
    }
    assert!(checked >= 150, "only {checked} knapsack bounds computed");
}

/// A bound at some prices: its value and, if it has one, its allocation.
type BoundAt = dyn Fn(&Model, &[Allowed], &[f64]) -> Option<(f64, Option<Vec<Option<usize>>>)>;

/// A bound at the LP's prices over random programmes some of whose candidates must be served
/// (`bound` gives its value and, if it has one, its allocation), checked against the best
/// allocation serving them (never below it) and the same bound with them free (never above
/// it). Returns how many rounds were checked and in how many serving them lowered the bound.
fn check_served_bound(seed: u64, rounds: usize, bound: &BoundAt) -> (usize, usize) {
    let mut rng = Lcg(seed);
    let (mut checked, mut tighter) = (0, 0);
    for round in 0..rounds {
        let n = 2 + rng.below(6) as usize;
        let s = random_spec(&mut rng, n);
        let m = s.model();
        let must: Vec<usize> = (0..n).filter(|_| rng.chance(40)).collect();
        let mut allowed = free(&m);
        for &c in &must {
            allowed[c] = Allowed::Served;
        }
        let Some(lp) = lp::solve(&m, &free(&m), None, far()) else {
            panic!("round {round}: no LP");
        };
        let (Some((held, choice)), Some((loose, _))) = (
            bound(&m, &allowed, &lp.lambda),
            bound(&m, &free(&m), &lp.lambda),
        ) else {
            continue;
        };
        let Some((opt, _)) = s.brute_where(&|choice| must.iter().all(|&c| choice[c].is_some()))
        else {
            continue;
        };
        checked += 1;
        assert!(
            held >= opt - 1e-6,
            "round {round}: bound {held} below the best allocation serving {must:?}, {opt}\n{s:?}"
        );
        assert!(
            held <= loose + 1e-6 * (1.0 + loose.abs()),
            "round {round}: serving {must:?} raised the bound {loose} to {held}\n{s:?}"
        );
        if let Some(choice) = choice {
            assert!(
                must.iter().all(|&c| choice[c].is_some()),
                "round {round}: the bound's allocation leaves out one of {must:?}: {choice:?}"
            );
        }
        tighter += usize::from(held < loose - 1e-6);
    }
    (checked, tighter)
}

#[test]
fn knapsack_bound_holds_candidates_that_must_be_served() {
    // A search node's "served" side, or the side of a split that serves a whole group: the
    // tables give those candidates a bonus larger than every other profit together and take
    // it back from the bound, so the bound is over the allocations that serve them, and
    // strictly lower than with them free when leaving one out is what that bound counted on.
    let (checked, tighter) = check_served_bound(31, 300, &|m, allowed, lambda| {
        knapsack::bound(m, allowed, lambda, far()).map(|k| (k.bound, Some(k.choice)))
    });
    assert!(checked >= 150, "only {checked} bounds checked");
    assert!(
        tighter >= 20,
        "only {tighter} of {checked} bounds tightened"
    );
}

#[test]
fn share_bound_holds_candidates_that_must_be_served() {
    // The same for the bound with the quota exact (at a node's prices, no descent).
    let (checked, tighter) = check_served_bound(43, 600, &|m, allowed, lambda| {
        super::share::bound_at(m, allowed, lambda).map(|b| (b, None))
    });
    assert!(checked >= 50, "only {checked} bounds checked");
    assert!(
        tighter >= 10,
        "only {tighter} of {checked} bounds tightened"
    );
}

// ---------------------------------------------------------------- integer allocations

#[test]
fn state_counts_usage_exactly_and_rows_hold_at_equality() {
    // Row 0: budget ≤ 10; row 1: a min_count of 1 member (−1 per member ≤ −1).
    let m = model(
        &[3.0, 2.5, 1.0],
        &[
            &[(6, &[(0, 6)]), (4, &[(0, 4)])],
            &[(4, &[(0, 4), (1, -1)])],
            &[(1, &[(0, 1)])],
        ],
        &[
            (RowKind::Total, 10),
            (RowKind::Quota(0, QuotaBound::MinCount), -1),
        ],
    );
    let s = State::new(&m, vec![Some(0), Some(0), None]);
    assert_eq!(s.usage, vec![10, -1]);
    assert_eq!(s.value, 5.5);
    assert!(s.feasible(&m), "both rows hold with equality");
    let s = State::new(&m, vec![Some(0), Some(0), Some(0)]);
    assert_eq!(s.usage, vec![11, -1]);
    assert!(!s.feasible(&m), "budget broken by 1");
    let s = State::new(&m, vec![Some(1), None, Some(0)]);
    assert_eq!(s.usage, vec![5, 0]);
    assert_eq!(s.value, 4.0);
    assert!(!s.feasible(&m), "no member served");
    let s = State::new(&m, vec![None, None, None]);
    assert_eq!(s.value, 0.0);
    assert!(!s.feasible(&m));
}

#[test]
fn cheapen_moves_to_the_cheapest_option_that_fits() {
    // Row 1 is a stock of one kit, used by the cheap options of both candidates.
    let m = model(
        &[5.0, 4.0],
        &[
            &[(20, &[(0, 20)]), (9, &[(0, 9), (1, 1)]), (12, &[(0, 12)])],
            &[(15, &[(0, 15)]), (7, &[(0, 7), (1, 1)])],
        ],
        &[(RowKind::Total, 100), (RowKind::Stock(0), 1)],
    );
    let mut s = State::new(&m, vec![Some(0), Some(0)]);
    s.cheapen(&m, &[1, 0]);
    // Candidate 1 takes the kit (7); candidate 0's kit (9) would break the stock, so 12.
    assert_eq!(s.choice, vec![Some(2), Some(1)]);
    assert_eq!(s.value, 9.0);
    assert_eq!(s.usage, vec![19, 1]);
    let mut s = State::new(&m, vec![Some(0), Some(0)]);
    s.cheapen(&m, &[0, 1]);
    assert_eq!(s.choice, vec![Some(1), Some(0)]);
    assert!(s.feasible(&m));
}

fn solved(m: &Model) -> search::Outcome {
    search::solve(m, 0.0, &limits(NO_LIMIT), None)
}

/// The outcome is the optimum `opt` (feasible, proven: bound closed on it).
fn assert_optimal(s: &Spec, m: &Model, out: &search::Outcome, opt: f64) {
    let best = out.best.as_ref().expect("an allocation");
    assert!(best.feasible(m));
    assert!(s.is_worth(&best.choice, best.value), "{:?}", best.choice);
    assert!(close(best.value, opt), "found {} optimum {opt}", best.value);
    assert!(
        out.bound >= opt - 1e-6,
        "bound {} below optimum {opt}",
        out.bound
    );
    assert!(
        out.bound - best.value <= lp::tol(m),
        "gap left open: bound {} objective {}",
        out.bound,
        best.value
    );
    assert!(!out.timed_out && !out.work_limited);
}

#[test]
fn search_solves_the_fractional_knapsack() {
    let s = knapsack_645_spec();
    assert_eq!(s.brute(), Some(6.0));
    let m = s.model();
    let out = solved(&m);
    assert_optimal(&s, &m, &out, 6.0);
    assert_eq!(out.best.unwrap().choice, vec![Some(0), None, None]);
    assert!(close(out.lambda[0] / m.rows[0].scale, 2.0), "root prices");
}

#[test]
fn search_chooses_among_options_under_a_stock() {
    // budget ≤ 30, one kit in stock. Candidate 0 (10): kit 12 or cash 18; candidate 1 (9):
    // kit 10 or cash 16; candidate 2 (5): cash 8. All three need 12+16+8 or 10+18+8 = 36
    // with a single kit: too much. Two: 0 and 1 with one kit and one cash (28): 19, better
    // than 0+2 (15) or 1+2 (14). With two kits all three fit exactly (12+10+8 = 30): 24.
    let opts: [&[OptSpec]; 3] = [
        &[(12, &[(0, 12), (1, 1)]), (18, &[(0, 18)])],
        &[(10, &[(0, 10), (1, 1)]), (16, &[(0, 16)])],
        &[(8, &[(0, 8)])],
    ];
    for (stock, opt) in [(1, 19.0), (2, 24.0)] {
        let s = spec(
            &[10.0, 9.0, 5.0],
            &opts,
            &[(RowKind::Total, 30), (RowKind::Stock(0), stock)],
        );
        assert_eq!(s.brute(), Some(opt));
        let m = s.model();
        let out = solved(&m);
        assert_optimal(&s, &m, &out, opt);
        let best = out.best.unwrap();
        assert!(best.usage[1] <= stock as i128);
        if stock == 1 {
            assert_eq!(best.choice[2], None);
            assert!(best.choice[0].is_some() && best.choice[1].is_some());
        }
    }
}

#[test]
fn search_meets_a_min_share_quota() {
    // Three men (10, 9, 8) and two women (3, 2), each costing 10; budget 30 (three people);
    // at least half of those served are women, written as model.rs does: share 0.5 = 5/10,
    // coefficient 5 − 10·member, b = 0. Without the quota: 27. With it: three served need
    // two women, 10 + 3 + 2 = 15; two served need one, 10 + 3 = 13; one served must be a
    // woman. Optimum 15.
    let (p, den) = share_rational(0.5);
    let member = [false, false, false, true, true];
    let a: Vec<i64> = member.iter().map(|&g| p - den * i64::from(g)).collect();
    let entries: Vec<[(usize, i64); 2]> = a.iter().map(|&a| [(0, 10), (1, a)]).collect();
    let opts: Vec<[OptSpec; 1]> = entries.iter().map(|e| [(10, &e[..])]).collect();
    let opts: Vec<&[OptSpec]> = opts.iter().map(|o| &o[..]).collect();
    let values = [10.0, 9.0, 8.0, 3.0, 2.0];
    let rows = [
        (RowKind::Total, 30),
        (RowKind::Quota(0, QuotaBound::MinShare), 0),
    ];
    let s = spec(&values, &opts, &rows);
    assert_eq!(s.brute(), Some(15.0));
    let m = s.model();
    let out = solved(&m);
    assert_optimal(&s, &m, &out, 15.0);
    assert_eq!(
        out.best.unwrap().choice,
        vec![Some(0), None, None, Some(0), Some(0)]
    );
    // The same programme without the quota row serves the three men.
    let mut s = spec(&values, &opts, &rows);
    s.rows.truncate(1);
    for os in &mut s.options {
        os[0].1.truncate(1);
    }
    let m = s.model();
    assert_optimal(&s, &m, &solved(&m), 27.0);
}

#[test]
fn search_reports_no_allocation_when_a_min_count_cannot_be_met() {
    // At least 3 members (−1 each ≤ −3) but only 2 members exist.
    let m = model(
        &[5.0, 4.0, 3.0],
        &[
            &[(10, &[(0, 10), (1, -1)])],
            &[(10, &[(0, 10), (1, -1)])],
            &[(10, &[(0, 10)])],
        ],
        &[
            (RowKind::Total, 100),
            (RowKind::Quota(0, QuotaBound::MinCount), -3),
        ],
    );
    let out = solved(&m);
    assert!(out.best.is_none(), "{:?}", out.best);
}

#[test]
fn search_serves_most_then_scores_in_two_stages() {
    // Budget 20. Scores A 9 (cost 15), B 4 (10), C 3 (10), D 5 (12). Most served: two
    // (the three cheapest cost 32), and only B + C (20) fit as a pair: score 7. By score
    // alone A (9) would win, serving one. The stages as `allocate_with_progress` runs them.
    let s = spec(
        &[9.0, 4.0, 3.0, 5.0],
        &[
            &[(15, &[(0, 15)])],
            &[(10, &[(0, 10)])],
            &[(10, &[(0, 10)])],
            &[(12, &[(0, 12)])],
        ],
        &[(RowKind::Total, 20)],
    );
    let mut m = s.model();
    assert_optimal(&s, &m, &solved(&m), 9.0);
    let scores = m.value.clone();
    m.set_values(vec![1.0; 4]);
    let first = solved(&m);
    let best = first.best.expect("an allocation");
    assert_eq!(best.value, 2.0);
    assert!(
        first.bound < 3.0,
        "most served is proven: bound {}",
        first.bound
    );
    m.add_served_row(2);
    m.set_values(scores);
    let second = search::solve(&m, 0.0, &limits(NO_LIMIT), Some(best.choice));
    let best = second.best.expect("an allocation");
    assert_eq!(best.choice, vec![None, Some(0), Some(0), None]);
    assert_eq!(best.value, 7.0);
    assert!(second.bound - 7.0 <= lp::tol(&m));
}

#[test]
fn search_matches_brute_force_on_random_models() {
    let mut rng = Lcg(2016);
    let (mut feasible, mut infeasible) = (0, 0);
    for round in 0..400 {
        let n = 1 + rng.below(7) as usize;
        let s = random_spec(&mut rng, n);
        let m = s.model();
        let out = solved(&m);
        match s.brute() {
            Some(opt) => {
                feasible += 1;
                let best = out
                    .best
                    .as_ref()
                    .unwrap_or_else(|| panic!("round {round}: none found, optimum {opt}\n{s:?}"));
                assert!(
                    s.is_worth(&best.choice, best.value),
                    "round {round}: allocation {:?} infeasible or not worth {}\n{s:?}",
                    best.choice,
                    best.value
                );
                assert!(
                    close(best.value, opt),
                    "round {round}: found {} optimum {opt}\n{s:?}",
                    best.value
                );
                assert!(
                    out.bound >= opt - 1e-6,
                    "round {round}: bound {} below optimum {opt}\n{s:?}",
                    out.bound
                );
                assert!(
                    out.bound - best.value <= lp::tol(&m),
                    "round {round}: gap open, bound {} objective {}\n{s:?}",
                    out.bound,
                    best.value
                );
                assert!(!out.timed_out && !out.work_limited, "round {round}");
                // Asked for a 5% gap, the search may stop early, but only within 5% of the
                // bound it reports, as the gap is reported: (bound - found) / |bound|.
                let loose = search::solve(&m, 0.05, &limits(NO_LIMIT), None);
                let found = loose.best.expect("an allocation").value;
                assert!(
                    loose.bound >= opt - 1e-6 && found <= opt + 1e-6,
                    "round {round}: gap 5%: found {found}, bound {}, optimum {opt}",
                    loose.bound
                );
                assert!(
                    loose.bound - found <= 0.05 * loose.bound.abs() + lp::tol(&m),
                    "round {round}: gap 5%: found {found}, bound {}",
                    loose.bound
                );
            }
            None => {
                infeasible += 1;
                assert!(out.best.is_none(), "round {round}: {:?}\n{s:?}", out.best);
            }
        }
    }
    assert!(
        feasible >= 300 && infeasible >= 5,
        "{feasible} feasible, {infeasible} not"
    );
}

#[test]
fn splitting_on_a_whole_group_finds_the_optimum_on_either_side() {
    // From an allocation that serves every member of a min quota's group, the split searches
    // the allocations with a member out, then those serving every member: the optimum is
    // found whichever side it is on, and the bound (the higher of the two sides') holds.
    let mut rng = Lcg(7);
    let (mut checked, mut member_out) = (0, 0);
    for round in 0..1500 {
        let n = 2 + rng.below(6) as usize;
        let s = random_spec(&mut rng, n);
        let m = s.model();
        let Some(group) = (0..m.nrows()).find_map(|r| search::Group::asked_by(&m, r)) else {
            continue;
        };
        let members: Vec<usize> = (0..n).filter(|&c| group.member[c]).collect();
        if members.is_empty() {
            continue;
        }
        // The worst allocation serving every member: the split has to find better ones.
        let mut worst: Option<(f64, Vec<Option<usize>>)> = None;
        s.each(&mut |choice| {
            if members.iter().all(|&c| choice[c].is_some()) {
                if let Some(v) = s.value_of(choice) {
                    if worst.as_ref().is_none_or(|(w, _)| v < *w) {
                        worst = Some((v, choice.to_vec()));
                    }
                }
            }
        });
        let Some((_, seed)) = worst else {
            continue;
        };
        let Some((opt, _)) = s.brute_where(&|_| true) else {
            continue;
        };
        let lambda = vec![0.0; m.nrows()];
        let seed = State::new(&m, seed);
        let out = search::split(
            &m,
            0.0,
            &limits(NO_LIMIT),
            seed,
            group,
            f64::INFINITY,
            lambda,
        );
        checked += 1;
        let best = out.best.expect("the seed at least");
        assert!(
            s.is_worth(&best.choice, best.value),
            "round {round}: {:?} infeasible or not worth {}\n{s:?}",
            best.choice,
            best.value
        );
        assert!(
            close(best.value, opt),
            "round {round}: found {} optimum {opt}\n{s:?}",
            best.value
        );
        assert!(
            out.bound >= opt - 1e-6 && out.bound - best.value <= lp::tol(&m),
            "round {round}: bound {} optimum {opt}\n{s:?}",
            out.bound
        );
        assert!(!out.timed_out && !out.work_limited, "round {round}");
        member_out += usize::from(members.iter().any(|&c| best.choice[c].is_none()));
    }
    assert!(checked >= 100, "only {checked} splits checked");
    assert!(
        member_out >= 10,
        "the optimum left a member out only {member_out} times"
    );
}

#[test]
fn a_search_with_a_target_stops_at_an_allocation_worth_it() {
    // A neighbourhood's search only needs an allocation worth the target (what closes the
    // whole programme's gap): it returns one as soon as it has one, so it may be below the
    // optimum, never below the target when the optimum reaches it, and it does no more work
    // than the search to the optimum.
    let mut rng = Lcg(17);
    let (mut checked, mut cheaper) = (0, 0);
    for round in 0..400 {
        let n = 4 + rng.below(5) as usize;
        let s = random_spec(&mut rng, n);
        let m = s.model();
        let Some(opt) = s.brute() else { continue };
        let nobody = vec![None; n];
        if !s.is_worth(&nobody, 0.0) {
            continue;
        }
        let target = opt * (50 + rng.below(50)) as f64 / 100.0;
        let before = lp::work_done();
        let whole = search::solve(&m, 0.0, &limits(NO_LIMIT), Some(nobody.clone()));
        let full_work = lp::work_done() - before;
        let before = lp::work_done();
        let out = search::solve_for(&m, &limits(NO_LIMIT), nobody, target);
        let work = lp::work_done() - before;
        let best = out.best.expect("at least nobody served");
        checked += 1;
        assert!(
            s.is_worth(&best.choice, best.value),
            "round {round}: {:?} infeasible or not worth {}",
            best.choice,
            best.value
        );
        assert!(
            best.value >= target - 1e-9 && best.value <= opt + 1e-6,
            "round {round}: found {} for the target {target}, optimum {opt}\n{s:?}",
            best.value
        );
        assert!(
            close(whole.best.expect("optimum").value, opt),
            "round {round}"
        );
        assert!(
            work <= full_work,
            "round {round}: {work} units, {full_work} to the optimum"
        );
        cheaper += usize::from(work < full_work);
    }
    assert!(checked >= 200, "only {checked} searches checked");
    assert!(
        cheaper >= 10,
        "the target saved work only {cheaper} times of {checked}"
    );
}

#[test]
fn search_stopped_early_keeps_a_valid_bound() {
    // No work budget at all, or a deadline already past: whatever is returned is feasible
    // and the bound still holds.
    let mut rng = Lcg(99);
    for round in 0..150 {
        let n = 1 + rng.below(7) as usize;
        let s = random_spec(&mut rng, n);
        let m = s.model();
        let past = search::Limits {
            deadline: Instant::now(),
            work: NO_LIMIT,
            progress: &quiet,
            nested: false,
            descent: super::lagrange::MAX_EVALUATIONS,
            descent_cells: super::lagrange::DESCENT_CELLS,
            polish: true,
        };
        for (how, out) in [
            ("work 0", search::solve(&m, 0.0, &limits(0.0), None)),
            ("past deadline", search::solve(&m, 0.0, &past, None)),
        ] {
            let Some(opt) = s.brute() else {
                assert!(out.best.is_none(), "round {round} {how}");
                continue;
            };
            assert!(
                out.bound >= opt - 1e-6,
                "round {round} {how}: bound {} below optimum {opt}\n{s:?}",
                out.bound
            );
            if let Some(best) = &out.best {
                assert!(s.is_worth(&best.choice, best.value), "round {round} {how}");
                assert!(best.value <= opt + 1e-9);
            }
            if how == "past deadline" {
                assert!(out.timed_out, "round {round}: the clock stopped it");
            }
        }
    }
}

// ---------------------------------------------------------------- random models

/// A deterministic linear congruential generator (Knuth's MMIX constants).
struct Lcg(u64);

impl Lcg {
    fn below(&mut self, n: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 33) % n
    }

    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
}

/// A small programme like the ones `model::build` makes: `n` candidates in two cities with
/// one to three options (kit, cash or both; costs in steps of 250 MAD), `budget.total`, and
/// at random a city cap on city 0, a funder row that does not pay city 0's kits, a kit
/// stock, and quota rows (min/max share, min/max count) over a random group.
fn random_spec(rng: &mut Lcg, n: usize) -> Spec {
    // Whole scores, scores with two decimals, or 1 each (`maximize = "served"`: many ties).
    let kind = rng.below(5);
    let values: Vec<f64> = (0..n)
        .map(|_| match kind {
            0 | 1 => 1.0 + rng.below(60) as f64,
            2 | 3 => (100 + rng.below(5900)) as f64 / 100.0,
            _ => 1.0,
        })
        .collect();
    let city: Vec<usize> = (0..n).map(|_| rng.below(2) as usize).collect();
    let member: Vec<bool> = (0..n).map(|_| rng.chance(40)).collect();
    // Per option: (kit cost, cash), both multiples of 250.
    let parts: Vec<Vec<(i64, i64)>> = (0..n)
        .map(|_| {
            let kit = 250 * (4 + rng.below(60) as i64);
            (0..1 + rng.below(3))
                .map(|k| match k {
                    0 => (kit, 0),
                    1 => (0, 250 * (2 + rng.below(60) as i64)),
                    _ => (kit, 250 * (1 + rng.below(20) as i64)),
                })
                .collect()
        })
        .collect();
    let most: i64 = parts
        .iter()
        .map(|p| p.iter().map(|(k, c)| k + c).max().unwrap_or(0))
        .sum();
    let mut rows = vec![(RowKind::Total, most * (20 + rng.below(80) as i64) / 100)];
    let mut entries: Vec<Vec<Vec<(usize, i64)>>> = parts
        .iter()
        .map(|p| p.iter().map(|(k, c)| vec![(0, k + c)]).collect())
        .collect();
    let mut add_row =
        |rows: &mut Vec<(RowKind, i64)>, kind, b, coef: &dyn Fn(usize, (i64, i64)) -> i64| {
            let r = rows.len();
            rows.push((kind, b));
            for c in 0..n {
                for (k, &p) in parts[c].iter().enumerate() {
                    let a = coef(c, p);
                    if a != 0 {
                        entries[c][k].push((r, a));
                    }
                }
            }
        };
    if rng.chance(40) {
        let b = most * (10 + rng.below(50) as i64) / 100;
        add_row(&mut rows, RowKind::City("zero".into()), b, &|c, (k, m)| {
            if city[c] == 0 {
                k + m
            } else {
                0
            }
        });
    }
    if rng.chance(40) {
        let b = most * (10 + rng.below(60) as i64) / 100;
        add_row(&mut rows, RowKind::Funders(vec![0, 2]), b, &|c, (k, m)| {
            if city[c] == 0 {
                m
            } else {
                k + m
            }
        });
    }
    if rng.chance(40) {
        let b = rng.below(3) as i64;
        add_row(&mut rows, RowKind::Stock(0), b, &|c, (k, _)| {
            i64::from(c % 2 == 0 && k > 0)
        });
    }
    let g = |c: usize| i64::from(member[c]);
    if rng.chance(30) {
        let (p, den) = share_rational([0.25, 0.3, 0.5][rng.below(3) as usize]);
        add_row(
            &mut rows,
            RowKind::Quota(0, QuotaBound::MinShare),
            0,
            &|c, _| p - den * g(c),
        );
    }
    if rng.chance(15) {
        let (p, den) = share_rational([0.5, 0.6][rng.below(2) as usize]);
        add_row(
            &mut rows,
            RowKind::Quota(0, QuotaBound::MaxShare),
            0,
            &|c, _| den * g(c) - p,
        );
    }
    if rng.chance(20) {
        let b = -(rng.below(3) as i64);
        add_row(
            &mut rows,
            RowKind::Quota(0, QuotaBound::MinCount),
            b,
            &|c, _| -g(c),
        );
    }
    if rng.chance(15) {
        let b = rng.below(3) as i64;
        add_row(
            &mut rows,
            RowKind::Quota(0, QuotaBound::MaxCount),
            b,
            &|c, _| g(c),
        );
    }
    Spec {
        values,
        options: parts
            .iter()
            .zip(entries)
            .map(|(p, e)| p.iter().zip(e).map(|((k, c), e)| (k + c, e)).collect())
            .collect(),
        rows,
    }
}
