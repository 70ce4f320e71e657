//! The internal-message header, as the NSI and POP4 lay it out at the start of a buffer's first
//! element. Our layout (no public source describes the real one); little-endian, as the NT/x86 MTA
//! keeps it in memory:
//!
//! ```text
//! 0..2    message type        u16   (MessageType)
//! 2..4    header length       u16   (16 in this version; larger values skip future fields)
//! 4..6    LPI interface       u16
//! 6..8    LPI generation      u16
//! 8..10   LPI index           u16   (control-block index)
//! 10..12  flags               u16   (bit 0: more data follows in a later message; others reserved, 0)
//! 12..16  data length         u32   (octets after the header)
//! ```

use crate::Lpi;
use std::fmt;

/// Length of the version-1 header.
pub const HEADER_LEN: usize = 16;

mod field {
    use std::ops::Range;
    pub const TYPE: Range<usize> = 0..2;
    pub const HEADER_LEN: Range<usize> = 2..4;
    pub const INTERFACE: Range<usize> = 4..6;
    pub const GENERATION: Range<usize> = 6..8;
    pub const INDEX: Range<usize> = 8..10;
    pub const FLAGS: Range<usize> = 10..12;
    pub const DATA_LEN: Range<usize> = 12..16;
}

/// Flag: more data of the same unit follows in a later Data message.
pub const FLAG_MORE: u16 = 0x0001;

macro_rules! message_types {
    ($( $(#[doc = $doc:literal])* $name:ident = $code:literal, $text:literal; )*) => {
        /// Internal message codes. High byte: 0x01 NSI → POP4, 0x02 POP4 → NSI, 0x03 the TCP
        /// driver's own notifications (never valid between NSI and POP4).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum MessageType {
            $( $(#[doc = $doc])* $name, )*
            /// A code this model does not define.
            Unknown(u16),
        }

        impl MessageType {
            /// Every defined type.
            pub const ALL: &'static [MessageType] = &[$(MessageType::$name),*];

            /// The numeric code.
            pub const fn code(self) -> u16 {
                match self {
                    $( MessageType::$name => $code, )*
                    MessageType::Unknown(c) => c,
                }
            }

            /// From a numeric code (total: unknown codes are kept).
            pub const fn from_code(code: u16) -> MessageType {
                match code {
                    $( $code => MessageType::$name, )*
                    c => MessageType::Unknown(c),
                }
            }

            /// The name event 4258 prints ("Close Request").
            pub const fn name(self) -> &'static str {
                match self {
                    $( MessageType::$name => $text, )*
                    MessageType::Unknown(_) => "Unknown",
                }
            }
        }
    };
}

message_types! {
    /// NSI → POP4: a peer connected (TCP accepted and class-0 CR received); the data is the CR
    /// TPDU (its TPKT taken off). POP4 answers with Accept OK or Refuse Connect.
    ConnectIndication = 0x0101, "Connect Indication";
    /// NSI → POP4: a TPDU arrived (the data: the TPDU, its TPKT taken off by NSI).
    DataIndication = 0x0102, "Data Indication";
    /// NSI → POP4: the transport connection is gone (peer gave up, reset, timed out, or an
    /// outbound connect failed); POP4 ends the association and answers with a Close Request.
    DisconnectIndication = 0x0103, "Disconnect Indication";
    /// NSI → POP4: an outbound connection POP4 asked for is up.
    ConnectConfirm = 0x0104, "Connect Confirm";
    /// NSI → POP4: NSI rejected a message of POP4's because of its LPI; the data is the error
    /// code (u32, little-endian: 8464 for a bad LPI, 1209 for an LPI that does not match its
    /// control block) — what POP4 reports as 4283 or 1209.
    ErrorIndication = 0x0105, "Error Indication";
    /// POP4 → NSI: open an outbound connection. Defined for completeness; in this model the MTA
    /// core dials (NSI allocates the block) and hands POP4 the LPI.
    ConnectRequest = 0x0201, "Connect Request";
    /// POP4 → NSI: accept the indicated connection; the data is the CC to send. Takes only while
    /// the caller is still there; from then on the LPI is POP4's.
    AcceptOk = 0x0202, "Accept OK";
    /// POP4 → NSI: send a TSDU (the data: TPKT-framed TPDUs).
    DataRequest = 0x0203, "Data";
    /// POP4 → NSI: close the connection and release its LPI (KB Q811406's 4258 "Message type
    /// Close Request").
    CloseRequest = 0x0204, "Close Request";
    /// POP4 → NSI: refuse the indicated connection; the data is the TPDU to send first (a DR).
    RefuseConnect = 0x0205, "Refuse Connect";
    /// Driver-internal: the receive side of a socket closed. Code 0x0301 = 769, the "message type
    /// 769" of KB Q151626's NMI9225, which 4.0 logs when it arrives for a control block in a state
    /// that does not expect it.
    ReceiveClosed = 0x0301, "Receive Closed";
    /// Driver-internal: a queued send completed.
    SendComplete = 0x0302, "Send Complete";
    /// Driver-internal: an outbound connect() completed.
    ConnectComplete = 0x0303, "Connect Complete";
    /// Driver-internal: an outbound connect() failed (Winsock error in the data).
    ConnectFailed = 0x0304, "Connect Failed";
    /// Driver-internal: the sockets-recovery timer of a control block fired.
    RecoveryTimer = 0x0305, "Recovery Timer";
}

impl MessageType {
    /// Whether the code belongs between NSI and POP4 (not a driver-internal or unknown code).
    pub const fn is_nsi_pop4(self) -> bool {
        matches!(self.code() >> 8, 1 | 2) && !matches!(self, MessageType::Unknown(_))
    }

    /// Whether it is a message POP4 sends to NSI (high byte 0x02, defined).
    pub const fn is_pop4_to_nsi(self) -> bool {
        self.code() >> 8 == 2 && self.is_nsi_pop4()
    }
}

impl fmt::Display for MessageType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MessageType::Unknown(c) => write!(f, "Unknown ({c})"),
            t => write!(f, "{} ({})", t.name(), t.code()),
        }
    }
}

