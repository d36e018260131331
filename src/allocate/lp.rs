//! The LP relaxation, solved through its dual.
//!
//! With prices `λ ≥ 0` on the coupling rows, every candidate simply takes its most profitable
//! option (value − λ·usage, or nothing), and `g(λ) = λ·b + Σ max(0, best profit)` is an upper
//! bound on every allocation (weak duality). The LP relaxation is `min g`. We solve that dual
//! LP with microlp (its primal values *are* the prices, so no dual extraction is needed), but
//! only over a working set of candidates whose choice is in doubt; the others are held at their
//! choice under a first guess of the prices, and the guess is checked afterwards: when no held
//! candidate would rather choose differently at the new prices, those prices minimise `g` over
//! everyone. Large instances get the first guess from a sample of the candidates.

use std::time::Instant;

use good_lp::{
    constraint, microlp, variable, Expression, ProblemVariables, Solution, SolverModel, Variable,
    WithTimeLimit,
};

use super::model::Model;

/// Largest working set solved in one LP from cold. Larger problems start from a sample
/// (a sixth of them, recursively) and grow a working set from its prices: microlp's time
/// grows much faster than linearly, so many small LPs beat one large one (ramadan-2016's
/// root LP: 7.5 ms in one go over 364 candidates, 1 ms this way; 100,000 applicants: the
/// whole allocation 1.6 s → 0.7 s).
const DIRECT: usize = 20;
/// Most near ties shared out by the primal LP.
const PRIMAL_TIES: usize = 6000;
/// Working set when starting from warm prices.
const WARM_WORKING: usize = 4;
/// The working set is abandoned (prices kept as they are) past this size.
const MAX_WORKING: usize = 60_000;

thread_local! {
    /// LP work done on this thread: each LP adds its constraints × variables.
    static WORK: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
}

/// LP work done on this thread so far (see [`WORK`]); an allocation runs on one thread, so
/// the difference between two readings is the work between them, and the same on every run.
pub(crate) fn work_done() -> u64 {
    WORK.with(|w| w.get())
}

fn add_work(constraints: usize, variables: usize) {
    charge((constraints as u64).saturating_mul(variables as u64));
}

/// Counts `units` of work on this thread (the search's own work besides its LPs).
pub(crate) fn charge(units: u64) {
    WORK.with(|w| w.set(w.get().saturating_add(units)));
}

/// What a candidate may do in a subproblem.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Allowed {
    /// Any option, or nothing.
    Free,
    /// Any option, but served.
    Served,
    /// Held at this option (`None`: not served).
    Forced(Option<usize>),
}

impl Allowed {
    /// True when the choice is still the candidate's to make (free, or served with any option).
    pub(crate) fn is_open(self) -> bool {
        !matches!(self, Allowed::Forced(_))
    }
}

/// Prices and the bound they prove.
#[derive(Debug, Clone)]
pub(crate) struct Lp {
    /// Price of each model row (scaled rows).
    pub lambda: Vec<f64>,
    /// `g(lambda)`: a valid upper bound of the subproblem.
    pub bound: f64,
}

/// Tolerance on profits, in objective units.
pub(crate) fn tol(m: &Model) -> f64 {
    1e-7 * (1.0 + m.value.iter().fold(0.0f64, |a, v| a.max(v.abs())))
}

/// Price cap: a row whose price reaches it cannot be met by the working set.
pub(crate) fn price_cap(m: &Model) -> f64 {
    1e4 * (1.0 + m.value.iter().fold(0.0f64, |a, v| a.max(v.abs())))
}

/// Best option (`None` = nothing), its profit, and its margin over the next best, for a free
/// candidate. Near ties go to the option using less of the rows (scaled), so that held
/// choices do not pile onto a resource whose price happens to be zero.
pub(crate) fn best(m: &Model, c: usize, lambda: &[f64]) -> (Option<usize>, f64, f64) {
    best_of(m, c, lambda, false)
}

/// [`best`] for a candidate that must be served when `served` is set.
fn best_of(m: &Model, c: usize, lambda: &[f64], served: bool) -> (Option<usize>, f64, f64) {
    best_noting(m, c, lambda, served, None).0
}

