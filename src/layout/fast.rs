//! The common case of canonical YAML, written directly: block mappings and
//! lists, and scalars whose plain form no YAML reader can misread (a short
//! word that starts with a letter, is not a boolean or null in YAML 1.1 or
//! 1.2, and uses only letters, digits, `-`, `_`, `.` and `/`). Every other
//! scalar is formatted by serde-saphyr, one scalar at a time, so quoting
//! stays serde-saphyr's. An object this writer cannot match byte for byte
//! (a multi-line or folded string, a list directly inside a list, a key that
//! is not a plain word) is handed whole to serde-saphyr.
//!
//! Why: serde-saphyr takes about 14 µs per object, most of it deciding how
//! to quote scalars that need no quoting; a large site has tens of thousands
//! of objects. The tests compare this writer with serde-saphyr on every
//! object of the reference site, generated sites and random strings.

use std::cell::RefCell;
use std::fmt::Write as _;

use rustc_hash::FxHashMap;

use serde_json::{Map, Value};

use super::yaml::{METADATA_FIRST, TOP_FIRST};

/// This writer cannot produce serde-saphyr's bytes for the object.
pub struct Unsupported;

type Result<T = ()> = std::result::Result<T, Unsupported>;

const INDENT: usize = 2;

/// Longest string written plain here; serde-saphyr folds long strings into
/// block scalars, whose layout depends on the string.
const MAX_PLAIN: usize = 64;

/// `value` (a mapping) as canonical YAML, if this writer can match
/// serde-saphyr exactly.
#[cfg(test)]
pub fn canonical(value: &Value) -> Result<String> {
    let mut out = String::new();
    canonical_into(value, &mut out)?;
    Ok(out)
}

/// The canonical YAML of `value`, written into `out` (cleared first); on `Unsupported` what
/// `out` holds is meaningless.
pub fn canonical_into(value: &Value, out: &mut String) -> Result {
    out.clear();
    let Value::Object(map) = value else {
        return Err(Unsupported);
    };
    if map.is_empty() {
        out.push_str("{}\n");
        return Ok(());
    }
    write_map(out, map, 0, TOP_FIRST, false)
}

/// A map's entries at column `indent`; with `inline_first`, the first entry
/// continues a line already started (a list item's `- `).
fn write_map(
    out: &mut String,
    map: &Map<String, Value>,
    indent: usize,
    first: &'static [&'static str],
    inline_first: bool,
) -> Result {
    let mut pending_inline = inline_first;
    let mut entry = |out: &mut String, key: &str, value: &Value| -> Result {
        if !is_plain_word(key) {
            return Err(Unsupported);
        }
        if pending_inline {
            pending_inline = false;
        } else {
            pad(out, indent);
        }
        out.push_str(key);
        out.push(':');
        let nested_first: &'static [&'static str] = if first == TOP_FIRST && key == "metadata" {
            METADATA_FIRST
        } else {
            &[]
        };
        match value {
            Value::Object(m) if !m.is_empty() => {
                out.push('\n');
                write_map(out, m, indent + INDENT, nested_first, false)
            }
            // Compact lists: the items sit at the key's own column.
            Value::Array(items) if !items.is_empty() => {
                out.push('\n');
                write_list(out, items, indent)
            }
            scalar => {
                out.push(' ');
                write_scalar(out, scalar, Context::MapValue)?;
                out.push('\n');
                Ok(())
            }
        }
    };
    for &key in first {
        if let Some(value) = map.get(key) {
            entry(out, key, value)?;
        }
    }
    for (key, value) in map {
        if !first.contains(&key.as_str()) {
            entry(out, key, value)?;
        }
    }
    Ok(())
}

fn write_list(out: &mut String, items: &[Value], indent: usize) -> Result {
    for item in items {
        pad(out, indent);
        out.push_str("- ");
        match item {
            Value::Object(m) if !m.is_empty() => write_map(out, m, indent + INDENT, &[], true)?,
            Value::Array(inner) if !inner.is_empty() => return Err(Unsupported),
            scalar => {
                write_scalar(out, scalar, Context::ListItem)?;
                out.push('\n');
            }
        }
    }
    Ok(())
}

#[derive(Clone, Copy)]
enum Context {
    MapValue,
    ListItem,
}

