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
    /// Folder to write the scenario into (created if missing; it must be empty).
    #[arg(long)]
    out: PathBuf,
    /// Write the hard class for the allocator: a budget of half what the eligible would
    /// cost, three capped cities, earmarked funders, three scarce kits, 30% women.
    #[arg(long)]
    tight: bool,
    /// Write into a folder that is not empty, replacing the scenario files there.
    #[arg(long)]
    force: bool,
}

pub fn run(args: Args) -> Result<ExitCode> {
    let occupied = std::fs::read_dir(&args.out).is_ok_and(|mut d| d.next().is_some());
    if occupied && !args.force {
        return Err(crate::Error::from(crate::Problem::error(
            "--out",
            format!(
                "{} is not empty; generate writes a whole scenario there (scenario.toml, \
                 applicants.csv, ...) and would replace its files: choose an empty folder, or \
                 pass --force",
                args.out.display()
            ),
        )));
    }
    let start = Instant::now();
    let summary = generate(
        &GenerateOptions {
            applicants: args.applicants,
            seed: args.seed,
            tight: args.tight,
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
