//! Scenario TOML: raw serde structs, then a checked [`Scenario`].
//!
//! Loading is two-staged (raw, then checked) so that every problem a planner can make in the
//! file is found and named by key and line before any rule runs; the rest of the engine then
//! works only with values known to be consistent (money positive, ids unique, earmarks
//! naming real cities and kinds).

use std::collections::{BTreeMap, HashMap, HashSet};

use crate::hash::FastMap;
use std::fmt;
use std::io::Cursor;
use std::ops::Range;
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;

use serde::Deserialize;
use toml::Spanned;

use crate::date::Date;
use crate::dialect::{CsvInput, NextRow};
use crate::engine::Sources;
use crate::error::{Error, Problem, Problems, Result};
use crate::suggest;

/// Whole Moroccan dirhams (or the programme's currency unit). Money is never a float.
pub type Mad = i64;

/// Largest scenario TOML or rule script read (10 MB): they are short texts people write.
pub(crate) const MAX_TEXT: u64 = 10 << 20;

/// The largest amount accepted anywhere (10^12): sums of any number of amounts stay far
/// from overflowing `i64`.
pub const MAX_MONEY: Mad = 1_000_000_000_000;

/// What a funder's money may pay for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Kind {
    /// Equipment kits (the kit part of a kit+cash option).
    Kit,
    /// Cash grants (the cash part of a kit+cash option).
    Cash,
}

impl Kind {
    /// `"kit"` or `"cash"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Kit => "kit",
            Kind::Cash => "cash",
        }
    }
}

/// What the allocation maximises.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Objective {
    /// Total priority score of those served.
    Score,
    /// Number of people served.
    Served,
    /// Most people served, then the highest total score among those allocations.
    ServedThenScore,
}

impl Objective {
    /// The name used in the scenario file.
    pub fn as_str(self) -> &'static str {
        match self {
            Objective::Score => "score",
            Objective::Served => "served",
            Objective::ServedThenScore => "served_then_score",
        }
    }
}

/// The programme itself.
#[derive(Debug, Clone)]
pub struct Program {
    /// Programme name.
    pub name: String,
    /// Currency code, `MAD` by default.
    pub currency: String,
    /// Reference date the rules see as `program.date`.
    pub date: Date,
}

/// A source of money, possibly earmarked to some cities or kinds.
#[derive(Debug, Clone)]
pub struct Funder {
    /// Unique id.
    pub id: String,
    /// Money available.
    pub amount: Mad,
    /// Cities it may pay for; `None` means all.
    pub cities: Option<Vec<String>>,
    /// Kinds it may pay for; `None` means both.
    pub kinds: Option<Vec<Kind>>,
}

impl Funder {
    /// True when this funder may pay for `kind` in `city`.
    pub fn may_pay(&self, city: &str, kind: Kind) -> bool {
        self.cities
            .as_ref()
            .is_none_or(|c| c.iter().any(|x| x == city))
            && self.kinds.as_ref().is_none_or(|k| k.contains(&kind))
    }
}

/// An equipment kit for one trade.
#[derive(Debug, Clone)]
pub struct Kit {
    /// Unique id, used by rules in `offer_kit`.
    pub id: String,
    /// The trade it equips (unique among kits).
    pub trade: String,
    /// Cost of one kit.
    pub cost: Mad,
    /// How many kits there are, if limited.
    pub stock: Option<u32>,
}

/// A constraint on the share or count of a group among those served.
#[derive(Debug, Clone)]
pub struct Quota {
    /// Unique name, e.g. `women`.
    pub name: String,
    /// rhai expression over `applicant` that is true for members of the group.
    pub when: String,
    /// Line of `when` in the scenario file, for rule errors.
    pub when_line: u64,
    /// At least this share of those served belong to the group.
    pub min_share: Option<f64>,
    /// At most this share of those served belong to the group.
    pub max_share: Option<f64>,
    /// At least this many of the group are served.
    pub min_count: Option<u32>,
    /// At most this many of the group are served.
    pub max_count: Option<u32>,
}

/// Solver settings (an idmaj extension of the scenario format).
#[derive(Debug, Clone, PartialEq)]
pub struct SolverSettings {
    /// Wall-clock limit for one allocation, in seconds.
    pub time_limit: f64,
    /// Relative optimality gap at which the search stops.
    pub gap: f64,
    /// Search work at which the search stops with the best allocation found (counted as
    /// described at [`WORK_PER_SECOND`](crate::allocate::WORK_PER_SECOND)); `None`:
    /// `time_limit` × `WORK_PER_SECOND`. Unlike the clock, it gives the same allocation on
    /// every run.
    pub work_limit: Option<f64>,
}

impl Default for SolverSettings {
    fn default() -> Self {
        SolverSettings {
            time_limit: 60.0,
            gap: 1e-4,
            work_limit: None,
        }
    }
}

/// Labour-market demand per city and trade; its cities are the scenario's cities.
#[derive(Debug, Clone, Default)]
pub struct LabourMarket {
    /// Cities, in order of first appearance in the file.
    pub cities: Vec<String>,
    demand: FastMap<String, FastMap<String, f64>>,
}

impl LabourMarket {
    /// Demand index in [0, 1] for `trade` in `city`; 0 where unknown.
    pub fn demand(&self, city: &str, trade: &str) -> f64 {
        self.demand
            .get(city)
            .and_then(|t| t.get(trade))
            .copied()
            .unwrap_or(0.0)
    }

    /// Adds or replaces one figure (for embedding without a CSV file).
    pub fn set(&mut self, city: &str, trade: &str, demand: f64) {
        if !self.cities.iter().any(|c| c == city) {
            self.cities.push(city.to_string());
        }
        self.demand
            .entry(city.to_string())
            .or_default()
            .insert(trade.to_string(), demand);
    }
}

/// Where a CSV input's bytes come from: a file, or text given in memory.
#[derive(Debug, Clone)]
pub(crate) enum DataSource {
    /// A file (or `-` for standard input).
    File {
        /// The file.
        path: PathBuf,
        /// Its name in messages.
        display: String,
    },
    /// Text given in memory.
    Text {
        /// Its name in messages (`applicants.csv`).
        display: String,
        /// The CSV text.
        text: Arc<str>,
    },
}

