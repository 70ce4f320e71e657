//! X.25 over TCP (RFC 1613 XOT, port 1998) in the simulation — a thin adapter: an MTA machine's
//! X.25 interface (`mta_mta::x25::Gateway`: the third-party Winsock X.25 transport, the MTA's
//! X.25 adapter and their service cadence, KB Q225157; the MTA answers its associations) behind
//! an XOT listener, and remote MTAs, each calling over its own XOT connection
//! (`mta_mta::x25::RemoteMta` over a `Dte`): bind, transfer its messages as M-bit sequences,
//! release — and call again with what is unconfirmed when a call ends otherwise. Framing,
//! windows, resends, acknowledgements and the associations are the models'; this module moves
//! octets and reads the simulated clock.

use mta_build::Profile;
use mta_mta::core::Mta;
use mta_mta::x25::{self, CallEnd, Dte, RemoteMta, xot};
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::mpsc;
use turmoil::net::{TcpListener, TcpStream};

pub use mta_mta::x25::xot::XOT_PORT;

/// The remote MTA of every X.25 link: its name, password and calling DTE address.
pub const REMOTE_MTA: &str = "REMOTE";
/// The remote MTA's password.
pub const REMOTE_PASSWORD: &str = "REMOTE-pw";
/// The remote MTA's DTE address (X.121).
pub const REMOTE_DTE: &str = "31340001";
/// The called machine's DTE address (X.121).
pub const CALLED_DTE: &str = "31340000";

/// The connector the called machine has for the remote MTA (connector file text): the calling
/// DTE address is its stack address; no address space (no outbound X.25 route).
pub fn remote_connector(machine: &str) -> String {
    format!(
        "[[connector]]\nname = \"X.25 to {REMOTE_MTA}\"\nlocal_mta_name = \"{machine}\"\n\
         local_password = \"{machine}-pw\"\nremote_mta_name = \"{REMOTE_MTA}\"\n\
         remote_password = \"{REMOTE_PASSWORD}\"\nstack_address = \"{REMOTE_DTE}\"\n"
    )
}

/// The messages a remote MTA's caller `tag` transfers: `n` of `size` octets, each to a user of
/// `machine`'s domain, with the remote's trace element.
pub fn remote_messages(machine: &str, tag: &str, n: usize, size: usize) -> Vec<Vec<u8>> {
    use mta_p1::{Apdu, ContentType, Envelope, GlobalDomainIdentifier, MtsIdentifier, OrName};
    let domain = GlobalDomainIdentifier::new("US", " ", Some(REMOTE_MTA));
    (0..n)
        .map(|i| {
            let apdu = Apdu::Message {
                envelope: Envelope::new(
                    MtsIdentifier::new(domain.clone(), &format!("x25-{tag}-{i}")),
                    OrName::simple("US", " ", REMOTE_MTA, "ORG", "Sender"),
                    ContentType::BuiltIn(22),
                    vec![mta_p1::Recipient::responsible(
                        OrName::simple("US", " ", machine, "ORG", &format!("User{}", i % 5)),
                        1,
                    )],
                ),
                content: vec![(i % 251) as u8; size],
            };
            x25::transferred_from(apdu, &domain, "261123000000Z").emit()
        })
        .collect()
}

/// A machine's X.25 interface (`mta_mta::x25::Gateway`) and the XOT connection of each circuit.
pub struct Gateway {
    /// The model: transport, adapter, service and acknowledgement cadence.
    pub x25: x25::Gateway,
    /// Circuit → XOT connection writer.
    writers: BTreeMap<u16, mpsc::UnboundedSender<Vec<u8>>>,
    machine: String,
}

