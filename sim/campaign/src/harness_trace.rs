//! A fuzz-harness run as trace steps and records: every tracing event a harness input raises on
//! one build, in order, then its outcome. What `mta-lab diff --target` compares between builds and
//! what the KB matrix and the nightly chart for a harness finding.

use crate::smoke::run_one;
use mta_build::Build;
use mta_lab_look::chart::Rec;
use mta_lab_look::diff::Step;
use std::fmt::Write as _;
use std::path::Path;
use std::process::ExitCode;
use std::sync::{Arc, Mutex};

/// Records every tracing event of a harness run as `target: message field=value …`.
#[derive(Clone, Default)]
pub struct Recorder(pub Arc<Mutex<Vec<String>>>);

struct Fields(String);

impl tracing::field::Visit for Fields {
    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            self.0.insert_str(0, &format!("{value:?} "));
        } else {
            let _ = write!(self.0, "{}={value:?} ", field.name());
        }
    }
}

impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for Recorder {
    fn on_event(&self, e: &tracing::Event<'_>, _: tracing_subscriber::layer::Context<'_, S>) {
        let mut f = Fields(String::new());
        e.record(&mut f);
        if let Ok(mut v) = self.0.lock() {
            v.push(format!("{}: {}", e.metadata().target(), f.0.trim_end()));
        }
    }
}

/// One harness input run on one build: every tracing event it raised, in order, and its outcome.
pub struct HarnessRun {
    /// `target: message field=value …`, one per tracing event.
    pub events: Vec<String>,
    /// The harness's verdict: its class of input, or the failure (a panic included).
    pub outcome: Result<&'static str, mta_harness::Failure>,
}

/// Run `input` through `target`'s harness on `build`, recording its tracing events.
pub fn harness_run(target: &str, build: Build, input: &[u8]) -> Result<HarnessRun, String> {
    use tracing_subscriber::layer::SubscriberExt;
    let t = crate::smoke::target_by_name(target)?;
    let rec = Recorder::default();
    let sub = tracing_subscriber::registry().with(rec.clone());
    let outcome = tracing::subscriber::with_default(sub, || run_one(t, build, input));
    let events = std::mem::take(&mut *rec.0.lock().map_err(|e| e.to_string())?);
    Ok(HarnessRun { events, outcome })
}

impl HarnessRun {
    /// The run as steps: its events, then its outcome.
    pub fn steps(&self) -> Vec<Step> {
        let outcome = match &self.outcome {
            Ok(class) => format!("outcome: passes ({class})"),
            Err(f) => format!("outcome: FAILS {}", f.what),
        };
        self.events
            .iter()
            .chain(std::iter::once(&outcome))
            .enumerate()
            .map(|(i, k)| Step {
                at: i as u64,
                key: k.clone(),
            })
            .collect()
    }

    /// The event-log entries among its events (`mta_eventlog`), in order.
    pub fn event_log(&self) -> impl Iterator<Item = &str> {
        self.events
            .iter()
            .filter_map(|e| e.strip_prefix("mta_eventlog: "))
    }
}

/// A harness input on one build: its tracing events and its outcome as steps.
pub fn harness_steps(target: &str, build: Build, input: &[u8]) -> Result<Vec<Step>, String> {
    Ok(harness_run(target, build, input)?.steps())
}

/// A harness run as trace records (schema 2) for charts and the viewer: one lifeline `mta`,
/// event-log entries (with their ids) and the models' other tracing events, then the outcome.
pub fn harness_records(target: &str, build: Build, input: &[u8]) -> Result<Vec<Rec>, String> {
    Ok(records_of(&harness_run(target, build, input)?))
}

/// `mta-lab replay TARGET FILE`: the input through its harness on `build`, printing the event log
/// that led to the outcome (the 9215 refusals before a 9404, the 4258/4283 before a leak), then
/// the outcome; `trace` writes the run as trace records (JSONL) that `chart` and `view` read.
/// Status 1 when the input fails its harness.
pub fn replay(
    target: &str,
    file: &Path,
    build: Build,
    trace: Option<&Path>,
) -> Result<ExitCode, String> {
    let input = std::fs::read(file).map_err(|e| format!("{}: {e}", file.display()))?;
    let run = harness_run(target, build, &input)?;
    let log: Vec<&str> = run.event_log().collect();
    println!("event log on {build} ({} entries):", log.len());
    for e in &log {
        println!("  {}", e.replace('\n', "\n    "));
    }
    if let Some(p) = trace {
        let recs = records_of(&run);
        let mut text = String::new();
        for r in &recs {
            let line = serde_json::to_string(r).map_err(|e| e.to_string())?;
            text.push_str(&line);
            text.push('\n');
        }
        mta_lab_world::input::write_atomically(p, &text)?;
        println!("{} trace records → {}", recs.len(), p.display());
    }
    match run.outcome {
        Ok(class) => {
            println!("{target} on {build}: ok ({class})");
            Ok(ExitCode::SUCCESS)
        }
        Err(f) => {
            println!("{target} on {build}: FAILED: {f}");
            Ok(ExitCode::FAILURE)
        }
    }
}

/// A recorded harness run as trace records.
fn records_of(run: &HarnessRun) -> Vec<Rec> {
    let steps = run.steps();
    let n = steps.len();
    steps
        .into_iter()
        .enumerate()
        .map(|(i, st)| {
            let (origin, text) = st.key.split_once(": ").unwrap_or(("", st.key.as_str()));
            let id = text
                .split("event_id=")
                .nth(1)
                .and_then(|t| t.split_whitespace().next())
                .and_then(|t| t.parse::<u32>().ok());
            let fails = i + 1 == n && text.starts_with("FAILS");
            let layer = if i + 1 == n {
                if fails { "oracle" } else { "outcome" }
            } else if origin == "mta_eventlog" {
                "eventlog"
            } else {
                "model"
            };
            Rec {
                schema: mta_lab_world::simulate::TRACE_SCHEMA,
                t_ms: st.at,
                seq: st.at,
                host: if layer == "oracle" {
                    String::new()
                } else {
                    "mta".into()
                },
                event: origin.to_string(),
                what: text.to_string(),
                connection: None,
                layer: layer.into(),
                pdu: String::new(),
                octets: 0,
                hex: String::new(),
                local: None,
                peer: None,
                id,
                event_type: text.contains("fatal=true").then(|| "Error".to_string()),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use mta_lab_look::diff::first_divergence;

    #[test]
    fn q182619_diverges_at_the_recovery_request_between_sp1_and_sp2() {
        let input = std::fs::read(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../../corpora/kb/Q182619/driver_events@5.5"),
        )
        .unwrap();
        let a = harness_steps("driver_events", Build::Ex55Sp1, &input).unwrap();
        let b = harness_steps("driver_events", Build::Ex55Sp2, &input).unwrap();
        let i = first_divergence(&a, &b).expect("the builds differ");
        assert!(a[i].key.contains("re-staging"), "{}", a[i].key);
        assert!(a[i].key.contains("split=false") && b[i].key.contains("split=true"));
        assert!(a.last().unwrap().key.contains("9404"));
        assert!(b.last().unwrap().key.contains("passes"));
    }
}
