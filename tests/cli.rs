//! The `idmaj` command line, run as a real binary in temporary folders: `check`, `score`,
//! `explain`, `generate`, usage errors, formula escaping, and the Excel-French CSV dialect
//! (same records and same scores as the plain dialect).

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use idmaj::Engine;

mod common;
use common::{copy_dir, idmaj, no_panic, repo, shipped_copy, text};

/// The small corpus base scenario (tests/fixtures/base) with the repo's rules.
fn base_copy(root: &Path) -> PathBuf {
    copy_dir(&repo().join("tests/fixtures/base"), root);
    copy_dir(&repo().join("rules"), &root.join("rules"));
    root.to_path_buf()
}

fn csv_rows(bytes: &[u8]) -> (Vec<String>, Vec<Vec<String>>) {
    let mut r = csv::Reader::from_reader(bytes);
    let header = r.headers().unwrap().iter().map(String::from).collect();
    let rows = r
        .records()
        .map(|x| x.unwrap().iter().map(String::from).collect())
        .collect();
    (header, rows)
}

fn input_ids(applicants: &Path) -> Vec<String> {
    let mut r = csv::Reader::from_path(applicants).unwrap();
    let i = r.headers().unwrap().iter().position(|h| h == "id").unwrap();
    r.records().map(|x| x.unwrap()[i].to_string()).collect()
}

/// `5,200,000`.
fn thousands(v: i64) -> String {
    let d = v.to_string();
    let mut out = String::new();
    for (i, c) in d.chars().enumerate() {
        if i > 0 && (d.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

const SCORE_HEADER: [&str; 6] = [
    "id",
    "eligible",
    "failed_checks",
    "reasons",
    "score",
    "options",
];

// ------------------------------------------------------------------------- check

#[test]
fn check_passes_both_shipped_scenarios_and_names_cities_and_budget() {
    for name in ["tangier-2016", "ramadan-2016"] {
        let tmp = tempfile::tempdir().unwrap();
        let dir = shipped_copy(tmp.path(), name);
        let out = idmaj(tmp.path(), &["check", dir.to_str().unwrap()]);
        no_panic(&out);
        let stdout = text(&out.stdout);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{name}: {}\n{stdout}",
            text(&out.stderr)
        );
        let market = fs::read_to_string(dir.join("labour_market.csv")).unwrap();
        let cities: std::collections::BTreeSet<&str> = market
            .lines()
            .skip(1)
            .filter_map(|l| l.split(',').next())
            .collect();
        assert!(!cities.is_empty());
        for c in &cities {
            assert!(
                stdout.contains(c),
                "{name}: summary lacks city {c}:\n{stdout}"
            );
        }
        let toml: toml::Table =
            toml::from_str(&fs::read_to_string(dir.join("scenario.toml")).unwrap()).unwrap();
        let total = toml["budget"]["total"].as_integer().unwrap();
        assert!(
            stdout.contains(&thousands(total)),
            "{name}: summary lacks the budget {}:\n{stdout}",
            thousands(total)
        );
        let rows = input_ids(&dir.join("applicants.csv")).len();
        assert!(
            stdout.contains(&format!("applicants {rows} read")),
            "{name}: {stdout}"
        );
    }
}

#[test]
fn check_accepts_the_scenario_file_itself() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = shipped_copy(tmp.path(), "tangier-2016");
    let file = dir.join("scenario.toml");
    let out = idmaj(tmp.path(), &["check", file.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
}

// ------------------------------------------------------------------------- score

#[test]
fn score_writes_one_row_per_applicant_in_input_order() {
    for name in ["tangier-2016", "ramadan-2016"] {
        let tmp = tempfile::tempdir().unwrap();
        let dir = shipped_copy(tmp.path(), name);
        let out = idmaj(
            tmp.path(),
            &["score", dir.to_str().unwrap(), "--out", "scores.csv"],
        );
        no_panic(&out);
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
        let bytes = fs::read(tmp.path().join("scores.csv")).unwrap();
        let (header, rows) = csv_rows(&bytes);
        assert_eq!(header, SCORE_HEADER);
        let ids: Vec<String> = rows.iter().map(|r| r[0].clone()).collect();
        assert_eq!(ids, input_ids(&dir.join("applicants.csv")), "{name}");
        for r in &rows {
            assert!(
                r[1] == "true" || r[1] == "false",
                "{name}: row {r:?} should be eligible true/false"
            );
            assert_eq!(r[1] == "true", r[2].is_empty(), "{name}: row {r:?}");
        }
    }
}

#[test]
fn score_to_stdout_matches_score_to_file() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = shipped_copy(tmp.path(), "tangier-2016");
    let d = dir.to_str().unwrap();
    let to_stdout = idmaj(tmp.path(), &["score", d]);
    assert_eq!(to_stdout.status.code(), Some(0));
    idmaj(tmp.path(), &["score", d, "--out", "f.csv"]);
    assert_eq!(
        to_stdout.stdout,
        fs::read(tmp.path().join("f.csv")).unwrap()
    );
}

#[test]
fn score_output_does_not_depend_on_the_thread_count() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = shipped_copy(tmp.path(), "ramadan-2016");
    let d = dir.to_str().unwrap();
    let one = idmaj(
        tmp.path(),
        &["score", d, "--threads", "1", "--out", "t1.csv"],
    );
    let two = idmaj(
        tmp.path(),
        &["--threads", "2", "score", d, "--out", "t2.csv"],
    );
    assert_eq!(one.status.code(), Some(0), "{}", text(&one.stderr));
    assert_eq!(two.status.code(), Some(0), "{}", text(&two.stderr));
    let a = fs::read(tmp.path().join("t1.csv")).unwrap();
    let b = fs::read(tmp.path().join("t2.csv")).unwrap();
    assert!(a.len() > 1000);
    assert!(a == b, "--threads 1 and --threads 2 wrote different bytes");
}

#[test]
fn score_writes_the_same_bytes_with_compiled_and_interpreted_rules() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = shipped_copy(tmp.path(), "ramadan-2016");
    let d = dir.to_str().unwrap();
    let mut outputs = Vec::new();
    for (engine, file) in [("compiled", "c.jsonl"), ("interpreted", "i.jsonl")] {
        let out = idmaj(tmp.path(), &["--engine", engine, "score", d, "--out", file]);
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
        assert!(!text(&out.stderr).contains("rules run interpreted"));
        outputs.push(fs::read(tmp.path().join(file)).unwrap());
    }
    assert!(outputs[0].len() > 1000);
    assert!(
        outputs[0] == outputs[1],
        "the engines wrote different bytes"
    );
}

