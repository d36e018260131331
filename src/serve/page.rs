//! The what-if page at `/`: a planner logs in once with the token, picks a scenario,
//! changes the total budget, city caps, funder amounts, quota shares or `params.*`, and sees
//! the allocation's headline figures and the report's charts, who changes against the
//! scenario as written, and the budget frontier around the chosen budget.
//!
//! Plain HTML forms rendered on the server: no script, no build step, nothing fetched from
//! elsewhere (the Content-Security-Policy forbids it), and the report's own styles, which
//! read on a phone. The form is a GET whose fields are the `--set` keys, so a what-if is a
//! link that can be shared with a colleague who has the token.

use std::fmt::Write as _;
use std::time::Duration;

use axum::extract::rejection::{FormRejection, QueryRejection};
use axum::extract::{Form, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::auth::{set_cookie, Auth};
use super::error::ApiError;
use super::state::{AppState, Served};
use crate::report::html::{esc, frontier_cards, report_body, CSS};
use crate::report::thousands;
use crate::scenario::Scenario;
use crate::{Comparison, Override, SetValue, Setting};

/// The page's own styles, after the report's.
const PAGE_CSS: &str = "\
nav.top{display:flex;flex-wrap:wrap;gap:8px 14px;align-items:center;margin:4px 0 12px}
nav.top b{font-size:1.1rem}
nav.top a{color:var(--accent)}
nav.top a.on{font-weight:700;color:var(--ink);text-decoration:none}
nav.top form{margin-left:auto}
form.what-if{margin-bottom:14px}
fieldset{border:1px solid var(--line);border-radius:6px;margin:0 0 10px;padding:8px 10px}
legend{font-weight:600;padding:0 4px}
details{margin:0 0 10px}
summary{cursor:pointer;font-weight:600;padding:4px 0}
.fields{display:grid;grid-template-columns:repeat(auto-fill,minmax(210px,1fr));gap:8px 12px}
label{display:block;font-size:.85rem;color:var(--muted)}
label span.base{font-size:.75rem}
input{display:block;width:100%;font:inherit;color:var(--ink);padding:7px 8px;border:1px solid #cbd5e0;border-radius:5px;background:#fff}
input.changed{border-color:var(--accent);background:#ebf4ff}
button{font:inherit;font-weight:600;padding:8px 18px;border-radius:5px;border:1px solid var(--accent);background:var(--accent);color:#fff;cursor:pointer}
button.plain{background:#fff;color:var(--accent);padding:4px 10px}
.actions{display:flex;gap:14px;align-items:center;flex-wrap:wrap}
.problems{border-color:#c53030;background:#fff5f5}
.problems pre{white-space:pre-wrap;margin:0;font-size:.85rem}
.login{max-width:420px;margin:12vh auto}
.login input{margin:6px 0 12px}
";

/// Headers every page carries: nothing is fetched or framed, nothing cached.
fn page_response(status: StatusCode, html: String) -> Response {
    let mut r = (status, html).into_response();
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; \
             frame-ancestors 'none'; base-uri 'none'",
        ),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    r
}

fn html(title: &str, body: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <meta name=\"color-scheme\" content=\"light\">\n<title>{}</title>\n\
         <style>\n{CSS}{PAGE_CSS}</style>\n</head>\n<body>\n<main>\n{body}</main>\n</body>\n</html>\n",
        esc(title)
    )
}

fn login_page(status: StatusCode, message: &str) -> Response {
    let note = if message.is_empty() {
        String::new()
    } else {
        format!("<p class=\"sub\" id=\"login-problem\">{}</p>", esc(message))
    };
    let body = format!(
        "<section class=\"card login\"><h1>idmaj what-if</h1>\
         <p class=\"sub\">Type the server's token (IDMAJ_TOKEN) to start a session.</p>{note}\
         <form method=\"post\" action=\"/login\"><label for=\"token\">Token</label>\
         <input id=\"token\" name=\"token\" type=\"password\" autocomplete=\"current-password\" required>\
         <button type=\"submit\" id=\"login\">Log in</button></form></section>\n"
    );
    page_response(status, html("idmaj — log in", &body))
}

/// A form POST from another site is refused: browsers name the page's origin, which must
/// be this server.
fn same_origin(headers: &HeaderMap) -> bool {
    let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) else {
        return true;
    };
    let host = headers.get(header::HOST).and_then(|v| v.to_str().ok());
    let origin_host = origin
        .strip_prefix("http://")
        .or_else(|| origin.strip_prefix("https://"));
    origin_host.is_some() && origin_host == host
}

fn see_other(to: &str, cookie: Option<String>) -> Response {
    let mut r = StatusCode::SEE_OTHER.into_response();
    if let Ok(v) = HeaderValue::from_str(to) {
        r.headers_mut().insert(header::LOCATION, v);
    }
    if let Some(c) = cookie.and_then(|c| HeaderValue::from_str(&c).ok()) {
        r.headers_mut().insert(header::SET_COOKIE, c);
    }
    r
}

/// The login form's field.
#[derive(Deserialize)]
pub struct Login {
    token: String,
}

/// `POST /login`: a session for the right token.
pub async fn login(
    State(state): State<AppState>,
    headers: HeaderMap,
    form: Result<Form<Login>, FormRejection>,
) -> Response {
    if !same_origin(&headers) {
        return StatusCode::FORBIDDEN.into_response();
    }
    let auth: &Auth = state.auth();
    match form {
        Ok(Form(l)) if auth.token_ok(l.token.trim()) => match auth.start_session() {
            Ok(id) => see_other("/", Some(set_cookie(&id))),
            Err(e) => ApiError::from(e).into_response(),
        },
        _ => {
            // Slows down guessing; a real token is typed once.
            tokio::time::sleep(Duration::from_millis(300)).await;
            login_page(StatusCode::UNAUTHORIZED, "That is not the token.")
        }
    }
}

/// `POST /logout`.
pub async fn logout(State(state): State<AppState>, headers: HeaderMap) -> Response {
    if !same_origin(&headers) {
        return StatusCode::FORBIDDEN.into_response();
    }
    state.auth().end_session(&headers);
    see_other("/", Some(set_cookie("")))
}

/// One field of the what-if form: a `--set` key, its label, the scenario's value.
struct Field {
    key: String,
    label: String,
    base: String,
    money: bool,
}

/// The fields a planner may change, with the scenario's values.
fn fields(s: &Scenario) -> Vec<(&'static str, bool, Vec<Field>)> {
    let money = |key: String, label: String, v: Option<i64>| Field {
        key,
        label,
        base: v.map_or(String::new(), |v| v.to_string()),
        money: true,
    };
    let budget = vec![money(
        "budget.total".into(),
        format!("Total budget ({})", s.program.currency),
        s.budget_total,
    )];
    let cities = s
        .market
        .cities
        .iter()
        .map(|c| {
            money(
                format!("budget.cities.{c}"),
                c.clone(),
                s.city_caps.get(c).copied(),
            )
        })
        .collect();
    let funders = s
        .funders
        .iter()
        .map(|f| {
            money(
                format!("funder.{}.amount", f.id),
                f.id.clone(),
                Some(f.amount),
            )
        })
        .collect();
    let share = |v: Option<f64>| v.map_or(String::new(), |v| v.to_string());
    let quotas = s
        .quotas
        .iter()
        .flat_map(|q| {
            [
                ("min_share", share(q.min_share)),
                ("max_share", share(q.max_share)),
            ]
            .map(|(f, base)| Field {
                key: format!("quota.{}.{f}", q.name),
                label: format!("{} {}", q.name, f.replace('_', " ")),
                base,
                money: false,
            })
        })
        .collect();
    let params = s
        .params
        .iter()
        .filter_map(|(k, v)| {
            let base = match v {
                toml::Value::String(t) => t.clone(),
                toml::Value::Integer(_) | toml::Value::Float(_) | toml::Value::Boolean(_) => {
                    v.to_string()
                }
                _ => return None,
            };
            Some(Field {
                key: format!("params.{k}"),
                label: k.clone(),
                base,
                money: false,
            })
        })
        .collect();
    vec![
        ("Budget", true, budget),
        ("City caps (empty: no cap)", false, cities),
        ("Funders", false, funders),
        ("Quota shares (0 to 1; empty: none)", false, quotas),
        ("Parameters (params.*)", false, params),
    ]
}

/// A typed value as planners write it: money may have `,`, `_` or spaces between digits.
fn normalise(v: &str, money: bool) -> String {
    let v = v.trim();
    if money {
        v.chars()
            .filter(|c| !matches!(c, ',' | '_' | ' ' | '\u{a0}'))
            .collect()
    } else {
        v.to_string()
    }
}

/// The overrides the form asks for: every field typed and different from the scenario.
fn overrides(fields: &[(&str, bool, Vec<Field>)], query: &[(String, String)]) -> Vec<Override> {
    let mut out = Vec::new();
    for f in fields.iter().flat_map(|g| &g.2) {
        let Some((_, given)) = query.iter().find(|(k, _)| *k == f.key) else {
            continue;
        };
        let given = normalise(given, f.money);
        if given.is_empty() || given == f.base {
            continue;
        }
        out.push(Override {
            key: f.key.clone(),
            value: SetValue::parse(&given),
        });
    }
    out
}

/// What one run of the page shows below its form.
struct Outcome {
    report: String,
    changes: Option<Comparison>,
    frontier: String,
}

/// Solves the what-if: its allocation, who changes against the base, and the frontier of
/// budgets from half to one and a half times its money.
fn run(s: &Served, set: &[Override]) -> Result<Outcome, ApiError> {
    let engine = s.engine.with_settings(set)?;
    let (alloc, changes) = if set.is_empty() {
        (s.base()?, None)
    } else {
        let fresh;
        let assessments = if engine.fingerprint() == s.engine.fingerprint() {
            &s.assessments[..]
        } else {
            fresh = engine.assess_all(&s.applicants)?;
            &fresh[..]
        };
        let alloc = std::sync::Arc::new(engine.allocate(assessments)?);
        (alloc, Some(s.engine.compare(&engine)?))
    };
    let sc = engine.scenario();
    let report = report_body(sc, &alloc.decisions, &alloc.summary);
    let money = sc
        .budget_total
        .unwrap_or(i64::MAX)
        .min(sc.funders_total())
        .max(2);
    let frontier = engine
        .sweep(&[Setting::budget(money / 2, money + money / 2, 9)?])
        .map(|sw| frontier_cards(&sw.frontier()))
        .unwrap_or_else(|e| {
            format!(
                "<p class=\"note\">No frontier: {}</p>",
                esc(&ApiError::from(e).message())
            )
        });
    Ok(Outcome {
        report,
        changes,
        frontier,
    })
}

/// The page's parameters: `scenario` and the `--set` keys.
pub async fn show(
    State(state): State<AppState>,
    headers: HeaderMap,
    query: Result<Query<Vec<(String, String)>>, QueryRejection>,
) -> Response {
    if !state.auth().session_ok(&headers) {
        return login_page(StatusCode::OK, "");
    }
    let query = query.map(|Query(q)| q).unwrap_or_default();
    let name = query
        .iter()
        .find(|(k, _)| k == "scenario")
        .map(|(_, v)| v.clone());
    let s = match name {
        Some(n) => match state.scenario(&n) {
            Ok(s) => s,
            Err(e) => {
                return page_response(StatusCode::NOT_FOUND, html("idmaj", &esc(&e.message())))
            }
        },
        None => match state.scenarios().first() {
            Some(s) => s.clone(),
            None => return ApiError::NotFound("no scenario is served".into()).into_response(),
        },
    };
    let groups = fields(s.engine.scenario());
    let set = overrides(&groups, &query);
    let served = s.clone();
    let set_for_run = set.clone();
    let outcome = state.heavy(move || run(&served, &set_for_run)).await;
    let status = match &outcome {
        Ok(_) => StatusCode::OK,
        Err(e) => e.status(),
    };
    let mut o = String::new();
    nav(&mut o, &state, &s.name);
    form(&mut o, &s.name, &groups, &query);
    match outcome {
        Ok(out) => {
            let what = if set.is_empty() {
                "the scenario as written".to_string()
            } else {
                set.iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            let _ = writeln!(
                o,
                "<p class=\"sub\" id=\"what-if\">Showing: {}</p>",
                esc(&what)
            );
            o.push_str(&out.report);
            if let Some(c) = &out.changes {
                changes(&mut o, c);
            }
            o.push_str("<h2 style=\"margin-top:16px\">Budget frontier</h2>\n");
            o.push_str(&out.frontier);
        }
        Err(e) => {
            let _ = writeln!(
                o,
                "<section class=\"card problems\" id=\"problems\"><h2>{}</h2><pre>{}</pre></section>",
                if matches!(e, ApiError::Infeasible { .. }) {
                    "No allocation meets every constraint"
                } else {
                    "This what-if cannot run"
                },
                esc(&e.message())
            );
        }
    }
    page_response(status, html(&format!("idmaj what-if — {}", s.name), &o))
}

fn nav(o: &mut String, state: &AppState, current: &str) {
    o.push_str("<nav class=\"top\"><b>idmaj what-if</b>");
    for s in state.scenarios() {
        let _ = write!(
            o,
            "<a href=\"/?scenario={0}\"{1}>{0}</a>",
            esc(&s.name),
            if s.name == current {
                " class=\"on\""
            } else {
                ""
            }
        );
    }
    o.push_str(
        "<form method=\"post\" action=\"/logout\"><button class=\"plain\" type=\"submit\">Log out</button></form></nav>\n",
    );
}

fn form(
    o: &mut String,
    name: &str,
    groups: &[(&str, bool, Vec<Field>)],
    query: &[(String, String)],
) {
    let _ = write!(
        o,
        "<form class=\"card what-if\" method=\"get\" action=\"/\" id=\"what-if-form\">\
         <input type=\"hidden\" name=\"scenario\" value=\"{}\">",
        esc(name)
    );
    for (title, open, fields) in groups {
        if fields.is_empty() {
            continue;
        }
        let _ = write!(
            o,
            "<details{}><summary>{}</summary><div class=\"fields\">",
            if *open { " open" } else { "" },
            esc(title)
        );
        for f in fields {
            let given = query
                .iter()
                .find(|(k, _)| *k == f.key)
                .map(|(_, v)| v.trim().to_string());
            let value = given.clone().unwrap_or_else(|| f.base.clone());
            let changed = given
                .as_deref()
                .is_some_and(|g| !g.is_empty() && normalise(g, f.money) != f.base);
            let base = if f.base.is_empty() {
                "none".to_string()
            } else if f.money {
                thousands(f.base.parse().unwrap_or(0))
            } else {
                f.base.clone()
            };
            let _ = write!(
                o,
                "<label>{} <span class=\"base\">(scenario: {})</span>\
                 <input name=\"{}\" value=\"{}\"{}{}></label>",
                esc(&f.label),
                esc(&base),
                esc(&f.key),
                esc(&value),
                if f.money {
                    " inputmode=\"numeric\""
                } else {
                    ""
                },
                if changed { " class=\"changed\"" } else { "" }
            );
        }
        o.push_str("</div></details>");
    }
    let _ = writeln!(
        o,
        "<div class=\"actions\"><button type=\"submit\" id=\"run\">Run</button>\
         <a href=\"/?scenario={}\">Back to the scenario as written</a></div></form>",
        esc(name)
    );
}

/// Who changes outcome against the scenario as written.
fn changes(o: &mut String, c: &Comparison) {
    const SHOWN: usize = 300;
    let (a, b) = (&c.before, &c.after);
    let _ = write!(
        o,
        "<section class=\"card wide\" id=\"changes\" style=\"margin-top:14px\">\
         <h2>Against the scenario as written</h2><div class=\"table-wrap\"><table id=\"table-totals\">\
         <thead><tr><th></th><th class=\"n\">As written</th><th class=\"n\">What-if</th></tr></thead><tbody>"
    );
    for (label, x, y) in [
        ("Eligible", a.eligible as i64, b.eligible as i64),
        ("Served", a.served as i64, b.served as i64),
        ("Women served", a.women_served as i64, b.women_served as i64),
        ("Spent", a.spent, b.spent),
    ] {
        let _ = write!(
            o,
            "<tr><td>{label}</td><td class=\"n\">{}</td><td class=\"n\">{}</td></tr>",
            thousands(x),
            thousands(y)
        );
    }
    o.push_str("</tbody></table></div>");
    if c.changes.is_empty() {
        o.push_str("<p id=\"no-changes\">No applicant changes outcome.</p></section>\n");
        return;
    }
    let _ = write!(
        o,
        "<h2 style=\"margin-top:14px\">{} applicant{} change outcome</h2>\
         <div class=\"table-wrap\"><table id=\"table-changes\"><thead><tr><th>Applicant</th>\
         <th>Change</th><th>As written</th><th>What-if</th></tr></thead><tbody>",
        c.changes.len(),
        if c.changes.len() == 1 { "" } else { "s" }
    );
    for ch in c.changes.iter().take(SHOWN) {
        let _ = write!(
            o,
            "<tr><td class=\"id\">{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(&ch.id),
            esc(&ch.change.as_str().replace('_', " ")),
            esc(&ch.reason_before),
            esc(&ch.reason_after)
        );
    }
    o.push_str("</tbody></table></div>");
    if c.changes.len() > SHOWN {
        let _ = write!(
            o,
            "<p class=\"note\">and {} more (the API's allocate answers every decision).</p>",
            c.changes.len() - SHOWN
        );
    }
    o.push_str("</section>\n");
}
