//! Running every component's plugin: configs checked, renders in parallel
//! in catalog order, every failure collected, each with its component.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use crate::validate::catalog::Component;
use serde_json::Value;

use super::input::inventory_without_hosts;
use super::*;
use crate::diagnostics::{Invalid, Pos, Problem};
use crate::validate::schema::Schema;
use crate::validate::{ComponentFile, Site};
use bindings::FileLocation;
pub use error::{ComponentCause, ComponentError, PluginError, RenderFailures};
use sandbox::Limits;

fn failed(component: &str, plugin: &str, cause: ComponentCause) -> ComponentError {
    ComponentError {
        component: component.to_owned(),
        plugin: plugin.to_owned(),
        cause,
    }
}

/// errors at catalog.yaml lines.
fn check_config(description: &Info, job: &Job<'_>) -> Result<(), Invalid> {
    let schema = Schema::compile(description.config_schema.clone()).map_err(|e| {
        Invalid::one(job.site.inputs.catalog.problem_at(
            &format!("/spec/components/{}/plugin", job.index),
            format!(
                "plugin `{}` declares an invalid config schema: {e}",
                description.name
            ),
        ))
    })?;
    let any_kind = description
        .emits
        .iter()
        .any(|e| call::is_any_kind(&e.api_version, &e.kind, &e.namespaces));
    if any_kind && job.component.allow.as_ref().is_none_or(Vec::is_empty) {
        return Err(Invalid::one(job.site.inputs.catalog.problem_at_key(
            &format!("/spec/components/{}/plugin", job.index),
            format!(
                "component `{}`: plugin `{}` renders whatever you write, so it may emit only what this component's `allow` lists; add `allow:` with each kind (apiVersion, kind, namespaces)",
                job.component.name, description.name
            ),
        )));
    }
    if schema.is_valid(&job.config) {
        return Ok(());
    }
    let base = format!("/spec/components/{}/config", job.index);
    let doc = &job.site.inputs.catalog;
    let mut problems = schema.problems(&job.config, doc, &base);
    for p in &mut problems {
        p.message = format!("component `{}`: {}", job.component.name, p.message);
    }
    Err(Invalid::new(problems))
}

/// Why a component could not be rendered.
#[derive(Debug)]
pub enum ComponentFailure {
    /// The plugin misbehaved: trap, limit, bad output.
    Plugin(PluginError),
    /// The config does not match the plugin's schema.
    Invalid(Invalid),
    /// The plugin refused the input, pointing into it.
    Guest {
        message: String,
        pointer: String,
        /// A place in one of the component's files, for an error in one.
        location: Option<FileLocation>,
        log: Vec<String>,
    },
    /// The plugin could not be loaded.
    Load(anyhow::Error),
}

/// One component's work, with the shared, pre-serialised input.
pub(super) struct Job<'a> {
    pub(super) index: usize,
    pub(super) component: &'a Component,
    pub(super) site: &'a Site,
    pub(super) site_json: &'a str,
    pub(super) site_json_without_hosts: &'a str,
    pub(super) config: Value,
    /// The component's files, for a plugin of the current contract.
    pub(super) files: &'a [ComponentFile],
}

/// A component whose plugin is loaded and described, and whose config its
/// schema accepts.
struct Described {
    plugin: Arc<Plugin>,
    limits: Limits,
    description: Info,
}

/// Renders every enabled component on `jobs` threads. The result is in
/// catalog order whatever the thread count; every failure is reported.
pub fn render_all(runtime: &Runtime, site: &Site, jobs: usize) -> anyhow::Result<Vec<Rendered>> {
    let rendered = for_each_component(runtime, site, jobs, |described, job, catalog_json| {
        described.plugin.render(
            runtime,
            &described.limits,
            job,
            described.description,
            catalog_json,
        )
    })?;
    for r in &rendered {
        show_log(&r.component, &r.log);
    }
    Ok(rendered)
}

/// A plugin's own output (`log` calls, stdout, stderr), with `--verbose`.
fn show_log(component: &str, log: &[String]) {
    for line in log {
        tracing::info!("component `{component}`: {line}");
    }
}

