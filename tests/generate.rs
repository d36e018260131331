//! Synthetic scenarios (`idmaj::generate`) and the shipped `ramadan-2016` scenario.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use idmaj::generate::{
    generate, write_applicants, write_labour_market, GenerateOptions, Population, CITIES,
    RAMADAN_2016_SEED, TRADES,
};
use idmaj::Gender;

mod common;
use common::{rows, Row};

fn ramadan_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/ramadan-2016")
}

fn load(dir: &Path) -> (idmaj::ScenarioInfo, Vec<Row>, usize) {
    let engine = idmaj::Engine::load(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    (engine.info(), rows(dir), engine.warnings().len())
}

fn opts(applicants: u64, seed: u64) -> GenerateOptions {
    GenerateOptions {
        applicants,
        seed,
        ..Default::default()
    }
}

fn file_bytes(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let p = entry.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                let rel = p.strip_prefix(dir).unwrap().to_path_buf();
                out.insert(rel, std::fs::read(&p).unwrap());
            }
        }
    }
    out
}

#[test]
fn same_seed_writes_byte_identical_files() {
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let sa = generate(&opts(3_000, 7), a.path()).unwrap();
    let sb = generate(&opts(3_000, 7), b.path()).unwrap();
    assert_eq!(sa.applicants, 3_000);
    assert_eq!(sa.files.len(), sb.files.len());
    let (fa, fb) = (file_bytes(a.path()), file_bytes(b.path()));
    assert_eq!(fa.keys().collect::<Vec<_>>(), fb.keys().collect::<Vec<_>>());
    for (k, v) in &fa {
        assert!(v == &fb[k], "{} differs between two runs", k.display());
    }
    // Every file the summary names exists, and every file written is named.
    assert_eq!(sa.files.len(), fa.len());
    assert!(sa.files.iter().all(|f| f.is_file()));
}

#[test]
fn different_seeds_write_different_applicants() {
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    generate(&opts(500, 1), a.path()).unwrap();
    generate(&opts(500, 2), b.path()).unwrap();
    let read = |d: &Path, f: &str| std::fs::read(d.join(f)).unwrap();
    assert_ne!(
        read(a.path(), "applicants.csv"),
        read(b.path(), "applicants.csv")
    );
    assert_ne!(
        read(a.path(), "labour_market.csv"),
        read(b.path(), "labour_market.csv")
    );
}

#[test]
fn generated_scenario_loads_with_every_city_gender_and_trade() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("new/folder");
    generate(&opts(5_000, 42), &out).unwrap();
    let (scenario, applicants, warnings) = load(&out);

    assert_eq!(applicants.len(), 5_000);
    assert_eq!(scenario.cities, CITIES.map(String::from).to_vec());
    assert_eq!(
        scenario.program,
        "Synthetic programme (5000 applicants, seed 42)"
    );
    assert_eq!(scenario.date, "2016-06-06");
    assert_eq!(scenario.rules.len(), 6);
    assert!(scenario
        .rules
        .iter()
        .all(|r| Path::new(r).starts_with(&out) && Path::new(r).is_file()));
    let total = scenario.budget_total.expect("budget.total");
    assert!(scenario.funders_total >= total);
    assert_eq!(
        scenario.city_caps.keys().collect::<Vec<_>>(),
        ["Casablanca", "Fes", "Tangier"]
    );
    assert_eq!(scenario.kits.len(), 6);
    assert_eq!(
        scenario.kits.iter().filter(|k| k.stock.is_some()).count(),
        2
    );
    let toml = std::fs::read_to_string(out.join("scenario.toml")).unwrap();
    assert!(toml.contains("min_share = 0.25"), "{toml}");
    assert_eq!(warnings, 0);
    for key in [
        "min_training_hours",
        "max_months_since_release",
        "points_woman",
    ] {
        assert!(scenario.params.iter().any(|p| p == key), "{key}");
    }

    let cities: BTreeSet<&str> = applicants.iter().map(|a| a.city.as_str()).collect();
    assert_eq!(cities.len(), 13);
    let trades: BTreeSet<&str> = TRADES.iter().copied().collect();
    let tracks: BTreeSet<&str> = applicants
        .iter()
        .map(|a| a.training_track.as_str())
        .collect();
    let plans: BTreeSet<&str> = applicants.iter().map(|a| a.plan_trade.as_str()).collect();
    assert_eq!(tracks, trades);
    assert_eq!(plans, trades);
    assert!(applicants.iter().any(|a| a.gender == Gender::F));
    assert!(applicants.iter().any(|a| a.gender == Gender::M));
    assert_eq!(applicants[0].id, "A000001");
    assert_eq!(applicants[4_999].id, "A005000");
    assert!(applicants[0].extra("prison").is_some());
    assert!(applicants[0].extra("family_dependents").is_some());
}

