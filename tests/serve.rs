//! `idmaj serve` as its clients meet it: the real binary on an ephemeral loopback port,
//! asked over real HTTP connections. Answers must be the command line's to the byte of JSON,
//! bad input must come back as problems, never as a 500, and the log must hold no personal
//! data. The what-if page is driven by a real Chromium through WebDriver (Debian's
//! `chromium` and `chromium-driver`); without them the browser test is skipped with a
//! message, except under CI (`CI` set), where it fails.

mod common;

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use bytes::Bytes;
use common::{idmaj, repo, text};
use http_body_util::{BodyExt, Full};
use hyper::header::{self, HeaderMap};
use hyper::{Method, Request, StatusCode};
use serde_json::{json, Value};

const TOKEN: &str = "test-token-0123456789abcdef";

/// A running `idmaj serve`, stopped when dropped.
struct Server {
    child: Child,
    addr: SocketAddr,
    log: PathBuf,
    _tmp: tempfile::TempDir,
}

impl Server {
    /// Serves the shipped scenarios `names` with `extra` arguments and the test token.
    fn start(names: &[&str], extra: &[&str]) -> Server {
        let tmp = tempfile::tempdir().unwrap();
        let log = tmp.path().join("stderr.log");
        // From the repository, with the paths the CLI runs below use: summaries name their
        // input files as given.
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_idmaj"));
        cmd.arg("serve").current_dir(repo());
        for n in names {
            cmd.arg(format!("scenarios/{n}"));
        }
        let mut child = cmd
            .args(["--addr", "127.0.0.1:0"])
            .args(extra)
            .env("IDMAJ_TOKEN", TOKEN)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .expect("start idmaj serve");
        let mut first = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut first)
            .unwrap();
        let Some(url) = first.split_whitespace().find(|w| w.starts_with("http://")) else {
            let _ = child.kill();
            panic!(
                "no address printed: {first:?}\n{}",
                std::fs::read_to_string(&log).unwrap_or_default()
            );
        };
        let addr = url.trim_start_matches("http://").parse().unwrap();
        Server {
            child,
            addr,
            log,
            _tmp: tmp,
        }
    }

    fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// An answer: status, headers, body.
struct Answer {
    status: StatusCode,
    headers: HeaderMap,
    body: Bytes,
}

impl Answer {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&self.body)))
    }
}

/// One request on a fresh connection.
async fn call(
    addr: SocketAddr,
    method: Method,
    path: &str,
    headers: &[(&str, &str)],
    body: impl Into<Bytes>,
) -> Answer {
    let stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let (mut send, conn) =
        hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
            .await
            .unwrap();
    tokio::spawn(conn);
    let mut req = Request::builder()
        .method(method)
        .uri(path)
        .header(header::HOST, addr.to_string());
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let req = req.body(Full::new(body.into())).unwrap();
    let r = send.send_request(req).await.unwrap();
    let (parts, body) = r.into_parts();
    Answer {
        status: parts.status,
        headers: parts.headers,
        body: body.collect().await.unwrap().to_bytes(),
    }
}

const BEARER: &str = "Bearer test-token-0123456789abcdef";

async fn get(addr: SocketAddr, path: &str) -> Answer {
    call(addr, Method::GET, path, &[("authorization", BEARER)], "").await
}