/// Why a header is malformed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
pub enum MalformedKind {
    /// Fewer than [`HEADER_LEN`] octets.
    #[error("truncated header: {0} of 16 octets")]
    Truncated(usize),
    /// Header length field below 16 or beyond the octets present.
    #[error("header length {0} invalid")]
    BadHeaderLength(u16),
    /// Reserved flag bits set.
    #[error("reserved flags 0x{0:04x} set")]
    ReservedFlags(u16),
    /// Data length field disagrees with the octets after the header.
    #[error("data length {declared} but {available} octets follow the header")]
    DataLength {
        /// What the header claims.
        declared: u32,
        /// What is there.
        available: usize,
    },
    /// A code that is not an NSI/POP4 message.
    #[error("message type {0} is not an NSI/POP4 message")]
    NotNsiPop4(u16),
}

/// The header's fields read from its [`HEADER_LEN`] octets (little-endian, fixed offsets).
#[derive(Clone, Copy)]
struct Fields {
    code: u16,
    header_len: u16,
    lpi: Lpi,
    flags: u16,
    data_len: u32,
}

impl Fields {
    /// One bounds check for the whole header, then fixed offsets (no per-field checks).
    fn read(h: &[u8; HEADER_LEN]) -> Fields {
        let u16_at = |i: usize| u16::from_le_bytes([h[i], h[i + 1]]);
        Fields {
            code: u16_at(field::TYPE.start),
            header_len: u16_at(field::HEADER_LEN.start),
            lpi: Lpi::new(
                u16_at(field::INTERFACE.start),
                u16_at(field::GENERATION.start),
                u16_at(field::INDEX.start),
            ),
            flags: u16_at(field::FLAGS.start),
            data_len: u32::from_le_bytes([h[12], h[13], h[14], h[15]]),
        }
    }

