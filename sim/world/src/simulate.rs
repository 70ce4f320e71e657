//! The turmoil adapter: runs a [`World`]'s sans-IO MTA models over turmoil's simulated TCP. Thin by
//! design — it listens and connects on turmoil and hands the streams to the shared edge
//! ([`crate::edge`], the pump `serve`, `probe` and `hostile` use too), observes what the edge does
//! through its hook (the trace), ticks the models on simulated time, and checks the generic oracles
//! at the end. No protocol logic.
//!
//! A multihomed machine is one `Mta` shared (`Rc<RefCell<…>>`: turmoil runs every host on one thread)
//! by one turmoil host per address (TURMOIL.md): each interface host listens on port 102 and opens
//! the outbound connections whose source address (the model's choice) is its own; streams never leave
//! the host that created them — octets travel through channels.
//!
//! Determinism: seeded `Builder`, fixed epoch, every `select!` biased, only ordered maps; the run's
//! trace hash covers every socket action and event with its simulated time.

use crate::edge::{self, Ends, Host, Seen, Streams};
use crate::faults::{Fault, FaultPlan};
use crate::idle;
use crate::world::{MachineSpec, World};
use mta_bufmgr::ControlBlockId;
use mta_mta::connector::parse_connectors;
use mta_mta::core::{Mta, MtaConfig, Outcome, SocketEvent};
use mta_mta::driver::{Remote, SocketAction};
use mta_p1::{Apdu, ContentType, Envelope, GlobalDomainIdentifier, OrName, Recipient};
use std::cell::{Cell, RefCell};
use std::collections::{BTreeMap, VecDeque};
use std::rc::Rc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::Notify;
use turmoil::net::{TcpListener, TcpStream};

/// The MTA port.
pub const PORT: u16 = 102;

/// The world's message latency range.
const MIN_LATENCY: Duration = Duration::from_millis(1);
const MAX_LATENCY: Duration = Duration::from_millis(25);

/// FNV-1a over everything that happens, in order.
#[derive(Debug, Clone)]
struct Trace {
    hash: u64,
    events: u64,
    /// `--trace`: one JSON object per event.
    jsonl: Option<Vec<String>>,
    /// (machine, connection) → (local, peer) socket addresses, for the trace's records.
    endpoints: BTreeMap<(String, u64), (String, String)>,
    /// What the octets showed that a KB's mechanism is made of (not part of the hash).
    evidence: Vec<String>,
    /// (machine, connection) that received a CC whose TPKT reserved octet is not 0 and has sent
    /// nothing on it since, with that octet.
    odd_cc_received: BTreeMap<(String, u64), u8>,
}

/// A CC in `bytes` whose TPKT reserved octet is not 0 (RFC 1006 says 0), with that octet.
/// The TPKT reserved octet of a CC that starts in `bytes`, when it is not zero (KB Q151626's
/// frame): what the simulator and the capture replay record as evidence.
pub fn cc_with_reserved(bytes: &[u8]) -> Option<u8> {
    mta_osi::tpkt::glimpse(bytes)
        .find(|g| g.code == mta_osi::cotp::code::CC && g.reserved != 0)
        .map(|g| g.reserved)
}

/// The evidence lines a KB's signature reads (`RunReport::evidence`), in one format for the
/// simulator and the capture replay.
pub mod evidence {
    /// `who` sent a CC whose TPKT reserved octet is `r` (non-zero).
    pub fn cc_sent(who: &str, r: u8, at_ms: u64) -> String {
        format!("{who} sent a CC with TPKT reserved octet {r:#04x} at {at_ms} ms")
    }
    /// `who` closed a connection on which such a CC arrived, without sending anything after it.
    pub fn closed_unanswered(who: &str, r: u8, at_ms: u64) -> String {
        format!(
            "{who} closed the connection, unanswered, on a CC with TPKT reserved octet {r:#04x} at {at_ms} ms"
        )
    }
}

/// The `--trace` JSONL schema version.
/// 2: records carry `local`/`peer` socket addresses; event-log entries (`layer: "eventlog"`, with
/// `id`) and oracle findings (`layer: "oracle"`) follow the run's events.
pub const TRACE_SCHEMA: u32 = 2;

/// A short summary of the TPKTs that start in a segment: `TPKT(len) COTP-type` each.
fn pdu_summary(bytes: &[u8]) -> String {
    let out: Vec<String> = mta_osi::tpkt::glimpse(bytes)
        .map(|g| {
            let kind = match mta_osi::cotp::code_name(g.code) {
                "other TPDU" => "?",
                known => known,
            };
            format!("TPKT({}) COTP {kind}", g.len)
        })
        .collect();
    if out.is_empty() && !bytes.is_empty() {
        return "continuation".into();
    }
    out.join(", ")
}

impl Trace {
    fn new() -> Self {
        Trace {
            hash: 0xcbf2_9ce4_8422_2325,
            events: 0,
            jsonl: None,
            endpoints: BTreeMap::new(),
            evidence: Vec::new(),
            odd_cc_received: BTreeMap::new(),
        }
    }
    fn note(&mut self, now: u64, what: &str, bytes: &[u8]) {
        tracing::debug!(target: "mta_lab::sim", now, what, octets = bytes.len());
        self.events += 1;
        if let Some(lines) = self.jsonl.as_mut() {
            let words: Vec<&str> = what.split_whitespace().collect();
            let (host, event) = if words.first() == Some(&"fault") {
                ("", what)
            } else {
                (
                    words.first().copied().unwrap_or(""),
                    words.get(1).copied().unwrap_or(""),
                )
            };
            let conn = words
                .get(2)
                .and_then(|w| w.parse::<u64>().ok())
                .map_or(serde_json::Value::Null, serde_json::Value::from);
            let layer = match event {
                "send" | "recv" => "tpkt",
                _ if host.is_empty() => "fault",
                _ => "tcp",
            };
            let ends = conn
                .as_u64()
                .and_then(|c| self.endpoints.get(&(host.to_string(), c)));
            let line = serde_json::json!({
                "schema": TRACE_SCHEMA,
                "t_ms": now,
                "seq": self.events,
                "host": host,
                "event": event,
                "what": what,
                "connection": conn,
                "local": ends.map(|e| e.0.clone()),
                "peer": ends.map(|e| e.1.clone()),
                "layer": layer,
                "pdu": if bytes.is_empty() { String::new() } else { pdu_summary(bytes) },
                "octets": bytes.len(),
                "hex": hex::encode(bytes),
            });
            lines.push(line.to_string());
        }
        for b in now.to_le_bytes().iter().chain(what.as_bytes()).chain(bytes) {
            self.hash ^= u64::from(*b);
            self.hash = self.hash.wrapping_mul(0x0100_0000_01b3);
        }
    }
}

struct Machine {
    spec: MachineSpec,
    mta: Mta,
    /// Outcomes observed before a crash that lost the disk (the oracle's memory, not the MTA's).
    history: BTreeMap<(String, String), Vec<Outcome>>,
    /// Its streams, driven by the shared edge ([`crate::edge`]).
    streams: Streams,
    /// The run's trace, which the edge's hook ([`Host::seen`]) writes.
    trace: Rc<RefCell<Trace>>,
    connects: VecDeque<(ControlBlockId, Remote)>,
    /// Connects under way (handed to the network, no result yet).
    connecting: u32,
    /// Inbound connections from world machines.
    inbound_connections: u64,
    /// False while a `ListenerDown` fault holds its listeners away.
    listening: bool,
    /// Wakes the interfaces' listeners when `listening` changes.
    listening_changed: Rc<Notify>,
    /// Wakes the secondary interfaces' connectors when the model asks for connections.
    connects_ready: Rc<Notify>,
    /// Wakes the model's clock when the edge feeds the model.
    input: Rc<Notify>,
    /// The world's tick (ms): the grid the model is ticked on.
    tick_ms: u64,
    /// Tick the model on every grid point, due or not (the reference for idle skipping).
    every_tick: bool,
    /// Addresses a partition cuts this machine off from right now (its connects to them go
    /// unanswered until `tcp_connect_timeout_ms`).
    unreachable: std::collections::BTreeSet<String>,
    /// True while the MTA service is stopped after a fatal event: the host is up, nothing listens
    /// (connects are refused) and the model is not ticked; its queue disk waits for the restart.
    halted: bool,
    /// X.25 session-input faults already acted on (each stops the MTA once).
    x25_faults_acted: usize,
    /// Trigger counters of the model's earlier lives (before crashes).
    earlier_counters: BTreeMap<&'static str, u64>,
    /// Every MTA address of the world (inbound connections from these are MTA peers; the 9301
    /// rate's denominator counts only those, not burst callers or the listener probe).
    world_addresses: Vec<String>,
    /// The machine's X.25 interface, when the world has an X.25 link into it.
    x25: Rc<RefCell<Option<crate::xot::Gateway>>>,
}

type Shared = Rc<RefCell<Machine>>;

