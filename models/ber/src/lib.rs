//! X.690 Basic Encoding Rules: identifier, length and contents octets (clause 8.1), used by
//! presentation, ACSE, RTSE and P1.
//!
//! - [`walk`] is the validating scanner: iterative (an explicit frame stack, so hostile nesting
//!   cannot overflow the call stack), bounded by [`Limits`], and it reports every X.690 violation as a
//!   typed [`ErrorKind`] with the offset of the offending octet.
//! - [`Tlv`] is a checked zero-copy view of one element; after [`Tlv::parse`] succeeds, walking its
//!   children cannot fail.
//! - [`Node`] is an owned tree for round-trip tests and tools; [`Encoder`] writes definite (minimal)
//!   or indefinite encodings.
//! - [`dump`] renders the layout users know from `openssl asn1parse` / `dumpasn1`.

mod dump;
mod encode;
pub mod field;
mod header;
pub mod reference;
mod tree;
mod walk;

pub use dump::{dump, tag_name};
pub use encode::{Encoder, encoded_header_len, write_header};
pub use header::{Class, Header, Length, Tag, parse_header};
pub use tree::{Node, Value, decode};
pub use walk::{Children, Item, Limits, Tlv, Visit, walk, walk_one};

/// A BER violation at an absolute offset of the input.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("offset {offset}: {kind}")]
pub struct Error {
    /// Offset of the first octet of the offending identifier/length/contents.
    pub offset: usize,
    /// What is wrong.
    pub kind: ErrorKind,
}

impl ErrorKind {
    /// A static one-line description (for protocol crates whose errors carry `&'static str`).
    pub const fn reason(&self) -> &'static str {
        match self {
            ErrorKind::Truncated { .. } => "BER: truncated",
            ErrorKind::ReservedLength => "BER: reserved length octet 0xFF",
            ErrorKind::LengthOverflow { .. } => "BER: length overflows",
            ErrorKind::LengthLimit { .. } => "BER: length above limit",
            ErrorKind::IndefinitePrimitive => "BER: indefinite length on a primitive",
            ErrorKind::TagOverflow => "BER: tag number overflows",
            ErrorKind::TagLeadingZero => "BER: tag with leading zero",
            ErrorKind::TagNotMinimal(_) => "BER: tag not minimal",
            ErrorKind::UnexpectedEoc => "BER: unexpected end-of-contents",
            ErrorKind::InvalidEoc => "BER: invalid end-of-contents",
            ErrorKind::MissingEoc { .. } => "BER: missing end-of-contents",
            ErrorKind::ChildOverrun { .. } => "BER: child overruns parent",
            ErrorKind::DepthExceeded { .. } => "BER: nesting too deep",
            ErrorKind::TrailingData(_) => "BER: trailing data",
            ErrorKind::Empty => "BER: empty",
        }
    }
}

/// Every way BER input can be malformed (X.690 clause numbers in the messages).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
pub enum ErrorKind {
    /// The input ends inside an identifier, a length or contents.
    #[error("truncated: {needed} more octet(s) needed")]
    Truncated {
        /// Octets missing.
        needed: usize,
    },
    /// Length octet 0xFF is reserved (X.690 8.1.3.5 c).
    #[error("reserved length octet 0xFF (X.690 8.1.3.5 c)")]
    ReservedLength,
    /// A long-form length that does not fit the platform's usize (or more than 8 octets).
    #[error("length of {octets} octets overflows")]
    LengthOverflow {
        /// Length-of-length.
        octets: u8,
    },
    /// A definite length above [`Limits::max_length`].
    #[error("length {length} exceeds the limit {limit}")]
    LengthLimit {
        /// Declared length.
        length: usize,
        /// Configured limit.
        limit: usize,
    },
    /// Indefinite length on a primitive encoding (X.690 8.1.3.2 a).
    #[error("indefinite length on a primitive encoding (X.690 8.1.3.2 a)")]
    IndefinitePrimitive,
    /// A tag number above 2^32-1.
    #[error("tag number overflows 32 bits")]
    TagOverflow,
    /// High-tag-number form whose first subsequent octet is 0x80 (X.690 8.1.2.4.2 c).
    #[error("high tag number with leading zero septet (X.690 8.1.2.4.2 c)")]
    TagLeadingZero,
    /// High-tag-number form for a number below 31 (X.690 8.1.2.2).
    #[error("high-tag-number form used for tag number {0} < 31 (X.690 8.1.2.2)")]
    TagNotMinimal(u32),
    /// End-of-contents where no indefinite-length element is open (X.690 8.1.5).
    #[error("end-of-contents outside an indefinite-length element (X.690 8.1.5)")]
    UnexpectedEoc,
    /// Universal tag 0 that is not a two-octet `00 00` end-of-contents.
    #[error("universal tag 0 is reserved for end-of-contents `00 00` (X.690 8.1.5)")]
    InvalidEoc,
    /// An indefinite-length element not closed by end-of-contents before its bound.
    #[error("indefinite-length element opened at offset {opened_at} has no end-of-contents")]
    MissingEoc {
        /// Offset of the element's identifier.
        opened_at: usize,
    },
    /// A child element extends past the end of its definite-length parent.
    #[error("element extends {excess} octet(s) past its parent's end")]
    ChildOverrun {
        /// Octets beyond the parent.
        excess: usize,
    },
    /// Nesting deeper than [`Limits::max_depth`].
    #[error("nesting deeper than {limit}")]
    DepthExceeded {
        /// Configured limit.
        limit: usize,
    },
    /// Octets after the single top-level element.
    #[error("{0} trailing octet(s) after the element")]
    TrailingData(usize),
    /// No element at all.
    #[error("empty input")]
    Empty,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Protocol crates report a BER violation by its reason alone, so every kind must have its
    /// own: naming BER and telling the kinds apart.
    #[test]
    fn every_error_kind_has_its_own_reason() {
        let kinds = [
            ErrorKind::Truncated { needed: 1 },
            ErrorKind::ReservedLength,
            ErrorKind::LengthOverflow { octets: 9 },
            ErrorKind::LengthLimit {
                length: 2,
                limit: 1,
            },
            ErrorKind::IndefinitePrimitive,
            ErrorKind::TagOverflow,
            ErrorKind::TagLeadingZero,
            ErrorKind::TagNotMinimal(5),
            ErrorKind::UnexpectedEoc,
            ErrorKind::InvalidEoc,
            ErrorKind::MissingEoc { opened_at: 0 },
            ErrorKind::ChildOverrun { excess: 1 },
            ErrorKind::DepthExceeded { limit: 1 },
            ErrorKind::TrailingData(1),
            ErrorKind::Empty,
        ];
        let reasons: std::collections::BTreeSet<&str> =
            kinds.iter().map(ErrorKind::reason).collect();
        assert_eq!(reasons.len(), kinds.len(), "{reasons:?}");
        for r in reasons {
            assert!(r.starts_with("BER: ") && r.len() > "BER: ".len(), "{r:?}");
        }
    }
}
