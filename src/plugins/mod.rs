//! Stage 3, plugins: loads each component's WebAssembly plugin (built-in or
//! pinned by sha256), checks its config against the schema the plugin
//! declares, and renders it in a sandbox. Components run in parallel; the
//! results come back in catalog order. Hands [`Rendered`] to collect.
//!
//! - `runtime`: the engine and linker, the compile cache, loading a plugin once;
//! - `source`: where a plugin's bytes come from;
//! - `call`: one `describe` or `render` and the decoding of what it returns;
//! - `input`: what a plugin is given (the catalog with each component's
//!   kinds, the site without its hosts);
//! - `schedule`: every component run in parallel, failures collected;
//! - `sandbox`: the per-call store and its limits; `cache`,
//!   `engine_config`, `error` and `bindings` as named. The built-in plugins'
//!   bytes are read where the other inputs are (`load::builtin`).

pub mod bindings;
pub mod cache;
mod call;
pub mod engine_config;
pub mod error;
mod input;
mod runtime;
pub mod sandbox;
mod schedule;
mod source;

pub use crate::load::builtin;
pub use call::{Emit, File, Info, Plugin, PluginDiagnostic, Rendered};
pub use error::{ComponentCause, ComponentError, PluginError, RenderFailures};
pub use input::{catalog_for_plugins, effective_kinds};
pub use runtime::Runtime;
pub use sandbox::quantity_bytes;
pub use schedule::{ComponentFailure, check_configs, guest_problem, locate_pointer, render_all};
pub use source::PluginSource;

#[cfg(test)]
mod tests {
    use serde_json::Value;

    use super::bindings::PluginInfo;
    use super::call::{parse_info, parse_objects, parse_objects_by_line};
    use super::input::inventory_without_hosts;
    use super::*;

