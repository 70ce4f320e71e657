//! The TCP driver's control-block table: inbound and outbound pools sized by the build table
//! (registry parameter "TCP/IP control blocks"), indexed by a small integer plus a generation.
//!
//! Index 0 is the listening socket's block, so the first connection gets "CB 1" as in KB Q151626.
//! The index is what event texts print ("Control block index: 6", "cb 12"); the generation is what
//! lets the LPI decoder tell a stale or reused LPI from a live one.

use mta_build::Profile;
use std::fmt;

/// Control-block index of the listening socket.
pub const LISTENER_INDEX: u16 = 0;

/// Which pool a control block belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Direction {
    /// A connection the MTA accepted.
    Inbound,
    /// A connection the MTA opened.
    Outbound,
}

impl Direction {
    const fn pool(self) -> usize {
        match self {
            Direction::Inbound => 0,
            Direction::Outbound => 1,
        }
    }
}

impl fmt::Display for Direction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Direction::Inbound => "inbound",
            Direction::Outbound => "outbound",
        })
    }
}

/// A control block: table index plus the generation it had when allocated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ControlBlockId {
    /// Table index (what "CB n" prints).
    pub index: u16,
    /// Allocation count of the slot (wraps at 65535, skipping 0).
    pub generation: u16,
}

impl fmt::Display for ControlBlockId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CB {} (gen {})", self.index, self.generation)
    }
}

/// What an (index, generation) pair refers to now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resolution {
    /// A live block with that generation.
    Live(Direction),
    /// The listener's block.
    Listener,
    /// The slot is free: the connection it named is gone.
    Free,
    /// The slot is live but belongs to a later (or earlier) connection.
    Reused {
        /// Generation the slot has now.
        current: u16,
    },
    /// No such index in the table.
    OutOfRange,
}

/// Control-block table errors.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ControlBlockError {
    /// Every block of the direction's pool is in use: the driver must refuse the connection.
    #[error("no free {direction} control block ({capacity} in use)")]
    PoolExhausted {
        /// The exhausted pool.
        direction: Direction,
        /// Its size.
        capacity: u16,
    },
    /// Releasing a block that is not live with that generation.
    #[error("release of {id}: {resolution:?}")]
    NotLive {
        /// What was released.
        id: ControlBlockId,
        /// What the table holds there.
        resolution: Resolution,
    },
}

#[derive(Debug, Clone, Copy)]
struct Slot {
    generation: u16,
    in_use: Option<Direction>,
}

/// The table. Allocation takes the lowest free index, so indices are deterministic.
#[derive(Debug, Clone)]
pub struct ControlBlockTable {
    slots: Vec<Slot>,
    /// Free indices as a bit set (bit `i % 64` of word `i / 64`): the lowest free index is the
    /// first set bit, found a word at a time.
    free: Vec<u64>,
    capacity: [u16; 2],
    in_use: [u16; 2],
    exhausted: u64,
}

impl ControlBlockTable {
    /// A table with `inbound` + `outbound` blocks plus the listener's.
    pub fn new(inbound: u16, outbound: u16) -> Self {
        let total = 1 + usize::from(inbound) + usize::from(outbound);
        assert!(
            u16::try_from(total).is_ok(),
            "control-block table too large"
        );
        let mut t = ControlBlockTable {
            slots: Vec::with_capacity(total),
            free: Vec::with_capacity(total.div_ceil(64)),
            capacity: [inbound, outbound],
            in_use: [0, 0],
            exhausted: 0,
        };
        t.reset();
        t
    }

    /// Back to the state [`ControlBlockTable::new`] gives (every block free, every generation 0,
    /// counters zero), keeping the allocations: how a fuzz harness reuses one table per process.
    pub fn reset(&mut self) {
        let total = 1 + usize::from(self.capacity[0]) + usize::from(self.capacity[1]);
        self.slots.clear();
        self.slots.resize(
            total,
            Slot {
                generation: 0,
                in_use: None,
            },
        );
        self.slots[0].in_use = Some(Direction::Inbound); // the listener; never allocated or freed
        // Word w holds indices 64w..64w+63; set the bits of those below `total` (1 to 64 each).
        self.free.clear();
        self.free
            .extend((0..total.div_ceil(64)).map(|w| u64::MAX >> (64 - (total - w * 64).min(64))));
        self.free[0] &= !1; // index 0 is the listener's
        debug_assert_eq!(
            self.free
                .iter()
                .map(|w| w.count_ones() as usize)
                .sum::<usize>(),
            total - 1,
            "the free set holds every block but the listener's, and no index past the table"
        );
        self.in_use = [0, 0];
        self.exhausted = 0;
    }

