//! `mta-lab bench`: the one command a user runs to compare commits or machines. Each subcommand
//! prints one side-by-side table and writes JSON:
//!
//! - `bench fuzz` — every built libFuzzer binary for N s on a copy of its committed corpus, on its
//!   CI build, with the campaign's flags (value profile, the target's `-max_len`, its dictionary),
//!   beside the `trivial` target built and run the same way: exec/s and the ratio to trivial, so
//!   the figures mean the same on a fast or slow, quiet or busy machine; `--baseline DIR` runs
//!   another commit's binaries in the same run (before/after columns);
//! - `bench find` — time-to-find of a KB from an empty corpus, seeds × builds, with and without
//!   dictionaries or against a baseline's binaries;
//! - `bench sim` — seeds/s of the standard world and simulated/wall time;
//! - `bench ber` — mta-ber's walker beside a plain reference walker ([`crate::bench_ber`]);
//! - `bench p1` — mta-p1's decode (owned and view) beside the rasn model ([`crate::bench_p1`]: the
//!   criterion bench).
//!
//! It reads the wall clock (that is what it measures) and drives the built fuzz binaries through
//! [`crate::libfuzzer`]; it never touches the models except to judge a crash input.

use crate::libfuzzer;
use crate::libfuzzer::ci_build;
use crate::smoke::{run_one, target_by_name};
use clap::{Args, Subcommand};
use mta_build::Build;
use serde::Serialize;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// `mta-lab bench …`.
#[derive(Subcommand)]
pub enum BenchCommand {
    /// Every fuzz target's exec/s beside the trivial target, with the campaign's flags.
    Fuzz(FuzzArgs),
    /// Time-to-find of a KB's crash from an empty corpus (libFuzzer, seeds × builds).
    Find(FindArgs),
    /// Seeds/s of the standard world on one core and simulated/wall time.
    Sim(SimArgs),
    /// mta-ber's walker beside a plain reference walker on four buffer mixes (elements/s, ratio).
    Ber(BerArgs),
    /// mta-p1's decode (owned and view) beside the rasn model of the same envelope (the criterion
    /// bench, run).
    P1(P1Args),
}

/// Run one `mta-lab bench` subcommand.
pub fn run(command: &BenchCommand) -> Result<ExitCode, String> {
    match command {
        BenchCommand::Fuzz(a) => fuzz(a),
        BenchCommand::Find(a) => find(a),
        BenchCommand::Sim(a) => sim(a),
        BenchCommand::Ber(a) => ber(a),
        BenchCommand::P1(a) => p1(a),
    }
}

/// `bench fuzz` options.
#[derive(Args)]
pub struct FuzzArgs {
    /// Seconds per run.
    #[arg(long, default_value_t = 10)]
    pub seconds: u64,
    /// Only these targets (comma-separated; default: every target).
    #[arg(long, value_delimiter = ',')]
    pub targets: Vec<String>,
    /// Another commit's built fuzz binaries (a copy of fuzz/target/<triple>/release): each target
    /// runs with them too, in the same run, for before/after columns.
    #[arg(long)]
    pub baseline: Option<PathBuf>,
    /// Also run each target built with the reachability goals compiled out (`--cfg
    /// mta_no_goals`, built into fuzz/target-no-goals), for a "goals out" column: what `reach!`
    /// costs.
    #[arg(long)]
    pub goals_out: bool,
    /// Without the dictionaries.
    #[arg(long)]
    pub no_dict: bool,
    /// Use the binaries as built (skip `cargo fuzz build`).
    #[arg(long)]
    pub no_build: bool,
    /// Write the table as JSON here.
    #[arg(long, default_value = "target/mta-lab/bench/fuzz.json")]
    pub json: PathBuf,
}

