//! Batches: decisions of an earlier batch, kept as they were.
//!
//! A programme is often decided in batches (Tangier's first batch was paid before the
//! national allocation). Committed applicants keep their option, amount and funders; their
//! money and counts use the budgets, caps, funders, stock and quotas; they are not decided
//! again. The search runs on what they leave: a copy of the scenario with every limit
//! reduced by what the committed use, and quota shares offset by their counts. The whole
//! programme, committed included, is then checked in integers against the scenario itself.

use std::collections::HashMap;
use std::sync::Arc;

use crate::assessment::{Assessment, Offer};
use crate::decision::{Decision, OptionKind};
use crate::dialect::NextRow;
use crate::error::{Error, Problem, Problems, Result};
use crate::scenario::{Kind, Mad, Scenario};

use super::funding::Part;

/// Decisions of earlier batches, by applicant id.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Committed {
    /// Where they were read from, for messages.
    pub display: String,
    /// The file they were read from (none when given in code).
    pub path: Option<std::path::PathBuf>,
    /// The decisions, in file order.
    pub decisions: Vec<Decision>,
}

/// The counts committed decisions take from the quotas: served, and members per quota.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct CommittedCounts {
    /// Committed applicants funded.
    pub served: i64,
    /// Of them, members of each quota (scenario order).
    pub members: Vec<i64>,
}

/// What the search needs of committed decisions.
pub(crate) struct Prepared {
    /// The scenario with every limit reduced by what the committed use.
    pub scenario: Scenario,
    /// The assessments with each committed applicant's offers cleared (not decided again).
    pub open: Vec<Assessment>,
    /// Per committed funded applicant: input index, offer index, payment parts.
    pub fixed: Vec<(usize, usize, Vec<Part>)>,
    /// Input indices of every committed applicant.
    pub committed: Vec<usize>,
}

fn problem(display: &str, message: String) -> Problem {
    Problem::error(display, message)
}

impl Committed {
    /// Committed decisions read from `display`: each id at most once.
    pub(crate) fn new(display: &str, decisions: Vec<Decision>) -> Result<Committed> {
        let mut seen: HashMap<&str, usize> = HashMap::new();
        let mut problems = Problems::default();
        for (i, d) in decisions.iter().enumerate() {
            if let Some(first) = seen.insert(d.id.as_str(), i) {
                problems.push(
                    problem(
                        display,
                        format!(
                            "applicant {} is committed twice (decisions {} and {})",
                            d.id,
                            first + 1,
                            i + 1
                        ),
                    )
                    .applicant(&d.id),
                );
            }
        }
        problems.into_result()?;
        Ok(Committed {
            display: display.to_string(),
            path: None,
            decisions,
        })
    }

    /// Reads an earlier `decisions.csv` (any CSV dialect), `decisions.xlsx` (its first
    /// sheet) or `decisions.jsonl`.
    pub(crate) fn read(path: &std::path::Path) -> Result<Committed> {
        let display = path.display().to_string();
        let jsonl = path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("jsonl"));
        let decisions = if jsonl {
            let text = crate::dialect::read_text(
                path,
                &display,
                "committed decisions",
                crate::dialect::max_input_bytes(),
            )?;
            let mut out = Vec::new();
            for (n, line) in text.lines().enumerate() {
                if line.trim().is_empty() {
                    continue;
                }
                let d: Decision = serde_json::from_str(line).map_err(|e| {
                    unreadable(&display, Some(n as u64 + 1), format!("not a decision: {e}"))
                })?;
                out.push(d);
            }
            out
        } else {
            read_csv(path, &display)?
        };
        let mut c = Committed::new(&display, decisions)?;
        c.path = Some(path.to_path_buf());
        Ok(c)
    }
}

