//! One line per request on stderr: time, method, route, status, duration and how many
//! applicants it carried, and nothing else.
//!
//! Applicants are former prisoners: the line names the route template
//! (`/v1/scenarios/{name}/explain/{id}`), never the path, so not even an id is logged, and no
//! query string, header or body is.

use std::io::Write as _;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use axum::extract::{MatchedPath, Request};
use axum::middleware::Next;
use axum::response::Response;

/// The route template a request matched, carried on its response to the logger.
#[derive(Clone)]
struct Route(String);

/// How many applicants a request carried, set by the handler on its response.
#[derive(Clone, Copy)]
pub struct ApplicantCount(pub usize);

/// Middleware on the routes: tells the logger which template matched.
pub async fn tag_route(req: Request, next: Next) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|m| Route(m.as_str().to_string()));
    let mut r = next.run(req).await;
    if let Some(route) = route {
        r.extensions_mut().insert(route);
    }
    r
}

/// Middleware around everything: writes the request's line once it is answered.
pub async fn log_request(req: Request, next: Next) -> Response {
    let start = Instant::now();
    let method = req.method().clone();
    let r = next.run(req).await;
    let route = r
        .extensions()
        .get::<Route>()
        .map_or("(no route)", |x| x.0.as_str());
    let count = r
        .extensions()
        .get::<ApplicantCount>()
        .map_or(String::new(), |n| format!(" applicants={}", n.0));
    let line = format!(
        "{} {method} {route} {} {:.1}ms{count}\n",
        timestamp(SystemTime::now()),
        r.status().as_u16(),
        start.elapsed().as_secs_f64() * 1000.0
    );
    // A closed stderr must not fail the request.
    let _ = std::io::stderr().lock().write_all(line.as_bytes());
    r
}

/// `2026-11-30T11:19:42Z`.
fn timestamp(t: SystemTime) -> String {
    let secs = t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs()) as i64;
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // Civil date from days since 1970-01-01 (H. Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn timestamps_are_utc_iso() {
        let at = |s: u64| timestamp(UNIX_EPOCH + Duration::from_secs(s));
        assert_eq!(at(0), "1970-01-01T00:00:00Z");
        assert_eq!(at(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(at(1_465_216_245), "2016-06-06T12:30:45Z");
    }
}
