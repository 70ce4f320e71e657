//! What the lab exercises, seen from inside the models:
//!
//! - **Reachability goals** (Antithesis's `sometimes` assertions): `reach!("pending TPDU queue full
//!   at reconnect")` marks a rare but legal situation. A goal is not an oracle — nothing is wrong
//!   when it is missed — but a goal no campaign reaches is a gap in what the lab exercises. Every
//!   name used must be in [`CATALOGUE`] (checked at compile time).
//! - **Protocol-state transitions** (SGFuzz's state coverage): the state machines call
//!   [`transition`] with (machine, state, input kind, next state), states named as their standard
//!   names them. With [`set_feed`] on (the fuzz targets), each transition also becomes a
//!   SanitizerCoverage edge of its own ([`feed`]), so libFuzzer keeps inputs that reach new states.
//!
//! A run collects what it reached by calling [`collect`] or [`collect_all`] around itself:
//! collectors are per thread and per run (runs nest), never process-global, so test threads and
//! sweep workers do not see each other's goals. `reach!` costs one thread-local OR. Building with
//! `--cfg mta_no_goals` compiles every `reach!` out (what `mta-lab bench fuzz --goals-out`
//! compares against).
//!
//! May not touch: anything but its own thread-local sets and the feed switch; it has no
//! dependencies.

use std::cell::Cell;

/// One goal of the catalogue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Goal {
    /// The name `reach!` uses (also the goal's id in reports).
    pub name: &'static str,
    /// The component it lives in.
    pub component: &'static str,
    /// What situation it marks, for the report.
    pub what: &'static str,
}

macro_rules! catalogue {
    ($($component:literal: $name:literal => $what:literal;)*) => {
        /// Every goal, by component.
        pub const CATALOGUE: &[Goal] = &[$(Goal { name: $name, component: $component, what: $what }),*];
    };
}

catalogue! {
    "bufmgr": "bufmgr: request at the per-request limit" => "a request for exactly the build's most headers or elements per request, granted";
    "bufmgr": "bufmgr: illegal request refused" => "a request over the per-request limit (the Q182619 fatal path when the caller is the driver's recovery)";
    "bufmgr": "bufmgr: pools exhausted" => "a legal request refused because the headers or elements are all granted";
    "bufmgr": "bufmgr: double release detected" => "a buffer released twice";
    "bufmgr": "bufmgr: stale handle detected" => "a handle used after its slot was granted again";
    "bufmgr": "bufmgr: chain of recycled and fresh elements" => "one grant taking both released and never-used elements";
    "bufmgr": "bufmgr: write across three elements" => "one write spanning at least three elements of a chain";
    "bufmgr": "bufmgr: last free element granted" => "a grant that leaves no element free";
    "bufmgr": "bufmgr: last free header granted" => "a grant that leaves no header free";
    "lpi": "lpi: reused LPI" => "an internal message whose LPI names a control block now owned by a later connection";
    "lpi": "lpi: stale LPI" => "an internal message whose control block has been released";
    "lpi": "lpi: LPI of the listener" => "an internal message addressed to the listening socket's block";
    "lpi": "lpi: data beyond the first element" => "an internal message in a buffer whose data continues past its first element";
    "lpi": "lpi: message ends at an element boundary" => "an internal message filling its buffer's elements exactly";
    "lpi": "lpi: message with the more flag" => "a well-formed internal message whose unit continues in a later one";
    "driver": "driver: pending TPDU queue full at reconnect" => "sockets recovery refused with the pending-TPDU queue full (Q182619's trigger)";
    "driver": "driver: recovery re-stages in several requests" => "a fixed build splitting the re-staging request at the per-request limit";
    "driver": "driver: recovery attempts exhausted" => "a recovering block given up after its last reconnect";
    "driver": "driver: inbound control blocks exhausted" => "a caller refused because every inbound block is in use";
    "driver": "driver: send queue full" => "a TPDU refused while its block connects or recovers: the pending queue is full (flow control)";
    "driver": "driver: reset while connecting" => "an outbound connection closed by the peer before it was established";
    "driver": "driver: reconnected after recovery" => "sockets recovery succeeding: the CR and the pending queue resent on the new connection";
    "nsi": "nsi: late Accept OK" => "POP4's Accept OK reaching NSI after the caller had gone (the crossing behind Q811406, KB Q319936)";
    "nsi": "nsi: Close Request with a bad LPI" => "the Q811406 trigger: POP4 closing an LPI whose accept never took";
    "nsi": "nsi: block freed before any indication" => "a caller that closed before its CR: NSI frees the block without a word to POP4";
    "pop4": "pop4: queue at capacity" => "POP4's internal-message queue filled to the build's capacity";
    "pop4": "pop4: message for an LPI POP4 does not know" => "a message from NSI crossing POP4's own close of the association (dropped)";
    "x25": "x25: receive queue overflow" => "the third-party transport's shared receive queue dropping a packet";
    "x25": "x25: malformed buffer dropped" => "a fixed build's adapter refusing a malformed buffer (Q225157's fix at work)";
    "x25": "x25: TSDU of four or more packets" => "M-bit reassembly of a TSDU spanning at least four packets";
    "session": "session: three-octet length" => "an SPDU or parameter received with the three-octet length form";
    "session": "session: three-octet form of a short length" => "a length of 254 or less received in the three-octet form (legal, but no Exchange encoder sends it)";
    "session": "session: abort received" => "an AB SPDU received on an open connection";
    "session": "session: refuse received" => "an RF SPDU answering a CN";
    "rtse": "rtse: checkpoint window full" => "a sender waiting for a minor-synchronisation confirm with its window full";
    "association": "association: transfer aborted by timeout" => "an association aborted by its timer in the middle of a transfer";
    "association": "association: bind refused" => "a bind answered with a refusal";
    "core": "core: loop detected" => "a message refused because its trace shows this MTA already";
    "core": "core: duplicate recipient dropped" => "a retransmitted recipient whose outcome was already recorded";
    "core": "core: non-delivery report generated" => "a report generated for recipients that cannot be delivered";
    "core": "core: open failure retried" => "a connector's association failed to open and is retried";
}

