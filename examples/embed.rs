//! What a program embedding the engine does (build it with `default-features = false`: no
//! command-line crates): load a shipped scenario, assess an applicant given as JSON,
//! allocate, write the decisions as JSON, and get input errors back as data.
//!
//! `cargo run --no-default-features --example embed`

use idmaj::{Applicant, Engine, Error};
use serde_json::json;

fn applicant(change: serde_json::Value) -> Result<Applicant, serde_json::Error> {
    let mut v = json!({
        "id": "CMS-1", "gender": "F", "birth_year": 1991, "city": "Tangier",
        "release_date": "2016-02-01", "training_track": "pastry", "training_hours": 300,
        "training_certified": true, "pm_training": true, "plan_trade": "pastry",
        "plan_approved": true, "plan_cost": 12000, "experience_years": 1
    });
    for (k, x) in change.as_object().into_iter().flatten() {
        v[k] = x.clone();
    }
    serde_json::from_value(v)
}

/// The problems of an input error, as `field/id: message`.
fn problems(e: Error) -> Vec<String> {
    e.problems()
        .iter()
        .map(|p| {
            format!(
                "{}/{}: {}",
                p.field.as_deref().unwrap_or("-"),
                p.id.as_deref().unwrap_or("-"),
                p.message
            )
        })
        .collect()
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let engine = Engine::load("scenarios/tangier-2016")?;
    let mut assessments = engine.assess_scenario()?;
    assessments.push(engine.assess(&applicant(json!({}))?)?);
    let allocation = engine.allocate(&assessments)?;
    let last = allocation.decisions().last().ok_or("no decision")?;
    println!("{}", serde_json::to_string(last)?);

    for (what, bad) in [
        ("unknown city", json!({"city": "Tanger"})),
        ("negative plan_cost", json!({"plan_cost": -1})),
    ] {
        let e = engine
            .assess(&applicant(bad)?)
            .expect_err("must be refused");
        assert!(matches!(e, Error::Input { .. }));
        println!("{what}: {:?}", problems(e));
    }
    let one = engine.assess(&applicant(json!({}))?)?;
    let e = engine
        .allocate(&[one.clone(), one])
        .expect_err("a duplicate id must be refused");
    assert!(matches!(e, Error::Input { .. }));
    println!("duplicate id: {:?}", problems(e));
    Ok(())
}
