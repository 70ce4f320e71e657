//! ISO 8073 / X.224 connection-oriented transport, class 0 (the class RFC 1006 carries): the CR, CC,
//! DR, DT and ER TPDUs (X.224 section 13) and the class-0 connection state machine.
//!
//! Offsets below are within the TPDU (after the TPKT header). LI (octet 0) counts the header octets
//! after itself; user data follows the header.
//!
//! | TPDU | 1 | 2-3 | 4-5 | 6 | 7.. |
//! |---|---|---|---|---|---|
//! | CR `E0` / CC `D0` | code | DST-REF | SRC-REF | class/option | parameters |
//! | DR `80` | code | DST-REF | SRC-REF | reason | parameters |
//! | DT `F0` (LI 2) | code | EOT bit 8 + TPDU-NR | | | user data from 3 |
//! | ER `70` | code | DST-REF | cause (4) | | parameters from 5 |

use crate::tpkt::{ReservedPolicy, SendFlags, Writer};
use crate::{Layer, Malformed, Result};
use std::collections::VecDeque;

const fn err(offset: usize, reason: &'static str) -> Malformed {
    Malformed::new(Layer::Cotp, offset, reason)
}

/// TPDU codes (high nibble of octet 1), X.224 table 8.
pub mod code {
    /// Connection request.
    pub const CR: u8 = 0xe0;
    /// Connection confirm.
    pub const CC: u8 = 0xd0;
    /// Disconnect request.
    pub const DR: u8 = 0x80;
    /// Data.
    pub const DT: u8 = 0xf0;
    /// TPDU error.
    pub const ER: u8 = 0x70;
}

/// Variable-part parameter codes used by class 0 (X.224 13.3.4, 13.7.3).
pub mod param {
    /// TPDU size, value log2(octets), 7..=13.
    pub const TPDU_SIZE: u8 = 0xc0;
    /// Calling TSAP identifier (in a CR; the responder's echo in a CC).
    pub const CALLING_TSAP: u8 = 0xc1;
    /// Called TSAP identifier.
    pub const CALLED_TSAP: u8 = 0xc2;
    /// Invalid TPDU (ER: the header of the rejected TPDU).
    pub const INVALID_TPDU: u8 = 0xc1;
    /// Additional information (DR).
    pub const ADDITIONAL_INFO: u8 = 0xe0;
}

/// DR reasons (X.224 13.5.3 e).
pub mod reason {
    /// Reason not specified.
    pub const NOT_SPECIFIED: u8 = 0x00;
    /// Congestion at TSAP.
    pub const CONGESTION: u8 = 0x01;
    /// Session entity not attached to TSAP.
    pub const NOT_ATTACHED: u8 = 0x02;
    /// Address unknown.
    pub const ADDRESS_UNKNOWN: u8 = 0x03;
    /// Normal disconnect initiated by the session entity.
    pub const NORMAL: u8 = 0x80;
    /// Connection negotiation failed.
    pub const NEGOTIATION_FAILED: u8 = 0x82;
    /// Protocol error.
    pub const PROTOCOL_ERROR: u8 = 0x85;
    /// Connection request refused on this network connection.
    pub const REFUSED: u8 = 0x88;
    /// Header or parameter length invalid.
    pub const LENGTH_INVALID: u8 = 0x8a;
}

/// ER reject causes (X.224 13.12.3 c).
pub mod cause {
    /// Reason not specified.
    pub const NOT_SPECIFIED: u8 = 0x00;
    /// Invalid parameter code.
    pub const INVALID_PARAMETER_CODE: u8 = 0x01;
    /// Invalid TPDU type.
    pub const INVALID_TPDU_TYPE: u8 = 0x02;
    /// Invalid parameter value.
    pub const INVALID_PARAMETER_VALUE: u8 = 0x03;
}

/// Default TPDU size when a CR carries none (X.224 13.3.4 b): 128 octets.
pub const DEFAULT_TPDU_SIZE_CODE: u8 = 7;
/// Largest TPDU size code class 0 accepts here (8192; X.224 restricts class 0 to 2048 but RFC 1006
/// peers send 8192, see PROTOCOLS.md 2.3 — a responder lowers it).
pub const MAX_TPDU_SIZE_CODE: u8 = 13;

/// One variable-part parameter, kept in received order so that emit re-creates the input exactly.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Param<'a> {
    /// Parameter code.
    pub code: u8,
    /// Value octets.
    pub value: &'a [u8],
}

