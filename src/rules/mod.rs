//! The rule engine: sandboxed rhai scripts evaluated once per applicant.
//!
//! A [`RuleSet`] is checked and compiled once per scenario and is shared by all threads;
//! each thread makes its own [`Evaluator`] (engine, compiled script and scope), because a
//! rhai engine per thread scales better than one shared engine. Each applicant gets a
//! fresh scope with `applicant`, `params` and `program` as constants.
//!
//! Rules that only use the part of the language the compiler knows are also compiled
//! (see `compile`): applicants are assessed by the compiled rules, and by the interpreter
//! whenever the compiled rules meet an error, so answers and messages are the
//! interpreter's.

mod compile;
#[cfg(test)]
mod differential;
mod host;
mod source;

use std::cell::RefCell;
use std::rc::Rc;
use std::sync::Arc;

use rhai::{Dynamic, Engine, EvalAltResult, Map, Scope, AST, INT};

use crate::applicant::Record;
use crate::assessment::{Assessment, Status};
use crate::error::{Error, Problem, Problems, Result};
use crate::scenario::Scenario;
use crate::suggest;

pub(crate) use compile::{Out, OutCheck, Span};
use host::{HostData, Interner, RuleApplicant, State};
use source::JoinedRules;

/// The shipped rule files, in evaluation order, as (file name, contents): generated
/// scenarios carry a copy so they run anywhere.
pub(crate) const SHIPPED_RULES: &[(&str, &str)] = &[
    ("training.rhai", include_str!("../../rules/training.rhai")),
    ("project.rhai", include_str!("../../rules/project.rhai")),
    ("market.rhai", include_str!("../../rules/market.rhai")),
    ("release.rhai", include_str!("../../rules/release.rhai")),
    ("score.rhai", include_str!("../../rules/score.rhai")),
    ("options.rhai", include_str!("../../rules/options.rhai")),
];

/// Limits every rule evaluation runs under.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Limits {
    /// Operations per applicant (an infinite loop stops here, in milliseconds).
    pub max_operations: u64,
    /// Nested function calls.
    pub max_call_levels: usize,
    /// Expression nesting depth.
    pub max_expr_depth: usize,
    /// Length of any string.
    pub max_string_size: usize,
    /// Length of any array.
    pub max_array_size: usize,
    /// Entries of any map.
    pub max_map_size: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_operations: 1_000_000,
            max_call_levels: 32,
            max_expr_depth: 64,
            max_string_size: 10_000,
            max_array_size: 10_000,
            max_map_size: 1_000,
        }
    }
}

/// The sandboxed engine: only the packages rules need (no `sleep`, no `print` to stdout,
/// no `eval`, no `import`, no file or network access), every limit set, strict variables,
/// and comparisons of mismatched types made errors.
pub(crate) fn sandboxed_engine(limits: &Limits) -> Engine {
    use rhai::packages::{
        ArithmeticPackage, BasicArrayPackage, BasicFnPackage, BasicIteratorPackage,
        BasicMapPackage, BasicMathPackage, BasicStringPackage, LogicPackage, MoreStringPackage,
        Package,
    };
    let mut engine = Engine::new_raw();
    for lib in [
        ArithmeticPackage::new().as_shared_module(),
        LogicPackage::new().as_shared_module(),
        BasicStringPackage::new().as_shared_module(),
        MoreStringPackage::new().as_shared_module(),
        BasicMathPackage::new().as_shared_module(),
        BasicArrayPackage::new().as_shared_module(),
        BasicMapPackage::new().as_shared_module(),
        BasicIteratorPackage::new().as_shared_module(),
        BasicFnPackage::new().as_shared_module(),
    ] {
        engine.register_global_module(lib);
    }
    engine
        .set_max_operations(limits.max_operations)
        .set_max_call_levels(limits.max_call_levels)
        .set_max_expr_depths(limits.max_expr_depth, limits.max_expr_depth)
        .set_max_string_size(limits.max_string_size)
        .set_max_array_size(limits.max_array_size)
        .set_max_map_size(limits.max_map_size)
        .set_max_variables(256)
        .set_max_functions(256)
        .set_max_modules(0)
        .set_strict_variables(true)
        .set_fail_on_invalid_map_property(true)
        .set_fast_operators(false)
        .set_module_resolver(rhai::module_resolvers::DummyModuleResolver::new());
    engine.disable_symbol("eval").disable_symbol("import");
    host::register_type_checks(&mut engine);
    host::register_applicant(&mut engine);
    engine
}

