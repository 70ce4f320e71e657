//! Fuzz and property harnesses over the models: one function per target, reused four ways — the
//! `cargo test` property tests (bolero / proptest), the cargo-fuzz targets in `fuzz/fuzz_targets/`,
//! replay of every file in `corpora/fuzz/<target>/` and `corpora/regressions/<target>/`, and the
//! `mta-lab smoke` campaign.
//!
//! Every harness takes the build from outside the input ([`build_from_env`]), so a crashing input
//! means the same thing on every build, and returns `Err(Failure)` when an oracle fires; fuzz targets
//! turn that into a panic. Each harness has a `*_with` twin that takes a deliberately broken
//! reference model: the canary tests prove the oracle can fire.

pub mod ber_decode;
pub mod bufmgr_ops;
pub mod lpi_decode;
pub mod osi;
pub mod p1_decode;

use mta_build::Build;
use std::path::{Path, PathBuf};

/// Environment variable that selects the build a harness runs on.
pub const BUILD_ENV: &str = "MTA_LAB_BUILD";

/// Build used when [`BUILD_ENV`] is unset: 5.5, the first build with every subsystem modelled.
pub const DEFAULT_BUILD: Build = Build::Ex55;

/// The build named by [`BUILD_ENV`], or [`DEFAULT_BUILD`]. An invalid value is a hard error (a
/// campaign on the wrong build would be meaningless).
/// Read once per process (fuzz targets call this on every input).
pub fn build_from_env() -> Build {
    static BUILD: std::sync::OnceLock<Build> = std::sync::OnceLock::new();
    *BUILD.get_or_init(|| match std::env::var(BUILD_ENV) {
        Ok(s) => s
            .parse()
            .unwrap_or_else(|e| panic!("{BUILD_ENV}={s:?}: {e}")),
        Err(_) => DEFAULT_BUILD,
    })
}

/// An oracle that fired.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("[{target}] {what}")]
pub struct Failure {
    /// Harness name.
    pub target: &'static str,
    /// What went wrong.
    pub what: String,
}

impl Failure {
    fn new(target: &'static str, what: impl Into<String>) -> Self {
        Failure {
            target,
            what: what.into(),
        }
    }
}

/// One fuzz target: name and byte-level entry point.
#[derive(Clone, Copy)]
pub struct Target {
    /// Name (also the cargo-fuzz target and corpus directory name).
    pub name: &'static str,
    /// Run one input on a build; the `&'static str` is the outcome class for campaign summaries.
    pub run: fn(Build, &[u8]) -> Result<&'static str, Failure>,
    /// Meaningful seed inputs, (file name, bytes), committed under `corpora/fuzz/<name>/`.
    pub seeds: fn() -> Vec<(&'static str, Vec<u8>)>,
}

/// Every fuzz target, in one table (as TigerBeetle's `fuzz_tests.zig`).
pub const TARGETS: &[Target] = &[
    Target {
        name: "bufmgr_ops",
        run: bufmgr_ops::run_bytes,
        seeds: bufmgr_ops::seeds,
    },
    Target {
        name: "ber_decode",
        run: ber_decode::run_bytes,
        seeds: ber_decode::seeds,
    },
    Target {
        name: "lpi_decode",
        run: lpi_decode::run_bytes,
        seeds: lpi_decode::seeds,
    },
    Target {
        name: "tpkt_stream",
        run: osi::tpkt_stream,
        seeds: osi::tpkt_stream_seeds,
    },
    Target {
        name: "cotp_parse",
        run: osi::cotp_parse,
        seeds: osi::cotp_parse_seeds,
    },
    Target {
        name: "session_parse",
        run: osi::session_parse,
        seeds: osi::session_parse_seeds,
    },
    Target {
        name: "presentation_parse",
        run: osi::presentation_parse,
        seeds: osi::presentation_parse_seeds,
    },
    Target {
        name: "rtse_parse",
        run: osi::rtse_parse,
        seeds: osi::rtse_parse_seeds,
    },
    Target {
        name: "association",
        run: osi::association,
        seeds: osi::association_seeds,
    },
    Target {
        name: "p1_decode",
        run: p1_decode::run_bytes,
        seeds: p1_decode::seeds,
    },
];

/// The repository's `corpora/` directory (from this crate's manifest directory).
pub fn corpora_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../corpora")
}

/// Every file under `corpora/fuzz/<target>/` and `corpora/regressions/<target>/`, sorted.
pub fn corpus_files(root: &Path, target: &str) -> std::io::Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    for sub in ["fuzz", "regressions"] {
        let dir = root.join(sub).join(target);
        if !dir.is_dir() {
            continue;
        }
        for entry in std::fs::read_dir(&dir)? {
            let p = entry?.path();
            if p.is_file() {
                files.push(p);
            }
        }
    }
    files.sort();
    Ok(files)
}
