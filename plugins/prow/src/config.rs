//! Prow's own configuration: `config.yaml` (ConfigMap `config`) and
//! `plugins.yaml` (ConfigMap `plugins`), generated from the catalog.
//!
//! Field names are Prow's (snake_case, except tide's camelCase query
//! fields); every one of them appears in upstream's
//! pkg/config/prow-config-documented.yaml or pkg/plugins/plugin-config-documented.yaml.

use std::collections::BTreeMap;

use opsmith_plugin_sdk::{Error, Value, json};

use crate::settings::{Container, JobSpec, MergeMethod, Prow};
use crate::smoke;
use crate::yaml::to_yaml;

/// The two ConfigMaps every component mounts.
pub fn config_maps(prow: &Prow) -> Result<Vec<Value>, Error> {
    Ok(vec![
        config_map(prow, "config", "config.yaml", &prow_config(prow))?,
        config_map(prow, "plugins", "plugins.yaml", &plugins_config(prow))?,
    ])
}

fn config_map(prow: &Prow, name: &str, key: &str, content: &Value) -> Result<Value, Error> {
    Ok(json!({
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": name,
            "namespace": prow.namespace,
            "labels": { "app.kubernetes.io/part-of": "prow" },
        },
        "data": { key: to_yaml(content)? },
    }))
}

/// config.yaml.
pub fn prow_config(prow: &Prow) -> Value {
    let mut config = json!({
        // ProwJobs live next to Prow's services; their pods run apart.
        "prowjob_namespace": prow.namespace,
        "pod_namespace": prow.test_pod_namespace,
        "tide": tide(prow),
    });
    if let Some(storage) = &prow.storage {
        config["plank"] = json!({
            // Status links on PRs point at deck's job pages (spyglass).
            "job_url_prefix_config": { "*": format!("https://{}/view/", prow.host) },
            "default_decoration_config_entries": [{
                "config": {
                    "gcs_configuration": {
                        "bucket": storage.bucket,
                        // Paths name org and repo in full; the other
                        // strategies need a default org and repo.
                        "path_strategy": "explicit",
                    },
                    storage.provider.decoration_secret_field(): storage.secret,
                    "utility_images": {
                        "clonerefs": prow.config.images.get("clonerefs"),
                        "initupload": prow.config.images.get("initupload"),
                        "entrypoint": prow.config.images.get("entrypoint"),
                        "sidecar": prow.config.images.get("sidecar"),
                    },
                },
            }],
        });
        config["deck"] = json!({ "spyglass": { "lenses": spyglass_lenses() } });
    }
    if prow.config.in_repo_config {
        // Jobs in each repo's .prow.yaml, on top of those in the catalog.
        let enabled: BTreeMap<&str, bool> =
            served_keys(prow).into_iter().map(|k| (k, true)).collect();
        config["in_repo_config"] = json!({ "enabled": enabled });
    }
    let presubmits = presubmits(prow);
    if !presubmits.is_empty() {
        config["presubmits"] = json!(presubmits);
    }
    let postsubmits = postsubmits(prow);
    if !postsubmits.is_empty() {
        config["postsubmits"] = json!(postsubmits);
    }
    if let Some(smoke) = &prow.smoke {
        config["periodics"] = json!([smoke::periodic(smoke, prow.decorates(None))]);
    }
    config
}

/// Tide merges a PR once it has every one of `labels` and none of
/// `missingLabels`, and its required jobs pass. One query for the orgs and
/// one for repos outside them: a query matches PRs in any of its orgs or repos.
fn tide(prow: &Prow) -> Value {
    let settings = &prow.config.tide;
    let query = |scope: &str, list: Value| {
        json!({
            scope: list,
            "labels": settings.labels,
            "missingLabels": settings.missing_labels,
        })
    };
    let mut queries = Vec::new();
    if !prow.config.orgs.is_empty() {
        queries.push(query("orgs", json!(prow.config.orgs)));
    }
    if !prow.extra_repos.is_empty() {
        queries.push(query("repos", json!(prow.extra_repos)));
    }
    let mut tide = json!({
        // The link behind tide's status context on each PR.
        "target_url": format!("https://{}/tide", prow.host),
        "queries": queries,
    });
    if settings.merge_method != MergeMethod::Merge {
        let methods: BTreeMap<&str, &str> = served_keys(prow)
            .into_iter()
            .map(|k| (k, settings.merge_method.as_str()))
            .collect();
        tide["merge_method"] = json!(methods);
    }
    tide
}

