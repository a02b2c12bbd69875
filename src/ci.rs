//! What opsmith adds when it runs under a CI system: GitHub Actions workflow
//! commands that annotate the pull request at the offending input line, a
//! step summary, a pull-request comment and a JUnit report for Prow.

use std::collections::BTreeMap;

use crate::diagnostics::{Invalid, Problem, escape_controls, redact_url_credentials};
use crate::output::diff::{Change, TreeDiff};

/// A render that failed, as the CI outputs show it.
#[derive(Debug, Default)]
pub struct RenderFailure {
    /// The whole error, credentials redacted.
    pub message: String,
    /// The components that failed, each with its own text.
    pub components: Vec<(String, String)>,
    /// What failed outside any one component (two components claiming one
    /// object, an error of no known shape).
    pub others: Vec<String>,
}

impl RenderFailure {
    pub fn of(error: &anyhow::Error) -> RenderFailure {
        let redacted = |text: &str| redact_url_credentials(text).into_owned();
        let mut failure = RenderFailure {
            message: redacted(&format!("{error:#}")),
            ..RenderFailure::default()
        };
        if let Some(failures) = error.downcast_ref::<crate::plugins::RenderFailures>() {
            for c in &failures.components {
                failure.add(&c.component, redacted(&c.text()));
            }
        } else if let Some(failures) = error.downcast_ref::<crate::collect::CollectFailures>() {
            for e in &failures.errors {
                match &e.component {
                    Some(component) => failure.add(component, redacted(&e.message)),
                    None => failure.others.push(redacted(&e.message)),
                }
            }
        } else {
            failure.others.push(failure.message.clone());
        }
        failure
    }

    /// One more error of `component`, after those it already has.
    fn add(&mut self, component: &str, text: String) {
        match self.components.iter_mut().find(|(c, _)| c == component) {
            Some((_, texts)) => {
                texts.push('\n');
                texts.push_str(&text);
            }
            None => self.components.push((component.to_owned(), text)),
        }
    }
}

/// What `opsmith check` found, for every CI output format.
#[derive(Debug)]
pub struct CheckReport {
    /// How every output names the site: `site infra`, or `site folder
    /// `site`` when the inputs could not be read for its name.
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
    Failed(RenderFailure),
    /// Rendered and compared with the committed tree at `shown`.
    Compared {
        diff: TreeDiff,
        shown: String,
        files: usize,
    },
}

/// Largest Markdown body opsmith writes; GitHub refuses comments over 65 536 characters.
const COMMENT_BUDGET: usize = 60_000;

/// Room for problems listed in full in a comment or step summary; the rest
/// are counted by kind.
const LISTING_BUDGET: usize = 20_000;

/// Room for a render failure's text in a comment or step summary.
const FAILURE_BUDGET: usize = 20_000;

/// Room for the problems in a JUnit report (Prow shows it whole on a page).
const JUNIT_BUDGET: usize = 256 << 10;

/// Kinds of problems listed by count after the full listing is cut.
const MAX_KINDS: usize = 30;

/// A Markdown code block holding `text` verbatim: its fence is longer than
/// any run of backticks in the text, so nothing in it can close the block.
fn code_block(info: &str, text: &str) -> String {
    let longest = text.split(|c| c != '`').map(str::len).max().unwrap_or(0);
    let fence = "`".repeat(longest.max(2) + 1);
    let newline = if text.ends_with('\n') { "" } else { "\n" };
    format!("{fence}{info}\n{text}{newline}{fence}\n")
}

/// Inline code for a Markdown table cell: backticks and pipes cannot end the
/// span or the cell.
fn table_code(text: &str) -> String {
    let text = escape_controls(text).replace('|', "\\|");
    let longest = text.split(|c| c != '`').map(str::len).max().unwrap_or(0);
    let ticks = "`".repeat(longest + 1);
    // A space keeps a backtick at either end apart from the fence (Markdown
    // strips one space on each side).
    let pad = if text.starts_with('`') || text.ends_with('`') {
        " "
    } else {
        ""
    };
    format!("{ticks}{pad}{text}{pad}{ticks}")
}

