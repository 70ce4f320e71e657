//! Protocol-state coverage (issue "The lab sees what it exercises", part 2): the committed inputs of
//! the stateful targets take known transitions of each machine, by the standards' state names.

use mta_build::Build;
use mta_harness::{TARGETS, corpora_dir, corpus_files, run_observed};
use mta_reach::Transition;
use std::collections::{BTreeMap, BTreeSet};

/// Every distinct transition the committed inputs (seeds and regressions) of every target take on
/// `build`.
fn committed_transitions(build: Build) -> BTreeSet<Transition> {
    let root = corpora_dir();
    let mut all = BTreeSet::new();
    for t in TARGETS {
        for f in corpus_files(&root, t.name).unwrap() {
            let input = std::fs::read(&f).unwrap();
            let (_, _, taken) = run_observed(t, build, &input);
            all.extend(taken);
        }
    }
    all
}

#[test]
fn committed_inputs_cover_known_transitions_of_every_machine() {
    let all = committed_transitions(Build::Ex55);
    let mut per_machine: BTreeMap<&str, usize> = BTreeMap::new();
    for t in &all {
        *per_machine.entry(t.machine).or_default() += 1;
    }
    // Measured when the machines were first instrumented (2026-11-30): association 22, cotp 15,
    // driver 10, pop4 2, session 42, x25 1 (the sweeps of the xot world take more). More inputs may
    // only add.
    for (machine, at_least) in [
        ("association", 22),
        ("cotp", 15),
        ("driver", 10),
        ("pop4", 2),
        ("session", 42),
        ("x25", 1),
    ] {
        let n = per_machine.get(machine).copied().unwrap_or(0);
        assert!(
            n >= at_least,
            "{machine}: {n} transitions, expected at least {at_least}"
        );
    }
    let names: BTreeSet<String> = all.iter().map(ToString::to_string).collect();
    for t in [
        "cotp: CLOSED --CR--> WFTRESP",
        "cotp: WFCC --CC--> OPEN",
        "cotp: OPEN --DR--> CLOSED",
        "session: STA01 --S-CONNECT.request--> STA02A",
        "session: STA713 --FINISH--> STA09",
        "association: STA5 associated --A-RELEASE.request--> STA3 awaiting RLRE",
        "driver: 3 transfer --socket error--> 7 recovering",
        "driver: 7 recovering --connect() completed--> 3 transfer",
        "pop4: empty --tick: pull from the NSI--> below half",
        "x25: p1 ready --T-DATA buffer--> p4 data transfer",
    ] {
        assert!(names.contains(t), "{t} not taken; taken: {names:#?}");
    }
}

#[test]
fn a_run_takes_the_same_transitions_every_time_and_ids_are_stable() {
    let t = TARGETS.iter().find(|t| t.name == "cotp_parse").unwrap();
    let seeds = corpus_files(&corpora_dir(), "cotp_parse").unwrap();
    let input = std::fs::read(&seeds[0]).unwrap();
    // The first run on a thread builds the world (connecting the pair) inside its collector, so
    // it also takes the set-up's transitions; later runs reset the world and take only their own.
    let (_, _, first) = run_observed(t, Build::Ex55, &input);
    let (_, _, some) = run_observed(t, Build::Ex55, &input);
    assert!(first.contains(&Transition {
        machine: "cotp",
        from: "CLOSED",
        input: "T-CONNECT.request",
        to: "WFCC"
    }));
    assert!(
        !some.is_empty()
            && some
                .iter()
                .all(|t| t.machine == "cotp" && first.contains(t))
    );
    let again = run_observed(t, Build::Ex55, &input).2;
    assert_eq!(
        some, again,
        "the same input takes the same transitions in the same order"
    );
    let tr = Transition {
        machine: "cotp",
        from: "WFCC",
        input: "CC",
        to: "OPEN",
    };
    // FNV-1a over the four names, each followed by 0xff: the same in every process and build.
    assert_eq!(tr.id(), 0x5697282918bab23c);
}
