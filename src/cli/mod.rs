//! Subcommands, one file each; no logic of their own beyond wiring and printing.

/// `println!` that treats a closed stdout (`idmaj ... | head`) as the end of the run
/// instead of a panic.
macro_rules! say {
    () => { $crate::cli::write_line(format_args!("")) };
    ($($t:tt)*) => { $crate::cli::write_line(format_args!($($t)*)) };
}

mod allocate;
mod check;
mod compare;
mod explain;
mod generate;
mod init;
mod score;
#[cfg(feature = "serve")]
mod serve;
mod sweep;
mod test;
mod verify;

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::Result;

/// Rules-based eligibility and allocation for reintegration programmes.
#[derive(Parser, Debug)]
#[command(name = "idmaj", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
    /// Worker threads for scoring (default: all cores). Output is the same for any count.
    #[arg(long, global = true, value_parser = clap::value_parser!(u16).range(1..))]
    threads: Option<u16>,
    /// Wall-clock limit for the whole run, in seconds: past it the run stops with exit
    /// code 2 and writes nothing (a last resort; rules and solver have their own limits).
    #[arg(long, global = true, default_value_t = 3600.0, value_name = "SECONDS")]
    max_seconds: f64,
    /// How rules run: `compiled` (the default: rules are compiled once, and run interpreted
    /// when they use something the compiler does not know, which `check` and `score` say)
    /// or `interpreted` (rhai alone, to compare). The answers are the same.
    #[arg(long, global = true, value_name = "compiled|interpreted", default_value = "compiled", value_parser = ["compiled", "interpreted"])]
    engine: String,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Validate a scenario, its data and its rules; print a summary and every problem.
    Check(check::Args),
    /// Assess every applicant (eligibility, score, options), streamed to CSV.
    Score(score::Args),
    /// Score every applicant and allocate kits and cash under every budget; writes
    /// decisions.csv, decisions.jsonl, summary.json, summary.md and report.html.
    Allocate(allocate::Args),
    /// Show every check, score item and option for one applicant.
    Explain(explain::Args),
    /// What-if over budgets and settings: served, eligible, spent, objective, women share
    /// and served per city at every point.
    Sweep(sweep::Args),
    /// Who changes outcome between two scenarios (or one with --set overrides), and why.
    Compare(compare::Args),
    /// Run rule test cases (TOML files) and report pass/fail per case.
    Test(test::Args),
    /// Write a synthetic scenario of any size (for benchmarks and trying the tool).
    Generate(generate::Args),
    /// Run an allocation again from the manifest in its summary.json and say whether every
    /// output is reproduced byte for byte.
    Verify(verify::Args),
    /// Start a new scenario folder that holds everything it uses: scenario.toml,
    /// labour_market.csv, a copy of the rules, an applicants.csv template and a README.
    Init(init::Args),
    /// Serve the JSON API and the what-if page over one or more scenarios.
    #[cfg(feature = "serve")]
    Serve(serve::Args),
}

/// The `idmaj` binary: parses the command line, runs it, prints any error and maps the
/// outcome to an exit code.
pub fn main() -> ExitCode {
    let args = Cli::parse();
    match run(args) {
        Ok(code) => code,
        Err(e) => {
            if let crate::Error::Io { source, .. } = &e {
                if source.kind() == std::io::ErrorKind::BrokenPipe {
                    return ExitCode::SUCCESS;
                }
            }
            eprintln!("error: {e}");
            ExitCode::from(e.exit_code())
        }
    }
}

/// Runs the parsed command line.
fn run(cli: Cli) -> Result<ExitCode> {
    if let Some(n) = cli.threads {
        // Only fails when a pool already exists, which cannot happen this early.
        let _ = rayon::ThreadPoolBuilder::new()
            .num_threads(usize::from(n))
            .build_global();
    }
    crate::rules::set_default_engine(if cli.engine == "interpreted" {
        crate::rules::RuleEngine::Interpreted
    } else {
        crate::rules::RuleEngine::Compiled
    });
    if !(cli.max_seconds > 0.0 && cli.max_seconds.is_finite()) {
        return Err(crate::Problem::error(
            "--max-seconds",
            format!(
                "must be a positive number of seconds, got {}",
                cli.max_seconds
            ),
        )
        .into());
    }
    // A server runs until it is stopped; each of its requests has its own time limit.
    #[cfg(feature = "serve")]
    let serving = matches!(cli.command, Command::Serve(_));
    #[cfg(not(feature = "serve"))]
    let serving = false;
    if !serving {
        watchdog(cli.max_seconds);
    }
    match cli.command {
        Command::Check(a) => check::run(a),
        Command::Score(a) => score::run(a),
        Command::Allocate(a) => allocate::run(a),
        Command::Explain(a) => explain::run(a),
        Command::Sweep(a) => sweep::run(a),
        Command::Compare(a) => compare::run(a),
        Command::Test(a) => test::run(a),
        Command::Generate(a) => generate::run(a),
        Command::Verify(a) => verify::run(a),
        Command::Init(a) => init::run(a),
        #[cfg(feature = "serve")]
        Command::Serve(a) => serve::run(a),
    }
}

/// Ends the process with exit code 2 after `seconds`, removing any output still being
/// written, so a run that would never end leaves nothing behind.
fn watchdog(seconds: f64) {
    let limit = std::time::Duration::from_secs_f64(seconds);
    std::thread::spawn(move || {
        std::thread::sleep(limit);
        crate::output::abandon_all();
        eprintln!(
            "error: the run took longer than --max-seconds {seconds}; stopped, nothing written"
        );
        std::process::exit(2);
    });
}

/// Writes one line to stdout; exits quietly when the reader has gone away.
pub fn write_line(args: std::fmt::Arguments) {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    if let Err(e) = out.write_fmt(args).and_then(|_| out.write_all(b"\n")) {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            std::process::exit(0);
        }
        eprintln!("error: cannot write to standard output: {e}");
        std::process::exit(2);
    }
}

/// The `--dialect` option of every command that writes CSV.
#[derive(clap::Args, Debug, Clone, Copy)]
pub struct DialectArg {
    /// How CSV outputs are written: `comma` (`,`, decimal point; the default) or
    /// `excel-fr` (`;`, decimal comma, UTF-8 byte-order mark, CRLF: what French-locale
    /// Excel opens in columns).
    #[arg(long, value_name = "comma|excel-fr", default_value = "comma")]
    pub dialect: crate::OutputDialect,
}

/// A scenario argument: a scenario TOML file, or a folder holding `scenario.toml`.
pub type ScenarioPath = PathBuf;

pub use crate::report::thousands as mad;

/// A progress bar on stderr over `len` units drawn with `template`, only when stderr is a
/// terminal and the run is long enough (`len >= min`); hidden otherwise.
pub fn progress_bar(len: u64, min: u64, template: &str) -> indicatif::ProgressBar {
    if !std::io::stderr().is_terminal() || len < min {
        return indicatif::ProgressBar::hidden();
    }
    let bar = indicatif::ProgressBar::new(len);
    bar.set_style(
        indicatif::ProgressStyle::with_template(template)
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    bar
}

/// Prints warnings of a loaded scenario to stderr.
pub fn print_warnings(problems: &[crate::Problem]) {
    for w in problems {
        eprintln!("{w}");
    }
}
