//! JSON Schema checks with messages a person can act on: each violation
//! becomes a [`Problem`] at the line of the offending node, with what was
//! expected and, for a near-miss key, the key that was probably meant.

use std::collections::BTreeMap;

use jsonschema::error::{TypeKind, ValidationErrorKind};
use jsonschema::{ValidationError, Validator};
use opsmith_schemas::{IsValid, IterErrors};
use serde_json::Value;

use crate::diagnostics::Problem;
use crate::load::Document;

/// A compiled schema plus what its messages need: the schema text itself
/// (to list the fields a mapping allows) and a description per pattern.
pub struct Schema {
    pub raw: Value,
    validator: Check,
    pattern_descriptions: BTreeMap<String, String>,
}

/// A schema compiled at run time (a plugin's config schema), or at build
/// time (opsmith's own input schemas, in the opsmith-schemas crate).
enum Check {
    Compiled(Validator),
    Generated {
        is_valid: IsValid,
        iter_errors: IterErrors,
    },
}

impl Schema {
    pub fn compile(raw: Value) -> anyhow::Result<Schema> {
        let validator = jsonschema::options()
            .with_draft(jsonschema::Draft::Draft202012)
            .build(&raw)
            .map_err(|e| anyhow::anyhow!("invalid JSON Schema: {e}"))?;
        Ok(Schema::new(raw, Check::Compiled(validator)))
    }

    /// A schema compiled at build time: `raw` is its text, `is_valid` and
    /// `iter_errors` the code generated from it.
    pub fn generated(raw: Value, is_valid: IsValid, iter_errors: IterErrors) -> Schema {
        Schema::new(
            raw,
            Check::Generated {
                is_valid,
                iter_errors,
            },
        )
    }

    fn new(raw: Value, validator: Check) -> Schema {
        let mut pattern_descriptions = BTreeMap::new();
        collect_patterns(&raw, &mut pattern_descriptions);
        Schema {
            raw,
            validator,
            pattern_descriptions,
        }
    }

    pub fn is_valid(&self, value: &Value) -> bool {
        match &self.validator {
            Check::Compiled(validator) => validator.is_valid(value),
            Check::Generated { is_valid, .. } => is_valid(value),
        }
    }

    /// Every violation of `value`, located in `doc` under `base` (the JSON
    /// pointer of `value` inside the document; empty for the whole document).
    pub fn problems(&self, value: &Value, doc: &Document, base: &str) -> Vec<Problem> {
        // Collecting errors costs several times a yes/no check, and valid
        // input is the common case.
        if self.is_valid(value) {
            return Vec::new();
        }
        let errors = match &self.validator {
            Check::Compiled(validator) => validator.iter_errors(value),
            Check::Generated { iter_errors, .. } => iter_errors(value),
        };
        let mut problems = Vec::new();
        for error in errors {
            self.explain(&error, doc, base, &mut problems);
        }
        problems
    }

