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
use mta_osi::session::{self, Session, TData};
use std::collections::{BTreeMap, VecDeque};

pub mod dte;
pub mod gateway;
pub mod xot;

pub use dte::{CallState, Dte};
pub use gateway::Gateway;

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
    /// Call request (user data: none modelled).
    Call {
        /// Logical channel.
        lcn: u16,
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
            | Packet::Call { lcn }
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
            packet_type::CALL_REQUEST => Ok(Packet::Call { lcn }),
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
            Packet::Call { .. } => v.push(packet_type::CALL_REQUEST),
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
            Packet::Call { .. } => Packet::Call { lcn },
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
    declared: usize,
    chain: Vec<u8>,
    expected_ps: u8,
    accepted: usize,
    /// Packets in the TSDU being reassembled.
    in_tsdu: usize,
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
        if let Packet::Data { lcn, data, .. } = &p
            && self.counts_on_arrival
        {
            // The length is accounted on arrival …
            self.assembling.entry(*lcn).or_default().declared += data.len();
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
                        a.declared = 0;
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
    /// Handed up; the session reported these indications.
    Delivered(Vec<session::Indication>),
    /// Dropped by the validation (5.5 SP3+): the circuit is cleared.
    Dropped {
        /// Circuit cleared.
        lcn: u16,
    },
}

/// The MTA's X.25 adapter: one session per circuit above the third-party transport.
#[derive(Debug)]
pub struct X25Adapter {
    profile: Profile,
    sessions: BTreeMap<u16, Session>,
    next_ps: BTreeMap<u16, u8>,
    /// Packets to send: call accepted, the sessions' TSDUs as M-bit sequences, clear requests.
    pub to_network: Vec<Packet>,
}

impl X25Adapter {
    /// The adapter of `profile`'s build.
    pub fn new(profile: &Profile) -> Self {
        X25Adapter {
            profile: *profile,
            sessions: BTreeMap::new(),
            next_ps: BTreeMap::new(),
            to_network: Vec::new(),
        }
    }

    /// Back to the state [`X25Adapter::new`] gives for the same profile, keeping allocations.
    pub fn reset(&mut self) {
        self.sessions.clear();
        self.next_ps.clear();
        self.to_network.clear();
    }

    /// Sessions open.
    pub fn sessions(&self) -> usize {
        self.sessions.len()
    }

    /// An incoming call was accepted on `lcn`: create its session (responder).
    pub fn call(&mut self, lcn: u16) {
        let from = self.circuit_state(lcn);
        self.sessions
            .insert(lcn, Session::new(session::Config::new(b"")));
        self.to_network.push(Packet::CallAccepted { lcn });
        self.observe(lcn, from, "incoming call");
    }

    /// The circuit's state by ISO 8208's packet-layer names: p4 (data transfer) while its session
    /// exists, p1 (ready) otherwise.
    fn circuit_state(&self, lcn: u16) -> &'static str {
        if self.sessions.contains_key(&lcn) {
            "p4 data transfer"
        } else {
            "p1 ready"
        }
    }

    /// Record the transition an input caused on circuit `lcn` (`mta_reach`).
    fn observe(&self, lcn: u16, from: &'static str, input: &'static str) {
        mta_reach::transition("x25", from, input, self.circuit_state(lcn));
    }

    /// A clear from the network: the circuit and its session are gone.
    pub fn cleared(&mut self, lcn: u16) {
        let from = self.circuit_state(lcn);
        if let Some(mut s) = self.sessions.remove(&lcn) {
            s.transport_disconnected();
        }
        self.next_ps.remove(&lcn);
        self.observe(lcn, from, "clear indication");
    }

    /// The session of a circuit (its user — presentation and up — acts on it).
    pub fn session_mut(&mut self, lcn: u16) -> Option<&mut Session> {
        self.sessions.get_mut(&lcn)
    }

    /// Move what the sessions want to send into `to_network` as M-bit sequences of the build's
    /// packet size (flow control towards the network is not modelled).
    pub fn flush(&mut self) {
        let size = usize::from(self.profile.x25_packet_size);
        for (&lcn, s) in &mut self.sessions {
            while let Some(tsdu) = s.poll_tsdu() {
                let ps = self.next_ps.entry(lcn).or_insert(0);
                let packets = Packet::segment(lcn, &tsdu, size, *ps);
                *ps = (*ps + packets.len() as u8) & 7;
                self.to_network.extend(packets);
            }
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
            // The adapter has sent a clear request and forgotten the session.
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
            self.sessions.remove(&b.lcn);
            self.to_network.push(Packet::Clear {
                lcn: b.lcn,
                cause: 0,
            });
            mta_reach::reach!("x25: malformed buffer dropped");
            return AdapterOutcome::Dropped { lcn: b.lcn };
        }
        let s = self
            .sessions
            .entry(b.lcn)
            .or_insert_with(|| Session::new(session::Config::new(b"")));
        s.input(TData {
            data: &b.data,
            declared_len: b.declared_len,
        });
        let ind = std::iter::from_fn(|| s.poll_indication()).collect();
        self.flush();
        AdapterOutcome::Delivered(ind)
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
            Packet::Call { lcn: 1 },
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
    fn session_tsdus_go_out_as_m_bit_sequences() {
        let p = Profile::of(mta_build::Build::Ex55Sp3);
        let mut a = X25Adapter::new(&p);
        a.call(5);
        let mut caller = Session::new(session::Config::new(b"C"));
        caller.connect(b"", &[1; 10]);
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
        assert!(matches!(out, AdapterOutcome::Delivered(ref i) if i.len() == 1));
        a.session_mut(5)
            .unwrap()
            .refuse(session::refuse::BY_USER, &[0; 300]);
        a.flush();
        let data: Vec<&Packet> = a
            .to_network
            .iter()
            .filter(|p| matches!(p, Packet::Data { .. }))
            .collect();
        assert_eq!(data.len(), 3, "an RF of ~310 octets in 128-octet packets");
        assert!(matches!(
            data[2],
            Packet::Data {
                more: false,
                ps: 2,
                ..
            }
        ));
        assert!(matches!(a.to_network[0], Packet::CallAccepted { lcn: 5 }));
    }

    #[test]
    fn segmentation_sets_the_m_bit() {
        let ps = Packet::segment(3, &[0; 300], 128, 0);
        assert_eq!(ps.len(), 3);
        assert!(matches!(ps[0], Packet::Data { more: true, .. }));
        assert!(matches!(ps[2], Packet::Data { more: false, ref data, .. } if data.len() == 44));
    }
}
