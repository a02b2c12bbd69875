//! A large inventory parsed on every core. Its size is nearly all one block
//! list, `spec.hosts`, and YAML cannot be parsed from the middle in general,
//! but the items of a block list can: each item starts on a line of its own
//! at the list's indentation, and without anchors and aliases nothing in one
//! item refers to another. So the text is cut at item starts, the parts and
//! the rest of the document (the list's lines left blank, so every line
//! keeps its number) are parsed in parallel, and the list is put back in.
//!
//! Whatever does not fit that shape, or does not parse, is parsed in one go
//! by [`crate::parse_value`], which also gives every error its position: this
//! path only ever returns what the whole parse would. Positions are not built
//! here: they are read again from the text when a message needs one.

use rayon::prelude::*;
use serde_json::Value;

use crate::{Children, Node, Pos, SyntaxError};

/// Below this, one thread is as fast (a 1 000-host inventory is 530 KB).
const PARALLEL_FROM: usize = 128 << 10;

/// Smallest part worth a task of its own.
const MIN_PART_BYTES: usize = 24 << 10;

/// The key of the list this splits, at `spec.hosts` (two levels deep).
const LIST_KEY: &str = "hosts";
const LIST_DEPTH: usize = 2;

/// Parses one YAML document's value, in parallel where it can: what
/// [`crate::parse_value`] gives, the same value or the same error.
pub fn parse(text: &str) -> Result<Value, SyntaxError> {
    if text.len() >= PARALLEL_FROM
        && let Some(parsed) = parse_split(text, MIN_PART_BYTES)
    {
        return Ok(parsed);
    }
    crate::parse_value(text)
}

/// `None` when `text` is not of the shape this handles or a piece does not
/// parse; the caller then parses it whole.
pub(crate) fn parse_split(text: &str, min_part: usize) -> Option<Value> {
    let list = List::find(text)?;
    let parts = list.parts(min_part);
    let mut outline = String::with_capacity(text.len() - (list.end - list.start) + list.lines);
    outline.push_str(&text[..list.start]);
    outline.extend(std::iter::repeat_n('\n', list.lines));
    outline.push_str(&text[list.end..]);
    // The outline is small, and its positions find the list's key.
    let (outline, items) = rayon::join(
        || crate::parse_part(&outline, 0, true).ok(),
        || {
            parts
                .par_iter()
                .map(|&(start, end)| {
                    let (value, _, nodes) =
                        crate::parse_part(&text[start..end], LIST_DEPTH, false).ok()?;
                    Some((value, nodes))
                })
                .collect::<Option<Vec<_>>>()
        },
    );
    let (mut value, root, mut nodes) = outline?;
    let items = items?;

    let mut list_value = Vec::new();
    for (value, part_nodes) in items {
        nodes += part_nodes;
        let Value::Array(values) = value else {
            return None;
        };
        list_value.extend(values);
    }
    if nodes > crate::MAX_NODES {
        return None;
    }
    let path = path_to_key(&root, list.key_pos)?;
    if path.len() != LIST_DEPTH {
        return None;
    }
    let slot_value = value_at_mut(&mut value, &path)?;
    if !slot_value.is_null() {
        return None;
    }
    *slot_value = Value::Array(list_value);
    Some(value)
}

/// Where the big list is in the text.
#[derive(Debug)]
struct List {
    /// Position of the `hosts` key.
    key_pos: Pos,
    /// Byte range of the list's lines.
    start: usize,
    end: usize,
    /// Newlines in that range.
    lines: usize,
    /// Each item's byte offset.
    items: Vec<usize>,
}