    /// The checks of [`check_header`] on fields already read.
    fn check(&self, total_len: usize) -> Result<(), MalformedKind> {
        let hl = usize::from(self.header_len);
        if hl < HEADER_LEN || hl > total_len {
            return Err(MalformedKind::BadHeaderLength(self.header_len));
        }
        if self.flags & !FLAG_MORE != 0 {
            return Err(MalformedKind::ReservedFlags(self.flags));
        }
        let available = total_len - hl;
        if usize::try_from(self.data_len).ok() != Some(available) {
            return Err(MalformedKind::DataLength {
                declared: self.data_len,
                available,
            });
        }
        let t = MessageType::from_code(self.code);
        if !t.is_nsi_pop4() {
            return Err(MalformedKind::NotNsiPop4(self.code));
        }
        Ok(())
    }
}

/// The first [`HEADER_LEN`] octets of `head`, if a message of `total_len` octets has them.
fn header_octets(head: &[u8], total_len: usize) -> Result<&[u8; HEADER_LEN], MalformedKind> {
    match head.first_chunk::<HEADER_LEN>() {
        Some(h) if total_len >= HEADER_LEN => Ok(h),
        _ => Err(MalformedKind::Truncated(head.len().min(total_len))),
    }
}

/// Check a header held in `head` (at least the first [`HEADER_LEN`] octets of the message) for a
/// message of `total_len` octets in all. Used on contiguous bytes and on the first element of a
/// buffer-manager buffer alike.
pub fn check_header(head: &[u8], total_len: usize) -> Result<(), MalformedKind> {
    Fields::read(header_octets(head, total_len)?).check(total_len)
}

impl MalformedKind {
    /// Offset of the field at fault, for tools that point at the octet.
    pub const fn offset(self) -> usize {
        match self {
            MalformedKind::Truncated(n) => n,
            MalformedKind::BadHeaderLength(_) => field::HEADER_LEN.start,
            MalformedKind::ReservedFlags(_) => field::FLAGS.start,
            MalformedKind::DataLength { .. } => field::DATA_LEN.start,
            MalformedKind::NotNsiPop4(_) => field::TYPE.start,
        }
    }
}

/// A zero-copy view of an internal message (header plus data).
#[derive(Debug, Clone)]
pub struct InternalMessage<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> InternalMessage<T> {
    /// Wrap without checking; accessors may panic on short input. Use [`Self::new_checked`] on
    /// untrusted bytes.
    pub const fn new_unchecked(buffer: T) -> Self {
        InternalMessage { buffer }
    }

    /// Wrap and check lengths, flags and type: after this, no accessor panics.
    pub fn new_checked(buffer: T) -> Result<Self, MalformedKind> {
        let m = Self::new_unchecked(buffer);
        m.check()?;
        Ok(m)
    }

    /// The checks of [`Self::new_checked`].
    pub fn check(&self) -> Result<(), MalformedKind> {
        check_header(self.buffer.as_ref(), self.buffer.as_ref().len())
    }

    fn u16_at(&self, r: std::ops::Range<usize>) -> u16 {
        let b = &self.buffer.as_ref()[r];
        u16::from_le_bytes([b[0], b[1]])
    }

