//! The MTA's TCP/IP driver ("BASE IL TCP/IP DRVR") and its network service interface (NSI) side:
//! sockets on control blocks, RFC 1006 framing, the per-block state machine, the pending-TPDU queue
//! and sockets recovery (KB Q182619), the remote-disconnect event sequence (KB Q151626) and the
//! internal messages to and from POP4 (models/lpi), judged by the LPI decoder (KB Q811406).
//!
//! Sans-IO: socket events, ticks and POP4's internal messages in; [`SocketAction`]s, internal
//! messages (buffer-manager buffers) for POP4 and event-log entries out. POP4 never calls in here:
//! [`crate::link`] carries the encoded messages between the two.
//!
//! **Who owns an LPI.** An inbound block is NSI's until NSI has taken POP4's Accept OK for it;
//! from then on the LPI is POP4's (an outbound block is POP4's from the start). NSI tells POP4 about
//! a block only once its CR has arrived (Connect Indication); a caller that closes before that is
//! freed here and POP4 never hears of it.
//!
//! **Q811406, from the order of messages.** POP4 drains its queue a budget at a time, so under load
//! a Connect Indication waits. When the caller gives up first, NSI posts a Disconnect Indication
//! behind it. POP4 then reads the indication, accepts — and its Accept OK reaches NSI after the
//! caller left ("the incoming connection timed out at the Winsock layer before the MTA sent the
//! OK", KB Q319936): NSI drops that accept, so the LPI never becomes POP4's. POP4 reads the
//! Disconnect Indication and answers with a Close Request for that LPI; NSI's decoder finds a live
//! block that POP4 does not own — a bad LPI: 4258 "Message received at NSI … Message type Close
//! Request", and an Error Indication back to POP4, which logs 4283 "Bad LPIs in message … Error
//! code = 8464". Every build takes that path (Q319936 shows it on 5.5 SP4); builds other than 2000
//! SP3 also release the block it names (`nsi_bad_lpi_releases_control_block`); 2000 SP3 does not,
//! so the block stays "closing" forever and, once the inbound blocks are gone, every new
//! connection is refused.
//!
//! **Control-block states** (numbering ours, chosen so that KB Q151626's "state 2" is what it
//! plausibly was: a CC sent and no session connect seen yet): 1 awaiting CR, 2 CC sent, 3 data
//! transfer, 4 closing, 5 connecting, 6 CR sent, 7 recovering.
//!
//! **Sockets recovery (Q182619).** An outbound connection that fails after it was established
//! (reset 10054, 10060) is *recovered*: the block stays allocated, the driver keeps accepting TPDUs
//! for it into its pending queue (bounded by the build's `tcp_pending_tpdu_queue`, one element per
//! TPDU), and reconnects after `tcp_recovery_interval_ms`, replaying the CR and the queue. When that
//! reconnect is refused (10061) the driver logs 9215 and re-stages the queue for the next attempt
//! with one buffer request for the whole queue plus the reconnect CR. Queue capacity and the buffer
//! manager's per-request limit are build constants, so with a full queue the request is exactly one
//! over the limit: 30/30 on 4.0 and 5.0, 29/29 on 5.5 → fatal 9404. From 5.5 SP2 the re-staging
//! adds one thing: it splits the request into chunks within the limit
//! (`tcp_recovery_splits_buffer_request`).

use mta_bufmgr::{
    BufferError, BufferHandle, BufferManager, Component, ControlBlockId, ControlBlockTable,
    Direction,
};
use mta_build::Profile;
use mta_eventlog::{Event, EventLog, catalogue};
use mta_lpi::{Interface, Lpi, LpiStatus, MessageType};
use mta_osi::cotp;
use mta_osi::tpkt::{Reassembler, ReservedPolicy};
use std::collections::{BTreeMap, VecDeque};

/// Winsock error numbers the model uses.
pub mod winsock {
    /// WSAECONNREFUSED.
    pub const CONNREFUSED: u32 = 10061;
    /// WSAETIMEDOUT.
    pub const TIMEDOUT: u32 = 10060;
    /// WSAECONNRESET.
    pub const CONNRESET: u32 = 10054;
}

/// How findings name the blocks [`TcpDriver::blocks_accepted_too_late`] counts (the harnesses'
/// and the simulator's leak oracles; the KB readers look for it).
pub const ACCEPTED_TOO_LATE: &str = "with an Accept OK that came after the caller left";

/// Reconnect attempts before a recovered connection is given up (our choice).
pub const MAX_RECOVERY_ATTEMPTS: u32 = 3;

/// Where a connection goes or comes from.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Remote {
    /// Host name or address text.
    pub host: String,
    /// TCP port (102).
    pub port: u16,
    /// Locality number the driver reports in 2036 (ours: 1–3 are the local services, remote MTAs
    /// are numbered from 4 in connector order — KB Q151626's foreign MTA is locality 4).
    pub locality: u32,
    /// Outbound: the local address the socket is bound to (the connector's source-address choice,
    /// KB Q197378). Inbound: the caller's address as the adapter saw it.
    pub source: Option<String>,
}

