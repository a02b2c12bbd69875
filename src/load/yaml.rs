//! YAML with positions: one parse gives both the JSON value the later stages
//! work on and a tree of source positions, so any JSON pointer into the value
//! can be turned back into `file:line:column`.

use std::collections::HashSet;
use std::fmt;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Number, Value};
use serde_saphyr::Spanned;

/// A 1-based line and column in a source file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct Pos {
    pub line: u64,
    pub column: u64,
}

/// Where each node of a parsed document sits in its source.
#[derive(Debug, Clone)]
pub struct Node {
    pub pos: Pos,
    pub children: Children,
}

#[derive(Debug, Clone)]
pub enum Children {
    Scalar,
    /// Entries in source order: key, position of the key, value.
    Map(Vec<(String, Pos, Node)>),
    Seq(Vec<Node>),
}

impl Node {
    /// The position of the node at `pointer`; for a pointer that leads past
    /// the tree (a missing field), the deepest existing node on the way.
    pub fn locate(&self, pointer: &str) -> Pos {
        self.walk(pointer, false)
    }

    /// Like [`Node::locate`], but for a map entry the position of its key:
    /// where an "unknown field" error belongs.
    pub fn locate_key(&self, pointer: &str) -> Pos {
        self.walk(pointer, true)
    }

    fn walk(&self, pointer: &str, want_key: bool) -> Pos {
        let mut node = self;
        let mut pos = self.pos;
        for token in pointer.split('/').skip(1) {
            let token = token.replace("~1", "/").replace("~0", "~");
            let next = match &node.children {
                Children::Map(entries) => {
                    entries
                        .iter()
                        .find(|(k, _, _)| *k == token)
                        .map(|(_, key_pos, child)| {
                            (if want_key { *key_pos } else { child.pos }, child)
                        })
                }
                Children::Seq(items) => token
                    .parse::<usize>()
                    .ok()
                    .and_then(|i| items.get(i))
                    .map(|c| (c.pos, c)),
                Children::Scalar => None,
            };
            match next {
                Some((p, child)) => {
                    pos = p;
                    node = child;
                }
                None => return pos,
            }
        }
        if want_key { pos } else { node.pos }
    }
}

fn pos_of<T>(spanned: &Spanned<T>) -> Pos {
    Pos {
        line: spanned.referenced.line(),
        column: spanned.referenced.column(),
    }
}

/// A node and its value, built together in one pass.
struct Raw {
    value: Value,
    children: Children,
}

struct Key(String);

