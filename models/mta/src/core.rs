//! The MTA proper: per-connector queues, routing by O/R address, local delivery, transfer over
//! associations with retries and back-off, delivery and non-delivery reports, trace information
//! with loop detection, and a queue "disk" that survives a restart. Sans-IO: [`SocketEvent`]s and
//! ticks in, [`SocketAction`]s and observable state out.
//!
//! Every message ends, per responsible recipient, either delivered here, passed to the next MTA
//! (responsibility transferred: its RTSE transfer was confirmed) or non-delivered with a report —
//! exactly once; [`Mta::outcomes`] is what the exactly-once oracle reads.

use crate::connector::{Connector, SourceAddressChooser, check_bind, identify_caller};
use crate::driver::{Remote, SocketAction, TcpDriver};
use crate::pop4::Pop4;
use mta_bufmgr::{BufferManager, ControlBlockId};
use mta_build::Profile;
use mta_eventlog::{EventLog, catalogue};
use mta_lpi::Lpi;
use mta_osi::association::{self, Address, Event};
use mta_p1::{
    Apdu, Bind, Envelope, GlobalDomainIdentifier, MtsIdentifier, OrName, Recipient, Report,
    ReportRecipient, ReportType, TraceElement,
};
use std::collections::{BTreeMap, VecDeque};

/// Non-delivery reason codes (X.411 NonDeliveryReasonCode).
pub mod reason {
    /// transfer-failure.
    pub const TRANSFER_FAILURE: i64 = 0;
    /// unable-to-transfer.
    pub const UNABLE_TO_TRANSFER: i64 = 1;
}

/// Non-delivery diagnostic codes (X.411 NonDeliveryDiagnosticCode).
pub mod diagnostic {
    /// unrecognised-OR-name.
    pub const UNRECOGNISED_OR_NAME: i64 = 0;
    /// loop-detected.
    pub const LOOP_DETECTED: i64 = 3;
    /// maximum-time-expired (retries exhausted).
    pub const MAXIMUM_TIME_EXPIRED: i64 = 5;
}

/// A socket event from the I/O adapter (turmoil, tokio or a test pipe).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SocketEvent {
    /// The listener accepted connection `conn` from `from`.
    Accepted {
        /// Adapter connection number.
        conn: u64,
        /// Caller address.
        from: String,
    },
    /// Outbound connect() completed.
    Connected(ControlBlockId),
    /// Outbound connect() failed.
    ConnectFailed(ControlBlockId, u32),
    /// Octets arrived.
    Received(ControlBlockId, Vec<u8>),
    /// The peer closed (0) or reset (Winsock error).
    Closed(ControlBlockId, u32),
}

/// MTA configuration.
#[derive(Debug, Clone)]
pub struct MtaConfig {
    /// MTA name.
    pub name: String,
    /// The domain this MTA delivers for.
    pub domain: GlobalDomainIdentifier,
    /// The machine's addresses (first = primary).
    pub addresses: Vec<String>,
    /// Connectors, in order (locality 4 + index).
    pub connectors: Vec<Connector>,
    /// Address space per connector: (country, ADMD, PRMD), lower-case, routed over it.
    pub routes: Vec<Vec<(String, String, String)>>,
    /// `Some(policy)`: a foreign (non-Exchange) MTA — its OSI stack has no Exchange build
    /// behaviour (a conforming TPKT writer) and reads the TPKT reserved octet with `policy`
    /// (KB Q151626's strict MTA rejects a non-zero one). `None`: an Exchange MTA of its build.
    pub foreign: Option<mta_osi::tpkt::ReservedPolicy>,
}

impl MtaConfig {
    /// A configuration whose routes are the connectors' address spaces.
    pub fn new(
        name: &str,
        domain: GlobalDomainIdentifier,
        addresses: Vec<String>,
        connectors: Vec<Connector>,
    ) -> Self {
        let routes = connectors.iter().map(|c| c.routes.clone()).collect();
        MtaConfig {
            name: name.to_string(),
            domain,
            addresses,
            connectors,
            routes,
            foreign: None,
        }
    }
}