/// Converts a TOML value to the rhai value rules see.
fn to_dynamic(v: &toml::Value) -> Dynamic {
    match v {
        toml::Value::String(s) => s.clone().into(),
        toml::Value::Integer(i) => (*i as INT).into(),
        toml::Value::Float(f) => (*f).into(),
        toml::Value::Boolean(b) => (*b).into(),
        toml::Value::Datetime(d) => d.to_string().into(),
        toml::Value::Array(a) => a.iter().map(to_dynamic).collect::<rhai::Array>().into(),
        toml::Value::Table(t) => table_to_map(t).into(),
    }
}

fn table_to_map(t: &toml::Table) -> Map {
    t.iter()
        .map(|(k, v)| (k.as_str().into(), to_dynamic(v)))
        .collect()
}

static NEXT_SERIAL: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// How rules run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) enum RuleEngine {
    /// Compiled where the rules allow it, else interpreted (the default).
    #[default]
    Compiled,
    /// Always interpreted by rhai (to compare with the compiled rules).
    Interpreted,
}

/// The process-wide choice (`--engine` of the command line).
static INTERPRETED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Sets how rule sets made from now on run, in this process.
pub(crate) fn set_default_engine(engine: RuleEngine) {
    INTERPRETED.store(
        engine == RuleEngine::Interpreted,
        std::sync::atomic::Ordering::Relaxed,
    );
}

fn default_engine() -> RuleEngine {
    if INTERPRETED.load(std::sync::atomic::Ordering::Relaxed) {
        RuleEngine::Interpreted
    } else {
        RuleEngine::Compiled
    }
}

/// A scenario's rules, checked and ready to evaluate on any thread.
#[derive(Debug, Clone)]
pub(crate) struct RuleSet {
    sources: Arc<JoinedRules>,
    data: Arc<HostData>,
    params: toml::Table,
    program: (String, String, INT),
    quotas: Vec<(String, String, u64)>,
    scenario_file: String,
    limits: Limits,
    /// Tells apart rule sets, so a thread's cached evaluator is never reused for another.
    serial: usize,
    /// The rules compiled, when they only use what the compiler knows.
    compiled: Option<Arc<compile::Program>>,
    /// Why the rules run interpreted although the compiled engine was asked for.
    interpreted_because: Option<String>,
}

impl RuleSet {
    /// Checks and compiles the scenario's rule files and quota expressions.
    /// `extra_columns` are the applicant file's non-core columns, which rules may also
    /// read; `None` when applicants come later (from code or JSON), and then only names
    /// close to a core column are taken for misspellings.
    pub fn new(scenario: &Scenario, extra_columns: Option<&[String]>) -> Result<RuleSet> {
        let sources = JoinedRules::join(
            scenario
                .rules
                .iter()
                .map(|r| (r.display.clone(), r.text.clone()))
                .collect(),
        );
        let data = HostData {
            kits: scenario
                .kits
                .iter()
                .map(|k| (k.id.clone(), k.cost))
                .collect(),
            kit_for: scenario
                .kits
                .iter()
                .map(|k| (k.trade.clone(), k.id.clone()))
                .collect(),
            market: Arc::new(scenario.market.clone()),
            date: scenario.program.date,
            rounded_cash: Default::default(),
        };
        let set = RuleSet {
            sources: Arc::new(sources),
            data: Arc::new(data),
            params: scenario.params.clone(),
            program: (
                scenario.program.name.clone(),
                scenario.program.date.to_string(),
                scenario.program.date.year() as INT,
            ),
            quotas: scenario
                .quotas
                .iter()
                .map(|q| (q.name.clone(), q.when.clone(), q.when_line))
                .collect(),
            scenario_file: scenario.display.clone(),
            limits: Limits::default(),
            serial: NEXT_SERIAL.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
            compiled: None,
            interpreted_because: None,
        };
        set.check_names(extra_columns)?;
        set.with_engine(default_engine())
    }

