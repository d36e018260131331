//! The compiled program typed: where every value's type is known when the rules compile
//! (the shipped rules, and most rules planners write), each expression is evaluated as the
//! number, flag or text it is, without a tagged value to build and match at every step.
//!
//! Why: the general tree ([`Expr`]) checks the type of every operand at run time, as rhai
//! does; for rules whose types never vary that was most of the cost of scoring.
//!
//! It gives the same answers as the general tree, by construction: it is made from that
//! tree, node by node, and only where the type of every node follows from the types of
//! its parts as the general tree's evaluation would find them at run time (applicant fields,
//! constants and host functions have fixed types; a variable keeps the type of its `let`).
//! Anything else — an operation the general tree would refuse at run time, a variable
//! assigned a value of another type, an extra column (a number or a text depending on the
//! cell), a host function with a side effect used as a value — leaves the program untyped,
//! and the general tree runs it. Whatever can still fail at run time (integer overflow,
//! division by zero, a text over the size limit, a date rhai cannot show, a host function
//! refusing its arguments) gives up ([`Bail`]) exactly where the general tree does, and the
//! host functions with side effects are the general tree's own ([`Ctx::apply`]).
//!
//! Constant parts are folded when the rules compile (`2.0 * params.min_training_hours`,
//! `if params.require_certificate`), and two common comparisons take a shortcut: the release
//! date against a constant date, and the gender against a constant text.

use super::{float_cmp, ordered, text, Bail, Bin, Const, Ctx, Expr, Field, Host, Run, Stmt, V};
use crate::applicant::Gender;
use crate::date::Date;
use crate::rules::host::{fclamp, fmax, fmin};
use rhai::INT;

/// A typed program: the body and quota conditions.
#[derive(Debug)]
pub(super) struct Typed {
    pub body: Vec<S>,
    pub quotas: Vec<B>,
}

/// The type of a value, as the general tree would find it at run time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ty {
    Unit,
    Bool,
    Int,
    Float,
    Str,
}

/// A statement.
#[derive(Debug)]
pub(super) enum S {
    /// A variable set (by `let`, or by an assignment of a value of its type).
    Set(usize, E),
    If(B, Vec<S>, Vec<S>),
    /// A check whose id and text are constant texts (by index): the usual check.
    Check(u32, u32, B),
    /// `add_score` with a constant reason (by index).
    Score(F, u32),
    OfferKit(Str),
    OfferCash(F),
    OfferKitAndCash(Str, F),
    /// Any other call of a host function with a side effect (`check`, `add_score`): its
    /// arguments' values, and the constant texts among its first two.
    Host(Host, [Option<u32>; 2], Vec<E>),
    /// An expression whose value is not used (it may still give up).
    Eval(E),
}

/// An expression of any type.
#[derive(Debug)]
pub(super) enum E {
    Unit,
    B(B),
    I(I),
    F(F),
    S(Str),
}

/// A flag.
#[derive(Debug)]
pub(super) enum B {
    Const(bool),
    Local(usize),
    TrainingCertified,
    PmTraining,
    PlanApproved,
    Not(Box<B>),
    And(Vec<B>),
    Or(Vec<B>),
    /// Comparisons, by the types of their operands.
    Int(Bin, Box<(I, I)>),
    Float(Bin, Box<(F, F)>),
    Bool(Bin, Box<(B, B)>),
    Str(Bin, Box<(Str, Str)>),
    /// The release date against a constant date (compared as the texts rhai sees are).
    ReleaseDate(Bin, Date),
    /// The gender against a constant text: the answer for F, and for M.
    Gender(bool, bool),
    Eligible,
}

/// A whole number.
#[derive(Debug)]
pub(super) enum I {
    Const(INT),
    Local(usize),
    BirthYear,
    Arith(Bin, Box<(I, I)>),
    Neg(Box<I>),
    KitCost(Box<Str>),
    MonthsSince(Box<Str>),
    Age,
    Min(Box<(I, I)>),
    Max(Box<(I, I)>),
}

