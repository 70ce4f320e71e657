//! Hostile peers: small peer programs that connect to an MTA over turmoil TCP and misbehave at
//! one layer each (TPKT, COTP, session, presentation, RTSE bind, P1, timing, connection patterns).
//! After all of them, the generic oracles must hold on the MTA and a well-behaved peer must still
//! be able to bind and transfer (the listener keeps accepting, peers interoperate). While each
//! case runs and right after it, fresh callers measure their CR→CC time in simulated time (the
//! setup-time oracle, [`crate::setup`]).

use crate::import::{Ending, PeerScript};
use crate::setup::{CaseSetup, SIM_SETUP_WAIT_MS, Sample};
use mta_build::Build;
use mta_lab_world::caller::{good_bind, opening, peer_config};
use mta_lab_world::edge::{self, SharedNode};
use mta_mta::connector::parse_connectors;
use mta_mta::core::{Mta, MtaConfig, Outcome};
use mta_osi::association::{Association, Event, Role};
use mta_osi::presentation::Mode;
use mta_osi::tpkt::ReservedPolicy;
use mta_p1::{Bind, GlobalDomainIdentifier};
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
/// Where the fresh callers of the setup-time oracle come from while a case runs.
const SAMPLER_ADDR: &str = "10.0.9.2";
/// Pause between two setup samples while a case runs (simulated ms).
const SAMPLE_GAP_MS: u64 = 100;

pub use mta_lab_world::hostile_peers::{End, Peer, fairness, library};

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
        messages: 0,
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
    mta_lab_world::hostile_peers::peer_message(&format!("probe-{n}"), b"hello".to_vec())
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
    /// Per case, the fresh callers' CR→CC times (simulated ms) during and after it.
    pub setup: Vec<CaseSetup>,
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
        // Room for every case's setup samples to wait their longest.
        .simulation_duration(Duration::from_secs(3600))
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

/// One fresh caller: connect, send a CR, and the simulated ms until a CC came (`None`: no
/// connection, or no CC within [`SIM_SETUP_WAIT_MS`]). The connection is closed afterwards.
async fn setup_sample() -> Sample {
    let now = || turmoil::sim_elapsed().map_or(0, |d| d.as_millis() as u64);
    let t0 = now();
    let wait = Duration::from_millis(SIM_SETUP_WAIT_MS);
    let mut s = tokio::time::timeout(wait, TcpStream::connect((MTA_ADDR, 102)))
        .await
        .ok()?
        .ok()?;
    s.write_all(&mta_lab_world::caller::connect_request())
        .await
        .ok()?;
    let mut got = Vec::new();
    let mut buf = [0u8; 512];
    let cc = loop {
        let left = wait.checked_sub(Duration::from_millis(now() - t0))?;
        match tokio::time::timeout(left, s.read(&mut buf)).await {
            Ok(Ok(n)) if n > 0 => {
                got.extend_from_slice(&buf[..n]);
                if mta_lab_world::caller::is_connect_confirm(&got) {
                    break true;
                }
                if mta_osi::tpkt::glimpse(&got).any(|g| g.complete) {
                    break false; // answered with something else
                }
            }
            _ => break false,
        }
    };
    drop(s);
    cc.then(|| now() - t0)
}

/// The setup-time oracle's shared state between the peers' client and the sampler's.
#[derive(Default)]
struct Sampling {
    /// The case running now (its index), if any.
    active: Option<usize>,
    /// A sample is in flight.
    busy: bool,
    /// Every case has been played: the sampler leaves.
    done: bool,
    /// Samples per case.
    cases: Vec<CaseSetup>,
}

/// The sampler: while a case is active, fresh callers one after another (from their own host),
/// each sample filed under the case active when it started.
async fn sampler(state: Rc<RefCell<Sampling>>) {
    loop {
        let active = {
            let mut st = state.borrow_mut();
            if st.done {
                return;
            }
            st.busy = st.active.is_some();
            st.active
        };
        let Some(i) = active else {
            tokio::time::sleep(Duration::from_millis(10)).await;
            continue;
        };
        let sample = setup_sample().await;
        {
            let mut st = state.borrow_mut();
            st.cases[i].during.push(sample);
            st.busy = false;
        }
        tokio::time::sleep(Duration::from_millis(SAMPLE_GAP_MS)).await;
    }
}

/// Play `peers` one after another, each with the setup-time oracle: the sampler's callers while
/// it runs, then one caller after it (once no sample is in flight). `Err`s: refused peers.
async fn play_sampled(peers: Vec<Peer>, state: Rc<RefCell<Sampling>>) -> Vec<String> {
    let mut refused = Vec::new();
    for (i, p) in peers.iter().enumerate() {
        state.borrow_mut().active = Some(i);
        if let Err(r) = mta_lab_world::hostile_peers::play(MTA_ADDR, p).await {
            refused.push(r);
        }
        state.borrow_mut().active = None;
        while state.borrow().busy {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let after = setup_sample().await;
        state.borrow_mut().cases[i].after = after;
    }
    state.borrow_mut().done = true;
    refused
}

/// What follows the peers in a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tail {
    /// A connection flood, a peer sending malformed P1 after a proper bind, a well-behaved peer
    /// (the full hostile run).
    FloodAndGoodPeer,
    /// Nothing: the peers and their setup samples only (the per-build setup table).
    Nothing,
}

