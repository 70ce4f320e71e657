//! libFuzzer on stable through cargo-fuzz (`--sanitizer none`, see ../shared/FUZZING.md): build the
//! targets once with `cargo fuzz build`, then run the built binaries directly (no cargo start-up per
//! run) — fuzz for a time, minimise a crash (`-minimize_crash`, what `cargo fuzz tmin` runs), and
//! minimise a corpus kill-safely (`-merge=1` into a fresh directory, then swapped in by renames;
//! `cargo fuzz cmin` moves the corpus away first and loses it when killed mid-way).

use mta_build::Build;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::process::Command;

/// The repository's fuzz/ directory (cargo-fuzz crate).
pub fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz")
}

/// Whether cargo-fuzz can run here.
pub fn available() -> Result<(), String> {
    match Command::new("cargo").args(["fuzz", "--version"]).output() {
        Ok(o) if o.status.success() => Ok(()),
        _ => Err("cargo-fuzz is not installed (cargo install cargo-fuzz --locked)".into()),
    }
}

/// `cargo fuzz build --sanitizer none [targets…]` (all targets when empty).
pub fn build(targets: &[&str]) -> Result<(), String> {
    cargo_fuzz_build(targets, &[], &[])
}

/// The fuzz target that does nothing (`fuzz/fuzz_targets/trivial.rs`): the reference for speed.
pub const TRIVIAL: &str = "trivial";

/// Where [`build_without_goals`] puts its binaries (`fuzz/target-no-goals`).
pub fn no_goals_dir() -> PathBuf {
    fuzz_dir().join("target-no-goals")
}

/// Build every target with the reachability goals compiled out (`MTA_LAB_NO_GOALS=1`, which
/// `fuzz/rustc-cmp-scope.sh` turns into `--cfg mta_no_goals`) into [`no_goals_dir`]; returns the
/// directory of the binaries.
pub fn build_without_goals() -> Result<PathBuf, String> {
    let dir = no_goals_dir();
    let dir_arg = dir.display().to_string();
    cargo_fuzz_build(
        &[],
        &["--target-dir", &dir_arg],
        &[("MTA_LAB_NO_GOALS", "1")],
    )?;
    no_goals_binaries()
}

/// The directory of the binaries [`build_without_goals`] built.
pub fn no_goals_binaries() -> Result<PathBuf, String> {
    let trivial = binaries_under(&no_goals_dir(), TRIVIAL).map_err(|e| {
        format!("{e}; build them with mta-lab bench fuzz --goals-out (without --no-build)")
    })?;
    Ok(trivial
        .parent()
        .expect("a binary has a directory")
        .to_path_buf())
}

fn cargo_fuzz_build(targets: &[&str], args: &[&str], env: &[(&str, &str)]) -> Result<(), String> {
    available()?;
    let st = Command::new("cargo")
        .current_dir(fuzz_dir())
        .args(["fuzz", "build", "--sanitizer", "none"])
        .args(args)
        .args(targets)
        .envs(env.iter().copied())
        .status()
        .map_err(|e| format!("cargo fuzz build: {e}"))?;
    if st.success() {
        Ok(())
    } else {
        Err(format!(
            "cargo fuzz build --sanitizer none {} {} failed",
            args.join(" "),
            targets.join(" ")
        ))
    }
}

/// The built binary of a target (`fuzz/target/<host triple>/release/<target>`).
pub fn binary(target: &str) -> Result<PathBuf, String> {
    binaries_under(&fuzz_dir().join("target"), target)
}

/// The built binary of `target` under a cargo target directory (`<root>/<triple>/release/`).
fn binaries_under(root: &Path, target: &str) -> Result<PathBuf, String> {
    let mut found: Vec<PathBuf> = std::fs::read_dir(root)
        .map_err(|e| format!("{}: {e} (run cargo fuzz build)", root.display()))?
        .filter_map(|e| e.ok().map(|e| e.path().join("release").join(target)))
        .filter(|p| p.is_file())
        .collect();
    found.sort();
    found.pop().ok_or_else(|| {
        format!(
            "no built fuzz target {target} under {} (run cargo fuzz build --sanitizer none)",
            root.display()
        )
    })
}

/// The committed libFuzzer dictionary of a target (`corpora/dict/<target>.dict`, written by
/// `mta-lab corpus seed` from the harness's tokens), if it has one.
pub fn dictionary(target: &str) -> Option<PathBuf> {
    let p = mta_harness::corpora_dir()
        .join("dict")
        .join(format!("{target}.dict"));
    p.is_file().then(|| abs(&p))
}

