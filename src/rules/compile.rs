//! The rule compiler: the scenario's rhai rules turned once into a small typed tree that
//! runs without the interpreter.
//!
//! Why: interpreting the rules cost about ten times more than everything else of scoring
//! together (a dynamic value, a function lookup and a property getter per step). The
//! compiled tree reads `applicant` fields straight from the [`Record`], holds `params` and
//! `program` as constants and calls the host functions directly.
//!
//! It never gives another answer than the interpreter, by construction:
//! - only a small part of the language compiles (constants, `let`, assignment, `if`/`else`,
//!   arithmetic, comparison, logic and the host functions); a scenario using anything else
//!   (loops, functions, arrays, maps, methods...) runs interpreted, and [`Unsupported`] says
//!   where;
//! - each supported operation is evaluated as rhai evaluates it, including its
//!   comparisons of floating-point numbers within a relative epsilon;
//! - whenever the interpreter would raise an error (a wrong type, an integer overflow, a
//!   division by zero, a host function refusing its arguments, a string over the size
//!   limit), the compiled run gives up ([`Bail`]) and the applicant is assessed again by the
//!   interpreter, so every error message is the interpreter's own.
//!
//! A compiled program has no loops and no calls of script functions, so the operations it
//! can take are bounded: [`Program::max_ops`] bounds what the interpreter would count, and a
//! program is only compiled when that bound is within the run's average allowance per
//! applicant, so neither the per-applicant limit nor the run's budget can ever stop it.

use std::sync::Arc;

use rhai::{ASTFlags, Expr as RExpr, FnCallExpr, Position, Stmt as RStmt, AST, INT};

use crate::applicant::{Record, Value};
use crate::assessment::{Check, Offer, ScoreItem};
use crate::date::Date;
use crate::scenario::Mad;

use super::host::{fclamp, fmax, fmin, HostData, MAX_ITEMS, MAX_OFFERS, MAX_SCORE};

mod typed;

/// Why a scenario's rules cannot be compiled: what they use, and where in the joined script.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Unsupported {
    /// The construct, as said to the planner (`` `for` ``, `arrays`, ...).
    pub what: String,
    /// Line in the joined rules (0 when unknown).
    pub line: u64,
}

fn unsupported<T>(what: impl Into<String>, pos: Position) -> Result<T, Unsupported> {
    Err(Unsupported {
        what: what.into(),
        line: pos.line().unwrap_or(0) as u64,
    })
}

/// The compiled run gave up: the interpreter must assess this applicant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Bail;

type Run<T> = Result<T, Bail>;

/// Scenario rules compiled; shared by every thread.
#[derive(Debug)]
pub(crate) struct Program {
    body: Vec<Stmt>,
    /// The same program typed, when every value's type is known before it runs (see
    /// [`typed`]); it runs instead of `body`.
    typed: Option<typed::Typed>,
    /// Quota conditions, in scenario order.
    quotas: Vec<Expr>,
    /// Local variables (each `let` has its own slot).
    slots: usize,
    /// The constant texts checks and score items record, each once.
    texts: Arc<[String]>,
    /// Which of the first [`TRACKED_IDS`] constant texts are blank (empty once trimmed):
    /// a check with such an id is an error.
    blank_texts: u128,
    /// An upper bound of the operations the interpreter counts for one applicant.
    pub max_ops: u64,
    /// The longest string the rules may see (the interpreter's limit).
    max_string: usize,
    /// Texts the rules may see that are not in the record or the scenario (strings are
    /// held as `&String`, a thin pointer, so a value fits in two registers).
    woman: String,
    man: String,
    empty: String,
}

#[derive(Debug)]
enum Stmt {
    Let(usize, Expr),
    Assign(usize, Option<Bin>, Expr),
    If(Expr, Vec<Stmt>, Vec<Stmt>),
    Eval(Expr),
}

#[derive(Debug)]
enum Expr {
    Const(Const),
    Local(usize),
    Field(Field),
    Bin(Bin, Box<(Expr, Expr)>),
    Neg(Box<Expr>),
    Plus(Box<Expr>),
    Not(Box<Expr>),
    And(Vec<Expr>),
    Or(Vec<Expr>),
    Call(Host, Vec<Expr>),
}