/// CR and CC fields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Connect<'a> {
    /// DST-REF (0 in a CR).
    pub dst_ref: u16,
    /// SRC-REF.
    pub src_ref: u16,
    /// Class (high nibble) and options.
    pub class_option: u8,
    /// Variable part.
    pub params: Vec<Param<'a>>,
    /// User data (not allowed in class 0; kept so that parse → emit is the identity).
    pub user_data: &'a [u8],
}

impl Connect<'_> {
    fn find(&self, code: u8) -> Option<&[u8]> {
        self.params.iter().find(|p| p.code == code).map(|p| p.value)
    }
    /// Calling TSAP-ID.
    pub fn calling_tsap(&self) -> Option<&[u8]> {
        self.find(param::CALLING_TSAP)
    }
    /// Called TSAP-ID.
    pub fn called_tsap(&self) -> Option<&[u8]> {
        self.find(param::CALLED_TSAP)
    }
    /// TPDU size code, if present and one octet.
    pub fn tpdu_size_code(&self) -> Option<u8> {
        match self.find(param::TPDU_SIZE) {
            Some([c]) => Some(*c),
            _ => None,
        }
    }
}

/// DR fields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Disconnect<'a> {
    /// DST-REF.
    pub dst_ref: u16,
    /// SRC-REF.
    pub src_ref: u16,
    /// Reason ([`reason`]).
    pub reason: u8,
    /// Variable part.
    pub params: Vec<Param<'a>>,
    /// User data.
    pub user_data: &'a [u8],
}

/// ER fields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErrorTpdu<'a> {
    /// DST-REF.
    pub dst_ref: u16,
    /// Reject cause ([`cause`]).
    pub cause: u8,
    /// Variable part (the invalid TPDU header, `0xC1`).
    pub params: Vec<Param<'a>>,
}