/// What happened to one recipient of one message.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
pub enum Outcome {
    /// Delivered to a local recipient.
    Delivered,
    /// Passed to the next MTA (responsibility transferred).
    Relayed,
    /// Non-delivered; a report was generated.
    NonDelivered,
}

/// Where a recipient goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Route {
    Local,
    Connector(usize),
    Unroutable,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum QState {
    Idle,
    Opening,
    Open,
}

#[derive(Debug)]
struct Queue {
    items: VecDeque<Apdu>,
    state: QState,
    lpi: Option<Lpi>,
    in_flight: bool,
    attempts: u32,
    retry_at: Option<u64>,
}

/// What survives an MTA crash when its disk is kept: the connector queues (encoded APDUs), the
/// identifier counter and the per-(message, recipient) outcomes (the message store that lets a
/// receiver drop a retransmitted message it already took responsibility for).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Disk {
    /// Encoded APDUs per connector queue, head first.
    pub queues: Vec<Vec<Vec<u8>>>,
    /// Next local identifier number.
    pub next_id: u64,
    /// Outcomes so far.
    pub outcomes: BTreeMap<(String, String), Vec<Outcome>>,
}

/// Counters for reports and the campaign summary.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MtaCounters {
    /// APDUs transferred out and confirmed.
    pub transferred: u64,
    /// APDUs received over associations.
    pub received: u64,
    /// Reports generated here.
    pub reports_generated: u64,
    /// Reports delivered to local originators.
    pub reports_delivered: u64,
    /// Association open attempts that failed.
    pub open_failures: u64,
    /// Loops detected.
    pub loops: u64,
    /// Retransmitted recipients dropped because their outcome was already recorded.
    pub duplicates: u64,
}

/// One MTA.
#[derive(Debug)]
pub struct Mta {
    /// Build profile.
    pub profile: Profile,
    cfg: MtaConfig,
    /// Buffer manager.
    pub bm: BufferManager,
    /// Event log.
    pub log: EventLog,
    /// TCP driver + NSI.
    pub driver: TcpDriver,
    pop4: Pop4,
    chooser: SourceAddressChooser,
    queues: Vec<Queue>,
    outbound: BTreeMap<Lpi, usize>,
    now: u64,
    next_id: u64,
    outcomes: BTreeMap<(String, String), Vec<Outcome>>,
    delivered_reports: Vec<Report>,
    /// Counters.
    pub counters: MtaCounters,
}

fn domain_key(g: &GlobalDomainIdentifier) -> (String, String, String) {
    let s = |t: &mta_p1::Text| t.value.trim().to_ascii_lowercase();
    (
        s(&g.country),
        s(&g.admd),
        g.prmd.as_ref().map(s).unwrap_or_default(),
    )
}

fn utc(now_ms: u64) -> String {
    // Simulated time from 2026-11-23 00:00:00Z, as UTCTime.
    let s = now_ms / 1000;
    let (h, m, sec) = ((s / 3600) % 24, (s / 60) % 60, s % 60);
    let day = 23 + s / 86_400;
    format!("2611{:02}{h:02}{m:02}{sec:02}Z", day.min(30))
}

/// The association configuration of this MTA's OSI stack: its build's (Exchange) or a foreign one.
fn stack_config(
    profile: &Profile,
    cfg: &MtaConfig,
    mode: mta_osi::presentation::Mode,
    local: Address,
) -> association::Config {
    match cfg.foreign {
        Some(policy) => association::Config::foreign(policy, mode, local.clone(), local),
        None => association::Config::for_profile(profile, mode, local.clone(), local),
    }
}

