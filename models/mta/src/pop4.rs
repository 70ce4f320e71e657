//! POP4, the upper-layer protocol machine ("POP4 POP4 UP"): drains the NSI's internal messages with
//! a per-tick budget and runs one OSI association (models/osi) per connection. KB Q811406's
//! crossing starts here (a Connect Indication read late) and its 4283 is logged here.
//!
//! **Its only lower interface is internal messages.** POP4 holds no reference to the TCP driver or
//! its control-block table and reads no NSI state: it takes encoded messages from NSI
//! ([`Pop4::deliver`]), decodes their headers itself, and knows an LPI only from what NSI told it
//! (its associations, keyed by LPI); what it says to NSI it encodes into buffers
//! ([`Pop4::take_outgoing`]). [`crate::link`] carries them; `tests/pop4_by_construction.rs` keeps
//! this file free of any driver import.
//!
//! Messages in: Connect Indication (an association is created and answers with Accept OK, or
//! Refuse Connect when it refuses the CR), Data Indication (one TPDU, its TPKT taken off by NSI:
//! TPKT is read once per connection, by NSI, and COTP once, by the association), Connect Confirm, Disconnect Indication (the association ends; POP4 answers with a Close Request),
//! Error Indication (NSI rejected one of POP4's messages: 4283 for a bad LPI, 1209 for a mismatch).
//! A message for an LPI POP4 has no association for is one that crossed POP4's own close: dropped.
//!
//! POP4's queue is bounded (`pop4_queue_capacity`) and drained `pop4_messages_per_tick` at a time
//! every `pop4_tick_ms`, so under load a Connect Indication waits — the latency behind Q811406
//! (see [`crate::driver`]).

use mta_bufmgr::{BufferHandle, BufferManager, Component};
use mta_build::Profile;
use mta_eventlog::{EventLog, catalogue};
use mta_lpi::{Lpi, MessageRepr, MessageType};
use mta_osi::association::{self, Association, Role};
use std::collections::{BTreeMap, VecDeque};

/// POP4's counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Pop4Counters {
    /// Messages for an LPI POP4 has no association for (crossed its own close; dropped).
    pub unknown_lpi_messages: u64,
    /// Error Indications from NSI (each logged as 4283 or 1209).
    pub error_indications: u64,
    /// Messages from NSI that did not decode (dropped).
    pub malformed: u64,
    /// Messages processed.
    pub processed: u64,
    /// Highest queue depth seen.
    pub max_depth: usize,
}

/// One association and whether POP4 has answered its Connect Indication yet.
#[derive(Debug)]
struct Assoc {
    a: Association,
    /// Accept OK (or, for an outbound association, the connect) sent: from now on POP4 speaks
    /// with Data and Close Request.
    answered: bool,
}

/// POP4.
#[derive(Debug)]
pub struct Pop4 {
    profile: Profile,
    responder: association::Config,
    queue: VecDeque<BufferHandle>,
    /// Messages for NSI not yet given a buffer (kept in order; retried before anything newer).
    unsent: VecDeque<(MessageType, Lpi, Vec<u8>)>,
    /// Messages for NSI, encoded.
    outgoing: VecDeque<BufferHandle>,
    assocs: BTreeMap<Lpi, Assoc>,
    next_tick: u64,
    band: &'static str,
    /// Events of associations already removed (closed), not yet returned.
    finished: Vec<(Lpi, association::Event)>,
    /// Counters.
    pub counters: Pop4Counters,
}

impl Pop4 {
    /// POP4 for `profile`; inbound associations use `responder` as their configuration.
    pub fn new(profile: &Profile, responder: association::Config) -> Self {
        Pop4 {
            profile: *profile,
            responder,
            queue: VecDeque::new(),
            unsent: VecDeque::new(),
            outgoing: VecDeque::new(),
            assocs: BTreeMap::new(),
            next_tick: 0,
            band: "empty",
            finished: Vec::new(),
            counters: Pop4Counters::default(),
        }
    }

    /// Back to the state [`Pop4::new`] gives for the same profile and responder configuration (no
    /// queue, no association, counters zero), keeping allocations.
    pub fn reset(&mut self) {
        self.queue.clear();
        self.unsent.clear();
        self.outgoing.clear();
        self.assocs.clear();
        self.next_tick = 0;
        self.band = "empty";
        self.finished.clear();
        self.counters = Pop4Counters::default();
    }

    /// Drop every queued and outgoing message, releasing its buffer (a harness at its end).
    pub fn discard_messages(&mut self, bm: &mut BufferManager) {
        for h in self.queue.drain(..).chain(self.outgoing.drain(..)) {
            let _ = bm.release(h);
        }
        self.unsent.clear();
    }

