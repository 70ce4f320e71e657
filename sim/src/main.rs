//! `mta-lab`: the lab's command line. Dissect port-102 byte streams, inspect BER and NSI/POP4
//! internal messages, print the build
//! table, run the fuzz smoke campaign, replay a finding, write the seed corpora.

#![warn(clippy::too_many_lines)]

use clap::{Parser, Subcommand};
use mta_build::Build;
use mta_lab_campaign::{
    bench, coverage, date, goals, harness_trace, kb, merge, mutants, night, nightly, smoke,
};
use mta_lab_look::{chart, diff, viewer};
use mta_lab_net::{capture_replay, hostile, import, probe, serve};
use mta_lab_world::{faults, finding, input, jobs, pcap, simulate, sweep, world};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "mta-lab",
    version,
    about = "Deterministic simulation and fuzzing lab for the Exchange-era X.400 MTA"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// BER tools.
    Ber {
        #[command(subcommand)]
        command: BerCommand,
    },
    /// X.411 P1 tools.
    P1 {
        #[command(subcommand)]
        command: P1Command,
    },
    /// NSI/POP4 internal-message tools.
    Lpi {
        #[command(subcommand)]
        command: LpiCommand,
    },
    /// Dissect a TCP byte stream on port 102 layer by layer (TPKT → COTP → SES → PRES/ACSE → RTSE
    /// → BER payload), like a protocol analyzer's tree; malformed data is shown where and why
    /// (exit status 1).
    Decode {
        /// Input file (one direction of a connection), or - for standard input.
        file: String,
        /// Input is hex text (whitespace ignored), not binary.
        #[arg(long)]
        hex: bool,
        /// Which way the octets flowed (labels the tree).
        #[arg(long, value_enum, default_value_t = DirectionArg::Out)]
        direction: DirectionArg,
    },
    /// Run one simulated world (turmoil) with one seed and check the generic oracles.
    Run {
        /// Seed.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Write every TCP byte of the run as a pcap (Ethernet/IPv4/TCP) for Wireshark.
        #[arg(long)]
        pcap: Option<PathBuf>,
        /// Write every traced event as JSON lines (schema 1: t_ms, seq, host, event, connection,
        /// layer, pdu summary, octets, hex).
        #[arg(long)]
        trace: Option<PathBuf>,
        #[command(flatten)]
        sim: SimArgs,
    },
    /// Run a range of seeds (A..B) of a world; a panic in one seed is a finding, not a crash.
    Sweep {
        /// Seeds, as A..B (B exclusive).
        #[arg(long, default_value = "0..20")]
        seeds: String,
        /// Worker processes (each seed in its own process, with a wall-clock timeout); 0 runs the
        /// seeds in this process (fastest; a panic is still caught).
        #[arg(long, default_value_t = 0)]
        jobs: usize,
        /// Only the seeds with seed % n == i (for a CI matrix or an indexed job).
        #[arg(long)]
        shard: Option<String>,
        /// Worker wall-clock timeout in seconds.
        #[arg(long, default_value_t = 60)]
        timeout: u64,
        /// Continue an interrupted sweep from its journal (in the findings directory) instead of
        /// starting over: seeds already journalled are not run again.
        #[arg(long)]
        resume: bool,
        #[command(flatten)]
        sim: SimArgs,
    },
    /// The KB matrix: search every KB × build × config cell with the finders that fit (seed
    /// sweeps, the random engine, libFuzzer), print it and compare with corpora/kb/expected.toml.
    /// Exit status 1 if any cell disagrees.
    Kb(kb::Options),
    /// The nightly campaign: the KB matrix, then every fuzz target and seed sweep across the cores
    /// for the rest of the budget, triage (dedupe by signature, scan builds, minimise, new findings
    /// become regression files), and reports/<date>/index.html + summary.json. Resumable: run the
    /// same command again after a kill. Exit status 1 unless green (nothing new, KB matrix as
    /// expected).
    Nightly(NightlyArgs),
    /// Fold sharded sweep results (directories with sweep journals and finding files) into one
    /// report deduplicated by signature: OUT/merged.json, OUT/index.html, OUT/findings/.
    /// Exit status 1 if a signature is not in the known-findings baseline.
    Merge {
        /// Shard directories (each a sweep's --findings directory).
        #[arg(required = true)]
        shards: Vec<PathBuf>,
        /// Output directory.
        #[arg(long, default_value = "target/mta-lab/merged")]
        out: PathBuf,
        /// Known findings.
        #[arg(long, default_value = "corpora/kb/known-findings.toml")]
        baseline: PathBuf,
    },
    /// Message sequence chart of a run: a finding (replayed) or a `--trace` JSONL file. One
    /// lifeline per interface address, PDU arrows at --layer, faults, event-log entries and the
    /// oracle's findings; `-o X.svg` or `-o X.html`.
    Chart {
        #[command(flatten)]
        source: TraceSource,
        /// Output (.svg or .html).
        #[arg(short, long)]
        output: PathBuf,
        /// Layer the arrows are labelled with.
        #[arg(long, value_enum, default_value = "session")]
        layer: chart::Layer,
    },
    /// Trace viewer: a self-contained HTML page (filters, jumps between faults and events,
    /// decoded PDU and raw bytes per record) for a finding (replayed) or a `--trace` JSONL file.
    View {
        #[command(flatten)]
        source: TraceSource,
        /// Output .html.
        #[arg(short, long)]
        output: PathBuf,
    },
    /// Run the same world and seed (a finding, or --world/--seed, or a fuzz --target/--input) on
    /// two builds and report the first point where their behaviour diverges; -o X.html writes
    /// both sequence charts side by side. Exit status 1 when they differ (as diff(1)).
    Diff(DiffArgs),
    /// Benchmarks, each one table plus JSON: `bench fuzz` (every fuzz target's exec/s beside the
    /// trivial target, with the campaign's flags), `bench find` (time-to-find of a KB from an empty
    /// corpus), `bench sim` (seeds/s of the standard world).
    Bench {
        #[command(subcommand)]
        command: bench::BenchCommand,
    },
    /// Source coverage: every fuzz target (or --target T…) built with -C instrument-coverage,
    /// its corpora replayed, profiles merged; per-crate and per-file coverage, an HTML tree and
    /// the model functions no target executed (coverage.json under --out).
    Coverage(coverage::Args),
    /// Reachability goals: which committed inputs, random executions and sweep seeds reach each
    /// catalogued goal, at what rate; --write keeps a reproducer per goal under corpora/goals/.
    Goals(goals::Args),
    /// Mutation score of the lab's oracles: cargo-mutants on one model crate (--crate, default
    /// mta-bufmgr) with that crate's and the harness's tests, optionally one shard (--shard k/n);
    /// prints the missed mutants and every crate's pass so far.
    Mutants(mutants::Args),
    /// Shrink a simulation finding: drop faults and messages while the same signature fires;
    /// writes the reduced finding next to the original.
    Shrink {
        /// The finding file.
        finding: PathBuf,
    },
    /// Run a modelled MTA of any build on real TCP: listeners on each address, connectors from a
    /// file, the event log live through tracing; on Ctrl-C (or --for) the queue state is written.
    Serve(serve::ServeArgs),
    /// Probe a real endpoint: every hostile-peer case, a give-up-early burst and an interop
    /// sequence (a modelled MTA of --build-as binds, transfers, releases), with per-case verdicts
    /// as a table and JSON and a pcap of the session. Exit status 1 if a case was not handled.
    Probe(probe::ProbeArgs),
    /// Run the hostile-peer library against one MTA, then a well-behaved peer; check the oracles.
    Hostile(HostileArgs),
    /// Turn the TCP port-102 streams of a capture into, per connection, a peer script (replay
    /// with `hostile --script`), an `inbound_stack` fuzz seed and each direction's octets.
    Import {
        /// The capture (pcap, Ethernet or raw IPv4).
        capture: PathBuf,
        /// Output directory.
        #[arg(long, default_value = "target/mta-lab/import")]
        out: PathBuf,
        /// The MTA's TCP port in the capture.
        #[arg(long, default_value_t = import::ISO_TSAP_PORT)]
        port: u16,
        /// Keep the capture as regression NAME: a copy and its replay on each --build under
        /// CORPORA/regressions/captures/ (cargo test replays it), and each caller's octets as an
        /// inbound_stack seed under CORPORA/fuzz/inbound_stack/.
        #[arg(long, value_name = "NAME")]
        keep: Option<String>,
        /// With --keep: the builds to record the replay on.
        #[arg(long, requires = "keep", default_value = "2000-sp3-rollup", num_args = 1..)]
        build: Vec<Build>,
        /// With --keep: the corpora directory.
        #[arg(long, requires = "keep", default_value = "corpora")]
        corpora: PathBuf,
    },
    /// Print the build table: every per-build constant and defect switch with its source.
    Builds {
        /// A simulation finding: replay it on every build (a linear scan) and show where its
        /// signature fires, instead of printing the table.
        finding: Option<PathBuf>,
        /// Apply registry-style overrides (name=value) before printing.
        #[arg(long = "set", value_name = "NAME=VALUE")]
        set: Vec<String>,
        /// Print one build's column only.
        #[arg(long)]
        build: Option<Build>,
    },
    /// Smoke campaign: every fuzz target on every build with seeded random and mutated-corpus
    /// inputs, plus corpus replay; prints a summary table. Exit status 1 if anything was found.
    Smoke {
        /// Inputs per target and build.
        #[arg(long, default_value_t = 2000)]
        iterations: u64,
        /// Campaign seed (everything derives from it).
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Restrict to one build.
        #[arg(long)]
        build: Option<Build>,
        /// Restrict to one target.
        #[arg(long)]
        target: Option<String>,
        /// Where findings are written.
        #[arg(long, default_value = "target/mta-lab/findings")]
        findings: PathBuf,
    },
    /// Replay one input file through a target's harness.
    /// Replay a fuzz input (`replay TARGET FILE`), a simulation finding (`replay FINDING.toml`,
    /// bit-identical on the same model version) or a kept capture
    /// (`replay corpora/regressions/captures/NAME.toml`: the recorded event log on each build).
    Replay {
        /// Target name (a TARGETS entry), or a finding file.
        target: String,
        /// Input file (for a fuzz target).
        file: Option<PathBuf>,
        /// Build (default: $MTA_LAB_BUILD or 5.5).
        #[arg(long)]
        build: Option<Build>,
        /// Step-through (a finding): stop at a simulated time (2500ms, 2.5s) or when an event id
        /// is first logged (9301), and print every MTA's state there.
        #[arg(long)]
        until: Option<simulate::Until>,
    },
    /// Corpus maintenance.
    Corpus {
        #[command(subcommand)]
        command: CorpusCommand,
    },
}