impl Mta {
    /// The MTA's state in lines (step-through replay): associations, control blocks with their
    /// LPIs, buffer-manager accounting, connector queues.
    pub fn state(&self) -> Vec<String> {
        let mut v = Vec::new();
        let out = self.bm.outstanding();
        let free = self.bm.free();
        v.push(format!(
            "buffers: {} headers / {} elements outstanding, {} / {} free; {:?}",
            out.headers,
            out.elements,
            free.headers,
            free.elements,
            self.bm.stats()
        ));
        v.push(format!(
            "POP4: {} associations, {} messages queued",
            self.pop4.associations(),
            self.pop4.depth()
        ));
        v.extend(
            self.pop4
                .describe()
                .into_iter()
                .map(|l| format!("  association {l}")),
        );
        v.push(format!(
            "control blocks: {} live",
            self.driver.live_blocks()
        ));
        v.extend(
            self.driver
                .describe_blocks()
                .into_iter()
                .map(|l| format!("  {l}")),
        );
        for (i, q) in self.queues.iter().enumerate() {
            let name = self
                .cfg
                .connectors
                .get(i)
                .map_or("?", |c| c.config.name.as_str());
            v.push(format!(
                "queue {name:?}: {} messages, {:?}, LPI {}, in flight {}, attempts {}, retry at {:?}",
                q.items.len(),
                q.state,
                q.lpi.map_or("-".to_string(), |l| l.to_string()),
                q.in_flight,
                q.attempts,
                q.retry_at
            ));
        }
        v
    }

    /// An MTA of `profile`'s build.
    pub fn new(profile: &Profile, cfg: MtaConfig) -> Self {
        let responder = stack_config(
            profile,
            &cfg,
            mta_osi::presentation::Mode::Normal,
            Address::default(),
        );
        let queues = cfg
            .connectors
            .iter()
            .map(|_| Queue {
                items: VecDeque::new(),
                state: QState::Idle,
                lpi: None,
                in_flight: false,
                attempts: 0,
                retry_at: None,
            })
            .collect();
        let addrs: Vec<&str> = cfg.addresses.iter().map(String::as_str).collect();
        Mta {
            profile: *profile,
            bm: BufferManager::for_profile(profile),
            log: EventLog::new(cfg.name.clone(), profile.event_era, 0),
            driver: cfg.foreign.map_or_else(
                || TcpDriver::new(profile),
                |policy| TcpDriver::new(profile).with_reserved_policy(policy),
            ),
            pop4: Pop4::new(profile, responder),
            chooser: SourceAddressChooser::new(&addrs),
            queues,
            outbound: BTreeMap::new(),
            now: 0,
            next_id: 0,
            outcomes: BTreeMap::new(),
            delivered_reports: Vec::new(),
            counters: MtaCounters::default(),
            cfg,
        }
    }

    /// The configuration of the associations this MTA answers (over TCP its POP4 uses the same;
    /// its X.25 interface answers with it too).
    pub fn responder_config(&self) -> association::Config {
        stack_config(
            &self.profile,
            &self.cfg,
            mta_osi::presentation::Mode::Normal,
            Address::default(),
        )
    }

    /// The disk as it is now (what a crash would keep).
    pub fn disk(&self) -> Disk {
        Disk {
            queues: self
                .queues
                .iter()
                .map(|q| q.items.iter().map(Apdu::emit).collect())
                .collect(),
            next_id: self.next_id,
            outcomes: self.outcomes.clone(),
        }
    }

    /// Restart after a crash: a fresh MTA that loads `disk` (or starts empty when it was lost).
    /// Encoded queue entries that no longer decode are dropped with a warning.
    pub fn restart(profile: &Profile, cfg: MtaConfig, disk: Option<Disk>) -> Self {
        let mut m = Mta::new(profile, cfg);
        if let Some(d) = disk {
            m.next_id = d.next_id;
            m.outcomes = d.outcomes;
            for (q, items) in m.queues.iter_mut().zip(d.queues) {
                for b in items {
                    match Apdu::parse(&b) {
                        Ok(a) => q.items.push_back(a),
                        Err(e) => tracing::warn!(%e, "queue entry unreadable after restart"),
                    }
                }
            }
        }
        m
    }

    /// Per (message id, recipient): what happened, in order (more than one entry is a bug).
    pub fn outcomes(&self) -> &BTreeMap<(String, String), Vec<Outcome>> {
        &self.outcomes
    }
    /// Reports delivered to local originators.
    pub fn delivered_reports(&self) -> &[Report] {
        &self.delivered_reports
    }
    /// Responsible recipients of the messages waiting in connector queues (what a lost disk loses).
    pub fn queued_recipients(&self) -> usize {
        self.queues
            .iter()
            .flat_map(|q| &q.items)
            .map(|a| match a {
                Apdu::Message { envelope, .. } | Apdu::Probe(envelope) => envelope
                    .recipients
                    .iter()
                    .filter(|r| r.responsibility())
                    .count(),
                Apdu::Report(_) => 0,
            })
            .sum()
    }