async fn post(addr: SocketAddr, path: &str, body: &Value) -> Answer {
    call(
        addr,
        Method::POST,
        path,
        &[
            ("authorization", BEARER),
            ("content-type", "application/json"),
        ],
        serde_json::to_vec(body).unwrap(),
    )
    .await
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

/// The scenario's own applicants as JSON, as a client would send them.
fn applicants_json(scenario: &str) -> Vec<Value> {
    let engine = idmaj::Engine::load(repo().join("scenarios").join(scenario)).unwrap();
    engine
        .applicants()
        .unwrap()
        .iter()
        .map(|a| serde_json::to_value(a).unwrap())
        .collect()
}

/// A valid applicant of the Tangier scenario.
fn one_applicant() -> Value {
    json!({
        "id": "X-1", "name": "Test Person", "gender": "F", "birth_year": 1990,
        "city": "Tangier", "release_date": "2016-01-15", "training_track": "plumbing",
        "training_hours": 200, "training_certified": true, "pm_training": "oui",
        "plan_trade": "plumbing", "plan_approved": true, "plan_cost": 14000,
        "experience_years": 2
    })
}

fn cli(args: &[&str]) -> Vec<u8> {
    let out = idmaj(repo(), args);
    assert!(
        out.status.success(),
        "idmaj {args:?}: {}",
        text(&out.stderr)
    );
    out.stdout
}

#[test]
fn health_needs_no_token_and_everything_else_does() {
    let server = Server::start(&["tangier-2016"], &[]);
    let addr = server.addr;
    runtime().block_on(async {
        let r = call(addr, Method::GET, "/v1/health", &[], "").await;
        assert_eq!(r.status, StatusCode::OK);
        assert_eq!(r.json()["status"], "ok");
        for path in [
            "/v1/scenarios",
            "/openapi.json",
            "/v1/scenarios/tangier-2016/explain/TNG-001",
        ] {
            for auth in [
                None,
                Some("Bearer wrong-token-0123456789abcdef"),
                Some("Bearer test-token-0123456789abcde"),
                Some("test-token-0123456789abcdef"),
                Some("Basic dGVzdA=="),
            ] {
                let headers: Vec<(&str, &str)> =
                    auth.iter().map(|a| ("authorization", *a)).collect();
                let r = call(addr, Method::GET, path, &headers, "").await;
                assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{path} with {auth:?}");
                assert_eq!(r.json(), json!({"error": "unauthorized"}));
                assert!(r.headers.contains_key(header::WWW_AUTHENTICATE));
            }
            assert_eq!(get(addr, path).await.status, StatusCode::OK, "{path}");
        }
        let r = post(
            addr,
            "/v1/scenarios/tangier-2016/assess",
            &json!({"applicants": []}),
        )
        .await;
        assert_eq!(r.status, StatusCode::OK);
        let r = call(
            addr,
            Method::POST,
            "/v1/scenarios/tangier-2016/assess",
            &[],
            r#"{"applicants": []}"#,
        )
        .await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED);

        let list = get(addr, "/v1/scenarios").await.json();
        assert_eq!(
            list,
            json!([{
                "name": "tangier-2016",
                "program": "Ramadan 2016 — first Tangier batch",
                "currency": "MAD",
                "applicants": 44,
                "budget_total": 262519
            }])
        );

        // The OpenAPI document describes every route.
        let doc = get(addr, "/openapi.json").await.json();
        assert_eq!(doc["openapi"], "3.0.3");
        for p in [
            "/v1/health",
            "/v1/scenarios",
            "/v1/scenarios/{name}/assess",
            "/v1/scenarios/{name}/allocate",
            "/v1/scenarios/{name}/sweep",
            "/v1/scenarios/{name}/explain/{id}",
            "/openapi.json",
        ] {
            assert!(doc["paths"][p].is_object(), "openapi.json lacks {p}");
        }
    });
}

