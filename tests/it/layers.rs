//! The stages import only the stages below them: no cycle among src/'s
//! top-level modules, and diagnostics (all user-facing error text) imports
//! nothing but the environment. Read from the sources, so that a new import
//! that runs back up fails here.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use crate::support::root;

/// Top-level module → the top-level modules its non-test code names
/// through `crate::`.
fn imports() -> BTreeMap<String, BTreeSet<String>> {
    let src = root().join("src");
    let modules: BTreeSet<String> = std::fs::read_dir(&src)
        .expect("read src")
        .map(|e| e.expect("entry").path())
        .filter_map(|p| {
            let name = p.file_stem()?.to_str()?.to_owned();
            (p.is_dir() || p.extension().is_some_and(|x| x == "rs")).then_some(name)
        })
        .filter(|name| name != "lib" && name != "main")
        .collect();
    let mut graph = BTreeMap::new();
    for module in &modules {
        let mut files = Vec::new();
        collect_rs(&src.join(module), &mut files);
        collect_rs(&src.join(format!("{module}.rs")), &mut files);
        let mut named = BTreeSet::new();
        for file in files {
            let text = std::fs::read_to_string(&file).expect("read source");
            // Unit tests may reach anywhere.
            let code = text.split("#[cfg(test)]").next().unwrap_or_default();
            for name in crate_paths(code) {
                if modules.contains(&name) && &name != module {
                    named.insert(name);
                }
            }
        }
        graph.insert(module.clone(), named);
    }
    graph
}

fn collect_rs(path: &Path, files: &mut Vec<std::path::PathBuf>) {
    if path.is_dir() {
        for entry in std::fs::read_dir(path).expect("read folder") {
            collect_rs(&entry.expect("entry").path(), files);
        }
    } else if path.is_file() && path.extension().is_some_and(|x| x == "rs") {
        files.push(path.to_owned());
    }
}

/// The first segment after every `crate::`, including each of a group's
/// (`use crate::{a, b::c}`).
fn crate_paths(code: &str) -> Vec<String> {
    let mut names = Vec::new();
    for (at, _) in code.match_indices("crate::") {
        let rest = &code[at + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            let inner = &group[..group.find('}').unwrap_or(group.len())];
            names.extend(inner.split(',').filter_map(|part| {
                let name = part.trim().split("::").next()?.trim();
                (!name.is_empty()).then(|| name.to_owned())
            }));
        } else {
            let end = rest
                .find(|c: char| !(c.is_alphanumeric() || c == '_'))
                .unwrap_or(rest.len());
            names.push(rest[..end].to_owned());
        }
    }
    names
}

/// A cycle through `start`, if there is one.
fn cycle_from(
    graph: &BTreeMap<String, BTreeSet<String>>,
    start: &str,
    path: &mut Vec<String>,
) -> Option<Vec<String>> {
    let here = path.last().cloned().unwrap_or_else(|| start.to_owned());
    for next in graph.get(&here).into_iter().flatten() {
        if next == start {
            let mut cycle = path.clone();
            cycle.push(start.to_owned());
            return Some(cycle);
        }
        if !path.contains(next) && next.as_str() > start {
            path.push(next.clone());
            if let Some(cycle) = cycle_from(graph, start, path) {
                return Some(cycle);
            }
            path.pop();
        }
    }
    None
}

#[test]
fn stages_import_only_stages_below_them() {
    let graph = imports();
    assert!(graph.contains_key("plugins") && graph.contains_key("diagnostics"));
    let cycles: Vec<String> = graph
        .keys()
        .filter_map(|start| {
            let mut path = vec![start.clone()];
            cycle_from(&graph, start, &mut path).map(|cycle| cycle.join(" → "))
        })
        .collect();
    assert!(cycles.is_empty(), "import cycles: {cycles:#?}\n{graph:#?}");
    assert_eq!(
        graph["diagnostics"],
        BTreeSet::from(["env".to_owned()]),
        "diagnostics must stay a leaf"
    );
}

#[test]
fn the_reader_sees_grouped_and_nested_paths() {
    assert_eq!(
        crate_paths("use crate::{collect, layout::Tree};\nlet x = crate::env::var(y);"),
        ["collect", "layout", "env"]
    );
}
