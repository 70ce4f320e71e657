//! The world commands of `mta-lab`: `run` (one world, one seed, the generic oracles), `sweep` (a
//! range of seeds in worker processes), `shrink` (a finding's faults and messages dropped while its
//! signature fires), `replay --until` (a finding stepped to a time or event) and `builds FINDING`
//! (which builds a finding fires on). Each prints its report and returns the exit status.

use crate::{faults, finding, jobs, pcap, simulate, sweep, world};
use mta_build::Build;
use std::path::PathBuf;
use std::process::ExitCode;

/// Options shared by `run` and `sweep`.
#[derive(clap::Args)]
pub struct SimArgs {
    /// World: built in (standard, flood, xot) or a world file (*.toml; see worlds/README.md).
    #[arg(long, default_value = "standard")]
    pub world: String,
    /// Build of every Exchange machine [built-in worlds: 2000-sp3-rollup; a world file: its own].
    #[arg(long)]
    pub build: Option<Build>,
    /// Messages per flow [built-in worlds: 20; a world file: its own counts].
    #[arg(long)]
    pub messages: Option<usize>,
    /// Run without the seeds' fault plans.
    #[arg(long)]
    pub no_faults: bool,
    /// Where findings are written (one file per failing seed).
    #[arg(long, default_value = "target/mta-lab/sim-findings")]
    pub findings: PathBuf,
}

/// `mta-lab sweep`'s options.
#[derive(clap::Args)]
pub struct SweepArgs {
    /// Seeds, as A..B (B exclusive).
    #[arg(long, default_value = "0..20")]
    pub seeds: String,
    /// Worker processes (each seed in its own process, with a wall-clock timeout); 0 runs the
    /// seeds in this process (fastest; a panic is still caught).
    #[arg(long, default_value_t = 0)]
    pub jobs: usize,
    /// Only the seeds with seed % n == i (for a CI matrix or an indexed job).
    #[arg(long)]
    pub shard: Option<String>,
    /// Worker wall-clock timeout in seconds.
    #[arg(long, default_value_t = 60)]
    pub timeout: u64,
    /// Continue an interrupted sweep from its journal (in the findings directory) instead of
    /// starting over: seeds already journalled are not run again.
    #[arg(long)]
    pub resume: bool,
    /// The world, its build and messages, faults, and where findings go.
    #[command(flatten)]
    pub sim: SimArgs,
}

/// Print a run's report (summary line, then its plan and findings if it failed).
pub fn print_report(r: &simulate::RunReport) {
    print!("{}", simulate::report_text(r));
}

/// `mta-lab run`: one world, one seed; writes the pcap and trace asked for and a finding file
/// when an oracle fires (exit 1).
pub fn run_world(
    sim: &SimArgs,
    seed: u64,
    pcap: Option<&std::path::Path>,
    trace: Option<&std::path::Path>,
) -> Result<ExitCode, String> {
    let (faults, dir) = (!sim.no_faults, &sim.findings);
    let w = world::World::named(&sim.world, sim.build, sim.messages)?;
    println!("SEED={seed} {}", w.describe());
    let plan = if faults {
        faults::FaultPlan::from_seed(seed, &w)
    } else {
        faults::FaultPlan::none()
    };
    let record = simulate::Record {
        pcap: pcap.is_some(),
        trace: trace.is_some(),
        until: None,
        every_tick: false,
    };
    let (r, rec) = simulate::run_with(&w, seed, plan, record);
    if let Some(p) = pcap {
        let n = pcap::write(p, &rec.capture)?;
        println!("pcap: {} ({n} packets)", p.display());
    }
    if let Some(p) = trace {
        crate::input::write_atomically(p, &(rec.trace.join("\n") + "\n"))?;
        println!(
            "trace: {} ({} events, schema {})",
            p.display(),
            rec.trace.len(),
            simulate::TRACE_SCHEMA
        );
    }
    println!("{}", r.plan);
    print_report(&r);
    if r.findings.is_empty() {
        return Ok(ExitCode::SUCCESS);
    }
    let f = finding::Finding::from_run(&w, w.messages_per_flow(), faults, &r);
    let path = f.save(dir)?;
    println!("signature: {}", f.signature);
    println!("finding: {}", path.display());
    println!(
        "replay: cargo run --release -p mta-lab -- replay {}",
        path.display()
    );
    Ok(ExitCode::FAILURE)
}

/// `mta-lab shrink`: drop faults and messages while the finding's signature fires; writes the
/// reduced finding next to the original.
pub fn shrink(finding: &std::path::Path) -> Result<ExitCode, String> {
    let f = finding::Finding::load(finding)?;
    let (small, steps) = f.shrink()?;
    for st in &steps {
        println!("  {st}");
    }
    let dir = finding.parent().unwrap_or(std::path::Path::new("."));
    let path = small.save(dir)?;
    println!(
        "{} step(s); {}; {} messages per flow; signature {}\nshrunk finding: {}",
        steps.len(),
        small.fault_plan,
        small.messages,
        small.signature,
        path.display()
    );
    Ok(ExitCode::SUCCESS)
}

