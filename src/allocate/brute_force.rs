//! Allocation on scenarios built in code: exact checks of every budget, earmark, stock and
//! quota on random scenarios, brute-force optimality on tiny ones, and the promised
//! behaviours (infeasibility messages, reasons, determinism, lexicographic
//! served_then_score).

use std::collections::BTreeMap;
use std::fmt::Write as _;

use proptest::prelude::*;

use super::{solve as allocate_with_progress, SearchProgress, Solution as Allocation};
use crate::applicant::Gender;
use crate::assessment::{Assessment, Offer, Status};
use crate::error::Error;
use crate::scenario::{Kind, Origin, Scenario};

/// The allocation of `a` under `s` (no progress reports).
fn allocate(s: &Scenario, a: &[Assessment]) -> crate::Result<Allocation> {
    allocate_with_progress(s, a, &|_| {})
}

const CITIES: [&str; 3] = ["Fes", "Rabat", "Tangier"];

/// A scenario from the TOML after `[rules]` (budget, funders, kits, quotas, objective).
fn scenario(body: &str) -> (tempfile::TempDir, Scenario) {
    let dir = tempfile::tempdir().unwrap();
    let mut lm = String::from("city,trade,demand\n");
    for c in CITIES {
        writeln!(lm, "{c},plumbing,0.5").unwrap();
    }
    std::fs::write(dir.path().join("lm.csv"), lm).unwrap();
    std::fs::write(dir.path().join("r.rhai"), "// not run by the allocator\n").unwrap();
    let text = format!(
        "[program]\nname = \"t\"\ndate = \"2016-06-06\"\n[data]\napplicants = \"a.csv\"\n\
         labour_market = \"lm.csv\"\n[rules]\nfiles = [\"r.rhai\"]\n{body}"
    );
    let s = Scenario::from_text(
        text,
        "scenario.toml".into(),
        Origin::Dir(dir.path().to_path_buf()),
    )
    .unwrap();
    (dir, s)
}

fn kit(id: &str, cost: i64, cash: i64) -> Offer {
    Offer {
        kit: Some(id.into()),
        kit_cost: cost,
        cash,
    }
}

fn cash(amount: i64) -> Offer {
    Offer {
        kit: None,
        kit_cost: 0,
        cash: amount,
    }
}

fn person(id: &str, city: &str, woman: bool, score: f64, offers: Vec<Offer>) -> Assessment {
    Assessment {
        id: id.into(),
        line: 2,
        city: city.into(),
        gender: if woman { Gender::F } else { Gender::M },
        trade: "plumbing".into(),
        status: Status::Eligible,
        checks: Vec::new(),
        score,
        score_items: Vec::new(),
        offers,
        quotas: if woman {
            vec!["women".into()]
        } else {
            Vec::new()
        },
        log: Vec::new(),
        scenario: String::new(),
    }
}

/// The same people for a scenario without quotas.
fn without_quotas(mut a: Vec<Assessment>) -> Vec<Assessment> {
    for x in &mut a {
        x.quotas.clear();
    }
    a
}

const WOMEN: &str = "[[quota]]\nname = \"women\"\nwhen = 'applicant.gender == \"F\"'\n";

/// Whether the funders can pay these (city, kind) demands: Hall's condition on every set of
/// cells (independent of the allocator's own formulation over sets of funders).
fn fundable(s: &Scenario, demand: &BTreeMap<(String, Kind), i64>) -> bool {
    let cells: Vec<(&(String, Kind), &i64)> = demand.iter().filter(|(_, d)| **d > 0).collect();
    for mask in 1u32..(1 << cells.len()) {
        let inside = |k: usize| mask & (1 << k) != 0;
        let need: i64 = (0..cells.len())
            .filter(|&k| inside(k))
            .map(|k| cells[k].1)
            .sum();
        let have: i64 = s
            .funders
            .iter()
            .filter(|f| {
                (0..cells.len()).any(|k| inside(k) && f.may_pay(&cells[k].0 .0, cells[k].0 .1))
            })
            .map(|f| f.amount)
            .sum();
        if need > have {
            return false;
        }
    }
    true
}

