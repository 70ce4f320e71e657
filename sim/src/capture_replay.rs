//! Replay of a captured session into a modelled MTA as it was captured, sans-IO: the callers'
//! opens, writes and leavings (from `mta-lab import`'s peer scripts) are handed to the model in
//! the capture's frame order, between the model's ticks — what the stream edge (`edge.rs`) did
//! while the capture was taken. The edge stamps every record with the tick it followed, so a
//! capture it tapped (`mta-lab hostile --pcap`) replays to the same event log, event for event and
//! millisecond for millisecond. A field capture has no ticks in it: its packets are handed over
//! after every tick at or before their time, the same rule.
//!
//! Clock: the replayed MTA starts on the hour (UTC) of the capture's first packet and ticks every
//! `tick_ms` from then, as the edge's step loop does; packets keep their times on that clock. A
//! simulator capture's timestamps are simulated time since the Unix epoch — inside the first hour
//! — so the replay runs on the very clock of the captured run.
//!
//! Flow control as at the edge: while the driver's receive window for a connection is closed,
//! its octets (and its leaving, which follows them) wait, and are handed over after a later tick.

use crate::import::{Ending, PeerScript};
use mta_bufmgr::ControlBlockId;
use mta_mta::core::{Mta, SocketEvent};
use mta_mta::driver::{SocketAction, winsock};
use std::collections::VecDeque;
use std::net::SocketAddr;

/// One hour (ms): where the replay clock starts.
const HOUR_MS: u64 = 3_600_000;

/// How the replay runs the model.
#[derive(Debug, Clone, Copy)]
pub struct Options {
    /// The model's tick period (the edge's: 10 ms).
    pub tick_ms: u64,
    /// After the last packet, tick until the model is quiescent, at most this long.
    pub drain_ms: u64,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            tick_ms: 10,
            drain_ms: 60_000,
        }
    }
}

/// What a caller did.
#[derive(Debug, Clone, PartialEq, Eq)]
enum What {
    /// Connected (the listener accepted).
    Open,
    /// Octets arrived.
    Data(Vec<u8>),
    /// Left: FIN (0) or reset (Winsock error).
    Leave(u32),
}

/// One caller action, on the replay clock.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Input {
    clock_ms: u64,
    /// The capture's frame (`u64::MAX` when a hand-written script has none).
    frame: u64,
    conn: usize,
    what: What,
}

/// What a replay did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Replayed {
    /// Connections opened.
    pub connections: usize,
    /// Connections the model refused.
    pub refused: usize,
    /// Writes handed to the model.
    pub writes: usize,
    /// Times octets waited for a closed receive window.
    pub held: usize,
    /// The model's clock when the replay stopped (ms).
    pub ended_ms: u64,
    /// Whether the model was quiescent then (else the drain ran out).
    pub quiescent: bool,
}

/// The callers' actions in capture order, on the replay clock.
fn inputs(scripts: &[PeerScript]) -> Result<Vec<Input>, String> {
    let origin = scripts.first().and_then(|s| s.origin_ms).unwrap_or(0);
    if let Some(s) = scripts.iter().find(|s| s.origin_ms.unwrap_or(0) != origin) {
        return Err(format!(
            "scripts from different captures (origin {} ms and {} ms, caller {}): replay one \
             capture's scripts together",
            origin,
            s.origin_ms.unwrap_or(0),
            s.client
        ));
    }
    // The replay clock: the capture's time since the hour of its first packet.
    let clock = |rel: u64| origin % HOUR_MS + rel;
    let mut out = Vec::new();
    for (conn, s) in scripts.iter().enumerate() {
        let mut t = s.opened_ms.unwrap_or(0);
        let frame = |f: Option<u64>| f.unwrap_or(u64::MAX);
        out.push(Input {
            clock_ms: clock(t),
            frame: frame(s.opened_frame),
            conn,
            what: What::Open,
        });
        for (i, w) in s.write.iter().enumerate() {
            t += w.after_ms;
            let bytes = hex::decode(&w.hex)
                .map_err(|e| format!("caller {}: write {}: {e}", s.client, i + 1))?;
            out.push(Input {
                clock_ms: clock(t),
                frame: frame(w.frame),
                conn,
                what: What::Data(bytes),
            });
        }
        let code = match s.end {
            Ending::Reset => winsock::CONNRESET,
            Ending::Close | Ending::HalfClose => 0,
            Ending::Open => continue,
        };
        out.push(Input {
            clock_ms: clock(s.closed_ms.unwrap_or(t).max(t)),
            frame: frame(s.closed_frame),
            conn,
            what: What::Leave(code),
        });
    }
    // Stable: one caller's actions keep their order when frames are missing.
    out.sort_by_key(|i| (i.clock_ms, i.frame));
    Ok(out)
}

/// The model and the callers' connections.
struct Replay<'a> {
    mta: &'a mut Mta,
    /// Per caller: the model's block (`None` before the open or when refused), and what waits.
    blocks: Vec<Option<ControlBlockId>>,
    waiting: Vec<VecDeque<What>>,
    from: Vec<String>,
    done: Replayed,
}

