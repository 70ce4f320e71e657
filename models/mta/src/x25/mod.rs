//! X.25 as a second lower layer (KB Q225157): the packet codec (X.25 data, call, clear, RR/RNR
//! packets inside RFC 1613 XOT framing), the third-party Winsock X.25 transport with its real-world
//! receive bug, and the MTA's X.25 adapter that hands T-DATA up to the session input path.
//!
//! **The third-party transport (5.5's "Cirel Winsock" model).** It provides the class-0 transport
//! service over X.25: a TSDU is a run of data packets closed by M = 0. Arriving packets go into
//! one receive queue shared by all circuits (`x25_receive_queue_packets`); its deferred service
//! appends in-sequence packets to the circuit's TSDU buffer, discards out-of-sequence ones and
//! acknowledges what it took (go-back-N: the sender resends from the first unacknowledged packet).
//! The bug: it accounts a packet's length into the buffer header's declared length when the
//! packet *arrives* — before it knows whether the queue has room or whether the packet is a
//! retransmission. Each circuit respects its window (`x25_window`), so the queue only overflows
//! when more circuits are active than it has room for windows: heavy traffic. The dropped packets
//! come again and are counted again, and the TSDU goes up intact but with a header claiming more
//! data than its chain holds.
//!
//! **The adapter.** 5.5 – 5.5 SP2 pass the buffer up as it is (`TData { data, declared_len }`);
//! the session's connect handling takes the connect data up to the declared end and faults
//! (KB Q225157's `oppsin → oppsitps → oppssprc → oppsstdt → oppsscnc`). From 5.5 SP3 the adapter
//! adds one check (`x25_adapter_validates_buffers`): a buffer whose declared length differs from
//! its data is dropped, logged (9331, ours) and the circuit cleared.

use mta_build::Profile;
use mta_eventlog::{EventLog, catalogue};
use mta_osi::association::{self, Association, Event, Role};
use mta_osi::session::TData;
use std::collections::{BTreeMap, VecDeque};

pub mod dte;
pub mod gateway;
pub mod remote;
pub mod xot;

pub use dte::{CallState, Dte};
pub use gateway::{AcceptEveryBind, AssociationUser, Gateway};
pub use remote::{CallEnd, RemoteMta, transferred_from};

/// An MTA-bind argument of `len` octets that carries nothing but its length (an OCTET STRING):
/// the harness's and tests' stand-in for a bind, so a CONNECT spans as many packets as they ask.
pub fn opaque_bind(len: usize) -> Vec<u8> {
    let mut e = mta_ber::Encoder::new();
    e.primitive(mta_ber::Tag::universal(4), &vec![0x5a; len]);
    e.finish()
}

/// The CONNECT TSDU of an association over X.25 whose bind is [`opaque_bind`]`(len)`: what a
/// remote MTA's first TSDU on a call looks like, for the harness and tests.
pub fn connect_tsdu(config: association::Config, len: usize) -> Vec<u8> {
    let mut a = Association::over_provider(Role::Initiator, config, 0);
    a.bind(&opaque_bind(len));
    a.poll_tsdu()
        .expect("an initiator over a provider sends its CN at once")
}

/// X.25 packet types (ITU-T X.25 table 5-1), modulo 8.
pub mod packet_type {
    /// Call request / incoming call.
    pub const CALL_REQUEST: u8 = 0x0b;
    /// Call accepted / call connected.
    pub const CALL_ACCEPTED: u8 = 0x0f;
    /// Clear request / indication.
    pub const CLEAR_REQUEST: u8 = 0x13;
    /// Clear confirmation.
    pub const CLEAR_CONFIRM: u8 = 0x17;
}

/// A decoded X.25 packet (the kinds the model uses).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Packet {
    /// Data packet: P(S), P(R), more-data bit, user data.
    Data {
        /// Logical channel.
        lcn: u16,
        /// Send sequence number (mod 8).
        ps: u8,
        /// Receive sequence number (mod 8).
        pr: u8,
        /// M bit.
        more: bool,
        /// User data.
        data: Vec<u8>,
    },
    /// Receive ready.
    Rr {
        /// Logical channel.
        lcn: u16,
        /// Receive sequence number.
        pr: u8,
    },
    /// Call request / incoming call with the DTE addresses (X.121 digits; facilities and call
    /// user data: none modelled).
    Call {
        /// Logical channel.
        lcn: u16,
        /// Called DTE address (at most 15 digits).
        called: String,
        /// Calling DTE address (at most 15 digits).
        calling: String,
    },
    /// Call accepted.
    CallAccepted {
        /// Logical channel.
        lcn: u16,
    },
    /// Clear request with cause.
    Clear {
        /// Logical channel.
        lcn: u16,
        /// Clearing cause.
        cause: u8,
    },
}

