//! `builtin:tekton`: not written yet.
