//! One MTA-to-MTA association: TPKT + COTP class 0 + session + presentation (+ ACSE) + RTSE composed
//! into a single sans-IO object. TCP octets and timer ticks go in; TCP octets, RTSE-level events
//! (bind request, transfer of a P1 APDU, release, abort) and a deadline come out. The simulator and
//! a real TCP adapter drive it identically.
//!
//! Mapping (X.228 clause 9 / X.410-1984 RTS; PROTOCOLS.md 6):
//! - RT-OPEN: T-CONNECT, then S-CONNECT carrying CP-type. Normal mode: CP holds AARQ (context 1,
//!   ACSE) whose user-information holds RTORQ (context 3, id-as-mta-rtse); the AC/CPA/AARE/RTOAC
//!   answer mirrors it; refusal travels as RF/CPR/AARE/RTORJ. X.410-1984 mode: the RTORQ/RTOAC/
//!   RTORJ components are the presentation x410-mode-parameters, no ACSE.
//! - RT-TRANSFER: S-ACTIVITY-START, the presentation-encoded RTTR cut into checkpoint-size S-DATA
//!   chunks each followed by S-SYNC-MINOR (at most `window` unconfirmed), S-ACTIVITY-END; the
//!   transfer is confirmed by the activity-end acknowledgement.
//! - RT-TURN-PLEASE / RT-TURN-GIVE: S-TOKEN-PLEASE (carrying RTTP) / S-TOKEN-GIVE (two-way
//!   alternate dialogue only).
//! - RT-CLOSE: A-RELEASE (RLRQ/RLRE in FN/DN) in normal mode, S-RELEASE in X.410 mode.
//! - RT-U-ABORT: AB carrying ARU (ABRT + RTAB in normal mode, the RTAB components in X.410 mode).

use crate::acse::{self, External};
use crate::asn::oids;
use crate::cotp::{self, Transport};
use crate::presentation::{self as pres, ContextItem, ContextResult, Mode, NormalParams, UserData};
use crate::provided::ProvidedTransport;
use crate::rtse::{self, ConnectionData};
use crate::session::{self, Session, TData};
use crate::{Layer, Malformed};
use std::collections::VecDeque;

/// Presentation context the initiator proposes for ACSE.
pub const ACSE_CONTEXT: i64 = 1;
/// Presentation context the initiator proposes for id-as-mta-rtse (RTSE APDUs, MTA bind).
pub const RTSE_CONTEXT: i64 = 3;
/// Presentation context the initiator proposes for id-as-mtse (the MTS-APDUs inside RTTR).
pub const MTSE_CONTEXT: i64 = 5;

/// Which end of the association.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Opens the association (the sending MTA).
    Initiator,
    /// Listens on port 102.
    Responder,
}

/// Transport, session and presentation selectors of one end.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Address {
    /// TSAP selector.
    pub tsap: Vec<u8>,
    /// SSAP selector.
    pub ssap: Vec<u8>,
    /// PSAP selector.
    pub psap: Vec<u8>,
}

/// Association parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// 1984 (X.410) or 1988 (normal) mode; a responder accepts either.
    pub mode: Mode,
    /// Our selectors.
    pub local: Address,
    /// The peer's selectors (initiator: where to connect).
    pub remote: Address,
    /// Transport parameters (TPKT writer, reserved-octet policy, TPDU size).
    pub transport: cotp::Config,
    /// Session versions and functional units.
    pub session_versions: u8,
    /// Checkpoint size in units of 1024 octets (0: no checkpointing).
    pub checkpoint_size: i64,
    /// Window: minor synchronisations that may be unconfirmed.
    pub window_size: i64,
    /// Two-way-alternate dialogue (else monologue: only the initiator transfers).
    pub twa: bool,
    /// Largest APDU we accept.
    pub max_apdu: usize,
    /// How long we wait for the peer before aborting (simulated milliseconds).
    pub response_timeout_ms: u64,
    /// Our COTP reference.
    pub local_ref: u16,
}

impl Config {
    /// A configuration with the lab's defaults: checkpoint 16 KiB, window 3, monologue, 16 MiB
    /// APDUs, 60 s response timer, conforming TPKT writer (our choices; ISODE uses 63 KiB / 3).
    pub fn new(mode: Mode, local: Address, remote: Address) -> Self {
        let transport = cotp::Config::new(&local.tsap);
        Config {
            mode,
            local,
            remote,
            transport,
            session_versions: 0x03,
            checkpoint_size: 16,
            window_size: 3,
            twa: false,
            max_apdu: 16 << 20,
            response_timeout_ms: 60_000,
            local_ref: 1,
        }
    }
}

impl Config {
    /// An Exchange MTA of `build`: its TPKT writer (KB Q151626), TPDU size 2048 as in the KB's CC,
    /// and the reserved-octet policy every Exchange build has (ignore).
    pub fn exchange(build: mta_build::Build, mode: Mode, local: Address, remote: Address) -> Self {
        Self::for_profile(&mta_build::Profile::of(build), mode, local, remote)
    }

    /// An Exchange MTA with this (possibly overridden) build profile.
    pub fn for_profile(
        profile: &mta_build::Profile,
        mode: Mode,
        local: Address,
        remote: Address,
    ) -> Self {
        let mut c = Config::new(mode, local, remote);
        c.transport.writer = crate::tpkt::Writer::new(profile);
        c.transport.reserved_policy = crate::tpkt::ReservedPolicy::Ignore;
        c
    }

    /// A foreign MTA with the given reserved-octet policy and a conforming writer.
    pub fn foreign(
        policy: crate::tpkt::ReservedPolicy,
        mode: Mode,
        local: Address,
        remote: Address,
    ) -> Self {
        let mut c = Config::new(mode, local, remote);
        c.transport.reserved_policy = policy;
        c
    }
}

/// Why an association ended abnormally.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AbortReason {
    /// The peer aborted (AB, or ARU).
    Peer,
    /// The peer did not answer within the response timer.
    Timeout,
    /// A protocol error (ours or the peer's), with where it was found.
    ProtocolError(Malformed),
    /// The transport connection went away (DR, TCP close).
    TransportLost,
}

