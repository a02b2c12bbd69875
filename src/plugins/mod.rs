//! Stage 3, plugins: loads each component's WebAssembly plugin (built-in or
//! pinned by sha256), checks its config against the schema the plugin
//! declares, and renders it in a sandbox. Components run in parallel; the
//! results come back in catalog order. Hands [`Rendered`] to collect.

pub mod bindings;
pub mod builtin;
pub mod cache;
pub mod engine_config;
pub mod error;
pub mod sandbox;

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::thread;
use std::time::Instant;

use anyhow::{Context as _, bail};
use opsmith_plugin_sdk::Emit;
use opsmith_plugin_sdk::site::{Component, PluginRef};
use rayon::prelude::*;
use serde_json::Value;
use serde_json::value::RawValue;
use sha2::{Digest, Sha256};
use wasmtime::Engine;
use wasmtime::component::{Component as WasmComponent, HasSelf, Linker};

use crate::diagnostics::{Invalid, Problem};
use crate::validate::Site;
use crate::validate::schema::Schema;
use bindings::{FileFormat, PluginInfo, Renderer, RendererPre, Severity};
use cache::{Cache, Origin};
pub use error::{ComponentCause, ComponentError, PluginError, RenderFailures};
use sandbox::{HostState, Limits};

/// Where one source's plugin is kept once loaded; locked while it loads.
type LoadSlot = Arc<Mutex<Option<Arc<Plugin>>>>;

/// One wasmtime engine and linker for the process, and the compile cache.
pub struct Host {
    engine: Engine,
    linker: Linker<HostState>,
    cache: Cache,
    /// Plugins loaded by this host, by source: two components of one plugin,
    /// or a load started early while the inputs are parsed, load it once.
    loaded: Mutex<HashMap<String, LoadSlot>>,
    pub limits: Limits,
    pub verbose: bool,
    /// Whether built-in plugins are loaded as the native code opsmith's
    /// build made (see `env::COMPILE_BUILTINS`).
    builtins_precompiled: bool,
}

impl Host {
    pub fn new(limits: Limits, cache_dir: Option<PathBuf>, verbose: bool) -> anyhow::Result<Host> {
        let engine = Engine::new(&engine_config::engine_config())?;
        let mut linker = Linker::new(&engine);
        // Every WASI interface a tool chain may import is linked, and the
        // per-store context (sandbox.rs) grants nothing through it.
        wasmtime_wasi::p2::add_to_linker_sync(&mut linker)?;
        Renderer::add_to_linker::<_, HasSelf<_>>(&mut linker, |state| state)?;
        start_epoch_ticker(&engine);
        let cache = Cache::new(&engine, cache_dir);
        Ok(Host {
            engine,
            linker,
            cache,
            loaded: Mutex::default(),
            limits,
            verbose,
            builtins_precompiled: crate::env::var(crate::env::COMPILE_BUILTINS)
                .is_none_or(|v| v == "0"),
        })
    }

    /// This host compiles the built-in plugins (through the compile cache)
    /// instead of loading the native code opsmith's build made.
    pub fn compiling_builtins(mut self) -> Host {
        self.builtins_precompiled = false;
        self
    }

    /// The plugin of `source`, loaded once per host: the first caller loads
    /// it (concurrent callers for the same source wait), later ones share it.
    /// A failed load is not remembered, so every caller sees its error.
    pub fn load(&self, source: &PluginSource) -> anyhow::Result<Arc<Plugin>> {
        let key = format!(
            "{}\0{}",
            source.label(),
            source.pinned_sha256().unwrap_or_default()
        );
        let slot = {
            let mut loaded = self
                .loaded
                .lock()
                .map_err(|_| anyhow::anyhow!("a plugin load panicked"))?;
            Arc::clone(loaded.entry(key).or_default())
        };
        let mut slot = slot
            .lock()
            .map_err(|_| anyhow::anyhow!("a plugin load panicked"))?;
        if let Some(plugin) = slot.as_ref() {
            return Ok(Arc::clone(plugin));
        }
        let plugin = Arc::new(self.load_uncached(source)?);
        *slot = Some(Arc::clone(&plugin));
        Ok(plugin)
    }

