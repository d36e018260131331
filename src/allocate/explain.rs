//! Explanations: why an eligible applicant was left out, how each constraint came out, and
//! which quotas make a scenario infeasible.
//!
//! Prices come from the LP relaxation: a row's price is what one more unit of it would add to
//! the objective, so an applicant's cut-off is the priced usage of their offer per MAD.

use std::time::Instant;

use super::is_eligible;
use super::lp::{self, Allowed};
use super::model::{Model, QuotaBound, RowKind};
use super::search::State;
use crate::assessment::Assessment;
use crate::decision::{verb, WhyNot, WhyNotKind};
use crate::error::{Error, Result};
use crate::scenario::{Mad, Objective, Scenario};

/// Price of one unit of row `r` in its exact (unscaled) coefficients.
fn price(m: &Model, lambda: &[f64], r: usize) -> f64 {
    lambda.get(r).copied().unwrap_or(0.0) / m.rows[r].scale
}

/// `12000` → `12,000`.
pub(crate) fn mad(x: Mad) -> String {
    crate::report::thousands(x)
}

/// A number with at most `places` decimals, trailing zeros dropped.
fn num(x: f64, places: usize) -> String {
    let s = format!("{x:.places$}");
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    }
}

/// Fails with [`Error::Infeasible`] when some `min_count` quota cannot be met even by the
/// LP relaxation of everything else.
pub(crate) fn check_min_counts(
    scenario: &Scenario,
    assessments: &[Assessment],
    m: &Model,
    deadline: Instant,
) -> Result<()> {
    for row in &m.rows {
        let RowKind::Quota(q, QuotaBound::MinCount) = row.kind else {
            continue;
        };
        let need = -row.b;
        let members: Vec<bool> = m
            .cands
            .iter()
            .map(|c| assessments[c.input].in_quota(&scenario.quotas[q].name))
            .collect();
        let count = members.iter().filter(|&&g| g).count() as i64;
        let name = &row.name;
        if count < need {
            let eligible = assessments
                .iter()
                .filter(|a| is_eligible(a) && a.in_quota(&scenario.quotas[q].name))
                .count();
            return Err(Error::Infeasible {
                constraints: vec![name.clone()],
                shortfall: Some(need - count),
                message: format!(
                    "{name} needs {need} but only {count} eligible applicants of quota `{}` have a \
                     fundable offer ({eligible} eligible in all; short by {})",
                    scenario.quotas[q].name,
                    need - count
                ),
            });
        }
        // Most members the other rows allow, in the LP relaxation.
        let mut alone = m.clone();
        alone.set_values(members.iter().map(|&g| f64::from(u8::from(g))).collect());
        for (k, other) in m.rows.iter().enumerate() {
            if other.b < 0 {
                alone.b_s[k] = 1e15;
            }
        }
        let allowed = vec![Allowed::Free; alone.cands.len()];
        let Some(lp) = lp::solve(&alone, &allowed, None, deadline) else {
            continue;
        };
        let most = (lp.bound + 1e-6).floor() as i64;
        if most < need {
            let t = 1e-9;
            let limits: Vec<String> = alone
                .rows
                .iter()
                .enumerate()
                .filter(|(k, o)| o.b >= 0 && lp.lambda[*k] > t)
                .map(|(_, o)| o.name.clone())
                .collect();
            let within = if limits.is_empty() {
                String::new()
            } else {
                format!(" within {}", limits.join(", "))
            };
            return Err(Error::Infeasible {
                constraints: std::iter::once(name.clone()).chain(limits).collect(),
                shortfall: Some(need - most),
                message: format!(
                    "{name} needs {need} but at most {most} of quota `{}` can be served{within} \
                     (short by {})",
                    scenario.quotas[q].name,
                    need - most
                ),
            });
        }
    }
    Ok(())
}

/// The kind of reason a row being in the way gives.
fn kind_of(kind: &RowKind) -> WhyNotKind {
    match kind {
        RowKind::Total => WhyNotKind::BudgetTotal,
        RowKind::City(_) => WhyNotKind::CityCap,
        RowKind::Funders(_) => WhyNotKind::Funder,
        RowKind::Stock(_) => WhyNotKind::Stock,
        RowKind::Quota(..) => WhyNotKind::Quota,
        RowKind::Served => WhyNotKind::Served,
    }
}

/// A reason with no constraint behind it.
fn plain(kind: WhyNotKind, message: String) -> WhyNot {
    WhyNot {
        kind,
        constraint: None,
        cutoff: None,
        message,
    }
}

