//! The host API rules call: `check`, `add_score`, `offer_*`, `demand`, `kit_for`,
//! `months_since`, `age`, and the applicant as a typed, read-only value.
//!
//! Per-applicant results are gathered in a [`State`] shared by the registered functions of
//! one engine (one engine per thread, so no locking).

use std::cell::RefCell;
use std::collections::HashMap;

use crate::hash::FastMap;
use std::rc::Rc;
use std::sync::Arc;

use rhai::{Dynamic, Engine, EvalAltResult, ImmutableString, INT};

use crate::applicant::{Record, Value, CORE_COLUMNS};
use crate::assessment::{Check, Offer, ScoreItem};
use crate::date::Date;
use crate::scenario::{LabourMarket, Mad};
use crate::suggest;

type Fallible<T> = Result<T, Box<EvalAltResult>>;

/// Most different offers the rules may make for one applicant.
pub const MAX_OFFERS: usize = 100;

/// Most checks, and most score items, for one applicant.
pub const MAX_ITEMS: usize = 1_000;

/// Largest priority score (in absolute value) an applicant may reach.
pub const MAX_SCORE: f64 = 1e12;

/// What the host functions need from the scenario; shared by every thread.
#[derive(Debug)]
pub struct HostData {
    /// Kit id → cost.
    pub kits: FastMap<String, Mad>,
    /// Trade → kit id.
    pub kit_for: FastMap<String, String>,
    /// Labour-market demand.
    pub market: Arc<LabourMarket>,
    /// The programme's reference date.
    pub date: Date,
    /// Cash offers that were not whole MAD and were rounded.
    pub rounded_cash: std::sync::atomic::AtomicU64,
}

/// What the rules recorded for the applicant being assessed.
#[derive(Debug, Default)]
pub struct State {
    pub checks: Vec<Check>,
    pub score_items: Vec<ScoreItem>,
    pub offers: Vec<Offer>,
    pub log: Vec<String>,
    /// Record the fields each check read (for `explain`).
    pub trace: bool,
    pub read: Vec<(String, String)>,
    pub birth_year: INT,
}

impl State {
    pub fn reset(&mut self, trace: bool, birth_year: INT) {
        self.checks.clear();
        self.score_items.clear();
        self.offers.clear();
        self.log.clear();
        self.read.clear();
        self.trace = trace;
        self.birth_year = birth_year;
    }
}

/// The applicant as rules see it: read-only, every core column typed.
#[derive(Clone)]
pub struct RuleApplicant(pub Rc<Inner>);

pub struct Inner {
    pub app: Record,
    pub city: ImmutableString,
    pub gender: ImmutableString,
    pub training_track: ImmutableString,
    pub plan_trade: ImmutableString,
    pub release_date: ImmutableString,
    pub state: Rc<RefCell<State>>,
}

/// Interns strings that repeat across applicants (cities, trades, dates) so each
/// applicant costs a reference count, not an allocation.
#[derive(Default)]
pub struct Interner(
    HashMap<String, ImmutableString>,
    HashMap<Date, ImmutableString>,
);

impl Interner {
    pub fn date(&mut self, d: Date) -> ImmutableString {
        if self.1.len() > 100_000 {
            self.1.clear();
        }
        self.1
            .entry(d)
            .or_insert_with(|| d.to_string().into())
            .clone()
    }

    pub fn get(&mut self, s: &str) -> ImmutableString {
        if let Some(v) = self.0.get(s) {
            return v.clone();
        }
        if self.0.len() > 100_000 {
            self.0.clear();
        }
        let v = ImmutableString::from(s);
        self.0.insert(s.to_string(), v.clone());
        v
    }
}

impl RuleApplicant {
    pub fn new(app: Record, strings: &mut Interner, state: Rc<RefCell<State>>) -> Self {
        let release_date = strings.date(app.release_date);
        RuleApplicant(Rc::new(Inner {
            city: strings.get(&app.city),
            gender: strings.get(app.gender.as_str()),
            training_track: strings.get(&app.training_track),
            plan_trade: strings.get(&app.plan_trade),
            release_date,
            app,
            state,
        }))
    }

