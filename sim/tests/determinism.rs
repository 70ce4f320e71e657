//! Determinism across processes and parallelism: the same seeds give the same trace hashes with
//! one worker or two, and the same as a single `run` of each seed.
#![allow(missing_docs)]

use std::process::Command;

fn hashes(args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_mta-lab"))
        .args(args)
        .arg("--findings")
        .arg(std::env::temp_dir().join("mta-lab-determinism-findings"))
        .output()
        .expect("run mta-lab");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    text.lines()
        .find(|l| l.starts_with("trace hashes:"))
        .unwrap_or_else(|| panic!("no hashes in:\n{text}"))
        .to_string()
}

#[test]
fn jobs_1_and_jobs_2_agree() {
    let one = hashes(&["sweep", "--seeds", "0..8", "--jobs", "1"]);
    let two = hashes(&["sweep", "--seeds", "0..8", "--jobs", "2"]);
    assert_eq!(one, two);
    let out = Command::new(env!("CARGO_BIN_EXE_mta-lab"))
        .args(["run", "--seed", "5", "--findings"])
        .arg(std::env::temp_dir().join("mta-lab-determinism-findings"))
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let h5 = text
        .lines()
        .find_map(|l| l.split(" trace ").nth(1))
        .and_then(|t| t.split_whitespace().next())
        .unwrap()
        .to_string();
    assert_eq!(one.split_whitespace().nth(2 + 5), Some(h5.as_str()));
}
