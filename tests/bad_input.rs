//! The bad-input corpus: every folder under `tests/bad_input/` is one case with ONE defect.
//!
//! A case is the small valid scenario of `tests/fixtures/base/` (plus a copy of the repo's
//! `rules/*.rhai` in `rules/`), changed by the case folder: every file in it other than
//! `case.toml` replaces the base file of the same path, and `[[edit]]` entries of
//! `case.toml` change a base file in place (`find` → `replace`, or `append`). `case.toml`
//! also says what the binary must do:
//!
//! ```toml
//! about = "what the defect is"
//! command = "check"                    # or "score"; default "check"
//! expect = ["fragment", "..."]         # each must appear in stderr
//! file_line = "applicants.csv:3"       # where: file and line (or file and TOML key)
//! not_expected = ["..."]               # optional: must not appear in stderr
//! ignore = "BUG: ..."                  # optional: a known bug; the case is reported, not failed
//! ```
//!
//! For every case the binary must exit 2, print the fragments and the location, never
//! panic, and never print an applicant's name (names are personal data) on stderr, stdout
//! or in the `score` output. All failing
//! cases are collected and reported together. Run with `cargo test --test bad_input`;
//! `cargo test --test bad_input -- --ignored` also runs the cases marked as known bugs;
//! `IDMAJ_CORPUS_SHOW=1 cargo test --test bad_input -- --nocapture` prints every answer;
//! `IDMAJ_CASE=crlf` runs only the cases whose folder name contains `crlf`.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde::Deserialize;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Case {
    about: String,
    #[serde(default = "default_command")]
    command: String,
    expect: Vec<String>,
    file_line: String,
    #[serde(default)]
    not_expected: Vec<String>,
    #[serde(default)]
    edit: Vec<Edit>,
    ignore: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Edit {
    file: String,
    find: Option<String>,
    replace: Option<String>,
    append: Option<String>,
}

fn default_command() -> String {
    "check".to_string()
}

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn copy_tree(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    for entry in fs::read_dir(from).unwrap() {
        let p = entry.unwrap().path();
        let dest = to.join(p.file_name().unwrap());
        if p.is_dir() {
            copy_tree(&p, &dest);
        } else if p.file_name().unwrap() != "case.toml" {
            fs::copy(&p, &dest).unwrap();
        }
    }
}

/// A fresh copy of the base scenario (with the repo's rules) in `dir`.
fn base_into(dir: &Path) {
    copy_tree(&repo().join("tests/fixtures/base"), dir);
    copy_tree(&repo().join("rules"), &dir.join("rules"));
}

/// The case folder applied to a fresh base scenario in `dir`.
fn build_case(case_dir: &Path, case: &Case, dir: &Path) -> Result<(), String> {
    base_into(dir);
    copy_tree(case_dir, dir);
    for e in &case.edit {
        let path = dir.join(&e.file);
        let mut text = fs::read_to_string(&path).map_err(|err| format!("{}: {err}", e.file))?;
        if let Some(find) = &e.find {
            if !text.contains(find.as_str()) {
                return Err(format!(
                    "edit of {}: `{find}` not in the base file (fixture changed?)",
                    e.file
                ));
            }
            text = text.replacen(find.as_str(), e.replace.as_deref().unwrap_or(""), 1);
        }
        if let Some(tail) = &e.append {
            text.push_str(tail);
        }
        fs::write(&path, text).unwrap();
    }
    Ok(())
}

fn run(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_idmaj"))
        .args(args)
        .current_dir(dir)
        .env_remove("RUST_BACKTRACE")
        .output()
        .expect("run idmaj")
}

/// The `name` cells of an applicants file, read leniently (any separator, bad UTF-8).
fn applicant_names(path: &Path) -> Vec<String> {
    let Ok(bytes) = fs::read(path) else {
        return Vec::new();
    };
    let text = String::from_utf8_lossy(&bytes);
    let mut lines = text.lines();
    let Some(header) = lines.next() else {
        return Vec::new();
    };
    let header = header.trim_start_matches('\u{feff}');
    let sep = if header.matches(';').count() > header.matches(',').count() {
        ';'
    } else {
        ','
    };
    let Some(col) = header.split(sep).position(|h| h.trim() == "name") else {
        return Vec::new();
    };
    lines
        .filter_map(|l| l.split(sep).nth(col))
        .map(|n| n.trim().trim_matches('"').to_string())
        .filter(|n| n.chars().count() >= 4)
        .collect()
}

