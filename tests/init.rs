//! `idmaj init`, run as the real binary: the folder it writes passes `check` and allocates,
//! holds everything it uses (it still passes once moved), keeps the `--from` scenario's
//! settings with paths pointing inside, never copies an applicant, and refuses to write
//! over a folder that is not empty or over the scenario it copies.

use std::fs;
use std::path::Path;

mod common;
use common::{idmaj, no_panic, repo, text};

fn ok(dir: &Path, args: &[&str]) -> String {
    let out = idmaj(dir, args);
    no_panic(&out);
    assert!(
        out.status.success(),
        "{args:?}: {}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    text(&out.stdout)
}

#[test]
fn init_writes_a_starter_that_passes_check_and_allocates() {
    let tmp = tempfile::tempdir().unwrap();
    let listed = ok(tmp.path(), &["init", "mine"]);
    let dir = tmp.path().join("mine");
    for f in [
        "scenario.toml",
        "labour_market.csv",
        "applicants.csv",
        "README.md",
        "rules/training.rhai",
        "rules/options.rhai",
    ] {
        assert!(dir.join(f).is_file(), "{f} missing");
        assert!(listed.contains(f), "{f} not listed: {listed}");
    }
    // The rules are copies of the shipped ones, named inside the folder.
    for r in [
        "training", "project", "market", "release", "score", "options",
    ] {
        let name = format!("{r}.rhai");
        assert_eq!(
            fs::read_to_string(dir.join("rules").join(&name)).unwrap(),
            fs::read_to_string(repo().join("rules").join(&name)).unwrap()
        );
    }
    let toml = fs::read_to_string(dir.join("scenario.toml")).unwrap();
    assert!(
        toml.contains("\"rules/training.rhai\"") && !toml.contains(".."),
        "{toml}"
    );
    let check = ok(tmp.path(), &["check", "mine"]);
    assert!(check.contains("1 read, 1 valid"), "{check}");
    assert!(check.contains("ok: no problems found"), "{check}");
    // The example row is eligible and funded: the template shows a working row.
    let alloc = ok(tmp.path(), &["allocate", "mine", "--out", "out"]);
    assert!(alloc.contains("served     1 of 1 eligible"), "{alloc}");
    let decisions = fs::read_to_string(tmp.path().join("out/decisions.csv")).unwrap();
    assert!(decisions
        .lines()
        .nth(1)
        .unwrap()
        .starts_with("EXAMPLE-001,true,"));
    let readme = fs::read_to_string(dir.join("README.md")).unwrap();
    for what in [
        "applicants.csv",
        "labour_market.csv",
        "scenario.toml",
        "rules/",
        "idmaj check .",
    ] {
        assert!(readme.contains(what), "README says nothing of {what}");
    }
}

#[test]
fn init_from_a_shipped_scenario_keeps_its_settings_and_works_once_moved() {
    for name in ["tangier-2016", "ramadan-2016"] {
        let tmp = tempfile::tempdir().unwrap();
        let from = repo().join("scenarios").join(name);
        ok(
            tmp.path(),
            &["init", "copy", "--from", from.to_str().unwrap()],
        );
        // Self-contained: moved elsewhere, it still passes.
        fs::create_dir_all(tmp.path().join("elsewhere/deeper")).unwrap();
        let moved = tmp.path().join("elsewhere/deeper/copy");
        fs::rename(tmp.path().join("copy"), &moved).unwrap();
        let check = ok(tmp.path(), &["check", moved.to_str().unwrap()]);
        assert!(check.contains("ok: no problems found"), "{name}: {check}");

        let original = fs::read_to_string(from.join("scenario.toml")).unwrap();
        let copy = fs::read_to_string(moved.join("scenario.toml")).unwrap();
        // Same settings and comments; only the paths changed.
        let strip = |t: &str| -> Vec<String> {
            // The [rules] files array (one path per line, or several) and [data] paths.
            let path_line = |l: &str| {
                l.contains(".rhai")
                    || l.starts_with("files = ")
                    || l.trim() == "]"
                    || l.starts_with("applicants = ")
                    || l.starts_with("labour_market = ")
            };
            t.lines()
                .filter(|l| !path_line(l))
                .map(String::from)
                .collect()
        };
        assert_eq!(strip(&copy), strip(&original), "{name}");
        assert_eq!(
            fs::read(moved.join("labour_market.csv")).unwrap(),
            fs::read(from.join("labour_market.csv")).unwrap()
        );
        // The template has the source's columns, and none of its applicants.
        let template = fs::read_to_string(moved.join("applicants.csv")).unwrap();
        let source = fs::read_to_string(from.join("applicants.csv")).unwrap();
        assert_eq!(
            template.lines().next(),
            source.lines().next(),
            "{name}: header"
        );
        assert_eq!(
            template.lines().count(),
            2,
            "{name}: header and one example"
        );
        for line in source.lines().skip(1) {
            let mut cells = line.split(',');
            let (id, person) = (cells.next().unwrap(), cells.next().unwrap());
            for f in ["applicants.csv", "README.md", "scenario.toml"] {
                let written = fs::read_to_string(moved.join(f)).unwrap();
                assert!(!written.contains(&format!("{id},")), "{name}: {id} in {f}");
                assert!(!written.contains(person), "{name}: a name in {f}");
            }
        }
    }
}

#[test]
fn init_from_a_scenario_with_a_workbook_labour_market_copies_the_workbook() {
    let tmp = tempfile::tempdir().unwrap();
    ok(tmp.path(), &["init", "a"]);
    let a = tmp.path().join("a");
    let mut book = rust_xlsxwriter::Workbook::new();
    let ws = book.add_worksheet();
    let market = fs::read_to_string(a.join("labour_market.csv")).unwrap();
    for (r, line) in market.lines().enumerate() {
        for (c, cell) in line.split(',').enumerate() {
            match cell.parse::<f64>() {
                Ok(x) if r > 0 => ws.write_number(r as u32, c as u16, x).unwrap(),
                _ => ws.write_string(r as u32, c as u16, cell).unwrap(),
            };
        }
    }
    book.save(a.join("market.xlsx")).unwrap();
    let toml = fs::read_to_string(a.join("scenario.toml"))
        .unwrap()
        .replace("\"labour_market.csv\"", "\"market.xlsx\"");
    fs::write(a.join("scenario.toml"), toml).unwrap();
    ok(tmp.path(), &["check", "a"]);
    ok(tmp.path(), &["init", "b", "--from", "a"]);
    let b = tmp.path().join("b");
    assert!(b.join("labour_market.xlsx").is_file());
    assert!(!b.join("labour_market.csv").exists());
    assert!(fs::read_to_string(b.join("scenario.toml"))
        .unwrap()
        .contains("labour_market = \"labour_market.xlsx\""));
    ok(tmp.path(), &["check", "b"]);
}

#[test]
fn init_refuses_a_folder_that_is_not_empty_and_the_scenario_it_copies() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("busy");
    fs::create_dir_all(&dir).unwrap();
    fs::write(dir.join("notes.txt"), "mine").unwrap();
    let out = idmaj(tmp.path(), &["init", "busy"]);
    no_panic(&out);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("busy is not empty"),
        "{}",
        text(&out.stderr)
    );
    assert!(
        !dir.join("scenario.toml").exists(),
        "wrote into a busy folder"
    );
    ok(tmp.path(), &["init", "busy", "--force"]);
    assert_eq!(fs::read_to_string(dir.join("notes.txt")).unwrap(), "mine");
    ok(tmp.path(), &["check", "busy"]);

    // --force onto the scenario being copied would destroy it: refused, nothing written.
    let before = fs::read(dir.join("scenario.toml")).unwrap();
    fs::write(
        dir.join("applicants.csv"),
        fs::read(repo().join("tests/fixtures/base/applicants.csv")).unwrap(),
    )
    .unwrap();
    fs::write(
        dir.join("labour_market.csv"),
        fs::read(repo().join("tests/fixtures/base/labour_market.csv")).unwrap(),
    )
    .unwrap();
    let out = idmaj(tmp.path(), &["init", "busy", "--from", "busy", "--force"]);
    no_panic(&out);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("is an input of the run"),
        "{}",
        text(&out.stderr)
    );
    assert_eq!(fs::read(dir.join("scenario.toml")).unwrap(), before);
    assert!(fs::read_to_string(dir.join("applicants.csv"))
        .unwrap()
        .contains("BASE-01"));
}