    /// The same rules run by `engine` (compiled only where the rules allow it).
    pub fn with_engine(mut self, engine: RuleEngine) -> Result<Self> {
        self.compiled = None;
        self.interpreted_because = None;
        self.serial = NEXT_SERIAL.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let ev = self.evaluator()?;
        if engine == RuleEngine::Compiled && self.limits == Limits::default() {
            match compile::compile(
                &ev.ast,
                &ev.quota_asts,
                &self.params,
                &self.program,
                self.limits.max_string_size,
                OPS_PER_APPLICANT,
            ) {
                Ok(p) => self.compiled = Some(Arc::new(p)),
                Err(u) => {
                    let at = if u.line > 0 {
                        let (file, line) = self.sources.locate(u.line);
                        format!("{file}:{line} uses")
                    } else {
                        "they use".to_string()
                    };
                    self.interpreted_because =
                        Some(format!("rules run interpreted: {at} {}", u.what));
                }
            }
        }
        Ok(self)
    }

    /// Why the rules run interpreted (`rules run interpreted: training.rhai:12 uses
    /// `for``), when the compiled engine was asked for but the rules use something it does
    /// not know; `None` when they run compiled or the interpreter was asked for.
    pub fn interpreted_because(&self) -> Option<&str> {
        self.interpreted_because.as_deref()
    }

    /// True when applicants are assessed by the compiled rules.
    #[allow(dead_code)]
    pub fn is_compiled(&self) -> bool {
        self.compiled.is_some()
    }

    /// Uses other limits (the defaults suit the shipped rules); other limits always run
    /// interpreted.
    #[allow(dead_code)]
    pub fn with_limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self.serial = NEXT_SERIAL.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        self.compiled = None;
        self
    }

    /// Checks each rule file on its own before the files are joined: a comment, string or
    /// bracket left open (which would swallow the next file), an assignment to the
    /// read-only `params` or `program`, and every `applicant.X`, `params.X` and
    /// `program.X` must name a column, parameter or programme field. A misspelt name is an
    /// error here, before any applicant is assessed.
    fn check_names(&self, extra_columns: Option<&[String]>) -> Result<()> {
        let open = extra_columns.is_none();
        let fields = host::known_fields(extra_columns.unwrap_or_default());
        let params: Vec<String> = self.params.keys().cloned().collect();
        let program: Vec<String> = ["name", "date", "year"].map(String::from).to_vec();
        let mut problems = Problems::default();
        let mut names =
            |file: &str, text: &str, line0: u64, word: &str, known: &[String], what: &str| {
                for (name, line, col) in source::member_accesses(text, word) {
                    let hint = suggest::hint(name, known.iter().map(String::as_str));
                    // Without an applicants file any column may come later: only a near
                    // miss of a known name is taken for a misspelling.
                    let maybe_extra = open && word == "applicant" && hint.is_empty();
                    let allowed = known.iter().any(|k| k == name)
                        || (word == "applicant" && name == "has")
                        || maybe_extra;
                    if !allowed {
                        problems.push(
                            Problem::error(file, format!("unknown {what} `{name}`{hint}"))
                                .at(line0 + line - 1, col),
                        );
                    }
                }
            };
        for (file, text) in self.sources.files() {
            names(file, text, 1, "applicant", &fields, "applicant field");
            names(
                file,
                text,
                1,
                "params",
                &params,
                "parameter (not in [params] of the scenario)",
            );
            names(
                file,
                text,
                1,
                "program",
                &program,
                "program field (expected name, date or year)",
            );
        }
        for (_, when, line) in &self.quotas {
            names(
                &self.scenario_file,
                when,
                *line,
                "applicant",
                &fields,
                "applicant field",
            );
        }
        for (file, text) in self.sources.files() {
            if let Some((line, col, what)) = source::scan(text).unclosed {
                problems.push(
                    Problem::error(file, format!("{what} before the end of the file"))
                        .at(line, col),
                );
            }
            for word in ["params", "program"] {
                for (line, col) in source::assignments_to(text, word) {
                    problems.push(
                        Problem::error(
                            file,
                            format!(
                                "`{word}` is read-only; copy a value into a variable to change it"
                            ),
                        )
                        .at(line, col),
                    );
                }
            }
        }
        problems.into_result()
    }

    /// A new evaluator for this thread: its own engine, compiled script and scope.
    pub fn evaluator(&self) -> Result<Evaluator> {
        let state = Rc::new(RefCell::new(State::default()));
        let mut engine = sandboxed_engine(&self.limits);
        host::register_host(&mut engine, &state, &self.data);
        let log_state = state.clone();
        engine.on_print(move |s| log_state.borrow_mut().log.push(s.to_string()));
        let log_state = state.clone();
        engine.on_debug(move |s, _, pos| log_state.borrow_mut().log.push(format!("{s} ({pos})")));

        // `params` and `program` are constants at compile time, so the optimiser folds
        // `params.x` into its value (names were checked first: a misspelt one never folds
        // silently to `()`). `applicant` exists (strict variables) but is not a constant,
        // so no applicant's values are folded into the script.
        let mut program = Map::new();
        program.insert("name".into(), self.program.0.clone().into());
        program.insert("date".into(), self.program.1.clone().into());
        program.insert("year".into(), self.program.2.into());
        let mut scope = Scope::new();
        scope.push_constant_dynamic("params", table_to_map(&self.params).into());
        scope.push_constant_dynamic("program", program.into());
        scope.push_dynamic("applicant", Dynamic::UNIT);
        let ast = engine
            .compile_with_scope(&scope, &self.sources.text)
            .map_err(|e| {
                Error::from(self.sources.problem(e.position(), e.err_type().to_string()))
            })?;
        let mut quota_asts = Vec::new();
        for (i, (name, when, line)) in self.quotas.iter().enumerate() {
            let ast = engine
                .compile_expression_with_scope(&scope, when)
                .map_err(|e| {
                    Error::from(
                        Problem::error(
                            &self.scenario_file,
                            format!(
                                "quota `{name}`: `when` is not a valid expression: {}",
                                e.err_type()
                            ),
                        )
                        .at(*line, e.position().position().unwrap_or(1) as u64)
                        .key(format!("quota[{i}].when")),
                    )
                })?;
            quota_asts.push(ast);
        }
        scope.rewind(2);
        Ok(Evaluator {
            engine,
            ast,
            quota_asts,
            scope,
            caches: {
                let mut c = rhai::Caches::new();
                c.push_fn_resolution_cache();
                c
            },
            state,
            strings: Interner::default(),
            set: self.clone(),
            ops: 0,
            out: compile::Out::default(),
        })
    }

    /// How many cash offers so far were not whole MAD and were rounded (on any thread).
    pub fn rounded_cash(&self) -> u64 {
        self.data
            .rounded_cash
            .load(std::sync::atomic::Ordering::Relaxed)
    }

    /// The joined rule sources (for positions in messages).
    #[allow(dead_code)]
    pub fn sources(&self) -> &JoinedRules {
        &self.sources
    }
}

