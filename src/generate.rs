//! Synthetic scenarios of any size, for trying the engine, testing and benchmarking.
//!
//! Real applicant lists hold personal data about former prisoners and never leave the
//! programme, so everything here is made up: plausible, deterministic for a seed, and
//! marked as synthetic in the files it writes. The distributions follow the Ramadan 2016
//! programme (`docs/programme.md`): its 13 cities, about a quarter women, the kit trades it
//! funded, and projects costing about 15,600 MAD on average.
//!
//! Applicants are drawn with a latent "readiness": most files are complete (training,
//! certificate, project-management course, validated life project, recent release), the
//! rest fall short on several counts at once, as happens when a prison's reintegration
//! service has not finished a file. That keeps each column's share near the programme's
//! (e.g. a quarter under 120 h of training) without making eligibility vanish when checks
//! combine.
//!
//! Rows are written straight into a reused byte buffer with no allocation per row, so a
//! million applicants take a few seconds.

use std::fs::{self, File};
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::applicant::CORE_COLUMNS;
use crate::date::Date;
use crate::error::{Error, Result};
use crate::rules::SHIPPED_RULES;

/// The programme's 13 cities (docs/programme.md), in the order files list them.
pub const CITIES: [&str; 13] = [
    "Casablanca",
    "Rabat",
    "Kenitra",
    "Fes",
    "Khemisset",
    "Tangier",
    "Sale",
    "Safi",
    "Beni Mellal",
    "Agadir-Ait Melloul",
    "Taroudant",
    "Tiznit",
    "Inezgane",
];

/// Trade ids used for training tracks, life projects, kits and the labour market.
pub const TRADES: [&str; 9] = [
    "aluminium_carpentry",
    "plumbing",
    "building_electricity",
    "tailoring",
    "pastry",
    "bread",
    "commerce",
    "services",
    "crafts",
];

/// Applicants per city in the shipped `ramadan-2016` scenario (520 in all, Tangier 50);
/// used as relative weights for synthetic scenarios of any size.
pub const CITY_WEIGHTS: [u32; 13] = [110, 47, 34, 53, 22, 50, 40, 28, 30, 36, 22, 18, 30];

/// The reference date of the programme (docs/programme.md: Ramadan 2016).
pub const PROGRAM_DATE: &str = "2016-06-06";

/// Seed of the shipped `ramadan-2016` data.
pub const RAMADAN_2016_SEED: u64 = 2016;

/// Kits as (id, trade, cost in MAD, name): one per kit trade of docs/programme.md. Costs are
/// synthetic; commerce, services and crafts have no kit (cash only).
const KITS: [(&str, &str, i64, &str); 6] = [
    (
        "aluminium-carpentry",
        "aluminium_carpentry",
        19_000,
        "Aluminium carpentry tools",
    ),
    ("plumbing", "plumbing", 11_500, "Sanitary plumbing tools"),
    (
        "building-electricity",
        "building_electricity",
        16_500,
        "Building electricity tools, with motorcycle",
    ),
    (
        "tailoring",
        "tailoring",
        9_500,
        "Cutting and sewing machines",
    ),
    ("pastry", "pastry", 10_500, "Traditional pastry equipment"),
    (
        "bread",
        "bread",
        12_000,
        "Bread preparation and selling equipment",
    ),
];

/// Typical cost of a life project per trade (MAD): a kit plus working capital, or for
/// cash-only trades the stock and fittings to start. Drawn ±25% around this.
const PLAN_BASE: [u32; 9] = [
    20_400, 13_800, 18_500, 11_900, 12_800, 14_300, 18_000, 16_200, 13_300,
];

/// Relative weight of each trade as training track, for men and for women.
const TRADE_WEIGHTS_M: [u32; 9] = [14, 16, 18, 5, 5, 10, 14, 12, 6];
const TRADE_WEIGHTS_F: [u32; 9] = [1, 1, 1, 36, 24, 14, 11, 6, 6];

/// Labour-market demand in hundredths, per city (rows, order of [`CITIES`]) and trade
/// (columns, order of [`TRADES`]). Synthetic: building trades strong in the big northern
/// and Atlantic cities, crafts in the Souss towns, bread everywhere.
const DEMAND: [[u8; 9]; 13] = [
    [80, 75, 85, 55, 70, 60, 65, 75, 30], // Casablanca
    [65, 70, 70, 50, 65, 55, 60, 70, 35], // Rabat
    [60, 55, 65, 45, 50, 60, 55, 50, 27], // Kenitra
    [50, 60, 55, 65, 60, 55, 60, 55, 70], // Fes
    [35, 45, 40, 50, 40, 65, 55, 35, 40], // Khemisset
    [85, 80, 90, 60, 55, 50, 60, 65, 30], // Tangier
    [60, 65, 60, 55, 50, 60, 55, 60, 45], // Sale
    [40, 55, 45, 50, 45, 55, 50, 40, 45], // Safi
    [45, 50, 45, 40, 50, 65, 55, 40, 30], // Beni Mellal
    [70, 65, 70, 45, 55, 50, 60, 70, 40], // Agadir-Ait Melloul
    [18, 40, 30, 55, 40, 60, 50, 28, 80], // Taroudant
    [14, 35, 27, 50, 45, 55, 45, 20, 85], // Tiznit
    [55, 55, 60, 50, 45, 55, 70, 60, 45], // Inezgane
];