    /// Loads the plugins of `sources` ahead of their use. Only plugins already in the
    /// compile cache are loaded, so that invalid input is never kept waiting for a compile;
    /// failures are ignored (the real load reports them), and `cancel` stops what has not
    /// started.
    pub fn prefetch(&self, sources: &[PluginSource], cancel: &AtomicBool) {
        sources.par_iter().for_each(|source| {
            if !cancel.load(Ordering::Relaxed) && self.is_cached(source) {
                let _ = self.load(source);
            }
        });
    }

    /// Whether the compile cache holds `source`'s plugin (by its pinned or
    /// built-in digest), so loading it takes milliseconds.
    fn is_cached(&self, source: &PluginSource) -> bool {
        let sha256 = match source {
            PluginSource::Builtin(name)
                if self.builtins_precompiled && builtin::precompiled(name).is_some() =>
            {
                return true;
            }
            PluginSource::Builtin(name) => builtin::sha256(name),
            PluginSource::File { sha256, .. } => sha256.as_deref(),
        };
        sha256.is_some_and(|sha256| self.cache.holds(&sha256.to_ascii_lowercase()))
    }

    /// Compiles (or loads from the compile cache) and pre-links a plugin,
    /// every time it is called.
    pub fn load_uncached(&self, source: &PluginSource) -> anyhow::Result<Plugin> {
        let wasm = source.bytes()?;
        let sha256 = match source {
            // Hashed by build.rs.
            PluginSource::Builtin(name) => builtin::sha256(name)
                .map(str::to_owned)
                .unwrap_or_else(|| hex::encode(Sha256::digest(&wasm))),
            PluginSource::File { .. } => hex::encode(Sha256::digest(&wasm)),
        };
        if let Some(expected) = source.pinned_sha256()
            && !expected.eq_ignore_ascii_case(&sha256)
        {
            bail!(
                "sha256 mismatch for {}: the catalog pins {expected}, the file has {sha256}; if the new file is the one you want, update `sha256` in the catalog",
                source.label()
            );
        }
        let started = Instant::now();
        let embedded = match source {
            PluginSource::Builtin(name) => self.embedded(name),
            PluginSource::File { .. } => None,
        };
        let (component, origin) = match embedded {
            Some(component) => Ok((component, Origin::Embedded)),
            None => self.cache.load(&self.engine, &sha256, &wasm),
        }
        .map_err(|e| PluginError::Incompatible {
            reason: format!("{e:#}"),
        })
        .with_context(|| format!("cannot load {}", source.label()))?;
        if self.verbose {
            let how = match origin {
                Origin::Embedded => "loaded as compiled by opsmith's build",
                Origin::Cache => "loaded from cache",
                Origin::Compiled => "compiled",
            };
            crate::diagnostics::note(&format!(
                "plugin {}: {how} in {:.1} ms",
                source.label(),
                started.elapsed().as_secs_f64() * 1000.0
            ));
        }
        let pre = self
            .instantiate_pre(&component)
            .with_context(|| format!("cannot link {}", source.label()))?;
        Ok(Plugin {
            label: source.label(),
            sha256,
            source_sha256: match source {
                PluginSource::Builtin(name) => builtin::source_sha256(name),
                PluginSource::File { .. } => None,
            },
            size: wasm.len(),
            pre,
            origin,
            component,
            description: OnceLock::new(),
        })
    }

    /// Built-in plugin `name` as its native code compiled by opsmith's build,
    /// if this engine and CPU can run that code (wasmtime checks the engine's
    /// settings and the CPU's features); otherwise it is compiled as any
    /// plugin is.
    fn embedded(&self, name: &str) -> Option<WasmComponent> {
        if !self.builtins_precompiled {
            return None;
        }
        let native = builtin::precompiled(name)?;
        // SAFETY: the bytes were produced by wasmtime's `precompile_component`
        // in this binary's build script and are part of this binary; nothing
        // read at run time is deserialised here.
        match unsafe { WasmComponent::deserialize(&self.engine, native) } {
            Ok(component) => Some(component),
            Err(why) => {
                if self.verbose {
                    crate::diagnostics::note(&format!(
                        "plugin builtin:{name}: the code compiled by opsmith's build does not fit this engine or CPU ({why:#}); compiling it"
                    ));
                }
                None
            }
        }
    }

