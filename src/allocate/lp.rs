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

/// Largest working set solved in one LP.
pub(crate) const DIRECT: usize = 1200;
/// The working set is abandoned (prices kept as they are) past this size.
const MAX_WORKING: usize = 12_000;

/// What a candidate may do in a subproblem.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Allowed {
    /// Any option, or nothing.
    Free,
    /// Held at this option (`None`: not served).
    Forced(Option<usize>),
}

/// Prices and the bound they prove.
#[derive(Debug, Clone)]
pub(crate) struct Lp {
    /// Price of each model row (scaled rows).
    pub lambda: Vec<f64>,
    /// `g(lambda)`: a valid upper bound of the subproblem.
    pub bound: f64,
    /// True when the prices were proven to minimise `g`.
    pub converged: bool,
}

/// Tolerance on profits, in objective units.
pub(crate) fn tol(m: &Model) -> f64 {
    1e-7 * (1.0 + m.value.iter().fold(0.0f64, |a, v| a.max(v.abs())))
}

/// Price cap: a row whose price reaches it cannot be met by the working set.
fn price_cap(m: &Model) -> f64 {
    1e4 * (1.0 + m.value.iter().fold(0.0f64, |a, v| a.max(v.abs())))
}

/// Best option (`None` = nothing) and its profit, for a free candidate.
pub(crate) fn best(m: &Model, c: usize, lambda: &[f64]) -> (Option<usize>, f64, f64) {
    let mut best = (None, 0.0f64);
    let mut second = f64::NEG_INFINITY;
    for o in 0..m.cands[c].opts.len() {
        let p = m.profit(c, o, lambda);
        if p > best.1 {
            second = best.1;
            best = (Some(o), p);
        } else if p > second {
            second = p;
        }
    }
    (best.0, best.1, best.1 - second)
}

/// `g(lambda)` for the subproblem `allowed`.
pub(crate) fn bound_at(m: &Model, allowed: &[Allowed], lambda: &[f64]) -> f64 {
    let mut g: f64 = m.b_s.iter().zip(lambda).map(|(b, l)| b * l).sum();
    for (c, a) in allowed.iter().enumerate() {
        g += match a {
            Allowed::Free => best(m, c, lambda).1,
            Allowed::Forced(Some(o)) => m.profit(c, *o, lambda),
            Allowed::Forced(None) => 0.0,
        };
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

/// Minimises `g` over the candidates `free` with right-hand sides `b` (scaled).
fn direct(m: &Model, free: &[usize], b: &[f64], deadline: Instant) -> Option<Vec<f64>> {
    let now = Instant::now();
    if now >= deadline {
        return None;
    }
    let cap = price_cap(m);
    let mut vars = ProblemVariables::new();
    let lam: Vec<Variable> = (0..m.nrows())
        .map(|_| vars.add(variable().min(0.0).max(cap)))
        .collect();
    let pi: Vec<Variable> = free.iter().map(|_| vars.add(variable().min(0.0))).collect();
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
        .filter(|&c| allowed[c] == Allowed::Free)
        .collect();
    let b = residual(
        m,
        &m.b_s,
        allowed.iter().enumerate().filter_map(|(c, a)| match a {
            Allowed::Forced(Some(o)) => Some((c, *o)),
            _ => None,
        }),
    );
    let (lambda, converged) = solve_free(m, &free, &b, warm, deadline)?;
    let bound = bound_at(m, allowed, &lambda);
    Some(Lp {
        lambda,
        bound,
        converged,
    })
}

/// Prices for the candidates `free` under right-hand sides `b`; `true` when proven minimal.
fn solve_free(
    m: &Model,
    free: &[usize],
    b: &[f64],
    warm: Option<&[f64]>,
    deadline: Instant,
) -> Option<(Vec<f64>, bool)> {
    if free.len() <= DIRECT {
        return direct(m, free, b, deadline).map(|l| (l, true));
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
            solve_free(m, &sample, &bs, None, deadline)?.0
        }
    };
    // Hold everyone but the closest calls at their choice under the first guess.
    let mut held: Vec<(usize, Option<usize>, f64)> = free
        .iter()
        .map(|&c| {
            let (o, _, margin) = best(m, c, &start);
            (c, o, margin)
        })
        .collect();
    held.sort_by(|a, b| a.2.total_cmp(&b.2).then(a.0.cmp(&b.0)));
    let mut working: Vec<usize> = held.iter().take(DIRECT).map(|h| h.0).collect();
    let mut held: Vec<(usize, Option<usize>)> = held
        .into_iter()
        .skip(DIRECT)
        .map(|(c, o, _)| (c, o))
        .collect();
    let t = tol(m);
    let mut lambda = start;
    loop {
        let bw = residual(m, b, held.iter().filter_map(|&(c, o)| o.map(|o| (c, o))));
        working.sort_unstable();
        let Some(l) = direct(m, &working, &bw, deadline) else {
            return Some((lambda, false));
        };
        lambda = l;
        let mut moved = Vec::new();
        held.retain(|&(c, o)| {
            let now = o.map_or(0.0, |o| m.profit(c, o, &lambda));
            let ok = best(m, c, &lambda).1 <= now + t;
            if !ok {
                moved.push(c);
            }
            ok
        });
        if moved.is_empty() {
            return Some((lambda, true));
        }
        working.extend(moved);
        if working.len() > MAX_WORKING || Instant::now() >= deadline {
            return Some((lambda, false));
        }
    }
}