/// Prisons where applicants of each city most often served (order of [`CITIES`]).
const PRISONS: [&[&str]; 13] = [
    &["Oukacha"],
    &["Rabat local"],
    &["Kenitra local", "Kenitra central"],
    &["Fes Ras El Ma", "Fes Ain Kadous"],
    &["Khemisset local"],
    &["Tanger local"],
    &["Sale local", "El Arjat"],
    &["Safi local"],
    &["Beni Mellal local"],
    &["Ait Melloul local"],
    &["Taroudant local"],
    &["Tiznit local"],
    &["Inezgane local"],
];

/// Prisons far from home, for the applicants who served elsewhere.
const CENTRAL_PRISONS: [&str; 3] = ["Kenitra central", "Oukacha", "Ait Melloul local"];

/// Given names as (Arabic script, Latin script); same index, same name.
const MEN: [(&str, &str); 16] = [
    ("محمد", "Mohamed"),
    ("أحمد", "Ahmed"),
    ("يوسف", "Youssef"),
    ("عبد الله", "Abdellah"),
    ("حسن", "Hassan"),
    ("عمر", "Omar"),
    ("إبراهيم", "Brahim"),
    ("خالد", "Khalid"),
    ("رشيد", "Rachid"),
    ("سعيد", "Said"),
    ("مصطفى", "Mustapha"),
    ("عبد الرحيم", "Abderrahim"),
    ("ياسين", "Yassine"),
    ("حمزة", "Hamza"),
    ("كريم", "Karim"),
    ("نور الدين", "Noureddine"),
];
const WOMEN: [(&str, &str); 13] = [
    ("فاطمة", "Fatima"),
    ("خديجة", "Khadija"),
    ("مريم", "Meryem"),
    ("زينب", "Zineb"),
    ("نادية", "Nadia"),
    ("سعاد", "Souad"),
    ("حنان", "Hanane"),
    ("أمينة", "Amina"),
    ("فاطمة الزهراء", "Fatima Zahra"),
    ("سناء", "Sanaa"),
    ("لطيفة", "Latifa"),
    ("نعيمة", "Naima"),
    ("إكرام", "Ikram"),
];
const FAMILY_NAMES: [(&str, &str); 20] = [
    ("العلوي", "Alaoui"),
    ("بنعلي", "Benali"),
    ("الإدريسي", "Idrissi"),
    ("التازي", "Tazi"),
    ("البقالي", "Bakkali"),
    ("الفاسي", "El Fassi"),
    ("المرابط", "Mrabet"),
    ("بوزيد", "Bouzid"),
    ("الحسني", "Hassani"),
    ("الشرقاوي", "Cherkaoui"),
    ("الزياني", "Ziani"),
    ("العمراني", "Amrani"),
    ("بنجلون", "Benjelloun"),
    ("السوسي", "Soussi"),
    ("الريفي", "Rifi"),
    ("الوزاني", "Ouazzani"),
    ("الصقلي", "Sqalli"),
    ("الكتاني", "Kettani"),
    ("بناني", "Bennani"),
    ("برادة", "Berrada"),
];

/// `cash_cap` and `topup_cap` of [`PARAMS`], MAD.
const CASH_CAP: u64 = 20_000;
const TOPUP_CAP: u64 = 5_000;

/// Relative weights of 0 to 6 family dependents.
const DEPENDENTS: [u32; 7] = [30, 18, 20, 15, 9, 5, 3];

/// The `[params]` of every generated scenario, as (key, value, comment).
const PARAMS: [(&str, &str, &str); 15] = [
    (
        "min_training_hours",
        "120",
        "hours of vocational training during the sentence",
    ),
    (
        "require_certificate",
        "true",
        "the training must have been certified",
    ),
    (
        "require_pm_training",
        "true",
        "project-management training (ANAPEC, Attawfiq)",
    ),
    (
        "min_experience_years",
        "1",
        "experience in the planned trade when it differs from the training",
    ),
    (
        "min_demand",
        "0.25",
        "lowest local labour-market demand for the planned trade",
    ),
    (
        "max_months_since_release",
        "36",
        "released at most this long before the programme date",
    ),
    (
        "recent_release_months",
        "12",
        "released this recently earns priority points",
    ),
    ("cash_cap", "20000", "largest cash grant (MAD)"),
    (
        "topup_cap",
        "5000",
        "largest cash top-up given with a kit (MAD)",
    ),
    (
        "points_demand",
        "40",
        "score: local labour demand for the planned trade",
    ),
    ("points_training", "20", "score: vocational training"),
    ("points_certificate", "5", "score: certified training"),
    (
        "points_experience",
        "15",
        "score: experience in the planned trade",
    ),
    ("points_recent_release", "10", "score: recently released"),
    ("points_woman", "5", "score: women applicants"),
];

