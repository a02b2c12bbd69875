//! The wasmtime configuration every plugin is compiled with. The runtime
//! (`Runtime::new`) and the build script (build/precompile.rs, which compiles
//! the built-in plugins ahead of time) both include this file, so that code
//! compiled at build time is code the runtime's engine accepts. Only
//! wasmtime may be named here.

/// The configuration, before the compilation target is chosen.
pub fn engine_config() -> wasmtime::Config {
    let mut config = wasmtime::Config::new();
    config
        .wasm_component_model(true)
        .consume_fuel(true)
        .epoch_interruption(true)
        // Deterministic floating point: the same plugin gives the same
        // bytes on every machine.
        .cranelift_nan_canonicalization(true)
        .relaxed_simd_deterministic(true);
    config
}
