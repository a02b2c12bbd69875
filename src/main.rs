use std::process::ExitCode;

use clap::Parser as _;

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// `mi_option_purge_delay` in mimalloc v3's `mimalloc.h` (libmimalloc-sys
/// declares `mi_option_set` but not this option's name).
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

fn main() -> ExitCode {
    // mimalloc hands freed pages back to the OS one `madvise` at a time,
    // hundreds of times in a render (5-10% of its time); a run is short and
    // its memory goes back when it exits. Set before any other thread
    // exists, as mimalloc requires.
    // SAFETY: a plain setter, called while the process has one thread.
    unsafe { libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, -1) };
    let cli = opsmith::cli::Cli::parse();
    match opsmith::run(cli) {
        Ok(status) => status.into(),
        Err(err) => {
            opsmith::diagnostics::report(&err);
            ExitCode::from(2)
        }
    }
}
