//! `idmaj serve` under load, client and server on the same machine, loopback only: the
//! release binary serves the shipped scenarios and a generated one, and this program's own
//! HTTP client (tokio + hyper) measures
//!
//! 1. single-applicant `assess` requests on 64 keep-alive connections: requests/s and
//!    latency percentiles, for one scenario and for both shipped scenarios in turn;
//! 2. the same load while allocations of the shipped scenarios are asked for one after the
//!    other, each against `idmaj allocate` of the same scenario;
//! 3. a 5,000-applicant batch `assess` against `idmaj score` over the same applicants.
//!
//! Bounded in time and requests: `cargo bench --bench serve` runs for about half a minute
//! (`IDMAJ_BENCH_SECS` sets each load phase, default 5 s; `IDMAJ_BENCH_CONNS` the
//! connections, default 64). The server's request log goes to /dev/null.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::{Method, Request, StatusCode};
use idmaj::generate::{generate, GenerateOptions};

const TOKEN: &str = "bench-token-0123456789abcdef";
/// No phase sends more than this many requests, whatever the machine.
const MAX_REQUESTS: u64 = 5_000_000;
const BATCH: u64 = 5_000;

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// The release server, stopped when dropped.
struct Server(Child, SocketAddr);

impl Server {
    fn start(scenarios: &[PathBuf]) -> Server {
        let mut child = Command::new(env!("CARGO_BIN_EXE_idmaj"))
            .arg("serve")
            .args(scenarios)
            .args(["--addr", "127.0.0.1:0"])
            .env("IDMAJ_TOKEN", TOKEN)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start idmaj serve");
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("stdout"))
            .read_line(&mut line)
            .expect("read the address");
        let addr = line
            .split_whitespace()
            .find_map(|w| w.strip_prefix("http://"))
            .unwrap_or_else(|| panic!("no address in {line:?}"))
            .parse()
            .expect("an address");
        Server(child, addr)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

type Sender = hyper::client::conn::http1::SendRequest<Full<Bytes>>;

async fn connect(addr: SocketAddr) -> Sender {
    let stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
    stream.set_nodelay(true).expect("nodelay");
    let (send, conn) = hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
        .await
        .expect("handshake");
    tokio::spawn(conn);
    send
}

/// One POST on a kept-alive connection: status and body.
async fn post(send: &mut Sender, path: &str, body: Bytes) -> (StatusCode, Bytes) {
    send.ready().await.expect("connection ready");
    let req = Request::builder()
        .method(Method::POST)
        .uri(path)
        .header("host", "127.0.0.1")
        .header("authorization", format!("Bearer {TOKEN}"))
        .header("content-type", "application/json")
        .body(Full::new(body))
        .expect("request");
    let r = send.send_request(req).await.expect("answer");
    let status = r.status();
    let body = r.into_body().collect().await.expect("body").to_bytes();
    (status, body)
}

/// Latencies of one load phase.
struct Load {
    requests: u64,
    errors: u64,
    secs: f64,
    micros: Vec<u32>,
}

impl Load {
    fn pct(&self, p: f64) -> f64 {
        if self.micros.is_empty() {
            return f64::NAN;
        }
        let i = ((self.micros.len() as f64 - 1.0) * p).round() as usize;
        f64::from(self.micros[i]) / 1000.0
    }