/// `mta-lab nightly`'s options.
#[derive(clap::Args)]
struct NightlyArgs {
    /// Total wall-clock budget: 900, 900s, 15m, 1h.
    #[arg(long, default_value = "15m")]
    budget: String,
    /// Units at once [default: the machine's cores].
    #[arg(long)]
    jobs: Option<usize>,
    /// The night's name (YYYY-MM-DD) [default: today, UTC]; the same date resumes.
    #[arg(long)]
    date: Option<String>,
    /// Reports root.
    #[arg(long, default_value = "reports")]
    reports: PathBuf,
    /// State root (plans, unit results, corpora, crash inputs).
    #[arg(long, default_value = "target/mta-lab/nightly")]
    state: PathBuf,
    /// Per-cell budget of the KB matrix (s).
    #[arg(long, default_value_t = 10.0)]
    kb_budget: f64,
    /// Only this KB in the matrix.
    #[arg(long)]
    kb: Option<String>,
    /// Skip libFuzzer.
    #[arg(long)]
    no_libfuzzer: bool,
    /// Shortest slice a campaign unit gets (s); units beyond the budget are left out.
    #[arg(long, default_value_t = 8.0)]
    min_slice: f64,
    /// Known findings (the KB reproductions expected on faulty builds).
    #[arg(long, default_value = "corpora/kb/known-findings.toml")]
    baseline: PathBuf,
    /// The KB matrix expectations.
    #[arg(long, default_value = "corpora/kb/expected.toml")]
    expected: PathBuf,
    /// Where new findings become regression files.
    #[arg(long, default_value = "corpora/regressions")]
    regressions: PathBuf,
    /// Targets of the source-coverage phase (comma-separated) [default: every target];
    /// `none` skips the phase.
    #[arg(long, value_delimiter = ',')]
    coverage_targets: Vec<String>,
    /// Shards of the mutation phase: each night mutates shard (night number mod N) of every
    /// crate of `mta-lab mutants` with cargo-mutants [default: 0, the phase is skipped; the
    /// scheduled nightly uses 32].
    #[arg(long, default_value_t = 0)]
    mutants_shards: u32,
}

