//! Fault plans: a seeded list of (time, fault), expanded from the run's seed and printed in full
//! (as TigerBeetle's VOPR prints its options). Faults happen in the safety phase; after the last
//! one heals, the liveness phase requires everything to drain.

use crate::world::World;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use std::fmt;

/// One fault.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Fault {
    /// Crash every interface of a machine; it restarts after `down_ms` with its queue disk kept or
    /// lost (listener down meanwhile: connects are refused).
    Crash {
        /// Machine.
        machine: String,
        /// Whether the queue survives.
        keep_disk: bool,
        /// Downtime.
        down_ms: u64,
    },
    /// Hold the links between two machines (delay without loss), released after `ms`.
    Hold {
        /// One side.
        a: String,
        /// Other side.
        b: String,
        /// Duration.
        ms: u64,
    },
    /// Partition two machines (in-flight data is lost; streams die), repaired after `ms`.
    Partition {
        /// One side.
        a: String,
        /// Other side.
        b: String,
        /// Duration.
        ms: u64,
    },
    /// A machine's listeners go away for `ms` (the MTA keeps running; connects are refused).
    ListenerDown {
        /// Machine.
        machine: String,
        /// Duration.
        ms: u64,
    },
    /// Every link between two machines (that carries traffic) takes `latency_ms` per message for
    /// `ms`, then returns to the world's latency range.
    Latency {
        /// One side.
        a: String,
        /// Other side.
        b: String,
        /// Duration.
        ms: u64,
        /// Latency during the spike.
        latency_ms: u64,
    },
    /// A burst of inbound load: `callers` connections at once to a machine's primary address,
    /// each sending a COTP CR and giving up (closing) if no CC arrives within `timeout_ms` —
    /// callers whose connect timeout is shorter than the MTA's answer under load.
    Burst {
        /// Machine called.
        machine: String,
        /// Callers.
        callers: u32,
        /// Each caller's connect timeout.
        timeout_ms: u64,
    },
    /// Hostile callers: `peers` programs of the hostile-peer library
    /// ([`crate::hostile_peers::programs`], not the fairness cases), from entry `first` on (wrapping), played one after
    /// another against a machine's primary address from a host of their own.
    Hostile {
        /// Machine called.
        machine: String,
        /// First library entry.
        first: u32,
        /// How many entries.
        peers: u32,
    },
    /// X.25 overload: `calls` remote DTEs call a machine's X.25 interface at once while its
    /// transport is serviced only every `service_every` ticks (late) for `ms`.
    X25Overload {
        /// Machine called.
        machine: String,
        /// Simultaneous calls.
        calls: u32,
        /// Service period (ticks) while the fault lasts.
        service_every: u32,
        /// Duration.
        ms: u64,
    },
}

impl Fault {
    /// How long the fault lasts.
    pub fn duration(&self) -> u64 {
        match self {
            Fault::Crash { down_ms, .. } => *down_ms,
            Fault::Hold { ms, .. }
            | Fault::Partition { ms, .. }
            | Fault::ListenerDown { ms, .. }
            | Fault::Latency { ms, .. }
            | Fault::X25Overload { ms, .. } => *ms,
            Fault::Burst { timeout_ms, .. } => *timeout_ms,
            Fault::Hostile { first, peers, .. } => hostile_peers(*first, *peers)
                .iter()
                .map(crate::hostile_peers::Peer::duration_ms)
                .sum(),
        }
    }
}

/// The library entries a [`Fault::Hostile`] plays.
pub fn hostile_peers(first: u32, peers: u32) -> Vec<crate::hostile_peers::Peer> {
    let library = crate::hostile_peers::programs();
    (0..peers as usize)
        .map(|k| library[(first as usize + k) % library.len()].clone())
        .collect()
}

impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Fault::Crash {
                machine,
                keep_disk,
                down_ms,
            } => write!(
                f,
                "crash {machine} for {down_ms} ms, disk {}",
                if *keep_disk { "kept" } else { "lost" }
            ),
            Fault::Hold { a, b, ms } => write!(f, "hold {a}<->{b} for {ms} ms"),
            Fault::Partition { a, b, ms } => write!(f, "partition {a}<->{b} for {ms} ms"),
            Fault::ListenerDown { machine, ms } => {
                write!(f, "listener of {machine} down for {ms} ms")
            }
            Fault::Latency {
                a,
                b,
                ms,
                latency_ms,
            } => write!(f, "latency {a}<->{b} {latency_ms} ms for {ms} ms"),
            Fault::Burst {
                machine,
                callers,
                timeout_ms,
            } => write!(
                f,
                "burst of {callers} callers at {machine} with a {timeout_ms} ms connect timeout"
            ),
            Fault::Hostile {
                machine,
                first,
                peers,
            } => {
                let names: Vec<&str> = hostile_peers(*first, *peers)
                    .iter()
                    .map(|p| p.name)
                    .collect();
                write!(f, "hostile callers at {machine}: {}", names.join(", "))
            }
            Fault::X25Overload {
                machine,
                calls,
                service_every,
                ms,
            } => write!(
                f,
                "X.25 overload at {machine}: {calls} calls at once, transport serviced every {service_every} ticks for {ms} ms"
            ),
        }
    }
}

/// Most faults a plan read from a file may hold (each burst, hostile or X.25 overload fault
/// calls from a host of its own, numbered by its place in the plan).
pub const MAX_PLAN_FAULTS: usize = 64;

/// The faults of one run, in time order.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct FaultPlan {
    /// (start in simulated ms, fault).
    pub faults: Vec<(u64, Fault)>,
}

impl FaultPlan {
    /// No faults.
    pub fn none() -> Self {
        FaultPlan::default()
    }