/// `text` for HTML: `<summary>` and `<code>` take no Markdown.
fn html_text(text: &str) -> String {
    escape_controls(text)
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// `text` cut to at most `budget` bytes at a character boundary, saying so.
fn bounded(text: &str, budget: usize, more: &str) -> String {
    if text.len() <= budget {
        return text.to_owned();
    }
    let cut = (0..=budget)
        .rev()
        .find(|i| text.is_char_boundary(*i))
        .unwrap_or(0);
    format!("{}\n… (cut: {more})", &text[..cut])
}

/// What kind of problem `p` is, for counting: its message with the quoted
/// values left out (`unknown field `…``).
fn problem_kind(p: &Problem) -> String {
    let mut kind = String::with_capacity(p.message.len());
    for (i, part) in p.message.split('`').enumerate() {
        if i > 0 {
            kind.push('`');
        }
        kind.push_str(if i % 2 == 1 { "…" } else { part });
    }
    kind
}

/// The problems as text for a report: in full while they fit `budget`,
/// then the rest counted by file and kind, and where to find them all.
pub fn problem_listing(invalid: &Invalid, budget: usize) -> String {
    let mut out = String::new();
    let mut shown = 0;
    for p in &invalid.problems {
        let text = p.to_string();
        if out.len() + text.len() + 1 > budget && shown > 0 {
            break;
        }
        out.push_str(&bounded(&text, budget, "a very long message"));
        out.push('\n');
        shown += 1;
    }
    let total = invalid.problems.len();
    if shown < total {
        let mut kinds: BTreeMap<(&str, String), usize> = BTreeMap::new();
        for p in &invalid.problems[shown..] {
            *kinds.entry((&p.file, problem_kind(p))).or_default() += 1;
        }
        let mut kinds: Vec<_> = kinds.into_iter().collect();
        kinds.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        out.push_str(&format!(
            "\n… and {} more problems, by kind:\n",
            total - shown
        ));
        for ((file, kind), count) in kinds.iter().take(MAX_KINDS) {
            out.push_str(&format!(
                "{count:>7} × {}: {}\n",
                escape_controls(file),
                bounded(&escape_controls(kind), 200, "long")
            ));
        }
        if kinds.len() > MAX_KINDS {
            out.push_str(&format!("{:>7} other kinds\n", kinds.len() - MAX_KINDS));
        }
        out.push_str("The job's log lists every problem (`opsmith validate` prints them all).\n");
    }
    out.push_str(&format!(
        "{total} {} found",
        if total == 1 { "problem" } else { "problems" }
    ));
    out
}

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

    /// A component whose plugin failed, which JUnit marks as failed, with
    /// its own text.
    fn failed(&self, name: &str) -> Option<&str> {
        let CheckOutcome::Failed(failure) = &self.outcome else {
            return None;
        };
        failure
            .components
            .iter()
            .find(|(component, _)| component == name)
            .map(|(_, text)| text.as_str())
    }

    /// One line for the terminal: what the presubmit found.
    pub fn headline(&self) -> String {
        match &self.outcome {
            CheckOutcome::Invalid(invalid) => format!(
                "{}: invalid ({} problems)",
                self.site,
                invalid.problems.len()
            ),
            CheckOutcome::Failed(_) => format!("{}: rendering failed", self.site),
            CheckOutcome::Compared { diff, shown, files } if diff.is_empty() => {
                format!(
                    "{}: {} components, {files} files, identical to `{shown}`",
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
            out.push_str(&format!(
                // Component names are DNS labels (the catalog's schema).
                "| {name} | {} | {a} | {c} | {r} |\n",
                table_code(plugin)
            ));
        }
        out
    }

    /// Markdown for `$GITHUB_STEP_SUMMARY`.
    pub fn step_summary(&self) -> String {
        let mut out = format!(
            "### opsmith check: {}\n\n",
            escape_controls(&self.headline())
        );
        match &self.outcome {
            CheckOutcome::Invalid(invalid) => {
                out.push_str(&code_block("", &problem_listing(invalid, LISTING_BUDGET)));
            }
            CheckOutcome::Failed(failure) => {
                let text = crate::diagnostics::printable_lines(&failure.message);
                let text = bounded(&text, FAILURE_BUDGET, "the job's log has the whole text");
                out.push_str(&code_block("", &text));
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
                "\n<details><summary><code>{}</code>: {} files</summary>\n\n",
                html_text(component),
                files.len()
            );
            let room = COMMENT_BUDGET.saturating_sub(out.len() + section_head.len() + 300);
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
            out.push_str(&code_block("diff", &body));
            out.push_str("</details>\n");
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
        let mut suite = TestSuite::new(format!("opsmith {}", self.site));
        let mut validation = match &self.outcome {
            CheckOutcome::Invalid(invalid) => {
                let mut status = TestCaseStatus::non_success(NonSuccessKind::Failure);
                status.set_message(format!("{} problems in the inputs", invalid.problems.len()));
                status.set_description(problem_listing(invalid, JUNIT_BUDGET));
                TestCase::new("validation", status)
            }
            _ => TestCase::new("validation", TestCaseStatus::success()),
        };
        validation.set_classname("opsmith");
        suite.add_test_case(validation);
        // A failure of no one component (the rendered objects' checks, the
        // layout) gets a case of its own, so that JUnit shows it.
        if let CheckOutcome::Failed(failure) = &self.outcome
            && !failure.others.is_empty()
        {
            let mut status = TestCaseStatus::non_success(NonSuccessKind::Error);
            status.set_message("rendering failed");
            status.set_description(bounded(
                &crate::diagnostics::printable_lines(&failure.others.join("\n")),
                FAILURE_BUDGET,
                "the job's log has the whole text",
            ));
            let mut case = TestCase::new("rendering", status);
            case.set_classname("opsmith");
            suite.add_test_case(case);
        }
        for (name, plugin) in &self.components {
            let status = match (&self.outcome, self.failed(name)) {
                (_, Some(message)) => {
                    let mut status = TestCaseStatus::non_success(NonSuccessKind::Error);
                    status.set_message(format!("component `{name}` failed to render"));
                    status.set_description(bounded(
                        &crate::diagnostics::printable_lines(message),
                        FAILURE_BUDGET,
                        "the job's log has the whole text",
                    ));
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

    use crate::diagnostics::Pos;

    fn invalid(n: usize, message: impl Fn(usize) -> String) -> Invalid {
        Invalid::new(
            (0..n)
                .map(|i| {
                    Problem::new(
                        "site/inventory.yaml",
                        None,
                        Pos {
                            line: u64::try_from(i).unwrap() + 1,
                            column: 3,
                        },
                        message(i),
                    )
                })
                .collect(),
        )
    }

    fn report(outcome: CheckOutcome) -> CheckReport {
        CheckReport {
            site: "site infra".to_owned(),
            components: vec![("metal3".to_owned(), "builtin:metal3".to_owned())],
            outcome,
        }
    }

    #[test]
    fn a_long_listing_is_cut_and_counted_by_kind() {
        let many = invalid(10_000, |i| {
            if i % 2 == 0 {
                format!("unknown field `nicz{i}`, did you mean `nics`?")
            } else {
                format!("`bmc-{i}` is not a BMC address")
            }
        });
        let comment = report(CheckOutcome::Invalid(many)).comment();
        assert!(comment.len() < COMMENT_BUDGET, "{}", comment.len());
        assert!(comment.contains("site/inventory.yaml:1:3: error: unknown field `nicz0`"));
        assert!(comment.contains("× site/inventory.yaml: unknown field `…`, did you mean `…`?"));
        assert!(comment.contains("× site/inventory.yaml: `…` is not a BMC address"));
        assert!(comment.contains("10000 problems found"));
        // One very long message is cut too.
        let long = invalid(1, |_| "x".repeat(5 << 20));
        let summary = report(CheckOutcome::Invalid(long)).step_summary();
        assert!(summary.len() < LISTING_BUDGET + 1000, "{}", summary.len());
    }

    #[test]
    fn no_value_closes_the_code_block() {
        let hostile = invalid(1, |_| {
            "name `a\n```\n## All checks passed\n![x](y)`".to_owned()
        });
        let summary = report(CheckOutcome::Invalid(hostile)).step_summary();
        // Escaped newlines keep the value on its line; and a fence longer than
        // any run of backticks keeps it inside the block.
        let fence = summary.lines().find(|l| l.starts_with("```")).unwrap();
        assert!(
            summary.contains("\\n```\\n## All checks passed"),
            "{summary}"
        );
        assert_eq!(code_block("", "a\n```\nb"), "````\na\n```\nb\n````\n");
        assert!(fence.len() >= 3);
        let failed = report(CheckOutcome::Failed(RenderFailure {
            message: "x\n````\n## All checks passed".to_owned(),
            ..RenderFailure::default()
        }));
        let summary = failed.step_summary();
        assert!(
            summary.contains("`````\nx\n````\n## All checks passed\n`````\n"),
            "{summary}"
        );
        assert_eq!(table_code("a|b`c"), "``a\\|b`c``");
        assert_eq!(table_code("`x"), "`` `x ``");
        assert_eq!(table_code("builtin:metal3"), "`builtin:metal3`");
    }
}
