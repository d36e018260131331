//! Spreadsheets both ways, run as the real binary: `.xlsx` applicants and labour market
//! read like CSV (same decisions, same messages, lines = sheet rows); `--dialect excel-fr`
//! on every CSV output (read back, the same cells as the default dialect); `allocate
//! --xlsx` (decisions.xlsx read back equals decisions.csv); ids a spreadsheet would run
//! refused, every other id written as read.

use std::fs;
use std::path::Path;

use calamine::{Data, Reader, Xlsx};
use rust_xlsxwriter::{ExcelDateTime, Format, Workbook};

mod common;
use common::{copy_dir, idmaj, no_panic, repo, shipped_copy, text};

/// Header and rows of a CSV text in the default dialect.
fn csv_rows(bytes: &[u8]) -> (Vec<String>, Vec<Vec<String>>) {
    let mut r = csv::Reader::from_reader(bytes);
    let header = r.headers().unwrap().iter().map(String::from).collect();
    let rows = r
        .records()
        .map(|x| x.unwrap().iter().map(String::from).collect())
        .collect();
    (header, rows)
}

/// Columns written as numbers in a workbook made from a CSV file.
const NUMBER_COLUMNS: [&str; 7] = [
    "birth_year",
    "training_hours",
    "plan_cost",
    "experience_years",
    "family_dependents",
    "demand",
    "score",
];

/// Writes a CSV file's rows as the first sheet of a workbook the way a planner's Excel
/// holds them: numbers as numbers, `true`/`false` as booleans, `release_date` as an Excel
/// date (every third row as day-first text instead), the rest as text. `blank_after`
/// inserts an empty sheet row after that many data rows.
fn csv_to_xlsx(csv_path: &Path, xlsx_path: &Path, blank_after: Option<usize>) {
    let (header, rows) = csv_rows(&fs::read(csv_path).unwrap());
    let mut book = Workbook::new();
    let ws = book.add_worksheet();
    let date = Format::new().set_num_format("dd/mm/yyyy");
    for (c, h) in header.iter().enumerate() {
        ws.write_string(0, c as u16, h).unwrap();
    }
    let mut sheet_row = 1u32;
    for (i, row) in rows.iter().enumerate() {
        if blank_after == Some(i) {
            sheet_row += 1;
        }
        for (c, v) in row.iter().enumerate() {
            let col = c as u16;
            let name = header[c].as_str();
            if name == "release_date" {
                let (y, m, d) = ymd(v);
                if i % 3 == 2 {
                    ws.write_string(sheet_row, col, format!("{d:02}/{m:02}/{y}"))
                        .unwrap();
                } else {
                    let dt = ExcelDateTime::from_ymd(y, m, d).unwrap();
                    ws.write_datetime_with_format(sheet_row, col, &dt, &date)
                        .unwrap();
                }
            } else if let (true, Ok(x)) = (NUMBER_COLUMNS.contains(&name), v.parse::<f64>()) {
                ws.write_number(sheet_row, col, x).unwrap();
            } else if v == "true" || v == "false" {
                ws.write_boolean(sheet_row, col, v == "true").unwrap();
            } else if !v.is_empty() {
                ws.write_string(sheet_row, col, v).unwrap();
            }
        }
        sheet_row += 1;
    }
    book.save(xlsx_path).unwrap();
}

fn ymd(v: &str) -> (u16, u8, u8) {
    let p: Vec<&str> = v.split('-').collect();
    (
        p[0].parse().unwrap(),
        p[1].parse().unwrap(),
        p[2].parse().unwrap(),
    )
}

/// Points `[data]` of the scenario in `dir` at other files.
fn point_data_at(dir: &Path, applicants: &str, labour_market: &str) {
    let path = dir.join("scenario.toml");
    let toml: Vec<String> = fs::read_to_string(&path)
        .unwrap()
        .lines()
        .map(|l| {
            if l.starts_with("applicants = ") {
                format!("applicants = \"{applicants}\"")
            } else if l.starts_with("labour_market = ") {
                format!("labour_market = \"{labour_market}\"")
            } else {
                l.to_string()
            }
        })
        .collect();
    fs::write(path, toml.join("\n")).unwrap();
}