    /// One line per association: LPI and phase.
    pub fn describe(&self) -> Vec<String> {
        self.assocs
            .iter()
            .map(|(lpi, s)| format!("LPI {lpi} {:?}", s.a.phase()))
            .collect()
    }

    /// Messages waiting in POP4's queue.
    pub fn depth(&self) -> usize {
        self.queue.len()
    }
    /// Whether the queue takes another message.
    pub fn has_room(&self) -> bool {
        self.queue.len() < self.profile.pop4_queue_capacity as usize
    }
    /// Messages for NSI not yet carried (encoded or waiting for a buffer).
    pub fn outgoing_len(&self) -> usize {
        self.outgoing.len() + self.unsent.len()
    }
    /// The earliest time a tick may act: `None` while messages wait for NSI; else the next
    /// scheduled pull when messages are queued, or the associations' earliest timer (`u64::MAX`
    /// when none runs). Ticks before it only advance the associations' clocks and POP4's own
    /// schedule.
    pub fn quiet_until(&self) -> Option<u64> {
        if self.outgoing_len() > 0 || !self.finished.is_empty() {
            return None;
        }
        // Queued messages wait for POP4's next scheduled pull.
        let pull = if self.queue.is_empty() {
            u64::MAX
        } else {
            self.next_tick
        };
        Some(
            self.assocs
                .values()
                .filter_map(|s| s.a.deadline())
                .fold(pull, u64::min),
        )
    }
    /// When POP4 next pulls from its queue (or, with the queue empty, moves its schedule on): a
    /// tick there changes POP4's state even when it acts on nothing.
    pub fn next_pull(&self) -> u64 {
        self.next_tick
    }
    /// Live associations.
    pub fn associations(&self) -> usize {
        self.assocs.len()
    }
    /// An association, to look at.
    pub fn association(&self, lpi: Lpi) -> Option<&Association> {
        self.assocs.get(&lpi).map(|s| &s.a)
    }
    /// An association, for the MTA core to act on (accept a bind, transfer, release).
    pub fn association_mut(&mut self, lpi: Lpi) -> Option<&mut Association> {
        self.assocs.get_mut(&lpi).map(|s| &mut s.a)
    }
    /// LPIs with associations.
    pub fn lpis(&self) -> Vec<Lpi> {
        self.assocs.keys().copied().collect()
    }

    /// An encoded message from NSI. The caller checks [`Pop4::has_room`] first (NSI holds what
    /// does not fit).
    pub fn deliver(&mut self, h: BufferHandle) {
        debug_assert!(self.has_room(), "POP4's queue is bounded");
        self.queue.push_back(h);
        if !self.has_room() {
            mta_reach::reach!("pop4: queue at capacity");
        }
        self.counters.max_depth = self.counters.max_depth.max(self.queue.len());
    }

    /// The next encoded message for NSI.
    pub fn take_outgoing(&mut self, bm: &mut BufferManager) -> Option<BufferHandle> {
        self.encode_unsent(bm);
        self.outgoing.pop_front()
    }

    fn encode_unsent(&mut self, bm: &mut BufferManager) {
        while let Some((t, lpi, data)) = self.unsent.front() {
            match mta_lpi::encode_into_buffer(bm, Component::Pop4, *t, *lpi, false, data) {
                Ok(h) => {
                    self.outgoing.push_back(h);
                    self.unsent.pop_front();
                }
                Err(_) => break, // no buffers now: retried on the next call, in order
            }
        }
    }

    fn say(&mut self, t: MessageType, lpi: Lpi, data: Vec<u8>) {
        self.unsent.push_back((t, lpi, data));
    }

    /// Open an outbound association on `lpi`, a block NSI has allocated and is connecting.
    pub fn open(&mut self, lpi: Lpi, config: association::Config, bind: &[u8], now: u64) {
        let mut a = Association::new(Role::Initiator, config);
        a.tick(now); // its timers count from now, not from zero
        a.bind(bind);
        self.assocs.insert(lpi, Assoc { a, answered: true });
        self.flush(lpi);
    }

