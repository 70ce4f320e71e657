//! Two MTAs joined by an in-process TCP stand-in: each side's socket actions become the other
//! side's socket events, in order, with simulated time advanced in fixed steps. Used by the
//! message-exchange tests and the throughput benchmark; the turmoil simulator replaces it with
//! real simulated sockets.

use crate::core::{Mta, SocketEvent};
use crate::driver::SocketAction;
use mta_bufmgr::ControlBlockId;
use std::collections::BTreeMap;

/// Side of the pipe.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Side {
    /// The first MTA.
    A,
    /// The second MTA.
    B,
}

/// Two MTAs and their connections.
#[derive(Debug)]
pub struct MtaPipe {
    /// First MTA.
    pub a: Mta,
    /// Second MTA.
    pub b: Mta,
    /// Host address of A as B sees it, and of B as A sees it.
    pub addresses: (String, String),
    links: BTreeMap<(Side, ControlBlockId), (Side, ControlBlockId)>,
    next_conn: u64,
    /// Simulated time.
    pub now: u64,
    /// Octets carried.
    pub octets: u64,
}

impl MtaPipe {
    /// Join two MTAs; `addresses` = (A's address, B's address).
    pub fn new(a: Mta, b: Mta, addresses: (String, String)) -> Self {
        MtaPipe {
            a,
            b,
            addresses,
            links: BTreeMap::new(),
            next_conn: 0,
            now: 0,
            octets: 0,
        }
    }

    fn mta(&mut self, s: Side) -> &mut Mta {
        match s {
            Side::A => &mut self.a,
            Side::B => &mut self.b,
        }
    }

    fn other(s: Side) -> Side {
        match s {
            Side::A => Side::B,
            Side::B => Side::A,
        }
    }

    fn apply(&mut self, from: Side, actions: Vec<SocketAction>) -> bool {
        let progress = !actions.is_empty();
        let to = Self::other(from);
        for act in actions {
            match act {
                SocketAction::Connect { cb, remote } => {
                    self.next_conn += 1;
                    let conn = self.next_conn;
                    let src = remote.source.clone().unwrap_or_else(|| match from {
                        Side::A => self.addresses.0.clone(),
                        Side::B => self.addresses.1.clone(),
                    });
                    let Some(peer_cb) = self.mta(to).accept(conn, &src) else {
                        let _ = self.mta(to).take_actions(); // the Refuse
                        self.mta(from).socket(SocketEvent::Closed(cb, 0));
                        continue;
                    };
                    self.links.insert((from, cb), (to, peer_cb));
                    self.links.insert((to, peer_cb), (from, cb));
                    self.mta(from).socket(SocketEvent::Connected(cb));
                }
                SocketAction::Send { cb, bytes } => {
                    self.octets += bytes.len() as u64;
                    if let Some(&(side, pcb)) = self.links.get(&(from, cb)) {
                        self.mta(side).socket(SocketEvent::Received(pcb, bytes));
                    }
                }
                SocketAction::Close { cb } => {
                    if let Some((side, pcb)) = self.links.remove(&(from, cb)) {
                        self.links.remove(&(side, pcb));
                        self.mta(side).socket(SocketEvent::Closed(pcb, 0));
                    }
                }
                SocketAction::Refuse { .. } => {}
            }
        }
        progress
    }

    /// Advance by `step_ms`, moving every action across. Returns whether anything moved.
    pub fn step(&mut self, step_ms: u64) -> bool {
        self.now += step_ms;
        let now = self.now;
        self.a.tick(now);
        self.b.tick(now);
        let mut progress = false;
        for _ in 0..64 {
            let aa = self.a.take_actions();
            let p1 = self.apply(Side::A, aa);
            let ba = self.b.take_actions();
            let p2 = self.apply(Side::B, ba);
            if !(p1 || p2) {
                break;
            }
            progress = true;
        }
        progress
    }

    /// Crash one MTA and restart it at once, with its disk kept or lost; its TCP connections die
    /// (the peer sees resets).
    pub fn crash(&mut self, side: Side, keep_disk: bool) {
        let old = self.mta(side);
        let disk = keep_disk.then(|| old.disk());
        let (profile, cfg) = (old.profile, old.config().clone());
        *self.mta(side) = Mta::restart(&profile, cfg, disk);
        let dead: Vec<((Side, ControlBlockId), (Side, ControlBlockId))> = self
            .links
            .iter()
            .filter(|(k, _)| k.0 == side)
            .map(|(k, v)| (*k, *v))
            .collect();
        for (k, (peer, pcb)) in dead {
            self.links.remove(&k);
            self.links.remove(&(peer, pcb));
            self.mta(peer)
                .socket(SocketEvent::Closed(pcb, crate::driver::winsock::CONNRESET));
        }
    }

    /// Step until both MTAs are quiescent or `max_ms` of simulated time passed; returns the time
    /// it took, or `None` on timeout.
    pub fn run_until_quiet(&mut self, step_ms: u64, max_ms: u64) -> Option<u64> {
        let start = self.now;
        while self.now - start < max_ms {
            self.step(step_ms);
            if self.a.quiescent() && self.b.quiescent() {
                return Some(self.now - start);
            }
        }
        None
    }
}
