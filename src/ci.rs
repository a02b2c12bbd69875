//! What opsmith adds when it runs under a CI system: GitHub Actions workflow
//! commands that annotate the pull request at the offending input line.

use crate::diagnostics::Invalid;
use crate::env;

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_like_github_documents() {
        assert_eq!(escape_data("a%b\nc"), "a%25b%0Ac");
        assert_eq!(escape_property("a:b,c"), "a%3Ab%2Cc");
    }
}
