//! ISO 8327-1 / X.225 session protocol as X.400 uses it (kernel, half-duplex, minor synchronize,
//! activity management, exceptions — the functional units RTSE requires, 0x0249): the SPDU codec
//! (X.225 section 8) and the session protocol machine.
//!
//! An SPDU is `SI, LI, parameters[LI], user information` where LI is one octet (0–254) or `FF` and
//! two big-endian octets; the same length rule applies to every PGI/PI inside. User information
//! outside LI exists only for DT, EX and TD. One TSDU carries one category-1 SPDU alone, or a
//! category-0 SPDU (GT/PT) followed by a category-2 SPDU (X.225 6.3.7).
//!
//! The inbound path carries the names of the Exchange MTA routines in KB Q225157's stack as tracing
//! spans, so a fault in it is recognisable: `oppsin` (input from transport) → `oppsitps` (transport
//! service indication) → `oppssprc` (process SPDU) → `oppsstdt` (T-DATA handling) → `oppsscnc`
//! (connect handling).

use crate::{Layer, Malformed, Result};
use std::collections::VecDeque;

const fn err(offset: usize, reason: &'static str) -> Malformed {
    Malformed::new(Layer::Session, offset, reason)
}

/// SPDU identifiers (X.225 table 10; PROTOCOLS.md 3.2).
pub mod si {
    /// Give Tokens (category 0, first in a TSDU) / Data Transfer (category 2).
    pub const GT_DT: u8 = 1;
    /// Please Tokens (category 0).
    pub const PT: u8 = 2;
    /// Expedited.
    pub const EX: u8 = 5;
    /// Finish.
    pub const FN: u8 = 9;
    /// Disconnect.
    pub const DN: u8 = 10;
    /// Refuse.
    pub const RF: u8 = 12;
    /// Connect.
    pub const CN: u8 = 13;
    /// Accept.
    pub const AC: u8 = 14;
    /// Abort (category 1) / Activity Interrupt (category 2).
    pub const AB: u8 = 25;
    /// Abort Accept (category 1) / Activity Interrupt Ack.
    pub const AA: u8 = 26;
    /// Typed Data.
    pub const TD: u8 = 33;
    /// Major Sync Point / Activity End.
    pub const AE: u8 = 41;
    /// Major Sync Ack / Activity End Ack.
    pub const AEA: u8 = 42;
    /// Activity Start.
    pub const AS: u8 = 45;
    /// Minor Sync Point.
    pub const MIP: u8 = 49;
    /// Minor Sync Ack.
    pub const MIA: u8 = 50;
}

/// PGI / PI codes (X.225 8.3; PROTOCOLS.md 3.4).
pub mod pi {
    /// Connection Identifier (PGI).
    pub const CONNECTION_ID: u8 = 1;
    /// Connect/Accept Item (PGI).
    pub const CONNECT_ACCEPT: u8 = 5;
    /// Sync Type Item.
    pub const SYNC_TYPE: u8 = 15;
    /// Token Item.
    pub const TOKEN_ITEM: u8 = 16;
    /// Transport Disconnect.
    pub const TRANSPORT_DISCONNECT: u8 = 17;
    /// Protocol Options.
    pub const PROTOCOL_OPTIONS: u8 = 19;
    /// Session User Requirements.
    pub const REQUIREMENTS: u8 = 20;
    /// Version Number.
    pub const VERSION: u8 = 22;
    /// Initial Serial Number.
    pub const INITIAL_SERIAL: u8 = 23;
    /// Token Setting Item.
    pub const TOKEN_SETTING: u8 = 26;
    /// Linking Information (PGI).
    pub const LINKING: u8 = 33;
    /// Activity Identifier.
    pub const ACTIVITY_ID: u8 = 41;
    /// Serial Number.
    pub const SERIAL: u8 = 42;
    /// Reason Code.
    pub const REASON: u8 = 50;
    /// Calling Session Selector.
    pub const CALLING_SSEL: u8 = 51;
    /// Called / Responding Session Selector.
    pub const CALLED_SSEL: u8 = 52;
    /// User Data (PGI holding raw octets).
    pub const USER_DATA: u8 = 193;
    /// Extended User Data.
    pub const EXTENDED_USER_DATA: u8 = 194;
}

/// Functional units RTSE requires: half-duplex, minor synchronize, activity management,
/// exceptions (ISODE `RTS_MYREQUIRE`).
pub const RTSE_REQUIREMENTS: u16 = 0x0001 | 0x0008 | 0x0040 | 0x0200;

/// All tokens that exist under [`RTSE_REQUIREMENTS`]: data, minor-sync, major/activity.
pub const ALL_TOKENS: u8 = 0x01 | 0x04 | 0x10;

/// Refuse reasons (X.225 8.3.5.14).
pub mod refuse {
    /// Rejected by the SS-user.
    pub const BY_USER: u8 = 0;
    /// Session selector unknown.
    pub const SSEL_UNKNOWN: u8 = 129;
    /// Proposed protocol versions not supported.
    pub const VERSION: u8 = 132;
    /// Implementation restriction stated in the PICS.
    pub const RESTRICTION: u8 = 134;
}

/// PGI codes whose value is a list of PIs.
const fn is_pgi(code: u8) -> bool {
    matches!(code, pi::CONNECTION_ID | pi::CONNECT_ACCEPT | pi::LINKING)
}

/// Value of a parameter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value<'a> {
    /// PI (or a user-data PGI): raw octets.
    Octets(&'a [u8]),
    /// PGI: nested PIs.
    Group(Vec<Param<'a>>),
}

/// One PGI or PI unit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Param<'a> {
    /// Code.
    pub code: u8,
    /// The length was sent in the 3-octet form (kept so emit is byte-identical).
    pub long_len: bool,
    /// Value.
    pub value: Value<'a>,
}

