//! A remote X.25 DTE's end of one virtual call (ITU-T X.25 packet layer, modulo 8): call set-up,
//! the send window with go-back-N resend, M-bit sequences out and in. Sans-IO: packets and the
//! time in, packets and whole TSDUs out. The user above it (a bare session CONNECT or a whole
//! association) hands it TSDUs and takes the TSDUs the other end sent.

use super::Packet;
use std::collections::VecDeque;

/// Where the call is (ISO 8208's packet-layer states, as far as the DTE needs them).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallState {
    /// Call request sent, no call accepted yet (p2 DTE waiting).
    Calling,
    /// Call accepted: data transfer (p4).
    DataTransfer,
    /// Cleared by either end (p1 after the clear).
    Cleared,
}

/// One DTE's end of a call (see the module doc).
#[derive(Debug, Clone)]
pub struct Dte {
    lcn: u16,
    packet_size: usize,
    window: usize,
    rto_ms: u64,
    /// Every data packet this call has sent or will send, P(S) = index mod 8.
    packets: Vec<Packet>,
    /// First unacknowledged packet.
    base: usize,
    /// Next packet to send.
    next: usize,
    state: CallState,
    last_progress: u64,
    inbound: Vec<u8>,
    received: VecDeque<Vec<u8>>,
    out: Vec<Packet>,
    call_request: Option<Packet>,
}

impl Dte {
    /// A DTE that places a call from `calling` to `called` (X.121 digits) on `lcn` at `now`: its
    /// call request is the first packet out. It sends data in packets of `packet_size` octets, at
    /// most `window` unacknowledged, and resends (the call request while unanswered, then
    /// go-back-N from the first unacknowledged packet) after more than `rto_ms` without progress.
    pub fn call(
        (lcn, called, calling): (u16, &str, &str),
        packet_size: usize,
        window: usize,
        rto_ms: u64,
        now: u64,
    ) -> Self {
        let mut d = Dte::connected(lcn, packet_size, window, rto_ms, now);
        d.state = CallState::Calling;
        d.call_request = Some(Packet::Call {
            lcn,
            called: called.to_string(),
            calling: calling.to_string(),
        });
        d.out.extend(d.call_request.clone());
        d
    }

    /// A DTE whose call on `lcn` is already accepted (a call set up before the scenario starts).
    pub fn connected(lcn: u16, packet_size: usize, window: usize, rto_ms: u64, now: u64) -> Self {
        Dte {
            lcn,
            packet_size,
            window: window.max(1),
            rto_ms,
            packets: Vec::new(),
            base: 0,
            next: 0,
            state: CallState::DataTransfer,
            last_progress: now,
            inbound: Vec::new(),
            received: VecDeque::new(),
            out: Vec::new(),
            call_request: None,
        }
    }

    /// The call's state.
    pub fn state(&self) -> CallState {
        self.state
    }

    /// The logical channel the DTE uses.
    pub fn lcn(&self) -> u16 {
        self.lcn
    }

    /// Whether every data packet handed to the DTE has been acknowledged.
    pub fn all_acknowledged(&self) -> bool {
        self.base == self.packets.len()
    }

    /// Send `tsdu` as one M-bit sequence (after what is already queued).
    pub fn send_tsdu(&mut self, tsdu: &[u8]) {
        let first = (self.packets.len() & 7) as u8;
        self.packets
            .extend(Packet::segment(self.lcn, tsdu, self.packet_size, first));
    }

    /// Clear the call (a clear request goes out; nothing more is sent).
    pub fn clear(&mut self) {
        if self.state != CallState::Cleared {
            self.out.push(Packet::Clear {
                lcn: self.lcn,
                cause: 0,
            });
            self.state = CallState::Cleared;
        }
    }

    /// What to send at `now`: a call request again when the call has waited more than the
    /// resend time, otherwise the window's worth of data packets — from the first unacknowledged
    /// one again when nothing was acknowledged for more than the resend time (go-back-N).
    pub fn poll_transmit(&mut self, now: u64) -> Vec<Packet> {
        let stalled = now.saturating_sub(self.last_progress) > self.rto_ms;
        match self.state {
            CallState::Calling if stalled => {
                // The call request may have been lost to a full receive queue: call again.
                self.out.extend(self.call_request.clone());
                self.last_progress = now;
            }
            CallState::DataTransfer => {
                if stalled {
                    self.next = self.base;
                    self.last_progress = now;
                }
                while self.next < self.packets.len() && self.next < self.base + self.window {
                    self.out.push(self.packets[self.next].clone());
                    self.next += 1;
                }
            }
            CallState::Calling | CallState::Cleared => {}
        }
        std::mem::take(&mut self.out)
    }