#[test]
fn assess_allocate_and_sweep_answer_what_the_cli_writes() {
    let server = Server::start(&["ramadan-2016", "tangier-2016"], &[]);
    let addr = server.addr;
    let rt = runtime();
    for scenario in ["ramadan-2016", "tangier-2016"] {
        let path = format!("scenarios/{scenario}");
        let tmp = tempfile::tempdir().unwrap();

        // assess == score --format jsonl
        let expected: Vec<Value> = text(&cli(&["score", &path, "--format", "jsonl"]))
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        let applicants = applicants_json(scenario);
        let r = rt.block_on(post(
            addr,
            &format!("/v1/scenarios/{scenario}/assess"),
            &json!({ "applicants": applicants }),
        ));
        assert_eq!(r.status, StatusCode::OK);
        assert_eq!(
            r.json()["assessments"],
            Value::Array(expected.clone()),
            "{scenario}"
        );
        // One at a time, the same.
        for (a, e) in applicants.iter().zip(&expected).take(25) {
            let r = rt.block_on(post(
                addr,
                &format!("/v1/scenarios/{scenario}/assess"),
                &json!({ "applicants": [a] }),
            ));
            assert_eq!(r.json()["assessments"][0], *e);
        }

        // allocate == allocate's decisions.jsonl and summary.json, from the scenario's own
        // applicants, from applicants in the body, and with --set.
        for (set, args) in [
            (json!({}), vec![]),
            (
                json!({"budget.total": 200000, "quota.women.min_share": 0.3}),
                vec![
                    "--set",
                    "budget.total=200000",
                    "--set",
                    "quota.women.min_share=0.3",
                ],
            ),
        ] {
            let out = tmp.path().join("out");
            let mut argv = vec!["allocate", path.as_str(), "--out", out.to_str().unwrap()];
            argv.extend(args.iter());
            cli(&argv);
            let decisions: Vec<Value> = std::fs::read_to_string(out.join("decisions.jsonl"))
                .unwrap()
                .lines()
                .map(|l| serde_json::from_str(l).unwrap())
                .collect();
            let summary: Value =
                serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap())
                    .unwrap();
            for body in [
                json!({ "set": set }),
                json!({ "set": set, "applicants": applicants }),
            ] {
                let r = rt.block_on(post(
                    addr,
                    &format!("/v1/scenarios/{scenario}/allocate"),
                    &body,
                ));
                assert_eq!(
                    r.status,
                    StatusCode::OK,
                    "{}",
                    String::from_utf8_lossy(&r.body)
                );
                let got = r.json();
                assert_eq!(got["summary"], summary, "{scenario} {set}");
                assert_eq!(
                    got["decisions"],
                    Value::Array(decisions.clone()),
                    "{scenario} {set}"
                );
            }
        }

        // sweep == sweep --out FILE.json's points
        let file = tmp.path().join("sweep.json");
        let (from, to) = if scenario == "tangier-2016" {
            (150_000, 300_000)
        } else {
            (3_000_000, 6_000_000)
        };
        cli(&[
            "sweep",
            &path,
            "--budget",
            &format!("{from}..{to}:4"),
            "--set",
            "quota.women.min_share=0,0.25",
            "--out",
            file.to_str().unwrap(),
        ]);
        let expected: Value =
            serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
        let r = rt.block_on(post(
            addr,
            &format!("/v1/scenarios/{scenario}/sweep"),
            &json!({
                "set": {"quota.women.min_share": [0, 0.25]},
                "budget": {"from": from, "to": to, "steps": 4}
            }),
        ));
        assert_eq!(r.status, StatusCode::OK);
        assert_eq!(r.json()["rows"], expected["points"], "{scenario}");
    }
}

/// An earlier batch's decisions in the allocate body are kept as they were, marked committed.
#[test]
fn allocate_keeps_committed_decisions() {
    let server = Server::start(&["tangier-2016"], &[]);
    let rt = runtime();
    let path = "/v1/scenarios/tangier-2016/allocate";
    let first = rt.block_on(post(
        server.addr,
        path,
        &json!({"set": {"budget.total": 150000}}),
    ));
    assert_eq!(first.status, StatusCode::OK);
    let kept: Vec<Value> = first.json()["decisions"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["option"] != "none")
        .take(4)
        .cloned()
        .collect();
    assert_eq!(kept.len(), 4);
    let r = rt.block_on(post(server.addr, path, &json!({ "committed": kept })));
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    let decisions = r.json()["decisions"].as_array().unwrap().clone();
    for k in &kept {
        let d = decisions.iter().find(|d| d["id"] == k["id"]).unwrap();
        assert_eq!(d["committed"], true);
        for field in ["option", "kit", "amount", "funders"] {
            assert_eq!(d[field], k[field], "{field}");
        }
    }
    assert_eq!(
        decisions.iter().filter(|d| d["committed"] == true).count(),
        4
    );
    let mut unknown = kept[0].clone();
    unknown["id"] = json!("TNG-999");
    let r = rt.block_on(post(server.addr, path, &json!({ "committed": [unknown] })));
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{:?}", r.body);
}