/// How much of an assessment a caller needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Detail {
    /// Everything the rules recorded.
    Full,
    /// The failed checks only (what an assessment read back from JSON holds), no score
    /// items: all an allocation and its outputs use.
    Failed,
    /// No checks, score items or log: a sweep's points show none of them.
    Bare,
}

impl Detail {
    /// True when a check that `passed` (or not) is kept.
    fn keeps_check(self, passed: bool) -> bool {
        match self {
            Detail::Full => true,
            Detail::Failed => !passed,
            Detail::Bare => false,
        }
    }

    /// True when the score items are kept.
    fn keeps_score_items(self) -> bool {
        self == Detail::Full
    }
}

/// Evaluates rules for one applicant at a time, on one thread.
pub(crate) struct Evaluator {
    engine: Engine,
    ast: AST,
    quota_asts: Vec<AST>,
    scope: Scope<'static>,
    caches: rhai::Caches,
    state: Rc<RefCell<State>>,
    strings: Interner,
    set: RuleSet,
    ops: u64,
    out: compile::Out,
}

impl Evaluator {
    /// The assessment of `applicant`. A rule error does not stop anything: the assessment
    /// has [`Status::Error`] with the message (rule file, line, column, applicant id).
    pub fn assess(&mut self, applicant: Record) -> Assessment {
        self.assess_detailed(applicant, Detail::Full)
    }

