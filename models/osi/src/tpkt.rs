//! RFC 1006 (ISO transport service on top of TCP) section 6: the TPKT that frames each TPDU on the
//! byte stream, its per-build writer (KB Q151626) and a reassembler for arbitrary TCP segmentation.
//!
//! ```text
//!  0        1         2    3
//! +--------+---------+---------+
//! | vrsn 3 | reserved| length  |   length = whole packet including these 4 octets (big-endian)
//! +--------+---------+---------+
//! | TPDU (length - 4 octets)   |
//! ```

use crate::{Layer, Malformed, Result};

/// Octets in the TPKT header.
pub const HEADER_LEN: usize = 4;
/// The only version RFC 1006 defines.
pub const VERSION: u8 = 3;
/// Smallest packet that can carry a TPDU: the header plus a class-0 DT header (3 octets).
pub const MIN_LEN: usize = HEADER_LEN + 3;
/// Largest packet the 16-bit length field can describe.
pub const MAX_LEN: usize = 65535;

const fn err(offset: usize, reason: &'static str) -> Malformed {
    Malformed::new(Layer::Tpkt, offset, reason)
}

/// What a receiver does with a non-zero reserved octet.
///
/// RFC 1006 section 6 calls the octet reserved; every Exchange build ignores it on receipt (KB
/// Q151626: "a receiving MTA should not try to interpret this Byte"). Some foreign MTAs did check
/// it and disconnected, which is the policy the simulator fields as a *strict* peer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ReservedPolicy {
    /// Ignore the octet (RFC 1006, every Exchange build, lenient foreign MTAs).
    #[default]
    Ignore,
    /// Refuse the packet and disconnect (strict foreign MTAs).
    Reject,
}

/// A checked view of one TPKT (header and payload) over a byte buffer.
#[derive(Debug, Clone, Copy)]
pub struct Packet<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Packet<T> {
    /// Wrap without checks (accessors may panic on short buffers).
    pub const fn new_unchecked(buffer: T) -> Self {
        Packet { buffer }
    }

    /// Wrap and check: version 3, length within `MIN_LEN..=buffer length`, reserved octet per
    /// `policy`. Octets after `length` are not part of the packet.
    pub fn new_checked(buffer: T, policy: ReservedPolicy) -> Result<Self> {
        let p = Packet { buffer };
        p.check(policy)?;
        Ok(p)
    }

    fn check(&self, policy: ReservedPolicy) -> Result<()> {
        let b = self.buffer.as_ref();
        check_header(b, policy)?;
        if b.len() < self.length() {
            return Err(err(b.len(), "packet shorter than its length field"));
        }
        Ok(())
    }

    /// Version octet.
    pub fn version(&self) -> u8 {
        self.buffer.as_ref()[0]
    }
    /// Reserved octet (0 from every conforming sender; 0x11 in 4.0's CONNECT CONFIRM).
    pub fn reserved(&self) -> u8 {
        self.buffer.as_ref()[1]
    }
    /// Packet length including the header.
    pub fn length(&self) -> usize {
        let b = self.buffer.as_ref();
        usize::from(u16::from_be_bytes([b[2], b[3]]))
    }
    /// The TPDU.
    pub fn payload(&self) -> &[u8] {
        &self.buffer.as_ref()[HEADER_LEN..self.length()]
    }
}

/// Check the 4 header octets (the first `HEADER_LEN` of `b`, which must be present).
fn check_header(b: &[u8], policy: ReservedPolicy) -> Result<()> {
    if b.len() < HEADER_LEN {
        return Err(err(b.len(), "truncated TPKT header"));
    }
    if b[0] != VERSION {
        return Err(err(0, "version is not 3"));
    }
    if policy == ReservedPolicy::Reject && b[1] != 0 {
        return Err(err(1, "reserved octet is not zero"));
    }
    let len = usize::from(u16::from_be_bytes([b[2], b[3]]));
    if len < MIN_LEN {
        return Err(err(2, "length below 7 (header + smallest TPDU)"));
    }
    Ok(())
}

/// High-level representation of a TPKT header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Repr {
    /// The reserved octet as sent.
    pub reserved: u8,
    /// Length of the TPDU carried.
    pub payload_len: usize,
}

impl Repr {
    /// Parse a checked packet.
    pub fn parse<T: AsRef<[u8]>>(packet: &Packet<T>) -> Repr {
        Repr {
            reserved: packet.reserved(),
            payload_len: packet.length() - HEADER_LEN,
        }
    }