// ---------------------------------------------------------------- options

/// What to generate: how many applicants, from which seed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GenerateOptions {
    /// Number of applicants.
    pub applicants: u64,
    /// Seed of the pseudo-random generator: same seed, byte-identical files.
    pub seed: u64,
    /// The hard class for the allocator instead of the usual programme: a tight budget,
    /// three capped cities, earmarked funders, three scarce kits and a 30% women share
    /// (see [`generate`]).
    pub tight: bool,
}

impl Default for GenerateOptions {
    fn default() -> Self {
        GenerateOptions {
            applicants: 1_000,
            seed: 1,
            tight: false,
        }
    }
}

/// What [`generate`] wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GenerateSummary {
    /// Number of applicants written.
    pub applicants: u64,
    /// Every file written, scenario first.
    pub files: Vec<PathBuf>,
}

/// Who the applicants are: the knobs of [`write_applicants`].
#[derive(Debug, Clone, PartialEq)]
pub struct Population {
    /// Number of applicants.
    pub applicants: u64,
    /// Seed of the pseudo-random generator.
    pub seed: u64,
    /// Relative weight of each city, in the order of [`CITIES`]; the file holds exactly
    /// the nearest whole numbers of applicants (largest remainders), in random order.
    pub city_weights: [u32; 13],
    /// Ids are this prefix then a number of at least 6 digits, from 1.
    pub id_prefix: String,
    /// Share of applicants whose file is complete (see the module docs), 0 to 1.
    pub readiness: f64,
}

impl Population {
    /// The population of a synthetic scenario: ids `A000001`…, 60% ready.
    pub fn synthetic(opts: &GenerateOptions) -> Population {
        Population {
            applicants: opts.applicants,
            seed: opts.seed,
            city_weights: CITY_WEIGHTS,
            id_prefix: "A".to_string(),
            readiness: 0.6,
        }
    }

    /// The applicants of the shipped `ramadan-2016` scenario: 520 applicants, ids
    /// `R16-000001`… (distinct from every other scenario's), lists pre-screened by the
    /// prisons' reintegration services (90% ready).
    pub fn ramadan_2016() -> Population {
        Population {
            applicants: CITY_WEIGHTS.iter().map(|&w| w as u64).sum(),
            seed: RAMADAN_2016_SEED,
            city_weights: CITY_WEIGHTS,
            id_prefix: "R16-".to_string(),
            readiness: 0.85,
        }
    }
}

/// Figures about the applicants written, for sizing budgets.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PopulationStats {
    /// Applicants written.
    pub applicants: u64,
    /// Applicants per city, in the order of [`CITIES`].
    pub per_city: [u64; 13],
    /// Women.
    pub women: u64,
    /// Sum of `plan_cost`, MAD.
    pub plan_cost_total: u64,
    /// Applicants who pass every check under the plain reading of the generated
    /// `[params]`: training hours, certificate, project-management training, validated
    /// plan, released 0 to 36 months before the programme date, plan in the trained trade
    /// or with a year of experience, local demand at least 0.25.
    pub plain_eligible: u64,
    /// What their plans would cost within the caps: for kit trades the kit plus a top-up
    /// of at most `topup_cap`, else the plan up to `cash_cap`.
    pub plain_eligible_cost: u64,
}

// ---------------------------------------------------------------- entry points

/// Writes a self-contained synthetic scenario into `out` (created if missing):
/// `scenario.toml`, `applicants.csv`, `labour_market.csv`, a copy of the shipped rules
/// under `rules/`, and a `README.md` saying the data is synthetic.
///
/// The budget is 60% of what the applicants who pass the checks (as the generated
/// parameters plainly read) would cost, so allocation has real choices to make.
///
/// With [`GenerateOptions::tight`], the programme is the class where every row binds at
/// once. As shares of what serving every plainly eligible applicant would cost: the total
/// budget 50%; caps on Tangier 3%, Fes 5% and Sale 4%; funders 42% unrestricted, 3%
/// earmarked to Tangier and 10% to kits only; stocks of applicants/100, /80 and /120 for aluminium
/// carpentry, building electricity and plumbing; and at least 30% of those served women.
pub fn generate(opts: &GenerateOptions, out: &Path) -> Result<GenerateSummary> {
    let rules_dir = out.join("rules");
    fs::create_dir_all(&rules_dir).map_err(|e| Error::io(&rules_dir, e))?;
    let mut files = Vec::new();

    let applicants = out.join("applicants.csv");
    let stats = write_applicants(&Population::synthetic(opts), &applicants)?;
    let market = out.join("labour_market.csv");
    write_labour_market(opts.seed, &market)?;

    let mut rule_paths = Vec::new();
    for (name, contents) in SHIPPED_RULES {
        let path = rules_dir.join(name);
        write_file(&path, contents.as_bytes())?;
        rule_paths.push(path);
    }

    let scenario = out.join("scenario.toml");
    write_file(&scenario, synthetic_scenario_toml(opts, &stats).as_bytes())?;
    let readme = out.join("README.md");
    write_file(&readme, synthetic_readme(opts, &stats).as_bytes())?;

    files.push(scenario);
    files.push(applicants);
    files.push(market);
    files.extend(rule_paths);
    files.push(readme);
    Ok(GenerateSummary {
        applicants: stats.applicants,
        files,
    })
}

