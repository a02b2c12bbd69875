//! The sandbox one plugin call runs in: a fresh `Store` with a deny-all,
//! deterministic WASI context, a memory cap, a fuel budget and a wall-clock
//! backstop. Nothing the plugin can reach differs between runs or machines.

use std::time::Duration;

use wasmtime::component::ResourceTable;
use wasmtime::{ResourceLimiter, Store, Trap};
use wasmtime_wasi::p2::pipe::MemoryOutputPipe;
use wasmtime_wasi::random::Deterministic;
use wasmtime_wasi::{HostMonotonicClock, HostWallClock, WasiCtx, WasiCtxView, WasiView};

use super::bindings::{RendererImports, Severity};
use super::error::PluginError;
use crate::validate::catalog::ComponentLimits;

/// The user's policy for one plugin run. Never the plugin's own say.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    pub memory_bytes: u64,
    pub fuel: u64,
    pub timeout: Duration,
    pub output_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            memory_bytes: 256 << 20,
            // About ten seconds of a busy plugin on a current core; a render of
            // 10 000 hosts by the built-ins needs a small fraction of it.
            fuel: 20_000_000_000,
            timeout: Duration::from_secs(10),
            output_bytes: 128 << 20,
        }
    }
}

impl Limits {
    /// These limits (the command line's), overridden by a component's
    /// `limits` in the catalog (which its schema has checked).
    pub fn for_component(self, component: &ComponentLimits) -> Limits {
        let mut limits = self;
        if let Some(bytes) = component.memory.as_deref().and_then(quantity_bytes) {
            limits.memory_bytes = bytes;
        }
        if let Some(fuel) = component.fuel {
            limits.fuel = fuel;
        }
        if let Some(seconds) = component.timeout_seconds {
            limits.timeout = Duration::from_secs_f64(seconds);
        }
        limits
    }
}

/// A Kubernetes memory quantity (`256Mi`, `1Gi`, `500M`) in bytes.
pub fn quantity_bytes(q: &str) -> Option<u64> {
    let split = q.find(|c: char| !c.is_ascii_digit()).unwrap_or(q.len());
    let (number, unit) = q.split_at(split);
    let n: u64 = number.parse().ok()?;
    let factor: u64 = match unit {
        "" => 1,
        "Ki" => 1 << 10,
        "Mi" => 1 << 20,
        "Gi" => 1 << 30,
        "k" => 1_000,
        "M" => 1_000_000,
        "G" => 1_000_000_000,
        _ => return None,
    };
    n.checked_mul(factor)
}

/// How often the engine's epoch advances; the timeout is counted in these.
pub const EPOCH_TICK: Duration = Duration::from_millis(10);

/// Most bytes of a plugin's stdout, stderr and `log` calls kept for the log.
const LOG_CAPACITY: usize = 64 << 10;

/// The fixed time every plugin sees: 2000-01-01T00:00:00Z.
const FIXED_EPOCH_SECONDS: u64 = 946_684_800;

struct FixedClock;

impl HostWallClock for FixedClock {
    fn resolution(&self) -> Duration {
        Duration::from_secs(1)
    }
    fn now(&self) -> Duration {
        Duration::from_secs(FIXED_EPOCH_SECONDS)
    }
}

impl HostMonotonicClock for FixedClock {
    fn resolution(&self) -> u64 {
        1_000_000_000
    }
    fn now(&self) -> u64 {
        0
    }
}

/// Per-store state: WASI (denying everything), the memory cap, the log.
pub struct StoreState {
    wasi: WasiCtx,
    table: ResourceTable,
    memory_limit: u64,
    memory_exceeded: bool,
    stdout: MemoryOutputPipe,
    stderr: MemoryOutputPipe,
    log: Vec<String>,
    log_bytes: usize,
}

impl StoreState {
    fn new(memory_limit: u64) -> Self {
        let stdout = MemoryOutputPipe::new(LOG_CAPACITY);
        let stderr = MemoryOutputPipe::new(LOG_CAPACITY);
        // Fixed bytes rather than entropy: a plugin that draws random numbers
        // gets the same ones on every run.
        let seed: Vec<u8> = (0u32..256)
            .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
            .collect();
        let wasi = WasiCtx::builder()
            .stdout(stdout.clone())
            .stderr(stderr.clone())
            .wall_clock(FixedClock)
            .monotonic_clock(FixedClock)
            .secure_random(Deterministic::new(seed.clone()))
            .insecure_random(Deterministic::new(seed))
            .insecure_random_seed(0)
            .allow_tcp(false)
            .allow_udp(false)
            .allow_ip_name_lookup(false)
            .build();
        StoreState {
            wasi,
            table: ResourceTable::new(),
            memory_limit,
            memory_exceeded: false,
            stdout,
            stderr,
            log: Vec::new(),
            log_bytes: 0,
        }
    }

    /// Everything the plugin wrote: `log` calls, then stdout and stderr.
    pub fn take_log(&mut self) -> Vec<String> {
        let mut lines = std::mem::take(&mut self.log);
        for pipe in [&self.stdout, &self.stderr] {
            let text = String::from_utf8_lossy(&pipe.contents()).into_owned();
            lines.extend(text.lines().map(str::to_owned));
        }
        lines
    }

    fn stderr_text(&self) -> String {
        String::from_utf8_lossy(&self.stderr.contents())
            .trim()
            .to_owned()
    }
}

