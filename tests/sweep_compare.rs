//! `idmaj sweep`, `idmaj compare` and `idmaj allocate --set`, run as the real binary in
//! temporary folders: argument errors name the argument, budget frontiers behave, output
//! bytes do not depend on the thread count, comparisons give each changed applicant its
//! reason, and a what-if allocation says what it changed.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Output;

mod common;
use common::{copy_dir, idmaj, no_panic, repo, shipped_copy, text};

fn ok(out: &Output) -> String {
    no_panic(out);
    assert_eq!(
        out.status.code(),
        Some(0),
        "stderr: {}\nstdout: {}",
        text(&out.stderr),
        text(&out.stdout)
    );
    text(&out.stdout)
}

fn tangier_variant(root: &Path, name: &str, edit: impl Fn(String) -> String) -> PathBuf {
    copy_dir(&repo().join("rules"), &root.join("rules"));
    let dir = root.join("scenarios").join(name);
    copy_dir(&repo().join("scenarios/tangier-2016"), &dir);
    let toml = dir.join("scenario.toml");
    let before = fs::read_to_string(&toml).unwrap();
    let after = edit(before.clone());
    assert_ne!(before, after, "the edit changed nothing");
    fs::write(&toml, after).unwrap();
    dir
}

fn csv_rows(path: &Path) -> (Vec<String>, Vec<Vec<String>>) {
    let mut r = csv::Reader::from_path(path).unwrap();
    let header = r.headers().unwrap().iter().map(String::from).collect();
    let rows = r
        .records()
        .map(|x| x.unwrap().iter().map(String::from).collect())
        .collect();
    (header, rows)
}

/// Sweeps a copy of tangier-2016 with `what` into `s.csv`: the folder, the run, and the
/// CSV's header and rows (empty when the run wrote none).
type SweptCsv = (tempfile::TempDir, Output, Vec<String>, Vec<Vec<String>>);

fn sweep_tangier(what: &[&str]) -> SweptCsv {
    sweep_tangier_edited(|_| {}, what)
}

/// [`sweep_tangier`] after `edit` has changed the copy (given its folder).
fn sweep_tangier_edited(edit: impl FnOnce(&Path), what: &[&str]) -> SweptCsv {
    let tmp = tempfile::tempdir().unwrap();
    let dir = shipped_copy(tmp.path(), "tangier-2016");
    edit(&dir);
    let mut args = vec!["sweep", dir.to_str().unwrap()];
    args.extend(what);
    args.extend(["--out", "s.csv"]);
    let out = idmaj(tmp.path(), &args);
    let csv = tmp.path().join("s.csv");
    let (header, rows) = if csv.exists() {
        csv_rows(&csv)
    } else {
        (Vec::new(), Vec::new())
    };
    (tmp, out, header, rows)
}

fn col(header: &[String], name: &str) -> usize {
    header
        .iter()
        .position(|h| h == name)
        .unwrap_or_else(|| panic!("no column {name} in {header:?}"))
}

// ------------------------------------------------------------------------- sweep

#[test]
fn sweep_argument_errors_exit_2_naming_the_argument() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = shipped_copy(tmp.path(), "tangier-2016");
    let d = dir.to_str().unwrap();
    let cases: &[(&[&str], &[&str])] = &[
        (
            &["--budget", "100000-300000:5"],
            &["--budget", "A..B:STEPS"],
        ),
        (&["--budget", "100000..300000"], &["--budget", "A..B:STEPS"]),
        (&["--budget", "1e5..300000:5"], &["--budget", "1e5"]),
        (&["--budget", "100000..300000:x"], &["--budget", "STEPS"]),
        (
            &["--budget", "100000..300000:1"],
            &["--budget", "STEPS must be at least 2"],
        ),
        (
            &["--budget", "300000..100000:3"],
            &["--budget", "A must be less than B"],
        ),
        (
            &["--set", "params.min_training_hours="],
            &["--set", "no values"],
        ),
        (
            &["--set", "params.min_training_hours=1,,2"],
            &["--set", "empty"],
        ),
        (
            &["--set", "params.min_training_hours"],
            &["--set", "KEY=V1,V2"],
        ),
        (
            &["--set", "params.min_trainig_hours=100,150"],
            &[
                "params.min_trainig_hours",
                "did you mean `min_training_hours`",
            ],
        ),
        (
            &["--set", "quota.men.min_share=0,0.2"],
            &["quota.men.min_share"],
        ),
        (&["--set", "budget.totl=1,2"], &["budget.totl"]),
        (
            &["--set", "budget.total=1,2", "--budget", "1..3:2"],
            &["budget.total", "more than once"],
        ),
        (
            &["--budget", "100000..300000:3", "--out", "sweep.txt"],
            &["--out", "sweep.txt", ".csv or .json"],
        ),
        (&[], &["nothing to sweep"]),
    ];
    for (args, wanted) in cases {
        let mut all = vec!["sweep", d];
        all.extend_from_slice(args);
        let out = idmaj(tmp.path(), &all);
        no_panic(&out);
        let err = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        for w in *wanted {
            assert!(err.contains(w), "{args:?}: stderr lacks `{w}`:\n{err}");
        }
        assert!(out.stdout.is_empty(), "{args:?}: {}", text(&out.stdout));
    }
    // A bad value (not a bad key) is that point's row, naming the key; the others run.
    let out = idmaj(
        tmp.path(),
        &[
            "sweep",
            d,
            "--set",
            "quota.women.min_share=0.2,7",
            "--out",
            "points.csv",
        ],
    );
    no_panic(&out);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains("error: --set quota.women.min_share") && stdout.contains("optimal"),
        "{stdout}"
    );
    let csv = std::fs::read_to_string(tmp.path().join("points.csv")).unwrap();
    let rows: Vec<&str> = csv.lines().collect();
    assert!(rows[0].ends_with(",error"), "{}", rows[0]);
    assert!(rows[1].ends_with(','), "the 0.2 point ran: {}", rows[1]);
    assert!(rows[2].contains("min_share"), "{}", rows[2]);
}

