// The crate's documentation is its README: one text on crates.io, GitHub and
// docs.rs, and its complete plugin runs as a doctest. Only rustdoc reads it;
// the built-in plugins build this crate from a copy of src/ without it.
#![cfg_attr(any(doc, doctest), doc = include_str!("../README.md"))]
#![cfg_attr(
    not(any(doc, doctest)),
    doc = "Write opsmith renderer plugins in Rust; the guide is README.md."
)]
#![deny(missing_docs)]

pub mod github_app;
pub mod nmstate;
pub mod site;

use serde::Serialize;
use serde::de::DeserializeOwned;
pub use serde_json::{Value, json};

pub use site::{AppCatalog, Component, Host, Role, SiteInventory};

/// A renderer plugin. Implement it on a unit struct and export it with
/// [`export_plugin!`].
pub trait Plugin {
    /// Names the plugin, declares its config schema and the kinds it emits.
    fn describe() -> Info;
    /// Renders the component described by `input`.
    fn render(input: &Input) -> Result<Output, Error>;

    /// Whether `render` reads `input.site.spec.hosts`. A plugin that does not
    /// sets this to `false`: `describe` then says so (see
    /// [`READS_HOSTS_KEYWORD`]), opsmith sends the site with an empty host
    /// list, and the SDK skips building hosts from a host that sent them
    /// anyway. On a site of thousands of hosts, reading them is most of such
    /// a plugin's work. Its `hosts` is empty.
    const READS_HOSTS: bool = true;
}

/// The keyword of a config schema by which a plugin tells opsmith that it does
/// not read the site's hosts (`"x-opsmith-reads-hosts": false`). JSON Schema
/// ignores keywords it does not know, and the contract stays as it is: a
/// plugin that says nothing is sent every host.
pub const READS_HOSTS_KEYWORD: &str = "x-opsmith-reads-hosts";

/// `P`'s config schema as `describe` sends it: with [`READS_HOSTS_KEYWORD`]
/// when `P` reads no hosts.
pub fn described_config_schema<P: Plugin>(mut schema: Value) -> Value {
    if !P::READS_HOSTS
        && let Some(keywords) = schema.as_object_mut()
    {
        keywords.insert(READS_HOSTS_KEYWORD.to_owned(), Value::Bool(false));
    }
    schema
}

/// What [`Plugin::describe`] returns.
#[derive(Debug, Clone)]
pub struct Info {
    /// Plugin name.
    pub name: String,
    /// Plugin version (use `env!("CARGO_PKG_VERSION")`).
    pub version: String,
    /// One line on what it renders.
    pub description: String,
    /// JSON Schema of the component's `config`.
    pub config_schema: Value,
    /// Kinds the plugin renders; opsmith refuses anything else.
    pub emits: Vec<Emit>,
}

/// One kind a plugin may emit: in [`Info`], what the plugin declares; in a
/// catalog [`Component`]'s `emits`, what opsmith lets that component emit.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Emit {
    /// `apiVersion`, such as `metal3.io/v1alpha1`.
    pub api_version: String,
    /// `kind`, such as `BareMetalHost`.
    pub kind: String,
    /// Namespaces allowed; empty for cluster-scoped kinds, `*` for any.
    #[serde(default)]
    pub namespaces: Vec<String>,
}

impl Emit {
    /// The API group of `api_version`: `metal3.io` for `metal3.io/v1alpha1`,
    /// `""` for the core group's `v1`.
    pub fn group(&self) -> &str {
        self.api_version
            .rsplit_once('/')
            .map_or("", |(group, _)| group)
    }

    /// Whether the kind is cluster-scoped: it may be emitted in no namespace.
    pub fn is_cluster_scoped(&self) -> bool {
        self.namespaces.is_empty()
    }
}

impl Info {
    /// A plugin with no config (the schema accepts only `{}`) that emits nothing yet.
    pub fn new(name: &str, version: &str) -> Self {
        Info {
            name: name.to_owned(),
            version: version.to_owned(),
            description: String::new(),
            config_schema: json!({
                "$schema": "https://json-schema.org/draft/2020-12/schema",
                "type": "object",
                "additionalProperties": false,
            }),
            emits: Vec::new(),
        }
    }

    /// Sets the one-line description.
    pub fn description(mut self, text: &str) -> Self {
        self.description = text.to_owned();
        self
    }

    /// Sets the JSON Schema of the component's `config`.
    pub fn config_schema(mut self, schema: Value) -> Self {
        self.config_schema = schema;
        self
    }

    /// Sets the JSON Schema of the component's `config` from its text, as
    /// `include_str!("config.schema.json")` gives it.
    ///
    /// # Panics
    ///
    /// When `text` is not JSON: a plugin's own file, which its tests read
    /// (see [`testing::check_config_schema`]).
    pub fn config_schema_json(self, text: &str) -> Self {
        let schema = serde_json::from_str(text)
            .unwrap_or_else(|e| panic!("the plugin's config schema is not JSON: {e}"));
        self.config_schema(schema)
    }

