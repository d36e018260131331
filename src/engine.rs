//! The facade every face of idmaj uses: an [`Engine`] is one checked scenario with its rules
//! compiled, built once and shared between threads.
//!
//! The command line, the HTTP service and the Python package all go through it, so an
//! applicant given as JSON is validated exactly like a CSV row, an assessment read back from
//! JSON allocates exactly like one just computed, and every face gives the same answer.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::Path;
use std::sync::Arc;

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::allocate::{self, Allocation, SearchProgress};
use crate::applicant::{Applicant, Record, Validator};
use crate::assessment::{Assessment, Status};
use crate::compare::{self, Comparison};
use crate::error::{Error, Problem, Problems, Result};
use crate::overrides::{Override, SetValue};
use crate::pipeline;
use crate::rules::{with_thread_evaluator, Detail, RuleSet, RunBudget};
use crate::scenario::{Mad, Scenario};
use crate::sweep::{self, Setting, Sweep};

/// A scenario given in memory: nothing is read from disk.
///
/// `rules` pairs a file name with its text; they are matched to `[rules] files` of the
/// scenario by file name (`"../../rules/training.rhai"` is matched by `"training.rhai"`).
/// With `Sources`, `[data]` may be left out of the scenario, and `applicants_csv` may be
/// `None` (assess applicants given in code instead). Messages name the parts
/// `scenario.toml`, `labour_market.csv`, `applicants.csv` and each rule by its name.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sources {
    /// The scenario TOML, as a string.
    pub scenario_toml: String,
    /// The labour-market CSV (`city,trade,demand`), as a string.
    pub labour_market_csv: String,
    /// Rule scripts as (file name, text).
    pub rules: Vec<(String, String)>,
    /// The applicants CSV, if the scenario comes with its applicants.
    pub applicants_csv: Option<String>,
}

/// What a scenario is, at a glance (for listings such as the HTTP API's).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScenarioInfo {
    /// `[program] name`.
    pub program: String,
    /// Currency of every amount.
    pub currency: String,
    /// Reference date the rules see, `YYYY-MM-DD`.
    pub date: String,
    /// `budget.total`, where set.
    pub budget_total: Option<Mad>,
    /// The funders' amounts added up.
    pub funders_total: Mad,
    /// The scenario's cities (those of the labour market).
    pub cities: Vec<String>,
    /// Caps per city.
    pub city_caps: BTreeMap<String, Mad>,
    /// Kits: id, trade, cost and stock.
    pub kits: Vec<KitInfo>,
    /// Quota names, in scenario order.
    pub quotas: Vec<String>,
    /// The rule files, in evaluation order, as named in messages.
    pub rules: Vec<String>,
    /// The names of `[params]`.
    pub params: Vec<String>,
    /// `score`, `served` or `served_then_score`.
    pub objective: String,
    /// The `--set` overrides this engine was made with, as `KEY=VALUE`.
    pub overrides: Vec<String>,
    /// Fingerprint of everything that decides assessments (see [`Engine::fingerprint`]).
    pub fingerprint: String,
}

/// A kit of the scenario.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KitInfo {
    /// Kit id.
    pub id: String,
    /// The trade it equips.
    pub trade: String,
    /// Cost of one kit.
    pub cost: Mad,
    /// How many there are, if limited.
    pub stock: Option<u32>,
}

/// One checked scenario with its rules compiled: assess applicants, allocate, explore
/// what-ifs. Cheap to clone and to share between threads (`Send + Sync`).
///
/// ```
/// # fn main() -> idmaj::Result<()> {
/// let engine = idmaj::Engine::load("scenarios/tangier-2016")?;
/// let assessments = engine.assess_scenario()?;
/// let allocation = engine.allocate(&assessments)?;
/// assert_eq!(allocation.summary().served, 21);
/// let what_if = engine.with_overrides(&[("budget.total", "150000")])?;
/// assert!(what_if.allocate(&assessments)?.summary().served < 21);
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct Engine {
    inner: Arc<Inner>,
}

