//! A batch from CSV: score an applicant list exported from a spreadsheet against a shipped
//! scenario and count who qualifies and why not.
//!
//! `cargo run --example batch_csv -- [SCENARIO] [APPLICANTS.csv]` (default: the ramadan-2016
//! scenario and its own applicants).

use std::collections::BTreeMap;

use idmaj::{Eligibility, Engine, Sources};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let scenario = args
        .next()
        .unwrap_or_else(|| "scenarios/ramadan-2016".into());
    let engine = match args.next() {
        // Another list for the same programme: the scenario's parts, this CSV.
        Some(csv) => {
            let dir = std::path::Path::new(&scenario);
            let read = |f: &str| std::fs::read_to_string(dir.join(f));
            let mut rules = Vec::new();
            for entry in std::fs::read_dir("rules")? {
                let path = entry?.path();
                if path.extension().is_some_and(|e| e == "rhai") {
                    let name = path
                        .file_name()
                        .unwrap_or_default()
                        .to_string_lossy()
                        .into();
                    rules.push((name, std::fs::read_to_string(&path)?));
                }
            }
            Engine::from_sources(Sources {
                scenario_toml: read("scenario.toml")?,
                labour_market_csv: read("labour_market.csv")?,
                rules,
                applicants_csv: Some(std::fs::read_to_string(csv)?),
            })?
        }
        None => Engine::load(&scenario)?,
    };
    let assessments = engine.assess_scenario()?;
    let mut excluded: BTreeMap<String, usize> = BTreeMap::new();
    let mut eligible = 0;
    for a in &assessments {
        match a.status.eligibility() {
            Eligibility::Eligible => eligible += 1,
            _ => {
                for c in a.failed() {
                    *excluded.entry(c.id.clone()).or_default() += 1;
                }
            }
        }
    }
    println!(
        "{}: {} applicants, {eligible} eligible",
        engine.info().program,
        assessments.len()
    );
    for (check, n) in excluded {
        println!("  {n:>5} excluded by {check}");
    }
    Ok(())
}