    /// The value of a column by name, or `None` when there is no such column.
    fn field(&self, name: &str) -> Option<Dynamic> {
        let i = &self.0;
        let a = &i.app;
        Some(match name {
            "id" => Dynamic::from(ImmutableString::from(a.id.as_str())),
            "name" => Dynamic::from(ImmutableString::from(a.name.as_str())),
            "gender" => i.gender.clone().into(),
            "birth_year" => (a.birth_year as INT).into(),
            "city" => i.city.clone().into(),
            "release_date" => i.release_date.clone().into(),
            "training_track" => i.training_track.clone().into(),
            "training_hours" => a.training_hours.into(),
            "training_certified" => a.training_certified.into(),
            "pm_training" => a.pm_training.into(),
            "plan_trade" => i.plan_trade.clone().into(),
            "plan_approved" => a.plan_approved.into(),
            "plan_cost" => a.plan_cost.into(),
            "experience_years" => a.experience_years.into(),
            _ => match a.extra(name)? {
                Value::Number(n) => (*n).into(),
                Value::Text(t) => ImmutableString::from(t.as_str()).into(),
            },
        })
    }

    fn traced<T: Clone + std::fmt::Display>(&self, name: &str, v: T) -> T {
        let mut st = self.0.state.borrow_mut();
        if st.trace {
            let shown = if name == "name" {
                "(not shown)".to_string()
            } else {
                v.to_string()
            };
            if !st.read.iter().any(|(n, _)| n == name) {
                st.read.push((name.to_string(), shown));
            }
        }
        v
    }
}

/// Every field name rules may read: the core columns and the file's extra columns.
pub fn known_fields(extra: &[String]) -> Vec<String> {
    CORE_COLUMNS
        .iter()
        .map(|s| s.to_string())
        .chain(extra.iter().cloned())
        .collect()
}

fn unknown_field(name: &str, a: &RuleApplicant) -> Box<EvalAltResult> {
    let fields = known_fields(&a.0.app.extra_names);
    let hint = suggest::hint(name, fields.iter().map(String::as_str));
    format!("unknown applicant field `{name}`{hint}").into()
}

/// Registers the applicant type: a getter per core column, and an indexer
/// (`applicant["col"]`, also the fallback for `applicant.col`) for extra columns that
/// fails on names that are not columns.
pub fn register_applicant(engine: &mut Engine) {
    engine.register_type_with_name::<RuleApplicant>("Applicant");
    macro_rules! get {
        ($name:literal, |$a:ident| $e:expr) => {
            engine.register_get($name, |$a: &mut RuleApplicant| {
                let v = $e;
                $a.traced($name, v)
            });
        };
    }
    get!("id", |a| ImmutableString::from(a.0.app.id.as_str()));
    get!("gender", |a| a.0.gender.clone());
    get!("birth_year", |a| a.0.app.birth_year as INT);
    get!("city", |a| a.0.city.clone());
    get!("release_date", |a| a.0.release_date.clone());
    get!("training_track", |a| a.0.training_track.clone());
    get!("training_hours", |a| a.0.app.training_hours);
    get!("training_certified", |a| a.0.app.training_certified);
    get!("pm_training", |a| a.0.app.pm_training);
    get!("plan_trade", |a| a.0.plan_trade.clone());
    get!("plan_approved", |a| a.0.app.plan_approved);
    get!("plan_cost", |a| a.0.app.plan_cost);
    get!("experience_years", |a| a.0.app.experience_years);
    engine.register_get("name", |a: &mut RuleApplicant| {
        let v = ImmutableString::from(a.0.app.name.as_str());
        a.traced("name", v)
    });
    engine.register_indexer_get(|a: &mut RuleApplicant, name: &str| -> Fallible<Dynamic> {
        match a.field(name) {
            Some(v) => Ok(a.traced(name, v)),
            None => Err(unknown_field(name, a)),
        }
    });
    engine.register_fn("has", |a: &mut RuleApplicant, name: &str| {
        a.field(name).is_some()
    });
    engine.register_fn("to_string", |a: &mut RuleApplicant| {
        format!("applicant {}", a.0.app.id)
    });
    engine.register_fn("to_debug", |a: &mut RuleApplicant| {
        format!("applicant {}", a.0.app.id)
    });
}

fn whole_mad(what: &str, amount: f64) -> Fallible<Mad> {
    if !amount.is_finite() || !(0.0..=1e12).contains(&amount) {
        return Err(format!("{what}: {amount} is not an amount of money ≥ 0").into());
    }
    Ok(amount.round() as Mad)
}

