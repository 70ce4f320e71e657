//! The exit statuses of every command (README, "Exit statuses"; `mta_lab_world::exit`): each
//! command that reads a file gets a missing one and a broken one (status 2, an `error:` line
//! naming the file), a usage error is 2, a panic of the lab itself is 3, and a clean run and a
//! finding are 0 and 1.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn mta_lab(args: &[String], env: Option<(&str, &str)>) -> Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_mta-lab"));
    c.args(args)
        .current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/.."));
    if let Some((k, v)) = env {
        c.env(k, v);
    }
    c.output().expect("mta-lab runs")
}

/// The kinds of broken file, each written once.
struct Files {
    dir: PathBuf,
}

impl Files {
    fn new() -> Files {
        let dir = std::env::temp_dir().join(format!("mta-lab-exit-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        for (name, text) in [
            ("broken.hex", "zz this is not hex"),
            ("broken.toml", "this is = not [toml"),
            ("broken.jsonl", "{\"t_ms\": oops\n"),
            ("broken.pcap", "not a capture at all"),
            ("broken-shard/sweep-journal.json", "{ not json"),
        ] {
            let p = dir.join(name);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, text).unwrap();
        }
        Files { dir }
    }

    fn path(&self, name: &str) -> String {
        self.dir.join(name).display().to_string()
    }
}

impl Drop for Files {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Each command that reads a file, with `{F}` where the file goes and the broken kind to use.
const READERS: &[(&str, &str)] = &[
    ("ber dump --hex {F}", "broken.hex"),
    ("p1 decode --hex {F}", "broken.hex"),
    ("lpi decode --hex {F}", "broken.hex"),
    ("decode --hex {F}", "broken.hex"),
    ("run --world {F}", "broken.toml"),
    (
        "sweep --seeds 0..1 --world {F} --findings {OUT}",
        "broken.toml",
    ),
    ("replay {F}", "broken.toml"),
    ("replay --until 1s {F}", "broken.toml"),
    ("replay lpi_decode {F}", "missing-only"),
    ("shrink {F}", "broken.toml"),
    ("builds {F}", "broken.toml"),
    ("chart {F} -o {OUT}/c.svg", "broken.jsonl"),
    ("view {F} -o {OUT}/v.html", "broken.jsonl"),
    ("diff --builds 5.5,5.5-sp1 --finding {F}", "broken.toml"),
    ("merge {F} --out {OUT}/merged", "broken-shard"),
    (
        "merge {HERE} --out {OUT}/merged --baseline {F}",
        "broken.toml",
    ),
    ("hostile --script {F}", "broken.toml"),
    ("import {F} --out {OUT}/import", "broken.pcap"),
    (
        "serve --listen 127.0.0.1:0 --config {F} --for 1s",
        "broken.toml",
    ),
    (
        "serve --listen 127.0.0.1:0 --restore {F} --for 1s",
        "broken.toml",
    ),
    (
        "kb --kb Q197378 --budget 1 --no-libfuzzer --expected {F}",
        "broken.toml",
    ),
];

fn fill(template: &str, file: &str, files: &Files) -> Vec<String> {
    template
        .split_whitespace()
        .map(|w| {
            w.replace("{F}", file)
                .replace("{OUT}", &files.path("out"))
                .replace("{HERE}", &files.path("empty-shard"))
        })
        .collect()
}

/// What is wrong with the command's answer to a missing or broken `file`, if anything.
fn input_error_problem(args: &[String], file: &str) -> Option<String> {
    let out = mta_lab(args, None);
    let err = String::from_utf8_lossy(&out.stderr);
    let name = Path::new(file).file_name().unwrap().to_string_lossy();
    if out.status.code() != Some(2) {
        Some(format!(
            "mta-lab {}: status {:?}, stderr:\n{err}",
            args.join(" "),
            out.status
        ))
    } else if !(err.contains("error") && err.contains(name.as_ref())) {
        Some(format!(
            "mta-lab {}: the error does not name {name}:\n{err}",
            args.join(" ")
        ))
    } else {
        None
    }
}

#[test]
fn every_command_that_reads_a_file_exits_2_on_a_missing_or_broken_one() {
    let files = Files::new();
    std::fs::create_dir_all(files.path("empty-shard")).unwrap();
    let mut problems = Vec::new();
    for (template, broken) in READERS {
        let missing = files.path("does-not-exist.toml");
        problems.extend(input_error_problem(
            &fill(template, &missing, &files),
            &missing,
        ));
        if *broken != "missing-only" {
            let f = files.path(broken);
            problems.extend(input_error_problem(&fill(template, &f, &files), &f));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n\n"));
}

#[test]
fn usage_errors_exit_2_and_a_panic_of_the_lab_exits_3() {
    let args = |s: &str| s.split_whitespace().map(String::from).collect::<Vec<_>>();
    for usage in [
        "run --seed not-a-number",
        "no-such-command",
        "builds --build 6.0",
    ] {
        let out = mta_lab(&args(usage), None);
        assert_eq!(out.status.code(), Some(2), "mta-lab {usage}");
    }
    let out = mta_lab(&args("builds"), Some(("MTA_LAB_INDUCE_PANIC", "1")));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{err}");
    assert!(
        err.contains("panic induced by MTA_LAB_INDUCE_PANIC")
            && err.contains("internal error: mta-lab itself panicked"),
        "{err}"
    );
}

#[test]
fn a_clean_run_exits_0_and_a_finding_exits_1() {
    let args = |s: &str| s.split_whitespace().map(String::from).collect::<Vec<_>>();
    assert_eq!(mta_lab(&args("builds"), None).status.code(), Some(0));
    // A TPKT with version 4 is malformed octets: a finding of `decode`, not an input error.
    let files = Files::new();
    let f = files.path("bad-tpkt.hex");
    std::fs::write(&f, "04 00 00 07 02 f0 80").unwrap();
    let out = mta_lab(&args(&format!("decode --hex {f}")), None);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let help = mta_lab(&args("--help"), None);
    assert!(
        String::from_utf8_lossy(&help.stdout).contains("Exit status (every command): 0 clean"),
        "--help documents the statuses"
    );
}