    /// [`Evaluator::assess`], keeping only the `detail` its caller uses: building checks
    /// and score items nobody reads was a third of the time of a sweep's scoring.
    pub(crate) fn assess_detailed(&mut self, applicant: Record, detail: Detail) -> Assessment {
        if self.assess_compiled(&applicant).is_some() {
            let Record {
                id,
                line,
                city,
                gender,
                plan_trade,
                ..
            } = applicant;
            return self.compiled_assessment((id, line, city, gender, plan_trade), detail);
        }
        self.interpreted_detailed(applicant, detail)
    }

    /// [`Evaluator::assess_detailed`] of a record the caller keeps (a sweep assesses the
    /// same records at every point): compiled rules copy only the fields an assessment
    /// holds, not the whole record.
    pub(crate) fn assess_borrowed(&mut self, applicant: &Record, detail: Detail) -> Assessment {
        if self.assess_compiled(applicant).is_some() {
            let held = (
                applicant.id.clone(),
                applicant.line,
                applicant.city.clone(),
                applicant.gender,
                applicant.plan_trade.clone(),
            );
            return self.compiled_assessment(held, detail);
        }
        self.interpreted_detailed(applicant.clone(), detail)
    }

    /// The interpreter's assessment with only `detail` kept.
    fn interpreted_detailed(&mut self, applicant: Record, detail: Detail) -> Assessment {
        let mut a = self.run(applicant, false);
        a.checks.retain(|c| detail.keeps_check(c.passed));
        if !detail.keeps_score_items() {
            a.score_items = Vec::new();
        }
        if detail == Detail::Bare {
            a.log = Vec::new();
        }
        a
    }

    /// What the compiled rules recorded for `applicant`, or `None` when the rules run
    /// interpreted or the compiled run gave up (then [`Evaluator::assess_interpreted`]
    /// gives the assessment, with the interpreter's error message). Scoring rows this way
    /// builds no [`Assessment`].
    pub fn assess_compiled(&mut self, applicant: &Record) -> Option<&Out> {
        let program = self.set.compiled.as_ref()?;
        program.run(&self.set.data, applicant, &mut self.out).ok()?;
        self.ops = program.max_ops;
        if self.out.rounded > 0 {
            self.set
                .data
                .rounded_cash
                .fetch_add(self.out.rounded, std::sync::atomic::Ordering::Relaxed);
        }
        Some(&self.out)
    }

    /// The interpreter's assessment of `applicant`.
    pub fn assess_interpreted(&mut self, applicant: Record) -> Assessment {
        self.run(applicant, false)
    }

    /// The assessment the compiled rules made (in `self.out`) of the applicant with this
    /// id, line, city, gender and planned trade.
    fn compiled_assessment(
        &self,
        (id, line, city, gender, trade): (String, u64, String, crate::Gender, String),
        detail: Detail,
    ) -> Assessment {
        let out = &self.out;
        let eligible = out.all_passed();
        let checks = out.checks_where(|c| detail.keeps_check(c.passed));
        let score_items = if detail.keeps_score_items() {
            out.score_items()
        } else {
            Vec::new()
        };
        Assessment {
            id,
            line,
            city,
            gender,
            trade,
            status: if eligible {
                Status::Eligible
            } else {
                Status::Ineligible
            },
            checks,
            score: out.score(),
            score_items,
            offers: out.offers(),
            quotas: out
                .quotas
                .iter()
                .map(|&i| self.set.quotas[i].0.clone())
                .collect(),
            log: Vec::new(),
            scenario: String::new(),
        }
    }

    /// Like [`Evaluator::assess`], also recording the fields each check read.
    pub fn explain(&mut self, applicant: Record) -> Assessment {
        self.run(applicant, true)
    }

