//! opsmith: a GitOps generator for bare-metal OpenShift sites.
//!
//! The data flow, one module per stage:
//!
//! 1. [`load`]: site/inventory.yaml and site/catalog.yaml, parsed with source positions;
//! 2. [`validate`]: JSON Schema and semantic checks, every problem at its line;
//! 3. [`plugins`]: one sandboxed WebAssembly plugin per component renders objects;
//! 4. [`collect`]: objects checked (kinds allowed, duplicates, upstream schemas), labelled;
//! 5. [`layout`]: one object per file, canonical YAML, a provenance record;
//! 6. [`output`]: written atomically to a folder, or printed as one stream.
//!
//! [`pipeline`] strings the stages together; [`cli`] holds the commands;
//! [`diagnostics`] all user-facing error text.

pub mod ci;
pub mod cli;
pub mod collect;
pub mod diagnostics;
pub mod env;
pub mod fleet;
pub mod layout;
pub mod load;
pub mod output;
pub mod pipeline;
pub mod plugins;
pub mod schema_errors;
pub mod validate;

/// `mi_option_purge_delay` in mimalloc v3's `mimalloc.h` (libmimalloc-sys
/// declares `mi_option_set` but not this option's name).
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

/// How long mimalloc waits before it hands freed pages back to the OS:
/// longer than any run, so that a free only marks its pages, and
/// [`release_freed_memory`] hands them back in bulk where a stage has freed
/// much at once.
const PURGE_DELAY_MS: std::ffi::c_long = 24 * 60 * 60 * 1000;

/// Tunes mimalloc, the allocator of the `opsmith` binary and its benchmark;
/// call first thing in `main`, before any other thread exists, as mimalloc
/// requires.
pub fn tune_allocator() {
    // By default mimalloc hands freed pages back to the OS soon after each
    // free, one `madvise` at a time, hundreds of times in a render.
    // SAFETY: a plain setter of a global option, called (per the contract
    // above) while the process has one thread.
    unsafe { libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, PURGE_DELAY_MS) };
}

/// Hands the memory freed so far back to the OS, in one pass. The pipeline
/// calls it once the parsed hosts are freed, before the plugins' sandboxes
/// map linear memory of their own: without it a large site's peak holds
/// both.
pub fn release_freed_memory() {
    // SAFETY: mi_collect may be called from any thread at any time; it
    // collects this thread's pages and purges what every thread has freed.
    unsafe { libmimalloc_sys::mi_collect(true) };
}

/// How a command ended, when it did not fail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitStatus {
    /// 0: done, valid, or no difference.
    Success,
    /// 1: there is a difference (diff's convention).
    Differs,
}

impl From<ExitStatus> for std::process::ExitCode {
    fn from(status: ExitStatus) -> Self {
        match status {
            ExitStatus::Success => std::process::ExitCode::SUCCESS,
            ExitStatus::Differs => std::process::ExitCode::from(1),
        }
    }
}

/// Runs a parsed command line.
pub fn run(cli: cli::Cli) -> anyhow::Result<ExitStatus> {
    use cli::Command;
    cli.color.apply();
    match &cli.command {
        Command::Validate(args) => cli::validate::run(args),
        Command::Render(args) => cli::render::run(args),
        Command::Schema(args) => cli::schema::run(args),
        Command::Diff(args) => cli::diff::run(args),
        Command::Commit(args) => cli::commit::run(args),
        Command::Check(args) => cli::check::run(args),
        Command::Plugin(command) => cli::plugin::run(command),
    }
}
