//! A fleet: one folder per site, each with its inventory.yaml and
//! catalog.yaml, validated and rendered in one run. Every site is checked
//! before anything is written, and every problem of every site is reported
//! together, each at its own file and line (the file's path names the site).
//! Sites render in parallel; each is written to `<out>/<site name>/` as a
//! lone site would be, and `<out>/opsmith-fleet.yaml` records each site's
//! inputs digest.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, bail};

use crate::diagnostics::{Invalid, Problem, display_path};
use crate::layout::Tree;
use crate::pipeline;
use crate::plugins::Runtime;
use crate::validate::Site;

/// Name of the fleet's provenance record at the root of `--out`.
pub const FLEET_PROVENANCE_FILE: &str = "opsmith-fleet.yaml";

/// The sites of the fleet folder `fleet`: every folder directly in it that
/// holds an inventory.yaml, in name order. A link is not followed, and a
/// folder whose name starts with `.` is not a site.
pub fn sites(fleet: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let entries = std::fs::read_dir(fleet)
        .with_context(|| format!("cannot read the fleet folder `{}`", display_path(fleet)))?;
    let mut sites = Vec::new();
    for entry in entries {
        let entry = entry
            .with_context(|| format!("cannot read the fleet folder `{}`", display_path(fleet)))?;
        let hidden = entry.file_name().to_string_lossy().starts_with('.');
        let is_dir = entry.file_type().is_ok_and(|t| t.is_dir());
        if is_dir && !hidden && entry.path().join("inventory.yaml").is_file() {
            sites.push(entry.path());
        }
    }
    if sites.is_empty() {
        bail!(
            "the fleet folder `{}` holds no site: a fleet is one folder per site, each with its inventory.yaml and catalog.yaml",
            display_path(fleet)
        );
    }
    sites.sort();
    Ok(sites)
}

/// Every site loaded and validated (with each component's config checked
/// against its plugin), in the order of `dirs`, or every problem of every
/// site.
pub fn validate(runtime: &Runtime, dirs: &[PathBuf], jobs: usize) -> anyhow::Result<Vec<Site>> {
    let per_site = jobs_per_site(jobs, dirs.len());
    let results = each_site(dirs.iter().collect(), jobs, |dir| {
        let site = pipeline::load_and_validate_for(runtime, dir)?;
        pipeline::check_configs(runtime, &site, per_site)?;
        Ok(site)
    });
    let sites = all_or_every_error(dirs, results)?;
    distinct_names(&sites)?;
    Ok(sites)
}

/// Every site rendered, in the order of `dirs`, or every problem of every
/// site. Nothing is written here.
pub fn render(runtime: &Runtime, dirs: &[PathBuf], jobs: usize) -> anyhow::Result<Vec<Tree>> {
    let per_site = jobs_per_site(jobs, dirs.len());
    let sites = each_site(dirs.iter().collect(), jobs, |dir| {
        pipeline::load_and_validate_for(runtime, dir)
    });
    let sites = all_or_every_error(dirs, sites)?;
    distinct_names(&sites)?;
    let trees = each_site(sites, jobs, |site| {
        pipeline::render_valid(runtime, site, per_site)
    });
    all_or_every_error(dirs, trees)
}

/// The fleet's provenance record: each site by name, its folder in the
/// fleet and its inputs digest.
pub fn provenance(fleet: &Path, dirs: &[PathBuf], trees: &[Tree]) -> String {
    let mut text = format!(
        "apiVersion: opsmith.dev/v1alpha1\nkind: FleetProvenance\nopsmithVersion: {}\nsites:\n",
        env!("CARGO_PKG_VERSION")
    );
    for (dir, tree) in dirs.iter().zip(trees) {
        let folder = dir.strip_prefix(fleet).unwrap_or(dir);
        // JSON strings are YAML double-quoted scalars: any folder name is safe.
        text.push_str(&format!(
            "- name: {}\n  folder: {}\n  inputsSha256: {}\n",
            tree.site,
            serde_json::Value::from(folder.to_string_lossy()),
            tree.provenance.inputs_sha256
        ));
    }
    text
}

/// Writes `text` to `<out>/opsmith-fleet.yaml` whole or not at all.
pub fn write_provenance(out: &Path, text: &str) -> anyhow::Result<()> {
    let path = out.join(FLEET_PROVENANCE_FILE);
    let staging = out.join(format!(".{FLEET_PROVENANCE_FILE}.new"));
    std::fs::write(&staging, text)
        .with_context(|| format!("cannot write {}", display_path(&staging)))?;
    std::fs::rename(&staging, &path)
        .with_context(|| format!("cannot write {}", display_path(&path)))
}