    fn run(&mut self, applicant: Record, trace: bool) -> Assessment {
        self.state
            .borrow_mut()
            .reset(trace, applicant.birth_year as INT);
        let id = applicant.id.clone();
        let (line, city, gender, trade) = (
            applicant.line,
            applicant.city.clone(),
            applicant.gender,
            applicant.plan_trade.clone(),
        );
        let ra = RuleApplicant::new(applicant, &mut self.strings, self.state.clone());
        let kept = ra.clone();
        self.scope.rewind(2);
        self.scope.push_constant("applicant", ra);
        let mut result = self
            .run_script()
            .map_err(|e| redact_name(&self.rule_error(e, &id), &kept.0.app.name));
        let mut quotas = Vec::new();
        let eligible = result.is_ok() && self.state.borrow().checks.iter().all(|c| c.passed);
        if eligible {
            for i in 0..self.quota_asts.len() {
                match Self::eval_raw(
                    &self.engine,
                    &mut self.caches,
                    &mut self.scope,
                    &self.quota_asts[i],
                ) {
                    Ok(v) if v.is_bool() => {
                        if v.as_bool().unwrap_or(false) {
                            quotas.push(self.set.quotas[i].0.clone());
                        }
                    }
                    Ok(v) => {
                        let (name, _, qline) = &self.set.quotas[i];
                        result = Err(format!(
                            "{}:{qline}: quota `{name}`: `when` gave {} for applicant {id}, expected true or false",
                            self.set.scenario_file,
                            v.type_name()
                        ));
                        break;
                    }
                    Err(e) => {
                        let (name, _, qline) = &self.set.quotas[i];
                        let mut e = *e;
                        let pos = e.take_position();
                        result = Err(format!(
                            "{}:{qline}:{}: quota `{name}`: {} (applicant {id})",
                            self.set.scenario_file,
                            pos.position().unwrap_or(1),
                            redact_quoted(&e.to_string())
                        ));
                        break;
                    }
                }
            }
        }
        self.scope.rewind(2);
        let mut st = self.state.borrow_mut();
        let status = match result {
            Err(msg) => Status::Error(msg),
            Ok(()) if eligible => Status::Eligible,
            Ok(()) => Status::Ineligible,
        };
        let score = st.score_items.iter().map(|s| s.points).sum();
        Assessment {
            id,
            line,
            city,
            gender,
            trade,
            status,
            // Hand the vectors over and leave same-sized empty ones for the next applicant,
            // so the rules' pushes do not grow them step by step every time.
            checks: take_sized(&mut st.checks),
            score,
            score_items: take_sized(&mut st.score_items),
            offers: take_sized(&mut st.offers),
            quotas,
            log: std::mem::take(&mut st.log),
            scenario: String::new(),
        }
    }

    /// Runs the compiled rules in the current scope. Unlike `Engine::run_ast_with_scope`,
    /// keeps rhai's function-resolution cache from one applicant to the next: rebuilding
    /// it for every applicant was the largest single cost of scoring.
    fn run_script(&mut self) -> Result<(), Box<EvalAltResult>> {
        let (result, ops) =
            Self::eval_counted(&self.engine, &mut self.caches, &mut self.scope, &self.ast);
        self.ops = ops;
        result.map(|_| ())
    }

    /// Operations the rules ran for the last applicant assessed (quota conditions included).
    pub(crate) fn last_ops(&self) -> u64 {
        self.ops
    }

    fn eval_raw(
        engine: &Engine,
        caches: &mut rhai::Caches,
        scope: &mut Scope<'static>,
        ast: &AST,
    ) -> Result<Dynamic, Box<EvalAltResult>> {
        Self::eval_counted(engine, caches, scope, ast).0
    }

    /// Evaluates `ast` and counts the operations it ran.
    fn eval_counted(
        engine: &Engine,
        caches: &mut rhai::Caches,
        scope: &mut Scope<'static>,
        ast: &AST,
    ) -> (Result<Dynamic, Box<EvalAltResult>>, u64) {
        let mut global = engine.new_global_runtime_state();
        global.lib.push(ast.shared_lib().clone());
        #[allow(deprecated)]
        let result = engine.eval_statements_raw(&mut global, caches, scope, ast.statements());
        (result, global.num_operations)
    }

    fn rule_error(&self, e: Box<EvalAltResult>, id: &str) -> String {
        #![allow(clippy::boxed_local)]
        // The innermost error says what went wrong and where.
        let mut inner = *e;
        let mut pos = inner.position();
        while let EvalAltResult::ErrorInFunctionCall(_, _, err, p) = inner {
            pos = if err.position().is_none() {
                p
            } else {
                err.position()
            };
            inner = *err;
        }
        inner.clear_position();
        let message = match &inner {
            EvalAltResult::ErrorTooManyOperations(_) => format!(
                "the rules ran more than {} operations (an endless loop?)",
                self.set.limits.max_operations
            ),
            EvalAltResult::ErrorRuntime(v, _) => v.to_string(),
            // rhai's own messages quote the values they failed on, which may be personal
            // data (`Error parsing integer number '<a name>'`).
            other => redact_quoted(&other.to_string()),
        };
        format!(
            "{} (applicant {id})",
            self.set.sources.problem(pos, message)
        )
    }
}

