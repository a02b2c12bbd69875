//! How a plugin run fails. The host turns every one of these into an error
//! naming the component and the plugin; none of them crashes opsmith.

use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum PluginError {
    #[error(
        "ran out of fuel: the CPU budget of {fuel} units is spent (raise it with `--fuel` or the component's `limits.fuel`)"
    )]
    OutOfFuel { fuel: u64 },
    #[error("did not finish within {}s (raise it with `--timeout` or the component's `limits.timeoutSeconds`)", .limit.as_secs_f64())]
    Timeout { limit: Duration },
    #[error("tried to use more than {} MiB of memory (raise it with `--memory` or the component's `limits.memory`)", .limit / (1024 * 1024))]
    Memory { limit: u64 },
    #[error("overflowed its stack (unbounded recursion?)")]
    StackOverflow,
    #[error("panicked: {message}")]
    Panic { message: String },
    #[error("trapped: {trap}")]
    Trap { trap: String },
    #[error(
        "returned {size} bytes of output; the limit is {limit} bytes (raise it with `--max-output`)"
    )]
    OutputTooLarge { size: usize, limit: usize },
    #[error("returned malformed output: {reason}")]
    MalformedOutput { reason: String },
    #[error("is not a usable opsmith plugin: {reason}")]
    Incompatible { reason: String },
}
