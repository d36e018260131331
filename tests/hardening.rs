//! No input destroyed and every run bounded: outputs never overwrite inputs, appear whole or
//! not at all, and a file, a sweep or a time that would grow without end stops with exit 2.

mod common;

use std::fs;
use std::path::Path;

use common::{idmaj, no_panic, shipped_copy, text};

fn exit_2_naming(out: &std::process::Output, fragments: &[&str]) {
    no_panic(out);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    for f in fragments {
        assert!(err.contains(f), "stderr lacks {f:?}: {err}");
    }
}

/// Pins: `score S --out S/applicants.csv` left a header-only applicants file, and
/// `score --out S/scenario.toml` overwrote the scenario, both with exit 0.
#[test]
fn an_output_that_is_an_input_is_refused_and_the_input_kept() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = shipped_copy(tmp.path(), "tangier-2016");
    let d = dir.to_str().unwrap();
    for (input, what) in [
        ("applicants.csv", "applicants file"),
        ("scenario.toml", "scenario file"),
        ("labour_market.csv", "labour-market file"),
    ] {
        let path = dir.join(input);
        let before = fs::read(&path).unwrap();
        let out = idmaj(tmp.path(), &["score", d, "--out", path.to_str().unwrap()]);
        exit_2_naming(&out, &["--out", what]);
        assert!(fs::read(&path).unwrap() == before, "{input} was changed");
    }
    // A rule file, reached by another spelling of its path.
    let rule = tmp.path().join("rules/../rules/score.rhai");
    let before = fs::read(&rule).unwrap();
    let out = idmaj(tmp.path(), &["score", d, "--out", rule.to_str().unwrap()]);
    exit_2_naming(&out, &["rule file"]);
    assert!(fs::read(&rule).unwrap() == before);
    // compare and sweep too.
    let path = dir.join("applicants.csv");
    let before = fs::read(&path).unwrap();
    let p = path.to_str().unwrap();
    let out = idmaj(
        tmp.path(),
        &["compare", d, "--set", "budget.total=1000", "--out", p],
    );
    exit_2_naming(&out, &["applicants file"]);
    let out = idmaj(
        tmp.path(),
        &["sweep", d, "--budget", "1000..2000:2", "--out", p],
    );
    exit_2_naming(&out, &["applicants file"]);
    assert!(fs::read(&path).unwrap() == before);
}

#[test]
fn allocate_refuses_an_out_folder_whose_file_names_an_input() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = shipped_copy(tmp.path(), "tangier-2016");
    fs::rename(dir.join("applicants.csv"), dir.join("decisions.csv")).unwrap();
    let toml = fs::read_to_string(dir.join("scenario.toml"))
        .unwrap()
        .replace("\"applicants.csv\"", "\"decisions.csv\"");
    fs::write(dir.join("scenario.toml"), toml).unwrap();
    let before = fs::read(dir.join("decisions.csv")).unwrap();
    let d = dir.to_str().unwrap();
    let out = idmaj(tmp.path(), &["allocate", d, "--out", d]);
    exit_2_naming(&out, &["decisions.csv", "applicants file"]);
    assert!(fs::read(dir.join("decisions.csv")).unwrap() == before);
}

#[test]
fn generate_refuses_a_folder_that_is_not_empty_unless_forced() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = shipped_copy(tmp.path(), "tangier-2016");
    let before = fs::read(dir.join("applicants.csv")).unwrap();
    let d = dir.to_str().unwrap();
    let out = idmaj(tmp.path(), &["generate", "--applicants", "10", "--out", d]);
    exit_2_naming(&out, &["not empty", "--force"]);
    assert!(fs::read(dir.join("applicants.csv")).unwrap() == before);
    let out = idmaj(
        tmp.path(),
        &["generate", "--applicants", "10", "--out", d, "--force"],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(fs::read(dir.join("applicants.csv")).unwrap() != before);
}

