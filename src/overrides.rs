//! `--set KEY=VALUE` overrides of a scenario, for what-if runs.
//!
//! Overrides change the scenario's TOML before it is checked, so an override is validated
//! exactly like the file itself. Keys name what a planner thinks of, by id rather than by
//! position: `params.min_training_hours`, `budget.total`, `budget.cities.Tangier`,
//! `quota.women.min_share`, `funder.wilaya-tth.amount`, `kit.plumbing.stock`,
//! `objective.maximize`, `solver.time_limit`. A key that names nothing in the scenario is
//! an error naming the key.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Problem, Result};
use crate::scenario::Scenario;
use crate::suggest;

/// A value given to a scenario key, from the command line (`--set KEY=VALUE`) or JSON.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum SetValue {
    /// `true` or `false`.
    Bool(bool),
    /// A whole number (money, counts).
    Int(i64),
    /// A number (shares, seconds).
    Float(f64),
    /// Text (an objective, a date, a rule expression).
    Text(String),
    /// A list (funder cities or kinds).
    List(Vec<SetValue>),
}

impl SetValue {
    /// Reads a command-line value: `120` integer, `0.3` float, `true` boolean, `[a,b]` a
    /// list, else text.
    pub fn parse(v: &str) -> SetValue {
        let v = v.trim();
        if let Some(inner) = v.strip_prefix('[').and_then(|r| r.strip_suffix(']')) {
            if inner.trim().is_empty() {
                return SetValue::List(Vec::new());
            }
            return SetValue::List(inner.split(',').map(SetValue::parse).collect());
        }
        let plain = v.replace('_', "");
        if let Ok(i) = plain.parse::<i64>() {
            return SetValue::Int(i);
        }
        if let Ok(f) = plain.parse::<f64>() {
            if f.is_finite() {
                return SetValue::Float(f);
            }
        }
        match v {
            "true" => SetValue::Bool(true),
            "false" => SetValue::Bool(false),
            _ => SetValue::Text(v.trim_matches('"').to_string()),
        }
    }

    /// The value as TOML, to apply it to a scenario.
    pub(crate) fn to_toml(&self) -> toml::Value {
        match self {
            SetValue::Bool(b) => toml::Value::Boolean(*b),
            SetValue::Int(i) => toml::Value::Integer(*i),
            SetValue::Float(f) => toml::Value::Float(*f),
            SetValue::Text(t) => toml::Value::String(t.clone()),
            SetValue::List(l) => toml::Value::Array(l.iter().map(SetValue::to_toml).collect()),
        }
    }

    /// The value as written in tables and CSV: `120`, `0.3`, `true`, `served`.
    pub fn text(&self) -> String {
        match self.to_toml() {
            toml::Value::String(s) => s,
            other => other.to_string(),
        }
    }

    /// The value as a whole number, when it is one.
    pub fn as_int(&self) -> Option<i64> {
        match self {
            SetValue::Int(i) => Some(*i),
            _ => None,
        }
    }
}

impl From<i64> for SetValue {
    fn from(v: i64) -> Self {
        SetValue::Int(v)
    }
}

impl From<f64> for SetValue {
    fn from(v: f64) -> Self {
        SetValue::Float(v)
    }
}

impl From<&str> for SetValue {
    fn from(v: &str) -> Self {
        SetValue::Text(v.to_string())
    }
}

impl From<bool> for SetValue {
    fn from(v: bool) -> Self {
        SetValue::Bool(v)
    }
}

/// One `KEY=VALUE` override.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Override {
    /// Dotted key, e.g. `quota.women.min_share`.
    pub key: String,
    /// The new value.
    pub value: SetValue,
}

impl Override {
    /// An override of `key` (not empty) with `value`.
    pub fn new(key: &str, value: SetValue) -> Result<Override> {
        let key = key.trim();
        if key.is_empty() {
            return Err(Problem::error("--set", "the key is empty; expected KEY=VALUE").into());
        }
        Ok(Override {
            key: key.to_string(),
            value,
        })
    }

    /// Parses `KEY=VALUE`; the value is read as an integer, a float, a boolean, a bracketed
    /// list, or else text.
    pub fn parse(s: &str) -> Result<Override> {
        let (key, value) = s.split_once('=').ok_or_else(|| {
            Error::from(Problem::error("--set", format!("`{s}` is not KEY=VALUE")))
        })?;
        Override::new(key, SetValue::parse(value))
    }

    /// Parses every `KEY=VALUE` of repeated `--set` arguments, in order.
    pub fn parse_all(specs: &[String]) -> Result<Vec<Override>> {
        specs.iter().map(|s| Override::parse(s)).collect()
    }
}