    /// Octets [`Repr::emit`] writes (the header only).
    pub const fn header_len(&self) -> usize {
        HEADER_LEN
    }

    /// Write the header into the first 4 octets of `buf`. Panics if the payload is too long for
    /// the length field (callers segment at the COTP layer, so this is an invariant).
    pub fn emit(&self, buf: &mut [u8]) {
        let len = self.payload_len + HEADER_LEN;
        assert!(
            len <= MAX_LEN,
            "TPKT payload of {} octets",
            self.payload_len
        );
        buf[0] = VERSION;
        buf[1] = self.reserved;
        buf[2..4].copy_from_slice(&(len as u16).to_be_bytes());
    }
}

/// Per-write flags the transport passes to the TPKT writer (our model of the Exchange TCP driver's
/// send path; the names and values are ours).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SendFlags(u8);

impl SendFlags {
    /// Ordinary data-phase write.
    pub const NONE: SendFlags = SendFlags(0);
    /// Send at once, do not coalesce with later writes.
    pub const IMMEDIATE: SendFlags = SendFlags(0x01);
    /// The write answers a CONNECT REQUEST (the listener's accept path: CC, or DR refusing a CR).
    pub const CONNECT_RESPONSE: SendFlags = SendFlags(0x10 | 0x01);

    /// The flag octet.
    pub const fn bits(self) -> u8 {
        self.0
    }
}

/// The TPKT writer of the modelled build.
///
/// **KB Q151626 mechanism (our reconstruction).** The driver composes the 4-octet header as
/// `version, send-flags, length` — an earlier draft of the writer kept the flag octet there — and
/// the CONNECT CONFIRM goes out on the accept path with `IMMEDIATE | CONNECT_RESPONSE` = 0x11, the
/// value in the KB's trace ("Byte 37 as set to 11"). Data, CR and DR writes carry no flags, so only
/// connections initiated *by* the foreign MTA are hit, as the KB says. Builds from 5.0 on add one
/// step, clearing the octet before the header is sent (build-table row
/// `tpkt_writer_clears_reserved_byte`); the faulty path is the same code without that step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Writer {
    clears_reserved: bool,
}

impl Writer {
    /// The writer of `profile`'s build.
    pub fn new(profile: &mta_build::Profile) -> Self {
        Writer {
            clears_reserved: profile.tpkt_writer_clears_reserved_byte,
        }
    }

    /// A writer that always sends 0 (a conforming foreign MTA).
    pub const fn conforming() -> Self {
        Writer {
            clears_reserved: true,
        }
    }

    /// Append one TPKT carrying `tpdu` to `out`.
    pub fn write(&self, out: &mut Vec<u8>, tpdu: &[u8], flags: SendFlags) {
        let mut header = [0u8; HEADER_LEN];
        Repr {
            reserved: flags.bits(),
            payload_len: tpdu.len(),
        }
        .emit(&mut header);
        if self.clears_reserved {
            header[1] = 0;
        }
        out.extend_from_slice(&header);
        out.extend_from_slice(tpdu);
    }
}

/// One reassembled TPKT.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    /// Reserved octet as received.
    pub reserved: u8,
    /// The TPDU.
    pub tpdu: Vec<u8>,
}

/// Reassembles TPKTs from a TCP byte stream cut anywhere (one octet at a time, several packets per
/// read). A framing error is fatal for the stream: RFC 1006 has no way to resynchronise.
#[derive(Debug, Clone, Default)]
pub struct Reassembler {
    buf: Vec<u8>,
    start: usize,
    policy: ReservedPolicy,
    failed: Option<Malformed>,
    consumed: u64,
}

impl Reassembler {
    /// A reassembler applying `policy` to the reserved octet.
    pub fn new(policy: ReservedPolicy) -> Self {
        Reassembler {
            policy,
            ..Reassembler::default()
        }
    }

    /// Append received octets.
    pub fn push(&mut self, bytes: &[u8]) {
        if self.failed.is_none() {
            self.buf.extend_from_slice(bytes);
        }
    }

    /// Octets buffered but not yet returned as a frame.
    pub fn pending(&self) -> usize {
        self.buf.len() - self.start
    }

    /// Stream offset of the next unreturned octet.
    pub fn stream_offset(&self) -> u64 {
        self.consumed
    }

