//! `idmaj serve SCENARIO... [--addr 127.0.0.1:8080] [--token-file FILE]`: the JSON API and
//! the what-if page over the given scenarios.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use crate::serve::{Limits, Options};
use crate::{Error, Problem, Result};

use super::ScenarioPath;

/// Arguments of `serve`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Scenarios to serve (folders or scenario TOML files), each under its folder name.
    #[arg(required = true)]
    scenarios: Vec<ScenarioPath>,
    /// Address to listen on; port 0 picks a free one (the address is printed). Anything
    /// but loopback needs a token.
    #[arg(long, default_value = "127.0.0.1:8080")]
    addr: SocketAddr,
    /// File holding the token clients send as `Authorization: Bearer TOKEN` (default: the
    /// IDMAJ_TOKEN environment variable; without either, a random token for this run,
    /// printed on stderr, and loopback only).
    #[arg(long, value_name = "FILE")]
    token_file: Option<PathBuf>,
    /// Most applicants in one request.
    #[arg(long, default_value_t = Limits::default().max_applicants)]
    max_applicants: usize,
    /// Largest request body, in MiB.
    #[arg(long, default_value_t = 16)]
    max_body_mib: usize,
    /// Seconds a request may take before it is answered 503.
    #[arg(long, default_value_t = 120)]
    timeout: u64,
}

/// The token: from `--token-file` (its first line), else `IDMAJ_TOKEN`.
fn token(args: &Args) -> Result<Option<String>> {
    if let Some(path) = &args.token_file {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        let t = text.lines().next().unwrap_or("").trim().to_string();
        if t.is_empty() {
            return Err(Error::from(Problem::error(
                path.display().to_string(),
                "the token file is empty",
            )));
        }
        return Ok(Some(t));
    }
    Ok(std::env::var("IDMAJ_TOKEN").ok().filter(|t| !t.is_empty()))
}

pub fn run(args: Args) -> Result<ExitCode> {
    let token = token(&args)?;
    let limits = Limits {
        max_body: args.max_body_mib.max(1) << 20,
        max_applicants: args.max_applicants.max(1),
        timeout: Duration::from_secs(args.timeout.max(1)),
        ..Limits::default()
    };
    crate::serve::run(Options {
        scenarios: args.scenarios,
        addr: args.addr,
        token,
        limits,
    })
}