/// Writes `labour_market.csv` (`city,trade,demand`) for every city and trade: a fixed
/// synthetic table moved by up to ±0.04 per cell from `seed`.
pub fn write_labour_market(seed: u64, path: &Path) -> Result<()> {
    let table = demand_table(seed);
    let mut buf = Vec::with_capacity(8 * 1024);
    buf.extend_from_slice(b"city,trade,demand\n");
    for (c, city) in CITIES.iter().enumerate() {
        for (t, trade) in TRADES.iter().enumerate() {
            buf.extend_from_slice(city.as_bytes());
            buf.push(b',');
            buf.extend_from_slice(trade.as_bytes());
            buf.push(b',');
            push_hundredths(&mut buf, table[c][t] as u64);
            buf.push(b'\n');
        }
    }
    write_file(path, &buf)
}

/// Writes `applicants.csv` for `pop`: the core columns (see the README) then `prison` and
/// `family_dependents`, comma-separated, `.` decimals, `true`/`false`.
pub fn write_applicants(pop: &Population, path: &Path) -> Result<PopulationStats> {
    let file = File::create(path).map_err(|e| Error::io(path, e))?;
    let mut sink = Sink {
        file,
        buf: Vec::with_capacity(Sink::CAP + 1024),
        path,
    };
    let mut rng = Rng::new(pop.seed);
    let demand = demand_table(pop.seed);
    let program_date = Date::parse(PROGRAM_DATE).expect("valid constant date");
    let program_day = day_number(2016, 6, 6);
    let readiness = pop.readiness.clamp(0.0, 1.0);

    // Exact counts per city, then shuffled, so small files keep the intended shares.
    let counts = apportion(pop.applicants, &pop.city_weights);
    let mut cities: Vec<u8> = Vec::with_capacity(pop.applicants as usize);
    for (c, &n) in counts.iter().enumerate() {
        cities.resize(cities.len() + n as usize, c as u8);
    }
    for i in (1..cities.len()).rev() {
        let j = rng.below(i as u64 + 1) as usize;
        cities.swap(i, j);
    }

    let id_width = digits(pop.applicants).max(6);
    for (i, col) in CORE_COLUMNS.iter().enumerate() {
        if i > 0 {
            sink.buf.push(b',');
        }
        sink.buf.extend_from_slice(col.as_bytes());
    }
    sink.buf.extend_from_slice(b",prison,family_dependents\n");

    let mut stats = PopulationStats {
        applicants: pop.applicants,
        ..PopulationStats::default()
    };
    for (i, &city) in cities.iter().enumerate() {
        let city = city as usize;
        let ready = rng.chance(readiness);
        let woman = rng.chance(0.27);
        // Per check: chance to fall short for a ready file, and for an unfinished one.
        let short = |rng: &mut Rng, if_ready: f64, if_not: f64| {
            rng.chance(if ready { if_ready } else { if_not })
        };

        // Born 1960-2000, most in the mid-1980s.
        let t = (rng.unit() + rng.unit()) / 2.0;
        let birth_year = 2000 - ((41.0 * t * t.sqrt()) as u32).min(40);
        let age = 2016 - birth_year;

        let weights = if woman {
            &TRADE_WEIGHTS_F
        } else {
            &TRADE_WEIGHTS_M
        };
        let track = rng.weighted(weights);
        let same_trade = !short(&mut rng, 0.2, 0.45);
        let plan = if same_trade {
            track
        } else {
            // A ready file's project follows local demand; an unfinished one's may not.
            let mut w = [0u32; 9];
            for (k, x) in w.iter_mut().enumerate() {
                let d = if ready { demand[city][k] as u32 } else { 50 };
                *x = if k == track { 0 } else { weights[k] * d };
            }
            rng.weighted(&w)
        };

        let hours = if short(&mut rng, 0.04, 0.565) {
            60 + 10 * rng.below(6) as u32
        } else {
            let x = (rng.unit() + rng.unit() * rng.unit()) / 2.0;
            120 + 10 * ((28.0 * x + 0.5) as u32).min(28)
        };
        let certified = !short(&mut rng, 0.04, 0.565);
        let pm_training = !short(&mut rng, 0.03, 0.455);
        let approved = !short(&mut rng, 0.03, 0.33);

        // Days from release to the programme date; negative = not yet released.
        let days_before: i64 = if short(&mut rng, 0.05, 0.30) {
            if rng.chance(0.2) {
                -(1 + rng.below(180) as i64)
            } else {
                1_100 + rng.below(360) as i64
            }
        } else {
            // Recent releases are more common: density falling linearly to 36 months.
            (1_090.0 * (1.0 - (1.0 - rng.unit()).sqrt())) as i64
        };
        let (ry, rm, rd) = civil_from_days(program_day - days_before);

        // Experience in the planned trade, in tenths of a year.
        let max_tenths = (age.saturating_sub(16) * 10).min(120) as u64;
        let tenths = if same_trade {
            let u = rng.unit();
            (120.0 * u * u) as u64
        } else if short(&mut rng, 0.08, 0.5) {
            rng.below(10)
        } else {
            let u = rng.unit();
            10 + (90.0 * u * u) as u64
        }
        .min(max_tenths);

        let factor = 0.75 + 0.5 * (rng.unit() + rng.unit()) / 2.0;
        let cost =
            ((PLAN_BASE[plan] as f64 * factor / 100.0 + 0.5) as u64 * 100).clamp(6_000, 30_000);
        let dependents = rng.weighted(&DEPENDENTS);
        let prison = if rng.chance(0.1) {
            CENTRAL_PRISONS[rng.below(CENTRAL_PRISONS.len() as u64) as usize]
        } else {
            let list = PRISONS[city];
            list[rng.below(list.len() as u64) as usize]
        };
        let given = if woman {
            WOMEN[rng.below(WOMEN.len() as u64) as usize]
        } else {
            MEN[rng.below(MEN.len() as u64) as usize]
        };
        let family = FAMILY_NAMES[rng.below(FAMILY_NAMES.len() as u64) as usize];
        let arabic = rng.chance(0.5);

        // The row, in the order of CORE_COLUMNS.
        let b = &mut sink.buf;
        b.extend_from_slice(pop.id_prefix.as_bytes());
        push_padded(b, i as u64 + 1, id_width);
        b.push(b',');
        if arabic {
            b.extend_from_slice(given.0.as_bytes());
            b.push(b' ');
            b.extend_from_slice(family.0.as_bytes());
        } else {
            b.extend_from_slice(given.1.as_bytes());
            b.push(b' ');
            b.extend_from_slice(family.1.as_bytes());
        }
        b.extend_from_slice(if woman { b",F," } else { b",M," });
        push_u64(b, birth_year as u64);
        b.push(b',');
        b.extend_from_slice(CITIES[city].as_bytes());
        b.push(b',');
        push_padded(b, ry as u64, 4);
        b.push(b'-');
        push_padded(b, rm as u64, 2);
        b.push(b'-');
        push_padded(b, rd as u64, 2);
        b.push(b',');
        b.extend_from_slice(TRADES[track].as_bytes());
        b.push(b',');
        push_u64(b, hours as u64);
        b.push(b',');
        push_bool(b, certified);
        b.push(b',');
        push_bool(b, pm_training);
        b.push(b',');
        b.extend_from_slice(TRADES[plan].as_bytes());
        b.push(b',');
        push_bool(b, approved);
        b.push(b',');
        push_u64(b, cost);
        b.push(b',');
        push_u64(b, tenths / 10);
        b.push(b'.');
        b.push(b'0' + (tenths % 10) as u8);
        b.push(b',');
        b.extend_from_slice(prison.as_bytes());
        b.push(b',');
        push_u64(b, dependents as u64);
        b.push(b'\n');
        sink.flush_if_full()?;

        stats.per_city[city] += 1;
        stats.women += woman as u64;
        stats.plan_cost_total += cost;
        let months = Date::new(ry, rm, rd)
            .map(|d| d.months_until(program_date))
            .unwrap_or(-1);
        let consistent = same_trade || tenths >= 10;
        if hours >= 120
            && certified
            && pm_training
            && approved
            && (0..=36).contains(&months)
            && consistent
            && demand[city][plan] >= 25
        {
            stats.plain_eligible += 1;
            stats.plain_eligible_cost += match KITS.iter().find(|k| k.1 == TRADES[plan]) {
                Some(k) => k.2 as u64 + cost.saturating_sub(k.2 as u64).min(TOPUP_CAP),
                None => cost.min(CASH_CAP),
            };
        }
    }
    sink.finish()?;
    Ok(stats)
}

