//! X.25 over TCP (RFC 1613 XOT, port 1998) in the simulation: an MTA machine's X.25 interface —
//! the modelled third-party Winsock X.25 transport and the MTA's X.25 adapter (models/mta x25.rs,
//! KB Q225157) — and remote X.25 callers, each a small DTE program that places one call over its
//! own XOT connection, sends a session CONNECT as an M-bit packet sequence within its window
//! (go-back-N: it resends from the first unacknowledged packet when no RR comes), and waits for
//! the session's answer. Thin adapter: framing and routing only; the protocol is the models'.
//!
//! What is not modelled over X.25: the association above the session (the gateway's session user
//! accepts every S-CONNECT; binds and transfers run over TCP in these worlds).

use mta_build::Profile;
use mta_eventlog::EventLog;
use mta_mta::x25::{AdapterOutcome, Packet, WinsockX25, X25Adapter, XOT_HEADER_LEN};
use mta_osi::session::{self, Indication, Session, TData};
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::mpsc;
use turmoil::net::{TcpListener, TcpStream};

/// The XOT port (RFC 1613).
pub const XOT_PORT: u16 = 1998;

/// A machine's X.25 interface.
pub struct Gateway {
    /// The transport (shared receive queue, deferred service).
    pub transport: WinsockX25,
    /// The adapter (one session per circuit).
    pub adapter: X25Adapter,
    /// Event log of the X.25 side (9331 when SP3+ drops a malformed buffer).
    pub log: EventLog,
    /// Circuit → XOT connection writer.
    pub circuits: BTreeMap<u16, mpsc::UnboundedSender<Vec<u8>>>,
    next_lcn: u16,
    /// The transport is serviced every this many ticks (1 normally; more while an X.25 overload
    /// fault lasts).
    pub service_every: u32,
    ticks: u32,
    /// Faults in the session input path (a finding each).
    pub faults: Vec<String>,
    /// Sessions the gateway accepted.
    pub accepted: u64,
    /// Sum of the transports' malformed-buffer counters across restarts (Q225157's trigger).
    pub earlier_malformed: u64,
}

impl Gateway {
    /// The X.25 interface of a machine of `profile`'s build.
    pub fn new(profile: &Profile, machine: &str) -> Self {
        Gateway {
            transport: WinsockX25::new(profile),
            adapter: X25Adapter::new(profile),
            log: EventLog::new(machine, profile.event_era, 0),
            circuits: BTreeMap::new(),
            next_lcn: 1,
            service_every: 1,
            ticks: 0,
            faults: Vec::new(),
            accepted: 0,
            earlier_malformed: 0,
        }
    }

    /// A crash: every circuit is gone; the counters survive in the oracle's memory.
    pub fn restart(&mut self, profile: &Profile, machine: &str) {
        let earlier = self.earlier_malformed + self.transport.counters.malformed_buffers;
        let faults = std::mem::take(&mut self.faults);
        let accepted = self.accepted;
        let service_every = self.service_every;
        *self = Gateway::new(profile, machine);
        self.earlier_malformed = earlier;
        self.faults = faults;
        self.accepted = accepted;
        self.service_every = service_every;
    }

    /// Malformed buffers handed up so far (all lives).
    pub fn malformed(&self) -> u64 {
        self.earlier_malformed + self.transport.counters.malformed_buffers
    }

    /// One model tick: service the transport when due, hand buffers to the adapter, answer
    /// connects, acknowledge, and write what the adapter sends.
    pub fn tick(&mut self, machine: &str, now: u64) {
        self.ticks += 1;
        if !self.ticks.is_multiple_of(self.service_every.max(1)) {
            return;
        }
        let (buffers, control) = self.transport.service();
        for p in control {
            match p {
                Packet::Call { lcn } => self.adapter.call(lcn),
                Packet::Clear { lcn, .. } => {
                    self.adapter.cleared(lcn);
                    self.circuits.remove(&lcn);
                }
                _ => {}
            }
        }
        for b in buffers {
            // The fault's layer stack is read from tracing spans: record them whatever the
            // process's subscriber is (the CLI's filters spans out by default).
            let recorder = {
                use tracing_subscriber::layer::SubscriberExt;
                tracing_subscriber::registry().with(mta_mta::fault::SpanStack)
            };
            let (adapter, log) = (&mut self.adapter, &mut self.log);
            let outcome = tracing::subscriber::with_default(recorder, || {
                mta_mta::fault::catch_fault(|| adapter.deliver(log, now, &b))
            });
            match outcome {
                Err(f) => {
                    self.faults.push(format!(
                        "{machine}: fault in the session input path on XOT circuit {}: {} (stack {})",
                        b.lcn,
                        f.message,
                        f.spans.join(" -> ")
                    ));
                    self.adapter.cleared(b.lcn);
                    self.adapter.to_network.push(Packet::Clear {
                        lcn: b.lcn,
                        cause: 0,
                    });
                }
                Ok(AdapterOutcome::Delivered(ind)) => {
                    if ind.iter().any(|i| matches!(i, Indication::Connect { .. }))
                        && let Some(s) = self.adapter.session_mut(b.lcn)
                    {
                        s.accept(b"");
                        self.accepted += 1;
                    }
                    self.adapter.flush();
                }
                Ok(AdapterOutcome::Dropped { .. }) => {}
            }
        }
        // Acknowledge what each circuit has had accepted in sequence (go-back-N window).
        let lcns: Vec<u16> = self.circuits.keys().copied().collect();
        for lcn in lcns {
            let pr = (self.transport.accepted(lcn) & 7) as u8;
            self.send(&Packet::Rr { lcn, pr });
        }
        for p in std::mem::take(&mut self.adapter.to_network) {
            self.send(&p);
            if let Packet::Clear { lcn, .. } = p {
                self.circuits.remove(&lcn);
            }
        }
    }