    fn explain(
        &self,
        error: &ValidationError<'_>,
        doc: &Document,
        base: &str,
        out: &mut Vec<Problem>,
    ) {
        let pointer = format!("{base}{}", error.instance_path().as_str());
        let instance = error.instance();
        // A field named like a secret (a plugin config's `apiToken`) has its
        // value named, never shown.
        let field = pointer.rsplit('/').next().unwrap_or_default();
        let describe_value = |value: &Value| {
            if crate::diagnostics::names_a_secret(field) {
                format!("the value of `{field}` (not shown)")
            } else {
                describe_value(value)
            }
        };
        match error.kind() {
            ValidationErrorKind::AdditionalProperties { unexpected }
            | ValidationErrorKind::UnevaluatedProperties { unexpected } => {
                let allowed = self.allowed_fields(error.schema_path().as_str());
                for key in unexpected {
                    let key_pointer = format!("{pointer}/{}", escape_pointer(key));
                    out.push(doc.problem_at_key(
                        &key_pointer,
                        unknown_field_message(key, &allowed, &pointer),
                    ));
                }
            }
            ValidationErrorKind::Required { property } => {
                let name = property.as_str().unwrap_or_default();
                let message = match container_name(&pointer, instance) {
                    Some(parent) => format!("missing required field `{name}` in {parent}"),
                    None => format!("missing required field `{name}`"),
                };
                out.push(doc.problem_at_key(&pointer, message));
            }
            ValidationErrorKind::Type { kind } => {
                let expected = match kind {
                    TypeKind::Single(t) => article(&t.to_string()),
                    TypeKind::Multiple(set) => set
                        .iter()
                        .map(|t| article(&t.to_string()))
                        .collect::<Vec<_>>()
                        .join(" or "),
                };
                out.push(doc.problem_at(
                    &pointer,
                    format!("expected {expected}, found {}", describe_value(instance)),
                ));
            }
            ValidationErrorKind::Pattern { pattern } => {
                let what = self
                    .pattern_descriptions
                    .get(pattern)
                    .map_or("in the expected form", String::as_str);
                let message = match instance.as_str() {
                    // The value is a credential: name the field, never the value.
                    Some(text) if crate::diagnostics::has_url_credentials(text) => format!(
                        "`{}` holds credentials in its URL (the part before `@`, not shown here): opsmith takes none in its inputs; expected {what}",
                        pointer.rsplit('/').next().unwrap_or_default()
                    ),
                    _ => self.pattern_message(&describe_value(instance), pattern),
                };
                out.push(doc.problem_at(&pointer, message));
            }
            ValidationErrorKind::Constant { expected_value } => {
                let field = pointer.rsplit('/').next().unwrap_or_default();
                let what = if field == "apiVersion" {
                    "unknown apiVersion"
                } else {
                    "wrong value"
                };
                out.push(doc.problem_at(
                    &pointer,
                    format!(
                        "{what} {}: expected {}",
                        describe_value(instance),
                        describe_value(expected_value)
                    ),
                ));
            }
            ValidationErrorKind::Enum { options } => {
                let choices: Vec<String> = options
                    .as_array()
                    .map(|a| {
                        a.iter()
                            .map(|o| {
                                o.as_str()
                                    .map(str::to_owned)
                                    .unwrap_or_else(|| o.to_string())
                            })
                            .collect()
                    })
                    .unwrap_or_default();
                let mut message = format!(
                    "{} is not allowed: expected one of {}",
                    describe_value(instance),
                    choices
                        .iter()
                        .map(|c| format!("`{c}`"))
                        .collect::<Vec<_>>()
                        .join(", ")
                );
                if let Some(guess) = instance
                    .as_str()
                    .and_then(|s| closest(s, choices.iter().map(String::as_str)))
                {
                    message.push_str(&format!(" (did you mean `{guess}`?)"));
                }
                out.push(doc.problem_at(&pointer, message));
            }
            ValidationErrorKind::AnyOf { .. } | ValidationErrorKind::OneOfNotValid { .. } => {
                let what = self
                    .schema_at(error.schema_path().as_str(), 1)
                    .and_then(|s| s.get("description"))
                    .and_then(Value::as_str)
                    .map(|d| d.trim_end_matches('.').to_owned());
                let message = match what {
                    Some(d) => format!(
                        "{} is not valid here: expected {}",
                        describe_value(instance),
                        lowercase_first(&d)
                    ),
                    None => format!(
                        "{} matches none of the allowed forms",
                        describe_value(instance)
                    ),
                };
                out.push(doc.problem_at(&pointer, message));
            }
            ValidationErrorKind::MinItems { limit } => {
                out.push(doc.problem_at(
                    &pointer,
                    format!(
                        "expected at least {limit} item{}",
                        if *limit == 1 { "" } else { "s" }
                    ),
                ));
            }
            _ => out.push(doc.problem_at(&pointer, lowercase_first(&error.to_string()))),
        }
    }

    fn pattern_message(&self, shown: &str, pattern: &str) -> String {
        match self.pattern_descriptions.get(pattern) {
            Some(what) => format!("{shown} is not {what}"),
            None => format!("{shown} does not match the pattern `{pattern}`"),
        }
    }

    /// The sub-schema at `schema_path` with `up` trailing segments removed,
    /// following `$ref`s into `$defs`.
    fn schema_at(&self, schema_path: &str, up: usize) -> Option<&Value> {
        let segments: Vec<&str> = schema_path.split('/').skip(1).collect();
        let keep = segments.len().checked_sub(up)?;
        let mut node = &self.raw;
        for segment in &segments[..keep] {
            let segment = segment.replace("~1", "/").replace("~0", "~");
            if segment == "$ref" {
                let target = node.get("$ref")?.as_str()?;
                node = self.raw.pointer(target.strip_prefix('#')?)?;
            } else {
                node = match node {
                    Value::Object(map) => map.get(&segment)?,
                    Value::Array(items) => items.get(segment.parse::<usize>().ok()?)?,
                    _ => return None,
                };
            }
        }
        // A path ending at a `$ref` means the schema it names.
        while let Some(target) = node.get("$ref").and_then(Value::as_str) {
            node = self.raw.pointer(target.strip_prefix('#')?)?;
        }
        Some(node)
    }