impl<'a> Param<'a> {
    /// A PI with a short length where possible.
    pub fn octets(code: u8, value: &'a [u8]) -> Self {
        Param {
            code,
            long_len: value.len() > 254,
            value: Value::Octets(value),
        }
    }
    /// A PGI.
    pub fn group(code: u8, params: Vec<Param<'a>>) -> Self {
        let long_len = params_len(&params) > 254;
        Param {
            code,
            long_len,
            value: Value::Group(params),
        }
    }
    fn value_len(&self) -> usize {
        match &self.value {
            Value::Octets(v) => v.len(),
            Value::Group(g) => params_len(g),
        }
    }
    fn encoded_len(&self) -> usize {
        1 + if self.long_len { 3 } else { 1 } + self.value_len()
    }
}

fn params_len(params: &[Param<'_>]) -> usize {
    params.iter().map(Param::encoded_len).sum()
}

/// Read a length at `pos` (1 or 3 octets). Returns (length, long form, octets used).
fn read_len(b: &[u8], pos: usize) -> Result<(usize, bool, usize)> {
    match b.get(pos) {
        None => Err(err(pos, "truncated length")),
        Some(0xff) => {
            if pos + 3 > b.len() {
                return Err(err(pos, "truncated 3-octet length"));
            }
            mta_reach::reach!("session: three-octet length");
            let v = usize::from(u16::from_be_bytes([b[pos + 1], b[pos + 2]]));
            if v <= 254 {
                mta_reach::reach!("session: three-octet form of a short length");
            }
            Ok((v, true, 3))
        }
        Some(&v) => Ok((usize::from(v), false, 1)),
    }
}

fn write_len(out: &mut Vec<u8>, len: usize, long: bool) {
    assert!(len <= 0xffff, "session length {len}");
    if long || len > 254 {
        out.push(0xff);
        out.extend_from_slice(&(len as u16).to_be_bytes());
    } else {
        out.push(len as u8);
    }
}

fn parse_params(b: &[u8], base: usize, nested: bool) -> Result<Vec<Param<'_>>> {
    let mut out = Vec::new();
    let mut pos = 0;
    while pos < b.len() {
        let code = b[pos];
        let (len, long_len, n) = read_len(b, pos + 1).map_err(|e| e.shifted(base))?;
        let start = pos + 1 + n;
        if start + len > b.len() {
            return Err(err(base + pos + 1, "parameter overruns its container"));
        }
        let raw = &b[start..start + len];
        let value = if is_pgi(code) && !nested {
            Value::Group(parse_params(raw, base + start, true)?)
        } else if is_pgi(code) {
            return Err(err(base + pos, "PGI nested in a PGI"));
        } else {
            Value::Octets(raw)
        };
        out.push(Param {
            code,
            long_len,
            value,
        });
        pos = start + len;
    }
    Ok(out)
}

fn emit_params(out: &mut Vec<u8>, params: &[Param<'_>]) {
    for p in params {
        out.push(p.code);
        write_len(out, p.value_len(), p.long_len);
        match &p.value {
            Value::Octets(v) => out.extend_from_slice(v),
            Value::Group(g) => emit_params(out, g),
        }
    }
}

/// One SPDU, borrowing from its TSDU.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Spdu<'a> {
    /// SPDU identifier.
    pub si: u8,
    /// LI was sent in the 3-octet form.
    pub long_len: bool,
    /// Parameter field.
    pub params: Vec<Param<'a>>,
    /// User information field (DT, EX, TD only).
    pub user_info: &'a [u8],
}

impl<'a> Spdu<'a> {
    /// An SPDU with short LI.
    pub fn new(si: u8, params: Vec<Param<'a>>) -> Self {
        let long_len = params_len(&params) > 254;
        Spdu {
            si,
            long_len,
            params,
            user_info: &[],
        }
    }

    /// First PI with `code`, at top level or inside a PGI.
    pub fn pi(&self, code: u8) -> Option<&'a [u8]> {
        fn find<'a>(ps: &[Param<'a>], code: u8) -> Option<&'a [u8]> {
            for p in ps {
                match &p.value {
                    Value::Octets(v) if p.code == code => return Some(v),
                    Value::Group(g) => {
                        if let Some(v) = find(g, code) {
                            return Some(v);
                        }
                    }
                    Value::Octets(_) => {}
                }
            }
            None
        }
        find(&self.params, code)
    }

    /// User data (PGI 193 or 194) of a category-1 SPDU.
    pub fn user_data(&self) -> &'a [u8] {
        self.pi(pi::USER_DATA)
            .or_else(|| self.pi(pi::EXTENDED_USER_DATA))
            .unwrap_or_default()
    }

    /// Octets [`Spdu::emit`] appends.
    pub fn buffer_len(&self) -> usize {
        let p = params_len(&self.params);
        1 + if self.long_len || p > 254 { 3 } else { 1 } + p + self.user_info.len()
    }

    /// Append the encoding.
    pub fn emit(&self, out: &mut Vec<u8>) {
        out.push(self.si);
        write_len(out, params_len(&self.params), self.long_len);
        emit_params(out, &self.params);
        out.extend_from_slice(self.user_info);
    }
}

/// Whether an SPDU with this identifier, not first in its TSDU, has a user information field.
const fn has_user_info(si: u8) -> bool {
    matches!(si, si::GT_DT | si::EX | si::TD)
}

/// A TSDU: its SPDUs in order. The first SPDU with SI 1 or 2 is the category-0 GT/PT.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tsdu<'a> {
    /// The SPDUs.
    pub spdus: Vec<Spdu<'a>>,
}