/// Control-block state (see the module doc).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum CbState {
    /// 1: accepted, waiting for the CR.
    AwaitCr = 1,
    /// 2: CC sent, waiting for the first data.
    CcSent = 2,
    /// 3: data transfer.
    Transfer = 3,
    /// 4: the socket is gone; waiting for POP4 to release the block.
    Closing = 4,
    /// 5: outbound connect() in progress.
    Connecting = 5,
    /// 6: CR sent, waiting for the CC.
    CrSent = 6,
    /// 7: sockets recovery in progress.
    Recovering = 7,
}

impl CbState {
    /// The state by its number in the driver's control block and the module doc's name.
    pub fn name(self) -> &'static str {
        match self {
            CbState::AwaitCr => "1 awaiting CR",
            CbState::CcSent => "2 CC sent",
            CbState::Transfer => "3 transfer",
            CbState::Closing => "4 closing",
            CbState::Connecting => "5 connecting",
            CbState::CrSent => "6 CR sent",
            CbState::Recovering => "7 recovering",
        }
    }
}

/// What the I/O adapter must do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SocketAction {
    /// Open a TCP connection for this block.
    Connect {
        /// Block.
        cb: ControlBlockId,
        /// Destination.
        remote: Remote,
    },
    /// Write octets.
    Send {
        /// Block.
        cb: ControlBlockId,
        /// Octets.
        bytes: Vec<u8>,
    },
    /// Close the socket.
    Close {
        /// Block.
        cb: ControlBlockId,
    },
    /// Close an accepted socket the model could not take (no free inbound block).
    Refuse {
        /// The adapter's connection number.
        conn: u64,
    },
}

/// Why the driver refused a TPDU from upper layers.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SendError {
    /// The pending queue of a block in recovery is full (flow control; retry later).
    #[error("pending TPDU queue full")]
    Busy,
    /// No such live block.
    #[error("no live control block")]
    NoBlock,
    /// The buffer manager refused.
    #[error(transparent)]
    Buffer(#[from] BufferError),
}

#[derive(Debug)]
struct Cb {
    id: ControlBlockId,
    direction: Direction,
    state: CbState,
    remote: Remote,
    rx: Reassembler,
    queue: VecDeque<BufferHandle>,
    cr: Option<Vec<u8>>,
    attempts: u32,
    reconnect_at: Option<u64>,
    peer_sent_dr: bool,
    /// A Connect Indication was posted to POP4 for this block.
    indicated: bool,
    /// The LPI is POP4's: NSI took its Accept OK, or the block is outbound.
    pop4_owns: bool,
    /// Internal messages for POP4 that NSI could not yet get buffers for, in order: it retries
    /// them before anything newer (nothing is dropped) and stops reading the socket meanwhile.
    held: VecDeque<(MessageType, Vec<u8>)>,
}