#[test]
fn generated_applicants_follow_the_programme() {
    let dir = tempfile::tempdir().unwrap();
    generate(&opts(20_000, 3), dir.path()).unwrap();
    let (_, applicants, _) = load(dir.path());
    let n = applicants.len() as f64;
    let share = |f: &dyn Fn(&Row) -> bool| applicants.iter().filter(|a| f(a)).count() as f64 / n;

    let women = share(&|a| a.gender == Gender::F);
    assert!((0.24..0.30).contains(&women), "women {women}");
    let short_training = share(&|a| a.training_hours < 120.0);
    assert!((0.20..0.30).contains(&short_training), "{short_training}");
    let certified = share(&|a| a.training_certified);
    assert!((0.70..0.80).contains(&certified), "{certified}");
    let pm = share(&|a| a.pm_training);
    assert!((0.75..0.85).contains(&pm), "{pm}");
    let same = share(&|a| a.plan_trade == a.training_track);
    assert!((0.65..0.75).contains(&same), "{same}");
    let approved = share(&|a| a.plan_approved);
    assert!((0.80..0.90).contains(&approved), "{approved}");
    let avg_cost = applicants.iter().map(|a| a.plan_cost).sum::<f64>() / n;
    assert!((14_500.0..16_700.0).contains(&avg_cost), "{avg_cost}");

    let casablanca = share(&|a| a.city == "Casablanca");
    assert!(CITIES
        .iter()
        .all(|c| share(&|a| a.city == *c) <= casablanca));
    for a in &applicants {
        assert!((1960..=2000).contains(&a.birth_year));
        assert!((6_000.0..=30_000.0).contains(&a.plan_cost));
        assert!((60.0..=400.0).contains(&a.training_hours));
        assert!((0.0..=12.0).contains(&a.experience_years));
        assert!(a.release_date.to_string().as_str() >= "2012-05-01");
        assert!(a.release_date.to_string().as_str() <= "2016-12-31");
    }
    let not_released = share(&|a| a.release_date.to_string().as_str() > "2016-06-06");
    assert!((0.005..0.06).contains(&not_released), "{not_released}");
}

#[test]
fn tiny_scenarios_still_load() {
    for n in [0, 1, 13] {
        let dir = tempfile::tempdir().unwrap();
        generate(&opts(n, 9), dir.path()).unwrap();
        let applicants = rows(dir.path());
        assert_eq!(applicants.len() as u64, n);
    }
}

#[test]
fn ramadan_2016_loads_with_13_cities_and_its_budget() {
    let (scenario, applicants, warnings) = load(&ramadan_dir());
    assert_eq!(scenario.cities.len(), 13);
    assert!(
        (450..=600).contains(&applicants.len()),
        "{}",
        applicants.len()
    );
    assert_eq!(scenario.budget_total, Some(5_200_000));
    assert!(scenario.funders_total >= 5_200_000);
    assert_eq!(warnings, 0);
    assert_eq!(scenario.date, "2016-06-06");
    assert_eq!(scenario.rules.len(), 6);

    let cities: BTreeSet<&str> = applicants.iter().map(|a| a.city.as_str()).collect();
    assert_eq!(cities.len(), 13);
    let tangier = applicants.iter().filter(|a| a.city == "Tangier").count();
    assert!((40..=60).contains(&tangier), "{tangier}");
    assert!(applicants.iter().all(|a| a.id.starts_with("R16-")));
    let avg = applicants.iter().map(|a| a.plan_cost).sum::<f64>() / applicants.len() as f64;
    assert!((14_800.0..16_400.0).contains(&avg), "{avg}");
}