/// A floating-point number.
#[derive(Debug)]
pub(super) enum F {
    Const(f64),
    Local(usize),
    TrainingHours,
    PlanCost,
    ExperienceYears,
    /// A whole number where a float meets it (as rhai converts it).
    Int(Box<I>),
    Arith(Bin, Box<(F, F)>),
    Neg(Box<F>),
    Demand(Box<(Str, Str)>),
    Min(Box<(F, F)>),
    Max(Box<(F, F)>),
    Clamp(Box<(F, F, F)>),
}

/// A text (a date is the text rhai shows for it).
#[derive(Debug)]
pub(super) enum Str {
    Const(String),
    Local(usize),
    Id,
    Name,
    City,
    TrainingTrack,
    PlanTrade,
    Gender,
    ReleaseDate,
    KitFor(Box<Str>),
}

/// The program cannot be typed (the general tree runs it).
struct Untyped;

type Typing<T> = Result<T, Untyped>;

/// Types `body` and `quotas`, with `slots` variables; `None` when some part cannot be typed.
pub(super) fn typed(body: &[Stmt], quotas: &[Expr], slots: usize) -> Option<Typed> {
    let mut t = Typer {
        slots: vec![None; slots],
    };
    let body = t.block(body).ok()?;
    let quotas = quotas
        .iter()
        .map(|q| match t.expr(q)? {
            E::B(b) => Ok(b),
            _ => Err(Untyped),
        })
        .collect::<Typing<Vec<B>>>()
        .ok()?;
    Some(Typed { body, quotas })
}

struct Typer {
    /// The type of each variable, from its `let`.
    slots: Vec<Option<Ty>>,
}

fn ty(e: &E) -> Ty {
    match e {
        E::Unit => Ty::Unit,
        E::B(_) => Ty::Bool,
        E::I(_) => Ty::Int,
        E::F(_) => Ty::Float,
        E::S(_) => Ty::Str,
    }
}

/// A number as a float (a whole number converted where it meets a float).
fn float(e: E) -> Typing<F> {
    match e {
        E::F(f) => Ok(f),
        E::I(i) => Ok(match i {
            I::Const(c) => F::Const(c as f64),
            i => F::Int(Box::new(i)),
        }),
        _ => Err(Untyped),
    }
}

fn flag(e: E) -> Typing<B> {
    match e {
        E::B(b) => Ok(b),
        _ => Err(Untyped),
    }
}

fn string(e: E) -> Typing<Str> {
    match e {
        E::S(s) => Ok(s),
        _ => Err(Untyped),
    }
}

fn is_arith(op: Bin) -> bool {
    matches!(op, Bin::Add | Bin::Sub | Bin::Mul | Bin::Div | Bin::Rem)
}

/// `op` on two whole numbers, as the general tree computes it (`None` where it gives up).
fn int_arith(op: Bin, x: INT, y: INT) -> Option<INT> {
    match op {
        Bin::Add => x.checked_add(y),
        Bin::Sub => x.checked_sub(y),
        Bin::Mul => x.checked_mul(y),
        Bin::Div => x.checked_div(y),
        Bin::Rem => x.checked_rem(y),
        _ => None,
    }
}

fn float_arith(op: Bin, x: f64, y: f64) -> f64 {
    match op {
        Bin::Add => x + y,
        Bin::Sub => x - y,
        Bin::Mul => x * y,
        Bin::Div => x / y,
        _ => x % y,
    }
}

/// The same comparison with its operands swapped.
fn swapped(op: Bin) -> Bin {
    match op {
        Bin::Lt => Bin::Gt,
        Bin::Le => Bin::Ge,
        Bin::Gt => Bin::Lt,
        Bin::Ge => Bin::Le,
        other => other,
    }
}

/// The date a constant text is, when rhai's text of that date is exactly it (so comparing
/// the texts is comparing the dates).
fn const_date(s: &str) -> Option<Date> {
    Date::parse(s).filter(|d| (1000..=9999).contains(&d.year()) && d.to_string() == s)
}

impl Typer {
    fn block(&mut self, stmts: &[Stmt]) -> Typing<Vec<S>> {
        let mut out = Vec::with_capacity(stmts.len());
        for s in stmts {
            self.stmt(s, &mut out)?;
        }
        Ok(out)
    }