impl WasiView for StoreState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

impl ResourceLimiter for StoreState {
    fn memory_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if desired as u64 > self.memory_limit {
            self.memory_exceeded = true;
            return Ok(false);
        }
        Ok(true)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        Ok(desired <= 1_000_000)
    }
}

impl RendererImports for StoreState {
    fn log(&mut self, level: Severity, message: String) {
        if self.log_bytes > LOG_CAPACITY {
            return;
        }
        self.log_bytes += message.len();
        let level = match level {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Error => "error",
        };
        self.log.push(format!("{level}: {message}"));
    }
}

/// A store ready for one call under `limits`.
pub fn store(engine: &wasmtime::Engine, limits: &Limits) -> wasmtime::Result<Store<StoreState>> {
    let mut store = Store::new(engine, StoreState::new(limits.memory_bytes));
    store.limiter(|state| state);
    store.set_fuel(limits.fuel)?;
    let ticks = (limits.timeout.as_millis() / EPOCH_TICK.as_millis()).max(1) as u64;
    store.set_epoch_deadline(ticks);
    store.epoch_deadline_trap();
    Ok(store)
}

/// Turns what went wrong in a call into a [`PluginError`], using what the
/// store saw (memory refused, the guest's panic message on stderr).
pub fn classify(err: wasmtime::Error, store: &Store<StoreState>, limits: &Limits) -> PluginError {
    let state = store.data();
    if state.memory_exceeded {
        return PluginError::Memory {
            limit: limits.memory_bytes,
        };
    }
    let stderr = state.stderr_text();
    match err.downcast_ref::<Trap>() {
        Some(Trap::OutOfFuel) => PluginError::OutOfFuel { fuel: limits.fuel },
        Some(Trap::Interrupt) => PluginError::Timeout {
            limit: limits.timeout,
        },
        Some(Trap::StackOverflow) => PluginError::StackOverflow,
        // Rust and C keep their stack in linear memory: running past its
        // bottom is an out-of-bounds access, not a wasm stack overflow.
        Some(Trap::MemoryOutOfBounds) => PluginError::Trap {
            trap: "out-of-bounds memory access (in a Rust or C plugin usually a stack overflow from deep recursion)".to_owned(),
        },
        Some(Trap::UnreachableCodeReached) if stderr.contains("panicked") => {
            let mut message = panic_message(&stderr);
            // componentize-py prints the Python traceback, then its runtime panics.
            if let Some(exception) = python_exception(&stderr) {
                message = format!("{exception} ({message})");
            }
            PluginError::Panic { message }
        }
        Some(trap) => {
            let mut text = trap.to_string();
            if !stderr.is_empty() {
                text.push_str(&format!(
                    "; the plugin's stderr ends with: {}",
                    last_lines(&stderr, 3)
                ));
            }
            PluginError::Trap { trap: text }
        }
        None => PluginError::Trap {
            trap: format!("{err:#}"),
        },
    }
}

/// Rust's panic output is "thread '...' panicked at file:line:col:\nmessage".
fn panic_message(stderr: &str) -> String {
    let after = stderr
        .rsplit_once("panicked at ")
        .map_or(stderr, |(_, rest)| rest);
    let mut lines = after.lines();
    let location = lines.next().unwrap_or_default().trim_end_matches(':');
    let message: Vec<&str> = lines.take_while(|l| !l.starts_with("note:")).collect();
    format!("{} (at {location})", message.join(" ").trim())
}

/// The exception line that ends a Python traceback, such as
/// `ValueError: bad config`, if stderr holds one.
fn python_exception(stderr: &str) -> Option<String> {
    let start = stderr.rfind("Traceback (most recent call last):")?;
    stderr[start..]
        .lines()
        .skip(1)
        .take_while(|l| !l.contains("panicked at"))
        .filter(|l| !l.trim().is_empty() && !l.starts_with(' '))
        .last()
        .map(|l| format!("Python {}", l.trim()))
}

fn last_lines(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join(" | ")
}

impl super::bindings::v0_1::RendererImports for StoreState {
    fn log(
        &mut self,
        level: super::bindings::v0_1::opsmith::plugin::types::Severity,
        message: String,
    ) {
        RendererImports::log(self, level.into(), message);
    }
}

// The `types` interfaces have no functions; their host traits are empty.
impl super::bindings::TypesHost for StoreState {}
impl super::bindings::v0_1::opsmith::plugin::types::Host for StoreState {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn python_exception_is_the_tracebacks_last_line() {
        let stderr = "Traceback (most recent call last):\n  File \"/0/p.py\", line 3, in render\n    x = 1 / 0\nZeroDivisionError: division by zero\n\nthread '<unnamed>' panicked at runtime/src/lib.rs:1293:29:\nPython function threw an unexpected exception";
        assert_eq!(
            python_exception(stderr).as_deref(),
            Some("Python ZeroDivisionError: division by zero")
        );
        assert_eq!(
            python_exception("thread 'x' panicked at a.rs:1:1:\nboom"),
            None
        );
    }

    #[test]
    fn panic_message_keeps_text_and_location() {
        let stderr = "\nthread '<unnamed>' panicked at src/lib.rs:12:5:\nboom: bad input\nnote: run with `RUST_BACKTRACE=1`";
        assert_eq!(
            panic_message(stderr),
            "boom: bad input (at src/lib.rs:12:5)"
        );
    }
}
