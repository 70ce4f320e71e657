//! `corpora/kb/<KB>/<target>@<build>`: inputs (found by libFuzzer or written as seeds) that make a
//! target's generic oracle fire on the build in the name. Each must still fire there with its KB's
//! signature (`mta_harness::kb`: the mechanism, read from the failure — not only "an oracle
//! fired"), and must pass on every build where the target is expected clean (`clean_on`): the fix
//! is what makes the difference, not the input.
#![allow(missing_docs)]

use mta_build::Build;
use mta_harness::{corpora_dir, kb, kb_reproducers};

#[test]
fn kb_reproducers_fire_on_their_build_and_pass_on_fixed_builds() {
    let mut checked = 0;
    for (f, t, build) in kb_reproducers(&corpora_dir()).unwrap() {
        let input = std::fs::read(&f).unwrap();
        let Err(failure) = (t.run)(build, &input) else {
            panic!("{}: no longer reproduces on {build}", f.display());
        };
        let kb_name = f
            .parent()
            .and_then(|d| d.file_name())
            .and_then(|n| n.to_str())
            .unwrap();
        let failure = failure.to_string();
        assert!(
            kb::signature(kb_name, &failure).is_some(),
            "{}: fires on {build} without {kb_name}'s signature: {failure}",
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
    assert!(checked >= 3, "only {checked} KB reproducers");
}