impl Cb {
    /// A block taken from the free set on `input`, recording the transition from "free".
    fn opened(
        id: ControlBlockId,
        direction: Direction,
        state: CbState,
        remote: Remote,
        (input, policy): (&'static str, ReservedPolicy),
    ) -> Self {
        mta_reach::transition("driver", "free", input, state.name());
        Cb::new(id, direction, state, remote, policy)
    }

    /// An inbound caller POP4 was never told of (no CR came): the block is NSI's alone to free.
    fn unknown_to_pop4(&self) -> bool {
        self.direction == Direction::Inbound && !self.indicated
    }

    /// Move to `to` on an input of kind `input`, recording the transition (`mta_reach`).
    fn enter(&mut self, to: CbState, input: &'static str) {
        mta_reach::transition("driver", self.state.name(), input, to.name());
        self.state = to;
    }

    fn new(
        id: ControlBlockId,
        direction: Direction,
        state: CbState,
        remote: Remote,
        policy: ReservedPolicy,
    ) -> Self {
        Cb {
            id,
            direction,
            state,
            remote,
            rx: Reassembler::new(policy),
            queue: VecDeque::new(),
            cr: None,
            attempts: 0,
            reconnect_at: None,
            peer_sent_dr: false,
            indicated: false,
            pop4_owns: direction == Direction::Outbound,
            held: VecDeque::new(),
        }
    }
}

/// Counters of trigger conditions and outcomes (ARCHITECTURE.md "trigger counters").
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DriverCounters {
    /// Q182619 trigger: a refused reconnect while the pending queue was full.
    pub refused_reconnect_with_full_queue: u64,
    /// Reconnects refused (any queue length).
    pub refused_reconnects: u64,
    /// Connections accepted by the adapter that the model refused (no inbound block).
    pub refused_inbound: u64,
    /// Remote disconnects without a DR (abnormal).
    pub abnormal_remote_disconnects: u64,
    /// TPDUs refused with Busy.
    pub busy: u64,
    /// Times NSI held received data because no buffers were free (flow control, not loss).
    pub receive_stalls: u64,
    /// Accept OKs that reached NSI after the caller had gone (dropped): the crossing behind
    /// Q811406.
    pub late_accepts: u64,
    /// Q811406 trigger: a Close Request from POP4 whose LPI NSI judged bad.
    pub bad_lpi_close_requests: u64,
    /// Messages from POP4 with a bad LPI (any type).
    pub bad_lpi_messages: u64,
    /// Messages from POP4 that did not decode, or were not POP4 → NSI messages (dropped).
    pub malformed_from_pop4: u64,
    /// Inbound blocks whose caller left before its CR: freed without a word to POP4.
    pub freed_before_indication: u64,
    /// Connections dropped because their TPKT framing was lost.
    pub framing_errors: u64,
}

/// The TCP driver + NSI.
#[derive(Debug)]
pub struct TcpDriver {
    profile: Profile,
    table: ControlBlockTable,
    cbs: BTreeMap<u16, Cb>,
    actions: Vec<SocketAction>,
    to_pop4: VecDeque<BufferHandle>,
    fatal: Option<Event>,
    /// What the RFC 1006 reader does with a non-zero TPKT reserved octet: every Exchange build
    /// ignores it (KB Q151626: 4.0 talks to 4.0); a foreign MTA's core may reject it.
    reserved_policy: ReservedPolicy,
    /// Trigger counters.
    pub counters: DriverCounters,
}

fn lpi_of(id: ControlBlockId) -> Lpi {
    Lpi::new(Interface::TcpIp.number(), id.generation, id.index)
}

fn split_tpkts(bytes: &[u8]) -> Vec<&[u8]> {
    let mut out = Vec::new();
    let mut rest = bytes;
    while rest.len() >= 4 {
        let len = usize::from(u16::from_be_bytes([rest[2], rest[3]])).clamp(4, rest.len());
        out.push(&rest[..len]);
        rest = &rest[len..];
    }
    if !rest.is_empty() {
        out.push(rest);
    }
    out
}

impl TcpDriver {
    /// A driver with the build's control-block table.
    pub fn new(profile: &Profile) -> Self {
        TcpDriver {
            profile: *profile,
            table: ControlBlockTable::for_profile(profile),
            cbs: BTreeMap::new(),
            actions: Vec::new(),
            to_pop4: VecDeque::new(),
            fatal: None,
            reserved_policy: ReservedPolicy::Ignore,
            counters: DriverCounters::default(),
        }
    }

    /// The driver of a foreign MTA's core that reads the TPKT reserved octet by `policy` (a strict
    /// one refuses a non-zero octet: KB Q151626's foreign MTA). NSI reads TPKT once per
    /// connection, so the policy lives here, not in POP4's associations.
    #[must_use]
    pub fn with_reserved_policy(mut self, policy: ReservedPolicy) -> Self {
        self.reserved_policy = policy;
        self
    }

    /// Back to the state [`TcpDriver::new`] gives for the same profile (no block, no queue, no
    /// fatal event, counters zero), keeping allocations: how a fuzz harness reuses one driver.
    pub fn reset(&mut self) {
        self.table.reset();
        self.cbs.clear();
        self.actions.clear();
        self.to_pop4.clear();
        self.fatal = None;
        self.counters = DriverCounters::default();
    }

    /// The control-block table (POP4's LPI decoder resolves against it).
    pub fn table(&self) -> &ControlBlockTable {
        &self.table
    }
    /// Socket actions produced since the last call.
    pub fn take_actions(&mut self) -> Vec<SocketAction> {
        std::mem::take(&mut self.actions)
    }
    /// Next internal message for POP4.
    pub fn pop_for_pop4(&mut self) -> Option<BufferHandle> {
        self.to_pop4.pop_front()
    }
    /// Fault injection for harnesses: post raw octets as an internal message to POP4, as a
    /// misbehaving NSI would.
    pub fn post_raw(&mut self, bm: &mut BufferManager, bytes: &[u8]) -> Result<(), BufferError> {
        let h = bm.request_for_len(Component::Nsi, bytes.len())?;
        bm.fill(h, bytes)?;
        self.to_pop4.push_back(h);
        Ok(())
    }

