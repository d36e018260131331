//! What a committee needs from a result: how much money is left and why, and which data,
//! rules and settings produced it, checked again by `idmaj verify`.

mod common;

use std::fs;

use common::{idmaj, no_panic, shipped_copy, text};

#[test]
fn unspent_money_has_a_headline_naming_what_holds_it_back() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = shipped_copy(tmp.path(), "tangier-2016");
    let out = idmaj(
        tmp.path(),
        &[
            "allocate",
            dir.to_str().unwrap(),
            "--set",
            "quota.women.min_share=0.5",
            "--out",
            "out",
        ],
    );
    no_panic(&out);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains("unspent    102,019 MAD: quota.women.min_share holds back"),
        "{stdout}"
    );
    let s: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(tmp.path().join("out/summary.json")).unwrap())
            .unwrap();
    assert_eq!(
        s["unspent"]["amount"],
        262_519 - s["spent"].as_i64().unwrap()
    );
    assert_eq!(s["unspent"]["held_by"], "quota.women.min_share");
    let md = fs::read_to_string(tmp.path().join("out/summary.md")).unwrap();
    assert!(
        md.contains("**Unspent:** 102,019 MAD: quota.women.min_share"),
        "{md}"
    );
    let html = fs::read_to_string(tmp.path().join("out/report.html")).unwrap();
    assert!(
        html.contains("id=\"unspent\""),
        "no unspent note in report.html"
    );

    // Without the quota the money is all spent: no headline.
    let out = idmaj(
        tmp.path(),
        &["allocate", dir.to_str().unwrap(), "--out", "plain"],
    );
    assert!(
        !text(&out.stdout).contains("unspent"),
        "{}",
        text(&out.stdout)
    );
}

#[test]
fn the_manifest_names_every_input_and_verify_reproduces_the_run() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = shipped_copy(tmp.path(), "tangier-2016");
    let d = dir.to_str().unwrap();
    let out = idmaj(
        tmp.path(),
        &[
            "allocate",
            d,
            "--set",
            "budget.total=200000",
            "--out",
            "out",
        ],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let s: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(tmp.path().join("out/summary.json")).unwrap())
            .unwrap();
    let m = &s["manifest"];
    assert_eq!(m["idmaj_version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(m["overrides"][0], "budget.total=200000");
    assert_eq!(m["search"], "proven optimal");
    let roles: Vec<&str> = m["inputs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["role"].as_str().unwrap())
        .collect();
    assert_eq!(roles.iter().filter(|r| **r == "rule file").count(), 6);
    for role in ["scenario file", "applicants file", "labour-market file"] {
        assert!(roles.contains(&role), "{roles:?}");
    }
    for i in m["inputs"].as_array().unwrap() {
        assert_eq!(i["sha256"].as_str().unwrap().len(), 64, "{i}");
    }
    let html = fs::read_to_string(tmp.path().join("out/report.html")).unwrap();
    assert!(html.contains("Run: search proven optimal; --set budget.total=200000"));

    let out = idmaj(tmp.path(), &["verify", "out"]);
    no_panic(&out);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
    assert!(text(&out.stdout).contains("reproduced"));

    // Change one applicant: verify says which input changed, and that it is not reproduced.
    let path = dir.join("applicants.csv");
    let changed = fs::read_to_string(&path)
        .unwrap()
        .replacen(",360,", ",361,", 1);
    fs::write(&path, changed).unwrap();
    let out = idmaj(tmp.path(), &["verify", "out"]);
    no_panic(&out);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("CHANGED    applicants file"), "{stdout}");
    assert!(stdout.contains("NOT reproduced"), "{stdout}");
}

#[test]
fn sweep_json_carries_the_manifest() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = shipped_copy(tmp.path(), "tangier-2016");
    let out = idmaj(
        tmp.path(),
        &[
            "sweep",
            dir.to_str().unwrap(),
            "--budget",
            "150000..250000:2",
            "--out",
            "s.json",
        ],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let s: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(tmp.path().join("s.json")).unwrap()).unwrap();
    assert_eq!(s["manifest"]["search"], "sweep");
    assert!(s["manifest"]["inputs"].as_array().unwrap().len() >= 9);
}
