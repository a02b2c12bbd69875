//! YAML text for the files Prow reads from its ConfigMaps.

use opsmith_plugin_sdk::{Error, Value};
use serde::ser::{Serialize, SerializeMap, SerializeSeq, Serializer};

/// `value` as YAML, mapping keys in sorted order.
///
/// serde_json keeps insertion order or sorts keys depending on a cargo feature
/// some other crate in the build may switch on; sorting here makes the text
/// the same however the plugin is built. serde-saphyr quotes strings that a
/// YAML 1.1 reader such as Prow's would take for something else (`"on"`, `"1.0"`).
pub fn to_yaml(value: &Value) -> Result<String, Error> {
    serde_saphyr::to_string(&Sorted(value))
        .map_err(|e| Error::new(format!("cannot write YAML: {e}")))
}

struct Sorted<'a>(&'a Value);

impl Serialize for Sorted<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self.0 {
            Value::Object(map) => {
                let mut entries: Vec<_> = map.iter().collect();
                entries.sort_by(|a, b| a.0.cmp(b.0));
                let mut out = serializer.serialize_map(Some(entries.len()))?;
                for (key, value) in entries {
                    out.serialize_entry(key, &Sorted(value))?;
                }
                out.end()
            }
            Value::Array(items) => {
                let mut out = serializer.serialize_seq(Some(items.len()))?;
                for item in items {
                    out.serialize_element(&Sorted(item))?;
                }
                out.end()
            }
            scalar => scalar.serialize(serializer),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use opsmith_plugin_sdk::json;

    #[test]
    fn sorts_keys_and_quotes_yaml_1_1_lookalikes() {
        let text = to_yaml(&json!({ "b": ["on", "1.0", "lgtm"], "a": { "*": true } })).unwrap();
        assert_eq!(text, "a:\n  \"*\": true\nb:\n- \"on\"\n- \"1.0\"\n- lgtm\n");
    }
}