/// A class-0 TPDU, borrowing from the octets it was parsed from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Tpdu<'a> {
    /// CR.
    Cr(Connect<'a>),
    /// CC.
    Cc(Connect<'a>),
    /// DR.
    Dr(Disconnect<'a>),
    /// DT: end-of-TSDU mark and user data (TPDU-NR is always 0 in class 0).
    Dt {
        /// EOT.
        eot: bool,
        /// User data.
        data: &'a [u8],
    },
    /// ER.
    Er(ErrorTpdu<'a>),
}

fn parse_params(var: &[u8], base: usize) -> Result<Vec<Param<'_>>> {
    let mut params = Vec::new();
    let mut pos = 0;
    while pos < var.len() {
        if pos + 2 > var.len() {
            return Err(err(base + pos, "truncated parameter header"));
        }
        let (code, len) = (var[pos], usize::from(var[pos + 1]));
        if pos + 2 + len > var.len() {
            return Err(err(base + pos + 1, "parameter overruns the header"));
        }
        params.push(Param {
            code,
            value: &var[pos + 2..pos + 2 + len],
        });
        pos += 2 + len;
    }
    Ok(params)
}

fn emit_params(out: &mut Vec<u8>, params: &[Param<'_>]) {
    for p in params {
        out.push(p.code);
        out.push(p.value.len() as u8);
        out.extend_from_slice(p.value);
    }
}

fn params_len(params: &[Param<'_>]) -> usize {
    params.iter().map(|p| 2 + p.value.len()).sum()
}

impl<'a> Tpdu<'a> {
    /// Parse one TPDU (the whole payload of one TPKT).
    pub fn parse(b: &'a [u8]) -> Result<Tpdu<'a>> {
        if b.len() < 2 {
            return Err(err(b.len(), "truncated TPDU"));
        }
        let li = usize::from(b[0]);
        if li == 255 {
            return Err(err(0, "LI 255 is reserved"));
        }
        if li + 1 > b.len() {
            return Err(err(0, "LI exceeds the TPDU"));
        }
        let header = &b[..=li];
        let user = &b[li + 1..];
        let be16 = |i: usize| u16::from_be_bytes([header[i], header[i + 1]]);
        match b[1] {
            code::CR | code::CC => {
                if li < 6 {
                    return Err(err(0, "CR/CC LI below the fixed part (6)"));
                }
                let c = Connect {
                    dst_ref: be16(2),
                    src_ref: be16(4),
                    class_option: header[6],
                    params: parse_params(&header[7..], 7)?,
                    user_data: user,
                };
                Ok(if b[1] == code::CR {
                    Tpdu::Cr(c)
                } else {
                    Tpdu::Cc(c)
                })
            }
            code::DR => {
                if li < 6 {
                    return Err(err(0, "DR LI below the fixed part (6)"));
                }
                Ok(Tpdu::Dr(Disconnect {
                    dst_ref: be16(2),
                    src_ref: be16(4),
                    reason: header[6],
                    params: parse_params(&header[7..], 7)?,
                    user_data: user,
                }))
            }
            code::DT => {
                if li != 2 {
                    return Err(err(0, "class-0 DT LI must be 2"));
                }
                if header[2] & 0x7f != 0 {
                    return Err(err(2, "class-0 DT TPDU-NR must be 0"));
                }
                Ok(Tpdu::Dt {
                    eot: header[2] & 0x80 != 0,
                    data: user,
                })
            }
            code::ER => {
                if li < 4 {
                    return Err(err(0, "ER LI below the fixed part (4)"));
                }
                if !user.is_empty() {
                    return Err(err(li + 1, "ER carries no user data"));
                }
                Ok(Tpdu::Er(ErrorTpdu {
                    dst_ref: be16(2),
                    cause: header[4],
                    params: parse_params(&header[5..], 5)?,
                }))
            }
            _ => Err(err(1, "TPDU type not used in class 0")),
        }
    }

    /// Octets [`Tpdu::emit`] appends.
    pub fn buffer_len(&self) -> usize {
        match self {
            Tpdu::Cr(c) | Tpdu::Cc(c) => 7 + params_len(&c.params) + c.user_data.len(),
            Tpdu::Dr(d) => 7 + params_len(&d.params) + d.user_data.len(),
            Tpdu::Dt { data, .. } => 3 + data.len(),
            Tpdu::Er(e) => 5 + params_len(&e.params),
        }
    }

    /// Append the encoding to `out`. Panics if the header exceeds 254 octets (an invariant of
    /// what this crate builds; parsed TPDUs always satisfy it).
    pub fn emit(&self, out: &mut Vec<u8>) {
        let start = out.len();
        out.push(0); // LI, patched below
        match self {
            Tpdu::Cr(c) | Tpdu::Cc(c) => {
                out.push(if matches!(self, Tpdu::Cr(_)) {
                    code::CR
                } else {
                    code::CC
                });
                out.extend_from_slice(&c.dst_ref.to_be_bytes());
                out.extend_from_slice(&c.src_ref.to_be_bytes());
                out.push(c.class_option);
                emit_params(out, &c.params);
            }
            Tpdu::Dr(d) => {
                out.push(code::DR);
                out.extend_from_slice(&d.dst_ref.to_be_bytes());
                out.extend_from_slice(&d.src_ref.to_be_bytes());
                out.push(d.reason);
                emit_params(out, &d.params);
            }
            Tpdu::Dt { eot, .. } => {
                out.push(code::DT);
                out.push(if *eot { 0x80 } else { 0 });
            }
            Tpdu::Er(e) => {
                out.push(code::ER);
                out.extend_from_slice(&e.dst_ref.to_be_bytes());
                out.push(e.cause);
                emit_params(out, &e.params);
            }
        }
        let li = out.len() - start - 1;
        assert!(li < 255, "TPDU header of {li} octets");
        out[start] = li as u8;
        match self {
            Tpdu::Cr(c) | Tpdu::Cc(c) => out.extend_from_slice(c.user_data),
            Tpdu::Dr(d) => out.extend_from_slice(d.user_data),
            Tpdu::Dt { data, .. } => out.extend_from_slice(data),
            Tpdu::Er(_) => {}
        }
    }

    /// Short name, as a protocol analyzer prints it.
    pub fn name(&self) -> &'static str {
        match self {
            Tpdu::Cr(_) => "CR",
            Tpdu::Cc(_) => "CC",
            Tpdu::Dr(_) => "DR",
            Tpdu::Dt { .. } => "DT",
            Tpdu::Er(_) => "ER",
        }
    }
}

/// Octets of a TPDU size code (7 → 128 … 13 → 8192).
pub const fn tpdu_size(code: u8) -> usize {
    1usize << code
}

/// Transport-connection parameters of one end.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// Our TSAP selector (calling when we initiate, expected called when we respond).
    pub local_tsap: Vec<u8>,
    /// Largest TPDU size code we accept or propose (2048 = 11 for Exchange, as in KB Q151626).
    pub max_tpdu_size_code: u8,
    /// Largest TSDU we reassemble (a peer sending more is a protocol error).
    pub max_tsdu: usize,
    /// Reserved-octet policy of our TPKT reader.
    pub reserved_policy: ReservedPolicy,
    /// Our TPKT writer.
    pub writer: Writer,
}

impl Config {
    /// A conforming configuration with the given TSAP (TPDU size 2048, 4 MiB TSDUs, lenient).
    pub fn new(local_tsap: &[u8]) -> Self {
        Config {
            local_tsap: local_tsap.to_vec(),
            max_tpdu_size_code: 11,
            max_tsdu: 4 << 20,
            reserved_policy: ReservedPolicy::Ignore,
            writer: Writer::conforming(),
        }
    }
}

/// Class-0 connection state (X.224 annex A, simplified to what class 0 has).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum State {
    /// Nothing sent or received.
    #[default]
    Idle,
    /// CR sent, waiting for CC/DR.
    AwaitCc,
    /// CR received, waiting for the session entity to accept or refuse.
    AwaitAccept,
    /// Data transfer.
    Open,
    /// Released (DR sent/received, ER, framing error). The TCP connection should be closed.
    Closed,
}

impl State {
    /// The state's name in ISO 8073's class 0 state table (the idle and the released connection
    /// are both CLOSED there).
    pub fn name(self) -> &'static str {
        match self {
            State::Idle | State::Closed => "CLOSED",
            State::AwaitCc => "WFCC",
            State::AwaitAccept => "WFTRESP",
            State::Open => "OPEN",
        }
    }
}

/// The kind of a received TPDU by its code (ISO 8073 13.1, table 8), for state coverage.
fn tpdu_kind(tpdu: &[u8]) -> &'static str {
    tpdu.get(1).map_or("empty TPDU", |&c| code_name(c))
}