    /// Internal messages waiting for room in POP4's queue.
    pub fn pending_for_pop4(&self) -> usize {
        self.to_pop4.len()
    }
    /// The fatal event that terminated the MTA, if any.
    pub fn fatal(&self) -> Option<&Event> {
        self.fatal.as_ref()
    }
    /// The remote end of a live block.
    pub fn remote(&self, lpi: Lpi) -> Option<&Remote> {
        self.cb_for(lpi).map(|c| &c.remote)
    }
    /// State of a live block.
    pub fn state(&self, lpi: Lpi) -> Option<CbState> {
        self.cb_for(lpi).map(|c| c.state)
    }
    /// Every live block and its state, in index order (diagnostics).
    pub fn blocks(&self) -> Vec<(ControlBlockId, CbState)> {
        self.cbs.values().map(|c| (c.id, c.state)).collect()
    }
    /// One line per live control block: handle, LPI, direction, state, remote, queued TPDUs,
    /// held internal messages, recovery attempts (for step-through replay).
    pub fn describe_blocks(&self) -> Vec<String> {
        self.cbs
            .values()
            .map(|c| {
                format!(
                    "{} LPI {} {:?} {:?} remote {} queue {} held {} attempts {}",
                    c.id,
                    lpi_of(c.id),
                    c.direction,
                    c.state,
                    c.remote.host,
                    c.queue.len(),
                    c.held.len(),
                    c.attempts
                )
            })
            .collect()
    }
    /// Closing blocks that were indicated to POP4 but never became POP4's: its Accept OK came
    /// after the caller left (the blocks Q811406's 2000 SP3 leaks).
    pub fn blocks_accepted_too_late(&self) -> usize {
        self.cbs
            .values()
            .filter(|c| c.state == CbState::Closing && c.indicated && !c.pop4_owns)
            .count()
    }
    /// Live blocks.
    pub fn live_blocks(&self) -> usize {
        self.cbs.len()
    }
    /// Pending TPDUs queued on a block.
    pub fn queued(&self, lpi: Lpi) -> usize {
        self.cb_for(lpi).map_or(0, |c| c.queue.len())
    }

    fn cb_for(&self, lpi: Lpi) -> Option<&Cb> {
        self.cbs.get(&lpi.index).filter(|c| {
            c.id.generation == lpi.generation && lpi.interface == Interface::TcpIp.number()
        })
    }
    fn cb_mut(&mut self, cb: ControlBlockId) -> Option<&mut Cb> {
        self.cbs.get_mut(&cb.index).filter(|c| c.id == cb)
    }

    fn post(&mut self, bm: &mut BufferManager, t: MessageType, cb: ControlBlockId, data: &[u8]) {
        match self.cbs.get_mut(&cb.index).filter(|c| c.id == cb) {
            Some(c) => {
                c.held.push_back((t, data.to_vec()));
                self.pump_block(bm, cb);
            }
            None => self.post_direct(bm, t, lpi_of(cb), data),
        }
    }

    /// Post a message for an LPI that names no live block of ours (an Error Indication about a
    /// stale or foreign LPI), straight to POP4's queue.
    fn post_direct(&mut self, bm: &mut BufferManager, t: MessageType, lpi: Lpi, data: &[u8]) {
        match mta_lpi::encode_into_buffer(bm, Component::Nsi, t, lpi, false, data) {
            Ok(h) => self.to_pop4.push_back(h),
            Err(e) => {
                tracing::warn!(%lpi, error = %e, "NSI could not allocate an internal message");
            }
        }
    }

    /// Hand a block's held internal messages to POP4 while buffers can be had.
    fn pump_block(&mut self, bm: &mut BufferManager, cb: ControlBlockId) {
        let Some(c) = self.cbs.get_mut(&cb.index) else {
            return;
        };
        while let Some((t, data)) = c.held.front() {
            let Ok(h) =
                mta_lpi::encode_into_buffer(bm, Component::Nsi, *t, lpi_of(cb), false, data)
            else {
                self.counters.receive_stalls += 1;
                break;
            };
            self.to_pop4.push_back(h);
            c.held.pop_front();
        }
    }

    /// Retry every block's held internal messages (buffers may have been released since).
    pub fn pump(&mut self, bm: &mut BufferManager) {
        let ids: Vec<ControlBlockId> = self
            .cbs
            .values()
            .filter(|c| !c.held.is_empty())
            .map(|c| c.id)
            .collect();
        for id in ids {
            self.pump_block(bm, id);
        }
    }

    /// Whether the adapter should read this block's socket now: not while NSI is holding
    /// internal messages for lack of buffers (TCP flow control then pushes back on the peer).
    pub fn receive_window_open(&self, cb: ControlBlockId) -> bool {
        self.cbs
            .get(&cb.index)
            .is_none_or(|c| c.id != cb || c.held.is_empty())
    }

    /// The adapter accepted connection `conn` from `remote`: allocate an inbound block.
    pub fn accepted(&mut self, conn: u64, remote: Remote) -> Option<ControlBlockId> {
        let Ok(id) = self.table.allocate(Direction::Inbound) else {
            mta_reach::reach!("driver: inbound control blocks exhausted");
            self.counters.refused_inbound += 1;
            self.actions.push(SocketAction::Refuse { conn });
            return None;
        };
        self.cbs.insert(
            id.index,
            Cb::opened(
                id,
                Direction::Inbound,
                CbState::AwaitCr,
                remote,
                ("accept()", self.reserved_policy),
            ),
        );
        Some(id)
    }

