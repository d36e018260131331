//! Rule test cases: TOML files a planner can read, each case an applicant and what the
//! rules must decide for them.
//!
//! ```toml
//! scenario = "../../scenarios/ramadan-2016"   # params, kits, market and rules come from here
//! [base]                                       # the applicant every case starts from
//! id = "T1"
//! gender = "M"
//! # ... every core column
//! [[case]]
//! name = "119 hours of training is not enough"
//! applicant = { training_hours = 119 }         # changes to the base applicant
//! params = { min_training_hours = 120 }        # optional changes to [params]
//! expect = { eligible = false, failed = ["training"] }
//! ```
//! `expect` may hold `eligible` (true, false or "error"), `failed` (check ids, any order),
//! `score` with `tolerance` (default 0.01), `options` (labels such as `kit:plumbing=11500`,
//! any order) and `error` (a fragment of the rule error message).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::Deserialize;

use crate::applicant::{Record, RowParser, CORE_COLUMNS};
use crate::assessment::Status;
use crate::dialect::Dialect;
use crate::error::{Error, Problem, Result};
use crate::rules::RuleSet;
use crate::scenario::{tidy, Scenario};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CaseFile {
    scenario: String,
    #[serde(default)]
    base: toml::Table,
    #[serde(default)]
    case: Vec<Case>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Case {
    name: String,
    #[serde(default)]
    applicant: toml::Table,
    #[serde(default)]
    params: toml::Table,
    expect: Expect,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Expect {
    eligible: Option<toml::Value>,
    failed: Option<Vec<String>>,
    score: Option<f64>,
    tolerance: Option<f64>,
    options: Option<Vec<String>>,
    error: Option<String>,
}

/// The result of one case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaseResult {
    /// The case file.
    pub file: String,
    /// The case's name.
    pub name: String,
    /// Every expectation that did not hold (empty when the case passed).
    pub failures: Vec<String>,
}

impl CaseResult {
    /// True when every expectation held.
    pub fn passed(&self) -> bool {
        self.failures.is_empty()
    }
}

/// The case files under `dir` (or `dir` itself when it is a file), sorted.
pub fn case_files(dir: &Path) -> Result<Vec<PathBuf>> {
    if dir.is_file() {
        return Ok(vec![dir.to_path_buf()]);
    }
    let entries = std::fs::read_dir(dir).map_err(|e| Error::io(dir, e))?;
    let mut files: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    files.sort();
    Ok(files)
}

fn cell(v: &toml::Value) -> String {
    match v {
        toml::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// A case with the rules it runs under and its applicant, ready to assess.
pub(crate) type PreparedCase = (Case, RuleSet, Record);

/// Every case of one file, prepared; and the file as shown.
pub(crate) fn prepare_file(path: &Path) -> Result<(String, Vec<PreparedCase>)> {
    let display = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    let file: CaseFile = toml::from_str(&text).map_err(|e| {
        let line = e.span().map(|s| crate::scenario::Lines(&text).line(&s));
        let p = Problem::error(&display, e.message().trim().to_string());
        Error::from(match line {
            Some(l) => p.at_line(l),
            None => p,
        })
    })?;
    let dir = path.parent().unwrap_or(Path::new("."));
    let scenario = Scenario::load(&tidy(&dir.join(&file.scenario)))?;
    let mut prepared = Vec::new();
    for (i, case) in file.case.into_iter().enumerate() {
        let mut fields = file.base.clone();
        for (k, v) in &case.applicant {
            fields.insert(k.clone(), v.clone());
        }
        let headers: Vec<String> = fields.keys().cloned().collect();
        let values: Vec<String> = fields.values().map(cell).collect();
        let cities: Arc<crate::hash::FastSet<String>> = scenario.city_set();
        let at = format!("{display} case[{i}] \"{}\"", case.name);
        let dialect = Dialect {
            delimiter: b',',
            decimal_comma: false,
        };
        let parser = RowParser::new(&at, dialect, &headers, cities)?;
        let applicant = parser
            .parse(&csv::StringRecord::from(values))
            .map_err(|ps| Error::Input {
                problems: ps.into_iter().collect(),
            })?;
        let mut sc = scenario.clone();
        for (k, v) in &case.params {
            if !sc.params.contains_key(k) {
                return Err(Problem::error(
                    &at,
                    format!("params.{k} is not a parameter of the scenario"),
                )
                .into());
            }
            sc.params.insert(k.clone(), v.clone());
        }
        let extra: Vec<String> = headers
            .iter()
            .filter(|h| !CORE_COLUMNS.contains(&h.as_str()))
            .cloned()
            .collect();
        let rules = RuleSet::new(&sc, Some(&extra))?;
        prepared.push((case, rules, applicant));
    }
    Ok((display, prepared))
}

/// Runs every case of one file.
pub fn run_file(path: &Path) -> Result<Vec<CaseResult>> {
    let (display, cases) = prepare_file(path)?;
    let mut results = Vec::new();
    for (case, rules, applicant) in cases {
        let a = rules.evaluator()?.assess(applicant);
        let mut failures = Vec::new();
        let e = &case.expect;
        let got = a.eligible_cell();
        if let Some(want) = &e.eligible {
            let want = cell(want);
            if want != got {
                let why = match &a.status {
                    Status::Error(m) => format!(" ({m})"),
                    _ => String::new(),
                };
                failures.push(format!("eligible: expected {want}, got {got}{why}"));
            }
        }
        if let Some(want) = &e.failed {
            let mut want = want.clone();
            want.sort();
            let mut have: Vec<String> = a.failed().map(|c| c.id.clone()).collect();
            have.sort();
            if want != have {
                failures.push(format!(
                    "failed checks: expected [{}], got [{}]",
                    want.join(", "),
                    have.join(", ")
                ));
            }
        }
        if let Some(want) = e.score {
            let tol = e.tolerance.unwrap_or(0.01);
            if (a.score - want).abs() > tol {
                failures.push(format!(
                    "score: expected {want} ± {tol}, got {:.4}",
                    a.score
                ));
            }
        }
        if let Some(want) = &e.options {
            let mut want = want.clone();
            want.sort();
            let mut have: Vec<String> = a.offers.iter().map(|o| o.label()).collect();
            have.sort();
            if want != have {
                failures.push(format!(
                    "options: expected [{}], got [{}]",
                    want.join(", "),
                    have.join(", ")
                ));
            }
        }
        if let Some(want) = &e.error {
            match &a.status {
                Status::Error(m) if m.contains(want.as_str()) => {}
                Status::Error(m) => failures.push(format!(
                    "error: expected a message containing \"{want}\", got \"{m}\""
                )),
                _ => failures.push(format!(
                    "error: expected a rule error containing \"{want}\", got none"
                )),
            }
        }
        results.push(CaseResult {
            file: display.clone(),
            name: case.name.clone(),
            failures,
        });
    }
    Ok(results)
}