    fn instantiate_pre(&self, component: &WasmComponent) -> anyhow::Result<RendererPre<HostState>> {
        let pre =
            self.linker
                .instantiate_pre(component)
                .map_err(|e| PluginError::Incompatible {
                    reason: format!(
                        "{e:#}; it must target the `renderer` world of opsmith:plugin@0.1.0"
                    ),
                })?;
        RendererPre::new(pre).map_err(|e| {
            PluginError::Incompatible {
                reason: format!("{e:#}; it must export `describe` and `render`"),
            }
            .into()
        })
    }
}

fn failed(component: &str, plugin: &str, cause: ComponentCause) -> ComponentError {
    ComponentError {
        component: component.to_owned(),
        plugin: plugin.to_owned(),
        cause,
    }
}

/// Advances the engine's epoch every tick, for as long as the engine lives:
/// the wall-clock backstop behind fuel.
fn start_epoch_ticker(engine: &Engine) {
    let weak = engine.weak();
    thread::spawn(move || {
        while let Some(engine) = weak.upgrade() {
            engine.increment_epoch();
            drop(engine);
            thread::sleep(sandbox::EPOCH_TICK);
        }
    });
}

/// The largest plugin file opsmith reads (Python and JavaScript components
/// are around 20 MB).
const MAX_PLUGIN_BYTES: u64 = 512 << 20;

/// Where a plugin's bytes come from.
#[derive(Debug, Clone)]
pub enum PluginSource {
    Builtin(String),
    File {
        /// The file; for a catalog's plugin, inside `site_dir`.
        path: PathBuf,
        /// The site folder of a catalog's plugin, which the file must be
        /// inside; `None` for a file named on the command line.
        site_dir: Option<PathBuf>,
        /// The path as the catalog or the command line gives it.
        shown: String,
        sha256: Option<String>,
    },
}

impl PluginSource {
    /// The source of a catalog component; file paths are relative to the site folder.
    pub fn of(component: &Component, site_dir: &Path) -> PluginSource {
        match &component.plugin {
            PluginRef::Builtin(name) => {
                PluginSource::Builtin(name.strip_prefix("builtin:").unwrap_or(name).to_owned())
            }
            PluginRef::File { path, sha256 } => PluginSource::File {
                path: site_dir.join(path),
                site_dir: Some(site_dir.to_owned()),
                shown: path.clone(),
                sha256: Some(sha256.clone()),
            },
        }
    }

    pub fn label(&self) -> String {
        match self {
            PluginSource::Builtin(name) => format!("builtin:{name}"),
            PluginSource::File { shown, .. } => shown.clone(),
        }
    }

    fn pinned_sha256(&self) -> Option<&str> {
        match self {
            PluginSource::Builtin(_) => None,
            PluginSource::File { sha256, .. } => sha256.as_deref(),
        }
    }

    fn bytes(&self) -> anyhow::Result<Cow<'static, [u8]>> {
        match self {
            PluginSource::Builtin(name) => builtin::find(name)
                .map(Cow::Borrowed)
                .with_context(|| format!("there is no built-in plugin `{name}`")),
            PluginSource::File {
                path,
                site_dir,
                shown,
                ..
            } => {
                let cannot = || format!("cannot read plugin file {shown}");
                // A catalog's plugin must be inside the site folder: the
                // digest of a file elsewhere is not printed.
                let path = match site_dir {
                    Some(dir) => &crate::load::site_file(dir, shown).with_context(cannot)?,
                    None => path,
                };
                // Checked before reading: a path such as /dev/zero must not hang the run.
                let meta = std::fs::metadata(path).with_context(cannot)?;
                if !meta.is_file() {
                    bail!("{}: not a regular file", cannot());
                }
                if meta.len() > MAX_PLUGIN_BYTES {
                    bail!(
                        "{}: {} bytes; a plugin may have at most {MAX_PLUGIN_BYTES}",
                        cannot(),
                        meta.len()
                    );
                }
                std::fs::read(path).map(Cow::Owned).with_context(cannot)
            }
        }
    }
}

