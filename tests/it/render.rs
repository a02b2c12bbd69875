//! Rendering the reference site: filled in below.
