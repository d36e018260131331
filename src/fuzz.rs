//! Fuzzing that runs on the stable toolchain: a small mutation fuzzer over seed inputs for
//! the four parsers that take what planners type (the applicants CSV reader, the scenario
//! loader, the rule loader and `--set`), asserting that nothing panics. Every input either
//! loads or is refused with an error.
//!
//! `cargo test --lib fuzz` runs a short pass (as CI does). A long run:
//! `IDMAJ_FUZZ_RUNS=1000000 cargo test --release --lib fuzz -- --nocapture`; a panicking
//! input is written to `target/fuzz-crash-TARGET` to replay.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;

use crate::applicant::read_records;
use crate::engine::Sources;
use crate::overrides::Override;
use crate::rules::RuleSet;
use crate::scenario::{DataSource, Scenario};

/// splitmix64: deterministic, so a failing run can be repeated from its seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// Tokens that tend to reach corner cases of these formats.
const TOKENS: &[&str] = &[
    "\"",
    ",",
    ";",
    "\t",
    "\n",
    "\r\n",
    "[",
    "]",
    "[[",
    "]]",
    "=",
    "{",
    "}",
    "#",
    "'",
    "'''",
    "\"\"\"",
    ".",
    "..",
    "-",
    "+",
    "0",
    "-1",
    "1e999",
    "NaN",
    "inf",
    "9223372036854775807",
    "99999999999999999999",
    "0.000001",
    "\u{1b}[31m",
    "\u{0}",
    "\u{feff}",
    "é",
    "ي",
    "oui",
    "F",
    "M",
    "2016-02-30",
    "31/12/2016",
    "Tangier",
    "applicant.",
    "params.",
    "program.",
    "check(",
    "add_score(",
    "offer_cash(",
    "offer_kit(",
    "while true {}",
    "loop {",
    "fn f(",
    "let x = ",
    "/*",
    "*/",
    "//",
    "()",
    "1/0",
    "eval(",
    "import ",
    "budget.total",
    "quota.women.min_share",
    "funder.foundation.amount",
    "kit.plumbing.stock",
    "[a,b]",
];

/// `seed` changed by one to four random edits.
fn mutate(rng: &mut Rng, seed: &str, seeds: &[&str]) -> String {
    let mut b: Vec<u8> = seed.as_bytes().to_vec();
    for _ in 0..1 + rng.below(4) {
        let at = rng.below(b.len() + 1);
        match rng.below(7) {
            0 if !b.is_empty() => {
                let i = rng.below(b.len());
                b[i] ^= 1 << rng.below(8);
            }
            1 => {
                let t = TOKENS[rng.below(TOKENS.len())].as_bytes();
                b.splice(at..at, t.iter().copied());
            }
            2 if !b.is_empty() => {
                let len = 1 + rng.below(16.min(b.len()));
                let start = rng.below(b.len() + 1 - len);
                b.drain(start..start + len);
            }
            3 if !b.is_empty() => {
                let len = 1 + rng.below(64.min(b.len()));
                let start = rng.below(b.len() + 1 - len);
                let copy: Vec<u8> = b[start..start + len].to_vec();
                b.splice(at..at, copy);
            }
            4 => {
                let other = seeds[rng.below(seeds.len())].as_bytes();
                let cut = rng.below(other.len() + 1);
                b.truncate(at);
                b.extend_from_slice(&other[cut..]);
            }
            5 => b.insert(at.min(b.len()), rng.below(256) as u8),
            _ => {
                let t = TOKENS[rng.below(TOKENS.len())].repeat(1 + rng.below(40));
                b.splice(at..at, t.into_bytes());
            }
        }
    }
    String::from_utf8_lossy(&b).into_owned()
}