/// Decisions from the flat form, `decisions.csv`: the columns it writes, by name.
fn read_csv(path: &std::path::Path, display: &str) -> Result<Vec<Decision>> {
    use crate::assessment::Eligibility;
    use crate::decision::Funding;
    let mut input = crate::dialect::CsvInput::open(path, display)?;
    let col = |name: &str| input.headers.iter().position(|h| h == name);
    let (Some(id), Some(option), Some(kit), Some(cash), Some(amount), Some(funders)) = (
        col("id"),
        col("option"),
        col("kit"),
        col("cash"),
        col("amount"),
        col("funders"),
    ) else {
        return Err(unreadable(
            display,
            Some(1),
            "expected a decisions file: columns id, option, kit, cash, amount and funders".into(),
        ));
    };
    let (eligible, score) = (col("eligible"), col("score"));
    // `--dialect excel-fr` writes scores with a decimal comma.
    let dialect = input.dialect;
    let mut out = Vec::new();
    let mut record = csv::StringRecord::new();
    loop {
        match input.next_row(&mut record) {
            Ok(NextRow::End) => break,
            Ok(NextRow::Row) => {}
            Ok(NextRow::NotUtf8(bytes)) => {
                let line = bytes.position().map(|p| p.line());
                return Err(unreadable(
                    display,
                    line,
                    "the row is not valid UTF-8".into(),
                ));
            }
            Err(p) => return Err((*p).into()),
        }
        let line = record.position().map_or(0, |p| p.line());
        let cell = |i: usize| record.get(i).unwrap_or("").trim();
        let bad = |what: &str| unreadable(display, Some(line), what.to_string());
        let whole = |i: usize, what: &str| -> Result<Mad> {
            let v = cell(i);
            if v.is_empty() {
                return Ok(0);
            }
            v.parse::<Mad>()
                .map_err(|_| bad(&format!("column {what}: expected whole MAD")))
        };
        let option = match cell(option) {
            "none" | "" => OptionKind::None,
            "kit" => OptionKind::Kit,
            "cash" => OptionKind::Cash,
            "kit+cash" => OptionKind::KitAndCash,
            _ => return Err(bad("column option: expected none, kit, cash or kit+cash")),
        };
        let mut paid = Vec::new();
        for part in cell(funders).split('|').filter(|p| !p.is_empty()) {
            let (f, m) = part
                .rsplit_once(':')
                .ok_or_else(|| bad("column funders: expected funder:MAD pairs joined by |"))?;
            let amount = m
                .parse::<Mad>()
                .map_err(|_| bad("column funders: expected whole MAD after each funder"))?;
            paid.push(Funding {
                funder: f.to_string(),
                amount,
            });
        }
        out.push(Decision {
            id: cell(id).to_string(),
            status: match eligible.map(cell) {
                Some("false") => Eligibility::Ineligible,
                Some("error") => Eligibility::Error,
                _ => Eligibility::Eligible,
            },
            failed_checks: Vec::new(),
            reasons: Vec::new(),
            score: score.and_then(|s| dialect.number(cell(s))).unwrap_or(0.0),
            option,
            kit: Some(cell(kit).to_string()).filter(|k| !k.is_empty()),
            cash: whole(cash, "cash")?,
            amount: whole(amount, "amount")?,
            funders: paid,
            why_not: None,
            committed: true,
            error: None,
        });
    }
    Ok(out)
}

/// Splits a committed applicant's payment into parts the scenario's earmarks allow: each
/// funder pays the kit first where it may, then cash. `None` when the funders given cannot
/// pay this option under their earmarks.
fn parts_of(scenario: &Scenario, city: &str, offer: &Offer, d: &Decision) -> Option<Vec<Part>> {
    let (mut kit, mut cash) = (offer.kit_cost, offer.cash);
    let mut parts = Vec::new();
    for f in &d.funders {
        let fi = scenario.funders.iter().position(|x| x.id == f.funder)?;
        let funder = &scenario.funders[fi];
        let mut left = f.amount;
        for (kind, due) in [(Kind::Kit, &mut kit), (Kind::Cash, &mut cash)] {
            let take = left.min(*due);
            if take > 0 && funder.may_pay(city, kind) {
                parts.push((fi, kind, take));
                *due -= take;
                left -= take;
            }
        }
        if left != 0 {
            return None;
        }
    }
    (kit == 0 && cash == 0).then_some(parts)
}