/// Checks each enabled component's config against its plugin's schema.
pub fn check_configs(runtime: &Runtime, site: &Site, jobs: usize) -> anyhow::Result<Vec<Info>> {
    for_each_component(runtime, site, jobs, |described, _, _| {
        Ok(described.description)
    })
}

/// Runs each enabled component in two passes on `jobs` threads: first its
/// plugin is loaded and described and its config checked; then, with every
/// component's kinds in the catalog the plugins see (builtin:argocd fences
/// each component's Argo CD project with them), `work`. Results in catalog
/// order, all failures reported together.
fn for_each_component<T: Send>(
    runtime: &Runtime,
    site: &Site,
    jobs: usize,
    work: impl Fn(Described, &Job<'_>, &str) -> Result<T, ComponentFailure> + Sync,
) -> anyhow::Result<Vec<T>> {
    let site_json = &site.inventory_json;
    let site_json_without_hosts = inventory_without_hosts(&site.inputs.inventory.value);
    let work_items: Vec<Job<'_>> = site
        .catalog
        .enabled_components()
        .map(|(index, component)| Job {
            index,
            component,
            site,
            site_json,
            site_json_without_hosts: &site_json_without_hosts,
            config: component
                .config
                .clone()
                .unwrap_or_else(|| Value::Object(Default::default())),
            files: site.component_files(index),
        })
        .collect();
    // The global pool when it has `jobs` threads: a pool of its own would
    // start threads, and their memory would not be reused by the stages after.
    let jobs = jobs.max(1);
    let own_pool = if jobs == rayon::current_num_threads() {
        None
    } else {
        Some(rayon::ThreadPoolBuilder::new().num_threads(jobs).build()?)
    };
    // A plugin is described once however many components use it, so the
    // first pass costs an instantiation per plugin.
    let described = in_order(own_pool.as_ref(), work_items.iter().collect(), |job| {
        let limits = runtime.limits.for_component(&job.component.limits);
        let source = PluginSource::of(job.component, &site.inputs.dir);
        let plugin = runtime.load(&source).map_err(ComponentFailure::Load)?;
        let description = plugin
            .describe(runtime, &limits)
            .map_err(ComponentFailure::Plugin)?;
        check_config(&description, job).map_err(ComponentFailure::Invalid)?;
        if plugin.contract() == "0.1.0" && !job.files.is_empty() {
            return Err(ComponentFailure::Invalid(Invalid::one(
                site.inputs.catalog.problem_at_key(
                    &format!("/spec/components/{}/files", job.index),
                    format!(
                        "component `{}`: plugin {} targets opsmith:plugin@0.1.0, which cannot receive `files`; rebuild it with a current SDK (0.2.0) or remove `files`",
                        job.component.name,
                        source.label()
                    ),
                ),
            )));
        }
        Ok(Described {
            plugin,
            limits,
            description,
        })
    });
    let kinds: HashMap<&str, Vec<Emit>> = work_items
        .iter()
        .zip(&described)
        .filter_map(|(job, described)| {
            let described = described.as_ref()?.as_ref().ok()?;
            let allow = job.component.allow.as_deref();
            let kinds = effective_kinds(&described.description.emits, allow);
            Some((job.component.name.as_str(), kinds))
        })
        .collect();
    let catalog_json = serde_json::to_string(&catalog_for_plugins(site, &kinds))?;
    // A component that failed the first pass keeps its failure; the others
    // still run, so that every failure is reported at once.
    let outcomes = in_order(
        own_pool.as_ref(),
        work_items.iter().zip(described).collect(),
        |(job, described)| Some(described?.and_then(|d| work(d, job, &catalog_json))),
    );
    let mut results = Vec::new();
    let mut problems = Vec::new();
    let mut failures = Vec::new();
    for (job, outcome) in work_items
        .iter()
        .zip(outcomes.into_iter().map(Option::flatten))
    {
        let label = PluginSource::of(job.component, &site.inputs.dir).label();
        let name = &job.component.name;
        match outcome {
            Some(Ok(r)) => results.push(r),
            Some(Err(ComponentFailure::Invalid(invalid))) => problems.extend(invalid.problems),
            Some(Err(ComponentFailure::Guest {
                message,
                pointer,
                location,
                log,
            })) => {
                show_log(name, &log);
                problems.push(guest_problem(
                    site,
                    job.index,
                    name,
                    &label,
                    &message,
                    &pointer,
                    location.as_ref(),
                ));
            }
            Some(Err(ComponentFailure::Plugin(e))) => {
                failures.push(failed(name, &label, ComponentCause::Run(e)))
            }
            Some(Err(ComponentFailure::Load(e))) => {
                failures.push(failed(name, &label, ComponentCause::Load(e)))
            }
            None => failures.push(failed(name, &label, ComponentCause::ThreadDied)),
        }
    }
    if !failures.is_empty() {
        return Err(RenderFailures {
            components: failures,
            problems,
        }
        .into());
    }
    if !problems.is_empty() {
        return Err(Invalid::new(problems).into());
    }
    Ok(results)
}

/// `f` on each item on the pool's threads (or the current pool's), started
/// in order: the first free thread takes the next item rather than the last
/// one. `None` where `f` left no result.
fn in_order<I: Send, R: Send>(
    pool: Option<&rayon::ThreadPool>,
    items: Vec<I>,
    f: impl Fn(I) -> R + Sync,
) -> Vec<Option<R>> {
    let slots: Vec<Mutex<Option<R>>> = items.iter().map(|_| Mutex::new(None)).collect();
    let run = || {
        rayon::scope_fifo(|scope| {
            for (item, slot) in items.into_iter().zip(&slots) {
                let f = &f;
                scope.spawn_fifo(move |_| {
                    let result = f(item);
                    if let Ok(mut slot) = slot.lock() {
                        *slot = Some(result);
                    }
                });
            }
        })
    };
    match pool {
        Some(pool) => pool.install(run),
        None => run(),
    }
    slots
        .into_iter()
        .map(|slot| slot.into_inner().ok().flatten())
        .collect()
}

/// A plugin's error, placed at the input line its pointer names.
pub fn guest_problem(
    site: &Site,
    index: usize,
    component: &str,
    label: &str,
    message: &str,
    pointer: &str,
    location: Option<&FileLocation>,
) -> Problem {
    let text = format!("component `{component}` (plugin {label}): {message}");
    match location.and_then(|at| component_file_problem(site, index, at, &text)) {
        Some(problem) => problem,
        None => locate_pointer(site, index, pointer, text),
    }
}

/// A problem at a place in one of component `index`'s files; `None` when
/// the plugin names a file it was not given (then the pointer decides).
pub fn component_file_problem(
    site: &Site,
    index: usize,
    at: &FileLocation,
    message: &str,
) -> Option<Problem> {
    let file = site
        .component_files(index)
        .iter()
        .find(|f| f.path == at.path)?;
    Some(Problem::new(
        &file.shown,
        Some(&file.content),
        Pos {
            line: u64::from(at.line.max(1)),
            column: u64::from(at.column.max(1)),
        },
        message,
    ))
}

/// `/site/...` is in inventory.yaml; `/config/...` in this component's
/// config and `/catalog/...` elsewhere in catalog.yaml.
pub fn locate_pointer(site: &Site, index: usize, pointer: &str, message: String) -> Problem {
    if let Some(rest) = pointer.strip_prefix("/site") {
        site.inputs.inventory.problem_at(rest, message)
    } else if let Some(rest) = pointer.strip_prefix("/config") {
        site.inputs
            .catalog
            .problem_at(&format!("/spec/components/{index}/config{rest}"), message)
    } else if let Some(rest) = pointer.strip_prefix("/catalog") {
        site.inputs.catalog.problem_at(rest, message)
    } else {
        site.inputs
            .catalog
            .problem_at(&format!("/spec/components/{index}"), message)
    }
}