    /// The next complete frame, `Ok(None)` if more octets are needed, or the framing error (with its
    /// offset in the stream, saturated to `usize`) — repeated on every later call.
    pub fn next_frame(&mut self) -> Result<Option<Frame>> {
        if let Some(e) = self.failed {
            return Err(e);
        }
        let avail = &self.buf[self.start..];
        if avail.len() < HEADER_LEN {
            return Ok(None);
        }
        if let Err(e) = check_header(avail, self.policy) {
            let e = e.shifted(usize::try_from(self.consumed).unwrap_or(usize::MAX));
            self.failed = Some(e);
            self.buf = Vec::new();
            self.start = 0;
            return Err(e);
        }
        let packet = Packet::new_unchecked(avail);
        let len = packet.length();
        if avail.len() < len {
            return Ok(None);
        }
        let frame = Frame {
            reserved: packet.reserved(),
            tpdu: packet.payload().to_vec(),
        };
        self.start += len;
        self.consumed += len as u64;
        if self.start == self.buf.len() {
            self.buf.clear();
            self.start = 0;
        } else if self.start > 64 * 1024 {
            self.buf.drain(..self.start);
            self.start = 0;
        }
        Ok(Some(frame))
    }
}

/// One TPKT seen at the start of a byte run without parsing it (RFC 1006 section 6, X.224 13.2):
/// its length field, the TPDU code (high nibble of the TPDU's second octet) and, for a DT, the
/// first SPDU identifier its user data starts with. The one classifier the lab's observers share
/// (trace summaries, probe verdicts, the listener check); decoding proper is [`Reassembler`]'s and
/// [`crate::cotp`]'s.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Glimpse {
    /// The TPKT's length field (the whole packet, header included).
    pub len: usize,
    /// The TPKT's reserved octet (RFC 1006: 0; KB Q151626's 4.0 leaves 0x11 in its CC).
    pub reserved: u8,
    /// TPDU code, `crate::cotp::code`.
    pub code: u8,
    /// A DT's first SPDU identifier (`crate::session::si`), when the packet holds one.
    pub first_spdu: Option<u8>,
    /// Whether the length field is plausible (at least a TPKT header and a DT header) and the
    /// whole packet is in the bytes.
    pub complete: bool,
}

impl Glimpse {
    /// What the packet is, by the standards' names: the TPDU (`CC`, `DR`…), a DT with its first
    /// SPDU (`DT/ACCEPT`), or `TPDU 0x..` for a code class 0 does not have.
    pub fn name(&self) -> String {
        match (crate::cotp::code_name(self.code), self.first_spdu) {
            ("DT", Some(si)) => format!("DT/{}", crate::session::si_name(si)),
            ("other TPDU", _) => format!("TPDU {:#04x}", self.code),
            (name, _) => name.to_string(),
        }
    }
}