    fn stmt(&mut self, s: &Stmt, out: &mut Vec<S>) -> Typing<()> {
        match s {
            Stmt::Let(slot, e) => {
                let e = self.expr(e)?;
                *self.slots.get_mut(*slot).ok_or(Untyped)? = Some(ty(&e));
                out.push(S::Set(*slot, e));
            }
            Stmt::Assign(slot, op, e) => {
                let declared = self.slots.get(*slot).copied().flatten().ok_or(Untyped)?;
                let value = self.expr(e)?;
                let value = match op {
                    // The general tree requires two numbers.
                    Some(op) => match (declared, ty(&value)) {
                        (Ty::Int | Ty::Float, Ty::Int | Ty::Float) => {
                            let local = match declared {
                                Ty::Int => E::I(I::Local(*slot)),
                                _ => E::F(F::Local(*slot)),
                            };
                            self.arith(*op, local, value)?
                        }
                        _ => return Err(Untyped),
                    },
                    None => value,
                };
                if ty(&value) != declared {
                    return Err(Untyped);
                }
                out.push(S::Set(*slot, value));
            }
            Stmt::If(c, then, other) => {
                let c = flag(self.expr(c)?)?;
                let then = self.block(then)?;
                let other = self.block(other)?;
                match c {
                    B::Const(true) => out.extend(then),
                    B::Const(false) => out.extend(other),
                    c => out.push(S::If(c, then, other)),
                }
            }
            Stmt::Eval(Expr::Call(
                h @ (Host::Check
                | Host::AddScore
                | Host::OfferKit
                | Host::OfferCash
                | Host::OfferKitAndCash),
                args,
            )) => {
                let consts = [
                    args.first().and_then(super::const_text),
                    args.get(1).and_then(super::const_text),
                ];
                let mut vals = args
                    .iter()
                    .map(|a| self.expr(a))
                    .collect::<Typing<Vec<E>>>()?;
                let last = vals.pop().ok_or(Untyped)?;
                let first = vals.pop();
                out.push(match (h, consts, first, last) {
                    (Host::Check, [Some(i), Some(t)], _, E::B(passed)) => S::Check(i, t, passed),
                    (Host::AddScore, [_, Some(why)], Some(points @ (E::I(_) | E::F(_))), _) => {
                        S::Score(float(points)?, why)
                    }
                    (Host::OfferKit, _, None, E::S(kit)) => S::OfferKit(kit),
                    (Host::OfferCash, _, None, cash @ (E::I(_) | E::F(_))) => {
                        S::OfferCash(float(cash)?)
                    }
                    (Host::OfferKitAndCash, _, Some(E::S(kit)), cash @ (E::I(_) | E::F(_))) => {
                        S::OfferKitAndCash(kit, float(cash)?)
                    }
                    (h, consts, first, last) => {
                        vals.extend(first);
                        vals.push(last);
                        S::Host(*h, consts, vals)
                    }
                });
            }
            Stmt::Eval(e) => {
                let e = self.expr(e)?;
                // A constant statement does nothing.
                if !matches!(
                    e,
                    E::Unit | E::B(B::Const(_)) | E::I(I::Const(_)) | E::F(F::Const(_))
                ) {
                    out.push(S::Eval(e));
                }
            }
        }
        Ok(())
    }

    fn local(&self, slot: usize) -> Typing<E> {
        Ok(match self.slots.get(slot).copied().flatten() {
            Some(Ty::Bool) => E::B(B::Local(slot)),
            Some(Ty::Int) => E::I(I::Local(slot)),
            Some(Ty::Float) => E::F(F::Local(slot)),
            Some(Ty::Str) => E::S(Str::Local(slot)),
            _ => return Err(Untyped),
        })
    }

