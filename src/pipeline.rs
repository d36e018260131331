//! Scenario in, assessments out: reading, rules and ordering, streamed and parallel.
//!
//! Rows are read in batches on a thread of their own (and parsed there when there is one
//! rule worker, by the workers when there are more), assessed in parallel (rayon, one
//! rule evaluator per thread) and handed back in input order, so the output is
//! the same whatever the thread count and memory stays bounded by the batch size. `score`'s
//! CSV rows are formatted in the workers, straight from what the compiled rules recorded
//! ([`score_csv`]); other outputs go through assessments ([`score_stream_with`]).

use std::collections::BTreeMap;

use rayon::prelude::*;

use crate::applicant::{ApplicantSource, DuplicateIds, Fingerprint, Record, RowCells, RowParser};
use crate::assessment::Status;
use crate::dialect::Cells;
use crate::dialect::OutputDialect;
use crate::engine::Engine;
use crate::error::{Problem, Problems, Result};
use crate::report::ScoreRows;
use crate::rules::{with_thread_evaluator, Out, OutCheck, RuleSet, RunBudget, Span};
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

/// A row waiting in a batch: parsed by the reading thread when there is one rule worker
/// (the reader would otherwise wait for it most of the time), left as its line for the
/// workers to parse when there are more (the reader would otherwise be the wall: three busy
/// threads on two cores leave it two thirds of one).
enum Item {
    Record(Record),
    /// A plain CSV line, read and checked as UTF-8 but not parsed: its text and separators
    /// are in the batch's [`Lines`].
    Line {
        text: std::ops::Range<usize>,
        cuts: std::ops::Range<usize>,
        line: u64,
        byte: u64,
    },
    Invalid(Box<Outcome>),
}

/// The text and separator positions of a batch's unparsed lines, back to back.
#[derive(Default)]
struct Lines {
    text: String,
    cuts: Vec<usize>,
}

/// Rows read together, the bytes read so far, and the rows' unparsed lines.
struct Batch {
    items: Vec<Item>,
    lines: Lines,
    last_byte: u64,
}

impl Batch {
    /// The record of row `item` for the rules: parsed already, or parsed now from its line
    /// into `scratch`; the row's outcome when it is unreadable or does not parse.
    fn record<'r>(
        &'r self,
        item: &'r Item,
        parser: &RowParser,
        scratch: &'r mut Record,
    ) -> std::result::Result<&'r Record, Box<Outcome>> {
        match item {
            Item::Record(rec) => Ok(rec),
            Item::Invalid(o) => Err(o.clone()),
            Item::Line {
                text,
                cuts,
                line,
                byte,
            } => {
                let cells = Cells::Line {
                    text: self.lines.text.get(text.clone()).unwrap_or(""),
                    cuts: self.lines.cuts.get(cuts.clone()).unwrap_or(&[]),
                    line: *line,
                    byte: *byte,
                };
                match parser.parse_into(&cells, scratch) {
                    Ok(()) => Ok(scratch),
                    Err(ps) => Err(Box::new(invalid(parser, &cells, &ps))),
                }
            }
        }
    }
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

/// The applicants file, as the in-order part of a run knows it.
struct Input {
    /// Its name in messages.
    display: String,
    /// Its size in bytes (0 when not known).
    bytes: u64,
}

impl Input {
    /// After the first batch (`rows` rows, read up to byte `read`), makes room in `ids`
    /// for the ids of the whole file at once (see [`DuplicateIds::reserve_for`]).
    fn presize(&self, ids: &mut DuplicateIds, rows: u64, read: u64) {
        if rows <= BATCH as u64 {
            ids.reserve_for(rows, read, self.bytes);
        }
    }
}

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
    let rules = engine.rules();
    let fingerprint = engine.fingerprint();
    let prepare = &prepare;
    run_batches(
        engine,
        |batch, parser| {
            batch
                .items
                .par_iter()
                .map(|item| {
                    let mut scratch = Record::blank(parser.extra_names_shared());
                    let (o, ops) = match batch.record(item, parser, &mut scratch) {
                        Err(o) => (*o, 0),
                        Ok(rec) => with_thread_evaluator(rules, |ev| {
                            let mut a = ev.assess(rec.clone());
                            a.scenario = fingerprint.to_string();
                            (Outcome::Assessed(a), ev.last_ops())
                        })?,
                    };
                    let t = prepare(&o);
                    Ok((t, Seen::of(o, ops)))
                })
                .collect::<Result<Vec<(T, Seen)>>>()
        },
        move |input, done| write_in_order(input, done, prepare, sink, progress),
    )
}