/// Why a packet did not decode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("X.25: {0}")]
pub struct PacketError(pub &'static str);

impl Packet {
    /// Logical channel number.
    pub fn lcn(&self) -> u16 {
        match self {
            Packet::Data { lcn, .. }
            | Packet::Rr { lcn, .. }
            | Packet::Call { lcn, .. }
            | Packet::CallAccepted { lcn }
            | Packet::Clear { lcn, .. } => *lcn,
        }
    }

    /// Decode one X.25 packet (no XOT header).
    pub fn parse(b: &[u8]) -> Result<Packet, PacketError> {
        if b.len() < 3 {
            return Err(PacketError("packet shorter than 3 octets"));
        }
        if b[0] >> 4 != 0x1 {
            return Err(PacketError("GFI is not modulo-8 (0001)"));
        }
        let lcn = u16::from(b[0] & 0x0f) << 8 | u16::from(b[1]);
        let t = b[2];
        if t & 1 == 0 {
            return Ok(Packet::Data {
                lcn,
                pr: t >> 5,
                more: t & 0x10 != 0,
                ps: (t >> 1) & 7,
                data: b[3..].to_vec(),
            });
        }
        match t {
            packet_type::CALL_REQUEST => parse_call(lcn, &b[3..]),
            packet_type::CALL_ACCEPTED => Ok(Packet::CallAccepted { lcn }),
            packet_type::CLEAR_REQUEST => Ok(Packet::Clear {
                lcn,
                cause: b.get(3).copied().unwrap_or(0),
            }),
            _ if t & 0x1f == 0x01 => Ok(Packet::Rr { lcn, pr: t >> 5 }),
            _ => Err(PacketError("packet type not modelled")),
        }
    }

    /// Encode one X.25 packet (no XOT header).
    pub fn emit(&self) -> Vec<u8> {
        let lcn = self.lcn();
        let mut v = vec![0x10 | ((lcn >> 8) as u8 & 0x0f), lcn as u8];
        match self {
            Packet::Data {
                ps, pr, more, data, ..
            } => {
                v.push((pr & 7) << 5 | u8::from(*more) << 4 | (ps & 7) << 1);
                v.extend_from_slice(data);
            }
            Packet::Rr { pr, .. } => v.push((pr & 7) << 5 | 0x01),
            Packet::Call {
                called, calling, ..
            } => {
                v.push(packet_type::CALL_REQUEST);
                emit_addresses(&mut v, called, calling);
                v.push(0); // facility length: no facilities
            }
            Packet::CallAccepted { .. } => v.push(packet_type::CALL_ACCEPTED),
            Packet::Clear { cause, .. } => {
                v.push(packet_type::CLEAR_REQUEST);
                v.push(*cause);
            }
        }
        v
    }

    /// The same packet on logical channel `lcn` (a gateway gives each XOT connection its own
    /// channel on the shared transport).
    #[must_use]
    pub fn with_lcn(self, lcn: u16) -> Packet {
        match self {
            Packet::Data {
                ps, pr, more, data, ..
            } => Packet::Data {
                lcn,
                ps,
                pr,
                more,
                data,
            },
            Packet::Rr { pr, .. } => Packet::Rr { lcn, pr },
            Packet::Call {
                called, calling, ..
            } => Packet::Call {
                lcn,
                called,
                calling,
            },
            Packet::CallAccepted { .. } => Packet::CallAccepted { lcn },
            Packet::Clear { cause, .. } => Packet::Clear { lcn, cause },
        }
    }

    /// Cut a TSDU into data packets of `packet_size` octets (M = 1 on all but the last).
    pub fn segment(lcn: u16, tsdu: &[u8], packet_size: usize, first_ps: u8) -> Vec<Packet> {
        let chunks: Vec<&[u8]> = tsdu.chunks(packet_size.max(1)).collect();
        let n = chunks.len().max(1);
        (0..n)
            .map(|i| Packet::Data {
                lcn,
                ps: (first_ps + i as u8) & 7,
                pr: 0,
                more: i + 1 < n,
                data: chunks.get(i).map(|c| c.to_vec()).unwrap_or_default(),
            })
            .collect()
    }
}

/// The address block of a call request (X.25 5.2.1.1; Wireshark's `x25_ntoa`): one octet with
/// the calling address's digit count in bits 8–5 and the called address's in bits 4–1, then the
/// called and the calling address as packed BCD, high semi-octet first, the last octet padded
/// with 0.
fn emit_addresses(v: &mut Vec<u8>, called: &str, calling: &str) {
    let digits = |a: &str| -> Vec<u8> {
        a.bytes()
            .filter(u8::is_ascii_digit)
            .map(|d| d - b'0')
            .take(15)
            .collect()
    };
    let (cd, cg) = (digits(called), digits(calling));
    v.push((cg.len() as u8) << 4 | cd.len() as u8);
    for pair in cd.iter().chain(&cg).copied().collect::<Vec<u8>>().chunks(2) {
        v.push(pair[0] << 4 | pair.get(1).copied().unwrap_or(0));
    }
}

/// A call request's body after the packet type: the address block and the facility length (the
/// facilities and call user data after it are not modelled and ignored).
fn parse_call(lcn: u16, body: &[u8]) -> Result<Packet, PacketError> {
    let Some(&lengths) = body.first() else {
        return Err(PacketError("call request without an address block"));
    };
    let (calling_len, called_len) = (usize::from(lengths >> 4), usize::from(lengths & 0x0f));
    let octets = (calling_len + called_len).div_ceil(2);
    let Some(packed) = body.get(1..1 + octets) else {
        return Err(PacketError("call request addresses cut short"));
    };
    if body.get(1 + octets).is_none() {
        return Err(PacketError("call request without a facility length"));
    }
    let mut digits = String::with_capacity(calling_len + called_len);
    for i in 0..calling_len + called_len {
        let d = if i % 2 == 0 {
            packed[i / 2] >> 4
        } else {
            packed[i / 2] & 0x0f
        };
        if d > 9 {
            return Err(PacketError("call request address digit is not BCD"));
        }
        digits.push(char::from(b'0' + d));
    }
    let (called, calling) = digits.split_at(called_len);
    Ok(Packet::Call {
        lcn,
        called: called.to_string(),
        calling: calling.to_string(),
    })
}

/// A T-DATA indication as the third-party transport hands it up: declared length + data chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransportBuffer {
    /// Circuit.
    pub lcn: u16,
    /// Length the buffer header declares.
    pub declared_len: usize,
    /// The data the chain holds.
    pub data: Vec<u8>,
}