    /// Expand `seed` into 0–3 faults in the first 3 s of `world`: crash/restart (disk lost 1 in 4),
    /// hold, partition, listener down, latency spike, inbound burst of short-timeout callers.
    pub fn from_seed(seed: u64, world: &World) -> Self {
        let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x6661_756c_7473);
        let names: Vec<&str> = world.machines.iter().map(|m| m.name.as_str()).collect();
        let n = rng.random_range(0..=3);
        let mut faults: Vec<(u64, Fault)> = (0..n)
            .map(|_| {
                let at = rng.random_range(100..3000);
                let m = names[rng.random_range(0..names.len())].to_string();
                let mut other = names[rng.random_range(0..names.len())].to_string();
                if other == m {
                    // Links join two machines: take the next one.
                    let i = names.iter().position(|n| *n == m).unwrap_or(0);
                    other = names[(i + 1) % names.len()].to_string();
                }
                let total: u32 = world.fault_weights.iter().sum::<u32>().max(1);
                let mut pick = rng.random_range(0..total);
                let mut kind = 0;
                while kind < 5 && pick >= world.fault_weights[kind] {
                    pick -= world.fault_weights[kind];
                    kind += 1;
                }
                let fault = match kind {
                    0 => Fault::Crash {
                        machine: m,
                        keep_disk: rng.random_range(0..4) != 0,
                        down_ms: rng.random_range(100..2000),
                    },
                    1 => Fault::Hold {
                        a: m,
                        b: other,
                        ms: rng.random_range(50..1500),
                    },
                    2 => Fault::Partition {
                        a: m,
                        b: other,
                        ms: rng.random_range(50..1500),
                    },
                    3 => Fault::ListenerDown {
                        machine: m,
                        ms: rng.random_range(100..2000),
                    },
                    4 => Fault::Latency {
                        a: m,
                        b: other,
                        ms: rng.random_range(200..2000),
                        latency_ms: rng.random_range(100..800),
                    },
                    _ => Fault::Burst {
                        machine: m,
                        callers: rng.random_range(10..40),
                        timeout_ms: rng.random_range(20..400),
                    },
                };
                (at, fault)
            })
            .filter(|(_, f)| match f {
                Fault::Hold { a, b, .. }
                | Fault::Partition { a, b, .. }
                | Fault::Latency { a, b, .. } => a != b,
                _ => true,
            })
            .collect();
        // Worlds with an X.25 link: one run in two also overloads it (drawn after the other
        // faults, so worlds without a link keep their plans).
        if let Some(x) = &world.x25
            && rng.random_range(0..2) == 0
        {
            let at = rng.random_range(100..3000);
            faults.push((
                at,
                Fault::X25Overload {
                    machine: x.machine.clone(),
                    calls: rng.random_range(4..24),
                    service_every: rng.random_range(1..=4),
                    ms: rng.random_range(500..3000),
                },
            ));
        }
        // Worlds with hostile callers: one run in two also gets a few peer programs of the
        // hostile library at one of its Exchange MTAs (drawn last, so other worlds keep their
        // plans and these keep their other faults).
        let exchange: Vec<&str> = world
            .machines
            .iter()
            .filter(|m| m.foreign.is_none())
            .map(|m| m.name.as_str())
            .collect();
        if world.hostile_callers && !exchange.is_empty() && rng.random_range(0..2) == 0 {
            let at = rng.random_range(100..3000);
            faults.push((
                at,
                Fault::Hostile {
                    machine: exchange[rng.random_range(0..exchange.len())].to_string(),
                    first: rng.random_range(0..crate::hostile_peers::programs().len() as u32),
                    peers: rng.random_range(1..=4),
                },
            ));
        }
        faults.sort_by_key(|(t, _)| *t);
        FaultPlan { faults }
    }

    /// Check a plan read from a file against the world it runs in: every fault names machines of
    /// it (two different ones for a link), starts and lasts at most a simulated day, and asks for
    /// no more callers, peers or calls than a run can host; errors say which fault and field.
    pub fn check(&self, world: &World) -> Result<(), String> {
        if self.faults.len() > MAX_PLAN_FAULTS {
            return Err(format!(
                "faults: {} faults (at most {MAX_PLAN_FAULTS})",
                self.faults.len()
            ));
        }
        let day = crate::world::MAX_TIMER_MS;
        for (i, (at, f)) in self.faults.iter().enumerate() {
            let here = |e: String| format!("faults: fault {} ({f}): {e}", i + 1);
            let machine = |field: &str, name: &str| {
                if world.machines.iter().any(|m| m.name == name) {
                    Ok(())
                } else {
                    Err(here(format!(
                        "{field}: no machine named {name:?} in the world"
                    )))
                }
            };
            let at_most = |field: &str, v: u64, max: u64| {
                if v > max {
                    Err(here(format!("{field}: {v} exceeds {max}")))
                } else {
                    Ok(())
                }
            };
            at_most("start", *at, day)?;
            match f {
                Fault::Crash {
                    machine: m,
                    down_ms,
                    ..
                } => {
                    machine("machine", m)?;
                    at_most("down_ms", *down_ms, day)?;
                }
                Fault::Hold { a, b, ms } | Fault::Partition { a, b, ms } => {
                    machine("a", a)?;
                    machine("b", b)?;
                    if a == b {
                        return Err(here("a and b: a link joins two machines".into()));
                    }
                    at_most("ms", *ms, day)?;
                }
                Fault::Latency {
                    a,
                    b,
                    ms,
                    latency_ms,
                } => {
                    machine("a", a)?;
                    machine("b", b)?;
                    if a == b {
                        return Err(here("a and b: a link joins two machines".into()));
                    }
                    at_most("ms", *ms, day)?;
                    at_most("latency_ms", *latency_ms, 60_000)?;
                }
                Fault::ListenerDown { machine: m, ms } => {
                    machine("machine", m)?;
                    at_most("ms", *ms, day)?;
                }
                Fault::Burst {
                    machine: m,
                    callers,
                    timeout_ms,
                } => {
                    machine("machine", m)?;
                    at_most("callers", u64::from(*callers), 1000)?;
                    at_most("timeout_ms", *timeout_ms, day)?;
                }
                Fault::Hostile {
                    machine: m, peers, ..
                } => {
                    machine("machine", m)?;
                    at_most("peers", u64::from(*peers), 64)?;
                }
                Fault::X25Overload {
                    machine: m,
                    calls,
                    service_every,
                    ms,
                } => {
                    machine("machine", m)?;
                    if world.x25.as_ref().is_none_or(|x| &x.machine != m) {
                        return Err(here(format!("machine: {m} has no X.25 link")));
                    }
                    at_most("calls", u64::from(*calls), 200)?;
                    if *service_every == 0 {
                        return Err(here("service_every: must be at least 1".into()));
                    }
                    at_most("service_every", u64::from(*service_every), 1000)?;
                    at_most("ms", *ms, day)?;
                }
            }
        }
        Ok(())
    }

    /// When the last fault heals.
    pub fn healed_at(&self) -> u64 {
        self.faults
            .iter()
            .map(|(t, f)| t + f.duration())
            .max()
            .unwrap_or(0)
    }
}