/// The pipeline of every run: rows are read on a thread of their own, a batch ahead;
/// `assess` turns each batch into its results (in parallel within the batch), and `write`
/// takes them in input order on a thread of its own, with the applicants file's name and
/// size ([`Input`]), and makes the summary. The batches' records go back to the reader for
/// reuse.
fn run_batches<D: Send>(
    engine: &Engine,
    assess: impl Fn(&Batch, &RowParser) -> Result<D> + Sync,
    write: impl FnOnce(&Input, std::sync::mpsc::Receiver<(D, u64)>) -> Result<ScoreSummary> + Send,
) -> Result<ScoreSummary> {
    let scenario = engine.scenario();
    let data = scenario.applicant_data()?;
    let input = Input {
        display: data.display().to_string(),
        bytes: data.len(),
    };
    let mut source = ApplicantSource::open(data, scenario.city_set())?;
    let parser = source.parser();
    // With one rule worker the reader parses; with more, the workers do.
    let parse = rayon::current_num_threads() < 2;
    let (full_tx, full_rx) = std::sync::mpsc::sync_channel::<Batch>(1);
    let (empty_tx, empty_rx) = std::sync::mpsc::channel::<Batch>();
    let (done_tx, done_rx) = std::sync::mpsc::sync_channel::<(D, u64)>(1);
    std::thread::scope(|scope| -> Result<ScoreSummary> {
        let reader = scope.spawn(move || read_batches(&mut source, parse, &full_tx, &empty_rx));
        let writer = scope.spawn(move || write(&input, done_rx));
        let run = (|| -> Result<()> {
            for batch in &full_rx {
                let last_byte = batch.last_byte;
                let done = assess(&batch, &parser)?;
                // The reader refills the batch's records while the next one is assessed.
                let _ = empty_tx.send(batch);
                if done_tx.send((done, last_byte)).is_err() {
                    break; // the writer stopped (its error is returned below)
                }
            }
            Ok(())
        })();
        finish(run, done_tx, full_rx, writer, reader)
    })
}

/// Ends a run whose rules stopped with `run`: stops the writer and the reader (which may be
/// waiting to hand over a batch no one will take) and waits for both; the run's error, else
/// the writer's, else its summary with any problem that stopped the reader.
fn finish<D>(
    run: Result<()>,
    done: std::sync::mpsc::SyncSender<D>,
    full: std::sync::mpsc::Receiver<Batch>,
    writer: std::thread::ScopedJoinHandle<'_, Result<ScoreSummary>>,
    reader: std::thread::ScopedJoinHandle<'_, Option<Problem>>,
) -> Result<ScoreSummary> {
    drop(done);
    drop(full);
    let written = match writer.join() {
        Ok(r) => r,
        Err(p) => std::panic::resume_unwind(p),
    };
    let stopped = reader.join().ok().flatten();
    run?;
    let mut summary = written?;
    if let Some(p) = stopped {
        summary.problems.push(p);
    }
    Ok(summary)
}

/// The in-order part of a run, on a thread of its own so writing overlaps the rules:
/// the run's operations budget, repeated ids, the summary and `sink`.
fn write_in_order<T>(
    input: &Input,
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
                if let Some(p) = ids.see(&input.display, id, seen.line) {
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
        input.presize(&mut ids, summary.applicants, last_byte);
        progress(last_byte);
    }
    Ok(summary)
}

/// Rows a worker formats together: a batch is cut into chunks so each worker fills one
/// byte buffer instead of handing back a value per row.
const CHUNK: usize = 256;