/// Operations a run of the rules may use on average per applicant, on top of one
/// applicant's whole limit: a rule that loops for every applicant stops the run early
/// instead of costing applicants × the per-applicant limit.
pub(crate) const OPS_PER_APPLICANT: u64 = 50_000;

/// The operations budget of a whole run, charged in input order so the same input stops at
/// the same applicant whatever the thread count.
#[derive(Debug, Default)]
pub(crate) struct RunBudget {
    used: u64,
    applicants: u64,
}

impl RunBudget {
    /// Charges one applicant's operations; an error once the run is over budget.
    /// `error` is the applicant's rule error, if any, so the stop names a rule's place.
    pub(crate) fn charge(&mut self, ops: u64, id: &str, error: Option<&str>) -> Result<()> {
        self.used = self.used.saturating_add(ops);
        self.applicants += 1;
        let budget = Limits::default()
            .max_operations
            .saturating_add(OPS_PER_APPLICANT.saturating_mul(self.applicants));
        if self.used > budget {
            return Err(Error::Rules {
                problems: Problem::error(
                    "",
                    format!(
                        "the rules ran {} operations for the first {} applicants (up to applicant \
                         {id}), more than the run allows ({OPS_PER_APPLICANT} per applicant on \
                         average): an endless loop or a very slow rule? The run stops here{}",
                        self.used,
                        self.applicants,
                        error.map_or(String::new(), |m| format!(". Last: {m}"))
                    ),
                )
                .into(),
            });
        }
        Ok(())
    }
}

/// `message` with every quoted part (`'…'` or `"…"`) cut out.
fn redact_quoted(message: &str) -> String {
    let mut out = String::with_capacity(message.len());
    let mut quote: Option<char> = None;
    for c in message.chars() {
        match quote {
            Some(q) if c == q => {
                out.push('…');
                out.push(c);
                quote = None;
            }
            Some(_) => {}
            None if c == '\'' || c == '"' => {
                out.push(c);
                quote = Some(c);
            }
            None => out.push(c),
        }
    }
    if quote.is_some() {
        out.push('…');
    }
    out
}

/// `message` without the applicant's name or any word of it (a rule may `throw` it).
fn redact_name(message: &str, name: &str) -> String {
    let name = name.trim();
    if name.chars().count() < 3 {
        return message.to_string();
    }
    let mut out = message.replace(name, "(name not shown)");
    for word in name.split_whitespace().filter(|w| w.chars().count() >= 3) {
        out = out.replace(word, "(name not shown)");
    }
    out
}

/// Takes the contents of `v`, leaving an empty vector with the same capacity.
fn take_sized<T>(v: &mut Vec<T>) -> Vec<T> {
    let cap = v.len();
    std::mem::replace(v, Vec::with_capacity(cap))
}

/// Evaluators kept per thread, most recently made last. A server answers for several
/// scenarios on the same threads; keeping one evaluator compiled the rules again at every
/// switch between them.
const EVALUATORS_PER_THREAD: usize = 8;

/// Evaluates the rules for many applicants, one evaluator per thread and rule set.
pub(crate) fn with_thread_evaluator<T>(
    set: &RuleSet,
    f: impl FnOnce(&mut Evaluator) -> T,
) -> Result<T> {
    thread_local! {
        static EVAL: RefCell<Vec<(usize, Evaluator)>> = const { RefCell::new(Vec::new()) };
    }
    let key = set.serial;
    EVAL.with(|cell| {
        let mut slots = cell.borrow_mut();
        let i = match slots.iter().position(|(k, _)| *k == key) {
            Some(i) => i,
            None => {
                if slots.len() >= EVALUATORS_PER_THREAD {
                    slots.remove(0);
                }
                slots.push((key, set.evaluator()?));
                slots.len() - 1
            }
        };
        Ok(f(&mut slots[i].1))
    })
}
