//! `mta-lab nightly` survives `kill -9`: a night killed after some units finished resumes with the
//! same plan, does not redo finished units, and still writes its report (grid first, the lab's
//! commit and compiler recorded) and applies its retention budget.
#![allow(missing_docs)]
#![allow(clippy::disallowed_types)] // wall clock: how long to wait for the child

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn nightly(root: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_mta-lab"));
    c.args([
        "nightly",
        "--budget",
        "16s",
        "--jobs",
        "2",
        "--date",
        "test-night",
        "--kb",
        "Q811406",
        "--kb-budget",
        "0.3",
        "--no-libfuzzer",
        "--min-slice",
        "1",
        // The coverage phase has its own test (tests/coverage.rs).
        "--coverage-targets",
        "none",
        // Two older nights beside "test-night" (not a date: never pruned): the oldest goes.
        "--keep-nights",
        "1",
    ])
    .arg("--state")
    .arg(root.join("state"))
    .arg("--reports")
    .arg(root.join("reports"))
    .arg("--regressions")
    .arg(root.join("regressions"))
    .arg("--baseline")
    .arg(repo().join("corpora/kb/known-findings.toml"))
    .arg("--expected")
    .arg(repo().join("corpora/kb/expected.toml"));
    c
}

fn done_files(root: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let dir = root.join("state/test-night/done");
    let mut v: Vec<(PathBuf, Vec<u8>)> = std::fs::read_dir(&dir)
        .map(|r| {
            r.filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|x| x == "json"))
                .map(|p| {
                    let b = std::fs::read(&p).unwrap_or_default();
                    (p, b)
                })
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

#[test]
fn a_killed_night_resumes_without_redoing_finished_units() {
    let root = std::env::temp_dir().join(format!("mta-lab-nightly-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    for old in ["2000-01-01", "2000-01-02"] {
        std::fs::create_dir_all(root.join("reports").join(old)).unwrap();
        std::fs::create_dir_all(root.join("state").join(old).join("done")).unwrap();
    }
    let mut child = nightly(&root)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start mta-lab nightly");
    // Wait until the KB unit and at least one campaign unit are done, then kill -9.
    let started = Instant::now();
    loop {
        let done = done_files(&root);
        if done.len() >= 2 {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(300),
            "no unit finished"
        );
        if let Ok(Some(st)) = child.try_wait() {
            panic!("nightly ended before it could be killed: {st}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    child.kill().expect("kill -9");
    let _ = child.wait();
    let before = done_files(&root);
    assert!(
        !root.join("reports/test-night/index.html").exists(),
        "killed before the report"
    );
    let out = nightly(&root).output().expect("rerun");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("resuming the plan"), "{text}");
    let resumed: usize = text
        .lines()
        .find_map(|l| l.strip_prefix("resumed: "))
        .and_then(|l| l.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no resumed line:\n{text}"));
    assert!(
        resumed >= before.len(),
        "{resumed} < {}:\n{text}",
        before.len()
    );
    let after = done_files(&root);
    for (p, bytes) in &before {
        let again = after.iter().find(|(q, _)| q == p).expect("still there");
        assert_eq!(&again.1, bytes, "{} was redone", p.display());
    }
    // Every planned unit finished, and the report and summary exist.
    let plan: serde_json::Value =
        serde_json::from_slice(&std::fs::read(root.join("state/test-night/plan.json")).unwrap())
            .unwrap();
    let planned = 1 + plan["campaign"].as_array().expect("campaign planned").len();
    assert_eq!(after.len(), planned, "{text}");
    let summary: serde_json::Value = serde_json::from_slice(
        &std::fs::read(root.join("reports/test-night/summary.json")).expect("summary.json"),
    )
    .unwrap();
    assert_eq!(summary["schema"], 1);
    assert_eq!(summary["cells"].as_array().unwrap().len(), 8);
    let html = std::fs::read_to_string(root.join("reports/test-night/index.html")).unwrap();
    assert!(html.contains("KB matrix") && html.contains("<svg"));
    // The grid comes first; the night records the binary that ran it.
    let grid = html.find("<table id=\"grid\">").expect("the grid");
    assert_eq!(
        html.find("<table"),
        Some(grid),
        "the grid is the first table"
    );
    assert!(grid < html.find("id=\"findings\"").unwrap());
    assert_eq!(
        summary["lab"]["lab_commit"],
        mta_lab_world::finding::LAB_COMMIT
    );
    assert_eq!(
        summary["lab"]["rustc_version"],
        mta_lab_world::finding::RUSTC_VERSION
    );
    assert!(summary["lifecycle"].is_array());
    // Retention: the older of the two dated nights is pruned from reports and state, and said so.
    assert!(
        text.contains(
            "retention: pruned the reports of 1 night(s) beyond the newest 1: 2000-01-01"
        ),
        "{text}"
    );
    assert!(text.contains("retention: pruned the state of 1 night(s): 2000-01-01"));
    assert!(!root.join("reports/2000-01-01").exists() && !root.join("state/2000-01-01").exists());
    assert!(root.join("reports/2000-01-02").exists() && root.join("state/2000-01-02").exists());
    assert!(root.join("state/test-night/plan.json").exists());
    // Goals come from the sweeps (no libFuzzer here), and the report lists the whole catalogue.
    for (goal, units) in summary["goals"].as_object().expect("goals in the summary") {
        assert!(mta_reach::is_catalogued(goal), "{goal}");
        for u in units.as_array().unwrap() {
            assert!(u.as_str().unwrap().starts_with("sweep-"), "{goal}: {u}");
        }
    }
    for g in mta_reach::CATALOGUE {
        assert!(html.contains(&format!("<td>{}</td>", g.name)), "{}", g.name);
    }
    let _ = std::fs::remove_dir_all(&root);
}