/// Every cell of the first sheet of a workbook, as text (numbers as Rust writes them).
fn sheet_cells(path: &Path, sheet: &str) -> Vec<Vec<Data>> {
    let mut book: Xlsx<_> = calamine::open_workbook(path).unwrap();
    let range = book.worksheet_range(sheet).unwrap();
    range.rows().map(|r| r.to_vec()).collect()
}

// ------------------------------------------------------------------------- xlsx input

#[test]
fn xlsx_round_trip_allocates_like_the_csv_and_decisions_xlsx_reads_back_as_decisions_csv() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = shipped_copy(tmp.path(), "tangier-2016");
    csv_to_xlsx(
        &dir.join("applicants.csv"),
        &dir.join("applicants.xlsx"),
        None,
    );
    csv_to_xlsx(
        &dir.join("labour_market.csv"),
        &dir.join("labour_market.xlsx"),
        None,
    );
    let from_csv = idmaj(
        tmp.path(),
        &["allocate", dir.to_str().unwrap(), "--out", "csv"],
    );
    assert!(from_csv.status.success(), "{}", text(&from_csv.stderr));
    point_data_at(&dir, "applicants.xlsx", "labour_market.xlsx");
    let check = idmaj(tmp.path(), &["check", dir.to_str().unwrap()]);
    assert!(check.status.success(), "{}", text(&check.stderr));
    assert!(text(&check.stdout).contains("44 read, 44 valid"));
    let out = idmaj(
        tmp.path(),
        &["allocate", dir.to_str().unwrap(), "--out", "xlsx", "--xlsx"],
    );
    no_panic(&out);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("decisions.xlsx"));

    // Same applicants, same decisions, byte for byte.
    let csv_decisions = fs::read(tmp.path().join("csv/decisions.csv")).unwrap();
    assert_eq!(
        text(&fs::read(tmp.path().join("xlsx/decisions.csv")).unwrap()),
        text(&csv_decisions)
    );
    let summary = |d: &str| {
        let s = fs::read_to_string(tmp.path().join(d).join("summary.json")).unwrap();
        serde_json::from_str::<serde_json::Value>(&s).unwrap()
    };
    for key in [
        "applicants",
        "eligible",
        "served",
        "spent",
        "by_city",
        "by_funder",
    ] {
        assert_eq!(summary("csv")[key], summary("xlsx")[key], "{key}");
    }

    // score and explain read the workbook too, with sheet rows as lines.
    let score = |args: &[&str]| {
        let out = idmaj(tmp.path(), args);
        assert!(out.status.success(), "{}", text(&out.stderr));
        out.stdout
    };
    point_data_at(&dir, "applicants.csv", "labour_market.csv");
    let csv_scores = score(&["score", dir.to_str().unwrap()]);
    point_data_at(&dir, "applicants.xlsx", "labour_market.xlsx");
    assert_eq!(
        text(&score(&["score", dir.to_str().unwrap()])),
        text(&csv_scores)
    );
    let explain = text(&score(&["explain", dir.to_str().unwrap(), "TNG-003"]));
    assert!(explain.contains("applicants.xlsx:4)"), "{explain}");

    // decisions.xlsx holds exactly decisions.csv: ids as text, numbers as numbers.
    let (header, rows) = csv_rows(&csv_decisions);
    let sheet = sheet_cells(&tmp.path().join("xlsx/decisions.xlsx"), "decisions");
    assert_eq!(sheet.len(), rows.len() + 1);
    let head: Vec<String> = sheet[0].iter().map(ToString::to_string).collect();
    assert_eq!(head, header);
    for (row, cells) in rows.iter().zip(&sheet[1..]) {
        for (c, want) in row.iter().enumerate() {
            let got = cells.get(c).cloned().unwrap_or(Data::Empty);
            match header[c].as_str() {
                "score" | "cash" | "amount" => {
                    let Data::Float(x) = got else {
                        panic!("{} of {}: {got:?} is not a number", header[c], row[0])
                    };
                    assert_eq!(
                        x,
                        want.parse::<f64>().unwrap(),
                        "{} of {}",
                        header[c],
                        row[0]
                    );
                }
                _ if want.is_empty() => assert_eq!(got, Data::Empty, "{} of {}", header[c], row[0]),
                _ => assert_eq!(
                    got,
                    Data::String(want.clone()),
                    "{} of {}",
                    header[c],
                    row[0]
                ),
            }
        }
    }
    let summary_sheet = sheet_cells(&tmp.path().join("xlsx/decisions.xlsx"), "summary");
    let figure = |label: &str| {
        summary_sheet
            .iter()
            .find(|r| r.first() == Some(&Data::String(label.into())))
            .and_then(|r| r.get(2).cloned())
            .unwrap_or_else(|| panic!("no {label} in the summary sheet"))
    };
    assert_eq!(figure("served"), Data::Float(21.0));
    assert_eq!(figure("spent (MAD)"), Data::Float(262_519.0));
    assert!(summary_sheet
        .iter()
        .any(|r| r.first() == Some(&Data::String("wilaya-tth".into()))));
}

