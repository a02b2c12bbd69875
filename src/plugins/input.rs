//! What a plugin is given: the catalog as plugins see it (with the kinds
//! each component may emit) and the site without its hosts for plugins
//! that do not read them.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde_json::Value;

use super::*;
use crate::validate::Site;

/// The catalog as plugins see it: each component with its `path`, and each
/// enabled one with `emits`, the kinds it may emit (`kinds`, by component
/// name; a component missing there may emit nothing).
pub fn catalog_for_plugins(site: &Site, kinds: &HashMap<&str, Vec<Emit>>) -> Value {
    let mut catalog = site.catalog.guest_view();
    for component in &mut catalog.spec.components {
        component.path = Some(format!(
            "{}/{}{}",
            site.catalog.spec.gitops.path.trim_end_matches('/'),
            component.cluster.tree_prefix(),
            component.name
        ));
        // Set here whatever the input said: the catalog's schema has no such
        // field, and only opsmith knows what the plugin declared.
        component.emits = component.enabled.then(|| {
            kinds
                .get(component.name.as_str())
                .into_iter()
                .flatten()
                .map(|k| Emit {
                    api_version: k.api_version.clone(),
                    kind: k.kind.clone(),
                    namespaces: k.namespaces.clone(),
                })
                .collect()
        });
    }
    serde_json::to_value(&catalog).unwrap_or(Value::Null)
}

/// What collect lets a component emit: each kind its plugin declares, in the
/// namespaces both the declaration and the catalog's `allow` list (when
/// there is one) permit. Cluster-scoped kinds (no namespaces) stay so only if
/// `allow` lists them cluster-scoped too.
pub fn effective_kinds(declared: &[Emit], allow: Option<&[Emit]>) -> Vec<Emit> {
    let any_kind = declared
        .iter()
        .any(|d| call::is_any_kind(&d.api_version, &d.kind, &d.namespaces));
    if any_kind {
        // The user writes what such a plugin renders: the catalog says what
        // it may be, and without an `allow` list nothing is allowed.
        let mut kinds = allow.map(<[Emit]>::to_vec).unwrap_or_default();
        kinds.sort();
        kinds.dedup();
        return kinds;
    }
    let Some(allow) = allow else {
        let mut kinds = declared.to_vec();
        kinds.sort();
        kinds.dedup();
        return kinds;
    };
    // By apiVersion, kind and scope: namespaces from several matching pairs add up.
    let mut merged: BTreeMap<(&str, &str, bool), BTreeSet<&str>> = BTreeMap::new();
    for d in declared {
        for a in allow {
            if a.api_version != d.api_version || a.kind != d.kind {
                continue;
            }
            let cluster_scoped = d.namespaces.is_empty();
            if cluster_scoped != a.namespaces.is_empty() {
                continue;
            }
            let any = |list: &[String]| list.iter().any(|n| n == "*");
            let namespaces: Vec<&str> = if any(&d.namespaces) {
                a.namespaces.iter().map(String::as_str).collect()
            } else if any(&a.namespaces) {
                d.namespaces.iter().map(String::as_str).collect()
            } else {
                d.namespaces
                    .iter()
                    .filter(|n| a.namespaces.contains(n))
                    .map(String::as_str)
                    .collect()
            };
            if !cluster_scoped && namespaces.is_empty() {
                continue;
            }
            merged
                .entry((&d.api_version, &d.kind, cluster_scoped))
                .or_default()
                .extend(namespaces);
        }
    }
    merged
        .into_iter()
        .map(|((api_version, kind, _), namespaces)| Emit {
            api_version: api_version.to_owned(),
            kind: kind.to_owned(),
            namespaces: namespaces.into_iter().map(str::to_owned).collect(),
        })
        .collect()
}

/// The inventory as JSON with an empty `spec.hosts`, for plugins that read no
/// hosts: at 1 000 hosts the full one is a megabyte that each such plugin
/// would copy in and parse past.
pub(super) fn inventory_without_hosts(inventory: &Value) -> String {
    let Some(top) = inventory.as_object() else {
        return inventory.to_string();
    };
    // Field by field, so that the hosts themselves are never copied.
    let without: serde_json::Map<String, Value> = top
        .iter()
        .map(|(key, value)| {
            let value = match (key.as_str(), value) {
                ("spec", Value::Object(spec)) => Value::Object(
                    spec.iter()
                        .map(|(key, value)| {
                            let value = if key == "hosts" {
                                Value::Array(Vec::new())
                            } else {
                                value.clone()
                            };
                            (key.clone(), value)
                        })
                        .collect(),
                ),
                _ => value.clone(),
            };
            (key.clone(), value)
        })
        .collect();
    serde_json::to_string(&without).unwrap_or_default()
}
