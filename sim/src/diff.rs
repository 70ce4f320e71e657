//! `mta-lab diff`: the same world and seed (or the same fuzz input) on two builds, and the first
//! point where their behaviour diverges — PDUs, connection events, event-log entries, findings for
//! a simulation; the models' tracing events (event-log entries, driver decisions such as the
//! sockets-recovery buffer request) for a harness input. The quickest way to see what a service
//! pack changed.

use crate::chart::{self, Layer, Rec};
use crate::report::esc;
use crate::smoke::run_one;
use mta_build::Build;
use std::fmt::Write as _;
use std::sync::{Arc, Mutex};

/// One comparable step of a run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    /// When (simulated ms; the step number for harness runs).
    pub at: u64,
    /// What, in comparable form.
    pub key: String,
}

/// Where two runs part.
#[derive(Debug)]
pub struct Divergence {
    /// Index of the first differing step (equal to the shorter length if one is a prefix).
    pub index: usize,
    /// Steps of each run (for context).
    pub a: Vec<Step>,
    /// Steps of the other.
    pub b: Vec<Step>,
}

/// The first index where the keys differ, or `None` when the runs behave the same.
pub fn first_divergence(a: &[Step], b: &[Step]) -> Option<usize> {
    let n = a.len().min(b.len());
    (0..n)
        .find(|&i| a[i].key != b[i].key)
        .or((a.len() != b.len()).then_some(n))
}

/// A simulation trace as comparable steps at `layer`.
pub fn sim_steps(recs: &[Rec], layer: Layer) -> Vec<Step> {
    let dis = chart::dissections(recs);
    recs.iter()
        .zip(&dis)
        .filter_map(|(r, d)| {
            let key = match (r.layer.as_str(), r.event.as_str()) {
                ("tpkt", "send") => {
                    let l = chart::label(d, &r.pdu, layer);
                    let l = if l.is_empty() { r.pdu.clone() } else { l };
                    format!("{} sends {}", r.host, l)
                }
                ("tpkt", _) => return None, // receives mirror sends
                ("eventlog", _) => format!(
                    "{} logs {} {}",
                    r.host,
                    r.id.unwrap_or(0),
                    r.what.lines().last().unwrap_or("")
                ),
                ("oracle", _) => format!("ORACLE {}", r.what),
                _ => crate::finding::numbers_out(&r.what),
            };
            Some(Step { at: r.t_ms, key })
        })
        .collect()
}

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
                schema: crate::simulate::TRACE_SCHEMA,
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

/// Text report of a divergence: both sides around the first differing step.
pub fn describe(names: (&str, &str), d: &Divergence, context: usize) -> String {
    let mut s = String::new();
    let from = d.index.saturating_sub(context);
    let _ = writeln!(
        s,
        "first divergence at step {} ({} steps on {}, {} on {}):",
        d.index,
        d.a.len(),
        names.0,
        d.b.len(),
        names.1
    );
    for (name, steps) in [(names.0, &d.a), (names.1, &d.b)] {
        let _ = writeln!(s, "  {name}:");
        for (i, st) in steps.iter().enumerate().skip(from).take(context + 3) {
            let mark = if i == d.index { ">>" } else { "  " };
            let _ = writeln!(s, "  {mark} [{i:>4}] {:>7} {}", st.at, st.key);
        }
    }
    s
}

/// Both charts side by side, the divergence named above them.
pub fn html(title: &str, text: &str, charts: (&str, &str), names: (&str, &str)) -> String {
    format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>{t}</title></head>\
<body style=\"font-family:sans-serif\"><h3>{t}</h3><pre>{}</pre>\
<div style=\"display:flex;gap:12px\"><div><h4>{}</h4>{}</div><div><h4>{}</h4>{}</div></div></body></html>\n",
        esc(text),
        esc(names.0),
        charts.0,
        esc(names.1),
        charts.1,
        t = esc(title)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn steps(keys: &[&str]) -> Vec<Step> {
        keys.iter()
            .enumerate()
            .map(|(i, k)| Step {
                at: i as u64,
                key: (*k).to_string(),
            })
            .collect()
    }

    #[test]
    fn divergence_is_the_first_differing_step() {
        assert_eq!(
            first_divergence(&steps(&["a", "b"]), &steps(&["a", "b"])),
            None
        );
        assert_eq!(
            first_divergence(&steps(&["a", "b"]), &steps(&["a", "c"])),
            Some(1)
        );
        assert_eq!(
            first_divergence(&steps(&["a"]), &steps(&["a", "c"])),
            Some(1)
        );
    }

    #[test]
    fn q182619_diverges_at_the_recovery_request_between_sp1_and_sp2() {
        let input = std::fs::read(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../corpora/kb/Q182619/driver_events@5.5"),
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
