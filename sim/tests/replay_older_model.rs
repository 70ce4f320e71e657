//! A finding recorded on an older model version replays with a plain note saying so, its trace
//! no longer held to (a different one is expected), and its signature still checked: reproduced,
//! exit 0. On the current version the same file replays bit-identically with no note.
#![allow(missing_docs)]

use std::path::Path;
use std::process::Command;

fn replay(file: &Path) -> (Option<i32>, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_mta-lab"))
        .arg("replay")
        .arg(file)
        .output()
        .expect("run mta-lab");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

#[test]
fn a_finding_from_an_older_model_says_so_and_still_checks_its_signature() {
    let current = mta_lab_world::finding::MODEL_VERSION;
    let original = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../corpora/regressions/sim/q811406-2000sp3-short-timeout-burst-leaks-blocks.toml");
    let text = std::fs::read_to_string(&original).unwrap();
    let line = text
        .lines()
        .find(|l| l.starts_with("model_version = "))
        .unwrap();
    assert_eq!(
        line,
        format!("model_version = {current:?}"),
        "the committed finding is recorded on the current model"
    );

    let (code, out) = replay(&original);
    assert_eq!(code, Some(0), "{out}");
    assert!(!out.contains("note: recorded on model"), "{out}");
    assert!(
        out.contains("(bit-identical), signature reproduced"),
        "{out}"
    );

    let dir = std::env::temp_dir().join(format!("mta-lab-older-model-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let older = dir.join("older.toml");
    // An older model's trace hash is not this model's: a different trace is what to expect.
    let rewritten = text
        .replace(line, "model_version = \"0.0.1\"")
        .lines()
        .map(|l| {
            if l.starts_with("trace_hash = ") {
                "trace_hash = \"0000000000000000\""
            } else {
                l
            }
        })
        .collect::<Vec<_>>()
        .join("\n");
    std::fs::write(&older, rewritten).unwrap();
    let (code, out) = replay(&older);
    assert_eq!(code, Some(0), "{out}");
    assert!(
        out.contains(&format!(
            "note: recorded on model 0.0.1, replaying on model {current}: the trace may differ, \
             the signature is what is checked"
        )),
        "{out}"
    );
    assert!(
        out.contains("(DIFFERENT, expected across model versions), signature reproduced"),
        "{out}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// A copy of the committed finding with its provenance fields set to `commit` and `rustc`.
fn with_provenance(dir: &Path, name: &str, commit: &str, rustc: &str) -> std::path::PathBuf {
    let original = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../corpora/regressions/sim/q811406-2000sp3-short-timeout-burst-leaks-blocks.toml");
    let text = std::fs::read_to_string(&original).unwrap();
    assert!(
        !text.contains("lab_commit"),
        "the committed finding predates the provenance fields"
    );
    let p = dir.join(name);
    std::fs::write(
        &p,
        // Top-level keys go before the file's tables.
        format!("lab_commit = {commit:?}\nrustc_version = {rustc:?}\n{text}"),
    )
    .unwrap();
    p
}

#[test]
fn a_finding_from_an_older_commit_or_compiler_warns_on_replay_and_still_reproduces() {
    use mta_lab_world::finding::{LAB_COMMIT, RUSTC_VERSION};
    let dir = std::env::temp_dir().join(format!("mta-lab-older-commit-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();

    // Recorded by this very binary: no warning.
    let same = with_provenance(&dir, "same.toml", LAB_COMMIT, RUSTC_VERSION);
    let (code, out) = replay(&same);
    assert_eq!(code, Some(0), "{out}");
    assert!(!out.contains("warning:"), "{out}");
    assert!(
        out.contains("(bit-identical), signature reproduced"),
        "{out}"
    );

    // An older commit and compiler: one warning each, naming both sides; still exit 0.
    let old = "0123456789abcdef0123456789abcdef01234567";
    let older = with_provenance(
        &dir,
        "older.toml",
        old,
        "rustc 1.80.0 (051478957 2024-07-21)",
    );
    let (code, out) = replay(&older);
    assert_eq!(code, Some(0), "{out}");
    assert!(
        out.contains(&format!(
            "warning: recorded on lab commit {old}, replaying on {LAB_COMMIT}"
        )),
        "{out}"
    );
    assert!(
        out.contains(&format!(
            "warning: recorded on compiler rustc 1.80.0 (051478957 2024-07-21), replaying on \
             {RUSTC_VERSION}"
        )),
        "{out}"
    );
    assert!(out.contains("signature reproduced"), "{out}");

    // A finding from before the fields: it loads, and the warning says what is unknown.
    let original = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../corpora/regressions/sim/q811406-2000sp3-short-timeout-burst-leaks-blocks.toml");
    let (code, out) = replay(&original);
    assert_eq!(code, Some(0), "{out}");
    assert!(
        out.contains(&format!(
            "warning: lab commit unknown (the finding predates that field), replaying on \
             {LAB_COMMIT}"
        )),
        "{out}"
    );
    assert!(
        out.contains("warning: compiler unknown (the finding predates that field)"),
        "{out}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
