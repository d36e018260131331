//! `idmaj generate --applicants N --seed S --out DIR`: a complete synthetic scenario.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use crate::generate::{generate, GenerateOptions};
use crate::Result;

/// Arguments of `generate`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// How many applicants to write (at least 1).
    #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u64).range(1..))]
    applicants: u64,
    /// Seed: the same seed writes byte-identical files.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Folder to write the scenario into (created if missing).
    #[arg(long)]
    out: PathBuf,
}

pub fn run(args: Args) -> Result<ExitCode> {
    let start = Instant::now();
    let summary = generate(
        &GenerateOptions {
            applicants: args.applicants,
            seed: args.seed,
        },
        &args.out,
    )?;
    eprintln!(
        "wrote a synthetic scenario of {} applicants to {} in {:.1} s",
        summary.applicants,
        args.out.display(),
        start.elapsed().as_secs_f64()
    );
    for f in &summary.files {
        say!("{}", f.display());
    }
    Ok(ExitCode::SUCCESS)
}