#[test]
fn a_bad_xlsx_cell_gets_the_csv_message_at_its_sheet_row() {
    let tmp = tempfile::tempdir().unwrap();
    let base = repo().join("tests/fixtures/base");
    for (name, edit) in [("csv", false), ("xlsx", true)] {
        let dir = tmp.path().join(name);
        copy_dir(&base, &dir);
        copy_dir(&repo().join("rules"), &dir.join("rules"));
        let path = dir.join("applicants.csv");
        let bad = fs::read_to_string(&path)
            .unwrap()
            .replacen(
                "BASE-03,حسن الإدريسي,M,1993",
                "BASE-03,حسن الإدريسي,X,1993",
                1,
            )
            .replacen("2014-12-30,commerce,150", "2014-12-30,commerce,abc", 1);
        fs::write(&path, bad).unwrap();
        if edit {
            // A blank sheet row after the first applicant: rows keep their sheet numbers.
            csv_to_xlsx(&path, &dir.join("applicants.xlsx"), Some(1));
            fs::remove_file(&path).unwrap();
            point_data_at(&dir, "applicants.xlsx", "labour_market.csv");
        }
    }
    let check = |name: &str| {
        let out = idmaj(tmp.path(), &["check", name]);
        no_panic(&out);
        assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
        text(&out.stderr)
    };
    let csv = check("csv");
    let xlsx = check("xlsx");
    assert!(csv.contains("applicants.csv:4: column gender"), "{csv}");
    assert!(
        csv.contains("applicants.csv:5: column training_hours"),
        "{csv}"
    );
    // One row lower in the sheet (the blank row), the same words.
    let moved = csv
        .replace("applicants.csv:5:", "applicants.xlsx:6:")
        .replace("applicants.csv:4:", "applicants.xlsx:5:")
        .replace("csv/", "xlsx/");
    assert_eq!(xlsx, moved);
    assert!(!xlsx.contains("حسن"), "a name in a message: {xlsx}");
}

#[test]
fn a_workbook_named_csv_and_an_old_xls_are_named_for_what_they_are() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = shipped_copy(tmp.path(), "tangier-2016");
    csv_to_xlsx(
        &dir.join("applicants.csv"),
        &dir.join("applicants.csv"),
        None,
    );
    let out = idmaj(tmp.path(), &["check", dir.to_str().unwrap()]);
    no_panic(&out);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("this is a workbook (.xlsx), not CSV text"),
        "{}",
        text(&out.stderr)
    );
    fs::write(dir.join("applicants.xls"), b"\xD0\xCF\x11\xE0 old").unwrap();
    point_data_at(&dir, "applicants.xls", "labour_market.csv");
    let out = idmaj(tmp.path(), &["check", dir.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr)
            .contains("a .xls spreadsheet is not read; save it as an Excel workbook (.xlsx)"),
        "{}",
        text(&out.stderr)
    );
    fs::write(dir.join("applicants.xlsx"), b"not a zip").unwrap();
    point_data_at(&dir, "applicants.xlsx", "labour_market.csv");
    let out = idmaj(tmp.path(), &["check", dir.to_str().unwrap()]);
    no_panic(&out);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("cannot read it as an Excel workbook"),
        "{}",
        text(&out.stderr)
    );
}

// ------------------------------------------------------------------------- ids