#[test]
fn explain_gives_checks_with_what_they_read_and_the_decision() {
    let server = Server::start(&["tangier-2016"], &[]);
    let rt = runtime();
    let r = rt.block_on(get(
        server.addr,
        "/v1/scenarios/tangier-2016/explain/TNG-002",
    ));
    assert_eq!(r.status, StatusCode::OK);
    let e = r.json();
    assert_eq!(e["assessment"]["id"], "TNG-002");
    assert_eq!(e["decision"]["id"], "TNG-002");
    let checks = e["checks"].as_array().unwrap();
    let plan = checks.iter().find(|c| c["id"] == "plan").unwrap();
    assert_eq!(plan["passed"], false);
    assert_eq!(plan["reads"], json!({"plan_approved": "false"}));
    assert_eq!(
        e["assessment"]["failed_checks"],
        json!(checks
            .iter()
            .filter(|c| c["passed"] == false)
            .map(|c| c["id"].clone())
            .collect::<Vec<_>>())
    );
    // The decision is the allocation's.
    let all = rt
        .block_on(post(
            server.addr,
            "/v1/scenarios/tangier-2016/allocate",
            &json!({}),
        ))
        .json();
    let d = all["decisions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["id"] == "TNG-002")
        .unwrap()
        .clone();
    assert_eq!(e["decision"], d);
    let r = rt.block_on(get(
        server.addr,
        "/v1/scenarios/tangier-2016/explain/NOPE-1",
    ));
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert_eq!(r.json()["error"], "not_found");
}

/// Problems of a 400 answer.
fn problems(r: &Answer) -> Vec<Value> {
    assert_eq!(
        r.status,
        StatusCode::BAD_REQUEST,
        "{}",
        String::from_utf8_lossy(&r.body)
    );
    let v = r.json();
    assert_eq!(v["error"], "bad_input");
    let ps = v["problems"].as_array().unwrap().clone();
    assert!(!ps.is_empty());
    for p in &ps {
        for k in ["file", "line", "column", "key", "field", "id", "message"] {
            assert!(p.get(k).is_some(), "problem without {k}: {p}");
        }
    }
    ps
}

#[test]
fn bad_input_is_a_400_with_problems_never_a_500() {
    let server = Server::start(&["tangier-2016"], &[]);
    let addr = server.addr;
    let assess = "/v1/scenarios/tangier-2016/assess";
    runtime().block_on(async {
        let raw = |body: &'static str| {
            call(
                addr,
                Method::POST,
                assess,
                &[("authorization", BEARER)],
                body,
            )
        };
        // Malformed JSON: where it broke.
        let ps = problems(&raw("{\"applicants\": [\n  {\"id\": \"A\",}\n]}").await);
        assert_eq!(ps[0]["file"], "request body");
        assert_eq!(ps[0]["line"], 2);
        // Not JSON at all, a wrong shape, an unknown key, an empty body.
        for body in [
            "<xml/>",
            "[1,2]",
            "{\"applicants\": {}}",
            "{\"applicant\": []}",
            "",
        ] {
            problems(&raw(body).await);
        }
        // An applicant of the wrong shape: its index and id.
        let ps = problems(&raw(r#"{"applicants": [{"id": "A1", "city": {"x": 1}}]}"#).await);
        assert_eq!(ps[0]["key"], "applicants[0]");
        assert_eq!(ps[0]["id"], "A1");
        // Invalid values: field and id, like a CSV row; one bad applicant fails the batch.
        let mut bad = one_applicant();
        bad["id"] = json!("X-2");
        bad["city"] = json!("Tanger");
        bad["training_hours"] = json!(-3);
        let ps =
            problems(&post(addr, assess, &json!({"applicants": [one_applicant(), bad]})).await);
        let city = ps.iter().find(|p| p["field"] == "city").unwrap();
        assert_eq!(city["id"], "X-2");
        assert!(city["message"]
            .as_str()
            .unwrap()
            .contains("did you mean `Tangier`"));
        assert!(ps.iter().any(|p| p["field"] == "training_hours"));
        // Problems never quote the name.
        assert!(!serde_json::to_string(&ps).unwrap().contains("Test Person"));
        // A repeated id.
        let ps = problems(
            &post(
                addr,
                assess,
                &json!({"applicants": [one_applicant(), one_applicant()]}),
            )
            .await,
        );
        assert!(ps[0]["message"].as_str().unwrap().contains("duplicate id"));

        // allocate and sweep: unknown keys, bad values, bad ranges.
        let allocate = "/v1/scenarios/tangier-2016/allocate";
        let ps = problems(&post(addr, allocate, &json!({"set": {"budget.totl": 1}})).await);
        assert_eq!(ps[0]["key"], "budget.totl");
        assert!(ps[0]["message"]
            .as_str()
            .unwrap()
            .contains("did you mean `budget.total`"));
        problems(&post(addr, allocate, &json!({"set": {"budget.total": "lots"}})).await);
        problems(&post(addr, allocate, &json!({"set": {"budget.total": -5}})).await);
        problems(&post(addr, allocate, &json!({"set": [1]})).await);
        let sweep = "/v1/scenarios/tangier-2016/sweep";
        let ps = problems(
            &post(
                addr,
                sweep,
                &json!({"budget": {"from": 5, "to": 1, "steps": 3}}),
            )
            .await,
        );
        assert_eq!(ps[0]["key"], "budget");
        problems(
            &post(
                addr,
                sweep,
                &json!({"budget": {"from": 1, "to": 5, "steps": 1}}),
            )
            .await,
        );
        problems(&post(addr, sweep, &json!({})).await);
        problems(&post(addr, sweep, &json!({"set": {"budget.total": 5}})).await);
        problems(
            &post(
                addr,
                sweep,
                &json!({"budget": {"from": 1, "to": 5000, "steps": 1000}}),
            )
            .await,
        );

        // Infeasible: 422 with the constraints.
        let r = post(
            addr,
            allocate,
            &json!({"set": {"quota.women.min_count": 20}}),
        )
        .await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
        let v = r.json();
        assert_eq!(v["error"], "infeasible");
        assert_eq!(v["constraints"], json!(["quota.women.min_count"]));

        // Unknown scenario, route or method.
        let r = post(
            addr,
            "/v1/scenarios/nowhere/assess",
            &json!({"applicants": []}),
        )
        .await;
        assert_eq!(r.status, StatusCode::NOT_FOUND);
        assert_eq!(r.json()["error"], "not_found");
        assert_eq!(
            get(addr, "/v2/anything").await.status,
            StatusCode::NOT_FOUND
        );
        let r = get(addr, assess).await;
        assert_eq!(r.status, StatusCode::METHOD_NOT_ALLOWED);
        assert_eq!(r.json()["error"], "method_not_allowed");
    });
    assert!(!server.log().contains(" 500 "), "{}", server.log());
}

/// Sends an assess request that declares `length` bytes of body and sends none; returns the
/// status and the body of the answer.
async fn declared_only(addr: SocketAddr, length: usize) -> (u16, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let head = format!(
        "POST /v1/scenarios/tangier-2016/assess HTTP/1.1\r\nHost: {addr}\r\n\
         Authorization: {BEARER}\r\nContent-Type: application/json\r\n\
         Content-Length: {length}\r\n\r\n{{\"applicants\": ["
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(10), async {
        let mut buf = [0u8; 4096];
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => answer.extend_from_slice(&buf[..n]),
            }
            let text = String::from_utf8_lossy(&answer);
            if text.contains("\r\n\r\n") && text.trim_end().ends_with('}') {
                break;
            }
        }
    })
    .await;
    assert!(read.is_ok(), "no answer to a body over the limit");
    let text = String::from_utf8_lossy(&answer).into_owned();
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let body = text.split("\r\n\r\n").nth(1).unwrap_or("").to_string();
    (status, body)
}

