//! JSON Schema errors in words: the one explainer behind the messages about
//! the input files (validate) and about rendered objects checked against
//! their upstream schemas (collect), so that both speak alike. The wording
//! follows CONTRIBUTING.md, "Error message style".
//!
//! It turns a validator error into [`Explanation`]s: a JSON pointer, the
//! place there the message is about (the value, the mapping that lacks a
//! field, or an unknown field's key), and the message. Each caller places
//! them: validate at a file's line and column, collect under the object.

use jsonschema::error::{TypeKind, ValidationErrorKind};
use jsonschema::{JsonType, ValidationError};
use serde_json::Value;

use crate::diagnostics::{has_url_credentials, names_a_secret};

/// How many allowed fields or values a message lists before it counts the rest.
const LISTED: usize = 10;

/// The longest string value shown in a message, in characters.
const SHOWN_CHARS: usize = 60;

/// Where, at [`Explanation::pointer`], the message is about.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Place {
    /// The value itself.
    Value,
    /// The mapping itself, which lacks a required field.
    Mapping,
    /// The key of this field of the mapping, which the schema does not know.
    Field(String),
}

/// One schema violation in words.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Explanation {
    /// JSON pointer (RFC 6901) to the value; for a missing or unknown field,
    /// to the mapping that holds it.
    pub pointer: String,
    pub place: Place,
    /// Lowercase, no trailing period; see CONTRIBUTING.md.
    pub message: String,
}

/// Explains the errors of one schema.
pub struct Explainer<'s> {
    /// The whole schema document, whose `properties`, `description`s and
    /// `$defs` the messages read.
    schema: &'s Value,
    /// Whether a missing field's message names the mapping (`in `spec``):
    /// a message shown at a line needs it, one shown after its pointer not.
    names_the_mapping: bool,
}

impl<'s> Explainer<'s> {
    /// An explainer of errors found with `schema` (the document, with its `$defs`).
    pub fn new(schema: &'s Value) -> Self {
        Explainer {
            schema,
            names_the_mapping: false,
        }
    }

    /// Missing fields are named with their mapping: `` missing required field `hosts` in `spec` ``.
    #[must_use]
    pub fn naming_the_mapping(mut self) -> Self {
        self.names_the_mapping = true;
        self
    }

    /// Explains `error`; `base` is the pointer of the validated value inside
    /// a larger document (`""` for the whole document), prefixed to every
    /// pointer.
    pub fn explain(&self, error: &ValidationError<'_>, base: &str, out: &mut Vec<Explanation>) {
        let pointer = format!("{base}{}", error.instance_path().as_str());
        match error.kind() {
            ValidationErrorKind::AdditionalProperties { unexpected }
            | ValidationErrorKind::UnevaluatedProperties { unexpected } => {
                let known = self.known_fields(error.schema_path().as_str());
                for field in unexpected {
                    out.push(Explanation {
                        pointer: pointer.clone(),
                        place: Place::Field(field.clone()),
                        message: unknown("unknown field", &code(field), field, &known),
                    });
                }
            }
            ValidationErrorKind::Required { property } => {
                let name = property
                    .as_str()
                    .map_or_else(|| property.to_string(), str::to_owned);
                let mut message = format!("missing required field `{name}`");
                if self.names_the_mapping
                    && let Some(mapping) = mapping_name(&pointer, error.instance())
                {
                    message.push_str(&format!(" in {mapping}"));
                }
                out.push(Explanation {
                    pointer,
                    place: Place::Mapping,
                    message,
                });
            }
            _ => out.push(Explanation {
                message: self.message(error, &pointer),
                pointer,
                place: Place::Value,
            }),
        }
    }

