//! The wire between NSI and POP4: carries encoded internal messages (models/lpi) both ways — POP4's
//! to NSI at once (NSI judges each one), NSI's into POP4's bounded queue while it has room (NSI
//! holds the rest, in order). The only module that touches both sides; neither side calls the other.

use crate::driver::TcpDriver;
use crate::pop4::Pop4;
use mta_bufmgr::BufferManager;
use mta_eventlog::EventLog;

/// Move every message that can move, both ways, until none can. Returns how many moved.
pub fn carry(
    bm: &mut BufferManager,
    log: &mut EventLog,
    now: u64,
    nsi: &mut TcpDriver,
    pop4: &mut Pop4,
) -> usize {
    let mut moved = 0;
    loop {
        let before = moved;
        while let Some(h) = pop4.take_outgoing(bm) {
            nsi.from_pop4(bm, log, now, h);
            moved += 1;
        }
        while pop4.has_room() {
            let Some(h) = nsi.pop_for_pop4() else { break };
            pop4.deliver(h);
            moved += 1;
        }
        if moved == before {
            return moved;
        }
    }
}
