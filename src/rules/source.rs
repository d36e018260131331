//! Rule files joined into one script, with positions mapped back to each file.
//!
//! Evaluating one AST per applicant is much cheaper than one per file (each evaluation has
//! a fixed cost), so the files are concatenated in order; a position in the joined script
//! is mapped back to `file:line:col` for every message.

use crate::error::Problem;

/// The rule files of a scenario, joined.
#[derive(Debug, Clone)]
pub(crate) struct JoinedRules {
    /// The joined script.
    pub text: String,
    /// (file as shown, first line of the file in `text`, number of lines, bytes).
    files: Vec<(String, u64, u64, std::ops::Range<usize>)>,
}

impl JoinedRules {
    /// Joins named scripts in order.
    pub fn join(parts: Vec<(String, String)>) -> JoinedRules {
        let mut text = String::new();
        let mut files = Vec::new();
        let mut line = 1;
        for (name, body) in parts {
            let n = body.lines().count().max(1) as u64;
            let start = text.len();
            text.push_str(&body);
            files.push((name, line, n, start..text.len()));
            if !body.ends_with('\n') {
                text.push('\n');
            }
            line += n;
        }
        JoinedRules { text, files }
    }

    /// `(file, line in file)` for a line of the joined script.
    pub fn locate(&self, line: u64) -> (&str, u64) {
        for (name, start, n, _) in &self.files {
            if line >= *start && line < start + n {
                return (name, line - start + 1);
            }
        }
        match self.files.last() {
            Some((name, start, ..)) => (name, line.saturating_sub(*start) + 1),
            None => ("<rules>", line),
        }
    }

    /// Each file as (name shown, its text).
    pub fn files(&self) -> impl Iterator<Item = (&str, &str)> {
        self.files
            .iter()
            .map(|(n, .., r)| (n.as_str(), &self.text[r.clone()]))
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

/// A token of rule code, outside strings and comments, with its 1-based line and column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Token<'a> {
    pub text: &'a str,
    pub line: u64,
    pub col: u64,
}

/// What [`scan`] found in one file: the code tokens, and where the file leaves a comment,
/// string or bracket open (which, joined with the next file, would swallow it).
#[derive(Debug, Default)]
pub(crate) struct Scan<'a> {
    pub tokens: Vec<Token<'a>>,
    pub unclosed: Option<(u64, u64, String)>,
}

/// Splits `text` into identifiers and punctuation (multi-character operators kept whole),
/// skipping strings, characters and comments.
pub(crate) fn scan(text: &str) -> Scan<'_> {
    let bytes = text.as_bytes();
    let mut out = Scan::default();
    let (mut i, mut line, mut line_start) = (0usize, 1u64, 0usize);
    let col = |at: usize, line_start: usize| text[line_start..at].chars().count() as u64 + 1;
    let mut open: Vec<(u8, u64, u64)> = Vec::new();
    while i < bytes.len() {
        let b = bytes[i];
        match b {
            b'\n' => {
                line += 1;
                line_start = i + 1;
                i += 1;
            }
            b' ' | b'\t' | b'\r' => i += 1,
            b'/' if bytes.get(i + 1) == Some(&b'/') => {
                while i < bytes.len() && bytes[i] != b'\n' {
                    i += 1;
                }
            }
            b'/' if bytes.get(i + 1) == Some(&b'*') => {
                let (l0, c0) = (line, col(i, line_start));
                let mut depth = 1;
                i += 2;
                while i < bytes.len() && depth > 0 {
                    if bytes[i] == b'\n' {
                        line += 1;
                        line_start = i + 1;
                    } else if bytes[i] == b'*' && bytes.get(i + 1) == Some(&b'/') {
                        depth -= 1;
                        i += 1;
                    } else if bytes[i] == b'/' && bytes.get(i + 1) == Some(&b'*') {
                        depth += 1;
                        i += 1;
                    }
                    i += 1;
                }
                if depth > 0 && out.unclosed.is_none() {
                    out.unclosed = Some((l0, c0, "comment `/*` is not closed".into()));
                }
            }
            b'"' | b'`' | b'\'' => {
                let (l0, c0) = (line, col(i, line_start));
                i += 1;
                let mut closed = false;
                while i < bytes.len() {
                    match bytes[i] {
                        b'\\' => i += 1,
                        b'\n' => {
                            line += 1;
                            line_start = i + 1;
                        }
                        c if c == b => {
                            closed = true;
                            break;
                        }
                        _ => {}
                    }
                    i += 1;
                }
                i += 1;
                if !closed && out.unclosed.is_none() {
                    out.unclosed = Some((l0, c0, "string is not terminated".into()));
                }
            }
            _ if is_ident(b) => {
                let start = i;
                while i < bytes.len() && is_ident(bytes[i]) {
                    i += 1;
                }
                out.tokens.push(Token {
                    text: &text[start..i],
                    line,
                    col: col(start, line_start),
                });
            }
            _ => {
                let start = i;
                let c = col(i, line_start);
                // Longest operator first, so `==` is never read as `=` `=`.
                const OPS: [&str; 22] = [
                    "**=", "<<=", ">>=", "==", "!=", "<=", ">=", "+=", "-=", "*=", "/=", "%=",
                    "&=", "|=", "^=", "&&", "||", "..", "::", "?.", "=>", "->",
                ];
                let len = OPS
                    .iter()
                    .find(|op| text[i..].starts_with(*op))
                    .map_or_else(
                        || text[i..].chars().next().map_or(1, char::len_utf8),
                        |op| op.len(),
                    );
                i += len;
                match b {
                    b'{' | b'(' | b'[' => open.push((b, line, c)),
                    b'}' | b')' | b']' => {
                        open.pop();
                    }
                    _ => {}
                }
                out.tokens.push(Token {
                    text: &text[start..i],
                    line,
                    col: c,
                });
            }
        }
    }
    if out.unclosed.is_none() {
        if let Some((b, l, c)) = open.first() {
            out.unclosed = Some((*l, *c, format!("`{}` is never closed", *b as char)));
        }
    }
    out
}

