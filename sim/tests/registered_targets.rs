//! The targets that live above the campaign crate (`input_files`, over the lab's own input files)
//! reach the nightly's plan and the binary's commands once registered, as `mta-lab` does first
//! thing (`mta_lab_campaign::targets::register`).

use std::process::Command;

#[test]
fn the_nightly_plans_input_files_once_it_is_registered() {
    mta_lab_campaign::targets::register(mta_lab_net::input_files::TARGETS);
    let units = mta_lab_campaign::nightly::campaign_units();
    assert!(
        units
            .iter()
            .any(|(kind, target, _)| kind == "fuzz" && target.as_deref() == Some("input_files")),
        "{units:?}"
    );
    assert!(mta_lab_campaign::targets::by_name("input_files").is_some());
}

#[test]
fn the_binary_replays_an_input_files_seed() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../corpora/fuzz/input_files");
    let seed = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .min()
        .expect("a committed input_files seed");
    let out = Command::new(env!("CARGO_BIN_EXE_mta-lab"))
        .args(["replay", "input_files"])
        .arg(&seed)
        .args(["--build", "2000-sp3-rollup"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        text.contains("input_files on 2000-sp3-rollup: ok"),
        "{text}"
    );
}