    /// POP4 asks for an outbound connection; returns its LPI.
    pub fn connect(&mut self, remote: Remote) -> Option<Lpi> {
        let id = self.table.allocate(Direction::Outbound).ok()?;
        self.actions.push(SocketAction::Connect {
            cb: id,
            remote: remote.clone(),
        });
        self.cbs.insert(
            id.index,
            Cb::opened(
                id,
                Direction::Outbound,
                CbState::Connecting,
                remote,
                ("connect()", self.reserved_policy),
            ),
        );
        Some(lpi_of(id))
    }

    /// connect() completed.
    pub fn connected(&mut self, bm: &mut BufferManager, cb: ControlBlockId) {
        let Some(c) = self.cb_mut(cb) else { return };
        let recovering = c.state == CbState::Recovering;
        if recovering {
            mta_reach::reach!("driver: reconnected after recovery");
        }
        let to = if recovering {
            CbState::Transfer
        } else {
            CbState::CrSent
        };
        c.enter(to, "connect() completed");
        c.attempts = 0;
        let mut out = Vec::new();
        if recovering && let Some(cr) = c.cr.clone() {
            mta_osi::tpkt::Writer::conforming().write(
                &mut out,
                &cr,
                mta_osi::tpkt::SendFlags::NONE,
            );
        }
        let queued: Vec<BufferHandle> = c.queue.drain(..).collect();
        for h in queued {
            if let Ok(tpdu) = bm.to_vec(h) {
                mta_osi::tpkt::Writer::conforming().write(
                    &mut out,
                    &tpdu,
                    mta_osi::tpkt::SendFlags::NONE,
                );
            }
            let _ = bm.release(h);
        }
        if !out.is_empty() {
            self.actions.push(SocketAction::Send { cb, bytes: out });
        }
        if !recovering {
            self.post(bm, MessageType::ConnectConfirm, cb, &[]);
        }
    }

    /// A TSDU's TPKT-framed octets for a block (POP4's Accept OK, Data or Refuse Connect).
    fn send(
        &mut self,
        bm: &mut BufferManager,
        id: ControlBlockId,
        bytes: &[u8],
    ) -> Result<(), SendError> {
        let cap = self.profile.tcp_pending_tpdu_queue as usize;
        let c = self.cb_mut(id).ok_or(SendError::NoBlock)?;
        let frames = split_tpkts(bytes);
        for f in &frames {
            match f.get(5) {
                Some(&cotp::code::CR) => c.cr = Some(f[4..].to_vec()),
                Some(&cotp::code::CC) if c.state == CbState::AwaitCr => {
                    c.enter(CbState::CcSent, "CC sent");
                }
                _ => {}
            }
        }
        match c.state {
            CbState::Recovering | CbState::Connecting => {
                if c.queue.len() + frames.len() > cap {
                    mta_reach::reach!("driver: send queue full");
                    self.counters.busy += 1;
                    return Err(SendError::Busy);
                }
                for f in frames {
                    let tpdu = f.get(4..).unwrap_or_default();
                    let h = bm.request_for_len(Component::TcpDriver, tpdu.len())?;
                    bm.fill(h, tpdu)?;
                    c.queue.push_back(h);
                }
            }
            CbState::Closing => return Err(SendError::NoBlock),
            _ => self.actions.push(SocketAction::Send {
                cb: id,
                bytes: bytes.to_vec(),
            }),
        }
        Ok(())
    }

    /// Octets arrived on a block's socket.
    pub fn received(&mut self, bm: &mut BufferManager, cb: ControlBlockId, bytes: &[u8]) {
        let Some(c) = self.cb_mut(cb) else { return };
        if c.state == CbState::Closing {
            return;
        }
        c.rx.push(bytes);
        let mut frames = Vec::new();
        let mut lost = None;
        loop {
            match c.rx.next_frame() {
                Ok(Some(f)) => frames.push(f),
                Ok(None) => break,
                Err(e) => {
                    lost = Some(e);
                    break;
                }
            }
        }
        self.post_frames(bm, cb, frames);
        if let Some(e) = lost {
            self.framing_lost(bm, cb, &e);
        }
    }

    /// RFC 1006 framing is lost (or this core's reader refuses the reserved octet): the
    /// connection can only be dropped. A caller POP4 never heard of is freed here; otherwise
    /// POP4 gets a Disconnect Indication and answers with its Close Request.
    fn framing_lost(&mut self, bm: &mut BufferManager, cb: ControlBlockId, e: &mta_osi::Malformed) {
        self.counters.framing_errors += 1;
        let Some(c) = self.cb_mut(cb) else { return };
        tracing::debug!(%cb, error = %e, "NSI: TPKT framing lost; closing the connection");
        if c.unknown_to_pop4() {
            self.free(bm, cb);
            return;
        }
        c.enter(CbState::Closing, "TPKT framing lost");
        c.reconnect_at = None;
        self.actions.push(SocketAction::Close { cb });
        self.post(bm, MessageType::DisconnectIndication, cb, &[]);
    }