    /// Declares a kind the plugin emits, and the namespaces it may use
    /// (`&[]` for cluster-scoped kinds, `&["*"]` for any namespace).
    pub fn emits(mut self, api_version: &str, kind: &str, namespaces: &[&str]) -> Self {
        self.emits.push(Emit {
            api_version: api_version.to_owned(),
            kind: kind.to_owned(),
            namespaces: namespaces.iter().map(|n| (*n).to_owned()).collect(),
        });
        self
    }
}

/// The input of a render call: the validated site and catalog, and this
/// component's name and config.
#[derive(Debug, Clone)]
pub struct Input {
    /// This component's name in the catalog.
    pub component: String,
    /// site/inventory.yaml.
    pub site: SiteInventory,
    /// site/catalog.yaml; each component carries its `path` in the GitOps repo.
    pub catalog: AppCatalog,
    /// This component's raw `config` (`{}` when the catalog gives none).
    pub config: Value,
    /// The files the catalog lists for this component (`files:` globs,
    /// relative to the site folder), sorted by path. Empty from an opsmith
    /// that speaks WIT 0.1.0.
    pub files: Vec<SourceFile>,
}

/// A file of the site folder that the catalog gives a component.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceFile {
    /// Relative to the site folder, with `/` between folders, such as
    /// `templates/chrony.yaml.j2`.
    pub path: String,
    /// The file's text (opsmith refuses a file that is not UTF-8).
    pub content: String,
}

impl Input {
    /// Parses the three JSON documents opsmith passes to `render`.
    pub fn from_json(
        component: &str,
        site: &str,
        catalog: &str,
        config: &str,
    ) -> Result<Self, Error> {
        Self::parse(component, site, catalog, config, true)
    }

    /// As [`Input::from_json`] for plugin `P`: without the hosts when `P`
    /// does not read them.
    pub fn for_plugin<P: Plugin>(
        component: &str,
        site: &str,
        catalog: &str,
        config: &str,
    ) -> Result<Self, Error> {
        Self::parse(component, site, catalog, config, P::READS_HOSTS)
    }

    fn parse(
        component: &str,
        site: &str,
        catalog: &str,
        config: &str,
        with_hosts: bool,
    ) -> Result<Self, Error> {
        Ok(Input {
            component: component.to_owned(),
            site: site::parse_inventory(site, with_hosts).map_err(|e| {
                Error::at("/site", format!("site does not match the SDK's model: {e}"))
            })?,
            catalog: serde_json::from_str(catalog).map_err(|e| {
                Error::at(
                    "/catalog",
                    format!("catalog does not match the SDK's model: {e}"),
                )
            })?,
            config: serde_json::from_str(config)
                .map_err(|e| Error::at("/config", format!("config is not JSON: {e}")))?,
            files: Vec::new(),
        })
    }

    /// The input with the component's files.
    pub fn with_files(mut self, files: Vec<SourceFile>) -> Self {
        self.files = files;
        self
    }

    /// This component's config as `T`; `serde(default)` on `T` fills in what
    /// the catalog leaves out.
    pub fn config<T: DeserializeOwned>(&self) -> Result<T, Error> {
        T::deserialize(&self.config).map_err(|e| Error::at("/config", e.to_string()))
    }

    /// This component's catalog entry.
    pub fn this_component(&self) -> Option<&Component> {
        self.catalog
            .spec
            .components
            .iter()
            .find(|c| c.name == self.component)
    }
}

/// How serious a [`Diagnostic`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    /// For the log.
    Info,
    /// Shown, does not fail the render.
    Warning,
    /// Fails the render.
    Error,
}

/// A message about the input, pointing at the node it concerns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// How serious.
    pub severity: Severity,
    /// What is wrong, lowercase, no trailing period.
    pub message: String,
    /// JSON pointer into the input: `/site/spec/hosts/0/bmc`, `/config/replicas`.
    pub pointer: String,
    /// Where in one of the component's files, for a message about a file.
    pub location: Option<FileLocation>,
}

/// How opsmith writes a [`File`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileFormat {
    /// YAML, canonical like every object.
    Yaml,
    /// JSON, pretty-printed.
    Json,
}

/// A file that is not a Kubernetes object and that no cluster reconciles
/// (install-config.yaml, a GitHub App manifest).
#[derive(Debug, Clone)]
pub struct File {
    /// Plain file name.
    pub name: String,
    /// How opsmith writes it.
    pub format: FileFormat,
    /// The content.
    pub content: Value,
    /// A schema opsmith checks the content against, such as
    /// `install.openshift.io/v1/InstallConfig`.
    pub schema: Option<String>,
}

