//! `builtin:install-config`: not written yet.
