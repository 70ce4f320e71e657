//! The Exchange MTA buffer manager and the TCP control-block table.
//!
//! The buffer manager holds a pool of buffer *headers* and a pool of fixed-size *elements*; a buffer
//! is one header plus a chain of elements. Every layer passes data in these buffers (TCP driver → NSI
//! → POP4, transport → session), so the pool's accounting is the lab's leak oracle. The per-request
//! limit is a build constant: KB Q182619's fatal 9404 "An illegal buffer request has been made. The
//! request was for 30 headers and 30 elements" is the driver exceeding it.
//!
//! The control-block table (KB Q151626 "CB 1", Q182619 "Control block index: 6", Q811406 "cb 12")
//! is shared by the TCP driver and the LPI decoder.

mod control_block;
mod pool;

pub use control_block::{
    ControlBlockError, ControlBlockId, ControlBlockTable, Direction, LISTENER_INDEX, Resolution,
};
pub use pool::{
    BufferError, BufferHandle, BufferManager, Component, LeakReport, Limits, Outstanding,
    ReleaseError, Stats,
};