/// A scalar (or an empty collection) on the current line.
fn write_scalar(out: &mut String, value: &Value, context: Context) -> Result {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) if n.is_i64() || n.is_u64() => {
            let _ = write!(out, "{n}");
        }
        Value::String(s) if is_plain_word(s) => out.push_str(s),
        Value::Object(m) if m.is_empty() => out.push_str("{}"),
        Value::Array(a) if a.is_empty() => out.push_str("[]"),
        // Floats and strings that need a decision: serde-saphyr's.
        other => out.push_str(&by_serde_saphyr(other, context)?),
    }
    Ok(())
}

/// How serde-saphyr writes `value` in `context`, if that is one line. A
/// string is looked up first among the ones this thread has already had
/// written: a site repeats the same few (`/dev/sda`, `1h`, annotations) in
/// every host's objects, and serde-saphyr takes a microsecond or two each.
fn by_serde_saphyr(value: &Value, context: Context) -> Result<String> {
    let Value::String(s) = value else {
        return by_serde_saphyr_uncached(value, context);
    };
    thread_local! {
        /// Per context, each string's written form, or `None` for one this
        /// writer cannot match. (SipHash cost as much as the serde-saphyr
        /// calls it saved.)
        static WRITTEN: RefCell<[FxHashMap<String, Option<String>>; 2]> =
            RefCell::new(Default::default());
    }
    let slot = context as usize;
    let found = WRITTEN.with_borrow(|written| written[slot].get(s.as_str()).cloned());
    if let Some(found) = found {
        return found.ok_or(Unsupported);
    }
    let written = by_serde_saphyr_uncached(value, context);
    WRITTEN.with_borrow_mut(|cache| {
        // Bounded: a large site's unique strings (addresses, MACs) would
        // only fill it.
        if cache[slot].len() < MAX_REMEMBERED {
            cache[slot].insert(s.clone(), written.as_ref().ok().cloned());
        }
    });
    written
}

/// Most strings each thread remembers the written form of.
const MAX_REMEMBERED: usize = 4096;

fn by_serde_saphyr_uncached(value: &Value, context: Context) -> Result<String> {
    let (text, prefix) = match context {
        Context::MapValue => {
            let mut one = Map::new();
            one.insert("k".to_owned(), value.clone());
            (serde_saphyr::to_string(&one), "k: ")
        }
        Context::ListItem => (serde_saphyr::to_string(&[value]), "- "),
    };
    let text = text.map_err(|_| Unsupported)?;
    let line = text
        .strip_prefix(prefix)
        .and_then(|rest| rest.strip_suffix('\n'))
        .ok_or(Unsupported)?;
    // A block scalar (`|`, `>`) continues on more lines, laid out for its
    // column: the whole object goes to serde-saphyr instead.
    if line.contains('\n') || line.starts_with('|') || line.starts_with('>') {
        return Err(Unsupported);
    }
    Ok(line.to_owned())
}

fn pad(out: &mut String, indent: usize) {
    for _ in 0..indent {
        out.push(' ');
    }
}

/// A string every YAML 1.1 and 1.2 reader takes as that same string when it
/// is written plain: it starts with a letter (so it is no number, date,
/// sexagesimal or special float), uses only characters that mean nothing to
/// YAML, is short, and is none of the words YAML 1.1 reads as a boolean or
/// null (nor `nan` or `inf`, which serde-saphyr quotes too).
pub fn is_plain_word(s: &str) -> bool {
    let bytes = s.as_bytes();
    !bytes.is_empty()
        && bytes.len() <= MAX_PLAIN
        && bytes[0].is_ascii_alphabetic()
        && bytes
            .iter()
            .all(|&b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'/'))
        && !is_reserved_word(s)
}

