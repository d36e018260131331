//! The allocation as planners see it: the real Tangier outcome pinned, the output files'
//! columns and rows, determinism, and an infeasible quota reported with exit code 1.

use std::fs;
use std::path::Path;
use std::process::{Command, Output};

use idmaj::{Engine, Gender};

/// The columns of `decisions.csv`, as documented.
const DECISION_COLUMNS: [&str; 12] = [
    "id",
    "eligible",
    "failed_checks",
    "reasons",
    "score",
    "option",
    "kit",
    "cash",
    "amount",
    "funders",
    "why_not",
    "committed",
];

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn idmaj(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_idmaj"))
        .args(args)
        .current_dir(repo())
        .output()
        .expect("run idmaj")
}

/// The programme (docs/programme.md): the first Tangier batch funded 21 people, 6 of them
/// women, for 262,519 MAD.
#[test]
fn tangier_2016_funds_21_people_6_women_within_262519() {
    let engine = Engine::load(repo().join("scenarios/tangier-2016")).unwrap();
    let assessments = engine.assess_scenario().unwrap();
    let alloc = engine.allocate(&assessments).unwrap();
    let s = alloc.summary();
    let funded: Vec<_> = assessments
        .iter()
        .zip(alloc.decisions())
        .filter(|(_, d)| d.funded())
        .collect();
    assert_eq!(funded.len(), 21);
    assert_eq!(s.served, 21);
    assert_eq!(
        funded.iter().filter(|(a, _)| a.gender == Gender::F).count(),
        6
    );
    let spent: i64 = funded.iter().map(|(_, d)| d.amount).sum();
    assert_eq!(spent, s.spent);
    assert!(spent <= 262_519, "spent {spent}");
    // Every funded applicant is paid exactly the cost of one of their options.
    for (a, d) in assessments.iter().zip(alloc.decisions()) {
        let paid: i64 = d.funders.iter().map(|f| f.amount).sum();
        assert_eq!(paid, d.amount, "{}", a.id);
        if d.funded() {
            assert!(
                a.offers
                    .iter()
                    .any(|o| o.cost() == d.amount && o.kit == d.kit && o.cash == d.cash),
                "{} got an option the rules did not offer",
                a.id
            );
        }
    }
    assert!(s.proven_optimal && s.gap <= 1e-4);
}

/// ramadan-2016 is a knapsack under the total budget, the Tangier cap and, near the funders'
/// money, the funders who may not pay Tangier's kits (the regional earmark): at every budget,
/// those where the funders' money binds included, the allocator proves its allocation optimal
/// (bound equal to the objective), not just within the 0.01% gap, and the objective grows
/// with the budget until the funders' money is spent.
#[test]
fn ramadan_2016_budgets_are_proven_optimal() {
    let engine = Engine::load(repo().join("scenarios/ramadan-2016")).unwrap();
    let assessments = engine.assess_scenario().unwrap();
    let funders: i64 = engine.info().funders_total;
    let mut last = 0.0;
    for budget in [
        3_000_000, 3_750_000, 4_250_000, 5_000_000, 5_200_000, 5_250_000,
    ] {
        let what_if = engine
            .with_overrides(&[("budget.total", budget.to_string())])
            .unwrap();
        let alloc = what_if.allocate(&assessments).unwrap();
        let alloc = alloc.summary();
        assert!(
            alloc.spent <= budget.min(funders),
            "{budget}: spent {}",
            alloc.spent
        );
        assert!(
            alloc.proven_optimal && alloc.bound <= alloc.objective + 1e-6,
            "{budget}: objective {} bound {}",
            alloc.objective,
            alloc.bound
        );
        assert!(alloc.objective >= last, "{budget}: {}", alloc.objective);
        last = alloc.objective;
    }
}