// ---------------------------------------------------------------- scenario text

fn synthetic_scenario_toml(opts: &GenerateOptions, stats: &PopulationStats) -> String {
    use std::fmt::Write as _;
    let n = stats.applicants;
    // 60% of what the plainly eligible would cost, in whole thousands, at least 1,000.
    let total = ((stats.plain_eligible_cost as i64 * 6 / 10 + 500) / 1000 * 1000).max(1000);
    let share = |city: usize| {
        let x = total as i128 * stats.per_city[city] as i128 / n.max(1) as i128;
        ((x as i64 + 500) / 1000 * 1000).max(1000)
    };
    let anapec = (total / 10 / 1000 * 1000).max(1000);
    let attawfiq = (total * 15 / 100 / 1000 * 1000).max(1000);
    let foundation = (total - anapec - attawfiq).max(1000);
    let wilaya = (share(5) / 2 / 1000 * 1000).max(1000);
    let stock = |per_thousand: u64| (n * per_thousand / 1000).max(1);

    let mut s = String::new();
    let _ = write!(
        s,
        r#"# SYNTHETIC scenario written by idmaj::generate (seed {seed}): every applicant, cost
# and figure here is made up. Cities, trades, funders and kits follow the Ramadan 2016
# programme of the Mohammed VI Foundation (idmaj's scenarios/ramadan-2016 has the facts).

# The programme and the date the rules count months to.
[program]
name = "Synthetic programme ({n} applicants, seed {seed})"
currency = "MAD"
date = "{date}"

# Data files, relative to this file.
[data]
applicants = "applicants.csv"
labour_market = "labour_market.csv"

# Rule scripts, in evaluation order (a copy of the shipped rules, so this folder runs anywhere).
[rules]
files = [{rules}]

# Thresholds and points the rules read as params.NAME.
[params]
"#,
        seed = opts.seed,
        date = PROGRAM_DATE,
        rules = SHIPPED_RULES
            .iter()
            .map(|(f, _)| format!("\"rules/{f}\""))
            .collect::<Vec<_>>()
            .join(", "),
    );
    push_params(&mut s);
    if opts.tight {
        push_tight_programme(&mut s, stats);
        return s;
    }
    let _ = write!(
        s,
        r#"
# Money: {total_g} MAD in all, 60% of what the {elig} applicants who plainly pass the
# checks would cost ({cost_g} MAD), so not everyone eligible can be funded.
[budget]
total = {total}

# Caps for the three largest cities, about their share of applicants.
[budget.cities]
Casablanca = {casa}
Fes = {fes}
Tangier = {tangier}

# Money sources. The foundation and the two cash funders hold the total; the Wilaya's
# money, earmarked to kits in Tangier, comes on top.
[[funder]]
id = "foundation"
name = "Mohammed VI Foundation for the Reintegration of Prisoners"
amount = {foundation}

[[funder]]
id = "wilaya-tth"
name = "Wilaya of Tanger-Tetouan-Al Hoceima"
amount = {wilaya}
cities = ["Tangier"]
kinds = ["kit"]

[[funder]]
id = "anapec"
name = "ANAPEC, national employment and skills agency"
amount = {anapec}
kinds = ["cash"]

[[funder]]
id = "attawfiq"
name = "Attawfiq Micro-Finance Foundation"
amount = {attawfiq}
kinds = ["cash"]
"#,
        total_g = grouped(total),
        elig = stats.plain_eligible,
        cost_g = grouped(stats.plain_eligible_cost as i64),
        total = underscored(total),
        casa = underscored(share(0)),
        fes = underscored(share(3)),
        tangier = underscored(share(5)),
        foundation = underscored(foundation),
        wilaya = underscored(wilaya),
        anapec = underscored(anapec),
        attawfiq = underscored(attawfiq),
    );
    s.push_str(
        "\n# Equipment kits, one per kit trade (costs synthetic). Commerce, services and crafts\n\
         # have no kit: cash only. Motorcycles and aluminium tools are in short supply.\n",
    );
    push_kits(&mut s, |id| match id {
        "building-electricity" => Some(stock(30)),
        "aluminium-carpentry" => Some(stock(25)),
        _ => None,
    });
    push_women_quota(
        &mut s,
        "At least a quarter of those served are women (the Tangier batch: 6 of 21).",
        "0.25",
    );
    s
}

