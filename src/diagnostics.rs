//! All user-facing error text: problems found in the inputs (with file, line
//! and column), plugin failures, and how both are printed.

use std::fmt;
use std::path::Path;

use crate::load::yaml::Pos;

/// One problem in an input file, at a line and column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The file as the user named it, such as `site/inventory.yaml`.
    pub file: String,
    pub pos: Pos,
    /// What is wrong and what would be right, lowercase, no trailing period.
    pub message: String,
    /// The source line, shown under the message with a caret.
    pub source_line: Option<String>,
}

impl Problem {
    pub fn new(file: &str, text: Option<&str>, pos: Pos, message: impl Into<String>) -> Self {
        let source_line = text.and_then(|t| {
            let index = usize::try_from(pos.line).ok()?.checked_sub(1)?;
            t.lines().nth(index).map(str::to_owned)
        });
        Problem {
            file: file.to_owned(),
            pos,
            message: message.into(),
            source_line,
        }
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}:{}: error: {}",
            self.file, self.pos.line, self.pos.column, self.message
        )?;
        if let Some(line) = &self.source_line {
            let number = self.pos.line.to_string();
            let pad = " ".repeat(number.len());
            let caret = " ".repeat(usize::try_from(self.pos.column.saturating_sub(1)).unwrap_or(0));
            write!(f, "\n{pad} |\n{number} | {line}\n{pad} | {caret}^")?;
        }
        Ok(())
    }
}

/// The inputs are invalid: every problem found, in file and line order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invalid {
    pub problems: Vec<Problem>,
}

impl Invalid {
    pub fn new(mut problems: Vec<Problem>) -> Self {
        problems.sort_by(|a, b| (&a.file, a.pos).cmp(&(&b.file, b.pos)));
        problems.dedup();
        Invalid { problems }
    }

    pub fn one(problem: Problem) -> Self {
        Invalid {
            problems: vec![problem],
        }
    }
}

impl fmt::Display for Invalid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, p) in self.problems.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            writeln!(f, "{p}")?;
        }
        let n = self.problems.len();
        write!(
            f,
            "{} {} found",
            n,
            if n == 1 { "problem" } else { "problems" }
        )
    }
}

impl std::error::Error for Invalid {}

/// A path shown relative to the current directory when it is below it, so
/// messages read `site/inventory.yaml:3:1` rather than an absolute path.
pub fn display_path(path: &Path) -> String {
    let cwd = std::env::current_dir().ok();
    let shown = cwd
        .as_deref()
        .and_then(|c| path.strip_prefix(c).ok())
        .unwrap_or(path);
    shown.display().to_string()
}

/// Prints an error and its chain to stderr: `error: outer: inner: root`,
/// or the full problem list for invalid inputs.
#[allow(clippy::print_stderr)]
pub fn report(err: &anyhow::Error) {
    if let Some(invalid) = err.downcast_ref::<Invalid>() {
        eprintln!("{invalid}");
        for annotation in crate::ci::annotations(invalid) {
            eprintln!("{annotation}");
        }
        return;
    }
    eprintln!("error: {err:#}");
    if crate::env::github_actions() {
        // Errors without an input line (a plugin failure) still show on the run's page.
        let first = format!("{err:#}")
            .lines()
            .next()
            .unwrap_or_default()
            .replace('%', "%25");
        eprintln!("::error title=opsmith::{first}");
    }
}

/// Prints a warning line to stderr.
#[allow(clippy::print_stderr)]
pub fn warn(message: &str) {
    eprintln!("warning: {message}");
}

/// Prints a note line to stderr (progress, summaries that are not output).
#[allow(clippy::print_stderr)]
pub fn note(message: &str) {
    eprintln!("{message}");
}
