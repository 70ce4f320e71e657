//! Reachability goals: every `reach!` in the models names a catalogued goal and every catalogued
//! goal is used; every committed fuzz reproducer under `corpora/goals/` (`<target>@<build>@<goal
//! slug>`) reaches its goal on its build. (Sweep reproducers, `corpora/goals/sim.toml`, and "every
//! goal has a reproducer" are checked by `sim/tests/goals.rs`.)
#![allow(missing_docs)]

use mta_build::Build;
use mta_harness::{TARGETS, corpora_dir, run_goals};
use std::collections::BTreeSet;
use std::path::Path;

/// Every `reach!("…")` name in the Rust sources under `dir`.
fn used_names(dir: &Path, out: &mut BTreeSet<String>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            used_names(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            let text = std::fs::read_to_string(&p).unwrap();
            for piece in text.split("reach!(\"").skip(1) {
                out.insert(piece.split('"').next().unwrap().to_string());
            }
        }
    }
}

#[test]
fn every_goal_used_is_catalogued_and_every_catalogued_goal_is_used() {
    let models = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut used = BTreeSet::new();
    for c in ["bufmgr", "lpi", "mta", "osi", "ber", "p1"] {
        used_names(&models.join(c).join("src"), &mut used);
    }
    let catalogued: BTreeSet<String> = mta_reach::CATALOGUE
        .iter()
        .map(|g| g.name.to_string())
        .collect();
    assert_eq!(used, catalogued, "reach! names and the catalogue differ");
}

#[test]
fn committed_fuzz_reproducers_reach_their_goals() {
    let dir = corpora_dir().join("goals");
    let mut checked = 0;
    for e in std::fs::read_dir(&dir).unwrap() {
        let p = e.unwrap().path();
        let name = p.file_name().unwrap().to_string_lossy().to_string();
        let mut parts = name.splitn(3, '@');
        let (Some(target), Some(build), Some(goal_slug)) =
            (parts.next(), parts.next(), parts.next())
        else {
            continue; // sim.toml
        };
        let t = TARGETS
            .iter()
            .find(|t| t.name == target)
            .unwrap_or_else(|| panic!("{name}: no target {target}"));
        let b: Build = build.parse().unwrap();
        let goal = mta_reach::CATALOGUE
            .iter()
            .find(|g| mta_reach::slug(g.name) == goal_slug)
            .unwrap_or_else(|| panic!("{name}: no catalogued goal with slug {goal_slug}"));
        let (_, reached) = run_goals(t, b, &std::fs::read(&p).unwrap());
        assert!(
            reached.contains(goal.name),
            "{name} no longer reaches {:?} (reached {:?})",
            goal.name,
            reached.names().collect::<Vec<_>>()
        );
        checked += 1;
    }
    assert!(checked >= 30, "only {checked} fuzz reproducers");
}