/// `bench find` options.
#[derive(Args)]
pub struct FindArgs {
    /// The KB whose crash to find: Q182619 (driver_events), Q225157 (x25_up) or Q811406
    /// (nsi_pop4).
    #[arg(long, default_value = "Q182619")]
    pub kb: String,
    /// Builds (comma-separated; default: every build the KB names).
    #[arg(long, value_delimiter = ',')]
    pub builds: Vec<Build>,
    /// libFuzzer seeds per build (1..=N).
    #[arg(long, default_value_t = 5)]
    pub seeds: u64,
    /// Seconds before a run counts as not found.
    #[arg(long, default_value_t = 120)]
    pub budget: u64,
    /// Without the dictionary.
    #[arg(long)]
    pub no_dict: bool,
    /// libFuzzer as the KB matrix's finder ran it before this lab had campaign flags: no value
    /// profile, libFuzzer's default -max_len, no dictionary.
    #[arg(long)]
    pub plain: bool,
    /// Also run without the dictionary, side by side.
    #[arg(long)]
    pub compare_dict: bool,
    /// Also run without feeding protocol-state transitions to libFuzzer as coverage
    /// (`MTA_LAB_STATE_FEED=0`), side by side.
    #[arg(long)]
    pub compare_state_feed: bool,
    /// Another commit's built fuzz binaries, run side by side (before/after).
    #[arg(long)]
    pub baseline: Option<PathBuf>,
    /// Use the binaries as built (skip `cargo fuzz build`).
    #[arg(long)]
    pub no_build: bool,
    /// Write the runs as JSON here.
    #[arg(long, default_value = "target/mta-lab/bench/find.json")]
    pub json: PathBuf,
}

/// `bench sim` options.
#[derive(Args)]
pub struct SimArgs {
    /// Seeds to run.
    #[arg(long, default_value_t = 500)]
    pub seeds: u64,
    /// Without fault plans.
    #[arg(long)]
    pub no_faults: bool,
    /// Write the figures as JSON here.
    #[arg(long, default_value = "target/mta-lab/bench/sim.json")]
    pub json: PathBuf,
}

/// `bench ber` options.
#[derive(Args)]
pub struct BerArgs {
    /// Seconds of measuring per mix (split into alternating rounds of both walkers).
    #[arg(long, default_value_t = 2.0)]
    pub seconds: f64,
    /// Write the table as JSON here.
    #[arg(long, default_value = "target/mta-lab/bench/ber.json")]
    pub json: PathBuf,
}

/// `bench p1` options.
#[derive(Args)]
pub struct P1Args {
    /// Seconds of criterion measurement per function.
    #[arg(long, default_value_t = 5)]
    pub seconds: u32,
    /// Write the figures as JSON here.
    #[arg(long, default_value = "target/mta-lab/bench/p1.json")]
    pub json: PathBuf,
}

/// `mta-lab bench p1`: run the criterion benchmark, print the side-by-side table.
pub fn p1(a: &P1Args) -> Result<ExitCode, String> {
    if a.seconds == 0 {
        return Err("--seconds 0: give at least 1".into());
    }
    let t = crate::bench_p1::run(a.seconds)?;
    println!(
        "{:<34} {:>12} {:>14}",
        "P1 message decode", "mean", "vs rasn"
    );
    for (name, ns) in [
        ("rasn model (the reference)", t.rasn_ns),
        ("mta-p1 (typed, owned)", t.mta_p1_ns),
        ("mta-p1 view (zero-copy, read)", t.mta_p1_view_ns),
        ("mta-ber validation only", t.validate_ns),
    ] {
        println!(
            "{name:<34} {:>9.2} µs {:>13.2}x",
            ns / 1000.0,
            t.rasn_ns / ns
        );
    }
    let ratio = t.rasn_ns / t.mta_p1_view_ns;
    println!(
        "goal: mta-p1 (view) at least 2.0x rasn — now {ratio:.2}x{}",
        if ratio >= 2.0 { "" } else { " (below)" }
    );
    write_json(&a.json, &t)?;
    Ok(ExitCode::SUCCESS)
}

/// Goals of `bench fuzz` as ratios to the trivial target (the issue that set them: "Fast
/// harnesses and `mta-lab bench`"). Every target has one (a test checks).
pub const GOALS: &[(&str, f64)] = &[
    ("lpi_decode", 0.35),
    ("bufmgr_ops", 0.14),
    ("ber_decode", 0.14),
    ("tpkt_stream", 0.14),
    ("cotp_parse", 0.14),
    ("session_parse", 0.14),
    ("presentation_parse", 0.14),
    ("rtse_parse", 0.14),
    ("p1_decode", 0.14),
    ("driver_events", 0.035),
    ("nsi_pop4", 0.035),
    ("x25_up", 0.035),
    ("inbound_stack", 0.014),
    ("association", 0.014),
];

