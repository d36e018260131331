//! Rule scripts cannot make silent mistakes or escape the sandbox: a misspelt name, a
//! syntax error, an endless loop, an unknown kit, a type mismatch or a non-boolean check is
//! an error naming `file:line:col`; nothing reads files, imports, evals or sleeps; a rule
//! error in one applicant marks only that row.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use idmaj::{Applicant, Assessment, Engine, Sources, Status};

const FILE: &str = "probe.rhai";

fn tangier_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/tangier-2016")
}

fn tangier() -> Engine {
    Engine::load(tangier_dir()).unwrap_or_else(|e| panic!("{e}"))
}

fn applicant(id: &str) -> Applicant {
    tangier()
        .applicants()
        .unwrap_or_else(|e| panic!("{e}"))
        .into_iter()
        .find(|a| a.id() == Some(id))
        .unwrap_or_else(|| panic!("no applicant {id}"))
}

/// The Tangier scenario, in memory, with `files` as its rule files (in order).
fn tangier_with(files: &[(&str, &str)]) -> idmaj::Result<Engine> {
    let read = |f: &str| std::fs::read_to_string(tangier_dir().join(f)).unwrap();
    let toml = read("scenario.toml");
    let (start, end) = (
        toml.find("[rules]").unwrap(),
        toml.find("[params]").unwrap(),
    );
    let names: Vec<String> = files.iter().map(|(n, _)| format!("\"{n}\"")).collect();
    let toml = format!(
        "{}[rules]\nfiles = [{}]\n\n{}",
        &toml[..start],
        names.join(", "),
        &toml[end..]
    );
    Engine::from_sources(Sources {
        scenario_toml: toml,
        labour_market_csv: read("labour_market.csv"),
        rules: files
            .iter()
            .map(|(n, t)| (n.to_string(), t.to_string()))
            .collect(),
        applicants_csv: Some(read("applicants.csv")),
    })
}

/// The Tangier scenario with `script` as its only rule file, given as text.
fn rules(script: &str) -> idmaj::Result<Engine> {
    tangier_with(&[(FILE, script)])
}

/// `script` assessed for Tangier applicant `id` (the rules must load).
fn assess(script: &str, id: &str) -> Assessment {
    rules(script)
        .unwrap_or_else(|e| panic!("rules should load: {e}"))
        .assess(&applicant(id))
        .unwrap_or_else(|e| panic!("{e}"))
}

/// The rule error of `script` for TNG-001 (load time or run time); panics if it succeeds.
fn refused(script: &str) -> String {
    match rules(script) {
        Err(e) => e.to_string(),
        Ok(engine) => match engine.assess(&applicant("TNG-001")) {
            Err(e) => e.to_string(),
            Ok(a) => match a.status {
                Status::Error(m) => m,
                other => panic!("`{script}` should be refused, but ran: {other:?}"),
            },
        },
    }
}

/// `probe.rhai:LINE:COL` where COL is where `needle` starts on that (1-based) line.
fn at(script: &str, line: usize, needle: &str) -> String {
    let text = script.lines().nth(line - 1).expect("line exists");
    let col = text
        .find(needle)
        .unwrap_or_else(|| panic!("{needle:?} not on line {line}"));
    format!("{FILE}:{line}:{}", col + 1)
}

/// A copy of the Tangier scenario in a temp folder whose only rule file is `probe.rhai`
/// holding `script`, plus `extra` files.
fn scenario_dir(script: &str, extra: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for f in ["applicants.csv", "labour_market.csv"] {
        std::fs::copy(tangier_dir().join(f), dir.path().join(f)).unwrap();
    }
    let toml = std::fs::read_to_string(tangier_dir().join("scenario.toml")).unwrap();
    let (start, end) = (
        toml.find("[rules]").unwrap(),
        toml.find("[params]").unwrap(),
    );
    let toml = format!(
        "{}[rules]\nfiles = [\"{FILE}\"]\n\n{}",
        &toml[..start],
        &toml[end..]
    );
    std::fs::write(dir.path().join("scenario.toml"), toml).unwrap();
    std::fs::write(dir.path().join(FILE), script).unwrap();
    for (name, text) in extra {
        std::fs::write(dir.path().join(name), text).unwrap();
    }
    dir
}

fn idmaj(args: &[&std::ffi::OsStr], envs: &[(&str, &str)]) -> std::process::Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_idmaj"));
    cmd.args(args).env_remove("IDMAJ_FAST");
    for (k, v) in envs {
        cmd.env(k, v);
    }
    cmd.output().unwrap()
}