/// The simulator's view of the edge: every accept, read, action and connect result is a trace
/// event (with the octets, for the PDU summaries), every attached stream's addresses go to the
/// trace's records, and the machine counts its inbound connections from world machines.
impl Host for Machine {
    fn mta(&self) -> &Mta {
        &self.mta
    }
    /// The edge is about to feed the model (or tick it): input is stamped with the last grid
    /// point, as if the model had been ticked on every one, and the clock wakes for the tick
    /// after it.
    fn mta_mut(&mut self) -> &mut Mta {
        let now = now_ms();
        self.mta.note_time(now - now % self.tick_ms.max(1));
        self.input.notify_waiters();
        &mut self.mta
    }
    fn streams(&mut self) -> &mut Streams {
        &mut self.streams
    }
    fn seen(&mut self, what: Seen<'_>) {
        let name = &self.spec.name;
        let mut t = self.trace.borrow_mut();
        match what {
            Seen::Accepted { from, cb } => {
                if self.world_addresses.iter().any(|a| a == from) {
                    self.inbound_connections += 1;
                }
                t.note(now_ms(), &format!("{name} accept {from} {cb:?}"), &[]);
            }
            Seen::Attached { cb, ends } => {
                if let Some(e) = ends {
                    t.endpoints.insert(
                        (name.clone(), cb.index.into()),
                        (e.local.to_string(), e.peer.to_string()),
                    );
                }
            }
            Seen::Read { cb, event } => {
                let (label, bytes) = match event {
                    SocketEvent::Received(_, b) => ("recv", b.as_slice()),
                    _ => ("closed", &[][..]),
                };
                t.note(now_ms(), &format!("{name} {label} {}", cb.index), bytes);
                if let Some(r) = cc_with_reserved(bytes) {
                    t.odd_cc_received.insert((name.clone(), cb.index.into()), r);
                }
            }
            Seen::Action { now, action } => match action {
                SocketAction::Connect { cb, remote } => {
                    t.note(
                        now,
                        &format!("{name} connect {} {}", cb.index, remote.host),
                        &[],
                    );
                }
                SocketAction::Send { cb, bytes } => {
                    t.note(now, &format!("{name} send {}", cb.index), bytes);
                    // An answer: the connection carried on after the CC.
                    t.odd_cc_received.remove(&(name.clone(), cb.index.into()));
                    if let Some(r) = cc_with_reserved(bytes) {
                        t.evidence.push(evidence::cc_sent(name, r, now));
                    }
                }
                SocketAction::Close { cb } => {
                    t.note(now, &format!("{name} close {}", cb.index), &[]);
                    if let Some(r) = t.odd_cc_received.remove(&(name.clone(), cb.index.into())) {
                        t.evidence.push(evidence::closed_unanswered(name, r, now));
                    }
                }
                SocketAction::Refuse { .. } => {}
            },
            Seen::Connected { cb, ok } => {
                let what = if ok { "connected" } else { "connect failed" };
                t.note(now_ms(), &format!("{name} {what} {}", cb.index), &[]);
                if ok && self.spec.foreign == Some(mta_osi::tpkt::ReservedPolicy::Reject) {
                    // Q151626's trigger: a strict peer's CR will be answered with a CC it checks.
                    *self
                        .earlier_counters
                        .entry("sim.strict_peer_connections")
                        .or_default() += 1;
                }
            }
        }
    }
}

fn now_ms() -> u64 {
    turmoil::sim_elapsed().map_or(0, |d| d.as_millis() as u64)
}

/// What a run produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunReport {
    /// Seed.
    pub seed: u64,
    /// Hash over every socket action and event.
    pub trace_hash: u64,
    /// Events hashed.
    pub trace_events: u64,
    /// Simulated time when the world drained (ms), or the bound.
    pub sim_ms: u64,
    /// The fault plan the seed expanded to.
    pub plan: FaultPlan,
    /// (message, recipient) pairs submitted.
    pub submitted: usize,
    /// Pairs lost with a crashed machine's disk (expected, not findings).
    pub expected_lost: usize,
    /// Pairs with exactly one final outcome (delivered or non-delivered).
    pub accounted: usize,
    /// Per machine: (9301 events, inbound connections accepted).
    pub refused_9301: BTreeMap<String, (usize, u64)>,
    /// Per machine: how often each event id was logged (the KB signatures are read from here).
    pub events: BTreeMap<String, BTreeMap<u32, usize>>,
    /// Per machine: its event log, rendered as the Event Viewer shows it (since its last restart).
    pub event_log: BTreeMap<String, Vec<String>>,
    /// Trigger counters summed over the machines (since their last restart).
    pub counters: BTreeMap<String, u64>,
    /// Per machine: the distinct (event id, component) of its Error events.
    pub alerts: BTreeMap<String, std::collections::BTreeSet<(u32, String)>>,
    /// Oracle violations (empty = pass).
    pub findings: Vec<String>,
    /// Reachability goals the run reached (`mta_reach`), in catalogue order; not part of the trace.
    pub goals: Vec<String>,
    /// Protocol-state transitions the run took (`mta_reach`), in the order first taken; not part
    /// of the trace.
    pub transitions: Vec<String>,
    /// What the octets showed of a KB's mechanism (e.g. a CC sent with a non-zero TPKT reserved
    /// octet and the peer that closed on it), in order; not part of the trace hash.
    pub evidence: Vec<String>,
}

/// A run's report: its summary line, then (if it failed) its plan and oracle lines.
pub fn report_text(r: &RunReport) -> String {
    use std::fmt::Write as _;
    let refused: Vec<String> = r
        .refused_9301
        .iter()
        .map(|(m, (n, c))| format!("{m}: 9301 on {n} of {c} inbound connections"))
        .collect();
    let mut out = format!(
        "seed {}: {} of {} messages accounted, {} ms simulated, trace {:016x} ({} events); {}\n",
        r.seed,
        r.accounted,
        r.submitted,
        r.sim_ms,
        r.trace_hash,
        r.trace_events,
        refused.join("; ")
    );
    let triggers: Vec<String> = r
        .counters
        .iter()
        .filter(|(_, v)| **v > 0)
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    if !triggers.is_empty() {
        let _ = writeln!(out, "  counters: {}", triggers.join(" "));
    }
    if !r.goals.is_empty() {
        let _ = writeln!(out, "  goals reached: {}", r.goals.join(" · "));
    }
    if !r.transitions.is_empty() {
        let _ = writeln!(
            out,
            "  protocol-state transitions: {} distinct",
            r.transitions.len()
        );
    }
    if !r.findings.is_empty() {
        let _ = writeln!(out, "  {}", r.plan);
    }
    for f in &r.findings {
        let _ = writeln!(out, "  FINDING {f}");
    }
    for e in &r.evidence {
        let _ = writeln!(out, "  evidence: {e}");
    }
    out
}

/// The `i`-th test message of a flow from MTA `from` to `to`: a P1 user message with a fresh
/// MPDU identifier, one responsible recipient (one of five users) and `size` octets of content.
pub fn message(m: &mut Mta, from: &str, to: &str, i: usize, size: usize) -> Apdu {
    let id = m.new_id("msg");
    Apdu::Message {
        envelope: Envelope::new(
            id,
            OrName::simple("US", " ", from, "ORG", "Sender"),
            ContentType::BuiltIn(22),
            vec![Recipient::responsible(
                OrName::simple("US", " ", to, "ORG", &format!("User{}", i % 5)),
                1,
            )],
        ),
        content: vec![(i % 251) as u8; size],
    }
}

/// One caller of a burst: TCP connect, a COTP CR, and gone unless a CC arrives within `timeout_ms`.
async fn short_timeout_caller(target: &str, timeout_ms: u64) {
    let Ok(Ok(mut s)) = tokio::time::timeout(
        Duration::from_millis(timeout_ms),
        TcpStream::connect((target, PORT)),
    )
    .await
    else {
        return;
    };
    if s.write_all(&crate::caller::connect_request())
        .await
        .is_err()
    {
        return;
    }
    let mut buf = [0u8; 256];
    let _ = tokio::time::timeout(Duration::from_millis(timeout_ms), s.read(&mut buf)).await;
    drop(s);
}

/// The listener oracle: a CR to `target` must be answered with a CC.
async fn answers_connect(target: &str) -> bool {
    let Ok(Ok(mut s)) =
        tokio::time::timeout(Duration::from_secs(2), TcpStream::connect((target, PORT))).await
    else {
        return false;
    };
    if s.write_all(&crate::caller::connect_request())
        .await
        .is_err()
    {
        return false;
    }
    let mut buf = [0u8; 256];
    let answered = matches!(
        tokio::time::timeout(Duration::from_secs(3), s.read(&mut buf)).await,
        Ok(Ok(n)) if crate::caller::is_connect_confirm(&buf[..n])
    );
    drop(s);
    answered
}

fn crash(sim: &mut turmoil::Sim<'_>, machine: &Shared, keep_disk: bool, seed: u64) -> usize {
    let addrs = machine.borrow().spec.addresses.clone();
    for a in &addrs {
        sim.crash(a.as_str());
    }
    let mut m = machine.borrow_mut();
    let lost = if keep_disk {
        0
    } else {
        m.mta.queued_recipients()
    };
    if !keep_disk {
        let seen: Vec<_> = m
            .mta
            .outcomes()
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        for (k, v) in seen {
            m.history.entry(k).or_default().extend(v);
        }
    }
    for (k, v) in m.mta.trigger_counters() {
        *m.earlier_counters.entry(k).or_default() += v;
    }
    let disk = keep_disk.then(|| m.mta.disk());
    let (profile, cfg) = (m.mta.profile, m.mta.config().clone());
    if let Some(g) = m.x25.borrow_mut().as_mut() {
        g.restart(&profile);
    }
    m.mta = Mta::restart(&profile, cfg, disk);
    m.mta.seed_transport(seed.rotate_left(17));
    m.streams.forget();
    m.connects.clear();
    m.connecting = 0; // its connect tasks went with the host
    lost
}

fn addrs_of(machines: &BTreeMap<String, Shared>, name: &str) -> Vec<String> {
    machines
        .get(name)
        .map(|m| m.borrow().spec.addresses.clone())
        .unwrap_or_default()
}

/// A machine's primary address (where callers from outside the world dial it).
fn primary_of(machines: &BTreeMap<String, Shared>, name: &str) -> String {
    addrs_of(machines, name)
        .into_iter()
        .next()
        .unwrap_or_default()
}

/// Run one world with one seed; with `faults`, the seed also expands into a [`FaultPlan`].
pub fn run(world: &World, seed: u64, faults: bool) -> RunReport {
    let plan = if faults {
        FaultPlan::from_seed(seed, world)
    } else {
        FaultPlan::none()
    };
    run_plan(world, seed, plan)
}

/// Run one world with one seed and an explicit fault plan (replays and shrinking).
pub fn run_plan(world: &World, seed: u64, plan: FaultPlan) -> RunReport {
    run_with(world, seed, plan, Record::default()).0
}

