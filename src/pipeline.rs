//! The data flow, stage by stage, shared by the commands:
//! load → validate → plugins → collect → layout.

use std::path::Path;
use std::time::Instant;

use crate::collect::upstream::UpstreamSchemas;
use crate::layout::Tree;
use crate::plugins::{Description, Host};
use crate::validate::Site;
use crate::{collect, layout, load, plugins, validate};

/// Stages 1 and 2: the inputs, parsed and checked.
pub fn load_and_validate(dir: &Path) -> anyhow::Result<Site> {
    let inputs = load::site(dir)?;
    Ok(validate::inputs(inputs)?)
}

/// Each component's config against its plugin's declared schema.
pub fn check_configs(host: &Host, site: &Site, jobs: usize) -> anyhow::Result<Vec<Description>> {
    plugins::check_configs(host, site, jobs)
}

/// Stages 1 to 5: the site's tree, in memory.
pub fn render(host: &Host, dir: &Path, jobs: usize) -> anyhow::Result<Tree> {
    let started = Instant::now();
    let site = load_and_validate(dir)?;
    stage(host, "load + validate", started);
    render_site(host, &site, jobs)
}

/// With `--verbose`, how long a stage took.
fn stage(host: &Host, name: &str, started: Instant) {
    if host.verbose {
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
    stage(host, "plugins", started);
    let started = Instant::now();
    let collected = collect::objects(site, rendered, UpstreamSchemas::shared())?;
    stage(host, "collect + upstream schemas", started);
    let started = Instant::now();
    let tree = layout::tree(site, &collected);
    stage(host, "layout", started);
    tree
}
