//! Allocation benchmark.
//!
//! `cargo bench --bench allocate` runs the hard class: `idmaj generate --tight` programmes of
//! 150 to 10,000 applicants × 20 seeds each (rules run first, only the allocation is timed),
//! then ramadan-2016 at every women share 0, 0.01, ..., 0.35, then one 100,000-applicant
//! `idmaj generate` programme. For each set it prints the share of solves proven within the
//! scenario's gap (0.01%: not stopped by the search budget or the clock), the median and worst
//! times, and the median and worst work units (counted, so the same on every machine).
//! `-- tight 150 500 --seeds 5` chooses sizes and seeds.
//!
//! `-- compare [SIZES] [mip|nomip]` runs the older synthetic programmes (333 to 100,000
//! applicants) next to a plain good_lp MIP (microlp) of the same model. Environment there:
//! `LIMIT` sets the scenario's time limit in seconds (default 120), `OBJECTIVE` its objective
//! (`score`, `served`, `served_then_score`), `RELAX=1` solves the plain model's LP relaxation
//! instead of the MIP.

use std::fmt::Write as _;
use std::time::Instant;

use good_lp::{
    constraint, microlp, variable, Expression, IntoAffineExpression, ProblemVariables, Solution,
    SolverModel, WithMipGap, WithTimeLimit,
};
use idmaj::{Assessment, Engine, Gender, Offer, Sources, Status};

// The allocator `idmaj` itself runs on (src/main.rs), so the times are the command's.
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// What a funder may pay for: the kit part or the cash part of an option.
#[derive(Clone, Copy, PartialEq)]
enum Kind {
    Kit,
    Cash,
}

/// The programme the assessments are allocated in, as the plain MIP needs it too.
struct Programme {
    budget_total: i64,
    city_caps: Vec<(&'static str, i64)>,
    /// (amount, only this city, only this kind).
    funders: Vec<(i64, Option<&'static str>, Option<Kind>)>,
    /// Stock per kit of `KITS`.
    stock: Vec<Option<u32>>,
}

fn may_pay(f: &(i64, Option<&str>, Option<Kind>), city: &str, kind: Kind) -> bool {
    f.1.is_none_or(|c| c == city) && f.2.is_none_or(|k| k == kind)
}

const CITIES: [&str; 13] = [
    "Tangier",
    "Fes",
    "Rabat",
    "Casablanca",
    "Marrakesh",
    "Agadir",
    "Oujda",
    "Meknes",
    "Tetouan",
    "Kenitra",
    "Safi",
    "Laayoune",
    "Nador",
];
const KITS: [(&str, i64, Option<u32>); 6] = [
    ("plumbing", 11_500, Some(0)),
    ("aluminium-carpentry", 19_000, Some(0)),
    ("hairdressing", 9_000, None),
    ("welding", 16_000, Some(0)),
    ("tailoring", 8_500, None),
    ("electricity", 13_000, None),
];

/// splitmix64: a small deterministic generator.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn chance(&mut self, p: f64) -> bool {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64 <= p
    }
}