/// [`run_peers`], with the MTA's side of every stream captured (for `hostile --pcap`).
pub fn run_peers_recorded(
    build: Build,
    seed: u64,
    peers: Vec<Peer>,
    capture: bool,
) -> (HostileReport, mta_lab_world::pcap::Capture) {
    run_peers_with(build, seed, peers, capture, Tail::FloodAndGoodPeer)
}

/// Play `peers` against an MTA of `build` with the setup-time oracle, then `tail`; the oracles
/// judge the MTA after (with the tail, the good peer's message must be the only delivery besides
/// the peers' own).
pub fn run_peers_with(
    build: Build,
    seed: u64,
    peers: Vec<Peer>,
    capture: bool,
    tail: Tail,
) -> (HostileReport, mta_lab_world::pcap::Capture) {
    let (mut sim, node) = mta_world(build, seed, capture);
    let npeers = peers.len();
    let delivered = peers.iter().map(|p| p.messages).sum::<usize>()
        + usize::from(tail == Tail::FloodAndGoodPeer);
    let sampling = Rc::new(RefCell::new(Sampling {
        cases: peers
            .iter()
            .map(|p| CaseSetup::new(p.name, SIM_SETUP_WAIT_MS))
            .collect(),
        ..Sampling::default()
    }));
    let st = sampling.clone();
    sim.client(SAMPLER_ADDR, async move {
        sampler(st).await;
        Ok(())
    });
    let result: Rc<RefCell<Vec<String>>> = Rc::default();
    let res = result.clone();
    let st = sampling.clone();
    sim.client(PEER_ADDR, async move {
        let refused = play_sampled(peers, st).await;
        res.borrow_mut().extend(refused);
        if tail == Tail::FloodAndGoodPeer {
            flood_and_good_peer(&res).await?;
        } else {
            // Let the MTA work off what the peers left and time everything out.
            tokio::time::sleep(Duration::from_secs(30)).await;
        }
        Ok(())
    });
    let mut findings = result.borrow().clone();
    if let Err(e) = sim.run() {
        findings.push(format!("simulation error: {e}"));
    }
    findings.extend(result.borrow().iter().cloned());
    findings.dedup();
    let extra = if tail == Tail::FloodAndGoodPeer { 3 } else { 0 };
    let mut report = judge(
        &node.borrow().mta,
        npeers + extra,
        findings,
        Some(delivered),
    );
    report.setup = std::mem::take(&mut sampling.borrow_mut().cases);
    let capture = node
        .borrow()
        .streams
        .tap
        .as_ref()
        .map(|t| std::mem::take(&mut t.borrow_mut().capture))
        .unwrap_or_default();
    (report, capture)
}

/// After the peers: a connection flood (50 at once, then gone), time for the MTA to clean up, a
/// peer that sends malformed BER after a proper bind, and a well-behaved peer that must transfer.
async fn flood_and_good_peer(res: &Rc<RefCell<Vec<String>>>) -> turmoil::Result {
    let mut flood = Vec::new();
    for _ in 0..50 {
        if let Ok(s) = TcpStream::connect((MTA_ADDR, 102)).await {
            flood.push(s);
        }
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    drop(flood);
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
            "{delivered} messages delivered (expected {want}: the good peer's and the peers' own); {} APDUs received",
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
        setup: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_hostile_peer_against_fixed_builds_leaves_the_mta_healthy() {
        assert!(library().len() >= 26);
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

    #[test]
    fn an_unterminated_tsdu_flood_delays_a_fresh_caller_on_2000_sp3_rollup_in_simulated_time() {
        // 1,000 DTs without EOT are 1,000 internal messages for POP4 (8 per 100 ms tick): the
        // CR of a caller that comes after them waits its turn behind all of them.
        let flood: Vec<Peer> = fairness()
            .iter()
            .filter(|p| p.name == "unterminated-tsdu-flood")
            .cloned()
            .collect();
        let (r, _) = run_peers_with(Build::Ex2000Sp3Rollup, 1, flood, false, Tail::Nothing);
        assert!(r.findings.is_empty(), "{:#?}", r.findings);
        let c = &r.setup[0];
        let budget = Build::Ex2000Sp3Rollup.profile();
        let backlog_ms = (mta_lab_world::hostile_peers::TSDU_FLOOD_DTS as u64
            / u64::from(budget.pop4_messages_per_tick))
            * budget.pop4_tick_ms;
        assert!(c.delays_others(crate::setup::DEFAULT_MAX_SETUP_MS), "{c:?}");
        assert!(
            c.after
                .is_some_and(|ms| ms >= backlog_ms / 2 && ms <= backlog_ms + 2000),
            "the caller after the flood waits about the backlog ({backlog_ms} ms): {c:?}"
        );
    }
}