#[derive(Debug)]
enum Const {
    Unit,
    Bool(bool),
    Int(INT),
    Float(f64),
    Str(String),
    /// A text a check or score item records, by its index in [`Program::texts`] (so it
    /// is recorded by index, not copied).
    Text(String, u32),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Bin {
    Add,
    Sub,
    Mul,
    Div,
    Rem,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Host {
    Check,
    AddScore,
    OfferKit,
    OfferCash,
    OfferKitAndCash,
    KitCost,
    Eligible,
    Demand,
    KitFor,
    MonthsSince,
    Age,
    Min,
    Max,
    Clamp,
}

impl Host {
    fn by_name(name: &str, args: usize) -> Option<Host> {
        let h = match name {
            "check" => Host::Check,
            "add_score" => Host::AddScore,
            "offer_kit" => Host::OfferKit,
            "offer_cash" => Host::OfferCash,
            "offer_kit_and_cash" => Host::OfferKitAndCash,
            "kit_cost" => Host::KitCost,
            "eligible" => Host::Eligible,
            "demand" => Host::Demand,
            "kit_for" => Host::KitFor,
            "months_since" => Host::MonthsSince,
            "age" => Host::Age,
            "min" => Host::Min,
            "max" => Host::Max,
            "clamp" => Host::Clamp,
            _ => return None,
        };
        let arity = match h {
            Host::Eligible | Host::Age => 0,
            Host::OfferKit | Host::OfferCash | Host::KitCost | Host::KitFor | Host::MonthsSince => {
                1
            }
            Host::AddScore | Host::OfferKitAndCash | Host::Demand | Host::Min | Host::Max => 2,
            Host::Check | Host::Clamp => 3,
        };
        (arity == args).then_some(h)
    }
}

/// An applicant field, resolved when the rules compile.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Field {
    Id,
    Name,
    Gender,
    BirthYear,
    City,
    ReleaseDate,
    TrainingTrack,
    TrainingHours,
    TrainingCertified,
    PmTraining,
    PlanTrade,
    PlanApproved,
    PlanCost,
    ExperienceYears,
    Extra(Box<str>),
}

impl Field {
    fn by_name(name: &str) -> Field {
        match name {
            "id" => Field::Id,
            "name" => Field::Name,
            "gender" => Field::Gender,
            "birth_year" => Field::BirthYear,
            "city" => Field::City,
            "release_date" => Field::ReleaseDate,
            "training_track" => Field::TrainingTrack,
            "training_hours" => Field::TrainingHours,
            "training_certified" => Field::TrainingCertified,
            "pm_training" => Field::PmTraining,
            "plan_trade" => Field::PlanTrade,
            "plan_approved" => Field::PlanApproved,
            "plan_cost" => Field::PlanCost,
            "experience_years" => Field::ExperienceYears,
            other => Field::Extra(other.into()),
        }
    }
}

/// Most `let` statements a compiled program may hold (the engine allows 256 variables,
/// `params`, `program` and `applicant` included).
const MAX_LETS: usize = 200;

/// Turns rhai's AST into a [`Program`].
struct Compiler<'p> {
    params: &'p toml::Table,
    program: &'p (String, String, INT),
    /// Visible variables, innermost last: (name, slot, constant).
    names: Vec<(String, usize, bool)>,
    slots: usize,
    nodes: u64,
    texts: Vec<String>,
}

/// Compiles the rules and quota conditions, or says what keeps them interpreted.
pub(crate) fn compile(
    ast: &AST,
    quotas: &[AST],
    params: &toml::Table,
    program: &(String, String, INT),
    max_string: usize,
    ops_allowed: u64,
) -> Result<Program, Unsupported> {
    if let Some(f) = ast.iter_functions().next() {
        return unsupported(format!("a function `{}`", f.name), Position::NONE);
    }
    let mut c = Compiler {
        params,
        program,
        names: Vec::new(),
        slots: 0,
        nodes: 0,
        texts: Vec::new(),
    };
    let body = c.block(ast.statements())?;
    let mut quota_exprs = Vec::new();
    for q in quotas {
        match q.statements() {
            [RStmt::Expr(e)] => quota_exprs.push(c.expr(e)?),
            [RStmt::FnCall(f, pos)] => quota_exprs.push(c.call(f, *pos)?),
            _ => {
                return unsupported(
                    "a quota condition that is not a plain expression",
                    Position::NONE,
                )
            }
        }
    }
    if c.slots > MAX_LETS {
        return unsupported(format!("more than {MAX_LETS} variables"), Position::NONE);
    }
    // rhai counts at most a few operations per node (the node itself, a call, a getter).
    let max_ops = 4 * c.nodes + 16;
    if max_ops > ops_allowed {
        return unsupported("very long rules", Position::NONE);
    }
    Ok(Program {
        typed: typed::typed(&body, &quota_exprs, c.slots),
        body,
        quotas: quota_exprs,
        slots: c.slots,
        blank_texts: c
            .texts
            .iter()
            .take(TRACKED_IDS as usize)
            .enumerate()
            .filter(|(_, t)| t.trim().is_empty())
            .fold(0, |bits, (i, _)| bits | 1 << i),
        texts: c.texts.into(),
        max_ops,
        max_string,
        woman: "F".into(),
        man: "M".into(),
        empty: String::new(),
    })
}

