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
pub mod dict;
pub mod kb;
pub mod lpi_decode;
pub mod mta;
pub mod osi;
pub mod p1_decode;

use mta_build::{BUILD_COUNT, Build};
use std::cell::RefCell;
use std::path::{Path, PathBuf};

/// Environment variable that selects the build a harness runs on.
pub const BUILD_ENV: &str = "MTA_LAB_BUILD";

/// Build used when [`BUILD_ENV`] is unset: 5.5, the first build with every subsystem modelled.
pub const DEFAULT_BUILD: Build = Build::Ex55;

/// The build named by [`BUILD_ENV`]; else the build named in the executable's file name after
/// `__` with `.` written `_` (`driver_events__2000-sp3-rollup`, `x25_up__5_5-sp3`: how
/// ClusterFuzzLite/OSS-Fuzz, which cannot set environment variables, run a target on a chosen
/// build); else [`DEFAULT_BUILD`]. An invalid value is a hard error (a campaign on the wrong build
/// would be meaningless). Read once per process (fuzz targets call this on every input).
pub fn build_from_env() -> Build {
    static BUILD: std::sync::OnceLock<Build> = std::sync::OnceLock::new();
    *BUILD.get_or_init(|| match std::env::var(BUILD_ENV) {
        Ok(s) => s
            .parse()
            .unwrap_or_else(|e| panic!("{BUILD_ENV}={s:?}: {e}")),
        Err(_) => std::env::args()
            .next()
            .and_then(|exe| build_from_exe_name(&exe))
            .map_or(DEFAULT_BUILD, |r| r.unwrap_or_else(|e| panic!("{e}"))),
    })
}

/// The build suffix of a fuzz binary's name (`<target>__<build with . as _>`), if it has one.
pub fn build_from_exe_name(exe: &str) -> Option<Result<Build, String>> {
    let name = Path::new(exe).file_name()?.to_str()?;
    let (_, suffix) = name.split_once("__")?;
    let spelled = suffix.replace('_', ".");
    Some(
        spelled
            .parse()
            .map_err(|e| format!("executable {name:?}: build suffix {suffix:?}: {e}")),
    )
}