/// Byte buffers of chunks already written, for the next chunks: a buffer freed on the
/// writing thread and allocated again on a worker would take fresh memory every time.
#[derive(Default)]
struct Buffers(std::sync::Mutex<Vec<Vec<u8>>>);

impl Buffers {
    /// Most buffers kept (about the chunks of the batches in flight).
    const KEPT: usize = 64;

    fn take(&self, rows: usize) -> Vec<u8> {
        let kept = self.0.lock().ok().and_then(|mut b| b.pop());
        kept.unwrap_or_else(|| Vec::with_capacity(rows * 128))
    }

    fn give(&self, mut buffer: Vec<u8>) {
        buffer.clear();
        if let Ok(mut b) = self.0.lock() {
            if b.len() < Self::KEPT {
                b.push(buffer);
            }
        }
    }
}

/// Rows of a chunk, formatted, with what the in-order part needs of each.
struct Chunk {
    /// The output rows, back to back.
    bytes: Vec<u8>,
    rows: Vec<Done>,
    /// Ids of the rows, back to back (a repeated id is named in its problem).
    ids: String,
    /// Failed checks (id, text) of this chunk's rows, each once (or twice: once met as
    /// constants of the compiled rules, which `keys` holds, once as texts).
    checks: Vec<(String, String)>,
    keys: Vec<Option<(Span, Span)>>,
    /// Each row's failed checks, as indexes into `checks`, back to back.
    failed: Vec<u32>,
}

/// One formatted row of a [`Chunk`].
struct Done {
    /// Ends of the row in `bytes`, of its id in `ids` and of its checks in `failed`.
    end: usize,
    id_end: usize,
    failed_end: usize,
    /// The id's fingerprint, for a row that was read (repeated ids are found in input
    /// order); `None` for an unreadable row.
    fingerprint: Option<Fingerprint>,
    line: u64,
    ops: u64,
    status: Kind,
    /// The rule error, or why the row is unreadable.
    message: String,
}

impl Chunk {
    fn new(rows: usize) -> Chunk {
        Chunk {
            bytes: Vec::new(),
            rows: Vec::with_capacity(rows),
            ids: String::with_capacity(rows * 8),
            checks: Vec::new(),
            keys: Vec::new(),
            failed: Vec::new(),
        }
    }

    /// Records a failed check of the compiled rules for the row being added; a check whose
    /// id and text are constants of the rules is found by their indexes.
    fn fail_compiled(&mut self, out: &Out, c: &OutCheck) {
        if let (Span::Const(_), Span::Const(_)) = (c.id, c.text) {
            let key = Some((c.id, c.text));
            let i = match self.keys.iter().position(|k| *k == key) {
                Some(i) => i,
                None => {
                    let texts = (out.str(c.id).to_string(), out.str(c.text).to_string());
                    self.checks.push(texts);
                    self.keys.push(key);
                    self.checks.len() - 1
                }
            };
            self.failed.push(i as u32);
        } else {
            self.fail(out.str(c.id), out.str(c.text));
        }
    }

    /// Records a failed check of the row being added.
    fn fail(&mut self, id: &str, text: &str) {
        let i = match self
            .checks
            .iter()
            .zip(&self.keys)
            .position(|((i, t), k)| k.is_none() && i == id && t == text)
        {
            Some(i) => i,
            None => {
                self.checks.push((id.to_string(), text.to_string()));
                self.keys.push(None);
                self.checks.len() - 1
            }
        };
        self.failed.push(i as u32);
    }

    /// Ends the row being added.
    fn push(&mut self, end: usize, id: Option<&str>, line: u64, ops: u64, status: Kind) {
        self.push_with(end, id, line, ops, status, String::new());
    }

    fn push_with(
        &mut self,
        end: usize,
        id: Option<&str>,
        line: u64,
        ops: u64,
        status: Kind,
        message: String,
    ) {
        self.ids.push_str(id.unwrap_or(""));
        self.rows.push(Done {
            end,
            id_end: self.ids.len(),
            failed_end: self.failed.len(),
            fingerprint: id.map(crate::applicant::fingerprint),
            line,
            ops,
            status,
            message,
        });
    }

