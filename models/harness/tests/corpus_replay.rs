//! Replay every committed input in `corpora/fuzz/<target>/` and `corpora/regressions/<target>/`
//! through its harness on every build. A regression input stays here forever.
#![allow(missing_docs)]

use mta_build::Build;
use mta_harness::{TARGETS, corpora_dir, corpus_files};

#[test]
fn every_corpus_file_passes_on_every_build() {
    let root = corpora_dir();
    let mut replayed = 0;
    for t in TARGETS {
        let files = corpus_files(&root, t.name).unwrap();
        assert!(!files.is_empty(), "no corpus for {}", t.name);
        for f in files {
            let bytes = std::fs::read(&f).unwrap();
            for b in Build::ALL {
                if !(t.clean_on)(&b.profile()) {
                    // A KB build: the input may reproduce the defect; it must not panic the harness.
                    let _ = (t.run)(b, &bytes);
                    continue;
                }
                if let Err(fail) = (t.run)(b, &bytes) {
                    panic!(
                        "{fail}\nreplay: MTA_LAB_BUILD={b} cargo run -p mta-lab -- replay {} {}",
                        t.name,
                        f.display()
                    );
                }
            }
            replayed += 1;
        }
    }
    assert!(replayed >= 10, "only {replayed} corpus files");
}

#[test]
fn committed_corpora_contain_every_seed() {
    let root = corpora_dir();
    for t in TARGETS {
        for (name, bytes) in (t.seeds)() {
            let p = root.join("fuzz").join(t.name).join(name);
            let on_disk = std::fs::read(&p)
                .unwrap_or_else(|e| panic!("{}: {e} (run `mta-lab corpus seed`)", p.display()));
            assert_eq!(on_disk, bytes, "{} is stale", p.display());
        }
    }
}

#[test]
fn committed_dictionaries_are_current() {
    let root = corpora_dir().join("dict");
    for t in TARGETS {
        let p = root.join(format!("{}.dict", t.name));
        let on_disk = std::fs::read_to_string(&p)
            .unwrap_or_else(|e| panic!("{}: {e} (run `mta-lab corpus seed`)", p.display()));
        assert_eq!(
            on_disk,
            mta_harness::dict::render(t.name),
            "{} is stale (run `mta-lab corpus seed`)",
            p.display()
        );
    }
}