    fn allowed_fields(&self, schema_path: &str) -> Vec<String> {
        self.schema_at(schema_path, 1)
            .and_then(|s| s.get("properties"))
            .and_then(Value::as_object)
            .map(|p| p.keys().cloned().collect())
            .unwrap_or_default()
    }
}

/// How a message names the mapping at `pointer`: `` `spec` ``, or for a
/// list item its list and, when it has one, its `name` (`` hosts[0] (`oct-03-04-compute`) ``).
fn container_name(pointer: &str, instance: &Value) -> Option<String> {
    let mut segments = pointer.rsplit('/');
    let last = segments.next().filter(|s| !s.is_empty())?;
    if last.parse::<usize>().is_err() {
        return Some(format!("`{last}`"));
    }
    let list = segments.next().unwrap_or_default();
    Some(match instance.get("name").and_then(Value::as_str) {
        Some(name) => format!("`{list}[{last}]` (`{name}`)"),
        None => format!("`{list}[{last}]`"),
    })
}

fn unknown_field_message(key: &str, allowed: &[String], parent: &str) -> String {
    if parent.ends_with("/bmc")
        && matches!(
            key.to_ascii_lowercase().as_str(),
            "password" | "username" | "user" | "pass"
        )
    {
        return format!(
            "BMC credentials must not be written in the inventory (found `{key}`): store them in the secret store and set `credentialsRef` to their key"
        );
    }
    let mut message = format!("unknown field `{key}`");
    if let Some(guess) = closest(key, allowed.iter().map(String::as_str)) {
        message.push_str(&format!(", did you mean `{guess}`?"));
    } else if !allowed.is_empty() {
        message.push_str(&format!(
            ": expected one of {}",
            allowed
                .iter()
                .map(|k| format!("`{k}`"))
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    message
}

/// The candidate closest to `input`, when it is close enough to be a typo.
pub fn closest<'a>(input: &str, candidates: impl Iterator<Item = &'a str>) -> Option<&'a str> {
    let lowered = input.to_ascii_lowercase();
    candidates
        .map(|c| {
            (
                strsim::damerau_levenshtein(&lowered, &c.to_ascii_lowercase()),
                c,
            )
        })
        .filter(|(d, c)| *d <= 2.max(c.len() / 4) && *d < c.len())
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

fn collect_patterns(schema: &Value, out: &mut BTreeMap<String, String>) {
    match schema {
        Value::Object(map) => {
            if let (Some(pattern), Some(description)) = (
                map.get("pattern").and_then(Value::as_str),
                map.get("description").and_then(Value::as_str),
            ) {
                out.entry(pattern.to_owned())
                    .or_insert_with(|| lowercase_first(description.trim_end_matches('.')));
            }
            map.values().for_each(|v| collect_patterns(v, out));
        }
        Value::Array(items) => items.iter().for_each(|v| collect_patterns(v, out)),
        _ => {}
    }
}

fn escape_pointer(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}

fn article(type_name: &str) -> String {
    match type_name {
        "object" => "a mapping".to_owned(),
        "array" => "a list".to_owned(),
        "integer" => "an integer".to_owned(),
        "null" => "null".to_owned(),
        other => format!("a {other}"),
    }
}

/// A value as it reads in a message: strings in backticks, collections by kind.
pub fn describe_value(value: &Value) -> String {
    match value {
        Value::String(s) => format!("`{s}`"),
        Value::Object(_) => "a mapping".to_owned(),
        Value::Array(_) => "a list".to_owned(),
        Value::Null => "null".to_owned(),
        Value::Bool(b) => format!("the boolean `{b}`"),
        Value::Number(n) => format!("the number `{n}`"),
    }
}

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
        let fields = ["hosts", "network", "baseDomain"];
        assert_eq!(closest("hostz", fields.iter().copied()), Some("hosts"));
        assert_eq!(
            closest("basedomain", fields.iter().copied()),
            Some("baseDomain")
        );
        assert_eq!(closest("colour", fields.iter().copied()), None);
    }
}