/// A loaded, linked plugin, ready to instantiate.
pub struct Plugin {
    pub label: String,
    pub sha256: String,
    /// A built-in plugin's source digest (`builtin::source_sha256`).
    pub source_sha256: Option<&'static str>,
    pub size: usize,
    pub origin: Origin,
    pre: RendererPre<HostState>,
    component: WasmComponent,
    /// What `describe` said, once it said something valid.
    description: OnceLock<Description>,
}

/// What `describe` says, parsed.
#[derive(Debug, Clone)]
pub struct Description {
    pub name: String,
    pub version: String,
    pub description: String,
    pub config_schema: Value,
    pub emits: Vec<AllowedKind>,
    /// False when the config schema says `"x-opsmith-reads-hosts": false`:
    /// the plugin is sent the site with an empty host list.
    pub reads_hosts: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct AllowedKind {
    pub api_version: String,
    pub kind: String,
    pub namespaces: Vec<String>,
}

/// A day-0 file a plugin returned.
#[derive(Debug, Clone)]
pub struct DayZeroFile {
    pub name: String,
    pub json: bool,
    pub content: Value,
    pub schema: Option<String>,
}

/// A plugin's diagnostic, with its pointer into the render input.
#[derive(Debug, Clone)]
pub struct PluginDiagnostic {
    pub severity: Severity,
    pub message: String,
    pub pointer: String,
}

/// What one component rendered.
#[derive(Debug)]
pub struct Rendered {
    pub component: String,
    pub plugin: String,
    pub sha256: String,
    pub source_sha256: Option<&'static str>,
    pub description: Description,
    pub objects: Vec<Value>,
    pub files: Vec<DayZeroFile>,
    pub diagnostics: Vec<PluginDiagnostic>,
    pub log: Vec<String>,
}

impl Plugin {
    /// The names the component imports, such as `wasi:filesystem/types@0.2.6`.
    pub fn imports(&self, host: &Host) -> Vec<String> {
        self.component
            .component_type()
            .imports(&host.engine)
            .map(|(name, _)| name.to_owned())
            .collect()
    }

    /// The names the component exports.
    pub fn exports(&self, host: &Host) -> Vec<String> {
        self.component
            .component_type()
            .exports(&host.engine)
            .map(|(name, _)| name.to_owned())
            .collect()
    }

    /// Calls `describe` in a fresh sandbox, once per loaded plugin: every
    /// component of the plugin, the config check, the kinds collect lets
    /// through and the kinds the plugins see in the catalog (from which
    /// builtin:argocd renders Argo CD's fence) then rest on one answer.
    pub fn describe(&self, host: &Host, limits: &Limits) -> Result<Description, PluginError> {
        if let Some(description) = self.description.get() {
            return Ok(description.clone());
        }
        let mut store = sandbox::store(&host.engine, limits).map_err(|e| PluginError::Trap {
            trap: e.to_string(),
        })?;
        let result = self
            .pre
            .instantiate(&mut store)
            .and_then(|instance| instance.call_describe(&mut store))
            .map_err(|e| sandbox::classify(e, &store, limits))?;
        let description = parse_info(result)?;
        Ok(self.description.get_or_init(|| description).clone())
    }