    /// A packet from the network at `now`.
    pub fn receive(&mut self, p: Packet, now: u64) {
        match p {
            Packet::CallAccepted { .. } if self.state == CallState::Calling => {
                self.state = CallState::DataTransfer;
            }
            Packet::Rr { pr, .. } => {
                // P(R) acknowledges modulo 8: advance to the packet it names (the window is
                // below 8, so the name is unambiguous).
                let mut advanced = false;
                while self.base < self.next && (self.base & 7) as u8 != pr {
                    self.base += 1;
                    advanced = true;
                }
                if advanced {
                    self.last_progress = now;
                }
            }
            Packet::Data { more, data, .. } => {
                self.inbound.extend_from_slice(&data);
                if !more {
                    self.received.push_back(std::mem::take(&mut self.inbound));
                }
            }
            Packet::Clear { .. } => self.state = CallState::Cleared,
            Packet::Call { .. } | Packet::CallAccepted { .. } => {}
        }
    }

    /// The next whole TSDU the other end sent (an M-bit sequence ended by M = 0).
    pub fn poll_tsdu(&mut self) -> Option<Vec<u8>> {
        self.received.pop_front()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data(out: &[Packet]) -> Vec<u8> {
        out.iter()
            .filter_map(|p| match p {
                Packet::Data { ps, .. } => Some(*ps),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn call_then_window_then_go_back_n() {
        let mut d = Dte::call((1, "3134", "3135"), 4, 2, 300, 0);
        let call = Packet::Call {
            lcn: 1,
            called: "3134".into(),
            calling: "3135".into(),
        };
        assert_eq!(d.poll_transmit(0), vec![call.clone()]);
        d.send_tsdu(&[7; 14]); // four packets: 4 + 4 + 4 + 2
        assert!(
            d.poll_transmit(10).is_empty(),
            "no data before the call is accepted"
        );
        assert_eq!(d.poll_transmit(301), vec![call], "called again");
        d.receive(Packet::CallAccepted { lcn: 1 }, 320);
        assert_eq!(d.state(), CallState::DataTransfer);
        assert_eq!(data(&d.poll_transmit(320)), [0, 1], "a window of two");
        assert!(d.poll_transmit(330).is_empty(), "window full");
        d.receive(Packet::Rr { lcn: 1, pr: 1 }, 340);
        assert_eq!(
            data(&d.poll_transmit(340)),
            [2],
            "one acknowledged, one more"
        );
        assert_eq!(
            data(&d.poll_transmit(700)),
            [1, 2],
            "no progress: from the first again"
        );
        d.receive(Packet::Rr { lcn: 1, pr: 3 }, 710);
        assert_eq!(data(&d.poll_transmit(710)), [3]);
        assert!(!d.all_acknowledged());
        d.receive(Packet::Rr { lcn: 1, pr: 4 }, 720);
        assert!(d.all_acknowledged());
    }

    #[test]
    fn m_bit_sequences_in_and_sequence_numbers_wrap() {
        let mut d = Dte::connected(2, 2, 7, 100, 0);
        for _ in 0..5 {
            d.send_tsdu(&[1, 2, 3]); // two packets each: ten
        }
        let ps = data(&d.poll_transmit(0));
        assert_eq!(ps, [0, 1, 2, 3, 4, 5, 6], "a window of seven");
        d.receive(Packet::Rr { lcn: 2, pr: 6 }, 1);
        assert_eq!(data(&d.poll_transmit(1)), [7, 0, 1], "P(S) wraps modulo 8");
        let part = |more, data: &[u8]| Packet::Data {
            lcn: 2,
            ps: 0,
            pr: 0,
            more,
            data: data.to_vec(),
        };
        d.receive(part(true, &[1]), 2);
        assert_eq!(d.poll_tsdu(), None, "M = 1: more to come");
        d.receive(part(false, &[2]), 2);
        assert_eq!(d.poll_tsdu(), Some(vec![1, 2]));
        d.clear();
        assert_eq!(d.poll_transmit(3), vec![Packet::Clear { lcn: 2, cause: 0 }]);
        assert!(d.poll_transmit(1000).is_empty(), "nothing after the clear");
    }
}