    /// Message type.
    pub fn message_type(&self) -> MessageType {
        MessageType::from_code(self.u16_at(field::TYPE))
    }
    /// Header length field.
    pub fn header_len(&self) -> u16 {
        self.u16_at(field::HEADER_LEN)
    }
    /// The LPI the message is addressed by.
    pub fn lpi(&self) -> Lpi {
        Lpi::new(
            self.u16_at(field::INTERFACE),
            self.u16_at(field::GENERATION),
            self.u16_at(field::INDEX),
        )
    }
    /// Flags.
    pub fn flags(&self) -> u16 {
        self.u16_at(field::FLAGS)
    }
    /// Data length field.
    pub fn data_len(&self) -> u32 {
        let b = &self.buffer.as_ref()[field::DATA_LEN];
        u32::from_le_bytes([b[0], b[1], b[2], b[3]])
    }
    /// The data after the header.
    pub fn data(&self) -> &[u8] {
        &self.buffer.as_ref()[usize::from(self.header_len())..]
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> InternalMessage<T> {
    fn set_u16(&mut self, r: std::ops::Range<usize>, v: u16) {
        self.buffer.as_mut()[r].copy_from_slice(&v.to_le_bytes());
    }
    /// Set the message type.
    pub fn set_message_type(&mut self, t: MessageType) {
        self.set_u16(field::TYPE, t.code());
    }
    /// Set the header length field.
    pub fn set_header_len(&mut self, v: u16) {
        self.set_u16(field::HEADER_LEN, v);
    }
    /// Set the LPI.
    pub fn set_lpi(&mut self, l: Lpi) {
        self.set_u16(field::INTERFACE, l.interface);
        self.set_u16(field::GENERATION, l.generation);
        self.set_u16(field::INDEX, l.index);
    }
    /// Set the flags.
    pub fn set_flags(&mut self, v: u16) {
        self.set_u16(field::FLAGS, v);
    }
    /// Set the data length field.
    pub fn set_data_len(&mut self, v: u32) {
        self.buffer.as_mut()[field::DATA_LEN].copy_from_slice(&v.to_le_bytes());
    }
}

/// A validated internal-message header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct MessageRepr {
    /// Message type (an NSI/POP4 code).
    pub message_type: MessageType,
    /// Addressed connection.
    pub lpi: Lpi,
    /// More data of the same unit follows.
    pub more: bool,
    /// Octets of data after the header.
    pub data_len: u32,
}

impl MessageRepr {
    /// Parse a checked view.
    pub fn parse<T: AsRef<[u8]>>(m: &InternalMessage<T>) -> Result<MessageRepr, MalformedKind> {
        m.check()?;
        Ok(Self::from_checked(m))
    }

    /// Parse the header at the start of `head` for a message of `total_len` octets.
    #[inline(never)]
    pub fn parse_header(head: &[u8], total_len: usize) -> Result<MessageRepr, MalformedKind> {
        let f = Fields::read(header_octets(head, total_len)?);
        f.check(total_len)?;
        if f.flags & FLAG_MORE != 0 {
            mta_reach::reach!("lpi: message with the more flag");
        }
        Ok(MessageRepr {
            message_type: MessageType::from_code(f.code),
            lpi: f.lpi,
            more: f.flags & FLAG_MORE != 0,
            data_len: f.data_len,
        })
    }

    fn from_checked<T: AsRef<[u8]>>(m: &InternalMessage<T>) -> MessageRepr {
        MessageRepr {
            message_type: m.message_type(),
            lpi: m.lpi(),
            more: m.flags() & FLAG_MORE != 0,
            data_len: m.data_len(),
        }
    }

    /// Octets of header this repr emits.
    pub const fn header_len(&self) -> usize {
        HEADER_LEN
    }

    /// Octets of header plus data.
    pub fn buffer_len(&self) -> usize {
        HEADER_LEN + self.data_len as usize
    }

    /// The header's [`HEADER_LEN`] octets.
    pub fn header_octets(&self) -> [u8; HEADER_LEN] {
        let [t0, t1] = self.message_type.code().to_le_bytes();
        let [h0, h1] = (HEADER_LEN as u16).to_le_bytes();
        let [i0, i1] = self.lpi.interface.to_le_bytes();
        let [g0, g1] = self.lpi.generation.to_le_bytes();
        let [x0, x1] = self.lpi.index.to_le_bytes();
        let [f0, f1] = (if self.more { FLAG_MORE } else { 0 }).to_le_bytes();
        let [d0, d1, d2, d3] = self.data_len.to_le_bytes();
        [
            t0, t1, h0, h1, i0, i1, g0, g1, x0, x1, f0, f1, d0, d1, d2, d3,
        ]
    }