    /// The lowest free index, taken out of the free set.
    fn take_lowest_free(&mut self) -> Option<u16> {
        let (w, word) = self.free.iter_mut().enumerate().find(|(_, w)| **w != 0)?;
        let bit = word.trailing_zeros();
        *word &= !(1u64 << bit);
        Some((w * 64) as u16 + bit as u16)
    }

    /// A table sized by a build profile.
    pub fn for_profile(p: &Profile) -> Self {
        Self::new(p.tcp_control_blocks_inbound, p.tcp_control_blocks_outbound)
    }

    /// Number of slots including the listener's.
    pub fn len(&self) -> usize {
        self.slots.len()
    }

    /// Never true: the listener's slot always exists.
    pub fn is_empty(&self) -> bool {
        false
    }

    /// Blocks in use in a pool.
    pub fn in_use(&self, direction: Direction) -> u16 {
        self.in_use[direction.pool()]
    }

    /// Size of a pool.
    pub fn capacity(&self, direction: Direction) -> u16 {
        self.capacity[direction.pool()]
    }

    /// How many allocations were refused for lack of a block.
    pub fn exhausted_count(&self) -> u64 {
        self.exhausted
    }

    /// Allocate the lowest free block for a new connection.
    pub fn allocate(&mut self, direction: Direction) -> Result<ControlBlockId, ControlBlockError> {
        let pool = direction.pool();
        if self.in_use[pool] >= self.capacity[pool] {
            self.exhausted += 1;
            return Err(ControlBlockError::PoolExhausted {
                direction,
                capacity: self.capacity[pool],
            });
        }
        let index = self
            .take_lowest_free()
            .expect("pool counts guarantee a free slot");
        let slot = &mut self.slots[usize::from(index)];
        debug_assert!(slot.in_use.is_none());
        slot.generation = match slot.generation.wrapping_add(1) {
            0 => 1,
            g => g,
        };
        slot.in_use = Some(direction);
        self.in_use[pool] += 1;
        Ok(ControlBlockId {
            index,
            generation: slot.generation,
        })
    }

    /// Release a live block.
    pub fn release(&mut self, id: ControlBlockId) -> Result<Direction, ControlBlockError> {
        match self.resolve(id.index, id.generation) {
            Resolution::Live(direction) => {
                self.slots[usize::from(id.index)].in_use = None;
                self.free[usize::from(id.index) / 64] |= 1u64 << (id.index % 64);
                self.in_use[direction.pool()] -= 1;
                Ok(direction)
            }
            resolution => Err(ControlBlockError::NotLive { id, resolution }),
        }
    }