    /// APDUs waiting in connector queues.
    pub fn queued(&self) -> usize {
        self.queues.iter().map(|q| q.items.len()).sum()
    }
    /// Whether nothing is in flight: queues empty, no association, no POP4 backlog.
    pub fn quiescent(&self) -> bool {
        self.queued() == 0
            && self.pop4.associations() == 0
            && self.pop4.depth() == 0
            && self.pop4.outgoing_len() == 0
            && self.driver.live_blocks() == 0
    }
    /// The earliest simulated time (ms) at which [`Mta::tick`] may act — send, connect, close,
    /// log, hand a message on — given no new input: `None` when it has work now; `u64::MAX` when
    /// nothing is scheduled. Ticks before it are silent (they only advance clocks), which is what
    /// lets a simulator skip idle time without changing what happens (issue 20).
    pub fn quiet_until(&self) -> Option<u64> {
        if !self.driver.idle() {
            return None;
        }
        let mut until = self.pop4.quiet_until()?;
        for q in &self.queues {
            match q.state {
                QState::Idle if !q.items.is_empty() => until = until.min(q.retry_at?),
                // An open queue sends its next message, or asks its association to release
                // (once: from then on the association is releasing).
                QState::Open if !q.in_flight => {
                    let releasing = q.items.is_empty()
                        && q.lpi
                            .and_then(|l| self.pop4.association(l))
                            .is_none_or(|a| a.phase() != mta_osi::association::Phase::Open);
                    if !releasing {
                        return None;
                    }
                }
                _ => {}
            }
        }
        Some(until.min(self.driver.deadline().unwrap_or(u64::MAX)))
    }
    /// When [`Mta::tick`] must next run for the model to evolve as if ticked on every grid
    /// point: `None` for the next one; else the earlier of [`Mta::quiet_until`] and POP4's next
    /// pull (which moves its schedule on even when nothing is queued). Ticks before it change
    /// nothing but clocks, which [`Mta::note_time`] sets for input in between.
    pub fn next_tick_due(&self) -> Option<u64> {
        Some(self.quiet_until()?.min(self.pop4.next_pull()))
    }

    /// Simulated time has reached `now` without a tick (an adapter that ticks only when due
    /// feeds input in between): input is stamped with it, as with the tick at `now`.
    pub fn note_time(&mut self, now: u64) {
        self.now = self.now.max(now);
    }

    /// The KB trigger counters and their neighbours, by name (summed by the simulator and read by
    /// `mta-lab kb`: a "not reproduced" cell must show its trigger was reached).
    pub fn trigger_counters(&self) -> Vec<(&'static str, u64)> {
        let d = &self.driver.counters;
        let p = &self.pop4.counters;
        vec![
            ("driver.refused_reconnects", d.refused_reconnects),
            (
                "driver.refused_reconnect_with_full_queue",
                d.refused_reconnect_with_full_queue,
            ),
            (
                "driver.abnormal_remote_disconnects",
                d.abnormal_remote_disconnects,
            ),
            ("driver.refused_inbound", d.refused_inbound),
            ("driver.receive_stalls", d.receive_stalls),
            ("driver.late_accepts", d.late_accepts),
            ("driver.bad_lpi_close_requests", d.bad_lpi_close_requests),
            ("pop4.error_indications", p.error_indications),
            (
                "connector.multihomed_outbound",
                self.chooser.counters.multihomed_outbound,
            ),
        ]
    }

    /// Socket actions for the adapter.
    pub fn take_actions(&mut self) -> Vec<SocketAction> {
        self.driver.take_actions()
    }
    /// Seed the machine's TCP/IP stack (its outbound source-address choice, KB Q197378).
    pub fn seed_transport(&mut self, seed: u64) {
        self.chooser.seed(seed);
    }

    /// The configuration.
    pub fn config(&self) -> &MtaConfig {
        &self.cfg
    }
    /// Our domain.
    pub fn domain(&self) -> &GlobalDomainIdentifier {
        &self.cfg.domain
    }