/// The flags the campaign gives a target (the nightly, `bench fuzz`, `bench find`): value profile,
/// the target's `-max_len`, and its dictionary unless `dict` is false. The KB matrix's finder runs
/// libFuzzer plain instead: measured with `bench find`, Q182619 falls in about half the wall time
/// without value profile (the executions needed are about the same, each is cheaper).
pub fn campaign_flags(target: &str, dict: bool) -> Vec<String> {
    let max_len =
        crate::targets::by_name(target).map_or(mta_harness::DEFAULT_MAX_LEN, |t| t.max_len);
    let mut flags = vec![
        "-use_value_profile=1".to_string(),
        format!("-max_len={max_len}"),
    ];
    if dict && let Some(d) = dictionary(target) {
        flags.push(format!("-dict={}", d.display()));
    }
    flags
}

/// Fuzz targets whose harness oracle depends on the build (they carry KB defects): fuzzed on every
/// build. The others are build-independent codecs, fuzzed once.
pub const BUILD_TARGETS: &[&str] = &["driver_events", "nsi_pop4", "x25_up", "inbound_stack"];

/// The build a target is fuzzed on in CI and first in the nightly: the newest fixed build for the
/// targets whose oracle depends on the build, 5.5 for the codecs.
pub fn ci_build(target: &str) -> Build {
    if BUILD_TARGETS.contains(&target) {
        Build::ALL[Build::ALL.len() - 1]
    } else {
        Build::Ex55
    }
}

/// One point of a run's progress, from libFuzzer's status lines (`#N NEW cov: … corp: …/… exec/s: …`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Point {
    /// Executions so far.
    pub execs: u64,
    /// Coverage (edges) so far.
    pub cov: u64,
    /// Corpus units.
    pub corpus: u64,
    /// Executions per second at that point.
    pub exec_s: u64,
}

/// Parse one libFuzzer status line.
pub fn parse_status(line: &str) -> Option<Point> {
    let rest = line.strip_prefix('#')?;
    let (n, rest) = rest.split_once(|c: char| c.is_whitespace())?;
    let execs = n.parse().ok()?;
    let field = |name: &str| -> Option<u64> {
        let after = rest.split(name).nth(1)?;
        let digits: String = after
            .trim_start()
            .chars()
            .take_while(char::is_ascii_digit)
            .collect();
        digits.parse().ok()
    };
    Some(Point {
        execs,
        cov: field("cov:")?,
        corpus: field("corp:").unwrap_or(0),
        exec_s: field("exec/s:").unwrap_or(0),
    })
}

/// A fuzzing run to do.
pub struct Job<'a> {
    /// Target name.
    pub target: &'a str,
    /// Build (`MTA_LAB_BUILD`).
    pub build: Build,
    /// Corpus directories; the first is written to, the others are read.
    pub corpora: Vec<PathBuf>,
    /// Where crash/timeout inputs go.
    pub artifacts: PathBuf,
    /// Seconds of fuzzing.
    pub seconds: u64,
    /// libFuzzer `-seed`.
    pub seed: u64,
    /// Extra libFuzzer flags.
    pub flags: Vec<String>,
    /// The binary to run instead of the built target (`bench` runs another commit's binaries).
    pub binary: Option<PathBuf>,
    /// Feed protocol-state transitions to libFuzzer as coverage (`MTA_LAB_STATE_FEED`; the
    /// campaign does, `bench find --compare-state-feed` runs without too).
    pub state_feed: bool,
}

/// What a run did.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct RunStats {
    /// Executions.
    pub execs: u64,
    /// Average executions per second.
    pub exec_s: u64,
    /// Final coverage.
    pub cov: u64,
    /// Final corpus units.
    pub corpus: u64,
    /// Status points in order.
    pub series: Vec<Point>,
    /// Reachability goals the target reached, in the order it first reached them, with the
    /// executions of the status line before (see [`parse_progress`]).
    #[serde(default)]
    pub goals: Vec<(String, u64)>,
    /// Protocol-state transitions the target took, in the order first taken, with the executions
    /// of the status line before.
    #[serde(default)]
    pub states: Vec<(String, u64)>,
    /// Whether libFuzzer stopped on a crash, timeout or out-of-memory.
    pub crashed: bool,
}

fn abs(p: &Path) -> PathBuf {
    std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf())
}

