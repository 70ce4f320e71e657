//! Message sequence charts of a run (`mta-lab chart`): one lifeline per interface address
//! (a multihomed machine shows each), arrows for TCP connects, refusals and closes and for every
//! PDU at a chosen layer (labels from the same dissection as `mta-lab decode`), faults drawn across
//! the timeline, event-log entries pinned on their machine, the oracle's findings highlighted.
//! Consecutive identical rows fold into one (`×N`). Input: a `--trace` JSONL file (schema 2).

use crate::html::esc;
use mta_osi::dissect::{Direction, dissect};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

/// One trace record (`sim/world/src/simulate.rs`, schema 2).
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
pub struct Rec {
    /// Schema.
    pub schema: u32,
    /// Simulated time.
    pub t_ms: u64,
    /// Order.
    pub seq: u64,
    /// Machine (empty for faults and findings).
    pub host: String,
    /// connect, connected, connect failed…, accept, send, recv, close, closed, log, finding, fault…
    pub event: String,
    /// The raw description.
    pub what: String,
    /// Connection (control block index) on `host`.
    pub connection: Option<u64>,
    /// tpkt, tcp, fault, eventlog, oracle.
    pub layer: String,
    /// TPKT/COTP summary of a segment.
    #[serde(default)]
    pub pdu: String,
    /// Octets.
    #[serde(default)]
    pub octets: u64,
    /// Raw bytes (hex).
    #[serde(default)]
    pub hex: String,
    /// Local socket address.
    #[serde(default)]
    pub local: Option<String>,
    /// Peer socket address.
    #[serde(default)]
    pub peer: Option<String>,
    /// Event id (event-log records).
    #[serde(default)]
    pub id: Option<u32>,
    /// Event type (event-log records).
    #[serde(default)]
    pub event_type: Option<String>,
}

/// Read a trace; located errors; records in (time, seq) order.
pub fn load(text: &str) -> Result<Vec<Rec>, String> {
    let mut v = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let r: Rec = serde_json::from_str(line)
            .map_err(|e| format!("line {}: not a trace record: {e}", i + 1))?;
        if r.schema != mta_lab_world::simulate::TRACE_SCHEMA {
            return Err(format!(
                "line {}: trace schema {} (this lab reads {}; re-record with `mta-lab run --trace`)",
                i + 1,
                r.schema,
                mta_lab_world::simulate::TRACE_SCHEMA
            ));
        }
        v.push(r);
    }
    if v.is_empty() {
        return Err("an empty trace".into());
    }
    v.sort_by_key(|r| (r.t_ms, r.seq));
    Ok(v)
}

fn ip(addr: &str) -> &str {
    addr.rsplit_once(':').map_or(addr, |(h, _)| h)
}

/// A write of a connection: record index, direction, octets.
type Write = (usize, Direction, Vec<u8>);

/// Per record: the dissection of that write in its TCP connection's context (sends only).
pub fn dissections(recs: &[Rec]) -> Vec<String> {
    // A connection: its two socket addresses; the side whose port is 102 is the responder.
    let mut streams: BTreeMap<(String, String), Vec<Write>> = BTreeMap::new();
    for (i, r) in recs.iter().enumerate() {
        let (Some(l), Some(p)) = (&r.local, &r.peer) else {
            continue;
        };
        if r.event != "send" {
            continue;
        }
        let Ok(bytes) = hex::decode(&r.hex) else {
            continue;
        };
        let responder_is_local = l.ends_with(":102");
        let key = if responder_is_local {
            (p.clone(), l.clone())
        } else {
            (l.clone(), p.clone())
        };
        let dir = if responder_is_local {
            Direction::In
        } else {
            Direction::Out
        };
        streams.entry(key).or_default().push((i, dir, bytes));
    }
    let mut out = vec![String::new(); recs.len()];
    for writes in streams.values() {
        // Dissect growing prefixes: the text a write adds is its dissection.
        let mut prefix: Vec<(Direction, Vec<u8>)> = Vec::new();
        let mut before = 0;
        for (i, dir, bytes) in writes {
            prefix.push((*dir, bytes.clone()));
            let (text, _) = dissect(&prefix);
            let added: String = text.get(before..).unwrap_or("").to_string();
            before = text.len();
            out[*i] = added
                .lines()
                .filter(|l| !l.starts_with("== "))
                .collect::<Vec<_>>()
                .join("\n");
        }
    }
    out
}

