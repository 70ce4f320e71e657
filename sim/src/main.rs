//! `mta-lab`: the lab's command line — clap definitions and dispatch only. The work is done by
//! the world, net, look and campaign crates (see sim/README.md).

#![warn(clippy::too_many_lines)]

use clap::{Parser, Subcommand};
use mta_build::Build;
use mta_lab_campaign::commands::{
    DiffArgs, NightlyArgs, TraceSource, chart_cmd, diff_cmd, kb_matrix, merge_cmd, nightly_args,
    nightly_cmd,
};
use mta_lab_campaign::{bench, coverage, goals, harness_trace, kb, mutants, smoke};
use mta_lab_look::chart;
use mta_lab_look::inspect::{DirectionArg, ber_dump, builds, decode, lpi_decode, p1_decode};
use mta_lab_net::commands::{
    HostileArgs, ImportArgs, hostile_cmd, import_cmd, keep_capture, p1_connect_data, probe_cmd,
    replay_finding, serve_cmd,
};
use mta_lab_net::{probe, serve};
use mta_lab_world::commands::{
    SimArgs, SweepArgs, builds_scan, replay_until, run_world, shrink, sweep_cmd,
};
use mta_lab_world::{exit, simulate};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "mta-lab",
    version,
    about = "Deterministic simulation and fuzzing lab for the Exchange-era X.400 MTA",
    after_help = exit::HELP
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
    Sweep(SweepArgs),
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
    /// Benchmarks, each one table plus JSON: `bench fuzz` (fuzz targets' exec/s beside trivial),
    /// `bench find` (time-to-find of a KB), `bench sim` (seeds/s), `bench ber`, `bench p1`.
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
    Import(ImportArgs),
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
    Smoke(smoke::Options),
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
        /// A fuzz input: also write the run as trace records (JSONL) for `chart` and `view`.
        #[arg(long)]
        trace: Option<PathBuf>,
    },
    /// Corpus maintenance.
    Corpus {
        #[command(subcommand)]
        command: CorpusCommand,
    },
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
    mta_lab_campaign::targets::register(mta_lab_net::input_files::TARGETS);
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
    exit::run(move || dispatch(cli.command))
}

/// One command's body: its status, or an error (status 2).
fn dispatch(command: Command) -> Result<ExitCode, String> {
    match command {
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
        } => p1_connect_data(&name, &password, x410).map(|()| ExitCode::SUCCESS),
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
        Command::Sweep(a) => sweep_cmd(
            &a.seeds,
            a.jobs,
            a.shard.as_deref(),
            a.timeout,
            a.resume,
            &a.sim,
        ),
        Command::Kb(o) => kb_matrix(&o),
        Command::Nightly(a) => nightly_args(a).and_then(|o| nightly_cmd(&o)),
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
        Command::Bench { command } => bench::run(&command),
        Command::Shrink { finding } => shrink(&finding),
        Command::Import(a) => {
            import_cmd(&a.capture, &a.out, a.port).and_then(|streams| match &a.keep {
                Some(name) => {
                    keep_capture(&a.capture, &streams, a.port, name, &a.build, &a.corpora)
                }
                None => Ok(ExitCode::SUCCESS),
            })
        }
        Command::Probe(a) => probe_cmd(&a),
        Command::Serve(a) => serve_cmd(&a),
        Command::Hostile(a) => Ok(hostile_cmd(a)),
        Command::Builds {
            finding: Some(f), ..
        } => builds_scan(&f),
        Command::Builds {
            set,
            build,
            finding: None,
        } => builds(&set, build),
        Command::Smoke(o) => smoke::run(&o),
        Command::Replay {
            target,
            file,
            build,
            until,
            trace,
        } => match (file, until) {
            (Some(_), Some(_)) => Err("--until steps through a finding, not a fuzz input".into()),
            (None, _) if trace.is_some() => {
                Err("--trace is for a fuzz input (chart and view read a finding as it is)".into())
            }
            (Some(file), None) => harness_trace::replay(
                &target,
                &file,
                build.unwrap_or_else(mta_harness::build_from_env),
                trace.as_deref(),
            ),
            (None, Some(u)) => replay_until(std::path::Path::new(&target), u),
            (None, None) => replay_finding(std::path::Path::new(&target)),
        },
        Command::Corpus {
            command: CorpusCommand::Seed { dir },
        } => smoke::seed_corpora(&dir),
    }
}