/// What the association reports to the MTA.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// Responder: RT-OPEN indication with the bind argument (one encoded element, or empty).
    BindRequest {
        /// 1984 or 1988 mode, as the initiator chose.
        mode: Mode,
        /// Calling selectors.
        calling: Address,
        /// The MTA-bind argument.
        bind: Vec<u8>,
    },
    /// Initiator: RT-OPEN confirm, accepted, with the bind result.
    BindAccepted {
        /// The MTA-bind result (one encoded element, or empty).
        result: Vec<u8>,
    },
    /// Initiator: RT-OPEN confirm, refused.
    BindRefused {
        /// RTORJ refuseReason (X.410 mode) if present.
        reason: Option<i64>,
        /// RTORJ userDataRJ (normal mode: the bind error) if present.
        user_data: Option<Vec<u8>>,
    },
    /// RT-TRANSFER indication: one complete APDU.
    Transfer(Vec<u8>),
    /// RT-TRANSFER confirm of our oldest unconfirmed APDU.
    TransferConfirmed,
    /// RT-TURN-GIVE indication: we may transfer.
    TurnGiven,
    /// RT-CLOSE completed (either end).
    Released,
    /// The association ended abnormally.
    Aborted(AbortReason),
}

/// Association phase.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Not started.
    Idle,
    /// Initiator: CR sent. Responder: waiting for CR.
    AwaitTransport,
    /// Initiator: CN sent. Responder: CC sent, waiting for CN.
    AwaitConnect,
    /// Responder: bind request delivered, waiting for the MTA's answer.
    AwaitBindResponse,
    /// Data transfer.
    Open,
    /// Release in progress.
    Releasing,
    /// Ended (released, refused or aborted).
    Closed,
}

impl Phase {
    /// The phase by the ACSE protocol machine's state names (X.227 annex A: STA0 idle, STA1
    /// awaiting AARE, STA2 awaiting A-ASSOCIATE response, STA3/STA4 release, STA5 associated),
    /// with the transport and session set-up before the AARQ named as such.
    pub fn name(self, role: Role) -> &'static str {
        match (self, role) {
            (Phase::Idle | Phase::Closed, _) => "STA0 idle",
            (Phase::AwaitTransport, Role::Initiator) => "awaiting T-CONNECT confirm",
            (Phase::AwaitTransport, Role::Responder) => "awaiting T-CONNECT indication",
            (Phase::AwaitConnect, Role::Initiator) => "STA1 awaiting AARE",
            (Phase::AwaitConnect, Role::Responder) => "STA0 awaiting AARQ",
            (Phase::AwaitBindResponse, _) => "STA2 awaiting A-ASSOCIATE response",
            (Phase::Open, _) => "STA5 associated",
            (Phase::Releasing, Role::Initiator) => "STA3 awaiting RLRE",
            (Phase::Releasing, Role::Responder) => "STA4 awaiting A-RELEASE response",
        }
    }
}

#[derive(Debug, Clone)]
struct Outgoing {
    payload: Vec<u8>,
    offset: usize,
    unconfirmed_syncs: i64,
    ended: bool,
}

/// The transport below the session: ISO 8073 class 0 over RFC 1006 (TCP octets in and out), or
/// the class-0 service a network provider supplies whole ([`crate::provided`], X.25: whole TSDUs
/// in and out). Both report [`cotp::Indication`]s, so the layers above do not tell them apart.
#[derive(Debug, Clone)]
enum Lower {
    Cotp(Transport),
    Provided(ProvidedTransport),
}

impl Lower {
    fn state(&self) -> cotp::State {
        match self {
            Lower::Cotp(t) => t.state(),
            Lower::Provided(t) => t.state(),
        }
    }

    fn transmit(&mut self) -> Vec<u8> {
        match self {
            Lower::Cotp(t) => t.transmit(),
            Lower::Provided(_) => Vec::new(),
        }
    }

    fn wants_close(&self) -> bool {
        match self {
            Lower::Cotp(t) => t.wants_close(),
            Lower::Provided(t) => t.wants_close(),
        }
    }

    fn poll_indication(&mut self) -> Option<cotp::Indication> {
        match self {
            Lower::Cotp(t) => t.poll_indication(),
            Lower::Provided(t) => t.poll_indication(),
        }
    }

    fn connect(&mut self, called_tsap: &[u8]) {
        match self {
            Lower::Cotp(t) => t.connect(called_tsap),
            Lower::Provided(t) => t.connect(),
        }
    }

    fn accept(&mut self, calling_tsap: &[u8], called_tsap: &[u8]) {
        match self {
            Lower::Cotp(t) => t.accept(calling_tsap, called_tsap),
            Lower::Provided(t) => t.accept(),
        }
    }

    fn refuse(&mut self, reason: u8) {
        match self {
            Lower::Cotp(t) => t.refuse(reason),
            Lower::Provided(t) => t.disconnect(),
        }
    }

    fn disconnect(&mut self, reason: u8) {
        match self {
            Lower::Cotp(t) => t.disconnect(reason),
            Lower::Provided(t) => t.disconnect(),
        }
    }

    fn send_tsdu(&mut self, tsdu: &[u8]) {
        match self {
            Lower::Cotp(t) => t.send_tsdu(tsdu),
            Lower::Provided(t) => t.send_tsdu(tsdu),
        }
    }

    fn closed(&mut self) {
        match self {
            Lower::Cotp(t) => t.tcp_closed(),
            Lower::Provided(t) => t.cleared(),
        }
    }
}

/// One association end.
#[derive(Debug, Clone)]
pub struct Association {
    role: Role,
    config: Config,
    phase: Phase,
    mode: Mode,
    transport: Lower,
    session: Session,
    acse_ctx: i64,
    rtse_ctx: i64,
    mtse_ctx: i64,
    checkpoint: i64,
    window: i64,
    queue: VecDeque<Vec<u8>>,
    out: Option<Outgoing>,
    inbound: Option<Vec<u8>>,
    turn_requested: bool,
    peer_wants_turn: bool,
    release_requested: bool,
    pending_bind: Vec<u8>,
    events: VecDeque<Event>,
    now_ms: u64,
    deadline: Option<u64>,
    activity_counter: u32,
}

fn protocol_error(layer: Layer, reason: &'static str) -> Malformed {
    Malformed::new(layer, 0, reason)
}

impl Association {
    /// A new association end.
    pub fn new(role: Role, config: Config) -> Self {
        let mut scfg = session::Config::new(&config.local.ssap);
        scfg.versions = config.session_versions;
        let mut a = Association {
            role,
            phase: Phase::Idle,
            mode: config.mode,
            transport: Lower::Cotp(Transport::new(config.transport.clone(), config.local_ref)),
            session: Session::new(scfg),
            acse_ctx: ACSE_CONTEXT,
            rtse_ctx: RTSE_CONTEXT,
            mtse_ctx: MTSE_CONTEXT,
            checkpoint: config.checkpoint_size,
            window: config.window_size.max(1),
            queue: VecDeque::new(),
            out: None,
            inbound: None,
            turn_requested: false,
            peer_wants_turn: false,
            release_requested: false,
            pending_bind: Vec::new(),
            events: VecDeque::new(),
            now_ms: 0,
            deadline: None,
            activity_counter: 0,
            config,
        };
        if role == Role::Responder {
            a.phase = Phase::AwaitTransport;
        }
        a
    }

