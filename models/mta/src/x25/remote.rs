//! A remote MTA over one X.25 call: its [`Dte`] carries an initiator association over the
//! provider's transport service ([`mta_osi::provided`]) that binds, transfers its messages (each
//! an M-bit sequence when larger than a packet) and releases; the call is cleared when the
//! association ends. Sans-IO: packets and the time in, packets out; what is left unconfirmed when
//! the call ends is the caller's to send again on a new call.

use super::{Dte, Packet};
use mta_osi::association::{self, Association, Event, Role};
use mta_osi::session::TData;
use mta_p1::{Apdu, GlobalDomainIdentifier, TraceElement};
use std::collections::VecDeque;

/// `apdu` as an MTA of `domain` transfers it: with that domain's trace element (X.411 12.3.1:
/// every domain a message or probe passes adds one; the called MTA refuses an APDU without any).
pub fn transferred_from(mut apdu: Apdu, domain: &GlobalDomainIdentifier, arrival: &str) -> Apdu {
    let element = TraceElement {
        domain: domain.clone(),
        arrival: arrival.to_string(),
        routing_action: 0,
        attempted: None,
        other: Vec::new(),
    };
    match &mut apdu {
        Apdu::Message { envelope, .. } | Apdu::Probe(envelope) => envelope.trace.push(element),
        Apdu::Report(r) => r.trace.push(element),
    }
    apdu
}

/// How a call's association ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallEnd {
    /// Bound, every message confirmed, released.
    Released,
    /// The bind was refused.
    Refused,
    /// The association was aborted (by either end, or a timer).
    Aborted,
    /// The network cleared the call before the association ended.
    Cleared,
}

/// One call of a remote MTA (see the module doc).
#[derive(Debug, Clone)]
pub struct RemoteMta {
    dte: Dte,
    association: Association,
    /// APDUs not yet confirmed, oldest first.
    unconfirmed: VecDeque<Vec<u8>>,
    end: Option<CallEnd>,
}

impl RemoteMta {
    /// Place the call `dte` makes and bind with `bind` (the encoded MTA-bind argument) at `now`;
    /// once bound, transfer `apdus` in order and release.
    pub fn call(
        dte: Dte,
        config: association::Config,
        bind: &[u8],
        apdus: Vec<Vec<u8>>,
        now: u64,
    ) -> Self {
        let mut association = Association::over_provider(Role::Initiator, config, now);
        association.bind(bind);
        let mut r = RemoteMta {
            dte,
            association,
            unconfirmed: apdus.into(),
            end: None,
        };
        r.pump();
        r
    }

    /// How the call ended, once it has.
    pub fn end(&self) -> Option<CallEnd> {
        self.end
    }

    /// The messages not confirmed, oldest first (to send again on another call).
    pub fn unconfirmed(&self) -> Vec<Vec<u8>> {
        self.unconfirmed.iter().cloned().collect()
    }

    /// Give up on the call (the caller's patience ran out): it is cleared, what is unconfirmed
    /// stays so.
    pub fn hang_up(&mut self) {
        self.dte.clear();
        self.finish(CallEnd::Cleared);
    }

    /// What to send at `now` (the association's timers run first).
    pub fn poll_transmit(&mut self, now: u64) -> Vec<Packet> {
        self.association.tick(now);
        self.pump();
        self.dte.poll_transmit(now)
    }

    /// A packet from the network at `now`.
    pub fn receive(&mut self, p: Packet, now: u64) {
        self.dte.receive(p, now);
        while let Some(tsdu) = self.dte.poll_tsdu() {
            self.association.receive_tsdu(TData::new(&tsdu));
        }
        if self.dte.state() == super::CallState::Cleared {
            self.association.tcp_closed();
            self.pump();
            self.end.get_or_insert(CallEnd::Cleared);
            return;
        }
        self.pump();
    }

    /// Events up, TSDUs down; the call is cleared when the association has ended.
    fn pump(&mut self) {
        while let Some(e) = self.association.poll_event() {
            match e {
                Event::BindAccepted { .. } => {
                    for apdu in &self.unconfirmed {
                        self.association.transfer(apdu.clone());
                    }
                    self.association.release();
                }
                Event::TransferConfirmed => {
                    self.unconfirmed.pop_front();
                }
                Event::BindRefused { .. } => self.finish(CallEnd::Refused),
                Event::Released => self.finish(CallEnd::Released),
                Event::Aborted(_) => self.finish(CallEnd::Aborted),
                _ => {}
            }
        }
        while let Some(tsdu) = self.association.poll_tsdu() {
            self.dte.send_tsdu(&tsdu);
        }
        if self.association.wants_close() && self.dte.all_acknowledged() {
            self.dte.clear();
        }
    }

    fn finish(&mut self, end: CallEnd) {
        self.end.get_or_insert(end);
    }
}
