//! `builtin:argocd`: not written yet.
