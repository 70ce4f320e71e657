//! The stream commands of `mta-lab`: `hostile` (the hostile-peer library, imported scripts or a
//! capture's callers against one MTA), `probe` and `serve` on real TCP, `import` (a capture into
//! peer scripts and seeds, optionally kept as a regression), `replay` of a finding or a kept
//! capture, and `p1 connect-data`. Each prints its report and returns the exit status.

use crate::{capture_replay, hostile, import, probe, serve, setup};
use mta_build::Build;
use mta_lab_world::commands::print_report;
use mta_lab_world::{finding, pcap};
use std::path::PathBuf;
use std::process::ExitCode;

/// `mta-lab hostile`'s options.
#[derive(clap::Args)]
#[allow(clippy::struct_field_names)]
pub struct HostileArgs {
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
    /// A fresh caller's CR→CC above this (simulated ms) makes a case "delay others".
    #[arg(long, default_value_t = crate::setup::DEFAULT_MAX_SETUP_MS)]
    max_setup_ms: u64,
    /// Instead of the run: the fairness cases alone against an MTA of each of the eight builds,
    /// each case's setup p50/max in simulated ms per build.
    #[arg(long, conflicts_with_all = ["script", "pcap", "event_log"])]
    setup_table: bool,
}

/// `mta-lab p1 connect-data`: the session CONNECT user data of a bind, as hex. The name and
/// password are checked against X.411's bounds first.
pub fn p1_connect_data(name: &str, password: &str, x410: bool) -> Result<(), String> {
    mta_p1::check_mta_name(name)?;
    mta_p1::check_password(password)?;
    let mode = if x410 {
        mta_osi::presentation::Mode::X410
    } else {
        mta_osi::presentation::Mode::Normal
    };
    println!(
        "{}",
        hex::encode(hostile::connect_user_data(name, password, mode))
    );
    Ok(())
}