    /// The message for an error about a value.
    fn message(&self, error: &ValidationError<'_>, pointer: &str) -> String {
        let instance = error.instance();
        // A field named like a secret (a config's `apiToken`) has its value
        // named, never shown.
        let field = pointer.rsplit('/').next().unwrap_or_default();
        let found = if names_a_secret(field) {
            format!("the value of `{field}` (not shown)")
        } else {
            describe_value(instance)
        };
        let described = || {
            self.schema_at(error.schema_path().as_str(), 1)
                .and_then(|s| s.get("description"))
                .and_then(Value::as_str)
                .map(|d| lowercase_first(d.trim_end_matches('.')))
        };
        match error.kind() {
            ValidationErrorKind::Type { kind } => {
                let expected = match kind {
                    TypeKind::Single(t) => type_name(*t).to_owned(),
                    TypeKind::Multiple(set) => or_list(
                        &set.iter()
                            .map(|t| type_name(t).to_owned())
                            .collect::<Vec<_>>(),
                    ),
                };
                // Named with its type, which is what is wrong: `yes` is a
                // string to a YAML 1.2 reader.
                let found = match instance.as_ref() {
                    Value::String(s) if !s.is_empty() && !names_a_secret(field) => {
                        format!("the string {found}")
                    }
                    _ => found,
                };
                format!("expected {expected}, found {found}")
            }
            ValidationErrorKind::Constant { expected_value } => {
                let what = if field == "apiVersion" {
                    format!("unknown apiVersion {found}")
                } else {
                    format!("{found} is not allowed")
                };
                format!(
                    "{what}: expected {}",
                    describe_value(expected_value.as_ref())
                )
            }
            ValidationErrorKind::Enum { options } => {
                let options: Vec<&Value> = match options.as_ref() {
                    Value::Array(options) => options.iter().collect(),
                    other => vec![other],
                };
                let names: Vec<&str> = options.iter().filter_map(|o| o.as_str()).collect();
                let typed = instance.as_str().unwrap_or_default();
                let listed: Vec<String> = options.iter().map(|o| describe_value(o)).collect();
                match closest(typed, names.iter().copied()).filter(|_| options.len() > 1) {
                    Some(guess) if !names_a_secret(field) => {
                        format!("{found} is not allowed, did you mean {}?", code(guess))
                    }
                    _ if listed.len() == 1 => {
                        format!("{found} is not allowed: expected {}", listed[0])
                    }
                    _ => format!("{found} is not allowed: expected one of {}", list(&listed)),
                }
            }
            ValidationErrorKind::Pattern { pattern } => match (described(), instance.as_str()) {
                // The value holds a credential: name the field, never the value.
                (what, Some(text)) if has_url_credentials(text) => format!(
                    "`{field}` holds credentials in its URL (the part before `@`, not shown): expected {}",
                    what.unwrap_or_else(|| "a URL without them".to_owned())
                ),
                (Some(what), _) => format!("{found} is not {what}"),
                (None, _) => format!("{found} does not match the pattern `{pattern}`"),
            },
            ValidationErrorKind::AnyOf { context }
            | ValidationErrorKind::OneOfNotValid { context } => match described() {
                Some(what) => format!("{found} is not valid here: expected {what}"),
                None => truncate(
                    &format!(
                        "{found} matches none of the allowed forms: {}",
                        self.branches(context, error.instance_path().as_str())
                    ),
                    400,
                ),
            },
            ValidationErrorKind::OneOfMultipleValid { .. } => {
                format!("{found} matches more than one of the allowed forms")
            }
            ValidationErrorKind::MinLength { limit } => {
                format!(
                    "expected at least {}, found {found}",
                    count(*limit, "character")
                )
            }
            ValidationErrorKind::MaxLength { limit } => format!(
                "expected at most {}, found {found} ({})",
                count(*limit, "character"),
                count(
                    instance.as_str().map_or(0, |s| s.chars().count()) as u64,
                    "character"
                )
            ),
            ValidationErrorKind::MinItems { limit } => format!(
                "expected at least {}, found {}",
                count(*limit, "item"),
                length(instance)
            ),
            ValidationErrorKind::MaxItems { limit } => format!(
                "expected at most {}, found {}",
                count(*limit, "item"),
                length(instance)
            ),
            ValidationErrorKind::MinProperties { limit } => format!(
                "expected at least {}, found {}",
                count(*limit, "field"),
                length(instance)
            ),
            ValidationErrorKind::MaxProperties { limit } => format!(
                "expected at most {}, found {}",
                count(*limit, "field"),
                length(instance)
            ),
            ValidationErrorKind::Minimum { limit } => {
                format!("expected at least {limit}, found {found}")
            }
            ValidationErrorKind::Maximum { limit } => {
                format!("expected at most {limit}, found {found}")
            }
            ValidationErrorKind::ExclusiveMinimum { limit } => {
                format!("expected more than {limit}, found {found}")
            }
            ValidationErrorKind::ExclusiveMaximum { limit } => {
                format!("expected less than {limit}, found {found}")
            }
            ValidationErrorKind::MultipleOf { multiple_of } => {
                format!("expected a multiple of {multiple_of}, found {found}")
            }
            ValidationErrorKind::UniqueItems => {
                "expected every item once, found one twice".to_owned()
            }
            ValidationErrorKind::FalseSchema => format!("{found} is not allowed here"),
            ValidationErrorKind::Not { schema } => match not_rule(schema) {
                Some(rule) => format!("expected {rule}"),
                None => format!("{found} is not allowed here"),
            },
            _ => lowercase_first(&error.to_string()),
        }
    }

