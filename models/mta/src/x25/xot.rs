//! RFC 1613 XOT framing (X.25 over TCP, port 1998): each X.25 packet travels behind a four-octet
//! header — a version field that must be 0 and the length of the packet that follows (RFC 1613
//! section 3; Wireshark's `packet-xot.c` checks the same: `XOT_VERSION 0`, header of 4 octets,
//! X.25 packets of at least 3 octets). Sans-IO: octets in, whole packets out.

use super::{Packet, PacketError};

/// The XOT port (RFC 1613 section 3).
pub const XOT_PORT: u16 = 1998;

/// XOT header: a version (2 octets, 0) and the X.25 packet's length (2 octets).
pub const XOT_HEADER_LEN: usize = 4;

/// The only XOT version RFC 1613 defines.
pub const XOT_VERSION: u16 = 0;

/// The shortest X.25 packet: GFI and logical channel (2 octets) and the packet type.
const X25_MIN_PACKET_LEN: usize = 3;

/// Why an XOT stream cannot be read on: the connection carrying it is closed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum XotError {
    /// A header with a version other than 0.
    #[error("XOT: version {0}, only version 0 is defined (RFC 1613 section 3)")]
    Version(u16),
    /// A header announcing a packet shorter than an X.25 packet header.
    #[error("XOT: length {0} is shorter than an X.25 packet header (3 octets)")]
    Length(u16),
}

/// Encode `p` with its XOT header (one TCP write per packet).
pub fn frame(p: &Packet) -> Vec<u8> {
    let packet = p.emit();
    let mut v = Vec::with_capacity(XOT_HEADER_LEN + packet.len());
    v.extend_from_slice(&XOT_VERSION.to_be_bytes());
    v.extend_from_slice(&(packet.len() as u16).to_be_bytes());
    v.extend(packet);
    v
}

/// Reassembles XOT frames from a TCP byte stream (frames may be cut anywhere by reads).
#[derive(Debug, Default, Clone)]
pub struct Reader {
    buf: Vec<u8>,
}

/// One frame read off the stream: a packet, or an X.25 packet the model does not decode (the
/// stream stays in step; the packet is skipped).
pub type Frame = Result<Packet, PacketError>;

impl Reader {
    /// An empty reader.
    pub fn new() -> Self {
        Reader::default()
    }

    /// Append octets read from the connection.
    pub fn push(&mut self, octets: &[u8]) {
        self.buf.extend_from_slice(octets);
    }

    /// The next whole frame, `Ok(None)` when the next one is not complete yet, or the framing
    /// error that ends the stream.
    pub fn next_frame(&mut self) -> Result<Option<Frame>, XotError> {
        if self.buf.len() < XOT_HEADER_LEN {
            return Ok(None);
        }
        let version = u16::from_be_bytes([self.buf[0], self.buf[1]]);
        if version != XOT_VERSION {
            return Err(XotError::Version(version));
        }
        let len = u16::from_be_bytes([self.buf[2], self.buf[3]]);
        if usize::from(len) < X25_MIN_PACKET_LEN {
            return Err(XotError::Length(len));
        }
        let end = XOT_HEADER_LEN + usize::from(len);
        if self.buf.len() < end {
            return Ok(None);
        }
        let frame = Packet::parse(&self.buf[XOT_HEADER_LEN..end]);
        self.buf.drain(..end);
        Ok(Some(frame))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_split_across_reads() {
        let a = frame(&Packet::CallAccepted { lcn: 1 });
        let b = frame(&Packet::Rr { lcn: 1, pr: 3 });
        let mut r = Reader::new();
        r.push(&a);
        r.push(&b[..3]);
        assert_eq!(
            r.next_frame(),
            Ok(Some(Ok(Packet::CallAccepted { lcn: 1 })))
        );
        assert_eq!(r.next_frame(), Ok(None), "a header cut short");
        r.push(&b[3..5]);
        assert_eq!(r.next_frame(), Ok(None), "a packet cut short");
        r.push(&b[5..]);
        assert_eq!(r.next_frame(), Ok(Some(Ok(Packet::Rr { lcn: 1, pr: 3 }))));
        assert_eq!(r.next_frame(), Ok(None));
    }

    #[test]
    fn the_header_is_version_zero_and_the_packet_length() {
        let f = frame(&Packet::Clear { lcn: 9, cause: 5 });
        assert_eq!(f, [0, 0, 0, 4, 0x10, 9, 0x13, 5]);
    }

    #[test]
    fn a_version_other_than_zero_or_a_short_length_ends_the_stream() {
        let mut r = Reader::new();
        r.push(&[0, 1, 0, 3, 0x10, 1, 0x0b]);
        assert_eq!(r.next_frame(), Err(XotError::Version(1)));
        let mut r = Reader::new();
        r.push(&[0, 0, 0, 2, 0x10, 1]);
        assert_eq!(r.next_frame(), Err(XotError::Length(2)));
        let mut r = Reader::new();
        r.push(&[0, 0, 0, 3, 0x10, 1, 0x0f]);
        assert_eq!(
            r.next_frame(),
            Ok(Some(Ok(Packet::CallAccepted { lcn: 1 }))),
            "3 is enough"
        );
    }

    #[test]
    fn an_undecodable_packet_is_skipped_in_step() {
        let mut r = Reader::new();
        r.push(&[0, 0, 0, 3, 0x20, 1, 0x0b]);
        r.push(&frame(&Packet::CallAccepted { lcn: 2 }));
        assert!(matches!(r.next_frame(), Ok(Some(Err(_)))));
        assert_eq!(
            r.next_frame(),
            Ok(Some(Ok(Packet::CallAccepted { lcn: 2 })))
        );
    }
}