    /// Instantiates and renders, with the description and the catalog (which
    /// carries every component's kinds) the first pass settled.
    fn render(
        &self,
        host: &Host,
        limits: &Limits,
        job: &Job<'_>,
        description: Description,
        catalog_json: &str,
    ) -> Result<Rendered, ComponentFailure> {
        let started = Instant::now();
        let mut store = sandbox::store(&host.engine, limits).map_err(|e| {
            self.fail(PluginError::Trap {
                trap: e.to_string(),
            })
        })?;
        let instance = self
            .pre
            .instantiate(&mut store)
            .map_err(|e| self.fail(sandbox::classify(e, &store, limits)))?;
        let config = job.config.to_string();
        let input = bindings::RenderInput {
            component: &job.component.name,
            site: if description.reads_hosts {
                job.site_json
            } else {
                job.site_json_without_hosts
            },
            catalog: catalog_json,
            config: &config,
        };
        let prepared = started.elapsed();
        let result = instance
            .call_render(&mut store, input)
            .map_err(|e| self.fail(sandbox::classify(e, &store, limits)))?;
        let called = started.elapsed();
        let log = store.data_mut().take_log();
        let output = match result {
            Ok(output) => output,
            Err(guest) => {
                return Err(ComponentFailure::Guest {
                    message: guest.message,
                    pointer: guest.pointer,
                    log,
                });
            }
        };
        let size =
            output.objects.len() + output.files.iter().map(|f| f.content.len()).sum::<usize>();
        if size > limits.output_bytes {
            return Err(self.fail(PluginError::OutputTooLarge {
                size,
                limit: limits.output_bytes,
            }));
        }
        let objects = parse_objects(&output.objects).map_err(|e| self.fail(e))?;
        drop(output.objects);
        let mut files = Vec::new();
        for file in output.files {
            let content = serde_json::from_str(&file.content).map_err(|e| {
                self.fail(malformed(&format!("file `{}` is not JSON: {e}", file.name)))
            })?;
            files.push(DayZeroFile {
                name: file.name,
                json: file.format == FileFormat::Json,
                content,
                schema: file.schema,
            });
        }
        let diagnostics = output
            .diagnostics
            .into_iter()
            .map(|d| PluginDiagnostic {
                severity: d.severity,
                message: d.message,
                pointer: d.pointer,
            })
            .collect();
        if host.verbose {
            crate::diagnostics::note(&format!(
                "component `{}`: instantiate {:.1} ms, render {:.1} ms, reading its output {:.1} ms",
                job.component.name,
                prepared.as_secs_f64() * 1000.0,
                (called - prepared).as_secs_f64() * 1000.0,
                (started.elapsed() - called).as_secs_f64() * 1000.0,
            ));
        }
        Ok(Rendered {
            component: job.component.name.clone(),
            plugin: self.label.clone(),
            sha256: self.sha256.clone(),
            source_sha256: self.source_sha256,
            description,
            objects,
            files,
            diagnostics,
            log,
        })
    }

    fn fail(&self, error: PluginError) -> ComponentFailure {
        ComponentFailure::Plugin(error)
    }
}

/// The `objects` JSON array, its elements parsed in parallel: for a large
/// site this is the biggest single piece of work after the plugins' own.
fn parse_objects(text: &str) -> Result<Vec<Value>, PluginError> {
    if let Some(objects) = parse_objects_by_line(text) {
        return Ok(objects);
    }
    let items = match serde_json::from_str::<Vec<&RawValue>>(text) {
        Ok(items) => items,
        // Say what is wrong the way a full parse sees it.
        Err(e) => {
            return Err(match serde_json::from_str::<Value>(text) {
                Ok(_) => malformed("`objects` is not a JSON array"),
                Err(_) => malformed(&format!("`objects` is not JSON: {e}")),
            });
        }
    };
    items
        .par_iter()
        .with_min_len(64)
        .map(|raw| serde_json::from_str::<Value>(raw.get()))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| malformed(&format!("`objects` is not JSON: {e}")))
}

/// The array as the SDK writes it, one element per line (`[a,⏎b,⏎c]`), cut
/// at its newlines without a first pass over the whole text. `None` unless
/// every line is exactly one element and its comma, so that the result is
/// what parsing the whole array gives; the caller then parses it whole.
fn parse_objects_by_line<'a>(text: &'a str) -> Option<Vec<Value>> {
    // JSON's whitespace only: `str::trim` would also drop what JSON refuses.
    let trim = |s: &'a str| s.trim_matches([' ', '\t', '\n', '\r']);
    let inner = trim(text).strip_prefix('[')?.strip_suffix(']')?;
    if trim(inner).is_empty() {
        return Some(Vec::new());
    }
    let lines: Vec<&str> = inner.split('\n').collect();
    if lines.len() < 2 {
        return None;
    }
    let last = lines.len() - 1;
    lines
        .par_iter()
        .with_min_len(64)
        .enumerate()
        .map(|(i, line)| {
            let element = if i == last {
                line
            } else {
                trim(line).strip_suffix(',')?
            };
            serde_json::from_str::<Value>(element).ok()
        })
        .collect()
}