/// A goal's name as a file-name-safe slug (`lpi: stale LPI` → `lpi-stale-lpi`): how
/// `corpora/goals/` names each goal's reproducer.
pub fn slug(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect::<String>()
        .split('-')
        .filter(|p| !p.is_empty())
        .collect::<Vec<_>>()
        .join("-")
}

/// Whether `name` is a catalogued goal.
pub fn is_catalogued(name: &str) -> bool {
    CATALOGUE.iter().any(|g| g.name == name)
}

/// The catalogue index of `name`, evaluated at compile time by [`reach!`] (an uncatalogued name
/// does not compile).
pub const fn index_of(name: &str) -> usize {
    let mut i = 0;
    while i < CATALOGUE.len() {
        let c = CATALOGUE[i].name.as_bytes();
        let n = name.as_bytes();
        if c.len() == n.len() {
            let mut j = 0;
            while j < n.len() && c[j] == n[j] {
                j += 1;
            }
            if j == n.len() {
                return i;
            }
        }
        i += 1;
    }
    panic!("reach!: the goal is not in mta_reach::CATALOGUE")
}

const _: () = assert!(CATALOGUE.len() <= 64, "GoalSet holds 64 goals");

/// A set of catalogued goals: one bit per catalogue index, so recording a hit and collecting a
/// run allocate nothing (the fuzz targets collect on every execution). Iterates in catalogue order.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[must_use]
pub struct GoalSet(u64);

impl GoalSet {
    /// No goals.
    pub const EMPTY: GoalSet = GoalSet(0);

    /// Whether no goal is in the set.
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// How many goals are in the set.
    pub fn len(self) -> usize {
        self.0.count_ones() as usize
    }

    /// Whether the goal named `name` is in the set.
    pub fn contains(self, name: &str) -> bool {
        self.iter().any(|g| g.name == name)
    }

    /// The goals in `self` but not in `other`.
    pub fn difference(self, other: GoalSet) -> GoalSet {
        GoalSet(self.0 & !other.0)
    }

