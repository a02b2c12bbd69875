//! Broken sites: filled in below.