impl List {
    fn find(text: &str) -> Option<List> {
        // Aliases may refer across parts; without them parts stand alone.
        if memchr::memchr2(b'&', b'*', text.as_bytes()).is_some() {
            return None;
        }
        let mut key: Option<(Pos, usize)> = None;
        let mut list: Option<List> = None;
        let mut item_indent = 0;
        let mut offset = 0;
        for (index, line) in text.split_inclusive('\n').enumerate() {
            let number = index + 1;
            let here = offset;
            offset += line.len();
            let body = line.trim_end_matches(['\n', '\r']);
            // Directives and document markers: a stream this does not cut.
            if body.starts_with("---") || body.starts_with("...") || body.starts_with('%') {
                return None;
            }
            let indent = leading_spaces(body);
            let rest = &body[indent..];
            let blank = rest.is_empty() || rest.starts_with('#');
            if let Some(list) = list.as_mut() {
                if list.end == 0 {
                    let item = indent == item_indent && is_item(rest);
                    if item {
                        list.items.push(here);
                    }
                    if item || blank || indent > item_indent {
                        list.lines += 1;
                        continue;
                    }
                    list.end = here;
                }
            } else if let Some((key_pos, key_indent)) = key {
                if blank {
                    continue;
                }
                if indent < key_indent || !is_item(rest) {
                    return None;
                }
                item_indent = indent;
                list = Some(List {
                    key_pos,
                    start: here,
                    end: 0,
                    lines: 1,
                    items: vec![here],
                });
                continue;
            }
            if is_list_key(rest) {
                // A second `hosts:` line: which one is the list is for the
                // whole parse to tell.
                if key.is_some() {
                    return None;
                }
                let column = indent as u64 + 1;
                key = Some((
                    Pos {
                        line: number as u64,
                        column,
                    },
                    indent,
                ));
            }
        }
        let mut list = list?;
        if list.end == 0 {
            list.end = text.len();
        }
        Some(list)
    }

    /// Byte ranges of consecutive items of at least `min_bytes` each (a few
    /// per core).
    fn parts(&self, min_bytes: usize) -> Vec<(usize, usize)> {
        let span = self.end - self.start;
        let target = (span / (rayon::current_num_threads() * 4)).max(min_bytes);
        let mut parts = Vec::new();
        let mut open = self.items[0];
        for &offset in &self.items[1..] {
            if offset - open >= target {
                parts.push((open, offset));
                open = offset;
            }
        }
        parts.push((open, self.end));
        parts
    }
}

fn leading_spaces(line: &str) -> usize {
    line.len() - line.trim_start_matches(' ').len()
}

/// A list item's first line: `-`, alone or followed by a space.
fn is_item(rest: &str) -> bool {
    rest == "-" || rest.starts_with("- ")
}

/// `hosts:` alone on its line, perhaps with a comment.
fn is_list_key(rest: &str) -> bool {
    rest.strip_prefix(LIST_KEY)
        .and_then(|r| r.strip_prefix(':'))
        .is_some_and(|r| {
            let r = r.trim_start_matches(' ');
            r.is_empty() || r.starts_with('#')
        })
}

/// A step from a node to a child.
#[derive(Debug)]
enum Step {
    Key(String),
    Index(usize),
}

/// The path to the mapping entry whose key is at `key_pos`.
fn path_to_key(node: &Node, key_pos: Pos) -> Option<Vec<Step>> {
    match &node.children {
        Children::Scalar => None,
        Children::Map(entries) => entries.iter().find_map(|(key, pos, child)| {
            if *pos == key_pos {
                return (key == LIST_KEY).then(|| vec![Step::Key(key.clone())]);
            }
            let mut path = path_to_key(child, key_pos)?;
            path.insert(0, Step::Key(key.clone()));
            Some(path)
        }),
        Children::Seq(items) => items.iter().enumerate().find_map(|(i, child)| {
            let mut path = path_to_key(child, key_pos)?;
            path.insert(0, Step::Index(i));
            Some(path)
        }),
    }
}