fn malformed(reason: &str) -> PluginError {
    PluginError::MalformedOutput {
        reason: reason.to_owned(),
    }
}

fn parse_info(info: PluginInfo) -> Result<Description, PluginError> {
    let config_schema: Value = serde_json::from_str(&info.config_schema).map_err(|e| {
        malformed(&format!(
            "`describe` returned a config schema that is not JSON: {e}"
        ))
    })?;
    let reads_hosts = config_schema
        .get(opsmith_plugin_sdk::READS_HOSTS_KEYWORD)
        .and_then(Value::as_bool)
        .unwrap_or(true);
    check_self_description(&info)?;
    Ok(Description {
        name: info.name,
        version: info.version,
        description: info.description,
        reads_hosts,
        config_schema,
        emits: info
            .emits
            .into_iter()
            .map(|e| AllowedKind {
                api_version: e.api_version,
                kind: e.kind,
                namespaces: e.namespaces,
            })
            .collect(),
    })
}

/// What a plugin says of itself becomes paths (`<kind>-<name>.yaml`), commit
/// trailers and Argo CD whitelists: a kind such as `../x` or `*`, or a name
/// with a newline, is refused before anything rests on it.
fn check_self_description(info: &PluginInfo) -> Result<(), PluginError> {
    let word = |text: &str, max: usize, allowed: fn(char) -> bool| {
        !text.is_empty() && text.len() <= max && text.chars().all(allowed)
    };
    let dns_label = |text: &str| {
        word(text, 63, |c| {
            c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'
        }) && !text.starts_with('-')
            && !text.ends_with('-')
    };
    fn name_char(c: char) -> bool {
        c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-')
    }
    if !word(&info.name, 128, name_char) {
        return Err(malformed(&format!(
            "`describe` returned the name {:?}: expected letters, digits, `.`, `_` and `-`",
            info.name
        )));
    }
    if !word(&info.version, 64, |c| name_char(c) || c == '+') {
        return Err(malformed(&format!(
            "`describe` returned the version {:?}: expected letters, digits, `.`, `+`, `_` and `-`",
            info.version
        )));
    }
    for e in &info.emits {
        let (group, version) = e
            .api_version
            .rsplit_once('/')
            .unwrap_or(("", &e.api_version));
        let group_ok = group.is_empty() || group.split('.').all(dns_label);
        let version_ok = word(version, 63, |c| {
            c.is_ascii_lowercase() || c.is_ascii_digit()
        }) && version.starts_with('v');
        let kind_ok = word(&e.kind, 63, |c| c.is_ascii_alphanumeric())
            && e.kind.starts_with(|c: char| c.is_ascii_uppercase());
        let namespaces_ok = e.namespaces.iter().all(|n| n == "*" || dns_label(n));
        if !(group_ok && version_ok && kind_ok && namespaces_ok) {
            return Err(malformed(&format!(
                "`describe` declares {:?} {:?} in {:?}: expected an apiVersion such as `apps/v1`, a kind such as `Deployment`, and namespaces that are DNS labels or `*`",
                e.api_version, e.kind, e.namespaces
            )));
        }
    }
    Ok(())
}

/// The component's config against the schema its plugin declares, with
/// errors at catalog.yaml lines.
fn check_config(description: &Description, job: &Job<'_>) -> Result<(), Invalid> {
    let schema = Schema::compile(description.config_schema.clone()).map_err(|e| {
        Invalid::one(job.site.inputs.catalog.problem_at(
            &format!("/spec/components/{}/plugin", job.index),
            format!(
                "plugin `{}` declares an invalid config schema: {e}",
                description.name
            ),
        ))
    })?;
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
        log: Vec<String>,
    },
    /// The plugin could not be loaded.
    Load(anyhow::Error),
}

/// One component's work, with the shared, pre-serialised input.
struct Job<'a> {
    index: usize,
    component: &'a Component,
    site: &'a Site,
    site_json: &'a str,
    site_json_without_hosts: &'a str,
    config: Value,
}

/// A component whose plugin is loaded and described, and whose config its
/// schema accepts.
struct Described {
    plugin: Arc<Plugin>,
    limits: Limits,
    description: Description,
}