/// Every rule of the scenario, checked in integers for the given choices.
fn feasible(s: &Scenario, a: &[Assessment], choices: &[Option<usize>]) -> bool {
    let mut total = 0i64;
    let mut city: BTreeMap<&str, i64> = BTreeMap::new();
    let mut kits: BTreeMap<&str, i64> = BTreeMap::new();
    let mut demand: BTreeMap<(String, Kind), i64> = BTreeMap::new();
    let (mut served, mut women) = (0i64, 0i64);
    for (x, ch) in a.iter().zip(choices) {
        let Some(o) = ch else { continue };
        if !x.eligible() {
            return false;
        }
        let offer = &x.offers[*o];
        served += 1;
        women += i64::from(x.in_quota("women"));
        total += offer.cost();
        *city.entry(&x.city).or_default() += offer.cost();
        if let Some(k) = &offer.kit {
            *kits.entry(k).or_default() += 1;
        }
        *demand.entry((x.city.clone(), Kind::Kit)).or_default() += offer.kit_cost;
        *demand.entry((x.city.clone(), Kind::Cash)).or_default() += offer.cash;
    }
    if s.budget_total.is_some_and(|b| total > b) {
        return false;
    }
    if s.city_caps
        .iter()
        .any(|(c, cap)| city.get(c.as_str()).copied().unwrap_or(0) > *cap)
    {
        return false;
    }
    if s.kits.iter().any(|k| {
        k.stock
            .is_some_and(|st| kits.get(k.id.as_str()).copied().unwrap_or(0) > i64::from(st))
    }) {
        return false;
    }
    for q in &s.quotas {
        // Shares in hundredths, as the tests write them.
        if q.min_share
            .is_some_and(|m| women * 100 < (m * 100.0).round() as i64 * served)
        {
            return false;
        }
        if q.max_share
            .is_some_and(|m| women * 100 > (m * 100.0).round() as i64 * served)
        {
            return false;
        }
        if q.min_count.is_some_and(|m| women < i64::from(m)) {
            return false;
        }
        if q.max_count.is_some_and(|m| women > i64::from(m)) {
            return false;
        }
    }
    fundable(s, &demand)
}

/// Checks an allocation independently: rules, funding, earmarks, reasons, bound.
fn check(s: &Scenario, a: &[Assessment], r: &Allocation) {
    assert!(
        feasible(s, a, &r.choices),
        "infeasible allocation {:?}",
        r.choices
    );
    let mut by_funder: BTreeMap<&str, i64> = BTreeMap::new();
    for (i, x) in a.iter().enumerate() {
        match r.choices[i] {
            Some(o) => {
                let offer = &x.offers[o];
                let paid: i64 = r.funding[i].iter().map(|(_, m)| m).sum();
                assert_eq!(paid, offer.cost(), "{} paid {paid}", x.id);
                for (f, m) in &r.funding[i] {
                    let funder = s.funders.iter().find(|g| g.id == *f).unwrap();
                    let kinds_ok = (offer.kit_cost > 0 && funder.may_pay(&x.city, Kind::Kit))
                        || (offer.cash > 0 && funder.may_pay(&x.city, Kind::Cash));
                    assert!(kinds_ok, "{f} pays {} against its earmark", x.id);
                    *by_funder.entry(f).or_default() += m;
                }
                assert!(r.why_not[i].is_none());
            }
            None => {
                assert!(r.funding[i].is_empty());
                assert_eq!(
                    r.why_not[i].is_some(),
                    x.eligible(),
                    "{}: {:?}",
                    x.id,
                    r.why_not[i]
                );
            }
        }
    }
    for f in &s.funders {
        assert!(by_funder.get(f.id.as_str()).copied().unwrap_or(0) <= f.amount);
    }
    assert!(
        r.objective <= r.bound + 1e-6,
        "{} > {}",
        r.objective,
        r.bound
    );
    assert_eq!(r.served, r.choices.iter().flatten().count());
}