/// [`best_of`], and the profit of option `held` (0 for none) met on the way.
fn best_noting(
    m: &Model,
    c: usize,
    lambda: &[f64],
    served: bool,
    held: Option<usize>,
) -> ((Option<usize>, f64, f64), f64) {
    let tie = 1e-9 * (1.0 + m.value[c].abs());
    // What an option takes of the rows breaks near ties (the smaller wins); only near ties
    // need it.
    let foot = |o: usize| -> f64 {
        let opt = &m.cands[c].opts[o];
        m.coef_s[opt.start..opt.end]
            .iter()
            .map(|a| a.max(0.0))
            .sum()
    };
    // (option, profit); a candidate that must be served starts from no choice.
    let mut best = (None, if served { f64::NEG_INFINITY } else { 0.0 });
    let mut second = f64::NEG_INFINITY;
    let mut at_held = 0.0;
    for o in 0..m.cands[c].opts.len() {
        let p = m.profit(c, o, lambda);
        if held == Some(o) {
            at_held = p;
        }
        let wins = p > best.1 + tie
            || (p > best.1 - tie && best.0.is_some_and(|b: usize| foot(o) < foot(b)));
        if wins {
            second = second.max(best.1);
            best = (Some(o), p);
        } else {
            second = second.max(p);
        }
    }
    ((best.0, best.1, best.1 - second), at_held)
}

/// The choice candidate `c` makes at prices `lambda` within what `allowed` lets it do: option,
/// profit, and margin over the next best choice (infinite when held).
pub(crate) fn respond(
    m: &Model,
    c: usize,
    allowed: Allowed,
    lambda: &[f64],
) -> (Option<usize>, f64, f64) {
    match allowed {
        Allowed::Free => best_of(m, c, lambda, false),
        Allowed::Served => best_of(m, c, lambda, true),
        Allowed::Forced(o) => (o, o.map_or(0.0, |o| m.profit(c, o, lambda)), f64::INFINITY),
    }
}

/// More than the open candidates of `allowed` could add or take away together at `lambda`
/// (1 + the sum of each one's largest |profit|): the bonus the knapsack's tables and the quota
/// bound give each candidate that must be served, and take back from the bound, so that their
/// best allocation serves every such candidate whenever their exact rows allow it (any bonus
/// would still give a bound).
pub(crate) fn must_bonus(m: &Model, allowed: &[Allowed], lambda: &[f64]) -> f64 {
    let open = (0..m.cands.len()).filter(|&c| allowed[c].is_open());
    1.0 + open
        .map(|c| {
            (0..m.cands[c].opts.len())
                .map(|k| m.profit(c, k, lambda).abs())
                .fold(0.0, f64::max)
        })
        .sum::<f64>()
}

/// `g(lambda)` for the subproblem `allowed`.
pub(crate) fn bound_at(m: &Model, allowed: &[Allowed], lambda: &[f64]) -> f64 {
    let mut g: f64 = m.b_s.iter().zip(lambda).map(|(b, l)| b * l).sum();
    for (c, a) in allowed.iter().enumerate() {
        g += respond(m, c, *a, lambda).1;
    }
    g
}

/// Right-hand sides left once `held` candidates take their options.
fn residual(m: &Model, base: &[f64], held: impl Iterator<Item = (usize, usize)>) -> Vec<f64> {
    let mut b = base.to_vec();
    for (c, o) in held {
        let opt = &m.cands[c].opts[o];
        for k in opt.start..opt.end {
            b[m.row_of[k] as usize] -= m.coef_s[k];
        }
    }
    b
}

/// Adds `sign` times what option `o` of candidate `c` uses of each row to `used`.
fn count_use(m: &Model, used: &mut [i128], c: usize, o: usize, sign: i128) {
    let opt = &m.cands[c].opts[o];
    for k in opt.start..opt.end {
        used[m.row_of[k] as usize] += sign * i128::from(m.coef[k]);
    }
}

/// Minimises `g` over the candidates `free` with right-hand sides `b` (scaled).
fn direct(
    m: &Model,
    allowed: &[Allowed],
    free: &[usize],
    b: &[f64],
    deadline: Instant,
) -> Option<Vec<f64>> {
    let now = Instant::now();
    if now >= deadline {
        return None;
    }
    let cap = price_cap(m);
    let mut vars = ProblemVariables::new();
    let lam: Vec<Variable> = (0..m.nrows())
        .map(|_| vars.add(variable().min(0.0).max(cap)))
        .collect();
    // A candidate's profit is π ≥ 0, or any sign when it must be served.
    let pi: Vec<Variable> = free
        .iter()
        .map(|&c| match allowed[c] {
            Allowed::Served => vars.add(variable()),
            _ => vars.add(variable().min(0.0)),
        })
        .collect();
    let mut obj = Expression::with_capacity(lam.len() + pi.len());
    for (r, &l) in lam.iter().enumerate() {
        if b[r] != 0.0 {
            obj.add_mul(b[r], l);
        }
    }
    for &p in &pi {
        obj.add_mul(1.0, p);
    }
    let mut problem = vars
        .minimise(obj)
        .using(microlp)
        .with_time_limit((deadline - now).as_secs_f64());
    for (k, &c) in free.iter().enumerate() {
        let v = m.value[c];
        for o in &m.cands[c].opts {
            let mut e = Expression::with_capacity(o.end - o.start + 1);
            e.add_mul(1.0, pi[k]);
            for j in o.start..o.end {
                e.add_mul(m.coef_s[j], lam[m.row_of[j] as usize]);
            }
            problem.add_constraint(constraint!(e >= v));
        }
    }
    let constraints: usize = free.iter().map(|&c| m.cands[c].opts.len()).sum();
    add_work(constraints, lam.len() + pi.len());
    let sol = problem.solve().ok()?;
    Some(lam.iter().map(|&l| sol.value(l).clamp(0.0, cap)).collect())
}

