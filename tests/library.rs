//! The library as an embedding developer uses it: an `Engine` from a folder or from strings,
//! applicants from JSON validated like CSV rows, assessments and decisions that round-trip
//! through JSON, and input errors that name the field or id.

use std::path::Path;

use idmaj::{Applicant, Assessment, Engine, Error, Sources};
use serde_json::json;

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn tangier() -> Engine {
    Engine::load(repo().join("scenarios/tangier-2016")).unwrap()
}

/// A valid applicant of the Tangier scenario, as JSON with the CSV column names.
fn applicant_json() -> serde_json::Value {
    json!({
        "id": "X-1", "name": null, "gender": "F", "birth_year": 1990, "city": "Tangier",
        "release_date": "15/01/2016", "training_track": "plumbing", "training_hours": 200,
        "training_certified": "oui", "pm_training": true, "plan_trade": "plumbing",
        "plan_approved": "1", "plan_cost": "14000", "experience_years": 2,
        "prison": "Tangier 2", "family_dependents": 1
    })
}

fn applicant(change: serde_json::Value) -> Applicant {
    let mut v = applicant_json();
    for (k, x) in change.as_object().unwrap() {
        v[k] = x.clone();
    }
    serde_json::from_value(v).unwrap()
}

fn input_problems(e: Error) -> Vec<idmaj::Problem> {
    match e {
        Error::Input { problems } => problems.list,
        other => panic!("expected an input error, got {other}"),
    }
}

#[test]
fn the_engine_is_send_and_sync() {
    fn shared<T: Send + Sync + Clone>() {}
    shared::<Engine>();
}

#[test]
fn an_applicant_from_json_is_assessed_like_its_csv_row() {
    let engine = tangier();
    let from_file = engine.assess_scenario().unwrap();
    let all = engine.applicants().unwrap();
    // Every applicant of the file, given again as JSON, gets the same assessment.
    for (a, expected) in all.iter().zip(&from_file) {
        let json = serde_json::to_value(a).unwrap();
        let back: Applicant = serde_json::from_value(json).unwrap();
        let got = engine.assess(&back).unwrap();
        assert_eq!(
            serde_json::to_value(&got).unwrap(),
            serde_json::to_value(expected).unwrap(),
            "{}",
            expected.id
        );
    }
    let a = engine.assess(&applicant(json!({}))).unwrap();
    assert!(a.eligible(), "{a:?}");
}

#[test]
fn bad_fields_are_input_errors_naming_field_and_id() {
    let engine = tangier();
    for (change, field, fragment) in [
        (json!({"city": "Tanger"}), "city", "did you mean `Tangier`"),
        (json!({"plan_cost": -5}), "plan_cost", "negative"),
        (
            json!({"training_hours": "NaN"}),
            "training_hours",
            "not a number",
        ),
        (
            json!({"release_date": "2016-02-30"}),
            "release_date",
            "not a date",
        ),
        (json!({"pm_training": "maybe"}), "pm_training", "yes/no"),
        (json!({"gender": null}), "gender", "empty"),
        (json!({"id": " "}), "id", "empty"),
    ] {
        let problems = input_problems(engine.assess(&applicant(change.clone())).unwrap_err());
        let p = problems
            .iter()
            .find(|p| p.field.as_deref() == Some(field))
            .unwrap_or_else(|| panic!("{change}: no problem names {field}: {problems:?}"));
        assert!(p.message.contains(fragment), "{change}: {}", p.message);
        if field != "id" {
            assert_eq!(p.id.as_deref(), Some("X-1"), "{p:?}");
        }
    }
    // A name never appears in a message.
    let named = applicant(json!({"name": "Fatima Zahra", "city": "Nowhere"}));
    let e = engine.assess(&named).unwrap_err().to_string();
    assert!(!e.contains("Fatima"), "{e}");
}

#[test]
fn a_batch_with_a_repeated_id_is_refused_by_assess_all_and_allocate() {
    let engine = tangier();
    let a = applicant(json!({}));
    let problems = input_problems(engine.assess_all(&[a.clone(), a.clone()]).unwrap_err());
    assert!(problems.iter().any(|p| p.id.as_deref() == Some("X-1")));

    let one = engine.assess(&a).unwrap();
    let problems = input_problems(engine.allocate(&[one.clone(), one]).unwrap_err());
    assert!(
        problems
            .iter()
            .any(|p| p.id.as_deref() == Some("X-1") && p.message.contains("duplicate id")),
        "{problems:?}"
    );
}

#[test]
fn assessments_read_back_from_json_allocate_the_same() {
    let engine = tangier();
    let direct = engine.assess_scenario().unwrap();
    let text = serde_json::to_string(&direct).unwrap();
    let back: Vec<Assessment> = serde_json::from_str(&text).unwrap();
    let a = engine.allocate(&direct).unwrap();
    let b = engine.allocate(&back).unwrap();
    assert_eq!(
        serde_json::to_value(a.decisions()).unwrap(),
        serde_json::to_value(b.decisions()).unwrap()
    );
    assert_eq!(a.summary().served, 21);
    // And decisions survive their own JSON.
    let decisions: Vec<idmaj::Decision> =
        serde_json::from_str(&serde_json::to_string(a.decisions()).unwrap()).unwrap();
    assert_eq!(decisions, a.decisions());
}