impl Compiler<'_> {
    fn block(&mut self, stmts: &[RStmt]) -> Result<Vec<Stmt>, Unsupported> {
        let depth = self.names.len();
        let mut out = Vec::with_capacity(stmts.len());
        for s in stmts {
            self.stmt(s, &mut out)?;
        }
        self.names.truncate(depth);
        Ok(out)
    }

    fn stmt(&mut self, s: &RStmt, out: &mut Vec<Stmt>) -> Result<(), Unsupported> {
        self.nodes += 1;
        let pos = s.position();
        match s {
            RStmt::Noop(_) => {}
            RStmt::Expr(e) => out.push(Stmt::Eval(self.expr(e)?)),
            RStmt::FnCall(f, pos) => out.push(Stmt::Eval(self.call(f, *pos)?)),
            RStmt::Block(b) => {
                // A block's variables end with it; its statements run in line.
                let inner = self.block(b.statements())?;
                out.extend(inner);
            }
            RStmt::If(flow, _) => {
                let cond = self.expr(&flow.expr)?;
                let then = self.block(flow.body.statements())?;
                let other = self.block(flow.branch.statements())?;
                out.push(Stmt::If(cond, then, other));
            }
            RStmt::Var(x, flags, _) => {
                let constant = flags.contains(ASTFlags::CONSTANT);
                if flags.intersects(ASTFlags::EXPORTED) {
                    return unsupported("`export`", pos);
                }
                let value = self.expr(&x.1)?;
                let name = x.0.name.as_str();
                if matches!(name, "applicant" | "params" | "program") {
                    return unsupported(format!("a variable named `{name}`"), pos);
                }
                let slot = self.slots;
                self.slots += 1;
                self.names.push((name.to_string(), slot, constant));
                out.push(Stmt::Let(slot, value));
            }
            RStmt::Assignment(x) => {
                let (op_assign, bin) = &**x;
                let slot = match &bin.lhs {
                    RExpr::Variable(v, _, _) if v.2.is_empty() => match self.local(&v.1) {
                        Some((slot, false)) => slot,
                        _ => return unsupported(format!("an assignment to `{}`", v.1), pos),
                    },
                    _ => return unsupported("an assignment to a property or index", pos),
                };
                let op = match op_assign.get_op_assignment_info() {
                    None => None,
                    Some((.., op)) => match binary(op) {
                        Some(b @ (Bin::Add | Bin::Sub | Bin::Mul | Bin::Div | Bin::Rem)) => Some(b),
                        _ => return unsupported(format!("`{op}=`"), pos),
                    },
                };
                let value = self.expr(&bin.rhs)?;
                out.push(Stmt::Assign(slot, op, value));
            }
            RStmt::While(flow, _) if matches!(flow.expr, RExpr::Unit(_)) => {
                return unsupported("`loop`", pos)
            }
            RStmt::While(..) => return unsupported("`while`", pos),
            RStmt::Do(..) => return unsupported("`do`", pos),
            RStmt::For(..) => return unsupported("`for`", pos),
            RStmt::Switch(..) => return unsupported("`switch`", pos),
            RStmt::TryCatch(..) => return unsupported("`try`", pos),
            RStmt::Return(..) => return unsupported("`return`", pos),
            RStmt::BreakLoop(..) => return unsupported("`break`", pos),
            _ => return unsupported("a statement the compiler does not know", pos),
        }
        Ok(())
    }

    fn local(&self, name: &str) -> Option<(usize, bool)> {
        self.names
            .iter()
            .rev()
            .find(|(n, ..)| n == name)
            .map(|(_, slot, constant)| (*slot, *constant))
    }

    fn expr(&mut self, e: &RExpr) -> Result<Expr, Unsupported> {
        self.nodes += 1;
        let pos = e.start_position();
        Ok(match e {
            RExpr::BoolConstant(b, _) => Expr::Const(Const::Bool(*b)),
            RExpr::IntegerConstant(i, _) => Expr::Const(Const::Int(*i)),
            RExpr::FloatConstant(f, _) => Expr::Const(Const::Float(**f)),
            RExpr::StringConstant(s, _) => Expr::Const(Const::Str(s.to_string())),
            RExpr::Unit(_) => Expr::Const(Const::Unit),
            RExpr::DynamicConstant(d, _) => Expr::Const(dynamic_const(d).ok_or(Unsupported {
                what: format!("a constant of type {}", d.type_name()),
                line: pos.line().unwrap_or(0) as u64,
            })?),
            RExpr::Variable(v, _, _) if v.2.is_empty() => match self.local(&v.1) {
                Some((slot, _)) => Expr::Local(slot),
                None => return unsupported(format!("`{}` as a whole value", v.1), pos),
            },
            RExpr::Dot(x, flags, _) => {
                if flags.contains(ASTFlags::NEGATED) {
                    return unsupported("`?.`", pos);
                }
                let base = match &x.lhs {
                    RExpr::Variable(v, _, _) if v.2.is_empty() && self.local(&v.1).is_none() => {
                        v.1.as_str()
                    }
                    _ => return unsupported("a property of a computed value", pos),
                };
                let name = match &x.rhs {
                    RExpr::Property(p, _) => p.2.as_str(),
                    RExpr::MethodCall(f, _) => {
                        return unsupported(format!("the method `.{}()`", f.name), pos)
                    }
                    _ => return unsupported("a chain of properties", pos),
                };
                match base {
                    "applicant" => Expr::Field(Field::by_name(name)),
                    "params" => match self.params.get(name).and_then(toml_const) {
                        Some(c) => Expr::Const(c),
                        None => return unsupported(format!("`params.{name}`"), pos),
                    },
                    "program" => Expr::Const(match name {
                        "name" => Const::Str(self.program.0.clone()),
                        "date" => Const::Str(self.program.1.clone()),
                        "year" => Const::Int(self.program.2),
                        _ => return unsupported(format!("`program.{name}`"), pos),
                    }),
                    other => return unsupported(format!("a property of `{other}`"), pos),
                }
            }
            RExpr::And(list, _) => Expr::And(self.exprs(list)?),
            RExpr::Or(list, _) => Expr::Or(self.exprs(list)?),
            RExpr::FnCall(f, pos) => self.call(f, *pos)?,
            RExpr::MethodCall(f, _) => {
                return unsupported(format!("the method `.{}()`", f.name), pos)
            }
            RExpr::Array(..) => return unsupported("arrays", pos),
            RExpr::Map(..) => return unsupported("object maps", pos),
            RExpr::Index(..) => return unsupported("indexing `[...]`", pos),
            RExpr::InterpolatedString(..) => return unsupported("string interpolation", pos),
            RExpr::CharConstant(..) => return unsupported("characters", pos),
            RExpr::Stmt(..) => return unsupported("a block as a value", pos),
            RExpr::Coalesce(..) => return unsupported("`??`", pos),
            _ => return unsupported("an expression the compiler does not know", pos),
        })
    }

    fn exprs(&mut self, list: &[RExpr]) -> Result<Vec<Expr>, Unsupported> {
        list.iter().map(|e| self.expr(e)).collect()
    }

    fn call(&mut self, f: &FnCallExpr, pos: Position) -> Result<Expr, Unsupported> {
        self.nodes += 1;
        if !f.namespace.is_empty() || f.capture_parent_scope {
            return unsupported(format!("`{}!` or a namespace", f.name), pos);
        }
        let name = f.name.as_str();
        if f.op_token.is_some() {
            let mut args = self.exprs(&f.args)?;
            return Ok(match (name, args.len()) {
                ("!", 1) => Expr::Not(Box::new(args.remove(0))),
                ("-", 1) => Expr::Neg(Box::new(args.remove(0))),
                ("+", 1) => Expr::Plus(Box::new(args.remove(0))),
                (_, 2) => match binary(name) {
                    Some(op) => {
                        let b = args.remove(1);
                        let a = args.remove(0);
                        Expr::Bin(op, Box::new((a, b)))
                    }
                    None => return unsupported(format!("the operator `{name}`"), pos),
                },
                _ => return unsupported(format!("the operator `{name}`"), pos),
            });
        }
        match Host::by_name(name, f.args.len()) {
            Some(h) => {
                let mut args = self.exprs(&f.args)?;
                let texts = match h {
                    Host::Check => 0..2,
                    Host::AddScore => 1..2,
                    _ => 0..0,
                };
                for a in &mut args[texts] {
                    if let Expr::Const(Const::Str(t)) = a {
                        let t = std::mem::take(t);
                        let i = match self.texts.iter().position(|x| *x == t) {
                            Some(i) => i,
                            None => {
                                self.texts.push(t.clone());
                                self.texts.len() - 1
                            }
                        };
                        *a = Expr::Const(Const::Text(t, i as u32));
                    }
                }
                Ok(Expr::Call(h, args))
            }
            None => unsupported(format!("`{name}()`"), pos),
        }
    }
}