#[test]
fn budget_sweep_serves_more_with_more_money_and_never_overspends() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = shipped_copy(tmp.path(), "tangier-2016");
    let out = idmaj(
        tmp.path(),
        &[
            "sweep",
            dir.to_str().unwrap(),
            "--budget",
            "60000..300000:7",
            "--out",
            "sweep.csv",
        ],
    );
    let stdout = ok(&out);
    assert!(stdout.contains("budget.total"), "{stdout}");
    assert!(stdout.contains("served per city"), "{stdout}");
    let (header, rows) = csv_rows(&tmp.path().join("sweep.csv"));
    assert_eq!(rows.len(), 7);
    let (b, served, spent, eligible) = (
        col(&header, "budget.total"),
        col(&header, "served"),
        col(&header, "spent"),
        col(&header, "eligible"),
    );
    let city = col(&header, "served.Tangier");
    let mut last_served = 0;
    let budgets: Vec<i64> = rows.iter().map(|r| r[b].parse().unwrap()).collect();
    assert_eq!(budgets.first(), Some(&60_000));
    assert_eq!(budgets.last(), Some(&300_000));
    for r in &rows {
        let budget: i64 = r[b].parse().unwrap();
        let s: u64 = r[served].parse().unwrap();
        let m: i64 = r[spent].parse().unwrap();
        assert!(m <= budget, "spent {m} over budget {budget}");
        assert!(s >= last_served, "served fell to {s} at {budget}");
        assert_eq!(r[eligible], "24");
        assert_eq!(r[city].parse::<u64>().unwrap(), s);
        last_served = s;
    }
    assert!(last_served > 0);
}

#[test]
fn sweep_output_does_not_depend_on_the_thread_count() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = shipped_copy(tmp.path(), "tangier-2016");
    let run = |threads: &str, file: &str| {
        let out = idmaj(
            tmp.path(),
            &[
                "sweep",
                dir.to_str().unwrap(),
                "--threads",
                threads,
                "--budget",
                "100000..300000:5",
                "--set",
                "params.min_training_hours=100,150",
                "--set",
                "quota.women.min_share=0,0.3",
                "--out",
                file,
            ],
        );
        (ok(&out), fs::read(tmp.path().join(file)).unwrap())
    };
    let (out1, json1) = run("1", "one.json");
    let (out2, json2) = run("2", "two.json");
    assert_eq!(out1.replace("one.json", "x"), out2.replace("two.json", "x"));
    assert_eq!(json1, json2);
    let (_, csv1) = run("1", "one.csv");
    let (_, csv2) = run("2", "two.csv");
    assert_eq!(csv1, csv2);
}