#[derive(Debug, Default)]
struct Assembly {
    /// The declared length of the TSDU being reassembled.
    declared: usize,
    /// P(S) of its last packet (M = 0), once that has arrived.
    end_ps: Option<u8>,
    /// Buffer headers the interrupt level has opened for the TSDUs after it: (P(S) of the last
    /// packet once arrived, declared length so far).
    later: VecDeque<(Option<u8>, usize)>,
    chain: Vec<u8>,
    expected_ps: u8,
    accepted: usize,
    /// Packets in the TSDU being reassembled.
    in_tsdu: usize,
}

impl Assembly {
    /// Interrupt level: account an arriving data packet's length into the header of the TSDU
    /// its P(S) falls in — the one being reassembled (also for a retransmission of a packet
    /// already taken, up to `window` behind), or a later one (pipelined TSDUs each have their
    /// own header). Modulo 8 with a window below 8, the position is unambiguous.
    fn account(&mut self, ps: u8, more: bool, len: usize, window: u8) {
        let ahead = |x: u8| x.wrapping_sub(self.expected_ps) & 7;
        let d = ahead(ps);
        if d >= 8 - window.clamp(1, 7) || self.end_ps.is_none_or(|e| d <= ahead(e)) {
            self.declared += len;
            if !more && self.end_ps.is_none() && d < 8 - window.clamp(1, 7) {
                self.end_ps = Some(ps);
            }
            return;
        }
        for (end, declared) in &mut self.later {
            if end.is_none_or(|e| d <= ahead(e)) {
                *declared += len;
                if !more && end.is_none() {
                    *end = Some(ps);
                }
                return;
            }
        }
        self.later.push_back(((!more).then_some(ps), len));
    }