impl Gateway {
    /// The X.25 interface of `mta`, named `machine`.
    pub fn new(mta: &Mta, machine: &str) -> Self {
        Gateway {
            x25: x25::Gateway::new(&mta.profile, machine, mta.responder_config()),
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

    /// The `i`-th fault in the session input path, described.
    pub fn fault_text(&self, i: usize) -> Option<String> {
        let (lcn, f) = self.x25.faults.get(i)?;
        Some(format!(
            "fault in the session input path on XOT circuit {lcn}: {} (stack {})",
            f.message,
            f.spans.join(" -> ")
        ))
    }

    /// Whether a tick can do nothing but count: no circuit (an open one is acknowledged every
    /// serviced tick) and no connection. Idle skipping reads it.
    pub fn quiet(&self) -> bool {
        self.x25.circuits() == 0 && self.writers.is_empty()
    }

    /// One model tick: the model's cadence (`mta` answers the associations), then its packets
    /// onto their circuits' connections.
    pub fn tick(&mut self, now: u64, mta: &mut Mta) {
        for p in self.x25.tick(now, mta) {
            if let Some(tx) = self.writers.get(&p.lcn()) {
                let _ = tx.send(xot::frame(&p));
            }
        }
        // A cleared circuit's connection closes (its writer ends when its sender is dropped).
        let x25 = &self.x25;
        self.writers.retain(|&lcn, _| x25.is_open(lcn));
    }
}

/// The gateway's XOT listener: one circuit per accepted connection, while `serving()` (the MTA
/// service runs); a stopped service has no listener, so callers' connects are refused.
pub async fn listen(
    gw: Rc<RefCell<Option<Gateway>>>,
    tick_ms: u64,
    serving: impl Fn() -> bool + 'static,
) {
    loop {
        while !serving() {
            tokio::time::sleep(Duration::from_millis(tick_ms)).await;
        }
        let Ok(listener) = TcpListener::bind(("0.0.0.0", XOT_PORT)).await else {
            return;
        };
        while serving() {
            let Ok(Ok((s, _))) =
                tokio::time::timeout(Duration::from_millis(tick_ms), listener.accept()).await
            else {
                continue;
            };
            serve_connection(&gw, s);
        }
    }
}

/// One accepted XOT connection: a circuit of the gateway, its packets framed out and read in.
fn serve_connection(gw: &Rc<RefCell<Option<Gateway>>>, s: TcpStream) {
    let (tx, mut rx) = mpsc::unbounded_channel::<Vec<u8>>();
    let lcn = {
        let mut g = gw.borrow_mut();
        let Some(g) = g.as_mut() else { return };
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

/// How a remote MTA's delivery over X.25 ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CallOutcome {
    /// Every message confirmed and the association released (after as many calls as it took).
    Delivered,
    /// The bind was refused.
    Refused,
    /// No XOT connection within the caller's patience.
    NoConnection,
    /// Messages still unconfirmed when the caller's patience ran out.
    NoAnswer,
}

/// What a remote MTA's calls carry: where to, from which DTE, in what packets, as which MTA.
#[derive(Debug, Clone)]
pub struct RemoteCaller {
    /// The called machine's address (its XOT listener).
    pub target: String,
    /// Called and calling DTE addresses (X.121).
    pub dtes: (String, String),
    /// Packet size and window (the called interface's build's).
    pub packet_size: usize,
    /// Send window.
    pub window: usize,
    /// Go-back-N resend time.
    pub rto_ms: u64,
    /// The remote MTA's association configuration.
    pub config: mta_osi::association::Config,
    /// Its encoded MTA-bind argument.
    pub bind: Vec<u8>,
    /// How long it keeps calling until every message is confirmed.
    pub patience_ms: u64,
}

/// A remote MTA (`mta_mta::x25::RemoteMta` over a `Dte`): calls `c.target` over XOT, binds,
/// transfers `apdus` and releases; after a call that ends otherwise (cleared, aborted) it calls
/// again with what is unconfirmed, until its patience runs out.
pub async fn remote_mta(c: RemoteCaller, mut apdus: Vec<Vec<u8>>) -> CallOutcome {
    let patience = Duration::from_millis(c.patience_ms);
    let started = now();
    loop {
        let left = patience.saturating_sub(now().saturating_sub(started));
        let Some(s) = connect_patiently(&c.target, left).await else {
            return CallOutcome::NoConnection;
        };
        let (end, unconfirmed) = one_call(&c, s, apdus, started + patience).await;
        match end {
            Some(CallEnd::Released) => return CallOutcome::Delivered,
            Some(CallEnd::Refused) => return CallOutcome::Refused,
            _ if now().saturating_sub(started) > patience => return CallOutcome::NoAnswer,
            _ => apdus = unconfirmed,
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

/// One call on connection `s` until its association ends or `deadline`: how it ended (`None`:
/// hung up at the deadline) and the messages left unconfirmed.
async fn one_call(
    c: &RemoteCaller,
    s: TcpStream,
    apdus: Vec<Vec<u8>>,
    deadline: Duration,
) -> (Option<CallEnd>, Vec<Vec<u8>>) {
    let (mut r, mut w) = s.into_split();
    let dte = Dte::call(
        (1, &c.dtes.0, &c.dtes.1),
        c.packet_size,
        c.window,
        c.rto_ms,
        ms(now()),
    );
    let mut remote = RemoteMta::call(dte, c.config.clone(), &c.bind, apdus, ms(now()));
    let mut reader = xot::Reader::new();
    let mut chunk = vec![0u8; 4096];
    loop {
        let hung_up = now() > deadline;
        if hung_up {
            remote.hang_up();
        }
        for p in remote.poll_transmit(ms(now())) {
            if w.write_all(&xot::frame(&p)).await.is_err() {
                return (Some(CallEnd::Cleared), remote.unconfirmed());
            }
        }
        if hung_up {
            return (None, remote.unconfirmed());
        }
        if let Some(end) = remote.end() {
            return (Some(end), remote.unconfirmed());
        }
        let read = tokio::time::timeout(Duration::from_millis(10), r.read(&mut chunk)).await;
        match read {
            Ok(Ok(0) | Err(_)) => return (Some(CallEnd::Cleared), remote.unconfirmed()),
            Ok(Ok(n)) => reader.push(&chunk[..n]),
            Err(_) => continue,
        }
        while let Ok(Some(frame)) = reader.next_frame() {
            if let Ok(p) = frame {
                remote.receive(p, ms(now()));
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