    /// Adds the row of an outcome made without the compiled fast path.
    fn outcome(&mut self, rows: &mut ScoreRows, o: &Outcome, ops: u64) -> csv::Result<()> {
        rows.outcome(o)?;
        let end = rows.len();
        match o {
            Outcome::Invalid { line, message, .. } => {
                self.push_with(end, None, *line, ops, Kind::Problem, message.clone());
            }
            Outcome::Assessed(a) => {
                for c in a.failed() {
                    self.fail(&c.id, &c.text);
                }
                let (status, message) = match &a.status {
                    Status::Eligible => (Kind::Eligible, String::new()),
                    Status::Ineligible => (Kind::Ineligible, String::new()),
                    Status::Error(m) => (Kind::Problem, m.clone()),
                };
                self.push_with(end, Some(&a.id), a.line, ops, status, message);
            }
        }
        Ok(())
    }
}

/// Assesses and formats one chunk of a batch, on a worker thread.
fn score_chunk(
    batch: &Batch,
    items: &[Item],
    parser: &RowParser,
    rules: &RuleSet,
    dialect: OutputDialect,
    buffers: &Buffers,
) -> Result<Chunk> {
    let mut rows = ScoreRows::with_buffer(dialect, buffers.take(items.len()));
    let mut chunk = Chunk::new(items.len());
    let csv = |e: csv::Error| crate::Error::Internal(format!("formatting a row: {e}"));
    let mut scratch = Record::blank(parser.extra_names_shared());
    with_thread_evaluator(rules, |ev| -> Result<()> {
        for item in items {
            let rec = match batch.record(item, parser, &mut scratch) {
                Ok(rec) => rec,
                Err(o) => {
                    chunk.outcome(&mut rows, &o, 0).map_err(csv)?;
                    continue;
                }
            };
            if let Some(out) = ev.assess_compiled(rec) {
                rows.compiled(&rec.id, out).map_err(csv)?;
                for c in out.checks.iter().filter(|c| !c.passed) {
                    chunk.fail_compiled(out, c);
                }
                let status = if out.all_passed() {
                    Kind::Eligible
                } else {
                    Kind::Ineligible
                };
                let ops = ev.last_ops();
                chunk.push(rows.len(), Some(&rec.id), rec.line, ops, status);
            } else {
                let a = ev.assess_interpreted(rec.clone());
                let ops = ev.last_ops();
                chunk
                    .outcome(&mut rows, &Outcome::Assessed(a), ops)
                    .map_err(csv)?;
            }
        }
        Ok(())
    })??;
    chunk.bytes = rows.into_bytes();
    Ok(chunk)
}

/// The outcome of a row that does not parse.
fn invalid(parser: &RowParser, cells: &Cells, problems: &[Problem]) -> Outcome {
    Outcome::Invalid {
        id: parser.id_of(cells).unwrap_or("").to_string(),
        line: cells.line(),
        message: problems
            .iter()
            .map(|p| p.to_string())
            .collect::<Vec<_>>()
            .join("; "),
    }
}

/// Streams every applicant of the engine's scenario through its rules into `score`'s CSV
/// rows in `dialect` (without the header), handed to `sink` as bytes in input order;
/// `progress` gets the bytes read so far after each batch. The same rows as
/// [`score_stream_with`] with [`crate::report::score_row`], made faster: workers format
/// rows straight from what the compiled rules recorded, into one buffer per chunk.
pub(crate) fn score_csv(
    engine: &Engine,
    dialect: OutputDialect,
    sink: impl FnMut(&[u8]) -> Result<()> + Send,
    progress: impl FnMut(u64) + Send,
) -> Result<ScoreSummary> {
    let rules = engine.rules();
    let buffers = &Buffers::default();
    run_batches(
        engine,
        |batch, parser| {
            batch
                .items
                .par_chunks(CHUNK)
                .map(|items| score_chunk(batch, items, parser, rules, dialect, buffers))
                .collect::<Result<Vec<Chunk>>>()
        },
        move |input, done| write_chunks(input, dialect, done, buffers, sink, progress),
    )
}

