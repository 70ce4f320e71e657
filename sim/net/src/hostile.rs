//! Hostile peers: small peer programs that connect to an MTA over turmoil TCP and misbehave at
//! one layer each (TPKT, COTP, session, presentation, RTSE bind, P1, timing, connection patterns).
//! After all of them, the generic oracles must hold on the MTA and a well-behaved peer must still
//! be able to bind and transfer (the listener keeps accepting, peers interoperate).

use crate::import::{Ending, PeerScript};
use mta_build::Build;
use mta_lab_world::caller::{good_bind, opening, peer_config};
use mta_lab_world::edge::{self, SharedNode};
use mta_mta::connector::parse_connectors;
use mta_mta::core::{Mta, MtaConfig, Outcome};
use mta_osi::association::{Association, Event, Role};
use mta_osi::presentation::Mode;
use mta_osi::tpkt::ReservedPolicy;
use mta_p1::{Apdu, Bind, ContentType, Envelope, GlobalDomainIdentifier, OrName, Recipient};
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use turmoil::net::{TcpListener, TcpStream};

/// The MTA under attack.
const MTA_ADDR: &str = "10.0.2.1";
/// Where the peers come from (configured as a connector's stack address, so binds get checked).
const PEER_ADDR: &str = "10.0.9.1";

pub use mta_lab_world::hostile_peers::{End, Peer, library};

/// A peer script (an imported capture's caller) as a hostile-peer program: its writes with their
/// pauses, then its ending.
pub fn from_script(script: &PeerScript, name: &'static str) -> Peer {
    Peer {
        name,
        writes: script
            .write
            .iter()
            .map(|w| (w.after_ms, hex::decode(&w.hex).unwrap_or_default()))
            .collect(),
        end: match script.end {
            Ending::HalfClose => End::HalfClose,
            Ending::Open => End::Silent(2000),
            Ending::Close | Ending::Reset => End::Close,
        },
    }
}

/// The user data of the session CONNECT an X.400 caller sends to bind as `name`/`password`: the
/// presentation CP-type carrying ACSE AARQ, RTSE RTORQ and the MTABind (normal mode), or the
/// RTORQ with the bind (X.410 mode). Independent OSI stacks wrap it in their own session CONNECT
/// (scripts/interop_open61850.py).
pub fn connect_user_data(name: &str, password: &str, mode: Mode) -> Vec<u8> {
    let (_, cn) = opening(&Bind::simple(name, password).emit(), mode);
    // One TPKT carrying one DT (LI 2, code, EOT) whose TSDU starts with the CONNECT SPDU.
    let tsdu = cn.get(7..).unwrap_or_default();
    mta_osi::session::Tsdu::parse(tsdu)
        .ok()
        .and_then(|t| t.spdus.first().map(|s| s.user_data().to_vec()))
        .unwrap_or_default()
}

/// A peer that binds properly, sends one valid and one malformed P1 APDU, then releases.
async fn interactive(
    stream: &mut TcpStream,
    apdus: Vec<Vec<u8>>,
    policy: ReservedPolicy,
) -> Vec<Event> {
    let mut cfg = peer_config(Mode::Normal);
    cfg.transport.reserved_policy = policy;
    let mut a = Association::new(Role::Initiator, cfg);
    a.bind(&good_bind());
    let mut events = Vec::new();
    let mut sent = false;
    let mut buf = vec![0u8; 16 * 1024];
    for _ in 0..400 {
        let out = a.transmit();
        if !out.is_empty() && stream.write_all(&out).await.is_err() {
            break;
        }
        if a.wants_close() {
            break;
        }
        match tokio::time::timeout(Duration::from_millis(50), stream.read(&mut buf)).await {
            Ok(Ok(0) | Err(_)) => {
                a.tcp_closed();
                break;
            }
            Ok(Ok(n)) => a.receive(&buf[..n]),
            Err(_) => {}
        }
        while let Some(e) = a.poll_event() {
            if matches!(e, Event::BindAccepted { .. }) && !sent {
                for x in &apdus {
                    a.transfer(x.clone());
                }
                a.release();
                sent = true;
            }
            let end = matches!(
                e,
                Event::Released | Event::Aborted(_) | Event::BindRefused { .. }
            );
            events.push(e);
            if end {
                let out = a.transmit();
                let _ = stream.write_all(&out).await;
                return events;
            }
        }
    }
    events
}