/// What a run records besides its report.
#[derive(Debug, Clone, Copy, Default)]
pub struct Record {
    /// Every TCP byte, for a pcap.
    pub pcap: bool,
    /// Every traced event as a JSONL line.
    pub trace: bool,
    /// Stop there and describe every MTA's state (step-through replay).
    pub until: Option<Until>,
    /// Step the world and tick every model on every grid point, idle or not (idle skipping off:
    /// the reference the skipping is checked against; same event log, same trace, slower).
    pub every_tick: bool,
}

/// Where a step-through replay stops.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Until {
    /// At this simulated time (ms).
    Ms(u64),
    /// When any machine first logs this event id.
    Event(u32),
}

impl std::str::FromStr for Until {
    type Err = String;
    /// `2500ms`, `2.5s` (simulated time) or `event:9301` / a bare event id such as `9301`.
    fn from_str(s: &str) -> Result<Self, String> {
        let t = s.trim();
        let bad = || {
            format!(
                "{s:?}: expected a simulated time (2500ms, 2.5s) or an event id (9301, event:9301)"
            )
        };
        if let Some(ms) = t.strip_suffix("ms") {
            return ms.trim().parse().map(Until::Ms).map_err(|_| bad());
        }
        if let Some(sec) = t.strip_suffix('s') {
            let v: f64 = sec.trim().parse().map_err(|_| bad())?;
            if !(v.is_finite() && v >= 0.0) {
                return Err(bad());
            }
            return Ok(Until::Ms((v * 1000.0) as u64));
        }
        t.strip_prefix("event:")
            .unwrap_or(t)
            .parse()
            .map(Until::Event)
            .map_err(|_| bad())
    }
}

/// What a run recorded.
#[derive(Debug, Default)]
pub struct Recorded {
    /// For `pcap::write`.
    pub capture: crate::pcap::Capture,
    /// `--trace` lines.
    pub trace: Vec<String>,
    /// With `until`: when the run stopped and every machine's state there.
    pub stopped: Option<(u64, Vec<String>)>,
}

/// A turmoil simulation for `world`: seeded, fixed epoch, the world's tick and time bound.
#[allow(clippy::disallowed_types)] // a fixed epoch, not the wall clock
fn new_sim<'a>(world: &World, seed: u64) -> turmoil::Sim<'a> {
    turmoil::Builder::new()
        .rng_seed(seed)
        .epoch(std::time::SystemTime::UNIX_EPOCH + Duration::from_secs(1_795_392_000))
        .simulation_duration(Duration::from_millis(world.timers.max_sim_ms + 60_000))
        .tick_duration(Duration::from_millis(world.timers.tick_ms))
        .min_message_latency(MIN_LATENCY)
        .max_message_latency(MAX_LATENCY)
        .tcp_capacity(1024)
        .build()
}

/// Run, recording what `record` asks for.
pub fn run_with(
    world: &World,
    seed: u64,
    plan: FaultPlan,
    record: Record,
) -> (RunReport, Recorded) {
    // Every machine of a turmoil world steps on this thread: one collector sees them all.
    let ((mut report, recorded), goals, transitions) =
        mta_reach::collect_all(|| run_collected(world, seed, plan, record));
    report.goals = goals.names().map(str::to_string).collect();
    report.transitions = transitions.iter().map(ToString::to_string).collect();
    (report, recorded)
}

fn run_collected(
    world: &World,
    seed: u64,
    plan: FaultPlan,
    record: Record,
) -> (RunReport, Recorded) {
    // Build the world: the machines on their interfaces, the workload, the plan's callers and
    // the client that watches for quiescence.
    let mut sim = new_sim(world, seed);
    let trace = Rc::new(RefCell::new(Trace::new()));
    if record.trace {
        trace.borrow_mut().jsonl = Some(Vec::new());
    }
    // One capture for the world: each machine's edge records its own writes, on simulated time.
    let tap = record.pcap.then(|| {
        Rc::new(RefCell::new(edge::Tap {
            clock: Some(now_ms),
            ..edge::Tap::default()
        }))
    });
    let machines = build_machines(world, seed, &trace, tap.as_ref());
    for m in machines.values() {
        m.borrow_mut().every_tick = record.every_tick;
    }
    host_machines(&mut sim, &machines, world.timers.tick_ms);
    let submitted = submit_flows(world, &machines);
    let running = Rc::new(idle::Programs::default());
    spawn_bursts(&mut sim, &plan, &machines, &running);
    spawn_hostile(&mut sim, &plan, &machines, &running);
    let (calls, active_calls, x25_messages) = spawn_x25_calls(&mut sim, world, &plan, &machines);
    let submitted = submitted + x25_messages;
    let max = world.timers.max_sim_ms;
    let watch = Rc::new(Cell::new(WatchPhase::Polling));
    let (report, not_answering) = spawn_watch(
        &mut sim,
        &machines,
        (&active_calls, &watch),
        max,
        plan.healed_at(),
    );
    // The safety phase, the heal and the liveness phase: the faults start and end on time.
    let mut findings = Vec::new();
    let skipping = Skipping {
        enabled: !record.every_tick,
        tick: world.timers.tick_ms,
        running,
        calling: active_calls.clone(),
        watch,
        healed: plan.healed_at(),
        max,
    };
    let (expected_lost, stopped) = step_through_faults(
        &mut sim,
        (&machines, &skipping),
        &trace,
        (&plan, seed, record.until, world.timers.service_restart_ms),
        &mut findings,
    );
    // Judge: the generic oracles over every machine, then the report.
    let sim_ms = report.borrow().unwrap_or(max);
    let Tally {
        all,
        events,
        event_log,
        counters,
        alerts,
        refused,
    } = tally_machines(&machines, &mut findings);
    // Deduplicated by MTS identifier (ARCHITECTURE.md): a message delivered twice counts once; the
    // second delivery is a finding unless a crash lost a receiver's message store (its record of
    // what it had taken), which makes a retransmission look new.
    let disk_lost = plan.faults.iter().any(|(_, f)| {
        matches!(
            f,
            Fault::Crash {
                keep_disk: false,
                ..
            }
        )
    });
    let mut accounted = 0;
    for (k, v) in &all {
        let finals = v
            .iter()
            .filter(|o| matches!(o, Outcome::Delivered | Outcome::NonDelivered))
            .count();
        if finals >= 1 {
            accounted += 1;
        }
        if finals > 1 && !disk_lost {
            findings.push(format!("{k:?} ended {finals} times: {v:?}"));
        }
    }
    if accounted + expected_lost < submitted {
        findings.push(format!(
            "{accounted} of {submitted} messages accounted for ({expected_lost} lost with a disk)"
        ));
    }
    findings.extend(not_answering.borrow().iter().cloned());
    // X.25 liveness: every remote MTA delivered its messages (or had its bind refused).
    for (who, o) in calls.borrow().iter() {
        if matches!(
            o,
            crate::xot::CallOutcome::NoAnswer | crate::xot::CallOutcome::NoConnection
        ) {
            findings.push(format!("X.25 {who}: {o:?}"));
        }
    }
    // Last: a hang is usually the consequence of a more specific violation above.
    if sim_ms >= max {
        findings.push(format!(
            "no quiescence within {max} ms of simulated time (hang)"
        ));
    }
    log_to_trace(&trace, &machines, &findings, sim_ms);
    let t = trace.borrow().clone();
    let report = RunReport {
        seed,
        trace_hash: t.hash,
        trace_events: t.events,
        sim_ms,
        plan,
        submitted,
        expected_lost,
        accounted,
        refused_9301: refused,
        events,
        event_log,
        counters,
        alerts,
        findings,
        goals: Vec::new(),
        transitions: Vec::new(),
        evidence: t.evidence.clone(),
    };
    (
        report,
        Recorded {
            capture: tap
                .map(|t| std::mem::take(&mut t.borrow_mut().capture))
                .unwrap_or_default(),
            trace: t.jsonl.unwrap_or_default(),
            stopped,
        },
    )
}

/// The world's machines, each a modelled MTA of its build with its connectors, seeded from the
/// run's seed.
fn build_machines(
    world: &World,
    seed: u64,
    trace: &Rc<RefCell<Trace>>,
    tap: Option<&edge::SharedTap>,
) -> BTreeMap<String, Shared> {
    let mut machines: BTreeMap<String, Shared> = BTreeMap::new();
    for spec in &world.machines {
        let mut profile = spec.build.profile();
        // The timer profile scales the driver's recovery timer like the connector timers (a
        // timer, not a pool or queue: the defects' pinned sizes stay as the build table has them).
        profile
            .set(
                "tcp_recovery_interval_ms",
                &world.timers.recovery_interval_ms.to_string(),
            )
            .expect("a tunable row");
        profile
            .set(
                "tcp_connect_timeout_ms",
                &world.timers.connect_timeout_ms.to_string(),
            )
            .expect("a tunable row");
        for o in &spec.set {
            profile
                .set_override(o)
                .expect("machine overrides are validated with the world");
        }
        // The machine an X.25 link calls has the link's connector for the remote MTA.
        let x25_link = world.x25.as_ref().filter(|x| x.machine == spec.name);
        let mut connector_text = spec.connectors.clone();
        if x25_link.is_some() {
            connector_text.push('\n');
            connector_text.push_str(&crate::xot::remote_connector(&spec.name));
        }
        let connectors =
            parse_connectors(&connector_text).expect("world connector files are validated");
        let mut cfg = MtaConfig::new(
            &spec.name,
            GlobalDomainIdentifier::new("US", " ", Some(&spec.name)),
            spec.addresses.clone(),
            connectors,
        );
        cfg.foreign = spec.foreign;
        let mut mta = Mta::new(&profile, cfg);
        mta.seed_transport(seed ^ ((spec.name.len() as u64) << 32));
        let x25 = x25_link.map(|_| crate::xot::Gateway::new(&mta, &spec.name));
        machines.insert(
            spec.name.clone(),
            Rc::new(RefCell::new(Machine {
                spec: spec.clone(),
                history: BTreeMap::new(),
                mta,
                streams: Streams::new(tap.cloned()),
                trace: trace.clone(),
                connects: VecDeque::new(),
                connecting: 0,
                inbound_connections: 0,
                listening: true,
                listening_changed: Rc::default(),
                connects_ready: Rc::default(),
                input: Rc::default(),
                tick_ms: world.timers.tick_ms,
                every_tick: false,
                unreachable: std::collections::BTreeSet::new(),
                halted: false,
                x25_faults_acted: 0,
                earlier_counters: BTreeMap::new(),
                world_addresses: world
                    .machines
                    .iter()
                    .flat_map(|m| m.addresses.iter().cloned())
                    .collect(),
                x25: Rc::new(RefCell::new(x25)),
            })),
        );
    }
    machines
}

