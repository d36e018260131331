//! Request bodies: read within the size limit, parsed as JSON, and every way they can be
//! wrong turned into [`Problem`]s (position in the body, the applicant's index and id) rather
//! than a bare rejection.
//!
//! The typed parse is tried first, so a good body is read once; only a bad one is read again
//! as plain JSON to say which applicant is wrong.

use axum::body::Body;
use axum::extract::{FromRequest, Request};
use axum::http::header;
use serde::de::DeserializeOwned;

use super::error::ApiError;
use super::state::AppState;
use crate::{Applicant, Problem, Problems};

/// What problems in a request body name as their file.
const BODY: &str = "request body";

/// A JSON body of type `T`; an empty body reads as `{}`.
pub struct JsonBody<T>(pub T);

impl<T: DeserializeOwned> FromRequest<AppState> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, ApiError> {
        let limit = state.limits().max_body;
        let too_large = || ApiError::TooLarge(format!("the request body is over {limit} bytes"));
        let declared = req
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        if declared.is_some_and(|n| n > limit as u64) {
            return Err(too_large());
        }
        let bytes = axum::body::to_bytes(Body::new(req.into_body()), limit)
            .await
            .map_err(|_| too_large())?;
        parse(&bytes).map(JsonBody)
    }
}

/// Parses `bytes` as a `T`, or says what is wrong with them.
pub fn parse<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let bytes: &[u8] = if bytes.iter().all(u8::is_ascii_whitespace) {
        b"{}"
    } else {
        bytes
    };
    serde_json::from_slice(bytes).map_err(|e| ApiError::BadInput(diagnose(bytes, &e)))
}

/// The problems of a body that did not parse: per applicant where the JSON itself is sound.
fn diagnose(bytes: &[u8], e: &serde_json::Error) -> Problems {
    let whole = || {
        let mut p = Problem::error(BODY, strip_position(&e.to_string()));
        if e.line() > 0 {
            p = p.at(e.line() as u64, e.column() as u64);
        }
        Problems::from(p)
    };
    let Ok(value) = serde_json::from_slice::<serde_json::Value>(bytes) else {
        return whole();
    };
    let Some(list) = value.get("applicants").and_then(|a| a.as_array()) else {
        return whole();
    };
    let mut problems = Problems::default();
    for (i, a) in list.iter().enumerate() {
        if let Err(err) = serde_json::from_value::<Applicant>(a.clone()) {
            let mut p = Problem::error(BODY, err.to_string()).key(format!("applicants[{i}]"));
            if let Some(id) = a.get("id").and_then(|v| v.as_str()) {
                p = p.applicant(id);
            }
            problems.push(p);
        }
    }
    if problems.is_empty() {
        whole()
    } else {
        problems
    }
}

/// A JSON object read in the order its keys are written (`set` in allocate and sweep: the
/// first swept key varies slowest, as on the command line).
#[derive(Debug)]
pub struct Ordered<T>(pub Vec<(String, T)>);

impl<T> Default for Ordered<T> {
    fn default() -> Self {
        Ordered(Vec::new())
    }
}

impl<'de, T: serde::Deserialize<'de>> serde::Deserialize<'de> for Ordered<T> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Pairs<T>(std::marker::PhantomData<T>);
        impl<'de, T: serde::Deserialize<'de>> serde::de::Visitor<'de> for Pairs<T> {
            type Value = Ordered<T>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("an object of setting key to value")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut m: A,
            ) -> Result<Self::Value, A::Error> {
                let mut out: Vec<(String, T)> = Vec::new();
                while let Some((k, v)) = m.next_entry::<String, T>()? {
                    if out.iter().any(|(x, _)| *x == k) {
                        return Err(serde::de::Error::custom(format!("`{k}` is set twice")));
                    }
                    out.push((k, v));
                }
                Ok(Ordered(out))
            }
        }
        d.deserialize_map(Pairs(std::marker::PhantomData))
    }
}

/// serde_json's message without its ` at line L column C` tail (the problem has them).
fn strip_position(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(i) => message[..i].to_string(),
        None => message.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Deserialize, Debug)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Batch {
        applicants: Vec<Applicant>,
    }

    fn problems(body: &str) -> Vec<Problem> {
        match parse::<Batch>(body.as_bytes()) {
            Err(ApiError::BadInput(ps)) => ps.list,
            other => panic!("expected bad input, got {other:?}"),
        }
    }

    #[test]
    fn malformed_json_names_line_and_column() {
        let ps = problems("{\"applicants\": [\n  {\"id\": \"A1\",}\n]}");
        assert_eq!(ps.len(), 1);
        assert_eq!(ps[0].file.as_deref(), Some("request body"));
        assert_eq!(ps[0].line, Some(2));
        assert!(ps[0].column.is_some());
        assert!(!ps[0].message.contains(" at line "), "{}", ps[0].message);
    }

    #[test]
    fn a_bad_applicant_is_named_by_index_and_id() {
        let ps = problems(r#"{"applicants": [{"id": "A1"}, {"id": "A2", "city": ["x"]}]}"#);
        assert_eq!(ps.len(), 1, "{ps:?}");
        assert_eq!(ps[0].key.as_deref(), Some("applicants[1]"));
        assert_eq!(ps[0].id.as_deref(), Some("A2"));
    }

    #[test]
    fn unknown_keys_and_wrong_shapes_are_problems() {
        let ps = problems(r#"{"applicant": []}"#);
        assert!(
            ps[0].message.contains("unknown field `applicant`"),
            "{ps:?}"
        );
        let ps = problems("[1, 2]");
        assert_eq!(ps.len(), 1);
        let ps = problems("");
        assert!(
            ps[0].message.contains("missing field `applicants`"),
            "{ps:?}"
        );
    }
}
