//! `builtin:metal3`: not written yet.