impl<'a> Tsdu<'a> {
    /// Parse a whole TSDU.
    pub fn parse(b: &'a [u8]) -> Result<Tsdu<'a>> {
        if b.is_empty() {
            return Err(err(0, "empty TSDU"));
        }
        let mut spdus = Vec::new();
        let mut pos = 0;
        while pos < b.len() {
            let si = b[pos];
            let (li, long_len, n) = read_len(b, pos + 1)?;
            let pstart = pos + 1 + n;
            if pstart + li > b.len() {
                return Err(err(pos + 1, "LI exceeds the TSDU"));
            }
            let params = parse_params(&b[pstart..pstart + li], pstart, false)?;
            let first = pos == 0;
            let category0 = first && matches!(si, si::GT_DT | si::PT);
            let end = pstart + li;
            let user_info = if !category0 && has_user_info(si) {
                &b[end..]
            } else {
                &[]
            };
            spdus.push(Spdu {
                si,
                long_len,
                params,
                user_info,
            });
            pos = end + user_info.len();
        }
        Ok(Tsdu { spdus })
    }

    /// Append the encoding.
    pub fn emit(&self, out: &mut Vec<u8>) {
        for s in &self.spdus {
            s.emit(out);
        }
    }

    /// Analyzer-style name of the SPDU at `index`.
    pub fn name(&self, index: usize) -> &'static str {
        let s = &self.spdus[index];
        spdu_name(s.si, index == 0 && self.spdus.len() > 1, s)
    }
}

/// Name of an SPDU; `category0` when it is the GT/PT that starts a concatenated TSDU.
pub fn spdu_name(si: u8, category0: bool, s: &Spdu<'_>) -> &'static str {
    match si {
        si::GT_DT if category0 || s.pi(pi::TOKEN_ITEM).is_some() => "GIVE TOKENS",
        si::AE if s.pi(pi::SYNC_TYPE).is_some_and(|v| v.first() == Some(&1)) => "MAJOR SYNC POINT",
        _ => si_name(si),
    }
}

/// Name of an SPDU by its identifier alone (ISO 8327 8.3, table 4; for SI 1 and 9, which two
/// SPDUs share, the name without parameters: DATA TRANSFER, ACTIVITY END).
pub fn si_name(si: u8) -> &'static str {
    match si {
        si::GT_DT => "DATA TRANSFER",
        si::PT => "PLEASE TOKENS",
        si::EX => "EXPEDITED",
        si::FN => "FINISH",
        si::DN => "DISCONNECT",
        si::RF => "REFUSE",
        si::CN => "CONNECT",
        si::AC => "ACCEPT",
        si::AB => "ABORT",
        si::AA => "ABORT ACCEPT",
        si::TD => "TYPED DATA",
        si::AE => "ACTIVITY END",
        si::AEA => "ACTIVITY END ACK",
        si::AS => "ACTIVITY START",
        si::MIP => "MINOR SYNC POINT",
        si::MIA => "MINOR SYNC ACK",
        _ => "unknown SPDU",
    }
}

/// Serial numbers are up to six ASCII decimal digits (X.225 8.3.3.x).
pub fn serial_to_ascii(n: u32) -> Vec<u8> {
    (n % 1_000_000).to_string().into_bytes()
}

/// Parse an ASCII serial number.
pub fn serial_from_ascii(v: &[u8]) -> Option<u32> {
    if v.is_empty() || v.len() > 6 || !v.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(v).ok()?.parse().ok()
}

/// Session-end configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// Our session selector (calling when initiating; expected called when responding, empty = any).
    pub local_ssel: Vec<u8>,
    /// Versions we support (bit 0x01 v1, 0x02 v2).
    pub versions: u8,
    /// Functional units we require.
    pub requirements: u16,
}

impl Config {
    /// Versions 1 and 2, RTSE's functional units.
    pub fn new(local_ssel: &[u8]) -> Self {
        Config {
            local_ssel: local_ssel.to_vec(),
            versions: 0x03,
            requirements: RTSE_REQUIREMENTS,
        }
    }
}

/// Session protocol machine state (X.225 annex A, the subset X.400 reaches).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    /// No connection.
    Idle,
    /// CN sent (STA02A).
    AwaitAc,
    /// CN received, waiting for the SS-user (STA08).
    AwaitAccept,
    /// Data transfer (STA713).
    Open,
    /// FN sent, waiting for DN (STA03).
    AwaitDn,
    /// FN received, waiting for the SS-user's release response (STA09).
    AwaitRelease,
    /// Released, refused or aborted.
    Closed,
}

impl State {
    /// The state's name in ISO 8327-1's state table (annex A): STA01 idle, STA02A awaiting AC,
    /// STA08 awaiting S-CONNECT response, STA713 data transfer, STA03 awaiting DN, STA09 awaiting
    /// S-RELEASE response (a released, refused or aborted connection is STA01 again).
    pub fn name(self) -> &'static str {
        match self {
            State::Idle | State::Closed => "STA01",
            State::AwaitAc => "STA02A",
            State::AwaitAccept => "STA08",
            State::Open => "STA713",
            State::AwaitDn => "STA03",
            State::AwaitRelease => "STA09",
        }
    }
}