#[test]
fn csv_and_json_have_one_row_per_point_in_grid_order() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = shipped_copy(tmp.path(), "tangier-2016");
    let d = dir.to_str().unwrap();
    let args = [
        "sweep",
        d,
        "--set",
        "quota.women.min_share=0,0.25",
        "--budget",
        "150000..250000:3",
        "--set",
        "budget.cities.Tangier=200000",
    ];
    let mut with_csv = args.to_vec();
    with_csv.extend(["--out", "s.csv"]);
    ok(&idmaj(tmp.path(), &with_csv));
    let mut with_json = args.to_vec();
    with_json.extend(["--out", "s.json"]);
    ok(&idmaj(tmp.path(), &with_json));

    let (header, rows) = csv_rows(&tmp.path().join("s.csv"));
    assert_eq!(rows.len(), 6);
    assert_eq!(
        &header[..3],
        [
            "quota.women.min_share",
            "budget.cities.Tangier",
            "budget.total"
        ]
    );
    let order: Vec<(String, String)> = rows.iter().map(|r| (r[0].clone(), r[2].clone())).collect();
    let want: Vec<(String, String)> = [
        ("0", "150000"),
        ("0", "200000"),
        ("0", "250000"),
        ("0.25", "150000"),
        ("0.25", "200000"),
        ("0.25", "250000"),
    ]
    .iter()
    .map(|(a, b)| (a.to_string(), b.to_string()))
    .collect();
    assert_eq!(order, want);

    let json: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(tmp.path().join("s.json")).unwrap()).unwrap();
    let points = json["points"].as_array().unwrap();
    assert_eq!(points.len(), 6);
    let served = col(&header, "served");
    let spent = col(&header, "spent");
    for (p, r) in points.iter().zip(&rows) {
        assert_eq!(p["served"].as_u64().unwrap().to_string(), r[served]);
        assert_eq!(p["spent"].as_i64().unwrap().to_string(), r[spent]);
        assert_eq!(
            p["settings"]["budget.total"].as_i64().unwrap().to_string(),
            r[2]
        );
        assert!(p["served_by_city"]["Tangier"].as_u64().is_some());
        // The city cap holds at every point.
        assert!(p["spent"].as_i64().unwrap() <= 200_000);
        assert!(p["infeasible"].is_null());
    }
}

#[test]
fn an_infeasible_point_is_a_row_with_its_reason() {
    let (_tmp, out, header, rows) = sweep_tangier(&["--set", "quota.women.min_count=0,40"]);
    let stdout = ok(&out);
    assert!(stdout.contains("infeasible"), "{stdout}");
    assert_eq!(rows.len(), 2);
    let inf = col(&header, "infeasible");
    assert_eq!(rows[0][inf], "");
    assert!(rows[1][inf].contains("women"), "{:?}", rows[1]);
}

#[test]
fn a_bad_applicant_row_stops_the_sweep_with_exit_2_naming_file_line_and_column() {
    let bad_gender_on_line_3 = |dir: &Path| {
        let csv = dir.join("applicants.csv");
        let text_before = fs::read_to_string(&csv).unwrap();
        let mut lines: Vec<String> = text_before.lines().map(String::from).collect();
        let mut cells: Vec<String> = lines[2].split(',').map(String::from).collect();
        cells[2] = "X".into(); // gender
        lines[2] = cells.join(",");
        fs::write(&csv, lines.join("\n") + "\n").unwrap();
    };
    let (tmp, out, _, _) = sweep_tangier_edited(
        bad_gender_on_line_3,
        &["--set", "params.min_training_hours=100,150"],
    );
    no_panic(&out);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stdout));
    let err = text(&out.stderr);
    assert!(
        err.contains("applicants.csv:3") && err.contains("column gender"),
        "{err}"
    );
    assert!(!tmp.path().join("s.csv").exists(), "nothing written");
}

#[test]
fn a_point_whose_rules_fail_is_a_row_with_the_rule_error_and_the_others_are_solved() {
    // Text where the training rule compares hours with a number: every applicant's
    // assessment fails at the same place, so that point cannot be allocated.
    let (_tmp, out, header, rows) =
        sweep_tangier(&["--set", "params.min_training_hours=100,\"many\",150"]);
    let stdout = ok(&out);
    assert!(stdout.contains("optimal"), "{stdout}");
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("3 points: applicants scored 3 times, 2 allocations solved"),
        "{stderr}"
    );
    assert_eq!(rows.len(), 3);
    let (error, eligible, served) = (
        col(&header, "error"),
        col(&header, "eligible"),
        col(&header, "served"),
    );
    assert!(
        rows[1][error].contains("rules/training.rhai:") && rows[1][error].contains("TNG-"),
        "{:?}",
        rows[1]
    );
    assert_eq!(rows[1][served], "0");
    for r in [&rows[0], &rows[2]] {
        assert_eq!(r[error], "", "{r:?}");
        assert!(r[served].parse::<u32>().unwrap() > 0, "{r:?}");
    }
    // The threshold is applied: fewer eligible at 150 hours than at 100.
    let n = |r: &Vec<String>| r[eligible].parse::<u32>().unwrap();
    assert!(n(&rows[2]) < n(&rows[0]), "{rows:?}");
}

