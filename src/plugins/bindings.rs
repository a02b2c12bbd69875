//! The plugin contract's `bindgen!`s: `opsmith:plugin@0.2.0`
//! (plugins/wit), which the SDK and the scaffolds target, and 0.1.0
//! (plugins/wit-0.1.0), which opsmith still hosts. The rest of the host
//! speaks 0.2.0's types; a 0.1.0 plugin's answers are converted here.

/// `render`'s input borrows its strings: the site's JSON, a megabyte at
/// 1 000 hosts, is lowered into each plugin straight from the one copy.
mod v0_2 {
    wasmtime::component::bindgen!({
        world: "renderer",
        path: "plugins/wit",
        ownership: Borrowing { duplicate_if_necessary: false },
    });
}

/// The previous contract, as it was released.
pub mod v0_1 {
    wasmtime::component::bindgen!({
        world: "renderer",
        path: "plugins/wit-0.1.0",
        ownership: Borrowing { duplicate_if_necessary: false },
    });
}

pub use v0_2::opsmith::plugin::types::{
    AllowedKind, Diagnostic, File, FileFormat, FileLocation, Host as TypesHost, PluginInfo,
    RenderError, RenderInput, RenderOutput, Severity, SourceFile,
};
pub use v0_2::{Renderer, RendererImports, RendererPre};

use v0_1::opsmith::plugin::types as old;

/// The import name by which a component shows it targets 0.1.0.
pub const TYPES_0_1: &str = "opsmith:plugin/types@0.1.0";

impl From<old::Severity> for Severity {
    fn from(severity: old::Severity) -> Self {
        match severity {
            old::Severity::Info => Severity::Info,
            old::Severity::Warning => Severity::Warning,
            old::Severity::Error => Severity::Error,
        }
    }
}

impl From<old::PluginInfo> for PluginInfo {
    fn from(info: old::PluginInfo) -> Self {
        PluginInfo {
            name: info.name,
            version: info.version,
            description: info.description,
            config_schema: info.config_schema,
            emits: info
                .emits
                .into_iter()
                .map(|e| AllowedKind {
                    api_version: e.api_version,
                    kind: e.kind,
                    namespaces: e.namespaces,
                })
                .collect(),
        }
    }
}

impl From<old::RenderOutput> for RenderOutput {
    fn from(output: old::RenderOutput) -> Self {
        RenderOutput {
            objects: output.objects,
            files: output
                .files
                .into_iter()
                .map(|f| File {
                    name: f.name,
                    format: match f.format {
                        old::FileFormat::Yaml => FileFormat::Yaml,
                        old::FileFormat::Json => FileFormat::Json,
                    },
                    content: f.content,
                    schema: f.schema,
                })
                .collect(),
            diagnostics: output
                .diagnostics
                .into_iter()
                .map(|d| Diagnostic {
                    severity: d.severity.into(),
                    message: d.message,
                    pointer: d.pointer,
                    location: None,
                })
                .collect(),
        }
    }
}

impl From<old::RenderError> for RenderError {
    fn from(error: old::RenderError) -> Self {
        RenderError {
            message: error.message,
            pointer: error.pointer,
            location: None,
        }
    }
}