/// What the session protocol machine reports to its user (presentation).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Indication {
    /// S-CONNECT indication.
    Connect {
        /// Calling SSEL.
        calling_ssel: Vec<u8>,
        /// Called SSEL.
        called_ssel: Vec<u8>,
        /// Negotiated version (1 or 2).
        version: u8,
        /// User data.
        user_data: Vec<u8>,
    },
    /// S-CONNECT confirm, accepted.
    Accepted {
        /// Selected version.
        version: u8,
        /// User data.
        user_data: Vec<u8>,
    },
    /// S-CONNECT confirm, refused (RF).
    Refused {
        /// Reason code.
        reason: u8,
        /// User data after the reason octet.
        user_data: Vec<u8>,
    },
    /// S-ACTIVITY-START.
    ActivityStart {
        /// Activity identifier.
        id: Vec<u8>,
    },
    /// S-DATA.
    Data(Vec<u8>),
    /// S-SYNC-MINOR indication.
    MinorSync {
        /// Serial number.
        serial: u32,
    },
    /// S-SYNC-MINOR confirm.
    MinorSyncAck {
        /// Serial number.
        serial: u32,
    },
    /// S-ACTIVITY-END indication.
    ActivityEnd {
        /// Serial number.
        serial: u32,
    },
    /// S-ACTIVITY-END confirm.
    ActivityEndAck {
        /// Serial number.
        serial: u32,
    },
    /// S-TOKEN-GIVE indication: we now hold the tokens.
    TokensGiven,
    /// S-TOKEN-PLEASE indication.
    TokensRequested {
        /// User data (RTSE's RTTP).
        user_data: Vec<u8>,
    },
    /// S-RELEASE indication (FN).
    Release {
        /// User data.
        user_data: Vec<u8>,
    },
    /// S-RELEASE confirm (DN).
    Released {
        /// User data.
        user_data: Vec<u8>,
    },
    /// S-U-ABORT / S-P-ABORT indication.
    Abort {
        /// User data (empty for a provider abort).
        user_data: Vec<u8>,
        /// The protocol error behind a provider abort.
        error: Option<Malformed>,
    },
}

/// A T-DATA indication as the transport hands it to the session entity: the TSDU octets and the
/// length the transport declares for them. On the TCP path the two always agree (COTP reassembly
/// builds the TSDU); the X.25 adapter of the MTA-core model passes the third-party transport's
/// declared length up, checked only from 5.5 SP3 on (KB Q225157).
#[derive(Debug, Clone, Copy)]
pub struct TData<'a> {
    /// The TSDU.
    pub data: &'a [u8],
    /// Length the transport declares.
    pub declared_len: usize,
}

impl<'a> TData<'a> {
    /// A TSDU whose declared length is its real length.
    pub fn new(data: &'a [u8]) -> Self {
        TData {
            data,
            declared_len: data.len(),
        }
    }
}

/// The session protocol machine of one connection.
#[derive(Debug, Clone)]
pub struct Session {
    config: Config,
    state: State,
    version: u8,
    holds_tokens: bool,
    activity: bool,
    next_serial: u32,
    tx: VecDeque<Vec<u8>>,
    indications: VecDeque<Indication>,
    disconnect_transport: bool,
}

fn tsdu_of(spdus: Vec<Spdu<'_>>) -> Vec<u8> {
    let t = Tsdu { spdus };
    let mut out = Vec::new();
    t.emit(&mut out);
    out
}

/// Append the User Data PGI when there is user data (an empty PGI 193 is legal but Wireshark's
/// presentation dissector rejects a zero-length PPDU).
fn with_user_data<'a>(mut params: Vec<Param<'a>>, user_data: &'a [u8]) -> Vec<Param<'a>> {
    if !user_data.is_empty() {
        params.push(Param::octets(pi::USER_DATA, user_data));
    }
    params
}

/// Empty GT that precedes every category-2 SPDU (X.225 6.3.7).
fn gt() -> Spdu<'static> {
    Spdu::new(si::GT_DT, Vec::new())
}

fn serial_param(serial: &[u8]) -> Param<'_> {
    Param::octets(pi::SERIAL, serial)
}

impl Session {
    /// A session end. The initiator holds all tokens at connect (token setting 0: initiator side).
    pub fn new(config: Config) -> Self {
        Session {
            config,
            state: State::Idle,
            version: 2,
            holds_tokens: false,
            activity: false,
            next_serial: 1,
            tx: VecDeque::new(),
            indications: VecDeque::new(),
            disconnect_transport: false,
        }
    }

    /// Current state.
    pub fn state(&self) -> State {
        self.state
    }
    /// Whether we hold the data/sync/activity tokens.
    pub fn holds_tokens(&self) -> bool {
        self.holds_tokens
    }
    /// Negotiated version.
    pub fn version(&self) -> u8 {
        self.version
    }
    /// The next TSDU to send.
    pub fn poll_tsdu(&mut self) -> Option<Vec<u8>> {
        self.tx.pop_front()
    }
    /// Next indication.
    pub fn poll_indication(&mut self) -> Option<Indication> {
        self.indications.pop_front()
    }
    /// Whether the transport connection should be released once the queued TSDUs are sent.
    pub fn wants_transport_disconnect(&self) -> bool {
        self.disconnect_transport
    }

    /// S-CONNECT request.
    pub fn connect(&mut self, called_ssel: &[u8], user_data: &[u8]) {
        let from = self.state;
        self.connect_step(called_ssel, user_data);
        self.observe(from, "S-CONNECT.request");
    }

    fn connect_step(&mut self, called_ssel: &[u8], user_data: &[u8]) {
        assert_eq!(self.state, State::Idle, "S-CONNECT twice");
        let versions = [self.config.versions];
        let req = self.config.requirements.to_be_bytes();
        let calling = self.config.local_ssel.clone();
        let cn = Spdu::new(
            si::CN,
            vec![
                Param::group(
                    pi::CONNECT_ACCEPT,
                    vec![
                        Param::octets(pi::PROTOCOL_OPTIONS, &[0]),
                        Param::octets(pi::VERSION, &versions),
                        Param::octets(pi::INITIAL_SERIAL, b"1"),
                        Param::octets(pi::TOKEN_SETTING, &[0]),
                    ],
                ),
                Param::octets(pi::REQUIREMENTS, &req),
                Param::octets(pi::CALLING_SSEL, &calling),
                Param::octets(pi::CALLED_SSEL, called_ssel),
                Param::octets(pi::USER_DATA, user_data),
            ],
        );
        self.tx.push_back(tsdu_of(vec![cn]));
        self.state = State::AwaitAc;
    }