// ---- misspelt names are caught when the rules load ----

const MISSPELT_FIELD: &str = "// the training check, misspelt\n\
    check(\"training\", \"enough hours\", applicant.trainig_hours >= params.min_training_hours);\n";

#[test]
fn a_misspelt_field_is_an_error_at_load_time_with_a_suggestion() {
    let err = rules(MISSPELT_FIELD)
        .expect_err("a misspelt field must not load")
        .to_string();
    assert!(
        err.contains(&at(MISSPELT_FIELD, 2, "trainig_hours")),
        "{err}"
    );
    assert!(err.contains("`trainig_hours`"), "{err}");
    assert!(err.contains("training_hours"), "no suggestion: {err}");
}

#[test]
fn a_misspelt_field_in_a_rule_file_is_caught_by_load_and_by_idmaj_check() {
    let dir = scenario_dir(MISSPELT_FIELD, &[]);
    let err = Engine::load(dir.path())
        .expect_err("a misspelt field must not load")
        .to_string();
    assert!(
        err.contains(&at(MISSPELT_FIELD, 2, "trainig_hours")),
        "{err}"
    );
    assert!(err.contains("training_hours"), "{err}");

    let out = idmaj(&["check".as_ref(), dir.path().as_os_str()], &[]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(2), "{stdout}\n{stderr}");
    let all = format!("{stdout}{stderr}");
    assert!(
        all.contains(&at(MISSPELT_FIELD, 2, "trainig_hours")),
        "{all}"
    );
    assert!(
        all.contains("trainig_hours") && all.contains("training_hours"),
        "{all}"
    );
}

#[test]
fn a_misspelt_parameter_is_an_error_at_load_time() {
    let script = "check(\"training\", \"enough hours\",\n      applicant.training_hours >= params.min_trainig_hours);\n";
    let err = rules(script)
        .expect_err("a misspelt parameter must not load")
        .to_string();
    assert!(err.contains(&at(script, 2, "min_trainig_hours")), "{err}");
    assert!(err.contains("min_trainig_hours"), "{err}");
    assert!(err.contains("min_training_hours"), "no suggestion: {err}");
}

#[test]
fn a_misspelt_field_read_by_index_is_a_rule_error_not_unit() {
    let script = "let h = applicant[\"trainig_hours\"];\ncheck(\"training\", \"t\", h >= 120);\n";
    let a = assess(script, "TNG-001");
    let Status::Error(m) = a.status else {
        panic!("expected an error, got {:?}", a.status)
    };
    assert!(m.contains(&format!("{FILE}:1:")), "{m}");
    assert!(
        m.contains("trainig_hours") && m.contains("training_hours"),
        "{m}"
    );
}

#[test]
fn a_syntax_error_names_file_line_and_column() {
    let script = "check(\"a\", \"b\", true);\nlet x = ;\n";
    let err = rules(script).expect_err("must not compile").to_string();
    assert!(err.contains(&at(script, 2, ";")), "{err}");
}

#[test]
fn a_syntax_error_in_the_second_file_names_that_file() {
    let set = tangier_with(&[
        ("first.rhai", "check(\"a\", \"b\", true);\n"),
        ("second.rhai", "\n\ncheck(\"c\", \"d\" true);\n"),
    ]);
    let err = set.expect_err("must not compile").to_string();
    assert!(err.contains("second.rhai:3:"), "{err}");
}

// ---- endless loops stop ----

fn assert_stops(script: &str) {
    let engine = rules(script).unwrap_or_else(|e| panic!("{e}"));
    let a = applicant("TNG-001");
    let t = Instant::now();
    let status = engine.assess(&a).unwrap().status;
    let took = t.elapsed();
    let Status::Error(m) = status else {
        panic!("`{script}` should stop with an error, got {status:?}")
    };
    assert!(m.contains("operations"), "{m}");
    assert!(m.contains(&format!("{FILE}:2:")), "{m}");
    assert!(m.contains("TNG-001"), "{m}");
    assert!(took < Duration::from_secs(5), "took {took:?}");
}

#[test]
fn an_endless_loop_is_stopped_by_the_operations_cap() {
    assert_stops("check(\"a\", \"b\", true);\nloop {}\n");
}

#[test]
fn an_endless_while_is_stopped_by_the_operations_cap() {
    assert_stops("check(\"a\", \"b\", true);\nwhile true {}\n");
}

#[test]
fn an_endless_recursion_is_an_error() {
    let m = refused("fn f(x) { f(x + 1) }\nf(0);\n");
    assert!(m.contains(FILE), "{m}");
}