fn binary(op: &str) -> Option<Bin> {
    Some(match op {
        "+" => Bin::Add,
        "-" => Bin::Sub,
        "*" => Bin::Mul,
        "/" => Bin::Div,
        "%" => Bin::Rem,
        "==" => Bin::Eq,
        "!=" => Bin::Ne,
        "<" => Bin::Lt,
        "<=" => Bin::Le,
        ">" => Bin::Gt,
        ">=" => Bin::Ge,
        _ => return None,
    })
}

fn dynamic_const(d: &rhai::Dynamic) -> Option<Const> {
    if d.is_unit() {
        Some(Const::Unit)
    } else if let Ok(b) = d.as_bool() {
        Some(Const::Bool(b))
    } else if let Ok(i) = d.as_int() {
        Some(Const::Int(i))
    } else if let Ok(f) = d.as_float() {
        Some(Const::Float(f))
    } else if d.is_string() {
        d.clone()
            .into_immutable_string()
            .ok()
            .map(|s| Const::Str(s.to_string()))
    } else {
        None
    }
}

/// A parameter as the rules see it (see `to_dynamic` in the parent module).
fn toml_const(v: &toml::Value) -> Option<Const> {
    Some(match v {
        toml::Value::String(s) => Const::Str(s.clone()),
        toml::Value::Integer(i) => Const::Int(*i as INT),
        toml::Value::Float(f) => Const::Float(*f),
        toml::Value::Boolean(b) => Const::Bool(*b),
        toml::Value::Datetime(d) => Const::Str(d.to_string()),
        _ => return None,
    })
}

/// A value while the compiled rules run.
#[derive(Debug, Clone, Copy)]
enum V<'a> {
    Unit,
    Bool(bool),
    Int(INT),
    /// A float by its bits: a value without a float field is handed back in two registers,
    /// not through memory.
    Float(u64),
    Str(&'a String),
    /// A date the rules see as its `YYYY-MM-DD` text (the release date); by reference, so
    /// every payload is one 8-byte word.
    Date(&'a Date),
}

/// A text the compiled rules recorded: one of the program's constant texts, or a range of
/// [`Out::text`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Span {
    Const(u32),
    Kept(u32, u32),
}

/// Constant check ids the compiled rules track in a bit set (more are compared as text).
const TRACKED_IDS: u32 = 128;

/// One `check` call, its texts in [`Out::text`].
#[derive(Debug, Clone, Copy)]
pub(crate) struct OutCheck {
    pub id: Span,
    pub text: Span,
    pub passed: bool,
}

/// One `add_score` call, its reason in [`Out::text`].
#[derive(Debug, Clone, Copy)]
pub(crate) struct OutScore {
    pub points: f64,
    pub why: Span,
}

/// One offer, its kit id in [`Out::text`].
#[derive(Debug, Clone, Copy)]
pub(crate) struct OutOffer {
    pub kit: Option<Span>,
    pub kit_cost: Mad,
    pub cash: Mad,
}

/// What the compiled rules recorded for one applicant; reused from one applicant to the
/// next. Texts are copied into one buffer rather than into a `String` each: scoring a
/// row then allocates nothing.
#[derive(Debug, Default)]
pub(crate) struct Out {
    /// Every text recorded that is not one of the program's constants, back to back.
    pub text: String,
    /// The program's constant texts.
    consts: Arc<[String]>,
    /// Constant check ids recorded, by index.
    const_ids: u128,
    /// True once a check id that is not a constant is recorded.
    other_ids: bool,
    pub checks: Vec<OutCheck>,
    pub score_items: Vec<OutScore>,
    pub offers: Vec<OutOffer>,
    /// Cash offers rounded to whole MAD.
    pub rounded: u64,
    /// Indexes of the quotas whose condition holds.
    pub quotas: Vec<usize>,
}

impl Out {
    fn clear(&mut self) {
        self.text.clear();
        self.const_ids = 0;
        self.other_ids = false;
        self.checks.clear();
        self.score_items.clear();
        self.offers.clear();
        self.quotas.clear();
        self.rounded = 0;
    }

    /// True when every check recorded so far passed.
    pub fn all_passed(&self) -> bool {
        self.checks.iter().all(|c| c.passed)
    }

    /// The text `s` stands for.
    pub fn str(&self, s: Span) -> &str {
        match s {
            Span::Const(i) => self.consts.get(i as usize).map_or("", String::as_str),
            Span::Kept(start, end) => self.text.get(start as usize..end as usize).unwrap_or(""),
        }
    }

    /// The score: the sum of the items, in order (as the interpreter sums them).
    pub fn score(&self) -> f64 {
        self.score_items.iter().map(|s| s.points).sum()
    }

    fn keep(&mut self, s: &str) -> Run<Span> {
        let start = u32::try_from(self.text.len()).map_err(|_| Bail)?;
        let end = u32::try_from(self.text.len() + s.len()).map_err(|_| Bail)?;
        self.text.push_str(s);
        Ok(Span::Kept(start, end))
    }

