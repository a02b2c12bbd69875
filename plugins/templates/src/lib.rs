//! `builtin:templates`: a site's own manifests, from the files the catalog
//! lists for the component (`files:`), without writing a plugin.
//!
//! - `*.j2` files are minijinja templates: each is rendered and its output
//!   read as YAML documents.
//! - `*.yaml` and `*.yml` files pass through unchanged.
//! - A file whose name starts with `_` (`templates/_labels.j2`) is not
//!   rendered on its own: templates `include`, `import` or `extends` it,
//!   naming it by its path in the site folder. Any other file is an error.
//!
//! Every document of a file is one Kubernetes object with its own
//! `metadata.namespace` (none for a cluster-scoped kind); empty documents are
//! skipped. A template can emit any kind, so the component must list what it
//! may emit in the catalog's `allow:`, and nothing else is accepted.
//!
//! Templates run in minijinja with undefined values as errors (strict), no
//! autoescaping, `trim_blocks` and `lstrip_blocks` on (a `{% ... %}` tag on a
//! line of its own leaves no line behind in the YAML), and each file's final
//! newline kept (an `{% include %}` on a line of its own gives whole lines).
//! Their context is `site` (the inventory), `catalog`, `component` (this
//! component's catalog entry), `config` (its config) and `values` (the
//! config's `values`); their extra filters are in `filters.rs`.

use std::collections::BTreeMap;

use minijinja::syntax::SyntaxConfig;
use minijinja::value::{Serde, Value as TemplateValue};
use minijinja::{AutoEscape, Environment, ErrorKind, UndefinedBehavior};
use opsmith_plugin_sdk::{
    Emit, Error, Info, Input, Output, Plugin, SourceFile, Value, export_plugin,
};
use serde::Deserialize;

mod documents;
mod filters;

use documents::{Document, YamlError};

/// What the templates of this component get besides the site and catalog.
#[derive(Debug, Default, Deserialize)]
#[cfg_attr(test, derive(serde::Serialize, schemars::JsonSchema))]
#[cfg_attr(test, schemars(title = "builtin:templates config"))]
#[serde(default, deny_unknown_fields)]
struct Config {
    /// Any values the templates need, by name: a template reads `values.x`
    /// (also `config.values.x`). The files themselves are listed in the
    /// component's `files:`, and the kinds they may emit in its `allow:`.
    values: BTreeMap<String, Value>,
}

/// The plugin; public so that native code (tests, benchmarks) can render with it.
pub struct Templates;

impl Plugin for Templates {
    fn describe() -> Info {
        Info::new("templates", env!("CARGO_PKG_VERSION"))
            .description(
                "The site's own manifests from the component's `files:`: minijinja templates \
                 (*.j2) and plain YAML (*.yaml); any kind, so the catalog's `allow:` list is \
                 required and nothing outside it is emitted",
            )
            .config_schema_json(include_str!("config.schema.json"))
            // Any kind, namespaced or not: the catalog's `allow` narrows it.
            .emits(ANY, ANY, &[ANY])
            .emits(ANY, ANY, &[])
    }

    fn render(input: &Input) -> Result<Output, Error> {
        let config: Config = input.config()?;
        let allowed = allowed_kinds(input)?;
        let roles = input
            .files
            .iter()
            .map(|file| Ok((file, role(file)?)))
            .collect::<Result<Vec<_>, Error>>()?;

        let mut env = environment();
        for (file, role) in &roles {
            if *role != Role::Manifest {
                env.add_template(&file.path, &file.content)
                    .map_err(|e| template_error(&e, &input.files))?;
            }
        }
        let context = context(input, &config);

        let mut out = Output::new();
        for (file, role) in roles {
            match role {
                Role::Partial => {}
                Role::Manifest => {
                    let documents = documents::parse(&file.content)
                        .map_err(|e| Error::in_file(&file.path, e.line, e.column, e.message))?;
                    for document in documents {
                        emit(&mut out, document, allowed, &file.path, |at| {
                            (at, String::new())
                        })?;
                    }
                }
                Role::Template => {
                    let rendered = env
                        .get_template(&file.path)
                        .and_then(|t| t.render(&context))
                        .map_err(|e| template_error(&e, &input.files))?;
                    let documents = documents::parse(&rendered)
                        .map_err(|e| rendered_yaml_error(file, &rendered, e))?;
                    // A place in the output is a place in the template only
                    // on a literal line (see `template_line`); otherwise the
                    // message says which line of the output.
                    let at = |(line, column): (u32, u32)| match documents::template_line(
                        &file.content,
                        &rendered,
                        line,
                    ) {
                        Some(line) => ((line, column), String::new()),
                        None => ((0, 0), format!(" (line {line} of the template's output)")),
                    };
                    for document in documents {
                        emit(&mut out, document, allowed, &file.path, at)?;
                    }
                }
            }
        }
        Ok(out)
    }
}