    /// Both sets' goals.
    pub fn union(self, other: GoalSet) -> GoalSet {
        GoalSet(self.0 | other.0)
    }

    /// The goals, in catalogue order.
    pub fn iter(self) -> impl Iterator<Item = &'static Goal> {
        CATALOGUE
            .iter()
            .enumerate()
            .filter(move |(i, _)| self.0 >> i & 1 == 1)
            .map(|(_, g)| g)
    }

    /// The goals' names, in catalogue order.
    pub fn names(self) -> impl Iterator<Item = &'static str> {
        self.iter().map(|g| g.name)
    }
}

thread_local! {
    /// The running collector's goals. [`collect`] saves the enclosing value, starts from empty and
    /// restores it, so nested runs see only their own goals; hits outside any collector land here
    /// and are never read.
    static REACHED: Cell<u64> = const { Cell::new(0) };
}

/// Record that the running code reached catalogue entry `index`. Use [`reach!`].
#[inline]
pub fn hit(index: usize) {
    #[cfg(not(mta_no_goals))]
    REACHED.with(|r| r.set(r.get() | 1 << index));
    #[cfg(mta_no_goals)]
    let _ = index;
}

/// Run `f` with a fresh collector; returns its result and the goals it reached (also when `f`
/// unwinds, the enclosing collector is restored). Nested collectors see only their own run's goals.
pub fn collect<R>(f: impl FnOnce() -> R) -> (R, GoalSet) {
    struct Restore(u64);
    impl Drop for Restore {
        fn drop(&mut self) {
            REACHED.with(|r| r.set(self.0));
        }
    }
    let guard = Restore(REACHED.with(|r| r.replace(0)));
    let result = f();
    let reached = GoalSet(REACHED.with(Cell::get));
    drop(guard);
    (result, reached)
}

/// Mark a catalogued rare-but-legal situation as reached (see the crate docs). The name is looked
/// up in [`CATALOGUE`] at compile time.
#[macro_export]
macro_rules! reach {
    ($name:literal) => {{
        const INDEX: usize = $crate::index_of($name);
        $crate::hit(INDEX)
    }};
}

/// One protocol-state transition (SGFuzz's state coverage, for our machines): `machine` went from
/// state `from` to `to` on an input of kind `input`. States carry the standard's names (ISO 8073
/// class 0, ISO 8327's state table, the ACSE/RTSE phases, the driver's control-block states).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Transition {
    /// The machine (`cotp`, `session`, `association`, `driver`, `pop4`, `x25`).
    pub machine: &'static str,
    /// The state before.
    pub from: &'static str,
    /// The kind of input (a PDU received, a service primitive, a tick).
    pub input: &'static str,
    /// The state after.
    pub to: &'static str,
}

impl std::fmt::Display for Transition {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}: {} --{}--> {}",
            self.machine, self.from, self.input, self.to
        )
    }
}

impl Transition {
    /// A stable 64-bit id (FNV-1a over the four names), the same in every process and build.
    pub fn id(&self) -> u64 {
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        for part in [self.machine, self.from, self.input, self.to] {
            for b in part.bytes().chain([0xff]) {
                h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
            }
        }
        h
    }
}

thread_local! {
    /// The running collector's transitions (distinct, in the order first taken).
    static TRANSITIONS: std::cell::RefCell<Vec<Transition>> = const { std::cell::RefCell::new(Vec::new()) };
}

static FEED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Whether each transition is also fed to libFuzzer as coverage ([`feed`]); the fuzz targets turn
/// it on (unless `MTA_LAB_STATE_FEED=0`), nothing else does.
pub fn set_feed(on: bool) {
    FEED.store(on, std::sync::atomic::Ordering::Relaxed);
}

/// Record that `machine` went from `from` to `to` on an input of kind `input`.
pub fn transition(
    machine: &'static str,
    from: &'static str,
    input: &'static str,
    to: &'static str,
) {
    let t = Transition {
        machine,
        from,
        input,
        to,
    };
    if FEED.load(std::sync::atomic::Ordering::Relaxed) {
        feed(t.id());
    }
    TRANSITIONS.with(|v| {
        if let Ok(mut v) = v.try_borrow_mut()
            && !v.contains(&t)
        {
            v.push(t);
        }
    });
}

