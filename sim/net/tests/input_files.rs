//! The `input_files` fuzz harness in `cargo test`: its committed corpus is the committed input
//! files (and stays so), every committed corpus and regression input passes, and a bolero
//! property runs random structured and raw inputs through the same harness.

use mta_build::Build;
use mta_harness::{corpora_dir, corpus_files};
use mta_lab_net::input_files::{NAME, TARGETS, run_bytes, seeds};

#[test]
fn the_committed_corpus_is_every_input_file() {
    let dir = corpora_dir().join("fuzz").join(NAME);
    for (name, bytes) in seeds() {
        let p = dir.join(name);
        let have = std::fs::read(&p).unwrap_or_else(|e| {
            panic!(
                "{}: {e} (write the seeds: mta-lab corpus seed)",
                p.display()
            )
        });
        assert!(have == bytes, "{} differs from its input file", p.display());
    }
    let n = std::fs::read_dir(&dir).unwrap().count();
    assert_eq!(
        n,
        seeds().len(),
        "{}: files that are no seed",
        dir.display()
    );
}

#[test]
fn every_committed_input_passes_on_the_ci_build() {
    let files = corpus_files(&corpora_dir(), NAME).unwrap();
    assert!(files.len() >= seeds().len());
    for p in files {
        let bytes = std::fs::read(&p).unwrap();
        let outcome = run_bytes(Build::Ex2000Sp3Rollup, &bytes);
        assert!(outcome.is_ok(), "{}: {outcome:?}", p.display());
    }
}

#[test]
fn committed_input_files_load_and_run() {
    // Raw seeds are the files as they are: each loads (no "refused") and is used.
    for (name, bytes) in seeds() {
        let outcome = run_bytes(Build::Ex2000Sp3Rollup, &bytes).unwrap();
        assert_ne!(outcome, "refused with a clear error", "{name}");
    }
}

#[test]
fn random_input_files_never_panic_and_errors_say_where() {
    // A few seconds in a debug build: each run loads and uses one file (a world runs a second).
    bolero::check!()
        .with_iterations(48)
        .for_each(|data: &[u8]| {
            if let Err(f) = run_bytes(Build::Ex2000Sp3Rollup, data) {
                panic!("{f}");
            }
        });
}

#[test]
fn the_target_table_entry_is_this_harness() {
    assert_eq!(TARGETS.len(), 1);
    assert_eq!(TARGETS[0].name, NAME);
    let (_, first) = &seeds()[0];
    (TARGETS[0].reset_check)(Build::Ex55, &seeds()[1].1, first).unwrap();
}