    /// Service level: the TSDU being reassembled is complete; the next one's header (if the
    /// interrupt level opened it) becomes current.
    fn next_tsdu(&mut self) {
        let (end, declared) = self.later.pop_front().unwrap_or_default();
        self.end_ps = end;
        self.declared = declared;
    }
}

/// Counters of the transport model.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TransportCounters {
    /// Q225157 trigger: buffers handed up whose declared length exceeds their data.
    pub malformed_buffers: u64,
    /// Packets whose data was lost to a full receive queue.
    pub lost_packets: u64,
    /// Buffers handed up.
    pub buffers: u64,
}

/// The third-party Winsock X.25 transport (see the module doc).
#[derive(Debug)]
pub struct WinsockX25 {
    capacity: usize,
    /// The circuits' window (how far a retransmission can be behind).
    window: u8,
    counts_on_arrival: bool,
    queue: VecDeque<Packet>,
    assembling: BTreeMap<u16, Assembly>,
    /// Counters.
    pub counters: TransportCounters,
}

impl WinsockX25 {
    /// A transport with the build's shared receive queue.
    pub fn new(profile: &Profile) -> Self {
        WinsockX25 {
            capacity: profile.x25_receive_queue_packets as usize,
            window: profile.x25_window,
            // 4.0 and 5.0 run over the vendor's own X.25 stack, which counts what it keeps
            // (`x25_winsock_transport`); only the Winsock transport counts on arrival.
            counts_on_arrival: profile.x25_winsock_transport,
            queue: VecDeque::new(),
            assembling: BTreeMap::new(),
            counters: TransportCounters::default(),
        }
    }

    /// Back to the state [`WinsockX25::new`] gives for the same profile, keeping allocations.
    pub fn reset(&mut self) {
        self.queue.clear();
        self.assembling.clear();
        self.counters = TransportCounters::default();
    }

    /// A packet arrives from the network (interrupt level).
    pub fn arrive(&mut self, p: Packet) {
        if let Packet::Data {
            lcn,
            ps,
            more,
            data,
            ..
        } = &p
            && self.counts_on_arrival
        {
            // The length is accounted on arrival …
            self.assembling
                .entry(*lcn)
                .or_default()
                .account(*ps, *more, data.len(), self.window);
        }
        if self.queue.len() < self.capacity {
            self.queue.push_back(p);
        } else if matches!(p, Packet::Data { .. }) {
            // … and the data is lost when the shared queue is full.
            mta_reach::reach!("x25: receive queue overflow");
            self.counters.lost_packets += 1;
        }
    }

    /// Deferred service: move queued in-sequence packets into their circuits' buffers; return
    /// completed TSDUs and control packets for the adapter.
    pub fn service(&mut self) -> (Vec<TransportBuffer>, Vec<Packet>) {
        let mut done = Vec::new();
        let mut control = Vec::new();
        while let Some(p) = self.queue.pop_front() {
            match p {
                Packet::Data {
                    lcn,
                    ps,
                    more,
                    data,
                    ..
                } => {
                    let a = self.assembling.entry(lcn).or_default();
                    if ps != a.expected_ps {
                        continue; // out of sequence: a retransmission or after a gap
                    }
                    a.expected_ps = (a.expected_ps + 1) & 7;
                    a.accepted += 1;
                    if !self.counts_on_arrival {
                        a.declared += data.len();
                    }
                    a.chain.extend_from_slice(&data);
                    a.in_tsdu += 1;
                    if !more {
                        if a.in_tsdu >= 4 {
                            mta_reach::reach!("x25: TSDU of four or more packets");
                        }
                        a.in_tsdu = 0;
                        self.counters.buffers += 1;
                        if a.declared != a.chain.len() {
                            self.counters.malformed_buffers += 1;
                        }
                        done.push(TransportBuffer {
                            lcn,
                            declared_len: a.declared,
                            data: std::mem::take(&mut a.chain),
                        });
                        a.next_tsdu();
                    }
                }
                other => control.push(other),
            }
        }
        (done, control)
    }