    fn report(&self, what: &str) {
        println!(
            "{what}: {} requests in {:.1} s = {:.0} req/s; latency p50 {:.2} ms, p99 {:.2} ms, p99.9 {:.2} ms, max {:.2} ms; {} errors",
            self.requests,
            self.secs,
            self.requests as f64 / self.secs,
            self.pct(0.5),
            self.pct(0.99),
            self.pct(0.999),
            self.pct(1.0),
            self.errors
        );
    }
}

/// `conns` connections sending single-applicant assess requests until `stop` or `secs`.
async fn load(
    addr: SocketAddr,
    conns: usize,
    secs: f64,
    bodies: Arc<Vec<(String, Bytes)>>,
    stop: Arc<AtomicBool>,
) -> Load {
    let sent = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let deadline = start + Duration::from_secs_f64(secs);
    let mut tasks = Vec::new();
    for c in 0..conns {
        let (bodies, sent, stop) = (bodies.clone(), sent.clone(), stop.clone());
        tasks.push(tokio::spawn(async move {
            let mut send = connect(addr).await;
            let mut micros = Vec::with_capacity(1 << 16);
            let mut errors = 0u64;
            let mut i = c;
            while Instant::now() < deadline
                && !stop.load(Ordering::Relaxed)
                && sent.fetch_add(1, Ordering::Relaxed) < MAX_REQUESTS
            {
                let t = Instant::now();
                let (path, body) = &bodies[i % bodies.len()];
                let (status, _) = post(&mut send, path, body.clone()).await;
                micros.push(t.elapsed().as_micros().min(u128::from(u32::MAX)) as u32);
                if status != StatusCode::OK {
                    errors += 1;
                }
                i += conns;
            }
            (micros, errors)
        }));
    }
    let mut all = Vec::new();
    let mut errors = 0;
    for t in tasks {
        let (m, e) = t.await.expect("a load task");
        all.extend(m);
        errors += e;
    }
    let secs = start.elapsed().as_secs_f64();
    all.sort_unstable();
    Load {
        requests: all.len() as u64,
        errors,
        secs,
        micros: all,
    }
}

/// Median wall time of `runs` runs of the release binary with `args`.
fn cli_median(args: &[&str], runs: usize) -> f64 {
    let mut times: Vec<f64> = (0..runs)
        .map(|_| {
            let t = Instant::now();
            let out = Command::new(env!("CARGO_BIN_EXE_idmaj"))
                .args(args)
                .current_dir(repo())
                .output()
                .expect("run idmaj");
            assert!(
                out.status.success(),
                "idmaj {args:?}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            t.elapsed().as_secs_f64()
        })
        .collect();
    times.sort_by(f64::total_cmp);
    times[runs / 2]
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// `{"applicants": [...]}` of a scenario's own applicants.
fn batch_body(dir: &Path) -> Bytes {
    let engine = idmaj::Engine::load(dir).expect("load");
    let applicants = engine.applicants().expect("applicants");
    Bytes::from(serde_json::to_vec(&serde_json::json!({ "applicants": applicants })).expect("json"))
}

fn main() {
    let secs = env_or("IDMAJ_BENCH_SECS", 5) as f64;
    let conns = env_or("IDMAJ_BENCH_CONNS", 64) as usize;
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    println!("idmaj serve bench: {cores} cores shared by client and server, {conns} connections, {secs} s per load phase");

    let tmp = tempfile::tempdir().expect("temp dir");
    let generated = tmp.path().join("generated-5000");
    generate(
        &GenerateOptions {
            applicants: BATCH,
            seed: 42,
            ..Default::default()
        },
        &generated,
    )
    .expect("generate");
    let ramadan = repo().join("scenarios/ramadan-2016");
    let tangier = repo().join("scenarios/tangier-2016");
    let server = Server::start(&[ramadan.clone(), tangier.clone(), generated.clone()]);
    let addr = server.1;

    let singles_of = |name: &str, dir: &Path| -> Vec<(String, Bytes)> {
        let engine = idmaj::Engine::load(dir).expect("load");
        engine
            .applicants()
            .expect("applicants")
            .iter()
            .map(|a| {
                let body = serde_json::to_vec(&serde_json::json!({ "applicants": [a] }));
                (
                    format!("/v1/scenarios/{name}/assess"),
                    Bytes::from(body.expect("json")),
                )
            })
            .collect()
    };
    let singles = Arc::new(singles_of("tangier-2016", &tangier));
    // Both shipped scenarios, one request each in turn on every connection.
    let mixed: Vec<(String, Bytes)> = singles
        .iter()
        .cloned()
        .zip(singles_of("ramadan-2016", &ramadan))
        .flat_map(|(a, b)| [a, b])
        .collect();
    let mixed = Arc::new(mixed);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(cores)
        .enable_all()
        .build()
        .expect("runtime");

    // 1. Single-applicant assess alone.
    rt.block_on(load(
        addr,
        conns,
        1.0,
        singles.clone(),
        Arc::new(AtomicBool::new(false)),
    ));
    let alone = rt.block_on(load(
        addr,
        conns,
        secs,
        singles.clone(),
        Arc::new(AtomicBool::new(false)),
    ));
    alone.report("single-applicant assess");
    let both = rt.block_on(load(
        addr,
        conns,
        secs,
        mixed,
        Arc::new(AtomicBool::new(false)),
    ));
    both.report("single-applicant assess, both shipped scenarios in turn");

    // 2. Allocations of the shipped scenarios while the same load runs, against the CLI.
    let bodies: Vec<(&str, Bytes, Bytes)> =
        [("ramadan-2016", &ramadan), ("tangier-2016", &tangier)]
            .into_iter()
            .map(|(name, dir)| {
                let total = idmaj::Engine::load(dir)
                    .expect("load")
                    .info()
                    .budget_total
                    .expect("a budget");
                // The same budget again: a real solve, from the cached assessments.
                let set = serde_json::json!({"set": {"budget.total": total}});
                let set = Bytes::from(serde_json::to_vec(&set).expect("json"));
                (name, set, batch_body(dir))
            })
            .collect();
    let stop = Arc::new(AtomicBool::new(false));
    let (under_load, timings) = rt.block_on(async {
        let background = tokio::spawn(load(addr, conns, secs, singles.clone(), stop.clone()));
        tokio::time::sleep(Duration::from_millis(300)).await;
        let mut send = connect(addr).await;
        let mut timings: Vec<(&str, &str, Vec<f64>)> = Vec::new();
        let until = Instant::now() + Duration::from_secs_f64(secs - 0.6);
        while Instant::now() < until {
            for (name, set, full) in &bodies {
                for (how, body) in [("solve", set), ("assess+solve", full)] {
                    let t = Instant::now();
                    let (status, _) = post(
                        &mut send,
                        &format!("/v1/scenarios/{name}/allocate"),
                        body.clone(),
                    )
                    .await;
                    assert_eq!(status, StatusCode::OK, "allocate {name}");
                    let s = t.elapsed().as_secs_f64();
                    match timings.iter_mut().find(|(n, h, _)| n == name && *h == how) {
                        Some(x) => x.2.push(s),
                        None => timings.push((name, how, vec![s])),
                    }
                }
            }
        }
        let loaded = background.await.expect("load");
        (loaded, timings)
    });
    under_load.report("single-applicant assess while allocating");
    for (name, _, _) in &bodies {
        let out = tmp.path().join(format!("out-{name}"));
        let path = format!("scenarios/{name}");
        let cli = cli_median(
            &["allocate", &path, "--out", out.to_str().expect("utf-8")],
            7,
        );
        for (n, how, times) in &timings {
            if n == name {
                let runs = times.len();
                let m = median(times.clone());
                println!(
                    "allocate {name} ({how}) under load: median {:.1} ms over {runs} runs, max {:.1} ms; CLI allocate {:.1} ms: {:.2}x",
                    1000.0 * m,
                    1000.0 * times.iter().cloned().fold(0.0, f64::max),
                    1000.0 * cli,
                    m / cli
                );
            }
        }
    }

    // 3. A 5,000-applicant batch against `idmaj score` on the same applicants.
    let body = batch_body(&generated);
    let name = "generated-5000";
    let served: Vec<f64> = (0..7)
        .map(|_| {
            rt.block_on(async {
                let mut send = connect(addr).await;
                let t = Instant::now();
                let (status, answer) = post(
                    &mut send,
                    &format!("/v1/scenarios/{name}/assess"),
                    body.clone(),
                )
                .await;
                assert_eq!(
                    status,
                    StatusCode::OK,
                    "{}",
                    String::from_utf8_lossy(&answer)
                );
                t.elapsed().as_secs_f64()
            })
        })
        .collect();
    let served = median(served);
    let scored = tmp.path().join("scored.csv");
    let cli = cli_median(
        &[
            "score",
            generated.to_str().expect("utf-8"),
            "--out",
            scored.to_str().expect("utf-8"),
        ],
        7,
    );
    println!(
        "batch assess of {BATCH} applicants ({:.1} MB of JSON): {:.1} ms; CLI score of the same {:.1} ms: {:.2}x",
        body.len() as f64 / 1e6,
        1000.0 * served,
        1000.0 * cli,
        served / cli
    );
    drop(server);
}
