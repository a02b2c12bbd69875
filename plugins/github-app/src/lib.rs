//! `builtin:github-app`: not written yet.