    fn record(&mut self, id: &MtsIdentifier, r: &OrName, o: Outcome) {
        self.outcomes
            .entry((id.to_string(), r.to_string()))
            .or_default()
            .push(o);
    }

    /// A new MTS identifier in our domain.
    pub fn new_id(&mut self, prefix: &str) -> MtsIdentifier {
        self.next_id += 1;
        MtsIdentifier::new(
            self.cfg.domain.clone(),
            &format!("{prefix}-{}-{}", self.cfg.name, self.next_id),
        )
    }

    /// Submission (from a local user or a gateway): route the message.
    pub fn submit(&mut self, apdu: Apdu) {
        self.process(apdu, false);
    }

    fn trace_element(&self) -> TraceElement {
        TraceElement {
            domain: self.cfg.domain.clone(),
            arrival: utc(self.now),
            routing_action: 0,
            attempted: None,
            other: Vec::new(),
        }
    }

    fn route(&self, name: &OrName) -> Route {
        let key = name.domain();
        if key == domain_key(&self.cfg.domain) {
            return Route::Local;
        }
        self.cfg
            .routes
            .iter()
            .position(|space| space.contains(&key))
            .map_or(Route::Unroutable, Route::Connector)
    }

    fn process(&mut self, mut apdu: Apdu, transferred_in: bool) {
        let ours = self.cfg.domain.clone();
        match &mut apdu {
            Apdu::Message { envelope, .. } | Apdu::Probe(envelope) => {
                if transferred_in && envelope.trace.iter().any(|t| t.domain == ours) {
                    mta_reach::reach!("core: loop detected");
                    self.counters.loops += 1;
                    let rs = envelope.responsible_recipients();
                    let env = envelope.clone();
                    self.non_deliver(
                        &env,
                        &rs,
                        reason::TRANSFER_FAILURE,
                        diagnostic::LOOP_DETECTED,
                    );
                    return;
                }
                if envelope.trace.len() < mta_p1::ub::TRANSFERS {
                    envelope.trace.push(self.trace_element());
                }
                if transferred_in {
                    // A retransmission (the sender's confirm was lost): recipients whose outcome
                    // is already recorded here are no longer our responsibility.
                    for r in &mut envelope.recipients {
                        let key = (envelope.id.to_string(), r.name.to_string());
                        if r.responsibility() && self.outcomes.contains_key(&key) {
                            r.indicators[1] &= !0x80;
                            mta_reach::reach!("core: duplicate recipient dropped");
                            self.counters.duplicates += 1;
                        }
                    }
                }
                let env = envelope.clone();
                let mut per_connector: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
                let mut unroutable = Vec::new();
                for (i, r) in env.recipients.iter().enumerate() {
                    if !r.responsibility() {
                        continue;
                    }
                    match self.route(&r.name) {
                        Route::Local => {
                            self.record(&env.id, &r.name, Outcome::Delivered);
                            if r.indicators.get(1).is_some_and(|b| b & 0x10 != 0) {
                                let rt = ReportType::Delivery {
                                    delivery_time: utc(self.now),
                                };
                                self.report(&env, vec![(r.clone(), rt)]);
                            }
                        }
                        Route::Connector(c) => per_connector.entry(c).or_default().push(i),
                        Route::Unroutable => unroutable.push(r.clone()),
                    }
                }
                if !unroutable.is_empty() {
                    self.non_deliver(
                        &env,
                        &unroutable,
                        reason::UNABLE_TO_TRANSFER,
                        diagnostic::UNRECOGNISED_OR_NAME,
                    );
                }
                for (c, idx) in per_connector {
                    let mut copy = apdu.clone();
                    if let Apdu::Message { envelope, .. } | Apdu::Probe(envelope) = &mut copy {
                        for (i, r) in envelope.recipients.iter_mut().enumerate() {
                            if !idx.contains(&i) && r.indicators.len() > 1 {
                                r.indicators[1] &= !0x80; // not this copy's responsibility
                            }
                        }
                    }
                    self.queues[c].items.push_back(copy);
                }
            }
            Apdu::Report(rep) => {
                if rep.trace.len() < mta_p1::ub::TRANSFERS {
                    rep.trace.push(self.trace_element());
                }
                match self.route(&rep.destination) {
                    Route::Local => {
                        self.counters.reports_delivered += 1;
                        self.delivered_reports.push(rep.clone());
                    }
                    Route::Connector(c) => self.queues[c].items.push_back(apdu),
                    Route::Unroutable => {} // an unroutable report is discarded (X.411 12.2.1.3)
                }
            }
        }
    }

