//! The I/O edge every stream adapter shares: a sans-IO `mta_mta::core::Mta` driven over the byte
//! streams it is handed — turmoil's simulated TCP (the world's `simulate`, net's `hostile`) or real
//! tokio sockets (net's `serve` and `probe`). It never opens, binds, accepts or dials a socket
//! itself: each adapter does that on its own network (net's `tcp` on real TCP) and gives the edge
//! the stream's two halves, so this module touches no real socket and reads no clock of its own
//! (its times are the adapter's: `now` at [`step`], a [`Tap`]'s clock).
//!
//! Generic over `AsyncRead`/`AsyncWrite`, single-threaded (`spawn_local`), no protocol logic:
//! octets in as [`SocketEvent`]s, the model's [`SocketAction`]s out, flow control from the
//! driver's receive window, every octet into a [`Tap`] when one is set, and everything it sees or
//! does reported to its [`Host`]'s hook ([`Host::seen`]) — how the simulator keeps its trace and
//! per-machine counters without a pump of its own.

use crate::pcap::{Capture, Record};
use mta_bufmgr::ControlBlockId;
use mta_mta::core::{Mta, SocketEvent};
use mta_mta::driver::{Remote, SocketAction, winsock};
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::rc::Rc;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::mpsc;

/// A capture of every octet an adapter's streams carry (for a pcap), with the adapter's clock.
#[derive(Debug, Default)]
pub struct Tap {
    /// Records in order, with their time (ms).
    pub capture: Capture,
    /// The adapter's clock as [`step`] last set it: what `now` the records get (unless `clock`).
    pub now_ms: u64,
    /// When set, the records' time is read from here instead (the simulator's clock).
    pub clock: Option<fn() -> u64>,
}

/// Shared handle to a capture (several nodes may share one).
pub type SharedTap = Rc<RefCell<Tap>>;

/// Record `r` into `tap`, if any.
pub fn tap_record(tap: Option<&SharedTap>, r: Record) {
    if let Some(t) = tap {
        let mut t = t.borrow_mut();
        let now = t.clock.map_or(t.now_ms, |c| c());
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
    /// Whether the other end records into the same capture what it writes (and the opening, when
    /// it opened): then this end records only its own writes and close. Otherwise it records both
    /// directions.
    pub peer_records: bool,
}

impl Ends {
    /// The opening (client, server), when this end records it.
    fn opening(&self) -> Option<Record> {
        if self.we_opened {
            Some(Record::Open(self.local, self.peer))
        } else if !self.peer_records {
            Some(Record::Open(self.peer, self.local))
        } else {
            None
        }
    }

    /// The record of what was read, when this end records it.
    fn read(&self, ev: &SocketEvent) -> Option<Record> {
        if self.peer_records {
            return None;
        }
        let (from, to) = (self.peer, self.local);
        Some(match ev {
            SocketEvent::Received(_, b) => Record::Data(from, to, b.clone()),
            SocketEvent::Closed(_, 0) => Record::Fin(from, to),
            _ => Record::Rst(from, to),
        })
    }
}

/// The edge's side of one model: its streams' writer tasks and what it counts.
#[derive(Debug, Default)]
pub struct Streams {
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

impl Streams {
    /// No streams yet; every octet into `tap` when given.
    pub fn new(tap: Option<SharedTap>) -> Self {
        Streams {
            tap,
            ..Streams::default()
        }
    }

    /// Whether any stream still has a writer (a stopped MTA's edge closes them at its next tick).
    pub fn has_writers(&self) -> bool {
        !self.writers.is_empty()
    }

    /// Forget every stream (the host crashed and its tasks went with it): the writers' channels
    /// close. The connection numbering goes on.
    pub fn forget(&mut self) {
        self.writers.clear();
        self.open_streams = 0;
    }
}

/// What the edge saw or did, reported to [`Host::seen`] in the order it happened.
#[derive(Debug)]
pub enum Seen<'a> {
    /// The listener's stream from IP `from` was given block `cb`, or refused (`None`).
    Accepted {
        /// The caller's IP.
        from: &'a str,
        /// The model's answer.
        cb: Option<ControlBlockId>,
    },
    /// A stream was attached to `cb` (its addresses, when known); its tasks start next.
    Attached {
        /// The block.
        cb: ControlBlockId,
        /// The stream's addresses.
        ends: Option<Ends>,
    },
    /// A read from `cb`'s stream, about to be handed to the model.
    Read {
        /// The block.
        cb: ControlBlockId,
        /// `Received` or `Closed`.
        event: &'a SocketEvent,
    },
    /// One of the model's actions after the tick at `now`, about to be routed.
    Action {
        /// The tick's time (ms).
        now: u64,
        /// The action.
        action: &'a SocketAction,
    },
    /// An outbound connect's result for `cb`, about to be reported to the model.
    Connected {
        /// The block.
        cb: ControlBlockId,
        /// Whether it connected (its stream is attached already).
        ok: bool,
    },
}

/// What the edge drives: a model, the edge's state for it, and a hook that sees everything.
pub trait Host: 'static {
    /// The model.
    fn mta(&self) -> &Mta;
    /// The model, to feed.
    fn mta_mut(&mut self) -> &mut Mta;
    /// The edge's state for this model.
    fn streams(&mut self) -> &mut Streams;
    /// Called on everything the edge sees or does, before the model hears of it (by default
    /// nothing happens).
    fn seen(&mut self, what: Seen<'_>) {
        let _ = what;
    }
}

