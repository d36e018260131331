//! `idmaj explain SCENARIO ID`: every check, score item and option for one applicant.

use std::process::ExitCode;

use crate::applicant::{ApplicantSource, RowCells};
use crate::report::score_cell;
use crate::{Engine, Error, Offer, Problem, Result, Status};

use super::{mad, ScenarioPath};

/// Arguments of `explain`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Scenario TOML file, or a folder holding scenario.toml.
    scenario: ScenarioPath,
    /// The applicant's id.
    id: String,
    /// Skip the allocation (it scores every applicant and solves the whole programme).
    #[arg(long)]
    no_allocation: bool,
}

/// What the allocation gives applicant `id`, in words.
fn outcome(engine: &Engine, id: &str) -> Result<String> {
    let assessments = engine.assess_scenario_strict(crate::rules::Detail::Failed)?;
    let alloc = engine.allocate(&assessments)?;
    let Some(i) = assessments.iter().position(|a| a.id == id) else {
        return Ok("not found".to_string());
    };
    let d = &alloc.decisions()[i];
    let cur = &engine.scenario().program.currency;
    let offer = d.funded().then(|| Offer {
        kit: d.kit.clone(),
        kit_cost: d.amount - d.cash,
        cash: d.cash,
    });
    Ok(match (offer, &d.why_not) {
        (Some(o), _) => {
            let paid = d
                .funders
                .iter()
                .map(|f| format!("{} {} {cur}", f.funder, mad(f.amount)))
                .collect::<Vec<_>>()
                .join(", ");
            format!(
                "FUNDED: {} ({} {cur}), paid by {paid}",
                o.label(),
                mad(o.cost())
            )
        }
        (None, Some(why)) => format!("not funded: {why}"),
        (None, None) => "not funded: not eligible".to_string(),
    })
}

pub fn run(args: Args) -> Result<ExitCode> {
    let engine = Engine::load(&args.scenario)?;
    let scenario = engine.scenario();
    let data = scenario.applicant_data()?;
    let display = data.display().to_string();
    let mut source = ApplicantSource::open(data, scenario.city_set())?;
    let parser = source.parser();
    let mut rec = csv::StringRecord::new();
    let applicant = loop {
        let cells = match source.next_cells(&mut rec).map_err(|p| Error::from(*p))? {
            RowCells::Row(cells) => cells,
            RowCells::Unreadable { .. } => continue,
            RowCells::End => {
                return Err(Error::from(Problem::error(
                    &display,
                    format!("no applicant with id `{}`", args.id),
                )))
            }
        };
        if parser.id_of(&cells) != Some(args.id.as_str()) {
            continue;
        }
        match parser.parse_cells(&cells) {
            Ok(a) if a.id == args.id => break a,
            Ok(_) => continue,
            Err(ps) => {
                return Err(Error::Input {
                    problems: ps.into_iter().collect(),
                })
            }
        }
    };
    let line = applicant.line;
    let a = engine.rules().evaluator()?.explain(applicant);

    say!(
        "applicant {} ({}:{line}), {} in {}, plans {}",
        a.id,
        display,
        a.gender.as_str(),
        a.city,
        a.trade
    );
    let verdict = match &a.status {
        Status::Eligible => "ELIGIBLE".to_string(),
        Status::Ineligible => "NOT ELIGIBLE".to_string(),
        Status::Error(m) => format!("RULE ERROR: {m}"),
    };
    say!("{verdict}\n");
    let dated: Vec<_> = scenario
        .param_info
        .iter()
        .filter(|p| p.since.is_some())
        .collect();
    if !dated.is_empty() {
        say!("dated params (on {})", scenario.program.date);
        for p in dated {
            say!("  {}", super::check::param_line(p));
        }
        say!();
    }
    say!("checks");
    for c in &a.checks {
        let read = c
            .read
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join(", ");
        let read = if read.is_empty() {
            String::new()
        } else {
            format!("  [{read}]")
        };
        say!(
            "  {} {:<16} {}{read}",
            if c.passed { "pass" } else { "FAIL" },
            c.id,
            c.text
        );
    }
    say!("\nscore {}", score_cell(a.score));
    for s in &a.score_items {
        say!("  {:>8}  {}", score_cell(s.points), s.why);
    }
    say!("\noptions");
    if a.offers.is_empty() {
        say!("  none");
    }
    for o in &a.offers {
        say!(
            "  {:<9} {:>10} {}  {}",
            o.kind(),
            mad(o.cost()),
            scenario.program.currency,
            o.label()
        );
    }
    for l in &a.log {
        say!("\nlog: {l}");
    }
    if args.no_allocation {
        return Ok(ExitCode::SUCCESS);
    }
    say!("\nallocation");
    match outcome(&engine, &a.id) {
        Ok(text) => say!("  {text}"),
        Err(e) => say!(
            "  not computed: {}",
            e.to_string().lines().next().unwrap_or("")
        ),
    }
    Ok(ExitCode::SUCCESS)
}