/// A women quota makes the LP and the knapsack bounds charge a fraction of a person (at 30%,
/// 303 served may need 91 women where the LP uses 90.9): the bound with the quota exact
/// proves these within the gap at the root, where the search used to end at its budget
/// with gaps of 0.09-0.11%. At 0.26 the quota asks for the 91st woman, every woman there is,
/// while the money binds too: proven by splitting on whether every woman is served (the
/// search ended at its budget there, 0.0175% above).
#[test]
fn ramadan_2016_women_shares_are_proven_within_the_gap() {
    let engine = Engine::load(repo().join("scenarios/ramadan-2016")).unwrap();
    let assessments = engine.assess_scenario().unwrap();
    let mut last = f64::INFINITY;
    for share in ["0", "0.1", "0.2", "0.25", "0.26", "0.3", "0.32", "0.35"] {
        let what_if = engine
            .with_overrides(&[("quota.women.min_share", share.to_string())])
            .unwrap();
        let alloc = what_if.allocate(&assessments).unwrap();
        let s = alloc.summary();
        assert!(
            !s.work_limit_reached && !s.timed_out && s.gap <= 1.01e-4,
            "{share}: objective {} bound {} gap {}",
            s.objective,
            s.bound,
            s.gap
        );
        let women = s.by_gender.get("F").map_or(0, |t| t.served);
        let share: f64 = share.parse().unwrap();
        assert!(
            women as f64 >= share * s.served as f64 - 1e-9,
            "{share}: {women} of {}",
            s.served
        );
        assert!(
            s.objective <= last + 1e-6,
            "{share}: a higher share cannot do better"
        );
        last = s.objective;
    }
}

fn allocate_to(dir: &Path, scenario: &str, threads: &str) -> Output {
    idmaj(&[
        "--threads",
        threads,
        "allocate",
        scenario,
        "--out",
        dir.to_str().unwrap(),
    ])
}

#[test]
fn decisions_have_one_row_per_applicant_in_input_order() {
    let tmp = tempfile::tempdir().unwrap();
    let out = allocate_to(tmp.path(), "scenarios/tangier-2016", "2");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut r = csv::Reader::from_path(tmp.path().join("decisions.csv")).unwrap();
    assert_eq!(
        r.headers().unwrap().iter().collect::<Vec<_>>(),
        DECISION_COLUMNS
    );
    let rows: Vec<csv::StringRecord> = r.records().map(Result::unwrap).collect();
    let mut input =
        csv::Reader::from_path(repo().join("scenarios/tangier-2016/applicants.csv")).unwrap();
    let ids: Vec<String> = input.records().map(|r| r.unwrap()[0].to_string()).collect();
    assert_eq!(
        rows.iter().map(|r| r[0].to_string()).collect::<Vec<_>>(),
        ids
    );
    let served = rows.iter().filter(|r| &r[5] != "none").count();
    assert_eq!(served, 21);
    for r in &rows {
        let amount: i64 = r[8].parse().unwrap();
        let funders: i64 = r[9]
            .split('|')
            .filter(|s| !s.is_empty())
            .map(|p| p.rsplit(':').next().unwrap().parse::<i64>().unwrap())
            .sum();
        assert_eq!(amount, funders, "row {:?}", r);
        // Every eligible applicant left out is told why; nobody else is.
        let unfunded_eligible = &r[1] == "true" && &r[5] == "none";
        assert_eq!(!r[10].is_empty(), unfunded_eligible, "row {:?}", r);
    }
    let summary: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(tmp.path().join("summary.json")).unwrap())
            .unwrap();
    for key in [
        "objective",
        "served",
        "eligible",
        "applicants",
        "spent",
        "by_funder",
        "by_city",
        "by_trade",
        "by_gender",
        "constraints",
    ] {
        assert!(summary.get(key).is_some(), "summary.json lacks {key}");
    }
    assert_eq!(summary["served"], 21);
    assert_eq!(summary["by_gender"]["F"]["served"], 6);
    let md = fs::read_to_string(tmp.path().join("summary.md")).unwrap();
    assert!(md.contains("**21 served**"), "{md}");
}

#[test]
fn allocation_outputs_are_identical_for_any_thread_count() {
    let a = tempfile::tempdir().unwrap();
    let b = tempfile::tempdir().unwrap();
    assert!(allocate_to(a.path(), "scenarios/ramadan-2016", "1")
        .status
        .success());
    assert!(allocate_to(b.path(), "scenarios/ramadan-2016", "2")
        .status
        .success());
    for f in ["decisions.csv", "summary.json", "summary.md"] {
        assert!(
            fs::read(a.path().join(f)).unwrap() == fs::read(b.path().join(f)).unwrap(),
            "{f} differs"
        );
    }
}