struct Inner {
    scenario: Scenario,
    rules: RuleSet,
    fingerprint: String,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("program", &self.inner.scenario.program.name)
            .field("fingerprint", &self.inner.fingerprint)
            .finish_non_exhaustive()
    }
}

/// A record to assess: owned, or borrowed when the caller assesses the same records again
/// (a sweep, at each of its points).
pub(crate) trait ToAssess: Send {
    /// The assessment, with only `detail` kept.
    fn assess(self, ev: &mut crate::rules::Evaluator, detail: Detail) -> Assessment;
}

impl ToAssess for Record {
    fn assess(self, ev: &mut crate::rules::Evaluator, detail: Detail) -> Assessment {
        ev.assess_detailed(self, detail)
    }
}

impl ToAssess for &Record {
    fn assess(self, ev: &mut crate::rules::Evaluator, detail: Detail) -> Assessment {
        ev.assess_borrowed(self, detail)
    }
}

impl Engine {
    /// Loads the scenario at `path` (a scenario TOML file, or a folder holding
    /// `scenario.toml`) with its labour market and rules; the applicants file is read when
    /// asked for ([`Engine::applicants`], [`Engine::assess_scenario`]).
    pub fn load(path: impl AsRef<Path>) -> Result<Engine> {
        Engine::from_scenario(Scenario::load(path.as_ref())?)
    }

    /// Builds an engine from in-memory parts, with exactly the checks of [`Engine::load`].
    pub fn from_sources(sources: Sources) -> Result<Engine> {
        Engine::from_scenario(Scenario::from_sources(sources)?)
    }

    /// Wraps a checked scenario: compiles its rules (checking every `applicant.X` against
    /// the applicants file's columns when there is one).
    pub(crate) fn from_scenario(scenario: Scenario) -> Result<Engine> {
        let extra = scenario.applicant_extra_columns()?;
        let rules = RuleSet::new(&scenario, extra.as_deref())?;
        let fingerprint = scenario.fingerprint();
        Ok(Engine {
            inner: Arc::new(Inner {
                scenario,
                rules,
                fingerprint,
            }),
        })
    }

    /// A new engine for a what-if: the scenario with `KEY=VALUE` overrides (the keys of
    /// `--set`: `budget.total`, `params.NAME`, `quota.NAME.min_share`, ...), checked like
    /// the file itself. Rules are compiled again only when a key changes assessments.
    pub fn with_overrides<K: AsRef<str>, V: AsRef<str>>(&self, set: &[(K, V)]) -> Result<Engine> {
        let overrides: Vec<Override> = set
            .iter()
            .map(|(k, v)| Override::new(k.as_ref(), SetValue::parse(v.as_ref())))
            .collect::<Result<_>>()?;
        self.with_settings(&overrides)
    }

    /// [`Engine::with_overrides`] with typed values (as JSON gives them).
    pub fn with_settings(&self, overrides: &[Override]) -> Result<Engine> {
        if overrides.is_empty() {
            return Ok(self.clone());
        }
        let scenario = self.inner.scenario.with_overrides(overrides)?;
        let fingerprint = scenario.fingerprint();
        if fingerprint == self.inner.fingerprint {
            let rules = self.inner.rules.clone();
            return Ok(Engine {
                inner: Arc::new(Inner {
                    scenario,
                    rules,
                    fingerprint,
                }),
            });
        }
        Engine::from_scenario(scenario)
    }

    /// A new engine that allocates on top of `decisions` of an earlier batch: committed
    /// applicants keep their option, amount and funders, use the budgets, caps, funders,
    /// stock and quota counts, and are not decided again (their decisions are marked
    /// `committed`). [`Engine::allocate`] refuses a committed id that is not among the
    /// assessments and a committed decision the scenario could not pay, naming the
    /// constraint.
    pub fn with_committed(&self, decisions: Vec<crate::Decision>) -> Result<Engine> {
        let c = crate::allocate::committed::Committed::new("committed decisions", decisions)?;
        self.with_committed_batch(c)
    }

    /// [`Engine::with_committed`] from an earlier `decisions.csv` or `decisions.jsonl`.
    pub fn with_committed_file(&self, path: impl AsRef<Path>) -> Result<Engine> {
        self.with_committed_batch(crate::allocate::committed::Committed::read(path.as_ref())?)
    }

