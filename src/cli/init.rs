//! `idmaj init DIR [--from SCENARIO] [--force]`: a new scenario folder that stands on its
//! own.
//!
//! A shipped scenario names its rules as `../../rules/...`, so a copied folder breaks. `init`
//! writes a folder that holds everything it uses: scenario.toml (a documented starter, or
//! the `--from` scenario with its `[rules] files` and `[data]` pointing inside the folder),
//! labour_market.csv, a copy of every rule file under `rules/`, an applicants.csv template
//! (the header and one clearly fictional example row) and a README saying what to edit.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use serde::Deserialize;
use toml::Spanned;

use crate::applicant::{ApplicantSource, RowCells, Value, CORE_COLUMNS};
use crate::engine::Sources;
use crate::error::{Error, Problem, Result};
use crate::output::{refuse_inputs, write_file};
use crate::scenario::Scenario;

use super::ScenarioPath;

/// Arguments of `init`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Folder to write the new scenario into (created if missing; it must be empty).
    dir: PathBuf,
    /// Start from this scenario (a TOML file or a folder holding scenario.toml) instead of
    /// the documented starter: its settings, labour market and rules, with fresh
    /// applicants.
    #[arg(long, value_name = "SCENARIO")]
    from: Option<ScenarioPath>,
    /// Write into a folder that is not empty, replacing the scenario files there.
    #[arg(long)]
    force: bool,
}

/// The documented starter scenario (the figures of the first Tangier batch).
const STARTER_TOML: &str = include_str!("starter.toml");
const STARTER_MARKET: &str = include_str!("../../scenarios/tangier-2016/labour_market.csv");
const STARTER_RULES: [(&str, &str); 6] = [
    ("training.rhai", include_str!("../../rules/training.rhai")),
    ("project.rhai", include_str!("../../rules/project.rhai")),
    ("market.rhai", include_str!("../../rules/market.rhai")),
    ("release.rhai", include_str!("../../rules/release.rhai")),
    ("score.rhai", include_str!("../../rules/score.rhai")),
    ("options.rhai", include_str!("../../rules/options.rhai")),
];

/// What the new folder is made from.
struct Template {
    /// The checked scenario (its TOML text, rules, labour market, kits, date).
    scenario: Scenario,
    /// The labour market's file name in the new folder, and its bytes.
    market: (String, Vec<u8>),
    /// Extra applicant columns, with the example row's value for each.
    extra: Vec<(String, &'static str)>,
}

pub fn run(args: Args) -> Result<ExitCode> {
    let occupied = std::fs::read_dir(&args.dir).is_ok_and(|mut d| d.next().is_some());
    if occupied && !args.force {
        return Err(Error::from(Problem::error(
            "DIR",
            format!(
                "{} is not empty; init writes a whole scenario there (scenario.toml, \
                 applicants.csv, rules/, ...) and would replace its files: choose an empty or \
                 new folder, or pass --force",
                args.dir.display()
            ),
        )));
    }
    let template = match &args.from {
        Some(path) => from_scenario(path)?,
        None => starter()?,
    };
    let files = write(&args.dir, &template)?;
    eprintln!(
        "wrote a new scenario to {}: edit applicants.csv and scenario.toml (README.md says \
         how), then run: idmaj check {}",
        args.dir.display(),
        args.dir.display()
    );
    for f in &files {
        say!("{}", f.display());
    }
    Ok(ExitCode::SUCCESS)
}

/// The documented starter.
fn starter() -> Result<Template> {
    let scenario = Scenario::from_sources(Sources {
        scenario_toml: STARTER_TOML.to_string(),
        labour_market_csv: STARTER_MARKET.to_string(),
        rules: STARTER_RULES
            .iter()
            .map(|(n, t)| (n.to_string(), t.to_string()))
            .collect(),
        applicants_csv: None,
    })?;
    Ok(Template {
        scenario,
        market: (
            "labour_market.csv".to_string(),
            STARTER_MARKET.as_bytes().to_vec(),
        ),
        extra: Vec::new(),
    })
}

/// An existing scenario: its checked settings, its labour-market file as it is, and the
/// extra columns of its applicants (with an example value of the same kind: never a value
/// from the file, which may be personal).
fn from_scenario(path: &Path) -> Result<Template> {
    let scenario = Scenario::load(path)?;
    let market_path = scenario.labour_market.clone().ok_or_else(|| {
        Error::Internal("a scenario loaded from a folder has a labour-market file".into())
    })?;
    let bytes = std::fs::read(&market_path).map_err(|e| Error::io(&market_path, e))?;
    let name = if crate::dialect::is_workbook(&market_path) {
        "labour_market.xlsx"
    } else {
        "labour_market.csv"
    };
    let extra = match &scenario.applicants {
        Some(data) => {
            let mut source = ApplicantSource::open(data, scenario.city_set())?;
            let parser = source.parser();
            let mut record = csv::StringRecord::new();
            let mut first = None;
            while first.is_none() {
                match source
                    .next_cells(&mut record)
                    .map_err(|p| Error::from(*p))?
                {
                    RowCells::End => break,
                    RowCells::Unreadable { .. } => continue,
                    RowCells::Row(cells) => first = parser.parse_cells(&cells).ok(),
                }
            }
            parser
                .extra_names()
                .iter()
                .map(|n| {
                    let number = first
                        .as_ref()
                        .is_some_and(|r| matches!(r.extra(n), Some(Value::Number(_))));
                    (n.clone(), if number { "0" } else { "example" })
                })
                .collect()
        }
        None => Vec::new(),
    };
    Ok(Template {
        scenario,
        market: (name.to_string(), bytes),
        extra,
    })
}

/// Writes the folder; returns the files written.
fn write(dir: &Path, t: &Template) -> Result<Vec<PathBuf>> {
    let s = &t.scenario;
    let rule_names = rule_file_names(s);
    let toml = point_inside(&s.base.0, &rule_names, &t.market.0)
        .map_err(|m| Error::from(Problem::error(&s.display, m)))?;
    let mut files: Vec<(PathBuf, Vec<u8>)> = vec![
        (dir.join("scenario.toml"), toml.into_bytes()),
        (dir.join(&t.market.0), t.market.1.clone()),
        (dir.join("applicants.csv"), applicants_template(t)?),
        (dir.join("README.md"), readme(t, &rule_names).into_bytes()),
    ];
    for (rule, name) in s.rules.iter().zip(&rule_names) {
        files.push((dir.join(name), rule.text.clone().into_bytes()));
    }
    let paths: Vec<PathBuf> = files.iter().map(|(p, _)| p.clone()).collect();
    // --force into the --from folder itself would overwrite what is being copied.
    refuse_inputs("DIR", &paths, &s.input_files())?;
    std::fs::create_dir_all(dir.join("rules")).map_err(|e| Error::io(dir, e))?;
    for (path, bytes) in &files {
        write_file(path, bytes)?;
    }
    Ok(paths)
}

/// `rules/NAME` for every rule file, in order; names made unique (`2-score.rhai`) where
/// two files share one.
fn rule_file_names(s: &Scenario) -> Vec<String> {
    let mut seen = HashSet::new();
    s.rules
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let name = r
                .path
                .as_deref()
                .and_then(Path::file_name)
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_else(|| r.display.clone());
            let name = if seen.insert(name.clone()) {
                name
            } else {
                format!("{}-{name}", i + 1)
            };
            format!("rules/{name}")
        })
        .collect()
}