/// What a render returns.
#[derive(Debug, Clone, Default)]
pub struct Output {
    /// Kubernetes objects added as values ([`Output::object`]); with the
    /// serialised ones, [`Output::objects`].
    values: Vec<Value>,
    /// Day-0 files added as values ([`Output::file`]); with the serialised
    /// ones, [`Output::files`].
    file_values: Vec<File>,
    /// Warnings and notes.
    pub diagnostics: Vec<Diagnostic>,
    /// Kubernetes objects added by [`Output::serialize`], already JSON text:
    /// `[` and the objects with [`OBJECT_SEPARATOR`] between them, empty
    /// while there are none. One buffer rather than a string per object
    /// saves allocations, and the host receives it without a copy.
    serialized: Vec<u8>,
    /// Day-0 files added by [`Output::serialize_file`], content as JSON text.
    serialized_files: Vec<SerializedFile>,
}

/// Between two objects in [`Output::objects_json`]. serde_json escapes a
/// newline inside a string, so this newline only ever separates objects.
const OBJECT_SEPARATOR: &[u8] = b",\n";

/// A day-0 file whose content is already JSON text.
#[derive(Debug, Clone)]
pub(crate) struct SerializedFile {
    pub(crate) name: String,
    pub(crate) format: FileFormat,
    pub(crate) content: String,
    pub(crate) schema: Option<String>,
}

impl Output {
    /// An empty output.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a Kubernetes object.
    pub fn object(&mut self, object: Value) -> &mut Self {
        self.values.push(object);
        self
    }

    /// Adds a Kubernetes object from any serialisable type (typically a
    /// struct deriving `Serialize`). It is written to JSON at once, without
    /// building a [`Value`]: for a plugin that renders thousands of objects
    /// this is several times faster than [`Output::object`] with `json!`.
    /// opsmith orders objects by path, so the order of calls does not show.
    pub fn serialize<T: Serialize>(&mut self, object: &T) -> Result<&mut Self, Error> {
        let before = self.serialized.len();
        if before == 0 {
            self.serialized.push(b'[');
        } else {
            self.serialized.extend_from_slice(OBJECT_SEPARATOR);
        }
        if let Err(e) = serde_json::to_writer(&mut self.serialized, object) {
            self.serialized.truncate(before);
            return Err(Error::new(e.to_string()));
        }
        Ok(self)
    }

    /// Every object, however it was added ([`Output::object`] or
    /// [`Output::serialize`]), as values: for tests.
    pub fn objects(&self) -> Vec<Value> {
        let mut all = self.values.clone();
        if !self.serialized.is_empty() {
            let mut array = self.serialized.clone();
            array.push(b']');
            all.extend(serde_json::from_slice::<Vec<Value>>(&array).unwrap_or_default());
        }
        all
    }

    /// Every object as one JSON array, as the host receives it: objects
    /// separated by `,` and a newline, which lets the host cut the array
    /// into objects without parsing it first.
    pub fn objects_json(&self) -> Result<String, Error> {
        let mut out = Vec::with_capacity(self.serialized.len() + self.values.len() * 512 + 2);
        out.push(b'[');
        for object in &self.values {
            if out.len() > 1 {
                out.extend_from_slice(OBJECT_SEPARATOR);
            }
            serde_json::to_writer(&mut out, object).map_err(|e| Error::new(e.to_string()))?;
        }
        if let Some(serialized) = self.serialized.get(1..) {
            if out.len() > 1 {
                out.extend_from_slice(OBJECT_SEPARATOR);
            }
            out.extend_from_slice(serialized);
        }
        out.push(b']');
        String::from_utf8(out).map_err(|e| Error::new(e.to_string()))
    }

    /// [`Output::objects_json`], moving the serialised objects out rather
    /// than copying them when there are no others (tens of megabytes for a
    /// large site).
    #[cfg_attr(not(feature = "guest"), allow(dead_code))]
    pub(crate) fn take_objects_json(&mut self) -> Result<String, Error> {
        if !self.values.is_empty() || self.serialized.is_empty() {
            return self.objects_json();
        }
        let mut json = std::mem::take(&mut self.serialized);
        json.push(b']');
        String::from_utf8(json).map_err(|e| Error::new(e.to_string()))
    }

    /// Adds a day-0 file.
    pub fn file(&mut self, file: File) -> &mut Self {
        self.file_values.push(file);
        self
    }