    fn with_committed_batch(&self, c: crate::allocate::committed::Committed) -> Result<Engine> {
        let mut scenario = self.inner.scenario.clone();
        scenario.committed = Some(Arc::new(c));
        Ok(Engine {
            inner: Arc::new(Inner {
                scenario,
                rules: self.inner.rules.clone(),
                fingerprint: self.inner.fingerprint.clone(),
            }),
        })
    }

    /// Fingerprint of everything that decides an assessment: rules, `[params]`,
    /// `[program]`, kits, quota conditions and the labour market. Assessments carry it, so
    /// [`Engine::allocate`] refuses another scenario's; a what-if that only moves budgets
    /// keeps it, so its assessments can be reused.
    pub fn fingerprint(&self) -> &str {
        &self.inner.fingerprint
    }

    /// The scenario at a glance.
    pub fn info(&self) -> ScenarioInfo {
        let s = &self.inner.scenario;
        ScenarioInfo {
            program: s.program.name.clone(),
            currency: s.program.currency.clone(),
            date: s.program.date.to_string(),
            budget_total: s.budget_total,
            funders_total: s.funders_total(),
            cities: s.market.cities.clone(),
            city_caps: s.city_caps.clone(),
            kits: s
                .kits
                .iter()
                .map(|k| KitInfo {
                    id: k.id.clone(),
                    trade: k.trade.clone(),
                    cost: k.cost,
                    stock: k.stock,
                })
                .collect(),
            quotas: s.quotas.iter().map(|q| q.name.clone()).collect(),
            rules: s.rules.iter().map(|r| r.display.clone()).collect(),
            params: s.params.keys().cloned().collect(),
            objective: s.objective.as_str().to_string(),
            overrides: s.overrides.clone(),
            fingerprint: self.inner.fingerprint.clone(),
        }
    }

    /// Warnings found while loading (the scenario is usable).
    pub fn warnings(&self) -> &[Problem] {
        &self.inner.scenario.warnings
    }

    pub(crate) fn scenario(&self) -> &Scenario {
        &self.inner.scenario
    }

    pub(crate) fn rules(&self) -> &RuleSet {
        &self.inner.rules
    }

    /// Why the rules run interpreted (what the rule compiler does not know, and where),
    /// when they do although the compiled engine was asked for.
    pub(crate) fn rules_interpreted_because(&self) -> Option<&str> {
        self.inner.rules.interpreted_because()
    }

    fn validator(&self) -> Validator {
        Validator::new(self.inner.scenario.city_set())
    }

    /// `applicant` validated against the scenario like a CSV row.
    fn record(&self, applicant: &Applicant) -> Result<Record> {
        self.validator()
            .record(applicant)
            .map_err(|ps| Error::Input {
                problems: ps.into_iter().collect(),
            })
    }

    /// The assessment of one applicant. The applicant is validated first like a CSV row
    /// (known city, numbers finite and not negative, dates, booleans, a non-empty id):
    /// [`Error::Input`] names each bad field. A rule failing at run time is not an error:
    /// the assessment has status `error` and the message.
    pub fn assess(&self, applicant: &Applicant) -> Result<Assessment> {
        let record = self.record(applicant)?;
        self.assess_record(record)
    }

    fn assess_record(&self, record: Record) -> Result<Assessment> {
        Ok(self.assess_counted(record, Detail::Full)?.0)
    }

    /// The assessment of one record and the rule operations it took.
    fn assess_counted(&self, record: impl ToAssess, detail: Detail) -> Result<(Assessment, u64)> {
        let (mut a, ops) = with_thread_evaluator(&self.inner.rules, |ev| {
            let a = record.assess(ev, detail);
            (a, ev.last_ops())
        })?;
        a.scenario = self.inner.fingerprint.clone();
        Ok((a, ops))
    }

    /// Assesses records in parallel, in input order, within the run's operations budget.
    fn assess_records(&self, records: Vec<Record>, detail: Detail) -> Result<Vec<Assessment>> {
        self.assess_each(records.into_par_iter(), detail)
    }

