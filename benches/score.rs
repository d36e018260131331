//! Scoring throughput, end to end: applicants CSV in, assessment CSV out, on 1 and 2
//! threads, over a generated scenario. Run with `cargo bench --bench score`
//! (`IDMAJ_BENCH_APPLICANTS` changes the size, default 1,000,000).

use std::time::Instant;

use idmaj::generate::{generate, GenerateOptions};
use idmaj::report::{score_row, SCORE_COLUMNS};
use idmaj::{pipeline, Scenario};

#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn peak_rss_mb() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

fn main() {
    let n: u64 = std::env::var("IDMAJ_BENCH_APPLICANTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let dir = std::env::temp_dir().join(format!("idmaj-bench-score-{n}"));
    let t = Instant::now();
    generate(
        &GenerateOptions {
            applicants: n,
            seed: 42,
        },
        &dir,
    )
    .expect("generate");
    println!(
        "generated {n} applicants in {:.2} s",
        t.elapsed().as_secs_f64()
    );
    let scenario = Scenario::load(&dir).expect("load");
    let out = dir.join("assessments.csv");
    let mut base = None;
    for threads in [1, 2] {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .expect("pool");
        let t = Instant::now();
        let summary = pool.install(|| {
            let mut w = csv::Writer::from_path(&out).expect("out");
            w.write_record(SCORE_COLUMNS).expect("write");
            pipeline::score_stream_with(
                &scenario,
                score_row,
                |_, row| {
                    w.write_record(row).expect("write");
                    Ok(())
                },
                |_| {},
            )
            .expect("score")
        });
        let secs = t.elapsed().as_secs_f64();
        let rate = summary.applicants as f64 / secs;
        let speedup = base.map_or(1.0, |b: f64| b / secs);
        base.get_or_insert(secs);
        println!(
            "score {} applicants on {threads} thread(s): {secs:.2} s, {rate:.0} applicants/s, {:.2} µs/applicant, speed-up {speedup:.2}x ({} eligible)",
            summary.applicants,
            1e6 * secs / summary.applicants as f64,
            summary.eligible
        );
    }
    if let Some(mb) = peak_rss_mb() {
        println!("peak memory (VmHWM) {mb:.0} MB");
    }
    let _ = std::fs::remove_dir_all(&dir);
}