// ---- host API misuse ----

#[test]
fn an_unknown_kit_is_an_error_naming_the_kit_and_the_position() {
    let script = "check(\"a\", \"b\", true);\n  offer_kit(\"no-such-kit\");\n";
    let a = assess(script, "TNG-001");
    let Status::Error(m) = a.status else {
        panic!("expected an error, got {:?}", a.status)
    };
    assert!(m.contains("no-such-kit"), "{m}");
    assert!(m.contains(&at(script, 2, "offer_kit")), "{m}");
    assert!(
        a.offers.is_empty()
            || a.offers
                .iter()
                .all(|o| o.kit.as_deref() != Some("no-such-kit"))
    );
}

#[test]
fn an_unknown_kit_with_cash_is_an_error_too() {
    let script = "check(\"a\", \"b\", true);\noffer_kit_and_cash(\"plumbin\", 100);\n";
    let m = refused(script);
    assert!(
        m.contains("plumbin") && m.contains(&at(script, 2, "offer_kit_and_cash")),
        "{m}"
    );
}

#[test]
fn comparing_a_number_with_text_is_a_type_mismatch() {
    let script =
        "let ok = true;\ncheck(\"training\", \"t\", applicant.training_hours >= \"120\");\n";
    let m = refused(script);
    assert!(m.contains("type mismatch"), "{m}");
    assert!(m.contains(&at(script, 2, ">=")), "{m}");
}

#[test]
fn comparing_text_with_a_number_is_a_type_mismatch() {
    let script = "let ok = true;\ncheck(\"women\", \"t\", applicant.gender == 1);\n";
    let m = refused(script);
    assert!(m.contains("type mismatch"), "{m}");
    assert!(m.contains(&at(script, 2, "==")), "{m}");
}

#[test]
fn a_check_on_unit_is_an_error() {
    let script = "let ok = true;\ncheck(\"x\", \"y\", ());\n";
    let m = refused(script);
    assert!(
        m.contains("check `x`") && m.contains("expected true or false"),
        "{m}"
    );
    assert!(m.contains(&at(script, 2, "check")), "{m}");
}

#[test]
fn a_check_on_a_number_or_text_is_an_error() {
    for cond in ["1", "\"yes\"", "applicant.training_hours"] {
        let m = refused(&format!("check(\"x\", \"y\", {cond});\n"));
        assert!(m.contains("expected true or false"), "{cond}: {m}");
        assert!(m.contains(&format!("{FILE}:1:")), "{cond}: {m}");
    }
}

#[test]
fn a_score_of_infinity_is_an_error() {
    // TNG-023 has no experience: 10.0 / 0.0 is not a number of points.
    let script =
        "check(\"a\", \"b\", true);\nadd_score(10.0 / applicant.experience_years, \"per year\");\n";
    let a = assess(script, "TNG-023");
    let Status::Error(m) = &a.status else {
        panic!("expected an error, got {:?}", a.status)
    };
    assert!(m.contains("not a number of points"), "{m}");
    assert!(m.contains(&format!("{FILE}:2:")), "{m}");
    assert_eq!(assess(script, "TNG-001").status, Status::Eligible);
}

// ---- nothing escapes ----

#[test]
fn import_is_refused_even_with_the_module_beside_the_rules() {
    let script = "import \"x\" as x;\ncheck(\"a\", \"b\", true);\n";
    let dir = scenario_dir(script, &[("x.rhai", "check(\"escaped\", \"x\", true);\n")]);
    let err = Engine::load(dir.path())
        .expect_err("import must not load")
        .to_string();
    assert!(err.contains(&format!("{FILE}:1:")), "{err}");
    // Without `as` too, and from text.
    refused("import \"x\";\ncheck(\"a\", \"b\", true);\n");
}

#[test]
fn eval_is_refused() {
    for script in [
        "eval(\"1\");\ncheck(\"a\", \"b\", true);\n",
        "let e = Fn(\"eval\");\ncheck(\"a\", \"b\", e.call(\"true\"));\n",
        "check(\"a\", \"b\", call(Fn(\"eval\"), \"true\"));\n",
    ] {
        let m = refused(script);
        assert!(m.contains(FILE), "{script}: {m}");
    }
}

