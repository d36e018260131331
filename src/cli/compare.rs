//! `idmaj compare A [B] [--set KEY=VALUE]... [--out FILE] [--dialect comma|excel-fr]`: who
//! changes outcome between two scenarios, and why.

use std::path::PathBuf;
use std::process::ExitCode;

use crate::compare::{compare, CHANGE_COLUMNS};
use crate::overrides::Override;
use crate::scenario::Scenario;
use crate::{Comparison, Result};

use super::{mad, DialectArg, ScenarioPath};

/// Arguments of `compare`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The first scenario ("before"): a TOML file, or a folder holding scenario.toml.
    a: ScenarioPath,
    /// The second scenario ("after"); default: A again, with the --set overrides.
    b: Option<ScenarioPath>,
    /// Override a setting of the second scenario, e.g. params.min_training_hours=150.
    /// Repeatable.
    #[arg(long = "set", value_name = "KEY=VALUE")]
    set: Vec<String>,
    /// For both sides: an earlier batch's decisions.csv or decisions.jsonl, kept as decided (see
    /// `allocate --committed`).
    #[arg(long, value_name = "FILE")]
    committed: Option<PathBuf>,
    /// Write the changed applicants to this CSV file.
    #[arg(long, short, value_name = "FILE")]
    out: Option<PathBuf>,
    #[command(flatten)]
    dialect: DialectArg,
}

pub fn run(args: Args) -> Result<ExitCode> {
    let overrides = Override::parse_all(&args.set)?;
    let b_path = args.b.as_deref().unwrap_or(&args.a);
    let mut before = Scenario::load(&args.a)?;
    let mut after = Scenario::load(b_path)?.with_overrides(&overrides)?;
    if let Some(file) = &args.committed {
        let c = std::sync::Arc::new(crate::allocate::committed::Committed::read(file)?);
        before.committed = Some(c.clone());
        after.committed = Some(c);
    }
    if let Some(out) = &args.out {
        let mut inputs = before.input_files();
        inputs.extend(after.input_files());
        crate::output::refuse_inputs("--out", std::slice::from_ref(out), &inputs)?;
    }
    let mut after_label = b_path.display().to_string();
    if !overrides.is_empty() {
        let sets: Vec<String> = overrides.iter().map(ToString::to_string).collect();
        after_label.push_str(" with ");
        after_label.push_str(&sets.join(", "));
    }
    let c = compare(
        (&before, args.a.display().to_string()),
        (&after, after_label),
    )?;
    print(&c);
    if let Some(path) = &args.out {
        crate::report::write_csv(
            path,
            args.dialect.dialect,
            &CHANGE_COLUMNS,
            |col| col.ends_with("_amount"),
            c.changes.iter().map(|ch| ch.csv_row()),
        )?;
        say!();
        say!("wrote {}", path.display());
    }
    Ok(ExitCode::SUCCESS)
}

fn signed(v: i64) -> String {
    match v {
        0 => "0".to_string(),
        v if v > 0 => format!("+{}", mad(v)),
        v => mad(v),
    }
}

fn print(c: &Comparison) {
    let (a, b) = (&c.before, &c.after);
    say!("A  {}", a.label);
    say!("B  {}", b.label);
    if !c.only_before.is_empty() || !c.only_after.is_empty() {
        say!();
        say!(
            "the applicants differ: {} ids in both, {} only in A, {} only in B; comparing the {} in both",
            c.common,
            c.only_before.len(),
            c.only_after.len(),
            c.common
        );
    }
    say!();
    let mut rows: Vec<(String, String, String, String)> = vec![(
        String::new(),
        "A".to_string(),
        "B".to_string(),
        "change".to_string(),
    )];
    let mut int = |name: &str, x: i64, y: i64| {
        rows.push((name.to_string(), mad(x), mad(y), signed(y - x)));
    };
    int("applicants", a.applicants as i64, b.applicants as i64);
    int("eligible", a.eligible as i64, b.eligible as i64);
    int("served", a.served as i64, b.served as i64);
    int("women served", a.women_served as i64, b.women_served as i64);
    int("spent (MAD)", a.spent, b.spent);
    if a.budget_total.is_some() || b.budget_total.is_some() {
        let cell = |t: Option<i64>| t.map_or("-".to_string(), mad);
        let diff = match (a.budget_total, b.budget_total) {
            (Some(x), Some(y)) => signed(y - x),
            _ => String::new(),
        };
        rows.push((
            "budget (MAD)".to_string(),
            cell(a.budget_total),
            cell(b.budget_total),
            diff,
        ));
    }
    let objective_name = if a.objective_kind == b.objective_kind {
        format!("objective ({})", a.objective_kind)
    } else {
        format!("objective ({} / {})", a.objective_kind, b.objective_kind)
    };
    let d = b.objective - a.objective;
    rows.push((
        objective_name,
        format!("{:.2}", a.objective),
        format!("{:.2}", b.objective),
        if d.abs() < 0.005 {
            "0".to_string()
        } else {
            format!("{d:+.2}")
        },
    ));
    let cities: std::collections::BTreeSet<&String> = a
        .served_by_city
        .keys()
        .chain(b.served_by_city.keys())
        .collect();
    for city in cities {
        let x = a.served_by_city.get(city).copied().unwrap_or(0) as i64;
        let y = b.served_by_city.get(city).copied().unwrap_or(0) as i64;
        rows.push((format!("  served {city}"), mad(x), mad(y), signed(y - x)));
    }
    let w: [usize; 4] = [
        rows.iter().map(|r| r.0.chars().count()).max().unwrap_or(0),
        rows.iter().map(|r| r.1.chars().count()).max().unwrap_or(0),
        rows.iter().map(|r| r.2.chars().count()).max().unwrap_or(0),
        rows.iter().map(|r| r.3.chars().count()).max().unwrap_or(0),
    ];
    for r in &rows {
        say!(
            "{:<w0$}  {:>w1$}  {:>w2$}  {:>w3$}",
            r.0,
            r.1,
            r.2,
            r.3,
            w0 = w[0],
            w1 = w[1],
            w2 = w[2],
            w3 = w[3]
        );
    }

    say!();
    if c.changes.is_empty() {
        say!("no applicant changes outcome");
        return;
    }
    let mut counts: std::collections::BTreeMap<&str, usize> = Default::default();
    for ch in &c.changes {
        *counts.entry(ch.change.as_str()).or_default() += 1;
    }
    let parts: Vec<String> = counts.iter().map(|(k, n)| format!("{n} {k}")).collect();
    say!(
        "{} applicant{} change outcome ({})",
        c.changes.len(),
        if c.changes.len() == 1 { "" } else { "s" },
        parts.join(", ")
    );
    for ch in &c.changes {
        say!();
        say!("{}  {}", ch.id, ch.change.as_str());
        say!("  A: {}", ch.reason_before);
        say!("  B: {}", ch.reason_after);
    }
}