    /// S-CONNECT response, accept (sends AC).
    pub fn accept(&mut self, user_data: &[u8]) {
        let from = self.state;
        self.accept_step(user_data);
        self.observe(from, "S-CONNECT.response (accept)");
    }

    fn accept_step(&mut self, user_data: &[u8]) {
        assert_eq!(self.state, State::AwaitAccept, "accept without CN");
        let version = [self.version_bit()];
        let req = self.config.requirements.to_be_bytes();
        let ssel = self.config.local_ssel.clone();
        let ac = Spdu::new(
            si::AC,
            vec![
                Param::group(
                    pi::CONNECT_ACCEPT,
                    vec![
                        Param::octets(pi::PROTOCOL_OPTIONS, &[0]),
                        Param::octets(pi::VERSION, &version),
                        Param::octets(pi::INITIAL_SERIAL, b"1"),
                    ],
                ),
                Param::octets(pi::REQUIREMENTS, &req),
                Param::octets(pi::CALLED_SSEL, &ssel),
                Param::octets(pi::USER_DATA, user_data),
            ],
        );
        self.tx.push_back(tsdu_of(vec![ac]));
        self.state = State::Open;
        self.holds_tokens = false;
    }

    fn version_bit(&self) -> u8 {
        if self.version == 2 { 0x02 } else { 0x01 }
    }

    /// S-CONNECT response, refuse (sends RF; the transport is released).
    pub fn refuse(&mut self, reason: u8, user_data: &[u8]) {
        let from = self.state;
        self.refuse_step(reason, user_data);
        self.observe(from, "S-CONNECT.response (refuse)");
    }

    fn refuse_step(&mut self, reason: u8, user_data: &[u8]) {
        let mut rc = vec![reason];
        rc.extend_from_slice(user_data);
        let rf = Spdu::new(
            si::RF,
            vec![
                Param::octets(pi::TRANSPORT_DISCONNECT, &[0x01]),
                Param::octets(pi::REASON, &rc),
            ],
        );
        self.tx.push_back(tsdu_of(vec![rf]));
        self.state = State::Closed;
        self.disconnect_transport = true;
    }

    fn require_tokens(&self, what: &str) {
        assert!(
            self.state == State::Open && self.holds_tokens,
            "{what} without the tokens in state {:?}",
            self.state
        );
    }

    /// S-ACTIVITY-START request.
    pub fn activity_start(&mut self, id: &[u8]) {
        let from = self.state;
        self.activity_start_step(id);
        self.observe(from, "S-ACTIVITY-START.request");
    }

    fn activity_start_step(&mut self, id: &[u8]) {
        self.require_tokens("S-ACTIVITY-START");
        assert!(!self.activity, "activity already in progress");
        self.activity = true;
        self.next_serial = 1;
        let s = Spdu::new(si::AS, vec![Param::octets(pi::ACTIVITY_ID, id)]);
        self.tx.push_back(tsdu_of(vec![gt(), s]));
    }

    /// S-DATA request.
    pub fn data(&mut self, data: &[u8]) {
        let from = self.state;
        self.data_step(data);
        self.observe(from, "S-DATA.request");
    }

    fn data_step(&mut self, data: &[u8]) {
        self.require_tokens("S-DATA");
        let mut dt = Spdu::new(si::GT_DT, Vec::new());
        dt.user_info = data;
        self.tx.push_back(tsdu_of(vec![gt(), dt]));
    }

    /// S-SYNC-MINOR request (explicit confirmation); returns the serial number.
    pub fn minor_sync(&mut self) -> u32 {
        let from = self.state;
        let r = self.minor_sync_step();
        self.observe(from, "S-SYNC-MINOR.request");
        r
    }

    fn minor_sync_step(&mut self) -> u32 {
        self.require_tokens("S-SYNC-MINOR");
        let serial = self.next_serial;
        self.next_serial += 1;
        let sn = serial_to_ascii(serial);
        let s = Spdu::new(si::MIP, vec![serial_param(&sn)]);
        self.tx.push_back(tsdu_of(vec![gt(), s]));
        serial
    }

    /// S-SYNC-MINOR response.
    pub fn minor_sync_ack(&mut self, serial: u32) {
        let from = self.state;
        self.minor_sync_ack_step(serial);
        self.observe(from, "S-SYNC-MINOR.response");
    }

    fn minor_sync_ack_step(&mut self, serial: u32) {
        let sn = serial_to_ascii(serial);
        let s = Spdu::new(si::MIA, vec![serial_param(&sn)]);
        self.tx.push_back(tsdu_of(vec![gt(), s]));
    }

    /// S-ACTIVITY-END request; returns the serial number.
    pub fn activity_end(&mut self) -> u32 {
        let from = self.state;
        let r = self.activity_end_step();
        self.observe(from, "S-ACTIVITY-END.request");
        r
    }

    fn activity_end_step(&mut self) -> u32 {
        self.require_tokens("S-ACTIVITY-END");
        assert!(self.activity, "no activity");
        let serial = self.next_serial;
        self.next_serial += 1;
        let sn = serial_to_ascii(serial);
        let s = Spdu::new(si::AE, vec![serial_param(&sn)]);
        self.tx.push_back(tsdu_of(vec![gt(), s]));
        serial
    }

    /// S-ACTIVITY-END response.
    pub fn activity_end_ack(&mut self, serial: u32) {
        let from = self.state;
        self.activity_end_ack_step(serial);
        self.observe(from, "S-ACTIVITY-END.response");
    }

    fn activity_end_ack_step(&mut self, serial: u32) {
        self.activity = false;
        let sn = serial_to_ascii(serial);
        let s = Spdu::new(si::AEA, vec![serial_param(&sn)]);
        self.tx.push_back(tsdu_of(vec![gt(), s]));
    }