    /// Why each branch of an `anyOf`/`oneOf` failed: `(1) …; (2) …`.
    fn branches(&self, context: &[Vec<ValidationError<'static>>], base: &str) -> String {
        let branches: Vec<String> = context
            .iter()
            .enumerate()
            .map(|(i, errors)| {
                let mut reasons = Vec::new();
                for error in errors {
                    let mut explained = Vec::new();
                    self.explain(error, "", &mut explained);
                    for e in explained {
                        let at = e.pointer.strip_prefix(base).unwrap_or(&e.pointer);
                        reasons.push(if at.is_empty() {
                            e.message
                        } else {
                            format!("{at}: {}", e.message)
                        });
                    }
                }
                format!("({}) {}", i + 1, reasons.join(", "))
            })
            .collect();
        branches.join("; ")
    }

    /// The sub-schema at `schema_path` with `up` trailing segments removed,
    /// following `$ref`s into `$defs`.
    fn schema_at(&self, schema_path: &str, up: usize) -> Option<&'s Value> {
        let segments: Vec<&str> = schema_path.split('/').skip(1).collect();
        let keep = segments.len().checked_sub(up)?;
        let mut node = self.schema;
        for segment in &segments[..keep] {
            let segment = segment.replace("~1", "/").replace("~0", "~");
            if segment == "$ref" {
                node = self.follow(node)?;
            } else {
                node = match node {
                    Value::Object(map) => map.get(&segment)?,
                    Value::Array(items) => items.get(segment.parse::<usize>().ok()?)?,
                    _ => return None,
                };
            }
        }
        // A path ending at a `$ref` means the schema it names.
        while node.get("$ref").is_some() {
            node = self.follow(node)?;
        }
        Some(node)
    }

    fn follow(&self, node: &Value) -> Option<&'s Value> {
        let target = node.get("$ref")?.as_str()?;
        self.schema.pointer(target.strip_prefix('#')?)
    }

    /// The names under `properties` beside the `additionalProperties` (or
    /// `unevaluatedProperties`) keyword at `schema_path`.
    fn known_fields(&self, schema_path: &str) -> Vec<String> {
        self.schema_at(schema_path, 1)
            .and_then(|s| s.get("properties"))
            .and_then(Value::as_object)
            .map(|p| p.keys().cloned().collect())
            .unwrap_or_default()
    }
}

/// `` unknown field `hostz`, did you mean `hosts`? ``, or without a near
/// miss `` …: expected one of `a`, `b` ``.
fn unknown(what: &str, shown: &str, typed: &str, known: &[String]) -> String {
    match closest(typed, known.iter().map(String::as_str)) {
        Some(guess) => format!("{what} {shown}, did you mean {}?", code(guess)),
        None if known.is_empty() => format!("{what} {shown}"),
        None => format!(
            "{what} {shown}: expected one of {}",
            list(&known.iter().map(|k| code(k)).collect::<Vec<_>>())
        ),
    }
}

/// The candidate closest to `input`, when it is close enough to be a typo:
/// at most 2 edits, or a third of the candidate's length for long names,
/// ignoring case, and never a whole replacement.
pub fn closest<'a>(input: &str, candidates: impl Iterator<Item = &'a str>) -> Option<&'a str> {
    let lowered = input.to_lowercase();
    candidates
        .map(|c| (strsim::damerau_levenshtein(&lowered, &c.to_lowercase()), c))
        .filter(|(d, c)| *d <= 2.max(c.chars().count() / 3) && *d < c.chars().count())
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

