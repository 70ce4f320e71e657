//! The source-coverage phase on a small fixture: `lpi_decode` over a two-file corpus. Known values:
//! the LPI decoder and the buffer manager's request path are executed, the encoder (which this
//! target no longer runs) and the TCP driver's recovery path are listed as never executed.
//! Needs cargo-fuzz and rustup's llvm-tools; without them it is skipped with a message unless `CI`
//! is set (then missing tools fail it).
#![allow(missing_docs)]

use std::path::Path;
use std::process::Command;

fn tools_missing() -> Option<String> {
    let fuzz = Command::new("cargo").args(["fuzz", "--version"]).output();
    if !fuzz.is_ok_and(|o| o.status.success()) {
        return Some("cargo-fuzz is not installed".into());
    }
    None
}

#[test]
fn lpi_decode_over_two_seeds_covers_the_decoder_and_lists_the_driver_as_never_executed() {
    if let Some(why) = tools_missing() {
        assert!(std::env::var_os("CI").is_none(), "{why} (CI is set)");
        eprintln!("skipped: {why}");
        return;
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let work = std::env::temp_dir().join(format!("mta-lab-coverage-{}", std::process::id()));
    let corpus = work.join("corpus");
    let _ = std::fs::remove_dir_all(&work);
    std::fs::create_dir_all(&corpus).unwrap();
    for seed in [
        "live-connect-indication-cb1",
        "q811406-close-request-for-released-block",
    ] {
        std::fs::copy(
            root.join("corpora/fuzz/lpi_decode").join(seed),
            corpus.join(seed),
        )
        .unwrap();
    }
    let out = Command::new(env!("CARGO_BIN_EXE_mta-lab"))
        .args([
            "coverage",
            "--target",
            "lpi_decode",
            "--no-committed",
            "--corpus",
        ])
        .arg(&corpus)
        .arg("--out")
        .arg(work.join("out"))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    if stdout.contains("source coverage unavailable") {
        assert!(std::env::var_os("CI").is_none(), "{stdout}");
        eprintln!("skipped: {stdout}");
        return;
    }
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(work.join("out/coverage.json")).unwrap())
            .unwrap();
    let uncovered = |krate: &str| -> Vec<String> {
        json["uncovered"][krate]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap().to_string())
            .collect()
    };
    let lpi = uncovered("lpi");
    assert!(
        !lpi.iter().any(|f| f == "mta_lpi::decoder::decode"),
        "decode ran"
    );
    assert!(!lpi.iter().any(|f| f == "mta_lpi::decoder::decode_buffer"));
    assert!(
        lpi.iter()
            .any(|f| f == "mta_lpi::decoder::encode_into_buffer")
    );
    let bufmgr = uncovered("bufmgr");
    assert!(
        !bufmgr
            .iter()
            .any(|f| f == "<mta_bufmgr::pool::BufferManager>::request_for_len")
    );
    assert!(
        uncovered("mta")
            .iter()
            .any(|f| f == "<mta_mta::driver::TcpDriver>::connect_failed")
    );
    let lines = &json["crates"]["lpi"]["lines"];
    let (covered, count) = (
        lines["covered"].as_u64().unwrap(),
        lines["count"].as_u64().unwrap(),
    );
    assert!(
        covered > 20 && covered < count,
        "lpi lines {covered}/{count}"
    );
    assert!(work.join("out/html/index.html").is_file());
    let _ = std::fs::remove_dir_all(&work);
}