/// The listener of one interface: accepts on port 102 and hands each stream to the edge (and
/// unbinds while a `ListenerDown` fault lasts or the service is stopped, so connects are refused).
/// It sleeps until a caller comes or [`set_listening`] changes the flag.
async fn listen(m: Shared) {
    let changed = m.borrow().listening_changed.clone();
    loop {
        while !m.borrow().listening {
            changed.notified().await;
        }
        let Ok(listener) = TcpListener::bind(("0.0.0.0", PORT)).await else {
            return;
        };
        loop {
            // Created before the flag is read: a change after this point completes it.
            let change = changed.notified();
            if !m.borrow().listening {
                break;
            }
            let accepted = tokio::select! {
                biased;
                () = change => continue,
                a = listener.accept() => a,
            };
            let Ok((s, peer)) = accepted else {
                continue;
            };
            let from = peer.ip().to_string();
            // Burst callers and the listener probe are not world machines: their side of the
            // stream is captured here, from the MTA's.
            let peer_records = m.borrow().world_addresses.contains(&from);
            let ends = s.local_addr().ok().map(|local| Ends {
                local,
                peer,
                we_opened: false,
                peer_records,
            });
            edge::accept(&m, s.into_split(), &from, ends);
        }
    }
}

/// Open or close a machine's listeners (every interface's).
fn set_listening(m: &mut Machine, on: bool) {
    m.listening = on;
    m.listening_changed.notify_waiters();
}

/// Whether the connection `r` leaves from interface `addr` (the primary address when it names
/// no source).
fn leaves_from(m: &Machine, r: &Remote, addr: &str) -> bool {
    r.source.as_deref().unwrap_or(&m.spec.addresses[0]) == addr
}

/// The model's connections that leave from `addr`, taken off the machine's list.
fn take_connects(m: &Shared, addr: &str) -> Vec<(ControlBlockId, Remote)> {
    let mut mm = m.borrow_mut();
    let connects = std::mem::take(&mut mm.connects);
    let (mine, rest): (Vec<_>, Vec<_>) = connects
        .into_iter()
        .partition(|(_, r)| leaves_from(&mm, r, addr));
    mm.connects = rest.into();
    mine
}

/// Open each connection and report its result to the edge.
fn open_connects(m: &Shared, connects: Vec<(ControlBlockId, Remote)>) {
    for (cb, remote) in connects {
        let m = m.clone();
        m.borrow_mut().connecting += 1;
        tokio::task::spawn_local(async move {
            let r = connect_as_tcp_would(&m, &remote.host).await;
            m.borrow_mut().connecting -= 1;
            let ends = r.as_ref().ok().and_then(|s| {
                Some(Ends {
                    local: s.local_addr().ok()?,
                    peer: s.peer_addr().ok()?,
                    we_opened: true,
                    peer_records: true,
                })
            });
            edge::connected(&m, cb, r.map(TcpStream::into_split), ends);
        });
    }
}

/// The connector of a secondary interface `addr`: woken when the model (ticked on the primary
/// interface's host) asks for connections, it opens those whose source is this interface one
/// tick later (the tick that asked ends the step its host runs in).
async fn connect_from(m: Shared, addr: String, tick: u64) {
    let ready = m.borrow().connects_ready.clone();
    loop {
        // Created before the list is read: a request after this point completes it.
        let more = ready.notified();
        let waiting = {
            let mm = m.borrow();
            mm.connects.iter().any(|(_, r)| leaves_from(&mm, r, &addr))
        };
        if !waiting {
            more.await;
            continue;
        }
        tokio::time::sleep(Duration::from_millis(tick)).await;
        open_connects(&m, take_connects(&m, &addr));
    }
}

/// The model's clock, on the primary interface's host: the model is ticked on the world's grid
/// of `tick` ms, at the grid points where it is due ([`Mta::next_tick_due`]) or after the edge fed
/// it; the ticks it skips would change nothing but clocks. Each tick, the connections the model
/// asks for from the primary address open at once and the others go to their interfaces'
/// connectors; then the X.25 interface ticks (on every grid point: its acknowledgement cadence
/// counts ticks).
async fn clock(m: Shared, addr: String, tick: u64) {
    let (gw, input) = {
        let mm = m.borrow();
        (mm.x25.clone(), mm.input.clone())
    };
    loop {
        // Created before the model is read: input after this point completes it.
        let fed = input.notified();
        let now = now_ms();
        let next = (now / tick + 1) * tick;
        let due = next_tick_at(&m.borrow(), next, tick);
        tokio::select! {
            biased;
            () = tokio::time::sleep(Duration::from_millis(due - now)) => {}
            () = fed => {
                let now = now_ms();
                let next = (now / tick + 1) * tick;
                tokio::time::sleep(Duration::from_millis(next - now)).await;
            }
        }
        if m.borrow().halted {
            continue; // the MTA service is stopped
        }
        let now = now_ms();
        let connects = edge::step(&m, now);
        if !connects.is_empty() {
            m.borrow_mut().connects.extend(connects);
            open_connects(&m, take_connects(&m, &addr));
            let mm = m.borrow();
            if !mm.connects.is_empty() {
                mm.connects_ready.notify_waiters();
            }
        }
        if let Some(g) = gw.borrow_mut().as_mut() {
            g.tick(now, &mut m.borrow_mut().mta);
        }
    }
}

/// The grid point at or after `next` at which machine `m`'s model must next be ticked (at most
/// an hour ahead: input wakes the clock earlier).
fn next_tick_at(m: &Machine, next: u64, tick: u64) -> u64 {
    let every = m.every_tick || m.halted || m.x25.borrow().is_some() || edge::stopped(m);
    if every {
        return next;
    }
    match m.mta.next_tick_due() {
        None => next,
        Some(t) => t
            .min(next + 3_600_000)
            .div_ceil(tick)
            .saturating_mul(tick)
            .max(next),
    }
}

/// A connect to `host`'s port 102 with the outcome real TCP gives: refused at once (10061) by a
/// live host without a listener; unanswered — a crashed host, or a partition the world's fault
/// plan holds — until the build's `tcp_connect_timeout_ms`, then timed out (10060). Turmoil
/// refuses a connect across a partition at once, so while the link is partitioned the adapter
/// tries again every 500 ms, as TCP retransmits its SYN (it connects if the partition heals in
/// time).
async fn connect_as_tcp_would(m: &Shared, host: &str) -> std::io::Result<TcpStream> {
    let timeout = Duration::from_millis(m.borrow().mta.profile.tcp_connect_timeout_ms);
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        match tokio::time::timeout(left, TcpStream::connect((host, PORT))).await {
            Ok(Ok(s)) => return Ok(s),
            Ok(Err(e)) if !m.borrow().unreachable.contains(host) => return Err(e),
            Ok(Err(_)) if left > Duration::ZERO => {
                tokio::time::sleep(left.min(Duration::from_millis(500))).await;
            }
            Ok(Err(_)) | Err(_) => return Err(std::io::ErrorKind::TimedOut.into()),
        }
    }
}

/// Every interface of every machine as a turmoil host: its listener, its connector and, on the
/// primary interface, the model's clock (and the XOT listener of an X.25 machine).
fn host_machines(sim: &mut turmoil::Sim<'_>, machines: &BTreeMap<String, Shared>, tick: u64) {
    for machine in machines.values() {
        let addresses = machine.borrow().spec.addresses.clone();
        for (i, addr) in addresses.iter().enumerate() {
            let (m, addr_c) = (machine.clone(), addr.clone());
            sim.host(addr.as_str(), move || {
                let (m, addr) = (m.clone(), addr_c.clone());
                async move {
                    tokio::task::spawn_local(listen(m.clone()));
                    if i > 0 {
                        tokio::task::spawn_local(connect_from(m.clone(), addr, tick));
                        return std::future::pending().await;
                    }
                    // The primary interface drives the model's clock (and hosts the X.25
                    // interface's XOT listener).
                    let gw = m.borrow().x25.clone();
                    if gw.borrow().is_some() {
                        let mm = m.clone();
                        let serving = move || !mm.borrow().halted;
                        tokio::task::spawn_local(crate::xot::listen(gw, tick, serving));
                    }
                    clock(m, addr, tick).await;
                    Ok(())
                }
            });
        }
    }
}

/// Submit every flow's messages at their origins; returns how many.
fn submit_flows(world: &World, machines: &BTreeMap<String, Shared>) -> usize {
    let mut submitted = 0;
    for f in &world.flows {
        let mut m = machines[&f.from].borrow_mut();
        for i in 0..f.count {
            let apdu = message(&mut m.mta, &f.from, &f.to, i, f.size);
            m.mta.submit(apdu);
            submitted += 1;
        }
    }
    submitted
}