/// Appends the money, kits and quota of the tight class (see [`generate`]).
fn push_tight_programme(s: &mut String, stats: &PopulationStats) {
    use std::fmt::Write as _;
    let n = stats.applicants;
    let cost = stats.plain_eligible_cost as i64;
    // A share of what serving every plainly eligible applicant would cost, at least 1,000.
    let part = |percent: i64| (cost * percent / 100).max(1000);
    let _ = write!(
        s,
        r#"
# Money: the tight class. Shares of the {cost_g} MAD that serving all {elig} applicants who
# plainly pass the checks would cost: the budget is half of it, three cities are capped,
# and the funders' money is earmarked.
[budget]
total = {total}

[budget.cities]
Tangier = {tangier}
Fes = {fes}
Sale = {sale}

[[funder]]
id = "foundation"
name = "Mohammed VI Foundation for the Reintegration of Prisoners"
amount = {free}

[[funder]]
id = "wilaya-tth"
name = "Wilaya of Tanger-Tetouan-Al Hoceima"
amount = {wilaya}
cities = ["Tangier"]

[[funder]]
id = "equipment-fund"
name = "Equipment fund (synthetic)"
amount = {kits}
kinds = ["kit"]

# Equipment kits; three are scarce (applicants/100, /80 and /120).
"#,
        cost_g = grouped(cost),
        elig = stats.plain_eligible,
        total = underscored(part(50)),
        tangier = underscored(part(3)),
        fes = underscored(part(5)),
        sale = underscored(part(4)),
        free = underscored(part(42)),
        wilaya = underscored(part(3)),
        kits = underscored(part(10)),
    );
    push_kits(s, |id| match id {
        "aluminium-carpentry" => Some((n / 100).max(1)),
        "building-electricity" => Some((n / 80).max(1)),
        "plumbing" => Some((n / 120).max(1)),
        _ => None,
    });
    push_women_quota(s, "At least 30% of those served are women.", "0.3");
}

