//! The input schemas, `schemas/site.schema.json` and
//! `schemas/catalog.schema.json`, generated from the host's model of the
//! inputs ([`super::inventory`], [`super::catalog`]). The checked-in files
//! are what opsmith compiles its validators from at build time; the test
//! below keeps them equal to what the model generates
//! (`OPSMITH_BLESS_SCHEMAS=1` regenerates them).
//!
//! What is here is what a Rust type cannot say on its own: the shared string
//! formats (the `$defs`), and the patterns they are built from.

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde_json::Value;

use opsmith_plugin_sdk::site::API_VERSION;

// The patterns' building blocks, as macros so that `concat!` can join them
// into the literals the schema attributes take.
macro_rules! ipv4 {
    () => {
        r"(25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])(\.(25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])){3}"
    };
}
macro_rules! ipv6 {
    () => {
        concat!(
            r"(([0-9A-Fa-f]{1,4}:){7}[0-9A-Fa-f]{1,4}|([0-9A-Fa-f]{1,4}:){1,7}:|([0-9A-Fa-f]{1,4}:){1,6}:[0-9A-Fa-f]{1,4}",
            r"|([0-9A-Fa-f]{1,4}:){1,5}(:[0-9A-Fa-f]{1,4}){1,2}|([0-9A-Fa-f]{1,4}:){1,4}(:[0-9A-Fa-f]{1,4}){1,3}",
            r"|([0-9A-Fa-f]{1,4}:){1,3}(:[0-9A-Fa-f]{1,4}){1,4}|([0-9A-Fa-f]{1,4}:){1,2}(:[0-9A-Fa-f]{1,4}){1,5}",
            r"|[0-9A-Fa-f]{1,4}:(:[0-9A-Fa-f]{1,4}){1,6}|:((:[0-9A-Fa-f]{1,4}){1,7}|:)",
            r"|([0-9A-Fa-f]{1,4}:){6}",
            ipv4!(),
            r"|::([fF]{4}(:0{1,4})?:)?",
            ipv4!(),
            r"|([0-9A-Fa-f]{1,4}:){1,4}:",
            ipv4!(),
            ")"
        )
    };
}
/// A DNS host name; the last label starts with a letter, so that an IPv4
/// address is not one.
macro_rules! host_name {
    () => {
        r"([A-Za-z0-9]([-A-Za-z0-9]{0,61}[A-Za-z0-9])?\.)*[A-Za-z]([-A-Za-z0-9]{0,61}[A-Za-z0-9])?"
    };
}
macro_rules! dns_label {
    () => {
        r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?"
    };
}
macro_rules! dns_subdomain {
    () => {
        concat!(dns_label!(), r"(\.", dns_label!(), ")*")
    };
}
macro_rules! port {
    () => {
        r"(:[0-9]{1,5})?"
    };
}
/// The characters of a URL path (RFC 3986 pchar and '/').
macro_rules! url_path {
    () => {
        r"[A-Za-z0-9._~%!$&'()*+,;=:@/-]"
    };
}

pub const PROXY_URL: &str = concat!(
    r"^https?://(",
    ipv4!(),
    r"|\[",
    ipv6!(),
    r"\]|",
    host_name!(),
    ")",
    port!(),
    "/?$"
);

pub const GIT_URL: &str = concat!(
    "^(https://(",
    ipv4!(),
    "|",
    host_name!(),
    ")",
    port!(),
    "/",
    url_path!(),
    "+|ssh://([A-Za-z0-9._-]+@)?(",
    ipv4!(),
    "|",
    host_name!(),
    ")",
    port!(),
    "/",
    url_path!(),
    "+|[A-Za-z0-9._-]+@(",
    ipv4!(),
    "|",
    host_name!(),
    "):[A-Za-z0-9._~/-]+)$"
);

/// A relative folder: segments that are neither empty, `.` nor `..`.
pub const REPO_PATH: &str = concat!(
    r"^([A-Za-z0-9_-][A-Za-z0-9._-]*|\.[A-Za-z0-9_-][A-Za-z0-9._-]*|\.\.[A-Za-z0-9._-]+)",
    r"(/([A-Za-z0-9_-][A-Za-z0-9._-]*|\.[A-Za-z0-9_-][A-Za-z0-9._-]*|\.\.[A-Za-z0-9._-]+))*$"
);

pub const API_VERSION_PATTERN: &str =
    concat!("^(", dns_subdomain!(), r"/)?v[0-9]+((alpha|beta)[0-9]+)?$");

pub const NAMESPACE_OR_ANY: &str = concat!(r"^(\*|", dns_label!(), ")$");