#[test]
fn another_scenarios_assessments_are_refused() {
    let tangier = tangier();
    let stricter = tangier
        .with_overrides(&[("params.min_training_hours", "250")])
        .unwrap();
    assert_ne!(tangier.fingerprint(), stricter.fingerprint());
    let assessments = tangier.assess_scenario().unwrap();
    let e = stricter.allocate(&assessments).unwrap_err();
    assert!(matches!(e, Error::Input { .. }), "{e}");
    assert!(e.to_string().contains("another scenario"), "{e}");
    // A budget what-if keeps the fingerprint: the same assessments allocate.
    let poorer = tangier
        .with_overrides(&[("budget.total", "150000")])
        .unwrap();
    assert_eq!(tangier.fingerprint(), poorer.fingerprint());
    let s = poorer.allocate(&assessments).unwrap().summary().clone();
    assert!(s.served < 21 && s.spent <= 150_000, "{s:?}");
    assert_eq!(s.overrides, ["budget.total=150000"]);
}

/// The Tangier scenario's parts as strings, its rules named by file name.
fn tangier_sources() -> Sources {
    let dir = repo().join("scenarios/tangier-2016");
    let read = |p: &Path| std::fs::read_to_string(p).unwrap();
    let toml = read(&dir.join("scenario.toml"));
    let rules = [
        "training", "project", "market", "release", "score", "options",
    ]
    .iter()
    .map(|n| {
        let name = format!("{n}.rhai");
        (name.clone(), read(&repo().join("rules").join(&name)))
    })
    .collect();
    Sources {
        scenario_toml: toml,
        labour_market_csv: read(&dir.join("labour_market.csv")),
        rules,
        applicants_csv: Some(read(&dir.join("applicants.csv"))),
    }
}

#[test]
fn a_scenario_in_memory_decides_like_the_folder() {
    let memory = Engine::from_sources(tangier_sources()).unwrap();
    let folder = tangier();
    assert_eq!(memory.fingerprint(), folder.fingerprint());
    let a = memory.allocate(&memory.assess_scenario().unwrap()).unwrap();
    let b = folder.allocate(&folder.assess_scenario().unwrap()).unwrap();
    assert_eq!(a.decisions(), b.decisions());
    // The same figures; the manifests name the parts differently but hash the same bytes.
    let hashes = |s: &idmaj::Summary| -> Vec<String> {
        s.manifest.inputs.iter().map(|i| i.sha256.clone()).collect()
    };
    assert_eq!(hashes(a.summary()), hashes(b.summary()));
    let mut x = a.summary().clone();
    x.manifest = b.summary().manifest.clone();
    assert_eq!(&x, b.summary());
}

#[test]
fn in_memory_problems_name_the_part_and_line() {
    let mut src = tangier_sources();
    src.scenario_toml = src.scenario_toml.replace("[budget]", "[budgett]");
    let e = Engine::from_sources(src).unwrap_err().to_string();
    assert!(e.starts_with("scenario.toml:"), "{e}");
    assert!(e.contains("did you mean `budget`"), "{e}");

    let mut src = tangier_sources();
    src.labour_market_csv.push_str("Tangier,welding,1.5\n");
    let e = Engine::from_sources(src).unwrap_err().to_string();
    assert!(e.contains("labour_market.csv:"), "{e}");
    assert!(e.contains("outside [0, 1]"), "{e}");

    let mut src = tangier_sources();
    src.rules[0].1 = "check(\"t\", \"x\", applicant.trainig_hours > 1);\n".into();
    let e = Engine::from_sources(src).unwrap_err().to_string();
    assert!(e.contains("training.rhai:1:"), "{e}");

    let mut src = tangier_sources();
    src.rules.remove(2);
    let e = Engine::from_sources(src).unwrap_err().to_string();
    assert!(e.contains("market.rhai not found"), "{e}");
    assert!(e.contains("rules.files[2]"), "{e}");
}

#[test]
fn a_sweep_and_a_comparison_from_the_engine() {
    let engine = tangier();
    let sweep = engine
        .sweep(&[idmaj::Setting::budget_range("150000..300000:4").unwrap()])
        .unwrap();
    assert_eq!(sweep.rows.len(), 4);
    assert!(sweep.rows.windows(2).all(|w| w[0].served <= w[1].served));
    // A row's JSON is the sweep CSV's columns (the funders' total is not one of them).
    let row: idmaj::SweepRow =
        serde_json::from_value(serde_json::to_value(&sweep.rows[0]).unwrap()).unwrap();
    let expected = idmaj::SweepRow {
        funders_total: 0,
        ..sweep.rows[0].clone()
    };
    assert_eq!(row, expected);

    let stricter = engine
        .with_overrides(&[("params.min_training_hours", "250")])
        .unwrap();
    let c = engine.compare(&stricter).unwrap();
    assert!(c.after.eligible < c.before.eligible);
    assert!(c
        .changes
        .iter()
        .any(|ch| ch.reason_after.contains("training")));
}
