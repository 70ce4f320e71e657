//! Reset equivalence: every harness builds its world once per build and process and resets it
//! between inputs (`mta_harness::World`). For input pairs (A, B) on every build, running B after A
//! and a reset must give the same outcome (Ok class or failure text) and leave the same world —
//! event logs, buffer accounting, control-block and LPI generations, every counter, compared as
//! the world's whole `Debug` state — as running B on a new world.
#![allow(missing_docs)]

use mta_build::Build;
use mta_harness::{TARGETS, corpora_dir, corpus_files, kb_reproducers};
use proptest::prelude::*;

/// Committed inputs of a target: seeds, regressions and KB reproducers.
fn committed(target: &str) -> Vec<Vec<u8>> {
    let root = corpora_dir();
    let mut v: Vec<Vec<u8>> = corpus_files(&root, target)
        .unwrap()
        .iter()
        .map(|f| std::fs::read(f).unwrap())
        .collect();
    for (f, t, _) in kb_reproducers(&root).unwrap() {
        if t.name == target {
            v.push(std::fs::read(&f).unwrap());
        }
    }
    v
}

#[test]
fn every_pair_of_committed_inputs_on_every_build() {
    let mut checked = 0;
    for t in TARGETS {
        let inputs = committed(t.name);
        for b in Build::ALL {
            for a in &inputs {
                for bb in &inputs {
                    if let Err(e) = (t.reset_check)(b, a, bb) {
                        panic!(
                            "{} on {b}: A = {}, B = {}: {e}",
                            t.name,
                            hex::encode(a),
                            hex::encode(bb)
                        );
                    }
                    checked += 1;
                }
            }
        }
    }
    assert!(checked > 1000, "only {checked} pairs");
}

/// A random input: fresh bytes, or a committed input with a few octets flipped (so the pair
/// reaches deep states — a KB defect firing in A, say — more often than random bytes do).
fn input(target: &'static str) -> impl Strategy<Value = Vec<u8>> {
    let seeds = committed(target);
    prop_oneof![
        prop::collection::vec(any::<u8>(), 0..400),
        (
            0..seeds.len(),
            prop::collection::vec((any::<u16>(), any::<u8>()), 0..6)
        )
            .prop_map(move |(i, flips)| {
                let mut v = seeds[i].clone();
                for (at, x) in flips {
                    if !v.is_empty() {
                        let n = v.len();
                        v[usize::from(at) % n] ^= x;
                    }
                }
                v
            }),
    ]
}

fn check_target(
    target: &'static str,
) -> impl Fn((usize, Vec<u8>, Vec<u8>)) -> Result<(), TestCaseError> {
    let t = TARGETS.iter().find(|t| t.name == target).unwrap();
    move |(b, a, bb)| {
        let build = Build::ALL[b % Build::ALL.len()];
        (t.reset_check)(build, &a, &bb)
            .map_err(|e| TestCaseError::fail(format!("{target} on {build}: {e}")))
    }
}

macro_rules! random_pairs {
    ($($name:ident),* $(,)?) => {
        proptest! {
            #![proptest_config(ProptestConfig { cases: 48, failure_persistence: None, .. ProptestConfig::default() })]
            $(
                #[test]
                fn $name((b, a, bb) in (0..Build::ALL.len(), input(stringify!($name)), input(stringify!($name)))) {
                    check_target(stringify!($name))((b, a, bb))?;
                }
            )*
        }
    };
}

random_pairs!(
    bufmgr_ops,
    ber_decode,
    lpi_decode,
    tpkt_stream,
    cotp_parse,
    session_parse,
    presentation_parse,
    rtse_parse,
    association,
    p1_decode,
    driver_events,
    nsi_pop4,
    x25_up,
    inbound_stack,
);

#[test]
fn the_random_pair_tests_cover_every_target() {
    let src = include_str!("reset_equivalence.rs");
    for t in TARGETS {
        assert!(
            src.contains(&format!("    {},\n", t.name)),
            "{} has no random-pair test",
            t.name
        );
    }
}