/// Checks the committed decisions against the applicants and the scenario, and makes what
/// the search needs: the limits they leave, and their choices and payments.
pub(crate) fn prepare(
    scenario: &Scenario,
    assessments: &mut [Assessment],
    committed: &Committed,
) -> Result<Prepared> {
    let display = &committed.display;
    let index: HashMap<&str, usize> = assessments
        .iter()
        .enumerate()
        .map(|(i, a)| (a.id.as_str(), i))
        .collect();
    let mut problems = Problems::default();
    let mut fixed = Vec::new();
    let mut all = Vec::new();
    let mut reduced = scenario.clone();
    let mut counts = CommittedCounts {
        served: 0,
        members: vec![0; scenario.quotas.len()],
    };
    let mut total: Mad = 0;
    let mut offers_to_add: Vec<(usize, Offer)> = Vec::new();
    for d in &committed.decisions {
        let Some(&i) = index.get(d.id.as_str()) else {
            problems.push(
                problem(
                    display,
                    format!("committed applicant {} is not in the applicant list", d.id),
                )
                .applicant(&d.id)
                .column("id"),
            );
            continue;
        };
        all.push(i);
        if d.option == OptionKind::None {
            continue;
        }
        let a = &assessments[i];
        let kit_cost = d.amount - d.cash;
        if let Some(k) = &d.kit {
            if !scenario.kits.iter().any(|x| x.id == *k) {
                problems.push(
                    problem(
                        display,
                        format!("committed kit `{k}` is not a [[kit]] of the scenario"),
                    )
                    .applicant(&d.id)
                    .column("kit"),
                );
                continue;
            }
        }
        let offer = Offer {
            kit: d.kit.clone(),
            kit_cost,
            cash: d.cash,
        };
        if kit_cost < 0 || d.cash < 0 || (d.kit.is_none() && kit_cost != 0) {
            problems.push(
                problem(
                    display,
                    format!(
                        "committed amount {} and cash {} do not fit",
                        d.amount, d.cash
                    ),
                )
                .applicant(&d.id)
                .column("amount"),
            );
            continue;
        }
        let Some(parts) = parts_of(scenario, &a.city, &offer, d) else {
            problems.push(
                problem(
                    display,
                    format!(
                        "the committed funders of applicant {} do not add up to {} MAD within their \
                         earmarks (funder.ID cities and kinds)",
                        d.id, d.amount
                    ),
                )
                .applicant(&d.id)
                .column("funders"),
            );
            continue;
        };
        let o = match a.offers.iter().position(|x| *x == offer) {
            Some(o) => o,
            None => {
                offers_to_add.push((i, offer.clone()));
                a.offers.len() + offers_to_add.iter().filter(|(j, _)| *j == i).count() - 1
            }
        };
        total += offer.cost();
        if let Some(cap) = reduced.city_caps.get_mut(&a.city) {
            *cap -= offer.cost();
        }
        for &(fi, _, m) in &parts {
            reduced.funders[fi].amount -= m;
        }
        if let Some(k) = &offer.kit {
            if let Some(kit) = reduced.kits.iter_mut().find(|x| x.id == *k) {
                if let Some(s) = kit.stock.as_mut() {
                    if *s == 0 {
                        problems.push(
                            problem(
                                display,
                                format!(
                                    "committed decisions use more kits `{k}` than kit.{k}.stock"
                                ),
                            )
                            .applicant(&d.id)
                            .column("kit"),
                        );
                    }
                    *s = s.saturating_sub(1);
                }
            }
        }
        counts.served += 1;
        for (q, quota) in scenario.quotas.iter().enumerate() {
            counts.members[q] += i64::from(a.in_quota(&quota.name));
        }
        fixed.push((i, o, parts));
    }
    for (i, offer) in offers_to_add {
        assessments[i].offers.push(offer);
    }
    if let Some(b) = reduced.budget_total.as_mut() {
        *b -= total;
    }
    let over = |what: String, used: Mad, limit: Mad| {
        problem(
            display,
            format!("committed decisions spend {used} MAD, above {what} ({limit} MAD)"),
        )
        .key(what)
    };
    if let (Some(b), Some(orig)) = (reduced.budget_total, scenario.budget_total) {
        if b < 0 {
            problems.push(over("budget.total".into(), orig - b, orig));
        }
    }
    for (city, cap) in &reduced.city_caps {
        if *cap < 0 {
            let orig = scenario.city_caps[city];
            problems.push(over(format!("budget.cities.{city}"), orig - cap, orig));
        }
    }
    for (f, orig) in reduced.funders.iter().zip(&scenario.funders) {
        if f.amount < 0 {
            problems.push(over(
                format!("funder.{}", f.id),
                orig.amount - f.amount,
                orig.amount,
            ));
        }
    }
    for (q, quota) in reduced.quotas.iter_mut().enumerate() {
        let g = counts.members[q];
        if let Some(max) = quota.max_count {
            if i64::from(max) < g {
                problems.push(
                    problem(
                        display,
                        format!("committed decisions serve {g} of quota `{}`, above its max_count {max}", quota.name),
                    )
                    .key(format!("quota.{}.max_count", quota.name)),
                );
            }
            quota.max_count = Some(u32::try_from((i64::from(max) - g).max(0)).unwrap_or(0));
        }
        if let Some(min) = quota.min_count {
            quota.min_count = Some(u32::try_from((i64::from(min) - g).max(0)).unwrap_or(0));
        }
    }
    problems.into_result()?;
    reduced.committed_counts = Some(Arc::new(counts));
    reduced.committed = None;
    let mut open = assessments.to_vec();
    for &i in &all {
        open[i].offers.clear();
    }
    Ok(Prepared {
        scenario: reduced,
        open,
        fixed,
        committed: all,
    })
}

/// `Error::Input` for a committed file that cannot be read as decisions.
pub(crate) fn unreadable(display: &str, line: Option<u64>, message: String) -> Error {
    let p = problem(display, message);
    Error::from(match line {
        Some(l) => p.at_line(l),
        None => p,
    })
}
