//! One plugin: a call to `describe` or `render` in a fresh sandbox, and
//! the decoding and checking of what it returns.

use std::sync::OnceLock;
use std::time::Instant;

use rayon::prelude::*;
use serde_json::Value;
use serde_json::value::RawValue;
use wasmtime::component::Component as WasmComponent;

use super::schedule::Job;
use super::*;
use bindings::{FileFormat, FileLocation, PluginInfo, RenderOutput, RendererPre, Severity};
use cache::Origin;
use error::PluginError;
use sandbox::{Limits, StoreState};

/// A loaded, linked plugin, ready to instantiate.
pub struct Plugin {
    pub label: String,
    pub sha256: String,
    /// A built-in plugin's source digest (`builtin::source_sha256`).
    pub source_sha256: Option<&'static str>,
    pub size: usize,
    pub origin: Origin,
    pub(super) pre: Linked,
    pub(super) component: WasmComponent,
    /// What `describe` said, once it said something valid.
    pub(super) description: OnceLock<Info>,
}

/// A plugin linked for the version of the contract it targets.
pub(super) enum Linked {
    Current(RendererPre<StoreState>),
    /// `opsmith:plugin@0.1.0`: no files in, no file locations out.
    V0_1(bindings::v0_1::RendererPre<StoreState>),
}

/// What `describe` says, parsed.
#[derive(Debug, Clone)]
pub struct Info {
    pub name: String,
    pub version: String,
    pub description: String,
    pub config_schema: Value,
    pub emits: Vec<Emit>,
    /// False when the config schema says `"x-opsmith-reads-hosts": false`:
    /// the plugin is sent the site with an empty host list.
    pub reads_hosts: bool,
}

/// A kind a plugin may emit: the SDK's type, which the catalog the plugins
/// see carries too.
pub use opsmith_plugin_sdk::Emit;

/// A day-0 file a plugin returned.
#[derive(Debug, Clone)]
pub struct File {
    pub name: String,
    pub json: bool,
    /// The content's JSON text, known to be JSON; collect parses it.
    pub content: Box<RawValue>,
    pub schema: Option<String>,
}

/// A plugin's diagnostic, with its pointer into the render input.
#[derive(Debug, Clone)]
pub struct PluginDiagnostic {
    pub severity: Severity,
    pub message: String,
    pub pointer: String,
    /// A place in one of the component's files, when the message is about one.
    pub location: Option<FileLocation>,
}

/// What one component rendered.
#[derive(Debug)]
pub struct Rendered {
    pub component: String,
    pub plugin: String,
    pub sha256: String,
    pub source_sha256: Option<&'static str>,
    pub description: Info,
    /// Each object's JSON text, known to be JSON: collect parses, checks
    /// and writes out one object at a time, so that a large site's objects
    /// are never all in memory as values (several times their text).
    pub objects: Vec<Box<RawValue>>,
    pub files: Vec<File>,
    pub diagnostics: Vec<PluginDiagnostic>,
    pub log: Vec<String>,
}