/// Seeds given as `A..B` (B exclusive).
pub fn parse_seeds(seeds: &str) -> Result<(u64, u64), String> {
    seeds
        .split_once("..")
        .and_then(|(a, b)| Some((a.parse::<u64>().ok()?, b.parse::<u64>().ok()?)))
        .ok_or_else(|| format!("--seeds {seeds:?}: expected A..B"))
}

/// `mta-lab sweep`: a range of seeds, in this process or in worker processes; exit 1 if any
/// seed has a finding.
pub fn sweep_cmd(
    seeds: &str,
    jobs: usize,
    shard: Option<&str>,
    timeout_s: u64,
    resume: bool,
    sim: &SimArgs,
) -> Result<ExitCode, String> {
    let (a, b) = parse_seeds(seeds)?;
    let (i, n) = shard.map_or(Ok((0, 1)), jobs::parse_shard)?;
    let w = world::World::named(&sim.world, sim.build, sim.messages)?;
    let list: Vec<u64> = (a..b).filter(|s| s % n == i).collect();
    println!(
        "SEEDS={a}..{b} shard {i}/{n} ({} seeds) jobs {} faults {} {}",
        list.len(),
        jobs,
        if sim.no_faults { "off" } else { "on" },
        w.describe()
    );
    let mut worker_args = vec![
        "--world".to_string(),
        sim.world.clone(),
        "--findings".into(),
        sim.findings.display().to_string(),
    ];
    if let Some(b) = sim.build {
        worker_args.extend(["--build".into(), b.cli_name().to_string()]);
    }
    if let Some(m) = sim.messages {
        worker_args.extend(["--messages".into(), m.to_string()]);
    }
    if sim.no_faults {
        worker_args.push("--no-faults".into());
    }
    let plan = sweep::SweepPlan {
        world: &w,
        seeds: list,
        faults: !sim.no_faults,
        dir: &sim.findings,
        jobs,
        timeout_s,
        worker_args,
        resume,
    };
    let s = sweep::run(&plan, &mut |text| print!("{text}"))?;
    if s.resumed > 0 {
        println!("resumed: {} seeds taken from the journal", s.resumed);
    }
    for sig in &s.signatures {
        println!("signature: {sig}");
    }
    // One digest over every seed's trace (compare two sweeps at a glance); the hashes themselves
    // for short sweeps.
    let digest = s.hashes.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, x| {
        x.bytes()
            .fold(h, |h, b| (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3))
    });
    println!("trace digest: {digest:016x}");
    if s.hashes.len() <= 64 {
        println!("trace hashes: {}", s.hashes.join(" "));
    }
    println!(
        "{} seeds, {} with findings ({} distinct signatures); {}",
        s.seeds,
        s.failed,
        s.signatures.len(),
        s.rates().join("; ")
    );
    println!(
        "journal: {}",
        sweep::journal_path(&sim.findings, &w, !sim.no_faults).display()
    );
    Ok(if s.failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// `mta-lab replay FINDING --until`: step a finding to a time or an event and print every
/// machine's state there.
pub fn replay_until(path: &std::path::Path, until: simulate::Until) -> Result<ExitCode, String> {
    let f = finding::Finding::load(path)?;
    let w = f.world(None)?;
    if f.model_version != finding::MODEL_VERSION {
        println!(
            "warning: recorded on model {}, stepping through on model {}",
            f.model_version,
            finding::MODEL_VERSION
        );
    }
    for warning in f.provenance_warnings() {
        println!("{warning}");
    }
    println!("SEED={} {}", f.seed, w.describe());
    let plan = f.fault_plan(&w);
    println!("{plan}");
    let (_, rec) = simulate::run_with(
        &w,
        f.seed,
        plan,
        simulate::Record {
            pcap: false,
            trace: false,
            until: Some(until),
            every_tick: false,
        },
    );
    let Some((at, lines)) = rec.stopped else {
        println!("the run ended before {until:?}");
        return Ok(ExitCode::FAILURE);
    };
    println!("stopped at {at} ms ({until:?}):");
    for l in lines {
        println!("{l}");
    }
    Ok(ExitCode::SUCCESS)
}

/// `mta-lab builds FINDING`: on which builds the finding's signature fires.
pub fn builds_scan(path: &std::path::Path) -> Result<ExitCode, String> {
    let f = finding::Finding::load(path)?;
    println!(
        "finding {} (seed {}): {}",
        path.display(),
        f.seed,
        f.signature
    );
    for b in Build::ALL {
        let w = f.world(Some(b))?;
        let r = f.run(&w);
        let fires = finding::signature(&r) == f.signature;
        let verdict = if fires {
            "reproduces".to_string()
        } else if r.findings.is_empty() {
            "clean".to_string()
        } else {
            format!("other: {}", finding::signature(&r))
        };
        println!("  {:<16} {verdict}", b.cli_name());
        if !fires && let Some(on) = f.builds.values().find(|v| v.parse::<Build>().is_ok()) {
            println!(
                "                   what changed: mta-lab diff --finding {} --builds {on},{}",
                path.display(),
                b.cli_name()
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}
