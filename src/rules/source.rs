//! Rule files joined into one script, with positions mapped back to each file.
//!
//! Evaluating one AST per applicant is much cheaper than one per file (each evaluation has
//! a fixed cost), so the files are concatenated in order; a position in the joined script
//! is mapped back to `file:line:col` for every message.

use std::path::Path;

use crate::error::{Error, Problem, Result};

/// The rule files of a scenario, joined.
#[derive(Debug, Clone)]
pub struct Sources {
    /// The joined script.
    pub text: String,
    /// (file as shown, first line of the file in `text`, number of lines).
    files: Vec<(String, u64, u64)>,
}

impl Sources {
    /// Reads and joins `paths` in order.
    pub fn read(paths: &[impl AsRef<Path>]) -> Result<Sources> {
        let mut parts = Vec::new();
        for p in paths {
            let p = p.as_ref();
            let display = p.display().to_string();
            let text = std::fs::read_to_string(p).map_err(|e| {
                Error::from(Problem::error(
                    &display,
                    format!("cannot read the rule file: {e}"),
                ))
            })?;
            parts.push((display, text));
        }
        Ok(Sources::join(parts))
    }

    /// Joins named scripts in order.
    pub fn join(parts: Vec<(String, String)>) -> Sources {
        let mut text = String::new();
        let mut files = Vec::new();
        let mut line = 1;
        for (name, body) in parts {
            let n = body.lines().count().max(1) as u64;
            files.push((name, line, n));
            text.push_str(&body);
            if !body.ends_with('\n') {
                text.push('\n');
            }
            line += n;
        }
        Sources { text, files }
    }

    /// `(file, line in file)` for a line of the joined script.
    pub fn locate(&self, line: u64) -> (&str, u64) {
        for (name, start, n) in &self.files {
            if line >= *start && line < start + n {
                return (name, line - start + 1);
            }
        }
        match self.files.last() {
            Some((name, start, _)) => (name, line.saturating_sub(*start) + 1),
            None => ("<rules>", line),
        }
    }

    /// A problem at a position of the joined script.
    pub fn problem(&self, pos: rhai::Position, message: impl Into<String>) -> Problem {
        match (pos.line(), pos.position()) {
            (Some(line), col) => {
                let (file, l) = self.locate(line as u64);
                Problem::error(file, message).at(l, col.unwrap_or(1) as u64)
            }
            _ => Problem::error(
                self.files.first().map_or("<rules>", |f| f.0.as_str()),
                message,
            ),
        }
    }
}

/// Every `word.IDENT` in `text` outside strings and comments, with 1-based line and
/// column of IDENT: used to check field names at compile time.
pub fn member_accesses<'a>(text: &'a str, word: &str) -> Vec<(&'a str, u64, u64)> {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let (mut i, mut line, mut line_start) = (0usize, 1u64, 0usize);
    while i < bytes.len() {
        let b = bytes[i];
        match b {
            b'\n' => {
                line += 1;
                line_start = i + 1;
                i += 1;
            }
            b'/' if bytes.get(i + 1) == Some(&b'/') => {
                while i < bytes.len() && bytes[i] != b'\n' {
                    i += 1;
                }
            }
            b'/' if bytes.get(i + 1) == Some(&b'*') => {
                i += 2;
                while i < bytes.len() && !(bytes[i] == b'*' && bytes.get(i + 1) == Some(&b'/')) {
                    if bytes[i] == b'\n' {
                        line += 1;
                        line_start = i + 1;
                    }
                    i += 1;
                }
                i += 2;
            }
            b'"' | b'`' | b'\'' => {
                i += 1;
                while i < bytes.len() && bytes[i] != b {
                    if bytes[i] == b'\\' {
                        i += 1;
                    } else if bytes[i] == b'\n' {
                        line += 1;
                        line_start = i + 1;
                    }
                    i += 1;
                }
                i += 1;
            }
            _ if is_ident(b) => {
                let start = i;
                while i < bytes.len() && is_ident(bytes[i]) {
                    i += 1;
                }
                let preceded_by_dot = start > 0 && bytes[start - 1] == b'.';
                if &text[start..i] == word && !preceded_by_dot {
                    let mut j = i;
                    while j < bytes.len() && (bytes[j] == b' ' || bytes[j] == b'\t') {
                        j += 1;
                    }
                    if bytes.get(j) == Some(&b'.') && bytes.get(j + 1) != Some(&b'.') {
                        j += 1;
                        while j < bytes.len() && (bytes[j] == b' ' || bytes[j] == b'\t') {
                            j += 1;
                        }
                        let s = j;
                        while j < bytes.len() && is_ident(bytes[j]) {
                            j += 1;
                        }
                        if j > s {
                            let col = text[line_start..s].chars().count() as u64 + 1;
                            out.push((&text[s..j], line, col));
                        }
                        i = j;
                    }
                }
            }
            _ => i += 1,
        }
    }
    out
}

fn is_ident(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_map_back_to_each_file() {
        let s = Sources::join(vec![
            ("a.rhai".into(), "x\ny\n".into()),
            ("b.rhai".into(), "z".into()),
        ]);
        assert_eq!(s.locate(1), ("a.rhai", 1));
        assert_eq!(s.locate(2), ("a.rhai", 2));
        assert_eq!(s.locate(3), ("b.rhai", 1));
    }

    #[test]
    fn finds_field_reads_outside_strings_and_comments() {
        let text = "let h = applicant.training_hours;\n// applicant.nope\nlet s = \"applicant.no\"; applicant . city; x.applicant.z";
        let found = member_accesses(text, "applicant");
        assert_eq!(found, vec![("training_hours", 1, 19), ("city", 3, 37)]);
    }
}
