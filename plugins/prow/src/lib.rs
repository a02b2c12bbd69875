//! `builtin:prow`: not written yet.