/// BMC URL schemes: see the `$comment` of `bmcAddress`.
macro_rules! bmc_schemes {
    () => {
        concat!(
            r"(ipmi|redfish(-virtualmedia|-uefihttp)?(\+https?)?|idrac(-redfish|-virtualmedia)?(\+https?)?",
            r"|ilo4(-virtualmedia)?(\+https)?|ilo5(\+https)?|ilo5-(redfish|virtualmedia)(\+https?)?|irmc|ibmc(\+https?)?)"
        )
    };
}

/// `apiVersion`: the one version of both inputs.
pub fn api_version(_: &mut SchemaGenerator) -> Schema {
    json_schema!({ "const": API_VERSION })
}

/// No constraint of its own: the field's attributes give them all.
pub fn unconstrained(_: &mut SchemaGenerator) -> Schema {
    json_schema!({})
}

/// A named string format, kept once in `$defs` and referenced. `branch`
/// formats are alternatives of an `anyOf`: they carry a title (which an
/// explainer names) instead of a description.
macro_rules! string_format {
    ($type:ident, $name:literal, $description:literal, $pattern:expr $(, max = $max:literal)?) => {
        pub struct $type;
        impl JsonSchema for $type {
            fn schema_name() -> std::borrow::Cow<'static, str> {
                $name.into()
            }
            fn json_schema(_: &mut SchemaGenerator) -> Schema {
                with_max_length(
                    json_schema!({
                        "description": $description,
                        "type": "string",
                        "pattern": $pattern,
                    }),
                    None$(.or(Some($max)))?,
                )
            }
        }
    };
    ($type:ident, $name:literal, branch $title:literal, $what:literal, $pattern:expr $(, max = $max:literal)?) => {
        pub struct $type;
        impl JsonSchema for $type {
            fn schema_name() -> std::borrow::Cow<'static, str> {
                $name.into()
            }
            fn json_schema(_: &mut SchemaGenerator) -> Schema {
                with_max_length(
                    json_schema!({
                        "title": $title,
                        "$comment": concat!("Branch of an anyOf: ", $what),
                        "type": "string",
                        "pattern": $pattern,
                        "patternErrorMessage": concat!("Expected ", $what),
                    }),
                    None$(.or(Some($max)))?,
                )
            }
        }
    };
}

fn with_max_length(mut schema: Schema, max: Option<u64>) -> Schema {
    if let Some(max) = max {
        schema.insert("maxLength".to_owned(), max.into());
    }
    schema
}

/// A named choice between formats, kept once in `$defs`.
macro_rules! any_format {
    ($type:ident, $name:literal, $description:literal, [$($branch:ty),+]) => {
        pub struct $type;
        impl JsonSchema for $type {
            fn schema_name() -> std::borrow::Cow<'static, str> {
                $name.into()
            }
            fn json_schema(generator: &mut SchemaGenerator) -> Schema {
                json_schema!({
                    "description": $description,
                    "anyOf": [$(generator.subschema_for::<$branch>()),+],
                })
            }
        }
    };
}

