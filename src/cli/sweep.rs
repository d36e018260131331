//! `idmaj sweep SCENARIO --budget A..B:STEPS [--set KEY=V1,V2,...]... [--out FILE]`:
//! what-if over budgets and settings, one row per point.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use crate::allocate::committed::Committed;
use crate::scenario::Scenario;
use crate::sweep::sweep;
use crate::{Error, Problem, Result, SetValue, Setting, Sweep};

use super::{mad, DialectArg, ScenarioPath};

/// Arguments of `sweep`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Scenario TOML file, or a folder holding scenario.toml.
    scenario: ScenarioPath,
    /// An earlier batch's decisions.csv or decisions.jsonl, kept as decided (see
    /// `allocate --committed`).
    #[arg(long, value_name = "FILE")]
    committed: Option<PathBuf>,
    /// Budgets to try on budget.total: STEPS evenly spaced whole-MAD values from A to B
    /// inclusive, e.g. 3000000..6000000:13. Varies fastest.
    #[arg(long, value_name = "A..B:STEPS")]
    budget: Option<String>,
    /// A setting and its values, e.g. params.min_training_hours=100,120,150 or
    /// quota.women.min_share=0,0.2,0.3 (keys as for --set elsewhere). Repeatable: the
    /// points are every combination, the first --set varying slowest.
    #[arg(long = "set", value_name = "KEY=V1,V2,...")]
    set: Vec<String>,
    /// Also write the rows to FILE: CSV for .csv, JSON for .json.
    #[arg(long, short, value_name = "FILE")]
    out: Option<PathBuf>,
    /// Also write the frontier (served and objective against budget) as a self-contained
    /// HTML page.
    #[arg(long, value_name = "FILE.html")]
    report: Option<PathBuf>,
    #[command(flatten)]
    dialect: DialectArg,
}

#[derive(Clone, Copy)]
enum Format {
    Csv,
    Json,
}

fn format_of(path: &Path) -> Result<Format> {
    match path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase)
        .as_deref()
    {
        Some("csv") => Ok(Format::Csv),
        Some("json") => Ok(Format::Json),
        _ => Err(Error::from(Problem::error(
            "--out",
            format!(
                "`{}`: the file name must end in .csv or .json",
                path.display()
            ),
        ))),
    }
}

pub fn run(args: Args) -> Result<ExitCode> {
    let format = args.out.as_deref().map(format_of).transpose()?;
    let mut settings = args
        .set
        .iter()
        .map(|s| Setting::parse(s))
        .collect::<Result<Vec<_>>>()?;
    if let Some(b) = &args.budget {
        settings.push(Setting::budget_range(b)?);
    }
    if settings.is_empty() {
        return Err(Error::from(Problem::error(
            "sweep",
            "nothing to sweep: give --budget A..B:STEPS and/or --set KEY=V1,V2,...",
        )));
    }
    let total: u64 = settings.iter().map(|s| s.values.len() as u64).product();
    let bar = super::progress_bar(
        total,
        2,
        "{bar:40} {pos}/{len} points {elapsed} (eta {eta})",
    );
    let start = Instant::now();
    let mut base = Scenario::load(&args.scenario)?;
    if let Some(file) = &args.committed {
        base.committed = Some(std::sync::Arc::new(Committed::read(file)?));
    }
    let outputs: Vec<PathBuf> = args.out.iter().chain(&args.report).cloned().collect();
    crate::output::refuse_inputs("--out", &outputs, &base.input_files())?;
    let result = sweep(&base, &settings, &|total| {
        bar.set_length(total as u64);
        bar.inc(1);
    });
    bar.finish_and_clear();
    let s = result?;
    eprintln!(
        "{} points: applicants scored {} time{}, {} allocation{} solved, {:.2} s",
        s.rows.len(),
        s.scorings,
        if s.scorings == 1 { "" } else { "s" },
        s.solves,
        if s.solves == 1 { "" } else { "s" },
        start.elapsed().as_secs_f64()
    );
    print_table(&s);
    if let (Some(path), Some(format)) = (&args.out, format) {
        match format {
            Format::Csv => write_csv(path, &s, args.dialect.dialect)?,
            Format::Json => {
                let text = serde_json::to_string_pretty(&s.to_json())
                    .map_err(|e| Error::Internal(e.to_string()))?;
                crate::output::write_file(path, (text + "\n").as_bytes())?;
            }
        }
        say!();
        say!("wrote {}", path.display());
    }
    if let Some(path) = &args.report {
        let title = format!("{} — budget frontier", s.program);
        crate::report::html::write_sweep_report(path, &title, &s.frontier())?;
        say!("wrote {}", path.display());
    }
    Ok(ExitCode::SUCCESS)
}