/// Synthetic assessments and the scenario for them, deterministic from `seed`.
fn synthetic(n: usize, seed: u64) -> (Engine, Programme, Vec<Assessment>) {
    let mut rng = Rng(seed);
    let mut out = Vec::with_capacity(n);
    let mut demand = 0i64;
    for i in 0..n {
        let city = CITIES[(rng.below(100) as usize * rng.below(100) as usize / 770).min(12)];
        let eligible = rng.chance(0.4);
        let woman = rng.chance(0.22);
        let score = (rng.below(8000) as f64 + 1000.0) / 100.0;
        let (kit, kit_cost, _) = KITS[rng.below(KITS.len() as u64) as usize];
        let mut offers = Vec::new();
        let count = 1 + rng.below(3);
        if count >= 1 {
            offers.push(Offer {
                kit: Some(kit.into()),
                kit_cost,
                cash: 0,
            });
        }
        if count >= 2 {
            offers.push(Offer {
                kit: None,
                kit_cost: 0,
                cash: 8_000 + rng.below(17_001) as i64,
            });
        }
        if count >= 3 {
            let extra = (2_000 + rng.below(6_000) as i64).min(25_000 - kit_cost);
            offers.push(Offer {
                kit: Some(kit.into()),
                kit_cost,
                cash: extra,
            });
        }
        if eligible {
            demand += offers.iter().map(Offer::cost).sum::<i64>() / offers.len() as i64;
        }
        out.push(Assessment {
            id: format!("A{i:06}"),
            line: i as u64 + 2,
            city: city.into(),
            gender: if woman { Gender::F } else { Gender::M },
            trade: kit.into(),
            status: if eligible {
                Status::Eligible
            } else {
                Status::Ineligible
            },
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
        });
    }
    let budget = demand * 6 / 10;
    let mut lm = String::from("city,trade,demand\n");
    for c in CITIES {
        lm.push_str(&format!("{c},plumbing,0.5\n"));
    }
    let city_caps = vec![
        ("Tangier", budget / 12),
        ("Fes", budget / 10),
        ("Oujda", budget / 25),
        ("Safi", budget / 40),
        ("Nador", budget / 60),
    ];
    let mut toml = format!(
        "[program]\nname = \"bench\"\ndate = \"2016-06-06\"\n[rules]\nfiles = [\"r.rhai\"]\n\
         [budget]\ntotal = {budget}\n[budget.cities]\n"
    );
    for (c, cap) in &city_caps {
        writeln!(toml, "{c} = {cap}").unwrap();
    }
    let funders = vec![
        (budget * 7 / 10, None, None),
        (budget / 20, Some("Tangier"), None),
        (budget / 4, None, Some(Kind::Cash)),
    ];
    write!(
        toml,
        "[[funder]]\nid = \"state\"\namount = {}\n[[funder]]\nid = \"wilaya-tth\"\namount = {}\n\
         cities = [\"Tangier\"]\n[[funder]]\nid = \"cash-fund\"\namount = {}\nkinds = [\"cash\"]\n",
        funders[0].0, funders[1].0, funders[2].0
    )
    .unwrap();
    let mut stocks = Vec::new();
    let eligible = out.iter().filter(|a| a.eligible()).count() as u32;
    for (id, cost, stock) in KITS {
        let stock = stock.map(|_| (eligible / 25).max(2));
        stocks.push(stock);
        write!(
            toml,
            "[[kit]]\nid = \"{id}\"\ntrade = \"{id}\"\ncost = {cost}\n"
        )
        .unwrap();
        if let Some(s) = stock {
            writeln!(toml, "stock = {s}").unwrap();
        }
    }
    toml.push_str(
        "[[quota]]\nname = \"women\"\nwhen = 'applicant.gender == \"F\"'\nmin_share = 0.25\n",
    );
    let limit = std::env::var("LIMIT").unwrap_or_else(|_| "120".into());
    write!(toml, "[solver]\ntime_limit = {limit}\ngap = 0.0001\n").unwrap();
    if let Ok(objective) = std::env::var("OBJECTIVE") {
        write!(toml, "[objective]\nmaximize = \"{objective}\"\n").unwrap();
    }
    let engine = Engine::from_sources(Sources {
        scenario_toml: toml,
        labour_market_csv: lm,
        rules: vec![("r.rhai".into(), "// benchmark: rules are not run\n".into())],
        applicants_csv: None,
    })
    .unwrap();
    for a in &mut out {
        a.scenario = engine.fingerprint().to_string();
    }
    let programme = Programme {
        budget_total: budget,
        city_caps,
        funders,
        stock: stocks,
    };
    (engine, programme, out)
}