    /// `s`, or the constant `c` when the rules gave one.
    fn keep_or(&mut self, c: Option<u32>, s: &str) -> Run<Span> {
        match c {
            Some(i) => Ok(Span::Const(i)),
            None => self.keep(s),
        }
    }

    /// The checks `keep` keeps, as the interpreter records them.
    pub(crate) fn checks_where(&self, keep: impl Fn(&OutCheck) -> bool) -> Vec<Check> {
        self.checks
            .iter()
            .filter(|c| keep(c))
            .map(|c| Check {
                id: self.str(c.id).to_string(),
                text: self.str(c.text).to_string(),
                passed: c.passed,
                read: Vec::new(),
            })
            .collect()
    }

    /// The score items as the interpreter records them.
    pub fn score_items(&self) -> Vec<ScoreItem> {
        self.score_items
            .iter()
            .map(|s| ScoreItem {
                points: s.points,
                why: self.str(s.why).to_string(),
            })
            .collect()
    }

    /// The offers as the interpreter records them.
    pub fn offers(&self) -> Vec<Offer> {
        self.offers
            .iter()
            .map(|o| Offer {
                kit: o.kit.map(|k| self.str(k).to_string()),
                kit_cost: o.kit_cost,
                cash: o.cash,
            })
            .collect()
    }
}

struct Ctx<'a, 'o> {
    prog: &'a Program,
    data: &'a HostData,
    rec: &'a Record,
    locals: &'o mut [V<'a>],
    out: &'o mut Out,
    /// The last `demand` looked up: its city and trade (the very strings, which do not
    /// change during a run) and the answer. Rules usually ask it twice for the
    /// applicant's own city and trade (a check, then the score).
    demand: Option<(&'a String, &'a String, f64)>,
}

/// Local variables a program keeps on the stack; more take an allocation per applicant.
const STACK_LOCALS: usize = 32;

impl Program {
    /// True when the program runs typed (see [`typed`]).
    #[cfg(test)]
    pub(crate) fn is_typed(&self) -> bool {
        self.typed.is_some()
    }

    /// Runs the rules (and, for an eligible applicant, the quota conditions) for `rec`,
    /// filling `out`; [`Bail`] wherever the interpreter would raise an error.
    pub(crate) fn run(&self, data: &HostData, rec: &Record, out: &mut Out) -> Result<(), Bail> {
        out.clear();
        if !Arc::ptr_eq(&out.consts, &self.texts) {
            out.consts = Arc::clone(&self.texts);
        }
        let mut stack = [V::Unit; STACK_LOCALS];
        let mut heap = Vec::new();
        let locals = if self.slots <= STACK_LOCALS {
            &mut stack[..self.slots]
        } else {
            heap.resize(self.slots, V::Unit);
            &mut heap[..]
        };
        let mut cx = Ctx {
            prog: self,
            data,
            rec,
            locals,
            out,
            demand: None,
        };
        if let Some(t) = &self.typed {
            cx.t_block(&t.body)?;
            if cx.out.all_passed() {
                for (i, q) in t.quotas.iter().enumerate() {
                    if cx.t_bool(q)? {
                        cx.out.quotas.push(i);
                    }
                }
            }
            return Ok(());
        }
        cx.block(&self.body)?;
        if cx.out.all_passed() {
            for (i, q) in self.quotas.iter().enumerate() {
                match cx.expr(q)? {
                    V::Bool(true) => cx.out.quotas.push(i),
                    V::Bool(false) => {}
                    _ => return Err(Bail),
                }
            }
        }
        Ok(())
    }
}

/// The index of a constant text a check or score item records.
fn const_text(e: &Expr) -> Option<u32> {
    match e {
        Expr::Const(Const::Text(_, i)) => Some(*i),
        _ => None,
    }
}

/// The text of a string value; dates are written into `buf`.
fn text<'s>(v: &'s V<'_>, buf: &'s mut [u8; 10]) -> Run<&'s str> {
    match v {
        V::Str(s) => Ok(s.as_str()),
        V::Date(d) => date_text(**d, buf),
        _ => Err(Bail),
    }
}

/// `d` as `YYYY-MM-DD` (what the rules see), for years of four digits; others bail.
fn date_text(d: Date, buf: &mut [u8; 10]) -> Run<&str> {
    let year = d.year();
    if !(1000..=9999).contains(&year) {
        return Err(Bail);
    }
    let (m, day) = (d.month(), d.day());
    let digit = |n: u32| b'0' + (n % 10) as u8;
    let y = year as u32;
    *buf = [
        digit(y / 1000),
        digit(y / 100),
        digit(y / 10),
        digit(y),
        b'-',
        digit(m / 10),
        digit(m),
        b'-',
        digit(day / 10),
        digit(day),
    ];
    std::str::from_utf8(buf).map_err(|_| Bail)
}

fn fbits(x: f64) -> u64 {
    x.to_bits()
}

fn number(v: V) -> Run<f64> {
    match v {
        V::Int(i) => Ok(i as f64),
        V::Float(f) => Ok(f64::from_bits(f)),
        _ => Err(Bail),
    }
}

/// rhai's comparison of two floating-point numbers (within a relative epsilon), written
/// as rhai writes it so every edge case (zeros, infinities, NaN) agrees.
fn float_cmp(op: Bin, x: f64, y: f64) -> bool {
    let max = if x * y == 0.0 {
        1.0
    } else {
        x.abs().max(y.abs())
    };
    match op {
        Bin::Eq => max == 0.0 || (x - y).abs() / max <= f64::EPSILON,
        Bin::Ne => max != 0.0 && (x - y).abs() / max > f64::EPSILON,
        Bin::Gt => max != 0.0 && (x - y) / max > f64::EPSILON,
        Bin::Ge => max == 0.0 || (x - y) / max > -f64::EPSILON,
        Bin::Lt => max != 0.0 && (y - x) / max > f64::EPSILON,
        Bin::Le => max == 0.0 || (y - x) / max > -f64::EPSILON,
        _ => false,
    }
}