/// `mta-lab hostile`'s options.
#[derive(clap::Args)]
#[allow(clippy::struct_field_names)]
struct HostileArgs {
    /// Build of the MTA under attack.
    #[arg(long, default_value = "2000-sp3-rollup")]
    build: Build,
    /// Seed.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Replay these peer scripts (from `mta-lab import`) instead of the library.
    #[arg(long, num_args = 1..)]
    script: Vec<PathBuf>,
    /// With --script (one capture's scripts): hand the callers' opens, writes and leavings
    /// to the model in the capture's frame order between its ticks, adding no library peers,
    /// flood or good peer — a capture `hostile --pcap` wrote gives back the same event log.
    #[arg(long, requires = "script")]
    as_captured: bool,
    /// Write a pcap of every stream the MTA served (import it with `mta-lab import`).
    #[arg(long, conflicts_with = "as_captured")]
    pcap: Option<PathBuf>,
    /// Write the MTA's event log here (one "ms<TAB>id<TAB>text" line per event).
    #[arg(long)]
    event_log: Option<PathBuf>,
}

/// Options shared by `run` and `sweep`.
#[derive(clap::Args)]
struct SimArgs {
    /// World: built in (standard, flood) or a world file (*.toml; see worlds/README.md).
    #[arg(long, default_value = "standard")]
    world: String,
    /// Build of every Exchange machine [built-in worlds: 2000-sp3-rollup; a world file: its own].
    #[arg(long)]
    build: Option<Build>,
    /// Messages per flow [built-in worlds: 20; a world file: its own counts].
    #[arg(long)]
    messages: Option<usize>,
    /// Run without the seeds' fault plans.
    #[arg(long)]
    no_faults: bool,
    /// Where findings are written (one file per failing seed).
    #[arg(long, default_value = "target/mta-lab/sim-findings")]
    findings: PathBuf,
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum DirectionArg {
    /// Initiator → responder.
    Out,
    /// Responder → initiator.
    In,
}

#[derive(Subcommand)]
enum BerCommand {
    /// Dump BER like `openssl asn1parse`: offset, depth, header length, length, tag, value.
    Dump {
        /// Input file, or - for standard input.
        file: String,
        /// Input is hex text (whitespace ignored), not binary.
        #[arg(long)]
        hex: bool,
    },
}

#[derive(Subcommand)]
enum P1Command {
    /// Print (hex) the user data of the session CONNECT an X.400 caller sends to bind: the
    /// presentation CP with ACSE AARQ, RTSE RTORQ and the MTABind (for independent OSI stacks).
    ConnectData {
        /// MTA name in the bind.
        #[arg(long, default_value = "PEER")]
        name: String,
        /// Password in the bind.
        #[arg(long, default_value = "peer-pw")]
        password: String,
        /// X.410 (1984) mode instead of normal (1988) mode.
        #[arg(long)]
        x410: bool,
    },
    /// Decode one MTS-APDU (message, probe, report), MTA bind or bind error, strictly.
    Decode {
        /// Input file, or - for standard input.
        file: String,
        /// Input is hex text (whitespace ignored), not binary.
        #[arg(long)]
        hex: bool,
    },
}

#[derive(Subcommand)]
enum LpiCommand {
    /// Decode one internal-message header and its data.
    Decode {
        /// Input file, or - for standard input.
        file: String,
        /// Input is hex text (whitespace ignored), not binary.
        #[arg(long)]
        hex: bool,
    },
}

#[derive(Subcommand)]
enum CorpusCommand {
    /// Write every harness's seed inputs into corpora/fuzz/<target>/ and its libFuzzer dictionary
    /// into corpora/dict/<target>.dict.
    Seed {
        /// The corpora directory.
        #[arg(long, default_value = "corpora")]
        dir: PathBuf,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Command::Serve(a) = &cli.command {
        serve::init_logging(a.log_format);
    } else {
        tracing_subscriber::fmt()
            .with_env_filter(
                tracing_subscriber::EnvFilter::try_from_env("MTA_LAB_LOG")
                    .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("off")),
            )
            .with_writer(std::io::stderr)
            .init();
    }
    mta_mta::fault::quiet_caught_faults();
    let result = match cli.command {
        Command::Ber {
            command: BerCommand::Dump { file, hex },
        } => ber_dump(&file, hex),
        Command::Lpi {
            command: LpiCommand::Decode { file, hex },
        } => lpi_decode(&file, hex),
        Command::P1 {
            command:
                P1Command::ConnectData {
                    name,
                    password,
                    x410,
                },
        } => {
            p1_connect_data(&name, &password, x410);
            Ok(ExitCode::SUCCESS)
        }
        Command::P1 {
            command: P1Command::Decode { file, hex },
        } => p1_decode(&file, hex),
        Command::Decode {
            file,
            hex,
            direction,
        } => decode(&file, hex, direction),
        Command::Run {
            seed,
            pcap,
            trace,
            sim,
        } => run_world(&sim, seed, pcap.as_deref(), trace.as_deref()),
        Command::Sweep {
            seeds,
            jobs,
            shard,
            timeout,
            resume,
            sim,
        } => sweep_cmd(&seeds, jobs, shard.as_deref(), timeout, resume, &sim),
        Command::Kb(o) => kb_matrix(&o),
        Command::Nightly(a) => match nightly_args(a) {
            Ok(o) => nightly_cmd(&o),
            Err(e) => {
                eprintln!("error: {e}");
                return ExitCode::from(2);
            }
        },
        Command::Chart {
            source,
            output,
            layer,
        } => chart_cmd(&source, &output, Some(layer)),
        Command::Diff(args) => diff_cmd(&args),
        Command::View { source, output } => chart_cmd(&source, &output, None),
        Command::Merge {
            shards,
            out,
            baseline,
        } => merge_cmd(&shards, &out, &baseline),
        Command::Coverage(a) => coverage::cli(&a),
        Command::Goals(a) => goals::cli(&a),
        Command::Mutants(a) => mutants::cli(&a),
        Command::Bench { command } => match command {
            bench::BenchCommand::Fuzz(a) => bench::fuzz(&a),
            bench::BenchCommand::Find(a) => bench::find(&a),
            bench::BenchCommand::Sim(a) => bench::sim(&a),
        },
        Command::Shrink { finding } => shrink(&finding),
        Command::Import {
            capture,
            out,
            port,
            keep,
            build,
            corpora,
        } => import_cmd(&capture, &out, port).and_then(|streams| match keep {
            Some(name) => keep_capture(&capture, &streams, port, &name, &build, &corpora),
            None => Ok(ExitCode::SUCCESS),
        }),
        Command::Probe(a) => probe_cmd(&a),
        Command::Serve(a) => serve_cmd(&a),
        Command::Hostile(a) => return hostile_cmd(a),
        Command::Builds {
            finding: Some(f), ..
        } => builds_scan(&f),
        Command::Builds {
            set,
            build,
            finding: None,
        } => builds(&set, build),
        Command::Smoke {
            iterations,
            seed,
            build,
            target,
            findings,
        } => smoke::run(&smoke::Options {
            iterations,
            seed,
            build,
            target,
            findings,
        }),
        Command::Replay {
            target,
            file,
            build,
            until,
        } => match (file, until) {
            (Some(_), Some(_)) => Err("--until steps through a finding, not a fuzz input".into()),
            (Some(file), None) => smoke::replay(
                &target,
                &file,
                build.unwrap_or_else(mta_harness::build_from_env),
            ),
            (None, Some(u)) => replay_until(std::path::Path::new(&target), u),
            (None, None) => replay_finding(std::path::Path::new(&target)),
        },
        Command::Corpus {
            command: CorpusCommand::Seed { dir },
        } => smoke::seed_corpora(&dir),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// `mta-lab p1 connect-data`: the session CONNECT user data of a bind, as hex.
fn p1_connect_data(name: &str, password: &str, x410: bool) {
    let mode = if x410 {
        mta_osi::presentation::Mode::X410
    } else {
        mta_osi::presentation::Mode::Normal
    };
    println!(
        "{}",
        hex::encode(hostile::connect_user_data(name, password, mode))
    );
}

/// `mta-lab probe`: the verdict table; exit 1 if a case was not handled.
fn probe_cmd(a: &probe::ProbeArgs) -> Result<ExitCode, String> {
    probe::run(a).map(|r| {
        probe::print_table(&r);
        println!("verdicts: {}; pcap: {}", a.json.display(), a.pcap.display());
        if r.all_handled {
            ExitCode::SUCCESS
        } else {
            ExitCode::FAILURE
        }
    })
}

/// `mta-lab serve`: run until Ctrl-C or --for, then summarise the state written.
fn serve_cmd(a: &serve::ServeArgs) -> Result<ExitCode, String> {
    serve::run(a).map(|s| {
        println!(
            "stopped after {} ms: {} queued, {} delivered, {} connections accepted; state in {}",
            s.uptime_ms,
            s.queues.values().map(Vec::len).sum::<usize>(),
            s.delivered(),
            s.connections.get("accepted").copied().unwrap_or(0),
            a.state.display()
        );
        ExitCode::SUCCESS
    })
}

/// `mta-lab hostile`: the hostile-peer library (or imported peer scripts, or one capture's callers
/// as captured) against one MTA; exit 2 on a bad script or output file.
fn hostile_cmd(a: HostileArgs) -> ExitCode {
    let HostileArgs {
        build,
        seed,
        script,
        as_captured,
        pcap,
        event_log,
    } = a;
    let mut scripts = Vec::new();
    for p in &script {
        match import::PeerScript::load(p) {
            Ok(s) => scripts.push((p.display().to_string(), s)),
            Err(e) => {
                eprintln!("error: {e}");
                return ExitCode::from(2);
            }
        }
    }
    let (r, capture) = if as_captured {
        let only: Vec<import::PeerScript> = scripts.into_iter().map(|(_, s)| s).collect();
        match capture_replay::replay_captured(build, &only) {
            Ok((r, done)) => {
                println!(
                    "replayed {} connections ({} refused), {} writes ({} waited for the \
                     receive window); stopped at {} ms, {}",
                    done.connections,
                    done.refused,
                    done.writes,
                    done.held,
                    done.ended_ms,
                    if done.quiescent {
                        "quiescent"
                    } else {
                        "NOT quiescent when the drain ran out"
                    }
                );
                (r, Vec::new())
            }
            Err(e) => {
                eprintln!("error: {e}");
                return ExitCode::from(2);
            }
        }
    } else if scripts.is_empty() && pcap.is_none() {
        (hostile::run(build, seed), Vec::new())
    } else if scripts.is_empty() {
        hostile::run_peers_recorded(build, seed, hostile::library(), true)
    } else {
        let peers: Vec<hostile::Peer> = scripts
            .into_iter()
            .map(|(name, s)| hostile::Peer::from_script(&s, Box::leak(name.into_boxed_str())))
            .collect();
        if pcap.is_some() {
            hostile::run_peers_recorded(build, seed, peers, true)
        } else {
            (hostile::run_peers(build, seed, peers), Vec::new())
        }
    };
    if let Some(p) = &pcap {
        match pcap::write(p, &capture) {
            Ok(n) => println!("{n} packets written to {}", p.display()),
            Err(e) => {
                eprintln!("error: {e}");
                return ExitCode::from(2);
            }
        }
    }
    if let Some(p) = &event_log {
        let text = r.log_lines().join("\n") + "\n";
        if let Err(e) = std::fs::write(p, text) {
            eprintln!("error: {}: {e}", p.display());
            return ExitCode::from(2);
        }
    }
    println!(
        "{} hostile peers against {build} (seed {seed}); MTA events {:?}",
        r.peers, r.events
    );
    for f in &r.findings {
        println!("  FINDING {f}");
    }
    if r.findings.is_empty() {
        println!("0 findings; the listener still accepts and a good peer got through");
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// `mta-lab nightly`'s options from its arguments (the budget must parse).
fn nightly_args(a: NightlyArgs) -> Result<nightly::Options, String> {
    Ok(nightly::Options {
        budget_s: input::parse_duration(&a.budget).map_err(|e| format!("--budget {e}"))?,
        jobs: a
            .jobs
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, usize::from)),
        date: a.date.unwrap_or_else(date::today),
        reports: a.reports,
        state: a.state,
        kb_budget_s: a.kb_budget,
        kb: a.kb,
        no_libfuzzer: a.no_libfuzzer,
        min_slice_s: a.min_slice,
        baseline: a.baseline,
        expected: a.expected,
        regressions: a.regressions,
        coverage_targets: a.coverage_targets,
        mutants_shards: a.mutants_shards,
    })
}

/// Write a file via a temporary file and a rename (readers never see half a file).
fn write_atomically(path: &std::path::Path, text: &str) -> Result<(), String> {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, text).map_err(|e| format!("{}: {e}", tmp.display()))?;
    std::fs::rename(&tmp, path).map_err(|e| format!("{}: {e}", path.display()))
}

#[allow(clippy::disallowed_types)] // wall clock: total time printed
fn kb_matrix(o: &kb::Options) -> Result<ExitCode, String> {
    if !o.budget_s.is_finite() || o.budget_s <= 0.0 {
        return Err(format!(
            "--budget {}: a positive number of seconds",
            o.budget_s
        ));
    }
    let started = std::time::Instant::now();
    println!(
        "KB matrix: budget {} s per cell (libFuzzer {} s), seed {}, {} at once; expected: {}",
        o.budget_s,
        o.budget_s * 4.0,
        o.seed,
        o.jobs,
        o.expected.display()
    );
    println!(
        "{:<8} {:<16} {:<9} {:<28} {:<9} {:>8} {:>9} {:>8}  expected",
        "KB", "build", "config", "outcome", "engine", "time", "spent", "trigger"
    );
    let cells = kb::run(o, &mut |c| println!("{}", kb::line(c)))?;
    let bad: Vec<&kb::Cell> = cells.iter().filter(|c| !c.agrees).collect();
    println!();
    for c in cells
        .iter()
        .filter(|c| c.artifact.is_some() || c.replay.is_some())
    {
        println!(
            "  {} {} {}: {}",
            c.kb,
            c.build,
            c.config,
            c.replay.as_deref().unwrap_or("-")
        );
        if let Some((chart, viewer)) = &c.pages {
            println!("      chart {chart}  viewer {viewer}");
        }
    }
    for c in &bad {
        println!(
            "DISAGREES: {} {} {} computed {:?}, expected {}; other findings: {:?}",
            c.kb,
            c.build,
            c.config,
            c.outcome,
            c.expected.as_deref().unwrap_or("-"),
            c.other
        );
    }
    println!(
        "{} cells in {:.0} s: {} agree with {}, {} disagree",
        cells.len(),
        started.elapsed().as_secs_f64(),
        cells.len() - bad.len(),
        o.expected.display(),
        bad.len()
    );
    if let Some(j) = &o.json {
        println!("json: {}", j.display());
    }
    Ok(if bad.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// The trace of a finding (replayed) or of a JSONL file, with a title.
fn trace_of(
    input: &std::path::Path,
    harness: Option<(&str, Build)>,
) -> Result<(String, Vec<chart::Rec>), String> {
    if let Some((t, b)) = harness {
        let bytes = std::fs::read(input).map_err(|e| format!("{}: {e}", input.display()))?;
        let title = format!("{t} on {b}: {}", input.display());
        return Ok((title, harness_trace::harness_records(t, b, &bytes)?));
    }
    let is_toml = input
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("toml"));
    if is_toml {
        let f = finding::Finding::load(input)?;
        let w = f.world(None)?;
        let (_, lines) = f.trace(&w);
        let title = format!(
            "{} — world {} seed {}: {}",
            input.display(),
            f.world,
            f.seed,
            f.signature
        );
        Ok((title, chart::load(&lines.join("\n"))?))
    } else {
        let text =
            std::fs::read_to_string(input).map_err(|e| format!("{}: {e}", input.display()))?;
        let recs = chart::load(&text).map_err(|e| format!("{}: {e}", input.display()))?;
        Ok((input.display().to_string(), recs))
    }
}

fn chart_cmd(
    source: &TraceSource,
    output: &std::path::Path,
    layer: Option<chart::Layer>,
) -> Result<ExitCode, String> {
    let harness = source.target.as_deref().map(|t| (t, source.build));
    let (title, recs) = trace_of(&source.input, harness)?;
    let svg = chart::svg(&recs, layer.unwrap_or(chart::Layer::Session));
    let html_out = output
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("html") || e.eq_ignore_ascii_case("htm"));
    let text = match layer {
        None => viewer::page(&title, &recs, &svg),
        Some(_) if html_out => chart::html(&title, &svg),
        Some(_) => svg,
    };
    write_atomically(output, &text)?;
    println!("{} records → {}", recs.len(), output.display());
    Ok(ExitCode::SUCCESS)
}

/// What `chart` and `view` draw.
#[derive(clap::Args)]
struct TraceSource {
    /// FINDING.toml or TRACE.jsonl (or a fuzz input with --target).
    input: PathBuf,
    /// The input is a fuzz input of this target (its run's event log and model events).
    #[arg(long)]
    target: Option<String>,
    /// Build for --target.
    #[arg(long, default_value = "5.5")]
    build: Build,
}

#[derive(clap::Args)]
struct DiffArgs {
    /// Two builds, comma-separated (e.g. 5.5-sp1,5.5-sp2).
    #[arg(long)]
    builds: String,
    /// A simulation finding (its world, seed and fault plan).
    #[arg(long)]
    finding: Option<PathBuf>,
    /// A world (with --seed).
    #[arg(long)]
    world: Option<String>,
    /// Seed of --world.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Messages per flow of --world.
    #[arg(long)]
    messages: Option<usize>,
    /// --world without its seed's fault plan.
    #[arg(long)]
    no_faults: bool,
    /// A fuzz target (with --input): compares the models' tracing events.
    #[arg(long)]
    target: Option<String>,
    /// The fuzz input.
    #[arg(long)]
    input: Option<PathBuf>,
    /// Layer PDUs are compared at.
    #[arg(long, value_enum, default_value = "session")]
    layer: chart::Layer,
    /// Steps of context around the divergence.
    #[arg(long, default_value_t = 4)]
    context: usize,
    /// Write the divergence and both charts side by side (.html).
    #[arg(short, long)]
    output: Option<PathBuf>,
}

fn diff_cmd(a: &DiffArgs) -> Result<ExitCode, String> {
    let pair: Vec<&str> = a.builds.split(',').map(str::trim).collect();
    let [x, y] = pair[..] else {
        return Err(format!(
            "--builds {:?}: two builds, comma-separated",
            a.builds
        ));
    };
    let (bx, by): (Build, Build) = (
        x.parse().map_err(|e| format!("--builds: {e}"))?,
        y.parse().map_err(|e| format!("--builds: {e}"))?,
    );
    let names = (bx.cli_name(), by.cli_name());
    let (sa, sb, charts, title) = match (&a.finding, &a.world, &a.target, &a.input) {
        (_, _, Some(t), Some(file)) => {
            let bytes = std::fs::read(file).map_err(|e| format!("{}: {e}", file.display()))?;
            (
                harness_trace::harness_steps(t, bx, &bytes)?,
                harness_trace::harness_steps(t, by, &bytes)?,
                None,
                format!("{t} {}", file.display()),
            )
        }
        (Some(path), None, None, None) => {
            let f = finding::Finding::load(path)?;
            let run = |b: Build| -> Result<Vec<chart::Rec>, String> {
                let w = f.world(Some(b))?;
                chart::load(&f.trace(&w).1.join("\n"))
            };
            let (ra, rb) = (run(bx)?, run(by)?);
            (
                diff::sim_steps(&ra, a.layer),
                diff::sim_steps(&rb, a.layer),
                Some((chart::svg(&ra, a.layer), chart::svg(&rb, a.layer))),
                format!("{} (seed {})", path.display(), f.seed),
            )
        }
        (None, Some(w), None, None) => {
            let run = |b: Build| -> Result<Vec<chart::Rec>, String> {
                let world = make_world(w, Some(b), a.messages)?;
                let plan = if a.no_faults {
                    faults::FaultPlan::none()
                } else {
                    faults::FaultPlan::from_seed(a.seed, &world)
                };
                let (_, rec) = simulate::run_with(
                    &world,
                    a.seed,
                    plan,
                    simulate::Record {
                        pcap: false,
                        trace: true,
                        until: None,
                    },
                );
                chart::load(&rec.trace.join("\n"))
            };
            let (ra, rb) = (run(bx)?, run(by)?);
            (
                diff::sim_steps(&ra, a.layer),
                diff::sim_steps(&rb, a.layer),
                Some((chart::svg(&ra, a.layer), chart::svg(&rb, a.layer))),
                format!("world {w} seed {}", a.seed),
            )
        }
        _ => {
            return Err(
                "give --finding F, or --world W [--seed S], or --target T --input FILE".into(),
            );
        }
    };
    let Some(index) = diff::first_divergence(&sa, &sb) else {
        println!(
            "{title}: {} and {} behave the same ({} steps)",
            names.0,
            names.1,
            sa.len()
        );
        return Ok(ExitCode::SUCCESS);
    };
    let d = diff::Divergence {
        index,
        a: sa,
        b: sb,
    };
    let text = diff::describe(names, &d, a.context);
    println!("{title}\n{text}");
    for (n, st) in [(names.0, &d.a), (names.1, &d.b)] {
        if let Some(last) = st
            .iter()
            .rev()
            .find(|s| s.key.starts_with("outcome:") || s.key.starts_with("ORACLE"))
        {
            println!("  {n} ends: {}", last.key);
        } else {
            println!("  {n} ends: no finding");
        }
    }
    if let Some(o) = &a.output {
        let page = match &charts {
            Some((ca, cb)) => diff::html(&title, &text, (ca, cb), names),
            None => diff::html(&title, &text, ("", ""), names),
        };
        write_atomically(o, &page)?;
        println!("written: {}", o.display());
    }
    // Like diff(1): 1 when the builds behave differently.
    Ok(ExitCode::FAILURE)
}

fn import_cmd(
    capture: &std::path::Path,
    out: &std::path::Path,
    port: u16,
) -> Result<Vec<import::Stream>, String> {
    let streams = import::read(capture, port)?;
    if streams.is_empty() {
        return Err(format!(
            "{}: no TCP connections to port {port}",
            capture.display()
        ));
    }
    for (i, s) in streams.iter().enumerate() {
        println!(
            "conn-{i}: {} -> {} at {} ms (frame {}): {} caller writes, {} / {} octets, caller {:?}",
            s.client,
            s.server,
            s.opened.ms,
            s.opened.frame,
            s.client_writes.len(),
            s.client_data.len(),
            s.server_data.len(),
            s.end
        );
    }
    let files = import::write(&streams, out)?;
    println!(
        "{} files in {}: replay the callers as captured (the same event log) with `mta-lab hostile \
         --script {}/conn-*.peer.toml --as-captured`, or as hostile peers without \
         --as-captured; keep it as a regression test and corpus entries with --keep NAME",
        files.len(),
        out.display(),
        out.display()
    );
    Ok(streams)
}

/// `import --keep NAME`: the capture as a regression (replayed by `cargo test`) and its callers'
/// distinct octet streams as `inbound_stack` seeds.
fn keep_capture(
    capture: &std::path::Path,
    streams: &[import::Stream],
    port: u16,
    name: &str,
    builds: &[Build],
    corpora: &std::path::Path,
) -> Result<ExitCode, String> {
    let kept = capture_replay::keep(
        capture,
        streams,
        port,
        name,
        builds,
        &corpora.join("regressions").join("captures"),
    )?;
    let seeds = corpora.join("fuzz").join("inbound_stack");
    std::fs::create_dir_all(&seeds).map_err(|e| format!("{}: {e}", seeds.display()))?;
    let mut seen = std::collections::BTreeSet::new();
    for (i, s) in streams.iter().enumerate() {
        if s.client_data.is_empty() || !seen.insert(s.client_data.clone()) {
            continue;
        }
        let p = seeds.join(format!("capture-{name}-conn-{i}"));
        std::fs::write(&p, &s.client_data).map_err(|e| format!("{}: {e}", p.display()))?;
    }
    println!(
        "kept as {} (replayed by cargo test on {}); {} inbound_stack seeds in {}",
        kept.display(),
        builds
            .iter()
            .map(|b| b.cli_name())
            .collect::<Vec<_>>()
            .join(", "),
        seen.len(),
        seeds.display()
    );
    Ok(ExitCode::SUCCESS)
}

fn merge_cmd(
    shards: &[PathBuf],
    out: &std::path::Path,
    baseline: &std::path::Path,
) -> Result<ExitCode, String> {
    let known = night::load_baseline(baseline)?;
    let (mut m, reps) = merge::merge(shards, &known)?;
    merge::write(&mut m, &reps, out)?;
    for (j, (n, f, d)) in &m.sweeps {
        println!("{j}: {n} seeds, {f} with findings, {d} run in more than one shard");
    }
    for (j, per) in &m.refused {
        for (machine, (n, c)) in per {
            if *c > 0 {
                println!(
                    "{j}: {machine} refused {n} of {c} inbound connections with 9301 ({:.1} %)",
                    *n as f64 * 100.0 / *c as f64
                );
            }
        }
    }
    let mut new = 0;
    for s in &m.signatures {
        if s.known.is_none() {
            new += 1;
        }
        println!(
            "{} x{:<5} {}  {}",
            s.known.as_deref().unwrap_or("NEW    "),
            s.seeds.len(),
            s.signature,
            s.replay.as_deref().unwrap_or("")
        );
    }
    println!(
        "{} shards, {} signatures ({new} new); report {}",
        m.shards.len(),
        m.signatures.len(),
        out.join("index.html").display()
    );
    Ok(if new == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

fn nightly_cmd(o: &nightly::Options) -> Result<ExitCode, String> {
    if o.date.is_empty()
        || !o
            .date
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        return Err(format!(
            "--date {:?}: letters, digits, '-' and '_' only (it names directories)",
            o.date
        ));
    }
    if !o.kb_budget_s.is_finite() || o.kb_budget_s <= 0.0 {
        return Err(format!(
            "--kb-budget {}: a positive number of seconds",
            o.kb_budget_s
        ));
    }
    if o.jobs == 0 {
        return Err("--jobs 0: at least one".into());
    }
    Ok(if nightly::run(o)? {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

fn make_world(
    name: &str,
    build: Option<Build>,
    messages: Option<usize>,
) -> Result<world::World, String> {
    world::World::named(name, build, messages)
}

fn print_report(r: &simulate::RunReport) {
    print!("{}", simulate::report_text(r));
}

fn run_world(
    sim: &SimArgs,
    seed: u64,
    pcap: Option<&std::path::Path>,
    trace: Option<&std::path::Path>,
) -> Result<ExitCode, String> {
    let (faults, dir) = (!sim.no_faults, &sim.findings);
    let w = make_world(&sim.world, sim.build, sim.messages)?;
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
    };
    let (r, rec) = simulate::run_with(&w, seed, plan, record);
    if let Some(p) = pcap {
        let n = pcap::write(p, &rec.capture)?;
        println!("pcap: {} ({n} packets)", p.display());
    }
    if let Some(p) = trace {
        write_atomically(p, &(rec.trace.join("\n") + "\n"))?;
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

fn shrink(finding: &std::path::Path) -> Result<ExitCode, String> {
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

fn parse_seeds(seeds: &str) -> Result<(u64, u64), String> {
    seeds
        .split_once("..")
        .and_then(|(a, b)| Some((a.parse::<u64>().ok()?, b.parse::<u64>().ok()?)))
        .ok_or_else(|| format!("--seeds {seeds:?}: expected A..B"))
}

fn sweep_cmd(
    seeds: &str,
    jobs: usize,
    shard: Option<&str>,
    timeout_s: u64,
    resume: bool,
    sim: &SimArgs,
) -> Result<ExitCode, String> {
    let (a, b) = parse_seeds(seeds)?;
    let (i, n) = shard.map_or(Ok((0, 1)), jobs::parse_shard)?;
    let w = make_world(&sim.world, sim.build, sim.messages)?;
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

fn replay_until(path: &std::path::Path, until: simulate::Until) -> Result<ExitCode, String> {
    let f = finding::Finding::load(path)?;
    let w = f.world(None)?;
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

/// `replay corpora/regressions/captures/NAME.toml`: the kept capture's replay on each recorded
/// build against what was recorded.
fn replay_kept(k: &capture_replay::KeptCapture, path: &std::path::Path) -> ExitCode {
    match k.check(path) {
        Ok(n) => {
            println!(
                "{}: the same event log, findings and ending on {n} recorded build(s)",
                path.display()
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            println!("DIFFERS: {e}");
            ExitCode::FAILURE
        }
    }
}

fn replay_finding(path: &std::path::Path) -> Result<ExitCode, String> {
    let f = match finding::Finding::load(path) {
        Ok(f) => f,
        Err(not_finding) => {
            let k = capture_replay::KeptCapture::load(path)
                .map_err(|not_kept| format!("{not_finding}; and {not_kept}"))?;
            return Ok(replay_kept(&k, path));
        }
    };
    let w = f.world(None)?;
    if f.model_version != env!("CARGO_PKG_VERSION") {
        println!(
            "note: recorded on model {}, replaying on {} (the trace may differ; the signature should not)",
            f.model_version,
            env!("CARGO_PKG_VERSION")
        );
    }
    println!("SEED={} {}", f.seed, w.describe());
    let r = f.run(&w);
    println!("{}", r.plan);
    for (machine, log) in &r.event_log {
        println!("event log of {machine} ({} events):", log.len());
        for e in log {
            println!("  {}", e.replace('\n', "\n  "));
        }
    }
    print_report(&r);
    let hash = format!("{:016x}", r.trace_hash);
    let same_sig = finding::signature(&r) == f.signature;
    println!(
        "trace {hash} ({}), signature {}",
        if hash == f.trace_hash {
            "bit-identical"
        } else {
            "DIFFERENT"
        },
        if same_sig {
            "reproduced"
        } else {
            "NOT reproduced"
        }
    );
    if !same_sig {
        println!(
            "recorded signature: {}\nthis run's signature: {}",
            f.signature,
            finding::signature(&r)
        );
    }
    Ok(if same_sig {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

fn builds_scan(path: &std::path::Path) -> Result<ExitCode, String> {
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

fn decode(file: &str, hex: bool, direction: DirectionArg) -> Result<ExitCode, String> {
    use mta_osi::dissect::{Direction, dissect};
    let bytes = input::read(file, hex)?;
    let dir = match direction {
        DirectionArg::Out => Direction::Out,
        DirectionArg::In => Direction::In,
    };
    let (text, streams) = dissect(&[(dir, bytes.clone())]);
    print!("{text}");
    let pending = bytes.len() as u64 - streams[dir as usize].consumed();
    if pending > 0 {
        println!("({pending} trailing octets: an incomplete TPKT)");
    }
    Ok(if text.contains("!! malformed") || pending > 0 {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

fn p1_decode(file: &str, hex: bool) -> Result<ExitCode, String> {
    let bytes = input::read(file, hex)?;
    let apdu_err = match mta_p1::Apdu::parse(&bytes) {
        Ok(apdu) => {
            let kind = match &apdu {
                mta_p1::Apdu::Message { .. } => "message",
                mta_p1::Apdu::Report(_) => "report",
                mta_p1::Apdu::Probe(_) => "probe",
            };
            println!("{kind} {}\n{apdu:#?}", apdu.id());
            return Ok(ExitCode::SUCCESS);
        }
        Err(e) => e,
    };
    if let Ok(b) = mta_p1::Bind::parse(&bytes) {
        println!("MTA bind\n{b:#?}");
        return Ok(ExitCode::SUCCESS);
    }
    if let Ok(code) = mta_p1::parse_bind_error(&bytes) {
        println!("MTA bind error {code}");
        return Ok(ExitCode::SUCCESS);
    }
    eprintln!("error: not a valid MTS-APDU: {apdu_err}");
    Ok(ExitCode::FAILURE)
}

fn ber_dump(file: &str, hex: bool) -> Result<ExitCode, String> {
    let bytes = input::read(file, hex)?;
    let (text, err) = mta_ber::dump(&bytes, &mta_ber::Limits::default());
    print!("{text}");
    match err {
        None => Ok(ExitCode::SUCCESS),
        Some(e) => {
            eprintln!("error: malformed BER at offset {}: {}", e.offset, e.kind);
            Ok(ExitCode::FAILURE)
        }
    }
}

fn lpi_decode(file: &str, hex: bool) -> Result<ExitCode, String> {
    let bytes = input::read(file, hex)?;
    match mta_lpi::MessageRepr::parse_header(&bytes, bytes.len()) {
        Ok(r) => {
            let m = mta_lpi::InternalMessage::new_unchecked(&bytes[..]);
            println!("{r}");
            println!("  type         {}", r.message_type);
            println!("  header len   {}", m.header_len());
            let iface = match mta_lpi::Interface::from_number(r.lpi.interface) {
                Some(mta_lpi::Interface::TcpIp) => "TCP/IP",
                Some(mta_lpi::Interface::X25) => "X.25",
                None => "unknown interface",
            };
            println!(
                "  lpi          {} (interface {} {iface}, generation {}, control block {})",
                r.lpi, r.lpi.interface, r.lpi.generation, r.lpi.index
            );
            println!(
                "  flags        0x{:04x}{}",
                m.flags(),
                if r.more { " (more)" } else { "" }
            );
            println!("  data         {} octets", r.data_len);
            for (i, chunk) in m.data().chunks(16).enumerate() {
                println!("    {:04x}  {}", i * 16, hex::encode(chunk));
            }
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => {
            eprintln!(
                "error: malformed internal message at offset {}: {e}",
                e.offset()
            );
            Ok(ExitCode::FAILURE)
        }
    }
}

fn builds(set: &[String], only: Option<Build>) -> Result<ExitCode, String> {
    let mut profiles = Build::ALL.map(Build::profile);
    for kv in set {
        for p in &mut profiles {
            p.set_override(kv).map_err(|e| e.to_string())?;
        }
    }
    let cols: Vec<Build> = only.map_or_else(|| Build::ALL.to_vec(), |b| vec![b]);
    println!("Emsmta versions:");
    for b in &cols {
        println!(
            "  {:<16} {:<12} {}",
            b.cli_name(),
            b.emsmta_version().to_string(),
            b.product_name()
        );
    }
    println!();
    print!("{:<38} {:<8}", "parameter", "kind");
    for b in &cols {
        print!(" {:>16}", b.cli_name());
    }
    println!();
    let rows = mta_build::Profile::rows();
    for r in &rows {
        print!("{:<38} {:<8}", r.name, r.kind.to_string());
        for b in &cols {
            let v = profiles[b.index()].value(r.name).unwrap_or_default();
            print!(" {v:>16}");
        }
        println!();
    }
    println!("\nSources:");
    for r in &rows {
        println!(
            "  {:<38} {}",
            r.name,
            r.source.split_whitespace().collect::<Vec<_>>().join(" ")
        );
    }
    Ok(ExitCode::SUCCESS)
}
