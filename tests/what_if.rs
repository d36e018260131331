//! What-ifs planners run: list values in brackets, a funder withdrawing, a point that cannot
//! run kept as a row, and `--set` mistakes named by their `--set`.

mod common;

use common::{idmaj, no_panic, repo, text};

fn summary(dir: &std::path::Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(dir.join("summary.json")).unwrap()).unwrap()
}

#[test]
fn a_funder_with_amount_0_withdraws() {
    let tmp = tempfile::tempdir().unwrap();
    let out = idmaj(
        repo(),
        &[
            "allocate",
            "scenarios/ramadan-2016",
            "--set",
            "funder.attawfiq.amount=0",
            "--out",
            tmp.path().to_str().unwrap(),
        ],
    );
    no_panic(&out);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let s = summary(tmp.path());
    assert_eq!(s["by_funder"]["attawfiq"]["spent"], 0);
    assert_eq!(s["by_funder"]["attawfiq"]["limit"], 0);
    assert!(s["served"].as_u64().unwrap() > 0);
}

#[test]
fn earmarks_take_bracketed_lists() {
    let tmp = tempfile::tempdir().unwrap();
    let out = idmaj(
        repo(),
        &[
            "allocate",
            "scenarios/ramadan-2016",
            "--set",
            "funder.wilaya-tth.cities=[Tangier,Fes]",
            "--set",
            "funder.anapec.kinds=[kit,cash]",
            "--out",
            tmp.path().to_str().unwrap(),
        ],
    );
    no_panic(&out);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let decisions = std::fs::read_to_string(tmp.path().join("decisions.csv")).unwrap();
    // The regional funder now pays kits in Fes too.
    let ids_in_fes: Vec<String> =
        csv::Reader::from_path(repo().join("scenarios/ramadan-2016/applicants.csv"))
            .unwrap()
            .records()
            .map(|r| r.unwrap())
            .filter(|r| &r[4] == "Fes")
            .map(|r| r[0].to_string())
            .collect();
    assert!(
        decisions
            .lines()
            .any(|l| l.contains("wilaya-tth:")
                && ids_in_fes.iter().any(|id| l.starts_with(id.as_str()))),
        "no Fes applicant paid by wilaya-tth"
    );

    // In a sweep, commas outside brackets separate points: two points here.
    let out = idmaj(
        repo(),
        &[
            "sweep",
            "scenarios/ramadan-2016",
            "--set",
            "funder.wilaya-tth.cities=[Tangier],[Tangier,Fes]",
        ],
    );
    no_panic(&out);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).starts_with("2 points"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn a_set_mistake_names_the_set_not_a_line() {
    let out = idmaj(
        repo(),
        &[
            "allocate",
            "scenarios/tangier-2016",
            "--set",
            "quota.women.min_share=1.5",
            "--out",
            "/nonexistent/never-written",
        ],
    );
    no_panic(&out);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("--set quota.women.min_share: "), "{err}");
    assert!(
        !err.contains("scenario.toml"),
        "a line of the rewritten TOML: {err}"
    );
}

/// A threshold raised mid-year: the rules see the value in force on the programme's date,
/// `--set program.date` moves it, a sweep over dates re-scores, and check and explain say
/// which value applied.
#[test]
fn dated_parameters_apply_on_the_programme_date() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = common::shipped_copy(tmp.path(), "tangier-2016");
    let toml = std::fs::read_to_string(dir.join("scenario.toml")).unwrap();
    let line = toml
        .lines()
        .find(|l| l.trim_start().starts_with("min_training_hours"))
        .unwrap()
        .to_string();
    let dated = "min_training_hours = { description = \"hours of training during the sentence\", \
                 unit = \"hours\", reference = \"partnership agreement, art. 3\", \
                 values = { 2015-01-01 = 100, 2016-06-01 = 250 } }";
    std::fs::write(dir.join("scenario.toml"), toml.replace(&line, dated)).unwrap();
    let d = dir.to_str().unwrap();

    let out = idmaj(tmp.path(), &["check", d]);
    no_panic(&out);
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        stdout.contains("min_training_hours = 250 hours (in force since 2016-06-01, one of 2 dated values): hours of training during the sentence [partnership agreement, art. 3]"),
        "{stdout}"
    );

    // On 2016-06-06 the 250 h threshold applies; on 2016-05-01 the 100 h one.
    let eligible = |date: &str| -> u64 {
        let out = idmaj(
            tmp.path(),
            &[
                "allocate",
                d,
                "--set",
                &format!("program.date={date}"),
                "--out",
                "o",
            ],
        );
        assert!(out.status.success(), "{}", text(&out.stderr));
        let s: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(tmp.path().join("o/summary.json")).unwrap(),
        )
        .unwrap();
        s["eligible"].as_u64().unwrap()
    };
    let (strict, lenient) = (eligible("2016-06-06"), eligible("2016-05-01"));
    assert!(strict < lenient, "{strict} vs {lenient}");

    let out = idmaj(
        tmp.path(),
        &["sweep", d, "--set", "program.date=2016-05-01,2016-06-06"],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("scored 2 times"),
        "{}",
        text(&out.stderr)
    );

    let out = idmaj(tmp.path(), &["explain", d, "TNG-001", "--no-allocation"]);
    assert!(
        text(&out.stdout).contains("dated params (on 2016-06-06)"),
        "{}",
        text(&out.stdout)
    );

    // A date before every value is an error at the parameter.
    let early = toml
        .replace(&line, dated)
        .replace("date = \"2016-06-06\"", "date = \"2014-06-06\"");
    std::fs::write(dir.join("scenario.toml"), early).unwrap();
    let out = idmaj(tmp.path(), &["check", d]);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("key params.min_training_hours") && err.contains("no value in force"),
        "{err}"
    );
}
