//! `corpora/kb/<KB>/<target>@<build>`: inputs (found by libFuzzer or written as seeds) that make a
//! target's generic oracle fire on the build in the name. Each must still fire there and must pass
//! on every build where the target is expected clean (`clean_on`): the fix is what makes the
//! difference, not the input.
#![allow(missing_docs)]

use mta_build::Build;
use mta_harness::{TARGETS, corpora_dir};

#[test]
fn kb_reproducers_fire_on_their_build_and_pass_on_fixed_builds() {
    let root = corpora_dir().join("kb");
    let mut checked = 0;
    for kb in std::fs::read_dir(&root).unwrap() {
        let kb = kb.unwrap().path();
        if !kb.is_dir() {
            continue;
        }
        for f in std::fs::read_dir(&kb).unwrap() {
            let f = f.unwrap().path();
            let name = f.file_name().unwrap().to_string_lossy().to_string();
            let Some((target, build)) = name.split_once('@') else {
                continue;
            };
            let t = TARGETS
                .iter()
                .find(|t| t.name == target)
                .unwrap_or_else(|| panic!("{name}: no target {target}"));
            let build: Build = build.parse().unwrap();
            let input = std::fs::read(&f).unwrap();
            assert!(
                (t.run)(build, &input).is_err(),
                "{}: no longer reproduces on {build}",
                f.display()
            );
            for b in Build::ALL {
                if (t.clean_on)(&b.profile()) {
                    assert!(
                        (t.run)(b, &input).is_ok(),
                        "{}: fires on fixed build {b}",
                        f.display()
                    );
                }
            }
            checked += 1;
        }
    }
    assert!(checked >= 3, "only {checked} KB reproducers");
}
