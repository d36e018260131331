//! `idmaj score SCENARIO [--out FILE]`: assessments for every applicant, streamed to CSV.

use std::path::PathBuf;
use std::process::ExitCode;

use idmaj::report::{score_row, SCORE_COLUMNS};
use idmaj::{pipeline, Error, Result, Scenario};

use super::{progress_bar, ScenarioPath};

/// Arguments of `score`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Scenario TOML file, or a folder holding scenario.toml.
    scenario: ScenarioPath,
    /// Where to write the CSV (default: standard output).
    #[arg(long, short)]
    out: Option<PathBuf>,
}

pub fn run(args: Args) -> Result<ExitCode> {
    let scenario = Scenario::load(&args.scenario)?;
    super::print_warnings(&scenario.warnings);
    let size = std::fs::metadata(&scenario.applicants).map_or(0, |m| m.len());
    let bar = progress_bar(
        size,
        4 << 20,
        "{bar:40} {percent:>3}% {bytes}/{total_bytes} {elapsed} (eta {eta})",
    );
    let out_path = args.out.clone();
    let mut w = idmaj::dialect::writer(out_path.as_deref())?;
    let io = |e: csv::Error| match e.into_kind() {
        csv::ErrorKind::Io(e) => {
            Error::io(out_path.clone().unwrap_or_else(|| "<stdout>".into()), e)
        }
        other => Error::Internal(format!("{other:?}")),
    };
    w.write_record(SCORE_COLUMNS).map_err(io)?;
    let summary = pipeline::score_stream_with(
        &scenario,
        score_row,
        |_, row| w.write_record(row).map_err(io),
        |bytes| bar.set_position(bytes),
    )?;
    w.flush()
        .map_err(|e| Error::io(out_path.clone().unwrap_or_else(|| "<stdout>".into()), e))?;
    bar.finish_and_clear();

    eprintln!(
        "{} applicants: {} eligible, {} not eligible, {} errors",
        summary.applicants,
        summary.eligible,
        summary.ineligible,
        summary.problems.list.len() + summary.problems.omitted
    );
    if !summary.excluded_by.is_empty() {
        eprintln!("\n  {:<18} {:>9}  check", "excluded by", "applicants");
        let mut rows: Vec<_> = summary.excluded_by.iter().collect();
        rows.sort_by(|a, b| b.1 .1.cmp(&a.1 .1).then(a.0.cmp(b.0)));
        for (id, (text, n)) in rows {
            eprintln!("  {id:<18} {n:>9}  {text}");
        }
    }
    if !summary.problems.is_empty() {
        eprintln!("\n{}", summary.problems);
        return Ok(ExitCode::from(2));
    }
    Ok(ExitCode::SUCCESS)
}