/// `work` on each item, on up to `jobs` threads of their own, results in
/// the items' order. Not on rayon's pool: a site's own stages use that pool
/// and wait for threads of their own, which would wait for the pool's
/// threads if sites held them all.
fn each_site<T: Send, R: Send>(items: Vec<T>, jobs: usize, work: impl Fn(T) -> R + Sync) -> Vec<R> {
    let count = items.len();
    let queue = std::sync::Mutex::new(items.into_iter().enumerate());
    let results = std::sync::Mutex::new(Vec::with_capacity(count));
    std::thread::scope(|scope| {
        for _ in 0..jobs.clamp(1, count.max(1)) {
            scope.spawn(|| {
                loop {
                    let next = queue.lock().unwrap_or_else(|e| e.into_inner()).next();
                    let Some((index, item)) = next else { break };
                    let result = work(item);
                    results
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .push((index, result));
                }
            });
        }
    });
    let mut results = results.into_inner().unwrap_or_else(|e| e.into_inner());
    results.sort_by_key(|(index, _)| *index);
    results.into_iter().map(|(_, result)| result).collect()
}

/// Threads for each site's plugins when all sites render at once.
fn jobs_per_site(jobs: usize, sites: usize) -> usize {
    (jobs / sites.max(1)).max(1)
}

/// The values, if every site gave one; else every site's problems as one
/// report. A failure that is no input problem (a plugin that traps, a
/// folder that cannot be read) names its site's folder.
fn all_or_every_error<T>(
    dirs: &[PathBuf],
    results: Vec<anyhow::Result<T>>,
) -> anyhow::Result<Vec<T>> {
    let mut values = Vec::with_capacity(results.len());
    let mut problems: Vec<Problem> = Vec::new();
    let mut failures: Vec<anyhow::Error> = Vec::new();
    for (dir, result) in dirs.iter().zip(results) {
        match result {
            Ok(value) => values.push(value),
            Err(err) => match err.downcast::<Invalid>() {
                Ok(invalid) => problems.extend(invalid.problems),
                Err(err) => {
                    failures.push(err.context(format!("site folder `{}`", display_path(dir))))
                }
            },
        }
    }
    if failures.is_empty() && problems.is_empty() {
        return Ok(values);
    }
    let mut failures = failures.into_iter();
    match failures.next() {
        None => Err(Invalid::new(problems).into()),
        Some(first) => {
            // Every other site's failure is printed before the first one
            // ends the run.
            if !problems.is_empty() {
                crate::diagnostics::report(&Invalid::new(problems).into());
            }
            for other in failures {
                crate::diagnostics::report(&other);
            }
            Err(first)
        }
    }
}

/// Each site renders to `<out>/<metadata.name>/`: two sites of one name
/// would write one folder.
fn distinct_names(sites: &[Site]) -> Result<(), Invalid> {
    let mut first: HashMap<&str, &Site> = HashMap::new();
    let mut problems = Vec::new();
    for site in sites {
        let name = site.inventory.metadata.name.as_str();
        if let Some(earlier) = first.insert(name, site) {
            let earlier_doc = &earlier.inputs.inventory;
            let line = earlier_doc.root().locate("/metadata/name").line;
            problems.push(site.inputs.inventory.problem_at(
                "/metadata/name",
                format!(
                    "site name `{name}` is already the name of the site in {}:{line}: each site of a fleet renders to its own folder, named after the site",
                    earlier_doc.file
                ),
            ));
            first.insert(name, earlier);
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(Invalid::new(problems))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sites_are_worked_on_in_parallel_and_kept_in_order() {
        let squares = each_site((0..50).collect(), 3, |n: u64| n * n);
        assert_eq!(squares, (0..50).map(|n| n * n).collect::<Vec<_>>());
        assert!(each_site(Vec::<u8>::new(), 4, |n| n).is_empty());
    }

    #[test]
    fn each_site_gets_a_share_of_the_jobs() {
        assert_eq!(jobs_per_site(8, 2), 4);
        assert_eq!(jobs_per_site(2, 5), 1);
        assert_eq!(jobs_per_site(1, 0), 1);
    }
}
