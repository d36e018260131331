//! Scenario in, assessments out: reading, rules and ordering, streamed and parallel.
//!
//! Rows are read in batches on the calling thread, parsed and assessed in parallel (rayon,
//! one rule evaluator per thread) and handed back in input order, so the output is the same
//! whatever the thread count and memory stays bounded by the batch size.

use std::collections::BTreeMap;

use rayon::prelude::*;

use crate::applicant::{read_applicants, ApplicantSource, DuplicateIds, Row};
use crate::assessment::{Assessment, Status};
use crate::error::{Error, Problem, Problems, Result};
use crate::rules::{with_thread_evaluator, RuleSet};
use crate::scenario::Scenario;

/// Rows read, parsed and assessed together; bounds memory.
const BATCH: usize = 8192;

/// One input row after the rules: assessed, or not readable.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// The row was read and the rules ran (possibly with a rule error, see its status).
    Assessed(Assessment),
    /// The row could not be read; it is kept so no row is lost.
    Invalid {
        /// The id cell, when there was one.
        id: String,
        /// Line in the applicants file.
        line: u64,
        /// Every problem of the row, joined.
        message: String,
    },
}

/// A row waiting in a batch.
enum Item {
    Record(csv::StringRecord),
    Invalid(Box<Outcome>),
}

/// Counts over a scoring run.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ScoreSummary {
    /// Rows read.
    pub applicants: u64,
    /// Rows whose every check passed.
    pub eligible: u64,
    /// Rows with a failed check.
    pub ineligible: u64,
    /// How many applicants each check excluded (failed), by check id, with its text.
    pub excluded_by: BTreeMap<String, (String, u64)>,
    /// Unreadable rows and rule errors (capped; `omitted` counts the rest).
    pub problems: Problems,
}

impl ScoreSummary {
    fn count(&mut self, o: &Outcome) {
        self.applicants += 1;
        match o {
            Outcome::Invalid { message, .. } => {
                self.problems.push(Problem::error("", message.clone()));
            }
            Outcome::Assessed(a) => {
                match &a.status {
                    Status::Eligible => self.eligible += 1,
                    Status::Ineligible => self.ineligible += 1,
                    Status::Error(m) => self.problems.push(Problem::error("", m.clone())),
                }
                for c in a.failed() {
                    let e = self
                        .excluded_by
                        .entry(c.id.clone())
                        .or_insert_with(|| (c.text.clone(), 0));
                    e.1 += 1;
                }
            }
        }
    }
}

/// Streams every applicant of the scenario through its rules and calls `sink` with each
/// outcome in input order; `progress` gets the bytes read so far after each batch.
/// Unreadable rows and rule errors are outcomes too (nothing is dropped); the summary
/// lists them. Errors only for problems that stop everything (no file, bad header, rules
/// that do not compile).
pub fn score_stream(
    scenario: &Scenario,
    mut sink: impl FnMut(&Outcome) -> Result<()>,
    progress: impl FnMut(u64),
) -> Result<ScoreSummary> {
    score_stream_with(scenario, |_| (), |o, ()| sink(o), progress)
}

/// Like [`score_stream`], with `prepare` run on each outcome in the worker threads (e.g.
/// formatting its output row) and its result handed to `sink` with the outcome, so only
/// the writing itself stays on the calling thread.
pub fn score_stream_with<T: Send>(
    scenario: &Scenario,
    prepare: impl Fn(&Outcome) -> T + Sync,
    mut sink: impl FnMut(&Outcome, T) -> Result<()>,
    mut progress: impl FnMut(u64),
) -> Result<ScoreSummary> {
    let display = scenario.applicants_display();
    let mut source = ApplicantSource::open(&scenario.applicants, &display, scenario.city_set())?;
    let parser = source.parser();
    let rules = RuleSet::load(scenario, parser.extra_names())?;
    let mut summary = ScoreSummary::default();
    let mut ids = DuplicateIds::default();
    let mut batch: Vec<Item> = Vec::with_capacity(BATCH);
    let mut spare: Vec<csv::StringRecord> = Vec::new();
    let mut fatal: Option<Problem> = None;
    loop {
        batch.clear();
        let mut last_byte = 0;
        while batch.len() < BATCH {
            let mut rec = spare.pop().unwrap_or_default();
            match source.next_row(&mut rec) {
                Ok(Row::Record) => {
                    last_byte = rec.position().map_or(last_byte, |p| p.byte());
                    batch.push(Item::Record(rec));
                }
                Ok(Row::Unreadable { id, line, problem }) => {
                    spare.push(rec);
                    batch.push(Item::Invalid(Box::new(Outcome::Invalid {
                        id,
                        line,
                        message: problem.to_string(),
                    })));
                }
                Ok(Row::End) => break,
                Err(p) => {
                    fatal = Some(p);
                    break;
                }
            }
        }
        if batch.is_empty() {
            break;
        }
        let outcomes: Vec<(Outcome, T)> = batch
            .par_iter()
            .map(|item| match item {
                Item::Invalid(o) => Ok((**o).clone()),
                Item::Record(rec) => match parser.parse(rec) {
                    Ok(a) => with_thread_evaluator(&rules, |ev| Outcome::Assessed(ev.assess(a))),
                    Err(ps) => Ok(Outcome::Invalid {
                        id: parser.id_of(rec).unwrap_or("").to_string(),
                        line: rec.position().map_or(0, |p| p.line()),
                        message: ps
                            .iter()
                            .map(|p| p.to_string())
                            .collect::<Vec<_>>()
                            .join("; "),
                    }),
                },
            })
            .map(|o| {
                o.map(|o| {
                    let t = prepare(&o);
                    (o, t)
                })
            })
            .collect::<Result<_>>()?;
        for (mut o, mut t) in outcomes {
            if let Outcome::Assessed(a) = &o {
                if let Some(p) = ids.see(&display, &a.id, a.line) {
                    o = Outcome::Invalid {
                        id: a.id.clone(),
                        line: a.line,
                        message: p.to_string(),
                    };
                    t = prepare(&o);
                }
            }
            summary.count(&o);
            sink(&o, t)?;
        }
        progress(last_byte);
        for item in batch.drain(..) {
            if let Item::Record(r) = item {
                spare.push(r);
            }
        }
        if fatal.is_some() {
            break;
        }
    }
    if let Some(p) = fatal {
        summary.problems.push(p);
    }
    Ok(summary)
}

/// Reads every applicant (stopping with every input error if any row is bad) and assesses
/// them all, in input order. Used by `allocate`, which needs the whole programme at once.
pub fn assess_all(scenario: &Scenario) -> Result<Vec<Assessment>> {
    let display = scenario.applicants_display();
    let applicants = read_applicants(&scenario.applicants, &display, scenario.city_set())?;
    let extra: Vec<String> = applicants
        .first()
        .map(|a| a.extra_names.to_vec())
        .unwrap_or_default();
    let rules = RuleSet::load(scenario, &extra)?;
    let assessed: Vec<Assessment> = applicants
        .into_par_iter()
        .map(|a| with_thread_evaluator(&rules, |ev| ev.assess(a)))
        .collect::<Result<_>>()?;
    let mut problems = Problems::default();
    for a in &assessed {
        if let Status::Error(m) = &a.status {
            problems.push(Problem::error("", m.clone()));
        }
    }
    if !problems.is_empty() {
        return Err(Error::Rules(problems));
    }
    Ok(assessed)
}