#[test]
fn bodies_and_batches_over_their_limits_are_413() {
    let server = Server::start(&["tangier-2016"], &["--max-applicants", "5"]);
    let addr = server.addr;
    runtime().block_on(async {
        // 17 MiB declared, over the default 16 MiB: refused before the body is read (the
        // request is written by hand, since a client sending the whole body would race
        // the early answer and the closed connection).
        let (status, body) = declared_only(addr, 17 << 20).await;
        assert_eq!(status, 413, "{body}");
        assert!(body.contains("\"error\":\"too_large\""), "{body}");

        let mut six = Vec::new();
        for i in 0..6 {
            let mut a = one_applicant();
            a["id"] = json!(format!("X-{i}"));
            six.push(a);
        }
        let r = post(
            addr,
            "/v1/scenarios/tangier-2016/assess",
            &json!({"applicants": six}),
        )
        .await;
        assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE);
        assert!(r.json()["message"].as_str().unwrap().contains("at most 5"));
        let r = post(
            addr,
            "/v1/scenarios/tangier-2016/allocate",
            &json!({"applicants": six}),
        )
        .await;
        assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE);
        let r = post(
            addr,
            "/v1/scenarios/tangier-2016/assess",
            &json!({"applicants": &six[..5]}),
        )
        .await;
        assert_eq!(r.status, StatusCode::OK);
    });
}

