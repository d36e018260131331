//! Snapshots of every CLI output on the shipped scenarios, byte for byte.
//!
//! Planners and their spreadsheets rely on these files staying the same: a change that
//! alters one on purpose updates its snapshot in the same commit, so the diff is reviewed.
//! `IDMAJ_UPDATE_SNAPSHOTS=1 cargo test --test snapshots` rewrites them.

mod common;

use std::fs;
use std::path::Path;

use common::{idmaj, repo, text};

/// Compares `actual` with the stored snapshot `name` (or stores it when updating).
fn snapshot(name: &str, actual: &[u8], failures: &mut Vec<String>) {
    let path = repo().join("tests/snapshots").join(name);
    if std::env::var_os("IDMAJ_UPDATE_SNAPSHOTS").is_some() {
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(&path, actual).unwrap();
        return;
    }
    match fs::read(&path) {
        Ok(expected) if expected == actual => {}
        Ok(expected) => {
            let (e, a) = (text(&expected), text(actual));
            let line = e
                .lines()
                .zip(a.lines())
                .position(|(x, y)| x != y)
                .unwrap_or_else(|| e.lines().count().min(a.lines().count()));
            failures.push(format!(
                "{name}: differs from line {}:\n  expected: {}\n  actual:   {}",
                line + 1,
                e.lines().nth(line).unwrap_or("<end>"),
                a.lines().nth(line).unwrap_or("<end>")
            ));
        }
        Err(_) => failures.push(format!(
            "{name}: no snapshot (run with IDMAJ_UPDATE_SNAPSHOTS=1)"
        )),
    }
}

/// Runs `args` in the repository and returns stdout, failing on a non-zero exit.
fn run(args: &[&str]) -> Vec<u8> {
    let out = idmaj(repo(), args);
    assert!(
        out.status.success(),
        "idmaj {args:?} failed: {}",
        text(&out.stderr)
    );
    out.stdout
}

fn outputs_of(scenario: &str, id: &str, failures: &mut Vec<String>) {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let path = format!("scenarios/{scenario}");
    let out = dir.join("out");
    run(&["allocate", &path, "--out", out.to_str().unwrap()]);
    for f in ["decisions.csv", "summary.json", "summary.md", "report.html"] {
        let bytes = fs::read(out.join(f)).unwrap();
        snapshot(&format!("{scenario}/{f}"), &bytes, failures);
    }
    snapshot(
        &format!("{scenario}/score.csv"),
        &run(&["score", &path]),
        failures,
    );
    snapshot(
        &format!("{scenario}/check.txt"),
        &run(&["check", &path]),
        failures,
    );
    snapshot(
        &format!("{scenario}/explain.txt"),
        &run(&["explain", &path, id]),
        failures,
    );
    for ext in ["csv", "json"] {
        let file = dir.join(format!("sweep.{ext}"));
        run(&[
            "sweep",
            &path,
            "--budget",
            "150000..5200000:3",
            "--set",
            "quota.women.min_share=0,0.25",
            "--out",
            file.to_str().unwrap(),
        ]);
        snapshot(
            &format!("{scenario}/sweep.{ext}"),
            &fs::read(&file).unwrap(),
            failures,
        );
    }
    let file = dir.join("compare.csv");
    let stdout = run(&[
        "compare",
        &path,
        "--set",
        "params.min_training_hours=200",
        "--out",
        file.to_str().unwrap(),
    ]);
    // The last line names the temporary output file.
    let stdout: String = text(&stdout)
        .lines()
        .filter(|l| !l.starts_with("wrote "))
        .map(|l| format!("{l}\n"))
        .collect();
    snapshot(
        &format!("{scenario}/compare.txt"),
        stdout.as_bytes(),
        failures,
    );
    snapshot(
        &format!("{scenario}/compare.csv"),
        &fs::read(&file).unwrap(),
        failures,
    );
}

#[test]
fn cli_outputs_on_the_shipped_scenarios_are_unchanged() {
    let mut failures = Vec::new();
    outputs_of("tangier-2016", "TNG-016", &mut failures);
    outputs_of("ramadan-2016", "R16-000042", &mut failures);
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(Path::new(&repo().join("tests/snapshots/tangier-2016/decisions.csv")).is_file());
}
