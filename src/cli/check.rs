//! `idmaj check SCENARIO`: load and validate everything, print a summary and all problems.

use std::collections::BTreeMap;
use std::process::ExitCode;

use crate::applicant::ApplicantSource;
use crate::pipeline;
use crate::rules::RuleSet;
use crate::scenario::Scenario;
use crate::Engine;
use crate::{Error, Gender, Problems, Result};

use super::{mad, ScenarioPath};

/// Arguments of `check`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Scenario TOML file, or a folder holding scenario.toml.
    scenario: ScenarioPath,
}

pub fn run(args: Args) -> Result<ExitCode> {
    let scenario = Scenario::load(&args.scenario)?;
    let data = scenario.applicant_data()?;
    let display = data.display().to_string();
    let mut problems = Problems::default();
    let mut per_city: BTreeMap<String, [u64; 2]> = BTreeMap::new();
    let mut rows = 0u64;
    let mut extra = Vec::new();
    match ApplicantSource::open(data, scenario.city_set()) {
        Err(Error::Input { problems: ps }) => problems.extend(ps),
        Err(e) => return Err(e),
        Ok(mut source) => {
            extra = source.parser().extra_names().to_vec();
            rows = source.for_each_applicant(&mut problems, |a| {
                let n = per_city.entry(a.city).or_default();
                n[usize::from(a.gender == Gender::M)] += 1;
            });
            if rows == 0 {
                problems.push(
                    crate::Problem::error(
                        &display,
                        "no applicants; expected at least one row after the header",
                    )
                    .at_line(2),
                );
            }
        }
    }
    let mut rounded = 0;
    match RuleSet::new(&scenario, Some(&extra)) {
        Ok(rules) => {
            if let Some(note) = rules.interpreted_because() {
                eprintln!("{note}");
            }
        }
        Err(Error::Input { problems: ps }) => problems.extend(ps),
        Err(e) => return Err(e),
    }
    // Everything `allocate` runs but the solve: every rule and quota condition on every
    // applicant, so a parameter of the wrong type or a division by zero shows here.
    if !problems.has_errors() {
        let engine = Engine::from_scenario(scenario.clone())?;
        match pipeline::score_summary(&engine) {
            Ok(summary) => problems.extend(summary.problems),
            Err(Error::Input { problems: ps } | Error::Rules { problems: ps }) => {
                problems.extend(ps)
            }
            Err(e) => return Err(e),
        }
        rounded = engine.rules().rounded_cash();
    }
    let counts: BTreeMap<String, u64> = per_city
        .iter()
        .map(|(c, n)| (c.clone(), n[0] + n[1]))
        .collect();
    // Without readable applicants, "no applicant from this city" would only mislead.
    let per_city_warnings = if problems.has_errors() {
        Vec::new()
    } else {
        scenario.applicant_warnings(&counts)
    };
    let warnings: Vec<_> = scenario
        .warnings
        .iter()
        .cloned()
        .chain(per_city_warnings)
        .collect();

    print_summary(&scenario, &per_city, rows, &extra);
    if rounded > 0 {
        say!(
            "note: {rounded} cash offer{} not in whole MAD, rounded to the nearest MAD \
             (halves away from zero: 100.5 is paid as 101)",
            if rounded == 1 { " was" } else { "s were" }
        );
    }
    for w in &warnings {
        eprintln!("{w}");
    }
    if problems.has_errors() {
        eprintln!("{problems}");
        let n = problems.list.len() + problems.omitted;
        eprintln!("{n} problem{} found", if n == 1 { "" } else { "s" });
        return Ok(ExitCode::from(2));
    }
    say!(
        "ok: no problems found{}",
        if warnings.is_empty() {
            String::new()
        } else {
            format!(" ({} warnings)", warnings.len())
        }
    );
    Ok(ExitCode::SUCCESS)
}

