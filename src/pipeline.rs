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
const BATCH: usize = 4096;

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
    fn count(&mut self, seen: &mut Seen) {
        self.applicants += 1;
        match seen.status {
            Kind::Eligible => self.eligible += 1,
            Kind::Ineligible => self.ineligible += 1,
            Kind::Problem => self
                .problems
                .push(Problem::error("", std::mem::take(&mut seen.message))),
        }
        for (id, text) in seen.failed.drain(..) {
            self.excluded_by.entry(id).or_insert((text, 0)).1 += 1;
        }
    }
}

/// What the in-order part of a run needs of one outcome. It is taken in the worker that
/// made the outcome, so the outcome is freed on the thread that allocated it (much cheaper
/// than freeing it on the writing thread).
struct Seen {
    /// The applicant's id, for an assessed row (repeated ids are found in input order).
    id: Option<String>,
    line: u64,
    ops: u64,
    status: Kind,
    /// The rule error, or why the row is unreadable.
    message: String,
    /// Failed checks: id and text.
    failed: Vec<(String, String)>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Eligible,
    Ineligible,
    Problem,
}

impl Seen {
    fn of(o: Outcome, ops: u64) -> Seen {
        match o {
            Outcome::Invalid { line, message, .. } => Seen {
                id: None,
                line,
                ops,
                status: Kind::Problem,
                message,
                failed: Vec::new(),
            },
            Outcome::Assessed(a) => {
                let (status, message) = match a.status {
                    Status::Eligible => (Kind::Eligible, String::new()),
                    Status::Ineligible => (Kind::Ineligible, String::new()),
                    Status::Error(m) => (Kind::Problem, m),
                };
                Seen {
                    id: Some(a.id),
                    line: a.line,
                    ops,
                    status,
                    message,
                    failed: a
                        .checks
                        .into_iter()
                        .filter(|c| !c.passed)
                        .map(|c| (c.id, c.text))
                        .collect(),
                }
            }
        }
    }
}

/// Rows read, and the bytes read so far, handed from the reading thread.
type Batch = (Vec<Item>, u64);

/// Runs every applicant of the engine's scenario through its rules for the summary alone
/// (what `check` needs). Unreadable rows and rule errors are listed in the summary; errors
/// only for problems that stop everything (no file, bad header).
pub(crate) fn score_summary(engine: &Engine) -> Result<ScoreSummary> {
    score_stream_with(engine, |_| (), |()| Ok(()), |_| {})
}

/// Streams every applicant of the engine's scenario through its rules: `prepare` runs on
/// each outcome in the worker threads (e.g. formatting its output row) and its result is
/// handed to `sink` in input order, so only the writing itself stays on the calling thread;
/// `progress` gets the bytes read so far after each batch. Rows are read on a thread of
/// their own, a batch ahead of the rules. Unreadable rows and rule errors are outcomes too
/// (nothing is dropped); the summary lists them. Errors only for problems that stop
/// everything (no file, bad header).
pub(crate) fn score_stream_with<T: Send>(
    engine: &Engine,
    prepare: impl Fn(&Outcome) -> T + Sync,
    sink: impl FnMut(T) -> Result<()> + Send,
    progress: impl FnMut(u64) + Send,
) -> Result<ScoreSummary> {
    let scenario = engine.scenario();
    let data = scenario.applicant_data()?;
    let display = data.display().to_string();
    let mut source = ApplicantSource::open(data, scenario.city_set())?;
    let parser = source.parser();
    let rules = engine.rules();
    let fingerprint = engine.fingerprint();
    let (full_tx, full_rx) = std::sync::mpsc::sync_channel::<Batch>(1);
    let (empty_tx, empty_rx) = std::sync::mpsc::channel::<Vec<Item>>();
    let (done_tx, done_rx) = std::sync::mpsc::sync_channel::<(Vec<(T, Seen)>, u64)>(1);
    std::thread::scope(|scope| -> Result<ScoreSummary> {
        let reader = scope.spawn(move || read_batches(&mut source, &full_tx, &empty_rx));
        let prepare = &prepare;
        let writer =
            scope.spawn(move || write_in_order(&display, done_rx, prepare, sink, progress));
        for (batch, last_byte) in &full_rx {
            let outcomes: Vec<(T, Seen)> = batch
                .par_iter()
                .map(|item| {
                    let (o, ops) = match item {
                        Item::Invalid(o) => ((**o).clone(), 0),
                        Item::Record(rec) => match parser.parse(rec) {
                            Ok(a) => with_thread_evaluator(rules, |ev| {
                                let mut a = ev.assess(a);
                                a.scenario = fingerprint.to_string();
                                (Outcome::Assessed(a), ev.last_ops())
                            })?,
                            Err(ps) => (
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
                            ),
                        },
                    };
                    let t = prepare(&o);
                    Ok((t, Seen::of(o, ops)))
                })
                .collect::<Result<_>>()?;
            // The reader refills the batch's records while the next one is assessed.
            let _ = empty_tx.send(batch);
            if done_tx.send((outcomes, last_byte)).is_err() {
                break; // the writer stopped (its error is returned below)
            }
        }
        drop(done_tx);
        let mut summary = match writer.join() {
            Ok(r) => r?,
            Err(p) => std::panic::resume_unwind(p),
        };
        if let Ok(Some(p)) = reader.join() {
            summary.problems.push(p);
        }
        Ok(summary)
    })
}

