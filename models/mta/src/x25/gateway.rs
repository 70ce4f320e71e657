//! The MTA's X.25 interface as a whole (KB Q225157): the third-party transport's shared receive
//! queue, the adapter above it and the cadence that drives them — the transport is serviced every
//! `service_every` ticks (more than 1 while the host is overloaded), completed buffers go up
//! through the adapter into each circuit's association (a fault in the session input path is
//! caught and recorded with its span stack, and clears the circuit), the association's binds and
//! transfers go to its user (the MTA), every open circuit is acknowledged with what the transport
//! has accepted in sequence (RR, go-back-N), and what the adapter sends goes out. Sans-IO:
//! packets and ticks in, packets (each naming its circuit) out.

use super::{AdapterOutcome, Packet, WinsockX25, X25Adapter};
use crate::fault::Fault;
use mta_build::Profile;
use mta_eventlog::EventLog;
use mta_osi::association::{self, Event};
use std::collections::BTreeSet;

/// What answers the associations that arrive over X.25: the MTA (its connectors judge the binds,
/// its routing takes the transfers), or [`AcceptEveryBind`] where no MTA is modelled.
pub trait AssociationUser {
    /// A bind on a call from the DTE at `calling` (X.121 digits): `Ok(result)` accepts with
    /// that MTA-bind result, `Err(error)` refuses (with the encoded bind error, if any).
    fn bind(&mut self, calling: &str, bind: &[u8], now: u64) -> Result<Vec<u8>, Option<Vec<u8>>>;
    /// One transferred APDU (its association has confirmed it).
    fn transfer(&mut self, apdu: &[u8], now: u64);
}

/// The user of the X.25 harness and tests: accepts every bind and counts the transfers.
#[derive(Debug, Default, Clone, Copy)]
pub struct AcceptEveryBind {
    /// APDUs transferred.
    pub transfers: u64,
}

impl AssociationUser for AcceptEveryBind {
    fn bind(&mut self, _: &str, _: &[u8], _: u64) -> Result<Vec<u8>, Option<Vec<u8>>> {
        Ok(Vec::new())
    }

    fn transfer(&mut self, _: &[u8], _: u64) {
        self.transfers += 1;
    }
}

/// A machine's X.25 interface (see the module doc).
#[derive(Debug)]
pub struct Gateway {
    /// The transport (shared receive queue, deferred service).
    pub transport: WinsockX25,
    /// The adapter (one session per circuit).
    pub adapter: X25Adapter,
    /// Event log of the X.25 side (9331 when SP3+ drops a malformed buffer).
    pub log: EventLog,
    /// Circuits with a connection to the network (one per XOT connection).
    circuits: BTreeSet<u16>,
    next_lcn: u16,
    /// The transport is serviced every this many ticks (1 normally; more while the host is
    /// overloaded).
    pub service_every: u32,
    ticks: u32,
    /// Faults in the session input path, with the circuit they happened on.
    pub faults: Vec<(u16, Fault)>,
    /// Binds the gateway's user accepted.
    pub accepted: u64,
    /// APDUs transferred in over X.25.
    pub transfers: u64,
    /// Buffers the adapter dropped (5.5 SP3+ validation).
    pub dropped: u64,
    /// Sum of the transports' malformed-buffer counters across restarts (Q225157's trigger).
    earlier_malformed: u64,
}

impl Gateway {
    /// The X.25 interface of a machine named `machine` of `profile`'s build; `responder`
    /// configures the associations it answers.
    pub fn new(profile: &Profile, machine: &str, responder: association::Config) -> Self {
        Gateway {
            transport: WinsockX25::new(profile),
            adapter: X25Adapter::new(profile, responder),
            log: EventLog::new(machine, profile.event_era, 0),
            circuits: BTreeSet::new(),
            next_lcn: 1,
            service_every: 1,
            ticks: 0,
            faults: Vec::new(),
            accepted: 0,
            transfers: 0,
            dropped: 0,
            earlier_malformed: 0,
        }
    }

    /// A crash of the host: every circuit is gone; the faults and counters survive (they are
    /// the oracle's memory, not the machine's).
    pub fn restart(&mut self, profile: &Profile, machine: &str) {
        let responder = self.adapter.responder().clone();
        let earlier = self.malformed();
        let faults = std::mem::take(&mut self.faults);
        let (accepted, transfers, dropped) = (self.accepted, self.transfers, self.dropped);
        let service_every = self.service_every;
        *self = Gateway::new(profile, machine, responder);
        self.earlier_malformed = earlier;
        self.faults = faults;
        self.accepted = accepted;
        self.transfers = transfers;
        self.dropped = dropped;
        self.service_every = service_every;
    }

    /// Malformed buffers handed up so far (all lives).
    pub fn malformed(&self) -> u64 {
        self.earlier_malformed + self.transport.counters.malformed_buffers
    }

