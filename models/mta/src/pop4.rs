//! POP4, the upper-layer protocol machine ("POP4 POP4 UP"): drains the NSI's internal messages with
//! a per-tick budget, resolves their LPIs, and runs one OSI association (models/osi) per
//! connection. KB Q811406 lives on its Close Request error path.
//!
//! **Q811406.** POP4's queue is bounded (`pop4_queue_capacity`) and drained `pop4_messages_per_tick`
//! at a time every `pop4_tick_ms`, so under load a Connect Indication waits. When POP4 finally reads
//! it and the NSI has already marked the block closing (the caller's connect timeout expired and it
//! hung up), POP4 drops the indication — there is nobody to accept. The NSI's Close Request for that
//! connection then names an LPI POP4 has no association for: 4258 "Message received at NSI" and
//! warning 4283 "Bad LPIs in message … Error code = 8464". Every build takes that path (KB Q319936
//! shows it on 5.5 SP4); builds other than 2000 SP3 also release the control block on it
//! (`pop4_bad_lpi_releases_control_block`), 2000 SP3 does not, so the NSI's block stays in
//! "closing" forever and, once the inbound blocks are gone, every new connection is refused.

use crate::driver::{CbState, TcpDriver};
use mta_bufmgr::BufferManager;
use mta_build::Profile;
use mta_eventlog::{EventLog, catalogue};
use mta_lpi::{Interface, Lpi, MessageType};
use mta_osi::association::{self, Association, Role};
use std::collections::{BTreeMap, VecDeque};

/// POP4's trigger counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Pop4Counters {
    /// Q811406 trigger: a Close Request for an LPI POP4 has no association for.
    pub close_for_unknown_lpi: u64,
    /// Close Requests for a block that was already released (a normal crossing; not logged).
    pub stale_close_requests: u64,
    /// Connect Indications dropped because the caller had already gone.
    pub late_connect_indications: u64,
    /// Messages processed.
    pub processed: u64,
    /// Highest queue depth seen.
    pub max_depth: usize,
}

/// POP4.
#[derive(Debug)]
pub struct Pop4 {
    profile: Profile,
    responder: association::Config,
    queue: VecDeque<mta_bufmgr::BufferHandle>,
    assocs: BTreeMap<Lpi, Association>,
    next_tick: u64,
    /// Events of associations already removed (closed), not yet returned.
    finished: Vec<(Lpi, association::Event)>,
    /// Trigger counters.
    pub counters: Pop4Counters,
}

impl Pop4 {
    /// POP4 for `profile`; inbound associations use `responder` as their configuration.
    pub fn new(profile: &Profile, responder: association::Config) -> Self {
        Pop4 {
            profile: *profile,
            responder,
            queue: VecDeque::new(),
            assocs: BTreeMap::new(),
            next_tick: 0,
            finished: Vec::new(),
            counters: Pop4Counters::default(),
        }
    }

    /// Back to the state [`Pop4::new`] gives for the same profile and responder configuration (no
    /// queue, no association, counters zero), keeping allocations.
    pub fn reset(&mut self) {
        self.queue.clear();
        self.assocs.clear();
        self.next_tick = 0;
        self.finished.clear();
        self.counters = Pop4Counters::default();
    }

    /// One line per association: LPI and phase.
    pub fn describe(&self) -> Vec<String> {
        self.assocs
            .iter()
            .map(|(lpi, a)| format!("LPI {lpi} {:?}", a.phase()))
            .collect()
    }

    /// Messages waiting in POP4's queue.
    pub fn depth(&self) -> usize {
        self.queue.len()
    }
    /// Live associations.
    pub fn associations(&self) -> usize {
        self.assocs.len()
    }
    /// An association, for the MTA core to act on (accept a bind, transfer, release).
    pub fn association_mut(&mut self, lpi: Lpi) -> Option<&mut Association> {
        self.assocs.get_mut(&lpi)
    }
    /// LPIs with associations.
    pub fn lpis(&self) -> Vec<Lpi> {
        self.assocs.keys().copied().collect()
    }

    /// Open an outbound association (the MTA core's connector asked for one).
    pub fn open(
        &mut self,
        bm: &mut BufferManager,
        driver: &mut TcpDriver,
        remote: crate::driver::Remote,
        config: association::Config,
        bind: &[u8],
        now: u64,
    ) -> Option<Lpi> {
        let lpi = driver.connect(remote)?;
        let mut a = Association::new(Role::Initiator, config);
        a.tick(now); // its timers count from now, not from zero
        a.bind(bind);
        self.assocs.insert(lpi, a);
        self.flush(bm, driver, lpi);
        Some(lpi)
    }

    /// Push what an association wants to send into the driver; release it when it is done.
    pub fn flush(&mut self, bm: &mut BufferManager, driver: &mut TcpDriver, lpi: Lpi) {
        let Some(a) = self.assocs.get_mut(&lpi) else {
            return;
        };
        let bytes = a.transmit();
        if !bytes.is_empty() && driver.send(bm, lpi, &bytes).is_err() {
            // Busy or gone: the association's timers will abort it.
            tracing::debug!(%lpi, "driver refused a TSDU");
        }
        if a.wants_close() {
            self.finished
                .extend(std::iter::from_fn(|| a.poll_event()).map(|e| (lpi, e)));
            self.assocs.remove(&lpi);
            driver.release(bm, lpi);
        }
    }

