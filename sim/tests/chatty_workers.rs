//! Sweep workers that log a lot are not hangs (issue 21): each worker writes its output to files,
//! never to a pipe nobody drains while it runs. With more than 1 MiB of log per seed (the pipe
//! holds 64 KiB) a sweep with worker processes still finds nothing on a clean world, and keeps no
//! logs for clean seeds.
#![allow(missing_docs)]

use std::process::Command;

fn mta_lab() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_mta-lab"));
    c.env("MTA_LAB_LOG", "trace");
    c
}

#[test]
fn a_chatty_worker_is_not_a_hang() {
    let one = mta_lab()
        .args(["run", "--world", "standard", "--seed", "0"])
        .output()
        .unwrap();
    assert!(
        one.stderr.len() > 1 << 20,
        "the premise: a seed logs more than 1 MiB ({} octets)",
        one.stderr.len()
    );
    let dir = std::env::temp_dir().join(format!("mta-lab-chatty-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let out = mta_lab()
        .args([
            "sweep", "--world", "standard", "--seeds", "0..2", "--jobs", "2",
        ])
        .args(["--timeout", "120", "--findings"])
        .arg(&dir)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && text.contains("2 seeds, 0 with findings"),
        "{text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        !dir.join("worker-logs").exists(),
        "clean seeds keep no worker logs"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
