//! `idmaj test [DIR]`: run rule test cases and report pass/fail per case.

use std::path::PathBuf;
use std::process::ExitCode;

use crate::cases;
use crate::{Error, Result};

/// Arguments of `test`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Folder of case files (*.toml), or one case file.
    #[arg(default_value = "rules/tests")]
    dir: PathBuf,
}

pub fn run(args: Args) -> Result<ExitCode> {
    let files = cases::case_files(&args.dir)?;
    if files.is_empty() {
        return Err(Error::from(crate::Problem::error(
            args.dir.display().to_string(),
            "no case files (*.toml) found",
        )));
    }
    let (mut passed, mut failed) = (0, 0);
    for f in files {
        for r in cases::run_file(&f)? {
            if r.passed() {
                passed += 1;
                say!("pass  {}: {}", r.file, r.name);
            } else {
                failed += 1;
                say!("FAIL  {}: {}", r.file, r.name);
                for why in &r.failures {
                    say!("        {why}");
                }
            }
        }
    }
    say!("\n{passed} passed, {failed} failed");
    Ok(if failed > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}
