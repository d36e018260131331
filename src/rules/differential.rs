//! The compiled rules against the interpreter: the same assessments, field by field (score
//! bits, checks, options, quotas, error messages), on the shipped rules, every rule test
//! case, generated applicants and randomly generated rule programs.

use std::path::Path;

use proptest::prelude::*;

use super::{RuleEngine, RuleSet};
use crate::applicant::Record;
use crate::assessment::Assessment;
use crate::engine::{Engine, Sources};

/// The interpreted and compiled rule sets of `set`; the compiled one must compile.
fn engines(set: &RuleSet) -> (RuleSet, RuleSet) {
    let interpreted = set.clone().with_engine(RuleEngine::Interpreted).unwrap();
    let compiled = set.clone().with_engine(RuleEngine::Compiled).unwrap();
    assert!(
        compiled.is_compiled(),
        "{:?}",
        compiled.interpreted_because()
    );
    assert!(!interpreted.is_compiled());
    (interpreted, compiled)
}

/// Everything of an assessment, floats by their exact digits (Debug prints the shortest
/// text that reads back to the same bits, and tells -0.0 from 0.0).
fn shown(a: &Assessment) -> String {
    format!("{a:?}")
}

/// Assesses `records` with both engines and requires identical assessments, the same count
/// of rounded cash offers, and interpreter operations within the compiled bound. Returns
/// how many had a rule error, and how many the compiled rules assessed to the end.
fn agree_counted(set: &RuleSet, records: &[Record]) -> (usize, usize) {
    let (interpreted, compiled) = engines(set);
    let (mut ei, mut ec) = (
        interpreted.evaluator().unwrap(),
        compiled.evaluator().unwrap(),
    );
    let bound = compiled.compiled.as_ref().map_or(0, |p| p.max_ops);
    let (mut errors, mut compiled_to_the_end) = (0, 0);
    for r in records {
        let mut out = super::compile::Out::default();
        let program = compiled.compiled.as_ref().unwrap();
        compiled_to_the_end += usize::from(program.run(&set.data, r, &mut out).is_ok());
        let before = set.rounded_cash();
        let a = ei.assess(r.clone());
        let rounded_i = set.rounded_cash() - before;
        assert!(
            ei.last_ops() <= bound,
            "the interpreter took {} operations, over the compiled bound {bound}",
            ei.last_ops()
        );
        let before = set.rounded_cash();
        let b = ec.assess(r.clone());
        let rounded_c = set.rounded_cash() - before;
        assert_eq!(shown(&a), shown(&b), "applicant {}", r.id);
        assert_eq!(rounded_i, rounded_c, "rounded cash, applicant {}", r.id);
        errors += usize::from(a.error().is_some());
    }
    (errors, compiled_to_the_end)
}

fn agree(set: &RuleSet, records: &[Record]) -> usize {
    agree_counted(set, records).0
}

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn the_shipped_rules_compile_and_agree_on_generated_applicants() {
    let dir = tempfile::tempdir().unwrap();
    // Other options keep their defaults as the generator grows.
    #[allow(clippy::needless_update)]
    let options = crate::generate::GenerateOptions {
        applicants: 3000,
        seed: 7,
        ..Default::default()
    };
    crate::generate::generate(&options, dir.path()).unwrap();
    let engine = Engine::load(dir.path()).unwrap();
    assert_eq!(engine.rules_interpreted_because(), None);
    assert!(engine.rules().is_compiled());
    let typed = |e: &Engine| e.rules().compiled.as_ref().is_some_and(|p| p.is_typed());
    assert!(typed(&engine), "the shipped rules run typed");
    let records = crate::pipeline::read_records(engine.scenario()).unwrap();
    agree(engine.rules(), &records);
    // And on the shipped scenarios' own applicants.
    for s in ["scenarios/ramadan-2016", "scenarios/tangier-2016"] {
        let engine = Engine::load(root().join(s)).unwrap();
        assert!(typed(&engine), "{s} runs typed");
        let records = crate::pipeline::read_records(engine.scenario()).unwrap();
        agree(engine.rules(), &records);
    }
}