/// The reference target every ratio is taken against.
pub use crate::libfuzzer::TRIVIAL;

/// One run's figures.
#[derive(Debug, Clone, Serialize)]
struct Run {
    exec_s: u64,
    execs: u64,
    cov: u64,
    crashed: bool,
}

/// A fresh copy of a target's committed corpus (seeds and regressions) in a temporary directory.
fn corpus_copy(target: &str, into: &Path) -> Result<(), String> {
    let _ = std::fs::remove_dir_all(into);
    std::fs::create_dir_all(into).map_err(|e| format!("{}: {e}", into.display()))?;
    let root = mta_harness::corpora_dir();
    for sub in ["fuzz", "regressions"] {
        for f in libfuzzer::files(&root.join(sub).join(target)) {
            let name = format!(
                "{sub}-{}",
                f.file_name().unwrap_or_default().to_string_lossy()
            );
            std::fs::copy(&f, into.join(name)).map_err(|e| format!("{}: {e}", f.display()))?;
        }
    }
    Ok(())
}

fn work_dir() -> PathBuf {
    std::env::temp_dir().join(format!("mta-lab-bench-{}", std::process::id()))
}

/// Run a binary (`None`: the built target) for `seconds` on a fresh corpus copy.
fn measure(target: &str, binary: Option<PathBuf>, seconds: u64, dict: bool) -> Result<Run, String> {
    let dir = work_dir();
    let corpus = dir.join("corpus");
    corpus_copy(target, &corpus)?;
    let flags = if target == TRIVIAL {
        // The trivial target runs exactly as the others: value profile, the default -max_len.
        vec![
            "-use_value_profile=1".to_string(),
            format!("-max_len={}", mta_harness::DEFAULT_MAX_LEN),
        ]
    } else {
        libfuzzer::campaign_flags(target, dict)
    };
    let s = libfuzzer::run(&libfuzzer::Job {
        target,
        build: ci_build(target),
        corpora: vec![corpus],
        artifacts: dir.join("artifacts"),
        seconds,
        seed: 1,
        flags,
        binary,
        state_feed: true,
    })?;
    let _ = std::fs::remove_dir_all(&dir);
    Ok(Run {
        exec_s: s.exec_s,
        execs: s.execs,
        cov: s.cov,
        crashed: s.crashed,
    })
}

/// One row of `bench fuzz`.
#[derive(Debug, Clone, Serialize)]
struct FuzzRow {
    target: String,
    build: String,
    max_len: usize,
    dict: bool,
    run: Run,
    /// The reference: the mean of the trivial runs just before and just after this target.
    trivial_exec_s: u64,
    ratio: f64,
    goal: f64,
    met: bool,
    /// The same target built otherwise (`--baseline`, `--goals-out`), in the same run.
    compared: Vec<Compared>,
}

/// A target's run with other binaries, beside the row's own.
#[derive(Debug, Clone, Serialize)]
struct Compared {
    /// `baseline` or `goals out`.
    label: &'static str,
    run: Run,
    ratio: f64,
    /// This row's exec/s over these binaries' (above 1: this commit is faster).
    speedup: f64,
}

#[derive(Debug, Clone, Serialize)]
struct FuzzReport {
    seconds: u64,
    trivial_exec_s: Vec<u64>,
    trivial_median: u64,
    rows: Vec<FuzzRow>,
}

fn median(mut v: Vec<u64>) -> u64 {
    v.sort_unstable();
    v.get(v.len() / 2).copied().unwrap_or(0)
}

fn selected_targets(names: &[String]) -> Result<Vec<&'static str>, String> {
    if names.is_empty() {
        return Ok(mta_harness::TARGETS.iter().map(|t| t.name).collect());
    }
    names
        .iter()
        .map(|n| target_by_name(n).map(|t| t.name))
        .collect()
}

fn build_targets(skip: bool, targets: &[&str]) -> Result<(), String> {
    if skip {
        return Ok(());
    }
    // One `cargo fuzz build` builds every target (the dependencies are shared).
    let _ = targets;
    libfuzzer::build(&[])
}