/// The name of a TPDU code (ISO 8073 13.1, table 8; the high four bits of the code octet) as
/// class 0 knows them, or "other TPDU".
pub fn code_name(code: u8) -> &'static str {
    match code & 0xf0 {
        code::CR => "CR",
        code::CC => "CC",
        code::DR => "DR",
        code::DT => "DT",
        code::ER => "ER",
        _ => "other TPDU",
    }
}

/// What the transport reports upward.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Indication {
    /// T-CONNECT indication (a CR arrived).
    ConnectIndication {
        /// Calling TSAP.
        calling_tsap: Vec<u8>,
        /// Called TSAP.
        called_tsap: Vec<u8>,
    },
    /// T-CONNECT confirm (our CR was accepted) with the negotiated TPDU size code.
    Connected {
        /// Negotiated TPDU size code.
        tpdu_size_code: u8,
    },
    /// T-DATA indication: one complete TSDU.
    Data(Vec<u8>),
    /// T-DISCONNECT indication: DR received (with its reason), ER received, or a local protocol
    /// error (`error` says which).
    Disconnected {
        /// DR reason, or the reason we sent.
        reason: u8,
        /// The protocol error that ended the connection, if any.
        error: Option<Malformed>,
    },
}

/// A class-0 transport connection, sans-IO: `receive` TCP octets, take `transmit` octets, read
/// `poll_indication`.
#[derive(Debug, Clone)]
pub struct Transport {
    config: Config,
    state: State,
    reassembler: crate::tpkt::Reassembler,
    local_ref: u16,
    remote_ref: u16,
    tpdu_size_code: u8,
    tsdu: Vec<u8>,
    tx: Vec<u8>,
    indications: VecDeque<Indication>,
    close_tcp: bool,
}

impl Transport {
    /// A fresh connection end; `local_ref` is our SRC-REF (non-zero).
    pub fn new(config: Config, local_ref: u16) -> Self {
        let policy = config.reserved_policy;
        Transport {
            config,
            state: State::Idle,
            reassembler: crate::tpkt::Reassembler::new(policy),
            local_ref: local_ref.max(1),
            remote_ref: 0,
            tpdu_size_code: DEFAULT_TPDU_SIZE_CODE,
            tsdu: Vec::new(),
            tx: Vec::new(),
            indications: VecDeque::new(),
            close_tcp: false,
        }
    }

    /// Current state.
    pub fn state(&self) -> State {
        self.state
    }
    /// Negotiated TPDU size code.
    pub fn tpdu_size_code(&self) -> u8 {
        self.tpdu_size_code
    }
    /// Whether the TCP connection should now be closed (after sending [`Transport::transmit`]).
    pub fn wants_close(&self) -> bool {
        self.close_tcp
    }