fn print_summary(s: &Scenario, per_city: &BTreeMap<String, [u64; 2]>, rows: u64, extra: &[String]) {
    say!("scenario   {} ({})", s.program.name, s.display);
    say!(
        "date       {}   objective: maximise {}",
        s.program.date,
        s.objective.as_str()
    );
    let (f, m) = per_city
        .values()
        .fold((0, 0), |(f, m), n| (f + n[0], m + n[1]));
    let cities = per_city.len();
    say!(
        "applicants {rows} read, {} valid: {f} women, {m} men, {cities} {}",
        f + m,
        if cities == 1 { "city" } else { "cities" }
    );
    if !extra.is_empty() {
        say!("           extra columns: {}", extra.join(", "));
    }
    say!();
    say!(
        "  {:<20} {:>10} {:>6} {:>6} {:>12}",
        "city",
        "applicants",
        "F",
        "M",
        "cap (MAD)"
    );
    for city in &s.market.cities {
        let n = per_city.get(city).copied().unwrap_or_default();
        let cap = s.city_caps.get(city).map_or("-".to_string(), |c| mad(*c));
        say!(
            "  {:<20} {:>10} {:>6} {:>6} {:>12}",
            city,
            n[0] + n[1],
            n[0],
            n[1],
            cap
        );
    }
    say!();
    say!(
        "budget     total {}",
        s.budget_total.map_or("not capped".to_string(), |t| format!(
            "{} {}",
            mad(t),
            s.program.currency
        ))
    );
    say!(
        "funders    {} holding {} {}",
        s.funders.len(),
        mad(s.funders_total()),
        s.program.currency
    );
    for fu in &s.funders {
        let mut earmark = Vec::new();
        if let Some(c) = &fu.cities {
            earmark.push(format!("cities: {}", c.join(", ")));
        }
        if let Some(k) = &fu.kinds {
            earmark.push(format!(
                "kinds: {}",
                k.iter().map(|k| k.as_str()).collect::<Vec<_>>().join(", ")
            ));
        }
        let earmark = if earmark.is_empty() {
            String::new()
        } else {
            format!("  [{}]", earmark.join("; "))
        };
        say!("  {:<20} {:>12}{earmark}", fu.id, mad(fu.amount));
    }
    say!("kits       {}", s.kits.len());
    for k in &s.kits {
        let stock = k.stock.map_or(String::new(), |n| format!("  stock {n}"));
        say!("  {:<24} {:<22} {:>9}{stock}", k.id, k.trade, mad(k.cost));
    }
    if !s.quotas.is_empty() {
        say!("quotas     {}", s.quotas.len());
        for q in &s.quotas {
            let mut b = Vec::new();
            if let Some(v) = q.min_share {
                b.push(format!("min_share {v}"));
            }
            if let Some(v) = q.max_share {
                b.push(format!("max_share {v}"));
            }
            if let Some(v) = q.min_count {
                b.push(format!("min_count {v}"));
            }
            if let Some(v) = q.max_count {
                b.push(format!("max_count {v}"));
            }
            say!("  {:<20} {}  when {}", q.name, b.join(", "), q.when);
        }
    }
    if !s.param_info.is_empty() {
        say!("params     {} described or dated", s.param_info.len());
        for p in &s.param_info {
            say!("  {}", param_line(p));
        }
    }
    say!("rules      {} files", s.rules.len());
    for r in &s.rules {
        say!("  {}", r.display);
    }
    say!();
}

/// `min_training_hours = 120 hours (since 2016-06-01, one of 2 dated values): what it is
/// [reference]`.
pub(super) fn param_line(p: &crate::scenario::ParamInfo) -> String {
    let value = match &p.value {
        toml::Value::String(t) => t.clone(),
        other => other.to_string(),
    };
    let mut line = format!("{} = {value}", p.name);
    if let Some(u) = &p.unit {
        line.push_str(&format!(" {u}"));
    }
    if let Some((since, n)) = p.since {
        line.push_str(&format!(
            " (in force since {since}, one of {n} dated values)"
        ));
    }
    if let Some(d) = &p.description {
        line.push_str(&format!(": {d}"));
    }
    if let Some(r) = &p.reference {
        line.push_str(&format!(" [{r}]"));
    }
    line
}