    /// An association end over a provider's transport service ([`crate::provided`]): whole TSDUs
    /// in ([`Association::receive_tsdu`]) and out ([`Association::poll_tsdu`]). A responder's
    /// connection has arrived already (the network call is the transport connection); an
    /// initiator's is made by [`Association::bind`]. `now_ms` is the simulated time of creation.
    pub fn over_provider(role: Role, config: Config, now_ms: u64) -> Self {
        let incoming = (role == Role::Responder).then(|| config.local.tsap.clone());
        let mut a = Association::new(role, config);
        a.now_ms = now_ms;
        a.transport = Lower::Provided(ProvidedTransport::new(incoming.as_deref()));
        a.drive();
        a
    }

    /// Record the transition an input caused (`mta_reach`, protocol-state coverage).
    fn observe(&self, from: Phase, input: &'static str) {
        let to = self.phase;
        if from == to && input == "timer tick" {
            return; // a tick that changes nothing is not a transition worth a name
        }
        mta_reach::transition(
            "association",
            from.name(self.role),
            input,
            to.name(self.role),
        );
    }

    /// Current phase.
    pub fn phase(&self) -> Phase {
        self.phase
    }
    /// Mode in use (the responder learns it from the CP).
    pub fn mode(&self) -> Mode {
        self.mode
    }
    /// Role.
    pub fn role(&self) -> Role {
        self.role
    }
    /// Negotiated (checkpoint size, window).
    pub fn checkpointing(&self) -> (i64, i64) {
        (self.checkpoint, self.window)
    }
    /// APDUs queued or in flight that the peer has not confirmed.
    pub fn unconfirmed(&self) -> usize {
        self.queue.len() + usize::from(self.out.is_some())
    }
    /// Octets to write to TCP.
    pub fn transmit(&mut self) -> Vec<u8> {
        self.transport.transmit()
    }
    /// Whether the TCP connection should be closed after writing [`Association::transmit`].
    pub fn wants_close(&self) -> bool {
        self.transport.wants_close()
    }
    /// Next event for the MTA.
    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }
    /// When [`Association::tick`] must next be called (simulated ms), if any timer runs.
    pub fn deadline(&self) -> Option<u64> {
        self.deadline
    }

    /// Initiator: RT-OPEN request with the MTA-bind argument (one encoded element, or empty).
    pub fn bind(&mut self, bind: &[u8]) {
        let from = self.phase;
        self.bind_step(bind);
        self.observe(from, "A-ASSOCIATE.request (bind)");
    }

    fn bind_step(&mut self, bind: &[u8]) {
        assert_eq!(
            (self.role, self.phase),
            (Role::Initiator, Phase::Idle),
            "bind on a used association"
        );
        self.pending_bind = bind.to_vec();
        let called = self.config.remote.tsap.clone();
        self.transport.connect(&called);
        self.phase = Phase::AwaitTransport;
        self.drive();
    }

    /// Responder: accept the bind with the MTA-bind result.
    pub fn accept_bind(&mut self, result: &[u8]) {
        let from = self.phase;
        self.accept_bind_step(result);
        self.observe(from, "A-ASSOCIATE.response (accept)");
    }

    fn accept_bind_step(&mut self, result: &[u8]) {
        assert_eq!(self.phase, Phase::AwaitBindResponse, "no bind to accept");
        let cd = connection_data(&self.ros_bind(result, 17));
        let rtoac = rtse::Rtoac {
            checkpoint_size: Some(self.checkpoint),
            window_size: Some(self.window),
            connection_data: cd,
        };
        let cpa = match self.mode {
            Mode::X410 => {
                let mut e = mta_ber::Encoder::new();
                rtoac.emit_fields(&mut e);
                pres::Connect {
                    mode: Mode::X410,
                    x410: Some(e.finish()),
                    normal: None,
                }
            }
            Mode::Normal => pres::Connect {
                mode: Mode::Normal,
                x410: None,
                normal: Some(self.aare_params(0, &rtse::Apdu::Rtoac(rtoac))),
            },
        };
        self.session.accept(&cpa.emit());
        self.phase = Phase::Open;
        self.drive();
    }

    /// Responder: refuse the bind. `reason` is RTORJ's refuseReason (X.410 mode); `error` the
    /// encoded MTA-bind error (normal mode userDataRJ).
    pub fn refuse_bind(&mut self, reason: i64, error: Option<Vec<u8>>) {
        let from = self.phase;
        self.refuse_bind_step(reason, error);
        self.observe(from, "A-ASSOCIATE.response (refuse)");
    }

    fn refuse_bind_step(&mut self, reason: i64, error: Option<Vec<u8>>) {
        assert_eq!(self.phase, Phase::AwaitBindResponse, "no bind to refuse");
        let cpr = match self.mode {
            Mode::X410 => {
                let mut e = mta_ber::Encoder::new();
                rtse::Rtorj {
                    refuse_reason: Some(reason),
                    user_data: None,
                }
                .emit_fields(&mut e);
                pres::Refuse::X410(e.finish())
            }
            Mode::Normal => {
                let rtorj = rtse::Apdu::Rtorj(rtse::Rtorj {
                    refuse_reason: None,
                    user_data: error.map(|e| self.ros_bind(&e, 18)),
                });
                pres::Refuse::Normal(Box::new(self.aare_params(1, &rtorj)))
            }
        };
        self.session.refuse(session::refuse::BY_USER, &cpr.emit());
        self.phase = Phase::Closed;
        self.drive();
    }

    /// RT-TRANSFER request: queue one APDU (sent when this end holds the turn).
    pub fn transfer(&mut self, apdu: Vec<u8>) {
        let from = self.phase;
        self.transfer_step(apdu);
        self.observe(from, "RT-TRANSFER.request");
    }

    fn transfer_step(&mut self, apdu: Vec<u8>) {
        assert!(
            self.role == Role::Initiator || self.config.twa,
            "monologue: only the initiator transfers"
        );
        self.queue.push_back(apdu);
        self.drive();
    }

    /// RT-CLOSE request: release once every queued APDU is confirmed.
    pub fn release(&mut self) {
        let from = self.phase;
        self.release_step();
        self.observe(from, "A-RELEASE.request");
    }

    fn release_step(&mut self) {
        self.release_requested = true;
        self.drive();
    }

    /// RT-U-ABORT request.
    pub fn abort(&mut self) {
        let from = self.phase;
        self.abort_step();
        self.observe(from, "A-ABORT.request");
    }

    fn abort_step(&mut self) {
        if matches!(self.phase, Phase::Closed | Phase::Idle) {
            return;
        }
        let rtab = rtse::Rtab {
            abort_reason: Some(rtse::abort_reason::USER_ERROR),
            reflected_parameter: None,
            user_data: None,
        };
        self.send_abort(rtab);
        self.drive();
    }

    fn send_abort(&mut self, rtab: rtse::Rtab) {
        let aru = match self.mode {
            Mode::X410 => {
                let mut e = mta_ber::Encoder::new();
                rtab.emit_fields(&mut e);
                pres::Abort::UserX410(e.finish())
            }
            Mode::Normal => {
                let mut abrt = acse::Apdu::new(acse::Kind::Abrt);
                abrt.reason = Some(0);
                abrt.user_information = vec![External::single(
                    self.rtse_ctx,
                    rtse::Apdu::Rtab(rtab).emit(),
                )];
                pres::Abort::User(Some(UserData::single(self.acse_ctx, abrt.emit())))
            }
        };
        self.session.abort(&aru.emit());
        self.phase = Phase::Closed;
        self.deadline = None;
    }

    /// Octets received from TCP.
    pub fn receive(&mut self, bytes: &[u8]) {
        let from = self.phase;
        self.receive_step(bytes);
        self.observe(from, "octets received");
    }

    fn receive_step(&mut self, bytes: &[u8]) {
        if matches!(self.transport, Lower::Cotp(_)) {
            self.restart_response_timer();
        }
        match &mut self.transport {
            Lower::Cotp(t) => {
                t.receive(bytes);
                self.drive();
            }
            // A provider hands whole TSDUs: these octets are one.
            Lower::Provided(_) => self.receive_tsdu_step(TData::new(bytes)),
        }
    }

    /// The TCP connection under an initiator's CR is up (the MTA's NSI confirmed it): the
    /// response timer restarts from here, as it does for octets received.
    pub fn connection_up(&mut self) {
        self.restart_response_timer();
    }

    /// A running response timer starts again from now (something arrived, or the connection
    /// came up); a stopped one stays stopped.
    fn restart_response_timer(&mut self) {
        if self.deadline.is_some() {
            self.deadline = Some(self.now_ms + self.config.response_timeout_ms);
        }
    }

    /// One TPDU, its TPKT already taken off by whoever reads the TCP stream (the MTA's NSI): the
    /// class-0 machine handles it as it handles the TPDUs of [`Association::receive`]. Over a
    /// provider this does nothing.
    pub fn receive_tpdu(&mut self, tpdu: &[u8]) {
        let from = self.phase;
        if matches!(self.transport, Lower::Cotp(_)) {
            self.restart_response_timer();
            if let Lower::Cotp(t) = &mut self.transport {
                t.receive_tpdu(tpdu);
            }
            self.drive();
        }
        self.observe(from, "TPDU received");
    }

    /// Over a provider ([`Association::over_provider`]): one T-DATA indication with the length
    /// the provider's buffer declares (KB Q225157: it may claim more than the data holds). Over
    /// TCP the session's TSDUs come out of the class-0 machine instead, and this does nothing.
    pub fn receive_tsdu(&mut self, tsdu: TData<'_>) {
        let from = self.phase;
        self.receive_tsdu_step(tsdu);
        self.observe(from, "T-DATA indication");
    }

    fn receive_tsdu_step(&mut self, tsdu: TData<'_>) {
        if !matches!(self.transport, Lower::Provided(_)) {
            return;
        }
        self.restart_response_timer();
        self.session.input(tsdu);
        self.drive();
    }

    /// Over a provider: the next TSDU to hand it (over TCP, octets come from
    /// [`Association::transmit`] instead, and this is always `None`).
    pub fn poll_tsdu(&mut self) -> Option<Vec<u8>> {
        match &mut self.transport {
            Lower::Provided(t) => t.poll_tsdu(),
            Lower::Cotp(_) => None,
        }
    }

    /// The peer closed TCP (over a provider: the network cleared the call).
    pub fn tcp_closed(&mut self) {
        let from = self.phase;
        self.tcp_closed_step();
        self.observe(from, "TCP closed");
    }

    fn tcp_closed_step(&mut self) {
        self.transport.closed();
        self.drive();
    }

    /// Simulated time advanced to `now_ms`.
    pub fn tick(&mut self, now_ms: u64) {
        let from = self.phase;
        self.tick_step(now_ms);
        self.observe(from, "timer tick");
    }

    fn tick_step(&mut self, now_ms: u64) {
        self.now_ms = now_ms;
        if self.deadline.is_some_and(|d| now_ms >= d)
            && self.phase == Phase::Closed
            && self.transport.state() == cotp::State::Open
        {
            // X.225 §7.9.2 timer TIM: released, the peer has not disconnected the transport in
            // time (it may be gone for good) — disconnect it ourselves.
            self.deadline = None;
            self.transport.disconnect(cotp::reason::NORMAL);
            self.drive();
            return;
        }
        if self.deadline.is_some_and(|d| now_ms >= d) && self.phase != Phase::Closed {
            self.deadline = None;
            let rtab = rtse::Rtab {
                abort_reason: Some(rtse::abort_reason::LOCAL_SYSTEM_PROBLEM),
                reflected_parameter: None,
                user_data: None,
            };
            if self.transport.state() == cotp::State::Open {
                self.send_abort(rtab);
            } else {
                self.transport.disconnect(cotp::reason::NORMAL);
                self.phase = Phase::Closed;
            }
            if self.out.is_some() {
                mta_reach::reach!("association: transfer aborted by timeout");
            }
            self.events.push_back(Event::Aborted(AbortReason::Timeout));
            self.drive();
        }
    }

    fn ros_bind(&self, b: &[u8], tag: u32) -> Vec<u8> {
        if self.mode == Mode::X410 || b.is_empty() {
            return b.to_vec();
        }
        let mut e = mta_ber::Encoder::new();
        e.constructed(crate::asn::ctx_c(tag), |e| {
            e.raw(b);
        });
        e.finish()
    }

    /// Normal-mode CPA/CPR parameters: an AARE with `result` (0 accepted, 1 rejected-permanent;
    /// diagnostic service-user null / no-reason-given) carrying `rtse` in the RTSE context.
    fn aare_params(&self, result: i64, rtse: &rtse::Apdu) -> NormalParams {
        let mut aare = acse::Apdu::new(acse::Kind::Aare);
        aare.application_context = Some(oids::ac_mts_transfer());
        aare.result = Some(result);
        aare.diagnostic = Some((1, result));
        aare.user_information = vec![External::single(self.rtse_ctx, rtse.emit())];
        NormalParams {
            responding_selector: Some(self.config.local.psap.clone()),
            results: Some(Self::context_results()),
            user_data: Some(UserData::single(self.acse_ctx, aare.emit())),
            ..NormalParams::default()
        }
    }

    fn context_results() -> Vec<ContextResult> {
        vec![
            ContextResult {
                result: 0,
                transfer_syntax: Some(oids::ber()),
                provider_reason: None,
            };
            3
        ]
    }

    /// Move data between the layers until nothing changes.
    fn drive(&mut self) {
        loop {
            let mut progress = false;
            while let Some(ind) = self.transport.poll_indication() {
                self.on_transport(ind);
                progress = true;
            }
            while let Some(ind) = self.session.poll_indication() {
                self.on_session(ind);
                progress = true;
            }
            if self.phase == Phase::Open || self.phase == Phase::Releasing {
                self.pump();
            }
            while let Some(tsdu) = self.session.poll_tsdu() {
                if self.transport.state() == cotp::State::Open {
                    self.transport.send_tsdu(&tsdu);
                }
                progress = true;
            }
            if self.session.wants_transport_disconnect()
                && self.transport.state() == cotp::State::Open
            {
                self.transport.disconnect(cotp::reason::NORMAL);
                progress = true;
            }
            if !progress {
                break;
            }
        }
        self.refresh_deadline();
    }

    fn refresh_deadline(&mut self) {
        // Waiting for the peer: to connect (either role), to confirm, to release; a responder
        // also waits for the initiator's next transfer or release (it has nothing to do itself),
        // so a dead peer (a partition drops data for good) cannot hold its control block forever.
        let waiting = match self.phase {
            Phase::AwaitTransport | Phase::AwaitConnect | Phase::Releasing => true,
            Phase::Open => {
                self.role == Role::Responder
                    || self
                        .out
                        .as_ref()
                        .is_some_and(|o| o.ended || o.unconfirmed_syncs >= self.window)
            }
            // Released but the transport is still up: waiting for the peer to disconnect it
            // (X.225 timer TIM).
            Phase::Closed => {
                self.transport.state() == cotp::State::Open && !self.transport.wants_close()
            }
            Phase::Idle | Phase::AwaitBindResponse => false,
        };
        if !waiting {
            self.deadline = None;
        } else if self.deadline.is_none() {
            self.deadline = Some(self.now_ms + self.config.response_timeout_ms);
        }
    }

    fn fail(&mut self, e: Malformed) {
        if self.phase != Phase::Closed {
            let rtab = rtse::Rtab {
                abort_reason: Some(rtse::abort_reason::PROTOCOL_ERROR),
                reflected_parameter: None,
                user_data: None,
            };
            if matches!(
                self.session.state(),
                session::State::Open | session::State::AwaitAccept | session::State::AwaitDn
            ) {
                self.send_abort(rtab);
            } else {
                self.session.abort(&[]);
                self.phase = Phase::Closed;
            }
            self.events
                .push_back(Event::Aborted(AbortReason::ProtocolError(e)));
        }
    }

    fn on_transport(&mut self, ind: cotp::Indication) {
        match ind {
            cotp::Indication::ConnectIndication {
                calling_tsap,
                called_tsap,
            } => {
                let ours = &self.config.local.tsap;
                if !ours.is_empty() && called_tsap != *ours {
                    self.transport.refuse(cotp::reason::ADDRESS_UNKNOWN);
                    self.phase = Phase::Closed;
                    return;
                }
                self.transport.accept(&calling_tsap, &called_tsap);
                self.phase = Phase::AwaitConnect;
            }
            cotp::Indication::Connected { .. } => {
                let cp = self.connect_ppdu();
                let ssel = self.config.remote.ssap.clone();
                self.session.connect(&ssel, &cp);
                self.phase = Phase::AwaitConnect;
            }
            cotp::Indication::Data(tsdu) => self.session.input(TData::new(&tsdu)),
            cotp::Indication::Disconnected { error, .. } => {
                self.session.transport_disconnected();
                // Drain what the session reported before the transport went away.
                while let Some(ind) = self.session.poll_indication() {
                    self.on_session(ind);
                }
                if self.phase != Phase::Closed {
                    self.phase = Phase::Closed;
                    self.events.push_back(Event::Aborted(match error {
                        Some(e) => AbortReason::ProtocolError(e),
                        None => AbortReason::TransportLost,
                    }));
                }
            }
        }
    }

    fn connect_ppdu(&self) -> Vec<u8> {
        let rtorq = rtse::Rtorq {
            checkpoint_size: Some(self.config.checkpoint_size),
            window_size: Some(self.config.window_size),
            dialogue_mode: Some(i64::from(self.config.twa)),
            connection_data: connection_data(&self.ros_bind(&self.pending_bind, 16)),
            application_protocol: (self.mode == Mode::X410).then_some(1),
        };
        let cp = match self.mode {
            Mode::X410 => {
                let mut e = mta_ber::Encoder::new();
                rtorq.emit_fields(&mut e);
                pres::Connect {
                    mode: Mode::X410,
                    x410: Some(e.finish()),
                    normal: None,
                }
            }
            Mode::Normal => {
                let mut aarq = acse::Apdu::new(acse::Kind::Aarq);
                aarq.protocol_version = Some(vec![0x07, 0x80]);
                aarq.application_context = Some(oids::ac_mts_transfer());
                aarq.user_information = vec![External::single(
                    RTSE_CONTEXT,
                    rtse::Apdu::Rtorq(rtorq).emit(),
                )];
                pres::Connect {
                    mode: Mode::Normal,
                    x410: None,
                    normal: Some(NormalParams {
                        protocol_version: Some(vec![0x07, 0x80]),
                        calling_selector: Some(self.config.local.psap.clone()),
                        called_selector: Some(self.config.remote.psap.clone()),
                        contexts: Some(vec![
                            ContextItem {
                                id: ACSE_CONTEXT,
                                abstract_syntax: oids::acse(),
                                transfer_syntaxes: vec![oids::ber()],
                            },
                            ContextItem {
                                id: RTSE_CONTEXT,
                                abstract_syntax: oids::as_mta_rtse(),
                                transfer_syntaxes: vec![oids::ber()],
                            },
                            ContextItem {
                                id: MTSE_CONTEXT,
                                abstract_syntax: oids::as_mtse(),
                                transfer_syntaxes: vec![oids::ber()],
                            },
                        ]),
                        user_data: Some(UserData::single(ACSE_CONTEXT, aarq.emit())),
                        ..NormalParams::default()
                    }),
                }
            }
        };
        cp.emit()
    }

    fn on_session(&mut self, ind: session::Indication) {
        use session::Indication as S;
        match ind {
            S::Connect {
                calling_ssel,
                user_data,
                ..
            } => match self.on_cp(&user_data) {
                Ok((bind, psap)) => {
                    self.phase = Phase::AwaitBindResponse;
                    self.events.push_back(Event::BindRequest {
                        mode: self.mode,
                        calling: Address {
                            tsap: Vec::new(),
                            ssap: calling_ssel,
                            psap,
                        },
                        bind,
                    });
                }
                Err(e) => {
                    self.session.refuse(session::refuse::BY_USER, &[]);
                    self.phase = Phase::Closed;
                    self.events
                        .push_back(Event::Aborted(AbortReason::ProtocolError(e)));
                }
            },
            S::Accepted { user_data, .. } => match self.on_cpa(&user_data) {
                Ok(result) => {
                    self.phase = Phase::Open;
                    self.events.push_back(Event::BindAccepted { result });
                }
                Err(e) => self.fail(e),
            },
            S::Refused { user_data, .. } => {
                mta_reach::reach!("association: bind refused");
                self.phase = Phase::Closed;
                let (reason, data) = Self::on_cpr(&user_data).unwrap_or((None, None));
                self.events.push_back(Event::BindRefused {
                    reason,
                    user_data: data,
                });
            }
            S::ActivityStart { .. } => self.inbound = Some(Vec::new()),
            S::Data(d) => {
                let limit = self.config.max_apdu + 64;
                let fragment = match self.decode_fragment(&d) {
                    Ok(f) => f,
                    Err(e) => return self.fail(e),
                };
                match &mut self.inbound {
                    Some(buf) if buf.len() + fragment.len() <= limit => {
                        buf.extend_from_slice(&fragment);
                    }
                    Some(_) => self.fail(protocol_error(Layer::Rtse, "APDU exceeds the limit")),
                    None => self.fail(protocol_error(Layer::Rtse, "S-DATA outside an activity")),
                }
            }
            S::MinorSync { serial } => self.session.minor_sync_ack(serial),
            S::ActivityEnd { serial } => {
                let payload = self.inbound.take().unwrap_or_default();
                match self.decode_transfer(&payload) {
                    Ok(apdu) => {
                        self.session.activity_end_ack(serial);
                        self.events.push_back(Event::Transfer(apdu));
                    }
                    Err(e) => self.fail(e),
                }
            }
            S::MinorSyncAck { .. } => {
                if let Some(o) = &mut self.out {
                    o.unconfirmed_syncs = (o.unconfirmed_syncs - 1).max(0);
                }
            }
            S::ActivityEndAck { .. } => {
                if self.out.take().is_some() {
                    self.events.push_back(Event::TransferConfirmed);
                }
            }
            S::TokensGiven => {
                self.turn_requested = false;
                self.events.push_back(Event::TurnGiven);
            }
            S::TokensRequested { user_data } => {
                if let Err(e) = self.decode_rttp(&user_data) {
                    return self.fail(e);
                }
                self.peer_wants_turn = true;
            }
            S::Release { user_data } => {
                if self.mode == Mode::Normal
                    && UserData::parse(&user_data)
                        .ok()
                        .and_then(|u| u.single_in(self.acse_ctx).map(acse::Apdu::parse))
                        .is_none_or(|a| a.map(|a| a.kind) != Ok(acse::Kind::Rlrq))
                {
                    return self.fail(protocol_error(Layer::Acse, "S-RELEASE without RLRQ"));
                }
                let reply = match self.mode {
                    Mode::X410 => Vec::new(),
                    Mode::Normal => {
                        let mut rlre = acse::Apdu::new(acse::Kind::Rlre);
                        rlre.reason = Some(0);
                        UserData::single(self.acse_ctx, rlre.emit()).emit()
                    }
                };
                self.session.released(&reply);
                self.phase = Phase::Closed;
                self.events.push_back(Event::Released);
            }
            S::Released { .. } => {
                self.phase = Phase::Closed;
                self.deadline = None;
                self.events.push_back(Event::Released);
            }
            S::Abort { error, .. } => {
                if self.phase != Phase::Closed {
                    self.phase = Phase::Closed;
                    self.events.push_back(Event::Aborted(match error {
                        Some(e) => AbortReason::ProtocolError(e),
                        None => AbortReason::Peer,
                    }));
                }
            }
        }
    }

    /// Send what the turn and the window allow.
    fn pump(&mut self) {
        if self.session.state() != session::State::Open {
            return;
        }
        if !self.session.holds_tokens() {
            if (!self.queue.is_empty() || self.release_requested) && !self.turn_requested {
                let rttp = rtse::Apdu::Rttp(0).emit();
                let ud = match self.mode {
                    Mode::X410 => rttp,
                    Mode::Normal => UserData::single(self.rtse_ctx, rttp).emit(),
                };
                self.session.please_tokens(&ud);
                self.turn_requested = true;
            }
            return;
        }
        if self.out.is_none() {
            if let Some(apdu) = self.queue.pop_front() {
                // The transferred value, cut into RTTR fragments: normal mode an EXTERNAL
                // naming the id-as-mtse context (what Wireshark's RTTR reassembly expects),
                // X.410-1984 mode the APDU itself.
                let payload = match self.mode {
                    Mode::X410 => apdu,
                    Mode::Normal => {
                        let mut e = mta_ber::Encoder::new();
                        // single-ASN1-type when the APDU is one BER element (every P1
                        // APDU), octet-aligned otherwise (X.690 8.18.5).
                        let mut x = acse::External::single(self.mtse_ctx, Vec::new());
                        x.encoding =
                            if mta_ber::Tlv::parse_exact(&apdu, &crate::asn::LIMITS).is_ok() {
                                acse::Encoding::SingleAsn1(apdu)
                            } else {
                                acse::Encoding::OctetAligned(apdu)
                            };
                        x.emit_into(&mut e);
                        e.finish()
                    }
                };
                self.activity_counter += 1;
                let id = self.activity_counter.to_string();
                self.session.activity_start(id.as_bytes());
                self.out = Some(Outgoing {
                    payload,
                    offset: 0,
                    unconfirmed_syncs: 0,
                    ended: false,
                });
            } else if self.peer_wants_turn {
                self.peer_wants_turn = false;
                self.session.give_tokens();
                return;
            } else if self.release_requested && self.phase == Phase::Open {
                let ud = match self.mode {
                    Mode::X410 => Vec::new(),
                    Mode::Normal => {
                        let mut rlrq = acse::Apdu::new(acse::Kind::Rlrq);
                        rlrq.reason = Some(0);
                        UserData::single(self.acse_ctx, rlrq.emit()).emit()
                    }
                };
                self.session.release(&ud);
                self.phase = Phase::Releasing;
                return;
            } else {
                return;
            }
        }
        let chunk = if self.checkpoint > 0 {
            usize::try_from(self.checkpoint)
                .unwrap_or(usize::MAX)
                .saturating_mul(1024)
        } else {
            usize::MAX
        };
        let o = self.out.as_mut().expect("set above");
        while !o.ended && o.unconfirmed_syncs < self.window {
            let end = o.offset.saturating_add(chunk).min(o.payload.len());
            let rttr = rtse::Apdu::Rttr(o.payload[o.offset..end].to_vec()).emit();
            let ud = match self.mode {
                Mode::X410 => rttr,
                Mode::Normal => UserData::single(self.rtse_ctx, rttr).emit(),
            };
            self.session.data(&ud);
            o.offset = end;
            if o.offset < o.payload.len() {
                self.session.minor_sync();
                o.unconfirmed_syncs += 1;
            } else {
                self.session.activity_end();
                o.ended = true;
            }
        }
        if !o.ended {
            mta_reach::reach!("rtse: checkpoint window full");
        }
    }

    /// One S-DATA of a transfer: an RTTR fragment (in the RTSE context in normal mode).
    fn decode_fragment(&self, d: &[u8]) -> Result<Vec<u8>, Malformed> {
        let rttr = match self.mode {
            Mode::X410 => d.to_vec(),
            Mode::Normal => UserData::parse(d)?
                .single_in(self.rtse_ctx)
                .ok_or(protocol_error(
                    Layer::Presentation,
                    "transfer not in the RTSE context",
                ))?
                .to_vec(),
        };
        match rtse::Apdu::parse(&rttr)? {
            rtse::Apdu::Rttr(fragment) => Ok(fragment),
            _ => Err(protocol_error(
                Layer::Rtse,
                "S-DATA in an activity is not an RTTR",
            )),
        }
    }

    /// The reassembled transfer value → the APDU.
    fn decode_transfer(&self, payload: &[u8]) -> Result<Vec<u8>, Malformed> {
        let apdu = match self.mode {
            Mode::X410 => payload.to_vec(),
            Mode::Normal => {
                let t = crate::asn::parse_exact(Layer::Rtse, payload)?;
                match acse::External::parse(&t)? {
                    External {
                        indirect_reference: Some(id),
                        encoding:
                            acse::Encoding::SingleAsn1(apdu) | acse::Encoding::OctetAligned(apdu),
                        ..
                    } if id == self.mtse_ctx => apdu,
                    _ => {
                        return Err(protocol_error(
                            Layer::Rtse,
                            "transfer is not an MTS-APDU in the id-as-mtse context",
                        ));
                    }
                }
            }
        };
        if apdu.len() > self.config.max_apdu {
            return Err(protocol_error(Layer::Rtse, "APDU exceeds the limit"));
        }
        Ok(apdu)
    }

    fn decode_rttp(&self, user_data: &[u8]) -> Result<i64, Malformed> {
        let b = match self.mode {
            Mode::X410 => user_data.to_vec(),
            Mode::Normal => UserData::parse(user_data)?
                .single_in(self.rtse_ctx)
                .ok_or(protocol_error(
                    Layer::Presentation,
                    "turn-please not in the RTSE context",
                ))?
                .to_vec(),
        };
        match rtse::Apdu::parse(&b)? {
            rtse::Apdu::Rttp(p) => Ok(p),
            _ => Err(protocol_error(Layer::Rtse, "S-TOKEN-PLEASE without RTTP")),
        }
    }

    /// Responder: decode the CP; returns (bind argument, calling PSAP).
    fn on_cp(&mut self, user_data: &[u8]) -> Result<(Vec<u8>, Vec<u8>), Malformed> {
        let cp = pres::Connect::parse(user_data)?;
        self.mode = cp.mode;
        let (rtorq, psap) = match cp.mode {
            Mode::X410 => {
                let contents = cp.x410.unwrap_or_default();
                (
                    parse_fields_x410(&contents, rtse::Rtorq::parse_fields)?,
                    Vec::new(),
                )
            }
            Mode::Normal => {
                let n = cp.normal.unwrap_or_default();
                let ber = oids::ber();
                let ctx_of = |abs: &crate::asn::Oid| {
                    n.contexts.iter().flatten().find_map(|c| {
                        (c.abstract_syntax == *abs && c.transfer_syntaxes.contains(&ber))
                            .then_some(c.id)
                    })
                };
                self.acse_ctx = ctx_of(&oids::acse()).ok_or(protocol_error(
                    Layer::Presentation,
                    "no ACSE presentation context",
                ))?;
                self.rtse_ctx = ctx_of(&oids::as_mta_rtse()).ok_or(protocol_error(
                    Layer::Presentation,
                    "no id-as-mta-rtse presentation context",
                ))?;
                self.mtse_ctx = ctx_of(&oids::as_mtse()).ok_or(protocol_error(
                    Layer::Presentation,
                    "no id-as-mtse presentation context",
                ))?;
                let ud = n
                    .user_data
                    .ok_or(protocol_error(Layer::Presentation, "CP without user data"))?;
                let aarq = acse::Apdu::parse(ud.single_in(self.acse_ctx).ok_or(
                    protocol_error(Layer::Presentation, "CP user data not in the ACSE context"),
                )?)?;
                if aarq.kind != acse::Kind::Aarq
                    || aarq.application_context != Some(oids::ac_mts_transfer())
                {
                    return Err(protocol_error(
                        Layer::Acse,
                        "not an AARQ for id-ac-mts-transfer",
                    ));
                }
                let rtorq = match aarq.user_information.as_slice() {
                    [
                        External {
                            encoding: acse::Encoding::SingleAsn1(b),
                            ..
                        },
                    ] => match rtse::Apdu::parse(b)? {
                        rtse::Apdu::Rtorq(r) => r,
                        _ => return Err(protocol_error(Layer::Rtse, "AARQ does not carry RTORQ")),
                    },
                    _ => return Err(protocol_error(Layer::Acse, "AARQ user-information")),
                };
                (rtorq, n.calling_selector.unwrap_or_default())
            }
        };
        self.config.twa = rtorq.dialogue_mode.unwrap_or(0) == 1;
        let theirs = rtorq.checkpoint_size.unwrap_or(0);
        self.checkpoint = if theirs == 0 || self.config.checkpoint_size == 0 {
            0
        } else {
            theirs.min(self.config.checkpoint_size)
        };
        self.window = rtorq
            .window_size
            .unwrap_or(3)
            .min(self.config.window_size)
            .max(1);
        let bind = match rtorq.connection_data {
            ConnectionData::Open(b) => ros_unwrap(self.mode, &b, 16)?,
            ConnectionData::OpenNull => Vec::new(),
            ConnectionData::Recover(_) => {
                return Err(protocol_error(Layer::Rtse, "recovery is not supported"));
            }
        };
        Ok((bind, psap))
    }

    /// Initiator: decode the CPA; returns the bind result.
    fn on_cpa(&mut self, user_data: &[u8]) -> Result<Vec<u8>, Malformed> {
        let cpa = pres::Connect::parse(user_data)?;
        if cpa.mode != self.mode {
            return Err(protocol_error(
                Layer::Presentation,
                "CPA mode differs from CP",
            ));
        }
        let rtoac = match cpa.mode {
            Mode::X410 => {
                parse_fields_x410(&cpa.x410.unwrap_or_default(), rtse::Rtoac::parse_fields)?
            }
            Mode::Normal => {
                let n = cpa.normal.unwrap_or_default();
                if n.results
                    .as_ref()
                    .is_none_or(|r| r.len() != 3 || r.iter().any(|r| r.result != 0))
                {
                    return Err(protocol_error(
                        Layer::Presentation,
                        "presentation contexts not accepted",
                    ));
                }
                let aare = acse::Apdu::parse(
                    n.user_data
                        .as_ref()
                        .and_then(|u| u.single_in(ACSE_CONTEXT))
                        .ok_or(protocol_error(Layer::Presentation, "CPA without AARE"))?,
                )?;
                if aare.kind != acse::Kind::Aare || aare.result != Some(0) {
                    return Err(protocol_error(Layer::Acse, "AARE does not accept"));
                }
                match aare.user_information.as_slice() {
                    [
                        External {
                            encoding: acse::Encoding::SingleAsn1(b),
                            ..
                        },
                    ] => match rtse::Apdu::parse(b)? {
                        rtse::Apdu::Rtoac(r) => r,
                        _ => return Err(protocol_error(Layer::Rtse, "AARE does not carry RTOAC")),
                    },
                    _ => return Err(protocol_error(Layer::Acse, "AARE user-information")),
                }
            }
        };
        self.checkpoint = rtoac.checkpoint_size.unwrap_or(0);
        self.window = rtoac.window_size.unwrap_or(3).max(1);
        Ok(match rtoac.connection_data {
            ConnectionData::Open(b) => ros_unwrap(self.mode, &b, 17)?,
            _ => Vec::new(),
        })
    }

    /// Initiator: decode the CPR; returns (refuseReason, userDataRJ).
    fn on_cpr(user_data: &[u8]) -> Result<(Option<i64>, Option<Vec<u8>>), Malformed> {
        let rtorj = match pres::Refuse::parse(user_data)? {
            pres::Refuse::X410(c) => parse_fields_x410(&c, |k, _| rtse::Rtorj::parse_fields(k))?,
            pres::Refuse::Normal(n) => {
                let aare = acse::Apdu::parse(
                    n.user_data
                        .as_ref()
                        .and_then(|u| u.single_in(ACSE_CONTEXT))
                        .ok_or(protocol_error(Layer::Presentation, "CPR without AARE"))?,
                )?;
                match aare.user_information.as_slice() {
                    [
                        External {
                            encoding: acse::Encoding::SingleAsn1(b),
                            ..
                        },
                    ] => match rtse::Apdu::parse(b)? {
                        rtse::Apdu::Rtorj(r) => r,
                        _ => return Err(protocol_error(Layer::Rtse, "AARE does not carry RTORJ")),
                    },
                    _ => return Err(protocol_error(Layer::Acse, "AARE user-information")),
                }
            }
        };
        let error = match rtorj.user_data {
            Some(e) if rtorj.refuse_reason.is_none() => Some(ros_unwrap(Mode::Normal, &e, 18)?),
            other => other,
        };
        Ok((rtorj.refuse_reason, error))
    }
}