    fn send(&mut self, tpdu: &Tpdu<'_>, flags: SendFlags) {
        let mut body = Vec::with_capacity(tpdu.buffer_len());
        tpdu.emit(&mut body);
        self.config.writer.write(&mut self.tx, &body, flags);
    }

    /// Octets to send on the TCP connection (drains the queue).
    pub fn transmit(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.tx)
    }

    /// Next upward indication.
    pub fn poll_indication(&mut self) -> Option<Indication> {
        self.indications.pop_front()
    }

    /// T-CONNECT request: send a CR to `called_tsap`.
    pub fn connect(&mut self, called_tsap: &[u8]) {
        let from = self.state;
        self.connect_step(called_tsap);
        self.observe(from, "T-CONNECT.request");
    }

    fn connect_step(&mut self, called_tsap: &[u8]) {
        assert_eq!(self.state, State::Idle, "T-CONNECT on a used transport");
        let size = [self.config.max_tpdu_size_code];
        let calling = self.config.local_tsap.clone();
        let cr = Tpdu::Cr(Connect {
            dst_ref: 0,
            src_ref: self.local_ref,
            class_option: 0,
            params: vec![
                Param {
                    code: param::CALLING_TSAP,
                    value: &calling,
                },
                Param {
                    code: param::CALLED_TSAP,
                    value: called_tsap,
                },
                Param {
                    code: param::TPDU_SIZE,
                    value: &size,
                },
            ],
            user_data: &[],
        });
        self.send(&cr, SendFlags::NONE);
        self.state = State::AwaitCc;
    }

    /// T-CONNECT response: accept the pending CR (sends the CC, echoing the TSAPs as Exchange does in
    /// KB Q151626's trace: calling, called, TPDU size).
    pub fn accept(&mut self, calling_tsap: &[u8], called_tsap: &[u8]) {
        let from = self.state;
        self.accept_step(calling_tsap, called_tsap);
        self.observe(from, "T-CONNECT.response");
    }

    fn accept_step(&mut self, calling_tsap: &[u8], called_tsap: &[u8]) {
        assert_eq!(self.state, State::AwaitAccept, "accept without a CR");
        let size = [self.tpdu_size_code];
        let cc = Tpdu::Cc(Connect {
            dst_ref: self.remote_ref,
            src_ref: self.local_ref,
            class_option: 0,
            params: vec![
                Param {
                    code: param::CALLING_TSAP,
                    value: calling_tsap,
                },
                Param {
                    code: param::CALLED_TSAP,
                    value: called_tsap,
                },
                Param {
                    code: param::TPDU_SIZE,
                    value: &size,
                },
            ],
            user_data: &[],
        });
        self.send(&cc, SendFlags::CONNECT_RESPONSE);
        self.state = State::Open;
    }

    /// Refuse the pending CR with a DR.
    pub fn refuse(&mut self, reason: u8) {
        let from = self.state;
        self.refuse_step(reason);
        self.observe(from, "T-DISCONNECT.request (refuse)");
    }

    fn refuse_step(&mut self, reason: u8) {
        assert_eq!(self.state, State::AwaitAccept, "refuse without a CR");
        let dr = Tpdu::Dr(Disconnect {
            dst_ref: self.remote_ref,
            src_ref: self.local_ref,
            reason,
            params: Vec::new(),
            user_data: &[],
        });
        self.send(&dr, SendFlags::CONNECT_RESPONSE);
        self.close(reason, None);
    }

    /// T-DATA request: send one TSDU, segmented into DTs of the negotiated size.
    pub fn send_tsdu(&mut self, tsdu: &[u8]) {
        let from = self.state;
        self.send_tsdu_step(tsdu);
        self.observe(from, "T-DATA.request");
    }

    fn send_tsdu_step(&mut self, tsdu: &[u8]) {
        assert_eq!(self.state, State::Open, "T-DATA outside data transfer");
        let room = tpdu_size(self.tpdu_size_code) - 3;
        let mut chunks = tsdu.chunks(room).peekable();
        if tsdu.is_empty() {
            self.send(
                &Tpdu::Dt {
                    eot: true,
                    data: &[],
                },
                SendFlags::NONE,
            );
        }
        while let Some(chunk) = chunks.next() {
            let eot = chunks.peek().is_none();
            self.send(&Tpdu::Dt { eot, data: chunk }, SendFlags::NONE);
        }
    }

    /// T-DISCONNECT request: send a DR (class 0 then closes TCP).
    pub fn disconnect(&mut self, reason: u8) {
        let from = self.state;
        self.disconnect_step(reason);
        self.observe(from, "T-DISCONNECT.request");
    }

    fn disconnect_step(&mut self, reason: u8) {
        if matches!(self.state, State::Open | State::AwaitCc) {
            let dr = Tpdu::Dr(Disconnect {
                dst_ref: self.remote_ref,
                src_ref: self.local_ref,
                reason,
                params: Vec::new(),
                user_data: &[],
            });
            self.send(&dr, SendFlags::NONE);
        }
        self.state = State::Closed;
        self.close_tcp = true;
    }

    /// Record the transition an input caused (`mta_reach`, protocol-state coverage).
    fn observe(&self, from: State, input: &'static str) {
        mta_reach::transition("cotp", from.name(), input, self.state.name());
    }

    fn close(&mut self, reason: u8, error: Option<Malformed>) {
        if self.state != State::Closed {
            self.state = State::Closed;
            self.close_tcp = true;
            self.indications
                .push_back(Indication::Disconnected { reason, error });
        }
    }

    fn protocol_error(&mut self, e: Malformed, tpdu: &[u8], cause: u8) {
        // X.224 class 0: answer an invalid TPDU with ER (carrying its header), then release.
        if self.state != State::Closed {
            let head = &tpdu[..tpdu.len().min(16)];
            let er = Tpdu::Er(ErrorTpdu {
                dst_ref: self.remote_ref,
                cause,
                params: vec![Param {
                    code: param::INVALID_TPDU,
                    value: head,
                }],
            });
            self.send(&er, SendFlags::NONE);
        }
        self.close(reason::PROTOCOL_ERROR, Some(e));
    }

    /// The TCP connection was closed by the peer.
    pub fn tcp_closed(&mut self) {
        let from = self.state;
        self.tcp_closed_step();
        self.observe(from, "TCP closed");
    }

    fn tcp_closed_step(&mut self) {
        self.close(reason::NOT_SPECIFIED, None);
    }

    /// Octets received on the TCP connection.
    pub fn receive(&mut self, bytes: &[u8]) {
        if self.state == State::Closed {
            return;
        }
        self.reassembler.push(bytes);
        loop {
            match self.reassembler.next_frame() {
                Ok(Some(frame)) => self.receive_tpdu(&frame.tpdu),
                Ok(None) => break,
                Err(e) => {
                    // Framing lost (or a strict reader refused the reserved octet): RFC 1006 can
                    // only drop the TCP connection.
                    let from = self.state;
                    self.close(reason::PROTOCOL_ERROR, Some(e));
                    self.observe(from, "TPKT framing error");
                    break;
                }
            }
            if self.state == State::Closed {
                break;
            }
        }
    }

    /// One TPDU whose TPKT a lower layer has already taken off (the MTA's NSI reassembles
    /// RFC 1006 framing once per connection and hands POP4 the TPDUs): the same class-0 handling
    /// as a TPDU out of [`Transport::receive`]'s own reassembler.
    pub fn receive_tpdu(&mut self, tpdu: &[u8]) {
        if self.state == State::Closed {
            return;
        }
        let from = self.state;
        self.on_tpdu(tpdu);
        self.observe(from, tpdu_kind(tpdu));
    }

    fn on_tpdu(&mut self, bytes: &[u8]) {
        let tpdu = match Tpdu::parse(bytes) {
            Ok(t) => t,
            Err(e) => {
                let c = if e.reason == "TPDU type not used in class 0" {
                    cause::INVALID_TPDU_TYPE
                } else {
                    cause::NOT_SPECIFIED
                };
                self.protocol_error(e, bytes, c);
                return;
            }
        };
        match (self.state, tpdu) {
            (State::Idle, Tpdu::Cr(cr)) => self.on_cr(&cr, bytes),
            (State::AwaitCc, Tpdu::Cc(cc)) => {
                if cc.class_option >> 4 != 0 {
                    self.disconnect_step(reason::NEGOTIATION_FAILED);
                    self.indications.push_back(Indication::Disconnected {
                        reason: reason::NEGOTIATION_FAILED,
                        error: Some(err(6, "CC selects a class other than 0")),
                    });
                    return;
                }
                let code = cc.tpdu_size_code().unwrap_or(DEFAULT_TPDU_SIZE_CODE);
                if !(DEFAULT_TPDU_SIZE_CODE..=self.config.max_tpdu_size_code).contains(&code) {
                    self.disconnect_step(reason::NEGOTIATION_FAILED);
                    self.indications.push_back(Indication::Disconnected {
                        reason: reason::NEGOTIATION_FAILED,
                        error: Some(err(7, "CC raises the TPDU size")),
                    });
                    return;
                }
                self.remote_ref = cc.src_ref;
                self.tpdu_size_code = code;
                self.state = State::Open;
                self.indications.push_back(Indication::Connected {
                    tpdu_size_code: code,
                });
            }
            (State::Open, Tpdu::Dt { eot, data }) => {
                if data.len() + 3 > tpdu_size(self.tpdu_size_code) {
                    self.protocol_error(
                        err(3, "DT larger than the negotiated TPDU size"),
                        bytes,
                        cause::NOT_SPECIFIED,
                    );
                    return;
                }
                if self.tsdu.len() + data.len() > self.config.max_tsdu {
                    self.protocol_error(
                        err(3, "TSDU exceeds the local limit"),
                        bytes,
                        cause::NOT_SPECIFIED,
                    );
                    return;
                }
                self.tsdu.extend_from_slice(data);
                if eot {
                    let tsdu = std::mem::take(&mut self.tsdu);
                    self.indications.push_back(Indication::Data(tsdu));
                }
            }
            (_, Tpdu::Dr(dr)) => self.close(dr.reason, None),
            (_, Tpdu::Er(_)) => self.close(reason::PROTOCOL_ERROR, None),
            (_, t) => {
                let _ = t;
                self.protocol_error(
                    err(1, "TPDU not expected in this state"),
                    bytes,
                    cause::INVALID_TPDU_TYPE,
                );
            }
        }
    }

    fn on_cr(&mut self, cr: &Connect<'_>, bytes: &[u8]) {
        self.remote_ref = cr.src_ref;
        if cr.class_option >> 4 != 0 && !cr.params.iter().any(|p| p.code == 0xc7) {
            // Class 0 only, and the initiator offered no alternative: refuse.
            self.state = State::AwaitAccept;
            self.refuse_step(reason::NEGOTIATION_FAILED);
            return;
        }
        if !cr.user_data.is_empty() {
            self.protocol_error(
                err(7, "class-0 CR carries user data"),
                bytes,
                cause::NOT_SPECIFIED,
            );
            return;
        }
        let code = match cr.params.iter().find(|p| p.code == param::TPDU_SIZE) {
            None => DEFAULT_TPDU_SIZE_CODE,
            Some(Param { value: [c], .. })
                if (DEFAULT_TPDU_SIZE_CODE..=MAX_TPDU_SIZE_CODE).contains(c) =>
            {
                *c
            }
            Some(_) => {
                self.protocol_error(
                    err(7, "invalid TPDU size parameter"),
                    bytes,
                    cause::INVALID_PARAMETER_VALUE,
                );
                return;
            }
        };
        self.tpdu_size_code = code.min(self.config.max_tpdu_size_code);
        self.state = State::AwaitAccept;
        self.indications.push_back(Indication::ConnectIndication {
            calling_tsap: cr.calling_tsap().unwrap_or_default().to_vec(),
            called_tsap: cr.called_tsap().unwrap_or_default().to_vec(),
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tpkt::{Packet, ReservedPolicy};
    use mta_build::{Build, Profile};

    /// KB Q151626's CONNECT CONFIRM, from the TPKT header on (frame offset 0x36).
    pub(crate) const KB_CC: [u8; 44] = [
        0x03, 0x11, 0x00, 0x2c, 0x27, 0xd0, 0x01, 0xca, 0x00, 0x29, 0x00, 0xc1, 0x0d, b'S', b'W',
        b'I', b'S', b'S', b'L', b'I', b'F', b'E', b'T', b'S', b'A', b'P', 0xc2, 0x0d, b'E', b'X',
        b'C', b'H', b'A', b'N', b'G', b'E', b'T', b'S', b'A', b'P', b'1', 0xc0, 0x01, 0x0b,
    ];

    #[test]
    fn kb_q151626_cc_parses_and_reemits_byte_identically() {
        let pkt = Packet::new_checked(&KB_CC[..], ReservedPolicy::Ignore).unwrap();
        assert_eq!(pkt.reserved(), 0x11);
        let Tpdu::Cc(cc) = Tpdu::parse(pkt.payload()).unwrap() else {
            panic!("not a CC")
        };
        assert_eq!(
            (cc.dst_ref, cc.src_ref, cc.class_option),
            (0x01ca, 0x0029, 0)
        );
        assert_eq!(cc.calling_tsap(), Some(&b"SWISSLIFETSAP"[..]));
        assert_eq!(cc.called_tsap(), Some(&b"EXCHANGETSAP1"[..]));
        assert_eq!(tpdu_size(cc.tpdu_size_code().unwrap()), 2048);
        // Re-emit through each build's writer: 4.0 reproduces the frame exactly; every other
        // build sends the same octets with the reserved octet cleared.
        let mut body = Vec::new();
        Tpdu::Cc(cc).emit(&mut body);
        for build in Build::ALL {
            let mut out = Vec::new();
            Writer::new(&Profile::of(build)).write(&mut out, &body, SendFlags::CONNECT_RESPONSE);
            let mut want = KB_CC;
            if build != Build::Ex40 {
                want[1] = 0;
            }
            assert_eq!(out, want, "{build}");
        }
        // A strict reader refuses it.
        assert!(Packet::new_checked(&KB_CC[..], ReservedPolicy::Reject).is_err());
    }

    #[test]
    fn ex40_responder_builds_the_kb_frame_from_a_cr() {
        // The foreign MTA's CR that would produce KB Q151626's CC (src-ref 0x01ca).
        let mut cr = Vec::new();
        Tpdu::Cr(Connect {
            dst_ref: 0,
            src_ref: 0x01ca,
            class_option: 0,
            params: vec![
                Param {
                    code: param::CALLING_TSAP,
                    value: b"SWISSLIFETSAP",
                },
                Param {
                    code: param::CALLED_TSAP,
                    value: b"EXCHANGETSAP1",
                },
                Param {
                    code: param::TPDU_SIZE,
                    value: &[11],
                },
            ],
            user_data: &[],
        })
        .emit(&mut cr);
        let mut wire = Vec::new();
        Writer::conforming().write(&mut wire, &cr, SendFlags::NONE);
        let mut cfg = Config::new(b"EXCHANGETSAP1");
        cfg.writer = Writer::new(&Profile::of(Build::Ex40));
        let mut t = Transport::new(cfg, 0x0029);
        t.receive(&wire);
        let Some(Indication::ConnectIndication {
            calling_tsap,
            called_tsap,
        }) = t.poll_indication()
        else {
            panic!("no connect indication")
        };
        t.accept(&calling_tsap, &called_tsap);
        assert_eq!(t.transmit(), KB_CC);
    }

    #[test]
    fn segmentation_and_reassembly() {
        let mut a = Transport::new(Config::new(b"A"), 1);
        let mut b = Transport::new(Config::new(b"B"), 2);
        a.connect(b"B");
        b.receive(&a.transmit());
        assert!(matches!(
            b.poll_indication(),
            Some(Indication::ConnectIndication { .. })
        ));
        b.accept(b"A", b"B");
        a.receive(&b.transmit());
        assert_eq!(
            a.poll_indication(),
            Some(Indication::Connected { tpdu_size_code: 11 })
        );
        let big: Vec<u8> = (0..10_000u32).map(|i| i as u8).collect();
        a.send_tsdu(&big);
        a.send_tsdu(&[]);
        let wire = a.transmit();
        for chunk in wire.chunks(7) {
            b.receive(chunk);
        }
        assert_eq!(b.poll_indication(), Some(Indication::Data(big)));
        assert_eq!(b.poll_indication(), Some(Indication::Data(Vec::new())));
        a.disconnect(reason::NORMAL);
        b.receive(&a.transmit());
        assert_eq!(
            b.poll_indication(),
            Some(Indication::Disconnected {
                reason: reason::NORMAL,
                error: None
            })
        );
    }

    #[test]
    fn invalid_tpdu_gets_an_er() {
        let mut t = Transport::new(Config::new(b"A"), 1);
        let mut wire = Vec::new();
        Writer::conforming().write(&mut wire, &[0x06, 0x10, 0, 0, 0, 0, 0], SendFlags::NONE);
        t.receive(&wire);
        assert_eq!(t.state(), State::Closed);
        let out = t.transmit();
        let p = Packet::new_checked(&out[..], ReservedPolicy::Reject).unwrap();
        let Tpdu::Er(er) = Tpdu::parse(p.payload()).unwrap() else {
            panic!()
        };
        assert_eq!(er.cause, cause::INVALID_TPDU_TYPE);
    }
}