// ------------------------------------------------------------------------- compare

#[test]
fn compare_a_scenario_with_itself_finds_no_change() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = shipped_copy(tmp.path(), "tangier-2016");
    let d = dir.to_str().unwrap();
    let stdout = ok(&idmaj(tmp.path(), &["compare", d, d, "--out", "c.csv"]));
    assert!(stdout.contains("no applicant changes outcome"), "{stdout}");
    assert!(stdout.contains("served"), "{stdout}");
    let (header, rows) = csv_rows(&tmp.path().join("c.csv"));
    assert_eq!(
        header,
        [
            "id",
            "before_option",
            "before_amount",
            "after_option",
            "after_amount",
            "change",
            "reason_before",
            "reason_after"
        ]
    );
    assert!(rows.is_empty(), "{rows:?}");
}

#[test]
fn a_higher_training_threshold_lists_who_lost_eligibility_and_why() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = shipped_copy(tmp.path(), "tangier-2016");
    let stdout = ok(&idmaj(
        tmp.path(),
        &[
            "compare",
            dir.to_str().unwrap(),
            "--set",
            "params.min_training_hours=250",
            "--out",
            "c.csv",
        ],
    ));
    assert!(stdout.contains("min_training_hours=250"), "{stdout}");
    let (header, rows) = csv_rows(&tmp.path().join("c.csv"));
    assert!(!rows.is_empty());
    let (change, before, after) = (
        col(&header, "change"),
        col(&header, "reason_before"),
        col(&header, "reason_after"),
    );
    assert!(
        rows.iter().any(|r| r[change] == "no_longer_funded"),
        "{rows:?}"
    );
    assert!(
        rows.iter().any(|r| r[after].starts_with("not eligible: ")),
        "{rows:?}"
    );
    for r in &rows {
        // A stricter threshold takes eligibility away (with the training check as the
        // reason); those still eligible may only get another option of equal score, as
        // the money freed up allows.
        if r[change] == "option_changed" || r[change] == "amount_changed" {
            assert!(r[after].starts_with("funded: "), "{r:?}");
            continue;
        }
        assert!(r[after].starts_with("not eligible: "), "{r:?}");
        assert!(r[after].contains("training ("), "{r:?}");
        assert!(!r[before].starts_with("not eligible"), "{r:?}");
        if r[change] == "no_longer_funded" {
            assert!(r[before].starts_with("funded: "), "{r:?}");
            assert_eq!(r[col(&header, "after_option")], "none");
            assert_eq!(r[col(&header, "after_amount")], "0");
        }
        assert!(stdout.contains(&r[0]), "{} not listed:\n{stdout}", r[0]);
    }
}

#[test]
fn a_lower_budget_lists_newly_unfunded_applicants_with_the_budget_as_reason() {
    let tmp = tempfile::tempdir().unwrap();
    let a = shipped_copy(tmp.path(), "tangier-2016");
    let b = tangier_variant(tmp.path(), "tangier-low", |t| {
        t.replace("total = 262_519", "total = 180_000")
    });
    let stdout = ok(&idmaj(
        tmp.path(),
        &[
            "compare",
            a.to_str().unwrap(),
            b.to_str().unwrap(),
            "--out",
            "c.csv",
        ],
    ));
    assert!(stdout.contains("180,000"), "{stdout}");
    let (header, rows) = csv_rows(&tmp.path().join("c.csv"));
    let (change, after) = (col(&header, "change"), col(&header, "reason_after"));
    let unfunded: Vec<_> = rows
        .iter()
        .filter(|r| r[change] == "no_longer_funded")
        .collect();
    assert!(!unfunded.is_empty(), "{rows:?}");
    for r in unfunded {
        assert!(r[after].starts_with("not funded"), "{r:?}");
        assert!(r[after].contains("budget"), "{r:?}");
    }
}

#[test]
fn compare_says_when_the_applicants_differ_and_compares_the_common_ones() {
    let tmp = tempfile::tempdir().unwrap();
    let a = shipped_copy(tmp.path(), "tangier-2016");
    let b = tangier_variant(tmp.path(), "tangier-fewer", |t| {
        t.replace("total = 262_519", "total = 262_520")
    });
    let csv = b.join("applicants.csv");
    let lines: Vec<String> = fs::read_to_string(&csv)
        .unwrap()
        .lines()
        .map(String::from)
        .collect();
    // Drop the last two applicants.
    fs::write(&csv, lines[..lines.len() - 2].join("\n") + "\n").unwrap();
    let stdout = ok(&idmaj(
        tmp.path(),
        &["compare", a.to_str().unwrap(), b.to_str().unwrap()],
    ));
    assert!(
        stdout.contains("the applicants differ: 42 ids in both, 2 only in A, 0 only in B"),
        "{stdout}"
    );
}