/// Each burst of inbound callers runs in a client host of its own.
fn spawn_bursts(
    sim: &mut turmoil::Sim<'_>,
    plan: &FaultPlan,
    machines: &BTreeMap<String, Shared>,
    running: &Rc<idle::Programs>,
) {
    for (i, (at, f)) in plan.faults.iter().enumerate() {
        if let Fault::Burst {
            machine,
            callers,
            timeout_ms,
        } = f
        {
            let target = primary_of(machines, machine);
            let (at, callers, timeout_ms) = (*at, *callers, *timeout_ms);
            let running = running.clone();
            running.schedule(at);
            sim.client(format!("10.0.9.{}", i + 1).as_str(), async move {
                tokio::time::sleep(Duration::from_millis(at)).await;
                running.start(at);
                let mut tasks = Vec::new();
                for _ in 0..callers {
                    let target = target.clone();
                    tasks.push(tokio::task::spawn_local(async move {
                        short_timeout_caller(&target, timeout_ms).await;
                    }));
                }
                for t in tasks {
                    let _ = t.await;
                }
                running.end();
                Ok(())
            });
        }
    }
}

/// Each hostile-callers fault plays its peer programs, one after another, from a host of its own.
fn spawn_hostile(
    sim: &mut turmoil::Sim<'_>,
    plan: &FaultPlan,
    machines: &BTreeMap<String, Shared>,
    running: &Rc<idle::Programs>,
) {
    for (i, (at, f)) in plan.faults.iter().enumerate() {
        if let Fault::Hostile {
            machine,
            first,
            peers,
        } = f
        {
            let target = primary_of(machines, machine);
            let (at, peers) = (*at, crate::faults::hostile_peers(*first, *peers));
            let running = running.clone();
            running.schedule(at);
            sim.client(format!("10.0.10.{}", i + 1).as_str(), async move {
                tokio::time::sleep(Duration::from_millis(at)).await;
                running.start(at);
                for p in &peers {
                    // A refused connect is the MTA's business (a stopped service, a full
                    // table); the oracles judge the MTA, not the caller.
                    let _ = crate::hostile_peers::play(&target, p).await;
                }
                running.end();
                Ok(())
            });
        }
    }
}

/// Outcomes of the X.25 remote MTAs, how many are still calling, and how many messages they
/// carry (the exactly-once oracle counts them with the flows').
type X25Calls = (
    Rc<RefCell<Vec<(String, crate::xot::CallOutcome)>>>,
    Rc<RefCell<u32>>,
    usize,
);

/// X.25 remote MTAs: the link's callers in every run (one client host, staggered), and each X.25
/// overload fault's callers at once (a client host per fault).
fn spawn_x25_calls(
    sim: &mut turmoil::Sim<'_>,
    world: &World,
    plan: &FaultPlan,
    machines: &BTreeMap<String, Shared>,
) -> X25Calls {
    let calls: Rc<RefCell<Vec<(String, crate::xot::CallOutcome)>>> = Rc::default();
    let active_calls: Rc<RefCell<u32>> = Rc::default();
    let mut messages = 0;
    let Some(x) = &world.x25 else {
        return (calls, active_calls, messages);
    };
    let caller = remote_caller(x, machines);
    let mut groups: Vec<(String, u64, u32)> = vec![("10.0.7.1".into(), 0, x.callers)];
    for (i, (at, f)) in plan.faults.iter().enumerate() {
        if let Fault::X25Overload { calls, .. } = f {
            groups.push((format!("10.0.8.{}", i + 1), *at, *calls));
        }
    }
    for (g, (host, at, n)) in groups.into_iter().enumerate() {
        let (outcomes, active) = (calls.clone(), active_calls.clone());
        *active.borrow_mut() += n;
        messages += n as usize * x.messages;
        let stagger = if at == 0 { 200 } else { 0 };
        let work: Vec<(crate::xot::RemoteCaller, Vec<Vec<u8>>)> = (0..n)
            .map(|c| {
                let tag = format!("{g}-{c}");
                let apdus =
                    crate::xot::remote_messages(&x.machine, &tag, x.messages, x.message_size);
                (caller.clone(), apdus)
            })
            .collect();
        sim.client(host.as_str(), async move {
            tokio::time::sleep(Duration::from_millis(at)).await;
            let mut tasks = Vec::new();
            for (c, (caller, apdus)) in work.into_iter().enumerate() {
                let (outcomes, active) = (outcomes.clone(), active.clone());
                tasks.push(tokio::task::spawn_local(async move {
                    tokio::time::sleep(Duration::from_millis(c as u64 * stagger)).await;
                    let o = crate::xot::remote_mta(caller, apdus).await;
                    outcomes.borrow_mut().push((format!("call {c}"), o));
                    *active.borrow_mut() -= 1;
                }));
            }
            for t in tasks {
                let _ = t.await;
            }
            Ok(())
        });
    }
    (calls, active_calls, messages)
}

/// The remote MTA of link `x`: calls the machine's primary address with its build's packet size
/// and window, binds as the link's connector expects.
fn remote_caller(
    x: &crate::world::X25Link,
    machines: &BTreeMap<String, Shared>,
) -> crate::xot::RemoteCaller {
    let target = primary_of(machines, &x.machine);
    let profile = machines[&x.machine].borrow().mta.profile;
    let none = mta_osi::association::Address::default;
    crate::xot::RemoteCaller {
        target,
        dtes: (
            crate::xot::CALLED_DTE.to_string(),
            crate::xot::REMOTE_DTE.to_string(),
        ),
        packet_size: usize::from(profile.x25_packet_size),
        window: usize::from(profile.x25_window),
        rto_ms: 300,
        config: mta_osi::association::Config::for_profile(
            &profile,
            mta_osi::presentation::Mode::Normal,
            none(),
            none(),
        ),
        bind: mta_p1::Bind::simple(crate::xot::REMOTE_MTA, crate::xot::REMOTE_PASSWORD).emit(),
        patience_ms: 60_000,
    }
}

/// When the run ended (simulated ms), once it has, and the listener oracle's findings.
type Watch = (Rc<RefCell<Option<u64>>>, Rc<RefCell<Vec<String>>>);

/// What the watch is doing, for idle skipping.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum WatchPhase {
    /// Waking every 100 ms to look whether the run is over (it acts only when it is).
    Polling,
    /// Probing the listeners.
    Acting,
    /// Its last sleep, until this time (ms).
    Ending(u64),
}

/// The watch's period (ms): it wakes at every multiple of it.
const WATCH_MS: u64 = 100;

/// What the stepper reads to skip idle time ([`crate::idle`]).
struct Skipping {
    /// Off: step every tick (the reference).
    enabled: bool,
    tick: u64,
    /// Burst and hostile programs, due and running.
    running: Rc<idle::Programs>,
    /// X.25 remote MTAs still calling (they run from the start, staggered).
    calling: Rc<RefCell<u32>>,
    watch: Rc<Cell<WatchPhase>>,
    healed: u64,
    max: u64,
}

impl Skipping {
    /// The earliest time at or after `now` anything but the fault timeline may act.
    fn bound(&self, now: u64, machines: &BTreeMap<String, Shared>) -> idle::Bound {
        let mut b = idle::Bound::NEVER;
        self.running.bound(&mut b);
        if b.is_busy() || *self.calling.borrow() > 0 {
            b.busy();
            return b;
        }
        for m in machines.values() {
            machine_bound(&m.borrow(), &mut b);
        }
        // The watch acts at its first wake past the heal with every model quiescent (which
        // nothing changes before the models act), or at the time limit. A wake due exactly now
        // (at the end of the last step) may not have run yet.
        let wake_at_or_after = |t: u64| t.div_ceil(WATCH_MS) * WATCH_MS;
        match self.watch.get() {
            WatchPhase::Acting => b.busy(),
            WatchPhase::Ending(t) => b.at(t),
            WatchPhase::Polling => {
                b.at(wake_at_or_after(now.max(self.max)));
                if machines.values().all(|m| m.borrow().mta.quiescent()) {
                    b.at(wake_at_or_after(now.max(self.healed + 1)));
                }
            }
        }
        b
    }
}

/// When machine `m` may next act: never while its service is stopped (the restart is on the
/// stepper's list); its connector's and connects' work now; else its model's and X.25 interface's.
fn machine_bound(m: &Machine, b: &mut idle::Bound) {
    if m.halted {
        return;
    }
    if edge::stopped(m) {
        // A stopped MTA's edge closes its streams once, then does nothing.
        if m.streams.has_writers() {
            b.busy();
        }
        return;
    }
    if !m.connects.is_empty() || m.connecting > 0 {
        b.busy();
        return;
    }
    if m.x25.borrow().as_ref().is_some_and(|g| !g.quiet()) {
        b.busy();
        return;
    }
    b.quiet_until(m.mta.quiet_until());
}