#[test]
fn every_rule_test_case_agrees() {
    let mut cases = 0;
    for file in crate::cases::case_files(&root().join("rules/tests")).unwrap() {
        let (_, prepared) = crate::cases::prepare_file(&file).unwrap();
        for (_, rules, applicant) in prepared {
            agree(&rules, &[applicant]);
            cases += 1;
        }
    }
    assert!(cases > 20, "only {cases} cases");
}

/// The Tangier scenario with `script` as its only rule file, and its applicants.
fn tangier_with(script: &str, quota_when: &str) -> (Engine, Vec<Record>) {
    let dir = root().join("scenarios/tangier-2016");
    let read = |f: &str| std::fs::read_to_string(dir.join(f)).unwrap();
    let toml = read("scenario.toml");
    let (start, end) = (
        toml.find("[rules]").unwrap(),
        toml.find("[params]").unwrap(),
    );
    let mut toml = format!(
        "{}[rules]\nfiles = [\"probe.rhai\"]\n\n{}",
        &toml[..start],
        &toml[end..]
    );
    if let Some(q) = toml.find("when = ") {
        let eol = q + toml[q..].find('\n').unwrap();
        toml.replace_range(q..eol, &format!("when = '{quota_when}'"));
    }
    let engine = Engine::from_sources(Sources {
        scenario_toml: toml,
        labour_market_csv: read("labour_market.csv"),
        rules: vec![("probe.rhai".into(), script.into())],
        applicants_csv: Some(read("applicants.csv")),
    })
    .unwrap_or_else(|e| panic!("{e}\n{script}"));
    let records = crate::pipeline::read_records(engine.scenario()).unwrap();
    (engine, records)
}

/// Rules that fail in every way the interpreter reports, run compiled: each applicant
/// falls back to the interpreter and gets its exact message.
#[test]
fn errors_are_the_interpreters_own() {
    for script in [
        "check(\"a\", \"t\", applicant.birth_year / 0 > 1);",
        "let x = 9223372036854775807; x = x + applicant.birth_year; check(\"a\", \"t\", x > 0);",
        "check(\"a\", \"t\", applicant.birth_year / (applicant.birth_year - applicant.birth_year) > 0);",
        "check(\"a\", \"t\", applicant.city > 3);",
        "check(\"a\", \"t\", applicant.training_hours);",
        "check(\"a\", \"t\", true); check(\"a\", \"u\", true);",
        "check(\" \", \"t\", true);",
        "add_score(1.0 / 0.0, \"inf\");",
        "add_score(1e12, \"a\"); add_score(1.0, \"b\");",
        "offer_kit(\"nope\");",
        "offer_kit(kit_for(applicant.city));",
        "offer_cash(-1);",
        "offer_cash(applicant.plan_cost * 1e9);",
        "if applicant.plan_cost { add_score(1, \"x\"); }",
        "check(\"a\", \"t\", applicant.gender == \"F\" && applicant.plan_cost);",
        "let n = -applicant.birth_year; check(\"a\", \"t\", months_since(applicant.name) > n);",
        "check(\"a\", \"t\", kit_cost(applicant.plan_trade) > 0);",
        "check(\"a\", \"t\", clamp(1, 0, 2) > 0);",
        "let s = applicant.city; s -= 1; check(\"a\", \"t\", true);",
        "check(\"a\", \"t\", !applicant.plan_cost);",
        "check(\"a\", \"t\", applicant.gender == \"F\" || applicant.birth_year > 1990);",
    ] {
        let (engine, records) = tangier_with(script, "applicant.gender == \"F\"");
        let errors = agree(engine.rules(), &records);
        if !script.contains("||") {
            assert!(errors > 0, "no error with {script}");
        }
    }
    // A quota condition that is not a boolean, or fails.
    for when in ["applicant.birth_year", "applicant.city < 1"] {
        let (engine, records) = tangier_with("check(\"a\", \"t\", true);", when);
        assert!(agree(engine.rules(), &records) > 0, "{when}");
    }
}

