//! Exact re-check of an allocation against the scenario, in integers, independent of the
//! model rows: a violation is a bug and becomes [`Error::Internal`], never output.

use std::collections::BTreeMap;

use super::funding::Part;
use super::model::share_rational;
use crate::assessment::Assessment;
use crate::error::{Error, Result};
use crate::scenario::{Kind, Mad, Scenario};

fn broken(what: String) -> Error {
    Error::Internal(format!("allocation check failed: {what}"))
}

/// Checks choices and their funding parts (input order) against every rule of the scenario.
pub(crate) fn check(
    scenario: &Scenario,
    assessments: &[Assessment],
    choices: &[Option<usize>],
    parts: &[Vec<Part>],
) -> Result<()> {
    if choices.len() != assessments.len() || parts.len() != assessments.len() {
        return Err(broken("one choice per applicant".into()));
    }
    let mut total: i128 = 0;
    let mut by_city: BTreeMap<&str, i128> = BTreeMap::new();
    let mut by_funder = vec![0i128; scenario.funders.len()];
    let mut by_kit: BTreeMap<&str, i64> = BTreeMap::new();
    let mut served: i128 = 0;
    let mut in_group = vec![0i128; scenario.quotas.len()];
    for (i, a) in assessments.iter().enumerate() {
        let Some(o) = choices[i] else {
            if !parts[i].is_empty() {
                return Err(broken(format!("{} is paid but not served", a.id)));
            }
            continue;
        };
        if !a.eligible() {
            return Err(broken(format!("{} is served but not eligible", a.id)));
        }
        let offer = a
            .offers
            .get(o)
            .ok_or_else(|| broken(format!("{} has no offer {o}", a.id)))?;
        served += 1;
        total += i128::from(offer.cost());
        *by_city.entry(a.city.as_str()).or_default() += i128::from(offer.cost());
        if let Some(k) = &offer.kit {
            *by_kit.entry(k.as_str()).or_default() += 1;
        }
        for (q, quota) in scenario.quotas.iter().enumerate() {
            if a.in_quota(&quota.name) {
                in_group[q] += 1;
            }
        }
        let mut paid = [0 as Mad; 2];
        for &(f, kind, m) in &parts[i] {
            let funder = scenario
                .funders
                .get(f)
                .ok_or_else(|| broken(format!("unknown funder {f}")))?;
            if m <= 0 {
                return Err(broken(format!("{} gets {m} MAD from {}", a.id, funder.id)));
            }
            if !funder.may_pay(&a.city, kind) {
                return Err(broken(format!(
                    "{} pays {kind} in {} against its earmark",
                    funder.id, a.city
                )));
            }
            by_funder[f] += i128::from(m);
            paid[usize::from(kind == Kind::Cash)] += m;
        }
        if paid != [offer.kit_cost, offer.cash] {
            return Err(broken(format!(
                "{} is paid {paid:?} for kit {} and cash {}",
                a.id, offer.kit_cost, offer.cash
            )));
        }
    }
    if let Some(b) = scenario.budget_total {
        if total > i128::from(b) {
            return Err(broken(format!("budget.total: {total} > {b}")));
        }
    }
    for (city, cap) in &scenario.city_caps {
        let used = by_city.get(city.as_str()).copied().unwrap_or(0);
        if used > i128::from(*cap) {
            return Err(broken(format!("budget.cities.{city}: {used} > {cap}")));
        }
    }
    for (f, funder) in scenario.funders.iter().enumerate() {
        if by_funder[f] > i128::from(funder.amount) {
            return Err(broken(format!(
                "funder.{}: {} > {}",
                funder.id, by_funder[f], funder.amount
            )));
        }
    }
    for kit in &scenario.kits {
        if let Some(stock) = kit.stock {
            let used = by_kit.get(kit.id.as_str()).copied().unwrap_or(0);
            if used > i64::from(stock) {
                return Err(broken(format!("kit.{}.stock: {used} > {stock}", kit.id)));
            }
        }
    }
    for (q, quota) in scenario.quotas.iter().enumerate() {
        let g = in_group[q];
        let name = &quota.name;
        if let Some(s) = quota.min_share {
            let (p, d) = share_rational(s);
            if g * i128::from(d) < i128::from(p) * served {
                return Err(broken(format!(
                    "quota.{name}.min_share: {g} of {served} < {s}"
                )));
            }
        }
        if let Some(s) = quota.max_share {
            let (p, d) = share_rational(s);
            if g * i128::from(d) > i128::from(p) * served {
                return Err(broken(format!(
                    "quota.{name}.max_share: {g} of {served} > {s}"
                )));
            }
        }
        if let Some(c) = quota.min_count {
            if g < i128::from(c) {
                return Err(broken(format!("quota.{name}.min_count: {g} < {c}")));
            }
        }
        if let Some(c) = quota.max_count {
            if g > i128::from(c) {
                return Err(broken(format!("quota.{name}.max_count: {g} > {c}")));
            }
        }
    }
    Ok(())
}