    /// Adds a day-0 file whose content is any serialisable type, written to
    /// JSON at once as [`Output::serialize`] does for objects: for a large
    /// file (an install-config of thousands of hosts) several times faster
    /// than building a [`Value`].
    pub fn serialize_file<T: Serialize>(
        &mut self,
        name: &str,
        format: FileFormat,
        schema: Option<&str>,
        content: &T,
    ) -> Result<&mut Self, Error> {
        let content = serde_json::to_string(content).map_err(|e| Error::new(e.to_string()))?;
        self.serialized_files.push(SerializedFile {
            name: name.to_owned(),
            format,
            content,
            schema: schema.map(str::to_owned),
        });
        Ok(self)
    }

    /// Every day-0 file, however it was added ([`Output::file`] or
    /// [`Output::serialize_file`]), with its content as a value: for tests.
    pub fn files(&self) -> Vec<File> {
        let mut all = self.file_values.clone();
        all.extend(self.serialized_files.iter().map(|f| File {
            name: f.name.clone(),
            format: f.format,
            content: serde_json::from_str(&f.content).unwrap_or(Value::Null),
            schema: f.schema.clone(),
        }));
        all
    }

    /// Every day-0 file as the host receives it, content as JSON text.
    #[cfg_attr(not(feature = "guest"), allow(dead_code))]
    pub(crate) fn into_serialized_files(self) -> Vec<SerializedFile> {
        let mut all: Vec<SerializedFile> = self
            .file_values
            .into_iter()
            .map(|f| SerializedFile {
                name: f.name,
                format: f.format,
                content: f.content.to_string(),
                schema: f.schema,
            })
            .collect();
        all.extend(self.serialized_files);
        all
    }

    /// Adds a warning about the node at `pointer`.
    pub fn warn(&mut self, pointer: &str, message: impl Into<String>) -> &mut Self {
        self.diagnostics.push(Diagnostic {
            severity: Severity::Warning,
            message: message.into(),
            pointer: pointer.to_owned(),
            location: None,
        });
        self
    }

    /// Adds a warning about `line` and `column` of the component's file
    /// `path` (a [`SourceFile::path`]).
    pub fn warn_in_file(
        &mut self,
        path: &str,
        line: u32,
        column: u32,
        message: impl Into<String>,
    ) -> &mut Self {
        self.diagnostics.push(Diagnostic {
            severity: Severity::Warning,
            message: message.into(),
            pointer: String::new(),
            location: Some(FileLocation::new(path, line, column)),
        });
        self
    }
}

/// Why a render failed; opsmith shows it with the file and line `pointer` names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    /// What is wrong.
    pub message: String,
    /// JSON pointer into the input, empty for the whole input.
    pub pointer: String,
    /// Where in one of the component's files (see [`Input::files`]), for an
    /// error in a file rather than in the catalog.
    pub location: Option<FileLocation>,
}

/// A place in one of the component's files; opsmith shows it as
/// `FILE:LINE:COLUMN`, relative to the site folder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileLocation {
    /// The file's [`SourceFile::path`].
    pub path: String,
    /// From 1; 0 when only the file is known.
    pub line: u32,
    /// From 1; 0 when only the line is known.
    pub column: u32,
}

impl FileLocation {
    /// `line` and `column` of the component's file `path`.
    pub fn new(path: &str, line: u32, column: u32) -> Self {
        FileLocation {
            path: path.to_owned(),
            line,
            column,
        }
    }
}

impl Error {
    /// An error about the input as a whole.
    pub fn new(message: impl Into<String>) -> Self {
        Error {
            message: message.into(),
            pointer: String::new(),
            location: None,
        }
    }

    /// An error about the node at `pointer`, such as `/config/orgs/0`.
    pub fn at(pointer: &str, message: impl Into<String>) -> Self {
        Error {
            message: message.into(),
            pointer: pointer.to_owned(),
            location: None,
        }
    }

    /// An error at `line` and `column` of the component's file `path` (a
    /// [`SourceFile::path`]), such as a template's syntax error.
    pub fn in_file(path: &str, line: u32, column: u32, message: impl Into<String>) -> Self {
        Error {
            message: message.into(),
            pointer: String::new(),
            location: Some(FileLocation::new(path, line, column)),
        }
    }
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.location {
            Some(at) if at.line == 0 => write!(f, "{}: {}", at.path, self.message),
            Some(at) if at.column > 0 => {
                write!(f, "{}:{}:{}: {}", at.path, at.line, at.column, self.message)
            }
            Some(at) => write!(f, "{}:{}: {}", at.path, at.line, self.message),
            None if self.pointer.is_empty() => f.write_str(&self.message),
            None => write!(f, "{}: {}", self.pointer, self.message),
        }
    }
}

impl std::error::Error for Error {}