#[test]
fn file_access_and_sleep_are_not_available() {
    for call in [
        "open(\"/etc/passwd\")",
        "read_file(\"/etc/passwd\")",
        "open_file(\"/etc/passwd\")",
        "File.open(\"/etc/passwd\")",
        "exit(0)",
    ] {
        let script = format!("check(\"a\", \"b\", true);\nlet x = {call};\n");
        let m = refused(&script);
        assert!(m.contains(&format!("{FILE}:2:")), "{call}: {m}");
    }
}

#[test]
fn sleep_is_an_error_and_does_not_block() {
    let t = Instant::now();
    let m = refused("check(\"a\", \"b\", true);\nsleep(2);\n");
    assert!(t.elapsed() < Duration::from_millis(1500), "sleep blocked");
    assert!(
        m.contains("sleep") && m.contains(&format!("{FILE}:2:")),
        "{m}"
    );
}

#[test]
fn print_and_debug_go_to_the_assessment_log() {
    let a = assess(
        "print(\"LEAK-MARKER\");\ndebug(\"dbg\");\ncheck(\"a\", \"b\", true);\n",
        "TNG-001",
    );
    assert_eq!(a.status, Status::Eligible);
    assert_eq!(a.log.len(), 2, "{:?}", a.log);
    assert_eq!(a.log[0], "LEAK-MARKER");
    assert!(a.log[1].contains("dbg"), "{:?}", a.log);
}

#[test]
fn print_does_not_write_to_the_score_output() {
    let dir = scenario_dir("print(\"LEAK-MARKER\");\ncheck(\"a\", \"b\", true);\n", &[]);
    let out = idmaj(&["score".as_ref(), dir.path().as_os_str()], &[]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(stdout.starts_with("id,eligible,"), "{stdout}");
    assert!(!stdout.contains("LEAK-MARKER"), "{stdout}");
    assert!(!stderr.contains("LEAK-MARKER"), "{stderr}");
}

#[test]
fn the_applicant_and_params_cannot_be_replaced_by_rules() {
    for script in [
        "applicant = 1;\ncheck(\"a\", \"b\", true);\n",
        "applicant.training_hours = 500.0;\ncheck(\"a\", \"b\", true);\n",
        "params = #{};\ncheck(\"a\", \"b\", true);\n",
    ] {
        let m = refused(script);
        assert!(m.contains(&format!("{FILE}:1:")), "{script}: {m}");
    }
}

#[test]
fn changing_a_copy_of_params_leaves_params_alone() {
    let a = assess(
        "let p = params;\np.min_training_hours = 0;\ncheck(\"t\", \"t\", params.min_training_hours == 120);\n",
        "TNG-001",
    );
    assert_eq!(a.status, Status::Eligible);
}

#[test]
fn assigning_to_a_parameter_or_program_is_an_error_not_a_panic() {
    for script in [
        "params.min_training_hours = 0;\ncheck(\"a\", \"b\", true);\n",
        "params.min_training_hours += 1;\ncheck(\"a\", \"b\", true);\n",
        "params[\"min_training_hours\"] = 1;\ncheck(\"a\", \"b\", true);\n",
        "program.date = \"2030-01-01\";\ncheck(\"a\", \"b\", true);\n",
        "program.year = 1;\ncheck(\"a\", \"b\", true);\n",
    ] {
        let got = std::panic::catch_unwind(|| refused(script));
        let m = got.unwrap_or_else(|_| panic!("{script:?} panicked"));
        assert!(m.contains(&format!("{FILE}:1:")), "{script}: {m}");
        assert!(rules(script).is_err(), "{script:?} loads");
    }
    let dir = scenario_dir(
        "params.min_training_hours = 0;\ncheck(\"a\", \"b\", true);\n",
        &[],
    );
    let out = idmaj(&["check".as_ref(), dir.path().as_os_str()], &[]);
    assert_eq!(out.status.code(), Some(2), "idmaj check accepts it");
}

// ---- one applicant's error marks only that row ----

const DIVIDE: &str = "check(\"a\", \"b\", true);\n\
    let per_year = 100 / applicant.experience_years.to_int();\n\
    add_score(per_year, \"points per year of experience\");\n";

#[test]
fn a_runtime_error_marks_only_that_row_and_score_exits_2() {
    // TNG-023 and TNG-027 (among others under a year) have 0 whole years: 100 / 0 fails.
    let dir = scenario_dir(DIVIDE, &[]);
    let out_csv = dir.path().join("out.csv");
    let out = idmaj(
        &[
            "score".as_ref(),
            dir.path().as_os_str(),
            "--out".as_ref(),
            out_csv.as_os_str(),
        ],
        &[],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains(&format!("{FILE}:2:")), "{stderr}");
    assert!(
        stderr.contains("TNG-023") && stderr.contains("TNG-027"),
        "{stderr}"
    );

    let mut r = csv::Reader::from_path(&out_csv).unwrap();
    let headers = r.headers().unwrap().clone();
    let col = |name: &str| headers.iter().position(|h| h == name).unwrap();
    let (id, eligible) = (col("id"), col("eligible"));
    let rows: Vec<csv::StringRecord> = r.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), 44, "every row is written");
    // Less than a year of experience is 0 whole years: those rows fail, and only those.
    let failing: Vec<String> = tangier()
        .applicants()
        .unwrap()
        .into_iter()
        .filter(|a| a.number("experience_years").unwrap() < 1.0)
        .map(|a| a.id().unwrap().to_string())
        .collect();
    assert!(failing.len() >= 2 && failing.len() < 44, "{failing:?}");
    for row in &rows {
        let want = if failing.iter().any(|f| f == &row[id]) {
            "error"
        } else {
            "true"
        };
        assert_eq!(&row[eligible], want, "{row:?}");
    }
}

