//! What opsmith adds when it runs under a CI system: GitHub Actions workflow
//! commands that annotate the pull request at the offending input line, a
//! step summary, a pull-request comment and a JUnit report for Prow.

use crate::diagnostics::Invalid;
use crate::env;
use crate::output::diff::{Change, TreeDiff};

/// `::error file=...,line=...,col=...::message` lines for GitHub Actions,
/// or nothing when not running there.
pub fn annotations(invalid: &Invalid) -> Vec<String> {
    if !env::github_actions() {
        return Vec::new();
    }
    invalid
        .problems
        .iter()
        .map(|p| {
            format!(
                "::error file={},line={},col={}::{}",
                escape_property(&p.file),
                p.pos.line,
                p.pos.column,
                escape_data(&p.message)
            )
        })
        .collect()
}

// GitHub's workflow-command escaping: data escapes %, CR, LF; properties
// additionally escape `:` and `,`.
fn escape_data(s: &str) -> String {
    s.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

fn escape_property(s: &str) -> String {
    escape_data(s).replace(':', "%3A").replace(',', "%2C")
}

/// What `opsmith check` found, for every CI output format.
#[derive(Debug)]
pub struct CheckReport {
    /// `site <name>`, or the folder when the inputs could not be read.
    pub site: String,
    /// Enabled components and their plugins, in catalog order.
    pub components: Vec<(String, String)>,
    pub outcome: CheckOutcome,
}

#[derive(Debug)]
pub enum CheckOutcome {
    /// The inputs are invalid.
    Invalid(crate::diagnostics::Invalid),
    /// Rendering failed (a plugin, a check of the objects).
    Failed(String),
    /// Rendered and compared with the committed tree at `shown`.
    Compared {
        diff: TreeDiff,
        shown: String,
        files: usize,
    },
}

/// Largest Markdown body opsmith writes; GitHub refuses comments over 65 536 characters.
const COMMENT_BUDGET: usize = 60_000;

impl CheckReport {
    fn component_counts(&self, name: &str) -> (usize, usize, usize) {
        let CheckOutcome::Compared { diff, .. } = &self.outcome else {
            return (0, 0, 0);
        };
        let of = |change| {
            diff.files
                .iter()
                .filter(|f| f.component() == name && f.change == change)
                .count()
        };
        (of(Change::Added), of(Change::Changed), of(Change::Removed))
    }

    /// A component named in a render failure, which JUnit marks as failed.
    fn failed(&self, name: &str) -> Option<String> {
        let CheckOutcome::Failed(message) = &self.outcome else {
            return None;
        };
        message
            .contains(&format!("component `{name}`"))
            .then(|| message.clone())
    }

    /// One line for the terminal: what the presubmit found.
    pub fn headline(&self) -> String {
        match &self.outcome {
            CheckOutcome::Invalid(invalid) => format!(
                "site {}: invalid ({} problems)",
                self.site,
                invalid.problems.len()
            ),
            CheckOutcome::Failed(_) => format!("{}: rendering failed", self.site),
            CheckOutcome::Compared { diff, shown, files } if diff.is_empty() => {
                format!(
                    "site {}: {} components, {files} files, identical to `{shown}`",
                    self.site,
                    self.components.len()
                )
            }
            CheckOutcome::Compared { diff, shown, files } => format!(
                "{}: {} components, {files} files; against `{shown}`: {}",
                self.site,
                self.components.len(),
                diff.counts()
            ),
        }
    }

    fn table(&self) -> String {
        let mut out = String::from(
            "| component | plugin | added | changed | removed |\n|---|---|---|---|---|\n",
        );
        for (name, plugin) in &self.components {
            let (a, c, r) = self.component_counts(name);
            out.push_str(&format!("| {name} | `{plugin}` | {a} | {c} | {r} |\n"));
        }
        out
    }

    /// Markdown for `$GITHUB_STEP_SUMMARY`.
    pub fn step_summary(&self) -> String {
        let mut out = format!("### opsmith check: {}\n\n", self.headline());
        match &self.outcome {
            CheckOutcome::Invalid(invalid) => {
                out.push_str("```\n");
                out.push_str(&invalid.to_string());
                out.push_str("\n```\n");
            }
            CheckOutcome::Failed(message) => {
                out.push_str(&format!("```\n{message}\n```\n"));
            }
            CheckOutcome::Compared { .. } => out.push_str(&self.table()),
        }
        out
    }

    /// Markdown for a pull-request comment: the summary, then each
    /// component's diff folded, truncated to fit a comment.
    pub fn comment(&self) -> String {
        let mut out = self.step_summary();
        let CheckOutcome::Compared { diff, shown, .. } = &self.outcome else {
            return out;
        };
        let mut groups: Vec<(&str, Vec<&crate::output::diff::FileChange>)> = Vec::new();
        for f in &diff.files {
            match groups.iter_mut().find(|(c, _)| *c == f.component()) {
                Some((_, files)) => files.push(f),
                None => groups.push((f.component(), vec![f])),
            }
        }
        let mut omitted = 0;
        for (component, files) in groups {
            let mut body = String::new();
            for f in &files {
                body.push_str(&crate::output::diff::unified(f, shown, false));
            }
            let section_head = format!(
                "\n<details><summary><code>{component}</code>: {} files</summary>\n\n```diff\n",
                files.len()
            );
            let room = COMMENT_BUDGET.saturating_sub(out.len() + section_head.len() + 200);
            if room < 200 {
                omitted += 1;
                continue;
            }
            if body.len() > room {
                let cut = body
                    .char_indices()
                    .map(|(i, _)| i)
                    .take_while(|i| *i <= room)
                    .last()
                    .unwrap_or(0);
                body.truncate(cut);
                body.push_str("\n… (truncated: run `opsmith diff` locally for the whole diff)\n");
            }
            out.push_str(&section_head);
            out.push_str(&body);
            out.push_str("```\n</details>\n");
        }
        if omitted > 0 {
            out.push_str(&format!(
                "\n{omitted} more components changed; the comment has no room for their diffs.\n"
            ));
        }
        out
    }

    /// JUnit XML: one test case for validation and one per component.
    pub fn junit(&self) -> anyhow::Result<String> {
        use quick_junit::{NonSuccessKind, Report, TestCase, TestCaseStatus, TestSuite};
        let mut suite = TestSuite::new(format!("opsmith site {}", self.site));
        let mut validation = match &self.outcome {
            CheckOutcome::Invalid(invalid) => {
                let mut status = TestCaseStatus::non_success(NonSuccessKind::Failure);
                status.set_message(format!("{} problems in the inputs", invalid.problems.len()));
                status.set_description(invalid.to_string());
                TestCase::new("validation", status)
            }
            _ => TestCase::new("validation", TestCaseStatus::success()),
        };
        validation.set_classname("opsmith");
        suite.add_test_case(validation);
        for (name, plugin) in &self.components {
            let status = match (&self.outcome, self.failed(name)) {
                (_, Some(message)) => {
                    let mut status = TestCaseStatus::non_success(NonSuccessKind::Error);
                    status.set_message(format!("component `{name}` failed to render"));
                    status.set_description(message);
                    status
                }
                (CheckOutcome::Compared { .. }, None) => TestCaseStatus::success(),
                _ => TestCaseStatus::skipped(),
            };
            let mut case = TestCase::new(format!("component {name}"), status);
            case.set_classname(plugin.clone());
            let (a, c, r) = self.component_counts(name);
            if a + c + r > 0 {
                case.set_system_out(format!("{a} added, {c} changed, {r} removed"));
            }
            suite.add_test_case(case);
        }
        let mut report = Report::new("opsmith");
        report.add_test_suite(suite);
        Ok(report.to_string()?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_like_github_documents() {
        assert_eq!(escape_data("a%b\nc"), "a%25b%0Ac");
        assert_eq!(escape_property("a:b,c"), "a%3Ab%2Cc");
    }
}