    /// Post each reassembled TPDU to POP4 as the block's state gives it.
    fn post_frames(
        &mut self,
        bm: &mut BufferManager,
        cb: ControlBlockId,
        frames: Vec<mta_osi::tpkt::Frame>,
    ) {
        for f in frames {
            let c = self.cb_mut(cb).expect("live");
            // The TPDU's code (ISO 8073 13.2: after the length indicator) drives the block's
            // state; POP4 gets the TPDU itself and parses it, once.
            let code = f.tpdu.get(1).copied();
            let t = match (c.state, code) {
                (CbState::AwaitCr, Some(cotp::code::CR)) if !c.indicated => {
                    c.indicated = true;
                    MessageType::ConnectIndication
                }
                (CbState::AwaitCr, _) if !c.indicated => {
                    // Class 0 opens with a CR; until one has come there is nothing for POP4.
                    tracing::debug!(%cb, ?code, "NSI: TPDU before the CR dropped");
                    continue;
                }
                (_, Some(cotp::code::DR)) => {
                    c.peer_sent_dr = true;
                    MessageType::DataIndication
                }
                (CbState::CcSent, _) | (CbState::CrSent, Some(cotp::code::CC)) => {
                    c.enter(
                        CbState::Transfer,
                        if code == Some(cotp::code::CC) {
                            "CC received"
                        } else {
                            "first data received"
                        },
                    );
                    MessageType::DataIndication
                }
                _ => MessageType::DataIndication,
            };
            self.post(bm, t, cb, &f.tpdu);
        }
    }

    /// recv() returned 0 (or the socket was reset): the peer closed the connection.
    pub fn remote_closed(
        &mut self,
        bm: &mut BufferManager,
        log: &mut EventLog,
        now: u64,
        cb: ControlBlockId,
        socket_error: u32,
    ) {
        let p = self.profile;
        let Some(c) = self.cb_mut(cb) else { return };
        if c.state == CbState::Closing {
            return;
        }
        let outbound_established =
            c.direction == Direction::Outbound && c.state == CbState::Transfer;
        if socket_error != 0 && outbound_established {
            // Sockets recovery (Q182619): keep the block and its queue, reconnect later.
            c.enter(CbState::Recovering, "socket error");
            c.reconnect_at = Some(now + p.tcp_recovery_interval_ms);
            log.log(catalogue::receive_socket_closed(
                &p,
                cb.index,
                socket_error,
                now,
            ));
            return;
        }
        let orderly = c.peer_sent_dr;
        let state = c.state;
        if state == CbState::Connecting {
            mta_reach::reach!("driver: reset while connecting");
        }
        let locality = c.remote.locality;
        let cb_type = if c.direction == Direction::Inbound {
            1
        } else {
            2
        };
        c.enter(
            CbState::Closing,
            if orderly {
                "peer closed after DR"
            } else {
                "peer closed"
            },
        );
        if !orderly {
            self.counters.abnormal_remote_disconnects += 1;
            log.log(catalogue::receive_socket_closed(
                &p,
                cb.index,
                socket_error,
                now,
            ));
            log.log(catalogue::remote_transport_disconnect(
                &p, cb.index, cb_type, now,
            ));
            let others = self
                .cbs
                .values()
                .filter(|o| {
                    o.id != cb && o.remote.locality == locality && o.state != CbState::Closing
                })
                .count();
            if others == 0 {
                log.log(catalogue::lost_connections_to_locality(&p, locality, now));
            }
        }
        // The receive side posts the driver-internal Receive Closed message to the block's state
        // machine. Its table handles it in data transfer and while closing; any other state is
        // unexpected (NMI9225, KB Q151626: "Bad message type 769 for socket CB 1 in state 2").
        if !orderly && !matches!(state, CbState::Transfer) {
            log.log(catalogue::bad_message_type(
                &p,
                MessageType::ReceiveClosed.code(),
                cb.index,
                state as u8,
                now,
            ));
        }
        let c = self.cb_mut(cb).expect("live");
        if c.unknown_to_pop4() {
            mta_reach::reach!("nsi: block freed before any indication");
            self.counters.freed_before_indication += 1;
            self.free(bm, cb);
            return;
        }
        self.post(bm, MessageType::DisconnectIndication, cb, &[]);
    }