#[test]
fn a_quota_the_pool_cannot_meet_exits_1_naming_it() {
    let tmp = tempfile::tempdir().unwrap();
    let text = fs::read_to_string(repo().join("scenarios/tangier-2016/scenario.toml"))
        .unwrap()
        .replace("../../rules", &repo().join("rules").display().to_string())
        .replace("min_share = 0.25", "min_count = 15");
    fs::write(tmp.path().join("scenario.toml"), text).unwrap();
    for f in ["applicants.csv", "labour_market.csv"] {
        fs::copy(
            repo().join("scenarios/tangier-2016").join(f),
            tmp.path().join(f),
        )
        .unwrap();
    }
    let out = idmaj(&[
        "allocate",
        tmp.path().to_str().unwrap(),
        "--out",
        tmp.path().join("out").to_str().unwrap(),
    ]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("quota.women.min_count"), "{err}");
    assert!(
        !tmp.path().join("out/decisions.csv").exists(),
        "no empty result is written"
    );
}

/// Of equally good allocations the one that spends least: with money to spare nobody gets
/// a dearer option of the same value (so `compare` shows no option changes that only spend
/// spare money).
#[test]
fn spare_money_is_not_spent_on_dearer_options() {
    let engine = Engine::load(repo().join("scenarios/tangier-2016"))
        .unwrap()
        .with_overrides(&[
            ("budget.total", "10000000"),
            ("funder.foundation.amount", "9900000"),
        ])
        .unwrap();
    let assessments = engine.assess_scenario().unwrap();
    let alloc = engine.allocate(&assessments).unwrap();
    assert_eq!(
        alloc.summary().served,
        24,
        "every eligible applicant is funded"
    );
    for (a, d) in assessments.iter().zip(alloc.decisions()) {
        if d.funded() {
            let cheapest = a.offers.iter().map(|o| o.cost()).min().unwrap();
            assert_eq!(d.amount, cheapest, "{} got a dearer option", a.id);
        }
    }
}

/// A mid-size generated programme (900 applicants, three capped cities) whose LP bound is too
/// loose: the knapsack bound is tighter than every branch-and-bound node's LP, and the search
/// ends as soon as an allocation is within the 0.01% gap of it, well before its work budget.
#[test]
fn a_mid_size_programme_ends_within_the_gap_of_the_knapsack_bound() {
    assert_proven_within_the_gap(idmaj::generate::GenerateOptions {
        applicants: 900,
        seed: 2,
        ..Default::default()
    });
}

/// Generates the programme `opts`, allocates it and checks the search ended within its gap
/// (0.01%), not at its work budget or the clock.
fn assert_proven_within_the_gap(opts: idmaj::generate::GenerateOptions) {
    let tmp = tempfile::tempdir().unwrap();
    idmaj::generate::generate(&opts, tmp.path()).unwrap();
    let engine = Engine::load(tmp.path()).unwrap();
    let assessments = engine.assess_scenario().unwrap();
    let alloc = engine.allocate(&assessments).unwrap();
    let s = alloc.summary();
    assert!(
        !s.work_limit_reached && !s.timed_out,
        "stopped by its limit: objective {} bound {}",
        s.objective,
        s.bound
    );
    assert!(s.gap <= 1e-4, "gap {}", s.gap);
}

/// Programmes of the tight class (budget, three city caps, three small kit stocks, earmarked
/// funders and a women quota all binding): the bound is proven close early, but the best
/// allocation differs from the first ones found by a chain of moves (people in and out, kits
/// passed on). The search near the incumbent finds it, so this one ends proven within the gap
/// instead of at the work budget (as it did before that search, after 38 s at 0.014%).
#[test]
fn a_tight_programme_is_proven_within_the_gap() {
    assert_proven_within_the_gap(idmaj::generate::GenerateOptions {
        applicants: 1000,
        seed: 4,
        tight: true,
    });
}