    fn expr(&mut self, e: &Expr) -> Typing<E> {
        Ok(match e {
            Expr::Const(c) => match c {
                Const::Unit => E::Unit,
                Const::Bool(b) => E::B(B::Const(*b)),
                Const::Int(i) => E::I(I::Const(*i)),
                Const::Float(f) => E::F(F::Const(*f)),
                Const::Str(s) | Const::Text(s, _) => E::S(Str::Const(s.clone())),
            },
            Expr::Local(slot) => self.local(*slot)?,
            Expr::Field(f) => match f {
                Field::Id => E::S(Str::Id),
                Field::Name => E::S(Str::Name),
                Field::Gender => E::S(Str::Gender),
                Field::BirthYear => E::I(I::BirthYear),
                Field::City => E::S(Str::City),
                Field::ReleaseDate => E::S(Str::ReleaseDate),
                Field::TrainingTrack => E::S(Str::TrainingTrack),
                Field::TrainingHours => E::F(F::TrainingHours),
                Field::TrainingCertified => E::B(B::TrainingCertified),
                Field::PmTraining => E::B(B::PmTraining),
                Field::PlanTrade => E::S(Str::PlanTrade),
                Field::PlanApproved => E::B(B::PlanApproved),
                Field::PlanCost => E::F(F::PlanCost),
                Field::ExperienceYears => E::F(F::ExperienceYears),
                // A number or a text, cell by cell.
                Field::Extra(_) => return Err(Untyped),
            },
            Expr::Bin(op, ab) => {
                let a = self.expr(&ab.0)?;
                let b = self.expr(&ab.1)?;
                if is_arith(*op) {
                    self.arith(*op, a, b)?
                } else {
                    E::B(self.compare(*op, a, b)?)
                }
            }
            Expr::Neg(x) => match self.expr(x)? {
                E::I(I::Const(c)) if c.checked_neg().is_some() => E::I(I::Const(-c)),
                E::I(i) => E::I(I::Neg(Box::new(i))),
                E::F(F::Const(c)) => E::F(F::Const(-c)),
                E::F(f) => E::F(F::Neg(Box::new(f))),
                _ => return Err(Untyped),
            },
            Expr::Plus(x) => match self.expr(x)? {
                e @ (E::I(_) | E::F(_)) => e,
                _ => return Err(Untyped),
            },
            Expr::Not(x) => match flag(self.expr(x)?)? {
                B::Const(b) => E::B(B::Const(!b)),
                b => E::B(B::Not(Box::new(b))),
            },
            Expr::And(list) => E::B(B::And(self.flags(list)?)),
            Expr::Or(list) => E::B(B::Or(self.flags(list)?)),
            Expr::Call(h, args) => self.call(*h, args)?,
        })
    }

    fn flags(&mut self, list: &[Expr]) -> Typing<Vec<B>> {
        list.iter().map(|x| flag(self.expr(x)?)).collect()
    }

    /// `a op b` for an arithmetic `op`, as the general tree's `binop`.
    fn arith(&mut self, op: Bin, a: E, b: E) -> Typing<E> {
        Ok(match (a, b) {
            (E::I(x), E::I(y)) => match (&x, &y) {
                (I::Const(p), I::Const(q)) if int_arith(op, *p, *q).is_some() => {
                    E::I(I::Const(int_arith(op, *p, *q).ok_or(Untyped)?))
                }
                _ => E::I(I::Arith(op, Box::new((x, y)))),
            },
            (a @ (E::I(_) | E::F(_)), b @ (E::I(_) | E::F(_))) => match (float(a)?, float(b)?) {
                (F::Const(p), F::Const(q)) => E::F(F::Const(float_arith(op, p, q))),
                (x, y) => E::F(F::Arith(op, Box::new((x, y)))),
            },
            _ => return Err(Untyped),
        })
    }

    /// `a op b` for a comparison `op`, as the general tree's `binop`.
    fn compare(&mut self, op: Bin, a: E, b: E) -> Typing<B> {
        Ok(match (a, b) {
            (E::I(x), E::I(y)) => match (&x, &y) {
                (I::Const(p), I::Const(q)) => B::Const(ordered(op, p, q)),
                _ => B::Int(op, Box::new((x, y))),
            },
            (a @ (E::I(_) | E::F(_)), b @ (E::I(_) | E::F(_))) => match (float(a)?, float(b)?) {
                (F::Const(p), F::Const(q)) => B::Const(float_cmp(op, p, q)),
                (x, y) => B::Float(op, Box::new((x, y))),
            },
            (E::B(x), E::B(y)) if matches!(op, Bin::Eq | Bin::Ne) => match (&x, &y) {
                (B::Const(p), B::Const(q)) => B::Const(ordered(op, p, q)),
                _ => B::Bool(op, Box::new((x, y))),
            },
            (E::S(x), E::S(y)) => match (x, y) {
                (Str::Const(p), Str::Const(q)) => B::Const(ordered(op, p.as_str(), q.as_str())),
                (Str::ReleaseDate, Str::Const(c)) if const_date(&c).is_some() => {
                    B::ReleaseDate(op, const_date(&c).ok_or(Untyped)?)
                }
                (Str::Const(c), Str::ReleaseDate) if const_date(&c).is_some() => {
                    B::ReleaseDate(swapped(op), const_date(&c).ok_or(Untyped)?)
                }
                (Str::Gender, Str::Const(c)) | (Str::Const(c), Str::Gender)
                    if matches!(op, Bin::Eq | Bin::Ne) =>
                {
                    let eq = op == Bin::Eq;
                    B::Gender((c == "F") == eq, (c == "M") == eq)
                }
                (x, y) => B::Str(op, Box::new((x, y))),
            },
            _ => return Err(Untyped),
        })
    }