    /// Open circuits.
    pub fn circuits(&self) -> usize {
        self.circuits.len()
    }

    /// Whether `lcn` is open.
    pub fn is_open(&self, lcn: u16) -> bool {
        self.circuits.contains(&lcn)
    }

    /// A new connection from the network: the circuit number it gets (its packets are relabelled
    /// to it, so each connection has its own channel on the shared transport).
    pub fn open_circuit(&mut self) -> u16 {
        let lcn = self.next_lcn;
        self.next_lcn = self.next_lcn % 4095 + 1;
        self.circuits.insert(lcn);
        lcn
    }

    /// A call on `lcn` from `calling` accepted before the scenario starts (no call request
    /// travels).
    pub fn accept_call(&mut self, lcn: u16, calling: &str) {
        self.circuits.insert(lcn);
        self.adapter.call(lcn, calling, 0);
    }

    /// A packet from circuit `lcn`'s connection (interrupt level: into the shared queue).
    pub fn arrive(&mut self, lcn: u16, p: Packet) {
        self.transport.arrive(p.with_lcn(lcn));
    }

    /// Circuit `lcn`'s connection is gone: the transport sees a clear.
    pub fn connection_lost(&mut self, lcn: u16) {
        self.transport.arrive(Packet::Clear { lcn, cause: 0 });
    }

    /// One tick at `now`: service the transport when due, hand buffers up, let `user` answer the
    /// associations, acknowledge every open circuit, and return what to send (each packet names
    /// its circuit; a clear closes it).
    pub fn tick(&mut self, now: u64, user: &mut impl AssociationUser) -> Vec<Packet> {
        self.ticks += 1;
        if !self.ticks.is_multiple_of(self.service_every.max(1)) {
            return Vec::new();
        }
        let (buffers, control) = self.transport.service();
        for p in control {
            match p {
                Packet::Call { lcn, calling, .. } => self.adapter.call(lcn, &calling, now),
                Packet::Clear { lcn, .. } => {
                    self.adapter.cleared(lcn);
                    self.circuits.remove(&lcn);
                }
                _ => {}
            }
        }
        for b in buffers {
            if let Some(events) = self.hand_up(now, &b) {
                self.answer(b.lcn, events, now, user);
            }
        }
        for (lcn, e) in self.adapter.tick(now) {
            self.answer(lcn, vec![e], now, user);
        }
        self.adapter.flush();
        let mut out: Vec<Packet> = self
            .circuits
            .iter()
            .map(|&lcn| Packet::Rr {
                lcn,
                pr: (self.transport.accepted(lcn) & 7) as u8,
            })
            .collect();
        for p in std::mem::take(&mut self.adapter.to_network) {
            if !self.circuits.contains(&p.lcn()) {
                continue;
            }
            if let Packet::Clear { lcn, .. } = p {
                self.circuits.remove(&lcn);
            }
            out.push(p);
        }
        out
    }

    /// One buffer up through the adapter into the circuit's association: the events it reported,
    /// or `None` when the buffer was dropped or faulted.
    fn hand_up(&mut self, now: u64, b: &super::TransportBuffer) -> Option<Vec<Event>> {
        // The fault's layer stack is read from tracing spans: record them whatever the process's
        // subscriber is (the CLI's filters spans out by default).
        let (adapter, log) = (&mut self.adapter, &mut self.log);
        let outcome = tracing::dispatcher::with_default(&crate::fault::span_recorder(), || {
            crate::fault::catch_fault(|| adapter.deliver(log, now, b))
        });
        match outcome {
            Err(f) => {
                self.faults.push((b.lcn, f));
                // The association faulted mid-input: forget it untouched, clear the call.
                self.adapter.forget(b.lcn);
                self.adapter.to_network.push(Packet::Clear {
                    lcn: b.lcn,
                    cause: 0,
                });
                None
            }
            Ok(AdapterOutcome::Delivered(events)) => Some(events),
            Ok(AdapterOutcome::Dropped { .. }) => {
                self.dropped += 1;
                None
            }
        }
    }

    /// The user answers what circuit `lcn`'s association reported.
    fn answer(&mut self, lcn: u16, events: Vec<Event>, now: u64, user: &mut impl AssociationUser) {
        for e in events {
            match e {
                Event::BindRequest { bind, .. } => {
                    let calling = self.adapter.calling(lcn).unwrap_or_default().to_string();
                    let verdict = user.bind(&calling, &bind, now);
                    let Some(a) = self.adapter.association_mut(lcn) else {
                        continue;
                    };
                    match verdict {
                        Ok(result) => {
                            a.accept_bind(&result);
                            self.accepted += 1;
                        }
                        Err(error) => a.refuse_bind(2, error),
                    }
                }
                Event::Transfer(apdu) => {
                    self.transfers += 1;
                    user.transfer(&apdu, now);
                }
                _ => {}
            }
        }
    }
}
