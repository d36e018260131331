//! One applicant built in code, assessed and allocated, with no file on disk: the scenario,
//! the labour market and the rules are strings.
//!
//! `cargo run --example in_memory` (works from any folder: it reads nothing).

use idmaj::{Applicant, Engine, Sources};

const SCENARIO: &str = r#"
[program]
name = "Pilot batch"
date = "2016-06-06"

[rules]
files = ["eligibility.rhai", "options.rhai"]

[params]
min_training_hours = 120
cash_cap = 15_000

[budget]
total = 30_000

[[kit]]
id = "plumbing"
trade = "plumbing"
cost = 11_500

[[quota]]
name = "women"
when = 'applicant.gender == "F"'
min_share = 0.25
"#;

const ELIGIBILITY: &str = r#"
// Who qualifies: vocational training during the sentence and an approved life project.
check("training", "at least the minimum hours of vocational training",
      applicant.training_hours >= params.min_training_hours);
check("plan", "life project validated by the reintegration service", applicant.plan_approved);
add_score(50.0 * demand(applicant.city, applicant.plan_trade), "local labour demand");
add_score(min(applicant.training_hours / 10.0, 30.0), "hours of training");
"#;

const OPTIONS: &str = r#"
// What they may receive: the kit for their trade, or cash up to a cap.
let kit = kit_for(applicant.plan_trade);
if kit != "" { offer_kit(kit); }
offer_cash(min(applicant.plan_cost, params.cash_cap));
"#;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let engine = Engine::from_sources(Sources {
        scenario_toml: SCENARIO.into(),
        labour_market_csv: "city,trade,demand\nTangier,plumbing,0.8\nTangier,tailoring,0.4\n"
            .into(),
        rules: vec![
            ("eligibility.rhai".into(), ELIGIBILITY.into()),
            ("options.rhai".into(), OPTIONS.into()),
        ],
        applicants_csv: None,
    })?;

    // Built in code, with the CSV column names; the same checks as a CSV row apply.
    let amina = Applicant::new("A-001")
        .with("gender", "F")
        .with("birth_year", 1990)
        .with("city", "Tangier")
        .with("release_date", "2016-01-15")
        .with("training_track", "plumbing")
        .with("training_hours", 240)
        .with("training_certified", true)
        .with("pm_training", "oui")
        .with("plan_trade", "plumbing")
        .with("plan_approved", true)
        .with("plan_cost", 14_000)
        .with("experience_years", 1.5);
    // ...or read from JSON.
    let youssef: Applicant = serde_json::from_str(
        r#"{"id": "A-002", "gender": "M", "birth_year": 1985, "city": "Tangier",
            "release_date": "01/03/2016", "training_track": "tailoring",
            "training_hours": "90", "training_certified": "non", "pm_training": 1,
            "plan_trade": "tailoring", "plan_approved": true, "plan_cost": 9000,
            "experience_years": 0}"#,
    )?;

    let assessments = engine.assess_all(&[amina, youssef])?;
    for a in &assessments {
        println!("{}", serde_json::to_string(a)?);
    }
    let allocation = engine.allocate(&assessments)?;
    for d in allocation.decisions() {
        println!("{}", serde_json::to_string(d)?);
    }
    let s = allocation.summary();
    println!(
        "served {} of {} eligible, {} {} spent",
        s.served, s.eligible, s.spent, s.currency
    );
    Ok(())
}
