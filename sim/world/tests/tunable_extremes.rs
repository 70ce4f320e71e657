//! Every tunable at the ends of its valid range (issue 21): a world whose Exchange machines run
//! with that override plays a few seeds with faults without a panic of the lab. What the model
//! then does (refuses, leaks, stops) is the oracles' business; a panic is not. Values just outside
//! the range are refused by `Profile::set` (`models/build`) and by world files (here).

use mta_build::{Build, TUNABLE_RANGES};
use mta_lab_world::simulate::run;
use mta_lab_world::world::World;

fn world_with(name: &str, value: u64) -> World {
    let mut w = if name.starts_with("x25_") {
        World::named("xot", Some(Build::Ex55Sp3), Some(2)).expect("xot")
    } else {
        World::standard(Build::Ex2000Sp3, Build::Ex2000Sp3Rollup, 2)
    };
    for m in w.machines.iter_mut().filter(|m| m.foreign.is_none()) {
        m.set.push(format!("{name}={value}"));
    }
    w
}

#[test]
fn every_tunable_at_its_minimum_and_maximum_runs_without_a_lab_panic() {
    for r in TUNABLE_RANGES {
        for value in [r.min, r.max] {
            let w = world_with(r.name, value);
            for seed in 0..2 {
                let outcome = std::panic::catch_unwind(|| run(&w, seed, true));
                assert!(
                    outcome.is_ok(),
                    "{}={value}, world {} seed {seed}: the lab panicked",
                    r.name,
                    w.name
                );
            }
        }
    }
}

#[test]
fn a_world_file_refuses_an_override_outside_the_range() {
    let r = &TUNABLE_RANGES[0];
    let file = |value: u64| {
        format!(
            "name = \"t\"\n[[machine]]\nname = \"A\"\nbuild = \"2000-sp3\"\naddresses = [\"10.0.1.1\"]\nset = [\"{}={value}\"]\n",
            r.name
        )
    };
    assert!(World::from_toml(&file(r.min)).is_ok());
    let e = World::from_toml(&file(r.max + 1)).unwrap_err();
    assert!(e.contains("machine A: set:") && e.contains(r.name), "{e}");
}