fn ordered<T: PartialOrd>(op: Bin, a: T, b: T) -> bool {
    match op {
        Bin::Eq => a == b,
        Bin::Ne => a != b,
        Bin::Lt => a < b,
        Bin::Le => a <= b,
        Bin::Gt => a > b,
        Bin::Ge => a >= b,
        _ => false,
    }
}

fn binop<'a>(op: Bin, a: V<'a>, b: V<'a>) -> Run<V<'a>> {
    use Bin::*;
    Ok(match (a, b) {
        (V::Int(x), V::Int(y)) => match op {
            Add => V::Int(x.checked_add(y).ok_or(Bail)?),
            Sub => V::Int(x.checked_sub(y).ok_or(Bail)?),
            Mul => V::Int(x.checked_mul(y).ok_or(Bail)?),
            Div => V::Int(x.checked_div(y).ok_or(Bail)?),
            Rem => V::Int(x.checked_rem(y).ok_or(Bail)?),
            _ => V::Bool(ordered(op, x, y)),
        },
        (V::Int(_) | V::Float(_), V::Int(_) | V::Float(_)) => {
            let (x, y) = (number(a)?, number(b)?);
            match op {
                Add => V::Float(fbits(x + y)),
                Sub => V::Float(fbits(x - y)),
                Mul => V::Float(fbits(x * y)),
                Div => V::Float(fbits(x / y)),
                Rem => V::Float(fbits(x % y)),
                _ => V::Bool(float_cmp(op, x, y)),
            }
        }
        (V::Bool(x), V::Bool(y)) => match op {
            Eq => V::Bool(x == y),
            Ne => V::Bool(x != y),
            _ => return Err(Bail),
        },
        (V::Str(_) | V::Date(_), V::Str(_) | V::Date(_)) => {
            if matches!(op, Add | Sub | Mul | Div | Rem) {
                return Err(Bail);
            }
            let (mut ba, mut bb) = ([0; 10], [0; 10]);
            let (x, y) = (text(&a, &mut ba)?, text(&b, &mut bb)?);
            V::Bool(ordered(op, x, y))
        }
        _ => return Err(Bail),
    })
}

fn constant(c: &Const) -> V<'_> {
    match c {
        Const::Unit => V::Unit,
        Const::Bool(b) => V::Bool(*b),
        Const::Int(i) => V::Int(*i),
        Const::Float(f) => V::Float(f.to_bits()),
        Const::Str(s) | Const::Text(s, _) => V::Str(s),
    }
}