impl DataSource {
    /// The name messages use.
    pub(crate) fn display(&self) -> &str {
        match self {
            DataSource::File { display, .. } | DataSource::Text { display, .. } => display,
        }
    }

    /// Opens it for streaming CSV.
    pub(crate) fn open(&self) -> Result<CsvInput> {
        match self {
            DataSource::File { path, display } => CsvInput::open(path, display),
            DataSource::Text { display, text } => {
                CsvInput::from_reader(Box::new(Cursor::new(text.as_bytes().to_vec())), display)
            }
        }
    }

    /// Its size in bytes, where known (for progress bars).
    pub(crate) fn len(&self) -> u64 {
        match self {
            DataSource::File { path, .. } => std::fs::metadata(path).map_or(0, |m| m.len()),
            DataSource::Text { text, .. } => text.len() as u64,
        }
    }
}

/// Where a scenario's parts are read from: files beside the scenario, or [`Sources`].
#[derive(Debug, Clone)]
pub(crate) enum Origin {
    /// Paths in the scenario are relative to this folder.
    Dir(PathBuf),
    /// Everything was given in memory.
    Memory(Arc<Sources>),
}

/// One rule script, read.
#[derive(Debug, Clone)]
pub(crate) struct RuleFile {
    /// Its name in messages (the path as resolved, or the name given in memory).
    pub display: String,
    /// The file it was read from (none in memory).
    pub path: Option<PathBuf>,
    /// The script.
    pub text: String,
}

/// A checked scenario: every id unique, money positive, earmarks valid.
#[derive(Debug, Clone)]
pub(crate) struct Scenario {
    /// The scenario file as shown in messages (with the `--set` keys for a what-if).
    pub display: String,
    /// The programme.
    pub program: Program,
    /// The applicants, where the scenario names them.
    pub applicants: Option<DataSource>,
    /// The labour-market file (none in memory).
    pub labour_market: Option<PathBuf>,
    /// Rule scripts, in evaluation order.
    pub rules: Vec<RuleFile>,
    /// Free-form parameters the rules read as `params.NAME`: for a dated parameter, the
    /// value in force on the programme's date.
    pub params: toml::Table,
    /// What the scenario says about its parameters: descriptions, units, references, and
    /// which dated value is in force.
    pub param_info: Vec<ParamInfo>,
    /// Cap over all funders.
    pub budget_total: Option<Mad>,
    /// Caps per city.
    pub city_caps: BTreeMap<String, Mad>,
    /// Money sources (at least one: without `[[funder]]`, `programme` holds the total).
    pub funders: Vec<Funder>,
    /// Kits.
    pub kits: Vec<Kit>,
    /// Quotas.
    pub quotas: Vec<Quota>,
    /// What the allocation maximises.
    pub objective: Objective,
    /// Solver settings.
    pub solver: SolverSettings,
    /// Labour-market demand; its cities are the scenario's cities.
    pub market: LabourMarket,
    /// Warnings found while loading (the scenario is usable).
    pub warnings: Vec<Problem>,
    /// The `--set KEY=VALUE` overrides it was loaded with (see `Scenario::with_overrides`), as
    /// `KEY=VALUE`; empty for the file as written.
    pub overrides: Vec<String>,
    /// The scenario TOML as written, its name in messages, and where its parts come from:
    /// what a what-if starts again from.
    pub(crate) base: Arc<(String, String, Origin)>,
    /// The overrides applied to `base`, in order.
    pub(crate) applied: Vec<crate::overrides::Override>,
    /// Decisions of an earlier batch, kept as they were (`allocate --committed`).
    pub(crate) committed: Option<Arc<crate::allocate::committed::Committed>>,
    /// What committed decisions take from the quotas, in a scenario reduced by them.
    pub(crate) committed_counts: Option<Arc<crate::allocate::committed::CommittedCounts>>,
}

