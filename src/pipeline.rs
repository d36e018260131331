//! Scenario in, assessments out: reading, rules and ordering, streamed and parallel.
//!
//! Rows are read in batches on the calling thread, parsed and assessed in parallel (rayon,
//! one rule evaluator per thread) and handed back in input order, so the output is the same
//! whatever the thread count and memory stays bounded by the batch size.

use std::collections::BTreeMap;

use rayon::prelude::*;

use crate::applicant::{ApplicantSource, DuplicateIds, Record, Row};
use crate::assessment::Status;
use crate::engine::Engine;
use crate::error::{Problem, Problems, Result};
use crate::rules::{with_thread_evaluator, RunBudget};
use crate::scenario::Scenario;

/// Rows read, parsed and assessed together; bounds memory.
const BATCH: usize = 8192;

/// One input row after the rules: assessed, or not readable.
// Unreadable rows are rare: boxing every assessment to shrink them would cost an allocation
// per applicant.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Outcome {
    /// The row was read and the rules ran (possibly with a rule error, see its status).
    Assessed(crate::assessment::Assessment),
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
pub(crate) struct ScoreSummary {
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

/// Streams every applicant of the engine's scenario through its rules and calls `sink`
/// with each outcome in input order; `progress` gets the bytes read so far after each
/// batch. Unreadable rows and rule errors are outcomes too (nothing is dropped); the
/// summary lists them. Errors only for problems that stop everything (no file, bad header).
#[allow(dead_code)]
pub(crate) fn score_stream(
    engine: &Engine,
    mut sink: impl FnMut(&Outcome) -> Result<()>,
    progress: impl FnMut(u64),
) -> Result<ScoreSummary> {
    score_stream_with(engine, |_| (), |o, ()| sink(o), progress)
}

/// Like [`score_stream`], with `prepare` run on each outcome in the worker threads (e.g.
/// formatting its output row) and its result handed to `sink` with the outcome, so only
/// the writing itself stays on the calling thread.
pub(crate) fn score_stream_with<T: Send>(
    engine: &Engine,
    prepare: impl Fn(&Outcome) -> T + Sync,
    mut sink: impl FnMut(&Outcome, T) -> Result<()>,
    mut progress: impl FnMut(u64),
) -> Result<ScoreSummary> {
    let scenario = engine.scenario();
    let data = scenario.applicant_data()?;
    let display = data.display().to_string();
    let mut source = ApplicantSource::open(data, scenario.city_set())?;
    let parser = source.parser();
    let rules = engine.rules();
    let fingerprint = engine.fingerprint();
    let mut summary = ScoreSummary::default();
    let mut budget = RunBudget::default();
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
                    fatal = Some(*p);
                    break;
                }
            }
        }
        if batch.is_empty() {
            break;
        }
        let outcomes: Vec<(Outcome, T, u64)> = batch
            .par_iter()
            .map(|item| match item {
                Item::Invalid(o) => Ok(((**o).clone(), 0)),
                Item::Record(rec) => match parser.parse(rec) {
                    Ok(a) => with_thread_evaluator(rules, |ev| {
                        let mut a = ev.assess(a);
                        a.scenario = fingerprint.to_string();
                        (Outcome::Assessed(a), ev.last_ops())
                    }),
                    Err(ps) => Ok((
                        Outcome::Invalid {
                            id: parser.id_of(rec).unwrap_or("").to_string(),
                            line: rec.position().map_or(0, |p| p.line()),
                            message: ps
                                .iter()
                                .map(|p| p.to_string())
                                .collect::<Vec<_>>()
                                .join("; "),
                        },
                        0,
                    )),
                },
            })
            .map(|o| {
                o.map(|(o, ops)| {
                    let t = prepare(&o);
                    (o, t, ops)
                })
            })
            .collect::<Result<_>>()?;
        for (mut o, mut t, ops) in outcomes {
            if let Outcome::Assessed(a) = &o {
                budget.charge(ops, &a.id, a.error())?;
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

/// Reads every applicant of the scenario, stopping with every input error if any row is
/// bad.
pub(crate) fn read_records(scenario: &Scenario) -> Result<Vec<Record>> {
    crate::applicant::read_records(scenario.applicant_data()?, scenario.city_set())
}