/// The same model as one plain MIP through good_lp + microlp: (objective, seconds) or why not.
fn plain_mip(s: &Programme, a: &[Assessment], limit: f64) -> Result<(f64, f64), String> {
    let t = Instant::now();
    let mut vars = ProblemVariables::new();
    let mut x = Vec::new();
    for (i, ass) in a.iter().enumerate() {
        if ass.eligible() {
            for o in 0..ass.offers.len() {
                let v = if std::env::var_os("RELAX").is_some() {
                    variable().min(0.0).max(1.0)
                } else {
                    variable().binary()
                };
                x.push((i, o, vars.add(v)));
            }
        }
    }
    let mut cells: Vec<(String, Kind)> = Vec::new();
    for c in CITIES {
        cells.push((c.into(), Kind::Kit));
        cells.push((c.into(), Kind::Cash));
    }
    let mut z = Vec::new();
    for (f, funder) in s.funders.iter().enumerate() {
        for (k, (c, kind)) in cells.iter().enumerate() {
            if may_pay(funder, c, *kind) {
                z.push((f, k, vars.add(variable().min(0.0))));
            }
        }
    }
    let mut obj = Expression::default();
    for &(i, _, v) in &x {
        obj.add_mul(a[i].score, v);
    }
    let mut p = vars.maximise(obj).using(microlp).with_time_limit(limit);
    p = p.with_mip_gap(1e-4).map_err(|e| e.to_string())?;
    let mut one: Vec<Expression> = vec![Expression::default(); a.len()];
    let mut total = Expression::default();
    let mut city: Vec<Expression> = vec![Expression::default(); CITIES.len()];
    let mut demand: Vec<Expression> = vec![Expression::default(); cells.len()];
    let mut stock: Vec<Expression> = vec![Expression::default(); KITS.len()];
    let mut quota = Expression::default();
    for &(i, o, v) in &x {
        let offer = &a[i].offers[o];
        one[i].add_mul(1.0, v);
        total.add_mul(offer.cost() as f64, v);
        let ci = CITIES.iter().position(|c| *c == a[i].city).unwrap();
        city[ci].add_mul(offer.cost() as f64, v);
        demand[ci * 2].add_mul(offer.kit_cost as f64, v);
        demand[ci * 2 + 1].add_mul(offer.cash as f64, v);
        if let Some(k) = &offer.kit {
            stock[KITS.iter().position(|x| x.0 == *k).unwrap()].add_mul(1.0, v);
        }
        quota.add_mul(if a[i].in_quota("women") { 0.75 } else { -0.25 }, v);
    }
    for e in one
        .into_iter()
        .filter(|e| e.clone().linear_coefficients().next().is_some())
    {
        p.add_constraint(constraint!(e <= 1.0));
    }
    p.add_constraint(constraint!(total <= s.budget_total as f64));
    for (ci, e) in city.into_iter().enumerate() {
        if let Some((_, cap)) = s.city_caps.iter().find(|(c, _)| *c == CITIES[ci]) {
            p.add_constraint(constraint!(e <= *cap as f64));
        }
    }
    for (k, mut d) in demand.into_iter().enumerate() {
        for &(_, kk, v) in &z {
            if kk == k {
                d.add_mul(-1.0, v);
            }
        }
        p.add_constraint(constraint!(d == 0.0));
    }
    for (f, funder) in s.funders.iter().enumerate() {
        let mut e = Expression::default();
        for &(ff, _, v) in &z {
            if ff == f {
                e.add_mul(1.0, v);
            }
        }
        p.add_constraint(constraint!(e <= funder.0 as f64));
    }
    for (k, e) in stock.into_iter().enumerate() {
        if let Some(st) = s.stock[k] {
            p.add_constraint(constraint!(e <= st as f64));
        }
    }
    p.add_constraint(constraint!(quota >= 0.0));
    let sol = p
        .solve()
        .map_err(|e| format!("{e} after {:.1} s", t.elapsed().as_secs_f64()))?;
    let value: f64 = x.iter().map(|&(i, _, v)| a[i].score * sol.value(v)).sum();
    Ok((value, t.elapsed().as_secs_f64()))
}

/// One solve: seconds, work units, and whether it was proven within the gap.
struct Solve {
    secs: f64,
    work: u64,
    proven: bool,
}

fn solve(engine: &Engine, assessments: &[Assessment]) -> Solve {
    let t = Instant::now();
    let alloc = engine.allocate(assessments).expect("allocate");
    let secs = t.elapsed().as_secs_f64();
    let s = alloc.summary();
    Solve {
        secs,
        work: s.manifest.work.unwrap_or(0),
        // The gap is applied as one absolute tolerance against the root LP bound, so a
        // proven solve can read a hair above 0.01% against a lower final bound.
        proven: !s.work_limit_reached && !s.timed_out && s.gap <= 1.02e-4,
    }
}

/// Prints one line for a set of solves.
fn report(name: &str, solves: &[Solve]) {
    let mut secs: Vec<f64> = solves.iter().map(|s| s.secs).collect();
    secs.sort_by(f64::total_cmp);
    let mut work: Vec<u64> = solves.iter().map(|s| s.work).collect();
    work.sort_unstable();
    let proven = solves.iter().filter(|s| s.proven).count();
    println!(
        "{name:>22} {:>4}/{:<4} {:>9.3} {:>9.3} {:>12} {:>12}",
        proven,
        solves.len(),
        secs[secs.len() / 2],
        secs[secs.len() - 1],
        work[work.len() / 2],
        work[work.len() - 1]
    );
}