// ---------------------------------------------------------------- raw TOML

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawScenario {
    program: RawProgram,
    data: Option<RawData>,
    rules: RawRules,
    #[serde(default)]
    params: BTreeMap<String, Spanned<toml::Value>>,
    #[serde(default)]
    budget: RawBudget,
    #[serde(default)]
    funder: Vec<RawFunder>,
    #[serde(default)]
    kit: Vec<RawKit>,
    #[serde(default)]
    quota: Vec<RawQuota>,
    #[serde(default)]
    objective: RawObjective,
    #[serde(default)]
    solver: RawSolver,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawProgram {
    name: String,
    currency: Option<String>,
    date: Spanned<toml::Value>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawData {
    applicants: Spanned<String>,
    labour_market: Spanned<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRules {
    files: Vec<Spanned<String>>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawBudget {
    total: Option<Spanned<i64>>,
    #[serde(default)]
    cities: BTreeMap<String, Spanned<i64>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFunder {
    id: Spanned<String>,
    #[serde(default)]
    #[allow(dead_code)]
    name: Option<String>,
    amount: Spanned<i64>,
    cities: Option<Spanned<Vec<String>>>,
    kinds: Option<Spanned<Vec<String>>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawKit {
    id: Spanned<String>,
    #[serde(default)]
    #[allow(dead_code)]
    name: Option<String>,
    trade: Spanned<String>,
    cost: Spanned<i64>,
    stock: Option<Spanned<i64>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawQuota {
    name: Spanned<String>,
    when: Spanned<String>,
    min_share: Option<Spanned<f64>>,
    max_share: Option<Spanned<f64>>,
    min_count: Option<Spanned<i64>>,
    max_count: Option<Spanned<i64>>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawObjective {
    maximize: Option<Spanned<String>>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawSolver {
    time_limit: Option<Spanned<f64>>,
    gap: Option<Spanned<f64>>,
    work_limit: Option<Spanned<f64>>,
}

// ---------------------------------------------------------------- loading

/// The scenario file for `path`: the file itself, or `scenario.toml` in a folder.
pub fn scenario_file(path: &Path) -> PathBuf {
    if path.is_dir() {
        path.join("scenario.toml")
    } else {
        path.to_path_buf()
    }
}

/// The scenario file for `path`, its name as shown in messages, and its text.
pub(crate) fn read_scenario_text(path: &Path) -> Result<(PathBuf, String, String)> {
    let file = scenario_file(path);
    let display = file.display().to_string();
    let text = crate::dialect::read_text(&file, &display, "scenario", MAX_TEXT)?;
    Ok((file, display, text))
}

/// `path` with `.` and `dir/..` removed, without touching the file system.
pub fn tidy(path: &Path) -> PathBuf {
    let mut out: Vec<Component> = Vec::new();
    for c in path.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir if matches!(out.last(), Some(Component::Normal(_))) => {
                out.pop();
            }
            _ => out.push(c),
        }
    }
    if out.is_empty() {
        PathBuf::from(".")
    } else {
        out.iter().collect()
    }
}

/// What the scenario says about one parameter, beyond its value.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ParamInfo {
    /// The parameter, as the rules read it: `params.NAME`.
    pub name: String,
    /// What it is, in words.
    pub description: Option<String>,
    /// Its unit (`hours`, `MAD`, `months`...).
    pub unit: Option<String>,
    /// The text it comes from (a law, a decision, an agreement).
    pub reference: Option<String>,
    /// For a dated parameter: the date the value in force applies from, and how many dated
    /// values there are.
    pub since: Option<(Date, usize)>,
    /// The value in force.
    pub value: toml::Value,
}

const PARAM_KEYS: [&str; 5] = ["value", "values", "description", "unit", "reference"];

/// The value of parameter `name` in force on `date`, and what the scenario says about it.
///
/// A parameter is a plain value; a table of dates to values (`{ 2015-01-01 = 100,
/// 2016-06-01 = 120 }`: the latest date on or before `date` applies); or a table with
/// `value` or `values` (the dated table) and any of `description`, `unit`, `reference`.
/// Any other table is a parameter the rules read as a map.
fn resolve_param(
    name: &str,
    v: &Spanned<toml::Value>,
    date: Date,
    c: &mut Checker,
) -> (toml::Value, Option<ParamInfo>) {
    let key = format!("params.{name}");
    let Some(t) = v.get_ref().as_table() else {
        return (v.get_ref().clone(), None);
    };
    let all_dates = !t.is_empty() && t.keys().all(|k| Date::parse(k).is_some());
    let described = t.contains_key("value") || t.contains_key("values");
    if !all_dates && !described {
        return (v.get_ref().clone(), None);
    }
    let mut info = ParamInfo {
        name: name.to_string(),
        description: None,
        unit: None,
        reference: None,
        since: None,
        value: toml::Value::Boolean(false),
    };
    let dated = if all_dates {
        Some(t)
    } else {
        for (k, x) in t {
            let text = x.as_str().map(str::to_string);
            match k.as_str() {
                "value" | "values" => {}
                "description" | "unit" | "reference" if text.is_none() => {
                    c.error(&format!("{key}.{k}"), v, "expected text");
                }
                "description" => info.description = text,
                "unit" => info.unit = text,
                "reference" => info.reference = text,
                other => {
                    let hint = suggest::hint(other, PARAM_KEYS);
                    c.error(
                        &format!("{key}.{other}"),
                        v,
                        format!(
                            "unknown key `{other}`{hint}; expected {}",
                            PARAM_KEYS.join(", ")
                        ),
                    );
                }
            }
        }
        match (t.get("value"), t.get("values")) {
            (Some(_), Some(_)) => {
                c.error(&key, v, "both `value` and `values`; give one");
                None
            }
            (Some(x), None) => {
                info.value = x.clone();
                None
            }
            (None, Some(toml::Value::Table(d))) => Some(d),
            (None, _) => {
                c.error(&key, v, "`values` must be a table of dates to values");
                None
            }
        }
    };
    if let Some(d) = dated {
        let mut points: Vec<(Date, &toml::Value)> = Vec::new();
        for (k, x) in d {
            match Date::parse(k) {
                Some(day) => points.push((day, x)),
                None => c.error(
                    &format!("{key}.values"),
                    v,
                    format!("`{k}` is not a date that exists; expected YYYY-MM-DD or DD/MM/YYYY"),
                ),
            }
        }
        points.sort_by_key(|(day, _)| *day);
        match points.iter().rev().find(|(day, _)| *day <= date) {
            Some((day, x)) => {
                info.value = (*x).clone();
                info.since = Some((*day, points.len()));
            }
            None => {
                let first = points.first().map_or(String::new(), |(day, _)| {
                    format!("; the first value applies from {day}")
                });
                c.error(
                    &key,
                    v,
                    format!("no value in force on the programme's date {date}{first}"),
                );
            }
        }
    }
    (info.value.clone(), Some(info))
}

/// Maps byte offsets of a source text to 1-based lines.
pub(crate) struct Lines<'a>(pub &'a str);

impl Lines<'_> {
    pub(crate) fn line(&self, span: &Range<usize>) -> u64 {
        let end = span.start.min(self.0.len());
        self.0.as_bytes()[..end]
            .iter()
            .filter(|&&b| b == b'\n')
            .count() as u64
            + 1
    }
}

/// Collects problems about one scenario file, each with its key and line.
struct Checker<'a> {
    file: String,
    lines: Lines<'a>,
    problems: Problems,
}

impl Checker<'_> {
    fn error<T>(&mut self, key: &str, at: &Spanned<T>, message: impl Into<String>) {
        let line = self.lines.line(&at.span());
        self.problems
            .push(Problem::error(&self.file, message).at_line(line).key(key));
    }

    fn warning<T>(&mut self, key: &str, at: &Spanned<T>, message: impl Into<String>) {
        let line = self.lines.line(&at.span());
        self.problems
            .push(Problem::warning(&self.file, message).at_line(line).key(key));
    }

    fn money(&mut self, key: &str, v: &Spanned<i64>) -> Mad {
        self.amount(key, v, 1)
    }

    /// Whole MAD of at least `least` (1 for budgets and costs; 0 for a funder, where 0
    /// means the funder withdraws) and at most [`MAX_MONEY`].
    fn amount(&mut self, key: &str, v: &Spanned<i64>, least: Mad) -> Mad {
        let x = *v.get_ref();
        if x < least {
            let what = if least > 0 {
                "a positive amount of whole MAD"
            } else {
                "a positive amount of whole MAD or 0 (0: the funder withdraws)"
            };
            self.error(key, v, format!("must be {what}, got {x}"));
        } else if x > MAX_MONEY {
            let msg =
                format!("amount {x} is above the {MAX_MONEY} MAD idmaj accepts for one amount");
            self.error(key, v, msg);
            return MAX_MONEY;
        }
        x
    }

    fn share(&mut self, key: &str, v: &Option<Spanned<f64>>) -> Option<f64> {
        let v = v.as_ref()?;
        let x = *v.get_ref();
        if !(0.0..=1.0).contains(&x) {
            self.error(key, v, format!("must be a share between 0 and 1, got {x}"));
        }
        Some(x)
    }

    fn count(&mut self, key: &str, v: &Option<Spanned<i64>>) -> Option<u32> {
        let v = v.as_ref()?;
        match u32::try_from(*v.get_ref()) {
            Ok(n) => Some(n),
            Err(_) => {
                self.error(key, v, format!("must be a count ≥ 0, got {}", v.get_ref()));
                None
            }
        }
    }
}

/// Deepest nesting of tables, arrays and dotted keys a scenario may have: far beyond any
/// real scenario, and well inside what the TOML reader can take.
const MAX_NESTING: usize = 32;

/// A problem at the first line nesting deeper than [`MAX_NESTING`] (brackets, braces or
/// dotted key parts outside strings and comments), found before the TOML is parsed.
fn nesting_problem(display: &str, text: &str) -> Option<Problem> {
    let mut depth = 0usize;
    let mut quote: Option<char> = None;
    for (n, line) in text.lines().enumerate() {
        let mut dots = 0usize;
        let mut chars = line.chars();
        while let Some(c) = chars.next() {
            match quote {
                Some('"') if c == '\\' => {
                    chars.next();
                }
                Some(q) if c == q => quote = None,
                Some(_) => {}
                None => match c {
                    '"' | '\'' => quote = Some(c),
                    '#' => break,
                    '[' | '{' => depth += 1,
                    ']' | '}' => depth = depth.saturating_sub(1),
                    '.' if depth == 0 || line.trim_start().starts_with('[') => dots += 1,
                    '=' => dots = 0,
                    _ => {}
                },
            }
            if depth + dots > MAX_NESTING {
                return Some(
                    Problem::error(
                        display,
                        format!(
                            "tables, arrays or dotted keys nest more than {MAX_NESTING} deep; \
                             a scenario needs a few levels"
                        ),
                    )
                    .at_line(n as u64 + 1),
                );
            }
        }
        // Basic and literal strings end with their line; only arrays span lines here.
        if matches!(quote, Some('"' | '\'')) && !line.contains("\"\"\"") && !line.contains("\'\'\'")
        {
            quote = None;
        }
    }
    None
}

/// Turns a TOML syntax or shape error into a problem with its line and a "did you mean".
fn toml_problem(file: &str, text: &str, e: &toml::de::Error) -> Problem {
    let mut message = e.message().trim().to_string();
    // serde says: unknown field `budgett`, expected one of `program`, `data`, ...
    if let Some(rest) = message.strip_prefix("unknown field `") {
        if let Some((name, expected)) = rest.split_once('`') {
            let candidates: Vec<&str> = expected.split('`').skip(1).step_by(2).collect();
            let hint = suggest::hint(name, candidates.iter().copied());
            message = format!(
                "unknown key `{name}`{hint}; expected one of {}",
                candidates.join(", ")
            );
        }
    }
    for (rust, plain) in [
        (
            "expected i64",
            "expected a whole number (money is whole MAD, no decimals)",
        ),
        ("expected u32", "expected a whole number"),
        ("expected f64", "expected a number"),
        ("expected a boolean", "expected true or false"),
    ] {
        message = message.replace(rust, plain);
    }
    let p = Problem::error(file, message);
    match e.span() {
        Some(span) => {
            let p = p.at_line(Lines(text).line(&span));
            match key_at(text, span.start) {
                Some(k) => p.key(k),
                None => p,
            }
        }
        None => p,
    }
}

/// The key path of the `key = value` line holding byte `at`, such as `kit[1].cost` or
/// `budget.total`: TOML errors give only a position, planners think in keys.
fn key_at(text: &str, at: usize) -> Option<String> {
    let at = at.min(text.len());
    let start = text[..at].rfind('\n').map_or(0, |i| i + 1);
    let line = text[start..].lines().next().unwrap_or("");
    let (key, _) = line.split_once('=')?;
    let key = key.trim().trim_matches('"');
    if key.is_empty() || key.starts_with('[') || key.starts_with('#') {
        return None;
    }
    let mut table: Option<String> = None;
    for l in text[..start].lines().rev() {
        let l = l.trim();
        if let Some(name) = l
            .strip_prefix("[[")
            .and_then(|r| r.split_once("]]"))
            .map(|(n, _)| n.trim())
        {
            let header = format!("[[{name}]]");
            let index = text[..start]
                .lines()
                .filter(|x| x.trim().starts_with(&header))
                .count();
            table = Some(format!("{name}[{}]", index.saturating_sub(1)));
            break;
        }
        if let Some(name) = l
            .strip_prefix('[')
            .and_then(|r| r.split_once(']'))
            .map(|(n, _)| n.trim())
        {
            table = Some(name.to_string());
            break;
        }
    }
    Some(match table {
        Some(t) => format!("{t}.{key}"),
        None => key.to_string(),
    })
}

impl Scenario {
    /// Loads and checks the scenario at `path` (a file, or a folder with `scenario.toml`),
    /// including its labour-market and rule files. Applicants are read separately,
    /// streaming.
    pub fn load(path: &Path) -> Result<Scenario> {
        let (file, display, text) = read_scenario_text(path)?;
        let dir = file.parent().map(Path::to_path_buf).unwrap_or_default();
        Scenario::from_text(text, display, Origin::Dir(dir))
    }

    /// Checks a scenario given in memory, with exactly the checks of [`Scenario::load`];
    /// messages name `scenario.toml`, `labour_market.csv` and the rules by their names.
    pub fn from_sources(sources: Sources) -> Result<Scenario> {
        let text = sources.scenario_toml.clone();
        Scenario::from_text(
            text,
            "scenario.toml".to_string(),
            Origin::Memory(Arc::new(sources)),
        )
    }

    /// The scenario TOML `text` (named `display` in messages), checked, with its parts read
    /// from `origin`.
    pub(crate) fn from_text(text: String, display: String, origin: Origin) -> Result<Scenario> {
        let base = Arc::new((text, display, origin));
        Scenario::check_text(&base.0, &base.1, Arc::clone(&base))
    }

    /// Checks a scenario given as TOML text; `display` names it in messages.
    pub(crate) fn check_text(
        text: &str,
        display: &str,
        base: Arc<(String, String, Origin)>,
    ) -> Result<Scenario> {
        let origin = &base.2;
        if let Some(p) = nesting_problem(display, text) {
            return Err(p.into());
        }
        let raw: RawScenario =
            toml::from_str(text).map_err(|e| Error::from(toml_problem(display, text, &e)))?;
        let mut c = Checker {
            file: display.to_string(),
            lines: Lines(text),
            problems: Problems::default(),
        };

        let date = match raw.program.date.get_ref() {
            toml::Value::String(s) => Date::parse(s),
            toml::Value::Datetime(d) => Date::parse(&d.to_string()),
            _ => None,
        };
        let date = date.unwrap_or_else(|| {
            c.error(
                "program.date",
                &raw.program.date,
                "expected a date that exists, as \"YYYY-MM-DD\"",
            );
            Date::new(2000, 1, 1).expect("valid constant date")
        });
        let program = Program {
            name: raw.program.name,
            currency: raw.program.currency.unwrap_or_else(|| "MAD".to_string()),
            date,
        };
        let mut params = toml::Table::new();
        let mut param_info = Vec::new();
        for (name, v) in &raw.params {
            let (value, info) = resolve_param(name, v, program.date, &mut c);
            params.insert(name.clone(), value);
            if let Some(info) = info {
                param_info.push(info);
            }
        }
        let mut labour_market = None;
        if let (Origin::Dir(_), Some(data)) = (origin, &raw.data) {
            for (key, v) in [
                ("data.applicants", &data.applicants),
                ("data.labour_market", &data.labour_market),
            ] {
                if v.get_ref().trim().is_empty() {
                    c.error(
                        key,
                        v,
                        "empty; expected the name of a CSV or .xlsx file beside the scenario",
                    );
                }
            }
        }
        let (applicants, market_input) = match (origin, &raw.data) {
            (Origin::Dir(dir), Some(data)) => {
                let file = |p: &str| {
                    let path = tidy(&dir.join(p));
                    let display = path.display().to_string();
                    DataSource::File { path, display }
                };
                labour_market = Some(tidy(&dir.join(data.labour_market.get_ref())));
                (
                    Some(file(data.applicants.get_ref())),
                    file(data.labour_market.get_ref()).open(),
                )
            }
            (Origin::Dir(_), None) => {
                return Err(Problem::error(
                    display,
                    "missing table [data]; expected applicants and labour_market file names",
                )
                .key("data")
                .into())
            }
            (Origin::Memory(src), _) => {
                let text = |name: &str, t: &str| DataSource::Text {
                    display: name.to_string(),
                    text: Arc::from(t),
                };
                (
                    src.applicants_csv
                        .as_deref()
                        .map(|t| text("applicants.csv", t)),
                    text("labour_market.csv", &src.labour_market_csv).open(),
                )
            }
        };
        let mut rules = Vec::new();
        for (i, f) in raw.rules.files.iter().enumerate() {
            let key = format!("rules.files[{i}]");
            match origin {
                Origin::Dir(dir) => {
                    let p = tidy(&dir.join(f.get_ref()));
                    let display = p.display().to_string();
                    if !p.is_file() {
                        c.error(&key, f, format!("rule file {display} not found"));
                        continue;
                    }
                    match std::fs::read_to_string(&p) {
                        Ok(text) => rules.push(RuleFile {
                            display,
                            path: Some(p),
                            text,
                        }),
                        Err(e) => {
                            c.error(&key, f, format!("cannot read the rule file {display}: {e}"))
                        }
                    }
                }
                Origin::Memory(src) => {
                    let name = Path::new(f.get_ref())
                        .file_name()
                        .map_or(f.get_ref().clone(), |n| n.to_string_lossy().into_owned());
                    match src.rules.iter().find(|(n, _)| *n == name) {
                        Some((n, text)) => rules.push(RuleFile {
                            display: n.clone(),
                            path: None,
                            text: text.clone(),
                        }),
                        None => c.error(&key, f, format!("rule file {name} not found")),
                    }
                }
            }
        }
        if let Origin::Memory(src) = origin {
            for (name, _) in &src.rules {
                if !rules.iter().any(|r| r.display == *name) {
                    c.problems.push(
                        Problem::warning(
                            display,
                            format!("rule `{name}` is not listed in [rules] files and is not run"),
                        )
                        .key("rules.files"),
                    );
                }
            }
        }
        if raw.rules.files.is_empty() {
            c.problems.push(
                Problem::error(display, "no rule files; expected at least one").key("rules.files"),
            );
        }

        // The labour market defines the scenario's cities; read it before the earmarks.
        let market = match market_input.and_then(read_labour_market) {
            Ok(m) => m,
            Err(Error::Input { problems: ps }) => {
                c.problems.extend(ps);
                LabourMarket::default()
            }
            Err(e) => return Err(e),
        };
        let have_market = !market.cities.is_empty();
        let city_ok = |city: &str| !have_market || market.cities.iter().any(|c| c == city);
        let city_hint = |city: &str| suggest::hint(city, market.cities.iter().map(String::as_str));

        let budget_total = raw
            .budget
            .total
            .as_ref()
            .map(|t| c.money("budget.total", t));
        let mut city_caps = BTreeMap::new();
        for (city, cap) in &raw.budget.cities {
            let key = format!("budget.cities.{city}");
            let amount = c.money(&key, cap);
            if !city_ok(city) {
                let hint = city_hint(city);
                c.error(&key, cap, format!("unknown city `{city}`{hint}; the scenario's cities are those of the labour-market file"));
            }
            city_caps.insert(city.clone(), amount);
        }

        let mut funders = Vec::new();
        let mut funder_ids = HashSet::new();
        for (i, f) in raw.funder.iter().enumerate() {
            let key = |k: &str| format!("funder[{i}].{k}");
            let id = f.id.get_ref().trim().to_string();
            if id.is_empty() {
                c.error(&key("id"), &f.id, "empty; expected a funder id");
            } else if !funder_ids.insert(id.clone()) {
                c.error(&key("id"), &f.id, format!("duplicate funder id `{id}`"));
            }
            let amount = c.amount(&key("amount"), &f.amount, 0);
            let cities = f.cities.as_ref().map(|cs| {
                for city in cs.get_ref() {
                    if !city_ok(city) {
                        let hint = city_hint(city);
                        c.error(
                            &key("cities"),
                            cs,
                            format!("funder `{id}` is earmarked to unknown city `{city}`{hint}"),
                        );
                    }
                }
                if cs.get_ref().is_empty() {
                    c.error(
                        &key("cities"),
                        cs,
                        "empty list; leave `cities` out to allow every city",
                    );
                }
                cs.get_ref().clone()
            });
            let kinds = f.kinds.as_ref().map(|ks| {
                let mut out = Vec::new();
                for k in ks.get_ref() {
                    match k.as_str() {
                        "kit" => out.push(Kind::Kit),
                        "cash" => out.push(Kind::Cash),
                        other => {
                            let hint = suggest::hint(other, ["kit", "cash"]);
                            c.error(&key("kinds"), ks, format!("funder `{id}` is earmarked to unknown kind `{other}`{hint}; expected kit or cash"));
                        }
                    }
                }
                if ks.get_ref().is_empty() {
                    c.error(&key("kinds"), ks, "empty list; leave `kinds` out to allow kit and cash");
                }
                out
            });
            funders.push(Funder {
                id,
                amount,
                cities,
                kinds,
            });
        }

        let mut kits: Vec<Kit> = Vec::new();
        for (i, k) in raw.kit.iter().enumerate() {
            let key = |s: &str| format!("kit[{i}].{s}");
            let id = k.id.get_ref().trim().to_string();
            if id.is_empty() {
                c.error(&key("id"), &k.id, "empty; expected a kit id");
            } else if kits.iter().any(|x| x.id == id) {
                c.error(&key("id"), &k.id, format!("duplicate kit id `{id}`"));
            }
            let trade = k.trade.get_ref().trim().to_string();
            if let Some(other) = kits.iter().find(|x| x.trade == trade) {
                let msg = format!("kits `{}` and `{id}` have the same trade `{trade}`; kit_for(trade) needs one kit per trade", other.id);
                c.error(&key("trade"), &k.trade, msg);
            }
            let cost = c.money(&key("cost"), &k.cost);
            let stock = match &k.stock {
                Some(s) if *s.get_ref() < 0 || *s.get_ref() > u32::MAX as i64 => {
                    c.error(
                        &key("stock"),
                        s,
                        format!("must be a count ≥ 0, got {}", s.get_ref()),
                    );
                    None
                }
                Some(s) => Some(*s.get_ref() as u32),
                None => None,
            };
            kits.push(Kit {
                id,
                trade,
                cost,
                stock,
            });
        }

        let mut quotas: Vec<Quota> = Vec::new();
        for (i, q) in raw.quota.iter().enumerate() {
            let key = |s: &str| format!("quota[{i}].{s}");
            let name = q.name.get_ref().trim().to_string();
            if quotas.iter().any(|x| x.name == name) {
                c.error(
                    &key("name"),
                    &q.name,
                    format!("duplicate quota name `{name}`"),
                );
            }
            let min_share = c.share(&key("min_share"), &q.min_share);
            let max_share = c.share(&key("max_share"), &q.max_share);
            let min_count = c.count(&key("min_count"), &q.min_count);
            let max_count = c.count(&key("max_count"), &q.max_count);
            if let (Some(lo), Some(hi)) = (min_share, max_share) {
                if lo > hi {
                    c.error(
                        &key("min_share"),
                        q.min_share.as_ref().expect("set"),
                        format!("min_share {lo} is above max_share {hi}"),
                    );
                }
            }
            if let (Some(lo), Some(hi)) = (min_count, max_count) {
                if lo > hi {
                    c.error(
                        &key("min_count"),
                        q.min_count.as_ref().expect("set"),
                        format!("min_count {lo} is above max_count {hi}"),
                    );
                }
            }
            if min_share.is_none()
                && max_share.is_none()
                && min_count.is_none()
                && max_count.is_none()
            {
                c.error(&key("name"), &q.name, format!("quota `{name}` sets no bound; expected min_share, max_share, min_count or max_count"));
            }
            if q.when.get_ref().trim().is_empty() {
                c.error(
                    &key("when"),
                    &q.when,
                    "empty; expected a rhai expression such as applicant.gender == \"F\"",
                );
            }
            quotas.push(Quota {
                name,
                when: q.when.get_ref().clone(),
                when_line: c.lines.line(&q.when.span()),
                min_share,
                max_share,
                min_count,
                max_count,
            });
        }

        let objective = match raw.objective.maximize.as_ref() {
            None => Objective::Score,
            Some(m) => match m.get_ref().as_str() {
                "score" => Objective::Score,
                "served" => Objective::Served,
                "served_then_score" => Objective::ServedThenScore,
                other => {
                    let hint = suggest::hint(other, ["score", "served", "served_then_score"]);
                    c.error("objective.maximize", m, format!("unknown objective `{other}`{hint}; expected score, served or served_then_score"));
                    Objective::Score
                }
            },
        };

        let mut solver = SolverSettings::default();
        if let Some(t) = &raw.solver.time_limit {
            if !(*t.get_ref() > 0.0 && t.get_ref().is_finite()) {
                c.error(
                    "solver.time_limit",
                    t,
                    format!("must be a positive number of seconds, got {}", t.get_ref()),
                );
            }
            solver.time_limit = *t.get_ref();
        }
        if let Some(g) = &raw.solver.gap {
            if !(0.0..1.0).contains(g.get_ref()) {
                c.error(
                    "solver.gap",
                    g,
                    format!("must be a relative gap in [0, 1), got {}", g.get_ref()),
                );
            }
            solver.gap = *g.get_ref();
        }
        if let Some(w) = &raw.solver.work_limit {
            if !(*w.get_ref() > 0.0 && w.get_ref().is_finite()) {
                c.error(
                    "solver.work_limit",
                    w,
                    format!(
                        "must be a positive amount of search work, got {}",
                        w.get_ref()
                    ),
                );
            }
            solver.work_limit = Some(*w.get_ref());
        }

        if funders.is_empty() {
            match budget_total {
                Some(total) => funders.push(Funder {
                    id: "programme".into(),
                    amount: total,
                    cities: None,
                    kinds: None,
                }),
                None => c.problems.push(
                    Problem::error(display, "no money: set budget.total or add a [[funder]]")
                        .key("budget.total"),
                ),
            }
        } else if let (Some(total), Some(t)) = (budget_total, &raw.budget.total) {
            let sum: i64 = funders.iter().map(|f| f.amount).sum();
            if sum < total {
                c.warning("budget.total", t, format!("funders hold {} MAD in all, below budget.total {total}; the funders' amounts bind first", sum));
            }
        }

        let (errors, warnings): (Vec<Problem>, Vec<Problem>) =
            c.problems.list.iter().cloned().partition(Problem::is_error);
        if !errors.is_empty() || c.problems.omitted > 0 {
            return Err(Error::Input {
                problems: Problems {
                    list: errors,
                    omitted: c.problems.omitted,
                },
            });
        }
        Ok(Scenario {
            display: display.to_string(),
            program,
            applicants,
            labour_market,
            rules,
            params,
            param_info,
            budget_total,
            city_caps,
            funders,
            kits,
            quotas,
            objective,
            solver,
            market,
            warnings,
            overrides: Vec::new(),
            base,
            applied: Vec::new(),
            committed: None,
            committed_counts: None,
        })
    }

    /// The scenario's cities (those of the labour-market file), as a set.
    pub fn city_set(&self) -> Arc<crate::hash::FastSet<String>> {
        Arc::new(self.market.cities.iter().cloned().collect())
    }

    /// Every file the scenario reads, with what it is: the scenario file, applicants,
    /// labour market and rule files (none when given in memory).
    pub(crate) fn input_files(&self) -> Vec<(&'static str, PathBuf)> {
        let mut out = Vec::new();
        if let Origin::Dir(_) = &self.base.2 {
            out.push(("scenario file", PathBuf::from(&self.base.1)));
        }
        if let Some(DataSource::File { path, .. }) = &self.applicants {
            out.push(("applicants file", path.clone()));
        }
        if let Some(p) = &self.labour_market {
            out.push(("labour-market file", p.clone()));
        }
        for r in &self.rules {
            if let Some(p) = &r.path {
                out.push(("rule file", p.clone()));
            }
        }
        if let Some(p) = self.committed.as_ref().and_then(|c| c.path.clone()) {
            out.push(("committed file", p));
        }
        out
    }

    /// Every input with its role, its name as shown and the SHA-256 of its bytes (files
    /// read again for the hash; texts given in memory hashed as given).
    pub(crate) fn input_hashes(&self) -> Vec<(&'static str, String, String)> {
        use sha2::{Digest, Sha256};
        let hex = |bytes: &[u8]| -> String {
            Sha256::digest(bytes)
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect()
        };
        let file = |p: &Path| -> String {
            use std::io::Read;
            let mut h = Sha256::new();
            let mut buf = vec![0u8; 1 << 16];
            match std::fs::File::open(p) {
                Ok(mut f) => loop {
                    match f.read(&mut buf) {
                        Ok(0) | Err(_) => break,
                        Ok(n) => h.update(&buf[..n]),
                    }
                },
                Err(_) => return "unreadable".into(),
            }
            h.finalize().iter().map(|b| format!("{b:02x}")).collect()
        };
        let (text, display, origin) = &*self.base;
        let mut out = vec![("scenario file", display.clone(), hex(text.as_bytes()))];
        match &self.applicants {
            Some(DataSource::File { path, display }) => {
                out.push(("applicants file", display.clone(), file(path)))
            }
            Some(DataSource::Text { display, text }) => {
                out.push(("applicants file", display.clone(), hex(text.as_bytes())))
            }
            None => {}
        }
        match (origin, &self.labour_market) {
            (_, Some(p)) => out.push(("labour-market file", p.display().to_string(), file(p))),
            (Origin::Memory(src), None) => out.push((
                "labour-market file",
                "labour_market.csv".into(),
                hex(src.labour_market_csv.as_bytes()),
            )),
            _ => {}
        }
        for r in &self.rules {
            out.push(("rule file", r.display.clone(), hex(r.text.as_bytes())));
        }
        if let Some(c) = &self.committed {
            let hash = match &c.path {
                Some(p) => file(p),
                None => hex(serde_json::to_string(&c.decisions)
                    .unwrap_or_default()
                    .as_bytes()),
            };
            out.push(("committed file", c.display.clone(), hash));
        }
        out
    }

    /// The applicants, or an input error when the scenario names none.
    pub fn applicant_data(&self) -> Result<&DataSource> {
        self.applicants.as_ref().ok_or_else(|| {
            Error::from(Problem::error(
                &self.display,
                "no applicants: the scenario was given without applicants; pass them in",
            ))
        })
    }

    /// The extra (non-core) columns of the applicants file, when the scenario has one
    /// (rules may read them); `None` without applicants.
    pub fn applicant_extra_columns(&self) -> Result<Option<Vec<String>>> {
        let Some(data) = &self.applicants else {
            return Ok(None);
        };
        let source = crate::applicant::ApplicantSource::open(data, self.city_set())?;
        Ok(Some(source.parser().extra_names().to_vec()))
    }

    /// Fingerprint of everything that decides an assessment (rules, params, programme,
    /// kits, quota conditions, labour market): 16 hex digits of a SHA-256.
    pub fn fingerprint(&self) -> String {
        use sha2::{Digest, Sha256};
        let mut h = Sha256::new();
        let mut put = |s: &str| {
            h.update((s.len() as u64).to_le_bytes());
            h.update(s.as_bytes());
        };
        for r in &self.rules {
            put(&r.text);
        }
        put(&toml::Value::Table(self.params.clone()).to_string());
        put(&self.program.name);
        put(&self.program.date.to_string());
        for k in &self.kits {
            put(&k.id);
            put(&k.trade);
            put(&k.cost.to_string());
        }
        for q in &self.quotas {
            put(&q.name);
            put(&q.when);
        }
        for city in &self.market.cities {
            put(city);
            let mut trades: Vec<_> = self.market.demand.get(city).into_iter().flatten().collect();
            trades.sort_by(|a, b| a.0.cmp(b.0));
            for (t, d) in trades {
                put(t);
                put(&d.to_bits().to_string());
            }
        }
        h.finalize()[..8]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }

    /// Money all funders hold together.
    pub fn funders_total(&self) -> Mad {
        self.funders.iter().map(|f| f.amount).sum()
    }

    /// Warnings that need the applicants: a city cap for a city nobody applied from.
    pub fn applicant_warnings(&self, applicants_per_city: &BTreeMap<String, u64>) -> Vec<Problem> {
        self.city_caps
            .keys()
            .filter(|c| applicants_per_city.get(*c).copied().unwrap_or(0) == 0)
            .map(|c| {
                Problem::warning(
                    &self.display,
                    format!("city cap for `{c}`, but no applicant is from {c}"),
                )
                .key(format!("budget.cities.{c}"))
            })
            .collect()
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Reads `labour_market.csv`: `city,trade,demand` with demand in [0, 1].
fn read_labour_market(mut input: CsvInput) -> Result<LabourMarket> {
    let display = input.display.clone();
    let names = ["city", "trade", "demand"];
    let found: Vec<Option<usize>> = names
        .iter()
        .map(|n| input.headers.iter().position(|h| h == n))
        .collect();
    let mut list = Vec::new();
    for (n, pos) in names.iter().zip(&found) {
        if pos.is_none() {
            let hint = suggest::hint(n, input.headers.iter().map(String::as_str));
            list.push(
                Problem::error(&display, format!("missing required column `{n}`{hint}"))
                    .at_line(input.header_line),
            );
        }
    }
    let mut problems = Problems::default();
    list.into_iter().for_each(|p| problems.push(p));
    problems.clone().into_result()?;
    let [ci, ti, di] = [found[0], found[1], found[2]].map(|x| x.unwrap_or(0));
    let mut market = LabourMarket::default();
    let mut seen: HashMap<(String, String), u64> = HashMap::new();
    let mut record = csv::StringRecord::new();
    let width = input.headers.len();
    loop {
        match input.next_row(&mut record) {
            Ok(NextRow::End) => break,
            Ok(NextRow::Row) => {}
            Ok(NextRow::NotUtf8(bytes)) => {
                let line = bytes.position().map_or(0, |p| p.line());
                problems.push(
                    Problem::error(
                        &display,
                        "the row is not valid UTF-8; save the file as UTF-8",
                    )
                    .at_line(line),
                );
                continue;
            }
            Err(p) => {
                problems.push(*p);
                break;
            }
        }
        let line = record.position().map_or(0, |p| p.line());
        if record.len() != width {
            problems.push(
                Problem::error(
                    &display,
                    format!("row has {} fields, expected {width}", record.len()),
                )
                .at_line(line),
            );
            continue;
        }
        let city = record.get(ci).unwrap_or("").to_string();
        let trade = record.get(ti).unwrap_or("").to_string();
        let raw = record.get(di).unwrap_or("");
        if city.is_empty() {
            problems.push(
                Problem::error(&display, "empty; expected a city")
                    .at_line(line)
                    .column("city"),
            );
        }
        if trade.is_empty() {
            problems.push(
                Problem::error(&display, "empty; expected a trade")
                    .at_line(line)
                    .column("trade"),
            );
        }
        let demand = match input.dialect.number(raw) {
            Some(d) if (0.0..=1.0).contains(&d) => d,
            Some(d) => {
                problems.push(
                    Problem::error(
                        &display,
                        format!("{d} is outside [0, 1]; expected a demand index between 0 and 1"),
                    )
                    .at_line(line)
                    .column("demand"),
                );
                continue;
            }
            None => {
                problems.push(
                    Problem::error(
                        &display,
                        format!(
                            "\"{raw}\" is not a number; expected a demand index between 0 and 1"
                        ),
                    )
                    .at_line(line)
                    .column("demand"),
                );
                continue;
            }
        };
        if city.is_empty() || trade.is_empty() {
            continue;
        }
        if let Some(first) = seen.insert((city.clone(), trade.clone()), line) {
            problems.push(Problem::error(&display, format!("duplicate row for city `{city}` and trade `{trade}` (first on line {first})")).at_line(line));
            continue;
        }
        market.set(&city, &trade, demand);
    }
    if market.cities.is_empty() && problems.is_empty() {
        problems.push(
            Problem::error(
                &display,
                "no rows; the labour-market file names the scenario's cities",
            )
            .at_line(2),
        );
    }
    problems.into_result()?;
    Ok(market)
}