/// A reason for every eligible applicant left unfunded (input order).
pub(crate) fn why_not(
    scenario: &Scenario,
    assessments: &[Assessment],
    m: &Model,
    best: &State,
    lambda: &[f64],
) -> Vec<Option<WhyNot>> {
    let mut out: Vec<Option<WhyNot>> = vec![None; assessments.len()];
    for (i, a) in assessments.iter().enumerate() {
        if is_eligible(a) && a.offers.is_empty() {
            out[i] = Some(plain(WhyNotKind::NoOffer, "no offer from the rules".into()));
        }
    }
    for (&i, why) in &m.unfundable {
        out[i] = Some(plain(WhyNotKind::NoFunder, why.clone()));
    }
    for (c, cand) in m.cands.iter().enumerate() {
        if best.choice[c].is_some() {
            continue;
        }
        let a = &assessments[cand.input];
        // The option that is least in the way: fewest rows it would break, then cheapest.
        let mut pick: Option<(usize, f64, Vec<usize>)> = None;
        for (o, opt) in cand.opts.iter().enumerate() {
            let mut blocked = Vec::new();
            let mut priced = 0.0;
            for k in opt.start..opt.end {
                let r = m.row_of[k] as usize;
                priced += m.coef[k] as f64 * price(m, lambda, r);
                if best.usage[r] + i128::from(m.coef[k]) > i128::from(m.rows[r].b) {
                    blocked.push(r);
                }
            }
            let better = match &pick {
                None => true,
                Some((_, p, b)) => (blocked.len(), priced) < (b.len(), *p),
            };
            if better {
                pick = Some((o, priced, blocked));
            }
        }
        let Some((o, priced, blocked)) = pick else {
            continue;
        };
        let cost = cand.opts[o].cost;
        let value = match scenario.objective {
            Objective::Served => "1 person".to_string(),
            _ => format!("score {}", num(a.score, 2)),
        };
        let worth = m.value[c];
        let rates = if cost > 0 {
            format!(
                "{value} for {} MAD ({} per 1,000 MAD), cut-off {} per 1,000 MAD",
                mad(cost),
                num(worth / cost as f64 * 1000.0, 2),
                num(priced / cost as f64 * 1000.0, 2)
            )
        } else {
            format!("{value} for 0 MAD")
        };
        // Name the row that weighs most in the cut-off among those in the way.
        let main = blocked.iter().copied().max_by(|&x, &y| {
            let px = price(m, lambda, x) * row_coef(m, cand.opts[o].start, cand.opts[o].end, x);
            let py = price(m, lambda, y) * row_coef(m, cand.opts[o].start, cand.opts[o].end, y);
            px.total_cmp(&py).then(y.cmp(&x))
        });
        let cutoff =
            (cost > 0).then(|| crate::report::allocation::tidy(priced / cost as f64 * 1000.0));
        let why = match main {
            Some(r) => {
                let row = &m.rows[r];
                let others = blocked.len() - 1;
                let also = if others > 0 {
                    format!(" (and {others} more)")
                } else {
                    String::new()
                };
                let kind = kind_of(&row.kind);
                WhyNot {
                    kind,
                    constraint: Some(row.name.clone()),
                    cutoff,
                    message: format!("{} {}{also}: {rates}", row.name, verb(kind, &row.name)),
                }
            }
            None if worth <= 0.0 => WhyNot {
                cutoff,
                ..plain(WhyNotKind::NotWorth, format!("not worth serving: {rates}"))
            },
            None => WhyNot {
                cutoff,
                ..plain(
                    WhyNotKind::WithinGap,
                    format!("left out within the optimality gap: {rates}"),
                )
            },
        };
        out[cand.input] = Some(why);
    }
    out
}

fn row_coef(m: &Model, start: usize, end: usize, r: usize) -> f64 {
    (start..end)
        .filter(|&k| m.row_of[k] as usize == r)
        .map(|k| m.coef[k] as f64)
        .sum()
}