string_format!(
    DnsLabel,
    "dnsLabel",
    "An RFC 1123 DNS label: lowercase letters, digits and '-', at most 63 characters, starting and ending with a letter or digit.",
    concat!("^", dns_label!(), "$"),
    max = 63
);
string_format!(
    DnsSubdomain,
    "dnsSubdomain",
    "An RFC 1123 DNS subdomain: dot-separated DNS labels (lowercase letters, digits, '-'), at most 253 characters.",
    concat!("^", dns_subdomain!(), "$"),
    max = 253
);
string_format!(
    ServerName,
    "serverName",
    branch "DNS host name",
    "a DNS host name such as ntp1.example.org.",
    concat!("^", host_name!(), "$"),
    max = 253
);
string_format!(
    Ipv4Address,
    "ipv4Address",
    branch "IPv4 address",
    "an IPv4 address in dotted-quad form, such as 10.10.0.5.",
    concat!("^", ipv4!(), "$")
);
string_format!(
    Ipv6Address,
    "ipv6Address",
    branch "IPv6 address",
    "an IPv6 address, such as fd00:10::5.",
    concat!("^", ipv6!(), "$")
);
any_format!(
    IpAddress,
    "ipAddress",
    "An IPv4 or IPv6 address, such as 10.10.0.5 or fd00:10::5.",
    [Ipv4Address, Ipv6Address]
);
any_format!(
    HostOrAddress,
    "hostOrAddress",
    "A DNS host name or an IPv4 or IPv6 address.",
    [ServerName, Ipv4Address, Ipv6Address]
);
string_format!(
    Ipv4Cidr,
    "ipv4Cidr",
    branch "IPv4 network",
    "an IPv4 network in CIDR notation, such as 10.10.0.0/24.",
    concat!("^", ipv4!(), "/(3[0-2]|[12]?[0-9])$")
);
string_format!(
    Ipv6Cidr,
    "ipv6Cidr",
    branch "IPv6 network",
    "an IPv6 network in CIDR notation, such as fd00:10::/64.",
    concat!("^", ipv6!(), "/(12[0-8]|1[01][0-9]|[1-9]?[0-9])$")
);
any_format!(
    Cidr,
    "cidr",
    "An IPv4 or IPv6 network in CIDR notation, such as 10.10.0.0/24 or fd00:10::/64.",
    [Ipv4Cidr, Ipv6Cidr]
);
string_format!(
    Mac,
    "mac",
    "A MAC address: six pairs of hex digits separated by ':', such as \"24:6e:96:0a:0b:0c\" (quote it in YAML).",
    "^([0-9A-Fa-f]{2}:){5}[0-9A-Fa-f]{2}$"
);
string_format!(
    InterfaceName,
    "interfaceName",
    "A network interface name, such as eno1, bond0 or bond0.100: 1 to 15 letters, digits, '_', '.', ':' or '-'.",
    "^[a-zA-Z0-9_.:-]{1,15}$"
);
string_format!(
    Quantity,
    "quantity",
    "A Kubernetes quantity of bytes, such as 128Gi, 300Gi or 512M (binary suffixes Ki Mi Gi Ti Pi Ei, decimal suffixes k M G T P E).",
    r"^([0-9]+(\.[0-9]+)?|\.[0-9]+)(Ki|Mi|Gi|Ti|Pi|Ei|k|M|G|T|P|E)?$"
);
string_format!(
    LabelKey,
    "labelKey",
    "A Kubernetes label key: an optional DNS subdomain prefix and '/', then a name of at most 63 letters, digits, '-', '_' or '.', starting and ending with a letter or digit.",
    concat!(
        "^(",
        dns_subdomain!(),
        "/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$"
    ),
    max = 317
);
string_format!(
    LabelValue,
    "labelValue",
    "A Kubernetes label value: empty, or at most 63 letters, digits, '-', '_' or '.', starting and ending with a letter or digit.",
    "^(([A-Za-z0-9][-A-Za-z0-9_.]{0,61})?[A-Za-z0-9])?$",
    max = 63
);
string_format!(
    BuiltinPlugin,
    "builtinPlugin",
    "A built-in plugin reference, builtin:<name>, such as builtin:metal3.",
    "^builtin:[a-z0-9-]+$"
);

/// A schema type written out in the schema where it is used, not as a
/// `$defs` entry: `$ty`, named `$name`, with the schema `$body` builds.
macro_rules! inline_schema {
    ($(#[$doc:meta])* $ty:ident, $name:literal, |$generator:pat_param| $body:block) => {
        $(#[$doc])*
        pub struct $ty;

        impl JsonSchema for $ty {
            fn inline_schema() -> bool {
                true
            }
            fn schema_name() -> std::borrow::Cow<'static, str> {
                $name.into()
            }
            fn json_schema($generator: &mut SchemaGenerator) -> Schema {
                $body
            }
        }
    };
}

/// The metal3 BMC address format, with where its schemes come from.
pub struct BmcAddress;

impl JsonSchema for BmcAddress {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "bmcAddress".into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "$comment": "Schemes registered in metal3-io/baremetal-operator pkg/hardwareutils/bmc (main and release-0.x branches) and in OpenShift's fork openshift/baremetal-operator (release-4.x branches). idrac://, ibmc:// were removed in OpenShift 4.16 and metal3 0.5; ilo4*, ilo5 and irmc are gone from upstream main; redfish-uefihttp needs OpenShift 4.18 or metal3 0.9. The test-only libvirt:// is left out. A bare host[:port] (implicit ipmi) is not accepted: write ipmi://.",
            "description": "A metal3 BMC address, <scheme>://<host>[:port][/path], such as idrac-virtualmedia://10.10.0.104/redfish/v1/Systems/System.Embedded.1. Schemes: ipmi; redfish, redfish-virtualmedia, redfish-uefihttp, idrac, idrac-redfish, idrac-virtualmedia, ilo5-redfish, ilo5-virtualmedia, ibmc (each also with +http or +https); ilo4, ilo4-virtualmedia, ilo5 (each also with +https); irmc.",
            "type": "string",
            "pattern": concat!(
                "^",
                bmc_schemes!(),
                "://(",
                ipv4!(),
                r"|\[",
                ipv6!(),
                r"\]|",
                host_name!(),
                ")",
                port!(),
                "(/",
                url_path!(),
                r"*)?(\?[A-Za-z0-9._~%!$&'()*+,;=:@/?-]*)?$"
            ),
        })
    }
}