/// Every `word.IDENT` (spaces and line breaks allowed around the dot), as (IDENT, line,
/// col): used to check field and parameter names when the rules load.
pub fn member_accesses<'a>(text: &'a str, word: &str) -> Vec<(&'a str, u64, u64)> {
    let toks = scan(text).tokens;
    let mut out = Vec::new();
    for (k, t) in toks.iter().enumerate() {
        let after_dot = k > 0 && matches!(toks[k - 1].text, "." | "?.");
        if t.text != word || after_dot {
            continue;
        }
        if let (Some(dot), Some(name)) = (toks.get(k + 1), toks.get(k + 2)) {
            if matches!(dot.text, "." | "?.") && name.text.bytes().all(is_ident) {
                out.push((name.text, name.line, name.col));
            }
        }
    }
    out
}

/// Every assignment whose target starts with `word` (`params.x = 1`, `params["x"] += 1`,
/// `program = #{}`), as (line, col) of `word`: parameters and the programme are read-only.
pub fn assignments_to(text: &str, word: &str) -> Vec<(u64, u64)> {
    const ASSIGN: [&str; 12] = [
        "=", "+=", "-=", "*=", "/=", "%=", "**=", "<<=", ">>=", "&=", "|=", "^=",
    ];
    let toks = scan(text).tokens;
    let mut out = Vec::new();
    for (k, t) in toks.iter().enumerate() {
        let after_dot = k > 0 && matches!(toks[k - 1].text, "." | "?." | "let" | "const");
        if t.text != word || after_dot {
            continue;
        }
        // Walk the chain `.name` / `[ ... ]` after the word.
        let mut j = k + 1;
        loop {
            match toks.get(j).map(|t| t.text) {
                Some("." | "?.") => j += 2,
                Some("[") => {
                    let mut depth = 0;
                    while let Some(t) = toks.get(j) {
                        match t.text {
                            "[" => depth += 1,
                            "]" => depth -= 1,
                            _ => {}
                        }
                        j += 1;
                        if depth == 0 {
                            break;
                        }
                    }
                }
                _ => break,
            }
        }
        if toks.get(j).is_some_and(|t| ASSIGN.contains(&t.text)) {
            out.push((t.line, t.col));
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
        let s = JoinedRules::join(vec![
            ("a.rhai".into(), "x\ny\n".into()),
            ("b.rhai".into(), "z".into()),
        ]);
        assert_eq!(s.locate(1), ("a.rhai", 1));
        assert_eq!(s.locate(2), ("a.rhai", 2));
        assert_eq!(s.locate(3), ("b.rhai", 1));
    }

    #[test]
    fn finds_field_reads_outside_strings_and_comments() {
        let text = "let h = applicant.training_hours;\n// applicant.nope\nlet s = \"applicant.no\"; applicant . city; x.applicant.z\napplicant\n  .trainig";
        let found = member_accesses(text, "applicant");
        assert_eq!(
            found,
            vec![
                ("training_hours", 1, 19),
                ("city", 3, 37),
                ("trainig", 5, 4)
            ]
        );
    }

    #[test]
    fn finds_assignments_to_read_only_values() {
        let text = "params.x = 1;\nlet a = params.x == 2;\nparams[\"y\"] += 1; program.year = 3; let params2 = 1;";
        assert_eq!(assignments_to(text, "params"), vec![(1, 1), (3, 1)]);
        assert_eq!(assignments_to(text, "program"), vec![(3, 19)]);
    }

    #[test]
    fn reports_what_a_file_leaves_open() {
        assert_eq!(
            scan("let a = 1; /* x").unclosed.map(|u| (u.0, u.1)),
            Some((1, 12))
        );
        assert_eq!(
            scan("if a {\n b\n").unclosed.map(|u| (u.0, u.1)),
            Some((1, 6))
        );
        assert_eq!(
            scan("let s = \"abc").unclosed.map(|u| (u.0, u.1)),
            Some((1, 9))
        );
        assert!(scan("if a { b } // {").unclosed.is_none());
    }
}