// ---- explain ----

#[test]
fn explain_records_the_fields_each_check_read() {
    let engine = tangier();
    // TNG-001: building electricity, 360 h, certified, released 2015-07-04.
    let a = engine.explain(&applicant("TNG-001")).unwrap();
    assert_eq!(a.status, Status::Eligible);
    let read = |id: &str| {
        a.checks
            .iter()
            .find(|c| c.id == id)
            .unwrap_or_else(|| panic!("no check {id}"))
            .read
            .clone()
    };
    let pair = |k: &str, v: &str| (k.to_string(), v.to_string());
    assert_eq!(read("training"), vec![pair("training_hours", "360")]);
    assert_eq!(
        read("certificate"),
        vec![pair("training_certified", "true")]
    );
    assert_eq!(read("pm_training"), vec![pair("pm_training", "true")]);
    assert_eq!(read("plan"), vec![pair("plan_approved", "true")]);
    let consistency = read("consistency");
    assert!(
        consistency.contains(&pair("plan_trade", "building_electricity")),
        "{consistency:?}"
    );
    assert!(
        consistency.contains(&pair("training_track", "building_electricity")),
        "{consistency:?}"
    );
    let market = read("market");
    assert!(market.contains(&pair("city", "Tangier")), "{market:?}");
    assert!(
        market.contains(&pair("plan_trade", "building_electricity")),
        "{market:?}"
    );
    assert_eq!(read("released"), vec![pair("release_date", "2015-07-04")]);

    // assess does not trace.
    let plain = engine.assess(&applicant("TNG-001")).unwrap();
    assert!(
        plain.checks.iter().all(|c| c.read.is_empty()),
        "{:?}",
        plain.checks
    );
}

#[test]
fn explain_never_shows_the_name() {
    let set = rules("check(\"named\", \"has a name\", applicant.name != \"\");\n").unwrap();
    let a = set.explain(&applicant("TNG-003")).unwrap();
    assert_eq!(
        a.checks[0].read,
        vec![("name".to_string(), "(not shown)".to_string())]
    );
}

#[test]
fn explain_records_fields_read_through_a_variable_before_an_earlier_check() {
    let a = tangier().explain(&applicant("TNG-001")).unwrap();
    let recent = a.checks.iter().find(|c| c.id == "recent_release").unwrap();
    assert!(
        recent
            .read
            .contains(&("release_date".to_string(), "2015-07-04".to_string())),
        "{:?}",
        recent.read
    );
}

#[test]
fn type_mismatch_is_an_error_with_idmaj_fast_too() {
    let dir = scenario_dir("check(\"women\", \"t\", applicant.gender == 1);\n", &[]);
    let out = idmaj(
        &["score".as_ref(), dir.path().as_os_str()],
        &[("IDMAJ_FAST", "1")],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("type mismatch"), "{stderr}");
}

#[test]
fn a_misspelt_name_split_across_lines_is_caught_at_load_time() {
    for script in [
        "check(\"t\", \"t\", applicant\n  .trainig_hours >= 120);\n",
        "check(\"t\", \"t\", 240 >= params\n  .min_trainig_hours);\n",
        "check(\"t\", \"t\", program\n  .dat == ());\n",
    ] {
        let err = rules(script)
            .map(|_| ())
            .expect_err("a misspelt name must not load")
            .to_string();
        assert!(err.contains(&format!("{FILE}:2:4")), "{script}: {err}");
    }
}