export_plugin!(Templates);

/// How `describe` says "any": an apiVersion, kind or namespace of `*`.
const ANY: &str = "*";

/// What is done with one of the component's files.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    /// `*.j2`: rendered, and its output read as YAML.
    Template,
    /// `*.yaml`, `*.yml`: read as it is.
    Manifest,
    /// `_*`: only included, imported or extended by templates.
    Partial,
}

/// The file's role, by its name.
fn role(file: &SourceFile) -> Result<Role, Error> {
    let name = file.path.rsplit('/').next().unwrap_or_default();
    if name.starts_with('_') {
        Ok(Role::Partial)
    } else if name.ends_with(".j2") {
        Ok(Role::Template)
    } else if name.ends_with(".yaml") || name.ends_with(".yml") {
        Ok(Role::Manifest)
    } else {
        let folder = file.path.strip_suffix(name).unwrap_or_default();
        Err(Error::in_file(
            &file.path,
            1,
            1,
            format!(
                "builtin:templates renders templates (`*.j2`) and passes YAML manifests \
                 (`*.yaml`, `*.yml`) through; a file that templates include is named with \
                 a leading `_`, such as `{folder}_{name}`"
            ),
        ))
    }
}

/// The kinds this component may emit, as opsmith filled them in from the
/// catalog's `allow` list: required, since the plugin itself declares any.
fn allowed_kinds(input: &Input) -> Result<&[Emit], Error> {
    let emits = input
        .this_component()
        .and_then(|c| c.emits.as_deref())
        .unwrap_or_default();
    let unnarrowed = emits.iter().any(|e| e.api_version == ANY || e.kind == ANY);
    if emits.is_empty() || unnarrowed {
        return Err(Error::new(
            "builtin:templates needs the component's `allow:` list in the catalog: templates \
             can emit any kind, so the catalog names those this component may, such as \
             `allow: [{apiVersion: v1, kind: ConfigMap, namespaces: [monitoring]}]`",
        ));
    }
    Ok(emits)
}

/// Strict undefined values, no autoescaping (this is YAML, not HTML), block
/// tags that leave no blank lines, and the extra filters. Files keep their
/// final newline, so that an `{% include %}` on a line of its own gives the
/// included lines and no more: with `trim_blocks` alone, the included text's
/// last line would run into the line after the tag.
fn environment<'a>() -> Environment<'a> {
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    env.set_auto_escape_callback(|_| AutoEscape::None);
    // Errors carry the byte range their column is computed from.
    env.set_debug(true);
    if let Ok(syntax) = SyntaxConfig::builder()
        .trim_blocks(true)
        .lstrip_blocks(true)
        .keep_trailing_newline(true)
        .build()
    {
        env.set_syntax(syntax);
    }
    // Only the component's files, which `render` adds: nothing is loaded
    // from anywhere else.
    filters::register(&mut env);
    env
}

/// What every template sees.
fn context(input: &Input, config: &Config) -> TemplateValue {
    minijinja::context! {
        site => TemplateValue::from(Serde(&input.site)),
        catalog => TemplateValue::from(Serde(&input.catalog)),
        component => TemplateValue::from(Serde(input.this_component())),
        config => TemplateValue::from(Serde(&input.config)),
        values => TemplateValue::from(Serde(&config.values)),
    }
}