/// The in-order part of [`score_csv`], on a thread of its own: the run's operations
/// budget, repeated ids (whose rows become error rows here), the summary and `sink`.
fn write_chunks(
    input: &Input,
    dialect: OutputDialect,
    done: std::sync::mpsc::Receiver<(Vec<Chunk>, u64)>,
    buffers: &Buffers,
    mut sink: impl FnMut(&[u8]) -> Result<()>,
    mut progress: impl FnMut(u64),
) -> Result<ScoreSummary> {
    let mut summary = ScoreSummary::default();
    let mut budget = RunBudget::default();
    let mut ids = DuplicateIds::default();
    // Per chunk: how many rows each of its failed checks excluded, and the first of them.
    let mut counts: Vec<(u64, usize)> = Vec::new();
    for (chunks, last_byte) in done {
        for mut chunk in chunks {
            counts.clear();
            counts.resize(chunk.checks.len(), (0, 0));
            // Bytes of rows already checked and not yet written.
            let mut pending = 0;
            let (mut start, mut id_start, mut failed_start) = (0, 0, 0);
            for (r, row) in chunk.rows.iter().enumerate() {
                let id = chunk.ids.get(id_start..row.id_end).unwrap_or("");
                let failed = chunk
                    .failed
                    .get(failed_start..row.failed_end)
                    .unwrap_or(&[]);
                let row_start = start;
                (start, id_start, failed_start) = (row.end, row.id_end, row.failed_end);
                if let Some(fingerprint) = row.fingerprint {
                    let error = (row.status == Kind::Problem).then_some(row.message.as_str());
                    budget.charge(row.ops, id, error)?;
                    if let Some(p) = ids.see_fingerprint(&input.display, fingerprint, id, row.line)
                    {
                        let o = Outcome::Invalid {
                            id: id.to_string(),
                            line: row.line,
                            message: p.to_string(),
                        };
                        let mut rows = ScoreRows::new(dialect);
                        rows.outcome(&o).map_err(|e| {
                            crate::Error::Internal(format!("formatting a row: {e}"))
                        })?;
                        sink(chunk.bytes.get(pending..row_start).unwrap_or(&[]))?;
                        sink(&rows.into_bytes())?;
                        pending = row.end;
                        summary.applicants += 1;
                        summary.problems.push(Problem::error("", p.to_string()));
                        continue;
                    }
                }
                summary.applicants += 1;
                match row.status {
                    Kind::Eligible => summary.eligible += 1,
                    Kind::Ineligible => summary.ineligible += 1,
                    Kind::Problem => summary
                        .problems
                        .push(Problem::error("", row.message.clone())),
                }
                for &i in failed {
                    if let Some(c) = counts.get_mut(i as usize) {
                        if c.0 == 0 {
                            c.1 = r;
                        }
                        c.0 += 1;
                    }
                }
            }
            sink(chunk.bytes.get(pending..).unwrap_or(&[]))?;
            buffers.give(std::mem::take(&mut chunk.bytes));
            // In the order each check first excluded someone, as row by row: the first
            // text seen for an id is the one kept.
            let mut order: Vec<usize> = (0..counts.len()).filter(|&i| counts[i].0 > 0).collect();
            order.sort_by_key(|&i| counts[i].1);
            for i in order {
                let (id, text) = &chunk.checks[i];
                summary
                    .excluded_by
                    .entry(id.clone())
                    .or_insert_with(|| (text.clone(), 0))
                    .1 += counts[i].0;
            }
        }
        input.presize(&mut ids, summary.applicants, last_byte);
        progress(last_byte);
    }
    Ok(summary)
}