/// The layer a chart labels arrows with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Layer {
    /// TPKT.
    Tpkt,
    /// COTP TPDUs.
    Cotp,
    /// Session SPDUs.
    Session,
    /// RTSE/ACSE APDUs.
    Rtse,
    /// P1 APDUs.
    P1,
}

/// An arrow's label at `layer`, from a write's dissection (falls back to the TPKT summary).
pub fn label(dissection: &str, pdu: &str, layer: Layer) -> String {
    let prefixes: &[&str] = match layer {
        Layer::Tpkt => &["TPKT"],
        Layer::Cotp => &["COTP"],
        Layer::Session => &["SES"],
        Layer::Rtse => &["RTSE", "ACSE"],
        Layer::P1 => &["APDU", "transfer"],
    };
    let mut parts: Vec<String> = dissection
        .lines()
        .map(str::trim)
        .filter(|l| prefixes.iter().any(|p| l.starts_with(p)))
        .map(|l| {
            let l = l.split(" @").next().unwrap_or(l);
            let short: String = l.chars().take(48).collect();
            short
        })
        .collect();
    if parts.iter().any(|p| p.starts_with("!!")) || dissection.contains("!! malformed") {
        parts.push("!! malformed".into());
    }
    parts.dedup();
    if parts.is_empty() {
        return match layer {
            Layer::Tpkt | Layer::Cotp => pdu.to_string(),
            _ => String::new(),
        };
    }
    if parts.len() > 3 {
        let n = parts.len();
        parts.truncate(3);
        parts.push(format!("+{}", n - 3));
    }
    parts.join(", ")
}

#[derive(Debug, Clone, PartialEq)]
enum Row {
    Arrow {
        from: String,
        to: String,
        label: String,
        dashed: bool,
        colour: &'static str,
    },
    Note {
        at: String,
        text: String,
        colour: &'static str,
    },
    Band {
        text: String,
        colour: &'static str,
    },
}

/// Rows of the chart with their times, folded.
/// Rows (time, row, repeat count), the lifelines (addresses or host names) and which machine
/// owns each address.
type Rows = (
    Vec<(u64, Row, usize)>,
    Vec<String>,
    BTreeMap<String, String>,
);

/// The lifelines (interface addresses seen, named by the machine that owns them, then hosts
/// that own none), each address's owner, and each machine's primary (first seen) address.
fn lifelines(
    recs: &[Rec],
) -> (
    Vec<String>,
    BTreeMap<String, String>,
    BTreeMap<String, String>,
) {
    let mut owner: BTreeMap<String, String> = BTreeMap::new();
    let mut seen: BTreeSet<String> = BTreeSet::new();
    for r in recs {
        if let (Some(l), Some(p)) = (&r.local, &r.peer) {
            owner.insert(ip(l).to_string(), r.host.clone());
            seen.insert(ip(l).to_string());
            seen.insert(ip(p).to_string());
        }
    }
    let primary: BTreeMap<String, String> = owner.iter().fold(
        BTreeMap::new(),
        |mut m: BTreeMap<String, String>, (a, h)| {
            m.entry(h.clone()).or_insert_with(|| a.clone());
            m
        },
    );
    for r in recs {
        if !r.host.is_empty() && !owner.values().any(|h| h == &r.host) && r.local.is_none() {
            seen.insert(r.host.clone());
        }
    }
    let mut lifelines: Vec<String> = seen.into_iter().collect();
    lifelines.sort_by_key(|a| (!owner.contains_key(a), owner.get(a).cloned(), a.clone()));
    (lifelines, owner, primary)
}