    fn non_deliver(&mut self, env: &Envelope, rs: &[Recipient], reason: i64, diag: i64) {
        if !rs.is_empty() {
            mta_reach::reach!("core: non-delivery report generated");
        }
        if !rs.is_empty() {
            self.log.log(catalogue::non_delivery_report(
                &self.profile,
                &env.id.to_string(),
                rs.len(),
                reason,
                diag,
                self.now,
            ));
        }
        let entries = rs
            .iter()
            .map(|r| {
                self.record(&env.id, &r.name, Outcome::NonDelivered);
                (
                    r.clone(),
                    ReportType::NonDelivery {
                        reason,
                        diagnostic: Some(diag),
                    },
                )
            })
            .collect();
        self.report(env, entries);
    }

    fn report(&mut self, env: &Envelope, entries: Vec<(Recipient, ReportType)>) {
        if entries.is_empty() {
            return;
        }
        self.counters.reports_generated += 1;
        let id = self.new_id("rep");
        let rep = Report {
            id,
            destination: env.originator.clone(),
            trace: Vec::new(),
            subject: env.id.clone(),
            content_type: Some(env.content_type.clone()),
            returned_content: None,
            recipients: entries
                .into_iter()
                .map(|(r, report)| ReportRecipient {
                    actual: r.name,
                    number: r.number,
                    indicators: r.indicators,
                    arrival: utc(self.now),
                    report,
                })
                .collect(),
            other: Vec::new(),
        };
        self.process(Apdu::Report(rep), false);
    }

    /// A socket event.
    pub fn socket(&mut self, ev: SocketEvent) {
        let now = self.now;
        match ev {
            SocketEvent::Accepted { conn, from } => {
                let _ = self.accept(conn, &from);
            }
            SocketEvent::Connected(cb) => self.driver.connected(&mut self.bm, cb),
            SocketEvent::ConnectFailed(cb, e) => {
                self.driver
                    .connect_failed(&mut self.bm, &mut self.log, now, cb, e);
            }
            SocketEvent::Received(cb, b) => self.driver.received(&mut self.bm, cb, &b),
            SocketEvent::Closed(cb, e) => {
                self.driver
                    .remote_closed(&mut self.bm, &mut self.log, now, cb, e);
            }
        }
    }

    /// The listener accepted `conn` from `from`: the block the model gave it, or `None` when it
    /// refused (the adapter then closes the socket).
    pub fn accept(&mut self, conn: u64, from: &str) -> Option<ControlBlockId> {
        let locality = self
            .cfg
            .connectors
            .iter()
            .position(|c| c.config.stack_address == from)
            .unwrap_or(self.cfg.connectors.len());
        let remote = Remote {
            host: from.to_string(),
            port: 102,
            locality: 4 + locality as u32,
            source: Some(from.to_string()),
        };
        self.driver.accepted(conn, remote)
    }

    /// Advance simulated time.
    pub fn tick(&mut self, now: u64) {
        self.now = now;
        self.driver.tick(now);
        self.driver.pump(&mut self.bm);
        self.carry();
        let events = self.pop4.tick(&mut self.bm, &mut self.log, now);
        self.carry();
        for (lpi, e) in events {
            self.on_event(lpi, e);
        }
        self.driver.pump(&mut self.bm);
        self.pump_queues();
        for lpi in self.pop4.lpis() {
            self.pop4.flush(lpi);
        }
        self.carry();
    }

    /// Carry internal messages between NSI and POP4 ([`crate::link`]).
    fn carry(&mut self) {
        crate::link::carry(
            &mut self.bm,
            &mut self.log,
            self.now,
            &mut self.driver,
            &mut self.pop4,
        );
    }