/// The spans of the values `init` rewrites.
#[derive(Deserialize)]
struct Paths {
    data: Option<DataPaths>,
    rules: RulePaths,
}

#[derive(Deserialize)]
struct DataPaths {
    applicants: Option<Spanned<String>>,
    labour_market: Option<Spanned<String>>,
}

#[derive(Deserialize)]
struct RulePaths {
    files: Spanned<Vec<String>>,
}

/// The scenario `toml` with `[rules] files` set to `rules`, `[data] applicants` to
/// `applicants.csv` and `[data] labour_market` to `market`; everything else (comments,
/// order, layout) as written.
fn point_inside(toml: &str, rules: &[String], market: &str) -> std::result::Result<String, String> {
    let paths: Paths = toml::from_str(toml).map_err(|e| e.to_string())?;
    let quoted = |s: &str| toml::Value::String(s.to_string()).to_string();
    let mut edits = vec![(
        paths.rules.files.span(),
        format!(
            "[\n{}]",
            rules
                .iter()
                .map(|r| format!("    {},\n", quoted(r)))
                .collect::<String>()
        ),
    )];
    let data = paths
        .data
        .ok_or("missing table [data]; expected applicants and labour_market file names")?;
    for (value, new) in [
        (data.applicants, "applicants.csv"),
        (data.labour_market, market),
    ] {
        let value = value.ok_or("[data] needs applicants and labour_market file names")?;
        edits.push((value.span(), quoted(new)));
    }
    edits.sort_by_key(|(span, _)| std::cmp::Reverse(span.start));
    let mut out = toml.to_string();
    for (span, text) in edits {
        out.replace_range(span, &text);
    }
    Ok(out)
}

/// The applicants template: the header (core columns, then the extra columns) and one
/// example row that passes every check of the shipped rules.
fn applicants_template(t: &Template) -> Result<Vec<u8>> {
    let s = &t.scenario;
    let city = s.market.cities.first().cloned().unwrap_or_default();
    // A trade with a kit and local demand, so the example gets offers.
    let best_kit = s
        .kits
        .iter()
        .max_by(|a, b| {
            let (da, db) = (
                s.market.demand(&city, &a.trade),
                s.market.demand(&city, &b.trade),
            );
            da.total_cmp(&db).then(b.id.cmp(&a.id))
        })
        .filter(|k| s.market.demand(&city, &k.trade) > 0.0);
    let (trade, cost) = match best_kit {
        Some(k) => (k.trade.clone(), k.cost.to_string()),
        None => ("tailoring".to_string(), "15000".to_string()),
    };
    let date = s.program.date.to_string();
    let release = six_months_before(&date);
    let core = [
        "EXAMPLE-001",
        "Example Applicant (fictional: replace this row)",
        "F",
        "1990",
        &city,
        &release,
        &trade,
        "240",
        "true",
        "true",
        &trade,
        "true",
        &cost,
        "2",
    ];
    debug_assert_eq!(core.len(), CORE_COLUMNS.len());
    let mut w = csv::Writer::from_writer(Vec::new());
    let header: Vec<&str> = CORE_COLUMNS
        .iter()
        .copied()
        .chain(t.extra.iter().map(|(n, _)| n.as_str()))
        .collect();
    let row: Vec<&str> = core
        .iter()
        .copied()
        .chain(t.extra.iter().map(|(_, v)| *v))
        .collect();
    let internal = |e: csv::Error| Error::Internal(format!("writing the applicants template: {e}"));
    w.write_record(&header).map_err(internal)?;
    w.write_record(&row).map_err(internal)?;
    w.into_inner()
        .map_err(|e| Error::Internal(format!("writing the applicants template: {e}")))
}