fn runs() -> usize {
    std::env::var("IDMAJ_FUZZ_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(300)
}

fn read(path: &str) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// The Tangier scenario in memory, with its shipped rules.
fn tangier() -> Sources {
    let rules = [
        "training", "project", "market", "release", "score", "options",
    ]
    .iter()
    .map(|n| (format!("{n}.rhai"), read(&format!("rules/{n}.rhai"))))
    .collect();
    Sources {
        scenario_toml: read("scenarios/tangier-2016/scenario.toml"),
        labour_market_csv: read("scenarios/tangier-2016/labour_market.csv"),
        rules,
        applicants_csv: None,
    }
}

/// Runs `target` on `runs()` mutations of the seeds; fails on the first panic, keeping it.
fn fuzz(name: &str, seeds: &[&str], target: impl Fn(&str)) {
    let n = runs();
    let mut rng = Rng(0x1d3a_0000 ^ name.len() as u64);
    let quiet = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let mut failure = None;
    for i in 0..n {
        let input = mutate(&mut rng, seeds[i % seeds.len()], seeds);
        if catch_unwind(AssertUnwindSafe(|| target(&input))).is_err() {
            failure = Some((i, input));
            break;
        }
    }
    std::panic::set_hook(quiet);
    if let Some((i, input)) = failure {
        let path = format!("target/fuzz-crash-{name}");
        let _ = std::fs::write(&path, &input);
        panic!("{name}: run {i} panicked; input kept in {path}");
    }
    println!("{name}: {n} runs, no panic");
}

#[test]
fn fuzz_the_applicants_csv_reader() {
    let scenario = Scenario::from_sources(tangier()).expect("the seed scenario loads");
    let cities = scenario.city_set();
    let plain = read("scenarios/tangier-2016/applicants.csv");
    let french = plain.replace(',', ";").replace("true", "oui");
    fuzz("csv", &[&plain, &french], |csv| {
        let data = DataSource::Text {
            display: "applicants.csv".into(),
            text: Arc::from(csv),
        };
        let _ = read_records(&data, Arc::clone(&cities));
    });
}

#[test]
fn fuzz_the_scenario_loader() {
    let base = tangier();
    let ramadan = read("scenarios/ramadan-2016/scenario.toml");
    fuzz("scenario", &[&base.scenario_toml, &ramadan], |toml| {
        let _ = Scenario::from_sources(Sources {
            scenario_toml: toml.to_string(),
            ..base.clone()
        });
    });
}

#[test]
fn fuzz_the_rule_loader() {
    let base = tangier();
    let scenario = Scenario::from_sources(base.clone()).expect("the seed scenario loads");
    let applicant = crate::Engine::from_sources(Sources {
        applicants_csv: Some(read("scenarios/tangier-2016/applicants.csv")),
        ..base.clone()
    })
    .and_then(|e| e.applicants())
    .expect("the seed applicants load")
    .remove(0);
    let validator = crate::applicant::Validator::new(scenario.city_set());
    let record = validator.record(&applicant).expect("valid");
    let texts: Vec<String> = base.rules.iter().map(|(_, t)| t.clone()).collect();
    let seeds: Vec<&str> = texts.iter().map(String::as_str).collect();
    fuzz("rules", &seeds, |text| {
        let mut s = scenario.clone();
        s.rules.truncate(1);
        s.rules[0].text = text.to_string();
        if let Ok(set) = RuleSet::new(&s, None) {
            if let Ok(mut ev) = set.evaluator() {
                let _ = ev.assess(record.clone());
            }
        }
    });
}

#[test]
fn fuzz_set_parsing() {
    let scenario = Scenario::from_sources(tangier()).expect("the seed scenario loads");
    let seeds = [
        "budget.total=4000000",
        "quota.women.min_share=0.3",
        "funder.foundation.amount=0",
        "params.min_training_hours=150",
        "kit.plumbing.stock=3",
        "funder.wilaya-tth.cities=[Tangier]",
        "objective.maximize=served",
        "solver.time_limit=1.5",
        "program.date=2016-07-01",
    ];
    fuzz("set", &seeds, |spec| {
        if let Ok(o) = Override::parse(spec) {
            let _ = scenario.with_overrides(&[o]);
        }
        let _ = crate::sweep::Setting::parse(spec);
    });
}