/// Which lens shows which artifact on deck's job page, as upstream's starter.
fn spyglass_lenses() -> Value {
    json!([
        {
            "lens": { "name": "metadata" },
            "required_files": ["^(?:started|finished)\\.json$"],
            "optional_files": ["^(?:podinfo|prowjob)\\.json$"],
        },
        {
            "lens": { "name": "buildlog" },
            "required_files": ["build-log.txt"],
        },
        {
            "lens": { "name": "junit" },
            "required_files": [".*/junit.*\\.xml"],
        },
        {
            "lens": { "name": "podinfo" },
            "required_files": ["podinfo.json"],
        },
    ])
}

/// `presubmits:`, keyed by org/repo as Prow wants it.
fn presubmits<'a>(prow: &Prow<'a>) -> BTreeMap<&'a str, Vec<Value>> {
    let mut by_repo: BTreeMap<&str, Vec<Value>> = BTreeMap::new();
    for job in &prow.config.presubmits {
        let mut entry = json!({
            "name": job.name,
            "always_run": job.always_run,
            "decorate": prow.decorates(job.decorate),
            "spec": pod_spec(&job.spec),
        });
        if let Some(pattern) = &job.run_if_changed {
            entry["run_if_changed"] = json!(pattern);
        }
        if job.optional {
            entry["optional"] = json!(true);
        }
        if !job.branches.is_empty() {
            entry["branches"] = json!(job.branches);
        }
        by_repo.entry(&job.repo).or_default().push(entry);
    }
    by_repo
}

/// `postsubmits:`, keyed by org/repo.
fn postsubmits<'a>(prow: &Prow<'a>) -> BTreeMap<&'a str, Vec<Value>> {
    let mut by_repo: BTreeMap<&str, Vec<Value>> = BTreeMap::new();
    for job in &prow.config.postsubmits {
        let mut entry = json!({
            "name": job.name,
            "decorate": prow.decorates(job.decorate),
            "spec": pod_spec(&job.spec),
        });
        if let Some(pattern) = &job.run_if_changed {
            entry["run_if_changed"] = json!(pattern);
        }
        if !job.branches.is_empty() {
            entry["branches"] = json!(job.branches);
        }
        by_repo.entry(&job.repo).or_default().push(entry);
    }
    by_repo
}

fn pod_spec(spec: &JobSpec) -> Value {
    json!({ "containers": spec.containers.iter().map(container).collect::<Vec<_>>() })
}

fn container(c: &Container) -> Value {
    let mut out = json!({ "image": c.image });
    if let Some(name) = &c.name {
        out["name"] = json!(name);
    }
    if !c.command.is_empty() {
        out["command"] = json!(c.command);
    }
    if !c.args.is_empty() {
        out["args"] = json!(c.args);
    }
    if !c.env.is_empty() {
        out["env"] = c
            .env
            .iter()
            .map(|e| json!({ "name": e.name, "value": e.value }))
            .collect();
    }
    if let Some(resources) = &c.resources {
        let mut r = json!({});
        if !resources.requests.is_empty() {
            r["requests"] = json!(resources.requests);
        }
        if !resources.limits.is_empty() {
            r["limits"] = json!(resources.limits);
        }
        out["resources"] = r;
    }
    out
}

/// plugins.yaml: the same plugins for every org, and for each repo outside
/// those orgs (Prow rejects a plugin enabled for both an org and one of its repos).
pub fn plugins_config(prow: &Prow) -> Value {
    let enabled: BTreeMap<&str, Value> = served_keys(prow)
        .into_iter()
        .map(|key| (key, json!({ "plugins": prow.config.plugins })))
        .collect();
    json!({ "plugins": enabled })
}

/// The orgs, then the repos outside them: the keys Prow's per-org/repo maps use.
fn served_keys<'a>(prow: &Prow<'a>) -> Vec<&'a str> {
    prow.config
        .orgs
        .iter()
        .map(String::as_str)
        .chain(prow.extra_repos.iter().copied())
        .collect()
}
