//! The planner-readable rule cases in `rules/tests/` all pass, and a wrong expectation is
//! reported as a failure that names it (so a passing run means something).

use std::path::{Path, PathBuf};
use std::process::Command;

use idmaj::cases::{case_files, run_file};

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn tangier() -> PathBuf {
    root().join("scenarios/tangier-2016")
}

#[test]
fn every_shipped_rule_case_passes() {
    let files = case_files(&root().join("rules/tests")).unwrap_or_else(|e| panic!("{e}"));
    assert!(
        files.len() >= 6,
        "expected a case file per rule theme, found {files:?}"
    );
    let (mut passed, mut failures) = (0, Vec::new());
    for f in &files {
        let results = run_file(f).unwrap_or_else(|e| panic!("{}: {e}", f.display()));
        assert!(!results.is_empty(), "{} has no cases", f.display());
        for r in results {
            if r.passed() {
                passed += 1;
            } else {
                failures.push(format!(
                    "{}: {}\n    {}",
                    r.file,
                    r.name,
                    r.failures.join("\n    ")
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} rule cases failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert!(passed >= 25, "only {passed} rule cases");
}

/// A case file in a temp folder whose cases start from a Tangier applicant who passes
/// every check (score 70.6, plumbing kit 11,500 MAD).
fn case_dir(cases: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let text = format!(
        r#"scenario = {scenario:?}

[base]
id = "T1"
gender = "M"
birth_year = 1990
city = "Tangier"
release_date = "2015-12-01"
training_track = "plumbing"
training_hours = 240
training_certified = true
pm_training = true
plan_trade = "plumbing"
plan_approved = true
plan_cost = 11500
experience_years = 2

{cases}"#,
        scenario = tangier().display().to_string()
    );
    std::fs::write(dir.path().join("wrong.toml"), text).unwrap();
    dir
}

const WRONG: &str = r#"
[[case]]
name = "right: the base applicant is eligible"
expect = { eligible = true }

[[case]]
name = "wrong score"
expect = { score = 99.0 }

[[case]]
name = "wrong eligibility and failed checks"
applicant = { training_hours = 100 }
expect = { eligible = true, failed = ["market"] }

[[case]]
name = "wrong options"
expect = { options = ["cash=1"] }

[[case]]
name = "an error that does not happen"
expect = { error = "type mismatch" }
"#;

#[test]
fn a_wrong_expectation_fails_and_names_the_expectation() {
    let dir = case_dir(WRONG);
    let results = run_file(&dir.path().join("wrong.toml")).unwrap_or_else(|e| panic!("{e}"));
    let by_name = |n: &str| {
        results
            .iter()
            .find(|r| r.name == n)
            .unwrap_or_else(|| panic!("no case {n:?} in {results:?}"))
    };
    assert!(by_name("right: the base applicant is eligible").passed());

    let score = &by_name("wrong score").failures;
    assert_eq!(score.len(), 1, "{score:?}");
    assert!(
        score[0].contains("score: expected 99") && score[0].contains("70.6"),
        "{score:?}"
    );

    let elig = by_name("wrong eligibility and failed checks")
        .failures
        .join("\n");
    assert!(
        elig.contains("eligible: expected true, got false"),
        "{elig}"
    );
    assert!(
        elig.contains("failed checks: expected [market], got [training]"),
        "{elig}"
    );

    let opts = by_name("wrong options").failures.join("\n");
    assert!(
        opts.contains("options: expected [cash=1]") && opts.contains("kit:plumbing=11500"),
        "{opts}"
    );

    let err = by_name("an error that does not happen").failures.join("\n");
    assert!(
        err.contains("error: expected a rule error containing \"type mismatch\""),
        "{err}"
    );
}

#[test]
fn idmaj_test_prints_fail_and_exits_1_on_a_wrong_expectation() {
    let dir = case_dir(WRONG);
    let out = Command::new(env!("CARGO_BIN_EXE_idmaj"))
        .arg("test")
        .arg(dir.path())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.contains("pass  ") && stdout.contains("right: the base applicant is eligible"),
        "{stdout}"
    );
    assert!(
        stdout.contains("FAIL  ") && stdout.contains("wrong score"),
        "{stdout}"
    );
    assert!(stdout.contains("score: expected 99"), "{stdout}");
    assert!(stdout.contains("1 passed, 4 failed"), "{stdout}");
}

#[test]
fn idmaj_test_exits_0_on_the_shipped_cases() {
    let out = Command::new(env!("CARGO_BIN_EXE_idmaj"))
        .arg("test")
        .current_dir(root())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(stdout.contains(" passed, 0 failed"), "{stdout}");
    assert!(!stdout.contains("FAIL"), "{stdout}");
}

#[test]
fn a_params_override_of_an_unknown_parameter_is_an_error_not_ignored() {
    let dir = case_dir(
        r#"
[[case]]
name = "misspelt parameter"
params = { min_trainig_hours = 100 }
expect = { eligible = true }
"#,
    );
    let err = run_file(&dir.path().join("wrong.toml"))
        .expect_err("an unknown parameter must not be ignored")
        .to_string();
    assert!(err.contains("min_trainig_hours"), "{err}");
}