/// Best (served, score) by the objective, over every choice; `None` if nothing is feasible.
fn brute_force(s: &Scenario, a: &[Assessment]) -> Option<(usize, f64)> {
    let options: Vec<usize> = a
        .iter()
        .map(|x| if x.eligible() { x.offers.len() + 1 } else { 1 })
        .collect();
    let mut digits = vec![0usize; a.len()];
    let mut best: Option<(usize, f64)> = None;
    loop {
        let choices: Vec<Option<usize>> = digits.iter().map(|&d| d.checked_sub(1)).collect();
        if feasible(s, a, &choices) {
            let served = choices.iter().flatten().count();
            let score: f64 = a
                .iter()
                .zip(&choices)
                .filter(|(_, c)| c.is_some())
                .map(|(x, _)| x.score)
                .sum();
            let better = match (best, s.objective) {
                (None, _) => true,
                (Some((_, b)), crate::scenario::Objective::Score) => score > b + 1e-9,
                (Some((n, _)), crate::scenario::Objective::Served) => served > n,
                (Some((n, b)), crate::scenario::Objective::ServedThenScore) => {
                    served > n || (served == n && score > b + 1e-9)
                }
            };
            if better {
                best = Some((served, score));
            }
        }
        let mut k = 0;
        loop {
            if k == a.len() {
                return best;
            }
            digits[k] += 1;
            if digits[k] < options[k] {
                break;
            }
            digits[k] = 0;
            k += 1;
        }
    }
}

/// A random small programme: scenario TOML body and assessments.
fn programme(n: usize) -> impl Strategy<Value = (String, Vec<Assessment>)> {
    let people = prop::collection::vec(
        (
            0..3usize,
            any::<bool>(),
            any::<bool>(),
            1..100u32,
            0..3usize,
            8..26i64,
            0..4i64,
            1..4usize,
        ),
        1..=n,
    );
    let money = (
        prop::option::of(20..120i64),
        prop::option::of(10..60i64),
        prop::option::of(5..50i64),
        prop::option::of(5..40i64),
        0..4usize,
        prop::option::of(0..4u32),
        prop::option::of(0..3u32),
        0..3usize,
        0..4usize,
        0..4usize,
    );
    (people, money).prop_map(
        |(
            people,
            (total, cap, earmarked, cash_only, quota, stock, min_count, objective, kitcash, to),
        )| {
            let mut body = String::from("[budget]\n");
            if let Some(t) = total {
                writeln!(body, "total = {}", t * 1000).unwrap();
            }
            if let Some(c) = cap {
                writeln!(body, "[budget.cities]\nFes = {}", c * 1000).unwrap();
            }
            writeln!(
                body,
                "[[funder]]\nid = \"state\"\namount = {}",
                total.unwrap_or(80) * 700
            )
            .unwrap();
            if let Some(e) = earmarked {
                // To Tangier or to the capped Fes, for anything or for kits only.
                writeln!(
                    body,
                    "[[funder]]\nid = \"wilaya\"\namount = {}\ncities = [\"{}\"]{}",
                    e * 1000,
                    ["Tangier", "Fes"][to % 2],
                    ["", "\nkinds = [\"kit\"]"][to / 2]
                )
                .unwrap();
            }
            if let Some(c) = cash_only {
                writeln!(
                    body,
                    "[[funder]]\nid = \"cash-fund\"\namount = {}\nkinds = [\"cash\"]",
                    c * 1000
                )
                .unwrap();
            }
            writeln!(
                body,
                "[[kit]]\nid = \"plumbing\"\ntrade = \"plumbing\"\ncost = 11000"
            )
            .unwrap();
            if let Some(st) = stock {
                writeln!(body, "stock = {st}").unwrap();
            }
            writeln!(
                body,
                "[[kit]]\nid = \"welding\"\ntrade = \"welding\"\ncost = 16000\nstock = 2"
            )
            .unwrap();
            body.push_str(WOMEN);
            match quota {
                0 => body.push_str("min_share = 0.25\n"),
                1 => body.push_str("max_share = 0.5\n"),
                2 => writeln!(body, "min_count = {}", min_count.unwrap_or(1)).unwrap(),
                _ => body.push_str("max_count = 2\nmin_share = 0.34\n"),
            }
            let maximize = ["score", "served", "served_then_score"][objective];
            writeln!(
                body,
                "[objective]\nmaximize = \"{maximize}\"\n[solver]\ngap = 0.0\ntime_limit = 20"
            )
            .unwrap();
            let assessments = people
                .into_iter()
                .enumerate()
                .map(
                    |(i, (city, woman, ineligible, score, kind, amount, extra, count))| {
                        let k = if kind == 0 {
                            ("plumbing", 11_000)
                        } else {
                            ("welding", 16_000)
                        };
                        let mut offers = vec![
                            kit(k.0, k.1, 0),
                            cash(amount * 1000),
                            kit(k.0, k.1, extra * 1000 + 1000),
                        ];
                        offers.rotate_left((kind + kitcash) % 3);
                        offers.truncate(count);
                        let mut p = person(
                            &format!("P{:02}", (i * 7) % 11 + i * 11),
                            CITIES[city],
                            woman,
                            f64::from(score) / 2.0,
                            offers,
                        );
                        if ineligible && i % 3 == 0 {
                            p.status = Status::Ineligible;
                        }
                        p
                    },
                )
                .collect();
            (body, assessments)
        },
    )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    /// Tiny programmes: the allocation meets every rule and matches a brute-force optimum.
    #[test]
    fn tiny_programmes_are_optimal((body, a) in programme(7)) {
        let (_dir, s) = scenario(&body);
        let truth = brute_force(&s, &a);
        match allocate(&s, &a) {
            Ok(r) => {
                check(&s, &a, &r);
                let (served, score) = truth.expect("allocator found an allocation brute force did not");
                match s.objective {
                    crate::scenario::Objective::Served => prop_assert_eq!(r.served, served),
                    crate::scenario::Objective::Score => prop_assert!((r.objective - score).abs() < 1e-6, "{} vs {}", r.objective, score),
                    crate::scenario::Objective::ServedThenScore => {
                        prop_assert_eq!(r.served, served);
                        prop_assert!((r.objective - score).abs() < 1e-6, "{} vs {}", r.objective, score);
                    }
                }
                prop_assert!(r.proven_optimal);
            }
            Err(Error::Infeasible { message: msg, .. }) => prop_assert!(truth.is_none(), "infeasible ({msg}) but brute force found {truth:?}"),
            Err(e) => prop_assert!(false, "error: {e}"),
        }
    }

    /// Larger programmes: every rule holds and the bound is above the objective.
    #[test]
    fn larger_programmes_meet_every_rule((body, a) in programme(40)) {
        let (_dir, s) = scenario(&body);
        match allocate(&s, &a) {
            Ok(r) => check(&s, &a, &r),
            Err(Error::Infeasible { message: msg, .. }) => prop_assert!(msg.contains("quota.women"), "{msg}"),
            Err(e) => prop_assert!(false, "error: {e}"),
        }
    }
}