#[test]
fn a_request_over_its_time_limit_is_503_and_the_server_goes_on() {
    let server = Server::start(&["ramadan-2016"], &["--timeout", "1"]);
    let addr = server.addr;
    runtime().block_on(async {
        // 101 women shares 0.2, 0.201, ..., 0.3, each a programme of its own to allocate:
        // many seconds even in a release build on a fast machine (a sweep of 60 training
        // hours was under one there).
        let shares: Vec<f64> = (200..=300).map(|i| f64::from(i) / 1000.0).collect();
        let r = post(
            addr,
            "/v1/scenarios/ramadan-2016/sweep",
            &json!({"set": {"quota.women.min_share": shares}}),
        )
        .await;
        assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(r.json()["error"], "timeout");
        let r = call(addr, Method::GET, "/v1/health", &[], "").await;
        assert_eq!(r.status, StatusCode::OK);
    });
}

#[test]
fn concurrent_requests_get_their_own_answers() {
    let server = Server::start(&["ramadan-2016", "tangier-2016"], &[]);
    let addr = server.addr;
    let applicants = applicants_json("tangier-2016");
    let rt = runtime();
    let expected = rt
        .block_on(post(
            addr,
            "/v1/scenarios/tangier-2016/assess",
            &json!({ "applicants": applicants }),
        ))
        .json()["assessments"]
        .clone();
    let served = |budget: i64| {
        let engine = idmaj::Engine::load(repo().join("scenarios/tangier-2016")).unwrap();
        let all = engine.assess_scenario().unwrap();
        let b = budget.to_string();
        let what_if = engine
            .with_overrides(&[("budget.total", b.as_str())])
            .unwrap();
        what_if.allocate(&all).unwrap().summary().served
    };
    let budgets = [150_000, 200_000, 250_000, 262_519];
    let want: Vec<u64> = budgets.iter().map(|b| served(*b)).collect();
    rt.block_on(async {
        let mut tasks = Vec::new();
        for t in 0..16usize {
            let applicants = applicants.clone();
            let expected = expected.clone();
            tasks.push(tokio::spawn(async move {
                for k in 0..10 {
                    let i = (t * 10 + k) % applicants.len();
                    let r = post(
                        addr,
                        "/v1/scenarios/tangier-2016/assess",
                        &json!({"applicants": [applicants[i]]}),
                    )
                    .await;
                    assert_eq!(r.status, StatusCode::OK);
                    assert_eq!(r.json()["assessments"][0], expected[i]);
                }
            }));
        }
        for (b, w) in budgets.iter().zip(&want) {
            let (b, w) = (*b, *w);
            tasks.push(tokio::spawn(async move {
                let r = post(
                    addr,
                    "/v1/scenarios/tangier-2016/allocate",
                    &json!({"set": {"budget.total": b}}),
                )
                .await;
                assert_eq!(r.status, StatusCode::OK);
                assert_eq!(r.json()["summary"]["served"], w, "budget {b}");
            }));
            tasks.push(tokio::spawn(async move {
                let r = post(addr, "/v1/scenarios/ramadan-2016/allocate", &json!({})).await;
                assert_eq!(r.status, StatusCode::OK);
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
    });
}

#[test]
fn the_log_has_one_line_per_request_and_no_personal_data() {
    let server = Server::start(&["tangier-2016"], &[]);
    let addr = server.addr;
    runtime().block_on(async {
        post(
            addr,
            "/v1/scenarios/tangier-2016/assess",
            &json!({"applicants": [one_applicant()]}),
        )
        .await;
        get(addr, "/v1/scenarios/tangier-2016/explain/TNG-001").await;
        get(addr, "/v1/scenarios/tangier-2016/explain/TNG-404").await;
        post(addr, "/v1/scenarios/tangier-2016/allocate", &json!({})).await;
    });
    let log = server.log();
    let lines: Vec<&str> = log.lines().filter(|l| l.contains(" /v1/")).collect();
    assert_eq!(lines.len(), 4, "{log}");
    assert!(
        lines[0].contains("POST /v1/scenarios/{name}/assess 200 "),
        "{log}"
    );
    assert!(lines[0].ends_with("applicants=1"), "{log}");
    assert!(
        lines[1].contains("GET /v1/scenarios/{name}/explain/{id} 200 "),
        "{log}"
    );
    assert!(lines[2].contains(" 404 "), "{log}");
    assert!(lines[3].ends_with("applicants=44"), "{log}");
    for secret in ["X-1", "Test Person", "TNG-001", "TNG-404", TOKEN] {
        assert!(!log.contains(secret), "the log shows {secret:?}:\n{log}");
    }
    for a in common::rows(&repo().join("scenarios/tangier-2016")) {
        assert!(!log.contains(&a.id), "the log shows {}", a.id);
    }
}

#[test]
fn it_will_not_serve_beyond_loopback_without_a_token() {
    let out = Command::new(env!("CARGO_BIN_EXE_idmaj"))
        .args(["serve", "scenarios/tangier-2016", "--addr", "0.0.0.0:0"])
        .current_dir(repo())
        .env_remove("IDMAJ_TOKEN")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(err.contains("not a loopback address"), "{err}");
    common::no_panic(&out);
    // A token too short to be safe is refused too.
    let out = Command::new(env!("CARGO_BIN_EXE_idmaj"))
        .args(["serve", "scenarios/tangier-2016", "--addr", "127.0.0.1:0"])
        .current_dir(repo())
        .env("IDMAJ_TOKEN", "secret")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("at least 16 characters"));
}

/// The session cookie of a `Set-Cookie` header.
fn session_cookie(r: &Answer) -> String {
    let c = r
        .headers
        .get(header::SET_COOKIE)
        .and_then(|v| v.to_str().ok())
        .expect("a session cookie")
        .to_string();
    assert!(c.contains("HttpOnly"), "{c}");
    assert!(c.contains("SameSite=Strict"), "{c}");
    c.split(';').next().unwrap().to_string()
}

#[test]
fn the_page_wants_a_session_made_from_the_token() {
    let server = Server::start(&["tangier-2016", "ramadan-2016"], &[]);
    let addr = server.addr;
    runtime().block_on(async {
        // Not logged in: the login form, and nothing else.
        let r = call(addr, Method::GET, "/?scenario=tangier-2016", &[], "").await;
        assert_eq!(r.status, StatusCode::OK);
        let page = String::from_utf8_lossy(&r.body).to_string();
        assert!(page.contains("action=\"/login\""));
        assert!(!page.contains("total-served"));
        let csp = r.headers[header::CONTENT_SECURITY_POLICY].to_str().unwrap();
        assert!(csp.contains("default-src 'none'"), "{csp}");

        let form = [("content-type", "application/x-www-form-urlencoded")];
        let r = call(
            addr,
            Method::POST,
            "/login",
            &form,
            "token=wrong-token-0123456789",
        )
        .await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED);
        assert!(!r.headers.contains_key(header::SET_COOKIE));
        // A login posted from another site's page is refused.
        let other = [
            ("content-type", "application/x-www-form-urlencoded"),
            ("origin", "http://elsewhere.example"),
        ];
        let r = call(
            addr,
            Method::POST,
            "/login",
            &other,
            format!("token={TOKEN}"),
        )
        .await;
        assert_eq!(r.status, StatusCode::FORBIDDEN);

        let r = call(
            addr,
            Method::POST,
            "/login",
            &form,
            format!("token={TOKEN}"),
        )
        .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER);
        let cookie = session_cookie(&r);
        let with = [("cookie", cookie.as_str())];
        let r = call(
            addr,
            Method::GET,
            "/?scenario=tangier-2016&budget.total=150%2C000",
            &with,
            "",
        )
        .await;
        assert_eq!(r.status, StatusCode::OK);
        let page = String::from_utf8_lossy(&r.body).to_string();
        assert!(
            page.contains("id=\"total-served\" data-value=\"14\""),
            "{page}"
        );
        assert!(page.contains("budget.total=150000"));
        assert!(page.contains("id=\"table-changes\""));
        assert!(page.contains("id=\"chart-frontier\""));
        for bad in ["http://", "https://", "<script", "src="] {
            assert!(!page.contains(bad), "the page has {bad}");
        }
        // A value that cannot be used is shown with its problem, not a 500.
        let r = call(
            addr,
            Method::GET,
            "/?scenario=tangier-2016&budget.total=lots",
            &with,
            "",
        )
        .await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST);
        assert!(String::from_utf8_lossy(&r.body).contains("id=\"problems\""));
        // The session is not a token for the API, and logging out ends it.
        let r = call(addr, Method::GET, "/v1/scenarios", &with, "").await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED);
        let r = call(addr, Method::POST, "/logout", &with, "").await;
        assert_eq!(r.status, StatusCode::SEE_OTHER);
        let r = call(addr, Method::GET, "/", &with, "").await;
        assert!(String::from_utf8_lossy(&r.body).contains("action=\"/login\""));
    });
}