/// The executable name that selects `build` for `target` (see [`build_from_env`]).
pub fn exe_name_for(target: &str, build: Build) -> String {
    format!("{target}__{}", build.cli_name().replace('.', "_"))
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

/// Everything a harness needs that does not depend on the input — buffer manager, control-block
/// table, driver, POP4, parsed configurations — for one build. Built once per build and process
/// ([`Worlds`]) and reset between inputs, so a fuzzer's executions spend their time (and their
/// coverage features) on the input, not on set-up.
pub trait World: std::fmt::Debug {
    /// Build the world of `build` (the slow part).
    fn new(build: Build) -> Self;
    /// Back to exactly the state [`World::new`] gave, keeping allocations. Must not read the old
    /// state for anything but capacity: a run may have stopped anywhere (an oracle, a model
    /// panic). The reset-equivalence property (`tests/reset_equivalence.rs`) checks that running
    /// B after A and a reset leaves the same outcome and the same `Debug` state as B on a new world.
    fn reset(&mut self);
}

/// One world per build for one thread (use it from a `thread_local!`): [`Worlds::with`] hands out
/// the build's world, reset.
pub struct Worlds<W> {
    slots: RefCell<[Option<W>; BUILD_COUNT]>,
}

impl<W: World> Worlds<W> {
    /// No world built yet.
    pub const fn new() -> Self {
        Worlds {
            slots: RefCell::new([const { None }; BUILD_COUNT]),
        }
    }

    /// Run `f` on `build`'s world, reset first (built on first use). A re-entrant call (a harness
    /// that runs itself) gets a new world of its own.
    pub fn with<R>(&self, build: Build, f: impl FnOnce(&mut W) -> R) -> R {
        let Ok(mut slots) = self.slots.try_borrow_mut() else {
            return f(&mut W::new(build));
        };
        let w = slots[build.index()].get_or_insert_with(|| W::new(build));
        w.reset();
        f(w)
    }
}

impl<W: World> Default for Worlds<W> {
    fn default() -> Self {
        Self::new()
    }
}

/// The reset-equivalence check of one harness: run `b` on a new world of `build`; run `a`, reset
/// and run `b` on another; the outcomes (Ok class or failure text) and the worlds' whole `Debug`
/// state (event logs, buffer accounting, control-block generations…) must be identical.
pub fn reset_equivalence<W: World>(
    build: Build,
    a: &[u8],
    b: &[u8],
    run_in: impl Fn(&mut W, &[u8]) -> Result<&'static str, Failure>,
) -> Result<(), String> {
    let mut fresh = W::new(build);
    let want = run_in(&mut fresh, b);
    let mut reused = W::new(build);
    let _ = run_in(&mut reused, a);
    reused.reset();
    let got = run_in(&mut reused, b);
    if got != want {
        return Err(format!(
            "outcome after a reset {got:?}, on a new world {want:?}"
        ));
    }
    let (want, got) = (format!("{fresh:#?}"), format!("{reused:#?}"));
    if got != want {
        let line = want
            .lines()
            .zip(got.lines())
            .position(|(w, g)| w != g)
            .unwrap_or(0);
        let at = |s: &str| {
            s.lines()
                .skip(line.saturating_sub(3))
                .take(6)
                .collect::<Vec<_>>()
                .join("\n")
        };
        return Err(format!(
            "state after a reset differs from a new world's at line {line}:\nnew:\n{}\nreset:\n{}",
            at(&want),
            at(&got)
        ));
    }
    Ok(())
}

/// The world of a harness that keeps nothing between inputs (the codec targets): the build only.
/// Its reset check still runs B after A, which catches state hidden in statics.
#[derive(Debug)]
pub struct Stateless(pub Build);

impl World for Stateless {
    fn new(build: Build) -> Self {
        Stateless(build)
    }
    fn reset(&mut self) {}
}

/// [`reset_equivalence`] for a stateless harness.
pub fn stateless_check(
    run: fn(Build, &[u8]) -> Result<&'static str, Failure>,
    build: Build,
    a: &[u8],
    b: &[u8],
) -> Result<(), String> {
    reset_equivalence(build, a, b, |w: &mut Stateless, input| run(w.0, input))
}

/// A target's reset-equivalence check: (build, input A, input B).
pub type ResetCheck = fn(Build, &[u8], &[u8]) -> Result<(), String>;

/// One fuzz target: name and byte-level entry point.
#[derive(Clone, Copy)]
pub struct Target {
    /// Name (also the cargo-fuzz target and corpus directory name).
    pub name: &'static str,
    /// Run one input on a build; the `&'static str` is the outcome class for campaign summaries.
    pub run: fn(Build, &[u8]) -> Result<&'static str, Failure>,
    /// Meaningful seed inputs, (file name, bytes), committed under `corpora/fuzz/<name>/`.
    pub seeds: fn() -> Vec<(&'static str, Vec<u8>)>,
    /// Expected outcome (data, not model behaviour): whether every input must pass on a build
    /// with this profile. `false` where the target's oracle can fire on a KB defect of that build;
    /// findings there are expected and reported, not failures of the campaign.
    pub clean_on: fn(&mta_build::Profile) -> bool,
    /// [`reset_equivalence`] on this target's world: (build, input A, input B).
    pub reset_check: ResetCheck,
    /// libFuzzer's `-max_len` for this target in every campaign (nightly, KB finders, `bench
    /// fuzz`, ClusterFuzzLite): the longest input the harness reads. libFuzzer's own default is
    /// 4096; targets whose harness stops reading earlier say so, so no execution is spent on
    /// octets the harness ignores.
    pub max_len: usize,
}

/// libFuzzer's default `-max_len`, for targets that read every octet they are given.
pub const DEFAULT_MAX_LEN: usize = 4096;

/// For targets that must pass on every build.
pub fn always_clean(_: &mta_build::Profile) -> bool {
    true
}

/// Every fuzz target, in one table (as TigerBeetle's `fuzz_tests.zig`).
pub const TARGETS: &[Target] = &[
    Target {
        name: "bufmgr_ops",
        run: bufmgr_ops::run_bytes,
        seeds: bufmgr_ops::seeds,
        clean_on: always_clean,
        reset_check: bufmgr_ops::reset_check,
        max_len: bufmgr_ops::MAX_LEN,
    },
    Target {
        name: "ber_decode",
        run: ber_decode::run_bytes,
        seeds: ber_decode::seeds,
        clean_on: always_clean,
        reset_check: |b, x, y| stateless_check(ber_decode::run_bytes, b, x, y),
        max_len: DEFAULT_MAX_LEN,
    },
    Target {
        name: "lpi_decode",
        run: lpi_decode::run_bytes,
        seeds: lpi_decode::seeds,
        clean_on: always_clean,
        reset_check: lpi_decode::reset_check,
        max_len: DEFAULT_MAX_LEN,
    },
    Target {
        name: "tpkt_stream",
        run: osi::tpkt_stream,
        seeds: osi::tpkt_stream_seeds,
        clean_on: always_clean,
        reset_check: |b, x, y| stateless_check(osi::tpkt_stream, b, x, y),
        max_len: DEFAULT_MAX_LEN,
    },
    Target {
        name: "cotp_parse",
        run: osi::cotp_parse,
        seeds: osi::cotp_parse_seeds,
        clean_on: always_clean,
        reset_check: osi::cotp_parse_reset_check,
        max_len: DEFAULT_MAX_LEN,
    },
    Target {
        name: "session_parse",
        run: osi::session_parse,
        seeds: osi::session_parse_seeds,
        clean_on: always_clean,
        reset_check: osi::session_parse_reset_check,
        max_len: DEFAULT_MAX_LEN,
    },
    Target {
        name: "presentation_parse",
        run: osi::presentation_parse,
        seeds: osi::presentation_parse_seeds,
        clean_on: always_clean,
        reset_check: |b, x, y| stateless_check(osi::presentation_parse, b, x, y),
        max_len: DEFAULT_MAX_LEN,
    },
    Target {
        name: "rtse_parse",
        run: osi::rtse_parse,
        seeds: osi::rtse_parse_seeds,
        clean_on: always_clean,
        reset_check: |b, x, y| stateless_check(osi::rtse_parse, b, x, y),
        max_len: DEFAULT_MAX_LEN,
    },
    Target {
        name: "association",
        run: osi::association,
        seeds: osi::association_seeds,
        clean_on: always_clean,
        reset_check: osi::association_reset_check,
        max_len: DEFAULT_MAX_LEN,
    },
    Target {
        name: "p1_decode",
        run: p1_decode::run_bytes,
        seeds: p1_decode::seeds,
        clean_on: always_clean,
        reset_check: |b, x, y| stateless_check(p1_decode::run_bytes, b, x, y),
        max_len: DEFAULT_MAX_LEN,
    },
    Target {
        name: "driver_events",
        run: mta::driver_events,
        seeds: mta::driver_events_seeds,
        // Q182619: 4.0 – 5.5 SP1 can die with 9404.
        clean_on: |p| p.tcp_recovery_splits_buffer_request,
        reset_check: mta::driver_events_reset_check,
        max_len: mta::DRIVER_EVENTS_MAX_LEN,
    },
    Target {
        name: "nsi_pop4",
        run: mta::nsi_pop4,
        seeds: mta::nsi_pop4_seeds,
        // Q811406: 2000 SP3 leaks control blocks.
        clean_on: |p| p.nsi_bad_lpi_releases_control_block,
        reset_check: mta::nsi_pop4_reset_check,
        max_len: DEFAULT_MAX_LEN,
    },
    Target {
        name: "x25_up",
        run: mta::x25_up,
        seeds: mta::x25_up_seeds,
        // Q225157: 5.5 – 5.5 SP2 pass malformed buffers up (4.0/5.0 do not use that transport).
        clean_on: |p| p.x25_adapter_validates_buffers || !p.x25_winsock_transport,
        reset_check: mta::x25_up_reset_check,
        max_len: mta::X25_UP_MAX_LEN,
    },
    Target {
        name: "inbound_stack",
        run: mta::inbound_stack,
        seeds: mta::inbound_stack_seeds,
        // Q811406: a caller whose connection dies before POP4's accept reaches NSI — here one
        // whose TPKT framing breaks in the same segment as its CR, so NSI drops it at once —
        // leaves its block on 2000 SP3. (A caller that sends nothing and closes is NSI's to free:
        // no leak on any build.)
        clean_on: |p| p.nsi_bad_lpi_releases_control_block,
        reset_check: mta::inbound_stack_reset_check,
        max_len: DEFAULT_MAX_LEN,
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

/// Run one input and collect the reachability goals it reached (`mta_reach`).
pub fn run_goals(
    t: &Target,
    build: Build,
    input: &[u8],
) -> (Result<&'static str, Failure>, mta_reach::GoalSet) {
    mta_reach::collect(|| (t.run)(build, input))
}

/// Run one input and collect the goals it reached and the protocol-state transitions it took.
pub fn run_observed(
    t: &Target,
    build: Build,
    input: &[u8],
) -> (
    Result<&'static str, Failure>,
    mta_reach::GoalSet,
    Vec<mta_reach::Transition>,
) {
    mta_reach::collect_all(|| (t.run)(build, input))
}

/// `MTA_LAB_STATE_FEED=0` turns off feeding protocol-state transitions to libFuzzer as coverage
/// (to measure what the feed is worth); anything else, or nothing, leaves it on.
pub const STATE_FEED_ENV: &str = "MTA_LAB_STATE_FEED";

/// A fuzz target's body: run the input on the process's build; an oracle that fires is a crash.
/// Each reachability goal is printed to stderr once per process (`GOAL <name>`), the first time an
/// input reaches it, and each protocol-state transition likewise (`STATE <machine>: <from>
/// --<input>--> <to>`), for the campaign to record; transitions are also fed to libFuzzer as
/// coverage (`mta_reach::feed`) unless `MTA_LAB_STATE_FEED=0`.
pub fn fuzz_one(target: &str, data: &[u8]) {
    thread_local! {
        static SEEN: std::cell::Cell<mta_reach::GoalSet> =
            const { std::cell::Cell::new(mta_reach::GoalSet::EMPTY) };
        static SEEN_STATES: RefCell<std::collections::BTreeSet<mta_reach::Transition>> =
            const { RefCell::new(std::collections::BTreeSet::new()) };
    }
    static FEED: std::sync::Once = std::sync::Once::new();
    FEED.call_once(|| {
        mta_reach::set_feed(std::env::var(STATE_FEED_ENV).map_or(true, |v| v != "0"));
    });
    let build = build_from_env();
    let t = TARGETS
        .iter()
        .find(|t| t.name == target)
        .unwrap_or_else(|| panic!("no fuzz target {target}"));
    let (result, reached, transitions) = run_observed(t, build, data);
    let new = SEEN.with(|seen| {
        let new = reached.difference(seen.get());
        seen.set(seen.get().union(reached));
        new
    });
    for g in new.names() {
        eprintln!("GOAL {g}");
    }
    if !transitions.is_empty() {
        SEEN_STATES.with(|seen| {
            let mut seen = seen.borrow_mut();
            for tr in transitions {
                if seen.insert(tr) {
                    eprintln!("STATE {tr}");
                }
            }
        });
    }
    if let Err(failure) = result {
        panic!("{failure} (build {build})");
    }
}

/// The KB reproducers `corpora/kb/<KB>/<target>@<build>` under `root` (the corpora directory),
/// sorted: (file, its target, the build it reproduces on). A file named for no target or build is
/// an error.
pub fn kb_reproducers(root: &Path) -> Result<Vec<(PathBuf, &'static Target, Build)>, String> {
    let kb_dir = root.join("kb");
    let read = |d: &Path| std::fs::read_dir(d).map_err(|e| format!("{}: {e}", d.display()));
    let mut out = Vec::new();
    for kb in read(&kb_dir)? {
        let kb = kb.map_err(|e| e.to_string())?.path();
        if !kb.is_dir() {
            continue;
        }
        for f in read(&kb)? {
            let f = f.map_err(|e| e.to_string())?.path();
            let name = f
                .file_name()
                .unwrap_or_default()
                .to_string_lossy()
                .to_string();
            let Some((target, build)) = name.split_once('@') else {
                continue;
            };
            let t = TARGETS
                .iter()
                .find(|t| t.name == target)
                .ok_or_else(|| format!("{}: no target {target}", f.display()))?;
            let b: Build = build.parse().map_err(|e| format!("{}: {e}", f.display()))?;
            out.push((f, t, b));
        }
    }
    out.sort_by(|x, y| x.0.cmp(&y.0));
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_build_suffix_in_the_executable_name_selects_the_build() {
        for b in Build::ALL {
            let name = exe_name_for("driver_events", b);
            assert!(
                name.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-'),
                "{name} is not a valid OSS-Fuzz target name"
            );
            assert_eq!(build_from_exe_name(&format!("/out/{name}")), Some(Ok(b)));
        }
        assert_eq!(build_from_exe_name("/out/driver_events"), None);
        assert!(matches!(
            build_from_exe_name("x25_up__9_9"),
            Some(Err(e)) if e.contains("9.9")
        ));
    }
}
