//! All user-facing error text: problems found in the inputs (with file, line
//! and column), plugin failures, and how both are printed.

use std::borrow::Cow;
use std::fmt;
use std::path::Path;

// Defined by the YAML loader, a crate below opsmith, which places what it reads.
pub use opsmith_yaml::Pos;

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
    /// A problem at `pos`; `text`, when given, is the file's text, whose line
    /// `pos` names is shown under the message. Pass `None` for a file that
    /// did not read as the expected document: its lines are not shown.
    /// Credentials are redacted from both the message and the line.
    pub fn new(file: &str, text: Option<&str>, pos: Pos, message: impl Into<String>) -> Self {
        let line = text.and_then(|t| {
            let index = usize::try_from(pos.line).ok()?.checked_sub(1)?;
            yaml_lines(t).nth(index)
        });
        Problem::with_line(file, line, pos, message)
    }

    /// [`Problem::new`], given the source line itself (a document with many
    /// problems finds its lines by an index).
    pub fn with_line(file: &str, line: Option<&str>, pos: Pos, message: impl Into<String>) -> Self {
        let source_line =
            line.map(|line| redact_secret_value(&redact_url_credentials(line)).into_owned());
        let message = message.into();
        Problem {
            file: file.to_owned(),
            pos,
            message: redact_url_credentials(&message).into_owned(),
            source_line,
        }
    }
}

/// The lines of a text, broken as YAML breaks them: at `\r\n`, `\n` and a
/// lone `\r`, so that line numbers from the parser and the lines shown agree.
pub fn yaml_lines(text: &str) -> impl Iterator<Item = &str> {
    let mut rest = Some(text);
    std::iter::from_fn(move || {
        let current = rest?;
        match current.find(['\r', '\n']) {
            Some(at) => {
                let skip = if current[at..].starts_with("\r\n") {
                    2
                } else {
                    1
                };
                rest = Some(&current[at + skip..]).filter(|r| !r.is_empty());
                Some(&current[..at])
            }
            None => {
                rest = None;
                Some(current)
            }
        }
    })
}

impl Problem {
    /// The problem as text: `FILE:LINE:COLUMN: error: WHAT` (CI reads that
    /// first line), then the source line with a caret under the column,
    /// drawn by annotate-snippets. `styled` adds ANSI colours, as rustc's.
    pub fn render(&self, styled: bool) -> String {
        use annotate_snippets::renderer::{AnsiColor, Effects, Style};
        use annotate_snippets::{AnnotationKind, Group, Level, Renderer, Snippet};

        // One line per problem, whatever the values in it hold: a newline in
        // a host name must not start a line of its own (a workflow command
        // under GitHub Actions), and the whole text is safe to print as it
        // is, styled or not (see `printable_lines`).
        let mut place = format!(
            "{}:{}:{}:",
            shown(&self.file),
            self.pos.line,
            self.pos.column
        );
        if place.trim_start().starts_with("::") {
            place.insert(0, '\\');
        }
        let message = shown(&self.message);
        let mut out = if styled {
            let bold = Style::new().effects(Effects::BOLD);
            let red = AnsiColor::BrightRed.on_default().effects(Effects::BOLD);
            format!("{bold}{place}{bold:#} {red}error{red:#}{bold}: {message}{bold:#}")
        } else {
            format!("{place} error: {message}")
        };
        let Some(written) = &self.source_line else {
            return out;
        };
        // The caret sits under the character the column names, counting
        // what escaping adds before it.
        let line = shown(written);
        let column = usize::try_from(self.pos.column.saturating_sub(1)).unwrap_or(0);
        let before: String = written.chars().take(column).collect();
        let start = shown(&before).len().min(line.len());
        let end = line[start..]
            .chars()
            .next()
            .map_or(start, |c| start + c.len_utf8());
        let snippet = Snippet::source(line.as_str())
            .line_start(usize::try_from(self.pos.line).unwrap_or(usize::MAX))
            .annotation(AnnotationKind::Primary.span(start..end));
        let report = [Group::with_level(Level::ERROR).element(snippet)];
        let renderer = if styled {
            Renderer::styled()
        } else {
            Renderer::plain()
        };
        out.push('\n');
        out.push_str(&renderer.render(&report));
        out
    }
}

/// Text from an input as a message may show it: [escaped](escape_controls),
/// with GitHub's older commands [defused](defuse_old_commands).
fn shown(text: &str) -> String {
    defuse_old_commands(&escape_controls(text)).into_owned()
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.render(false))
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

