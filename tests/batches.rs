//! A programme decided in two batches: Tangier's first batch paid, then the national
//! allocation with the money left, those already decided kept as they were.

mod common;

use std::fs;
use std::path::Path;

use common::{idmaj, no_panic, shipped_copy, text};

/// ramadan-2016 whose applicants are only those of `city`, with its budget set to `budget`.
fn first_batch(root: &Path, city: &str, budget: i64) -> std::path::PathBuf {
    let dir = shipped_copy(root, "ramadan-2016");
    let batch = root.join("scenarios/batch-1");
    fs::rename(&dir, &batch).unwrap();
    let csv = fs::read_to_string(batch.join("applicants.csv")).unwrap();
    let mut lines = csv.lines();
    let header = lines.next().unwrap();
    let mut kept = vec![header.to_string()];
    kept.extend(
        lines
            .filter(|l| l.split(',').nth(4) == Some(city))
            .map(str::to_string),
    );
    fs::write(batch.join("applicants.csv"), kept.join("\n") + "\n").unwrap();
    let toml = fs::read_to_string(batch.join("scenario.toml"))
        .unwrap()
        .replace("total = 5_200_000", &format!("total = {budget}"));
    fs::write(batch.join("scenario.toml"), toml).unwrap();
    batch
}

fn rows(path: &Path) -> Vec<csv::StringRecord> {
    csv::Reader::from_path(path)
        .unwrap()
        .records()
        .map(Result::unwrap)
        .collect()
}

#[test]
fn tangier_first_then_the_national_allocation_with_the_rest() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let batch = first_batch(root, "Tangier", 262_519);
    let out = idmaj(root, &["allocate", batch.to_str().unwrap(), "--out", "b1"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let first = rows(&root.join("b1/decisions.csv"));
    let funded1: Vec<&csv::StringRecord> = first.iter().filter(|r| &r[5] != "none").collect();
    assert!(funded1.len() >= 10, "{}", funded1.len());
    let spent1: i64 = funded1.iter().map(|r| r[8].parse::<i64>().unwrap()).sum();
    assert!(spent1 <= 262_519);

    let national = shipped_copy(&root.join("n"), "ramadan-2016");
    let out = idmaj(
        root,
        &[
            "allocate",
            national.to_str().unwrap(),
            "--committed",
            "b1/decisions.csv",
            "--out",
            "b2",
        ],
    );
    no_panic(&out);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let second = rows(&root.join("b2/decisions.csv"));
    let header = csv::Reader::from_path(root.join("b2/decisions.csv"))
        .unwrap()
        .headers()
        .unwrap()
        .clone();
    assert_eq!(&header[11], "committed", "a last column");
    // Every first-batch applicant keeps option, kit, cash, amount and funders, marked committed.
    for r1 in &first {
        let r2 = second
            .iter()
            .find(|r| r[0] == r1[0])
            .expect("in the national list");
        for c in [5, 6, 7, 8, 9] {
            assert_eq!(
                r1[c].to_string(),
                r2[c].to_string(),
                "{} column {c}",
                &r1[0]
            );
        }
        assert_eq!(&r2[11], "true", "{}", &r1[0]);
    }
    // Everyone else is decided now, within what is left: the programme's budget, and
    // Tangier's cap, which the first batch already used.
    assert!(second
        .iter()
        .filter(|r| &r[11] == "false")
        .any(|r| &r[5] != "none"));
    let s: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(root.join("b2/summary.json")).unwrap()).unwrap();
    let spent = s["spent"].as_i64().unwrap();
    assert!(spent <= 5_200_000 && spent > spent1, "{spent}");
    let tangier = s["by_city"]["Tangier"]["spent"].as_i64().unwrap();
    assert!(tangier <= 262_519, "{tangier}");
    assert_eq!(
        s["manifest"]["inputs"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|i| i["role"] == "committed file")
            .count(),
        1
    );

    // The same batch from decisions.jsonl gives the same decisions.
    let out = idmaj(
        root,
        &[
            "allocate",
            national.to_str().unwrap(),
            "--committed",
            "b1/decisions.jsonl",
            "--out",
            "b2j",
        ],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        fs::read(root.join("b2/decisions.csv")).unwrap()
            == fs::read(root.join("b2j/decisions.csv")).unwrap()
    );

    // The committed file is an input: it cannot be the output.
    let out = idmaj(
        root,
        &[
            "allocate",
            national.to_str().unwrap(),
            "--committed",
            "b2/decisions.csv",
            "--out",
            "b2",
        ],
    );
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("committed file"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn committed_decisions_the_scenario_cannot_take_are_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let dir = shipped_copy(root, "tangier-2016");
    let d = dir.to_str().unwrap();
    assert!(idmaj(root, &["allocate", d, "--out", "b1"])
        .status
        .success());
    let csv = fs::read_to_string(root.join("b1/decisions.csv")).unwrap();

    // An id the applicant list does not have.
    fs::write(
        root.join("unknown.csv"),
        csv.replace("TNG-001,", "TNG-999,"),
    )
    .unwrap();
    let out = idmaj(
        root,
        &["allocate", d, "--committed", "unknown.csv", "--out", "x"],
    );
    no_panic(&out);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("TNG-999") && err.contains("not in the applicant list"),
        "{err}"
    );

    // More than the city's cap: the first batch already spent all of Tangier's money, so the
    // same decisions under a smaller cap break it.
    let out = idmaj(
        root,
        &[
            "allocate",
            d,
            "--committed",
            "b1/decisions.csv",
            "--set",
            "budget.cities.Tangier=200000",
            "--out",
            "y",
        ],
    );
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("budget.cities.Tangier"), "{err}");
}