/// Run libFuzzer once (it stops at the first crash, writing it under `artifacts`).
pub fn run(job: &Job<'_>) -> Result<RunStats, String> {
    let bin = match &job.binary {
        Some(b) => b.clone(),
        None => binary(job.target)?,
    };
    for d in job.corpora.iter().take(1).chain([&job.artifacts]) {
        std::fs::create_dir_all(d).map_err(|e| format!("{}: {e}", d.display()))?;
    }
    let out = Command::new(&bin)
        .env("MTA_LAB_BUILD", job.build.cli_name())
        .env(
            mta_harness::STATE_FEED_ENV,
            if job.state_feed { "1" } else { "0" },
        )
        .args(job.corpora.iter().filter(|d| d.is_dir()).map(|d| abs(d)))
        .arg(format!("-max_total_time={}", job.seconds.max(1)))
        .arg(format!(
            "-artifact_prefix={}/",
            abs(&job.artifacts).display()
        ))
        .arg(format!("-seed={}", job.seed % 4_000_000_000 + 1))
        .args(["-timeout=10", "-rss_limit_mb=2048", "-print_final_stats=1"])
        .args(&job.flags)
        .output()
        .map_err(|e| format!("{}: {e}", bin.display()))?;
    let stderr = String::from_utf8_lossy(&out.stderr);
    let stat = |name: &str| {
        stderr
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|n| n.trim().parse::<u64>().ok())
            .unwrap_or(0)
    };
    let Progress {
        series,
        goals,
        states,
    } = parse_progress(&stderr);
    let last = series.last().copied().unwrap_or_default();
    let crashed = stderr.contains("==ERROR: libFuzzer")
        || stderr.contains("panicked")
        || stderr.contains("ALARM: working on the last Unit");
    if series.is_empty() && !crashed && !out.status.success() {
        let tail: Vec<&str> = stderr.lines().rev().take(3).collect();
        return Err(format!("{} failed: {}", job.target, tail.join(" / ")));
    }
    Ok(RunStats {
        execs: stat("stat::number_of_executed_units:").max(last.execs),
        exec_s: match stat("stat::average_exec_per_sec:") {
            0 => last.exec_s,
            n => n,
        },
        cov: last.cov,
        corpus: last.corpus,
        series,
        goals,
        states,
        crashed,
    })
}

/// A fuzz target's stderr: the status points in order, each reachability goal the target printed
/// (`GOAL <name>`, once per process) and each protocol-state transition (`STATE <transition>`),
/// with the executions of the status line before it.
pub fn parse_progress(stderr: &str) -> Progress {
    let mut p = Progress::default();
    for line in stderr.lines() {
        if let Some(point) = parse_status(line) {
            p.series.push(point);
            continue;
        }
        let at = p.series.last().map_or(0, |x| x.execs);
        let (list, name) = if let Some(g) = line.strip_prefix("GOAL ") {
            (&mut p.goals, g)
        } else if let Some(t) = line.strip_prefix("STATE ") {
            (&mut p.states, t)
        } else {
            continue;
        };
        if list.iter().all(|(n, _)| n != name) {
            list.push((name.to_string(), at));
        }
    }
    p
}

/// What [`parse_progress`] reads from a run's stderr.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Progress {
    /// Status points in order.
    pub series: Vec<Point>,
    /// Goals, in the order first reached, with the executions before.
    pub goals: Vec<(String, u64)>,
    /// Protocol-state transitions, in the order first taken, with the executions before.
    pub states: Vec<(String, u64)>,
}