fn valid_message(n: usize) -> Vec<u8> {
    let peer = GlobalDomainIdentifier::new("US", " ", Some("PEER"));
    Apdu::Message {
        envelope: Envelope {
            // The originating MTA's trace element (X.411: TraceInformation SIZE (1..ub-transfers)).
            trace: vec![mta_p1::TraceElement {
                domain: peer.clone(),
                arrival: "261123000000Z".into(),
                routing_action: 0,
                attempted: None,
                other: Vec::new(),
            }],
            ..Envelope::new(
                mta_p1::MtsIdentifier::new(peer, &format!("probe-{n}")),
                OrName::simple("US", " ", "PEER", "ORG", "Sender"),
                ContentType::BuiltIn(22),
                vec![Recipient::responsible(
                    OrName::simple("US", " ", "BETA", "ORG", "User"),
                    1,
                )],
            )
        },
        content: b"hello".to_vec(),
    }
    .emit()
}

/// What the hostile-peer run produced.
#[derive(Debug, Clone)]
pub struct HostileReport {
    /// Peers run.
    pub peers: usize,
    /// Oracle violations.
    pub findings: Vec<String>,
    /// Events the MTA logged, by id.
    pub events: BTreeMap<u32, usize>,
    /// The MTA's event log in order: (time in ms, id, text).
    pub log: Vec<(u64, u32, String)>,
}

impl HostileReport {
    /// The event log as text, one "ms<TAB>id<TAB>text" line per event.
    pub fn log_lines(&self) -> Vec<String> {
        self.log
            .iter()
            .map(|(at, id, t)| format!("{at}\t{id}\t{t}"))
            .collect()
    }
}

/// Run every peer of the library (then a connection flood, then a well-behaved peer) against an
/// MTA of `build`.
pub fn run(build: Build, seed: u64) -> HostileReport {
    run_peers(build, seed, library())
}

/// The MTA under attack: BETA at [`MTA_ADDR`], one inbound connector for the caller PEER at
/// [`PEER_ADDR`].
pub fn target_mta(build: Build) -> Mta {
    let conf = format!(
        "[[connector]]\nname = \"to PEER\"\nlocal_mta_name = \"BETA\"\nremote_mta_name = \"PEER\"\nremote_password = \"peer-pw\"\n\
         stack_address = \"{PEER_ADDR}\"\nopen_timeout_s = 3\naddress_space = [\"/C=US/A= /P=PEER/\"]\n"
    );
    let cfg = MtaConfig::new(
        "BETA",
        GlobalDomainIdentifier::new("US", " ", Some("BETA")),
        vec![MTA_ADDR.into()],
        parse_connectors(&conf).expect("static config"),
    );
    Mta::new(&build.profile(), cfg)
}

/// A turmoil world with [`target_mta`] on its host; with `capture`, every octet its streams carry
/// is tapped.
#[allow(clippy::disallowed_types)] // a fixed epoch, not the wall clock
fn mta_world<'a>(build: Build, seed: u64, capture: bool) -> (turmoil::Sim<'a>, SharedNode) {
    let mut sim = turmoil::Builder::new()
        .rng_seed(seed)
        .epoch(std::time::SystemTime::UNIX_EPOCH + Duration::from_secs(1_795_392_000))
        .simulation_duration(Duration::from_secs(200))
        .tick_duration(Duration::from_millis(10))
        .tcp_capacity(4096)
        .build();
    let node = edge::Node::shared(target_mta(build));
    if capture {
        node.borrow_mut().streams.tap = Some(Rc::default());
    }
    let m = node.clone();
    sim.host(MTA_ADDR, move || {
        let m = m.clone();
        async move {
            let listener = TcpListener::bind(("0.0.0.0", 102)).await?;
            let lm = m.clone();
            tokio::task::spawn_local(async move {
                while let Ok((s, peer)) = listener.accept().await {
                    let ends = s.local_addr().ok().map(|local| edge::Ends {
                        local,
                        peer,
                        we_opened: false,
                        peer_records: false,
                    });
                    edge::accept(&lm, tokio::io::split(s), &peer.ip().to_string(), ends);
                }
            });
            loop {
                tokio::time::sleep(Duration::from_millis(10)).await;
                let now = turmoil::sim_elapsed().map_or(0, |d| d.as_millis() as u64);
                // The MTA has no connectors that open calls here (its one connector is inbound).
                let _ = edge::step(&m, now);
            }
        }
    });
    (sim, node)
}

/// Run `peers` (e.g. callers imported from a capture) one after another, then a connection flood
/// and a well-behaved peer, against an MTA of `build`.
pub fn run_peers(build: Build, seed: u64, peers: Vec<Peer>) -> HostileReport {
    run_peers_recorded(build, seed, peers, false).0
}