/// Appends one `[[kit]]` table per kit trade, with the stock `stock` gives its id.
fn push_kits(s: &mut String, stock: impl Fn(&str) -> Option<u64>) {
    use std::fmt::Write as _;
    for (id, trade, cost, name) in KITS {
        let _ = write!(
            s,
            "[[kit]]\nid = \"{id}\"\nname = \"{name}\"\ntrade = \"{trade}\"\ncost = {}\n",
            underscored(cost)
        );
        if let Some(stock) = stock(id) {
            let _ = writeln!(s, "stock = {stock}");
        }
        s.push('\n');
    }
}

/// Appends the women quota at `share` (with its comment) and the score objective.
fn push_women_quota(s: &mut String, comment: &str, share: &str) {
    s.push_str(&format!(
        "# {comment}\n\
         [[quota]]\n\
         name = \"women\"\n\
         when = 'applicant.gender == \"F\"'\n\
         min_share = {share}\n\
         \n\
         # The allocation maximises the total priority score of those served.\n\
         [objective]\n\
         maximize = \"score\"\n"
    ));
}

/// Appends the `[params]` lines, each with its comment.
fn push_params(s: &mut String) {
    for (key, value, comment) in PARAMS {
        let line = format!("{key} = {value}");
        s.push_str(&format!("{line:<31}# {comment}\n"));
    }
}

fn synthetic_readme(opts: &GenerateOptions, stats: &PopulationStats) -> String {
    let pct = |x: u64| 100.0 * x as f64 / stats.applicants.max(1) as f64;
    format!(
        "# Synthetic scenario ({n} applicants, seed {seed})\n\
         \n\
         **Every applicant and figure in this folder is synthetic.** It was written by\n\
         `idmaj::generate::generate(&GenerateOptions {{ applicants: {n}, seed: {seed}, ..Default::default() }}, out)`;\n\
         the same call writes byte-identical files. Nobody here is a real person.\n\
         \n\
         The shape follows the Ramadan 2016 programme of the Mohammed VI Foundation for the\n\
         Reintegration of Prisoners: its 13 cities, its kit trades, its funders, about a quarter\n\
         women and projects of about 15,600 MAD. Names, prisons, costs, labour-market demand\n\
         and budgets are made up.\n\
         \n\
         - `scenario.toml`: programme, parameters, budget, funders, kits, women quota\n\
         - `applicants.csv`: the core columns plus `prison` and `family_dependents`\n\
         - `labour_market.csv`: demand per city and trade, 0 to 1\n\
         - `rules/`: a copy of the shipped rules\n\
         \n\
         | | |\n|---|---|\n\
         | applicants | {n} |\n\
         | women | {women:.1}% |\n\
         | average plan cost | {avg} MAD |\n\
         | pass every check (plain reading of `[params]`) | {elig:.1}% |\n",
        n = stats.applicants,
        seed = opts.seed,
        women = pct(stats.women),
        avg = grouped((stats.plan_cost_total / stats.applicants.max(1)) as i64),
        elig = pct(stats.plain_eligible),
    )
}

// ---------------------------------------------------------------- helpers

/// The demand table for `seed`, in hundredths.
fn demand_table(seed: u64) -> [[u8; 9]; 13] {
    // A stream of its own, so the table does not depend on how many applicants are drawn.
    let mut rng = Rng::new(seed ^ 0x6c61_626f_7572_6d6b);
    let mut t = DEMAND;
    for row in t.iter_mut() {
        for d in row.iter_mut() {
            let shift = rng.below(9) as i32 - 4;
            *d = (*d as i32 + shift).clamp(5, 99) as u8;
        }
    }
    t
}

/// Splits `n` into whole parts proportional to `weights` (largest remainders, ties to the
/// first).
fn apportion(n: u64, weights: &[u32; 13]) -> [u64; 13] {
    let total: u128 = weights.iter().map(|&w| w as u128).sum();
    let mut counts = [0u64; 13];
    if total == 0 {
        counts[0] = n;
        return counts;
    }
    let mut rem = [(0u128, 0usize); 13];
    let mut given = 0u64;
    for (i, &w) in weights.iter().enumerate() {
        let exact = n as u128 * w as u128;
        counts[i] = (exact / total) as u64;
        given += counts[i];
        rem[i] = (exact % total, i);
    }
    rem.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    for &(_, i) in rem.iter().take((n - given) as usize) {
        counts[i] += 1;
    }
    counts
}

/// Days since 1970-01-01 of a proleptic Gregorian date.
fn day_number(y: i32, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y } as i64;
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = m as i64;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The date of a day number of [`day_number`].
fn civil_from_days(z: i64) -> (i32, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y as i32, m, d)
}

