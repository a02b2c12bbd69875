//! The one `bindgen!` of the plugin contract (plugins/wit/plugin.wit).

wasmtime::component::bindgen!({
    world: "renderer",
    path: "plugins/wit",
    // `render`'s input borrows its strings: the site's JSON, a megabyte at
    // 1 000 hosts, is lowered into each plugin straight from the one copy.
    ownership: Borrowing { duplicate_if_necessary: false },
});

pub use self::opsmith::plugin::types::FileFormat;
