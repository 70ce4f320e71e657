//! Build metadata for findings and reports: the lab's git commit (`git rev-parse HEAD`, or
//! "unknown" outside a git checkout) and the compiler (`$RUSTC --version`). Metadata only: never
//! part of a trace hash or of anything a determinism test compares.

use std::path::Path;
use std::process::Command;

fn git(args: &[&str]) -> Option<String> {
    // The manifest directory of this run (cargo sets it), never the one this script was compiled
    // in: cargo shares a build script's binary between checkouts of the same workspace.
    let dir = std::env::var_os("CARGO_MANIFEST_DIR")?;
    let out = Command::new("git")
        .args(args)
        .current_dir(dir)
        .output()
        .ok()?;
    let text = String::from_utf8(out.stdout).ok()?.trim().to_string();
    (out.status.success() && !text.is_empty()).then_some(text)
}

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    let commit = git(&["rev-parse", "HEAD"]).unwrap_or_else(|| "unknown".into());
    if commit != "unknown" {
        // Rebuild when HEAD moves: HEAD itself, the branch it names, and packed refs.
        let mut watch = vec!["HEAD".to_string(), "packed-refs".to_string()];
        if let Some(r) = git(&["rev-parse", "--symbolic-full-name", "HEAD"]) {
            watch.push(r);
        }
        for w in watch {
            if let Some(p) = git(&["rev-parse", "--path-format=absolute", "--git-path", &w])
                && Path::new(&p).exists()
            {
                println!("cargo:rerun-if-changed={p}");
            }
        }
    }
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let version = Command::new(&rustc)
        .arg("--version")
        .output()
        .ok()
        .filter(|o| o.status.success())
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "unknown".into());
    println!("cargo:rustc-env=MTA_LAB_COMMIT={commit}");
    println!("cargo:rustc-env=MTA_LAB_RUSTC={version}");
}