/// Reads rows into batches until the end of the input or a problem that stops the run (then
/// returned), reusing the batches handed back through `empty`. With `parse`, a row is
/// parsed straight into the record already at its place in a returned batch (moving
/// records in and out of a spare list cost a copy of each record per move); without, a
/// plain line is only copied into the batch's [`Lines`] for the workers to parse.
fn read_batches(
    source: &mut ApplicantSource,
    parse: bool,
    full: &std::sync::mpsc::SyncSender<Batch>,
    empty: &std::sync::mpsc::Receiver<Batch>,
) -> Option<Problem> {
    let parser = source.parser();
    let mut raw = csv::StringRecord::new();
    loop {
        let mut batch = empty.try_recv().unwrap_or_else(|_| Batch {
            items: Vec::with_capacity(BATCH),
            lines: Lines::default(),
            last_byte: 0,
        });
        batch.lines.text.clear();
        batch.lines.cuts.clear();
        let items = &mut batch.items;
        // Rows of this batch so far; items past it are old ones, to reuse.
        let mut n = 0;
        let mut last_byte = 0;
        let mut fatal = None;
        let mut end = false;
        while n < BATCH {
            let item = match source.next_cells(&mut raw) {
                Ok(RowCells::Row(Cells::Line {
                    text,
                    cuts,
                    line,
                    byte,
                })) if !parse => {
                    last_byte = byte;
                    let lines = &mut batch.lines;
                    let (t, c) = (lines.text.len(), lines.cuts.len());
                    lines.text.push_str(text);
                    lines.cuts.extend_from_slice(cuts);
                    Item::Line {
                        text: t..lines.text.len(),
                        cuts: c..lines.cuts.len(),
                        line,
                        byte,
                    }
                }
                Ok(RowCells::Row(cells)) => {
                    last_byte = cells.byte();
                    if !matches!(items.get(n), Some(Item::Record(_))) {
                        let blank = Item::Record(Record::blank(parser.extra_names_shared()));
                        put(items, n, blank);
                    }
                    if let Some(Item::Record(rec)) = items.get_mut(n) {
                        if let Err(ps) = parser.parse_into(&cells, rec) {
                            items[n] = Item::Invalid(Box::new(invalid(&parser, &cells, &ps)));
                        }
                    }
                    n += 1;
                    continue;
                }
                Ok(RowCells::Unreadable { id, line, problem }) => {
                    Item::Invalid(Box::new(Outcome::Invalid {
                        id,
                        line,
                        message: problem.to_string(),
                    }))
                }
                Ok(RowCells::End) => {
                    end = true;
                    break;
                }
                Err(p) => {
                    fatal = Some(*p);
                    break;
                }
            };
            put(items, n, item);
            n += 1;
        }
        items.truncate(n);
        batch.last_byte = last_byte;
        if !batch.items.is_empty() && full.send(batch).is_err() {
            return None;
        }
        if end || fatal.is_some() {
            return fatal;
        }
    }
}

/// Puts `item` at place `n` of a batch being refilled: over the old item there, or at the
/// end.
fn put(items: &mut Vec<Item>, n: usize, item: Item) {
    match items.get_mut(n) {
        Some(old) => *old = item,
        None => items.push(item),
    }
}

