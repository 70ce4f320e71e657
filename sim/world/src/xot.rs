//! X.25 over TCP (RFC 1613 XOT, port 1998) in the simulation — a thin adapter: an MTA machine's
//! X.25 interface (`mta_mta::x25::Gateway`: the third-party Winsock X.25 transport, the MTA's
//! X.25 adapter and their service cadence, KB Q225157) behind an XOT listener, and remote X.25
//! callers, each a `mta_mta::x25::Dte` placing one call over its own XOT connection with a session
//! CONNECT as an M-bit packet sequence. Framing, windows, resends and acknowledgements are the
//! models'; this module moves octets and reads the simulated clock.
//!
//! What is not modelled over X.25: the association above the session (the gateway's session user
//! accepts every S-CONNECT; binds and transfers run over TCP in these worlds).

use mta_build::Profile;
use mta_mta::x25::{self, CallState, Dte, xot};
use mta_osi::session::{self, Indication, Session, TData};
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::mpsc;
use turmoil::net::{TcpListener, TcpStream};

pub use mta_mta::x25::xot::XOT_PORT;

/// A machine's X.25 interface (`mta_mta::x25::Gateway`) and the XOT connection of each circuit.
pub struct Gateway {
    /// The model: transport, adapter, service and acknowledgement cadence.
    pub x25: x25::Gateway,
    /// Circuit → XOT connection writer.
    writers: BTreeMap<u16, mpsc::UnboundedSender<Vec<u8>>>,
    machine: String,
}

impl Gateway {
    /// The X.25 interface of a machine of `profile`'s build.
    pub fn new(profile: &Profile, machine: &str) -> Self {
        Gateway {
            x25: x25::Gateway::new(profile, machine),
            writers: BTreeMap::new(),
            machine: machine.to_string(),
        }
    }

    /// A crash: every circuit and its connection are gone; the counters survive in the oracle's
    /// memory.
    pub fn restart(&mut self, profile: &Profile) {
        self.x25.restart(profile, &self.machine);
        self.writers.clear();
    }

    /// The faults in the session input path, as findings.
    pub fn findings(&self) -> Vec<String> {
        self.x25
            .faults
            .iter()
            .map(|(lcn, f)| {
                format!(
                    "{}: fault in the session input path on XOT circuit {lcn}: {} (stack {})",
                    self.machine,
                    f.message,
                    f.spans.join(" -> ")
                )
            })
            .collect()
    }