/// Normal mode carries the MTA bind as a generic ROS PDU in the id-as-mta-rtse context (X.880
/// `bind-invoke [16]`, `bind-result [17]`, `bind-error [18]`, explicit), as Wireshark's ros/p1
/// dissectors expect; X.410-1984 mode carries the bare argument (applicationProtocol 1).
fn ros_unwrap(mode: Mode, b: &[u8], tag: u32) -> Result<Vec<u8>, Malformed> {
    if mode == Mode::X410 || b.is_empty() {
        return Ok(b.to_vec());
    }
    let t = crate::asn::parse_exact(Layer::Rtse, b)?;
    crate::asn::expect(
        Layer::Rtse,
        &t,
        crate::asn::ctx_c(tag),
        "bind not in a ROS bind PDU",
    )?;
    Ok(crate::asn::explicit(Layer::Rtse, &t)?.encoded.to_vec())
}

/// Connect data for a bind argument/result: empty → `open [0] NULL`.
fn connection_data(b: &[u8]) -> ConnectionData {
    if b.is_empty() {
        ConnectionData::OpenNull
    } else {
        ConnectionData::Open(b.to_vec())
    }
}

/// Parse X.410-mode SET contents (the component list) with `f`.
fn parse_fields_x410<T>(
    contents: &[u8],
    f: impl FnOnce(&[mta_ber::Tlv<'_>], usize) -> Result<T, Malformed>,
) -> Result<T, Malformed> {
    let mut kids = Vec::new();
    let mut rest = contents;
    while !rest.is_empty() {
        let (t, r) = mta_ber::Tlv::parse(rest, &crate::asn::LIMITS).map_err(|e| {
            Malformed::new(
                Layer::Rtse,
                contents.len() - rest.len() + e.offset,
                crate::asn::ber_reason(&e),
            )
        })?;
        kids.push(t);
        rest = r;
    }
    f(&kids, 0)
}
