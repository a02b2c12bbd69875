//! JSON Schema checks of the input files: each violation becomes a
//! [`Problem`] at the line of the offending node, worded by the one schema
//! explainer ([`crate::schema_errors`]) that also words the upstream checks.

use jsonschema::{ValidationError, Validator};
use opsmith_schemas::{IsValid, IterErrors};
use serde_json::Value;

use crate::diagnostics::Problem;
use crate::load::Document;
// The semantic checks guess near misses the same way.
pub use crate::schema_errors::closest;
use crate::schema_errors::{Explainer, Explanation, Place};

/// A compiled schema plus the schema text its messages read (the fields a
/// mapping allows, the descriptions of patterns and alternatives).
pub struct Schema {
    pub raw: Value,
    validator: Check,
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
        Schema { raw, validator }
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
        let mut explained = Vec::new();
        Explainer::new(&self.raw)
            .naming_the_mapping()
            .explain(error, base, &mut explained);
        for Explanation {
            pointer,
            place,
            message,
        } in explained
        {
            out.push(match place {
                Place::Value => doc.problem_at(&pointer, message),
                Place::Mapping => doc.problem_at_key(&pointer, message),
                Place::Field(field) => doc.problem_at_key(
                    &format!("{pointer}/{}", escape_pointer(&field)),
                    credentials_in_bmc(&pointer, &field).unwrap_or(message),
                ),
            });
        }
    }
}

/// The message for a BMC user name or password written into the inventory,
/// which says where credentials go instead.
fn credentials_in_bmc(parent: &str, key: &str) -> Option<String> {
    let credential = matches!(
        key.to_ascii_lowercase().as_str(),
        "password" | "username" | "user" | "pass"
    );
    (parent.ends_with("/bmc") && credential).then(|| {
        format!(
            "BMC credentials must not be written in the inventory (found `{key}`): store them in the secret store and set `credentialsRef` to their key"
        )
    })
}

fn escape_pointer(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}
