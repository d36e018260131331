//! Scoring throughput, end to end through the release binary: `idmaj score` reads the
//! applicants CSV and writes the assessments CSV, on 1 and 2 threads, over a generated
//! scenario. Run with `cargo bench --bench score` (`IDMAJ_BENCH_APPLICANTS` changes the
//! size, default 1,000,000). Peak memory is the child's, from GNU time when installed.

use std::process::Command;
use std::time::Instant;

use idmaj::generate::{generate, GenerateOptions};

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
            ..Default::default()
        },
        &dir,
    )
    .expect("generate");
    println!(
        "generated {n} applicants in {:.2} s",
        t.elapsed().as_secs_f64()
    );
    let out = dir.join("assessments.csv");
    let mut base = None;
    for threads in [1, 2] {
        let threads = threads.to_string();
        let args = [
            "--threads",
            threads.as_str(),
            "score",
            dir.to_str().expect("utf-8 path"),
            "--out",
            out.to_str().expect("utf-8 path"),
        ];
        let timed = std::path::Path::new("/usr/bin/time").exists();
        let mut cmd = if timed {
            let mut c = Command::new("/usr/bin/time");
            c.args(["-f", "peak %M kB"])
                .arg(env!("CARGO_BIN_EXE_idmaj"));
            c
        } else {
            Command::new(env!("CARGO_BIN_EXE_idmaj"))
        };
        let t = Instant::now();
        let run = cmd.args(args).output().expect("run idmaj score");
        let secs = t.elapsed().as_secs_f64();
        assert!(
            run.status.success(),
            "{}",
            String::from_utf8_lossy(&run.stderr)
        );
        let stderr = String::from_utf8_lossy(&run.stderr);
        let rate = n as f64 / secs;
        let speedup = base.map_or(1.0, |b: f64| b / secs);
        base.get_or_insert(secs);
        let peak = stderr
            .lines()
            .find_map(|l| l.strip_prefix("peak "))
            .unwrap_or("not measured (no /usr/bin/time)");
        println!(
            "score {n} applicants on {threads} thread(s): {secs:.2} s, {rate:.0} applicants/s, {:.2} µs/applicant, speed-up {speedup:.2}x, peak memory {peak}",
            1e6 * secs / n as f64,
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}