    /// What an index and generation name now (the LPI decoder's question).
    pub fn resolve(&self, index: u16, generation: u16) -> Resolution {
        if index == LISTENER_INDEX {
            return Resolution::Listener;
        }
        let Some(slot) = self.slots.get(usize::from(index)) else {
            return Resolution::OutOfRange;
        };
        match slot.in_use {
            None => Resolution::Free,
            Some(d) if slot.generation == generation => Resolution::Live(d),
            Some(_) => Resolution::Reused {
                current: slot.generation,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mta_build::Build;

    #[test]
    fn first_connection_is_cb_1_and_indices_are_lowest_free() {
        let mut t = ControlBlockTable::new(2, 2);
        let a = t.allocate(Direction::Inbound).unwrap();
        let b = t.allocate(Direction::Outbound).unwrap();
        assert_eq!((a.index, b.index), (1, 2));
        t.release(a).unwrap();
        let c = t.allocate(Direction::Outbound).unwrap();
        assert_eq!(c.index, 1);
        assert_eq!(c.generation, 2);
    }

    #[test]
    fn pools_are_separate_and_exhaust() {
        let p = Build::Ex2000Sp3.profile();
        let mut t = ControlBlockTable::for_profile(&p);
        for _ in 0..p.tcp_control_blocks_inbound {
            t.allocate(Direction::Inbound).unwrap();
        }
        assert!(matches!(
            t.allocate(Direction::Inbound),
            Err(ControlBlockError::PoolExhausted {
                direction: Direction::Inbound,
                ..
            })
        ));
        assert!(t.allocate(Direction::Outbound).is_ok());
        assert_eq!(t.exhausted_count(), 1);
    }

    #[test]
    fn every_block_of_a_table_is_allocated_whatever_its_size_in_words() {
        // 64 and 128 slots fill whole words of the free set; 100 and 131 end inside one.
        for (inbound, outbound) in [(63, 0), (31, 32), (127, 0), (99, 0), (100, 30), (1, 0)] {
            let mut t = ControlBlockTable::new(inbound, outbound);
            let mut got = Vec::new();
            for (d, n) in [
                (Direction::Inbound, inbound),
                (Direction::Outbound, outbound),
            ] {
                for _ in 0..n {
                    got.push(t.allocate(d).unwrap().index);
                }
                assert!(
                    t.allocate(d).is_err(),
                    "{inbound}+{outbound}: {d:?} past capacity"
                );
            }
            got.sort_unstable();
            let all: Vec<u16> = (1..=inbound + outbound).collect();
            assert_eq!(
                got, all,
                "{inbound}+{outbound}: every index once, none past the table"
            );
        }
    }

    #[test]
    fn the_counts_follow_allocations_releases_and_refusals() {
        let mut t = ControlBlockTable::new(2, 3);
        assert!(
            !t.is_empty() && t.len() == 6,
            "the listener's slot and five blocks"
        );
        assert_eq!(
            (
                t.capacity(Direction::Inbound),
                t.capacity(Direction::Outbound)
            ),
            (2, 3)
        );
        let a = t.allocate(Direction::Inbound).unwrap();
        let _b = t.allocate(Direction::Inbound).unwrap();
        let _c = t.allocate(Direction::Outbound).unwrap();
        assert_eq!(
            (t.in_use(Direction::Inbound), t.in_use(Direction::Outbound)),
            (2, 1)
        );
        assert!(t.allocate(Direction::Inbound).is_err());
        assert!(t.allocate(Direction::Inbound).is_err());
        assert_eq!(t.exhausted_count(), 2);
        t.release(a).unwrap();
        assert_eq!(t.in_use(Direction::Inbound), 1);
        t.reset();
        assert_eq!(
            (t.in_use(Direction::Inbound), t.in_use(Direction::Outbound)),
            (0, 0)
        );
        assert_eq!(t.exhausted_count(), 0);
    }

    #[test]
    fn resolve_distinguishes_live_free_reused_out_of_range() {
        let mut t = ControlBlockTable::new(3, 0);
        let a = t.allocate(Direction::Inbound).unwrap();
        assert_eq!(
            t.resolve(a.index, a.generation),
            Resolution::Live(Direction::Inbound)
        );
        t.release(a).unwrap();
        assert_eq!(t.resolve(a.index, a.generation), Resolution::Free);
        assert!(t.release(a).is_err());
        let b = t.allocate(Direction::Inbound).unwrap();
        assert_eq!(
            t.resolve(a.index, a.generation),
            Resolution::Reused {
                current: b.generation
            }
        );
        assert_eq!(t.resolve(99, 1), Resolution::OutOfRange);
        assert_eq!(t.resolve(0, 0), Resolution::Listener);
    }

    #[test]
    fn indices_past_one_word_are_handed_out_lowest_first_and_reset_restores_new() {
        let mut t = ControlBlockTable::new(100, 30);
        let fresh = format!("{t:?}");
        let ids: Vec<ControlBlockId> = (0..130)
            .map(|i| {
                let d = if i < 100 {
                    Direction::Inbound
                } else {
                    Direction::Outbound
                };
                t.allocate(d).unwrap()
            })
            .collect();
        let got: Vec<u16> = ids.iter().map(|id| id.index).collect();
        assert_eq!(got, (1..=130).collect::<Vec<u16>>());
        assert!(t.allocate(Direction::Inbound).is_err());
        t.release(ids[64]).unwrap();
        t.release(ids[3]).unwrap();
        assert_eq!(t.allocate(Direction::Inbound).unwrap().index, 4);
        assert_eq!(t.allocate(Direction::Inbound).unwrap().index, 65);
        t.reset();
        assert_eq!(format!("{t:?}"), fresh);
    }
}