/// The TPKTs that start back to back at the beginning of `bytes` (at least 6 octets and version 3
/// each); the walk stops after a packet that is not complete, which is yielded with `complete`
/// false.
pub fn glimpse(bytes: &[u8]) -> impl Iterator<Item = Glimpse> + '_ {
    let mut rest = Some(bytes);
    std::iter::from_fn(move || {
        let r = rest.take()?;
        if r.len() < 6 || r[0] != VERSION {
            return None;
        }
        let len = usize::from(u16::from_be_bytes([r[2], r[3]]));
        let complete = len >= 7 && len <= r.len();
        let code = r[5] & 0xf0;
        let first_spdu = (complete && code == crate::cotp::code::DT)
            .then(|| r[4..len].get(usize::from(r[4]) + 1).copied())
            .flatten();
        if complete {
            rest = Some(&r[len..]);
        }
        Some(Glimpse {
            len,
            reserved: r[1],
            code,
            first_spdu,
            complete,
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use mta_build::{Build, Profile};

    #[test]
    fn ex40_writer_leaves_0x11_in_the_cc_and_fixed_builds_clear_it() {
        let tpdu = [0x02, 0xf0, 0x80];
        for build in Build::ALL {
            let w = Writer::new(&Profile::of(build));
            let mut cc = Vec::new();
            w.write(&mut cc, &tpdu, SendFlags::CONNECT_RESPONSE);
            let mut dt = Vec::new();
            w.write(&mut dt, &tpdu, SendFlags::NONE);
            let want = if build == Build::Ex40 { 0x11 } else { 0 };
            assert_eq!(cc[1], want, "{build}");
            assert_eq!(dt[1], 0, "{build}: data writes carry no flags");
        }
    }

    #[test]
    fn reserved_policy() {
        let frame = [3, 0x11, 0, 7, 0x02, 0xf0, 0x80];
        assert!(Packet::new_checked(&frame[..], ReservedPolicy::Ignore).is_ok());
        let e = Packet::new_checked(&frame[..], ReservedPolicy::Reject).unwrap_err();
        assert_eq!((e.offset, e.reason), (1, "reserved octet is not zero"));
    }

    #[test]
    fn reassembly_byte_at_a_time_and_coalesced() {
        let mut stream = Vec::new();
        let w = Writer::conforming();
        w.write(&mut stream, &[0x02, 0xf0, 0x80, 1, 2, 3], SendFlags::NONE);
        w.write(&mut stream, &[0x02, 0xf0, 0x00], SendFlags::NONE);
        let mut r = Reassembler::new(ReservedPolicy::Reject);
        let mut frames = Vec::new();
        for b in &stream {
            r.push(std::slice::from_ref(b));
            while let Some(f) = r.next_frame().unwrap() {
                frames.push(f.tpdu);
            }
        }
        assert_eq!(
            frames,
            vec![vec![0x02, 0xf0, 0x80, 1, 2, 3], vec![0x02, 0xf0, 0x00]]
        );
        let mut r = Reassembler::new(ReservedPolicy::Ignore);
        r.push(&stream);
        assert!(r.next_frame().unwrap().is_some());
        assert!(r.next_frame().unwrap().is_some());
        assert!(r.next_frame().unwrap().is_none());
        assert_eq!(r.stream_offset(), stream.len() as u64);
    }

    #[test]
    fn framing_errors_are_sticky_and_located() {
        let mut r = Reassembler::new(ReservedPolicy::Ignore);
        r.push(&[3, 0, 0, 7, 2, 0xf0, 0x80, 4, 0, 0, 7]);
        assert!(r.next_frame().unwrap().is_some());
        let e = r.next_frame().unwrap_err();
        assert_eq!((e.offset, e.reason), (7, "version is not 3"));
        r.push(&[3, 0, 0, 7]);
        assert_eq!(r.next_frame().unwrap_err(), e);
        let mut r = Reassembler::new(ReservedPolicy::Ignore);
        r.push(&[3, 0, 0, 6]);
        assert_eq!(r.next_frame().unwrap_err().offset, 2);
    }

    /// The glimpse walks back-to-back TPKTs, reads a DT's first SPDU, and stops after a packet
    /// cut short (yielded as incomplete) or at anything that is not a TPKT.
    #[test]
    fn glimpse_walks_packets_and_stops_at_a_short_one() {
        use crate::cotp::code;
        let cc = [3, 0, 0, 11, 6, 0xd0, 0, 1, 0, 1, 0];
        let dt_ac = [3, 0, 0, 9, 2, 0xf0, 0x80, 14, 0];
        let short = [3, 0, 0, 40, 2, 0xf0, 0x80];
        let bytes = [&cc[..], &dt_ac, &short].concat();
        let g: Vec<Glimpse> = glimpse(&bytes).collect();
        assert_eq!(g.len(), 3);
        assert_eq!((g[0].len, g[0].code, g[0].complete), (11, code::CC, true));
        assert_eq!(g[0].reserved, 0);
        assert_eq!(
            glimpse(&[3, 0x11, 0, 7, 2, 0xd0, 0])
                .next()
                .unwrap()
                .reserved,
            0x11
        );
        assert_eq!((g[1].code, g[1].first_spdu), (code::DT, Some(14)));
        assert_eq!(
            (g[2].len, g[2].complete, g[2].first_spdu),
            (40, false, None)
        );
        assert_eq!(glimpse(&[3, 0, 0, 7, 2]).count(), 0, "under 6 octets");
        assert_eq!(
            glimpse(&[4, 0, 0, 7, 2, 0xf0, 0x80]).count(),
            0,
            "not version 3"
        );
        let tiny: Vec<Glimpse> = glimpse(&[3, 0, 0, 5, 2, 0xf0, 3, 0, 0, 7]).collect();
        assert_eq!(tiny.len(), 1, "a length under 7 ends the walk");
        assert!(!tiny[0].complete);
        let names: Vec<String> = g.iter().map(Glimpse::name).collect();
        assert_eq!(names, ["CC", "DT/ACCEPT", "DT"]);
        let odd = [3, 0, 0, 7, 2, 0x30, 0];
        assert_eq!(glimpse(&odd).next().unwrap().name(), "TPDU 0x30");
    }
}