/// The client that ends the run: once the faults have healed, no X.25 call is active and every
/// model is quiescent (or at the time limit), it checks that every interface still answers a
/// connect (the listener oracle).
fn spawn_watch(
    sim: &mut turmoil::Sim<'_>,
    machines: &BTreeMap<String, Shared>,
    (active_calls, phase): (&Rc<RefCell<u32>>, &Rc<Cell<WatchPhase>>),
    max: u64,
    healed: u64,
) -> Watch {
    let report = Rc::new(RefCell::new(None));
    let (rm, rr) = (machines.clone(), report.clone());
    let calling = active_calls.clone();
    let phase = phase.clone();
    let not_answering: Rc<RefCell<Vec<String>>> = Rc::default();
    let deaf = not_answering.clone();
    sim.client("10.255.255.254", async move {
        loop {
            tokio::time::sleep(Duration::from_millis(100)).await;
            let now = now_ms();
            let done = now > healed
                && *calling.borrow() == 0
                && rm.values().all(|m| m.borrow().mta.quiescent());
            if done || now >= max {
                phase.set(WatchPhase::Acting);
                *rr.borrow_mut() = Some(now);
                if done {
                    // The listener oracle: after the liveness phase every interface of every
                    // machine still answers a connect; then the probes' blocks must be freed.
                    for m in rm.values() {
                        let addrs = m.borrow().spec.addresses.clone();
                        for a in addrs {
                            if !answers_connect(&a).await {
                                let name = m.borrow().spec.name.clone();
                                deaf.borrow_mut().push(format!(
                                    "{name}: listener on {a} no longer answers a connect after the liveness phase"
                                ));
                            }
                        }
                    }
                    phase.set(WatchPhase::Ending(now_ms() + 1000));
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
                return Ok(());
            }
        }
    });
    (report, not_answering)
}

/// Step the simulation to its end (or to `until`), starting and ending each fault on time;
/// returns the messages a crash lost with its disk and, when `until` was reached, every
/// machine's state there.
fn step_through_faults(
    sim: &mut turmoil::Sim<'_>,
    (machines, skipping): (&BTreeMap<String, Shared>, &Skipping),
    trace: &Rc<RefCell<Trace>>,
    (plan, seed, until, restart_ms): (&FaultPlan, u64, Option<Until>, u64),
    findings: &mut Vec<String>,
) -> (usize, Option<(u64, Vec<String>)>) {
    // Start and end of every fault, in time order.
    let mut timeline: Vec<(u64, bool, Fault)> = plan
        .faults
        .iter()
        .flat_map(|(t, f)| [(*t, true, f.clone()), (t + f.duration(), false, f.clone())])
        .collect();
    timeline.sort_by_key(|(t, start, _)| (*t, !*start));
    let mut timeline: VecDeque<(u64, bool, Fault)> = timeline.into();
    let mut expected_lost = 0;
    let mut stopped = None;
    let mut restarts: VecDeque<(u64, String)> = VecDeque::new();
    let mut now = 0;
    loop {
        let mut bound = if skipping.enabled && !idle::in_flight(sim) {
            skipping.bound(now, machines)
        } else {
            let mut busy = idle::Bound::NEVER;
            busy.busy();
            busy
        };
        if let Some((t, _, _)) = timeline.front() {
            bound.at(*t);
        }
        if let Some((t, _)) = restarts.front() {
            bound.at(*t);
        }
        if let Some(Until::Ms(t)) = until {
            bound.at(t);
        }
        let step = bound.step_ms(now, skipping.tick, skipping.max + 60_000);
        match idle::step(sim, step) {
            Ok(true) => break,
            Ok(false) => {}
            Err(e) => {
                findings.push(format!("simulation error: {e}"));
                break;
            }
        }
        now = sim.elapsed().as_millis() as u64;
        let reached = match until {
            Some(Until::Ms(t)) => now >= t,
            Some(Until::Event(id)) => machines.values().any(|m| {
                let m = m.borrow();
                m.mta.log.count(id) > 0
                    || m.x25
                        .borrow()
                        .as_ref()
                        .is_some_and(|g| g.x25.log.count(id) > 0)
            }),
            None => false,
        };
        if reached {
            stopped = Some((now, state_dump(machines)));
            break;
        }
        while timeline.front().is_some_and(|(t, _, _)| *t <= now) {
            let (_, start, f) = timeline.pop_front().expect("checked");
            trace.borrow_mut().note(
                now,
                &format!("fault {} {f}", if start { "start" } else { "end" }),
                &[],
            );
            expected_lost += apply_fault(sim, machines, &f, start, seed);
        }
        stop_on_fatal(
            sim,
            machines,
            trace,
            (now, seed, restart_ms),
            findings,
            &mut restarts,
        );
        while restarts.front().is_some_and(|(t, _)| *t <= now) {
            let (_, name) = restarts.pop_front().expect("checked");
            trace
                .borrow_mut()
                .note(now, &format!("{name} service restarted"), &[]);
            let mut m = machines[&name].borrow_mut();
            m.halted = false;
            set_listening(&mut m, true);
        }
    }
    (expected_lost, stopped)
}

/// Fatal means stopped (KB Q182619: "the MTA service stops"; Q225157: a fault in the session input
/// path ends the process): an MTA with a fatal event or a new X.25 session-input fault is stopped —
/// its process gone (every association reset, in-memory state lost, the queue disk kept), its host
/// still up with nothing listening — and the finding says so; the world's service-recovery restart
/// (`restarts`) brings it back.
fn stop_on_fatal(
    sim: &mut turmoil::Sim<'_>,
    machines: &BTreeMap<String, Shared>,
    trace: &Rc<RefCell<Trace>>,
    (now, seed, restart_ms): (u64, u64, u64),
    findings: &mut Vec<String>,
    restarts: &mut VecDeque<(u64, String)>,
) {
    for (name, m) in machines {
        let Some(cause) = stop_cause(&mut m.borrow_mut()) else {
            continue;
        };
        findings.push(format!("{name}: MTA stopped: {cause}"));
        trace
            .borrow_mut()
            .note(now, &format!("{name} MTA stopped: {cause}"), &[]);
        crash(sim, m, true, seed);
        // The host stays up: it answers connects (refusing them) while the service is stopped.
        for a in addrs_of(machines, name) {
            sim.bounce(a.as_str());
        }
        let mut mm = m.borrow_mut();
        mm.halted = true;
        set_listening(&mut mm, false);
        if restart_ms > 0 {
            restarts.push_back((now + restart_ms, name.clone()));
        }
    }
}

/// Why a running MTA must stop now, if it must: its fatal event, or the X.25 session-input fault
/// it has not stopped for yet.
fn stop_cause(m: &mut Machine) -> Option<String> {
    if m.halted {
        return None;
    }
    if let Some(cause) = edge::stop_cause(&m.mta) {
        return Some(cause);
    }
    let gw = m.x25.borrow();
    let fault = gw.as_ref()?.fault_text(m.x25_faults_acted)?;
    drop(gw);
    m.x25_faults_acted += 1;
    Some(fault)
}

/// Every machine's state, for a step-through replay's stop.
fn state_dump(machines: &BTreeMap<String, Shared>) -> Vec<String> {
    let mut lines = Vec::new();
    for (name, m) in machines {
        let m = m.borrow();
        lines.push(format!(
            "== {name} ({}) [{}]",
            m.spec.build_name(),
            m.spec.addresses.join(", ")
        ));
        lines.extend(m.mta.state().into_iter().map(|l| format!("  {l}")));
        if let Some(g) = m.x25.borrow().as_ref() {
            lines.push(format!(
                "  X.25: {} circuits, {} sessions, transport queue depth {}, serviced every {} ticks, {:?}",
                g.x25.circuits(),
                g.x25.adapter.sessions(),
                g.x25.transport.depth(),
                g.x25.service_every,
                g.x25.transport.counters
            ));
        }
        let last: Vec<String> = m
            .mta
            .log
            .events()
            .iter()
            .zip(m.mta.log.render())
            .rev()
            .take(3)
            .map(|(e, t)| {
                format!(
                    "  last events: {} ms {} {}",
                    e.at_ms,
                    e.id,
                    t.replace('\n', " / ")
                )
            })
            .collect();
        lines.extend(last.into_iter().rev());
    }
    lines
}

/// Start (`start`) or end a fault; returns the messages lost with a crashed machine's disk.
fn apply_fault(
    sim: &mut turmoil::Sim<'_>,
    machines: &BTreeMap<String, Shared>,
    f: &Fault,
    start: bool,
    seed: u64,
) -> usize {
    let mut expected_lost = 0;
    match (&f, start) {
        (
            Fault::Crash {
                machine, keep_disk, ..
            },
            true,
        ) => {
            expected_lost += crash(sim, &machines[machine], *keep_disk, seed);
        }
        (Fault::Crash { machine, .. }, false) => {
            for a in addrs_of(machines, machine) {
                sim.bounce(a.as_str());
            }
        }
        (Fault::ListenerDown { machine, .. }, _) => {
            set_listening(&mut machines[machine].borrow_mut(), !start);
        }
        (Fault::Burst { .. } | Fault::Hostile { .. }, _) => {} // callers in their own hosts
        (
            Fault::X25Overload {
                machine,
                service_every,
                ..
            },
            _,
        ) => {
            // Its calls run in their own client host; here the transport falls behind.
            let gw = machines[machine].borrow().x25.clone();
            if let Some(g) = gw.borrow_mut().as_mut() {
                g.x25.service_every = if start { *service_every } else { 1 };
            }
        }
        (
            Fault::Latency {
                a, b, latency_ms, ..
            },
            _,
        ) => {
            // Only links that exist can be changed (turmoil creates them on first use).
            let mut existing: Vec<(std::net::IpAddr, std::net::IpAddr)> = Vec::new();
            sim.links(|it| existing.extend(it.map(|l| l.pair())));
            for x in addrs_of(machines, a) {
                for y in addrs_of(machines, b) {
                    let (Ok(xi), Ok(yi)) = (x.parse(), y.parse()) else {
                        continue;
                    };
                    if !existing.contains(&(xi, yi)) && !existing.contains(&(yi, xi)) {
                        continue;
                    }
                    if start {
                        sim.set_link_latency(
                            x.as_str(),
                            y.as_str(),
                            Duration::from_millis(*latency_ms),
                        );
                    } else {
                        sim.set_link_latency(x.as_str(), y.as_str(), MIN_LATENCY);
                        sim.set_link_max_message_latency(x.as_str(), y.as_str(), MAX_LATENCY);
                    }
                }
            }
        }
        (Fault::Hold { a, b, .. } | Fault::Partition { a, b, .. }, _) => {
            for x in addrs_of(machines, a) {
                for y in addrs_of(machines, b) {
                    match (&f, start) {
                        (Fault::Hold { .. }, true) => sim.hold(x.as_str(), y.as_str()),
                        (Fault::Hold { .. }, false) => sim.release(x.as_str(), y.as_str()),
                        (_, true) => sim.partition(x.as_str(), y.as_str()),
                        (_, false) => sim.repair(x.as_str(), y.as_str()),
                    }
                    if matches!(f, Fault::Partition { .. }) {
                        mark_unreachable(&machines[a], &y, start);
                        mark_unreachable(&machines[b], &x, start);
                    }
                }
            }
        }
    }
    expected_lost
}

/// While a partition lasts, `machine` cannot reach `address` (its connects go unanswered).
fn mark_unreachable(machine: &Shared, address: &str, partitioned: bool) {
    let mut m = machine.borrow_mut();
    if partitioned {
        m.unreachable.insert(address.to_string());
    } else {
        m.unreachable.remove(address);
    }
}

/// What the machines hold at the end of a run, summed for the report.
struct Tally {
    /// Outcomes per (origin, MTS identifier), over every life of each machine.
    all: BTreeMap<(String, String), Vec<Outcome>>,
    events: BTreeMap<String, BTreeMap<u32, usize>>,
    event_log: BTreeMap<String, Vec<String>>,
    counters: BTreeMap<String, u64>,
    alerts: BTreeMap<String, std::collections::BTreeSet<(u32, String)>>,
    refused: BTreeMap<String, (usize, u64)>,
}

/// The per-machine oracles (fatal events, buffers and control blocks left, X.25 faults) into
/// `findings`, and the machines' outcomes, events, counters and alerts.
fn tally_machines(machines: &BTreeMap<String, Shared>, findings: &mut Vec<String>) -> Tally {
    let mut all: BTreeMap<(String, String), Vec<Outcome>> = BTreeMap::new();
    let mut events: BTreeMap<String, BTreeMap<u32, usize>> = BTreeMap::new();
    let mut event_log: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut counters: BTreeMap<String, u64> = BTreeMap::new();
    let mut alerts: BTreeMap<String, std::collections::BTreeSet<(u32, String)>> = BTreeMap::new();
    let mut refused = BTreeMap::new();
    for (name, m) in machines {
        let m = m.borrow();
        if let Some(cause) = edge::stop_cause(&m.mta) {
            findings.push(format!("{name}: {cause}"));
        }
        if let Some(l) = m.mta.bm.leak_report() {
            let owners: Vec<String> = l
                .by_owner
                .iter()
                .map(|(o, n)| format!("{o:?} {}h/{}e", n.headers, n.elements))
                .collect();
            findings.push(format!(
                "{name}: buffers outstanding at quiescence ({})",
                owners.join(", ")
            ));
        }
        if m.mta.driver.live_blocks() != 0 {
            let states: std::collections::BTreeSet<String> = m
                .mta
                .driver
                .blocks()
                .iter()
                .map(|(_, st)| format!("{st:?}"))
                .collect();
            let late = m.mta.driver.blocks_accepted_too_late();
            findings.push(format!(
                "{name}: {} control blocks still allocated (in {}){}",
                m.mta.driver.live_blocks(),
                states.into_iter().collect::<Vec<_>>().join(", "),
                if late > 0 {
                    format!("; {late} {}", mta_mta::driver::ACCEPTED_TOO_LATE)
                } else {
                    String::new()
                }
            ));
        }
        if let Some(g) = m.x25.borrow().as_ref() {
            // Each session-input fault stopped the MTA and was reported then; one in the run's
            // very last step is reported here.
            findings.extend(
                (m.x25_faults_acted..g.x25.faults.len())
                    .filter_map(|i| g.fault_text(i))
                    .map(|f| format!("{name}: MTA stopped: {f}")),
            );
            *counters.entry("x25.malformed_buffers".into()).or_default() += g.x25.malformed();
            *counters.entry("x25.binds_accepted".into()).or_default() += g.x25.accepted;
            *counters.entry("x25.transfers".into()).or_default() += g.x25.transfers;
            let lines: Vec<String> = g
                .x25
                .log
                .events()
                .iter()
                .zip(g.x25.log.render())
                .map(|(e, text)| {
                    format!("{} ms: event {} ({}) {text}", e.at_ms, e.id, e.event_type)
                })
                .collect();
            if !lines.is_empty() {
                event_log.insert(format!("{name} X.25"), lines);
            }
        }
        for (k, v) in m.mta.outcomes().iter().chain(&m.history) {
            all.entry(k.clone()).or_default().extend(v);
        }
        refused.insert(name.clone(), (m.mta.log.count(9301), m.inbound_connections));
        for (k, v) in m
            .mta
            .trigger_counters()
            .into_iter()
            .chain(m.earlier_counters.clone())
        {
            *counters.entry(k.to_string()).or_default() += v;
        }
        event_log.insert(
            name.clone(),
            m.mta
                .log
                .events()
                .iter()
                .zip(m.mta.log.render())
                .map(|(e, text)| {
                    format!("{} ms: event {} ({}) {text}", e.at_ms, e.id, e.event_type)
                })
                .collect(),
        );
        for e in m.mta.log.events() {
            if e.event_type == mta_eventlog::EventType::Error {
                alerts
                    .entry(name.clone())
                    .or_default()
                    .insert((e.id, e.component.name.to_string()));
            }
            *events
                .entry(name.clone())
                .or_default()
                .entry(e.id)
                .or_default() += 1;
            tracing::debug!(target: "mta_lab::sim", machine = %name, id = e.id, at = e.at_ms, lines = ?e.lines);
        }
    }
    Tally {
        all,
        events,
        event_log,
        counters,
        alerts,
        refused,
    }
}

/// The event logs and the findings as trace records (when the run records a trace).
fn log_to_trace(
    trace: &Rc<RefCell<Trace>>,
    machines: &BTreeMap<String, Shared>,
    findings: &[String],
    sim_ms: u64,
) {
    if let Some(lines) = trace.borrow_mut().jsonl.as_mut() {
        let mut seq = lines.len() as u64;
        for (name, m) in machines {
            let m = m.borrow();
            let gw = m.x25.borrow();
            let x25 = gw
                .as_ref()
                .map(|g| (format!("{name} X.25"), &g.x25.log))
                .into_iter();
            for (host, log) in std::iter::once((name.clone(), &m.mta.log)).chain(x25) {
                for (e, text) in log.events().iter().zip(log.render()) {
                    seq += 1;
                    lines.push(
                        serde_json::json!({
                            "schema": TRACE_SCHEMA, "t_ms": e.at_ms, "seq": seq, "host": host,
                            "event": "log", "id": e.id, "event_type": e.event_type.to_string(),
                            "what": text, "layer": "eventlog", "connection": null,
                            "pdu": "", "octets": 0, "hex": "",
                        })
                        .to_string(),
                    );
                }
            }
        }
        for f in findings {
            seq += 1;
            lines.push(
                serde_json::json!({
                    "schema": TRACE_SCHEMA, "t_ms": sim_ms, "seq": seq, "host": "",
                    "event": "finding", "what": f, "layer": "oracle", "connection": null,
                    "pdu": "", "octets": 0, "hex": "",
                })
                .to_string(),
            );
        }
    }
}

/// The benchmark's baseline: the same world's hosts, addresses, tick rhythm (a listener per
/// interface that waits for callers, the model-clock task on each primary interface, as `run`
/// has), the same flows' bytes and the same idle skipping, but bare echo peers instead of MTAs:
/// each message is one connection that writes the message's octets and reads them back. Returns
/// the simulated milliseconds.
pub fn run_echo(world: &World, seed: u64) -> u64 {
    let mut sim = new_sim(world, seed);
    let tick = world.timers.tick_ms;
    let pending: Rc<RefCell<usize>> = Rc::new(RefCell::new(world.flows.len()));
    for m in &world.machines {
        for (i, addr) in m.addresses.iter().enumerate() {
            let flows: Vec<(String, usize, usize)> = if i == 0 {
                world
                    .flows
                    .iter()
                    .filter(|f| f.from == m.name)
                    .map(|f| (echo_primary(world, &f.to), f.count, f.size))
                    .collect()
            } else {
                Vec::new()
            };
            let pending = pending.clone();
            sim.host(addr.as_str(), move || {
                let (flows, pending) = (flows.clone(), pending.clone());
                async move {
                    tokio::task::spawn_local(echo_listener());
                    for (to, count, size) in flows {
                        tokio::task::spawn_local(echo_flow(to, count, size, pending.clone()));
                    }
                    if i > 0 {
                        return std::future::pending().await;
                    }
                    loop {
                        tokio::time::sleep(Duration::from_millis(tick)).await;
                    }
                }
            });
        }
    }
    let done = Rc::new(RefCell::new(0u64));
    let (d, p) = (done.clone(), pending.clone());
    sim.client("10.255.255.254", async move {
        while *p.borrow() > 0 {
            tokio::time::sleep(Duration::from_millis(WATCH_MS)).await;
        }
        *d.borrow_mut() = now_ms();
        Ok(())
    });
    let mut now: u64 = 0;
    loop {
        // Idle while every flow is done and nothing is in flight: the watch's next wake.
        let mut bound = idle::Bound::NEVER;
        if *pending.borrow() > 0 || idle::in_flight(&sim) {
            bound.busy();
        }
        bound.at(now.div_ceil(WATCH_MS) * WATCH_MS);
        let step = bound.step_ms(now, tick, world.timers.max_sim_ms);
        if !matches!(idle::step(&mut sim, step), Ok(false)) {
            break;
        }
        now = sim.elapsed().as_millis() as u64;
    }
    *done.borrow()
}

fn echo_primary(world: &World, name: &str) -> String {
    world
        .machines
        .iter()
        .find(|m| m.name == name)
        .map(|m| m.addresses[0].clone())
        .unwrap_or_default()
}

/// An echo peer's listener: every accepted stream echoes what it reads.
async fn echo_listener() {
    let Ok(listener) = TcpListener::bind(("0.0.0.0", PORT)).await else {
        return;
    };
    while let Ok((s, _)) = listener.accept().await {
        tokio::task::spawn_local(async move {
            let (mut r, mut w) = s.into_split();
            let mut buf = vec![0u8; 16 * 1024];
            while let Ok(n) = r.read(&mut buf).await {
                if n == 0 || w.write_all(&buf[..n]).await.is_err() {
                    break;
                }
            }
        });
    }
}

/// One flow of the echo baseline: `count` connections, each writing `size` octets and reading
/// them back.
async fn echo_flow(to: String, count: usize, size: usize, pending: Rc<RefCell<usize>>) {
    for _ in 0..count {
        let Ok(s) = TcpStream::connect((to.as_str(), PORT)).await else {
            continue;
        };
        let (mut r, mut w) = s.into_split();
        if w.write_all(&vec![0x5a; size]).await.is_err() {
            continue;
        }
        let mut got = 0;
        let mut buf = vec![0u8; 16 * 1024];
        while got < size {
            match r.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => got += n,
            }
        }
    }
    *pending.borrow_mut() -= 1;
}

