//! Sweeps against one allocation, end to end through the `idmaj` binary, as a planner runs
//! them: `allocate SCENARIO --out DIR` (load, score, solve, write every output) and a
//! `sweep` of the same scenario (load every point, score each scoring group once, solve
//! the distinct programmes in parallel, print the table). The two commands run in turns
//! (so a change in the host's speed touches both), `IDMAJ_BENCH_RUNS` times each (default
//! 21) after one warm-up; the medians and their ratio are printed.
//!
//! `cargo bench --bench sweep` runs two cases: `scenarios/ramadan-2016` with `--budget
//! 3000000..6000000:13` (one scoring, ten distinct solves), and a programme of 100,000
//! generated applicants (`idmaj generate --applicants 100000 --seed 5`) with `--set
//! params.min_training_hours=100,120,150,180` (four scorings, four solves). Arguments after
//! `--` replace both with one budget sweep: `cargo bench --bench sweep -- SCENARIO RANGE`.

use std::path::Path;
use std::process::Command;
use std::time::Instant;

/// Medians of `allocate` and of `sweep`, run in turns after one warm-up each.
fn medians(runs: usize, allocate: impl Fn() -> Command, sweep: impl Fn() -> Command) -> (f64, f64) {
    let once = |mut cmd: Command| {
        let t = Instant::now();
        let out = cmd.output().expect("run idmaj");
        assert!(
            out.status.success(),
            "idmaj failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        t.elapsed().as_secs_f64()
    };
    once(allocate());
    once(sweep());
    let (mut a, mut s) = (Vec::new(), Vec::new());
    for _ in 0..runs {
        a.push(once(allocate()));
        s.push(once(sweep()));
    }
    let median = |mut v: Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[runs / 2]
    };
    (median(a), median(s))
}

/// Runs one case and prints its medians and their ratio.
fn case(runs: usize, scenario: &Path, what: &[&str]) {
    let bin = env!("CARGO_BIN_EXE_idmaj");
    let out = std::env::temp_dir().join("idmaj-bench-sweep");
    let (single, sweep) = medians(
        runs,
        || {
            let mut c = Command::new(bin);
            c.arg("allocate").arg(scenario).arg("--out").arg(&out);
            c
        },
        || {
            let mut c = Command::new(bin);
            c.arg("sweep").arg(scenario).args(what);
            c
        },
    );
    println!("scenario  {}", scenario.display());
    println!("allocate  {:.1} ms (median of {runs})", single * 1e3);
    println!(
        "sweep     {:.1} ms (median of {runs}), {}",
        sweep * 1e3,
        what.join(" ")
    );
    println!("ratio     {:.2}× one allocation\n", sweep / single);
}

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let runs: usize = std::env::var("IDMAJ_BENCH_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(21)
        .max(1);
    if let Some(scenario) = args.first() {
        let range = args.get(1).map_or("3000000..6000000:13", String::as_str);
        case(runs, Path::new(scenario), &["--budget", range]);
        return;
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    case(
        runs,
        &root.join("scenarios/ramadan-2016"),
        &["--budget", "3000000..6000000:13"],
    );
    // Generated afresh each time (the same bytes for a seed, from this build's generator).
    let generated = std::env::temp_dir().join("idmaj-bench-sweep-100000-5");
    let _ = std::fs::remove_dir_all(&generated);
    let out = Command::new(env!("CARGO_BIN_EXE_idmaj"))
        .args(["generate", "--applicants", "100000", "--seed", "5", "--out"])
        .arg(&generated)
        .output()
        .expect("run idmaj generate");
    assert!(
        out.status.success(),
        "generate failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    case(
        runs,
        &generated,
        &["--set", "params.min_training_hours=100,120,150,180"],
    );
}
