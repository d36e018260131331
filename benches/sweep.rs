//! Sweep against one allocation, end to end through the `idmaj` binary, as a planner runs
//! them: `allocate SCENARIO --out DIR` (load, score, solve, write the four outputs) and
//! `sweep SCENARIO --budget A..B:N` (load every point, score once, solve the distinct
//! programmes in parallel, print the table). Each command runs `IDMAJ_BENCH_RUNS` times
//! (default 21) after one warm-up; the medians and their ratio are printed.
//!
//! `cargo bench --bench sweep` uses `scenarios/ramadan-2016` and `3000000..6000000:13`;
//! arguments after `--` replace them: `cargo bench --bench sweep -- SCENARIO RANGE`.

use std::path::Path;
use std::process::Command;
use std::time::Instant;

fn median_seconds(runs: usize, mut cmd: impl FnMut() -> Command) -> f64 {
    let mut once = || {
        let t = Instant::now();
        let out = cmd().output().expect("run idmaj");
        assert!(
            out.status.success(),
            "idmaj failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        t.elapsed().as_secs_f64()
    };
    once();
    let mut times: Vec<f64> = (0..runs).map(|_| once()).collect();
    times.sort_by(f64::total_cmp);
    times[runs / 2]
}

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let scenario = args.first().map_or_else(
        || root.join("scenarios/ramadan-2016"),
        |s| Path::new(s).to_path_buf(),
    );
    let range = args
        .get(1)
        .cloned()
        .unwrap_or_else(|| "3000000..6000000:13".into());
    let runs: usize = std::env::var("IDMAJ_BENCH_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(21)
        .max(1);
    let bin = env!("CARGO_BIN_EXE_idmaj");
    let out = std::env::temp_dir().join("idmaj-bench-sweep");

    let single = median_seconds(runs, || {
        let mut c = Command::new(bin);
        c.arg("allocate").arg(&scenario).arg("--out").arg(&out);
        c
    });
    let sweep = median_seconds(runs, || {
        let mut c = Command::new(bin);
        c.arg("sweep").arg(&scenario).arg("--budget").arg(&range);
        c
    });
    println!("scenario  {}", scenario.display());
    println!("allocate  {:.1} ms (median of {runs})", single * 1e3);
    println!(
        "sweep     {:.1} ms (median of {runs}), --budget {range}",
        sweep * 1e3
    );
    println!("ratio     {:.2}× one allocation", sweep / single);
}