/// Where one record appears in the chart, if it does; `remote` remembers each outgoing
/// connection's far end so that a failed connect can be drawn to it.
fn row_of(
    r: &Rec,
    dissection: &str,
    layer: Layer,
    (owner, primary): (&BTreeMap<String, String>, &BTreeMap<String, String>),
    remote: &mut BTreeMap<(String, u64), String>,
) -> Option<Row> {
    let mut row = None;
    let mut push = |_: u64, r: Row| row = Some(r);
    let ends = r
        .local
        .as_deref()
        .zip(r.peer.as_deref())
        .map(|(l, p)| (ip(l).to_string(), ip(p).to_string()));
    match (r.layer.as_str(), r.event.as_str(), ends) {
        ("tpkt", "send", Some((l, p))) => {
            let text = label(dissection, &r.pdu, layer);
            if !text.is_empty() {
                let bad = text.contains("malformed");
                push(
                    r.t_ms,
                    Row::Arrow {
                        from: l,
                        to: p,
                        label: text,
                        dashed: false,
                        colour: if bad { "#d62728" } else { "#1f3b73" },
                    },
                );
            }
        }
        ("tcp", _, _) if r.what.contains("connect failed") => {
            let conn = r
                .what
                .split_whitespace()
                .last()
                .and_then(|w| w.parse::<u64>().ok());
            let to = conn.and_then(|c| remote.get(&(r.host.clone(), c)).cloned());
            if let (Some(from), Some(to)) = (primary.get(&r.host).cloned(), to) {
                push(
                    r.t_ms,
                    Row::Arrow {
                        from,
                        to,
                        label: "connect refused".into(),
                        dashed: true,
                        colour: "#d62728",
                    },
                );
            }
        }
        // Bytes from peers that are not traced machines (callers, hostile peers) are drawn
        // where they arrive.
        ("tpkt", "recv", Some((l, p))) if !owner.contains_key(&p) => {
            let text = label(dissection, &r.pdu, layer);
            let text = if text.is_empty() { r.pdu.clone() } else { text };
            push(
                r.t_ms,
                Row::Arrow {
                    from: p,
                    to: l,
                    label: text,
                    dashed: false,
                    colour: "#6a3d9a",
                },
            );
        }
        ("tcp", "connect", _) => {
            if let (Some(c), Some(to)) = (r.connection, r.what.split_whitespace().nth(3)) {
                remote.insert((r.host.clone(), c), to.to_string());
            }
        }
        ("tcp", "connected", Some((l, p))) => push(
            r.t_ms,
            Row::Arrow {
                from: l,
                to: p,
                label: "TCP connect".into(),
                dashed: true,
                colour: "#2ca02c",
            },
        ),
        ("tcp", "close", Some((l, p))) => push(
            r.t_ms,
            Row::Arrow {
                from: l,
                to: p,
                label: "FIN".into(),
                dashed: true,
                colour: "#888888",
            },
        ),
        ("fault", _, _) => push(
            r.t_ms,
            Row::Band {
                text: r.what.clone(),
                colour: "#ff7f0e",
            },
        ),
        ("eventlog", _, _) => {
            let first = r.what.lines().last().unwrap_or("");
            let at = primary
                .get(&r.host)
                .cloned()
                .unwrap_or_else(|| r.host.clone());
            let ty = r.event_type.as_deref().unwrap_or("");
            push(
                r.t_ms,
                Row::Note {
                    at,
                    text: format!(
                        "{}{}{}: {}",
                        r.id.unwrap_or(0),
                        if ty.is_empty() { "" } else { " " },
                        ty,
                        first.chars().take(70).collect::<String>()
                    ),
                    colour: match ty {
                        "Error" => "#d62728",
                        "Warning" => "#ff7f0e",
                        _ => "#555555",
                    },
                },
            );
        }
        ("model" | "outcome", _, _) => push(
            r.t_ms,
            Row::Note {
                at: primary
                    .get(&r.host)
                    .cloned()
                    .unwrap_or_else(|| r.host.clone()),
                text: r.what.chars().take(110).collect(),
                colour: "#1f3b73",
            },
        ),
        ("oracle", _, _) => push(
            r.t_ms,
            Row::Band {
                text: format!("ORACLE: {}", r.what),
                colour: "#d62728",
            },
        ),
        _ => {}
    }
    row
}