/// [`run_peers`], with the MTA's side of every stream captured (for `hostile --pcap`).
pub fn run_peers_recorded(
    build: Build,
    seed: u64,
    peers: Vec<Peer>,
    capture: bool,
) -> (HostileReport, mta_lab_world::pcap::Capture) {
    let (mut sim, node) = mta_world(build, seed, capture);
    let npeers = peers.len();
    let result: Rc<RefCell<Vec<String>>> = Rc::default();
    let res = result.clone();
    sim.client(PEER_ADDR, async move {
        for p in peers {
            if let Err(refused) = mta_lab_world::hostile_peers::play(MTA_ADDR, &p).await {
                res.borrow_mut().push(refused);
            }
        }
        // A connection flood: 50 connections at once, then gone.
        let mut flood = Vec::new();
        for _ in 0..50 {
            if let Ok(s) = TcpStream::connect((MTA_ADDR, 102)).await {
                flood.push(s);
            }
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
        drop(flood);
        // Let the MTA time everything out, then a well-behaved peer (and a P1 peer that sends
        // malformed BER after a proper bind) must still get through.
        tokio::time::sleep(Duration::from_secs(10)).await;
        let mut bad_p1 = TcpStream::connect((MTA_ADDR, 102)).await?;
        let garbage = vec![0xa0, 0x80, 0x31, 0x80, 0x04, 0x05, 1, 2];
        let ev = interactive(&mut bad_p1, vec![garbage], ReservedPolicy::Ignore).await;
        drop(bad_p1);
        if !ev.iter().any(|e| matches!(e, Event::BindAccepted { .. })) {
            res.borrow_mut()
                .push(format!("p1-malformed-ber peer could not bind: {ev:?}"));
        }
        tokio::time::sleep(Duration::from_secs(2)).await;
        let mut good = TcpStream::connect((MTA_ADDR, 102)).await?;
        let ev = interactive(&mut good, vec![valid_message(1)], ReservedPolicy::Reject).await;
        if !ev.contains(&Event::TransferConfirmed) || !ev.contains(&Event::Released) {
            res.borrow_mut().push(format!(
                "well-behaved peer failed after the hostile ones: {ev:?}"
            ));
        }
        drop(good);
        tokio::time::sleep(Duration::from_secs(10)).await;
        Ok(())
    });
    let mut findings = result.borrow().clone();
    if let Err(e) = sim.run() {
        findings.push(format!("simulation error: {e}"));
    }
    findings.extend(result.borrow().iter().cloned());
    findings.dedup();
    let report = judge(&node.borrow().mta, npeers + 3, findings, Some(1));
    let capture = node
        .borrow()
        .streams
        .tap
        .as_ref()
        .map(|t| std::mem::take(&mut t.borrow_mut().capture))
        .unwrap_or_default();
    (report, capture)
}

/// The oracles on the MTA after a run: no fatal event, no block or buffer left, and (when given)
/// exactly `delivered` messages delivered.
pub fn judge(
    m: &Mta,
    peers: usize,
    mut findings: Vec<String>,
    delivered_expected: Option<usize>,
) -> HostileReport {
    if let Some(f) = m.log.first_fatal() {
        findings.push(format!("fatal event {}", f.id));
    }
    if m.driver.live_blocks() != 0 {
        findings.push(format!(
            "{} control blocks still allocated: {:?}",
            m.driver.live_blocks(),
            m.driver.blocks()
        ));
    }
    if let Some(l) = m.bm.leak_report() {
        findings.push(format!("buffers outstanding: {l:?}"));
    }
    let delivered = m
        .outcomes()
        .values()
        .filter(|v| v.contains(&Outcome::Delivered))
        .count();
    if let Some(want) = delivered_expected
        && delivered != want
    {
        findings.push(format!(
            "{delivered} messages delivered (expected the good peer's {want}); {} APDUs received",
            m.counters.received
        ));
    }
    let mut events = BTreeMap::new();
    for e in m.log.events() {
        *events.entry(e.id).or_default() += 1;
    }
    HostileReport {
        peers,
        findings,
        events,
        log: m
            .log
            .events()
            .iter()
            .map(|e| (e.at_ms, e.id, e.lines.join(" / ")))
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_hostile_peer_against_fixed_builds_leaves_the_mta_healthy() {
        assert!(library().len() >= 20);
        for build in [Build::Ex55Sp3, Build::Ex2000Sp3Rollup] {
            let r = run(build, 1);
            assert!(r.findings.is_empty(), "{build}: {:#?}", r.findings);
            assert!(
                r.events.get(&9302).copied().unwrap_or(0) >= 1,
                "wrong passwords are logged: {:?}",
                r.events
            );
        }
    }
}
