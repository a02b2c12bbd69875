//! The one `bindgen!` of the plugin contract (plugins/wit/plugin.wit).

wasmtime::component::bindgen!({
    world: "renderer",
    path: "plugins/wit",
});

pub use self::opsmith::plugin::types::FileFormat;
