//! `idmaj allocate SCENARIO [--out DIR] [--set KEY=VALUE]...`: score every applicant,
//! allocate kits and cash under every budget, write decisions.csv, decisions.jsonl,
//! summary.json, summary.md and report.html; `--set` runs a what-if without editing the
//! scenario.

use std::cell::OnceCell;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use crate::overrides::Override;
use crate::report::number;
use crate::{Engine, Result, SearchProgress};

use super::{mad, ScenarioPath};

/// Arguments of `allocate`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Scenario TOML file, or a folder holding scenario.toml.
    scenario: ScenarioPath,
    /// Folder for decisions.csv, decisions.jsonl, summary.json, summary.md and report.html
    /// (created if missing).
    #[arg(long, short, default_value = "out")]
    out: PathBuf,
    /// An earlier batch's decisions.csv or decisions.jsonl: those applicants keep their
    /// option, amount and funders, use the budgets, caps, stock and quotas, and are not
    /// decided again (marked committed in every output).
    #[arg(long, value_name = "FILE")]
    committed: Option<PathBuf>,
    /// Override a setting for this run, e.g. budget.total=4000000 (same keys as `sweep`).
    /// Repeatable; the outputs name the overrides.
    #[arg(long = "set", value_name = "KEY=VALUE")]
    set: Vec<String>,
    /// Also write decisions.xlsx: a "decisions" sheet (the decisions.csv columns, ids as
    /// text, numbers as numbers) and a "summary" sheet.
    #[arg(long)]
    xlsx: bool,
    #[command(flatten)]
    dialect: super::DialectArg,
}

/// The files `allocate` writes into its `--out` folder.
pub(crate) const OUTPUTS: [&str; 5] = [
    "decisions.csv",
    "decisions.jsonl",
    "summary.json",
    "summary.md",
    "report.html",
];

pub fn run(args: Args) -> Result<ExitCode> {
    let overrides = Override::parse_all(&args.set)?;
    let mut engine = Engine::load(&args.scenario)?.with_settings(&overrides)?;
    if let Some(file) = &args.committed {
        engine = engine.with_committed_file(file)?;
    }
    let scenario = engine.scenario();
    let written: Vec<&str> = OUTPUTS
        .into_iter()
        .chain(args.xlsx.then_some("decisions.xlsx"))
        .collect();
    let outputs: Vec<PathBuf> = written.iter().map(|f| args.out.join(f)).collect();
    crate::output::refuse_inputs("--out", &outputs, &scenario.input_files())?;
    super::print_warnings(&scenario.warnings);
    let assessments = engine.assess_scenario_strict(crate::rules::Detail::Failed)?;
    // A long search shows how it is going (on a terminal, after a second).
    let start = Instant::now();
    let bar = OnceCell::new();
    let show = |p: &SearchProgress| {
        if start.elapsed() < Duration::from_secs(1) {
            return;
        }
        let bar = bar
            .get_or_init(|| super::progress_bar(1000, 0, "searching {bar:30} {msg} ({elapsed})"));
        bar.set_position((p.done * 1000.0) as u64);
        let gap = (p.bound - p.objective) / p.bound.abs().max(1e-9);
        bar.set_message(format!(
            "best {:.2}, bound {:.2}, gap {:.4}%",
            p.objective,
            p.bound,
            100.0 * gap
        ));
    };
    let alloc = engine.allocate_with_progress(&assessments, &show);
    if let Some(bar) = bar.get() {
        bar.finish_and_clear();
    }
    let alloc = alloc?;
    let options = crate::OutputOptions {
        dialect: args.dialect.dialect,
        xlsx: args.xlsx,
    };
    engine.write_outputs_with(&alloc, &args.out, &options)?;
    let s = alloc.summary();
    let cur = &scenario.program.currency;
    say!("{}", scenario.program.name);
    if !scenario.overrides.is_empty() {
        say!("what-if    {}", scenario.overrides.join(", "));
    }
    say!(
        "served     {} of {} eligible ({} applicants)",
        s.served,
        s.eligible,
        s.applicants
    );
    let women = s.by_gender.get("F").map_or(0, |t| t.served);
    if s.served > 0 {
        say!(
            "women      {women} ({:.1}%)",
            100.0 * women as f64 / s.served as f64
        );
    }
    say!(
        "spent      {} {cur}{}",
        mad(s.spent),
        scenario
            .budget_total
            .map_or(String::new(), |t| format!(" of {} {cur}", mad(t)))
    );
    if s.unspent.amount > 0 {
        say!("unspent    {}", s.unspent.sentence(cur));
    }
    say!("objective  {}", s.objective_line());
    say!("solved in  {:.2} s", alloc.elapsed.as_secs_f64());
    let binding: Vec<_> = s.constraints.iter().filter(|c| c.binding).collect();
    if !binding.is_empty() {
        say!("binding    ");
        for c in binding {
            let extra = c
                .per_1000_mad
                .as_deref()
                .map_or(String::new(), |t| format!(": {t}"));
            say!(
                "  {:<28} used {} of {}{extra}",
                c.name,
                number(c.used),
                number(c.limit)
            );
        }
    }
    for f in &outputs {
        say!("wrote      {}", f.display());
    }
    Ok(ExitCode::SUCCESS)
}