    fn call(&mut self, h: Host, args: &[Expr]) -> Typing<E> {
        let mut vals = args
            .iter()
            .map(|a| self.expr(a))
            .collect::<Typing<Vec<E>>>()?
            .into_iter();
        let mut next = || vals.next().ok_or(Untyped);
        Ok(match h {
            Host::Eligible => E::B(B::Eligible),
            Host::Age => E::I(I::Age),
            Host::KitCost => E::I(I::KitCost(Box::new(string(next()?)?))),
            Host::MonthsSince => E::I(I::MonthsSince(Box::new(string(next()?)?))),
            Host::KitFor => E::S(Str::KitFor(Box::new(string(next()?)?))),
            Host::Demand => {
                let city = string(next()?)?;
                E::F(F::Demand(Box::new((city, string(next()?)?))))
            }
            Host::Min | Host::Max => {
                let (a, b) = (next()?, next()?);
                let min = h == Host::Min;
                match (a, b) {
                    (E::I(x), E::I(y)) => E::I(if min {
                        I::Min(Box::new((x, y)))
                    } else {
                        I::Max(Box::new((x, y)))
                    }),
                    (a @ (E::I(_) | E::F(_)), b @ (E::I(_) | E::F(_))) => {
                        let xy = Box::new((float(a)?, float(b)?));
                        E::F(if min { F::Min(xy) } else { F::Max(xy) })
                    }
                    _ => return Err(Untyped),
                }
            }
            // The general tree takes three floats only (a whole number gives up).
            Host::Clamp => match (next()?, next()?, next()?) {
                (E::F(x), E::F(lo), E::F(hi)) => E::F(F::Clamp(Box::new((x, lo, hi)))),
                _ => return Err(Untyped),
            },
            // A side effect used as a value.
            Host::Check
            | Host::AddScore
            | Host::OfferKit
            | Host::OfferCash
            | Host::OfferKitAndCash => return Err(Untyped),
        })
    }
}