#[test]
fn min_max_and_clamp_treat_zeros_and_nan_alike_in_both_engines() {
    // `f64::max` may return either zero when given 0.0 and -0.0: the rules define it (0.0 is
    // above -0.0, a NaN gives the other number), so both engines give the same bits.
    let script = "let z = -0.0; let h = applicant.training_hours * 0.0; \
                  add_score(max(z, 0), \"a\"); add_score(max(0.0, z), \"b\"); \
                  add_score(min(0, z), \"c\"); add_score(min(z, 0.0), \"d\"); \
                  add_score(clamp(z, 0.0, 1.0), \"e\"); add_score(clamp(0.0, z, z), \"f\"); \
                  add_score(max(-h, h), \"g\"); add_score(min(h, -h), \"h\"); \
                  add_score(max(0.0 / 0.0, 2.0), \"i\"); add_score(min(3, 0.0 / 0.0), \"j\");";
    let (engine, records) = tangier_with(script, "applicant.gender == \"F\"");
    agree(engine.rules(), &records);
    let a = engine
        .rules()
        .evaluator()
        .unwrap()
        .assess(records[0].clone());
    let bits: Vec<(String, u64)> = a
        .score_items
        .iter()
        .map(|i| (i.why.clone(), i.points.to_bits()))
        .collect();
    let (zero, minus) = (0.0f64.to_bits(), (-0.0f64).to_bits());
    let want: Vec<(String, u64)> = [
        ("a", zero),
        ("b", zero),
        ("c", minus),
        ("d", minus),
        ("e", zero),
        ("f", minus),
        ("g", zero),
        ("h", minus),
        ("i", 2.0f64.to_bits()),
        ("j", 3.0f64.to_bits()),
    ]
    .into_iter()
    .map(|(w, b)| (w.to_string(), b))
    .collect();
    assert_eq!(bits, want, "{a:?}");
}

/// Demand asked again with the same, other and copied arguments (the compiled rules keep
/// the last answer), and checks whose id or text is not a constant beside constant ones
/// (the compiled rules take a shorter way for constants): the same answers and errors.
#[test]
fn repeated_demands_and_constant_checks_agree() {
    for script in [
        "let d = demand(applicant.city, applicant.plan_trade); \
         let e = demand(applicant.city, \"plumbing\"); \
         let c = applicant.city; let t = applicant.plan_trade; \
         add_score(d + e + demand(c, t) + demand(applicant.city, applicant.plan_trade), \"d\"); \
         add_score(demand(applicant.city, applicant.training_track), \"t\"); \
         add_score(demand(\"Tangier\", applicant.plan_trade), \"x\");",
        "check(\"a\", applicant.city, true); check(\"a\", \"t\", true);",
        "check(\"a\", \"t\", true); check(\"a\", applicant.city, true);",
        "check(applicant.city, \"t\", true); check(\"a\", \"t\", true); check(\"b\", \"t\", false);",
        "check(applicant.city, \"t\", true); check(applicant.city, \"u\", false);",
        "check(\"a\", \"t\", true); check(\"b\", \"u\", applicant.plan_cost > 9000.0); \
         add_score(1, applicant.city); add_score(2, \"two\");",
        "check(\"\", \"t\", true);",
    ] {
        let (engine, records) = tangier_with(script, "applicant.gender == \"F\"");
        agree(engine.rules(), &records);
    }
}

#[test]
fn rules_the_compiler_does_not_know_run_interpreted_and_say_where() {
    let (engine, records) = tangier_with(
        "check(\"a\", \"t\", true);\nlet n = 0;\nfor i in 0..3 { n += i; }\nadd_score(n, \"loop\");\n",
        "applicant.gender == \"F\"",
    );
    assert_eq!(
        engine.rules_interpreted_because(),
        Some("rules run interpreted: probe.rhai:3 uses `for`")
    );
    assert!(!engine.rules().is_compiled());
    let a = engine
        .rules()
        .evaluator()
        .unwrap()
        .assess(records[0].clone());
    assert_eq!(a.score, 3.0);
}

/// A tiny deterministic generator (proptest gives the seed and shrinks it).
struct Gen(u64);

impl Gen {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn pick<'a>(&mut self, xs: &[&'a str]) -> &'a str {
        xs[self.below(xs.len() as u64) as usize]
    }
}

/// A random rule program of the grammar the compiler supports: mostly well typed, so most
/// applicants run compiled to the end, sometimes not, so the fallback is exercised too.
struct ProgramGen {
    g: Gen,
    vars: Vec<(String, char)>,
    next_var: usize,
    checks: usize,
}