#[test]
fn check_and_score_say_once_when_rules_run_interpreted() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = shipped_copy(tmp.path(), "tangier-2016");
    let rules = tmp.path().join("rules/score.rhai");
    let mut script = fs::read_to_string(&rules).unwrap();
    script.push_str("let bonus = 0;\nfor i in 0..2 { bonus += i; }\nadd_score(bonus, \"loop\");\n");
    let line = script.lines().count() - 1;
    fs::write(&rules, script).unwrap();
    let d = dir.to_str().unwrap();
    let want = format!("rules/score.rhai:{line} uses `for`");
    for args in [vec!["check", d], vec!["score", d, "--out", "s.csv"]] {
        let out = idmaj(tmp.path(), &args);
        no_panic(&out);
        let err = text(&out.stderr);
        assert_eq!(err.matches("rules run interpreted: ").count(), 1, "{err}");
        assert!(err.contains(&want), "{err}");
    }
}

// ------------------------------------------------------------------------- explain

#[test]
fn explain_shows_every_check_with_pass_or_fail() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = shipped_copy(tmp.path(), "tangier-2016");
    let d = dir.to_str().unwrap();
    // One eligible and one ineligible applicant, read from `score`.
    let scored = idmaj(tmp.path(), &["score", d]);
    let (_, rows) = csv_rows(&scored.stdout);
    let eligible = rows
        .iter()
        .find(|r| r[1] == "true")
        .expect("an eligible one");
    let ineligible = rows
        .iter()
        .find(|r| r[1] == "false")
        .expect("an ineligible one");
    let checks = [
        "training",
        "certificate",
        "pm_training",
        "plan",
        "consistency",
        "market",
        "released",
        "recent_release",
    ];
    for row in [eligible, ineligible] {
        let id = row[0].as_str();
        let out = idmaj(tmp.path(), &["explain", d, id]);
        no_panic(&out);
        let stdout = text(&out.stdout);
        assert_eq!(out.status.code(), Some(0), "{id}: {}", text(&out.stderr));
        assert!(stdout.contains(id), "{stdout}");
        for c in checks {
            let shown = stdout.lines().any(|l| {
                let mut w = l.split_whitespace();
                matches!(w.next(), Some("pass" | "FAIL")) && w.next() == Some(c)
            });
            assert!(shown, "{id}: check {c} not shown with pass/FAIL:\n{stdout}");
        }
        for failed in row[2].split('|').filter(|s| !s.is_empty()) {
            assert!(
                stdout
                    .lines()
                    .any(|l| l.trim_start().starts_with("FAIL") && l.contains(failed)),
                "{id}: failed check {failed} not shown as FAIL:\n{stdout}"
            );
        }
        let verdict = if row[1] == "true" {
            "ELIGIBLE"
        } else {
            "NOT ELIGIBLE"
        };
        assert!(stdout.lines().any(|l| l == verdict), "{stdout}");
    }
}