/// One modelled MTA and the streams of its control blocks (a host with no hook).
#[derive(Debug)]
pub struct Node {
    /// The model.
    pub mta: Mta,
    /// Its streams.
    pub streams: Streams,
}

/// A node shared by the adapter's tasks (they all run on one thread).
pub type SharedNode = Rc<RefCell<Node>>;

impl Node {
    /// Wrap a model.
    pub fn shared(mta: Mta) -> SharedNode {
        Rc::new(RefCell::new(Node {
            mta,
            streams: Streams::default(),
        }))
    }
}

impl Host for Node {
    fn mta(&self) -> &Mta {
        &self.mta
    }
    fn mta_mut(&mut self) -> &mut Mta {
        &mut self.mta
    }
    fn streams(&mut self) -> &mut Streams {
        &mut self.streams
    }
}

/// The listener accepted `stream` (its read and write halves) from IP `from`: the model gives it
/// an inbound block (the stream is attached) or refuses it (the stream is dropped, which closes
/// it).
pub fn accept<H, R, W>(node: &Rc<RefCell<H>>, stream: (R, W), from: &str, ends: Option<Ends>)
where
    H: Host,
    R: AsyncRead + Unpin + 'static,
    W: AsyncWrite + Unpin + 'static,
{
    let (cb, tap) = {
        let mut n = node.borrow_mut();
        let s = n.streams();
        s.next_conn += 1;
        s.accepted += 1;
        let conn = s.next_conn;
        // A stopped MTA's listener is gone: the connection is closed at once.
        let cb = if stopped(&*n) {
            None
        } else {
            n.mta_mut().accept(conn, from)
        };
        if cb.is_none() {
            n.streams().refused += 1;
        }
        n.seen(Seen::Accepted { from, cb });
        (cb, n.streams().tap.clone())
    };
    if let Some(cb) = cb {
        tracing::debug!(target: "mta_lab::edge", from, block = cb.index, "accepted");
        attach(node, cb, stream, ends);
    } else {
        tracing::info!(target: "mta_lab::edge", from, "connection refused: no free inbound control block");
        if let Some(e) = ends {
            if let Some(open) = e.opening() {
                tap_record(tap.as_ref(), open);
            }
            tap_record(tap.as_ref(), Record::Fin(e.local, e.peer));
        }
        drop(stream);
    }
}