#[test]
fn infeasible_min_count_names_the_quota_and_shortfall() {
    let body = format!("[budget]\ntotal = 100000\n{WOMEN}min_count = 3\n");
    let (_dir, s) = scenario(&body);
    let a = vec![
        person("a", "Fes", true, 10.0, vec![cash(10_000)]),
        person("b", "Fes", false, 10.0, vec![cash(10_000)]),
    ];
    match allocate(&s, &a) {
        Err(Error::Infeasible { message: msg, .. }) => {
            assert!(msg.contains("quota.women.min_count"), "{msg}");
            assert!(msg.contains("short by 2"), "{msg}");
        }
        other => panic!("expected infeasible, got {other:?}"),
    }
}

#[test]
fn min_count_short_because_of_the_budget() {
    let body = format!("[budget]\ntotal = 25000\n{WOMEN}min_count = 3\n");
    let (_dir, s) = scenario(&body);
    let a: Vec<Assessment> = (0..4)
        .map(|i| person(&format!("w{i}"), "Fes", true, 10.0, vec![cash(10_000)]))
        .collect();
    match allocate(&s, &a) {
        Err(Error::Infeasible { message: msg, .. }) => {
            assert!(
                msg.contains("quota.women.min_count needs 3 but at most 2"),
                "{msg}"
            );
            assert!(msg.contains("within budget.total"), "{msg}");
            assert!(msg.contains("short by 1"), "{msg}");
        }
        other => panic!("expected infeasible, got {other:?}"),
    }
}

#[test]
fn why_not_names_the_binding_city_cap() {
    let body = "[budget]\ntotal = 1000000\n[budget.cities]\nFes = 20000\n";
    let (_dir, s) = scenario(body);
    let a = without_quotas(vec![
        person("a", "Fes", false, 50.0, vec![cash(12_000)]),
        person("b", "Fes", false, 41.2, vec![cash(12_000)]),
        person("c", "Rabat", false, 10.0, vec![cash(12_000)]),
    ]);
    let r = allocate(&s, &a).unwrap();
    check(&s, &a, &r);
    assert_eq!(r.choices, vec![Some(0), None, Some(0)]);
    let why = r.why_not[1].as_ref().map(|w| w.message.as_str()).unwrap();
    assert!(
        why.starts_with("budget.cities.Fes is spent: score 41.2 for 12,000 MAD"),
        "{why}"
    );
    assert!(why.contains("cut-off"), "{why}");
    let cap = r
        .constraints
        .iter()
        .find(|c| c.name == "budget.cities.Fes")
        .unwrap();
    assert!(cap.binding);
    assert_eq!(cap.used, 12_000.0);
}