/// A minijinja error at its file, line and column. An error inside an
/// included template is placed there, and says where it was included from.
fn template_error(err: &minijinja::Error, files: &[SourceFile]) -> Error {
    let mut innermost = err;
    let mut included_from = Vec::new();
    while innermost.kind() == ErrorKind::BadInclude
        && let Some(inner) =
            std::error::Error::source(innermost).and_then(|s| s.downcast_ref::<minijinja::Error>())
    {
        if let (Some(name), Some(line)) = (innermost.name(), innermost.line()) {
            included_from.push(format!("{name}:{line}"));
        }
        innermost = inner;
    }
    let mut message = match innermost.detail() {
        Some(detail) => format!("{}: {detail}", innermost.kind()),
        None => innermost.kind().to_string(),
    };
    if innermost.kind() == ErrorKind::TemplateNotFound {
        message.push_str(
            "; templates include the component's files by their path in the site folder, \
             such as `templates/_labels.j2`, and only files the catalog lists in `files:`",
        );
    }
    for place in included_from.iter().rev() {
        message.push_str(&format!(" (included from {place})"));
    }
    let Some(path) = innermost.name() else {
        return Error::new(message);
    };
    let source = files
        .iter()
        .find(|f| f.path == path)
        .map_or("", |f| f.content.as_str());
    let (line, column) = match innermost.range() {
        Some(range) if range.start <= source.len() && source.is_char_boundary(range.start) => {
            position(source, range.start)
        }
        _ => (innermost.line().unwrap_or(0), 0),
    };
    Error::in_file(path, to_u32(line), to_u32(column), message)
}

/// Line and column (both from 1, the column in characters) of byte `offset`.
fn position(source: &str, offset: usize) -> (usize, usize) {
    let before = &source[..offset];
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    (
        before.matches('\n').count() + 1,
        before[line_start..].chars().count() + 1,
    )
}

fn to_u32(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// A template's output that is not YAML: at the template line that printed
/// the bad line when it can be traced, else at the template, quoting the line.
fn rendered_yaml_error(file: &SourceFile, rendered: &str, e: YamlError) -> Error {
    if let Some(line) = documents::template_line(&file.content, rendered, e.line) {
        return Error::in_file(
            &file.path,
            line,
            e.column,
            format!("the template's output is not valid YAML: {}", e.message),
        );
    }
    Error::in_file(
        &file.path,
        0,
        0,
        format!(
            "the template's output is not valid YAML at its line {}, column {} (`{}`): {}",
            e.line,
            e.column,
            documents::line_of(rendered, e.line),
            e.message
        ),
    )
}

/// Adds one document as an object, when it is one this component may emit.
/// `at` turns a place in the text that was read into a place in the file,
/// and what to add to the message when it cannot.
fn emit(
    out: &mut Output,
    document: Document,
    allowed: &[Emit],
    path: &str,
    at: impl Fn((u32, u32)) -> ((u32, u32), String),
) -> Result<(), Error> {
    let Document {
        object,
        at: start,
        kind_at,
    } = document;
    let text = |key: &str| object.get(key).and_then(Value::as_str);
    let fail = |place, message: &str| {
        let ((line, column), unplaced) = at(place);
        Err(Error::in_file(
            path,
            line,
            column,
            format!("{message}{unplaced}"),
        ))
    };
    let Some(api_version) = text("apiVersion") else {
        return fail(start, "the object has no `apiVersion`");
    };
    let Some(kind) = text("kind") else {
        return fail(start, "the object has no `kind`");
    };
    let metadata = object.get("metadata");
    let name = metadata
        .and_then(|m| m.get("name"))
        .and_then(Value::as_str)
        .unwrap_or("?");
    let namespace = metadata
        .and_then(|m| m.get("namespace"))
        .and_then(Value::as_str);
    if !permits(allowed, api_version, kind, namespace) {
        let what = match namespace {
            Some(ns) => format!("{kind} `{ns}/{name}` ({api_version})"),
            None => format!("{kind} `{name}` ({api_version}, no namespace)"),
        };
        return fail(
            kind_at.unwrap_or(start),
            &format!("{what} is not in this component's `allow:` list in the catalog"),
        );
    }
    out.object(Value::Object(object));
    Ok(())
}

/// As opsmith checks it: the kind is allowed in that namespace (`*` for
/// any), or cluster-scoped when the object has no namespace.
fn permits(allowed: &[Emit], api_version: &str, kind: &str, namespace: Option<&str>) -> bool {
    allowed.iter().any(|a| {
        a.api_version == api_version
            && a.kind == kind
            && match namespace {
                None => a.namespaces.is_empty(),
                Some(ns) => a.namespaces.iter().any(|n| n == ANY || n == ns),
            }
    })
}

#[cfg(test)]
mod tests;
