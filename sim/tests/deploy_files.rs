//! The scale-out files cannot rot unnoticed: every YAML file under `.github/workflows/`,
//! `.clusterfuzzlite/` and `deploy/` parses, carries the fields its platform requires, and every
//! `mta-lab` command in them is accepted by the current CLI (flag names checked by clap).
#![allow(missing_docs)]

use std::path::{Path, PathBuf};
use std::process::Command;
use yaml_rust2::{Yaml, YamlLoader};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn yaml_files(dir: &str) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(repo().join(dir))
        .unwrap_or_else(|e| panic!("{dir}: {e}"))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.extension()
                .is_some_and(|x| x.eq_ignore_ascii_case("yml") || x.eq_ignore_ascii_case("yaml"))
        })
        .collect();
    v.sort();
    assert!(!v.is_empty(), "no YAML in {dir}");
    v
}

fn load(p: &Path) -> Vec<Yaml> {
    let text = std::fs::read_to_string(p).unwrap();
    YamlLoader::load_from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

fn str_of<'a>(y: &'a Yaml, key: &str) -> Option<&'a str> {
    y[key].as_str()
}

/// Every `run:` string of a workflow.
fn runs(doc: &Yaml) -> Vec<String> {
    let mut v = Vec::new();
    if let Some(jobs) = doc["jobs"].as_hash() {
        for (_, job) in jobs {
            for step in job["steps"].as_vec().into_iter().flatten() {
                if let Some(r) = step["run"].as_str() {
                    v.push(r.to_string());
                }
            }
        }
    }
    v
}

/// The `mta-lab` invocations in a shell line, placeholders filled with valid values.
fn mta_lab_commands(line: &str) -> Vec<Vec<String>> {
    let filled = line
        .replace("${{ matrix.world }}", "standard")
        .replace("${{ matrix.build }}", "2000-sp3-rollup")
        .replace("${{ matrix.shard }}", "0")
        .replace("$(JOB_COMPLETION_INDEX)", "0");
    let mut out = Vec::new();
    for (marker, prefix) in [
        ("mta-lab -- ", vec![]),
        ("target/release/mta-lab ", vec![]),
        ("mta-lab merge ", vec!["merge".to_string()]),
        ("scripts/nightly.sh", vec!["nightly".to_string()]),
    ] {
        let mut rest = filled.as_str();
        while let Some(i) = rest.find(marker) {
            rest = &rest[i + marker.len()..];
            let mut words: Vec<String> = prefix.clone();
            for w in rest.split_whitespace() {
                if ["||", "&&", ";", "|"].contains(&w) {
                    break;
                }
                words.push(w.to_string());
            }
            out.push(words);
        }
    }
    out
}

fn accepted(words: &[String]) {
    let out = Command::new(env!("CARGO_BIN_EXE_mta-lab"))
        .args(words)
        .arg("--help")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "mta-lab {} rejected: {}",
        words.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn workflows_are_complete_and_their_commands_exist() {
    let mut commands = 0;
    for p in yaml_files(".github/workflows") {
        for doc in load(&p) {
            let name = p.display().to_string();
            assert!(str_of(&doc, "name").is_some(), "{name}: no name");
            assert!(!doc["on"].is_badvalue(), "{name}: no `on` trigger");
            let jobs = doc["jobs"]
                .as_hash()
                .unwrap_or_else(|| panic!("{name}: no jobs"));
            assert!(!jobs.is_empty(), "{name}: no jobs");
            for (id, job) in jobs {
                let id = id.as_str().unwrap_or("?");
                assert!(
                    job["runs-on"].as_str().is_some(),
                    "{name}: job {id} has no runs-on"
                );
                let steps = job["steps"]
                    .as_vec()
                    .unwrap_or_else(|| panic!("{name}: job {id} has no steps"));
                for s in steps {
                    assert!(
                        s["uses"].as_str().is_some() || s["run"].as_str().is_some(),
                        "{name}: job {id}: a step with neither uses nor run"
                    );
                }
                if let Some(needs) = job["needs"].as_str() {
                    assert!(
                        jobs.contains_key(&Yaml::String(needs.into())),
                        "{name}: job {id} needs unknown job {needs}"
                    );
                }
            }
            for r in runs(&doc) {
                for c in mta_lab_commands(&r) {
                    accepted(&c);
                    commands += 1;
                }
                if r.contains(".ci/run") {
                    assert!(repo().join(".ci/run").is_file());
                }
            }
        }
    }
    assert!(commands >= 3, "only {commands} mta-lab commands found");
}

#[test]
fn clusterfuzzlite_project_is_rust_and_builds_every_target() {
    let docs = load(&repo().join(".clusterfuzzlite/project.yaml"));
    assert_eq!(str_of(&docs[0], "language"), Some("rust"));
    let docker = std::fs::read_to_string(repo().join(".clusterfuzzlite/Dockerfile")).unwrap();
    assert!(docker.contains("base-builder-rust"));
    let build = std::fs::read_to_string(repo().join(".clusterfuzzlite/build.sh")).unwrap();
    assert!(build.contains("cargo fuzz build --sanitizer none"));
    // The build-dependent targets it names are the ones the harness knows.
    for t in ["driver_events", "nsi_pop4", "x25_up", "inbound_stack"] {
        assert!(build.contains(t), "{t}");
        assert!(mta_harness::TARGETS.iter().any(|x| x.name == t));
    }
}

#[test]
fn kubernetes_objects_are_complete_and_the_indexed_job_shards_match() {
    let mut indexed = 0;
    for p in yaml_files("deploy") {
        for doc in load(&p) {
            let name = p.display().to_string();
            for k in ["apiVersion", "kind"] {
                assert!(str_of(&doc, k).is_some(), "{name}: no {k}");
            }
            assert!(
                doc["metadata"]["name"].as_str().is_some(),
                "{name}: no metadata.name"
            );
            if str_of(&doc, "kind") != Some("Job") {
                continue;
            }
            let spec = &doc["spec"];
            for c in spec["template"]["spec"]["containers"]
                .as_vec()
                .unwrap_or_else(|| panic!("{name}: no containers"))
            {
                assert!(c["image"].as_str().is_some(), "{name}: container image");
                let args: Vec<String> = c["args"]
                    .as_vec()
                    .into_iter()
                    .flatten()
                    .filter_map(|a| a.as_str().map(str::to_string))
                    .collect();
                if spec["completionMode"].as_str() == Some("Indexed") {
                    indexed += 1;
                    let n = spec["completions"].as_i64().expect("completions");
                    let shard = args
                        .iter()
                        .position(|a| a == "--shard")
                        .map(|i| args[i + 1].clone())
                        .expect("--shard");
                    assert_eq!(shard, format!("$(JOB_COMPLETION_INDEX)/{n}"), "{name}");
                    let words: Vec<String> = args
                        .iter()
                        .map(|a| a.replace("$(JOB_COMPLETION_INDEX)", "0"))
                        .collect();
                    accepted(&words);
                } else {
                    for a in &args {
                        for c in mta_lab_commands(a) {
                            accepted(&c);
                        }
                    }
                }
            }
        }
    }
    assert_eq!(indexed, 1, "one Indexed Job");
}