/// What is wrong with the binary's answer to `case`, or nothing.
fn judge(case: &Case, dir: &Path, out: &Output) -> Vec<String> {
    let stderr = String::from_utf8_lossy(&out.stderr);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let mut wrong = Vec::new();
    if out.status.code() != Some(2) {
        wrong.push(format!("exit code {:?}, expected 2", out.status.code()));
    }
    for f in &case.expect {
        if !stderr.contains(f.as_str()) {
            wrong.push(format!("stderr lacks `{f}`"));
        }
    }
    if !stderr.contains(case.file_line.as_str()) {
        wrong.push(format!("stderr does not name `{}`", case.file_line));
    }
    for f in &case.not_expected {
        if stderr.contains(f.as_str()) {
            wrong.push(format!("stderr has `{f}`, which it should not"));
        }
    }
    for bad in ["panicked", "RUST_BACKTRACE", "stack backtrace"] {
        if stderr.contains(bad) {
            wrong.push(format!("stderr shows a panic (`{bad}`)"));
        }
    }
    let scored = fs::read(dir.join("scored.csv")).unwrap_or_default();
    let scored = String::from_utf8_lossy(&scored);
    for name in applicant_names(&dir.join("applicants.csv")) {
        for (what, out) in [
            ("stderr", &stderr),
            ("stdout", &stdout),
            ("scored.csv", &scored),
        ] {
            if out.contains(name.as_str()) {
                wrong.push(format!("{what} shows the applicant name `{name}`"));
            }
        }
    }
    if !wrong.is_empty() {
        wrong.push(format!("stderr was:\n{}", indent(&stderr)));
    }
    wrong
}

fn indent(s: &str) -> String {
    s.lines()
        .take(30)
        .map(|l| format!("        {l}"))
        .collect::<Vec<_>>()
        .join("\n")
}

fn cases() -> BTreeMap<String, (PathBuf, Case)> {
    let root = repo().join("tests/bad_input");
    let mut out = BTreeMap::new();
    for entry in fs::read_dir(&root).unwrap() {
        let dir = entry.unwrap().path();
        if !dir.is_dir() {
            continue;
        }
        let name = dir.file_name().unwrap().to_string_lossy().to_string();
        let text = fs::read_to_string(dir.join("case.toml"))
            .unwrap_or_else(|e| panic!("{name}/case.toml: {e}"));
        let case: Case = toml::from_str(&text).unwrap_or_else(|e| panic!("{name}/case.toml: {e}"));
        out.insert(name, (dir, case));
    }
    out
}