    /// Data packets accepted in sequence on a circuit so far (what its acknowledgements cover).
    pub fn accepted(&self, lcn: u16) -> usize {
        self.assembling.get(&lcn).map_or(0, |a| a.accepted)
    }

    /// Packets waiting for service.
    pub fn depth(&self) -> usize {
        self.queue.len()
    }
}

/// What the adapter did with a buffer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AdapterOutcome {
    /// Handed up; the circuit's association reported these events.
    Delivered(Vec<Event>),
    /// Dropped by the validation (5.5 SP3+): the circuit is cleared.
    Dropped {
        /// Circuit cleared.
        lcn: u16,
    },
}

/// One circuit's association and the DTE that called.
#[derive(Debug)]
struct Circuit {
    association: Association,
    calling: String,
    next_ps: u8,
}

/// The MTA's X.25 adapter: one responder association per circuit, over the third-party
/// transport's service ([`mta_osi::provided`]).
#[derive(Debug)]
pub struct X25Adapter {
    profile: Profile,
    responder: association::Config,
    circuits: BTreeMap<u16, Circuit>,
    /// Packets to send: call accepted, the associations' TSDUs as M-bit sequences, clear
    /// requests.
    pub to_network: Vec<Packet>,
}

impl X25Adapter {
    /// The adapter of `profile`'s build; `responder` configures the associations it answers.
    pub fn new(profile: &Profile, responder: association::Config) -> Self {
        X25Adapter {
            profile: *profile,
            responder,
            circuits: BTreeMap::new(),
            to_network: Vec::new(),
        }
    }

    /// Back to the state [`X25Adapter::new`] gives for the same profile, keeping allocations.
    pub fn reset(&mut self) {
        self.circuits.clear();
        self.to_network.clear();
    }

    /// The configuration of the associations the adapter answers.
    pub fn responder(&self) -> &association::Config {
        &self.responder
    }

    /// Associations open.
    pub fn sessions(&self) -> usize {
        self.circuits.len()
    }

    /// An incoming call from `calling` was accepted on `lcn` at `now`: its association
    /// (responder) starts.
    pub fn call(&mut self, lcn: u16, calling: &str, now: u64) {
        let from = self.circuit_state(lcn);
        self.circuits.insert(lcn, self.circuit(calling, now));
        self.to_network.push(Packet::CallAccepted { lcn });
        self.observe(lcn, from, "incoming call");
    }

    fn circuit(&self, calling: &str, now: u64) -> Circuit {
        Circuit {
            association: Association::over_provider(Role::Responder, self.responder.clone(), now),
            calling: calling.to_string(),
            next_ps: 0,
        }
    }