impl ProgramGen {
    fn num(&mut self, depth: u32) -> String {
        let leaf = depth == 0 || self.g.below(3) == 0;
        if leaf {
            let nums: Vec<String> = self
                .vars
                .iter()
                .filter(|v| v.1 == 'n')
                .map(|v| v.0.clone())
                .collect();
            return match self.g.below(9) {
                0 => self
                    .g
                    .pick(&["0", "1", "2", "-3", "120", "9223372036854775807", "7"])
                    .into(),
                1 => self
                    .g
                    .pick(&[
                        "0.0", "0.1", "0.2", "0.3", "1.5", "-0.0", "1e308", "2.0", "1e-300",
                    ])
                    .into(),
                2 | 3 => format!(
                    "applicant.{}",
                    self.g.pick(&[
                        "training_hours",
                        "plan_cost",
                        "experience_years",
                        "birth_year"
                    ])
                ),
                4 => format!(
                    "params.{}",
                    self.g.pick(&[
                        "min_training_hours",
                        "min_demand",
                        "cash_cap",
                        "points_woman"
                    ])
                ),
                5 if !nums.is_empty() => nums[self.g.below(nums.len() as u64) as usize].clone(),
                6 => "program.year".into(),
                7 => self
                    .g
                    .pick(&[
                        "age()",
                        "months_since(applicant.release_date)",
                        "demand(applicant.city, applicant.plan_trade)",
                        "kit_cost(\"plumbing\")",
                    ])
                    .into(),
                _ => "applicant.training_hours".into(),
            };
        }
        let d = depth - 1;
        match self.g.below(7) {
            0 => format!("-({})", self.num(d)),
            1 => format!(
                "{}({}, {})",
                self.g.pick(&["min", "max"]),
                self.num(d),
                self.num(d)
            ),
            2 => format!("clamp({}, 0.0, 1.0)", self.num(d)),
            _ => format!(
                "({} {} {})",
                self.num(d),
                self.g.pick(&["+", "-", "*", "/", "%", "+", "*"]),
                self.num(d)
            ),
        }
    }

    fn text(&mut self) -> String {
        match self.g.below(6) {
            0 => "applicant.city".into(),
            1 => "applicant.plan_trade".into(),
            2 => "applicant.training_track".into(),
            3 => "kit_for(applicant.plan_trade)".into(),
            4 => "applicant.release_date".into(),
            _ => format!(
                "\"{}\"",
                self.g
                    .pick(&["F", "M", "plumbing", "Tangier", "2015-06-01", ""])
            ),
        }
    }

    fn boolean(&mut self, depth: u32) -> String {
        let bools: Vec<String> = self
            .vars
            .iter()
            .filter(|v| v.1 == 'b')
            .map(|v| v.0.clone())
            .collect();
        if depth == 0 || self.g.below(4) == 0 {
            return match self.g.below(6) {
                0 => format!(
                    "applicant.{}",
                    self.g
                        .pick(&["training_certified", "pm_training", "plan_approved"])
                ),
                1 => "eligible()".into(),
                2 if !bools.is_empty() => bools[self.g.below(bools.len() as u64) as usize].clone(),
                3 => self
                    .g
                    .pick(&["true", "false", "params.require_certificate"])
                    .into(),
                _ => format!(
                    "{} {} {}",
                    self.num(1),
                    self.g.pick(&["<", "<=", ">", ">=", "==", "!="]),
                    self.num(1)
                ),
            };
        }
        let d = depth - 1;
        match self.g.below(7) {
            0 => format!("!({})", self.boolean(d)),
            1 => format!("({} && {})", self.boolean(d), self.boolean(d)),
            2 => format!("({} || {})", self.boolean(d), self.boolean(d)),
            3 => format!(
                "{} {} {}",
                self.text(),
                self.g.pick(&["==", "!=", "<", ">="]),
                self.text()
            ),
            // Now and then a value of the wrong type: the interpreter's error.
            4 if self.g.below(8) == 0 => self
                .g
                .pick(&[
                    "applicant.city",
                    "applicant.birth_year",
                    "applicant.plan_cost",
                ])
                .into(),
            _ => format!(
                "{} {} {}",
                self.num(d),
                self.g.pick(&["<", "<=", ">", ">=", "==", "!="]),
                self.num(d)
            ),
        }
    }