impl fmt::Display for FaultPlan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.faults.is_empty() {
            return f.write_str("faults: none");
        }
        f.write_str("faults:")?;
        for (t, x) in &self.faults {
            write!(f, " [{t} ms: {x}]")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mta_build::Build;

    #[test]
    fn worlds_with_hostile_callers_draw_them_and_others_keep_their_plans() {
        let standard = World::standard(Build::Ex2000Sp3Rollup, Build::Ex2000Sp3Rollup, 1);
        let mut without = standard.clone();
        without.hostile_callers = false;
        let mut drawn = 0;
        for seed in 0..64 {
            let with = FaultPlan::from_seed(seed, &standard);
            let plain = FaultPlan::from_seed(seed, &without);
            let (hostile, rest): (Vec<_>, Vec<_>) = with
                .faults
                .iter()
                .cloned()
                .partition(|(_, f)| matches!(f, Fault::Hostile { .. }));
            // Drawn last: the other faults are the same as without hostile callers.
            assert_eq!(rest, plain.faults, "seed {seed}");
            for (_, f) in &hostile {
                let Fault::Hostile { machine, peers, .. } = f else {
                    unreachable!()
                };
                assert!(["ALPHA", "BETA"].contains(&machine.as_str()), "{f}");
                assert!((1..=4).contains(peers));
                assert!(
                    f.to_string()
                        .starts_with(&format!("hostile callers at {machine}: "))
                );
                assert!(f.duration() > 0);
            }
            drawn += hostile.len();
        }
        assert!((16..=48).contains(&drawn), "one run in two: {drawn} of 64");
        assert!(
            (0..64).all(|s| !FaultPlan::from_seed(s, &World::xot(Build::Ex55, 1))
                .faults
                .iter()
                .any(|(_, f)| matches!(f, Fault::Hostile { .. }))),
            "the xot world has none"
        );
    }

    #[test]
    fn a_hostile_fault_wraps_around_the_library_and_round_trips_through_toml() {
        let n = crate::hostile_peers::programs().len() as u32;
        let peers = hostile_peers(n - 1, 2);
        assert_eq!(
            peers[0].name,
            crate::hostile_peers::programs()[n as usize - 1].name
        );
        assert_eq!(peers[1].name, crate::hostile_peers::programs()[0].name);
        let plan = FaultPlan {
            faults: vec![(
                500,
                Fault::Hostile {
                    machine: "ALPHA".into(),
                    first: 3,
                    peers: 2,
                },
            )],
        };
        let text = toml::to_string(&plan).unwrap();
        assert!(text.contains("kind = \"hostile\""), "{text}");
        assert_eq!(toml::from_str::<FaultPlan>(&text).unwrap(), plan);
    }
}