/// A value as it reads in a message: strings in backticks, numbers and
/// booleans named as such, collections by kind.
pub fn describe_value(value: &Value) -> String {
    match value {
        Value::String(s) if s.is_empty() => "an empty string".to_owned(),
        Value::String(s) => code(&truncate(s, SHOWN_CHARS)),
        Value::Object(_) => "a mapping".to_owned(),
        Value::Array(_) => "a list".to_owned(),
        Value::Null => "null".to_owned(),
        Value::Bool(b) => format!("the boolean `{b}`"),
        Value::Number(n) => format!("the number `{n}`"),
    }
}

/// A name in backticks. A backtick inside would end the quote early, so
/// such a name is shown as a JSON string.
fn code(name: &str) -> String {
    if name.contains('`') {
        format!("`{}`", Value::String(name.to_owned()))
    } else {
        format!("`{name}`")
    }
}

/// A JSON type as the YAML reader knows it: mapping, list, string.
fn type_name(t: JsonType) -> &'static str {
    match t {
        JsonType::Null => "null",
        JsonType::Boolean => "a boolean",
        JsonType::Integer => "an integer",
        JsonType::Number => "a number",
        JsonType::String => "a string",
        JsonType::Array => "a list",
        JsonType::Object => "a mapping",
    }
}

/// `1 item`, `3 items`.
fn count(n: u64, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
}

/// How many items or fields a collection holds, for a size message.
fn length(value: &Value) -> String {
    match value {
        Value::Array(items) if items.is_empty() => "an empty list".to_owned(),
        Value::Array(items) => items.len().to_string(),
        Value::Object(fields) if fields.is_empty() => "an empty mapping".to_owned(),
        Value::Object(fields) => fields.len().to_string(),
        other => describe_value(other),
    }
}

/// `a, b, c`, the first few, then how many more.
fn list(items: &[String]) -> String {
    let mut shown: Vec<String> = items.iter().take(LISTED).cloned().collect();
    if items.len() > LISTED {
        shown.push(format!("and {} more", items.len() - LISTED));
    }
    shown.join(", ")
}

/// `a`, `a or b`, `a, b or c`.
fn or_list(words: &[String]) -> String {
    match words {
        [] => String::new(),
        [only] => only.clone(),
        [init @ .., last] => format!("{} or {last}", init.join(", ")),
    }
}

/// How a message names the mapping at `pointer`: `` `spec` ``, or for a list
/// item its list and, when it has one, its `name` (`` `hosts[0]` (`oct-03-04-compute`) ``).
fn mapping_name(pointer: &str, instance: &Value) -> Option<String> {
    let mut segments = pointer.rsplit('/');
    let last = segments.next().filter(|s| !s.is_empty())?;
    let last = last.replace("~1", "/").replace("~0", "~");
    if last.parse::<usize>().is_err() {
        return Some(code(&last));
    }
    let list = segments.next().unwrap_or_default();
    Some(match instance.get("name").and_then(Value::as_str) {
        Some(name) => format!("`{list}[{last}]` ({})", code(name)),
        None => format!("`{list}[{last}]`"),
    })
}

/// What the simple `not` rules CRDs use ask for: `not: {enum: [0]}`
/// ("anything but the number `0`") and `not: {properties: {host:
/// {maxLength: 0}}}` ("`host` to be set and not empty": an absent field
/// satisfies the inner schema, so the `not` fails).
fn not_rule(schema: &Value) -> Option<String> {
    let mut path = Vec::new();
    let mut node = schema.as_object()?;
    while node.len() == 1
        && let Some(Value::Object(properties)) = node.get("properties")
        && properties.len() == 1
    {
        let (name, inner) = properties.iter().next()?;
        path.push(name.as_str());
        node = inner.as_object()?;
    }
    if node.len() != 1 {
        return None;
    }
    let what = match node.iter().next()? {
        (keyword, Value::Array(values)) if keyword == "enum" => {
            or_list(&values.iter().map(describe_value).collect::<Vec<_>>())
        }
        (keyword, value) if keyword == "const" => describe_value(value),
        (keyword, limit) if keyword == "maxLength" && limit == 0 => "empty".to_owned(),
        _ => return None,
    };
    Some(if path.is_empty() {
        format!("anything but {what}")
    } else {
        format!("`{}` to be set and not {what}", path.join("."))
    })
}

fn truncate(text: &str, max_chars: usize) -> String {
    match text.char_indices().nth(max_chars) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_owned(),
    }
}