/// Registers `check`, `add_score`, the offers, `demand`, `kit_for`, `months_since`, `age`
/// and numeric `min`/`max`.
pub fn register_host(engine: &mut Engine, state: &Rc<RefCell<State>>, data: &Arc<HostData>) {
    let st = state.clone();
    engine.register_fn(
        "check",
        move |id: ImmutableString, text: ImmutableString, passed: bool| -> Fallible<()> {
            let mut s = st.borrow_mut();
            if id.trim().is_empty() {
                return Err(
                    "check: the id is empty; give each check a short id such as \"training\""
                        .into(),
                );
            }
            if s.checks.iter().any(|c| c.id == id.as_str()) {
                return Err(format!(
                    "check `{id}` is recorded twice for one applicant; each check needs its own id"
                )
                .into());
            }
            if s.checks.len() >= MAX_ITEMS {
                return Err(format!("more than {MAX_ITEMS} checks for one applicant").into());
            }
            let read = std::mem::take(&mut s.read);
            s.checks.push(Check {
                id: id.to_string(),
                text: text.to_string(),
                passed,
                read,
            });
            Ok(())
        },
    );
    engine.register_fn(
        "check",
        |id: ImmutableString, _text: ImmutableString, passed: Dynamic| -> Fallible<()> {
            // The value itself is never shown: it may be personal data (e.g. a name).
            Err(format!(
                "check `{id}`: the condition is {}, expected true or false",
                passed.type_name()
            )
            .into())
        },
    );

    let st = state.clone();
    let add = move |points: f64, why: ImmutableString| -> Fallible<()> {
        if !points.is_finite() {
            return Err(format!("add_score(\"{why}\"): {points} is not a number of points").into());
        }
        let mut s = st.borrow_mut();
        if s.score_items.len() >= MAX_ITEMS {
            return Err(format!("more than {MAX_ITEMS} score items for one applicant").into());
        }
        let total: f64 = s.score_items.iter().map(|i| i.points).sum::<f64>() + points;
        if !total.is_finite() || total.abs() > MAX_SCORE {
            return Err(format!(
                "add_score(\"{why}\"): the score would reach {total:e}, beyond ±{MAX_SCORE:e}; \
                 scores are priorities, keep them to sensible sizes"
            )
            .into());
        }
        s.score_items.push(ScoreItem {
            points,
            why: why.to_string(),
        });
        Ok(())
    };
    let add2 = add.clone();
    engine.register_fn("add_score", add);
    engine.register_fn("add_score", move |p: INT, why: ImmutableString| {
        add2(p as f64, why)
    });

    let offer = {
        let st = state.clone();
        let data = data.clone();
        move |kit: Option<&str>, cash: f64| -> Fallible<()> {
            let (kit, kit_cost) = match kit {
                Some(k) => match data.kits.get(k) {
                    Some(&cost) => (Some(k.to_string()), cost),
                    None if k.is_empty() => {
                        return Err("no kit id given (kit_for found no kit for this trade?); guard the offer with `if kit != \"\"`".into())
                    }
                    None => {
                        let hint = suggest::hint(k, data.kits.keys().map(String::as_str));
                        return Err(format!("unknown kit `{k}`{hint}; expected a [[kit]] id of the scenario").into());
                    }
                },
                None => (None, 0),
            };
            let whole = whole_mad("cash offer", cash)?;
            if whole as f64 != cash {
                data.rounded_cash
                    .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            }
            let cash = whole;
            if kit.is_none() && cash == 0 {
                return Ok(());
            }
            let o = Offer {
                kit,
                kit_cost,
                cash,
            };
            let mut s = st.borrow_mut();
            if !s.offers.contains(&o) {
                if s.offers.len() >= MAX_OFFERS {
                    return Err(format!(
                        "more than {MAX_OFFERS} different offers for one applicant; the allocation \
                         gives at most one, so offer a few options"
                    )
                    .into());
                }
                s.offers.push(o);
            }
            Ok(())
        }
    };
    let o = offer.clone();
    engine.register_fn("offer_kit", move |k: &str| o(Some(k), 0.0));
    let o = offer.clone();
    engine.register_fn("offer_cash", move |c: f64| o(None, c));
    let o = offer.clone();
    engine.register_fn("offer_cash", move |c: INT| o(None, c as f64));
    let o = offer.clone();
    engine.register_fn("offer_kit_and_cash", move |k: &str, c: f64| o(Some(k), c));
    let o = offer;
    engine.register_fn("offer_kit_and_cash", move |k: &str, c: INT| {
        o(Some(k), c as f64)
    });

    let d = data.clone();
    engine.register_fn("kit_cost", move |k: &str| -> Fallible<INT> {
        match d.kits.get(k) {
            Some(&c) => Ok(c),
            None => {
                let hint = suggest::hint(k, d.kits.keys().map(String::as_str));
                Err(
                    format!("unknown kit `{k}`{hint}; expected a [[kit]] id of the scenario")
                        .into(),
                )
            }
        }
    });
    let st = state.clone();
    engine.register_fn("eligible", move || {
        st.borrow().checks.iter().all(|c| c.passed)
    });

    let d = data.clone();
    engine.register_fn("demand", move |city: &str, trade: &str| {
        d.market.demand(city, trade)
    });

    let mut kit_ids: HashMap<String, ImmutableString> = HashMap::new();
    for (trade, id) in &data.kit_for {
        kit_ids.insert(trade.clone(), id.as_str().into());
    }
    let empty = ImmutableString::new();
    engine.register_fn("kit_for", move |trade: &str| {
        kit_ids.get(trade).cloned().unwrap_or_else(|| empty.clone())
    });

    let date = data.date;
    engine.register_fn("months_since", move |d: &str| -> Fallible<INT> {
        match Date::parse(d) {
            Some(from) => Ok(from.months_until(date)),
            None => {
                Err("months_since: the argument is not a date; expected text YYYY-MM-DD".into())
            }
        }
    });
    let st = state.clone();
    engine.register_fn("age", move || date.year() as INT - st.borrow().birth_year);

    engine.register_fn("min", |a: INT, b: INT| a.min(b));
    engine.register_fn("max", |a: INT, b: INT| a.max(b));
    engine.register_fn("min", fmin);
    engine.register_fn("max", fmax);
    engine.register_fn("min", |a: INT, b: f64| fmin(a as f64, b));
    engine.register_fn("max", |a: INT, b: f64| fmax(a as f64, b));
    engine.register_fn("min", |a: f64, b: INT| fmin(a, b as f64));
    engine.register_fn("max", |a: f64, b: INT| fmax(a, b as f64));
    engine.register_fn("clamp", fclamp);
}