fn write_csv(path: &Path, s: &Sweep, dialect: crate::OutputDialect) -> Result<()> {
    // Every column holds numbers (settings too, where they are numbers) but these.
    let text = [
        "proven_optimal",
        "timed_out",
        "work_limit_reached",
        "infeasible",
        "error",
    ];
    let is_number = |c: &str| !text.contains(&c);
    crate::report::write_csv(path, dialect, &s.csv_header(), is_number, s.csv_rows())
}

/// Prints rows of cells, each column right-aligned to its widest cell; the last one
/// left-aligned when `left_last`.
fn print_grid(rows: &[Vec<String>], left_last: bool) {
    let n = rows.iter().map(Vec::len).max().unwrap_or(0);
    let width: Vec<usize> = (0..n)
        .map(|c| {
            rows.iter()
                .filter_map(|r| r.get(c))
                .map(|x| x.chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    for r in rows {
        let mut line = String::new();
        for (c, x) in r.iter().enumerate() {
            if c > 0 {
                line.push_str("  ");
            }
            if left_last && c + 1 == n {
                line.push_str(x);
            } else {
                line.push_str(&format!("{x:>w$}", w = width[c]));
            }
        }
        say!("{}", line.trim_end());
    }
}

fn setting_cell(key: &str, v: &SetValue) -> String {
    match v {
        SetValue::Int(i) if key.starts_with("budget.") || key.ends_with(".amount") => mad(*i),
        other => other.text(),
    }
}

fn print_table(s: &Sweep) {
    say!("{}", s.program);
    say!();
    let mut rows: Vec<Vec<String>> = Vec::new();
    let mut head: Vec<String> = s.keys.clone();
    head.extend(
        [
            "served",
            "eligible",
            "spent",
            "objective",
            "bound",
            "gap",
            "women",
            "status",
        ]
        .map(String::from),
    );
    rows.push(head);
    for r in &s.rows {
        let mut cells: Vec<String> = r.settings.iter().map(|(k, v)| setting_cell(k, v)).collect();
        if let Some(m) = &r.error {
            cells.extend(["-", "-", "-", "-", "-", "-", "-"].map(String::from));
            cells.push(format!("error: {m}"));
        } else if let Some(m) = &r.infeasible {
            cells.extend(["-", "", "-", "-", "-", "-", "-"].map(String::from));
            cells[s.keys.len() + 1] = r.eligible.to_string();
            cells.push(format!("infeasible: {m}"));
        } else {
            cells.extend([
                r.served.to_string(),
                r.eligible.to_string(),
                mad(r.spent),
                format!("{:.2}", r.objective),
                format!("{:.2}", r.bound),
                format!("{:.2}%", 100.0 * r.gap),
                r.women_share
                    .map_or("-".to_string(), |w| format!("{:.1}%", 100.0 * w)),
                if r.proven_optimal {
                    "optimal".to_string()
                } else if r.timed_out {
                    "time limit".to_string()
                } else if r.work_limit_reached {
                    "search budget".to_string()
                } else {
                    "within gap".to_string()
                },
            ]);
        }
        rows.push(cells);
    }
    print_grid(&rows, true);

    say!();
    say!("served per city");
    let mut rows: Vec<Vec<String>> = Vec::new();
    let mut head: Vec<String> = s.keys.clone();
    head.extend(s.cities.iter().cloned());
    rows.push(head);
    for r in &s.rows {
        let mut cells: Vec<String> = r.settings.iter().map(|(k, v)| setting_cell(k, v)).collect();
        for c in &s.cities {
            cells.push(if r.infeasible.is_some() || r.error.is_some() {
                "-".to_string()
            } else {
                r.served_by_city.get(c).copied().unwrap_or(0).to_string()
            });
        }
        rows.push(cells);
    }
    print_grid(&rows, false);
    if s.rows.iter().any(|r| r.timed_out) {
        say!();
        say!("note: \"time limit\" points are the best allocation found before solver.time_limit; they may differ between runs");
    }
}
