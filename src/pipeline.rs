//! The data flow, stage by stage, shared by the commands:
//! load → validate → plugins → collect → layout.

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};

use tracing::info_span;

use crate::collect::upstream::UpstreamSchemas;
use crate::layout::Tree;
use crate::plugins::{Info, PluginSource, Runtime};
use crate::validate::Site;
use crate::{collect, layout, load, plugins, validate};

/// Stages 1 and 2: the inputs, parsed and checked.
pub fn load_and_validate(dir: &Path) -> anyhow::Result<Site> {
    let catalog = load::catalog(dir);
    checked_inputs(dir, catalog)
}

/// Stages 1 and 2, while another thread loads the catalog's plugins: on a
/// large site parsing the inventory is the longest step before rendering,
/// and on a small one loading the plugins is.
pub fn load_and_validate_for(runtime: &Runtime, dir: &Path) -> anyhow::Result<Site> {
    let catalog = load::catalog(dir);
    let sources = catalog
        .as_ref()
        .map(|catalog| catalog_plugins(catalog, dir))
        .unwrap_or_default();
    let cancel = AtomicBool::new(false);
    std::thread::scope(|scope| {
        scope.spawn(|| {
            let _stage = info_span!("load plugins (beside load + validate)").entered();
            // Reading the input schemas (for messages) takes a little
            // while, which can pass while the main thread parses.
            rayon::join(validate::site_schema, validate::catalog_schema);
            runtime.prefetch(&sources, &cancel);
        });
        let site = checked_inputs(dir, catalog);
        // Invalid input: the error need not wait for plugins nobody will run.
        if site.is_err() {
            cancel.store(true, Ordering::Relaxed);
        }
        site
    })
}

/// The inventory read beside `catalog`, then both checked.
fn checked_inputs(
    dir: &Path,
    catalog: Result<load::Document, crate::diagnostics::Problem>,
) -> anyhow::Result<Site> {
    let inputs = info_span!("load").in_scope(|| load::site_with_catalog(dir, catalog))?;
    Ok(info_span!("validate").in_scope(|| validate::inputs(inputs))?)
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
            serde_json::from_value::<crate::validate::catalog::Component>(c.clone()).ok()
        })
        .filter(|c| c.enabled)
        .map(|c| PluginSource::of(&c, dir))
        .collect()
}

/// Each component's config against its plugin's declared schema.
pub fn check_configs(runtime: &Runtime, site: &Site, jobs: usize) -> anyhow::Result<Vec<Info>> {
    plugins::check_configs(runtime, site, jobs)
}

/// Stages 1 to 5: the site's tree, in memory.
pub fn render(runtime: &Runtime, dir: &Path, jobs: usize) -> anyhow::Result<Tree> {
    let site = info_span!("load + validate (and load plugins)")
        .in_scope(|| load_and_validate_for(runtime, dir))?;
    render_valid(runtime, site, jobs)
}

/// Stages 3 to 5 for a site just validated, which this consumes: its parsed
/// hosts are freed before the plugins run.
pub fn render_valid(runtime: &Runtime, mut site: Site, jobs: usize) -> anyhow::Result<Tree> {
    info_span!("free the parsed hosts").in_scope(|| shed_hosts(&mut site));
    let rendered = info_span!("plugins").in_scope(|| plugins::render_all(runtime, &site, jobs))?;
    // The plugins' copy of the inventory is not read again.
    drop_in_background(std::mem::take(&mut site.inventory_json));
    let tree = collect_and_lay_out(&site, rendered);
    drop_in_background(site);
    tree
}

/// Drops the parsed hosts, which nothing reads once the site is valid:
/// plugins receive `inventory_json`, messages place their pointers by
/// reading the text again, and a plugin that reads no hosts is sent the
/// inventory without them anyway. On a large site they are most of the
/// inputs' memory, which goes back to the OS here.
fn shed_hosts(site: &mut Site) {
    site.readme_hosts = Some(layout::readme::hosts_section(&site.inventory));
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

/// Stages 3 to 5 for an already validated site.
pub fn render_site(runtime: &Runtime, site: &Site, jobs: usize) -> anyhow::Result<Tree> {
    let rendered = info_span!("plugins").in_scope(|| plugins::render_all(runtime, site, jobs))?;
    collect_and_lay_out(site, rendered)
}

/// Stages 4 and 5.
fn collect_and_lay_out(site: &Site, rendered: Vec<plugins::Rendered>) -> anyhow::Result<Tree> {
    let collected = info_span!("collect + upstream schemas").in_scope(|| {
        collect::objects(
            site,
            rendered,
            UpstreamSchemas::shared(),
            &layout::Canonical,
        )
    })?;
    info_span!("layout").in_scope(|| layout::tree(site, collected))
}