    /// connect() failed with a Winsock error.
    pub fn connect_failed(
        &mut self,
        bm: &mut BufferManager,
        log: &mut EventLog,
        now: u64,
        cb: ControlBlockId,
        winsock_error: u32,
    ) {
        let p = self.profile;
        let Some(c) = self.cb_mut(cb) else { return };
        if c.state != CbState::Recovering {
            // A first connect that fails: nothing to recover; POP4 learns it from a Disconnect
            // Indication.
            c.enter(CbState::Closing, "connect() failed");
            let queued: Vec<BufferHandle> = c.queue.drain(..).collect();
            for h in queued {
                let _ = bm.release(h);
            }
            log.log(catalogue::sockets_connect_error(
                &p,
                winsock_error,
                cb.index,
                now,
            ));
            self.post(bm, MessageType::DisconnectIndication, cb, &[]);
            return;
        }
        log.log(catalogue::sockets_connect_error(
            &p,
            winsock_error,
            cb.index,
            now,
        ));
        let full = c.queue.len() >= p.tcp_pending_tpdu_queue as usize;
        c.attempts += 1;
        self.counters.refused_reconnects += 1;
        if full {
            mta_reach::reach!("driver: pending TPDU queue full at reconnect");
            self.counters.refused_reconnect_with_full_queue += 1;
        }
        if let Err(BufferError::IllegalRequest {
            headers, elements, ..
        }) = self.restage(bm, cb)
        {
            let ev = catalogue::illegal_buffer_request(&p, headers, elements, now);
            log.log(ev.clone());
            self.fatal = Some(ev);
            return;
        }
        let c = self.cb_mut(cb).expect("live");
        if c.attempts >= MAX_RECOVERY_ATTEMPTS {
            mta_reach::reach!("driver: recovery attempts exhausted");
            c.enter(CbState::Closing, "reconnect failed, attempts exhausted");
            c.reconnect_at = None;
            let queued: Vec<BufferHandle> = c.queue.drain(..).collect();
            for h in queued {
                let _ = bm.release(h);
            }
            self.post(bm, MessageType::DisconnectIndication, cb, &[]);
        } else {
            c.reconnect_at = Some(now + p.tcp_recovery_interval_ms);
        }
    }

    /// Re-stage the pending queue plus the reconnect CR into fresh buffers for the next attempt.
    fn restage(&mut self, bm: &mut BufferManager, cb: ControlBlockId) -> Result<(), BufferError> {
        let split = self.profile.tcp_recovery_splits_buffer_request;
        let limit = bm
            .limits()
            .max_headers_per_request
            .min(bm.limits().max_elements_per_request);
        let c = self.cb_mut(cb).expect("live");
        let n = c.queue.len() as u32 + 1; // the queue plus the reconnect CR
        tracing::debug!(
            target: "mta::driver",
            cb = %cb,
            headers = n,
            elements = n,
            per_request_limit = limit,
            split,
            "sockets recovery: re-staging the pending queue and the reconnect CR"
        );
        let mut fresh = Vec::with_capacity(n as usize);
        if split {
            if n > limit {
                mta_reach::reach!("driver: recovery re-stages in several requests");
            }
            let mut left = n;
            while left > 0 {
                let k = left.min(limit);
                match bm.request(Component::TcpDriver, k, k) {
                    Ok(g) => fresh.extend(g),
                    Err(e) => {
                        for h in fresh {
                            let _ = bm.release(h);
                        }
                        return Err(e);
                    }
                }
                left -= k;
            }
        } else {
            fresh = bm.request(Component::TcpDriver, n, n)?;
        }
        // fresh[0] holds the CR; the rest take the queued TPDUs.
        let cr = c.cr.clone().unwrap_or_default();
        let _ = bm.fill(fresh[0], &cr);
        let _ = bm.release(fresh[0]);
        let old: Vec<BufferHandle> = c.queue.drain(..).collect();
        for (h, new) in old.into_iter().zip(fresh.into_iter().skip(1)) {
            if let Ok(v) = bm.to_vec(h) {
                let _ = bm.fill(new, &v);
            }
            let _ = bm.release(h);
            c.queue.push_back(new);
        }
        Ok(())
    }

    /// Close a block's socket (if still open) and free the block, its queued TPDUs and any
    /// messages it still holds for POP4: POP4's Close Request, and a harness quiescing.
    pub fn release(&mut self, bm: &mut BufferManager, lpi: Lpi) {
        if let Some(id) = self.cb_for(lpi).map(|c| c.id) {
            self.free(bm, id);
        }
    }

    fn free(&mut self, bm: &mut BufferManager, id: ControlBlockId) {
        let Some(c) = self.cbs.remove(&id.index) else {
            return;
        };
        mta_reach::transition("driver", c.state.name(), "block freed", "free");
        for h in c.queue {
            let _ = bm.release(h);
        }
        if c.state != CbState::Closing {
            self.actions.push(SocketAction::Close { cb: id });
        }
        let _ = self.table.release(id);
    }