/// Minimises `g` for the subproblem `allowed`, starting from `warm` prices if given.
pub(crate) fn solve(
    m: &Model,
    allowed: &[Allowed],
    warm: Option<&[f64]>,
    deadline: Instant,
) -> Option<Lp> {
    let free: Vec<usize> = (0..allowed.len())
        .filter(|&c| allowed[c].is_open())
        .collect();
    let b = residual(
        m,
        &m.b_s,
        allowed.iter().enumerate().filter_map(|(c, a)| match a {
            Allowed::Forced(Some(o)) => Some((c, *o)),
            _ => None,
        }),
    );
    // Unconverged prices still give a valid bound (weak duality), only a weaker one.
    let (lambda, _converged) = solve_free(m, allowed, &free, &b, warm, deadline)?;
    let bound = bound_at(m, allowed, &lambda);
    Some(Lp { lambda, bound })
}

/// Prices for the candidates `free` under right-hand sides `b`; `true` when proven minimal.
fn solve_free(
    m: &Model,
    allowed: &[Allowed],
    free: &[usize],
    b: &[f64],
    warm: Option<&[f64]>,
    deadline: Instant,
) -> Option<(Vec<f64>, bool)> {
    // Warm prices (a branch-and-bound node's parent) leave few calls in doubt: a small
    // working set is many times faster than one LP over everyone.
    let size = if warm.is_some() { WARM_WORKING } else { DIRECT };
    if free.len() <= size {
        return direct(m, allowed, free, b, deadline).map(|l| (l, true));
    }
    let start = match warm {
        Some(w) => w.to_vec(),
        None => {
            // A first guess from an evenly spread sample with proportionally scaled rows.
            let size = (free.len() / 6).max(DIRECT);
            let step = free.len() as f64 / size as f64;
            let sample: Vec<usize> = (0..size)
                .map(|k| free[((k as f64 + 0.5) * step) as usize])
                .collect();
            let frac = size as f64 / free.len() as f64;
            let bs: Vec<f64> = b.iter().map(|x| x * frac).collect();
            solve_free(m, allowed, &sample, &bs, None, deadline)?.0
        }
    };
    // Hold everyone but the closest calls at their choice under the first guess.
    let mut held: Vec<(usize, Option<usize>, f64)> = free
        .iter()
        .map(|&c| {
            let (o, _, margin) = respond(m, c, allowed[c], &start);
            (c, o, margin)
        })
        .collect();
    held.sort_by(|a, b| a.2.total_cmp(&b.2).then(a.0.cmp(&b.0)));
    let mut working: Vec<usize> = held.iter().take(size).map(|h| h.0).collect();
    // Each held candidate with its rank by margin (the closer call first when two would
    // gain as much by leaving).
    let mut held: Vec<(usize, Option<usize>, usize)> = held
        .into_iter()
        .skip(size)
        .enumerate()
        .map(|(rank, (c, o, _))| (c, o, rank))
        .collect();
    // Priced in the model's order, each round reads the model's arrays front to back.
    held.sort_unstable_by_key(|h| h.0);
    let t = tol(m);
    let mut lambda = start;
    // What the held candidates use of each row, exactly: the working set's right-hand
    // sides do not depend on the order they are held in, and follow them as they leave.
    let mut used = vec![0i128; m.nrows()];
    for &(c, o, _) in &held {
        if let Some(o) = o {
            count_use(m, &mut used, c, o, 1);
        }
    }
    loop {
        let bw: Vec<f64> = b
            .iter()
            .zip(&used)
            .zip(&m.rows)
            .map(|((b, &u), r)| b - u as f64 / r.scale)
            .collect();
        working.sort_unstable();
        let l = direct(m, allowed, &working, &bw, deadline);
        let Some(l) = l else {
            return Some((lambda, false));
        };
        lambda = l;
        // Held choices that are no longer best join the working set, the worst first and
        // a bounded number per round (partial pricing keeps each LP small).
        let mut worse: Vec<(f64, usize)> = held
            .iter()
            .enumerate()
            .filter_map(|(k, &(c, o, _))| {
                // Every candidate here is open (neither held nor forced).
                let served = allowed[c] == Allowed::Served;
                let ((_, best, _), now) = best_noting(m, c, &lambda, served, o);
                let by = best - now;
                (by > t).then_some((by, k))
            })
            .collect();
        if worse.is_empty() {
            return Some((lambda, true));
        }
        worse.sort_by(|a, b| b.0.total_cmp(&a.0).then(held[a.1].2.cmp(&held[b.1].2)));
        worse.truncate((working.len() / 2).max(size));
        let mut leave = vec![false; held.len()];
        for &(_, k) in &worse {
            leave[k] = true;
            let (c, o, _) = held[k];
            working.push(c);
            if let Some(o) = o {
                count_use(m, &mut used, c, o, -1);
            }
        }
        let mut k = 0;
        held.retain(|_| {
            k += 1;
            !leave[k - 1]
        });
        if working.len() > MAX_WORKING || Instant::now() >= deadline {
            return Some((lambda, false));
        }
    }
}