#[test]
fn explain_an_unknown_id_exits_2() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = shipped_copy(tmp.path(), "tangier-2016");
    let out = idmaj(tmp.path(), &["explain", dir.to_str().unwrap(), "TNG-999"]);
    no_panic(&out);
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(err.contains("TNG-999"), "{err}");
    assert!(err.contains("applicants.csv"), "{err}");
}

// ------------------------------------------------------------------------- generate

#[test]
fn generate_is_reproducible_and_its_scenario_passes_check() {
    let tmp = tempfile::tempdir().unwrap();
    let args = |out: &str| {
        vec![
            "generate".to_string(),
            "--applicants".into(),
            "2000".into(),
            "--seed".into(),
            "3".into(),
            "--out".into(),
            out.into(),
        ]
    };
    for out in ["a", "b"] {
        let a = args(out);
        let a: Vec<&str> = a.iter().map(String::as_str).collect();
        let o = idmaj(tmp.path(), &a);
        assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    }
    let mut names: Vec<_> = fs::read_dir(tmp.path().join("a"))
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    names.sort();
    assert!(names.iter().any(|n| n == "applicants.csv"), "{names:?}");
    let files = walk(&tmp.path().join("a"));
    assert_eq!(files, walk(&tmp.path().join("b")));
    for f in &files {
        let a = fs::read(tmp.path().join("a").join(f)).unwrap();
        let b = fs::read(tmp.path().join("b").join(f)).unwrap();
        assert!(a == b, "{} differs between two runs", f.display());
    }
    assert_eq!(input_ids(&tmp.path().join("a/applicants.csv")).len(), 2000);
    let out = idmaj(tmp.path(), &["check", "a"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}\n{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    assert!(text(&out.stdout).contains("applicants 2000 read"));
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push(p.strip_prefix(dir).unwrap().to_path_buf());
            }
        }
    }
    out.sort();
    out
}

// ------------------------------------------------------------------------- formulas

#[test]
fn score_escapes_cells_a_spreadsheet_would_run_as_formulas() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = base_copy(tmp.path());
    let path = dir.join("applicants.csv");
    let csv = fs::read_to_string(&path)
        .unwrap()
        .replacen("BASE-01,", "=1+2,", 1)
        .replacen(",Tanger local", ",=HYPERLINK(\"http://evil.example\")", 1)
        .replacen("BASE-03,", "@SUM(A1),", 1)
        // A bad row: its id is still written, escaped.
        .replacen("BASE-05,Rachid Tazi,M,", "-2+3,Rachid Tazi,Q,", 1);
    fs::write(&path, csv).unwrap();
    let out = idmaj(tmp.path(), &["score", ".", "--out", "s.csv"]);
    no_panic(&out);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    let (_, rows) = csv_rows(&fs::read(tmp.path().join("s.csv")).unwrap());
    let ids: Vec<&str> = rows.iter().map(|r| r[0].as_str()).collect();
    assert_eq!(ids, ["'=1+2", "BASE-02", "'@SUM(A1)", "BASE-04", "'-2+3"]);
    assert_eq!(rows[4][1], "error");
    for r in &rows {
        for cell in r {
            assert!(
                !cell.starts_with(['=', '+', '-', '@']),
                "unescaped formula cell {cell:?} in {r:?}"
            );
        }
    }
}

