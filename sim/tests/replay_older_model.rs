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