/// Runs the cases (known bugs or not) and returns the failures, by case name.
fn run_corpus(known_bugs: bool) -> (usize, Vec<String>) {
    let mut ran = 0;
    let mut failures = Vec::new();
    let only = std::env::var("IDMAJ_CASE").ok();
    for (name, (case_dir, case)) in cases() {
        if case.ignore.is_some() != known_bugs {
            continue;
        }
        if only.as_ref().is_some_and(|o| !name.contains(o.as_str())) {
            continue;
        }
        ran += 1;
        let tmp = tempfile::tempdir().unwrap();
        if let Err(e) = build_case(&case_dir, &case, tmp.path()) {
            failures.push(format!("{name}: bad case: {e}"));
            continue;
        }
        let out_file = tmp.path().join("scored.csv");
        let out_arg = out_file.to_string_lossy().to_string();
        let args: Vec<&str> = match case.command.as_str() {
            "check" => vec!["check", "scenario.toml"],
            "score" => vec!["score", "scenario.toml", "--out", &out_arg],
            other => {
                failures.push(format!("{name}: unknown command `{other}`"));
                continue;
            }
        };
        let out = run(tmp.path(), &args);
        if std::env::var_os("IDMAJ_CORPUS_SHOW").is_some() {
            println!(
                "== {name} (exit {:?})\n{}",
                out.status.code(),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        let wrong = judge(&case, tmp.path(), &out);
        if !wrong.is_empty() {
            let why = case.ignore.as_deref().unwrap_or("");
            failures.push(format!(
                "{name} ({}){}:\n    {}",
                case.about,
                if why.is_empty() {
                    String::new()
                } else {
                    format!(" [{why}]")
                },
                wrong.join("\n    ")
            ));
        }
    }
    (ran, failures)
}

#[test]
fn the_base_scenario_is_valid() {
    let tmp = tempfile::tempdir().unwrap();
    base_into(tmp.path());
    let out = run(tmp.path(), &["check", "scenario.toml"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "base scenario should pass check:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = run(tmp.path(), &["score", "scenario.toml"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn every_bad_input_is_reported_with_its_place() {
    let (ran, failures) = run_corpus(false);
    if std::env::var_os("IDMAJ_CASE").is_none() {
        assert!(ran >= 30, "only {ran} cases in the corpus");
    }
    assert!(
        failures.is_empty(),
        "{} of {ran} bad-input cases failed:\n\n{}",
        failures.len(),
        failures.join("\n\n")
    );
}

/// The corpus cases with `ignore = "BUG: ..."`: they document expected behaviour the code
/// does not have yet. Once fixed, drop the case's `ignore` line.
#[test]
#[ignore = "BUG: known bad-input bugs, see `ignore` in tests/bad_input/*/case.toml"]
fn known_bad_input_bugs_are_fixed() {
    let (ran, failures) = run_corpus(true);
    assert!(
        failures.is_empty(),
        "{} of {ran} known-bug cases still fail:\n\n{}",
        failures.len(),
        failures.join("\n\n")
    );
}

// ------------------------------------------------------------ score keeps every row

fn score_rows(path: &Path) -> Vec<Vec<String>> {
    let mut r = csv::Reader::from_path(path).unwrap();
    let header: Vec<String> = r.headers().unwrap().iter().map(String::from).collect();
    assert_eq!(
        header,
        [
            "id",
            "eligible",
            "failed_checks",
            "reasons",
            "score",
            "options"
        ]
    );
    r.records()
        .map(|rec| rec.unwrap().iter().map(String::from).collect())
        .collect()
}

#[test]
fn score_writes_a_row_for_a_bad_applicant_and_exits_2() {
    let tmp = tempfile::tempdir().unwrap();
    base_into(tmp.path());
    let path = tmp.path().join("applicants.csv");
    let text = fs::read_to_string(&path).unwrap();
    let bad = text.replacen(
        ",Fes,2016-01-20,tailoring,300,",
        ",Fes,2016-01-20,tailoring,3O0,",
        1,
    );
    assert_ne!(bad, text);
    fs::write(&path, &bad).unwrap();
    let out = run(
        tmp.path(),
        &["score", "scenario.toml", "--out", "scored.csv"],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("applicants.csv:3"), "{stderr}");
    assert!(stderr.contains("training_hours"), "{stderr}");
    let rows = score_rows(&tmp.path().join("scored.csv"));
    let ids: Vec<&str> = rows.iter().map(|r| r[0].as_str()).collect();
    assert_eq!(ids, ["BASE-01", "BASE-02", "BASE-03", "BASE-04", "BASE-05"]);
    for r in &rows {
        if r[0] == "BASE-02" {
            assert_eq!(r[1], "error", "row {r:?}");
            assert!(r[3].contains("training_hours"), "row {r:?}");
        } else {
            assert!(r[1] == "true" || r[1] == "false", "row {r:?}");
        }
    }
    assert!(!stderr.contains("Khadija"), "name in stderr: {stderr}");
    let written = fs::read_to_string(tmp.path().join("scored.csv")).unwrap();
    assert!(!written.contains("Khadija"), "name in output: {written}");
}

/// Pins: `score` stopped at the first row that is not UTF-8 and dropped it and every row
/// after it from the output (5 input rows, 1 output row, "1 applicants" in the summary).
#[test]
fn score_keeps_every_row_when_one_row_is_not_utf8() {
    let tmp = tempfile::tempdir().unwrap();
    base_into(tmp.path());
    fs::copy(
        repo().join("tests/bad_input/csv-invalid-utf8/applicants.csv"),
        tmp.path().join("applicants.csv"),
    )
    .unwrap();
    let out = run(
        tmp.path(),
        &["score", "scenario.toml", "--out", "scored.csv"],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("applicants.csv:3"), "{stderr}");
    assert!(stderr.contains("5 applicants"), "{stderr}");
    let rows = score_rows(&tmp.path().join("scored.csv"));
    let ids: Vec<&str> = rows.iter().map(|r| r[0].as_str()).collect();
    assert_eq!(ids, ["BASE-01", "BASE-02", "BASE-03", "BASE-04", "BASE-05"]);
    assert_eq!(rows[1][1], "error", "row {:?}", rows[1]);
}