/// A bad row's output names it by its id cell; with `id` not the first column, the row
/// must still show the id, never another cell (such as the name: personal data).
#[test]
fn score_names_a_bad_row_by_its_id_column_when_id_is_not_first() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = base_copy(tmp.path());
    let path = dir.join("applicants.csv");
    // Swap the first two columns: name,id,...
    let swapped: String = fs::read_to_string(&path)
        .unwrap()
        .lines()
        .map(|l| {
            let (a, rest) = l.split_once(',').unwrap();
            let (b, rest) = rest.split_once(',').unwrap();
            format!("{b},{a},{rest}\n")
        })
        .collect();
    let swapped = swapped.replacen(
        "Khadija Ouazzani,BASE-02,F,",
        "Khadija Ouazzani,BASE-02,W,",
        1,
    );
    fs::write(&path, swapped).unwrap();
    let out = idmaj(tmp.path(), &["score", ".", "--out", "s.csv"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    let written = fs::read_to_string(tmp.path().join("s.csv")).unwrap();
    let (_, rows) = csv_rows(written.as_bytes());
    let ids: Vec<&str> = rows.iter().map(|r| r[0].as_str()).collect();
    assert_eq!(ids, ["BASE-01", "BASE-02", "BASE-03", "BASE-04", "BASE-05"]);
    assert!(
        !written.contains("Khadija"),
        "a name in the output:\n{written}"
    );
}

// ------------------------------------------------------------------------- usage

#[test]
fn usage_errors_exit_2() {
    let tmp = tempfile::tempdir().unwrap();
    for args in [
        vec!["frobnicate"],
        vec!["check"],
        vec!["explain", "scenarios/none"],
        vec!["score", "--out"],
        vec![],
    ] {
        let out = idmaj(tmp.path(), &args);
        no_panic(&out);
        assert_eq!(out.status.code(), Some(2), "idmaj {args:?}");
        assert!(!out.stderr.is_empty(), "idmaj {args:?} said nothing");
    }
}

#[test]
fn a_missing_scenario_exits_2_naming_the_file() {
    let tmp = tempfile::tempdir().unwrap();
    let out = idmaj(tmp.path(), &["check", "nowhere/scenario.toml"]);
    no_panic(&out);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("nowhere/scenario.toml"));
}

// ------------------------------------------------------------------------- dialects

/// Fractional numbers added to both versions, by row index: (column, value).
const FRACTIONS: [(usize, &str, &str); 4] = [
    (0, "training_hours", "360.5"),
    (1, "experience_years", "1.5"),
    (2, "experience_years", "2.25"),
    (5, "training_hours", "127.75"),
];

/// The Tangier applicants with a few fractional numbers, as (header, rows).
fn tangier_with_fractions() -> (Vec<String>, Vec<Vec<String>>) {
    let bytes = fs::read(repo().join("scenarios/tangier-2016/applicants.csv")).unwrap();
    let (header, mut rows) = csv_rows(&bytes);
    for (row, col, value) in FRACTIONS {
        let c = header.iter().position(|h| h == col).unwrap();
        rows[row][c] = value.to_string();
    }
    (header, rows)
}

fn plain_csv(header: &[String], rows: &[Vec<String>]) -> Vec<u8> {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(header).unwrap();
    for r in rows {
        w.write_record(r).unwrap();
    }
    w.into_inner().unwrap()
}

/// The same data as Excel in a French locale saves it: BOM, `;`, CRLF, decimal commas,
/// oui/non, and one date as DD/MM/YYYY.
fn excel_french_csv(header: &[String], rows: &[Vec<String>]) -> Vec<u8> {
    let col = |n: &str| header.iter().position(|h| h == n).unwrap();
    let numeric = [
        col("training_hours"),
        col("plan_cost"),
        col("experience_years"),
    ];
    let flags = [
        col("training_certified"),
        col("pm_training"),
        col("plan_approved"),
    ];
    let date = col("release_date");
    let mut out = b"\xEF\xBB\xBF".to_vec();
    out.extend(header.join(";").as_bytes());
    out.extend(b"\r\n");
    for (i, r) in rows.iter().enumerate() {
        let cells: Vec<String> = r
            .iter()
            .enumerate()
            .map(|(c, v)| {
                assert!(!v.contains(';') && !v.contains('"'), "{v}");
                if numeric.contains(&c) {
                    v.replace('.', ",")
                } else if flags.contains(&c) {
                    match v.as_str() {
                        "true" => "oui".into(),
                        "false" => "non".into(),
                        other => panic!("flag {other}"),
                    }
                } else if c == date && i == 3 {
                    let (y, rest) = v.split_once('-').unwrap();
                    let (m, d) = rest.split_once('-').unwrap();
                    format!("{d}/{m}/{y}")
                } else {
                    v.clone()
                }
            })
            .collect();
        out.extend(cells.join(";").as_bytes());
        out.extend(b"\r\n");
    }
    out
}