impl<'a> Ctx<'a, '_> {
    pub(super) fn t_block(&mut self, stmts: &'a [S]) -> Run<()> {
        for s in stmts {
            match s {
                S::Set(slot, e) => {
                    let v = self.t_value(e)?;
                    *self.locals.get_mut(*slot).ok_or(Bail)? = v;
                }
                S::If(c, then, other) => {
                    if self.t_bool(c)? {
                        self.t_block(then)?;
                    } else {
                        self.t_block(other)?;
                    }
                }
                S::Check(i, t, passed) => {
                    let passed = self.t_bool(passed)?;
                    match self.const_check(*i, *t, passed) {
                        Some(done) => done?,
                        None => {
                            let texts = &self.prog.texts;
                            let id = texts.get(*i as usize).ok_or(Bail)?;
                            let text = texts.get(*t as usize).ok_or(Bail)?;
                            let vals = [V::Str(id), V::Str(text), V::Bool(passed)];
                            self.apply(Host::Check, [Some(*i), Some(*t)], vals)?;
                        }
                    }
                }
                S::Score(points, why) => {
                    let points = self.f_operand(points)?;
                    self.add_score(points, Some(*why), "")?;
                }
                S::OfferKit(kit) => {
                    let kit = self.s_operand(kit)?;
                    let mut b = [0; 10];
                    self.offer(Some(text(&kit, &mut b)?), 0.0)?;
                }
                S::OfferCash(cash) => {
                    let cash = self.f_operand(cash)?;
                    self.offer(None, cash)?;
                }
                S::OfferKitAndCash(kit, cash) => {
                    let kit = self.s_operand(kit)?;
                    let cash = self.f_operand(cash)?;
                    let mut b = [0; 10];
                    self.offer(Some(text(&kit, &mut b)?), cash)?;
                }
                S::Host(h, consts, args) => {
                    let vals = self.arg_values(args, |cx, a| cx.t_value(a))?;
                    self.apply(*h, *consts, vals)?;
                }
                S::Eval(e) => {
                    self.t_value(e)?;
                }
            }
        }
        Ok(())
    }

    /// The value of `e`, as the general tree holds it.
    fn t_value(&mut self, e: &'a E) -> Run<V<'a>> {
        Ok(match e {
            E::Unit => V::Unit,
            E::B(b) => V::Bool(self.t_bool(b)?),
            E::I(i) => V::Int(self.i_operand(i)?),
            E::F(f) => V::Float(self.f_operand(f)?.to_bits()),
            E::S(s) => self.s_operand(s)?,
        })
    }

    /// An operand: constants, variables and fields are read in line (a call per leaf
    /// cost more than the leaf).
    #[inline(always)]
    fn f_operand(&mut self, f: &'a F) -> Run<f64> {
        match f {
            F::Const(c) => Ok(*c),
            F::Local(slot) => match self.locals.get(*slot) {
                Some(V::Float(f)) => Ok(f64::from_bits(*f)),
                _ => Err(Bail),
            },
            F::TrainingHours => Ok(self.rec.training_hours),
            F::PlanCost => Ok(self.rec.plan_cost),
            F::ExperienceYears => Ok(self.rec.experience_years),
            _ => self.t_float(f),
        }
    }

    #[inline(always)]
    fn i_operand(&mut self, i: &'a I) -> Run<INT> {
        match i {
            I::Const(c) => Ok(*c),
            _ => self.t_int(i),
        }
    }

    #[inline(always)]
    fn s_operand(&mut self, s: &'a Str) -> Run<V<'a>> {
        match s {
            Str::Const(c) => Ok(V::Str(c)),
            Str::Local(slot) => match self.locals.get(*slot) {
                Some(v @ (V::Str(_) | V::Date(_))) => Ok(*v),
                _ => Err(Bail),
            },
            _ => self.t_str(s),
        }
    }

    pub(super) fn t_bool(&mut self, b: &'a B) -> Run<bool> {
        let r = self.rec;
        Ok(match b {
            B::Const(c) => *c,
            B::Local(slot) => match self.locals.get(*slot) {
                Some(V::Bool(b)) => *b,
                _ => return Err(Bail),
            },
            B::TrainingCertified => r.training_certified,
            B::PmTraining => r.pm_training,
            B::PlanApproved => r.plan_approved,
            B::Not(x) => !self.t_bool(x)?,
            B::And(list) => {
                for x in list {
                    if !self.t_bool(x)? {
                        return Ok(false);
                    }
                }
                true
            }
            B::Or(list) => {
                for x in list {
                    if self.t_bool(x)? {
                        return Ok(true);
                    }
                }
                false
            }
            B::Int(op, xy) => {
                let x = self.i_operand(&xy.0)?;
                ordered(*op, x, self.i_operand(&xy.1)?)
            }
            B::Float(op, xy) => {
                let x = self.f_operand(&xy.0)?;
                float_cmp(*op, x, self.f_operand(&xy.1)?)
            }
            B::Bool(op, xy) => {
                let x = self.t_bool(&xy.0)?;
                ordered(*op, x, self.t_bool(&xy.1)?)
            }
            B::Str(op, xy) => {
                let a = self.t_str(&xy.0)?;
                let b = self.t_str(&xy.1)?;
                let (mut ba, mut bb) = ([0; 10], [0; 10]);
                ordered(*op, text(&a, &mut ba)?, text(&b, &mut bb)?)
            }
            B::ReleaseDate(op, d) => {
                let own = r.release_date;
                // rhai shows years of four digits only (the general tree gives up, as
                // `date_text` does).
                if !(1000..=9999).contains(&own.year()) {
                    return Err(Bail);
                }
                ordered(*op, own, *d)
            }
            B::Gender(f, m) => match r.gender {
                Gender::F => *f,
                Gender::M => *m,
            },
            B::Eligible => self.out.all_passed(),
        })
    }

    fn t_int(&mut self, i: &'a I) -> Run<INT> {
        Ok(match i {
            I::Const(c) => *c,
            I::Local(slot) => match self.locals.get(*slot) {
                Some(V::Int(i)) => *i,
                _ => return Err(Bail),
            },
            I::BirthYear => self.rec.birth_year as INT,
            I::Arith(op, xy) => {
                let x = self.i_operand(&xy.0)?;
                int_arith(*op, x, self.i_operand(&xy.1)?).ok_or(Bail)?
            }
            I::Neg(x) => self.t_int(x)?.checked_neg().ok_or(Bail)?,
            I::KitCost(kit) => {
                let kit = self.t_str(kit)?;
                let mut b = [0; 10];
                *self.data.kits.get(text(&kit, &mut b)?).ok_or(Bail)?
            }
            I::MonthsSince(s) => {
                let from = match self.t_str(s)? {
                    V::Date(d) if (1000..=9999).contains(&d.year()) => *d,
                    V::Str(s) => Date::parse(s).ok_or(Bail)?,
                    _ => return Err(Bail),
                };
                from.months_until(self.data.date)
            }
            I::Age => self.data.date.year() as INT - self.rec.birth_year as INT,
            I::Min(xy) => {
                let x = self.i_operand(&xy.0)?;
                x.min(self.i_operand(&xy.1)?)
            }
            I::Max(xy) => {
                let x = self.i_operand(&xy.0)?;
                x.max(self.i_operand(&xy.1)?)
            }
        })
    }

    fn t_float(&mut self, f: &'a F) -> Run<f64> {
        let r = self.rec;
        Ok(match f {
            F::Const(c) => *c,
            F::Local(slot) => match self.locals.get(*slot) {
                Some(V::Float(f)) => f64::from_bits(*f),
                _ => return Err(Bail),
            },
            F::TrainingHours => r.training_hours,
            F::PlanCost => r.plan_cost,
            F::ExperienceYears => r.experience_years,
            F::Int(i) => self.t_int(i)? as f64,
            F::Arith(op, xy) => {
                let x = self.f_operand(&xy.0)?;
                float_arith(*op, x, self.f_operand(&xy.1)?)
            }
            F::Neg(x) => -self.t_float(x)?,
            F::Demand(ct) => {
                let city = self.s_operand(&ct.0)?;
                let trade = self.s_operand(&ct.1)?;
                self.demand_of(city, trade)?
            }
            F::Min(xy) => {
                let x = self.f_operand(&xy.0)?;
                fmin(x, self.f_operand(&xy.1)?)
            }
            F::Max(xy) => {
                let x = self.f_operand(&xy.0)?;
                fmax(x, self.f_operand(&xy.1)?)
            }
            F::Clamp(x) => {
                let v = self.f_operand(&x.0)?;
                let lo = self.f_operand(&x.1)?;
                fclamp(v, lo, self.f_operand(&x.2)?)
            }
        })
    }

    fn t_str(&mut self, s: &'a Str) -> Run<V<'a>> {
        let r = self.rec;
        Ok(match s {
            Str::Const(c) => V::Str(c),
            Str::Local(slot) => match self.locals.get(*slot) {
                Some(v @ (V::Str(_) | V::Date(_))) => *v,
                _ => return Err(Bail),
            },
            Str::Id => self.string(&r.id)?,
            Str::Name => self.string(&r.name)?,
            Str::City => self.string(&r.city)?,
            Str::TrainingTrack => self.string(&r.training_track)?,
            Str::PlanTrade => self.string(&r.plan_trade)?,
            Str::Gender => self.field(&Field::Gender)?,
            Str::ReleaseDate => V::Date(&r.release_date),
            Str::KitFor(trade) => {
                let trade = self.t_str(trade)?;
                self.kit_for(trade)?
            }
        })
    }
}
