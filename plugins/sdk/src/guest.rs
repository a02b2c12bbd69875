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
    FileLocation as WitFileLocation,
};
use crate::{Error, FileFormat, FileLocation, Plugin, Severity as SdkSeverity, SourceFile};

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
    let RenderInput {
        component,
        site,
        catalog,
        config,
        files,
    } = input;
    let files = files
        .into_iter()
        .map(|f| SourceFile {
            path: f.path,
            content: f.content,
        })
        .collect();
    let parsed = crate::Input::for_plugin::<P>(&component, &site, &catalog, &config)
        .map_err(into_wit_error)?
        .with_files(files);
    // The JSON texts (a megabyte for a large site) go before the render.
    drop((site, catalog, config));
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
                location: d.location.map(wit_location),
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
    RenderError {
        message: e.message,
        pointer: e.pointer,
        location: e.location.map(wit_location),
    }
}

fn wit_location(at: FileLocation) -> WitFileLocation {
    WitFileLocation {
        path: at.path,
        line: at.line,
        column: at.column,
    }
}

/// Writes `message` to opsmith's log (`--verbose`).
pub fn log_info(message: &str) {
    log(Severity::Info, message);
}