    /// S-TOKEN-GIVE request: pass all tokens to the peer.
    pub fn give_tokens(&mut self) {
        let from = self.state;
        self.give_tokens_step();
        self.observe(from, "S-TOKEN-GIVE.request");
    }

    fn give_tokens_step(&mut self) {
        self.require_tokens("S-TOKEN-GIVE");
        let g = Spdu::new(
            si::GT_DT,
            vec![Param::octets(pi::TOKEN_ITEM, &[ALL_TOKENS])],
        );
        self.tx.push_back(tsdu_of(vec![g]));
        self.holds_tokens = false;
    }

    /// S-TOKEN-PLEASE request with user data.
    pub fn please_tokens(&mut self, user_data: &[u8]) {
        let from = self.state;
        self.please_tokens_step(user_data);
        self.observe(from, "S-TOKEN-PLEASE.request");
    }

    fn please_tokens_step(&mut self, user_data: &[u8]) {
        assert_eq!(
            self.state,
            State::Open,
            "S-TOKEN-PLEASE outside data transfer"
        );
        let p = Spdu::new(
            si::PT,
            vec![
                Param::octets(pi::TOKEN_ITEM, &[ALL_TOKENS]),
                Param::octets(pi::USER_DATA, user_data),
            ],
        );
        self.tx.push_back(tsdu_of(vec![p]));
    }

    /// S-RELEASE request (FN, transport to be released).
    pub fn release(&mut self, user_data: &[u8]) {
        let from = self.state;
        self.release_step(user_data);
        self.observe(from, "S-RELEASE.request");
    }

    fn release_step(&mut self, user_data: &[u8]) {
        self.require_tokens("S-RELEASE");
        let f = Spdu::new(
            si::FN,
            with_user_data(
                vec![Param::octets(pi::TRANSPORT_DISCONNECT, &[0x01])],
                user_data,
            ),
        );
        self.tx.push_back(tsdu_of(vec![f]));
        self.state = State::AwaitDn;
    }

    /// S-RELEASE response (DN).
    pub fn released(&mut self, user_data: &[u8]) {
        let from = self.state;
        self.released_step(user_data);
        self.observe(from, "S-RELEASE.response");
    }

    fn released_step(&mut self, user_data: &[u8]) {
        assert_eq!(
            self.state,
            State::AwaitRelease,
            "release response without FN"
        );
        let d = Spdu::new(si::DN, with_user_data(Vec::new(), user_data));
        self.tx.push_back(tsdu_of(vec![d]));
        self.state = State::Closed;
    }

    /// S-U-ABORT request (AB releasing the transport).
    pub fn abort(&mut self, user_data: &[u8]) {
        let from = self.state;
        self.abort_step(user_data);
        self.observe(from, "S-U-ABORT.request");
    }

    fn abort_step(&mut self, user_data: &[u8]) {
        if self.state == State::Closed {
            return;
        }
        let a = Spdu::new(
            si::AB,
            with_user_data(
                vec![Param::octets(pi::TRANSPORT_DISCONNECT, &[0x0b])],
                user_data,
            ),
        );
        self.tx.push_back(tsdu_of(vec![a]));
        self.state = State::Closed;
        self.disconnect_transport = true;
    }

    /// The transport connection was lost.
    pub fn transport_disconnected(&mut self) {
        let from = self.state;
        self.transport_disconnected_step();
        self.observe(from, "T-DISCONNECT.indication");
    }

    fn transport_disconnected_step(&mut self) {
        if !matches!(self.state, State::Closed | State::Idle) {
            self.state = State::Closed;
            self.indications.push_back(Indication::Abort {
                user_data: Vec::new(),
                error: None,
            });
        }
        self.state = State::Closed;
    }

    /// Record the transition an input caused (`mta_reach`, protocol-state coverage).
    fn observe(&self, from: State, input: &'static str) {
        mta_reach::transition("session", from.name(), input, self.state.name());
    }

    fn provider_abort(&mut self, e: Malformed) {
        // X.225 protocol error: send AB (protocol error, release TC) and tell the user.
        if self.state != State::Closed {
            let a = Spdu::new(
                si::AB,
                vec![Param::octets(pi::TRANSPORT_DISCONNECT, &[0x05])],
            );
            self.tx.push_back(tsdu_of(vec![a]));
            self.state = State::Closed;
            self.disconnect_transport = true;
            self.indications.push_back(Indication::Abort {
                user_data: Vec::new(),
                error: Some(e),
            });
        }
    }

    /// T-DATA indication from the transport (span `oppsin`: input from transport).
    pub fn input(&mut self, t: TData<'_>) {
        let _span = tracing::trace_span!("oppsin", layer = "session input").entered();
        if self.state == State::Closed {
            return;
        }
        self.input_transport_service(t);
    }

    /// Transport service indication (span `oppsitps`): parse the TSDU into SPDUs.
    fn input_transport_service(&mut self, t: TData<'_>) {
        let _span = tracing::trace_span!("oppsitps").entered();
        let tsdu = match Tsdu::parse(t.data) {
            Ok(tsdu) => tsdu,
            Err(e) => {
                let from = self.state;
                self.provider_abort(e);
                return self.observe(from, "malformed TSDU");
            }
        };
        let n = tsdu.spdus.len();
        let concatenated = n == 2 && matches!(tsdu.spdus[0].si, si::GT_DT | si::PT);
        if n > 2 || (n == 2 && !concatenated) {
            return self.provider_abort(err(0, "invalid SPDU concatenation"));
        }
        if concatenated {
            let cat0 = &tsdu.spdus[0];
            if cat0.si == si::PT || cat0.pi(pi::TOKEN_ITEM).is_some() || !cat0.params.is_empty() {
                return self.provider_abort(err(0, "category-0 SPDU with parameters before data"));
            }
        }
        let spdu = tsdu.spdus.last().expect("parse returns at least one SPDU");
        self.process_spdu(spdu, concatenated, t);
    }