impl std::fmt::Display for Override {
    /// `budget.total=4000000`, `quota.women.when=applicant.gender == "F"`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}={}", self.key, self.value.text())
    }
}

fn unknown(key: &str, what: &str, candidates: &[String]) -> Error {
    let hint = suggest::hint(
        key.rsplit('.').next().unwrap_or(key),
        candidates.iter().map(String::as_str),
    );
    Error::from(
        Problem::error("--set", format!("unknown key `{key}`: {what}{hint}")).key(key.to_string()),
    )
}

/// The sub-table `name` of `table`, created when missing.
fn sub<'t>(table: &'t mut toml::Table, name: &str) -> &'t mut toml::Table {
    let v = table
        .entry(name.to_string())
        .or_insert_with(|| toml::Value::Table(Default::default()));
    if !v.is_table() {
        *v = toml::Value::Table(Default::default());
    }
    v.as_table_mut().expect("just made a table")
}

/// Applies one override to a parsed scenario table.
fn apply(table: &mut toml::Table, o: &Override) -> Result<()> {
    let parts: Vec<&str> = o.key.split('.').collect();
    let set = |t: &mut toml::Table, k: &str, allowed: &[&str]| -> Result<()> {
        if !allowed.is_empty() && !allowed.contains(&k) {
            let list: Vec<String> = allowed.iter().map(|s| s.to_string()).collect();
            return Err(unknown(
                &o.key,
                &format!("expected one of {}", allowed.join(", ")),
                &list,
            ));
        }
        let value = match (k, &o.value) {
            // One earmark given without brackets is a list of one.
            ("cities" | "kinds", v) if !matches!(v, SetValue::List(_)) => {
                SetValue::List(vec![v.clone()]).to_toml()
            }
            (_, v) => v.to_toml(),
        };
        t.insert(k.to_string(), value);
        Ok(())
    };
    match parts.as_slice() {
        ["params", name] => {
            let params = sub(table, "params");
            if !params.contains_key(*name) {
                let keys: Vec<String> = params.keys().cloned().collect();
                return Err(unknown(&o.key, "not a parameter in [params]", &keys));
            }
            params.insert(name.to_string(), o.value.to_toml());
            Ok(())
        }
        ["budget", "total"] => set(sub(table, "budget"), "total", &[]),
        ["budget", "cities", city] => {
            let budget = sub(table, "budget");
            set(sub(budget, "cities"), city, &[])
        }
        ["objective", k] => set(sub(table, "objective"), k, &["maximize"]),
        ["solver", k] => set(
            sub(table, "solver"),
            k,
            &["time_limit", "gap", "work_limit"],
        ),
        ["program", k] => set(sub(table, "program"), k, &["name", "date"]),
        [list @ ("quota" | "funder" | "kit"), id, field] => {
            let id_key = if *list == "quota" { "name" } else { "id" };
            let fields: &[&str] = match *list {
                "quota" => &["when", "min_share", "max_share", "min_count", "max_count"],
                "funder" => &["amount", "cities", "kinds"],
                _ => &["cost", "stock", "trade"],
            };
            let entries = table.get_mut(*list).and_then(|v| v.as_array_mut());
            let ids: Vec<String> = entries
                .as_ref()
                .map(|a| {
                    a.iter()
                        .filter_map(|e| e.get(id_key)?.as_str().map(String::from))
                        .collect()
                })
                .unwrap_or_default();
            let Some(entry) = entries.and_then(|a| {
                a.iter_mut()
                    .find(|e| e.get(id_key).and_then(|v| v.as_str()) == Some(*id))
            }) else {
                let hint = suggest::hint(id, ids.iter().map(String::as_str));
                return Err(Error::from(
                    Problem::error(
                        "--set",
                        format!(
                            "unknown key `{}`: no [[{list}]] with {id_key} `{id}`{hint}",
                            o.key
                        ),
                    )
                    .key(o.key.clone()),
                ));
            };
            let t = entry
                .as_table_mut()
                .ok_or_else(|| unknown(&o.key, "not a table", &[]))?;
            set(t, field, fields)
        }
        _ => {
            let mut keys: Vec<String> = [
                "budget.total",
                "objective.maximize",
                "solver.time_limit",
                "solver.gap",
                "solver.work_limit",
                "program.name",
                "program.date",
            ]
            .map(String::from)
            .to_vec();
            if let Some(params) = table.get("params").and_then(|p| p.as_table()) {
                keys.extend(params.keys().map(|k| format!("params.{k}")));
            }
            let hint = suggest::hint(&o.key, keys.iter().map(String::as_str));
            Err(Error::from(
                Problem::error(
                    "--set",
                    format!(
                        "unknown key `{}`: expected params.NAME, budget.total, budget.cities.CITY, quota.NAME.FIELD, funder.ID.FIELD, kit.ID.FIELD, objective.maximize or solver.FIELD{hint}",
                        o.key
                    ),
                )
                .key(o.key.clone()),
            ))
        }
    }
}