impl<'de> Deserialize<'de> for Key {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl Visitor<'_> for KeyVisitor {
            type Value = Key;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a scalar mapping key")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Key, E> {
                Ok(Key(v.to_owned()))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Key, E> {
                Ok(Key(v))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Key, E> {
                Ok(Key(v.to_string()))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Key, E> {
                Ok(Key(v.to_string()))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Key, E> {
                Ok(Key(v.to_string()))
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<Key, E> {
                Ok(Key(v.to_string()))
            }
            fn visit_unit<E: de::Error>(self) -> Result<Key, E> {
                Ok(Key("null".to_owned()))
            }
        }
        d.deserialize_any(KeyVisitor)
    }
}

impl<'de> Deserialize<'de> for Raw {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(RawVisitor)
    }
}

struct RawVisitor;

fn scalar(value: Value) -> Raw {
    Raw {
        value,
        children: Children::Scalar,
    }
}

impl<'de> Visitor<'de> for RawVisitor {
    type Value = Raw;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any YAML value")
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Raw, E> {
        Ok(scalar(Value::Bool(v)))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Raw, E> {
        Ok(scalar(Value::Number(v.into())))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Raw, E> {
        Ok(scalar(Value::Number(v.into())))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Raw, E> {
        // JSON has no NaN or infinity; such a value is never valid input here.
        Number::from_f64(v)
            .map(|n| scalar(Value::Number(n)))
            .ok_or_else(|| E::custom("`.nan` and `.inf` are not allowed"))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Raw, E> {
        Ok(scalar(Value::String(v.to_owned())))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<Raw, E> {
        Ok(scalar(Value::String(v)))
    }
    fn visit_unit<E: de::Error>(self) -> Result<Raw, E> {
        Ok(scalar(Value::Null))
    }
    fn visit_none<E: de::Error>(self) -> Result<Raw, E> {
        Ok(scalar(Value::Null))
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Raw, D::Error> {
        Raw::deserialize(d)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Raw, A::Error> {
        let mut values = Vec::new();
        let mut nodes = Vec::new();
        while let Some(item) = seq.next_element::<Spanned<Raw>>()? {
            let pos = pos_of(&item);
            values.push(item.value.value);
            nodes.push(Node {
                pos,
                children: item.value.children,
            });
        }
        Ok(Raw {
            value: Value::Array(values),
            children: Children::Seq(nodes),
        })
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Raw, A::Error> {
        let mut values = Map::new();
        let mut entries = Vec::new();
        let mut seen = HashSet::new();
        while let Some(key) = map.next_key::<Spanned<Key>>()? {
            let key_pos = pos_of(&key);
            let name = key.value.0;
            if !seen.insert(name.clone()) {
                return Err(de::Error::custom(format!(
                    "duplicate key `{name}` at line {}, column {}",
                    key_pos.line, key_pos.column
                )));
            }
            let value = map.next_value::<Spanned<Raw>>()?;
            let pos = pos_of(&value);
            values.insert(name.clone(), value.value.value);
            entries.push((
                name,
                key_pos,
                Node {
                    pos,
                    children: value.value.children,
                },
            ));
        }
        Ok(Raw {
            value: Value::Object(values),
            children: Children::Map(entries),
        })
    }
}

/// Why a YAML text could not be parsed.
#[derive(Debug)]
pub struct SyntaxError {
    pub pos: Pos,
    pub message: String,
}

/// Most bytes a single input file may have. A 10 000-host inventory is about 4 MiB.
pub const MAX_INPUT_BYTES: usize = 64 << 20;

/// Parses one YAML document into its value and position tree.
pub fn parse(text: &str) -> Result<(Value, Node), SyntaxError> {
    if text.len() > MAX_INPUT_BYTES {
        return Err(SyntaxError {
            pos: Pos { line: 1, column: 1 },
            message: format!(
                "file is {} bytes; the limit is {} bytes",
                text.len(),
                MAX_INPUT_BYTES
            ),
        });
    }
    let mut options = serde_saphyr::Options::default();
    // Large sites have many nodes; aliases and anchors keep their default caps,
    // which is what bounds an alias bomb.
    let mut budget = options.budget.clone().unwrap_or_default();
    budget.max_nodes = 8_000_000;
    budget.max_events = 16_000_000;
    budget.max_total_scalar_bytes = MAX_INPUT_BYTES;
    // Sites use few anchors; a low cap refuses an alias bomb in well under a second.
    budget.max_recorded_anchor_events = 100_000;
    options.budget = Some(budget);
    options.with_snippet = false;
    // YAML 1.2 booleans only: `y`, `yes`, `on` stay strings (as Kubernetes'
    // YAML 1.2 readers and the JSON Schema expect), so `enabled: yes` is
    // reported as the wrong type instead of silently meaning true.
    options.strict_booleans = true;
    match serde_saphyr::from_str_with_options::<Spanned<Raw>>(text, options) {
        Ok(root) => {
            let pos = pos_of(&root);
            Ok((
                root.value.value,
                Node {
                    pos,
                    children: root.value.children,
                },
            ))
        }
        Err(e) => {
            let pos = e
                .location()
                .map(|l| Pos {
                    line: l.line(),
                    column: l.column(),
                })
                .filter(|p| p.line > 0)
                .unwrap_or(Pos { line: 1, column: 1 });
            Err(SyntaxError {
                pos,
                message: plain_message(&e.to_string()),
            })
        }
    }
}

/// serde-saphyr's message, in opsmith's words: no parser internals, no
/// position (the caller prints `file:line:column` already).
fn plain_message(raw: &str) -> String {
    let first = raw.lines().next().unwrap_or(raw);
    if first.contains("budget breached") || first.contains("alias") && first.contains("limit") {
        return "the document expands too far through anchors and aliases (an alias bomb?); opsmith refuses it".to_owned();
    }
    if let Some(rest) = first.strip_prefix("duplicate mapping key: ") {
        let key = rest.split(',').next().unwrap_or(rest).trim();
        return format!("duplicate key `{key}`: a key may appear only once in a mapping");
    }
    let without_position = first.split(" at line ").next().unwrap_or(first);
    without_position.trim_end_matches('.').to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_follow_pointers() {
        let text = "a: 1\nb:\n  - x: 2\n    y: \"52:54:00:00:00:10\"\n";
        let (value, root) = parse(text).unwrap();
        assert_eq!(value["b"][0]["y"], "52:54:00:00:00:10");
        assert_eq!(root.locate("/b/0/y"), Pos { line: 4, column: 8 });
        assert_eq!(root.locate_key("/b/0/y"), Pos { line: 4, column: 5 });
        // A missing field points at its parent.
        assert_eq!(root.locate("/b/0/z").line, 3);
    }

    #[test]
    fn yaml_1_1_booleans_stay_strings() {
        let (value, _) = parse("y: yes\non: off\nt: true\n").unwrap();
        assert_eq!(value["y"], "yes");
        assert_eq!(value["on"], "off");
        assert_eq!(value["t"], true);
    }

    #[test]
    fn duplicate_keys_are_refused() {
        let err = parse("a: 1\nb: 2\na: 3\n").unwrap_err();
        assert!(err.message.contains("duplicate"), "{}", err.message);
        assert_eq!(err.pos.line, 3);
    }

    #[test]
    fn alias_bomb_is_refused() {
        let mut text = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..12 {
            let p = i - 1;
            text.push_str(&format!("a{i}: &a{i} [*a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}]\n"));
        }
        assert!(parse(&text).is_err());
    }
}