    /// Turn what an association wants to send into messages for NSI; end it when it is done.
    pub fn flush(&mut self, lpi: Lpi) {
        let Some(s) = self.assocs.get_mut(&lpi) else {
            return;
        };
        let bytes = s.a.transmit();
        let closing = s.a.wants_close();
        if !s.answered {
            if closing {
                self.say(MessageType::RefuseConnect, lpi, bytes);
                self.end(lpi);
            } else if !bytes.is_empty() {
                s.answered = true;
                self.say(MessageType::AcceptOk, lpi, bytes);
            }
            return;
        }
        if !bytes.is_empty() {
            self.say(MessageType::DataRequest, lpi, bytes);
        }
        if closing {
            self.say(MessageType::CloseRequest, lpi, Vec::new());
            self.end(lpi);
        }
    }

    /// Forget an association, keeping its last events for the core.
    fn end(&mut self, lpi: Lpi) {
        if let Some(mut s) = self.assocs.remove(&lpi) {
            self.finished
                .extend(std::iter::from_fn(|| s.a.poll_event()).map(|e| (lpi, e)));
        }
    }

    /// One scheduler step at `now`: process up to the per-tick budget of queued messages.
    /// Returns the association events for the MTA core.
    pub fn tick(
        &mut self,
        bm: &mut BufferManager,
        log: &mut EventLog,
        now: u64,
    ) -> Vec<(Lpi, association::Event)> {
        let band = backlog_band(self.queue.len(), self.profile.pop4_queue_capacity as usize);
        mta_reach::transition("pop4", self.band, "tick: pull from the NSI", band);
        for s in self.assocs.values_mut() {
            s.a.tick(now);
        }
        if now >= self.next_tick {
            self.next_tick = now + self.profile.pop4_tick_ms;
            for _ in 0..self.profile.pop4_messages_per_tick {
                let Some(h) = self.queue.pop_front() else {
                    break;
                };
                self.process(bm, log, h, now);
            }
        }
        self.band = backlog_band(self.queue.len(), self.profile.pop4_queue_capacity as usize);
        self.collect()
    }

    fn process(&mut self, bm: &mut BufferManager, log: &mut EventLog, h: BufferHandle, now: u64) {
        self.counters.processed += 1;
        let message = bm.to_vec(h);
        let _ = bm.release(h);
        let Ok(bytes) = message else { return };
        let Ok(r) = MessageRepr::parse_header(&bytes, bytes.len()) else {
            tracing::warn!("POP4: malformed internal message dropped");
            self.counters.malformed += 1;
            return;
        };
        let (lpi, data) = (r.lpi, &bytes[mta_lpi::HEADER_LEN..]);
        match r.message_type {
            MessageType::ConnectIndication if !self.assocs.contains_key(&lpi) => {
                let mut a = Association::new(Role::Responder, self.responder.clone());
                a.tick(now);
                a.receive_tpdu(data);
                self.assocs.insert(lpi, Assoc { a, answered: false });
                self.flush(lpi);
            }
            MessageType::ErrorIndication => {
                self.counters.error_indications += 1;
                let code = data
                    .first_chunk::<4>()
                    .map_or(0, |c| u32::from_le_bytes(*c));
                log.log(if code == catalogue::ERROR_LPI_MISMATCH {
                    catalogue::incorrect_lpi(&self.profile, lpi.parts(), lpi.index, now)
                } else {
                    catalogue::bad_lpi(&self.profile, lpi.parts(), now)
                });
            }
            t @ (MessageType::DataIndication
            | MessageType::ConnectConfirm
            | MessageType::DisconnectIndication) => {
                let Some(s) = self.assocs.get_mut(&lpi) else {
                    mta_reach::reach!("pop4: message for an LPI POP4 does not know");
                    self.counters.unknown_lpi_messages += 1;
                    return;
                };
                match t {
                    MessageType::DisconnectIndication => {
                        s.a.tcp_closed();
                        self.end(lpi);
                        self.say(MessageType::CloseRequest, lpi, Vec::new());
                    }
                    // The connection is up: the association's CR went out with it (its response
                    // timer restarts), the CC comes as data.
                    MessageType::ConnectConfirm => {
                        s.a.connection_up();
                        self.flush(lpi);
                    }
                    _ => {
                        s.a.receive_tpdu(data);
                        self.flush(lpi);
                    }
                }
            }
            other => {
                tracing::warn!(%lpi, ?other, "POP4: unexpected internal message");
                self.counters.malformed += 1;
            }
        }
    }

    fn collect(&mut self) -> Vec<(Lpi, association::Event)> {
        let mut events = std::mem::take(&mut self.finished);
        for lpi in self.lpis() {
            if let Some(s) = self.assocs.get_mut(&lpi) {
                events.extend(std::iter::from_fn(|| s.a.poll_event()).map(|e| (lpi, e)));
            }
            self.flush(lpi);
        }
        events.append(&mut self.finished);
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
