//! Compiles the built-in plugins to native code while opsmith is built, so
//! that a first run (a fresh CI runner, an empty cache) spends no time in
//! Cranelift.
//!
//! The code is compiled for the target triple's baseline CPU, never for the
//! build machine's extensions, with the engine configuration the runtime
//! uses (src/plugins/engine_config.rs). When opsmith loads it, wasmtime
//! checks that the settings match and that the CPU has every feature the
//! code uses; if not, opsmith compiles the plugin as it would without this.

use wasmtime::Engine;

#[path = "../src/plugins/engine_config.rs"]
mod engine_config;

/// An engine that compiles for `target`, or why there is none (a target
/// Cranelift cannot compile for, or one it was not built with).
pub fn engine(target: &str) -> Result<Engine, String> {
    let mut config = engine_config::engine_config();
    config.target(target).map_err(|e| format!("{e:#}"))?;
    Engine::new(&config).map_err(|e| format!("{e:#}"))
}

/// The native code of one plugin's component.
pub fn component(engine: &Engine, wasm: &[u8]) -> Result<Vec<u8>, String> {
    engine
        .precompile_component(wasm)
        .map_err(|e| format!("{e:#}"))
}

/// A plugin's component or native code, zstd-compressed for embedding: both
/// compress well, and decompressing costs far less than compiling.
pub fn compress(native: &[u8]) -> std::io::Result<Vec<u8>> {
    zstd::bulk::compress(native, 19)
}