/// `mta-lab bench fuzz`.
pub fn fuzz(a: &FuzzArgs) -> Result<ExitCode, String> {
    let targets = selected_targets(&a.targets)?;
    build_targets(a.no_build, &targets)?;
    let mut others: Vec<(&'static str, PathBuf)> = Vec::new();
    if let Some(b) = &a.baseline {
        others.push(("baseline", b.clone()));
    }
    if a.goals_out {
        let dir = if a.no_build {
            libfuzzer::no_goals_binaries()?
        } else {
            libfuzzer::build_without_goals()?
        };
        others.push(("goals out", dir));
    }
    println!(
        "bench fuzz: {} targets × {} run(s) × {} s, each between two trivial runs; flags: value \
         profile, per-target -max_len{}",
        targets.len(),
        1 + others.len(),
        a.seconds,
        if a.no_dict { "" } else { ", dictionaries" }
    );
    // Each target (and its other binaries) runs between two trivial runs, and its ratio is taken
    // against their mean: the machine's speed drifts over minutes, so a reference measured
    // next to the target is the fair one.
    let mut trivial = vec![measure(TRIVIAL, None, a.seconds, false)?.exec_s];
    let mut rows = Vec::new();
    for t in &targets {
        let run = measure(t, None, a.seconds, !a.no_dict)?;
        let mut other_runs = Vec::new();
        for (label, dir) in &others {
            let bin = other_binary(label, dir, t)?;
            other_runs.push((*label, measure(t, Some(bin), a.seconds, !a.no_dict)?));
        }
        let before = *trivial.last().expect("measured first");
        let after = measure(TRIVIAL, None, a.seconds, false)?.exec_s;
        trivial.push(after);
        let reference = ((before + after) as f64 / 2.0).max(1.0);
        let goal = GOALS.iter().find(|(n, _)| n == t).map_or(0.0, |g| g.1);
        let ratio = run.exec_s as f64 / reference;
        let others_text = other_runs
            .iter()
            .map(|(l, r)| format!("({l} {} exec/s)", r.exec_s))
            .collect::<Vec<_>>()
            .join("  ");
        eprintln!(
            "  {t:<20} {:>9} exec/s {ratio:.3}x{others_text}",
            run.exec_s
        );
        rows.push(FuzzRow {
            target: (*t).to_string(),
            build: ci_build(t).cli_name().to_string(),
            max_len: target_by_name(t).map_or(0, |x| x.max_len),
            dict: !a.no_dict && libfuzzer::dictionary(t).is_some(),
            met: ratio >= goal,
            trivial_exec_s: reference as u64,
            compared: other_runs
                .into_iter()
                .map(|(label, r)| Compared {
                    label,
                    ratio: r.exec_s as f64 / reference,
                    speedup: run.exec_s as f64 / r.exec_s.max(1) as f64,
                    run: r,
                })
                .collect(),
            run,
            ratio,
            goal,
        });
    }
    let denom = median(trivial.clone()).max(1) as f64;
    let report = FuzzReport {
        seconds: a.seconds,
        trivial_median: denom as u64,
        trivial_exec_s: trivial,
        rows,
    };
    print_fuzz(&report);
    write_json(&a.json, &report)?;
    Ok(ExitCode::SUCCESS)
}

fn other_binary(label: &str, dir: &Path, target: &str) -> Result<PathBuf, String> {
    let p = dir.join(target);
    if p.is_file() {
        Ok(p)
    } else {
        Err(format!("{label} binaries {}: no {target}", dir.display()))
    }
}

fn print_fuzz(r: &FuzzReport) {
    println!(
        "\ntrivial: median {} exec/s over {} runs ({:?})",
        r.trivial_median,
        r.trivial_exec_s.len(),
        r.trivial_exec_s
    );
    print!(
        "{:<20} {:<16} {:>7} {:>10} {:>10} {:>7} {:>6}  met",
        "target", "build", "max_len", "exec/s", "trivial", "ratio", "goal"
    );
    if let Some(first) = r.rows.first() {
        for c in &first.compared {
            print!("  {:>10} {:>7} {:>8}", c.label, "ratio", "speed-up");
        }
    }
    println!();
    for x in &r.rows {
        print!(
            "{:<20} {:<16} {:>7} {:>10} {:>10} {:>6.3}x {:>5.3}x  {}",
            x.target,
            x.build,
            x.max_len,
            x.run.exec_s,
            x.trivial_exec_s,
            x.ratio,
            x.goal,
            if x.run.crashed {
                "CRASHED"
            } else if x.met {
                "yes"
            } else {
                "NO"
            }
        );
        for c in &x.compared {
            print!(
                "  {:>10} {:>6.3}x {:>7.2}x",
                c.run.exec_s, c.ratio, c.speedup
            );
        }
        println!();
    }
    if r.rows
        .iter()
        .any(|x| x.compared.iter().any(|c| c.label == "goals out"))
    {
        println!(
            "goals out: the same target with every reach! compiled out; a speed-up below 1.00x is \
             what the goals cost"
        );
    }
}

fn write_json<T: Serialize>(path: &Path, value: &T) -> Result<(), String> {
    if let Some(d) = path.parent() {
        std::fs::create_dir_all(d).map_err(|e| format!("{}: {e}", d.display()))?;
    }
    let text = serde_json::to_string_pretty(value).map_err(|e| e.to_string())?;
    std::fs::write(path, text).map_err(|e| format!("{}: {e}", path.display()))?;
    println!("JSON: {}", path.display());
    Ok(())
}

/// Whether a failure text shows a KB's signature.
type Signature = fn(&str) -> bool;

/// The KBs `bench find` knows: target and the signature its failure must show.
const FINDABLE: &[(&str, &str, Signature)] = &[
    ("Q182619", "driver_events", |f| {
        f.contains("fatal event 9404")
    }),
    ("Q225157", "x25_up", |f| {
        f.contains("oppsin -> oppsitps -> oppssprc -> oppsstdt -> oppsscnc")
    }),
    ("Q811406", "nsi_pop4", |f| {
        f.contains("control blocks leaked")
    }),
];

/// One time-to-find run.
#[derive(Debug, Clone, Serialize)]
struct FindRun {
    variant: String,
    build: String,
    seed: u64,
    found: bool,
    seconds: f64,
    execs: u64,
}

/// A `bench find` variant: name, with the dictionary, another commit's binary, state feed.
type Variant = (String, bool, Option<PathBuf>, bool);

/// One time-to-find run.
struct FindJob {
    build: Build,
    seed: u64,
    budget: u64,
    flags: Vec<String>,
    binary: Option<PathBuf>,
    state_feed: bool,
}

/// Run libFuzzer from an empty corpus until the first crash (or the budget); was it the KB's?
#[allow(clippy::disallowed_types)] // wall clock: time-to-find is what is measured
fn find_once(
    target: &'static mta_harness::Target,
    job: FindJob,
    signature: fn(&str) -> bool,
) -> Result<(bool, f64, u64), String> {
    let FindJob {
        build,
        seed,
        budget,
        flags,
        binary,
        state_feed,
    } = job;
    let dir = work_dir().join(format!("find-{}-{seed}", build.cli_name()));
    let _ = std::fs::remove_dir_all(&dir);
    let started = std::time::Instant::now();
    let s = libfuzzer::run(&libfuzzer::Job {
        target: target.name,
        build,
        corpora: vec![dir.join("corpus")],
        artifacts: dir.join("crashes"),
        seconds: budget,
        seed,
        flags,
        binary,
        state_feed,
    })?;
    let seconds = started.elapsed().as_secs_f64();
    let found = s.crashed
        && libfuzzer::files(&dir.join("crashes")).iter().any(|f| {
            std::fs::read(f)
                .ok()
                .and_then(|input| run_one(target, build, &input).err())
                .is_some_and(|fail| signature(&fail.what))
        });
    let _ = std::fs::remove_dir_all(&dir);
    Ok((found, seconds, s.execs))
}

/// `mta-lab bench find`.
pub fn find(a: &FindArgs) -> Result<ExitCode, String> {
    let &(kb, target_name, signature) = FINDABLE
        .iter()
        .find(|(k, ..)| k.eq_ignore_ascii_case(&a.kb))
        .ok_or_else(|| {
            format!(
                "--kb {}: one of {}",
                a.kb,
                FINDABLE.iter().map(|f| f.0).collect::<Vec<_>>().join(", ")
            )
        })?;
    let target = target_by_name(target_name)?;
    let builds: Vec<Build> = if a.builds.is_empty() {
        Build::ALL
            .into_iter()
            .filter(|b| !(target.clean_on)(&b.profile()))
            .filter(|b| kb != "Q225157" || b.profile().x25_winsock_transport)
            .collect()
    } else {
        a.builds.clone()
    };
    if a.seeds == 0 || a.budget == 0 {
        return Err("--seeds and --budget must be positive".into());
    }
    build_targets(a.no_build, &[target_name])?;
    let dict = !a.no_dict && !a.plain;
    let mut variants: Vec<Variant> = vec![("current".into(), dict, None, true)];
    if a.compare_dict && dict {
        variants.push(("current, no dict".into(), false, None, true));
    }
    if a.compare_state_feed {
        variants.push(("current, no state feed".into(), dict, None, false));
    }
    if let Some(dir) = &a.baseline {
        let b = other_binary("--baseline", dir, target_name)?;
        variants.push(("baseline".into(), false, Some(b), true));
    }
    println!(
        "bench find {kb}: {target_name} from an empty corpus, builds {}, seeds 1..={}, budget {} s, \
         variants: {}",
        builds
            .iter()
            .map(|b| b.cli_name())
            .collect::<Vec<_>>()
            .join(" "),
        a.seeds,
        a.budget,
        variants
            .iter()
            .map(|v| v.0.as_str())
            .collect::<Vec<_>>()
            .join(" / ")
    );
    let mut runs = Vec::new();
    for &b in &builds {
        for seed in 1..=a.seeds {
            for (name, dict, bin, state_feed) in &variants {
                let mut flags = if a.plain {
                    Vec::new()
                } else {
                    libfuzzer::campaign_flags(target_name, *dict)
                };
                if bin.is_some() {
                    // A baseline binary runs with the same flags minus the dictionary (which
                    // did not exist before this lab had dictionaries).
                    flags.retain(|f| !f.starts_with("-dict="));
                }
                let job = FindJob {
                    build: b,
                    seed,
                    budget: a.budget,
                    flags,
                    binary: bin.clone(),
                    state_feed: *state_feed,
                };
                let (found, seconds, execs) = find_once(target, job, signature)?;
                eprintln!(
                    "  {:<16} {:<18} seed {seed}: {} in {seconds:.2} s, {execs} execs",
                    b.cli_name(),
                    name,
                    if found { "found" } else { "NOT found" }
                );
                runs.push(FindRun {
                    variant: name.clone(),
                    build: b.cli_name().into(),
                    seed,
                    found,
                    seconds,
                    execs,
                });
            }
        }
    }
    print_find(&runs, &builds, &variants);
    write_json(&a.json, &runs)?;
    Ok(ExitCode::SUCCESS)
}

fn print_find(runs: &[FindRun], builds: &[Build], variants: &[Variant]) {
    println!(
        "\nmedian time-to-find (s) and executions; runs not found within the budget count as the \
         budget"
    );
    print!("{:<16}", "build");
    for (v, ..) in variants {
        print!(" {v:>28}");
    }
    println!();
    for b in builds {
        print!("{:<16}", b.cli_name());
        for (v, ..) in variants {
            let mine: Vec<&FindRun> = runs
                .iter()
                .filter(|r| r.build == b.cli_name() && &r.variant == v)
                .collect();
            let mut secs: Vec<f64> = mine.iter().map(|r| r.seconds).collect();
            secs.sort_by(f64::total_cmp);
            let execs = median(mine.iter().map(|r| r.execs).collect());
            let found = mine.iter().filter(|r| r.found).count();
            let med = secs.get(secs.len() / 2).copied().unwrap_or(0.0);
            print!(
                " {:>28}",
                format!("{med:.2} s {execs} ex {found}/{}", mine.len())
            );
        }
        println!();
    }
}

/// `bench sim`'s JSON.
#[derive(Serialize)]
struct SimReport {
    seeds: u64,
    faults: bool,
    seeds_per_s: f64,
    sim_over_wall: f64,
    echo_seeds_per_s: f64,
    with_findings: usize,
}

/// `mta-lab bench sim`.
#[allow(clippy::disallowed_types)] // wall clock for the seeds/s figure only
pub fn sim(a: &SimArgs) -> Result<ExitCode, String> {
    let faults = !a.no_faults;
    let seeds = a.seeds;
    let w = mta_lab_world::world::World::named("standard", Some(Build::Ex2000Sp3Rollup), Some(20))?;
    println!("{} faults={faults}", w.describe());
    let started = std::time::Instant::now();
    let mut sim_ms = 0u64;
    let mut failed = 0;
    for seed in 0..seeds {
        let r = mta_lab_world::simulate::run(&w, seed, faults);
        sim_ms += r.sim_ms;
        failed += usize::from(!r.findings.is_empty());
    }
    let wall = started.elapsed().as_secs_f64();
    // Baseline: the same hosts, tick rhythm and flows' bytes with bare echo peers.
    let started = std::time::Instant::now();
    let mut echo_ms = 0u64;
    for seed in 0..seeds {
        echo_ms += mta_lab_world::simulate::run_echo(&w, seed);
    }
    let echo_wall = started.elapsed().as_secs_f64();
    let row = |name: &str, wall: f64, ms: u64| {
        println!(
            "{name:<28} {:>10.1} {:>12.0} {:>10.0}x",
            seeds as f64 / wall,
            ms as f64 / 1000.0,
            ms as f64 / 1000.0 / wall
        );
    };
    println!(
        "{:<28} {:>10} {:>12} {:>11}",
        "", "seeds/s", "simulated s", "sim/wall"
    );
    row("MTA world", wall, sim_ms);
    row("echo peers (no MTA models)", echo_wall, echo_ms);
    println!(
        "{seeds} seeds, {failed} with findings; per seed the MTA world costs {:.1}x the bare \
         harness ({:.1}x per simulated second)",
        wall / echo_wall.max(1e-9),
        (wall / (sim_ms as f64).max(1.0)) / (echo_wall / (echo_ms as f64).max(1.0))
    );
    write_json(
        &a.json,
        &SimReport {
            seeds,
            faults,
            seeds_per_s: seeds as f64 / wall,
            sim_over_wall: sim_ms as f64 / 1000.0 / wall,
            echo_seeds_per_s: seeds as f64 / echo_wall,
            with_findings: failed,
        },
    )?;
    Ok(ExitCode::SUCCESS)
}

/// `mta-lab bench ber`.
pub fn ber(a: &BerArgs) -> Result<ExitCode, String> {
    if !(a.seconds > 0.0 && a.seconds.is_finite()) {
        return Err(format!("--seconds {}: give a positive number", a.seconds));
    }
    println!(
        "{:<20} {:>10} {:>18} {:>18} {:>8}",
        "mix", "elements", "reference el/s", "mta-ber el/s", "ratio"
    );
    let mut rows = Vec::new();
    for mix in crate::bench_ber::MIXES {
        let r = crate::bench_ber::measure(mix, a.seconds);
        println!(
            "{:<20} {:>10} {:>16.1} M {:>16.1} M {:>7.2}x{}",
            r.mix,
            r.elements,
            r.reference_per_s / 1e6,
            r.walk_per_s / 1e6,
            r.ratio,
            if r.ratio >= 1.0 { "" } else { "  below 1.0x" }
        );
        rows.push(r);
    }
    println!("goal: mta-ber at least 1.0x the reference on every mix (one core, this build)");
    write_json(&a.json, &rows)?;
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_target_has_a_goal_and_a_findable_kb_names_a_target() {
        for t in mta_harness::TARGETS {
            assert!(
                GOALS.iter().any(|(n, _)| *n == t.name),
                "{} has no goal",
                t.name
            );
        }
        for (kb, target, _) in FINDABLE {
            assert!(target_by_name(target).is_ok(), "{kb}: {target}");
        }
    }

    #[test]
    fn the_ci_build_is_the_fixed_build_for_build_dependent_targets() {
        assert_eq!(ci_build("driver_events"), Build::Ex2000Sp3Rollup);
        assert_eq!(ci_build("lpi_decode"), Build::Ex55);
    }
}
