//! Internal messages between the network service interface (NSI, the TCP driver side) and POP4 (the
//! upper-layer protocol machine), each addressed by an **LPI** — KB Q811406 "Bad LPI 1-15-12",
//! KB Q319936 "cb 12 / LPI 1-15-12", KB 306959 event 1209.
//!
//! - [`Lpi`]: the handle `a-b-c` (interface, generation, control-block index).
//! - [`MessageType`]: the internal message codes, including the TCP driver's own notifications
//!   (NMI9225's "message type 769" is [`MessageType::ReceiveClosed`]).
//! - [`InternalMessage`] / [`MessageRepr`]: zero-copy header view and validated value, smoltcp style.
//! - [`decode`] / [`decode_buffer`]: the LPI decoder — parse a header, resolve its LPI against the
//!   [`ControlBlockTable`](mta_bufmgr::ControlBlockTable), classify stale, reused and unknown LPIs.

mod decoder;
mod handle;
mod message;

pub use decoder::{DecodeError, Decoded, LpiStatus, decode, decode_buffer, encode_into_buffer};
pub use handle::{Interface, Lpi, ParseLpiError};
pub use message::{
    HEADER_LEN, InternalMessage, MalformedKind, MessageRepr, MessageType, check_header,
};