#[test]
fn ids_are_written_as_read_and_formula_ids_are_refused_with_line_and_column() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("s");
    copy_dir(&repo().join("tests/fixtures/base"), &dir);
    copy_dir(&repo().join("rules"), &dir.join("rules"));
    let path = dir.join("applicants.csv");
    let plain = fs::read_to_string(&path).unwrap();
    // Ids that look odd but no spreadsheet runs: kept exactly.
    let odd = plain
        .replacen("BASE-01,", "00123,", 1)
        .replacen("BASE-02,", "'quoted,", 1)
        .replacen("BASE-03,", "A=B,", 1);
    fs::write(&path, &odd).unwrap();
    let out = idmaj(tmp.path(), &["allocate", "s", "--out", "o"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let (_, rows) = csv_rows(&fs::read(tmp.path().join("o/decisions.csv")).unwrap());
    let (_, input) = csv_rows(odd.as_bytes());
    let ids: Vec<&str> = rows.iter().map(|r| r[0].as_str()).collect();
    let input_ids: Vec<&str> = input.iter().map(|r| r[0].as_str()).collect();
    assert_eq!(ids, input_ids);

    for (id, first) in [("=1+2", '='), ("+212600", '+'), ("-7", '-'), ("@me", '@')] {
        fs::write(&path, plain.replacen("BASE-04,", &format!("{id},"), 1)).unwrap();
        let out = idmaj(tmp.path(), &["score", "s", "--out", "score.csv"]);
        no_panic(&out);
        assert_eq!(out.status.code(), Some(2), "{id}");
        let err = text(&out.stderr);
        assert!(
            err.contains(&format!(
                "applicants.csv:5: column id: id \"{id}\" begins with `{first}`"
            )),
            "{id}: {err}"
        );
        let (_, rows) = csv_rows(&fs::read(tmp.path().join("score.csv")).unwrap());
        assert_eq!(rows[3][1], "error", "{id} must not be assessed");
        let out = idmaj(tmp.path(), &["allocate", "s", "--out", "o2"]);
        assert_eq!(out.status.code(), Some(2), "{id}");
        assert!(!tmp.path().join("o2/decisions.csv").exists());
    }
}

// ------------------------------------------------------------------------- excel-fr

/// The cells of an `excel-fr` CSV output, as the default dialect writes them: checks the
/// BOM, CRLF line ends and `;`, then turns the decimal commas of `number_columns` back.
fn excel_fr_as_default(bytes: &[u8], number_columns: &[&str]) -> (Vec<String>, Vec<Vec<String>>) {
    let body = bytes
        .strip_prefix(b"\xEF\xBB\xBF")
        .expect("excel-fr starts with a byte-order mark");
    let lf = body.iter().filter(|&&b| b == b'\n').count();
    let crlf = body.windows(2).filter(|w| w == b"\r\n").count();
    assert!(lf > 0 && lf == crlf, "every line ends in CRLF");
    let mut r = csv::ReaderBuilder::new().delimiter(b';').from_reader(body);
    let header: Vec<String> = r.headers().unwrap().iter().map(String::from).collect();
    assert!(header.len() > 1, "separated by `;`: {header:?}");
    let rows = r
        .records()
        .map(|x| {
            x.unwrap()
                .iter()
                .zip(&header)
                .map(|(c, h)| {
                    if number_columns.contains(&h.as_str()) || h.starts_with("served.") {
                        assert!(!c.contains('.'), "{h} = {c} has a decimal point");
                        c.replace(',', ".")
                    } else {
                        c.to_string()
                    }
                })
                .collect()
        })
        .collect();
    (header, rows)
}

#[test]
fn excel_fr_outputs_read_back_equal_to_the_default_ones() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = shipped_copy(tmp.path(), "tangier-2016");
    let s = dir.to_str().unwrap();
    let run = |args: &[&str]| {
        let out = idmaj(tmp.path(), args);
        no_panic(&out);
        assert!(out.status.success(), "{args:?}: {}", text(&out.stderr));
    };
    let fr = ["--dialect", "excel-fr"];
    run(&["score", s, "--out", "score.csv"]);
    run(&[&["score", s, "--out", "score-fr.csv"][..], &fr].concat());
    run(&["allocate", s, "--out", "a"]);
    run(&[&["allocate", s, "--out", "a-fr"][..], &fr].concat());
    let sweep = [
        "sweep",
        s,
        "--budget",
        "200000..300000:3",
        "--set",
        "quota.women.min_share=0.2,0.3",
    ];
    run(&[&sweep[..], &["--out", "sweep.csv"]].concat());
    run(&[&sweep[..], &["--out", "sweep-fr.csv"], &fr].concat());
    let compare = ["compare", s, "--set", "budget.total=150000"];
    run(&[&compare[..], &["--out", "compare.csv"]].concat());
    run(&[&compare[..], &["--out", "compare-fr.csv"], &fr].concat());

    let sweep_numbers = [
        "quota.women.min_share",
        "budget.total",
        "objective",
        "bound",
        "gap",
        "women_share",
        "spent",
    ];
    for (plain, french, numbers) in [
        ("score.csv", "score-fr.csv", &["score"][..]),
        (
            "a/decisions.csv",
            "a-fr/decisions.csv",
            &["score", "cash", "amount"],
        ),
        ("sweep.csv", "sweep-fr.csv", &sweep_numbers),
        (
            "compare.csv",
            "compare-fr.csv",
            &["before_amount", "after_amount"],
        ),
    ] {
        let plain_bytes = fs::read(tmp.path().join(plain)).unwrap();
        let french_bytes = fs::read(tmp.path().join(french)).unwrap();
        let want = csv_rows(&plain_bytes);
        assert!(!want.1.is_empty(), "{plain} has rows");
        assert_eq!(
            excel_fr_as_default(&french_bytes, numbers),
            want,
            "{french}"
        );
        if plain != "compare.csv" {
            assert!(
                text(&french_bytes).contains(','),
                "{french} has decimal commas"
            );
        }
    }
    // The default stays the comma dialect.
    let decisions = fs::read(tmp.path().join("a/decisions.csv")).unwrap();
    assert!(decisions.starts_with(b"id,eligible,") && !decisions.contains(&b'\r'));
}

