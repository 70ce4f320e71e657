//! The OSI upper-layer stack an X.400 MTA speaks on TCP port 102, as sans-IO state machines with
//! byte-exact wire codecs: RFC 1006 TPKT ([`tpkt`]), ISO 8073 / X.224 class 0 ([`cotp`]), ISO 8327 /
//! X.225 session ([`session`]), ISO 8823 / X.226 presentation ([`presentation`]) with X.227 ACSE
//! ([`acse`]), X.228 RTSE and the X.410-1984 RTS ([`rtse`]), composed into one [`association`].
//!
//! Every PDU has a `Repr` with `parse` (borrowing the input: zero-copy) and `emit`; parse → emit is
//! byte-identical for every input `parse` accepts (tested by the `*_parse` fuzz targets). The state
//! machines take bytes and timer ticks and return bytes, indications and deadlines; nothing here does
//! I/O, so the simulator and a real TCP adapter drive the same code.

pub mod acse;
pub mod asn;
pub mod association;
pub mod cotp;
pub mod dissect;
pub mod pair;
pub mod presentation;
pub mod provided;
pub mod rtse;
pub mod session;
pub mod tpkt;

use std::fmt;

/// The layer a [`Malformed`] error was found in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Layer {
    /// RFC 1006 TPKT.
    Tpkt,
    /// ISO 8073 transport, class 0.
    Cotp,
    /// ISO 8327 session.
    Session,
    /// ISO 8823 presentation.
    Presentation,
    /// X.227 ACSE.
    Acse,
    /// X.228 RTSE / X.410-1984 RTS.
    Rtse,
}

impl fmt::Display for Layer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Layer::Tpkt => "TPKT",
            Layer::Cotp => "COTP",
            Layer::Session => "SES",
            Layer::Presentation => "PRES",
            Layer::Acse => "ACSE",
            Layer::Rtse => "RTSE",
        })
    }
}

/// Malformed input: which layer, where (offset into the PDU handed to that layer's parser) and why.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("{layer}: offset {offset}: {reason}")]
pub struct Malformed {
    /// Layer whose parser rejected the input.
    pub layer: Layer,
    /// Offset of the offending octet within that layer's PDU.
    pub offset: usize,
    /// What is wrong.
    pub reason: &'static str,
}

impl Malformed {
    /// A new error.
    pub const fn new(layer: Layer, offset: usize, reason: &'static str) -> Self {
        Malformed {
            layer,
            offset,
            reason,
        }
    }

    /// The same error with its offset moved by `base` (for errors found in a nested PDU).
    #[must_use]
    pub const fn shifted(self, base: usize) -> Self {
        Malformed {
            offset: self.offset + base,
            ..self
        }
    }
}

/// Result of a parser.
pub type Result<T> = std::result::Result<T, Malformed>;