/// One report per budget, city cap, funder, kit stock and quota bound.
pub(crate) fn reports(
    scenario: &Scenario,
    assessments: &[Assessment],
    m: &Model,
    choices: &[Option<usize>],
    funding: &[Vec<(String, Mad)>],
    why_not: &[Option<WhyNot>],
    lambda: &[f64],
) -> Vec<super::ConstraintReport> {
    let named = |name: &str| {
        why_not
            .iter()
            .flatten()
            .any(|w| w.constraint.as_deref() == Some(name))
    };
    let row_price = |pred: &dyn Fn(&RowKind) -> bool| -> f64 {
        (0..m.rows.len())
            .filter(|&r| pred(&m.rows[r].kind))
            .map(|r| price(m, lambda, r))
            .sum()
    };
    let mut served = 0i64;
    let mut total: Mad = 0;
    let mut by_city = std::collections::BTreeMap::<&str, Mad>::new();
    let mut by_kit = std::collections::BTreeMap::<&str, i64>::new();
    let mut groups = vec![0i64; scenario.quotas.len()];
    for (a, ch) in assessments.iter().zip(choices) {
        let Some(o) = ch else { continue };
        let offer = &a.offers[*o];
        served += 1;
        total += offer.cost();
        *by_city.entry(a.city.as_str()).or_default() += offer.cost();
        if let Some(k) = &offer.kit {
            *by_kit.entry(k.as_str()).or_default() += 1;
        }
        for (q, quota) in scenario.quotas.iter().enumerate() {
            if a.in_quota(&quota.name) {
                groups[q] += 1;
            }
        }
    }
    let mut out = Vec::new();
    let mut push = |name: String, limit: f64, used: f64, shadow: f64, exact: bool| {
        let binding = shadow.abs() > 1e-9 || named(&name) || exact;
        out.push(super::ConstraintReport {
            name,
            limit,
            used,
            binding,
            shadow_price: Some(shadow),
        });
    };
    if let Some(b) = scenario.budget_total {
        let p = row_price(&|k| *k == RowKind::Total);
        push("budget.total".into(), b as f64, total as f64, p, total == b);
    }
    for (city, &cap) in &scenario.city_caps {
        let used = by_city.get(city.as_str()).copied().unwrap_or(0);
        let p = row_price(&|k| matches!(k, RowKind::City(c) if c == city));
        push(
            format!("budget.cities.{city}"),
            cap as f64,
            used as f64,
            p,
            used == cap,
        );
    }
    for (f, funder) in scenario.funders.iter().enumerate() {
        let used: Mad = funding
            .iter()
            .flatten()
            .filter(|(id, _)| *id == funder.id)
            .map(|(_, x)| x)
            .sum();
        let p = row_price(&|k| matches!(k, RowKind::Funders(fs) if fs.contains(&f)));
        push(
            format!("funder.{}", funder.id),
            funder.amount as f64,
            used as f64,
            p,
            used == funder.amount,
        );
    }
    for (ki, kit) in scenario.kits.iter().enumerate() {
        let Some(stock) = kit.stock else { continue };
        let used = by_kit.get(kit.id.as_str()).copied().unwrap_or(0);
        let p = row_price(&|k| *k == RowKind::Stock(ki));
        push(
            format!("kit.{}.stock", kit.id),
            f64::from(stock),
            used as f64,
            p,
            used == i64::from(stock),
        );
    }
    for (qi, q) in scenario.quotas.iter().enumerate() {
        let g = groups[qi];
        let share = if served > 0 {
            g as f64 / served as f64
        } else {
            0.0
        };
        let price_of = |bound: QuotaBound| -> f64 {
            (0..m.rows.len())
                .filter(|&r| m.rows[r].kind == RowKind::Quota(qi, bound))
                .map(|r| price(m, lambda, r) * m.rows[r].per_person)
                .sum()
        };
        if let Some(s) = q.min_share {
            let p = -price_of(QuotaBound::MinShare) * served as f64;
            let (num, den) = super::model::share_rational(s);
            let exact = i128::from(g) * i128::from(den) == i128::from(num) * i128::from(served);
            push(
                format!("quota.{}.min_share", q.name),
                s,
                share,
                p,
                exact && served > 0,
            );
        }
        if let Some(s) = q.max_share {
            let p = price_of(QuotaBound::MaxShare) * served as f64;
            let (num, den) = super::model::share_rational(s);
            let exact = i128::from(g) * i128::from(den) == i128::from(num) * i128::from(served);
            push(
                format!("quota.{}.max_share", q.name),
                s,
                share,
                p,
                exact && served > 0,
            );
        }
        if let Some(c) = q.min_count {
            let p = -price_of(QuotaBound::MinCount);
            push(
                format!("quota.{}.min_count", q.name),
                f64::from(c),
                g as f64,
                p,
                g == i64::from(c) && c > 0,
            );
        }
        if let Some(c) = q.max_count {
            let p = price_of(QuotaBound::MaxCount);
            push(
                format!("quota.{}.max_count", q.name),
                f64::from(c),
                g as f64,
                p,
                g == i64::from(c),
            );
        }
    }
    out
}