fn rows(recs: &[Rec], dis: &[String], layer: Layer) -> Rows {
    let (lifelines, owner, primary) = lifelines(recs);
    let mut remote: BTreeMap<(String, u64), String> = BTreeMap::new();
    let mut out: Vec<(u64, Row, usize)> = Vec::new();
    for (i, r) in recs.iter().enumerate() {
        let Some(row) = row_of(r, &dis[i], layer, (&owner, &primary), &mut remote) else {
            continue;
        };
        if let Some(last) = out.last_mut()
            && last.1 == row
        {
            last.2 += 1;
            continue;
        }
        out.push((r.t_ms, row, 1));
    }
    (out, lifelines, owner)
}

/// The chart as SVG.
pub fn svg(recs: &[Rec], layer: Layer) -> String {
    let dis = dissections(recs);
    let (rows, lifelines, owner) = rows(recs, &dis, layer);
    let col = 190.0;
    let left = 90.0;
    let top = 50.0;
    let row_h = 20.0;
    let x_of: BTreeMap<&str, f64> = lifelines
        .iter()
        .enumerate()
        .map(|(i, a)| (a.as_str(), left + col * (i as f64 + 0.5)))
        .collect();
    let width = (left + col * lifelines.len().max(1) as f64 + 20.0).max(900.0);
    let height = top + row_h * (rows.len() as f64 + 2.0);
    let mut s = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width:.0}\" height=\"{height:.0}\" font-family=\"sans-serif\">\
<defs><marker id=\"ah\" viewBox=\"0 0 10 10\" refX=\"10\" refY=\"5\" markerWidth=\"7\" markerHeight=\"7\" orient=\"auto-start-reverse\">\
<path d=\"M 0 0 L 10 5 L 0 10 z\" fill=\"context-stroke\"/></marker></defs>\
<rect width=\"100%\" height=\"100%\" fill=\"white\"/>"
    );
    for (a, x) in &x_of {
        let name = owner.get(*a).map_or(String::new(), Clone::clone);
        let _ = write!(
            s,
            "<text x=\"{x:.0}\" y=\"18\" font-size=\"12\" font-weight=\"bold\" text-anchor=\"middle\">{}</text>\
<text x=\"{x:.0}\" y=\"32\" font-size=\"11\" text-anchor=\"middle\">{}</text>\
<line x1=\"{x:.0}\" y1=\"{top}\" x2=\"{x:.0}\" y2=\"{height:.0}\" stroke=\"#bbb\"/>",
            esc(if !name.is_empty() {
                &name
            } else if a.parse::<std::net::IpAddr>().is_ok() {
                "(peer)"
            } else {
                a
            }),
            esc(
                if name.is_empty() && a.parse::<std::net::IpAddr>().is_err() {
                    ""
                } else {
                    a
                }
            )
        );
    }
    for (i, (t, row, n)) in rows.iter().enumerate() {
        let y = top + row_h * (i as f64 + 1.0);
        let times = if *n > 1 {
            format!(" ×{n}")
        } else {
            String::new()
        };
        let _ = write!(
            s,
            "<text x=\"4\" y=\"{:.0}\" font-size=\"10\" fill=\"#666\">{t} ms</text>",
            y + 4.0
        );
        match row {
            Row::Arrow {
                from,
                to,
                label,
                dashed,
                colour,
            } => {
                let (Some(x1), Some(x2)) = (x_of.get(from.as_str()), x_of.get(to.as_str())) else {
                    continue;
                };
                let dash = if *dashed {
                    " stroke-dasharray=\"5,3\""
                } else {
                    ""
                };
                let _ = write!(
                    s,
                    "<line x1=\"{x1:.0}\" y1=\"{y:.0}\" x2=\"{x2:.0}\" y2=\"{y:.0}\" stroke=\"{colour}\"{dash} marker-end=\"url(#ah)\"/>\
<text x=\"{:.0}\" y=\"{:.0}\" font-size=\"10\" text-anchor=\"middle\" fill=\"{colour}\">{}{}</text>",
                    (x1 + x2) / 2.0,
                    y - 3.0,
                    esc(label),
                    esc(&times)
                );
            }
            Row::Note { at, text, colour } => {
                let x = x_of.get(at.as_str()).copied().unwrap_or(left);
                let _ = write!(
                    s,
                    "<rect x=\"{:.0}\" y=\"{:.0}\" width=\"{:.0}\" height=\"15\" rx=\"3\" fill=\"#fff8e6\" stroke=\"{colour}\"/>\
<text x=\"{:.0}\" y=\"{:.0}\" font-size=\"10\" fill=\"{colour}\">{}{}</text>",
                    x - 4.0,
                    y - 11.0,
                    (text.len() as f64 * 5.6 + 12.0).min(width - x),
                    x,
                    y,
                    esc(text),
                    esc(&times)
                );
            }
            Row::Band { text, colour } => {
                let _ = write!(
                    s,
                    "<rect x=\"{left}\" y=\"{:.0}\" width=\"{:.0}\" height=\"15\" fill=\"{colour}\" fill-opacity=\"0.15\" stroke=\"{colour}\"/>\
<text x=\"{:.0}\" y=\"{y:.0}\" font-size=\"10\" font-weight=\"bold\" fill=\"{colour}\">{}{}</text>",
                    y - 11.0,
                    width - left - 10.0,
                    left + 4.0,
                    esc(text),
                    esc(&times)
                );
            }
        }
    }
    s.push_str("</svg>\n");
    s
}

