//! Helpers shared by the integration tests that run the real binary.
#![allow(dead_code)]

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

pub fn idmaj(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_idmaj"))
        .args(args)
        .current_dir(dir)
        .output()
        .expect("run idmaj")
}

pub fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

pub fn no_panic(out: &Output) {
    let err = text(&out.stderr);
    assert!(
        !err.contains("panicked") && !err.contains("RUST_BACKTRACE"),
        "panic: {err}"
    );
}

pub fn copy_dir(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    for e in fs::read_dir(from).unwrap() {
        let p = e.unwrap().path();
        let dest = to.join(p.file_name().unwrap());
        if p.is_dir() {
            copy_dir(&p, &dest);
        } else {
            fs::copy(&p, &dest).unwrap();
        }
    }
}

/// A copy of a shipped scenario in `root/scenarios/NAME`, with the rules in `root/rules`,
/// so the scenario's `../../rules/*.rhai` paths hold. Returns the scenario folder.
pub fn shipped_copy(root: &Path, name: &str) -> PathBuf {
    copy_dir(&repo().join("rules"), &root.join("rules"));
    let dir = root.join("scenarios").join(name);
    copy_dir(&repo().join("scenarios").join(name), &dir);
    dir
}

/// One applicant of a scenario's file with its core columns typed, for tests that check
/// what was read.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    pub id: String,
    pub gender: idmaj::Gender,
    pub birth_year: i32,
    pub city: String,
    pub release_date: String,
    pub training_track: String,
    pub training_hours: f64,
    pub training_certified: bool,
    pub pm_training: bool,
    pub plan_trade: String,
    pub plan_approved: bool,
    pub plan_cost: f64,
    pub experience_years: f64,
    /// Names of the other columns.
    pub extra: Vec<String>,
}

impl Row {
    /// Whether the file has extra column `name`.
    pub fn extra(&self, name: &str) -> Option<&str> {
        self.extra.iter().find(|n| *n == name).map(String::as_str)
    }
}

/// Every applicant of the scenario at `dir`, read and validated by the engine.
pub fn rows(dir: &Path) -> Vec<Row> {
    let engine = idmaj::Engine::load(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    let applicants = engine
        .applicants()
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    applicants
        .iter()
        .map(|a| {
            let t = |k: &str| a.text(k).unwrap_or_default();
            let n = |k: &str| a.number(k).unwrap_or(f64::NAN);
            let b = |k: &str| matches!(a.get(k), Some(idmaj::FieldValue::Bool(true)));
            Row {
                id: t("id"),
                gender: if t("gender") == "F" {
                    idmaj::Gender::F
                } else {
                    idmaj::Gender::M
                },
                birth_year: n("birth_year") as i32,
                city: t("city"),
                release_date: t("release_date"),
                training_track: t("training_track"),
                training_hours: n("training_hours"),
                training_certified: b("training_certified"),
                pm_training: b("pm_training"),
                plan_trade: t("plan_trade"),
                plan_approved: b("plan_approved"),
                plan_cost: n("plan_cost"),
                experience_years: n("experience_years"),
                extra: a
                    .fields()
                    .map(|(k, _)| k.to_string())
                    .filter(|k| !idmaj::CORE_COLUMNS.contains(&k.as_str()))
                    .collect(),
            }
        })
        .collect()
}