/// Runs a plugin's `render` on JSON input, natively: what plugin tests use.
///
/// ```
/// # use opsmith_plugin_sdk::{testing, Info, Input, Output, Plugin, Error};
/// # struct P;
/// # impl Plugin for P {
/// #     fn describe() -> Info { Info::new("p", "0.1.0") }
/// #     fn render(_: &Input) -> Result<Output, Error> { Ok(Output::new()) }
/// # }
/// let out = testing::render::<P>("p", testing::EXAMPLE_SITE, testing::EXAMPLE_CATALOG, "{}").unwrap();
/// assert!(out.objects().is_empty());
/// ```
pub mod testing {
    use super::{Error, Input, Output, Plugin};

    /// A small site (one control-plane host, one worker) as JSON.
    pub const EXAMPLE_SITE: &str = include_str!("example-site.json");
    /// A catalog with one component, `example`, as JSON.
    pub const EXAMPLE_CATALOG: &str = include_str!("example-catalog.json");

    /// An `AppCatalog` as JSON, named `example`, around `components`; each
    /// component without a `path` gets `clusters/example/<name>`, as opsmith
    /// fills it in.
    pub fn catalog_with(components: Vec<serde_json::Value>) -> String {
        let components: Vec<serde_json::Value> = components
            .into_iter()
            .map(|mut c| {
                if c.get("path").is_none() {
                    let name = c["name"].as_str().unwrap_or_default().to_owned();
                    c["path"] = serde_json::json!(format!("clusters/example/{name}"));
                }
                c
            })
            .collect();
        serde_json::json!({
            "apiVersion": crate::site::API_VERSION,
            "kind": "AppCatalog",
            "metadata": { "name": "example" },
            "spec": {
                "gitops": {
                    "repoURL": "https://git.example.org/example/manifests.git",
                    "targetRevision": "main",
                    "path": "clusters/example",
                },
                "components": components,
            },
        })
        .to_string()
    }

    /// Checks a config schema against the config type's defaults: closed,
    /// every property described, and each `default` equal to the value
    /// `T::default()` serialises to.
    pub fn assert_schema_matches_defaults<T: serde::Serialize + Default>(
        schema: &serde_json::Value,
    ) {
        assert_eq!(
            schema["additionalProperties"], false,
            "the config schema must be closed"
        );
        let defaults = serde_json::to_value(T::default()).expect("the config serialises");
        let properties = schema["properties"]
            .as_object()
            .expect("the schema lists properties");
        assert_eq!(
            properties.len(),
            defaults.as_object().map_or(0, |d| d.len()),
            "one property per config field"
        );
        for (name, property) in properties {
            assert!(
                property["description"].is_string(),
                "`{name}` has no description"
            );
            assert_eq!(property["default"], defaults[name], "default of `{name}`");
        }
    }

