//! The I/O edge every stream adapter shares: a sans-IO `mta_mta::core::Mta` driven over byte
//! streams — turmoil's simulated TCP (`hostile`) or real tokio sockets (`serve`, `probe`). Generic
//! over `AsyncRead + AsyncWrite`, single-threaded (`spawn_local`), no protocol logic: octets in as
//! [`SocketEvent`]s, the model's [`SocketAction`]s out, flow control from the driver's receive
//! window.

use mta_bufmgr::ControlBlockId;
use mta_mta::core::{Mta, SocketEvent};
use mta_mta::driver::{Remote, SocketAction, winsock};
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};
use std::rc::Rc;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::mpsc;

/// A capture of every octet an adapter's streams carry (for a pcap), with the adapter's clock.
#[derive(Debug, Default)]
pub struct Tap {
    /// Records in order, with their time (ms).
    pub capture: mta_lab_world::pcap::Capture,
    /// The adapter's clock: what `now` the records get.
    pub now_ms: u64,
}

/// Shared handle to a capture.
pub type SharedTap = Rc<RefCell<Tap>>;

/// Record `r` into `tap`, if any.
pub fn tap_record(tap: Option<&SharedTap>, r: mta_lab_world::pcap::Record) {
    if let Some(t) = tap {
        let mut t = t.borrow_mut();
        let now = t.now_ms;
        t.capture.push((now, r));
    }
}

/// A stream's addresses as the capture needs them.
#[derive(Debug, Clone, Copy)]
pub struct Ends {
    /// Our address.
    pub local: SocketAddr,
    /// The other end's.
    pub peer: SocketAddr,
    /// Whether we opened the connection (we are the client).
    pub we_opened: bool,
}

/// One modelled MTA and the streams of its control blocks.
pub struct Node {
    /// The model.
    pub mta: Mta,
    /// Per block, its socket's writer task (`None` = shut down and close).
    writers: BTreeMap<ControlBlockId, mpsc::UnboundedSender<Option<Vec<u8>>>>,
    /// Adapter connection numbers handed to `Mta::accept`.
    next_conn: u64,
    /// Connections accepted by the listener (given a block or refused).
    pub accepted: u64,
    /// Connections the model refused (no free inbound control block).
    pub refused: u64,
    /// Streams attached and not yet closed by either side.
    pub open_streams: u64,
    /// Most streams open at once.
    pub max_open_streams: u64,
    /// When set, every octet is captured.
    pub tap: Option<SharedTap>,
}

/// A node shared by the adapter's tasks (they all run on one thread).
pub type SharedNode = Rc<RefCell<Node>>;

impl Node {
    /// Wrap a model.
    pub fn shared(mta: Mta) -> SharedNode {
        Rc::new(RefCell::new(Node {
            mta,
            writers: BTreeMap::new(),
            next_conn: 0,
            accepted: 0,
            refused: 0,
            open_streams: 0,
            max_open_streams: 0,
            tap: None,
        }))
    }
}

/// The listener accepted `stream` from IP `from`: the model gives it an inbound block (the stream
/// is attached) or refuses it (the stream is dropped, which closes it).
pub fn accept<S>(node: &SharedNode, stream: S, from: &str, ends: Option<Ends>)
where
    S: AsyncRead + AsyncWrite + 'static,
{
    let cb = {
        let mut n = node.borrow_mut();
        n.next_conn += 1;
        n.accepted += 1;
        let conn = n.next_conn;
        let cb = n.mta.accept(conn, from);
        if cb.is_none() {
            n.refused += 1;
        }
        cb
    };
    if let Some(cb) = cb {
        tracing::debug!(target: "mta_lab::edge", from, block = cb.index, "accepted");
        attach(node, cb, stream, ends);
    } else {
        tracing::info!(target: "mta_lab::edge", from, "connection refused: no free inbound control block");
        if let (Some(e), Some(tap)) = (ends, node.borrow().tap.as_ref()) {
            tap_record(
                Some(tap),
                mta_lab_world::pcap::Record::Open(e.peer, e.local),
            );
            tap_record(Some(tap), mta_lab_world::pcap::Record::Fin(e.local, e.peer));
        }
        drop(stream);
    }
}

