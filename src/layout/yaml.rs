//! Canonical YAML: `apiVersion`, `kind`, `metadata` first (and `name`,
//! `namespace` first inside `metadata`), every other key sorted, written by
//! serde-saphyr, which quotes every string a YAML 1.1 reader (PyYAML,
//! go-yaml v2) would read as something else: `on`, `NO`, `y`, `1_000`,
//! `2026-11-26`, all-digit MACs such as `52:54:00:00:00:10`.

use serde::ser::{Serialize, SerializeMap, SerializeSeq, Serializer};
use serde_json::Value;

pub(super) const TOP_FIRST: &[&str] = &["apiVersion", "kind", "metadata"];
pub(super) const METADATA_FIRST: &[&str] = &["name", "namespace", "labels", "annotations"];

/// A value serialised in canonical key order.
struct Canonical<'a> {
    value: &'a Value,
    first: &'static [&'static str],
}

impl Serialize for Canonical<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self.value {
            Value::Object(map) => {
                // serde_json's maps are sorted by key (the `preserve_order`
                // feature is off; a test below keeps it so): only the keys
                // that go first need moving.
                let mut out = serializer.serialize_map(Some(map.len()))?;
                for &key in self.first {
                    if let Some(value) = map.get(key) {
                        let first: &'static [&'static str] =
                            if self.first == TOP_FIRST && key == "metadata" {
                                METADATA_FIRST
                            } else {
                                &[]
                            };
                        out.serialize_entry(key, &Canonical { value, first })?;
                    }
                }
                for (key, value) in map {
                    if self.first.contains(&key.as_str()) {
                        continue;
                    }
                    out.serialize_entry(key, &Canonical { value, first: &[] })?;
                }
                out.end()
            }
            Value::Array(items) => {
                let mut out = serializer.serialize_seq(Some(items.len()))?;
                for item in items {
                    out.serialize_element(&Canonical {
                        value: item,
                        first: &[],
                    })?;
                }
                out.end()
            }
            other => other.serialize(serializer),
        }
    }
}

/// One object as canonical YAML text: by the fast writer when it can match
/// serde-saphyr byte for byte (almost every object), else by serde-saphyr.
pub fn canonical(value: &Value) -> anyhow::Result<String> {
    let mut text = String::with_capacity(1024);
    match super::fast::canonical_into(value, &mut text) {
        Ok(()) => Ok(text),
        Err(super::fast::Unsupported) => canonical_by_serde_saphyr(value),
    }
}

/// [`canonical`] as bytes in a buffer of their exact size: a large site
/// keeps tens of thousands of these until they are written out, and a
/// string grown while writing holds on average a third more than it uses.
pub fn canonical_bytes(value: &Value) -> anyhow::Result<Vec<u8>> {
    thread_local! {
        static SCRATCH: std::cell::RefCell<String> = const { std::cell::RefCell::new(String::new()) };
    }
    let fast = SCRATCH.with_borrow_mut(|scratch| {
        let written = super::fast::canonical_into(value, scratch)
            .ok()
            .map(|()| scratch.as_bytes().to_vec());
        // One unusually large object need not stay allocated per thread.
        if scratch.capacity() > 1 << 20 {
            *scratch = String::new();
        }
        written
    });
    match fast {
        Some(bytes) => Ok(bytes),
        None => Ok(canonical_by_serde_saphyr(value)?.as_bytes().to_vec()),
    }
}

/// One object as canonical YAML text, all of it written by serde-saphyr.
pub fn canonical_by_serde_saphyr(value: &Value) -> anyhow::Result<String> {
    to_yaml(&Canonical {
        value,
        first: TOP_FIRST,
    })
}

/// Any serialisable value as YAML, with opsmith's serializer settings.
pub fn to_yaml<T: Serialize>(value: &T) -> anyhow::Result<String> {
    Ok(serde_saphyr::to_string(value)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn keys_in_kubernetes_order() {
        let v = json!({"spec": {"b": 1, "a": 2}, "metadata": {"labels": {}, "name": "x"}, "kind": "K", "apiVersion": "v1"});
        let text = canonical(&v).unwrap();
        let order: Vec<&str> = text.lines().filter(|l| !l.starts_with(' ')).collect();
        assert_eq!(order, ["apiVersion: v1", "kind: K", "metadata:", "spec:"]);
        assert!(text.find("name: x").unwrap() < text.find("labels").unwrap());
    }

    #[test]
    fn maps_are_sorted_whatever_the_insertion_order() {
        // Canonical output relies on serde_json's sorted map; a dependency
        // turning on `preserve_order` would silently break it.
        let mut map = serde_json::Map::new();
        map.insert("zeta".into(), json!(1));
        map.insert("alpha".into(), json!(2));
        let text = canonical(&Value::Object(map)).unwrap();
        assert_eq!(text, "alpha: 2\nzeta: 1\n");
    }

    #[test]
    fn yaml_1_1_ambiguous_strings_are_quoted() {
        for s in [
            "52:54:00:00:00:10",
            "on",
            "NO",
            "y",
            "1_000",
            "2026-11-26",
            "0777",
            "1e3",
            "null",
            "~",
            "yes",
            "Off",
        ] {
            let text = canonical(&json!({ "v": s })).unwrap();
            let scalar = text.trim_start_matches("v: ").trim_end();
            assert!(
                scalar.starts_with('"') || scalar.starts_with('\''),
                "`{s}` must be quoted, got `{scalar}`"
            );
        }
    }
}