/// The first day of the month six months before `date` (`YYYY-MM-DD`).
fn six_months_before(date: &str) -> String {
    let mut parts = date.split('-').map(|p| p.parse::<i32>().unwrap_or(1));
    let (y, m) = (parts.next().unwrap_or(2000), parts.next().unwrap_or(1));
    let (y, m) = if m > 6 { (y, m - 6) } else { (y - 1, m + 6) };
    format!("{y:04}-{m:02}-01")
}

/// README.md of the new folder: what each file is and what to edit, in order.
fn readme(t: &Template, rules: &[String]) -> String {
    let s = &t.scenario;
    let cities = s.market.cities.join(", ");
    let rule_list: String = rules.iter().map(|r| format!("   - `{r}`\n")).collect();
    let extra = if t.extra.is_empty() {
        String::new()
    } else {
        let names: Vec<String> = t.extra.iter().map(|(n, _)| format!("`{n}`")).collect();
        format!(
            " The columns after `experience_years` ({}) are the extra columns of the \
             scenario this one was made from; rules read them as `applicant.NAME`.",
            names.join(", ")
        )
    };
    format!(
        "# {name}\n\
         \n\
         A scenario for idmaj, written by `idmaj init`. Everything it uses is in this folder, \
         so it can be copied or moved as a whole.\n\
         \n\
         ## What to edit\n\
         \n\
         1. **`applicants.csv`**: one row per applicant. Replace the example row \
         (`EXAMPLE-001`, a fictional person) with your applicants, keeping the header. An \
         Excel workbook works too: save it as `.xlsx` (the first sheet is read; its first \
         non-empty row is the header) and set `applicants = \"applicants.xlsx\"` under `[data]`. Ids must \
         be unique and must not begin with `=`, `+`, `-` or `@`. Any other column you add is \
         kept and given to the rules.{extra}\n\
         2. **`{market}`**: `city,trade,demand`, the local labour-market need for each trade \
         (0 to 1). Its cities are the scenario's cities ({cities}); every applicant's city \
         must be one of them.\n\
         3. **`scenario.toml`**: the programme's name and reference date, the eligibility \
         thresholds and score weights under `[params]`, the budget, the funders, the kits \
         and the quotas.\n\
         4. **`rules/`**: the eligibility and scoring rules (rhai scripts), run in the order \
         `[rules] files` lists them:\n\
         \n\
         {rule_list}\
         \n\
         ## Then\n\
         \n\
         ```sh\n\
         idmaj check .                 # finds every problem in the data, rules and settings\n\
         idmaj allocate . --out out    # decisions.csv, summary.json, summary.md, report.html\n\
         idmaj explain . EXAMPLE-001   # every check, score item and option for one applicant\n\
         ```\n\
         \n\
         Add `--dialect excel-fr` for CSV that French-locale Excel opens in columns, and \
         `--xlsx` to `allocate` for a `decisions.xlsx` workbook.\n",
        name = s.program.name,
        market = t.market.0,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_pointed_inside_and_everything_else_kept() {
        let toml = "# keep me\n[program]\nname = \"x\" # and me\n\n[data]\napplicants = \
                    \"../a.xlsx\"   # comment\nlabour_market = '../../m.csv'\n\n[rules]\nfiles = \
                    [\"../../rules/a.rhai\",\n  # gone\n  \"b.rhai\"]\n[params]\nk = 1\n";
        let out = point_inside(
            toml,
            &["rules/a.rhai".into(), "rules/b.rhai".into()],
            "labour_market.csv",
        )
        .unwrap();
        assert_eq!(
            out,
            "# keep me\n[program]\nname = \"x\" # and me\n\n[data]\napplicants = \
             \"applicants.csv\"   # comment\nlabour_market = \"labour_market.csv\"\n\n[rules]\n\
             files = [\n    \"rules/a.rhai\",\n    \"rules/b.rhai\",\n]\n[params]\nk = 1\n"
        );
        assert!(point_inside("[rules]\nfiles = []\n", &[], "m.csv").is_err());
    }

    #[test]
    fn the_example_release_is_six_months_back() {
        assert_eq!(six_months_before("2016-06-06"), "2015-12-01");
        assert_eq!(six_months_before("2016-09-30"), "2016-03-01");
    }
}
