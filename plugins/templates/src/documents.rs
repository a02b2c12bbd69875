//! YAML text (a plain manifest or a template's output) read into objects,
//! each with where it stands in the text, and lines of a template's output
//! traced back to the template.

use opsmith_yaml::{Children, Node, Pos};
use serde_json::{Map, Value};

/// One YAML document of a file: a Kubernetes object, with the places its
/// errors point at (line and column from 1).
#[derive(Debug)]
pub struct Document {
    pub object: Map<String, Value>,
    /// Where the mapping starts.
    pub at: (u32, u32),
    /// Where its `kind` value is, if it has one.
    pub kind_at: Option<(u32, u32)>,
}

/// Why the text is not YAML, or not a mapping.
#[derive(Debug)]
pub struct YamlError {
    /// From 1; 0 when the reader knows no place.
    pub line: u32,
    pub column: u32,
    pub message: String,
}

/// Every non-empty document of `text`, in order. Read by opsmith's own YAML
/// reader, as opsmith reads its inputs: YAML 1.2 booleans (`yes` is a
/// string), anchors and merge keys, duplicate keys and tags outside the core
/// schema refused.
pub fn parse(text: &str) -> Result<Vec<Document>, YamlError> {
    let documents = opsmith_yaml::parse_documents(text).map_err(|e| {
        let (line, column) = place(e.pos);
        YamlError {
            line,
            column,
            message: e.message,
        }
    })?;
    documents
        .into_iter()
        .filter(|(value, _)| !value.is_null())
        .map(|(value, node)| {
            let Value::Object(object) = value else {
                let (line, column) = place(node.pos);
                return Err(YamlError {
                    line,
                    column,
                    message: "each YAML document must be a Kubernetes object, a mapping with \
                              `apiVersion`, `kind` and `metadata`"
                        .to_owned(),
                });
            };
            Ok(Document {
                object,
                at: place(node.pos),
                kind_at: kind_place(&node),
            })
        })
        .collect()
}

/// Where the value of the mapping's `kind` is.
fn kind_place(node: &Node) -> Option<(u32, u32)> {
    let Children::Map(entries) = &node.children else {
        return None;
    };
    entries
        .iter()
        .find(|(key, _, _)| key == "kind")
        .map(|(_, _, value)| place(value.pos))
}

fn place(at: Pos) -> (u32, u32) {
    let clamp = |n: u64| u32::try_from(n).unwrap_or(u32::MAX);
    (clamp(at.line), clamp(at.column))
}

/// The line of `template` that printed line `line` (from 1) of `rendered`,
/// when that line is literal text the template holds exactly once: its
/// literal lines reach the output unchanged, so such a match can only be
/// that line (or an expression that printed the same text, which a unique
/// match makes unlikely). Lines that expressions printed have no such
/// match, and their errors stay at the template as a whole.
pub fn template_line(template: &str, rendered: &str, line: u32) -> Option<u32> {
    let wanted = rendered
        .lines()
        .nth(usize::try_from(line).ok()?.checked_sub(1)?)?
        .trim_end();
    if wanted.trim().is_empty() {
        return None;
    }
    let mut found = template
        .lines()
        .enumerate()
        .filter(|(_, l)| l.trim_end() == wanted)
        .map(|(i, _)| i);
    match (found.next(), found.next()) {
        (Some(i), None) => u32::try_from(i + 1).ok(),
        _ => None,
    }
}

/// Line `line` (from 1) of `text`, for a message.
pub fn line_of(text: &str, line: u32) -> &str {
    usize::try_from(line)
        .ok()
        .and_then(|l| l.checked_sub(1))
        .and_then(|l| text.lines().nth(l))
        .unwrap_or_default()
        .trim()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn documents_keep_their_places_and_empty_ones_are_skipped() {
        let text = "---\n# nothing here\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n---\n---\n  kind: Secret\n  on: yes\n";
        let documents = parse(text).unwrap();
        assert_eq!(documents.len(), 2);
        assert_eq!(
            Value::Object(documents[0].object.clone()),
            json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a"}})
        );
        assert_eq!(documents[0].at.0, 4);
        assert_eq!(documents[0].kind_at, Some((5, 7)));
        assert_eq!(documents[1].kind_at, Some((9, 9)));
        assert_eq!(documents[1].object["on"], json!("yes"));
        assert!(parse("").unwrap().is_empty());
    }

    #[test]
    fn errors_say_where() {
        let err = parse("a: 1\nb: [\n").unwrap_err();
        assert_eq!((err.line, err.column), (2, 4), "{err:?}");
        let err = parse("kind: A\n---\n- 1\n").unwrap_err();
        assert_eq!((err.line, err.column), (3, 1), "{err:?}");
        let err = parse("a: 1\na: 2\n").unwrap_err();
        assert_eq!((err.line, err.column), (2, 1), "{err:?}");
        assert_eq!(
            err.message,
            "duplicate key `a`: a key may appear only once in a mapping"
        );
        let err = parse("a: [\n").unwrap_err();
        assert_eq!(err.message, "unclosed bracket '['");
        let err = parse("just text\n").unwrap_err();
        assert_eq!(
            err.message,
            "each YAML document must be a Kubernetes object, a mapping with `apiVersion`, `kind` and `metadata`"
        );
    }

    #[test]
    fn only_a_literal_line_found_once_traces_back() {
        let template = "a: 1\nb: {{ b }}\n  c: 2\nc: 2\n";
        let rendered = "a: 1\nb: x\n  c: 2\nc: 2\n";
        assert_eq!(template_line(template, rendered, 1), Some(1));
        assert_eq!(template_line(template, rendered, 2), None);
        assert_eq!(template_line(template, rendered, 3), Some(3));
        assert_eq!(template_line(template, rendered, 9), None);
        assert_eq!(template_line("x\nx\n", "x\n", 1), None);
        assert_eq!(line_of(rendered, 2), "b: x");
    }
}
