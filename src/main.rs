use std::process::ExitCode;

use clap::Parser as _;

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    opsmith::tune_allocator();
    let cli = opsmith::cli::Cli::parse();
    let result = opsmith::run(cli);
    opsmith::cli::verbose::peak_memory();
    match result {
        Ok(status) => status.into(),
        Err(err) => {
            opsmith::diagnostics::report(&err);
            ExitCode::from(2)
        }
    }
}