/// The rules' `max` of two numbers, the same in the interpreter and the compiled rules: a NaN
/// gives the other number, and 0.0 is above -0.0. (`f64::max` may return either zero, so the
/// same call could give 0.0 in one place and -0.0 in another.)
pub(crate) fn fmax(a: f64, b: f64) -> f64 {
    if a > b || b.is_nan() {
        a
    } else if b > a || a.is_nan() || a.is_sign_negative() {
        b
    } else {
        a
    }
}

/// The rules' `min`: as [`fmax`], with -0.0 below 0.0.
pub(crate) fn fmin(a: f64, b: f64) -> f64 {
    if a < b || b.is_nan() {
        a
    } else if b < a || a.is_nan() || b.is_sign_negative() {
        b
    } else {
        a
    }
}

/// The rules' `clamp`: `min(max(x, lo), hi)`.
pub(crate) fn fclamp(x: f64, lo: f64, hi: f64) -> f64 {
    fmin(fmax(x, lo), hi)
}

/// Makes comparisons between values of different types errors instead of a silent
/// `false` (rhai's default), e.g. `applicant.training_hours >= "120"`.
pub fn register_type_checks(engine: &mut Engine) {
    fn name<T: 'static>() -> &'static str {
        let t = std::any::type_name::<T>();
        match t {
            "i64" => "a number (integer)",
            "f64" => "a number",
            "bool" => "a boolean",
            "()" => "nothing `()` (a missing value)",
            "char" => "a character",
            _ if t.ends_with("ImmutableString") => "text",
            _ if t.ends_with("RuleApplicant") => "an applicant",
            _ => t,
        }
    }
    macro_rules! forbid {
        ($op:literal, $a:ty, $b:ty) => {
            engine.register_fn($op, |_: $a, _: $b| -> Fallible<bool> {
                Err(format!(
                    "type mismatch: `{}` between {} and {}; compare values of the same type",
                    $op,
                    name::<$a>(),
                    name::<$b>()
                )
                .into())
            });
        };
    }
    macro_rules! pair {
        ($a:ty, $b:ty, $eq:literal) => {
            forbid!("<", $a, $b);
            forbid!("<=", $a, $b);
            forbid!(">", $a, $b);
            forbid!(">=", $a, $b);
            if $eq {
                forbid!("==", $a, $b);
                forbid!("!=", $a, $b);
                forbid!("==", $b, $a);
                forbid!("!=", $b, $a);
            }
            forbid!("<", $b, $a);
            forbid!("<=", $b, $a);
            forbid!(">", $b, $a);
            forbid!(">=", $b, $a);
        };
    }
    // Equality with () stays allowed: `x == ()` is how rhai tests for a missing value.
    pair!(INT, ImmutableString, true);
    pair!(f64, ImmutableString, true);
    pair!(bool, ImmutableString, true);
    pair!(INT, bool, true);
    pair!(f64, bool, true);
    pair!(INT, (), false);
    pair!(f64, (), false);
    pair!(bool, (), false);
    pair!(ImmutableString, (), false);
    forbid!("<", bool, bool);
    forbid!("<=", bool, bool);
    forbid!(">", bool, bool);
    forbid!(">=", bool, bool);
}