/// The in-order part of a run, on a thread of its own so writing overlaps the rules:
/// the run's operations budget, repeated ids, the summary and `sink`.
fn write_in_order<T>(
    display: &str,
    done: std::sync::mpsc::Receiver<(Vec<(T, Seen)>, u64)>,
    prepare: &(impl Fn(&Outcome) -> T + Sync),
    mut sink: impl FnMut(T) -> Result<()>,
    mut progress: impl FnMut(u64),
) -> Result<ScoreSummary> {
    let mut summary = ScoreSummary::default();
    let mut budget = RunBudget::default();
    let mut ids = DuplicateIds::default();
    for (outcomes, last_byte) in done {
        for (mut t, mut seen) in outcomes {
            if let Some(id) = &seen.id {
                let error = (seen.status == Kind::Problem).then_some(seen.message.as_str());
                budget.charge(seen.ops, id, error)?;
                if let Some(p) = ids.see(display, id, seen.line) {
                    let o = Outcome::Invalid {
                        id: id.clone(),
                        line: seen.line,
                        message: p.to_string(),
                    };
                    t = prepare(&o);
                    seen = Seen::of(o, 0);
                }
            }
            summary.count(&mut seen);
            sink(t)?;
        }
        progress(last_byte);
    }
    Ok(summary)
}

/// Reads rows into batches until the end of the input or a problem that stops the run (then
/// returned), reusing the records of batches handed back through `empty`.
fn read_batches(
    source: &mut ApplicantSource,
    full: &std::sync::mpsc::SyncSender<Batch>,
    empty: &std::sync::mpsc::Receiver<Vec<Item>>,
) -> Option<Problem> {
    let mut spare: Vec<csv::StringRecord> = Vec::new();
    loop {
        let mut batch = match empty.try_recv() {
            Ok(mut old) => {
                spare.extend(old.drain(..).filter_map(|i| match i {
                    Item::Record(r) => Some(r),
                    Item::Invalid(_) => None,
                }));
                old
            }
            Err(_) => Vec::with_capacity(BATCH),
        };
        let mut last_byte = 0;
        let mut fatal = None;
        let mut end = false;
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
                Ok(Row::End) => {
                    end = true;
                    break;
                }
                Err(p) => {
                    fatal = Some(*p);
                    break;
                }
            }
        }
        if !batch.is_empty() && full.send((batch, last_byte)).is_err() {
            return None;
        }
        if end || fatal.is_some() {
            return fatal;
        }
    }
}

/// Reads every applicant of the scenario, stopping with every input error if any row is
/// bad.
pub(crate) fn read_records(scenario: &Scenario) -> Result<Vec<Record>> {
    crate::applicant::read_records(scenario.applicant_data()?, scenario.city_set())
}