    /// A message from POP4, judged by the LPI decoder against the control-block table and by the
    /// block's owner (see the module doc): Accept OK and Refuse Connect answer an indication,
    /// Data and Close Request need an LPI POP4 owns. Anything else about the LPI is a bad LPI:
    /// 4258, an Error Indication back to POP4, and — on builds with the fix — the block freed.
    pub fn from_pop4(
        &mut self,
        bm: &mut BufferManager,
        log: &mut EventLog,
        now: u64,
        h: BufferHandle,
    ) {
        let decoded = mta_lpi::decode_buffer(bm, h, &self.table, Interface::TcpIp);
        let data = bm
            .to_vec(h)
            .map(|v| v.get(mta_lpi::HEADER_LEN..).unwrap_or_default().to_vec())
            .unwrap_or_default();
        let _ = bm.release(h);
        let d = match decoded {
            Ok(d) if d.repr.message_type.is_pop4_to_nsi() => d,
            Ok(d) => {
                tracing::warn!(message = %d.repr, "NSI: not a POP4 → NSI message, dropped");
                self.counters.malformed_from_pop4 += 1;
                return;
            }
            Err(e) => {
                tracing::warn!(error = %e, "NSI: malformed internal message from POP4 dropped");
                self.counters.malformed_from_pop4 += 1;
                return;
            }
        };
        let (t, lpi) = (d.repr.message_type, d.repr.lpi);
        if d.status.is_bad() {
            self.bad_lpi(bm, log, now, t, lpi, d.status);
            return;
        }
        let id = ControlBlockId {
            index: lpi.index,
            generation: lpi.generation,
        };
        let Some(c) = self.cb_mut(id) else {
            // The table says live but the driver holds no such block: only a harness that
            // allocated behind the driver's back gets here.
            self.bad_lpi(bm, log, now, t, lpi, LpiStatus::Unknown);
            return;
        };
        let (owned, indicated, gone) = (c.pop4_owns, c.indicated, c.state == CbState::Closing);
        match t {
            MessageType::AcceptOk | MessageType::RefuseConnect if indicated && !owned => {
                if gone {
                    mta_reach::reach!("nsi: late Accept OK");
                    self.counters.late_accepts += 1;
                    tracing::debug!(%lpi, "NSI: the caller left before POP4's answer arrived");
                    if t == MessageType::RefuseConnect {
                        self.free(bm, id);
                    }
                    return;
                }
                if let Err(e) = self.send(bm, id, &data) {
                    tracing::debug!(%lpi, error = %e, "NSI: accept TPDU not sent");
                }
                if t == MessageType::AcceptOk {
                    self.cb_mut(id).expect("live").pop4_owns = true;
                } else {
                    self.free(bm, id);
                }
            }
            MessageType::DataRequest if owned => {
                if let Err(e) = self.send(bm, id, &data) {
                    // Busy or gone: the association's timers will abort it.
                    tracing::debug!(%lpi, error = %e, "NSI refused a TSDU");
                }
            }
            MessageType::CloseRequest if owned => self.free(bm, id),
            _ => self.bad_lpi(bm, log, now, t, lpi, d.status),
        }
    }

    /// A message from POP4 whose LPI does not name a connection POP4 may act on.
    fn bad_lpi(
        &mut self,
        bm: &mut BufferManager,
        log: &mut EventLog,
        now: u64,
        t: MessageType,
        lpi: Lpi,
        status: LpiStatus,
    ) {
        let p = self.profile;
        self.counters.bad_lpi_messages += 1;
        log.log(catalogue::message_received_at_nsi(
            &p,
            lpi.index,
            lpi.parts(),
            t.name(),
            now,
        ));
        let code = match status {
            LpiStatus::Reused { .. } => catalogue::ERROR_LPI_MISMATCH,
            _ => catalogue::ERROR_BAD_LPI,
        };
        self.post_direct(bm, MessageType::ErrorIndication, lpi, &code.to_le_bytes());
        if t != MessageType::CloseRequest {
            return;
        }
        mta_reach::reach!("nsi: Close Request with a bad LPI");
        self.counters.bad_lpi_close_requests += 1;
        if p.nsi_bad_lpi_releases_control_block
            && let Some(id) = self.cb_for(lpi).map(|c| c.id)
        {
            self.free(bm, id);
        }
    }

    /// Timers: reconnect recovered blocks whose interval has passed.
    pub fn tick(&mut self, now: u64) {
        let due: Vec<ControlBlockId> = self
            .cbs
            .values()
            .filter(|c| c.state == CbState::Recovering && c.reconnect_at.is_some_and(|t| t <= now))
            .map(|c| c.id)
            .collect();
        for id in due {
            let c = self.cbs.get_mut(&id.index).expect("live");
            c.reconnect_at = None;
            self.actions.push(SocketAction::Connect {
                cb: id,
                remote: c.remote.clone(),
            });
        }
    }

    /// Earliest timer.
    pub fn deadline(&self) -> Option<u64> {
        self.cbs.values().filter_map(|c| c.reconnect_at).min()
    }

    /// Whether a tick would find nothing to do but timers: no socket action waiting for the
    /// adapter, no message waiting for POP4, no octets held for lack of buffers.
    pub fn idle(&self) -> bool {
        self.actions.is_empty()
            && self.to_pop4.is_empty()
            && self.cbs.values().all(|c| c.held.is_empty())
    }
}
