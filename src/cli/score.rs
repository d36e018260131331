//! `idmaj score SCENARIO [--out FILE] [--format csv|jsonl] [--dialect comma|excel-fr]`:
//! assessments for every applicant, streamed to CSV or JSON lines.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use crate::output::{refuse_inputs, Sink};
use crate::pipeline::{self, Outcome};
use crate::report::{score_is_number, CsvOut, SCORE_COLUMNS};
use crate::{Engine, Error, Result};

use super::{progress_bar, DialectArg, ScenarioPath};

/// Arguments of `score`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Scenario TOML file, or a folder holding scenario.toml.
    scenario: ScenarioPath,
    /// Where to write the assessments (default: standard output, or `-`).
    #[arg(long, short)]
    out: Option<PathBuf>,
    /// Output format: `csv` (one row per applicant), or `jsonl` (one JSON assessment per
    /// line). Default: `jsonl` for a file ending in .jsonl, else `csv`.
    #[arg(long, value_parser = ["csv", "jsonl"])]
    format: Option<String>,
    #[command(flatten)]
    dialect: DialectArg,
}

/// True for JSON lines: asked for, or a `.jsonl` output file.
fn jsonl(args: &Args) -> bool {
    match args.format.as_deref() {
        Some(f) => f == "jsonl",
        None => args
            .out
            .as_deref()
            .and_then(Path::extension)
            .is_some_and(|e| e.eq_ignore_ascii_case("jsonl")),
    }
}

/// One JSON line: the assessment, or for an unreadable row its id, line and message.
fn json_line(o: &Outcome) -> String {
    let value = match o {
        Outcome::Assessed(a) => serde_json::to_string(a),
        Outcome::Invalid { id, line, message } => serde_json::to_string(&serde_json::json!({
            "id": id,
            "status": "error",
            "line": line,
            "error": message,
        })),
    };
    value.unwrap_or_default()
}

pub fn run(args: Args) -> Result<ExitCode> {
    let engine = Engine::load(&args.scenario)?;
    let scenario = engine.scenario();
    super::print_warnings(&scenario.warnings);
    if let Some(note) = engine.rules_interpreted_because() {
        eprintln!("{note}");
    }
    let size = scenario.applicant_data()?.len();
    let bar = progress_bar(
        size,
        4 << 20,
        "{bar:40} {percent:>3}% {bytes}/{total_bytes} {elapsed} (eta {eta})",
    );
    let out_path = args.out.clone().filter(|p| p != Path::new("-"));
    if let Some(p) = &out_path {
        refuse_inputs("--out", std::slice::from_ref(p), &scenario.input_files())?;
    }
    let shown = out_path.clone().unwrap_or_else(|| "<stdout>".into());
    let mut sink = Sink::open(out_path.as_deref())?;
    let summary = if jsonl(&args) {
        let io = |e| Error::io(&shown, e);
        pipeline::score_stream_with(
            &engine,
            json_line,
            |line| {
                sink.write_all(line.as_bytes())
                    .and_then(|()| sink.write_all(b"\n"))
                    .map_err(io)
            },
            |bytes| bar.set_position(bytes),
        )?
    } else {
        let io = crate::report::allocation::csv_error(&shown);
        let header = CsvOut::new(
            &mut sink,
            args.dialect.dialect,
            &SCORE_COLUMNS,
            score_is_number,
        )
        .map_err(&io)?;
        let out = header.into_inner().map_err(|e| Error::io(&shown, e))?;
        pipeline::score_csv(
            &engine,
            args.dialect.dialect,
            |rows| out.write_all(rows).map_err(|e| Error::io(&shown, e)),
            |bytes| bar.set_position(bytes),
        )?
    };
    sink.finish()?;
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
