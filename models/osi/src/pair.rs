//! Two association ends joined by an in-memory TCP byte pipe that cuts the stream into seeded,
//! deterministic segments: the test driver shared by unit tests, the `association` fuzz target and
//! the benchmarks (no I/O, no clock).

use crate::association::{Association, Event};

/// The two ends and what each has reported.
#[derive(Debug, Clone)]
pub struct Pair {
    /// Initiator (usually).
    pub a: Association,
    /// Responder (usually).
    pub b: Association,
    /// Events `a` reported, in order.
    pub a_events: Vec<Event>,
    /// Events `b` reported, in order.
    pub b_events: Vec<Event>,
    /// Octets carried a → b.
    pub a_to_b: u64,
    /// Octets carried b → a.
    pub b_to_a: u64,
    rng: u64,
    max_segment: usize,
    a_closed: bool,
    b_closed: bool,
    /// With [`Pair::recording`]: every write in order, as (from `a`?, octets).
    pub writes: Option<Vec<(bool, Vec<u8>)>>,
}

impl Pair {
    /// Join `a` and `b`; segments are 1..=`max_segment` octets, chosen from `seed`.
    pub fn new(a: Association, b: Association, seed: u64, max_segment: usize) -> Self {
        Pair {
            a,
            b,
            a_events: Vec::new(),
            b_events: Vec::new(),
            a_to_b: 0,
            b_to_a: 0,
            rng: seed ^ 0x9e37_79b9_7f4a_7c15,
            max_segment: max_segment.max(1),
            a_closed: false,
            b_closed: false,
            writes: None,
        }
    }

    /// Also keep every write (for captures, dissection and seed corpora).
    #[must_use]
    pub fn recording(mut self) -> Self {
        self.writes = Some(Vec::new());
        self
    }

    fn next_len(&mut self) -> usize {
        // xorshift64*
        self.rng ^= self.rng >> 12;
        self.rng ^= self.rng << 25;
        self.rng ^= self.rng >> 27;
        let r = self.rng.wrapping_mul(0x2545_f491_4f6c_dd1d);
        1 + (r % self.max_segment as u64) as usize
    }

    fn deliver(&mut self, a_to_b: bool) -> bool {
        let bytes = if a_to_b {
            self.a.transmit()
        } else {
            self.b.transmit()
        };
        if let Some(w) = &mut self.writes
            && !bytes.is_empty()
        {
            w.push((a_to_b, bytes.clone()));
        }
        let mut pos = 0;
        while pos < bytes.len() {
            let n = self.next_len().min(bytes.len() - pos);
            if a_to_b {
                self.b.receive(&bytes[pos..pos + n]);
            } else {
                self.a.receive(&bytes[pos..pos + n]);
            }
            pos += n;
        }
        let mut progress = !bytes.is_empty();
        if a_to_b {
            self.a_to_b += bytes.len() as u64;
            if self.a.wants_close() && !self.a_closed {
                self.a_closed = true;
                self.b.tcp_closed();
                progress = true;
            }
        } else {
            self.b_to_a += bytes.len() as u64;
            if self.b.wants_close() && !self.b_closed {
                self.b_closed = true;
                self.a.tcp_closed();
                progress = true;
            }
        }
        progress
    }

    /// Carry octets both ways until neither end has anything to send; collect events. Returns
    /// the number of rounds, or `None` if `max_rounds` did not reach quiescence (a livelock).
    pub fn pump(&mut self, max_rounds: usize) -> Option<usize> {
        for round in 0..max_rounds {
            let p1 = self.deliver(true);
            let p2 = self.deliver(false);
            self.a_events
                .extend(std::iter::from_fn(|| self.a.poll_event()));
            self.b_events
                .extend(std::iter::from_fn(|| self.b.poll_event()));
            if !p1 && !p2 {
                return Some(round);
            }
        }
        None
    }

    /// Advance both ends' clocks.
    pub fn tick(&mut self, now_ms: u64) {
        self.a.tick(now_ms);
        self.b.tick(now_ms);
    }
}