    fn on_event(&mut self, lpi: Lpi, e: Event) {
        let now = self.now;
        if let Some(&c) = self.outbound.get(&lpi) {
            let q = &mut self.queues[c];
            match e {
                Event::BindAccepted { .. } => {
                    q.state = QState::Open;
                    q.attempts = 0;
                    let c = &self.cfg.connectors[c].config;
                    self.log.log(catalogue::association_opened(
                        &self.profile,
                        &c.remote_mta_name,
                        &c.name,
                        false,
                        now,
                    ));
                }
                Event::TransferConfirmed => {
                    q.in_flight = false;
                    if let Some(apdu) = q.items.pop_front() {
                        self.counters.transferred += 1;
                        if let Apdu::Message { envelope, .. } | Apdu::Probe(envelope) = &apdu {
                            for r in envelope.recipients.iter().filter(|r| r.responsibility()) {
                                self.record(&envelope.id, &r.name, Outcome::Relayed);
                            }
                        }
                    }
                }
                Event::BindRefused { .. } | Event::Aborted(_) | Event::Released => {
                    let failed = !matches!(e, Event::Released) || q.state != QState::Open;
                    q.state = QState::Idle;
                    q.lpi = None;
                    q.in_flight = false;
                    self.outbound.remove(&lpi);
                    if failed && !matches!(e, Event::Released) {
                        mta_reach::reach!("core: open failure retried");
                        self.counters.open_failures += 1;
                        self.retry_or_give_up(c, now);
                    } else {
                        let name = self.cfg.connectors[c].config.name.clone();
                        self.log
                            .log(catalogue::association_released(&self.profile, &name, now));
                    }
                }
                _ => {}
            }
            return;
        }
        match e {
            Event::BindRequest { bind, .. } => self.on_bind(lpi, &bind),
            Event::Transfer(bytes) => self.transferred_in(&lpi.to_string(), &bytes),
            _ => {}
        }
    }

    fn on_bind(&mut self, lpi: Lpi, bind: &[u8]) {
        if self.pop4.association_mut(lpi).is_none() {
            // The caller went away in the same tick (its Close Request was processed too): the
            // bind request is stale, and the block it came on is gone.
            return;
        }
        let from = self
            .driver
            .remote(lpi)
            .map(|r| r.host.clone())
            .unwrap_or_default();
        let verdict = self.judge_bind(&from, bind);
        if let Some(a) = self.pop4.association_mut(lpi) {
            match verdict {
                Ok(result) => a.accept_bind(&result),
                Err(error) => a.refuse_bind(2, error),
            }
        }
    }

    /// An inbound bind from the stack address `from` (an IP address, or a calling DTE's X.121
    /// address): the connector that knows `from` checks the remote MTA's name and password.
    /// `Ok(result)` is our bind result; `Err` the bind error to refuse with.
    fn judge_bind(&mut self, from: &str, bind: &[u8]) -> Result<Vec<u8>, Option<Vec<u8>>> {
        let now = self.now;
        let refusal = || {
            Some(mta_p1::emit_bind_error(
                mta_p1::bind_error::AUTHENTICATION_ERROR,
            ))
        };
        let connectors = self.cfg.connectors.clone();
        let Some(conn) = identify_caller(&self.profile, &mut self.log, now, &connectors, from)
        else {
            return Err(refusal());
        };
        let ok = Bind::parse(bind)
            .is_ok_and(|b| check_bind(&self.profile, &mut self.log, now, conn, &b));
        if !ok {
            return Err(refusal());
        }
        self.log.log(catalogue::association_opened(
            &self.profile,
            &conn.config.remote_mta_name,
            &conn.config.name,
            true,
            now,
        ));
        Ok(Bind::simple(&conn.config.local_mta_name, &conn.config.local_password).emit())
    }

    /// One APDU transferred in on the association `via` (an LPI, or an X.25 circuit): routed,
    /// or discarded with an event when it does not decode.
    fn transferred_in(&mut self, via: &str, bytes: &[u8]) {
        self.counters.received += 1;
        match Apdu::parse(bytes) {
            Ok(apdu) => self.process(apdu, true),
            Err(err) => {
                tracing::warn!(%via, %err, "inbound APDU rejected");
                self.log.log(catalogue::apdu_discarded(
                    &self.profile,
                    &err.to_string(),
                    self.now,
                ));
            }
        }
    }