#[cfg(test)]
mod tests {
    use super::*;
    use mta_build::Build;

    #[test]
    fn same_seed_same_trace() {
        let w = World::standard(Build::Ex55Sp1, Build::Ex2000Sp3, 5);
        let a = run(&w, 7, true);
        let b = run(&w, 7, true);
        assert_eq!(
            (a.trace_hash, a.trace_events),
            (b.trace_hash, b.trace_events)
        );
        assert_eq!(a, b);
        let c = run(&w, 8, true);
        assert_ne!(a.trace_hash, c.trace_hash, "the seed matters");
    }

    #[test]
    fn the_jsonl_trace_has_one_valid_line_per_traced_event() {
        let w = World::standard(Build::Ex2000Sp3Rollup, Build::Ex2000Sp3Rollup, 2);
        let rec = Record {
            pcap: false,
            trace: true,
            until: None,
            every_tick: false,
        };
        let (r, out) = run_with(&w, 3, FaultPlan::from_seed(3, &w), rec);
        let events = out
            .trace
            .iter()
            .filter(|l| {
                !l.contains("\"layer\":\"eventlog\"") && !l.contains("\"layer\":\"oracle\"")
            })
            .count();
        assert_eq!(events as u64, r.trace_events);
        assert!(
            out.trace
                .iter()
                .any(|l| l.contains("\"layer\":\"eventlog\""))
        );
        let mut sent = 0;
        for l in &out.trace {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            assert_eq!(v["schema"], TRACE_SCHEMA);
            if v["event"] == "send" {
                sent += 1;
                assert!(v["pdu"].as_str().unwrap().starts_with("TPKT"), "{l}");
            }
        }
        assert!(sent > 10);
        assert_eq!(
            r,
            run_plan(&w, 3, r.plan.clone()),
            "recording changes nothing"
        );
    }