    /// One model tick: the model's cadence, then its packets onto their circuits' connections.
    pub fn tick(&mut self, now: u64) {
        for p in self.x25.tick(now) {
            if let Some(tx) = self.writers.get(&p.lcn()) {
                let _ = tx.send(xot::frame(&p));
            }
        }
        // A cleared circuit's connection closes (its writer ends when its sender is dropped).
        let x25 = &self.x25;
        self.writers.retain(|&lcn, _| x25.is_open(lcn));
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
            let lcn = g.x25.open_circuit();
            g.writers.insert(lcn, tx);
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
            let mut reader = xot::Reader::new();
            let mut chunk = vec![0u8; 4096];
            loop {
                let n = match r.read(&mut chunk).await {
                    Ok(0) | Err(_) => 0,
                    Ok(n) => n,
                };
                reader.push(&chunk[..n]);
                // A framing error ends the connection like its close (RFC 1613: the stream is
                // out of step).
                let mut ended = n == 0;
                loop {
                    match reader.next_frame() {
                        Ok(Some(Ok(p))) => {
                            if let Some(g) = g2.borrow_mut().as_mut() {
                                g.x25.arrive(lcn, p);
                            }
                        }
                        Ok(Some(Err(_))) => {}
                        Ok(None) => break,
                        Err(_) => {
                            ended = true;
                            break;
                        }
                    }
                }
                if ended {
                    if let Some(g) = g2.borrow_mut().as_mut() {
                        g.x25.connection_lost(lcn);
                    }
                    return;
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

/// A remote X.25 DTE (`mta_mta::x25::Dte`): one call to `target`:1998 carrying a session CONNECT
/// of `cn_size` octets of user data, sent in packets of `packet_size` within `window`, resent
/// go-back-N after `rto_ms` without progress; gives up after `patience_ms`.
pub async fn caller(
    target: String,
    cn_size: usize,
    packet_size: usize,
    window: usize,
    rto_ms: u64,
    patience_ms: u64,
) -> CallOutcome {
    let patience = Duration::from_millis(patience_ms);
    let Some(s) = connect_patiently(&target, patience).await else {
        return CallOutcome::NoConnection;
    };
    let (mut r, mut w) = s.into_split();
    let mut session = Session::new(session::Config::new(b"X25-CALLER"));
    session.connect(b"", &vec![0x5a; cn_size]);
    let mut dte = Dte::call(1, packet_size, window, rto_ms, ms(now()));
    dte.send_tsdu(&session.poll_tsdu().unwrap_or_default());
    for p in dte.poll_transmit(ms(now())) {
        if w.write_all(&xot::frame(&p)).await.is_err() {
            return CallOutcome::NoConnection;
        }
    }
    let started = now();
    let mut reader = xot::Reader::new();
    let mut chunk = vec![0u8; 4096];
    loop {
        let t = now();
        if t.saturating_sub(started) > patience {
            dte.clear();
            for p in dte.poll_transmit(ms(t)) {
                let _ = w.write_all(&xot::frame(&p)).await;
            }
            return CallOutcome::NoAnswer;
        }
        for p in dte.poll_transmit(ms(t)) {
            if w.write_all(&xot::frame(&p)).await.is_err() {
                return CallOutcome::Cleared;
            }
        }
        let read = tokio::time::timeout(Duration::from_millis(10), r.read(&mut chunk)).await;
        match read {
            Ok(Ok(0) | Err(_)) => return CallOutcome::Cleared,
            Ok(Ok(n)) => reader.push(&chunk[..n]),
            Err(_) => continue,
        }
        while let Ok(Some(frame)) = reader.next_frame() {
            let Ok(p) = frame else { continue };
            dte.receive(p, ms(now()));
            if dte.state() == CallState::Cleared {
                return CallOutcome::Cleared;
            }
            while let Some(tsdu) = dte.poll_tsdu() {
                if let Some(outcome) = session_answer(&mut session, &tsdu) {
                    dte.clear();
                    for p in dte.poll_transmit(ms(now())) {
                        let _ = w.write_all(&xot::frame(&p)).await;
                    }
                    return outcome;
                }
            }
        }
    }
}

/// The simulated clock.
fn now() -> Duration {
    turmoil::sim_elapsed().unwrap_or_default()
}

fn ms(d: Duration) -> u64 {
    d.as_millis() as u64
}

/// A DTE whose call cannot get through (the router is restarting, its listener is down) tries
/// again until its patience runs out.
async fn connect_patiently(target: &str, patience: Duration) -> Option<TcpStream> {
    let first_try = now();
    loop {
        if let Ok(Ok(s)) = tokio::time::timeout(
            Duration::from_secs(5),
            TcpStream::connect((target, XOT_PORT)),
        )
        .await
        {
            return Some(s);
        }
        if now().saturating_sub(first_try) > patience {
            return None;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// The session's answer to the CONNECT, if `tsdu` carries it.
fn session_answer(session: &mut Session, tsdu: &[u8]) -> Option<CallOutcome> {
    session.input(TData {
        data: tsdu,
        declared_len: tsdu.len(),
    });
    while let Some(i) = session.poll_indication() {
        match i {
            Indication::Accepted { .. } => return Some(CallOutcome::Accepted),
            Indication::Refused { .. } => return Some(CallOutcome::Refused),
            _ => {}
        }
    }
    None
}