fn digits(mut n: u64) -> usize {
    let mut d = 1;
    while n >= 10 {
        n /= 10;
        d += 1;
    }
    d
}

fn push_u64(buf: &mut Vec<u8>, n: u64) {
    push_padded(buf, n, 1);
}

/// Writes `n` in decimal, zero-padded to `width` digits.
fn push_padded(buf: &mut Vec<u8>, n: u64, width: usize) {
    buf.extend_from_slice(crate::digits::Decimal::new(n, width).bytes());
}

/// Writes hundredths as a decimal with two places: 73 → `0.73`.
fn push_hundredths(buf: &mut Vec<u8>, n: u64) {
    push_u64(buf, n / 100);
    buf.push(b'.');
    push_padded(buf, n % 100, 2);
}

fn push_bool(buf: &mut Vec<u8>, b: bool) {
    buf.extend_from_slice(if b { b"true" } else { b"false" });
}

/// 5200000 → `5_200_000`, as TOML allows.
fn underscored(n: i64) -> String {
    crate::report::separated(n, '_')
}

/// 5200000 → `5,200,000`, for people.
fn grouped(n: i64) -> String {
    crate::report::thousands(n)
}

fn write_file(path: &Path, bytes: &[u8]) -> Result<()> {
    fs::write(path, bytes).map_err(|e| Error::io(path, e))
}

/// A file written through one large reused buffer.
struct Sink<'a> {
    file: File,
    buf: Vec<u8>,
    path: &'a Path,
}

impl Sink<'_> {
    const CAP: usize = 1 << 20;

    fn flush_if_full(&mut self) -> Result<()> {
        if self.buf.len() >= Self::CAP {
            self.file
                .write_all(&self.buf)
                .map_err(|e| Error::io(self.path, e))?;
            self.buf.clear();
        }
        Ok(())
    }

    fn finish(mut self) -> Result<()> {
        self.file
            .write_all(&self.buf)
            .and_then(|()| self.file.flush())
            .map_err(|e| Error::io(self.path, e))
    }
}

/// xoshiro256++ seeded through splitmix64: small, fast, and the same on every platform.
struct Rng {
    s: [u64; 4],
}

impl Rng {
    fn new(seed: u64) -> Rng {
        let mut x = seed;
        let mut next = || {
            x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
            let mut z = x;
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            z ^ (z >> 31)
        };
        Rng {
            s: [next(), next(), next(), next()],
        }
    }

    fn next_u64(&mut self) -> u64 {
        let s = &mut self.s;
        let result = s[0].wrapping_add(s[3]).rotate_left(23).wrapping_add(s[0]);
        let t = s[1] << 17;
        s[2] ^= s[0];
        s[3] ^= s[1];
        s[1] ^= s[2];
        s[0] ^= s[3];
        s[2] ^= t;
        s[3] = s[3].rotate_left(45);
        result
    }

    /// Uniform in [0, 1).
    fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// Uniform in 0..n (n > 0), by multiply-shift.
    fn below(&mut self, n: u64) -> u64 {
        ((self.next_u64() as u128 * n as u128) >> 64) as u64
    }

    fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }

    /// An index drawn with probability proportional to its weight.
    fn weighted(&mut self, weights: &[u32]) -> usize {
        let total: u64 = weights.iter().map(|&w| w as u64).sum();
        let mut x = self.below(total.max(1));
        for (i, &w) in weights.iter().enumerate() {
            if x < w as u64 {
                return i;
            }
            x -= w as u64;
        }
        weights.len() - 1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn day_numbers_round_trip() {
        assert_eq!(day_number(1970, 1, 1), 0);
        assert_eq!(civil_from_days(day_number(2016, 6, 6)), (2016, 6, 6));
        assert_eq!(civil_from_days(day_number(2016, 3, 1) - 1), (2016, 2, 29));
        for z in day_number(2011, 1, 1)..day_number(2017, 1, 1) {
            let (y, m, d) = civil_from_days(z);
            assert!(Date::new(y, m, d).is_some());
            assert_eq!(day_number(y, m, d), z);
        }
    }

    #[test]
    fn apportion_is_exact_and_proportional() {
        assert_eq!(
            apportion(520, &CITY_WEIGHTS),
            CITY_WEIGHTS.map(|w| w as u64)
        );
        let c = apportion(7, &CITY_WEIGHTS);
        assert_eq!(c.iter().sum::<u64>(), 7);
        assert_eq!(
            apportion(1_000_003, &CITY_WEIGHTS).iter().sum::<u64>(),
            1_000_003
        );
    }

    #[test]
    fn numbers_are_written_plainly() {
        let mut b = Vec::new();
        push_padded(&mut b, 42, 6);
        b.push(b' ');
        push_u64(&mut b, 0);
        b.push(b' ');
        push_hundredths(&mut b, 7);
        b.push(b' ');
        push_padded(&mut b, 1_234_567, 6);
        assert_eq!(b, b"000042 0 0.07 1234567");
        assert_eq!(underscored(5_200_000), "5_200_000");
        assert_eq!(grouped(999), "999");
    }
}