    fn retry_or_give_up(&mut self, c: usize, now: u64) {
        let cfg = self.cfg.connectors[c].config.clone();
        let q = &mut self.queues[c];
        q.attempts += 1;
        if q.attempts <= cfg.retry_count {
            self.log.log(catalogue::association_open_failed(
                &self.profile,
                &cfg.name,
                q.attempts,
                cfg.retry_count,
                now,
            ));
        }
        let q = &mut self.queues[c];
        if q.attempts > cfg.retry_count {
            q.attempts = 0;
            let items: Vec<Apdu> = q.items.drain(..).collect();
            for apdu in items {
                if let Apdu::Message { envelope, .. } | Apdu::Probe(envelope) = &apdu {
                    let rs = envelope.responsible_recipients();
                    self.non_deliver(
                        envelope,
                        &rs,
                        reason::TRANSFER_FAILURE,
                        diagnostic::MAXIMUM_TIME_EXPIRED,
                    );
                }
            }
        } else {
            // Back-off: the connector's interval times the attempt number.
            q.retry_at = Some(now + u64::from(cfg.retry_interval_s) * 1000 * u64::from(q.attempts));
        }
    }

    fn pump_queues(&mut self) {
        for c in 0..self.queues.len() {
            let now = self.now;
            let q = &self.queues[c];
            match q.state {
                QState::Idle if !q.items.is_empty() && q.retry_at.is_none_or(|t| t <= now) => {
                    self.open(c);
                }
                QState::Open => {
                    let lpi = q.lpi.expect("open queue has an LPI");
                    if q.in_flight {
                        continue;
                    }
                    if let Some(apdu) = q.items.front().cloned() {
                        if let Some(a) = self.pop4.association_mut(lpi) {
                            a.transfer(apdu.emit());
                            self.queues[c].in_flight = true;
                        }
                    } else if let Some(a) = self.pop4.association_mut(lpi) {
                        a.release();
                    }
                }
                _ => {}
            }
        }
    }

    fn open(&mut self, c: usize) {
        let conn = self.cfg.connectors[c].clone();
        let source = self.chooser.choose(&self.profile, &conn.config);
        let remote = Remote {
            host: conn.config.stack_address.clone(),
            port: 102,
            locality: 4 + c as u32,
            source: Some(source),
        };
        let addr = |s: &str| s.as_bytes().to_vec();
        let local = Address {
            tsap: addr(&conn.config.tsap),
            ssap: addr(&conn.config.ssap),
            psap: addr(&conn.config.psap),
        };
        let mut acfg = stack_config(&self.profile, &self.cfg, conn.mode, local);
        acfg.response_timeout_ms = u64::from(conn.config.open_timeout_s) * 1000;
        acfg.local_ref = (c as u16).wrapping_add(1);
        let bind = Bind::simple(&conn.config.local_mta_name, &conn.config.local_password).emit();
        // The core dials: NSI allocates the outbound block and its LPI, POP4 opens on it.
        let Some(lpi) = self.driver.connect(remote) else {
            mta_reach::reach!("core: open failure retried");
            self.counters.open_failures += 1;
            self.retry_or_give_up(c, self.now);
            return;
        };
        self.pop4.open(lpi, acfg, &bind, self.now);
        self.carry();
        let q = &mut self.queues[c];
        q.state = QState::Opening;
        q.lpi = Some(lpi);
        q.retry_at = None;
        self.outbound.insert(lpi, c);
    }
}

/// The MTA answers the associations that arrive over its X.25 interface as it answers those over
/// TCP: the connector whose stack address is the calling DTE's judges the bind, and transfers
/// are routed.
impl crate::x25::AssociationUser for Mta {
    fn bind(&mut self, calling: &str, bind: &[u8], now: u64) -> Result<Vec<u8>, Option<Vec<u8>>> {
        self.now = self.now.max(now);
        self.judge_bind(calling, bind)
    }

    fn transfer(&mut self, apdu: &[u8], now: u64) {
        self.now = self.now.max(now);
        self.transferred_in("X.25", apdu);
    }
}