    #[test]
    fn plugins_that_read_no_hosts_get_the_site_without_them() {
        let inventory = serde_json::json!({
            "kind": "SiteInventory",
            "spec": {"baseDomain": "example.org", "hosts": [{"name": "a"}], "network": {"x": 1}},
        });
        let without: Value =
            serde_json::from_str(&inventory_without_hosts(&inventory)).expect("JSON");
        let mut expected = inventory.clone();
        expected["spec"]["hosts"] = serde_json::json!([]);
        assert_eq!(without, expected);

        let info = |schema: &str| PluginInfo {
            name: "p".into(),
            version: "1".into(),
            description: String::new(),
            config_schema: schema.into(),
            emits: Vec::new(),
        };
        let says = |schema| parse_info(info(schema)).expect("valid").reads_hosts;
        assert!(!says(
            r#"{"type": "object", "x-opsmith-reads-hosts": false}"#
        ));
        assert!(says(r#"{"type": "object", "x-opsmith-reads-hosts": true}"#));
        assert!(says(r#"{"type": "object"}"#));
    }

    #[test]
    fn what_a_plugin_says_of_itself_must_be_safe_to_build_on() {
        use bindings::AllowedKind as Declared;
        let info = |name: &str, version: &str, emits: &[(&str, &str, &[&str])]| PluginInfo {
            name: name.into(),
            version: version.into(),
            description: String::new(),
            config_schema: "{}".into(),
            emits: emits
                .iter()
                .map(|(api_version, kind, namespaces)| Declared {
                    api_version: (*api_version).into(),
                    kind: (*kind).into(),
                    namespaces: namespaces.iter().map(|n| (*n).into()).collect(),
                })
                .collect(),
        };
        let fine: &[(&str, &str, &[&str])] = &[
            ("v1", "Namespace", &[]),
            ("rbac.authorization.k8s.io/v1", "ClusterRole", &[]),
            ("tekton.dev/v1beta1", "Pipeline", &["ci", "*"]),
        ];
        assert!(parse_info(info("metal3", "0.1.0+build.1", fine)).is_ok());
        let refused: &[(&str, &str, &[&str])] = &[
            ("v1", "../../../tmp/pwn", &[]),
            ("*/v1", "Deployment", &[]),
            ("v1", "*", &[]),
            ("apps/v1", "Deployment", &["../etc"]),
            ("apps/v1", "deployment", &[]),
            ("apps/x1", "Deployment", &[]),
        ];
        for declared in refused {
            assert!(
                parse_info(info("p", "1", std::slice::from_ref(declared))).is_err(),
                "{declared:?}"
            );
        }
        assert!(parse_info(info("p\nSigned-off-by: x", "1", fine)).is_err());
        assert!(parse_info(info("p", "1\nOpsmith-Plugin: forged", fine)).is_err());
    }

    fn kind(api_version: &str, kind: &str, namespaces: &[&str]) -> Emit {
        Emit {
            api_version: api_version.into(),
            kind: kind.into(),
            namespaces: namespaces.iter().map(|n| (*n).into()).collect(),
        }
    }

    #[test]
    fn effective_kinds_are_what_both_the_plugin_and_the_catalog_permit() {
        let declared = [
            kind("v1", "Namespace", &[]),
            kind("v1", "ConfigMap", &["prow", "*"]),
            kind("v1", "Secret", &["prow", "test-pods"]),
            kind("operator.tekton.dev/v1alpha1", "TektonConfig", &[]),
            kind("v1", "Service", &["*"]),
        ];
        // No allow list: the declaration, sorted.
        let mut sorted = declared.to_vec();
        sorted.sort();
        assert_eq!(effective_kinds(&declared, None), sorted);

        let allow = [
            // Cluster-scoped in both.
            kind("v1", "Namespace", &[]),
            // A `*` on one side keeps the other side's names.
            kind("v1", "ConfigMap", &["ci"]),
            kind("v1", "Secret", &["*"]),
            // Namespaced here but declared cluster-scoped: neither permits it.
            kind("operator.tekton.dev/v1alpha1", "TektonConfig", &["ci"]),
            // Not declared.
            kind("v1", "Pod", &["*"]),
            // Two entries for one kind add up.
            kind("v1", "Service", &["a"]),
            kind("v1", "Service", &["b"]),
        ];
        assert_eq!(
            effective_kinds(&declared, Some(&allow)),
            [
                kind("v1", "ConfigMap", &["ci"]),
                kind("v1", "Namespace", &[]),
                kind("v1", "Secret", &["prow", "test-pods"]),
                kind("v1", "Service", &["a", "b"]),
            ]
        );
        // Names on both sides: the common ones, or nothing.
        let allow = [
            kind("v1", "Secret", &["test-pods", "other"]),
            kind("v1", "ConfigMap", &["prow", "*"]),
        ];
        assert_eq!(
            effective_kinds(&declared, Some(&allow)),
            [
                kind("v1", "ConfigMap", &["*", "prow"]),
                kind("v1", "Secret", &["test-pods"]),
            ]
        );
        assert_eq!(effective_kinds(&declared, Some(&[])), []);
    }

    /// What parsing the whole text as one array gives.
    fn whole(text: &str) -> Option<Vec<Value>> {
        serde_json::from_str(text).ok()
    }

    /// The objects' texts, parsed.
    fn values(raw: Vec<Box<serde_json::value::RawValue>>) -> Vec<Value> {
        raw.iter()
            .map(|raw| serde_json::from_str(raw.get()).expect("JSON"))
            .collect()
    }

    #[test]
    fn objects_cut_at_newlines_read_as_the_whole_array() {
        for text in [
            "[]",
            " [ ] ",
            "[{\"a\":1}]",
            "[{\"a\":1},\n{\"b\":\"x\\ny\"},\n{\"c\":[1,2]}]",
            "\n[ {\"a\":1} ,\n\t{\"b\":2}\n]\n",
        ] {
            let expected = whole(text).expect("valid JSON");
            if let Some(cut) = parse_objects_by_line(text) {
                assert_eq!(values(cut), expected, "{text:?}");
            }
            assert_eq!(
                parse_objects(text).ok().map(values),
                Some(expected),
                "{text:?}"
            );
        }
        // The SDK's own output takes the fast path.
        let text = "[{\"a\":1},\n{\"b\":2},\n{\"c\":3}]";
        assert_eq!(parse_objects_by_line(text).map(|v| v.len()), Some(3));
    }

    #[test]
    fn anything_else_is_left_to_the_whole_parse() {
        for text in [
            // Pretty-printed elements span lines.
            "[\n  {\n    \"a\": 1\n  },\n  {\"b\": 2}\n]",
            // A missing comma the whole parse refuses.
            "[{\"a\":1}\n{\"b\":2}]",
            // Two elements on one line.
            "[{\"a\":1},{\"b\":2},\n{\"c\":3}]",
            // Whitespace JSON does not allow.
            "\u{a0}[{\"a\":1},\n{\"b\":2}]",
            "[{\"a\":1},\u{a0}\n{\"b\":2}]",
            // A trailing comma.
            "[{\"a\":1},\n{\"b\":2},\n]",
        ] {
            let by_line = parse_objects_by_line(text).map(values);
            match whole(text) {
                Some(expected) => {
                    assert!(by_line.is_none() || by_line == Some(expected.clone()));
                    assert_eq!(parse_objects(text).ok().map(values), Some(expected));
                }
                None => {
                    assert!(by_line.is_none(), "{text:?}");
                    assert!(parse_objects(text).is_err(), "{text:?}");
                }
            }
        }
    }
}
