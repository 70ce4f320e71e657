//! `mta-lab diff`: the same world and seed (or the same fuzz input) on two builds, and the first
//! point where their behaviour diverges — PDUs, connection events, event-log entries, findings for
//! a simulation; the models' tracing events (event-log entries, driver decisions such as the
//! sockets-recovery buffer request) for a harness input. The quickest way to see what a service
//! pack changed.

use crate::chart::{self, Layer, Rec};
use crate::html::esc;
use std::fmt::Write as _;

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
                _ => mta_lab_world::finding::numbers_out(&r.what),
            };
            Some(Step { at: r.t_ms, key })
        })
        .collect()
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
}