#[test]
fn reasons_for_no_offer_and_none_for_the_ineligible() {
    let (_dir, s) = scenario("[budget]\ntotal = 50000\n");
    let mut ineligible = person("x", "Fes", false, 90.0, vec![cash(1_000)]);
    ineligible.status = Status::Ineligible;
    let a = without_quotas(vec![person("a", "Fes", false, 5.0, Vec::new()), ineligible]);
    let r = allocate(&s, &a).unwrap();
    assert_eq!(
        r.why_not[0].as_ref().map(|w| w.message.as_str()),
        Some("no offer from the rules")
    );
    assert_eq!(r.why_not[1], None);
    assert_eq!(r.choices, vec![None, None]);
}

#[test]
fn same_input_gives_the_same_allocation() {
    let body = format!(
        "[budget]\ntotal = 200000\n[budget.cities]\nFes = 60000\n[[funder]]\nid = \"a\"\n\
         amount = 150000\n[[funder]]\nid = \"t\"\namount = 40000\ncities = [\"Tangier\"]\n\
         [[kit]]\nid = \"plumbing\"\ntrade = \"plumbing\"\ncost = 11000\nstock = 3\n\
         {WOMEN}min_share = 0.3\n"
    );
    let (_dir, s) = scenario(&body);
    let a: Vec<Assessment> = (0..30)
        .map(|i| {
            let offers = if i % 2 == 0 {
                vec![kit("plumbing", 11_000, 0), cash(9_000 + i * 300)]
            } else {
                vec![cash(8_000 + i * 500)]
            };
            // Many equal scores: ties must break the same way every time.
            person(
                &format!("id{i:02}"),
                CITIES[i as usize % 3],
                i % 4 == 0,
                20.0 + (i % 3) as f64,
                offers,
            )
        })
        .collect();
    let mut x = allocate(&s, &a).unwrap();
    let mut y = allocate(&s, &a).unwrap();
    check(&s, &a, &x);
    x.elapsed = Default::default();
    y.elapsed = Default::default();
    assert_eq!(x, y);
}

#[test]
fn served_then_score_is_lexicographic() {
    // A weighted sum such as 100·served + score prefers `big` (1,100 against 260);
    // served_then_score must serve two people first.
    let (_dir, s) =
        scenario("[budget]\ntotal = 20000\n[objective]\nmaximize = \"served_then_score\"\n");
    let a = without_quotas(vec![
        person("big", "Fes", false, 1000.0, vec![cash(20_000)]),
        person("p", "Fes", false, 30.0, vec![cash(10_000)]),
        person("q", "Fes", false, 30.0, vec![cash(10_000)]),
        person("r", "Fes", false, 20.0, vec![cash(10_000)]),
    ]);
    let r = allocate(&s, &a).unwrap();
    check(&s, &a, &r);
    assert_eq!(r.choices, vec![None, Some(0), Some(0), None]);
    assert_eq!(r.served, 2);
    assert_eq!(r.objective, 60.0);
    let (_dir2, s2) = scenario("[budget]\ntotal = 20000\n");
    let r2 = allocate(&s2, &a).unwrap();
    assert_eq!(r2.choices, vec![Some(0), None, None, None]);
}

#[test]
fn earmarked_money_pays_only_its_city_and_kind() {
    let body = "[[funder]]\nid = \"tangier\"\namount = 30000\ncities = [\"Tangier\"]\n\
                [[funder]]\nid = \"cash\"\namount = 15000\nkinds = [\"cash\"]\n\
                [[kit]]\nid = \"plumbing\"\ntrade = \"plumbing\"\ncost = 11000\n";
    let (_dir, s) = scenario(body);
    let a = without_quotas(vec![
        person("a", "Fes", false, 50.0, vec![kit("plumbing", 11_000, 0)]),
        person("b", "Fes", false, 40.0, vec![cash(14_000)]),
        person(
            "c",
            "Tangier",
            false,
            30.0,
            vec![kit("plumbing", 11_000, 4_000)],
        ),
    ]);
    let r = allocate(&s, &a).unwrap();
    check(&s, &a, &r);
    assert_eq!(r.choices, vec![None, Some(0), Some(0)]);
    assert_eq!(
        r.why_not[0].as_ref().map(|w| w.message.as_str()),
        Some("no funder may pay for kit in Fes")
    );
    assert_eq!(r.funding[1], vec![("cash".to_string(), 14_000)]);
    let tangier = r.funding[2].iter().find(|(f, _)| f == "tangier").unwrap().1;
    assert!(tangier >= 11_000, "{:?}", r.funding[2]);
}

