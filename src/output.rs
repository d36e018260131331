//! Writing outputs safely: whole or not at all, and never over an input.
//!
//! Every output file is written to a temporary file in its target folder and renamed into
//! place only once complete, so a failed or interrupted run leaves the previous file (or
//! none) rather than half of one. Before a command writes anything it checks that no output
//! path is one of its inputs (scenario, applicants, labour market, rule files, compared
//! scenarios), by canonical path: a planner who types the applicants file after `--out`
//! gets an error, not an empty applicants file.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use crate::error::{Error, Problem, Result};

/// Temporary files being written, so a run stopped by its time limit can remove them.
static PENDING: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());

fn pending() -> std::sync::MutexGuard<'static, Vec<PathBuf>> {
    PENDING.lock().unwrap_or_else(|e| e.into_inner())
}

/// Removes every temporary output file still being written (before the process ends
/// early), so a stopped run writes nothing.
pub(crate) fn abandon_all() {
    for p in pending().drain(..) {
        let _ = std::fs::remove_file(p);
    }
}

/// An output file being written; it appears at its path only on [`Output::commit`].
pub(crate) struct Output {
    path: PathBuf,
    tmp: PathBuf,
    file: Option<BufWriter<File>>,
}

impl Output {
    /// Starts writing `path` (its folder must exist).
    pub(crate) fn create(path: &Path) -> Result<Output> {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "output".into());
        let tmp = path.with_file_name(format!(".{name}.idmaj-{}.tmp", std::process::id()));
        let file = File::create(&tmp).map_err(|e| Error::io(path, e))?;
        pending().push(tmp.clone());
        Ok(Output {
            path: path.to_path_buf(),
            tmp,
            file: Some(BufWriter::with_capacity(1 << 16, file)),
        })
    }

    /// Finishes the file and moves it into place.
    pub(crate) fn commit(mut self) -> Result<()> {
        let file = self.file.take().expect("committed once");
        let file = file
            .into_inner()
            .map_err(|e| Error::io(&self.path, e.into_error()))?;
        file.sync_all().map_err(|e| Error::io(&self.path, e))?;
        drop(file);
        std::fs::rename(&self.tmp, &self.path).map_err(|e| Error::io(&self.path, e))?;
        pending().retain(|p| *p != self.tmp);
        Ok(())
    }
}

impl Write for Output {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.file.as_mut().map_or(Ok(0), |f| f.write(buf))
    }

    fn flush(&mut self) -> io::Result<()> {
        self.file.as_mut().map_or(Ok(()), |f| f.flush())
    }
}

impl Drop for Output {
    fn drop(&mut self) {
        if self.file.take().is_some() {
            let _ = std::fs::remove_file(&self.tmp);
            pending().retain(|p| *p != self.tmp);
        }
    }
}

/// Writes `bytes` to `path`, whole or not at all.
pub(crate) fn write_file(path: &Path, bytes: &[u8]) -> Result<()> {
    let mut out = Output::create(path)?;
    out.write_all(bytes).map_err(|e| Error::io(path, e))?;
    out.commit()
}

/// `path` made absolute and resolved as far as it exists (a file not yet written is its
/// folder's canonical path joined with its name).
fn canonical(path: &Path) -> Option<PathBuf> {
    if let Ok(p) = path.canonicalize() {
        return Some(p);
    }
    let parent = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    Some(parent.canonicalize().ok()?.join(path.file_name()?))
}

/// Refuses any output in `outputs` that is one of `inputs` (`(what, path)`), before
/// anything is written: exit code 2 with the option and the input named.
pub(crate) fn refuse_inputs(
    option: &str,
    outputs: &[PathBuf],
    inputs: &[(&str, PathBuf)],
) -> Result<()> {
    let inputs: Vec<(&str, PathBuf)> = inputs
        .iter()
        .filter_map(|(what, p)| Some((*what, canonical(p)?)))
        .collect();
    for out in outputs {
        let Some(c) = canonical(out) else { continue };
        if let Some((what, _)) = inputs.iter().find(|(_, p)| *p == c) {
            return Err(Error::from(Problem::error(
                option,
                format!(
                    "{} is an input of the run (the {what}); writing there would destroy it, \
                     choose another path",
                    out.display()
                ),
            )));
        }
    }
    Ok(())
}

/// Where a streamed output goes: a file (written whole or not at all) or standard output.
pub(crate) enum Sink {
    /// A file, moved into place by [`Sink::finish`].
    File(Output),
    /// Standard output.
    Stdout(BufWriter<io::Stdout>),
}

impl Sink {
    /// A file at `path`, or standard output for `None`.
    pub(crate) fn open(path: Option<&Path>) -> Result<Sink> {
        Ok(match path {
            Some(p) => Sink::File(Output::create(p)?),
            None => Sink::Stdout(BufWriter::with_capacity(1 << 16, io::stdout())),
        })
    }

    /// Ends the output: the file moved into place, or standard output flushed.
    pub(crate) fn finish(self) -> Result<()> {
        match self {
            Sink::File(o) => o.commit(),
            Sink::Stdout(mut w) => w.flush().map_err(|e| Error::io("<stdout>", e)),
        }
    }
}

impl Write for Sink {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Sink::File(o) => o.write(buf),
            Sink::Stdout(w) => w.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Sink::File(o) => o.flush(),
            Sink::Stdout(w) => w.flush(),
        }
    }
}
