//! `corpora/kb/<KB>/<target>@<build>`: inputs (found by libFuzzer or written as seeds) that make a
//! target's generic oracle fire on the build in the name. Each must still fire there and must pass
//! on every build where the target is expected clean (`clean_on`): the fix is what makes the
//! difference, not the input.
#![allow(missing_docs)]

use mta_build::Build;
use mta_harness::{corpora_dir, kb_reproducers};

#[test]
fn kb_reproducers_fire_on_their_build_and_pass_on_fixed_builds() {
    let mut checked = 0;
    for (f, t, build) in kb_reproducers(&corpora_dir()).unwrap() {
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
    assert!(checked >= 3, "only {checked} KB reproducers");
}