/// `mta-lab probe`: the verdict table; exit 1 if a case was not handled.
pub fn probe_cmd(a: &probe::ProbeArgs) -> Result<ExitCode, String> {
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
pub fn serve_cmd(a: &serve::ServeArgs) -> Result<ExitCode, String> {
    serve::run(a).map(|s| {
        println!(
            "stopped after {} ms: {} queued, {} delivered, {} connections accepted; state in {}",
            s.uptime_ms,
            s.queues.values().map(Vec::len).sum::<usize>(),
            s.delivered(),
            s.connections.get("accepted").copied().unwrap_or(0),
            a.state.display()
        );
        match &s.stopped {
            // A fatal event stopped the MTA: a finding, with the finding status.
            Some(cause) => {
                println!("FINDING {cause}");
                ExitCode::FAILURE
            }
            None => ExitCode::SUCCESS,
        }
    })
}

/// `mta-lab hostile`: the hostile-peer library (or imported peer scripts, or one capture's callers
/// as captured) against one MTA; exit 2 on a bad script or output file.
pub fn hostile_cmd(a: HostileArgs) -> ExitCode {
    let HostileArgs {
        build,
        seed,
        script,
        as_captured,
        pcap,
        event_log,
        max_setup_ms,
        setup_table,
    } = a;
    if setup_table {
        return setup_table_cmd(seed, max_setup_ms);
    }
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
            .map(|(name, s)| hostile::from_script(&s, Box::leak(name.into_boxed_str())))
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
    if !r.setup.is_empty() {
        setup::print_table(&r.setup, max_setup_ms, "simulated");
        let slow = r
            .setup
            .iter()
            .filter(|c| c.delays_others(max_setup_ms))
            .count();
        println!(
            "{slow} case(s) delay others (setup-time oracle, reported beside the MTA's oracles; \
             `hostile --setup-table` compares every build)"
        );
    }
    if r.findings.is_empty() {
        println!("0 findings; the listener still accepts and a good peer got through");
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// `mta-lab hostile --setup-table`: the fairness cases on every build, one row per (case, build).
fn setup_table_cmd(seed: u64, max_setup_ms: u64) -> ExitCode {
    println!(
        "setup time of a fresh caller, CR to CC, while each fairness case runs and right after it \
         (simulated ms, p50 / max; threshold {max_setup_ms} ms; seed {seed})"
    );
    println!(
        "  {:<38} {:<16} {:>7} {:>15} {:>12}  verdict",
        "case", "build", "callers", "p50 / max", "max during"
    );
    let mut findings = 0;
    for build in Build::ALL {
        let (r, _) = hostile::run_peers_with(
            build,
            seed,
            hostile::fairness().to_vec(),
            false,
            hostile::Tail::Nothing,
        );
        for c in &r.setup {
            println!(
                "  {:<38} {:<16} {:>7} {:>15} {:>12}  {}",
                c.name,
                build.to_string(),
                c.during.len() + 1,
                c.summary(),
                c.max_during().map_or("-".into(), |m| m.to_string()),
                c.verdict(max_setup_ms)
            );
        }
        for f in &r.findings {
            println!("  FINDING on {build}: {f}");
            findings += 1;
        }
    }
    if findings == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// `mta-lab import`'s options.
#[derive(clap::Args)]
pub struct ImportArgs {
    /// The capture (pcap, Ethernet or raw IPv4).
    pub capture: PathBuf,
    /// Output directory.
    #[arg(long, default_value = "target/mta-lab/import")]
    pub out: PathBuf,
    /// The MTA's TCP port in the capture.
    #[arg(long, default_value_t = import::ISO_TSAP_PORT)]
    pub port: u16,
    /// Keep the capture as regression NAME: a copy and its replay on each --build under
    /// CORPORA/regressions/captures/ (cargo test replays it), and each caller's octets as an
    /// inbound_stack seed under CORPORA/fuzz/inbound_stack/.
    #[arg(long, value_name = "NAME")]
    pub keep: Option<String>,
    /// With --keep: the builds to record the replay on.
    #[arg(long, requires = "keep", default_value = "2000-sp3-rollup", num_args = 1..)]
    pub build: Vec<Build>,
    /// With --keep: the corpora directory.
    #[arg(long, requires = "keep", default_value = "corpora")]
    pub corpora: PathBuf,
}

/// `mta-lab import`: the port-`port` streams of a capture, written per connection under `out`
/// (peer script, `inbound_stack` seed, each direction's octets).
pub fn import_cmd(
    capture: &std::path::Path,
    out: &std::path::Path,
    port: u16,
) -> Result<Vec<import::Stream>, String> {
    let mut streams = import::read(capture, port)?;
    if streams.is_empty() {
        return Err(format!(
            "{}: no TCP connections to port {port}",
            capture.display()
        ));
    }
    streams.retain(|s| match s.foreign() {
        Some(syntax) => {
            println!(
                "skipped: {} -> {} at {} ms (frame {}): a foreign association ({syntax}), not X.400",
                s.client, s.server, s.opened.ms, s.opened.frame
            );
            false
        }
        None => true,
    });
    if streams.is_empty() {
        return Err(format!(
            "{}: every connection to port {port} is a foreign association",
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
pub fn keep_capture(
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

/// `replay corpora/regressions/captures/NAME.toml`: the kept capture's replay on each recorded
/// build against what was recorded.
pub fn replay_kept(k: &capture_replay::KeptCapture, path: &std::path::Path) -> ExitCode {
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

/// `mta-lab replay FILE`: a simulation finding (bit-identical on the same model version, its
/// signature checked) or a kept capture (its recorded event log on each build).
pub fn replay_finding(path: &std::path::Path) -> Result<ExitCode, String> {
    let f = match finding::Finding::load(path) {
        Ok(f) => f,
        Err(not_finding) => {
            let k = capture_replay::KeptCapture::load(path)
                .map_err(|not_kept| format!("{not_finding}; and {not_kept}"))?;
            return Ok(replay_kept(&k, path));
        }
    };
    let w = f.world(None)?;
    let older = f.model_version != finding::MODEL_VERSION;
    if older {
        println!(
            "note: recorded on model {}, replaying on model {}: the trace may differ, the signature is what is checked",
            f.model_version,
            finding::MODEL_VERSION
        );
    }
    // Commit and compiler: metadata, never held to; said so that a surprise can be placed.
    for warning in f.provenance_warnings() {
        println!("{warning}");
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
        match (hash == f.trace_hash, older) {
            (true, _) => "bit-identical",
            (false, false) => "DIFFERENT",
            (false, true) => "DIFFERENT, expected across model versions",
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