    /// Checks a plugin's config schema file (`path`) two ways: it is the
    /// schema `generated` from the config type `T` (see
    /// [`check_schema_file`]), and the defaults it shows are `T::default()`'s
    /// (see [`assert_schema_matches_defaults`]).
    #[cfg(not(target_arch = "wasm32"))]
    #[track_caller]
    pub fn check_config_schema<T: serde::Serialize + Default>(
        generated: &serde_json::Value,
        path: &str,
    ) {
        check_schema_file(generated, path);
        let text =
            std::fs::read_to_string(path).unwrap_or_else(|e| panic!("cannot read {path}: {e}"));
        let schema =
            serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path} is not JSON: {e}"));
        assert_schema_matches_defaults::<T>(&schema);
    }

    /// The object of `kind` named `name` in `out`: `namespace/name` as
    /// kubectl writes it, or a bare name for the first object of that name
    /// in any namespace.
    ///
    /// # Panics
    ///
    /// When `out` holds no such object, listing what it holds.
    #[track_caller]
    pub fn object(out: &Output, kind: &str, name: &str) -> serde_json::Value {
        let (namespace, name) = match name.split_once('/') {
            Some((namespace, name)) => (Some(namespace), name),
            None => (None, name),
        };
        let objects = out.objects();
        let found = objects.iter().position(|o| {
            o["kind"] == kind
                && o["metadata"]["name"] == name
                && namespace
                    .is_none_or(|ns| o["metadata"]["namespace"].as_str().unwrap_or("") == ns)
        });
        match found {
            Some(i) => objects.into_iter().nth(i).unwrap_or_default(),
            None => {
                let held: Vec<String> = objects
                    .iter()
                    .map(|o| {
                        let kind = o["kind"].as_str().unwrap_or("?");
                        let name = o["metadata"]["name"].as_str().unwrap_or("?");
                        match o["metadata"]["namespace"].as_str() {
                            Some(ns) => format!("{kind} {ns}/{name}"),
                            None => format!("{kind} {name}"),
                        }
                    })
                    .collect();
                let namespace = namespace.map(|ns| format!("{ns}/")).unwrap_or_default();
                panic!(
                    "no {kind} {namespace}{name} in the output, which holds: {}",
                    held.join(", ")
                )
            }
        }
    }

    /// The environment variable that makes [`check_schema_file`] write the
    /// file instead of comparing it: `OPSMITH_BLESS_SCHEMAS=1`.
    #[cfg(not(target_arch = "wasm32"))]
    pub const BLESS_SCHEMAS: &str = "OPSMITH_BLESS_SCHEMAS";

    /// Checks that the schema file at `path`, which the plugin's `describe`
    /// includes, is `generated`: the schema generated from the config type
    /// (by `schemars`, say), tidied by [`tidy_generated_schema`], as pretty
    /// JSON with a trailing newline, byte for byte. With
    /// `OPSMITH_BLESS_SCHEMAS=1` it writes the file instead.
    ///
    /// # Panics
    ///
    /// When the file differs, naming the command that regenerates it.
    #[cfg(not(target_arch = "wasm32"))]
    #[track_caller]
    pub fn check_schema_file(generated: &serde_json::Value, path: &str) {
        let bless = std::env::var_os(BLESS_SCHEMAS).is_some_and(|v| v == "1");
        if let Err(message) = check_or_bless(generated, std::path::Path::new(path), bless) {
            panic!("{message}");
        }
    }

    #[cfg(not(target_arch = "wasm32"))]
    pub(crate) fn check_or_bless(
        generated: &serde_json::Value,
        path: &std::path::Path,
        bless: bool,
    ) -> Result<(), String> {
        let mut schema = generated.clone();
        tidy_generated_schema(&mut schema);
        let text = serde_json::to_string_pretty(&schema).map_err(|e| e.to_string())? + "\n";
        let current = std::fs::read_to_string(path).unwrap_or_default();
        if current == text {
            return Ok(());
        }
        if bless {
            return std::fs::write(path, text)
                .map_err(|e| format!("cannot write {}: {e}", path.display()));
        }
        // Cargo sets the package's name when it runs its tests.
        let package = std::env::var("CARGO_PKG_NAME").unwrap_or_else(|_| "<crate>".to_owned());
        let difference = current
            .lines()
            .chain(std::iter::repeat(""))
            .zip(text.lines())
            .position(|(old, new)| old != new)
            .map_or_else(String::new, |i| {
                format!(
                    " (line {}: `{}` should be `{}`)",
                    i + 1,
                    current.lines().nth(i).unwrap_or_default().trim(),
                    text.lines().nth(i).unwrap_or_default().trim()
                )
            });
        Err(format!(
            "{} is not the schema generated from the config type{difference}; \
             regenerate it with `{BLESS_SCHEMAS}=1 cargo test -p {package} config_schema` \
             and review the difference",
            path.display()
        ))
    }

    /// Makes a schema generated from Rust types say what the input file
    /// means, and no more:
    /// - the lines of each `description` (a doc comment's) are joined with
    ///   spaces, as rustdoc joins them; a blank line stays a paragraph break;
    /// - an `Option` field is optional, not nullable: YAML's `null` is not a
    ///   value any setting takes, so `null` leaves types, `anyOf`s and
    ///   defaults;
    /// - the integer and float `format`s that name Rust's types (`uint32`,
    ///   `double`) go: JSON has numbers, and the ranges stay.
    ///
    /// Values (`default`, `const`, `enum`, `examples`) are otherwise left alone.
    #[cfg(not(target_arch = "wasm32"))]
    pub fn tidy_generated_schema(schema: &mut serde_json::Value) {
        use serde_json::Value;
        let Value::Object(keywords) = schema else {
            return;
        };
        for (keyword, value) in keywords.iter_mut() {
            match (keyword.as_str(), value) {
                ("description", Value::String(text)) => *text = join_lines(text),
                ("default", Value::Object(members)) => members.retain(|_, v| !v.is_null()),
                ("const" | "enum" | "examples" | "default", _) => {}
                // Keyed by property (or definition) name: each value is a
                // schema, whatever its key.
                (
                    "properties" | "patternProperties" | "$defs" | "definitions"
                    | "dependentSchemas",
                    Value::Object(schemas),
                ) => schemas.values_mut().for_each(tidy_generated_schema),
                (_, Value::Array(items)) => items.iter_mut().for_each(tidy_generated_schema),
                (_, value) => tidy_generated_schema(value),
            }
        }
        if keywords.get("default").is_some_and(Value::is_null) {
            keywords.remove("default");
        }
        if let Some(Value::Array(types)) = keywords.get_mut("type") {
            types.retain(|t| t != "null");
            if let [only] = types.as_slice() {
                let only = only.clone();
                keywords.insert("type".to_owned(), only);
            }
        }
        if let Some(Value::Array(enumerated)) = keywords.get_mut("enum") {
            enumerated.retain(|v| !v.is_null());
        }
        if let Some(Value::Array(branches)) = keywords.get_mut("anyOf") {
            branches.retain(|b| b.get("type").is_none_or(|t| t != "null"));
            if let [only] = branches.as_slice()
                && let Value::Object(inner) = only.clone()
            {
                keywords.remove("anyOf");
                for (keyword, value) in inner {
                    keywords.entry(keyword).or_insert(value);
                }
            }
        }
        let is_number = keywords
            .get("type")
            .is_some_and(|t| t == "integer" || t == "number");
        if is_number {
            keywords.remove("format");
        }
    }

    #[cfg(not(target_arch = "wasm32"))]
    fn join_lines(text: &str) -> String {
        text.split("\n\n")
            .map(|paragraph| {
                paragraph
                    .lines()
                    .map(str::trim)
                    .filter(|line| !line.is_empty())
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .collect::<Vec<_>>()
            .join("\n\n")
    }

    /// Parses the input as opsmith would and calls `P::render`.
    pub fn render<P: Plugin>(
        component: &str,
        site: &str,
        catalog: &str,
        config: &str,
    ) -> Result<Output, Error> {
        render_with_files::<P>(component, site, catalog, config, &[])
    }

    /// As [`render`], with the component's files: `(path, content)` pairs,
    /// which opsmith would give sorted by path.
    pub fn render_with_files<P: Plugin>(
        component: &str,
        site: &str,
        catalog: &str,
        config: &str,
        files: &[(&str, &str)],
    ) -> Result<Output, Error> {
        let files = files
            .iter()
            .map(|(path, content)| super::SourceFile {
                path: (*path).to_owned(),
                content: (*content).to_owned(),
            })
            .collect();
        P::render(&Input::for_plugin::<P>(component, site, catalog, config)?.with_files(files))
    }
}

#[cfg(feature = "guest")]
#[doc(hidden)]
pub mod guest;

/// Writes a line to opsmith's log, shown with `opsmith --verbose`. A no-op
/// outside WebAssembly (in native tests).
pub fn log(message: &str) {
    #[cfg(all(feature = "guest", target_arch = "wasm32"))]
    guest::log_info(message);
    #[cfg(not(all(feature = "guest", target_arch = "wasm32")))]
    let _ = message;
}

/// Exports a [`Plugin`] as the component's `describe` and `render`.
///
/// Use it once, at the crate root, with the type that implements [`Plugin`].
/// Outside `wasm32` it expands to nothing, so the plugin's unit tests run natively.
#[macro_export]
macro_rules! export_plugin {
    ($plugin:ty) => {
        #[cfg(target_arch = "wasm32")]
        const _: () = {
            struct OpsmithExport;
            impl $crate::guest::Guest for OpsmithExport {
                fn describe() -> $crate::guest::PluginInfo {
                    $crate::guest::describe::<$plugin>()
                }
                fn render(
                    input: $crate::guest::RenderInput,
                ) -> ::core::result::Result<$crate::guest::RenderOutput, $crate::guest::RenderError>
                {
                    $crate::guest::render::<$plugin>(input)
                }
            }
    $crate::guest::__export_renderer!(OpsmithExport with_types_in $crate::guest);
        };
        // Natively the plugin is only called by tests; this keeps its code
        // from counting as dead.
        #[cfg(not(target_arch = "wasm32"))]
        const _: (
            fn() -> $crate::Info,
            fn(&$crate::Input) -> ::core::result::Result<$crate::Output, $crate::Error>,
        ) = (
            <$plugin as $crate::Plugin>::describe,
            <$plugin as $crate::Plugin>::render,
        );
    };
}

#[cfg(test)]
mod tests {
    use super::Output;

    #[test]
    fn objects_json_holds_values_then_serialized_objects() {
        #[derive(serde::Serialize)]
        struct Typed {
            kind: &'static str,
        }
        let mut out = Output::new();
        out.serialize(&Typed { kind: "B" }).expect("serializes");
        out.object(serde_json::json!({ "kind": "A" }));
        assert_eq!(
            out.objects_json().expect("json"),
            "[{\"kind\":\"A\"},\n{\"kind\":\"B\"}]"
        );
        assert_eq!(
            out.objects(),
            [
                serde_json::json!({ "kind": "A" }),
                serde_json::json!({ "kind": "B" })
            ]
        );
        assert_eq!(Output::new().objects_json().expect("json"), "[]");

        // A failed serialisation leaves what was added before intact.
        let mut out = Output::new();
        out.serialize(&Typed { kind: "C" }).expect("serializes");
        let not_json = std::collections::BTreeMap::from([((1, 2), 3)]);
        assert!(out.serialize(&not_json).is_err());
        out.serialize(&Typed { kind: "D" }).expect("serializes");
        let all: Vec<serde_json::Value> =
            serde_json::from_str(&out.objects_json().expect("json")).expect("one JSON array");
        assert_eq!(all, out.objects());
        assert_eq!(all.len(), 2);
        let copied = out.objects_json().expect("json");
        assert_eq!(out.take_objects_json().expect("json"), copied);
    }

    #[test]
    fn files_keep_their_order_and_content_however_added() {
        let mut out = Output::new();
        out.file(super::File {
            name: "a.json".to_owned(),
            format: super::FileFormat::Json,
            content: serde_json::json!({ "a": 1 }),
            schema: None,
        });
        out.serialize_file("b.yaml", super::FileFormat::Yaml, Some("v1/B"), &[1, 2])
            .expect("serializes");
        let files = out.files();
        assert_eq!(files.len(), 2);
        assert_eq!(files[1].content, serde_json::json!([1, 2]));
        assert_eq!(files[1].schema.as_deref(), Some("v1/B"));
        let sent = out.into_serialized_files();
        let sent: Vec<_> = sent
            .iter()
            .map(|f| (f.name.as_str(), f.content.as_str()))
            .collect();
        assert_eq!(sent, [("a.json", r#"{"a":1}"#), ("b.yaml", "[1,2]")]);
    }

    #[test]
    fn a_schema_file_must_be_the_generated_schema_unless_blessed() {
        use super::testing::check_or_bless;
        let dir = std::env::temp_dir().join(format!("opsmith-sdk-schema-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let path = dir.join("config.schema.json");
        // A property named like a keyword is still a schema; a default is a value.
        let generated = serde_json::json!({
            "type": "object",
            "properties": {
                "default": { "description": "Two\n lines.\n\nA paragraph.", "default": "a\nb" }
            }
        });

        let err = check_or_bless(&generated, &path, false).expect_err("no file yet");
        assert!(
            err.contains("OPSMITH_BLESS_SCHEMAS=1 cargo test -p opsmith-plugin-sdk config_schema"),
            "{err}"
        );
        assert!(!path.exists());

        check_or_bless(&generated, &path, true).expect("blessing writes the file");
        let written = std::fs::read_to_string(&path).expect("written");
        assert_eq!(
            written,
            r#"{
  "properties": {
    "default": {
      "default": "a\nb",
      "description": "Two lines.\n\nA paragraph."
    }
  },
  "type": "object"
}
"#
        );
        check_or_bless(&generated, &path, false).expect("the file is the generated schema");

        let mut changed = generated.clone();
        changed["properties"]["default"]["description"] = serde_json::json!("Two lines.");
        let err = check_or_bless(&changed, &path, false).expect_err("a description changed");
        assert!(err.contains("line 5"), "{err}");
        assert_eq!(std::fs::read_to_string(&path).expect("kept"), written);
        std::fs::remove_dir_all(&dir).expect("clean up");
    }

    /// A plugin that renders nothing and reads hosts or not.
    struct Reads<const HOSTS: bool>;
    impl<const HOSTS: bool> super::Plugin for Reads<HOSTS> {
        fn describe() -> super::Info {
            super::Info::new("fixture", "0.0.0")
        }
        fn render(_: &super::Input) -> Result<Output, super::Error> {
            Ok(Output::new())
        }
        const READS_HOSTS: bool = HOSTS;
    }
    type WithoutHosts = Reads<false>;
    type WithHosts = Reads<true>;

    #[test]
    fn a_plugin_that_reads_no_hosts_gets_none_and_others_still_do() {
        use super::testing::{EXAMPLE_CATALOG, EXAMPLE_SITE};
        let input =
            super::Input::for_plugin::<WithoutHosts>("c", EXAMPLE_SITE, EXAMPLE_CATALOG, "{}")
                .expect("parses");
        assert!(input.site.spec.hosts.is_empty());
        assert_eq!(input.site.spec.base_domain, "example.org");
        // The flag is per parse: the next reader gets every host.
        let input =
            super::Input::from_json("c", EXAMPLE_SITE, EXAMPLE_CATALOG, "{}").expect("parses");
        assert_eq!(input.site.spec.hosts.len(), 2);
        // It says so in `describe`; others say nothing.
        let schema = serde_json::json!({"type": "object"});
        assert_eq!(
            super::described_config_schema::<WithoutHosts>(schema.clone()),
            serde_json::json!({"type": "object", "x-opsmith-reads-hosts": false})
        );
        assert_eq!(
            super::described_config_schema::<WithHosts>(schema.clone()),
            schema
        );
        // Skipped hosts must still be JSON.
        let broken = EXAMPLE_SITE.replacen("\"hosts\": [", "\"hosts\": [nul", 1);
        assert_ne!(broken, EXAMPLE_SITE);
        let err = super::Input::for_plugin::<WithoutHosts>("c", &broken, EXAMPLE_CATALOG, "{}")
            .expect_err("not JSON");
        assert_eq!(err.pointer, "/site");
    }
}
