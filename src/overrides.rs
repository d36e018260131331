//! `--set KEY=VALUE` overrides of a scenario, for what-if runs.
//!
//! Overrides change the scenario's TOML before it is checked, so an override is validated
//! exactly like the file itself. Keys name what a planner thinks of, by id rather than by
//! position: `params.min_training_hours`, `budget.total`, `budget.cities.Tangier`,
//! `quota.women.min_share`, `funder.wilaya-tth.amount`, `kit.plumbing.stock`,
//! `objective.maximize`, `solver.time_limit`. A key that names nothing in the scenario is
//! an error naming the key.

use std::path::Path;

use crate::error::{Error, Problem, Result};
use crate::scenario::{read_scenario_text, Scenario};
use crate::suggest;

/// One `KEY=VALUE` override.
#[derive(Debug, Clone, PartialEq)]
pub struct Override {
    /// Dotted key, e.g. `quota.women.min_share`.
    pub key: String,
    /// The new value.
    pub value: toml::Value,
}

impl Override {
    /// Parses `KEY=VALUE`; the value is read as an integer, a float, a boolean, or else text.
    pub fn parse(s: &str) -> Result<Override> {
        let (key, value) = s.split_once('=').ok_or_else(|| {
            Error::from(Problem::error("--set", format!("`{s}` is not KEY=VALUE")))
        })?;
        Ok(Override {
            key: key.trim().to_string(),
            value: parse_value(value.trim()),
        })
    }
}

impl Override {
    /// Parses every `KEY=VALUE` of repeated `--set` arguments, in order.
    pub fn parse_all(specs: &[String]) -> Result<Vec<Override>> {
        specs.iter().map(|s| Override::parse(s)).collect()
    }
}

impl std::fmt::Display for Override {
    /// `budget.total=4000000`, `quota.women.when=applicant.gender == "F"`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}={}", self.key, value_text(&self.value))
    }
}

/// A value as written in tables and CSV: `120`, `0.3`, `true`, `served`.
pub fn value_text(v: &toml::Value) -> String {
    match v {
        toml::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// A command-line value as TOML: `120` integer, `0.3` float, `true` boolean, else text.
pub fn parse_value(v: &str) -> toml::Value {
    let plain = v.replace('_', "");
    if let Ok(i) = plain.parse::<i64>() {
        return toml::Value::Integer(i);
    }
    if let Ok(f) = plain.parse::<f64>() {
        if f.is_finite() {
            return toml::Value::Float(f);
        }
    }
    match v {
        "true" => toml::Value::Boolean(true),
        "false" => toml::Value::Boolean(false),
        _ => toml::Value::String(v.trim_matches('"').to_string()),
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
        t.insert(k.to_string(), o.value.clone());
        Ok(())
    };
    match parts.as_slice() {
        ["params", name] => {
            let params = sub(table, "params");
            if !params.contains_key(*name) {
                let keys: Vec<String> = params.keys().cloned().collect();
                return Err(unknown(&o.key, "not a parameter in [params]", &keys));
            }
            params.insert(name.to_string(), o.value.clone());
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
    /// Loads the scenario at `path` with `overrides` applied first; the result is checked
    /// exactly like a scenario file (messages name the overridden scenario).
    pub fn load_with(path: &Path, overrides: &[Override]) -> Result<Scenario> {
        if overrides.is_empty() {
            return Scenario::load(path);
        }
        let (file, display, text) = read_scenario_text(path)?;
        // Check the file itself first, so its own mistakes are reported with its lines.
        let dir = file.parent().map(Path::to_path_buf).unwrap_or_default();
        Scenario::from_toml(&text, &display, &dir, file.clone())?;
        let mut table: toml::Table = toml::from_str(&text)
            .map_err(|e| Error::from(Problem::error(&display, e.message().to_string())))?;
        for o in overrides {
            apply(&mut table, o)?;
        }
        let text = toml::to_string(&table).map_err(|e| Error::Internal(e.to_string()))?;
        let shown = format!(
            "{display} (with --set {})",
            overrides
                .iter()
                .map(|o| o.key.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        );
        let mut scenario = Scenario::from_toml(&text, &shown, &dir, file)?;
        scenario.overrides = overrides.iter().map(Override::to_string).collect();
        Ok(scenario)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_read_as_their_type() {
        assert_eq!(parse_value("120"), toml::Value::Integer(120));
        assert_eq!(parse_value("4_000_000"), toml::Value::Integer(4_000_000));
        assert_eq!(parse_value("0.3"), toml::Value::Float(0.3));
        assert_eq!(parse_value("true"), toml::Value::Boolean(true));
        assert_eq!(parse_value("served"), toml::Value::String("served".into()));
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