/// The committed data is exactly what the documented call writes.
#[test]
fn ramadan_2016_data_is_reproducible() {
    let dir = tempfile::tempdir().unwrap();
    let (a, m) = (dir.path().join("a.csv"), dir.path().join("m.csv"));
    write_applicants(&Population::ramadan_2016(), &a).unwrap();
    write_labour_market(RAMADAN_2016_SEED, &m).unwrap();
    let committed = ramadan_dir();
    assert!(
        std::fs::read(&a).unwrap() == std::fs::read(committed.join("applicants.csv")).unwrap(),
        "applicants.csv differs from a fresh generation; see scenarios/ramadan-2016/README.md"
    );
    assert!(
        std::fs::read(&m).unwrap() == std::fs::read(committed.join("labour_market.csv")).unwrap(),
        "labour_market.csv differs from a fresh generation"
    );
}

/// Rewrites the shipped data: `cargo test --test generate -- --ignored regenerate`.
#[test]
#[ignore]
fn regenerate_ramadan_2016_data() {
    let dir = ramadan_dir();
    let stats = write_applicants(&Population::ramadan_2016(), &dir.join("applicants.csv")).unwrap();
    write_labour_market(RAMADAN_2016_SEED, &dir.join("labour_market.csv")).unwrap();
    println!("{stats:#?}");
}

/// How long a million applicants take (not a timed test; run in release with
/// `cargo test --release --test generate -- --ignored million --nocapture`).
#[test]
#[ignore]
fn million_applicants() {
    let dir = tempfile::tempdir().unwrap();
    let start = std::time::Instant::now();
    let summary = generate(&opts(1_000_000, 1), dir.path()).unwrap();
    let elapsed = start.elapsed();
    let bytes = std::fs::metadata(dir.path().join("applicants.csv"))
        .unwrap()
        .len();
    println!(
        "1,000,000 applicants in {elapsed:.2?} ({} MB)",
        bytes / 1_000_000
    );
    assert_eq!(summary.applicants, 1_000_000);
    let text = std::fs::read_to_string(dir.path().join("applicants.csv")).unwrap();
    assert_eq!(text.lines().count(), 1_000_001);
    println!(
        "{}",
        std::fs::read_to_string(dir.path().join("README.md")).unwrap()
    );
}

/// `--tight`: the allocator's hard class, sized from the applicants as documented.
#[test]
fn tight_programmes_have_every_row_the_class_promises() {
    let tmp = tempfile::tempdir().unwrap();
    let opts = GenerateOptions {
        applicants: 1200,
        seed: 3,
        tight: true,
    };
    generate(&opts, tmp.path()).unwrap();
    let engine = idmaj::Engine::load(tmp.path()).unwrap();
    let info = engine.info();
    let toml = std::fs::read_to_string(tmp.path().join("scenario.toml")).unwrap();
    assert!(toml.contains("min_share = 0.3"), "{toml}");
    let stocks: Vec<u32> = info.kits.iter().filter_map(|k| k.stock).collect();
    assert_eq!(stocks, vec![12, 10, 15], "{toml}");
    let total = info.budget_total.unwrap();
    let caps: i64 = info.city_caps.values().sum();
    // Caps 3% + 5% + 4% = 12% against a total of 50%.
    assert!(
        (caps * 50 - total * 12).abs() <= 50 * 3,
        "{caps} vs {total}"
    );
    let alloc = engine.allocate(&engine.assess_scenario().unwrap()).unwrap();
    assert!(alloc.summary().spent <= total);
    assert_ne!(
        std::fs::read(tmp.path().join("applicants.csv")).unwrap(),
        Vec::<u8>::new()
    );
}
