//! A fuzz-harness run as trace steps and records: every tracing event a harness input raises on
//! one build, in order, then its outcome. What `mta-lab diff --target` compares between builds and
//! what the KB matrix and the nightly chart for a harness finding.

use crate::smoke::run_one;
use mta_build::Build;
use mta_lab_look::chart::Rec;
use mta_lab_look::diff::Step;
use std::fmt::Write as _;
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

/// A harness input on one build: its tracing events and its outcome as steps.
pub fn harness_steps(target: &str, build: Build, input: &[u8]) -> Result<Vec<Step>, String> {
    use tracing_subscriber::layer::SubscriberExt;
    let t = crate::smoke::target_by_name(target)?;
    let rec = Recorder::default();
    let sub = tracing_subscriber::registry().with(rec.clone());
    let outcome = tracing::subscriber::with_default(sub, || run_one(t, build, input));
    let mut steps: Vec<Step> = rec
        .0
        .lock()
        .map_err(|e| e.to_string())?
        .iter()
        .enumerate()
        .map(|(i, k)| Step {
            at: i as u64,
            key: k.clone(),
        })
        .collect();
    steps.push(Step {
        at: steps.len() as u64,
        key: match outcome {
            Ok(class) => format!("outcome: passes ({class})"),
            Err(f) => format!("outcome: FAILS {}", f.what),
        },
    });
    Ok(steps)
}

/// A harness run as trace records (schema 2) for charts and the viewer: one lifeline `mta`,
/// event-log entries (with their ids) and the models' other tracing events, then the outcome.
pub fn harness_records(target: &str, build: Build, input: &[u8]) -> Result<Vec<Rec>, String> {
    let steps = harness_steps(target, build, input)?;
    let n = steps.len();
    Ok(steps
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
        .collect())
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