/// Reads every applicant of the scenario, stopping with every input error if any row is
/// bad.
pub(crate) fn read_records(scenario: &Scenario) -> Result<Vec<Record>> {
    crate::applicant::read_records(scenario.applicant_data()?, scenario.city_set())
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::report::{score_is_number, score_row, CsvOut, SCORE_COLUMNS};

    /// `score`'s CSV and summary through assessments ([`score_stream_with`]).
    fn by_assessments(engine: &Engine, dialect: OutputDialect) -> (Vec<u8>, ScoreSummary) {
        let mut w = CsvOut::new(Vec::new(), dialect, &SCORE_COLUMNS, score_is_number).unwrap();
        let summary = score_stream_with(
            engine,
            score_row,
            |row| {
                w.row(&row)
                    .map_err(|e| crate::Error::Internal(e.to_string()))
            },
            |_| {},
        )
        .unwrap();
        (w.into_inner().unwrap(), summary)
    }

    /// `score`'s CSV and summary as the command writes them ([`score_csv`]).
    fn fast(engine: &Engine, dialect: OutputDialect) -> (Vec<u8>, ScoreSummary) {
        let header = CsvOut::new(Vec::new(), dialect, &SCORE_COLUMNS, score_is_number).unwrap();
        let mut out = header.into_inner().unwrap();
        let summary = score_csv(
            engine,
            dialect,
            |rows| {
                out.extend_from_slice(rows);
                Ok(())
            },
            |_| {},
        )
        .unwrap();
        (out, summary)
    }

    /// The fast rows are byte for byte the assessments' rows, in both dialects, on 1 and 2
    /// threads; returns the rows.
    fn same_rows(engine: &Engine) -> String {
        let mut first: Option<Vec<u8>> = None;
        for threads in [1, 2] {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap();
            for dialect in [OutputDialect::Comma, OutputDialect::ExcelFr] {
                let (slow, slow_summary) = pool.install(|| by_assessments(engine, dialect));
                let (quick, quick_summary) = pool.install(|| fast(engine, dialect));
                assert!(slow == quick, "{threads} thread(s), {dialect:?}");
                assert_eq!(slow_summary, quick_summary, "{threads} thread(s)");
                if dialect == OutputDialect::Comma {
                    match &first {
                        Some(f) => assert!(*f == quick, "{threads} thread(s)"),
                        None => first = Some(quick),
                    }
                }
            }
        }
        String::from_utf8(first.unwrap_or_default()).unwrap()
    }

    #[test]
    fn fast_rows_are_the_assessments_rows_for_the_shipped_scenarios() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        for s in ["scenarios/ramadan-2016", "scenarios/tangier-2016"] {
            let engine = Engine::load(root.join(s)).unwrap();
            assert!(engine.rules().is_compiled(), "{s}");
            same_rows(&engine);
        }
    }

    #[test]
    fn fast_rows_are_the_assessments_rows_with_bad_rows_rule_errors_and_repeated_ids() {
        let dir = tempfile::tempdir().unwrap();
        // Other options keep their defaults as the generator grows.
        #[allow(clippy::needless_update)]
        let options = crate::generate::GenerateOptions {
            applicants: 9000,
            seed: 11,
            ..Default::default()
        };
        crate::generate::generate(&options, dir.path()).unwrap();
        // A rule that divides by zero for applicants born in 1990: the compiled rules give
        // up and the interpreter gives the error.
        let rule = dir.path().join("rules/score.rhai");
        let mut text = std::fs::read_to_string(&rule).unwrap();
        text.push_str("\nlet spread = 100 / (applicant.birth_year - 1990);\n");
        std::fs::write(&rule, text).unwrap();
        let data = dir.path().join("applicants.csv");
        let mut csv = std::fs::read(&data).unwrap();
        let lines: Vec<Vec<u8>> = csv.split(|&b| b == b'\n').map(<[u8]>::to_vec).collect();
        let mut add = |row: &[u8]| {
            csv.extend_from_slice(row);
            csv.push(b'\n');
        };
        // Repeated ids, far apart and within a chunk; a row that is not UTF-8; a row with a
        // field too few; a row with an unknown city; and the first row again at the end.
        add(&lines[1]);
        add(&lines[4000]);
        add(&lines[8999]);
        add(b"Z1,N\xff,F,1990,Tangier,2016-01-01,x,1,true,true,x,true,1,1,p,0");
        add(b"Z2,Name,F,1990");
        let mut unknown = lines[2].clone();
        let city = b",Tangier,";
        if let Some(at) = unknown.windows(city.len()).position(|w| w == city) {
            unknown.splice(at..at + city.len(), b",Atlantis,".iter().copied());
        }
        add(&unknown);
        add(&lines[1]);
        std::fs::write(&data, &csv).unwrap();
        let engine = Engine::load(dir.path()).unwrap();
        assert!(engine.rules().is_compiled());
        let rows = same_rows(&engine);
        assert_eq!(
            rows.lines().count(),
            1 + 9000 + 7,
            "every row and the header"
        );
        assert!(rows.contains("duplicate id"), "{rows:.300}");
        assert!(rows.contains("not valid UTF-8"));
        assert!(rows.contains("fields, expected"));
        assert!(rows.contains("zero"), "a rule error");
    }
}
