//! Fault capture: run a model step, and if it panics (the model's "access violation") return the
//! panic message together with the stack of tracing spans that were entered when it happened — the
//! layer stack a finding records (KB Q225157's `oppsin → … → oppsscnc`).
//!
//! [`SpanStack`] is a `tracing-subscriber` layer that keeps, per thread, the names of the entered
//! spans; while a thread unwinds, the first exit snapshots the stack before it shrinks.

use std::cell::RefCell;
use std::panic::{AssertUnwindSafe, catch_unwind};
use tracing::Subscriber;
use tracing::span::Id;
use tracing_subscriber::layer::{Context, Layer};
use tracing_subscriber::registry::LookupSpan;

thread_local! {
    static STACK: RefCell<Vec<&'static str>> = const { RefCell::new(Vec::new()) };
    static AT_FAULT: RefCell<Option<Vec<&'static str>>> = const { RefCell::new(None) };
}

/// The span-stack recorder layer.
#[derive(Debug, Clone, Copy, Default)]
pub struct SpanStack;

impl<S: Subscriber + for<'a> LookupSpan<'a>> Layer<S> for SpanStack {
    fn on_enter(&self, id: &Id, ctx: Context<'_, S>) {
        if let Some(span) = ctx.span(id) {
            STACK.with(|s| s.borrow_mut().push(span.name()));
        }
    }
    fn on_exit(&self, _id: &Id, _ctx: Context<'_, S>) {
        STACK.with(|s| {
            let mut s = s.borrow_mut();
            if std::thread::panicking() {
                AT_FAULT.with(|f| {
                    let mut f = f.borrow_mut();
                    if f.is_none() {
                        *f = Some(s.clone());
                    }
                });
            }
            s.pop();
        });
    }
}

fn spans_only(m: &tracing::Metadata<'_>) -> bool {
    m.is_span()
}

/// A dispatcher with only the [`SpanStack`] recorder, built once per thread: what a harness
/// installs around [`catch_fault`] when no other subscriber records spans.
/// Events are filtered out (only spans matter), so a model's `tracing` events cost nothing — no
/// field is formatted — while only this recorder is installed.
pub fn span_recorder() -> tracing::Dispatch {
    use tracing_subscriber::layer::{Layer as _, SubscriberExt};
    thread_local! {
        static RECORDER: tracing::Dispatch = tracing::Dispatch::new(
            tracing_subscriber::registry().with(
                SpanStack.with_filter(tracing_subscriber::filter::filter_fn(spans_only)),
            ),
        );
    }
    RECORDER.with(Clone::clone)
}

/// A model fault: what panicked and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fault {
    /// Panic message.
    pub message: String,
    /// Entered spans, outermost first (empty if no [`SpanStack`] layer was installed).
    pub spans: Vec<&'static str>,
}

thread_local! {
    /// Set while [`catch_fault`] runs: its panics are expected and reported as [`Fault`]s.
    static CATCHING: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Wrap the process's panic hook so panics that [`catch_fault`] turns into faults are not also
/// printed (with a backtrace) to stderr; every other panic still is. Call once at start-up.
pub fn quiet_caught_faults() {
    let prev = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        if !CATCHING.with(std::cell::Cell::get) {
            prev(info);
        }
    }));
}

/// Run `f`; a panic becomes a [`Fault`].
pub fn catch_fault<T>(f: impl FnOnce() -> T) -> Result<T, Fault> {
    AT_FAULT.with(|a| *a.borrow_mut() = None);
    let was = CATCHING.with(|c| c.replace(true));
    let r = catch_unwind(AssertUnwindSafe(f));
    CATCHING.with(|c| c.set(was));
    r.map_err(|payload| {
        let message = payload
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| payload.downcast_ref::<&str>().map(|s| (*s).to_string()))
            .unwrap_or_else(|| "non-string panic".into());
        let spans = AT_FAULT.with(|a| a.borrow_mut().take()).unwrap_or_default();
        Fault { message, spans }
    })
}