impl Invalid {
    /// Every problem, [rendered](Problem::render), then how many there are.
    pub fn render(&self, styled: bool) -> String {
        let mut out = String::new();
        for (i, p) in self.problems.iter().enumerate() {
            if i > 0 {
                out.push('\n');
            }
            out.push_str(&p.render(styled));
            out.push('\n');
        }
        let n = self.problems.len();
        out.push_str(&format!(
            "{} {} found",
            n,
            if n == 1 { "problem" } else { "problems" }
        ));
        out
    }
}

impl fmt::Display for Invalid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.render(false))
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
        // Coloured on a terminal; NO_COLOR, CLICOLOR(_FORCE), TERM and
        // anstream's global choice are honoured.
        if anstream::AutoStream::choice(&std::io::stderr()) == anstream::ColorChoice::Never {
            eprintln!("{}", printable_lines(&invalid.render(false)));
        } else {
            eprintln!("{}", invalid.render(true));
        }
        for annotation in annotations(invalid) {
            eprintln!("{annotation}");
        }
        return;
    }
    let text = redact_url_credentials(&format!("{err:#}")).into_owned();
    eprintln!("error: {}", printable_lines(&text));
    if crate::env::github_actions() {
        // Errors without an input line (a plugin failure) still show on the run's page.
        let first = text.lines().next().unwrap_or_default();
        eprintln!(
            "::error title=opsmith::{}",
            escape_data(&defuse_old_commands(&escape_controls(first)))
        );
    }
}

