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

/// A component whose plugin could not render it, and why.
#[derive(Debug, thiserror::Error)]
#[error("component `{component}` (plugin {plugin})")]
pub struct ComponentError {
    pub component: String,
    /// The plugin as the catalog names it (`builtin:metal3`, a file).
    pub plugin: String,
    #[source]
    pub cause: ComponentCause,
}

impl ComponentError {
    /// The whole text: the component, then why.
    pub fn text(&self) -> String {
        format!("{self}: {}", self.cause)
    }
}

/// Why a component could not be rendered.
#[derive(Debug, thiserror::Error)]
pub enum ComponentCause {
    /// The plugin ran and failed (a trap, a limit, malformed output).
    #[error("the plugin {0}")]
    Run(PluginError),
    /// The plugin could not be read, compiled or linked.
    #[error("{0:#}")]
    Load(anyhow::Error),
    #[error("the render thread died")]
    ThreadDied,
}

/// Every component that failed to render, and the input problems the other
/// components' plugins reported beside them: all of a run's failures at once.
#[derive(Debug)]
pub struct RenderFailures {
    pub components: Vec<ComponentError>,
    pub problems: Vec<crate::diagnostics::Problem>,
}

impl std::fmt::Display for RenderFailures {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let texts: Vec<String> = self.components.iter().map(ComponentError::text).collect();
        f.write_str(&texts.join("\nerror: "))?;
        if !self.problems.is_empty() {
            write!(
                f,
                "\n{}",
                crate::diagnostics::Invalid::new(self.problems.clone())
            )?;
        }
        Ok(())
    }
}

impl std::error::Error for RenderFailures {}