/// Attach a connected `stream` to block `cb`: a writer task drains the model's sends, a reader
/// task feeds `Received`/`Closed` and reads only while the driver's receive window is open (NSI
/// holding internal messages it has no buffers for pushes back on the peer through TCP).
/// `ends`: the stream's addresses, for the capture.
pub fn attach<S>(node: &SharedNode, cb: ControlBlockId, stream: S, ends: Option<Ends>)
where
    S: AsyncRead + AsyncWrite + 'static,
{
    let tap = node.borrow().tap.clone();
    if let Some(e) = ends {
        let (c, s) = if e.we_opened {
            (e.local, e.peer)
        } else {
            (e.peer, e.local)
        };
        tap_record(tap.as_ref(), mta_lab_world::pcap::Record::Open(c, s));
    }
    let (mut r, mut w) = tokio::io::split(stream);
    let (tx, mut rx) = mpsc::unbounded_channel::<Option<Vec<u8>>>();
    {
        let mut n = node.borrow_mut();
        n.writers.insert(cb, tx);
        n.open_streams += 1;
        n.max_open_streams = n.max_open_streams.max(n.open_streams);
    }
    let wtap = tap.clone();
    // (from, to) of what we write (`true`) or read.
    let direction = move |outgoing: bool| -> Option<(SocketAddr, SocketAddr)> {
        ends.map(|e| {
            if outgoing {
                (e.local, e.peer)
            } else {
                (e.peer, e.local)
            }
        })
    };
    tokio::task::spawn_local(async move {
        while let Some(Some(b)) = rx.recv().await {
            if w.write_all(&b).await.is_err() {
                break;
            }
            if let Some((from, to)) = direction(true) {
                tap_record(
                    wtap.as_ref(),
                    mta_lab_world::pcap::Record::Data(from, to, b),
                );
            }
        }
        let _ = w.shutdown().await;
        if let Some((from, to)) = direction(true) {
            tap_record(wtap.as_ref(), mta_lab_world::pcap::Record::Fin(from, to));
        }
    });
    let n = node.clone();
    tokio::task::spawn_local(async move {
        let mut buf = vec![0u8; 16 * 1024];
        loop {
            while !n.borrow().mta.driver.receive_window_open(cb) {
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            let ev = match r.read(&mut buf).await {
                Ok(0) => SocketEvent::Closed(cb, 0),
                Ok(k) => SocketEvent::Received(cb, buf[..k].to_vec()),
                Err(_) => SocketEvent::Closed(cb, winsock::CONNRESET),
            };
            if let Some((from, to)) = direction(false) {
                let rec = match &ev {
                    SocketEvent::Received(_, b) => {
                        mta_lab_world::pcap::Record::Data(from, to, b.clone())
                    }
                    SocketEvent::Closed(_, 0) => mta_lab_world::pcap::Record::Fin(from, to),
                    _ => mta_lab_world::pcap::Record::Rst(from, to),
                };
                tap_record(tap.as_ref(), rec);
            }
            let closed = matches!(ev, SocketEvent::Closed(..));
            let mut nn = n.borrow_mut();
            nn.mta.socket(ev);
            if closed {
                nn.open_streams = nn.open_streams.saturating_sub(1);
                break;
            }
        }
    });
}

/// Tick the model at `now` (ms) and route its actions: sends and closes go to the blocks'
/// streams; the connects are returned for the adapter to open (it knows its network).
pub fn step(node: &SharedNode, now: u64) -> Vec<(ControlBlockId, Remote)> {
    let mut n = node.borrow_mut();
    if let Some(t) = &n.tap {
        t.borrow_mut().now_ms = now;
    }
    n.mta.tick(now);
    let mut connects = Vec::new();
    for a in n.mta.take_actions() {
        match a {
            SocketAction::Connect { cb, remote } => connects.push((cb, remote)),
            SocketAction::Send { cb, bytes } => {
                if let Some(w) = n.writers.get(&cb) {
                    let _ = w.send(Some(bytes));
                }
            }
            SocketAction::Close { cb } => {
                if let Some(w) = n.writers.remove(&cb) {
                    let _ = w.send(None);
                }
            }
            SocketAction::Refuse { .. } => {}
        }
    }
    connects
}

/// Report an outbound connect's result to the model (attaching the stream when it connected).
pub fn connected<S>(
    node: &SharedNode,
    cb: ControlBlockId,
    result: std::io::Result<S>,
    ends: Option<Ends>,
) where
    S: AsyncRead + AsyncWrite + 'static,
{
    match result {
        Ok(s) => {
            attach(node, cb, s, ends);
            node.borrow_mut().mta.socket(SocketEvent::Connected(cb));
        }
        Err(e) => {
            let code = if e.kind() == std::io::ErrorKind::TimedOut {
                winsock::TIMEDOUT
            } else {
                winsock::CONNREFUSED
            };
            tracing::info!(target: "mta_lab::edge", block = cb.index, error = %e, "connect failed");
            node.borrow_mut()
                .mta
                .socket(SocketEvent::ConnectFailed(cb, code));
        }
    }
}

/// Open a real TCP connection to `target` from `source` (the OS's choice when `None` or
/// unspecified), giving up after `timeout`; Nagle off (TPDUs are small and answered).
pub async fn tcp_connect(
    target: SocketAddr,
    source: Option<IpAddr>,
    timeout: Duration,
) -> std::io::Result<tokio::net::TcpStream> {
    let sock = if target.is_ipv4() {
        tokio::net::TcpSocket::new_v4()?
    } else {
        tokio::net::TcpSocket::new_v6()?
    };
    if let Some(src) = source.filter(|s| !s.is_unspecified()) {
        sock.bind(SocketAddr::new(src, 0))?;
    }
    match tokio::time::timeout(timeout, sock.connect(target)).await {
        Ok(r) => {
            let s = r?;
            let _ = s.set_nodelay(true);
            Ok(s)
        }
        Err(_) => Err(std::io::Error::new(
            std::io::ErrorKind::TimedOut,
            "connect timed out",
        )),
    }
}

/// Open block `cb`'s outbound connection over real TCP, from the source address the model chose,
/// and report the result to the model. Returns whether it connected.
pub async fn dial(
    node: &SharedNode,
    cb: ControlBlockId,
    target: std::io::Result<SocketAddr>,
    source: Option<&str>,
    timeout: Duration,
) -> bool {
    let source = source.and_then(|s| s.parse::<IpAddr>().ok());
    let result = match target {
        Ok(t) => tcp_connect(t, source, timeout).await,
        Err(e) => Err(e),
    };
    let ends = result.as_ref().ok().and_then(|s| {
        Some(Ends {
            local: s.local_addr().ok()?,
            peer: s.peer_addr().ok()?,
            we_opened: true,
        })
    });
    let ok = result.is_ok();
    connected(node, cb, result, ends);
    ok
}