    /// Process one SPDU (span `oppssprc`), recording the transition it caused.
    fn process_spdu(&mut self, s: &Spdu<'_>, concatenated: bool, t: TData<'_>) {
        let from = self.state;
        self.process_spdu_step(s, concatenated, t);
        self.observe(from, spdu_name(s.si, false, s));
    }

    fn process_spdu_step(&mut self, s: &Spdu<'_>, concatenated: bool, t: TData<'_>) {
        let _span = tracing::trace_span!("oppssprc", si = s.si).entered();
        match (self.state, s.si, concatenated) {
            (State::Idle, si::CN, false) => self.t_data(s, t),
            (State::AwaitAc, si::AC, false) => self.on_ac(s),
            (State::AwaitAc, si::RF, false) => {
                mta_reach::reach!("session: refuse received");
                let rc = s.pi(pi::REASON).unwrap_or_default();
                self.state = State::Closed;
                self.indications.push_back(Indication::Refused {
                    reason: rc.first().copied().unwrap_or(0),
                    user_data: rc.get(1..).unwrap_or_default().to_vec(),
                });
            }
            (State::Open, si::GT_DT, false) if s.pi(pi::TOKEN_ITEM).is_some() => {
                self.holds_tokens = true;
                self.indications.push_back(Indication::TokensGiven);
            }
            (State::Open, si::PT, false) => {
                self.indications.push_back(Indication::TokensRequested {
                    user_data: s.user_data().to_vec(),
                });
            }
            (State::Open, code, true) => self.on_category2(code, s),
            (State::Open, si::FN, false) if !self.holds_tokens => {
                self.state = State::AwaitRelease;
                self.indications.push_back(Indication::Release {
                    user_data: s.user_data().to_vec(),
                });
            }
            (State::AwaitDn, si::DN, false) => {
                self.state = State::Closed;
                self.disconnect_transport = true;
                self.indications.push_back(Indication::Released {
                    user_data: s.user_data().to_vec(),
                });
            }
            (_, si::AB, false) => {
                if self.state == State::Open {
                    mta_reach::reach!("session: abort received");
                }
                self.state = State::Closed;
                self.indications.push_back(Indication::Abort {
                    user_data: s.user_data().to_vec(),
                    error: None,
                });
            }
            _ => self.provider_abort(err(0, "SPDU not expected in this state")),
        }
    }

    fn on_category2(&mut self, code: u8, s: &Spdu<'_>) {
        let serial = || s.pi(pi::SERIAL).and_then(serial_from_ascii);
        let receiving = !self.holds_tokens;
        let ind = match code {
            si::AS if receiving && !self.activity => {
                self.activity = true;
                Indication::ActivityStart {
                    id: s.pi(pi::ACTIVITY_ID).unwrap_or_default().to_vec(),
                }
            }
            si::GT_DT if receiving => Indication::Data(s.user_info.to_vec()),
            si::MIP if receiving && self.activity => match serial() {
                Some(serial) => Indication::MinorSync { serial },
                None => return self.provider_abort(err(2, "MIP without a valid serial number")),
            },
            si::AE if receiving && self.activity && s.pi(pi::SYNC_TYPE).is_none() => {
                match serial() {
                    Some(serial) => {
                        self.activity = false;
                        Indication::ActivityEnd { serial }
                    }
                    None => {
                        return self.provider_abort(err(2, "AE without a valid serial number"));
                    }
                }
            }
            si::MIA if !receiving => match serial() {
                Some(serial) => Indication::MinorSyncAck { serial },
                None => return self.provider_abort(err(2, "MIA without a valid serial number")),
            },
            si::AEA if !receiving => match serial() {
                Some(serial) => {
                    self.activity = false;
                    Indication::ActivityEndAck { serial }
                }
                None => return self.provider_abort(err(2, "AEA without a valid serial number")),
            },
            _ => return self.provider_abort(err(0, "category-2 SPDU not allowed now")),
        };
        self.indications.push_back(ind);
    }

    /// T-DATA carrying a CN in the idle state (span `oppsstdt`).
    fn t_data(&mut self, s: &Spdu<'_>, t: TData<'_>) {
        let _span = tracing::trace_span!("oppsstdt").entered();
        self.connect_handling(s, t);
    }

    /// Connect handling (span `oppsscnc`): negotiate version and functional units, check the
    /// called SSEL, and copy the connect user data out of the TSDU.
    fn connect_handling(&mut self, s: &Spdu<'_>, t: TData<'_>) {
        let _span = tracing::trace_span!("oppsscnc").entered();
        // The connect data is taken from the TSDU as the transport declared it: the user data PGI
        // is the last unit of a CN, so it runs to the declared end of the TSDU. The TCP path
        // guarantees declared == real length; a transport that declares more than it delivered
        // faults here (KB Q225157's frame `oppsscnc`).
        let user_data = match s.pi(pi::USER_DATA).or_else(|| s.pi(pi::EXTENDED_USER_DATA)) {
            Some(user) => {
                let start = user.as_ptr() as usize - t.data.as_ptr() as usize;
                let end = (start + user.len() + t.declared_len).wrapping_sub(t.data.len());
                t.data[start..end].to_vec()
            }
            None => Vec::new(),
        };
        let proposed = s
            .pi(pi::VERSION)
            .and_then(|v| v.first().copied())
            .unwrap_or(1);
        let common = proposed & self.config.versions;
        if common == 0 {
            return self.refuse(refuse::VERSION, &[]);
        }
        self.version = if common & 0x02 != 0 { 2 } else { 1 };
        let req = match s.pi(pi::REQUIREMENTS) {
            Some(&[h, l]) => u16::from_be_bytes([h, l]),
            None => 0x0349, // X.225 default: half-duplex, minor/major sync, activity, capability, exceptions
            Some(_) => return self.provider_abort(err(0, "requirements PI is not 2 octets")),
        };
        if req & self.config.requirements != self.config.requirements {
            return self.refuse(refuse::RESTRICTION, &[]);
        }
        let called = s.pi(pi::CALLED_SSEL).unwrap_or_default();
        if !self.config.local_ssel.is_empty() && called != self.config.local_ssel.as_slice() {
            return self.refuse(refuse::SSEL_UNKNOWN, &[]);
        }
        if self.version == 1 && user_data.len() > 512 {
            return self.refuse(refuse::RESTRICTION, &[]);
        }
        self.state = State::AwaitAccept;
        self.indications.push_back(Indication::Connect {
            calling_ssel: s.pi(pi::CALLING_SSEL).unwrap_or_default().to_vec(),
            called_ssel: called.to_vec(),
            version: self.version,
            user_data,
        });
    }