    /// [`Engine::assess_records`] over any records in order. The assessments are written
    /// in place (one allocation of the final size: a growing list would touch twice the
    /// memory), then charged in input order, so the first failure in the input is the one
    /// reported.
    fn assess_each(
        &self,
        records: impl IndexedParallelIterator<Item = impl ToAssess>,
        detail: Detail,
    ) -> Result<Vec<Assessment>> {
        let mut counted = Vec::new();
        records
            .map(|r| self.assess_counted(r, detail))
            .collect_into_vec(&mut counted);
        let mut budget = RunBudget::default();
        counted
            .into_iter()
            .map(|c| c.and_then(|(a, ops)| budget.charge(ops, &a.id, a.error()).map(|()| a)))
            .collect()
    }

    /// The assessments of many applicants, in parallel, in input order. Every applicant is
    /// validated first; any invalid one (or a repeated id) fails the whole batch with every
    /// problem found.
    pub fn assess_all(&self, applicants: &[Applicant]) -> Result<Vec<Assessment>> {
        let validator = self.validator();
        let checked: Vec<std::result::Result<Record, Vec<Problem>>> =
            applicants.par_iter().map(|a| validator.record(a)).collect();
        let mut problems = Problems::default();
        let mut seen: HashSet<&str> = HashSet::new();
        for r in &checked {
            match r {
                Err(ps) => ps.iter().cloned().for_each(|p| problems.push(p)),
                Ok(rec) => {
                    if !seen.insert(rec.id.as_str()) {
                        problems.push(
                            Problem::error("", format!("duplicate id `{}`", rec.id))
                                .applicant(&rec.id)
                                .column("id"),
                        );
                    }
                }
            }
        }
        problems.into_result()?;
        self.assess_records(checked.into_iter().flatten().collect(), Detail::Full)
    }

    /// The applicants of the scenario's own data (`[data] applicants`, or
    /// `Sources::applicants_csv`), every row validated; [`Error::Input`] lists the bad rows.
    pub fn applicants(&self) -> Result<Vec<Applicant>> {
        Ok(pipeline::read_records(&self.inner.scenario)?
            .iter()
            .map(Record::to_applicant)
            .collect())
    }

    /// Assesses the scenario's own applicants (the fast path of `idmaj allocate`): every
    /// row read, validated and assessed in input order. Bad rows fail with every problem of
    /// the file; rule errors are per-assessment statuses.
    pub fn assess_scenario(&self) -> Result<Vec<Assessment>> {
        self.assess_records(pipeline::read_records(&self.inner.scenario)?, Detail::Full)
    }

    /// [`Engine::assess_scenario`], failing with [`Error::Rules`] when the rules fail for
    /// any applicant (what `idmaj allocate` and sweeps need: a whole programme), with the
    /// `detail` the caller uses.
    pub(crate) fn assess_scenario_strict(&self, detail: Detail) -> Result<Vec<Assessment>> {
        self.assess_records_strict(
            pipeline::read_records(&self.inner.scenario)?.into_par_iter(),
            detail,
        )
    }

    /// [`Engine::assess_scenario_strict`] over records already read (a sweep reads the
    /// applicants once for all its points).
    pub(crate) fn assess_records_strict(
        &self,
        records: impl IndexedParallelIterator<Item = impl ToAssess>,
        detail: Detail,
    ) -> Result<Vec<Assessment>> {
        let all = self.assess_each(records, detail)?;
        let problems: Problems = all
            .iter()
            .filter_map(|a| match &a.status {
                Status::Error(m) => Some(Problem::error("", m.clone())),
                _ => None,
            })
            .collect();
        if !problems.is_empty() {
            return Err(Error::Rules { problems });
        }
        Ok(all)
    }

    /// The optimal allocation of kits and cash to `assessments` under every budget, stock
    /// and quota of the scenario. [`Error::Input`] for repeated ids or an assessment made
    /// under another scenario (fingerprint), [`Error::Infeasible`] when no allocation meets
    /// the quotas.
    pub fn allocate(&self, assessments: &[Assessment]) -> Result<Allocation> {
        self.allocate_with_progress(assessments, &|_| {})
    }