    /// The circuit's state by ISO 8208's packet-layer names: p4 (data transfer) while its
    /// association exists, p1 (ready) otherwise.
    fn circuit_state(&self, lcn: u16) -> &'static str {
        if self.circuits.contains_key(&lcn) {
            "p4 data transfer"
        } else {
            "p1 ready"
        }
    }

    /// Record the transition an input caused on circuit `lcn` (`mta_reach`).
    fn observe(&self, lcn: u16, from: &'static str, input: &'static str) {
        mta_reach::transition("x25", from, input, self.circuit_state(lcn));
    }

    /// A clear from the network: the circuit and its association are gone (the association's
    /// abort is not reported: an inbound association holds nothing its user must take back).
    pub fn cleared(&mut self, lcn: u16) {
        let from = self.circuit_state(lcn);
        if let Some(mut c) = self.circuits.remove(&lcn) {
            c.association.tcp_closed();
        }
        self.observe(lcn, from, "clear indication");
    }

    /// Forget circuit `lcn` without touching its association (after a fault in it).
    pub fn forget(&mut self, lcn: u16) {
        self.circuits.remove(&lcn);
    }

    /// The association of a circuit (its user — the MTA — answers binds on it).
    pub fn association_mut(&mut self, lcn: u16) -> Option<&mut Association> {
        self.circuits.get_mut(&lcn).map(|c| &mut c.association)
    }

    /// The calling DTE's address of a circuit.
    pub fn calling(&self, lcn: u16) -> Option<&str> {
        self.circuits.get(&lcn).map(|c| c.calling.as_str())
    }

    /// Advance the associations' timers to `now`; the events they report, by circuit.
    pub fn tick(&mut self, now: u64) -> Vec<(u16, Event)> {
        let mut events = Vec::new();
        for (&lcn, c) in &mut self.circuits {
            c.association.tick(now);
            events.extend(std::iter::from_fn(|| c.association.poll_event()).map(|e| (lcn, e)));
        }
        events
    }

    /// Move what the associations want to send into `to_network` as M-bit sequences of the
    /// build's packet size (flow control towards the network is not modelled); an association
    /// that has ended clears its call.
    pub fn flush(&mut self) {
        let size = usize::from(self.profile.x25_packet_size);
        let mut ended = Vec::new();
        for (&lcn, c) in &mut self.circuits {
            while let Some(tsdu) = c.association.poll_tsdu() {
                let packets = Packet::segment(lcn, &tsdu, size, c.next_ps);
                c.next_ps = (c.next_ps + packets.len() as u8) & 7;
                self.to_network.extend(packets);
            }
            if c.association.wants_close() {
                ended.push(lcn);
            }
        }
        for lcn in ended {
            self.circuits.remove(&lcn);
            self.to_network.push(Packet::Clear { lcn, cause: 0 });
        }
    }

    /// A T-DATA buffer from the transport.
    pub fn deliver(&mut self, log: &mut EventLog, now: u64, b: &TransportBuffer) -> AdapterOutcome {
        let from = self.circuit_state(b.lcn);
        let outcome = self.deliver_step(log, now, b);
        let input = match outcome {
            AdapterOutcome::Delivered(_) => "T-DATA buffer",
            AdapterOutcome::Dropped { .. } => "malformed T-DATA buffer",
        };
        let to = match outcome {
            AdapterOutcome::Delivered(_) => self.circuit_state(b.lcn),
            // The adapter has sent a clear request and forgotten the association.
            AdapterOutcome::Dropped { .. } => "p6 DTE clear request",
        };
        mta_reach::transition("x25", from, input, to);
        outcome
    }

    fn deliver_step(
        &mut self,
        log: &mut EventLog,
        now: u64,
        b: &TransportBuffer,
    ) -> AdapterOutcome {
        if self.profile.x25_adapter_validates_buffers && b.declared_len != b.data.len() {
            log.log(catalogue::malformed_transport_buffer(
                &self.profile,
                b.lcn,
                b.declared_len,
                b.data.len(),
                now,
            ));
            self.circuits.remove(&b.lcn);
            self.to_network.push(Packet::Clear {
                lcn: b.lcn,
                cause: 0,
            });
            mta_reach::reach!("x25: malformed buffer dropped");
            return AdapterOutcome::Dropped { lcn: b.lcn };
        }
        if !self.circuits.contains_key(&b.lcn) {
            // Data on a circuit whose call the adapter did not see (set up before it started).
            let c = self.circuit("", now);
            self.circuits.insert(b.lcn, c);
        }
        let a = &mut self.circuits.get_mut(&b.lcn).expect("inserted").association;
        a.receive_tsdu(TData {
            data: &b.data,
            declared_len: b.declared_len,
        });
        let events = std::iter::from_fn(|| a.poll_event()).collect();
        AdapterOutcome::Delivered(events)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packet_codec_round_trip() {
        for p in [
            Packet::Data {
                lcn: 0x123,
                ps: 5,
                pr: 3,
                more: true,
                data: vec![1, 2, 3],
            },
            Packet::Rr { lcn: 7, pr: 2 },
            Packet::Call {
                lcn: 1,
                called: "31340000".into(),
                calling: "313400017".into(),
            },
            Packet::CallAccepted { lcn: 1 },
            Packet::Clear {
                lcn: 9,
                cause: 0x05,
            },
        ] {
            assert_eq!(Packet::parse(&p.emit()), Ok(p.clone()));
            assert_eq!(p.clone().with_lcn(77).lcn(), 77);
        }
        assert!(Packet::parse(&[0x20, 0, 0]).is_err());
    }

    #[test]
    fn a_call_request_carries_packed_bcd_addresses_called_first() {
        let p = Packet::Call {
            lcn: 1,
            called: "123".into(),
            calling: "45".into(),
        };
        // Lengths 2 (calling) and 3 (called); digits 1 2 3 4 5 packed, padded; no facilities.
        assert_eq!(p.emit(), [0x10, 1, 0x0b, 0x23, 0x12, 0x34, 0x50, 0]);
        assert_eq!(Packet::parse(&p.emit()), Ok(p));
        for (bad, why) in [
            (&[0x10, 1, 0x0b][..], "without an address block"),
            (&[0x10, 1, 0x0b, 0x23, 0x12][..], "addresses cut short"),
            (
                &[0x10, 1, 0x0b, 0x23, 0x12, 0x34, 0x50][..],
                "without a facility length",
            ),
            (&[0x10, 1, 0x0b, 0x01, 0xa0, 0][..], "not BCD"),
        ] {
            let e = Packet::parse(bad).unwrap_err();
            assert!(e.0.contains(why), "{e}");
        }
    }

    fn responder(p: &Profile) -> association::Config {
        association::Config::for_profile(
            p,
            mta_osi::presentation::Mode::Normal,
            association::Address::default(),
            association::Address::default(),
        )
    }

    #[test]
    fn association_tsdus_go_out_as_m_bit_sequences() {
        let p = Profile::of(mta_build::Build::Ex55Sp3);
        let mut a = X25Adapter::new(&p, responder(&p));
        a.call(5, "31340001", 0);
        assert_eq!(a.calling(5), Some("31340001"));
        let mut caller = Association::over_provider(Role::Initiator, responder(&p), 0);
        caller.bind(&[0x04, 0x01, 0x00]);
        let cn = caller.poll_tsdu().unwrap();
        let mut log = EventLog::new("x", p.event_era, 0);
        let out = a.deliver(
            &mut log,
            0,
            &TransportBuffer {
                lcn: 5,
                declared_len: cn.len(),
                data: cn,
            },
        );
        assert!(
            matches!(out, AdapterOutcome::Delivered(ref e) if matches!(e[..], [Event::BindRequest { .. }])),
            "{out:?}"
        );
        // A bind result of 300 octets: the AC crosses in 128-octet packets.
        let mut result = vec![0x04, 0x82, 0x01, 0x2c];
        result.extend([7; 300]);
        a.association_mut(5).unwrap().accept_bind(&result);
        a.flush();
        let data: Vec<&Packet> = a
            .to_network
            .iter()
            .filter(|p| matches!(p, Packet::Data { .. }))
            .collect();
        assert!(data.len() >= 3, "an AC of over 300 octets: {}", data.len());
        assert!(
            data[..data.len() - 1]
                .iter()
                .all(|p| matches!(p, Packet::Data { more: true, .. }))
        );
        assert!(matches!(
            data.last(),
            Some(Packet::Data { more: false, .. })
        ));
        assert!(matches!(a.to_network[0], Packet::CallAccepted { lcn: 5 }));
    }

    #[test]
    fn pipelined_tsdus_each_get_their_header_and_a_resend_counts_into_its_own() {
        let p = Profile::of(mta_build::Build::Ex55Sp3);
        let mut t = WinsockX25::new(&p);
        let mut packets = Packet::segment(1, &[1; 135], 128, 0);
        packets.extend(Packet::segment(1, &[2; 20], 128, 2));
        for pk in &packets {
            t.arrive(pk.clone());
        }
        let (bufs, _) = t.service();
        let lens: Vec<(usize, usize)> = bufs
            .iter()
            .map(|b| (b.declared_len, b.data.len()))
            .collect();
        assert_eq!(lens, [(135, 135), (20, 20)], "no pressure: intact");
        // The last packet of a TSDU arrives twice before the service (a resend): the Winsock
        // transport counts both arrivals into that TSDU's header — KB Q225157's malformed buffer.
        let again = Packet::segment(1, &[3; 135], 128, 3);
        for pk in again.iter().chain(&again[1..]) {
            t.arrive(pk.clone());
        }
        let (bufs, _) = t.service();
        assert_eq!((bufs[0].declared_len, bufs[0].data.len()), (142, 135));
        assert_eq!(t.counters.malformed_buffers, 1);
    }

    #[test]
    fn segmentation_sets_the_m_bit() {
        let ps = Packet::segment(3, &[0; 300], 128, 0);
        assert_eq!(ps.len(), 3);
        assert!(matches!(ps[0], Packet::Data { more: true, .. }));
        assert!(matches!(ps[2], Packet::Data { more: false, ref data, .. } if data.len() == 44));
    }
}