/// Files in a directory, sorted (none when it does not exist).
pub fn files(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|r| {
            r.filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.is_file())
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

/// Minimise a crash input on a build (`-minimize_crash=1`, as `cargo fuzz tmin`); writes `out`.
pub fn minimize(
    target: &str,
    build: Build,
    input: &Path,
    out: &Path,
    runs: u64,
) -> Result<(), String> {
    let bin = binary(target)?;
    if let Some(d) = out.parent() {
        std::fs::create_dir_all(d).map_err(|e| format!("{}: {e}", d.display()))?;
    }
    let o = Command::new(&bin)
        .env("MTA_LAB_BUILD", build.cli_name())
        .arg("-minimize_crash=1")
        .arg(format!("-runs={runs}"))
        .arg(format!("-exact_artifact_path={}", abs_out(out).display()))
        .args(["-timeout=10", "-rss_limit_mb=2048"])
        .arg(abs(input))
        .output()
        .map_err(|e| format!("{}: {e}", bin.display()))?;
    if out.is_file() {
        Ok(())
    } else {
        let stderr = String::from_utf8_lossy(&o.stderr);
        let tail: Vec<&str> = stderr.lines().rev().take(2).collect();
        Err(format!(
            "minimising {}: {}",
            input.display(),
            tail.join(" / ")
        ))
    }
}

fn abs_out(p: &Path) -> PathBuf {
    match (p.parent(), p.file_name()) {
        (Some(d), Some(n)) if !d.as_os_str().is_empty() => abs(d).join(n),
        _ => p.to_path_buf(),
    }
}

/// Minimise a corpus directory in place, kill-safely: merge into `<dir>.cmin`, then rename
/// `<dir>` → `<dir>.old`, `<dir>.cmin` → `<dir>`, and delete the old one. [`recover`] undoes a
/// swap cut in half. Returns (files before, files after).
pub fn cmin(target: &str, build: Build, dir: &Path) -> Result<(usize, usize), String> {
    recover(dir)?;
    let before = files(dir).len();
    if before == 0 {
        return Ok((0, 0));
    }
    let bin = binary(target)?;
    let new = dir.with_extension("cmin");
    let _ = std::fs::remove_dir_all(&new);
    std::fs::create_dir_all(&new).map_err(|e| format!("{}: {e}", new.display()))?;
    let o = Command::new(&bin)
        .env("MTA_LAB_BUILD", build.cli_name())
        .arg("-merge=1")
        .args(["-timeout=10", "-rss_limit_mb=2048"])
        .arg(abs(&new))
        .arg(abs(dir))
        .output()
        .map_err(|e| format!("{}: {e}", bin.display()))?;
    let after = files(&new).len();
    if !o.status.success() || after == 0 {
        let _ = std::fs::remove_dir_all(&new);
        let stderr = String::from_utf8_lossy(&o.stderr);
        let tail: Vec<&str> = stderr.lines().rev().take(2).collect();
        return Err(format!("cmin of {}: {}", dir.display(), tail.join(" / ")));
    }
    let old = dir.with_extension("old");
    std::fs::rename(dir, &old).map_err(|e| format!("{}: {e}", dir.display()))?;
    std::fs::rename(&new, dir).map_err(|e| format!("{}: {e}", new.display()))?;
    let _ = std::fs::remove_dir_all(&old);
    Ok((before, after))
}

/// Finish or undo a corpus swap that a kill interrupted.
pub fn recover(dir: &Path) -> Result<(), String> {
    let old = dir.with_extension("old");
    if old.is_dir() {
        if dir.is_dir() {
            std::fs::remove_dir_all(&old).map_err(|e| format!("{}: {e}", old.display()))?;
        } else {
            std::fs::rename(&old, dir).map_err(|e| format!("{}: {e}", old.display()))?;
        }
    }
    let _ = std::fs::remove_dir_all(dir.with_extension("cmin"));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_lines_parse() {
        let p = parse_status(
            "#211367\tNEW    cov: 716 ft: 2820 corp: 128/720b lim: 1910 exec/s: 6818 rss: 29Mb",
        )
        .unwrap();
        assert_eq!(
            p,
            Point {
                execs: 211_367,
                cov: 716,
                corpus: 128,
                exec_s: 6818
            }
        );
        assert_eq!(
            parse_status("#2\tINITED cov: 51 ft: 52 corp: 1/1b exec/s: 0 rss: 27Mb")
                .unwrap()
                .cov,
            51
        );
        assert!(parse_status("INFO: Seed: 1").is_none());
        assert!(parse_status("#abc cov: 1").is_none());
    }

    #[test]
    fn goals_are_placed_after_the_status_line_before_them() {
        let p = parse_progress(
            "GOAL lpi: stale LPI\n#2\tINITED cov: 51 ft: 52 corp: 1/1b exec/s: 0 rss: 27Mb\n\
             #900\tNEW    cov: 60 ft: 70 corp: 2/9b exec/s: 0 rss: 27Mb\nGOAL lpi: reused LPI\n\
             GOAL lpi: stale LPI\nSTATE cotp: CLOSED --CR--> WFTRESP\n",
        );
        assert_eq!(p.series.len(), 2);
        assert_eq!(
            p.states,
            [("cotp: CLOSED --CR--> WFTRESP".to_string(), 900)]
        );
        assert_eq!(
            p.goals,
            [
                ("lpi: stale LPI".to_string(), 0),
                ("lpi: reused LPI".to_string(), 900)
            ]
        );
    }

    #[test]
    fn a_swap_cut_in_half_is_undone() {
        let d = std::env::temp_dir().join(format!("mta-lab-recover-{}", std::process::id()));
        let corpus = d.join("c");
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(corpus.with_extension("old")).unwrap();
        std::fs::write(corpus.with_extension("old").join("x"), b"1").unwrap();
        recover(&corpus).unwrap();
        assert_eq!(files(&corpus).len(), 1, "the old corpus is back");
        let _ = std::fs::remove_dir_all(&d);
    }
}
