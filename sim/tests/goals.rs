//! Reachability goals: every catalogued goal has a committed reproducer (a fuzz input under
//! `corpora/goals/`, checked by `models/harness/tests/goals.rs`, or a sweep seed in
//! `corpora/goals/sim.toml`), and every sweep reproducer still reaches its goal when the seed is
//! run (`mta-lab run`).
#![allow(missing_docs)]

use std::path::{Path, PathBuf};
use std::process::Command;

fn goals_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../corpora/goals")
}

/// (goal, world, build, seed) of `sim.toml`.
fn sim_goals() -> Vec<(String, String, String, u64)> {
    let text = std::fs::read_to_string(goals_dir().join("sim.toml")).unwrap();
    let v: toml::Value = toml::from_str(&text).unwrap();
    v["goal"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| {
            (
                g["goal"].as_str().unwrap().to_string(),
                g["world"].as_str().unwrap().to_string(),
                g["build"].as_str().unwrap().to_string(),
                g["seed"].as_integer().unwrap() as u64,
            )
        })
        .collect()
}

#[test]
fn every_catalogued_goal_has_a_committed_reproducer() {
    let files: Vec<String> = std::fs::read_dir(goals_dir())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
        .collect();
    let sims = sim_goals();
    for g in mta_reach::CATALOGUE {
        let s = mta_reach::slug(g.name);
        let as_file = files
            .iter()
            .any(|f| f.rsplit('@').next() == Some(s.as_str()));
        let as_seed = sims.iter().any(|(goal, ..)| goal == g.name);
        assert!(as_file || as_seed, "{:?} has no reproducer", g.name);
    }
}

#[test]
fn sweep_reproducers_reach_their_goals() {
    for (goal, world, build, seed) in sim_goals() {
        let out = Command::new(env!("CARGO_BIN_EXE_mta-lab"))
            .args(["run", "--world", &world, "--build", &build, "--seed"])
            .arg(seed.to_string())
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        let reached = text
            .lines()
            .find_map(|l| l.trim_start().strip_prefix("goals reached: "))
            .unwrap_or("");
        assert!(
            reached.split(" · ").any(|g| g == goal),
            "{world}@{build} seed {seed} no longer reaches {goal:?}:\n{text}"
        );
    }
}