fn generated(applicants: u64, seed: u64, tight: bool) -> (Engine, Vec<Assessment>) {
    let dir = std::env::temp_dir().join(format!(
        "idmaj-bench-allocate-{}-{applicants}-{seed}-{tight}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    idmaj::generate::generate(
        &idmaj::generate::GenerateOptions {
            applicants,
            seed,
            tight,
        },
        &dir,
    )
    .expect("generate");
    let engine = Engine::load(&dir).expect("load");
    let assessments = engine.assess_scenario().expect("assess");
    let _ = std::fs::remove_dir_all(&dir);
    (engine, assessments)
}

fn hard_class(sizes: &[usize], seeds: u64) {
    println!(
        "{:>22} {:>9} {:>9} {:>9} {:>12} {:>12}",
        "set", "proven", "median s", "worst s", "median work", "worst work"
    );
    for &n in sizes {
        let solves: Vec<Solve> = (1..=seeds)
            .map(|seed| {
                let (engine, a) = generated(n as u64, seed, true);
                solve(&engine, &a)
            })
            .collect();
        report(&format!("tight {n}"), &solves);
    }
    let repo = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let engine = Engine::load(repo.join("scenarios/ramadan-2016")).expect("ramadan-2016");
    let a = engine.assess_scenario().expect("assess");
    let solves: Vec<Solve> = (0..=35)
        .map(|k| {
            let share = format!("{}", f64::from(k) / 100.0);
            let what_if = engine
                .with_overrides(&[("quota.women.min_share", share)])
                .expect("override");
            solve(&what_if, &a)
        })
        .collect();
    report("ramadan shares 0-0.35", &solves);
    let (engine, a) = generated(100_000, 1, false);
    report("generate 100,000", &[solve(&engine, &a)]);
}

fn main() {
    let all: Vec<String> = std::env::args().skip(1).collect();
    let seeds = all
        .iter()
        .position(|a| a == "--seeds")
        .and_then(|i| all.get(i + 1))
        .and_then(|s| s.parse().ok())
        .unwrap_or(20);
    let args: Vec<String> = all
        .iter()
        .enumerate()
        .filter(|(i, a)| !a.starts_with("--") && (*i == 0 || all[i - 1] != "--seeds"))
        .map(|(_, a)| a.clone())
        .collect();
    let mut sizes: Vec<usize> = args.iter().filter_map(|a| a.parse().ok()).collect();
    if !args.iter().any(|a| a == "compare") {
        if sizes.is_empty() {
            sizes = vec![150, 500, 1_000, 2_000, 5_000, 10_000];
        }
        hard_class(&sizes, seeds);
        return;
    }
    if sizes.is_empty() {
        sizes = vec![333, 3_000, 30_000, 100_000];
    }
    let mip_always = args.iter().any(|a| a == "mip");
    let mip_never = args.iter().any(|a| a == "nomip");
    println!(
        "{:>8} {:>9} {:>9} {:>14} {:>14} {:>10} {:>7} {:>7} | plain MIP (microlp)",
        "size", "eligible", "time s", "objective", "bound", "gap", "served", "proven"
    );
    for n in sizes {
        let (engine, s, a) = synthetic(n, 0x1d3a_u64 + n as u64);
        let eligible = a.iter().filter(|x| x.eligible()).count();
        let t = Instant::now();
        let r = engine.allocate(&a);
        let secs = t.elapsed().as_secs_f64();
        let line = match r.as_ref().map(|r| r.summary()) {
            Ok(r) => format!(
                "{n:>8} {eligible:>9} {secs:>9.3} {:>14.3} {:>14.3} {:>9.5}% {:>7} {:>7}",
                r.objective,
                r.bound,
                r.gap * 100.0,
                r.served,
                if r.proven_optimal {
                    "yes"
                } else if r.timed_out {
                    "timeout"
                } else if r.work_limit_reached {
                    "budget"
                } else {
                    "gap"
                }
            ),
            Err(e) => format!("{n:>8} {eligible:>9} {secs:>9.3} error: {e}"),
        };
        let mip = if mip_never || (n > 3_000 && !mip_always) {
            "skipped (microlp cannot finish at this size; pass `mip` to try)".to_string()
        } else {
            match plain_mip(&s, &a, 120.0) {
                Ok((v, t)) => format!("objective {v:.3} in {t:.1} s"),
                Err(e) => format!("no solution: {e}"),
            }
        };
        println!("{line} | {mip}");
    }
}