    fn send(&self, p: &Packet) {
        if let Some(tx) = self.circuits.get(&p.lcn()) {
            let _ = tx.send(p.to_xot());
        }
    }
}

/// Split XOT frames off the front of `buf`.
pub fn frames(buf: &mut Vec<u8>) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    while buf.len() >= XOT_HEADER_LEN {
        let len = usize::from(u16::from_be_bytes([buf[2], buf[3]]));
        if buf.len() < XOT_HEADER_LEN + len {
            break;
        }
        out.push(buf[XOT_HEADER_LEN..XOT_HEADER_LEN + len].to_vec());
        buf.drain(..XOT_HEADER_LEN + len);
    }
    out
}

/// Relabel a packet's logical channel (each XOT connection carries one circuit; the gateway gives
/// each its own channel on the shared transport).
fn with_lcn(p: Packet, lcn: u16) -> Packet {
    match p {
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

/// The gateway's XOT listener: one circuit per accepted connection.
pub async fn listen(gw: Rc<RefCell<Option<Gateway>>>, tick_ms: u64) {
    let Ok(listener) = TcpListener::bind(("0.0.0.0", XOT_PORT)).await else {
        return;
    };
    loop {
        let Ok(Ok((s, _))) =
            tokio::time::timeout(Duration::from_millis(tick_ms), listener.accept()).await
        else {
            continue;
        };
        let (tx, mut rx) = mpsc::unbounded_channel::<Vec<u8>>();
        let lcn = {
            let mut g = gw.borrow_mut();
            let Some(g) = g.as_mut() else { continue };
            let lcn = g.next_lcn;
            g.next_lcn = g.next_lcn % 4095 + 1;
            g.circuits.insert(lcn, tx);
            lcn
        };
        let (mut r, mut w) = s.into_split();
        tokio::task::spawn_local(async move {
            while let Some(b) = rx.recv().await {
                if w.write_all(&b).await.is_err() {
                    break;
                }
            }
        });
        let g2 = gw.clone();
        tokio::task::spawn_local(async move {
            let mut buf = Vec::new();
            let mut chunk = vec![0u8; 4096];
            loop {
                match r.read(&mut chunk).await {
                    Ok(0) | Err(_) => {
                        if let Some(g) = g2.borrow_mut().as_mut() {
                            g.transport.arrive(Packet::Clear { lcn, cause: 0 });
                        }
                        return;
                    }
                    Ok(n) => buf.extend_from_slice(&chunk[..n]),
                }
                for f in frames(&mut buf) {
                    let Ok(p) = Packet::parse(&f) else { continue };
                    if let Some(g) = g2.borrow_mut().as_mut() {
                        g.transport.arrive(with_lcn(p, lcn));
                    }
                }
            }
        });
    }
}

/// How a caller's call ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CallOutcome {
    /// The session was accepted.
    Accepted,
    /// The session was refused.
    Refused,
    /// The network cleared the call.
    Cleared,
    /// No XOT connection.
    NoConnection,
    /// No answer within the caller's patience.
    NoAnswer,
}

/// A remote X.25 DTE: one call to `target`:1998 carrying a session CONNECT of `cn_size` octets of
/// user data, sent in packets of `packet_size` within `window`, resent go-back-N after `rto_ms`
/// without progress; gives up after `patience_ms`.
pub async fn caller(
    target: String,
    cn_size: usize,
    packet_size: usize,
    window: usize,
    rto_ms: u64,
    patience_ms: u64,
) -> CallOutcome {
    // A DTE whose call cannot get through (the router is restarting, its listener is down)
    // tries again until its patience runs out.
    let first_try = turmoil::sim_elapsed().unwrap_or_default();
    let s = loop {
        if let Ok(Ok(s)) = tokio::time::timeout(
            Duration::from_secs(5),
            TcpStream::connect((target.as_str(), XOT_PORT)),
        )
        .await
        {
            break s;
        }
        let now = turmoil::sim_elapsed().unwrap_or_default();
        if now.saturating_sub(first_try) > Duration::from_millis(patience_ms) {
            return CallOutcome::NoConnection;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let (mut r, mut w) = s.into_split();
    let mut session = Session::new(session::Config::new(b"X25-CALLER"));
    session.connect(b"", &vec![0x5a; cn_size]);
    let tsdu = session.poll_tsdu().unwrap_or_default();
    let packets = Packet::segment(1, &tsdu, packet_size, 0);
    if w.write_all(&Packet::Call { lcn: 1 }.to_xot())
        .await
        .is_err()
    {
        return CallOutcome::NoConnection;
    }
    let started = turmoil::sim_elapsed().unwrap_or_default();
    let (mut base, mut next, mut connected) = (0usize, 0usize, false);
    let mut last_progress = started;
    let (mut buf, mut chunk, mut inbound) = (Vec::new(), vec![0u8; 4096], Vec::new());
    loop {
        let now = turmoil::sim_elapsed().unwrap_or_default();
        if now.saturating_sub(started) > Duration::from_millis(patience_ms) {
            let _ = w
                .write_all(&Packet::Clear { lcn: 1, cause: 0 }.to_xot())
                .await;
            return CallOutcome::NoAnswer;
        }
        if !connected && now.saturating_sub(last_progress) > Duration::from_millis(rto_ms) {
            // The call request may have been lost to a full receive queue: call again.
            if w.write_all(&Packet::Call { lcn: 1 }.to_xot())
                .await
                .is_err()
            {
                return CallOutcome::Cleared;
            }
            last_progress = now;
        }
        if connected {
            if now.saturating_sub(last_progress) > Duration::from_millis(rto_ms) {
                next = base; // go-back-N
                last_progress = now;
            }
            while next < packets.len() && next < base + window {
                if w.write_all(&packets[next].to_xot()).await.is_err() {
                    return CallOutcome::Cleared;
                }
                next += 1;
            }
        }
        let read = tokio::time::timeout(Duration::from_millis(10), r.read(&mut chunk)).await;
        match read {
            Ok(Ok(0) | Err(_)) => return CallOutcome::Cleared,
            Ok(Ok(n)) => buf.extend_from_slice(&chunk[..n]),
            Err(_) => continue,
        }
        for f in frames(&mut buf) {
            match Packet::parse(&f) {
                Ok(Packet::CallAccepted { .. }) => connected = true,
                Ok(Packet::Rr { pr, .. }) => {
                    // P(R) acknowledges modulo 8: advance base to the packet it names.
                    let mut advanced = false;
                    while base < next && (base & 7) as u8 != pr {
                        base += 1;
                        advanced = true;
                    }
                    if advanced {
                        last_progress = turmoil::sim_elapsed().unwrap_or_default();
                    }
                }
                Ok(Packet::Data { more, data, .. }) => {
                    inbound.extend_from_slice(&data);
                    if !more {
                        let len = inbound.len();
                        session.input(TData {
                            data: &inbound,
                            declared_len: len,
                        });
                        inbound.clear();
                        while let Some(i) = session.poll_indication() {
                            let outcome = match i {
                                Indication::Accepted { .. } => CallOutcome::Accepted,
                                Indication::Refused { .. } => CallOutcome::Refused,
                                _ => continue,
                            };
                            let _ = w
                                .write_all(&Packet::Clear { lcn: 1, cause: 0 }.to_xot())
                                .await;
                            return outcome;
                        }
                    }
                }
                Ok(Packet::Clear { .. }) => return CallOutcome::Cleared,
                _ => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xot_frames_split_across_reads() {
        let a = Packet::Call { lcn: 1 }.to_xot();
        let b = Packet::Rr { lcn: 1, pr: 3 }.to_xot();
        let mut buf = a.clone();
        buf.extend_from_slice(&b[..3]);
        let got = frames(&mut buf);
        assert_eq!(got.len(), 1);
        assert_eq!(Packet::parse(&got[0]).unwrap(), Packet::Call { lcn: 1 });
        buf.extend_from_slice(&b[3..]);
        let got = frames(&mut buf);
        assert_eq!(
            Packet::parse(&got[0]).unwrap(),
            Packet::Rr { lcn: 1, pr: 3 }
        );
        assert!(buf.is_empty());
    }
}