impl Plugin {
    /// The version of opsmith's contract the plugin targets.
    pub fn contract(&self) -> &'static str {
        match self.pre {
            Linked::Current(_) => "0.2.0",
            Linked::V0_1(_) => "0.1.0",
        }
    }

    /// The names the component imports, such as `wasi:filesystem/types@0.2.6`.
    pub fn imports(&self, runtime: &Runtime) -> Vec<String> {
        self.component
            .component_type()
            .imports(&runtime.engine)
            .map(|(name, _)| name.to_owned())
            .collect()
    }

    /// The names the component exports.
    pub fn exports(&self, runtime: &Runtime) -> Vec<String> {
        self.component
            .component_type()
            .exports(&runtime.engine)
            .map(|(name, _)| name.to_owned())
            .collect()
    }

    /// Calls `describe` in a fresh sandbox, once per loaded plugin: every
    /// component of the plugin, the config check, the kinds collect lets
    /// through and the kinds the plugins see in the catalog (from which
    /// builtin:argocd renders Argo CD's fence) then rest on one answer.
    pub fn describe(&self, runtime: &Runtime, limits: &Limits) -> Result<Info, PluginError> {
        if let Some(description) = self.description.get() {
            return Ok(description.clone());
        }
        let mut store = sandbox::store(&runtime.engine, limits).map_err(|e| PluginError::Trap {
            trap: e.to_string(),
        })?;
        let result = match &self.pre {
            Linked::Current(pre) => pre
                .instantiate(&mut store)
                .and_then(|instance| instance.call_describe(&mut store)),
            Linked::V0_1(pre) => pre
                .instantiate(&mut store)
                .and_then(|instance| instance.call_describe(&mut store))
                .map(Into::into),
        }
        .map_err(|e| sandbox::classify(e, &store, limits))?;
        let description = parse_info(result)?;
        Ok(self.description.get_or_init(|| description).clone())
    }

    /// Instantiates and renders, with the description and the catalog (which
    /// carries every component's kinds) the first pass settled.
    pub(super) fn render(
        &self,
        runtime: &Runtime,
        limits: &Limits,
        job: &Job<'_>,
        description: Info,
        catalog_json: &str,
    ) -> Result<Rendered, ComponentFailure> {
        let started = Instant::now();
        let mut store = sandbox::store(&runtime.engine, limits).map_err(|e| {
            self.fail(PluginError::Trap {
                trap: e.to_string(),
            })
        })?;
        let config = job.config.to_string();
        let site = if description.reads_hosts {
            job.site_json
        } else {
            job.site_json_without_hosts
        };
        let files: Vec<bindings::SourceFile<'_>> = job
            .files
            .iter()
            .map(|f| bindings::SourceFile {
                path: &f.path,
                content: &f.content,
            })
            .collect();
        let mut prepared = started.elapsed();
        let result: wasmtime::Result<Result<RenderOutput, bindings::RenderError>> = match &self.pre
        {
            Linked::Current(pre) => pre.instantiate(&mut store).and_then(|instance| {
                prepared = started.elapsed();
                let input = bindings::RenderInput {
                    component: &job.component.name,
                    site,
                    catalog: catalog_json,
                    config: &config,
                    files: &files,
                };
                instance.call_render(&mut store, input)
            }),
            Linked::V0_1(_) if !job.files.is_empty() => {
                return Err(self.fail(PluginError::Incompatible {
                    reason: "the catalog gives this component `files`, which a plugin of opsmith:plugin@0.1.0 cannot receive; rebuild it with a current SDK (0.2.0)".to_owned(),
                }));
            }
            Linked::V0_1(pre) => pre.instantiate(&mut store).and_then(|instance| {
                prepared = started.elapsed();
                let input = bindings::v0_1::opsmith::plugin::types::RenderInput {
                    component: &job.component.name,
                    site,
                    catalog: catalog_json,
                    config: &config,
                };
                instance
                    .call_render(&mut store, input)
                    .map(|result| result.map(Into::into).map_err(Into::into))
            }),
        };
        let result = result.map_err(|e| self.fail(sandbox::classify(e, &store, limits)))?;
        let called = started.elapsed();
        let log = store.data_mut().take_log();
        // The output is the host's own copy: the instance's memory (tens of
        // megabytes for a large site) goes before the output is read.
        drop(store);
        let output = match result {
            Ok(output) => output,
            Err(guest) => {
                return Err(ComponentFailure::Guest {
                    message: guest.message,
                    pointer: guest.pointer,
                    location: guest.location,
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
            let content = RawValue::from_string(file.content).map_err(|e| {
                self.fail(malformed(&format!("file `{}` is not JSON: {e}", file.name)))
            })?;
            files.push(File {
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
                location: d.location,
            })
            .collect();
        tracing::info!(
            "component `{}`: instantiate {:.1} ms, render {:.1} ms, reading its output {:.1} ms",
            job.component.name,
            prepared.as_secs_f64() * 1000.0,
            (called - prepared).as_secs_f64() * 1000.0,
            (started.elapsed() - called).as_secs_f64() * 1000.0,
        );
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
pub(super) fn parse_objects(text: &str) -> Result<Vec<Box<RawValue>>, PluginError> {
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
    Ok(items.iter().map(|raw| (*raw).to_owned()).collect())
}

/// The array as the SDK writes it, one element per line (`[a,⏎b,⏎c]`), cut
/// at its newlines without a first pass over the whole text. `None` unless
/// every line is exactly one element and its comma, so that the result is
/// what parsing the whole array gives; the caller then parses it whole.
pub(super) fn parse_objects_by_line<'a>(text: &'a str) -> Option<Vec<Box<RawValue>>> {
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
            serde_json::from_str::<Box<RawValue>>(element).ok()
        })
        .collect()
}

fn malformed(reason: &str) -> PluginError {
    PluginError::MalformedOutput {
        reason: reason.to_owned(),
    }
}

pub(super) fn parse_info(info: PluginInfo) -> Result<Info, PluginError> {
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
    Ok(Info {
        name: info.name,
        version: info.version,
        description: info.description,
        reads_hosts,
        config_schema,
        emits: info
            .emits
            .into_iter()
            .map(|e| Emit {
                api_version: e.api_version,
                kind: e.kind,
                namespaces: e.namespaces,
            })
            .collect(),
    })
}

/// The one wildcard a plugin may declare: any kind in any namespace, for a
/// plugin whose output the user writes (templates). Such a component emits
/// exactly what the catalog's `allow` lists, and needs one.
pub fn is_any_kind(api_version: &str, kind: &str, namespaces: &[String]) -> bool {
    api_version == "*" && kind == "*" && namespaces.iter().all(|n| n == "*")
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
        if is_any_kind(&e.api_version, &e.kind, &e.namespaces) {
            continue;
        }
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