    fn on_ac(&mut self, s: &Spdu<'_>) {
        let v = s.pi(pi::VERSION).and_then(|v| v.first().copied());
        let version = match v {
            Some(0x02) if self.config.versions & 0x02 != 0 => 2,
            Some(0x01) | None if self.config.versions & 0x01 != 0 => 1,
            _ => return self.provider_abort(err(0, "AC selects a version we did not propose")),
        };
        match s.pi(pi::REQUIREMENTS) {
            Some(&[h, l]) if u16::from_be_bytes([h, l]) == self.config.requirements => {}
            _ => return self.provider_abort(err(0, "AC functional units differ from ours")),
        }
        self.version = version;
        self.state = State::Open;
        self.holds_tokens = true;
        self.indications.push_back(Indication::Accepted {
            version,
            user_data: s.user_data().to_vec(),
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pump(from: &mut Session, to: &mut Session) {
        while let Some(t) = from.poll_tsdu() {
            to.input(TData::new(&t));
        }
    }

    #[test]
    fn connect_activity_transfer_release() {
        let mut a = Session::new(Config::new(b"A"));
        let mut b = Session::new(Config::new(b"B"));
        a.connect(b"B", b"hello");
        pump(&mut a, &mut b);
        let Some(Indication::Connect {
            user_data, version, ..
        }) = b.poll_indication()
        else {
            panic!()
        };
        assert_eq!((user_data.as_slice(), version), (&b"hello"[..], 2));
        b.accept(b"ok");
        pump(&mut b, &mut a);
        assert!(matches!(
            a.poll_indication(),
            Some(Indication::Accepted { .. })
        ));
        a.activity_start(b"1");
        a.data(b"chunk1");
        let s = a.minor_sync();
        a.data(&[7; 300]);
        let e = a.activity_end();
        pump(&mut a, &mut b);
        let got: Vec<_> = std::iter::from_fn(|| b.poll_indication()).collect();
        assert_eq!(
            got,
            vec![
                Indication::ActivityStart { id: b"1".to_vec() },
                Indication::Data(b"chunk1".to_vec()),
                Indication::MinorSync { serial: s },
                Indication::Data(vec![7; 300]),
                Indication::ActivityEnd { serial: e },
            ]
        );
        b.minor_sync_ack(s);
        b.activity_end_ack(e);
        pump(&mut b, &mut a);
        assert_eq!(
            a.poll_indication(),
            Some(Indication::MinorSyncAck { serial: s })
        );
        assert_eq!(
            a.poll_indication(),
            Some(Indication::ActivityEndAck { serial: e })
        );
        a.release(b"bye");
        pump(&mut a, &mut b);
        assert!(matches!(
            b.poll_indication(),
            Some(Indication::Release { .. })
        ));
        b.released(b"");
        pump(&mut b, &mut a);
        assert!(matches!(
            a.poll_indication(),
            Some(Indication::Released { .. })
        ));
        assert!(a.wants_transport_disconnect());
    }

    #[test]
    fn parse_emit_identity_with_long_lengths() {
        // CN with a 3-octet LI and a 3-octet user-data length holding 3 octets.
        let b = [
            0x0d, 0xff, 0x00, 0x0b, 0x14, 0x02, 0x02, 0x49, 0xc1, 0xff, 0x00, 0x03, 1, 2, 3,
        ];
        let t = Tsdu::parse(&b).unwrap();
        assert!(t.spdus[0].long_len);
        assert_eq!(t.spdus[0].user_data(), &[1, 2, 3]);
        let mut out = Vec::new();
        t.emit(&mut out);
        assert_eq!(out, b);
    }

    #[test]
    fn version_and_ssel_negotiation_refuse() {
        let mut a = Session::new(Config {
            versions: 0x01,
            ..Config::new(b"A")
        });
        let mut b = Session::new(Config {
            versions: 0x02,
            ..Config::new(b"B")
        });
        a.connect(b"B", b"");
        pump(&mut a, &mut b);
        pump(&mut b, &mut a);
        assert_eq!(
            a.poll_indication(),
            Some(Indication::Refused {
                reason: refuse::VERSION,
                user_data: vec![]
            })
        );
        let mut a = Session::new(Config::new(b"A"));
        let mut b = Session::new(Config::new(b"B"));
        a.connect(b"X", b"");
        pump(&mut a, &mut b);
        pump(&mut b, &mut a);
        assert!(matches!(
            a.poll_indication(),
            Some(Indication::Refused {
                reason: refuse::SSEL_UNKNOWN,
                ..
            })
        ));
    }

    #[test]
    #[should_panic(expected = "range")]
    fn a_tsdu_declared_longer_than_delivered_faults_in_connect_handling() {
        let mut a = Session::new(Config::new(b"A"));
        let mut b = Session::new(Config::new(b"B"));
        a.connect(b"B", b"data");
        let cn = a.poll_tsdu().unwrap();
        b.input(TData {
            data: &cn,
            declared_len: cn.len() + 100,
        });
    }
}