    /// One scheduler step at `now`: pull from the NSI and process up to the per-tick budget.
    /// Returns the association events for the MTA core.
    pub fn tick(
        &mut self,
        bm: &mut BufferManager,
        driver: &mut TcpDriver,
        log: &mut EventLog,
        now: u64,
    ) -> Vec<(Lpi, association::Event)> {
        let cap = self.profile.pop4_queue_capacity as usize;
        let from = backlog_band(self.queue.len(), cap);
        while self.queue.len() < cap {
            match driver.pop_for_pop4() {
                Some(h) => self.queue.push_back(h),
                None => break,
            }
        }
        if self.queue.len() == cap {
            mta_reach::reach!("pop4: queue at capacity");
        }
        mta_reach::transition(
            "pop4",
            from,
            "tick: pull from the NSI",
            backlog_band(self.queue.len(), cap),
        );
        self.counters.max_depth = self.counters.max_depth.max(self.queue.len());
        let mut events = Vec::new();
        for a in self.assocs.values_mut() {
            a.tick(now);
        }
        if now < self.next_tick {
            return self.collect(bm, driver, events);
        }
        self.next_tick = now + self.profile.pop4_tick_ms;
        for _ in 0..self.profile.pop4_messages_per_tick {
            let Some(h) = self.queue.pop_front() else {
                break;
            };
            self.counters.processed += 1;
            let decoded = mta_lpi::decode_buffer(bm, h, driver.table(), Interface::TcpIp);
            let data = bm
                .to_vec(h)
                .map(|v| v.get(mta_lpi::HEADER_LEN..).unwrap_or_default().to_vec())
                .unwrap_or_default();
            let _ = bm.release(h);
            let Ok(d) = decoded else {
                tracing::warn!("POP4: malformed internal message dropped");
                continue;
            };
            let lpi = d.repr.lpi;
            match d.repr.message_type {
                MessageType::ConnectIndication => {
                    let caller_present = !d.status.is_bad()
                        && !matches!(driver.state(lpi), Some(CbState::Closing) | None);
                    if caller_present {
                        let mut a = Association::new(Role::Responder, self.responder.clone());
                        a.tick(now);
                        a.receive(&data);
                        self.assocs.insert(lpi, a);
                        self.flush(bm, driver, lpi);
                    } else {
                        mta_reach::reach!("pop4: late Connect Indication");
                        self.counters.late_connect_indications += 1;
                        for e in d.report_events(&self.profile, now) {
                            log.log(e);
                        }
                    }
                }
                MessageType::DataIndication | MessageType::ConnectConfirm => {
                    if let Some(a) = self.assocs.get_mut(&lpi) {
                        a.receive(&data);
                        self.flush(bm, driver, lpi);
                    } else {
                        self.bad_lpi(log, lpi, d.repr.message_type, now);
                    }
                }
                MessageType::CloseRequest => {
                    if let Some(mut a) = self.assocs.remove(&lpi) {
                        a.tcp_closed();
                        events.extend(std::iter::from_fn(|| a.poll_event()).map(|e| (lpi, e)));
                        driver.release(bm, lpi);
                    } else if driver.state(lpi).is_none() {
                        // The block is already gone (POP4 released it after a release or an
                        // abort, and the socket's close crossed with that): nothing to do.
                        mta_reach::reach!("pop4: stale Close Request");
                        self.counters.stale_close_requests += 1;
                    } else {
                        mta_reach::reach!("pop4: Close Request for an LPI POP4 does not know");
                        self.counters.close_for_unknown_lpi += 1;
                        self.bad_lpi(log, lpi, MessageType::CloseRequest, now);
                        if self.profile.pop4_bad_lpi_releases_control_block {
                            driver.release(bm, lpi);
                        }
                    }
                }
                other => {
                    tracing::warn!(%lpi, ?other, "POP4: unexpected internal message");
                }
            }
        }
        self.collect(bm, driver, events)
    }

    fn bad_lpi(&self, log: &mut EventLog, lpi: Lpi, t: MessageType, now: u64) {
        log.log(catalogue::message_received_at_nsi(
            &self.profile,
            lpi.index,
            lpi.parts(),
            t.name(),
            now,
        ));
        log.log(catalogue::bad_lpi(&self.profile, lpi.parts(), now));
    }

    fn collect(
        &mut self,
        bm: &mut BufferManager,
        driver: &mut TcpDriver,
        mut events: Vec<(Lpi, association::Event)>,
    ) -> Vec<(Lpi, association::Event)> {
        events.append(&mut self.finished);
        for lpi in self.lpis() {
            if let Some(a) = self.assocs.get_mut(&lpi) {
                events.extend(std::iter::from_fn(|| a.poll_event()).map(|e| (lpi, e)));
            }
            self.flush(bm, driver, lpi);
        }
        events
    }
}
/// POP4's backlog band, the state of its queue for state coverage: empty, below half, half or
/// more, at capacity.
fn backlog_band(depth: usize, capacity: usize) -> &'static str {
    if depth == 0 {
        "empty"
    } else if depth >= capacity {
        "at capacity"
    } else if depth * 2 < capacity {
        "below half"
    } else {
        "half or more"
    }
}
