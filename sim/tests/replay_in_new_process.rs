//! A crash found in-process — on a harness world reused across many inputs — replays in a new
//! process with `mta-lab replay TARGET FILE`, with the same failure text. The inputs are the KB
//! reproducers (real crashes of the builds the KBs name) and the canaries (deliberately broken
//! reference models), each run after every committed input of its target has gone through the
//! same world.
#![allow(missing_docs)]

use mta_build::Build;
use mta_harness::{TARGETS, corpora_dir, corpus_files, kb_reproducers};
use std::process::Command;

/// Run every committed input of `target` on `build` in this process (warming its world).
fn warm(target: &str, build: Build) {
    let t = TARGETS.iter().find(|t| t.name == target).unwrap();
    for f in corpus_files(&corpora_dir(), target).unwrap() {
        let _ = (t.run)(build, &std::fs::read(f).unwrap());
    }
}

/// Replay in a new process with `--trace`: what it printed; the trace must load as a chart's
/// input and end with the oracle's record, after the event log the replay printed.
fn replay_in_new_process(target: &str, file: &std::path::Path, build: Build) -> String {
    let trace = std::env::temp_dir().join(format!(
        "mta-lab-replay-{}-{target}-{}.jsonl",
        std::process::id(),
        build.cli_name()
    ));
    let out = Command::new(env!("CARGO_BIN_EXE_mta-lab"))
        .args(["replay", target])
        .arg(file)
        .args(["--build", build.cli_name()])
        .arg("--trace")
        .arg(&trace)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "replay of a crash exits 1");
    let printed = String::from_utf8_lossy(&out.stdout).into_owned();
    let recs = mta_lab_look::chart::load(&std::fs::read_to_string(&trace).unwrap()).unwrap();
    let _ = std::fs::remove_file(&trace);
    assert_eq!(recs.last().unwrap().layer, "oracle", "{printed}");
    let logged = recs.iter().filter(|r| r.layer == "eventlog").count();
    assert!(
        printed.contains(&format!("event log on {build} ({logged} entries):")),
        "{printed}"
    );
    printed
}

#[test]
fn kb_reproducers_fail_the_same_in_a_warm_world_and_in_a_new_process() {
    let mut checked = 0;
    for (f, t, build) in kb_reproducers(&corpora_dir()).unwrap() {
        warm(t.name, build);
        let failure = (t.run)(build, &std::fs::read(&f).unwrap())
            .expect_err("a KB reproducer fails on its build");
        let printed = replay_in_new_process(t.name, &f, build);
        assert!(
            printed.contains(&format!("FAILED: {failure}")),
            "{}: in-process `{failure}`, new process printed `{printed}`",
            f.display()
        );
        if t.name == "driver_events" {
            // Q182619: the recovery's refusals are printed before the fatal request.
            let refusal = printed.find("event_id=9215").expect("9215 printed");
            let fatal = printed.find("event_id=9404").expect("9404 printed");
            assert!(refusal < fatal, "{printed}");
        }
        checked += 1;
    }
    assert!(checked >= 4, "only {checked} KB reproducers");
}

#[test]
fn canary_failures_in_a_reused_world_equal_a_new_worlds() {
    use mta_harness::{World, bufmgr_ops, lpi_decode};
    // bufmgr_ops: the off-by-one reference model fires at the KB boundary, on a world that has
    // run every committed input first and on a new one alike.
    let (_, q) = &bufmgr_ops::seeds()[0];
    let ops = bufmgr_ops::Op::decode_stream(q);
    let mut w = bufmgr_ops::BufWorld::new(Build::Ex50);
    for f in corpus_files(&corpora_dir(), "bufmgr_ops").unwrap() {
        w.reset();
        let ops = bufmgr_ops::Op::decode_stream(&std::fs::read(f).unwrap());
        let _ = bufmgr_ops::run_in(&mut w, &ops, bufmgr_ops::Model::Faithful);
    }
    w.reset();
    let warm = bufmgr_ops::run_in(&mut w, &ops, bufmgr_ops::Model::OffByOneLimit).unwrap_err();
    let fresh = bufmgr_ops::run(Build::Ex50, &ops, bufmgr_ops::Model::OffByOneLimit).unwrap_err();
    assert_eq!(warm, fresh);
    // lpi_decode: the generation-blind model misclassifies a reused block's LPI.
    let (_, reused) = &lpi_decode::seeds()[2];
    let mut w = lpi_decode::LpiWorld::new(Build::Ex2000Sp3);
    for f in corpus_files(&corpora_dir(), "lpi_decode").unwrap() {
        w.reset();
        let _ = lpi_decode::run_in(
            &mut w,
            &std::fs::read(f).unwrap(),
            lpi_decode::Model::Faithful,
        );
    }
    w.reset();
    let warm =
        lpi_decode::run_in(&mut w, reused, lpi_decode::Model::IgnoresGeneration).unwrap_err();
    let fresh = lpi_decode::run(
        Build::Ex2000Sp3,
        reused,
        lpi_decode::Model::IgnoresGeneration,
    )
    .unwrap_err();
    assert_eq!(warm, fresh);
}
