//! `--verbose`: what opsmith's own `tracing` spans and events record, as
//! notes on stderr. A span is a stage and prints how long it took when it
//! closes; an event (how a plugin was loaded, a plugin's own log line) prints
//! its message. Without `--verbose` no subscriber is installed, and spans and
//! events cost a check of a static each.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id};
use tracing::{Event, Subscriber};
use tracing_subscriber::Layer;
use tracing_subscriber::layer::{Context, SubscriberExt as _};
use tracing_subscriber::registry::LookupSpan;

/// Whether `--verbose` is on.
static SHOWN: AtomicBool = AtomicBool::new(false);

/// Prints opsmith's spans and events from now on. The dependencies' own
/// tracing (wasmtime's, Cranelift's) stays out: it is for their developers.
pub fn show() {
    SHOWN.store(true, Ordering::Relaxed);
    let opsmith_only = tracing_subscriber::filter::filter_fn(|metadata| {
        metadata.target().split("::").next() == Some(env!("CARGO_CRATE_NAME"))
    });
    let subscriber = tracing_subscriber::registry().with(Notes.with_filter(opsmith_only));
    // A command that starts a second host keeps the subscriber it has.
    let _ = tracing::subscriber::set_global_default(subscriber);
}

/// With `--verbose`, notes the process's peak memory: the high-water mark
/// of its resident set as Linux counts it for this program (`VmHWM`).
/// getrusage's `ru_maxrss` would not do: it also counts what the parent had
/// resident when it started this process, which a benchmark's parent has
/// plenty of.
pub fn peak_memory() {
    if !SHOWN.load(Ordering::Relaxed) {
        return;
    }
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let kib = status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|rest| rest.trim().strip_suffix("kB"))
        .and_then(|n| n.trim().parse::<u64>().ok());
    if let Some(kib) = kib {
        crate::diagnostics::note(&format!("peak memory: {:.1} MiB", kib as f64 / 1024.0));
    }
}

/// The layer that turns spans and events into notes.
struct Notes;

/// When a span opened.
struct Opened(Instant);

impl<S> Layer<S> for Notes
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn on_new_span(&self, _: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        if let Some(span) = ctx.span(id) {
            span.extensions_mut().insert(Opened(Instant::now()));
        }
    }

    fn on_close(&self, id: Id, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(&id) else { return };
        if let Some(Opened(opened)) = span.extensions().get::<Opened>() {
            crate::diagnostics::note(&format!(
                "{}: {:.1} ms",
                span.name(),
                opened.elapsed().as_secs_f64() * 1000.0
            ));
        }
    }

    fn on_event(&self, event: &Event<'_>, _: Context<'_, S>) {
        let mut message = Message::default();
        event.record(&mut message);
        crate::diagnostics::note(&message.0);
    }
}

/// An event's formatted message (the `message` field the macros fill in).
#[derive(Default)]
struct Message(String);

impl Visit for Message {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            // The message is `format_args!`, whose Debug is its text.
            let _ = write!(self.0, "{value:?}");
        }
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.0.push_str(value);
        }
    }
}
