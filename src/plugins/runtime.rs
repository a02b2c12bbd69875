//! The plugin runtime: one wasmtime engine and linker for the process, the
//! compile cache, and loading each plugin once.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::thread;
use std::time::Instant;

use anyhow::{Context as _, bail};
use rayon::prelude::*;
use sha2::{Digest, Sha256};
use wasmtime::Engine;
use wasmtime::component::{Component as WasmComponent, HasSelf, Linker};

use super::*;
use bindings::{Renderer, RendererPre};
use cache::{Cache, Origin};
use call::Linked;
use error::PluginError;
use sandbox::{Limits, StoreState};

/// Where one source's plugin is kept once loaded; locked while it loads.
type LoadSlot = Arc<Mutex<Option<Arc<Plugin>>>>;

/// One wasmtime engine and linker for the process, and the compile cache.
pub struct Runtime {
    pub(super) engine: Engine,
    linker: Linker<StoreState>,
    /// The linker for plugins of the previous contract, made on first use:
    /// both contracts import a root function `log`, so one linker cannot
    /// hold both.
    linker_v0_1: OnceLock<Linker<StoreState>>,
    cache: Cache,
    /// Plugins loaded by this host, by source: two components of one plugin,
    /// or a load started early while the inputs are parsed, load it once.
    loaded: Mutex<HashMap<String, LoadSlot>>,
    pub limits: Limits,
    /// Whether built-in plugins are loaded as the native code opsmith's
    /// build made (see `env::COMPILE_BUILTINS`).
    builtins_precompiled: bool,
}

impl Runtime {
    pub fn new(limits: Limits, cache_dir: Option<PathBuf>) -> anyhow::Result<Runtime> {
        let engine = Engine::new(&engine_config::engine_config())?;
        let mut linker = Linker::new(&engine);
        // Every WASI interface a tool chain may import is linked, and the
        // per-store context (sandbox.rs) grants nothing through it.
        wasmtime_wasi::p2::add_to_linker_sync(&mut linker)?;
        Renderer::add_to_linker::<_, HasSelf<_>>(&mut linker, |state| state)?;
        start_epoch_ticker(&engine);
        let cache = Cache::new(&engine, cache_dir);
        Ok(Runtime {
            engine,
            linker,
            linker_v0_1: OnceLock::new(),
            cache,
            loaded: Mutex::default(),
            limits,
            builtins_precompiled: crate::env::var(crate::env::COMPILE_BUILTINS)
                .is_none_or(|v| v == "0"),
        })
    }

    /// This host compiles the built-in plugins (through the compile cache)
    /// instead of loading the native code opsmith's build made.
    pub fn compiling_builtins(mut self) -> Runtime {
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
                if self.builtins_precompiled && builtin::is_precompiled(name) =>
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
        tracing::info!(
            "plugin {}: {} in {:.1} ms",
            source.label(),
            match origin {
                Origin::Embedded => "loaded as compiled by opsmith's build",
                Origin::Cache => "loaded from cache",
                Origin::Compiled => "compiled",
            },
            started.elapsed().as_secs_f64() * 1000.0
        );
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
        match unsafe { WasmComponent::deserialize(&self.engine, &native) } {
            Ok(component) => Some(component),
            Err(why) => {
                tracing::info!(
                    "plugin {}: the code compiled by opsmith's build does not fit this engine or CPU ({why:#}); compiling it",
                    crate::validate::catalog::PluginRef::builtin_label(name)
                );
                None
            }
        }
    }

    /// Links `component` for the contract it targets: the previous one if
    /// it imports that version's types, else the current one.
    fn instantiate_pre(&self, component: &WasmComponent) -> anyhow::Result<Linked> {
        let targets_v0_1 = component
            .component_type()
            .imports(&self.engine)
            .any(|(name, _)| name == bindings::TYPES_0_1);
        let incompatible = |e: wasmtime::Error, what: &str| PluginError::Incompatible {
            reason: format!("{e:#}; {what}"),
        };
        let world = "it must target the `renderer` world of opsmith:plugin@0.2.0 (or 0.1.0)";
        let exports = "it must export `describe` and `render`";
        if targets_v0_1 {
            let linker = self.linker_v0_1()?;
            let pre = linker
                .instantiate_pre(component)
                .map_err(|e| incompatible(e, world))?;
            let pre =
                bindings::v0_1::RendererPre::new(pre).map_err(|e| incompatible(e, exports))?;
            return Ok(Linked::V0_1(pre));
        }
        let pre = self
            .linker
            .instantiate_pre(component)
            .map_err(|e| incompatible(e, world))?;
        let pre = RendererPre::new(pre).map_err(|e| incompatible(e, exports))?;
        Ok(Linked::Current(pre))
    }

    fn linker_v0_1(&self) -> anyhow::Result<&Linker<StoreState>> {
        if let Some(linker) = self.linker_v0_1.get() {
            return Ok(linker);
        }
        let mut linker = Linker::new(&self.engine);
        wasmtime_wasi::p2::add_to_linker_sync(&mut linker)?;
        bindings::v0_1::Renderer::add_to_linker::<_, HasSelf<_>>(&mut linker, |state| state)?;
        Ok(self.linker_v0_1.get_or_init(|| linker))
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