/// The catalog as plugins see it: each component with its `path`, and each
/// enabled one with `emits`, the kinds it may emit (`kinds`, by component
/// name; a component missing there may emit nothing).
pub fn catalog_for_plugins(site: &Site, kinds: &HashMap<&str, Vec<AllowedKind>>) -> Value {
    let mut catalog = site.catalog.clone();
    for component in &mut catalog.spec.components {
        component.path = Some(format!(
            "{}/{}",
            site.catalog.spec.gitops.path.trim_end_matches('/'),
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

/// The catalog's `allow` lists, by component: a narrowing of what the
/// plugin declares, the user's policy for a third-party plugin.
pub fn catalog_allowances(site: &Site) -> BTreeMap<String, Vec<AllowedKind>> {
    let mut out = BTreeMap::new();
    let components = site
        .inputs
        .catalog
        .value
        .pointer("/spec/components")
        .and_then(Value::as_array);
    for c in components.into_iter().flatten() {
        let (Some(name), Some(allow)) = (
            c.get("name").and_then(Value::as_str),
            c.get("allow").and_then(Value::as_array),
        ) else {
            continue;
        };
        let kinds = allow
            .iter()
            .map(|a| AllowedKind {
                api_version: a
                    .get("apiVersion")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_owned(),
                kind: a
                    .get("kind")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_owned(),
                namespaces: a
                    .get("namespaces")
                    .and_then(Value::as_array)
                    .map(|n| {
                        n.iter()
                            .filter_map(Value::as_str)
                            .map(str::to_owned)
                            .collect()
                    })
                    .unwrap_or_default(),
            })
            .collect();
        out.insert(name.to_owned(), kinds);
    }
    out
}

/// What collect lets a component emit: each kind its plugin declares, in the
/// namespaces both the declaration and the catalog's `allow` list (when
/// there is one) permit. Cluster-scoped kinds (no namespaces) stay so only if
/// `allow` lists them cluster-scoped too.
pub fn effective_kinds(
    declared: &[AllowedKind],
    allow: Option<&[AllowedKind]>,
) -> Vec<AllowedKind> {
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
        .map(|((api_version, kind, _), namespaces)| AllowedKind {
            api_version: api_version.to_owned(),
            kind: kind.to_owned(),
            namespaces: namespaces.into_iter().map(str::to_owned).collect(),
        })
        .collect()
}

/// The inventory as JSON with an empty `spec.hosts`, for plugins that read no
/// hosts: at 1 000 hosts the full one is a megabyte that each such plugin
/// would copy in and parse past.
fn inventory_without_hosts(inventory: &Value) -> String {
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

/// Renders every enabled component on `jobs` threads. The result is in
/// catalog order whatever the thread count; every failure is reported.
pub fn render_all(host: &Host, site: &Site, jobs: usize) -> anyhow::Result<Vec<Rendered>> {
    let rendered = for_each_component(host, site, jobs, |described, job, catalog_json| {
        described.plugin.render(
            host,
            &described.limits,
            job,
            described.description,
            catalog_json,
        )
    })?;
    for r in &rendered {
        show_log(host, &r.component, &r.log);
    }
    Ok(rendered)
}

/// A plugin's own output (`log` calls, stdout, stderr), with `--verbose`.
fn show_log(host: &Host, component: &str, log: &[String]) {
    if host.verbose {
        for line in log {
            crate::diagnostics::note(&format!("component `{component}`: {line}"));
        }
    }
}

/// Checks each enabled component's config against its plugin's schema.
pub fn check_configs(host: &Host, site: &Site, jobs: usize) -> anyhow::Result<Vec<Description>> {
    for_each_component(
        host,
        site,
        jobs,
        |described, _, _| Ok(described.description),
    )
}

/// Runs each enabled component in two passes on `jobs` threads: first its
/// plugin is loaded and described and its config checked; then, with every
/// component's kinds in the catalog the plugins see (builtin:argocd fences
/// each component's Argo CD project with them), `work`. Results in catalog
/// order, all failures reported together.
fn for_each_component<T: Send>(
    host: &Host,
    site: &Site,
    jobs: usize,
    work: impl Fn(Described, &Job<'_>, &str) -> Result<T, ComponentFailure> + Sync,
) -> anyhow::Result<Vec<T>> {
    let site_json = &site.inventory_json;
    let site_json_without_hosts = inventory_without_hosts(&site.inputs.inventory.value);
    let components = site
        .catalog
        .spec
        .components
        .iter()
        .enumerate()
        .filter(|(_, c)| c.enabled);
    let work_items: Vec<Job<'_>> = components
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
        let limits = component_limits(host.limits, site, job.index);
        let source = PluginSource::of(job.component, &site.inputs.dir);
        let plugin = host.load(&source).map_err(ComponentFailure::Load)?;
        let description = plugin
            .describe(host, &limits)
            .map_err(ComponentFailure::Plugin)?;
        check_config(&description, job).map_err(ComponentFailure::Invalid)?;
        Ok(Described {
            plugin,
            limits,
            description,
        })
    });
    let allowances = catalog_allowances(site);
    let kinds: HashMap<&str, Vec<AllowedKind>> = work_items
        .iter()
        .zip(&described)
        .filter_map(|(job, described)| {
            let described = described.as_ref()?.as_ref().ok()?;
            let allow = allowances.get(&job.component.name).map(Vec::as_slice);
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
                log,
            })) => {
                show_log(host, name, &log);
                problems.push(guest_problem(
                    site, job.index, name, &label, &message, &pointer,
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

/// The command-line defaults, overridden by the component's `limits` in the
/// catalog (memory as a quantity such as `512Mi`, fuel, timeoutSeconds).
fn component_limits(defaults: Limits, site: &Site, index: usize) -> Limits {
    let mut limits = defaults;
    let Some(raw) = site
        .inputs
        .catalog
        .value
        .pointer(&format!("/spec/components/{index}/limits"))
    else {
        return limits;
    };
    if let Some(bytes) = raw
        .get("memory")
        .and_then(Value::as_str)
        .and_then(quantity_bytes)
    {
        limits.memory_bytes = bytes;
    }
    if let Some(fuel) = raw.get("fuel").and_then(Value::as_u64) {
        limits.fuel = fuel;
    }
    if let Some(seconds) = raw
        .get("timeoutSeconds")
        .and_then(Value::as_f64)
        .filter(|s| *s > 0.0 && *s <= 3600.0)
    {
        limits.timeout = std::time::Duration::from_secs_f64(seconds);
    }
    limits
}

/// A Kubernetes memory quantity (`256Mi`, `1Gi`, `500M`) in bytes.
pub fn quantity_bytes(q: &str) -> Option<u64> {
    let split = q.find(|c: char| !c.is_ascii_digit()).unwrap_or(q.len());
    let (number, unit) = q.split_at(split);
    let n: u64 = number.parse().ok()?;
    let factor: u64 = match unit {
        "" => 1,
        "Ki" => 1 << 10,
        "Mi" => 1 << 20,
        "Gi" => 1 << 30,
        "k" => 1_000,
        "M" => 1_000_000,
        "G" => 1_000_000_000,
        _ => return None,
    };
    n.checked_mul(factor)
}

/// A plugin's error, placed at the input line its pointer names.
pub fn guest_problem(
    site: &Site,
    index: usize,
    component: &str,
    label: &str,
    message: &str,
    pointer: &str,
) -> Problem {
    let text = format!("component `{component}` (plugin {label}): {message}");
    locate_pointer(site, index, pointer, text)
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

#[cfg(test)]
mod tests {
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
        use bindings::opsmith::plugin::types::AllowedKind as Declared;
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

    fn kind(api_version: &str, kind: &str, namespaces: &[&str]) -> AllowedKind {
        AllowedKind {
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
                assert_eq!(cut, expected, "{text:?}");
            }
            assert_eq!(parse_objects(text).ok(), Some(expected), "{text:?}");
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
            let by_line = parse_objects_by_line(text);
            match whole(text) {
                Some(expected) => {
                    assert!(by_line.is_none() || by_line == Some(expected.clone()));
                    assert_eq!(parse_objects(text).ok(), Some(expected));
                }
                None => {
                    assert!(by_line.is_none(), "{text:?}");
                    assert!(parse_objects(text).is_err(), "{text:?}");
                }
            }
        }
    }
}
