//! Idle skipping (issue 20): how far a turmoil world may advance in one step.
//!
//! turmoil steps a fixed tick (10 ms here) and every host's runtime runs once per step, even when
//! nothing is due; most of a faulty world's simulated time is spent waiting for a retry timer or
//! a fault's end. When nothing is in flight on the network and every actor — modelled MTA, client
//! program, fault timeline, the watch — names the earliest time it may next *act* (send, connect,
//! close, log, change what another host reads), the world advances to that time in one step
//! (`Sim::step_by`, see `vendor/turmoil/VENDORED.md`). Every host's tokio timers still fire at
//! their exact times inside that step; only steps in which nothing could happen are merged. (The
//! simulator also ticks each model only where it is due, `Mta::next_tick_due`.)
//! `sim/world/tests/idle_skip.rs` checks that event logs and traces are identical with skipping
//! on and off.
//!
//! This module knows turmoil and time only; it may not know machines or models (the simulator
//! computes their bound and hands it here).

use std::cell::{Cell, RefCell};
use std::time::Duration;

/// Whether any message (data, SYN, FIN) is on a link, not yet delivered.
pub fn in_flight(sim: &turmoil::Sim<'_>) -> bool {
    let mut any = false;
    sim.links(|links| {
        for mut link in links {
            if link.next().is_some() {
                any = true;
                return;
            }
        }
    });
    any
}

/// The earliest time anything may act, folded from every actor's answer: `None` while some
/// actor has work now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bound(Option<u64>);

impl Bound {
    /// Nothing scheduled yet.
    pub const NEVER: Bound = Bound(Some(u64::MAX));

    /// An actor with work now: no skipping.
    pub fn busy(&mut self) {
        self.0 = None;
    }

    /// An actor that may act at `t` (ms) and not before.
    pub fn at(&mut self, t: u64) {
        self.0 = self.0.map(|b| b.min(t));
    }

    /// An actor's answer: `None` means it has work now.
    pub fn quiet_until(&mut self, t: Option<u64>) {
        match t {
            Some(t) => self.at(t),
            None => self.busy(),
        }
    }

    /// Whether some actor has work now.
    pub fn is_busy(&self) -> bool {
        self.0.is_none()
    }

    /// The step (ms) to take at `now` on a grid of `tick` ms: one tick while anything is busy or
    /// due within two ticks; else up to one tick before the grid point at or after the earliest
    /// action, never past `limit`. (An action at `t` happens in the step that ends at the next
    /// grid point; that step stays a single tick, exactly as without skipping, so timers that
    /// fall on its end are ordered as they always were.)
    pub fn step_ms(&self, now: u64, tick: u64, limit: u64) -> u64 {
        let tick = tick.max(1);
        let Some(t) = self.0 else { return tick };
        let last = t.min(limit).div_ceil(tick).saturating_mul(tick);
        last.saturating_sub(tick).saturating_sub(now).max(tick)
    }
}

/// Client programs (burst callers, hostile peers): when each is due to start, and how many have
/// started and not finished. While any runs the world steps one tick at a time (their reads and
/// writes are not scheduled in advance); one due to start bounds the step (its start may run at
/// the beginning of the step after its due time).
#[derive(Debug, Default)]
pub struct Programs {
    due: RefCell<Vec<u64>>,
    running: Cell<u32>,
}

impl Programs {
    /// A program will start at `at` (ms).
    pub fn schedule(&self, at: u64) {
        self.due.borrow_mut().push(at);
    }
    /// The program scheduled at `at` starts.
    pub fn start(&self, at: u64) {
        let mut due = self.due.borrow_mut();
        if let Some(i) = due.iter().position(|&t| t == at) {
            due.swap_remove(i);
        }
        self.running.set(self.running.get() + 1);
    }
    /// A program ends.
    pub fn end(&self) {
        self.running.set(self.running.get().saturating_sub(1));
    }
    /// Fold into `b`: busy while any runs, else the earliest start due.
    pub fn bound(&self, b: &mut Bound) {
        if self.running.get() > 0 {
            b.busy();
        } else if let Some(&t) = self.due.borrow().iter().min() {
            b.at(t);
        }
    }
}

/// Step `sim` by `ms` (one tick or a merged idle stretch).
pub fn step(sim: &mut turmoil::Sim<'_>, ms: u64) -> turmoil::Result<bool> {
    sim.step_by(Duration::from_millis(ms))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_busy_world_steps_one_tick() {
        let mut b = Bound::NEVER;
        b.at(5_000);
        b.busy();
        assert_eq!(b.step_ms(100, 10, 60_000), 10);
    }

    #[test]
    fn an_idle_world_steps_to_the_grid_point_of_its_earliest_action() {
        let mut b = Bound::NEVER;
        b.at(5_000);
        b.quiet_until(Some(1_234));
        assert_eq!(
            b.step_ms(100, 10, 60_000),
            1_130,
            "to 1230; 1240's step is one tick"
        );
        assert_eq!(b.step_ms(1_230, 10, 60_000), 10, "due within a tick");
        assert_eq!(b.step_ms(1_220, 10, 60_000), 10, "due within two ticks");
        assert_eq!(
            Bound::NEVER.step_ms(100, 10, 2_000),
            1_890,
            "the limit caps it"
        );
    }
}