/// `An OpenShift version` → `an OpenShift version`; an acronym (`IPv4`) stays.
fn lowercase_first(s: &str) -> String {
    let mut chars = s.chars();
    match chars.next() {
        Some(first) if chars.clone().next().is_some_and(|c| !c.is_uppercase()) => {
            first.to_lowercase().chain(chars).collect()
        }
        _ => s.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_near_misses_only() {
        let fields = ["hosts", "network", "baseDomain", "apiVIPs", "address"];
        let guess = |typed: &str| closest(typed, fields.iter().copied());
        assert_eq!(guess("hostz"), Some("hosts"));
        assert_eq!(guess("basedomain"), Some("baseDomain"));
        assert_eq!(guess("apiVips"), Some("apiVIPs"));
        assert_eq!(guess("adress"), Some("address"));
        assert_eq!(guess("colour"), None);
        assert_eq!(
            closest("workDir", ["workingDir", "name"].into_iter()),
            Some("workingDir")
        );
        assert_eq!(closest("ab", ["xy"].into_iter()), None);
    }

    /// Every error kind the explainer words, through a real validator.
    fn explained(schema: Value, instance: Value) -> Vec<String> {
        let validator = jsonschema::validator_for(&schema).expect("schema compiles");
        let explainer = Explainer::new(&schema).naming_the_mapping();
        let mut out = Vec::new();
        for error in validator.iter_errors(&instance) {
            explainer.explain(&error, "", &mut out);
        }
        out.iter()
            .map(|e| match &e.place {
                Place::Field(field) => format!("{}/{field}: {}", e.pointer, e.message),
                _ => format!("{}: {}", e.pointer, e.message),
            })
            .collect()
    }

    #[test]
    fn one_wording() {
        let schema = serde_json::json!({
            "type": "object",
            "additionalProperties": false,
            "required": ["spec"],
            "properties": {
                "spec": {
                    "type": "object",
                    "additionalProperties": false,
                    "required": ["hosts"],
                    "properties": {
                        "hosts": {"type": "array", "minItems": 1},
                        "role": {"enum": ["control-plane", "worker"]},
                        "mode": {"enum": ["UEFI", "legacy", ""]},
                        "port": {"type": "integer", "minimum": 1, "not": {"enum": [8080]}},
                        "name": {"type": "string", "maxLength": 3},
                        "apiToken": {"enum": ["a"]},
                        "ip": {"$ref": "#/$defs/ip"},
                        "to": {"anyOf": [{"required": ["host"]}, {"required": ["port"]}]},
                        "tags": {"type": "array", "minItems": 2},
                        "zero": {"not": {"enum": [0]}},
                        "nodes": {"type": "array", "items": {"required": ["role"]}},
                    }
                }
            },
            "$defs": {
                "ip": {"description": "An IPv4 address.", "anyOf": [{"type": "string", "pattern": "^[0-9.]+$"}]}
            }
        });
        let instance = serde_json::json!({
            "spec": {
                "hostz": [],
                "role": "workr",
                "mode": "uefi-ish",
                "port": "80",
                "name": "abcd",
                "apiToken": "hunter2",
                "ip": "x",
                "to": {},
                "tags": ["a"],
                "zero": 0,
                "nodes": [{"name": "a"}, {}],
            },
            "extra": 1,
        });
        let mut messages = explained(schema, instance);
        messages.sort();
        assert_eq!(
            messages,
            [
                "/extra: unknown field `extra`: expected one of `spec`",
                "/spec/apiToken: the value of `apiToken` (not shown) is not allowed: expected `a`",
                "/spec/hostz: unknown field `hostz`, did you mean `hosts`?",
                "/spec/ip: `x` is not valid here: expected an IPv4 address",
                "/spec/mode: `uefi-ish` is not allowed: expected one of `UEFI`, `legacy`, an empty string",
                "/spec/name: expected at most 3 characters, found `abcd` (4 characters)",
                "/spec/nodes/0: missing required field `role` in `nodes[0]` (`a`)",
                "/spec/nodes/1: missing required field `role` in `nodes[1]`",
                "/spec/port: expected an integer, found the string `80`",
                "/spec/role: `workr` is not allowed, did you mean `worker`?",
                "/spec/tags: expected at least 2 items, found 1",
                "/spec/to: a mapping matches none of the allowed forms: (1) missing required field `host` in `to`; (2) missing required field `port` in `to`",
                "/spec/zero: expected anything but the number `0`",
                "/spec: missing required field `hosts` in `spec`",
            ]
        );
    }
}
