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