#[test]
fn an_unknown_dialect_is_a_usage_error() {
    let tmp = tempfile::tempdir().unwrap();
    let out = idmaj(
        tmp.path(),
        &[
            "score",
            repo().join("scenarios/tangier-2016").to_str().unwrap(),
            "--dialect",
            "excel",
        ],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("expected comma or excel-fr"));
}

// ------------------------------------------------------------------------- batches, verify

/// ramadan-2016 restricted to Tangier's applicants with the first batch's budget, in `root`.
fn tangier_batch(root: &Path) -> std::path::PathBuf {
    let dir = shipped_copy(root, "ramadan-2016");
    let csv = fs::read_to_string(dir.join("applicants.csv")).unwrap();
    let mut lines = csv.lines();
    let mut kept = vec![lines.next().unwrap().to_string()];
    kept.extend(
        lines
            .filter(|l| l.split(',').nth(4) == Some("Tangier"))
            .map(str::to_string),
    );
    fs::write(dir.join("applicants.csv"), kept.join("\n") + "\n").unwrap();
    let toml = fs::read_to_string(dir.join("scenario.toml"))
        .unwrap()
        .replace("total = 5_200_000", "total = 262_519");
    fs::write(dir.join("scenario.toml"), toml).unwrap();
    dir
}

#[test]
fn excel_fr_and_xlsx_decisions_serve_as_committed_batches_and_verify_reproduces_them() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let batch = tangier_batch(&root.join("b"));
    let national = shipped_copy(&root.join("n"), "ramadan-2016");
    let run = |args: &[&str]| {
        let out = idmaj(root, args);
        no_panic(&out);
        assert!(out.status.success(), "{args:?}: {}", text(&out.stderr));
        text(&out.stdout)
    };
    let b = batch.to_str().unwrap();
    let n = national.to_str().unwrap();
    run(&["allocate", b, "--out", "b1"]);
    run(&[
        "allocate",
        b,
        "--out",
        "b1fr",
        "--dialect",
        "excel-fr",
        "--xlsx",
    ]);
    // verify writes the outputs again as the run wrote them: dialect and workbook.
    let verified = run(&["verify", "b1fr"]);
    assert!(verified.contains("same       decisions.xlsx"), "{verified}");
    assert!(verified.contains("reproduced"), "{verified}");

    // The national allocation after the first batch, from each form of its decisions.
    for (committed, out) in [
        ("b1/decisions.csv", "n1"),
        ("b1fr/decisions.csv", "nfr"),
        ("b1fr/decisions.xlsx", "nx"),
    ] {
        run(&["allocate", n, "--committed", committed, "--out", out]);
    }
    let decisions = |d: &str| fs::read_to_string(root.join(d).join("decisions.csv")).unwrap();
    assert!(
        decisions("n1").contains(",true\n"),
        "some applicants committed"
    );
    assert_eq!(decisions("nfr"), decisions("n1"));
    assert_eq!(decisions("nx"), decisions("n1"));
}