inline_schema!(
    /// A host's `labels`: Kubernetes label keys to values.
    Labels, "labels", |generator| {
        json_schema!({
            "type": "object",
            "propertyNames": generator.subschema_for::<LabelKey>(),
            "additionalProperties": generator.subschema_for::<LabelValue>(),
        })
    }
);

inline_schema!(
    /// A component's `plugin`: built-in by name, or a file pinned by digest.
    Plugin, "plugin", |generator| {
        json_schema!({
            "anyOf": [
                generator.subschema_for::<BuiltinPlugin>(),
                generator.subschema_for::<FilePlugin>(),
            ],
        })
    }
);

/// A WebAssembly component on disk, pinned by its sha256.
#[derive(JsonSchema)]
#[schemars(rename = "filePlugin", deny_unknown_fields)]
#[allow(dead_code)] // a shape for the schema only
pub struct FilePlugin {
    /// A path to a .wasm file, relative to the site folder.
    #[schemars(regex(pattern = r"^.+\.wasm$"), length(min = 6))]
    path: String,
    /// A sha256 digest: 64 lowercase hex digits.
    #[schemars(regex(pattern = "^[0-9a-f]{64}$"))]
    sha256: String,
}

/// One kind of object the plugin may emit here.
#[derive(JsonSchema, serde::Serialize)]
#[schemars(rename = "allowedKind", deny_unknown_fields)]
#[serde(rename_all = "camelCase")]
#[allow(dead_code)] // a shape for the schema only
pub struct AllowedKind {
    /// A Kubernetes apiVersion, such as v1 or metal3.io/v1alpha1.
    #[schemars(regex(pattern = API_VERSION_PATTERN))]
    api_version: String,
    /// A Kubernetes kind, such as BareMetalHost.
    #[schemars(regex(pattern = "^[A-Z][A-Za-z0-9]*$"))]
    kind: String,
    /// Namespaces the objects may live in; empty for cluster-scoped kinds,
    /// "*" for any namespace.
    #[serde(default)]
    #[schemars(with = "Vec<NamespaceOrAny>")]
    namespaces: Vec<String>,
}

inline_schema!(
    /// A namespace name (an RFC 1123 label) or *.
    NamespaceOrAny, "namespaceOrAny", |_| {
        json_schema!({
            "description": "A namespace name (an RFC 1123 label) or *.",
            "type": "string",
            "pattern": NAMESPACE_OR_ANY,
            "maxLength": 63,
        })
    }
);

inline_schema!(
    /// A component's `config`, checked later against its plugin's own schema.
    PluginConfig, "pluginConfig", |_| {
        json_schema!({
            "$comment": "Free-form on purpose: opsmith checks it against the plugin's own config schema.",
            "type": "object",
        })
    }
);

/// The schema of `T` as the checked-in file holds it.
pub fn generate<T: JsonSchema>() -> Value {
    let mut schema = schemars::generate::SchemaSettings::draft2020_12()
        .into_generator()
        .into_root_schema_for::<T>()
        .to_value();
    opsmith_plugin_sdk::testing::tidy_generated_schema(&mut schema);
    with_pattern_messages(&mut schema);
    schema
}

/// Gives each pattern without one an error message built from its
/// description, which editors using yaml-language-server show instead of
/// the regular expression.
fn with_pattern_messages(schema: &mut Value) {
    match schema {
        Value::Object(keywords) => {
            if keywords.contains_key("pattern")
                && !keywords.contains_key("patternErrorMessage")
                && let Some(Value::String(description)) = keywords.get("description")
            {
                let mut chars = description.chars();
                let message = match chars.next() {
                    Some(first) => format!("Expected {}{}", first.to_lowercase(), chars.as_str()),
                    None => String::new(),
                };
                keywords.insert("patternErrorMessage".to_owned(), message.into());
            }
            for (keyword, value) in keywords.iter_mut() {
                if !matches!(keyword.as_str(), "default" | "const" | "enum" | "examples") {
                    with_pattern_messages(value);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(with_pattern_messages),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn input_schemas_are_generated_from_the_model() {
        let root = env!("CARGO_MANIFEST_DIR");
        opsmith_plugin_sdk::testing::check_schema_file(
            &generate::<super::super::inventory::Inventory>(),
            &format!("{root}/schemas/site.schema.json"),
        );
        opsmith_plugin_sdk::testing::check_schema_file(
            &generate::<super::super::catalog::Catalog>(),
            &format!("{root}/schemas/catalog.schema.json"),
        );
    }
}