// ---------------------------------------------------------------------------------------
// The page in a real browser

fn on_path(names: &[&str]) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    for dir in std::env::split_paths(&path).chain([PathBuf::from("/usr/bin")]) {
        for n in names {
            let p = dir.join(n);
            if p.is_file() {
                return Some(p);
            }
        }
    }
    None
}

/// A chromedriver on a free loopback port, stopped when dropped.
struct Driver {
    child: Child,
    port: u16,
}

impl Driver {
    fn start(bin: &Path) -> Driver {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new(bin)
            .arg(format!("--port={port}"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", bin.display()));
        let deadline = Instant::now() + Duration::from_secs(20);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "chromedriver did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
        Driver { child, port }
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn a_planner_logs_in_changes_the_budget_and_sees_who_is_served() {
    let chromium = std::env::var_os("IDMAJ_CHROMIUM")
        .map(PathBuf::from)
        .or_else(|| on_path(&["chromium", "chromium-browser"]));
    let driver = on_path(&["chromedriver"]);
    let (Some(chromium), Some(driver)) = (chromium, driver) else {
        if std::env::var_os("CI").is_some_and(|v| !v.is_empty()) {
            panic!(
                "chromium and chromedriver are needed under CI \
                 (.ci/run installs Debian's chromium and chromium-driver)"
            );
        }
        eprintln!(
            "SKIPPED a_planner_logs_in_changes_the_budget_and_sees_who_is_served: \
             chromium or chromedriver not found (apt-get install chromium chromium-driver)"
        );
        return;
    };
    // What the library says 150,000 MAD serves.
    let engine = idmaj::Engine::load(repo().join("scenarios/tangier-2016")).unwrap();
    let all = engine.assess_scenario().unwrap();
    let expected = engine
        .with_overrides(&[("budget.total", "150000")])
        .unwrap()
        .allocate(&all)
        .unwrap()
        .summary()
        .served;
    assert!(expected < 21);

    let server = Server::start(&["tangier-2016", "ramadan-2016"], &[]);
    let driver = Driver::start(&driver);
    let shot = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("serve-what-if.png");
    runtime().block_on(async {
        use fantoccini::{ClientBuilder, Locator};
        let mut caps = serde_json::Map::new();
        caps.insert(
            "goog:chromeOptions".into(),
            json!({
                "binary": chromium,
                "args": ["--headless=new", "--no-sandbox", "--disable-gpu",
                         "--disable-dev-shm-usage", "--no-first-run",
                         "--disable-background-networking", "--window-size=412,2400"]
            }),
        );
        let c = ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
            .capabilities(caps)
            .connect(&format!("http://127.0.0.1:{}", driver.port))
            .await
            .expect("a WebDriver session with chromium");
        let result = async {
            c.goto(&server.url()).await?;
            c.find(Locator::Id("token")).await?.send_keys(TOKEN).await?;
            c.find(Locator::Id("login")).await?.click().await?;
            c.wait()
                .at_most(Duration::from_secs(30))
                .for_element(Locator::Id("what-if-form"))
                .await?;
            // The scenario as written first.
            let served = c.find(Locator::Id("total-served")).await?;
            assert_eq!(served.attr("data-value").await?.as_deref(), Some("21"));
            let budget = c.find(Locator::Css("input[name='budget.total']")).await?;
            budget.clear().await?;
            budget.send_keys("150000").await?;
            c.find(Locator::Id("run")).await?.click().await?;
            c.wait()
                .at_most(Duration::from_secs(60))
                .for_element(Locator::Id("table-changes"))
                .await?;
            let served = c.find(Locator::Id("total-served")).await?;
            let value = served.attr("data-value").await?;
            let shown = served.text().await?;
            let what = c.find(Locator::Id("what-if")).await?.text().await?;
            let png = c.screenshot().await?;
            Ok::<_, fantoccini::error::CmdError>((value, shown, what, png))
        }
        .await;
        let at = c
            .current_url()
            .await
            .map(|u| u.to_string())
            .unwrap_or_default();
        let source = c.source().await.unwrap_or_default();
        let _ = c.close().await;
        let (value, shown, what, png) =
            result.unwrap_or_else(|e| panic!("the page in chromium: {e}\nat {at}:\n{source}"));
        assert_eq!(value, Some(expected.to_string()));
        assert_eq!(shown.trim(), expected.to_string());
        assert!(what.contains("budget.total=150000"), "{what}");
        assert!(png.starts_with(b"\x89PNG"), "not a PNG screenshot");
        std::fs::write(&shot, &png).unwrap();
    });
}
