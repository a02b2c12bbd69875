//! The WIT bindings and the glue `export_plugin!` expands to. Not public API.
#![allow(clippy::too_many_arguments)] // in the bindings wit-bindgen generates

wit_bindgen::generate!({
    world: "renderer",
    // A link to the repository's plugins/wit; the packaged crate holds a copy.
    path: "wit",
    pub_export_macro: true,
    export_macro_name: "__export_renderer",
    default_bindings_module: "opsmith_plugin_sdk::guest",
});

use self::opsmith::plugin::types::{
    AllowedKind, Diagnostic as WitDiagnostic, File as WitFile, FileFormat as WitFileFormat,
};
use crate::{Error, FileFormat, Plugin, Severity as SdkSeverity};

/// `describe`, for plugin `P`.
pub fn describe<P: Plugin>() -> PluginInfo {
    let info = P::describe();
    PluginInfo {
        name: info.name,
        version: info.version,
        description: info.description,
        config_schema: crate::described_config_schema::<P>(info.config_schema).to_string(),
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

/// `render`, for plugin `P`: parse, call, serialise.
pub fn render<P: Plugin>(input: RenderInput) -> Result<RenderOutput, RenderError> {
    let parsed =
        crate::Input::for_plugin::<P>(&input.component, &input.site, &input.catalog, &input.config)
            .map_err(into_wit_error)?;
    drop(input);
    let mut out = P::render(&parsed).map_err(into_wit_error)?;
    let objects = out.take_objects_json().map_err(into_wit_error)?;
    let diagnostics = std::mem::take(&mut out.diagnostics);
    Ok(RenderOutput {
        objects,
        files: out
            .into_serialized_files()
            .into_iter()
            .map(|f| WitFile {
                name: f.name,
                format: match f.format {
                    FileFormat::Yaml => WitFileFormat::Yaml,
                    FileFormat::Json => WitFileFormat::Json,
                },
                content: f.content,
                schema: f.schema,
            })
            .collect(),
        diagnostics: diagnostics
            .into_iter()
            .map(|d| WitDiagnostic {
                severity: wit_severity(d.severity),
                message: d.message,
                pointer: d.pointer,
            })
            .collect(),
    })
}

fn wit_severity(severity: SdkSeverity) -> Severity {
    match severity {
        SdkSeverity::Info => Severity::Info,
        SdkSeverity::Warning => Severity::Warning,
        SdkSeverity::Error => Severity::Error,
    }
}

fn into_wit_error(e: Error) -> RenderError {
    // WIT 0.1.0 has no file locations: say it in the message.
    let message = match &e.location {
        Some(_) => e.to_string(),
        None => e.message,
    };
    RenderError {
        message,
        pointer: e.pointer,
    }
}

/// Writes `message` to opsmith's log (`--verbose`).
pub fn log_info(message: &str) {
    log(Severity::Info, message);
}