include!(concat!(env!("OUT_DIR"), "/feed.rs"));

/// Give transition `id` its own SanitizerCoverage edge: one of [`FEED_ARMS`] generated functions,
/// each a separate function (so a separate counter however LLVM lowers the dispatch) that passes its
/// own number to `black_box`. In the fuzz build this crate is instrumented for edges
/// (`fuzz/rustc-cmp-scope.sh`), so a new transition is new coverage to libFuzzer.
#[inline(never)]
pub fn feed(id: u64) {
    FEED_TABLE[(id % FEED_ARMS as u64) as usize]();
}

/// Run `f` with a fresh collector for goals and transitions; returns its result, the goals it
/// reached and the transitions it took (distinct, in the order first taken).
pub fn collect_all<R>(f: impl FnOnce() -> R) -> (R, GoalSet, Vec<Transition>) {
    struct Restore(Vec<Transition>);
    impl Drop for Restore {
        fn drop(&mut self) {
            TRANSITIONS.with(|v| *v.borrow_mut() = std::mem::take(&mut self.0));
        }
    }
    let guard = Restore(TRANSITIONS.with(|v| std::mem::take(&mut *v.borrow_mut())));
    let (r, goals) = collect(f);
    let taken = TRANSITIONS.with(|v| std::mem::take(&mut *v.borrow_mut()));
    drop(guard);
    (r, goals, taken)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn collectors_are_per_run_and_nest() {
        reach!("lpi: reused LPI"); // no collector: nothing any run sees, no panic
        let ((), outer) = collect(|| {
            reach!("bufmgr: pools exhausted");
            let ((), inner) = collect(|| reach!("lpi: stale LPI"));
            assert_eq!(inner.names().collect::<Vec<_>>(), ["lpi: stale LPI"]);
            reach!("core: loop detected");
        });
        assert_eq!(
            outer.names().collect::<Vec<_>>(),
            ["bufmgr: pools exhausted", "core: loop detected"]
        );
        let other = std::thread::spawn(|| collect(|| ()).1).join().unwrap();
        assert!(other.is_empty(), "another thread's collector sees nothing");
    }

    #[test]
    fn a_panicking_run_restores_the_enclosing_collector() {
        let ((), outer) = collect(|| {
            reach!("x25: receive queue overflow");
            let r = std::panic::catch_unwind(|| {
                collect(|| {
                    reach!("lpi: stale LPI");
                    panic!("model fault")
                })
            });
            assert!(r.is_err());
        });
        assert_eq!(
            outer.names().collect::<Vec<_>>(),
            ["x25: receive queue overflow"],
            "the unwound run's goals do not leak into the enclosing one"
        );
    }

    #[test]
    fn transition_collectors_are_per_run_and_distinct() {
        let ((), _, outer) = collect_all(|| {
            transition("cotp", "CLOSED", "CR", "WFTRESP");
            let ((), _, inner) = collect_all(|| transition("cotp", "OPEN", "DT", "OPEN"));
            assert_eq!(inner.len(), 1);
            transition("cotp", "CLOSED", "CR", "WFTRESP");
        });
        assert_eq!(
            outer.iter().map(ToString::to_string).collect::<Vec<_>>(),
            ["cotp: CLOSED --CR--> WFTRESP"],
            "distinct, and the inner run's transition stays in the inner run"
        );
    }

    #[test]
    fn the_catalogue_has_unique_names_and_at_least_thirty_goals() {
        assert!(CATALOGUE.len() >= 30);
        for (i, g) in CATALOGUE.iter().enumerate() {
            assert!(
                CATALOGUE[i + 1..].iter().all(|h| h.name != g.name),
                "{}",
                g.name
            );
            assert!(
                g.name.starts_with(&format!("{}: ", g.component)),
                "{}",
                g.name
            );
        }
    }
}