#[test]
fn excel_french_dialect_reads_as_the_same_applicants_and_scores() {
    let (header, rows) = tangier_with_fractions();
    let plain = plain_csv(&header, &rows);
    let french = excel_french_csv(&header, &rows);
    assert!(french.windows(4).any(|w| w == b"60,5"), "a decimal comma");
    assert!(french.windows(2).any(|w| w == b"\r\n"));

    let tmp_plain = tempfile::tempdir().unwrap();
    let tmp_french = tempfile::tempdir().unwrap();
    let dir_plain = shipped_copy(tmp_plain.path(), "tangier-2016");
    let dir_french = shipped_copy(tmp_french.path(), "tangier-2016");
    fs::write(dir_plain.join("applicants.csv"), &plain).unwrap();
    fs::write(dir_french.join("applicants.csv"), &french).unwrap();

    let load = |dir: &Path| common::rows(dir);
    let a = load(&dir_plain);
    let b = load(&dir_french);
    assert_eq!(a.len(), rows.len());
    assert_eq!(a.len(), b.len());
    for (x, y) in a.iter().zip(&b) {
        assert_eq!(x, y, "applicant {} differs between the dialects", x.id);
    }
    // The fractions really arrived as fractions in both.
    assert_eq!(a[0].training_hours, 360.5);
    assert_eq!(b[2].experience_years, 2.25);
    assert_eq!(b[5].training_hours, 127.75);

    let score = |root: &Path, dir: &Path| {
        let out = idmaj(root, &["score", dir.to_str().unwrap(), "--out", "s.csv"]);
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
        fs::read(root.join("s.csv")).unwrap()
    };
    let sa = score(tmp_plain.path(), &dir_plain);
    let sb = score(tmp_french.path(), &dir_french);
    assert!(sa == sb, "score output differs between the dialects");
    assert_eq!(csv_rows(&sa).1.len(), rows.len());
}

#[test]
fn tab_separated_applicants_read_like_the_plain_ones() {
    let (header, rows) = tangier_with_fractions();
    let tmp_plain = tempfile::tempdir().unwrap();
    let tmp_tab = tempfile::tempdir().unwrap();
    let dir_plain = shipped_copy(tmp_plain.path(), "tangier-2016");
    let dir_tab = shipped_copy(tmp_tab.path(), "tangier-2016");
    fs::write(dir_plain.join("applicants.csv"), plain_csv(&header, &rows)).unwrap();
    let mut tab = header.join("\t");
    tab.push('\n');
    for r in &rows {
        tab.push_str(&r.join("\t"));
        tab.push('\n');
    }
    fs::write(dir_tab.join("applicants.csv"), tab).unwrap();
    let load = |dir: &Path| Engine::load(dir).unwrap().applicants().unwrap();
    assert_eq!(load(&dir_plain), load(&dir_tab));
}

/// Pins: with CRLF line ends (Excel's), every row was read with its line number one too
/// small, so messages and `explain` pointed at the row above.
#[test]
fn crlf_rows_keep_their_line_numbers() {
    let (header, rows) = tangier_with_fractions();
    let tmp = tempfile::tempdir().unwrap();
    let dir = shipped_copy(tmp.path(), "tangier-2016");
    fs::write(dir.join("applicants.csv"), excel_french_csv(&header, &rows)).unwrap();
    let a = Engine::load(&dir).unwrap().assess_scenario().unwrap();
    let lines: Vec<u64> = a.iter().map(|x| x.line).collect();
    let want: Vec<u64> = (2..2 + rows.len() as u64).collect();
    assert_eq!(lines, want);
}

/// Pins: `idmaj explain ... | head -1` panicked ("failed printing to stdout: Broken
/// pipe") instead of stopping quietly.
#[test]
fn a_closed_stdout_is_not_a_panic() {
    use std::process::Stdio;
    let tmp = tempfile::tempdir().unwrap();
    let dir = shipped_copy(tmp.path(), "ramadan-2016");
    let d = dir.to_str().unwrap();
    let first = input_ids(&dir.join("applicants.csv")).remove(0);
    for args in [vec!["check", d], vec!["explain", d, first.as_str()]] {
        let mut child = Command::new(env!("CARGO_BIN_EXE_idmaj"))
            .args(&args)
            .current_dir(tmp.path())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        drop(child.stdout.take()); // the reader goes away, like `| head -0`
        let out = child.wait_with_output().unwrap();
        let err = text(&out.stderr);
        assert!(!err.contains("panicked"), "idmaj {args:?}: {err}");
        assert_eq!(out.status.code(), Some(0), "idmaj {args:?}: {err}");
    }
}