/// Attach a connected stream (its read and write halves) to block `cb`: a writer task drains the
/// model's sends, a reader task feeds `Received`/`Closed` and reads only while the driver's
/// receive window is open (NSI holding internal messages it has no buffers for pushes back on the
/// peer through TCP). `ends`: the stream's addresses, for the capture.
pub fn attach<H, R, W>(
    node: &Rc<RefCell<H>>,
    cb: ControlBlockId,
    stream: (R, W),
    ends: Option<Ends>,
) where
    H: Host,
    R: AsyncRead + Unpin + 'static,
    W: AsyncWrite + Unpin + 'static,
{
    let (mut r, mut w) = stream;
    let (tx, mut rx) = mpsc::unbounded_channel::<Option<Vec<u8>>>();
    let tap = {
        let mut n = node.borrow_mut();
        n.seen(Seen::Attached { cb, ends });
        let s = n.streams();
        s.writers.insert(cb, tx);
        s.open_streams += 1;
        s.max_open_streams = s.max_open_streams.max(s.open_streams);
        s.tap.clone()
    };
    if let Some(open) = ends.and_then(|e| e.opening()) {
        tap_record(tap.as_ref(), open);
    }
    let wtap = tap.clone();
    tokio::task::spawn_local(async move {
        while let Some(Some(b)) = rx.recv().await {
            if w.write_all(&b).await.is_err() {
                break;
            }
            if let Some(e) = ends {
                tap_record(wtap.as_ref(), Record::Data(e.local, e.peer, b));
            }
        }
        let _ = w.shutdown().await;
        if let Some(e) = ends {
            tap_record(wtap.as_ref(), Record::Fin(e.local, e.peer));
        }
    });
    let n = node.clone();
    tokio::task::spawn_local(async move {
        let mut buf = vec![0u8; 16 * 1024];
        loop {
            // Flow control: NSI holds data it has no buffers for; stop reading meanwhile.
            while !n.borrow().mta().driver.receive_window_open(cb) {
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            let ev = match r.read(&mut buf).await {
                Ok(0) => SocketEvent::Closed(cb, 0),
                Ok(k) => SocketEvent::Received(cb, buf[..k].to_vec()),
                Err(_) => SocketEvent::Closed(cb, winsock::CONNRESET),
            };
            if let Some(rec) = ends.and_then(|e| e.read(&ev)) {
                tap_record(tap.as_ref(), rec);
            }
            let closed = matches!(ev, SocketEvent::Closed(..));
            let mut nn = n.borrow_mut();
            if stopped(&*nn) {
                break; // the MTA process is gone: nothing takes the octets
            }
            nn.seen(Seen::Read { cb, event: &ev });
            nn.mta_mut().socket(ev);
            if closed {
                let s = nn.streams();
                s.open_streams = s.open_streams.saturating_sub(1);
                break;
            }
        }
    });
}

/// Whether the host's MTA has stopped: a fatal event ended its process. The edge then ticks it no
/// more, closes its connections, refuses new ones and drops what arrives.
pub fn stopped<H: Host>(host: &H) -> bool {
    host.mta().log.first_fatal().is_some()
}

/// Why `mta` has stopped, if it has: the fatal event that ended its process (KB Q182619: "the MTA
/// service stops"), as every adapter reports it.
pub fn stop_cause(mta: &Mta) -> Option<String> {
    mta.log
        .first_fatal()
        .map(|f| format!("fatal event {}: {}", f.id, f.lines.join(" / ")))
}

/// Tick the model at `now` (ms) and route its actions: sends and closes go to the blocks'
/// streams; the connects are returned for the adapter to open (it knows its network).
pub fn step<H: Host>(node: &Rc<RefCell<H>>, now: u64) -> Vec<(ControlBlockId, Remote)> {
    let mut n = node.borrow_mut();
    if let Some(t) = &n.streams().tap {
        t.borrow_mut().now_ms = now;
    }
    if stopped(&*n) {
        // Fatal means stopped (KB Q182619: the MTA service stops): no more ticks, and every
        // association's connection is closed.
        for (_, w) in std::mem::take(&mut n.streams().writers) {
            let _ = w.send(None);
        }
        return Vec::new();
    }
    n.mta_mut().tick(now);
    let mut connects = Vec::new();
    for a in n.mta_mut().take_actions() {
        n.seen(Seen::Action { now, action: &a });
        match a {
            SocketAction::Connect { cb, remote } => connects.push((cb, remote)),
            SocketAction::Send { cb, bytes } => {
                if let Some(w) = n.streams().writers.get(&cb) {
                    let _ = w.send(Some(bytes));
                }
            }
            SocketAction::Close { cb } => {
                if let Some(w) = n.streams().writers.remove(&cb) {
                    let _ = w.send(None);
                }
            }
            SocketAction::Refuse { .. } => {}
        }
    }
    connects
}

/// Report an outbound connect's result to the model, attaching the stream (its read and write
/// halves) when it connected. A failure is `WSAETIMEDOUT` when the error is a timeout, else
/// `WSAECONNREFUSED`.
pub fn connected<H, R, W>(
    node: &Rc<RefCell<H>>,
    cb: ControlBlockId,
    result: std::io::Result<(R, W)>,
    ends: Option<Ends>,
) where
    H: Host,
    R: AsyncRead + Unpin + 'static,
    W: AsyncWrite + Unpin + 'static,
{
    match result {
        Ok(s) => {
            attach(node, cb, s, ends);
            let mut n = node.borrow_mut();
            n.seen(Seen::Connected { cb, ok: true });
            n.mta_mut().socket(SocketEvent::Connected(cb));
        }
        Err(e) => {
            let code = if e.kind() == std::io::ErrorKind::TimedOut {
                winsock::TIMEDOUT
            } else {
                winsock::CONNREFUSED
            };
            tracing::info!(target: "mta_lab::edge", block = cb.index, error = %e, "connect failed");
            let mut n = node.borrow_mut();
            n.seen(Seen::Connected { cb, ok: false });
            n.mta_mut().socket(SocketEvent::ConnectFailed(cb, code));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mta_mta::core::MtaConfig;

    fn node() -> SharedNode {
        let p = mta_build::Build::Ex55.profile();
        let cfg = MtaConfig::new(
            "M",
            mta_p1::GlobalDomainIdentifier::new("US", " ", Some("M")),
            vec!["10.0.0.1".into()],
            Vec::new(),
        );
        Node::shared(Mta::new(&p, cfg))
    }

    #[test]
    fn a_stopped_mta_takes_no_connection_and_closes_its_streams() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        tokio::task::LocalSet::new().block_on(&rt, async {
            let n = node();
            let (ours, _theirs) = tokio::io::duplex(64);
            accept(&n, tokio::io::split(ours), "10.0.0.9", None);
            assert_eq!(n.borrow().mta.driver.live_blocks(), 1, "running: accepted");
            assert_eq!(n.borrow().streams.writers.len(), 1);
            let p = n.borrow().mta.profile;
            n.borrow_mut()
                .mta
                .log
                .log(mta_eventlog::catalogue::illegal_buffer_request(
                    &p, 29, 29, 5,
                ));
            assert!(stopped(&*n.borrow()));
            assert!(step(&n, 100).is_empty());
            assert!(
                n.borrow().streams.writers.is_empty(),
                "its connections closed"
            );
            let (ours, _theirs) = tokio::io::duplex(64);
            accept(&n, tokio::io::split(ours), "10.0.0.9", None);
            assert_eq!(n.borrow().streams.refused, 1, "no listener while stopped");
            assert_eq!(
                n.borrow().mta.driver.live_blocks(),
                1,
                "the model was not asked"
            );
        });
    }
}