    fn stmts(&mut self, n: u64, depth: u32, out: &mut String) {
        let scope = self.vars.len();
        for _ in 0..n {
            match self.g.below(9) {
                0 | 1 => {
                    self.checks += 1;
                    let c = self.boolean(3);
                    out.push_str(&format!("check(\"c{}\", \"text\", {c});\n", self.checks));
                }
                2 | 3 => {
                    let p = self.num(3);
                    out.push_str(&format!("add_score({p}, \"why\");\n"));
                }
                4 => {
                    let name = format!("v{}", self.next_var);
                    self.next_var += 1;
                    let (value, kind) = match self.g.below(3) {
                        0 => (self.boolean(2), 'b'),
                        1 => (self.text(), 's'),
                        _ => (self.num(3), 'n'),
                    };
                    out.push_str(&format!("let {name} = {value};\n"));
                    self.vars.push((name, kind));
                }
                5 => {
                    let nums: Vec<String> = self
                        .vars
                        .iter()
                        .filter(|v| v.1 == 'n')
                        .map(|v| v.0.clone())
                        .collect();
                    if !nums.is_empty() {
                        let v = nums[self.g.below(nums.len() as u64) as usize].clone();
                        let op = self.g.pick(&["=", "+=", "-=", "*=", "/="]);
                        let value = self.num(2);
                        out.push_str(&format!("{v} {op} {value};\n"));
                    }
                }
                6 if depth > 0 => {
                    let c = self.boolean(2);
                    out.push_str(&format!("if {c} {{\n"));
                    let n = 1 + self.g.below(3);
                    self.stmts(n, depth - 1, out);
                    if self.g.below(2) == 0 {
                        out.push_str("} else {\n");
                        let n = 1 + self.g.below(3);
                        self.stmts(n, depth - 1, out);
                    }
                    out.push_str("}\n");
                }
                7 => {
                    let cash = self.num(2);
                    match self.g.below(3) {
                        0 => out.push_str(&format!("offer_cash({cash});\n")),
                        1 => out.push_str(
                            "let k = kit_for(applicant.plan_trade);\nif k != \"\" { offer_kit(k); }\n",
                        ),
                        _ => out.push_str(&format!(
                            "if kit_for(applicant.plan_trade) != \"\" {{ offer_kit_and_cash(kit_for(applicant.plan_trade), min(applicant.plan_cost, {cash})); }}\n"
                        )),
                    }
                }
                _ => {
                    let p = self.num(2);
                    out.push_str(&format!("add_score({p}, \"more\");\n"));
                }
            }
        }
        self.vars.truncate(scope);
    }
}

fn random_program(seed: u64) -> (String, String) {
    let mut p = ProgramGen {
        g: Gen(seed | 1),
        vars: Vec::new(),
        next_var: 0,
        checks: 0,
    };
    let mut text = String::new();
    let n = 3 + p.g.below(10);
    p.stmts(n, 2, &mut text);
    let when = p.boolean(2);
    (text, when)
}

/// The random programs exercise every path: most applicants assessed by the compiled rules
/// to the end, some handed to the interpreter; programs run typed, and programs whose
/// types vary run by the general tree.
#[test]
fn random_programs_run_compiled_mostly_and_fall_back_sometimes() {
    let (mut total, mut compiled, mut errors, mut typed) = (0, 0, 0, 0);
    let programs: u64 = 60;
    for seed in 1..=programs {
        let (script, when) = random_program(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15));
        let (engine, records) = tangier_with(&script, &when);
        let records = &records[..records.len().min(40)];
        let (e, c) = agree_counted(engine.rules(), records);
        total += records.len();
        compiled += c;
        errors += e;
        typed += u64::from(engine.rules().compiled.as_ref().unwrap().is_typed());
    }
    assert!(
        compiled * 3 > total,
        "{compiled} of {total} compiled to the end"
    );
    assert!(errors * 20 > total, "{errors} of {total} with an error");
    assert!(
        typed * 3 > programs && typed < programs,
        "{typed} of {programs} programs typed"
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]
    #[test]
    fn random_rule_programs_agree(seed in any::<u64>()) {
        let (script, when) = random_program(seed);
        let (engine, records) = tangier_with(&script, &when);
        agree(engine.rules(), &records[..records.len().min(40)]);
    }
}
