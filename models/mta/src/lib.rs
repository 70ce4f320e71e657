//! The MTA core, sans-IO: the TCP driver and NSI ([`driver`]), POP4 ([`pop4`]) and the wire of
//! internal messages between them ([`link`]), with the KB defects
//! as build-switched code paths in the components the KBs name. Everything is driven by socket
//! events, timer ticks and operator actions; it emits socket actions, event-log entries and
//! association events. Build behaviour comes only from `mta_build::Profile`.

pub mod connector;
pub mod core;
pub mod driver;
pub mod fault;
pub mod link;
pub mod pipe;
pub mod pop4;
pub mod x25;