impl Scenario {
    /// Fails when an override names nothing in the scenario (its values are not checked).
    pub(crate) fn check_keys(&self, overrides: impl IntoIterator<Item = Override>) -> Result<()> {
        let (text, display, _) = &*self.base;
        let mut table: toml::Table = toml::from_str(text)
            .map_err(|e| Error::from(Problem::error(display, e.message().to_string())))?;
        for o in overrides {
            apply(&mut table, &o)?;
        }
        Ok(())
    }

    /// The scenario with `overrides` applied to its TOML, checked exactly like a scenario
    /// file (messages name the overridden scenario). The scenario itself was checked
    /// first, so its own mistakes were reported with its lines.
    pub fn with_overrides(&self, overrides: &[Override]) -> Result<Scenario> {
        if overrides.is_empty() {
            return Ok(self.clone());
        }
        // Overrides add up: a what-if of a what-if keeps the first one's settings, and a
        // key set again takes its new value.
        let mut all: Vec<Override> = self.applied.clone();
        for o in overrides {
            all.retain(|x| x.key != o.key);
            all.push(o.clone());
        }
        let (text, display, _) = &*self.base;
        let mut table: toml::Table = toml::from_str(text)
            .map_err(|e| Error::from(Problem::error(display, e.message().to_string())))?;
        for o in &all {
            apply(&mut table, o)?;
        }
        let text = toml::to_string(&table).map_err(|e| Error::Internal(e.to_string()))?;
        let shown = format!(
            "{display} (with --set {})",
            all.iter()
                .map(|o| o.key.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        );
        let mut scenario = Scenario::check_text(&text, &shown, Arc::clone(&self.base))
            .map_err(|e| at_set(e, &all))?;
        scenario.overrides = all.iter().map(Override::to_string).collect();
        scenario.applied = all;
        Ok(scenario)
    }
}

/// Problems of a scenario checked with overrides, placed at the `--set` that caused them:
/// the scenario itself was checked first, so every new problem comes from an override, and
/// the lines of the rewritten TOML would only mislead.
fn at_set(e: Error, overrides: &[Override]) -> Error {
    let Error::Input { problems } = e else {
        return e;
    };
    let problems = problems
        .list
        .into_iter()
        .map(|p| {
            let named = overrides
                .iter()
                .find(|o| p.key.as_deref() == Some(o.key.as_str()))
                .or(match overrides {
                    [only] => Some(only),
                    _ => None,
                });
            let key = match named {
                Some(o) => o.key.clone(),
                None => overrides
                    .iter()
                    .map(|o| o.key.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
            };
            Problem {
                file: Some(format!("--set {key}")),
                line: None,
                column: None,
                key: None,
                ..p
            }
        })
        .collect();
    Error::Input { problems }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_read_as_their_type() {
        assert_eq!(SetValue::parse("120"), SetValue::Int(120));
        assert_eq!(SetValue::parse("4_000_000"), SetValue::Int(4_000_000));
        assert_eq!(SetValue::parse("0.3"), SetValue::Float(0.3));
        assert_eq!(SetValue::parse("true"), SetValue::Bool(true));
        assert_eq!(SetValue::parse("served"), SetValue::Text("served".into()));
        assert_eq!(
            SetValue::parse("[Tangier, Fes]"),
            SetValue::List(vec!["Tangier".into(), "Fes".into()])
        );
    }

    #[test]
    fn unknown_keys_are_named() {
        let mut t: toml::Table = toml::from_str("[params]\nmin_training_hours = 1\n[[quota]]\nname = \"women\"\nwhen = \"true\"\nmin_share = 0.2\n").unwrap();
        let e = apply(
            &mut t,
            &Override::parse("params.min_trainig_hours=3").unwrap(),
        )
        .unwrap_err();
        assert!(e.to_string().contains("params.min_trainig_hours"), "{e}");
        assert!(
            e.to_string().contains("did you mean `min_training_hours`"),
            "{e}"
        );
        let e = apply(&mut t, &Override::parse("quota.men.min_share=0.3").unwrap()).unwrap_err();
        assert!(e.to_string().contains("quota.men.min_share"), "{e}");
        let e = apply(
            &mut t,
            &Override::parse("quota.women.min_shar=0.3").unwrap(),
        )
        .unwrap_err();
        assert!(e.to_string().contains("did you mean `min_share`"), "{e}");
        apply(
            &mut t,
            &Override::parse("quota.women.min_share=0.3").unwrap(),
        )
        .unwrap();
        assert_eq!(t["quota"][0]["min_share"].as_float(), Some(0.3));
    }
}