/// `::error file=...,line=...,col=...::message` lines for GitHub Actions,
/// or nothing when not running there.
fn annotations(invalid: &Invalid) -> Vec<String> {
    if !crate::env::github_actions() {
        return Vec::new();
    }
    invalid
        .problems
        .iter()
        .map(|p| {
            format!(
                "::error file={},line={},col={}::{}",
                escape_property(&escape_controls(&p.file)),
                p.pos.line,
                p.pos.column,
                escape_data(&defuse_old_commands(&escape_controls(&p.message)))
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

/// Prints a warning line to stderr.
#[allow(clippy::print_stderr)]
pub fn warn(message: &str) {
    eprintln!("warning: {}", printable_lines(message));
}

/// Prints a note line to stderr (progress, summaries that are not output).
#[allow(clippy::print_stderr)]
pub fn note(message: &str) {
    eprintln!("{}", printable_lines(message));
}

/// Whether printing `c` as it is could act on a terminal or a CI log: control
/// characters (a CR or LF starts a line the GitHub runner reads as a workflow
/// command, ESC starts a terminal sequence) and the invisible characters that
/// reorder or break the text around them.
fn acts_when_printed(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{200b}'..='\u{200f}'
                | '\u{2028}'..='\u{202e}'
                | '\u{2060}'..='\u{2069}'
                | '\u{feff}'
        )
}

/// `text` with every character that acts when printed (`acts_when_printed`)
/// written as a Rust escape (`\n`, `\u{1b}`), as `str::escape_debug` does.
pub fn escape_controls(text: &str) -> Cow<'_, str> {
    if !text.chars().any(acts_when_printed) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if acts_when_printed(c) {
            out.extend(c.escape_debug());
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// Text of several lines, safe to print: each line [escaped](escape_controls),
/// and a line that would read as a GitHub workflow command (`::` after
/// leading blanks) marked with a backslash, so that only opsmith's own
/// annotations are commands.
pub fn printable_lines(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for (i, line) in text.split('\n').enumerate() {
        if i > 0 {
            out.push('\n');
        }
        let line = escape_controls(line);
        if line.trim_start().starts_with("::") {
            out.push('\\');
        }
        out.push_str(&defuse_old_commands(&line));
    }
    out
}

/// `text` with GitHub's older workflow-command syntax, `##[command]`, which
/// the runner reads anywhere in a line, broken up (`##\[`).
pub fn defuse_old_commands(text: &str) -> Cow<'_, str> {
    if text.contains("##[") {
        Cow::Owned(text.replace("##[", "##\\["))
    } else {
        Cow::Borrowed(text)
    }
}

const REDACTED: &str = "<redacted>";

/// `text` with the user-information part of every URL in it
/// (`https://user:password@host`, `https://token@host`) replaced, so that a
/// credential refused in an input is never repeated in a message.
pub fn redact_url_credentials(text: &str) -> Cow<'_, str> {
    if !text.contains("://") {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find("://") {
        let (head, tail) = rest.split_at(at + 3);
        out.push_str(head);
        // To the end of the URL, not of its authority: a password may hold
        // `/` or `#`, and hiding a path with an `@` in it costs nothing.
        let authority_end = tail
            .find(|c: char| matches!(c, '`' | '"' | '\'' | '<' | '>') || c.is_whitespace())
            .unwrap_or(tail.len());
        match tail[..authority_end].rfind('@') {
            // `ssh://git@host` names the account every git host uses: no secret.
            Some(user_end) if &tail[..user_end] != "git" => {
                out.push_str(REDACTED);
                rest = &tail[user_end..];
            }
            _ => rest = tail,
        }
    }
    out.push_str(rest);
    Cow::Owned(out)
}

/// Whether a mapping key names a secret (`password`, `bmcPassword`,
/// `api_token`, `hmacSecret`), whose value a source line must not show.
pub fn names_a_secret(key: &str) -> bool {
    let key: String = key
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_lowercase())
        .collect();
    matches!(
        key.as_str(),
        "pass" | "passwd" | "pwd" | "apikey" | "privatekey"
    ) || ["password", "token", "secret"]
        .iter()
        .any(|word| key.ends_with(word))
}

/// A source line `key: value` (or `- key: value`) with the value replaced
/// when the key names a secret.
pub fn redact_secret_value(line: &str) -> Cow<'_, str> {
    let body = line.trim_start().trim_start_matches("- ").trim_start();
    let Some((key, value)) = body.split_once(':') else {
        return Cow::Borrowed(line);
    };
    let key = key.trim().trim_matches(['"', '\'']);
    if value.trim().is_empty() || !names_a_secret(key) {
        return Cow::Borrowed(line);
    }
    let keep = line.len() - value.len();
    Cow::Owned(format!("{} {REDACTED}", &line[..keep]))
}

/// Whether `text` holds a URL with user information (a user, a password or
/// a token before `@`).
pub fn has_url_credentials(text: &str) -> bool {
    matches!(redact_url_credentials(text), Cow::Owned(ref redacted) if redacted != text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_break_where_yaml_breaks_them() {
        let lines: Vec<&str> = yaml_lines("a\rb\r\nc\nd").collect();
        assert_eq!(lines, ["a", "b", "c", "d"]);
        assert_eq!(yaml_lines("a\n").collect::<Vec<_>>(), ["a"]);
        assert_eq!(yaml_lines("a\n\nb").collect::<Vec<_>>(), ["a", "", "b"]);
    }

    #[test]
    fn a_lone_cr_counts_as_a_line_break_in_the_line_shown() {
        let problem = Problem::new(
            "f.yaml",
            Some("a: 1\rb: 2\nc: 3\n"),
            Pos { line: 2, column: 1 },
            "x",
        );
        assert_eq!(problem.source_line.as_deref(), Some("b: 2"));
    }

    #[test]
    fn control_characters_are_escaped_and_commands_marked() {
        assert_eq!(escape_controls("plain"), "plain");
        assert_eq!(
            escape_controls("a\nb\r\u{1b}[31m\u{202e}"),
            "a\\nb\\r\\u{1b}[31m\\u{202e}"
        );
        assert_eq!(
            printable_lines("error: x\n::stop-commands::t\n  ::error::y\nok"),
            "error: x\n\\::stop-commands::t\n\\  ::error::y\nok"
        );
        assert_eq!(
            printable_lines("unknown field `##[stop-commands]x`"),
            "unknown field `##\\[stop-commands]x`"
        );
        let problem = Problem::new(
            "f.yaml",
            Some("name: \"a\\n::add-mask::x\"\n"),
            Pos { line: 1, column: 7 },
            "host `a\n::add-mask::x` is bad\r",
        );
        let shown = problem.to_string();
        assert!(!shown.contains("\n::"), "{shown}");
        assert!(!shown.contains('\r'), "{shown}");
        assert!(
            shown.contains("host `a\\n::add-mask::x` is bad\\r"),
            "{shown}"
        );
    }

    #[test]
    fn the_caret_counts_what_escaping_adds() {
        let problem = Problem::new(
            "f.yaml",
            Some("a\u{1b}b: x\n"),
            Pos { line: 1, column: 6 },
            "m",
        );
        let shown = problem.to_string();
        let lines: Vec<&str> = shown.lines().collect();
        let caret = lines[3].find('^').unwrap();
        assert_eq!(&lines[2][caret..caret + 1], "x", "{shown}");
    }

    #[test]
    fn the_first_line_names_the_place_and_the_caret_its_column() {
        let problem = Problem::new(
            "site/inventory.yaml",
            Some("spec:\n  hostz:\n"),
            Pos { line: 2, column: 3 },
            "unknown field `hostz`, did you mean `hosts`?",
        );
        assert_eq!(
            problem.to_string(),
            "site/inventory.yaml:2:3: error: unknown field `hostz`, did you mean `hosts`?\n  |\n2 |   hostz:\n  |   ^"
        );
        // A column past the end of the line (the parser's end of input).
        let end = Problem::new("f.yaml", Some("a: [1"), Pos { line: 1, column: 6 }, "m");
        assert_eq!(
            end.to_string(),
            "f.yaml:1:6: error: m\n  |\n1 | a: [1\n  |      ^"
        );
        // Without the file's text, the first line alone.
        let bare = Problem::new("f.yaml", None, Pos { line: 1, column: 1 }, "m");
        assert_eq!(bare.to_string(), "f.yaml:1:1: error: m");
    }

    #[test]
    fn styled_only_when_asked() {
        let problem = Problem::new("f.yaml", Some("a: b\n"), Pos { line: 1, column: 4 }, "m");
        let plain = problem.render(false);
        let styled = problem.render(true);
        assert!(!plain.contains('\u{1b}'), "{plain}");
        assert!(styled.contains("\u{1b}["), "{styled}");
        // The same text once the colours are taken out.
        let mut stripped = String::new();
        let mut rest = styled.as_str();
        while let Some(at) = rest.find('\u{1b}') {
            stripped.push_str(&rest[..at]);
            rest = &rest[at..];
            rest = &rest[rest.find('m').map_or(rest.len(), |m| m + 1)..];
        }
        stripped.push_str(rest);
        assert_eq!(stripped, plain);
    }

    #[test]
    fn a_file_named_like_a_command_is_no_command() {
        let problem = Problem::new(
            "::error::x",
            Some("##[stop-commands]: 1\n"),
            Pos {
                line: 1,
                column: 20,
            },
            "m",
        );
        let shown = problem.to_string();
        assert!(shown.starts_with("\\::error::x:1:20: error: m"), "{shown}");
        assert!(!shown.contains("##["), "{shown}");
        let lines: Vec<&str> = shown.lines().collect();
        let caret = lines[3].find('^').unwrap();
        assert_eq!(&lines[2][caret..caret + 1], "1", "{shown}");
    }

    #[test]
    fn credentials_are_redacted() {
        assert_eq!(
            redact_url_credentials("`https://user:hunter2@git.example.org/a.git` is not"),
            "`https://<redacted>@git.example.org/a.git` is not"
        );
        assert_eq!(
            redact_url_credentials("redfish://tok@10.0.0.1/x and http://p.example:3128"),
            "redfish://<redacted>@10.0.0.1/x and http://p.example:3128"
        );
        assert_eq!(
            redact_url_credentials("ssh://git@github.com/o/r.git"),
            "ssh://git@github.com/o/r.git"
        );
        assert!(has_url_credentials("http://a:b@proxy:3128"));
        assert!(has_url_credentials("http://u:pa/ss#x@proxy:3128"));
        assert_eq!(
            redact_url_credentials("`https://u:pa/ss@h/x` and `https://h/y`"),
            "`https://<redacted>@h/x` and `https://h/y`"
        );
        assert_eq!(
            redact_secret_value("      password: hunter2"),
            "      password: <redacted>"
        );
        assert_eq!(
            redact_secret_value("  - bmcPassword: 'x'"),
            "  - bmcPassword: <redacted>"
        );
        assert_eq!(
            redact_secret_value("  credentialsRef: bmc-1"),
            "  credentialsRef: bmc-1"
        );
        assert_eq!(redact_secret_value("  secretStore:"), "  secretStore:");
    }

    #[test]
    fn escapes_like_github_documents() {
        assert_eq!(escape_data("a%b\nc"), "a%25b%0Ac");
        assert_eq!(escape_property("a:b,c"), "a%3Ab%2Cc");
    }
}