/// 400 applicants in three cities under a total, a Fes cap, plumbing kit stock and a women's
/// quota, with `solver` settings; `fraction` adds sevenths to the scores (harder to prove).
fn four_hundred(solver: &str, fraction: bool) -> (tempfile::TempDir, Scenario, Vec<Assessment>) {
    let body = format!(
        "[budget]\ntotal = 900000\n[budget.cities]\nFes = 200000\n\
         [[kit]]\nid = \"plumbing\"\ntrade = \"plumbing\"\ncost = 11000\nstock = 20\n\
         {WOMEN}min_share = 0.25\n[solver]\n{solver}\n"
    );
    let (dir, s) = scenario(&body);
    let a: Vec<Assessment> = (0..400)
        .map(|i| {
            let offers = vec![kit("plumbing", 11_000, 0), cash(8_000 + (i * 37) % 17_000)];
            let sevenths = if fraction { (i % 7) as f64 / 7.0 } else { 0.0 };
            person(
                &format!("id{i:03}"),
                CITIES[i as usize % 3],
                i % 3 == 0,
                ((i * 13) % 90) as f64 + sevenths,
                offers,
            )
        })
        .collect();
    (dir, s, a)
}

#[test]
fn a_tiny_time_limit_still_gives_a_checked_allocation() {
    let (_dir, s, a) = four_hundred("time_limit = 0.001", false);
    let r = allocate(&s, &a).unwrap();
    check(&s, &a, &r);
    assert!(r.timed_out);
    assert!(r.elapsed.as_secs_f64() < 1.0, "{:?}", r.elapsed);
}

/// A search stopped by its work budget, not the clock, gives the same allocation on every
/// run: best found, reported as such, checked, and not claimed optimal.
#[test]
fn the_work_budget_stops_the_search_the_same_way_every_time() {
    // Fractional scores and no gap: the optimum is hard to prove, so the budget runs out.
    let (_dir, s, a) = four_hundred("gap = 0\ntime_limit = 600\nwork_limit = 40000", true);
    let first = allocate(&s, &a).unwrap();
    check(&s, &a, &first);
    assert!(first.work_limited && !first.timed_out && !first.proven_optimal);
    assert!(
        first.bound > first.objective,
        "{} vs {}",
        first.bound,
        first.objective
    );
    let second = allocate(&s, &a).unwrap();
    assert_eq!(first.choices, second.choices);
    assert_eq!(first.funding, second.funding);
    assert_eq!(first.bound.to_bits(), second.bound.to_bits());
}

/// A long search tells its caller how it is going: the share of its budget used only grows,
/// every bound is above the best allocation so far and the allocation returned, and the best so
/// far never beats what is returned.
#[test]
fn a_long_search_reports_its_progress() {
    let (_dir, s, a) = four_hundred("gap = 0\ntime_limit = 600\nwork_limit = 2000000", true);
    let seen = std::cell::RefCell::new(Vec::<SearchProgress>::new());
    let r = allocate_with_progress(&s, &a, &|p| seen.borrow_mut().push(*p)).unwrap();
    let seen = seen.into_inner();
    assert!(seen.len() > 2, "{} reports", seen.len());
    for w in seen.windows(2) {
        assert!(w[0].done <= w[1].done, "{:?}", w);
        assert!(w[0].objective <= w[1].objective, "{:?}", w);
    }
    for p in &seen {
        assert!((0.0..=1.0).contains(&p.done), "{p:?}");
        assert!(p.bound >= p.objective, "{p:?}");
        assert!(p.bound + 1e-9 >= r.objective, "{p:?} vs {}", r.objective);
    }
    let last = seen.last().unwrap();
    assert!(last.objective <= r.objective + 1e-9);
}
