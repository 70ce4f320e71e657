//! The trace viewer in a real headless browser: `mta-lab view` writes a page for a committed
//! finding, and `scripts/viewer_check.py` (selenium + Debian's chromium/chromium-driver) checks
//! that it loads, filters, shows a decoded PDU, jumps to the fault, and logs no console errors;
//! `scripts/report_check.py` checks that a nightly report opens on the KB × build grid.
//! Without a browser the test is skipped with a message — except under CI, where it fails.
#![allow(missing_docs)]

use std::path::{Path, PathBuf};
use std::process::Command;

fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "0" && v != "false")
}

#[test]
fn the_viewer_works_in_headless_chromium() {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let page = std::env::temp_dir().join(format!("mta-lab-viewer-{}.html", std::process::id()));
    let out =
        Command::new(env!("CARGO_BIN_EXE_mta-lab"))
            .arg("view")
            .arg(repo.join(
                "corpora/regressions/sim/q811406-2000sp3-short-timeout-burst-leaks-blocks.toml",
            ))
            .arg("-o")
            .arg(&page)
            .output()
            .expect("mta-lab view");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let check = Command::new("python3")
        .arg(repo.join("scripts/viewer_check.py"))
        .arg(&page)
        .output();
    let _ = std::fs::remove_file(&page);
    judge(check, "viewer OK");
}

/// The verdict of a browser check script: exit 0 with `ok` printed passes; 2 (no browser, no
/// selenium) skips outside CI; anything else fails.
fn judge(check: std::io::Result<std::process::Output>, ok: &str) {
    let Ok(check) = check else {
        assert!(!in_ci(), "python3 is missing (CI installs it)");
        eprintln!("skipped: no python3");
        return;
    };
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&check.stdout),
        String::from_utf8_lossy(&check.stderr)
    );
    match check.status.code() {
        Some(0) => assert!(text.contains(ok), "{text}"),
        Some(2) if !in_ci() => eprintln!("skipped: {text}"),
        _ => panic!("browser check failed:\n{text}"),
    }
}

/// A report of 48 cells of every class (chart and viewer of a committed finding on some), with
/// findings and their lifecycle, as the nightly writes it.
fn write_report(dir: &Path) -> PathBuf {
    use mta_lab_campaign::kb::{Cell, KBS, Outcome};
    use mta_lab_campaign::night::{Life, Standing, Summary, Triaged};
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let finding =
        repo.join("corpora/regressions/sim/q811406-2000sp3-short-timeout-burst-leaks-blocks.toml");
    std::fs::create_dir_all(dir.join("kb")).unwrap();
    for (cmd, out) in [("chart", "kb/q811406.svg"), ("view", "kb/q811406.html")] {
        let o = Command::new(env!("CARGO_BIN_EXE_mta-lab"))
            .arg(cmd)
            .arg(&finding)
            .arg("-o")
            .arg(dir.join(out))
            .output()
            .expect("mta-lab");
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    }
    let mut cells = Vec::new();
    for (kb, configs) in KBS {
        for config in *configs {
            for (i, b) in mta_build::Build::ALL.iter().enumerate() {
                let (outcome, agrees) = match (cells.len() % 7, i) {
                    (_, 0) => (Outcome::Reproduced, true),
                    (3, _) => (Outcome::Reproduced, false),
                    (5, _) => (Outcome::TriggerNotReached, false),
                    (6, _) => (
                        Outcome::NotApplicable {
                            why: "no such component".into(),
                        },
                        true,
                    ),
                    _ => (Outcome::NotReproduced, true),
                };
                cells.push(Cell {
                    kb: (*kb).into(),
                    build: b.cli_name().into(),
                    config: (*config).into(),
                    outcome,
                    engine: None,
                    seconds: 1.5,
                    spent: 100,
                    trigger: 3,
                    detail: String::new(),
                    artifact: None,
                    replay: Some(format!("mta-lab replay {kb}-{}.toml", b.cli_name())),
                    expected: Some("reproduced".into()),
                    agrees,
                    other: Vec::new(),
                    pages: (i == 0).then(|| ("kb/q811406.svg".into(), "kb/q811406.html".into())),
                });
            }
        }
    }
    let signature = "control blocks still allocated (in Closing)".to_string();
    let s = Summary {
        schema: 1,
        date: "2026-11-30".into(),
        green: false,
        reasons: vec!["KB matrix: Q151626 5.0 default disagrees".into()],
        budget_s: 360.0,
        unit_seconds: 700.0,
        cells,
        findings: vec![Triaged {
            kind: "sweep".into(),
            subject: "flood".into(),
            signature: signature.clone(),
            found_on: vec!["2000-sp3".into()],
            fires_on: vec!["2000-sp3".into()],
            count: 4,
            input: finding.display().to_string(),
            minimized: None,
            known: Some("Q811406".into()),
            regression: None,
            replay: format!("mta-lab replay {}", finding.display()),
            pages: Some(("kb/q811406.svg".into(), "kb/q811406.html".into())),
        }],
        units: Vec::new(),
        skipped: Vec::new(),
        source_coverage: None,
        goals: std::collections::BTreeMap::new(),
        mutation: None,
        lab: Some(mta_lab_world::finding::Provenance::current()),
        lifecycle: vec![Life {
            kind: "sweep".into(),
            subject: "flood".into(),
            signature,
            known: Some("Q811406".into()),
            first: "2026-11-20".into(),
            last: "2026-11-30".into(),
            nights: 11,
            standing: Standing::StillReproducing,
        }],
    };
    let page = dir.join("index.html");
    let html = mta_lab_campaign::report::html(&s, &[], &Vec::new(), &Vec::new(), &[]);
    std::fs::write(&page, html).unwrap();
    page
}

#[test]
fn the_report_opens_on_the_kb_grid_in_headless_chromium() {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let dir = std::env::temp_dir().join(format!("mta-lab-report-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let page = write_report(&dir);
    let check = Command::new("python3")
        .arg(repo.join("scripts/report_check.py"))
        .arg(&page)
        .output();
    let _ = std::fs::remove_dir_all(&dir);
    judge(check, "report OK");
}