    /// Write the header into the first [`HEADER_LEN`] octets of `m` (the caller writes the data).
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(&self, m: &mut InternalMessage<T>) {
        m.buffer.as_mut()[..HEADER_LEN].copy_from_slice(&self.header_octets());
    }

    /// Header plus `data` as one vector.
    pub fn to_bytes(&self, data: &[u8]) -> Vec<u8> {
        debug_assert_eq!(data.len(), self.data_len as usize);
        let mut v = Vec::with_capacity(HEADER_LEN + data.len());
        v.extend_from_slice(&self.header_octets());
        v.extend_from_slice(data);
        v
    }
}

impl fmt::Display for MessageRepr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} LPI {} data={}{}",
            self.message_type,
            self.lpi,
            self.data_len,
            if self.more { " more" } else { "" }
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A Close Request for LPI 1-15-12 with no data (the message of KB Q811406's 4258).
    const CLOSE_REQUEST_1_15_12: [u8; 16] = [
        0x04, 0x02, 0x10, 0x00, 0x01, 0x00, 0x0f, 0x00, 0x0c, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x00,
    ];

    #[test]
    fn deconstruct_and_parse() {
        let m = InternalMessage::new_checked(&CLOSE_REQUEST_1_15_12[..]).unwrap();
        assert_eq!(m.message_type(), MessageType::CloseRequest);
        assert_eq!(m.lpi().to_string(), "1-15-12");
        let r = MessageRepr::parse(&m).unwrap();
        assert_eq!(r.to_string(), "Close Request (516) LPI 1-15-12 data=0");
    }

    #[test]
    fn construct_and_emit() {
        let r = MessageRepr {
            message_type: MessageType::CloseRequest,
            lpi: Lpi::new(1, 15, 12),
            more: false,
            data_len: 0,
        };
        let mut buf = [0xa5u8; 16];
        r.emit(&mut InternalMessage::new_unchecked(&mut buf[..]));
        assert_eq!(buf, CLOSE_REQUEST_1_15_12);
        assert_eq!(r.to_bytes(&[]), CLOSE_REQUEST_1_15_12);
    }

    #[test]
    fn malformed_headers() {
        let chk = |b: &[u8]| InternalMessage::new_checked(b).unwrap_err();
        assert_eq!(
            chk(&CLOSE_REQUEST_1_15_12[..5]),
            MalformedKind::Truncated(5)
        );
        let mut b = CLOSE_REQUEST_1_15_12;
        b[2] = 4;
        assert_eq!(chk(&b), MalformedKind::BadHeaderLength(4));
        let mut b = CLOSE_REQUEST_1_15_12;
        b[10] = 0x02;
        assert_eq!(chk(&b), MalformedKind::ReservedFlags(2));
        let mut b = CLOSE_REQUEST_1_15_12;
        b[12] = 9;
        assert_eq!(
            chk(&b),
            MalformedKind::DataLength {
                declared: 9,
                available: 0
            }
        );
        let mut b = CLOSE_REQUEST_1_15_12;
        b[0] = 0x01;
        b[1] = 0x03; // 0x0301 = 769, driver-internal ReceiveClosed
        assert_eq!(chk(&b), MalformedKind::NotNsiPop4(769));
        let mut b = CLOSE_REQUEST_1_15_12;
        b[0] = 0x06; // 0x0206: no such POP4 → NSI message
        assert_eq!(chk(&b), MalformedKind::NotNsiPop4(0x0206));
    }

    /// Every NSI/POP4 type × LPIs at the edges × both flag values × data lengths.
    fn reprs() -> Vec<MessageRepr> {
        let mut v = Vec::new();
        for &message_type in MessageType::ALL.iter().filter(|t| t.is_nsi_pop4()) {
            for lpi in [
                Lpi::new(1, 15, 12),
                Lpi::new(2, 0, 0),
                Lpi::new(0xfffe, 0x8001, 0x7f01),
            ] {
                for more in [false, true] {
                    for data_len in [0, 1, 17, 300] {
                        v.push(MessageRepr {
                            message_type,
                            lpi,
                            more,
                            data_len,
                        });
                    }
                }
            }
        }
        v
    }

    #[test]
    fn the_view_the_setters_and_the_repr_agree_on_every_field() {
        for r in reprs() {
            let data: Vec<u8> = (0..r.data_len).map(|i| (i * 7 + 3) as u8).collect();
            let bytes = r.to_bytes(&data);
            assert_eq!(bytes.len(), r.buffer_len(), "{r}");
            assert_eq!(r.header_len(), HEADER_LEN);
            let m = InternalMessage::new_checked(&bytes[..]).unwrap();
            assert_eq!(m.message_type(), r.message_type);
            assert_eq!(usize::from(m.header_len()), r.header_len());
            assert_eq!(m.lpi(), r.lpi);
            assert_eq!(m.flags(), if r.more { FLAG_MORE } else { 0 });
            assert_eq!(m.data_len(), r.data_len);
            assert_eq!(m.data(), &data[..]);
            assert_eq!(MessageRepr::parse(&m), Ok(r));
            // The field setters write the same octets as the repr's emitter.
            let mut built = vec![0xa5; bytes.len()];
            let mut w = InternalMessage::new_unchecked(&mut built[..]);
            w.set_message_type(r.message_type);
            w.set_header_len(HEADER_LEN as u16);
            w.set_lpi(r.lpi);
            w.set_flags(if r.more { FLAG_MORE } else { 0 });
            w.set_data_len(r.data_len);
            built[HEADER_LEN..].copy_from_slice(&data);
            assert_eq!(built, bytes, "{r}");
        }
    }

    #[test]
    fn a_header_longer_than_the_message_is_truncated_and_errors_point_at_their_field() {
        // The first element holds 16 octets but the message is 10 long: truncated at 10.
        assert_eq!(
            check_header(&CLOSE_REQUEST_1_15_12, 10),
            Err(MalformedKind::Truncated(10))
        );
        let at = |b: &[u8]| InternalMessage::new_checked(b).unwrap_err().offset();
        assert_eq!(at(&CLOSE_REQUEST_1_15_12[..5]), 5);
        let mut b = CLOSE_REQUEST_1_15_12;
        b[2] = 4;
        assert_eq!(at(&b), 2, "the header-length field");
        let mut b = CLOSE_REQUEST_1_15_12;
        b[10] = 0x02;
        assert_eq!(at(&b), 10, "the flags");
        let mut b = CLOSE_REQUEST_1_15_12;
        b[12] = 9;
        assert_eq!(at(&b), 12, "the data length");
        let mut b = CLOSE_REQUEST_1_15_12;
        b[0] = 0x01;
        b[1] = 0x03;
        assert_eq!(at(&b), 0, "the type");
    }

    #[test]
    fn only_a_message_with_the_more_flag_reaches_its_goal() {
        let goal = "lpi: message with the more flag";
        let (r, g) = mta_reach::collect(|| MessageRepr::parse_header(&CLOSE_REQUEST_1_15_12, 16));
        assert!(!r.unwrap().more && !g.contains(goal));
        let mut b = CLOSE_REQUEST_1_15_12;
        b[10] = 0x01;
        let (r, g) = mta_reach::collect(|| MessageRepr::parse_header(&b, 16));
        assert!(r.unwrap().more && g.contains(goal));
    }

    #[test]
    fn codes_round_trip_and_769_is_receive_closed() {
        for &t in MessageType::ALL {
            assert_eq!(MessageType::from_code(t.code()), t);
        }
        assert_eq!(MessageType::from_code(769), MessageType::ReceiveClosed);
        assert_eq!(MessageType::from_code(7), MessageType::Unknown(7));
    }
}
