//! Idle skipping changes nothing but speed (issue 20): the same world and seed — with every model
//! ticked and the world stepped on every grid point (`Record::every_tick`), and with idle
//! stretches merged and models ticked only when due — give the same event logs (ids, texts,
//! simulated times), the same trace line for line, the same findings and the same simulated
//! duration.

use mta_build::Build;
use mta_lab_world::faults::FaultPlan;
use mta_lab_world::simulate::{Record, RunReport, run_with};
use mta_lab_world::world::World;

fn both(world: &World, seed: u64) -> [(RunReport, Vec<String>); 2] {
    [false, true].map(|every_tick| {
        let record = Record {
            trace: true,
            every_tick,
            ..Record::default()
        };
        let (report, recorded) = run_with(world, seed, FaultPlan::from_seed(seed, world), record);
        (report, recorded.trace)
    })
}

/// `IDLE_SKIP_SEEDS=N` checks N seeds per world instead of the few CI runs.
fn check(world: &World, seeds: std::ops::Range<u64>) {
    let n = std::env::var("IDLE_SKIP_SEEDS")
        .ok()
        .and_then(|v| v.parse::<u64>().ok())
        .unwrap_or(seeds.end - seeds.start);
    for seed in seeds.start..seeds.start + n {
        let [(skipping, skip_trace), (every, every_trace)] = both(world, seed);
        let replay = format!(
            "world {} seed {seed}: mta-lab run --world {} --seed {seed}",
            world.name, world.name
        );
        for (i, (a, b)) in skip_trace.iter().zip(&every_trace).enumerate() {
            assert_eq!(
                a,
                b,
                "trace line {i} differs: {replay}; before it:\n{}",
                every_trace[i.saturating_sub(3)..i].join("\n")
            );
        }
        assert_eq!(
            skipping.event_log, every.event_log,
            "event logs differ: {replay}"
        );
        assert_eq!(
            skip_trace.len(),
            every_trace.len(),
            "trace lengths: {replay}"
        );
        // Protocol-state transitions are kept in the order first taken across the world's
        // machines; a model whose idle ticks are skipped takes its timer-tick transitions at its
        // next tick instead, so the same set may come in another order (they are not part of
        // the trace).
        let sorted = |r: &RunReport| {
            let mut r = r.clone();
            r.transitions.sort();
            r
        };
        assert_eq!(
            sorted(&skipping),
            sorted(&every),
            "reports differ: {replay}"
        );
    }
}

#[test]
fn the_standard_world_is_the_same_with_idle_skipping() {
    check(
        &World::standard(Build::Ex2000Sp3Rollup, Build::Ex55Sp3, 20),
        0..8,
    );
    check(&World::standard(Build::Ex40, Build::Ex40, 5), 0..4);
}

#[test]
fn the_flood_and_xot_worlds_are_the_same_with_idle_skipping() {
    let flood = World::named("flood", Some(Build::Ex2000Sp3), Some(5)).expect("flood");
    check(&flood, 0..4);
    let xot = World::named("xot", Some(Build::Ex55), Some(5)).expect("xot");
    check(&xot, 0..4);
}