    /// [`Engine::allocate`], telling `progress` now and then how a long search is going.
    pub fn allocate_with_progress(
        &self,
        assessments: &[Assessment],
        progress: &dyn Fn(&SearchProgress),
    ) -> Result<Allocation> {
        self.check_assessments(assessments)?;
        allocate::allocate(&self.inner.scenario, assessments, progress)
    }

    /// Refuses repeated ids and assessments of another scenario.
    fn check_assessments(&self, assessments: &[Assessment]) -> Result<()> {
        let mut problems = Problems::default();
        let mut seen: HashMap<&str, usize> = HashMap::new();
        for (i, a) in assessments.iter().enumerate() {
            if let Some(first) = seen.insert(a.id.as_str(), i) {
                problems.push(
                    Problem::error(
                        "",
                        format!(
                            "duplicate id `{}` (assessments {} and {}); each applicant is allocated once",
                            a.id,
                            first + 1,
                            i + 1
                        ),
                    )
                    .applicant(&a.id)
                    .column("id"),
                );
            }
            if a.scenario != self.inner.fingerprint {
                problems.push(
                    Problem::error(
                        "",
                        format!(
                            "assessment of applicant {} was made under another scenario (fingerprint `{}`, this scenario's is `{}`); assess the applicants with this engine",
                            a.id, a.scenario, self.inner.fingerprint
                        ),
                    )
                    .applicant(&a.id)
                    .column("scenario"),
                );
            }
        }
        problems.into_result()
    }

    /// Writes what `idmaj allocate` writes for `allocation` into `dir` (created if missing):
    /// `decisions.csv`, `decisions.jsonl`, `summary.json`, `summary.md` and the
    /// self-contained `report.html`.
    pub fn write_outputs(&self, allocation: &Allocation, dir: &Path) -> Result<()> {
        self.write_outputs_with(allocation, dir, &crate::OutputOptions::default())
    }

    /// Like [`Engine::write_outputs`], with `decisions.csv` in `options.dialect` and, when
    /// `options.xlsx`, also `decisions.xlsx` (a decisions sheet and a summary sheet).
    pub fn write_outputs_with(
        &self,
        allocation: &Allocation,
        dir: &Path,
        options: &crate::OutputOptions,
    ) -> Result<()> {
        crate::report::allocation::write_all(dir, allocation, options.dialect)?;
        if options.xlsx {
            crate::report::xlsx::write_decisions(
                &dir.join("decisions.xlsx"),
                &self.inner.scenario,
                allocation,
            )?;
        }
        crate::report::html::write_report(
            &dir.join("report.html"),
            &self.inner.scenario,
            allocation,
        )
    }

    /// Solves the scenario at every point of the grid of `settings` (the first varying
    /// slowest), over the scenario's own applicants. A point that cannot be solved is a
    /// row with its message; a bad applicant row is an [`Error::Input`] (no point could run).
    pub fn sweep(&self, settings: &[Setting]) -> Result<Sweep> {
        sweep::sweep(&self.inner.scenario, settings, &|_| {})
    }

    /// Who changes outcome between this engine's scenario (A) and `other`'s (B), over
    /// each one's own applicants, matched by id.
    pub fn compare(&self, other: &Engine) -> Result<Comparison> {
        compare::compare(
            (&self.inner.scenario, self.label()),
            (&other.inner.scenario, other.label()),
        )
    }

    /// The scenario as named in comparisons: its file, with its overrides.
    pub(crate) fn label(&self) -> String {
        let s = &self.inner.scenario;
        let mut label = s.base.1.clone();
        if !s.overrides.is_empty() {
            label.push_str(" with ");
            label.push_str(&s.overrides.join(", "));
        }
        label
    }

    /// Every check with the fields it read, every score item and option, for one
    /// applicant (validated like [`Engine::assess`]).
    pub fn explain(&self, applicant: &Applicant) -> Result<Assessment> {
        let record = self.record(applicant)?;
        let mut a = self.inner.rules.evaluator()?.explain(record);
        a.scenario = self.inner.fingerprint.clone();
        Ok(a)
    }
}
