//! Scoring throughput, end to end through the release binary: `idmaj score` reads the
//! applicants CSV and writes the assessments CSV, on 1 and 2 threads with the compiled
//! rules, then on 2 threads with the interpreter (`--engine interpreted`) for comparison,
//! over a generated scenario. Run with `cargo bench --bench score`
//! (`IDMAJ_BENCH_APPLICANTS` changes the size, default 1,000,000; `IDMAJ_BENCH_RUNS` the
//! runs of each line, default 5). Each line gives the median run and the fastest: on a
//! shared virtual machine one run can take twice another for the same work. Peak memory
//! and CPU time are those of the median run, from GNU time when installed.

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
    let runs: usize = std::env::var("IDMAJ_BENCH_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|&r| r > 0)
        .unwrap_or(5);
    let out = dir.join("assessments.csv");
    let mut base = None;
    for (threads, engine) in [(1, "compiled"), (2, "compiled"), (2, "interpreted")] {
        let threads = threads.to_string();
        let args = [
            "--engine",
            engine,
            "--threads",
            threads.as_str(),
            "score",
            dir.to_str().expect("utf-8 path"),
            "--out",
            out.to_str().expect("utf-8 path"),
        ];
        let timed = std::path::Path::new("/usr/bin/time").exists();
        // The interpreter is ten times slower: one run says enough.
        let n_runs = if engine == "interpreted" { 1 } else { runs };
        let mut measured: Vec<(f64, String)> = (0..n_runs)
            .map(|_| {
                let mut cmd = if timed {
                    let mut c = Command::new("/usr/bin/time");
                    c.args(["-f", "peak %M kB, CPU %U s user + %S s system"])
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
                (secs, String::from_utf8_lossy(&run.stderr).into_owned())
            })
            .collect();
        measured.sort_by(|a, b| a.0.total_cmp(&b.0));
        let best = measured[0].0;
        let (secs, stderr) = &measured[measured.len() / 2];
        let secs = *secs;
        let rate = n as f64 / secs;
        let speedup = base.map_or(1.0, |b: f64| b / secs);
        base.get_or_insert(secs);
        let cpu = stderr
            .lines()
            .find_map(|l| l.strip_prefix("peak ").and_then(|l| l.split_once(", CPU ")))
            .map_or(String::new(), |(_, cpu)| format!(", CPU {cpu}"));
        let peak = stderr
            .lines()
            .find_map(|l| l.strip_prefix("peak "))
            .map_or("not measured (no /usr/bin/time)", |l| {
                l.split_once(", CPU").map_or(l, |(peak, _)| peak)
            });
        println!(
            "score {n} applicants, {engine} rules, {threads} thread(s): median of {n_runs} {secs:.2} s, {rate:.0} applicants/s ({:.2} µs/applicant); fastest {best:.2} s, {:.0} applicants/s; speed-up {speedup:.2}x over the first line, peak memory {peak}{cpu}",
            1e6 * secs / n as f64,
            n as f64 / best,
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}