impl Replay<'_> {
    fn tick(&mut self, now: u64) {
        self.mta.tick(now);
        self.done.ended_ms = now;
        for a in self.mta.take_actions() {
            // The capture holds the callers only: the model's own calls find nobody.
            if let SocketAction::Connect { cb, .. } = a {
                self.mta
                    .socket(SocketEvent::ConnectFailed(cb, winsock::CONNREFUSED));
            }
        }
        for conn in 0..self.waiting.len() {
            while let Some(cb) = self.blocks[conn]
                && self.mta.driver.receive_window_open(cb)
                && let Some(w) = self.waiting[conn].pop_front()
            {
                self.hand_over(cb, w);
            }
        }
    }

    fn hand_over(&mut self, cb: ControlBlockId, what: What) {
        match what {
            What::Open => {}
            What::Data(b) => {
                self.done.writes += 1;
                self.mta.socket(SocketEvent::Received(cb, b));
            }
            What::Leave(code) => self.mta.socket(SocketEvent::Closed(cb, code)),
        }
    }

    fn input(&mut self, conn: usize, what: What) {
        if what == What::Open {
            self.done.connections += 1;
            let n = self.done.connections as u64;
            self.blocks[conn] = self.mta.accept(n, &self.from[conn]);
            if self.blocks[conn].is_none() {
                self.done.refused += 1;
            }
            return;
        }
        // A refused connection's octets reach no block (the edge dropped its stream).
        let Some(cb) = self.blocks[conn] else { return };
        if self.waiting[conn].is_empty() && self.mta.driver.receive_window_open(cb) {
            self.hand_over(cb, what);
        } else {
            self.done.held += 1;
            self.waiting[conn].push_back(what);
        }
    }

    fn idle(&self) -> bool {
        self.mta.quiescent() && self.waiting.iter().all(VecDeque::is_empty)
    }
}

/// Replay `scripts` (one capture's callers) into `mta`.
pub fn replay(mta: &mut Mta, scripts: &[PeerScript], opts: &Options) -> Result<Replayed, String> {
    if opts.tick_ms == 0 {
        return Err("tick period 0".into());
    }
    let inputs = inputs(scripts)?;
    let mut from = Vec::new();
    for s in scripts {
        let a: SocketAddr = s
            .client
            .parse()
            .map_err(|e| format!("caller address {:?}: {e}", s.client))?;
        from.push(a.ip().to_string());
    }
    let mut r = Replay {
        mta,
        blocks: vec![None; scripts.len()],
        waiting: vec![VecDeque::new(); scripts.len()],
        from,
        done: Replayed {
            connections: 0,
            refused: 0,
            writes: 0,
            held: 0,
            ended_ms: 0,
            quiescent: false,
        },
    };
    let p = opts.tick_ms;
    let mut next_tick = p;
    let last = inputs.last().map_or(0, |i| i.clock_ms);
    for i in inputs {
        while next_tick <= i.clock_ms {
            r.tick(next_tick);
            next_tick += p;
        }
        r.input(i.conn, i.what);
    }
    while !r.idle() && next_tick <= last + opts.drain_ms {
        r.tick(next_tick);
        next_tick += p;
    }
    r.done.quiescent = r.idle();
    Ok(r.done)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::import::Write;

    fn script(client: &str, opened: u64, writes: &[(u64, u64)], end: Ending) -> PeerScript {
        PeerScript {
            schema: 1,
            client: client.into(),
            server: "10.0.2.1:102".into(),
            end,
            origin_ms: Some(7 * HOUR_MS + 30),
            opened_ms: Some(opened),
            opened_frame: Some(opened + 1),
            closed_ms: Some(opened + 50),
            closed_frame: Some(opened + 60),
            write: writes
                .iter()
                .map(|&(after_ms, frame)| Write {
                    after_ms,
                    frame: Some(frame),
                    hex: "0300".into(),
                })
                .collect(),
        }
    }

    #[test]
    fn inputs_follow_the_capture_clock_and_frame_order() {
        let a = script("10.0.9.1:1000", 0, &[(10, 9), (0, 12)], Ending::Reset);
        let b = script("10.0.9.1:1001", 10, &[(0, 13)], Ending::Open);
        let i = inputs(&[a, b]).unwrap();
        // First packet 30 ms after 07:00: on the replay clock at 30; within a tick, frames decide.
        let seen: Vec<(u64, u64, usize)> =
            i.iter().map(|i| (i.clock_ms, i.frame, i.conn)).collect();
        assert_eq!(
            seen,
            vec![
                (30, 1, 0),
                (40, 9, 0),
                (40, 11, 1),
                (40, 12, 0),
                (40, 13, 1),
                (80, 60, 0)
            ]
        );
        assert_eq!(i[5].what, What::Leave(winsock::CONNRESET));
    }

    #[test]
    fn scripts_of_two_captures_are_refused() {
        let a = script("10.0.9.1:1000", 0, &[], Ending::Close);
        let mut b = a.clone();
        b.origin_ms = Some(99);
        assert!(inputs(&[a, b]).unwrap_err().contains("different captures"));
    }
}