/// The chart wrapped in a page.
pub fn html(title: &str, svg: &str) -> String {
    format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>{t}</title></head>\
<body style=\"font-family:sans-serif\"><h3>{t}</h3>{svg}</body></html>\n",
        t = esc(title)
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use mta_build::Build;
    use mta_lab_world::simulate::{Record, run_with};
    use mta_lab_world::world::World;

    fn trace(w: &World, seed: u64, faults: bool) -> Vec<Rec> {
        let plan = if faults {
            mta_lab_world::faults::FaultPlan::from_seed(seed, w)
        } else {
            mta_lab_world::faults::FaultPlan::none()
        };
        let (_, out) = run_with(
            w,
            seed,
            plan,
            Record {
                pcap: false,
                trace: true,
                until: None,
                every_tick: false,
            },
        );
        load(&out.trace.join("\n")).unwrap()
    }

    #[test]
    fn a_chart_shows_both_addresses_of_a_multihomed_sender_and_the_9301() {
        // 5.5 SP1 ignores the override: ALPHA dials from both addresses; BETA refuses one with 9301.
        let w = World::multihomed(Build::Ex55Sp1, 4, true);
        let recs = (0..20)
            .map(|seed| trace(&w, seed, false))
            .find(|r| r.iter().any(|x| x.id == Some(9301)))
            .expect("a 9301 within 20 seeds");
        let s = svg(&recs, Layer::Session);
        assert!(
            s.contains("10.0.1.1") && s.contains("10.0.1.2"),
            "two lifelines"
        );
        assert!(s.contains("9301 "), "the refusal is pinned");
        assert!(s.contains("SES CONNECT"), "session-layer labels");
        let d = dissections(&recs);
        assert!(d.iter().any(|t| t.contains("COTP CR")));
    }

    #[test]
    fn faults_and_findings_are_drawn_and_repeats_fold() {
        let w = World::flood(Build::Ex2000Sp3, 2);
        let recs = trace(&w, 3, true);
        let s = svg(&recs, Layer::Cotp);
        assert!(s.contains("fault start"), "the fault band");
        assert!(s.contains("ORACLE: VICTIM"), "the violation");
        assert!(s.contains('×'), "repeated rows fold");
        assert!(load("{\"schema\":1}").is_err());
        assert!(load("not json").unwrap_err().starts_with("line 1"));
    }
}