/// A primal LP solution at prices `lambda`: candidates with a clear best option take it;
/// the rest (near ties) share out what the rows leave, by a small primal LP.
pub(crate) struct Primal {
    /// Integral part: the clear choices (forced ones included); ties are `None` here.
    pub base: Vec<Option<usize>>,
    /// Near-tied candidates and the share of each of their options.
    pub shares: Vec<(usize, Vec<f64>)>,
}

/// Recovers a primal solution consistent with `lambda` (complementary slackness);
/// `None` if the near ties cannot meet the rows (prices not optimal enough).
pub(crate) fn primal(
    m: &Model,
    allowed: &[Allowed],
    lambda: &[f64],
    deadline: Instant,
) -> Option<Primal> {
    let tie = 1e-5 * (1.0 + m.value.iter().fold(0.0f64, |a, v| a.max(v.abs())));
    let mut base = vec![None; allowed.len()];
    let mut tied: Vec<(usize, Vec<usize>, bool)> = Vec::new(); // (cand, options, must serve)
    for (c, a) in allowed.iter().enumerate() {
        match a {
            Allowed::Forced(o) => base[c] = *o,
            Allowed::Free | Allowed::Served => {
                let (o, p, margin) = respond(m, c, *a, lambda);
                if margin > tie {
                    base[c] = o;
                    continue;
                }
                let opts: Vec<usize> = (0..m.cands[c].opts.len())
                    .filter(|&k| m.profit(c, k, lambda) >= p - tie)
                    .collect();
                tied.push((c, opts, p > tie || *a == Allowed::Served));
            }
        }
    }
    if tied.len() > PRIMAL_TIES {
        // Too many near ties for a quick LP: the caller rounds and repairs instead.
        return None;
    }
    if tied.is_empty() {
        return Some(Primal {
            base,
            shares: Vec::new(),
        });
    }
    let b = residual(
        m,
        &m.b_s,
        base.iter()
            .enumerate()
            .filter_map(|(c, o)| o.map(|o| (c, o))),
    );
    let now = Instant::now();
    if now >= deadline {
        return None;
    }
    let mut vars = ProblemVariables::new();
    let x: Vec<Vec<Variable>> = tied
        .iter()
        .map(|(_, opts, _)| {
            opts.iter()
                .map(|_| vars.add(variable().min(0.0).max(1.0)))
                .collect()
        })
        .collect();
    let mut obj = Expression::default();
    for ((c, _, _), xs) in tied.iter().zip(&x) {
        for &v in xs {
            obj.add_mul(m.value[*c], v);
        }
    }
    let mut problem = vars
        .maximise(obj)
        .using(microlp)
        .with_time_limit((deadline - now).as_secs_f64());
    let mut rows: Vec<Expression> = vec![Expression::default(); m.nrows()];
    for ((c, opts, must), xs) in tied.iter().zip(&x) {
        let mut one = Expression::default();
        for (&k, &v) in opts.iter().zip(xs) {
            one.add_mul(1.0, v);
            let o = &m.cands[*c].opts[k];
            for j in o.start..o.end {
                rows[m.row_of[j] as usize].add_mul(m.coef_s[j], v);
            }
        }
        if xs.len() > 1 || *must {
            if *must {
                problem.add_constraint(constraint!(one == 1.0));
            } else {
                problem.add_constraint(constraint!(one <= 1.0));
            }
        }
    }
    for (r, e) in rows.into_iter().enumerate() {
        let slack = b[r] + 1e-9 * m.b_s[r].abs().max(1.0);
        problem.add_constraint(constraint!(e <= slack));
    }
    let variables: usize = x.iter().map(Vec::len).sum();
    add_work(tied.len() + m.nrows(), variables);
    let sol = problem.solve().ok()?;
    let shares = tied
        .iter()
        .zip(&x)
        .map(|((c, opts, _), xs)| {
            let mut share = vec![0.0; m.cands[*c].opts.len()];
            for (&k, &v) in opts.iter().zip(xs) {
                share[k] = sol.value(v).clamp(0.0, 1.0);
            }
            (*c, share)
        })
        .collect();
    Some(Primal { base, shares })
}