    #[test]
    fn step_through_stops_at_the_first_event_and_describes_every_machine() {
        assert_eq!("2500ms".parse::<Until>(), Ok(Until::Ms(2500)));
        assert_eq!("2.5s".parse::<Until>(), Ok(Until::Ms(2500)));
        assert_eq!("event:9301".parse::<Until>(), Ok(Until::Event(9301)));
        assert_eq!("9301".parse::<Until>(), Ok(Until::Event(9301)));
        assert!("soon".parse::<Until>().is_err());
        let w = World::multihomed(Build::Ex55Sp1, 4, true);
        let stopped = (0..20).find_map(|seed| {
            let rec = Record {
                pcap: false,
                trace: false,
                until: Some(Until::Event(9301)),
                every_tick: false,
            };
            run_with(&w, seed, FaultPlan::none(), rec).1.stopped
        });
        let (at, lines) = stopped.expect("a 9301 within 20 seeds");
        assert!(at > 0);
        let text = lines.join("\n");
        assert!(
            text.contains("== ALPHA") && text.contains("== BETA"),
            "{text}"
        );
        assert!(text.contains("control blocks:") && text.contains("buffers:"));
        assert!(text.contains("9301"), "the event it stopped at: {text}");
    }

    #[test]
    fn the_echo_baseline_moves_every_flow() {
        let w = World::standard(Build::Ex2000Sp3Rollup, Build::Ex2000Sp3Rollup, 2);
        let ms = run_echo(&w, 1);
        assert!(ms > 0 && ms < w.timers.max_sim_ms, "{ms}");
    }

    #[test]
    fn xot_remote_mtas_deliver_exactly_once_and_clean_on_fixed_builds() {
        for seed in 0..4 {
            let w = World::xot(Build::Ex2000Sp3Rollup, 2);
            let r = run(&w, seed, true);
            assert!(r.findings.is_empty(), "seed {seed}: {:?}", r.findings);
            // Three remote MTAs bound and transferred two messages each (more when an overload
            // adds callers); each message delivered once at ALPHA, counted with the flows'.
            assert!(r.counters["x25.binds_accepted"] >= 3, "seed {seed}");
            assert!(r.counters["x25.transfers"] >= 6, "seed {seed}");
            assert_eq!(r.accounted, r.submitted, "seed {seed}");
            assert!(r.submitted >= 4 + 6, "seed {seed}: {}", r.submitted);
            assert!(r.counters.contains_key("x25.malformed_buffers"));
        }
    }

    /// The 9215 lines of `machine` that name Winsock error `code`.
    fn connect_errors(r: &RunReport, machine: &str, code: &str) -> usize {
        r.event_log[machine]
            .iter()
            .filter(|l| l.contains("event 9215") && l.contains(&format!("sockets error {code} ")))
            .count()
    }

    #[test]
    fn a_partitioned_connect_times_out_with_10060_and_a_refused_one_is_10061() {
        let w = World::standard(Build::Ex2000Sp3Rollup, Build::Ex2000Sp3Rollup, 2);
        let partition = FaultPlan {
            faults: vec![(
                0,
                Fault::Partition {
                    a: "ALPHA".into(),
                    b: "BETA".into(),
                    ms: 12_000,
                },
            )],
        };
        let r = run_plan(&w, 3, partition);
        assert!(
            connect_errors(&r, "ALPHA", "10060") >= 1,
            "{:?}",
            r.event_log["ALPHA"]
        );
        assert_eq!(
            connect_errors(&r, "ALPHA", "10061"),
            0,
            "nothing refuses across a partition"
        );
        let listener_down = FaultPlan {
            faults: vec![(
                0,
                Fault::ListenerDown {
                    machine: "BETA".into(),
                    ms: 12_000,
                },
            )],
        };
        let r = run_plan(&w, 3, listener_down);
        assert!(
            connect_errors(&r, "ALPHA", "10061") >= 1,
            "{:?}",
            r.event_log["ALPHA"]
        );
        assert_eq!(
            connect_errors(&r, "ALPHA", "10060"),
            0,
            "a live host refuses at once"
        );
    }

    /// KB Q225157's conditions on 5.5 (the committed finding's plan): an X.25 overload at ALPHA.
    fn q225157_run(service_restart_ms: u64) -> RunReport {
        let mut w = World::xot(Build::Ex55, 1);
        w.timers.service_restart_ms = service_restart_ms;
        let plan = FaultPlan {
            faults: vec![(
                1763,
                Fault::X25Overload {
                    machine: "ALPHA".into(),
                    calls: 10,
                    service_every: 1,
                    ms: 2168,
                },
            )],
        };
        run_plan(&w, 9, plan)
    }

    #[test]
    fn a_fault_in_the_session_input_path_stops_the_mta_until_its_service_restarts() {
        let r = q225157_run(3_000);
        assert!(
            r.findings[0].starts_with("ALPHA: MTA stopped: fault in the session input path"),
            "{:?}",
            r.findings
        );
        // Restarted with its queue disk: every message (the remote MTAs' too) still ends once,
        // and the listener answers again.
        assert_eq!(r.accounted, r.submitted, "{:?}", r.findings);
        assert!(
            r.findings.iter().all(|f| f.contains("MTA stopped")),
            "{:?}",
            r.findings
        );
        // Without a service-recovery restart it stays stopped: its listener is gone.
        let r = q225157_run(0);
        assert!(r.findings[0].contains("MTA stopped"), "{:?}", r.findings);
        assert!(
            r.findings
                .iter()
                .any(|f| f.contains("ALPHA") && f.contains("answer")),
            "the listener oracle sees the stopped MTA: {:?}",
            r.findings
        );
        // Its X.25 interface is gone with it: remote MTAs calling later find no XOT listener
        // (refused), instead of a connection nobody answers.
        assert!(
            r.findings.iter().any(|f| f.ends_with(": NoConnection")),
            "{:?}",
            r.findings
        );
        assert!(
            !r.findings.iter().any(|f| f.ends_with(": NoAnswer")),
            "{:?}",
            r.findings
        );
    }

    #[test]
    fn hostile_callers_leave_a_fixed_build_clean() {
        // The whole library, four at a time, at ALPHA of the standard world on the fixed build:
        // every generic oracle holds.
        let w = World::standard(Build::Ex2000Sp3Rollup, Build::Ex2000Sp3Rollup, 1);
        let n = crate::hostile_peers::programs().len() as u32;
        for first in (0..n).step_by(4) {
            let plan = FaultPlan {
                faults: vec![(
                    300,
                    Fault::Hostile {
                        machine: "ALPHA".into(),
                        first,
                        peers: 4,
                    },
                )],
            };
            let r = run_plan(&w, 7, plan);
            assert!(
                r.findings.is_empty(),
                "peers from {first}: {:?}",
                r.findings
            );
            // The peers did reach ALPHA: their connections closed on it, logged as NMI9236.
            let closed = r.events.get("ALPHA").and_then(|e| e.get(&9236)).copied();
            assert!(
                closed.unwrap_or(0) >= 1,
                "peers from {first}: {:?}",
                r.events
            );
        }
    }

    #[test]
    fn standard_world_is_clean_on_fixed_builds() {
        for seed in 0..10 {
            let w = World::standard(Build::Ex2000Sp3Rollup, Build::Ex55Sp3, 10);
            let r = run(&w, seed, false);
            assert!(r.findings.is_empty(), "seed {seed}: {:?}", r.findings);
            assert_eq!((r.accounted, r.submitted), (26, 26));
        }
    }
}
