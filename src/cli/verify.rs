//! `idmaj verify OUT_DIR`: runs an allocation again from the manifest in its summary.json
//! and says whether every output is reproduced byte for byte.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use crate::overrides::Override;
use crate::{Engine, Error, Problem, Result, Summary};

use super::allocate::OUTPUTS;

/// Arguments of `verify`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// A folder `idmaj allocate` wrote (its summary.json holds the run's manifest). Paths in
    /// the manifest are as the run named them: verify from the same folder.
    out_dir: PathBuf,
}

pub fn run(args: Args) -> Result<ExitCode> {
    let summary_path = args.out_dir.join("summary.json");
    let text = std::fs::read_to_string(&summary_path).map_err(|e| Error::io(&summary_path, e))?;
    let summary: Summary = serde_json::from_str(&text).map_err(|e| {
        Error::from(
            Problem::error(
                summary_path.display().to_string(),
                format!("not a summary.json with a run manifest: {e}"),
            )
            .at_line(e.line() as u64),
        )
    })?;
    let m = &summary.manifest;
    let scenario = m
        .inputs
        .iter()
        .find(|i| i.role == "scenario file")
        .map(|i| PathBuf::from(&i.path))
        .ok_or_else(|| {
            Error::from(Problem::error(
                summary_path.display().to_string(),
                "the manifest names no scenario file",
            ))
        })?;
    let overrides = Override::parse_all(&m.overrides)?;
    let mut engine = Engine::load(&scenario)?.with_settings(&overrides)?;
    if let Some(c) = m.inputs.iter().find(|i| i.role == "committed file") {
        engine = engine.with_committed_file(&c.path)?;
    }

    say!(
        "run of idmaj {} ({}), now idmaj {}",
        m.idmaj_version,
        m.search,
        env!("CARGO_PKG_VERSION")
    );
    let mut same = m.idmaj_version == env!("CARGO_PKG_VERSION");
    let now = engine.scenario().input_hashes();
    for i in &m.inputs {
        let state = match now.iter().find(|(r, p, _)| *r == i.role && *p == i.path) {
            Some((.., h)) if *h == i.sha256 => "unchanged",
            Some(_) => "CHANGED",
            None => "no longer an input",
        };
        same &= state == "unchanged";
        say!("  {state:<10} {} {}", i.role, i.path);
    }

    let assessments = engine.assess_scenario_strict(crate::rules::Detail::Failed)?;
    let alloc = engine.allocate(&assessments)?;
    let again = scratch_dir()?;
    // The folder shows how the run wrote: decisions.csv's dialect, and decisions.xlsx.
    let options = crate::OutputOptions {
        dialect: std::fs::read(args.out_dir.join("decisions.csv"))
            .map_or(Default::default(), |b| crate::OutputDialect::of_output(&b)),
        xlsx: args.out_dir.join("decisions.xlsx").is_file(),
    };
    let written = engine.write_outputs_with(&alloc, &again, &options);
    let result = written.map(|()| compare(&args.out_dir, &again, options.xlsx));
    let _ = std::fs::remove_dir_all(&again);
    same &= result?;
    if same {
        say!("reproduced: every output is the same, byte for byte");
        Ok(ExitCode::SUCCESS)
    } else {
        say!("NOT reproduced");
        Ok(ExitCode::from(1))
    }
}

/// Prints, for each output, whether the new run wrote the same bytes; true when all did.
fn compare(out: &Path, again: &Path, xlsx: bool) -> bool {
    let mut all = true;
    for f in OUTPUTS.into_iter().chain(xlsx.then_some("decisions.xlsx")) {
        let state = match (std::fs::read(out.join(f)), std::fs::read(again.join(f))) {
            (Ok(a), Ok(b)) if a == b => "same",
            (Ok(_), Ok(_)) => "DIFFERS",
            (Err(_), _) => "missing from the folder",
            (_, Err(_)) => "not written again",
        };
        all &= state == "same";
        say!("  {state:<10} {f}");
    }
    all
}

/// A new empty folder for the second run.
fn scratch_dir() -> Result<PathBuf> {
    let dir = std::env::temp_dir().join(format!("idmaj-verify-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
    Ok(dir)
}