#[test]
fn compare_with_an_unknown_key_exits_2_naming_it() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = shipped_copy(tmp.path(), "tangier-2016");
    let out = idmaj(
        tmp.path(),
        &[
            "compare",
            dir.to_str().unwrap(),
            "--set",
            "params.min_trainig_hours=150",
        ],
    );
    no_panic(&out);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("params.min_trainig_hours"));
}

#[test]
fn budgets_above_the_funders_total_share_one_solve() {
    // tangier-2016's funders hold 262,519 MAD: 300,000 and 400,000 allow the same spending.
    let (_tmp, out, header, rows) = sweep_tangier(&["--budget", "100000..400000:4"]);
    ok(&out);
    let err = text(&out.stderr);
    assert!(err.contains("scored 1 time, 3 allocations solved"), "{err}");
    assert_eq!(rows.len(), 4);
    let b = col(&header, "budget.total");
    assert_eq!(rows[2][b], "300000");
    assert_eq!(rows[3][b], "400000");
    let served = col(&header, "served");
    assert_eq!(rows[2][served..], rows[3][served..]);
}

#[test]
fn sweep_report_draws_the_frontier_for_every_feasible_point() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = shipped_copy(tmp.path(), "tangier-2016");
    let page = tmp.path().join("frontier.html");
    let out = idmaj(
        tmp.path(),
        &[
            "sweep",
            dir.to_str().unwrap(),
            "--budget",
            "100000..300000:5",
            "--report",
            page.to_str().unwrap(),
        ],
    );
    ok(&out);
    let html = fs::read_to_string(&page).unwrap();
    assert!(html.contains("id=\"chart-frontier\""), "no frontier chart");
    for budget in ["100,000", "150,000", "200,000", "250,000", "300,000"] {
        assert!(
            html.contains(budget),
            "the page lacks the point at {budget}"
        );
    }
    assert!(
        !html.contains("http://") && !html.contains("https://"),
        "the page fetches something"
    );
}

#[test]
fn allocate_with_set_runs_the_what_if_and_says_so_in_every_output() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = shipped_copy(tmp.path(), "tangier-2016");
    let allocate = |out: &str, set: &[&str]| {
        let mut args = vec!["allocate", dir.to_str().unwrap(), "--out", out];
        args.extend(set);
        ok(&idmaj(tmp.path(), &args))
    };
    let summary = |out: &str| -> serde_json::Value {
        serde_json::from_str(
            &fs::read_to_string(tmp.path().join(out).join("summary.json")).unwrap(),
        )
        .unwrap()
    };
    let stdout = allocate("what-if", &["--set", "budget.total=150000"]);
    assert!(
        stdout.contains("what-if    budget.total=150000"),
        "{stdout}"
    );
    let what_if = summary("what-if");
    assert_eq!(what_if["budget_total"], 150_000);
    assert!(what_if["spent"].as_i64().unwrap() <= 150_000, "{what_if}");
    assert_eq!(
        what_if["overrides"],
        serde_json::json!(["budget.total=150000"])
    );
    let md = fs::read_to_string(tmp.path().join("what-if/summary.md")).unwrap();
    assert!(md.contains("`--set budget.total=150000`"), "{md}");
    let html = fs::read_to_string(tmp.path().join("what-if/report.html")).unwrap();
    assert!(html.contains("what-if: budget.total=150000"));
    // The scenario as written spends more: the override, not the file, set the budget.
    allocate("plain", &[]);
    let plain = summary("plain");
    assert!(plain.get("overrides").is_none(), "{plain}");
    assert!(plain["spent"].as_i64().unwrap() > 150_000, "{plain}");
}

#[test]
fn allocate_with_an_unknown_key_exits_2_naming_it_and_writes_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = shipped_copy(tmp.path(), "tangier-2016");
    let run = idmaj(
        tmp.path(),
        &[
            "allocate",
            dir.to_str().unwrap(),
            "--set",
            "budget.totl=150000",
            "--out",
            "out",
        ],
    );
    no_panic(&run);
    assert_eq!(run.status.code(), Some(2));
    let err = text(&run.stderr);
    assert!(err.contains("budget.totl"), "{err}");
    assert!(err.contains("did you mean `budget.total`"), "{err}");
    assert!(!tmp.path().join("out").exists());
}