fn is_reserved_word(s: &str) -> bool {
    // Booleans and null of YAML 1.1 and 1.2, and the special floats some
    // readers take without their leading dot.
    const WORDS: [&str; 12] = [
        "y", "n", "yes", "no", "on", "off", "true", "false", "null", "nan", "inf", "infinity",
    ];
    s.len() <= 8 && WORDS.iter().any(|w| w.eq_ignore_ascii_case(s))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::layout::yaml::canonical_by_serde_saphyr;

    /// The fast writer gives serde-saphyr's bytes, or declines.
    fn same_as_serde_saphyr(value: &Value) -> bool {
        let expected = canonical_by_serde_saphyr(value).expect("serde-saphyr writes it");
        match canonical(value) {
            Ok(text) => {
                assert_eq!(text, expected, "for {value}");
                true
            }
            Err(Unsupported) => false,
        }
    }

    #[test]
    fn every_golden_object_is_written_as_serde_saphyr_writes_it() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden");
        let (mut fast, mut all) = (0, 0);
        for entry in walkdir::WalkDir::new(root) {
            let entry = entry.expect("walk");
            let path = entry.path();
            if path.extension().is_none_or(|e| e != "yaml") {
                continue;
            }
            let text = std::fs::read_to_string(path).expect("read");
            let (value, _) = opsmith_yaml::parse(&text).expect("golden files parse");
            all += 1;
            if same_as_serde_saphyr(&value) {
                fast += 1;
            }
        }
        assert!(all > 50, "found {all} golden files");
        // Most objects take the fast path; the rest hold block scalars.
        assert!(
            fast * 10 >= all * 7,
            "only {fast} of {all} took the fast path"
        );
    }

    /// Generated objects (the values opsmith-yaml's differential tests
    /// write as YAML): the fast writer gives serde-saphyr's bytes or
    /// declines, and the canonical text reads back as the object.
    #[test]
    fn generated_objects_are_written_as_serde_saphyr_writes_them() {
        use proptest::prop_assert_eq;
        use proptest::test_runner::TestCaseError;

        let cases = 256;
        let fast = std::cell::Cell::new(0);
        opsmith_yaml_strategies::check(cases, opsmith_yaml_strategies::object(), |value| {
            let expected = canonical_by_serde_saphyr(&value)
                .map_err(|e| TestCaseError::fail(format!("serde-saphyr: {e}")))?;
            if let Ok(text) = canonical(&value) {
                prop_assert_eq!(&text, &expected);
                fast.set(fast.get() + 1);
            }
            let read = opsmith_yaml::parse_value(&expected)
                .map_err(|e| TestCaseError::fail(format!("{}: {}", e.message, expected)))?;
            prop_assert_eq!(&read, &value, "{}", expected);
            Ok(())
        });
        // Enough of them on the fast path for the comparison to mean something.
        assert!(fast.get() > cases / 5, "{} on the fast path", fast.get());
    }

    #[test]
    fn structures_match() {
        for value in [
            json!({}),
            json!({"a": {}, "b": [], "c": null, "d": true, "e": false}),
            json!({"n": [1, -2, 18446744073709551615u64, 1.5, -0.0, 1e300]}),
            json!({"l": [{"a": 1, "b": {"c": [1, 2]}}, {"x": [{"y": {}}]}, [], {}]}),
            json!({"l": [{"first": {"nested": 1}, "second": [1]}]}),
            json!({"l": [{"first": [1, {"m": 2}]}]}),
            json!({"l": [[1, 2], [3]]}),
            json!({"apiVersion": "v1", "kind": "K", "metadata": {"labels": {"a/b": "c"}, "name": "x", "annotations": {"q": "1"}, "namespace": "ns"}}),
            json!({"weird key": 1}),
            json!({"": 1}),
            json!({"k": "line one\nline two"}),
            json!({"k": ["line one\nline two"]}),
            json!({"k": "a very long string that goes on and on and on well past any folding width there is"}),
        ] {
            same_as_serde_saphyr(&value);
        }
    }

    #[test]
    fn random_strings_are_plain_only_when_serde_saphyr_writes_them_plain() {
        const ALPHABET: &[u8] = b"aAzZyYnNoOeE019-_./: #'\"~!&*?|>%@`,[]{}\\\t";
        let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        let mut words: Vec<String> = [
            "y",
            "Y",
            "yes",
            "No",
            "ON",
            "off",
            "True",
            "FALSE",
            "null",
            "Null",
            "e1",
            "E",
            "nan",
            "inf",
            "a.b",
            "a/b",
            "a-",
            "a_",
            "x..y",
            "v1",
            "openshift-machine-api",
        ]
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
        for _ in 0..20_000 {
            let len = (next() % 12) as usize + 1;
            let word: String = (0..len)
                .map(|_| ALPHABET[(next() % ALPHABET.len() as u64) as usize] as char)
                .collect();
            words.push(word);
        }
        words.push("a".repeat(MAX_PLAIN));
        words.push("a".repeat(MAX_PLAIN + 1));
        for word in &words {
            let value = json!({ "k": word, "l": [word], "m": [{ "k": word }] });
            same_as_serde_saphyr(&value);
            if is_plain_word(word) {
                let alone = serde_saphyr::to_string(&json!({ "k": word })).expect("write");
                assert_eq!(
                    alone,
                    format!("k: {word}\n"),
                    "serde-saphyr quotes {word:?}"
                );
            }
        }
    }
}