/// Pins: `applicants = "/dev/zero"` read until the allocator aborted (exit 134).
#[test]
fn an_endless_input_file_stops_at_the_line_limit() {
    if !Path::new("/dev/zero").exists() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let dir = shipped_copy(tmp.path(), "tangier-2016");
    let toml = fs::read_to_string(dir.join("scenario.toml"))
        .unwrap()
        .replace("\"applicants.csv\"", "\"/dev/zero\"");
    fs::write(dir.join("scenario.toml"), toml).unwrap();
    let d = dir.to_str().unwrap();
    for cmd in ["check", "allocate"] {
        let out = idmaj(
            tmp.path(),
            &[cmd, d, "--out", "o"][..if cmd == "check" { 2 } else { 4 }],
        );
        exit_2_naming(&out, &["/dev/zero", "longer than"]);
    }
}

/// Pins: `sweep --budget 1..2:100000000` allocated gigabytes before doing anything.
#[test]
fn a_sweep_of_too_many_points_is_refused_up_front() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = shipped_copy(tmp.path(), "tangier-2016");
    let d = dir.to_str().unwrap();
    let out = idmaj(tmp.path(), &["sweep", d, "--budget", "1..2:100000000"]);
    exit_2_naming(&out, &["at most 10000 points"]);
    let out = idmaj(
        tmp.path(),
        &[
            "sweep",
            d,
            "--set",
            "params.min_training_hours=1,2,3,4,5,6,7,8,9,10",
            "--set",
            "budget.total=1,2,3,4,5,6,7,8,9,10",
            "--set",
            "quota.women.min_share=0,0.1,0.2,0.3,0.4,0.5,0.6,0.7,0.8,0.9",
            "--set",
            "solver.gap=0.1,0.2,0.3,0.4,0.5,0.6,0.7,0.8,0.9,0.95",
            "--set",
            "solver.time_limit=1,2",
        ],
    );
    exit_2_naming(&out, &["more than 10000 points"]);
}

#[test]
fn zero_threads_is_a_usage_error() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = shipped_copy(tmp.path(), "tangier-2016");
    let out = idmaj(
        tmp.path(),
        &["--threads", "0", "check", dir.to_str().unwrap()],
    );
    exit_2_naming(&out, &["--threads"]);
}

/// The last resort: past --max-seconds the run ends with exit 2 and writes nothing.
#[test]
fn a_run_past_its_time_limit_writes_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = shipped_copy(tmp.path(), "ramadan-2016");
    let out_dir = tmp.path().join("out");
    let out = idmaj(
        tmp.path(),
        &[
            "--max-seconds",
            "0.001",
            "allocate",
            dir.to_str().unwrap(),
            "--out",
            out_dir.to_str().unwrap(),
        ],
    );
    exit_2_naming(&out, &["--max-seconds", "nothing written"]);
    let left: Vec<_> = fs::read_dir(&out_dir)
        .map(|d| d.map(|e| e.unwrap().file_name()).collect())
        .unwrap_or_default();
    assert!(left.is_empty(), "files left: {left:?}");
}

/// A rule error for some applicants still writes every row (marked `error`), whole.
#[test]
fn score_with_rule_errors_writes_every_row() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = shipped_copy(tmp.path(), "tangier-2016");
    let rule = tmp.path().join("rules/score.rhai");
    let mut text_rule = fs::read_to_string(&rule).unwrap();
    text_rule.push_str("\nif applicant.id == \"TNG-002\" { throw \"stop\"; }\n");
    fs::write(&rule, text_rule).unwrap();
    let out_file = tmp.path().join("s.csv");
    let out = idmaj(
        tmp.path(),
        &[
            "score",
            dir.to_str().unwrap(),
            "--out",
            out_file.to_str().unwrap(),
        ],
    );
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    let written = fs::read_to_string(&out_file).unwrap();
    assert_eq!(written.lines().count(), 45, "header + 44 rows");
    assert!(written.contains("TNG-002,error,"));
    let temps: Vec<_> = fs::read_dir(tmp.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".tmp"))
        .collect();
    assert!(temps.is_empty(), "{temps:?}");
}
