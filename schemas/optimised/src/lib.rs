//! The validators of the upstream kinds a site renders one of per host (BareMetalHost,
//! ExternalSecret) or one listing every host (InstallConfig): a 1 000-host site validates
//! two thousand such objects, so they are worth optimising, and unlike the other kinds'
//! they optimise in under a minute. opsmith-schemas lists them in its table of kinds,
//! `KINDS`; nothing else uses this crate.

include!(concat!(env!("OUT_DIR"), "/kinds.rs"));