impl<'a> Ctx<'a, '_> {
    fn block(&mut self, stmts: &'a [Stmt]) -> Run<()> {
        for s in stmts {
            match s {
                Stmt::Let(slot, e) => self.locals[*slot] = self.expr(e)?,
                Stmt::Assign(slot, op, e) => {
                    let v = self.expr(e)?;
                    self.locals[*slot] = match op {
                        Some(op) => match (self.locals[*slot], v) {
                            (a @ (V::Int(_) | V::Float(_)), b @ (V::Int(_) | V::Float(_))) => {
                                binop(*op, a, b)?
                            }
                            _ => return Err(Bail),
                        },
                        None => v,
                    };
                }
                Stmt::If(c, then, other) => match self.expr(c)? {
                    V::Bool(true) => self.block(then)?,
                    V::Bool(false) => self.block(other)?,
                    _ => return Err(Bail),
                },
                Stmt::Eval(e) => {
                    self.expr(e)?;
                }
            }
        }
        Ok(())
    }

    /// An operand: leaves are read in line, so their value stays in registers (a value
    /// returned from a call goes through memory, and reading it back stalls).
    #[inline(always)]
    fn operand(&mut self, e: &'a Expr) -> Run<V<'a>> {
        match e {
            Expr::Const(c) => Ok(constant(c)),
            Expr::Local(slot) => Ok(self.locals[*slot]),
            Expr::Field(f) => self.field(f),
            _ => self.expr(e),
        }
    }

    fn expr(&mut self, e: &'a Expr) -> Run<V<'a>> {
        Ok(match e {
            Expr::Const(c) => constant(c),
            Expr::Local(slot) => self.locals[*slot],
            Expr::Field(f) => self.field(f)?,
            Expr::Bin(op, ab) => {
                let a = self.operand(&ab.0)?;
                let b = self.operand(&ab.1)?;
                binop(*op, a, b)?
            }
            Expr::Neg(x) => match self.expr(x)? {
                V::Int(i) => V::Int(i.checked_neg().ok_or(Bail)?),
                V::Float(f) => V::Float((-f64::from_bits(f)).to_bits()),
                _ => return Err(Bail),
            },
            Expr::Plus(x) => match self.expr(x)? {
                v @ (V::Int(_) | V::Float(_)) => v,
                _ => return Err(Bail),
            },
            Expr::Not(x) => match self.expr(x)? {
                V::Bool(b) => V::Bool(!b),
                _ => return Err(Bail),
            },
            Expr::And(list) => {
                for x in list {
                    match self.expr(x)? {
                        V::Bool(true) => {}
                        V::Bool(false) => return Ok(V::Bool(false)),
                        _ => return Err(Bail),
                    }
                }
                V::Bool(true)
            }
            Expr::Or(list) => {
                for x in list {
                    match self.expr(x)? {
                        V::Bool(false) => {}
                        V::Bool(true) => return Ok(V::Bool(true)),
                        _ => return Err(Bail),
                    }
                }
                V::Bool(false)
            }
            Expr::Call(h, args) => self.call(*h, args)?,
        })
    }

    fn string(&self, s: &'a String) -> Run<V<'a>> {
        if s.len() > self.prog.max_string {
            return Err(Bail);
        }
        Ok(V::Str(s))
    }

    #[inline(always)]
    fn field(&self, f: &'a Field) -> Run<V<'a>> {
        let r = self.rec;
        Ok(match f {
            Field::Id => self.string(&r.id)?,
            Field::Name => self.string(&r.name)?,
            Field::Gender => V::Str(match r.gender {
                crate::applicant::Gender::F => &self.prog.woman,
                crate::applicant::Gender::M => &self.prog.man,
            }),
            Field::BirthYear => V::Int(r.birth_year as INT),
            Field::City => self.string(&r.city)?,
            Field::ReleaseDate => V::Date(&r.release_date),
            Field::TrainingTrack => self.string(&r.training_track)?,
            Field::TrainingHours => V::Float(fbits(r.training_hours)),
            Field::TrainingCertified => V::Bool(r.training_certified),
            Field::PmTraining => V::Bool(r.pm_training),
            Field::PlanTrade => self.string(&r.plan_trade)?,
            Field::PlanApproved => V::Bool(r.plan_approved),
            Field::PlanCost => V::Float(fbits(r.plan_cost)),
            Field::ExperienceYears => V::Float(fbits(r.experience_years)),
            Field::Extra(name) => match r.extra(name) {
                Some(Value::Number(n)) => V::Float(fbits(*n)),
                Some(Value::Text(t)) => self.string(t)?,
                None => return Err(Bail),
            },
        })
    }

    // Kept out of `expr`, whose frame every nested expression pays for.
    #[inline(never)]
    fn call(&mut self, h: Host, args: &'a [Expr]) -> Run<V<'a>> {
        let vals = self.arg_values(args, |cx, a| cx.operand(a))?;
        let consts = [
            args.first().and_then(const_text),
            args.get(1).and_then(const_text),
        ];
        self.apply(h, consts, vals)
    }

    /// The values of a host function's arguments (at most three), each evaluated by `eval`
    /// in order. Named values rather than an array filled in a loop: the compiler keeps
    /// them in registers instead of copying each through memory.
    #[inline(always)]
    fn arg_values<T>(
        &mut self,
        args: &'a [T],
        eval: impl Fn(&mut Self, &'a T) -> Run<V<'a>>,
    ) -> Run<[V<'a>; 3]> {
        Ok(match args {
            [] => [V::Unit; 3],
            [a] => [eval(self, a)?, V::Unit, V::Unit],
            [a, b] => {
                let a = eval(self, a)?;
                [a, eval(self, b)?, V::Unit]
            }
            [a, b, c] => {
                let a = eval(self, a)?;
                let b = eval(self, b)?;
                [a, b, eval(self, c)?]
            }
            _ => return Err(Bail),
        })
    }

    /// Host function `h` on its arguments' values; `consts` are the indexes of its first two
    /// arguments among the program's constant texts, where they are such constants.
    fn apply(&mut self, h: Host, consts: [Option<u32>; 2], vals: [V<'a>; 3]) -> Run<V<'a>> {
        let (mut b0, mut b1) = ([0; 10], [0; 10]);
        Ok(match h {
            Host::Check => {
                let V::Bool(passed) = vals[2] else {
                    return Err(Bail);
                };
                let [id_c, text_c] = consts;
                if let (Some(i), Some(t)) = (id_c, text_c) {
                    if let Some(done) = self.const_check(i, t, passed) {
                        return done.map(|()| V::Unit);
                    }
                }
                let out = &mut *self.out;
                let (id, words) = (text(&vals[0], &mut b0)?, text(&vals[1], &mut b1)?);
                let seen = match id_c {
                    Some(i) if i < TRACKED_IDS && !out.other_ids => out.const_ids & (1 << i) != 0,
                    _ => out.checks.iter().any(|c| out.str(c.id) == id),
                };
                if id.trim().is_empty() || seen || out.checks.len() >= MAX_ITEMS {
                    return Err(Bail);
                }
                match id_c {
                    Some(i) if i < TRACKED_IDS => out.const_ids |= 1 << i,
                    _ => out.other_ids = true,
                }
                let (id, text) = (out.keep_or(id_c, id)?, out.keep_or(text_c, words)?);
                out.checks.push(OutCheck { id, text, passed });
                V::Unit
            }
            Host::AddScore => {
                let points = number(vals[0])?;
                // A constant reason is recorded by its index: its text is not needed.
                let why_c = consts[1];
                let why = match why_c {
                    Some(_) => "",
                    None => text(&vals[1], &mut b1)?,
                };
                self.add_score(points, why_c, why)?;
                V::Unit
            }
            Host::OfferKit => {
                let kit = text(&vals[0], &mut b0)?;
                self.offer(Some(kit), 0.0)?
            }
            Host::OfferCash => self.offer(None, number(vals[0])?)?,
            Host::OfferKitAndCash => {
                let kit = text(&vals[0], &mut b0)?;
                self.offer(Some(kit), number(vals[1])?)?
            }
            Host::KitCost => {
                let kit = text(&vals[0], &mut b0)?;
                V::Int(*self.data.kits.get(kit).ok_or(Bail)?)
            }
            Host::Eligible => V::Bool(self.out.all_passed()),
            Host::Demand => V::Float(fbits(self.demand_of(vals[0], vals[1])?)),
            Host::KitFor => self.kit_for(vals[0])?,
            Host::MonthsSince => {
                let from = match vals[0] {
                    V::Date(d) if (1000..=9999).contains(&d.year()) => *d,
                    V::Str(s) => Date::parse(s).ok_or(Bail)?,
                    _ => return Err(Bail),
                };
                V::Int(from.months_until(self.data.date))
            }
            Host::Age => V::Int(self.data.date.year() as INT - self.rec.birth_year as INT),
            Host::Min | Host::Max => {
                let min = h == Host::Min;
                match (vals[0], vals[1]) {
                    (V::Int(a), V::Int(b)) => V::Int(if min { a.min(b) } else { a.max(b) }),
                    (a @ (V::Int(_) | V::Float(_)), b @ (V::Int(_) | V::Float(_))) => {
                        let (a, b) = (number(a)?, number(b)?);
                        V::Float(fbits(if min { fmin(a, b) } else { fmax(a, b) }))
                    }
                    _ => return Err(Bail),
                }
            }
            Host::Clamp => match vals {
                [V::Float(x), V::Float(lo), V::Float(hi)] => {
                    let [x, lo, hi] = [x, lo, hi].map(f64::from_bits);
                    V::Float(fclamp(x, lo, hi).to_bits())
                }
                _ => return Err(Bail),
            },
        })
    }

    /// A check whose id and text are the constant texts `i` and `t`, the usual case: what
    /// the general case of `check` does, with the id's blankness known when the rules
    /// compiled; `None` when the general case must record it (an id not tracked by index).
    fn const_check(&mut self, i: u32, t: u32, passed: bool) -> Option<Run<()>> {
        let out = &mut *self.out;
        if i >= TRACKED_IDS || out.other_ids {
            return None;
        }
        if self.prog.blank_texts & (1 << i) != 0
            || out.const_ids & (1 << i) != 0
            || out.checks.len() >= MAX_ITEMS
        {
            return Some(Err(Bail));
        }
        out.const_ids |= 1 << i;
        out.checks.push(OutCheck {
            id: Span::Const(i),
            text: Span::Const(t),
            passed,
        });
        Some(Ok(()))
    }

    /// `add_score(points, why)`; `why_c` is the reason's index when it is a constant text
    /// (then `why` is not read).
    fn add_score(&mut self, points: f64, why_c: Option<u32>, why: &str) -> Run<()> {
        let out = &mut *self.out;
        if !points.is_finite() || out.score_items.len() >= MAX_ITEMS {
            return Err(Bail);
        }
        let total: f64 = out.score() + points;
        if !total.is_finite() || total.abs() > MAX_SCORE {
            return Err(Bail);
        }
        let why = out.keep_or(why_c, why)?;
        out.score_items.push(OutScore { points, why });
        Ok(())
    }

    /// `demand(city, trade)`.
    fn demand_of(&mut self, city: V<'a>, trade: V<'a>) -> Run<f64> {
        Ok(match (city, trade) {
            (V::Str(city), V::Str(trade)) => {
                let known = self
                    .demand
                    .filter(|(c, t, _)| std::ptr::eq(*c, city) && std::ptr::eq(*t, trade));
                let d = match known {
                    Some((.., d)) => d,
                    None => self.data.market.demand(city, trade),
                };
                self.demand = Some((city, trade, d));
                d
            }
            _ => {
                let (mut b0, mut b1) = ([0; 10], [0; 10]);
                let (city, trade) = (text(&city, &mut b0)?, text(&trade, &mut b1)?);
                self.data.market.demand(city, trade)
            }
        })
    }

    /// `kit_for(trade)`.
    fn kit_for(&self, trade: V<'a>) -> Run<V<'a>> {
        let mut b = [0; 10];
        Ok(match self.data.kit_for.get(text(&trade, &mut b)?) {
            Some(id) => self.string(id)?,
            None => V::Str(&self.prog.empty),
        })
    }

    /// `offer_kit`, `offer_cash` and `offer_kit_and_cash`, as the host functions do them.
    fn offer(&mut self, kit: Option<&str>, cash: f64) -> Run<V<'a>> {
        let (kit, kit_cost) = match kit {
            Some(k) => (Some(k), *self.data.kits.get(k).ok_or(Bail)?),
            None => (None, 0),
        };
        if !cash.is_finite() || !(0.0..=1e12).contains(&cash) {
            return Err(Bail);
        }
        let whole = cash.round() as Mad;
        if whole as f64 != cash {
            self.out.rounded += 1;
        }
        if kit.is_none() && whole == 0 {
            return Ok(V::Unit);
        }
        let out = &mut *self.out;
        let same = |o: &OutOffer| {
            o.kit.map(|k| out.str(k)) == kit && o.kit_cost == kit_cost && o.cash == whole
        };
        if !out.offers.iter().any(same) {
            if out.offers.len() >= MAX_OFFERS {
                return Err(Bail);
            }
            let kit = match kit {
                Some(k) => Some(out.keep(k)?),
                None => None,
            };
            out.offers.push(OutOffer {
                kit,
                kit_cost,
                cash: whole,
            });
        }
        Ok(V::Unit)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_read_as_the_interpreter_shows_them() {
        for (y, m, d) in [(2016, 6, 6), (1999, 12, 31), (1000, 1, 1), (9999, 10, 9)] {
            let date = Date::new(y, m, d).unwrap();
            let mut buf = [0; 10];
            assert_eq!(date_text(date, &mut buf), Ok(date.to_string().as_str()));
        }
        let mut buf = [0; 10];
        assert_eq!(
            date_text(Date::new(999, 1, 1).unwrap(), &mut buf),
            Err(Bail)
        );
    }

    #[test]
    fn floats_compare_within_rhais_epsilon() {
        assert!(float_cmp(Bin::Eq, 0.1 + 0.2, 0.3));
        assert!(!float_cmp(Bin::Lt, 0.3, 0.1 + 0.2));
        assert!(float_cmp(Bin::Ge, 0.3, 0.1 + 0.2));
        assert!(float_cmp(Bin::Eq, f64::NAN, 0.0));
        assert!(!float_cmp(Bin::Eq, 1.0, 1.5));
    }
}
