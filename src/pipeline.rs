//! The data flow, stage by stage, shared by the commands:
//! load → validate → plugins → collect → layout.

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use crate::collect::upstream::UpstreamSchemas;
use crate::layout::Tree;
use crate::plugins::{Description, Host, PluginSource};
use crate::validate::Site;
use crate::{collect, layout, load, plugins, validate};

/// Stages 1 and 2: the inputs, parsed and checked.
pub fn load_and_validate(dir: &Path) -> anyhow::Result<Site> {
    let catalog = load::catalog(dir);
    checked_inputs(None, dir, catalog)
}

/// Stages 1 and 2, while another thread loads the catalog's plugins: on a
/// large site parsing the inventory is the longest step before rendering,
/// and on a small one loading the plugins is.
pub fn load_and_validate_for(host: &Host, dir: &Path) -> anyhow::Result<Site> {
    let catalog = load::catalog(dir);
    let sources = catalog
        .as_ref()
        .map(|catalog| catalog_plugins(catalog, dir))
        .unwrap_or_default();
    let cancel = AtomicBool::new(false);
    std::thread::scope(|scope| {
        scope.spawn(|| {
            let started = Instant::now();
            // Reading the input schemas (for messages) takes a little
            // while, which can pass while the main thread parses.
            rayon::join(validate::site_schema, validate::catalog_schema);
            host.prefetch(&sources, &cancel);
            stage(Some(host), "load plugins (beside load + validate)", started);
        });
        let site = checked_inputs(Some(host), dir, catalog);
        // Invalid input: the error need not wait for plugins nobody will run.
        if site.is_err() {
            cancel.store(true, Ordering::Relaxed);
        }
        site
    })
}

/// The inventory read beside `catalog`, then both checked; timed with
/// `--verbose`.
fn checked_inputs(
    host: Option<&Host>,
    dir: &Path,
    catalog: Result<load::Document, crate::diagnostics::Problem>,
) -> anyhow::Result<Site> {
    let started = Instant::now();
    let inputs = load::site_with_catalog(dir, catalog)?;
    stage(host, "load", started);
    let started = Instant::now();
    let site = validate::inputs(inputs)?;
    stage(host, "validate", started);
    Ok(site)
}

/// The plugins the enabled components of the catalog name, read leniently:
/// whatever is wrong with the catalog, validation reports it.
fn catalog_plugins(catalog: &load::Document, dir: &Path) -> Vec<PluginSource> {
    let components = catalog
        .value
        .pointer("/spec/components")
        .and_then(serde_json::Value::as_array);
    components
        .into_iter()
        .flatten()
        .filter_map(|c| {
            serde_json::from_value::<opsmith_plugin_sdk::site::Component>(c.clone()).ok()
        })
        .filter(|c| c.enabled)
        .map(|c| PluginSource::of(&c, dir))
        .collect()
}

/// Each component's config against its plugin's declared schema.
pub fn check_configs(host: &Host, site: &Site, jobs: usize) -> anyhow::Result<Vec<Description>> {
    plugins::check_configs(host, site, jobs)
}

/// Stages 1 to 5: the site's tree, in memory.
pub fn render(host: &Host, dir: &Path, jobs: usize) -> anyhow::Result<Tree> {
    let started = Instant::now();
    let mut site = load_and_validate_for(host, dir)?;
    stage(Some(host), "load + validate (and load plugins)", started);
    let started = Instant::now();
    shed_hosts(&mut site);
    stage(Some(host), "free the parsed hosts", started);
    let started = Instant::now();
    let rendered = plugins::render_all(host, &site, jobs)?;
    stage(Some(host), "plugins", started);
    // The plugins' copy of the inventory is not read again.
    drop_in_background(std::mem::take(&mut site.inventory_json));
    let tree = collect_and_lay_out(host, &site, rendered);
    drop_in_background(site);
    tree
}

/// Drops the parsed hosts, which nothing reads once the site is valid:
/// plugins receive `inventory_json`, messages place their pointers by
/// reading the text again, and a plugin that reads no hosts is sent the
/// inventory without them anyway. On a large site they are most of the
/// inputs' memory, which goes back to the OS here.
fn shed_hosts(site: &mut Site) {
    let typed = std::mem::take(&mut site.inventory.spec.hosts);
    let parsed = site
        .inputs
        .inventory
        .value
        .pointer_mut("/spec/hosts")
        .map(|hosts| std::mem::replace(hosts, serde_json::Value::Array(Vec::new())));
    // Freed here, not on another thread, so that their pages are free
    // (mimalloc returns a page to the OS only once its owning thread has
    // collected it) and can go back before the plugins run.
    drop((typed, parsed));
    crate::release_freed_memory();
}

/// Frees a large value on another thread: for a big site, freeing the
/// parsed inputs or the rendered objects takes tens of milliseconds that
/// the output need not wait for.
fn drop_in_background<T: Send + 'static>(value: T) {
    std::thread::spawn(move || drop(value));
}

/// With `--verbose`, how long a stage took.
fn stage(host: Option<&Host>, name: &str, started: Instant) {
    if host.is_some_and(|host| host.verbose) {
        crate::diagnostics::note(&format!(
            "{name}: {:.1} ms",
            started.elapsed().as_secs_f64() * 1000.0
        ));
    }
}

/// Stages 3 to 5 for an already validated site.
pub fn render_site(host: &Host, site: &Site, jobs: usize) -> anyhow::Result<Tree> {
    let started = Instant::now();
    let rendered = plugins::render_all(host, site, jobs)?;
    stage(Some(host), "plugins", started);
    collect_and_lay_out(host, site, rendered)
}

/// Stages 4 and 5.
fn collect_and_lay_out(
    host: &Host,
    site: &Site,
    rendered: Vec<plugins::Rendered>,
) -> anyhow::Result<Tree> {
    let started = Instant::now();
    let collected = collect::objects(
        site,
        rendered,
        UpstreamSchemas::shared(),
        &layout::Canonical,
    )?;
    stage(Some(host), "collect + upstream schemas", started);
    let started = Instant::now();
    let tree = layout::tree(site, collected);
    stage(Some(host), "layout", started);
    tree
}