fn value_at_mut<'v>(mut value: &'v mut Value, path: &[Step]) -> Option<&'v mut Value> {
    for step in path {
        value = match step {
            Step::Key(key) => value.as_object_mut()?.get_mut(key)?,
            Step::Index(i) => value.as_array_mut()?.get_mut(*i)?,
        };
    }
    Some(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Splits `text` into parts as small as one item, and checks the result
    /// against the whole parse.
    fn same_as_whole(text: &str) -> bool {
        let whole = crate::parse(text);
        let Some(value) = parse_split(text, 1) else {
            return false;
        };
        let (whole_value, _) = whole.expect("the whole parse succeeds where parts do");
        assert_eq!(value, whole_value);
        true
    }

    const SITE: &str = "\
apiVersion: opsmith.dev/v1alpha1
kind: SiteInventory
metadata:
  name: example
spec:
  baseDomain: example.org
  hosts:  # the servers
    - name: a
      role: worker
      labels:
        rack: r1

      nics:
        - { name: eno1, mac: \"52:54:00:00:00:01\" }
# a comment at column 1
    - name: b
      role: control-plane
      note: |
        two lines
        of text
    -
      name: c
      empty:
    - name: d
  network: { apiVIP: 192.0.2.5 }
";

    #[test]
    fn parts_give_what_the_whole_parse_gives() {
        assert!(same_as_whole(SITE));
        // The list at the key's own indentation, and at the end of the text.
        let flush = "spec:\n  a: 1\n  hosts:\n  - name: x\n  - name: y\n    k: [1, 2]\n";
        assert!(same_as_whole(flush));
        assert!(same_as_whole(
            &flush.replace("  - name: x", "  -\n    name: x")
        ));
        assert!(same_as_whole(&flush.replace("  - name: x", "  -")));
        assert!(same_as_whole(
            &SITE.replace("    - name: a", "    -\n      name: a")
        ));
        let crlf = SITE.replace('\n', "\r\n");
        assert!(same_as_whole(&crlf));
        // Comments after the list, the text ending inside it, a keep-chomped
        // block scalar at a part's end, comments on item lines.
        assert!(same_as_whole(
            &SITE.replace("  network:", "# end\n\n  network:")
        ));
        assert!(same_as_whole(
            SITE.trim_end_matches("  network: { apiVIP: 192.0.2.5 }\n")
        ));
        assert!(same_as_whole(
            &SITE
                .replace("        of text\n", "        of text\n\n\n")
                .replace("note: |", "note: |+")
        ));
        assert!(same_as_whole(
            &SITE.replace("    - name: b", "    - name: b # second")
        ));
        // The reference site.
        let reference = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../site/inventory.yaml"
        ))
        .expect("site/inventory.yaml");
        assert!(same_as_whole(&reference));
    }

    #[test]
    fn other_shapes_are_left_to_the_whole_parse() {
        for text in [
            // Aliases may cross parts.
            SITE.replace("rack: r1", "rack: &r r1"),
            // Two documents.
            format!("{SITE}---\na: 1\n"),
            // Two `hosts:` keys.
            SITE.replace("  baseDomain: example.org", "  x:\n    hosts:\n      - 1"),
            // Not at spec.hosts.
            "a:\n  b:\n    c:\n      hosts:\n        - 1\n        - 2\n".to_owned(),
            // A flow list.
            "spec:\n  hosts: [a, b]\n".to_owned(),
            // An unterminated quote that runs into the next item.
            SITE.replace("role: worker", "role: \"worker"),
            // A stray line that would land outside the list.
            SITE.replace("    - name: d\n", "    - name: d\n   - name: e\n"),
        ] {
            assert!(parse_split(&text, 1).is_none(), "{text}");
            // And the public entry point still gives the whole parse's answer.
            let whole = crate::parse(&text).map(|(v, _)| v).map_err(|e| e.message);
            assert_eq!(parse(&text).map_err(|e| e.message), whole);
        }
    }

    #[test]
    fn errors_inside_an_item_come_from_the_whole_parse() {
        let text = SITE.replace("role: worker", "role: worker\n      role: again");
        assert!(parse_split(&text, 1).is_none());
        let err = crate::parse(&text).expect_err("duplicate key");
        assert_eq!(err.pos.line, 10);
    }

    #[test]
    fn a_generated_inventory_splits_and_matches() {
        let mut text = String::from("apiVersion: v1\nspec:\n  hosts:\n");
        for i in 0..500 {
            text.push_str(&format!(
                "    - name: host-{i}\n      role: worker\n      bmc:\n        address: redfish://192.0.2.{}/x\n      nics:\n        - {{ name: eno1, mac: \"52:54:00:00:{:02x}:{:02x}\" }}\n",
                i % 250,
                i / 256,
                i % 256
            ));
        }
        text.push_str("  network: { a: 1 }\n");
        assert!(same_as_whole(&text));
        assert!(parse_split(&text, 4096).is_some());
    }
}
