//! serve ↔ probe end to end on loopback (real TCP, two processes): against the fixed build every
//! hostile case is handled and the interop transfers arrive; against 2000 SP3 the give-up-early
//! callers leave the listener refusing (KB Q811406) with 4283 in the event log; and the queue
//! state written at shutdown accounts for every message.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};

struct Server {
    child: Child,
    addr: String,
    /// Kept open: serve prints its summary to stdout when it stops.
    _stdout: BufReader<std::process::ChildStdout>,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn serve(build: &str, dir: &Path, extra: &[&str]) -> Server {
    let mut child = Command::new(env!("CARGO_BIN_EXE_mta-lab"))
        .args([
            "serve",
            "--build",
            build,
            "--listen",
            "127.0.0.1:0",
            "--for",
            "120s",
        ])
        .arg("--state")
        .arg(dir.join("state.json"))
        .args(extra)
        .env("MTA_LAB_LOG", "info")
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(dir.join("serve.log")).unwrap())
        .spawn()
        .expect("mta-lab serve starts");
    let mut line = String::new();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    stdout.read_line(&mut line).unwrap();
    let addr = line
        .strip_prefix("listening ")
        .unwrap_or_else(|| panic!("serve's first line: {line:?}"))
        .trim()
        .to_string();
    Server {
        child,
        addr,
        _stdout: stdout,
    }
}

/// Run `mta-lab probe addr args…` with its JSON and pcap in `dir`: (exit success, the JSON).
fn probe(addr: &str, dir: &Path, args: &[&str]) -> (bool, serde_json::Value) {
    let out = Command::new(env!("CARGO_BIN_EXE_mta-lab"))
        .args(["probe", addr])
        .args(args)
        .arg("--json")
        .arg(dir.join("probe.json"))
        .arg("--pcap")
        .arg(dir.join("probe.pcap"))
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("probe.json")).unwrap())
            .unwrap_or_else(|e| panic!("{e}: {text}"));
    (out.status.success(), json)
}

/// Short waits for the test (the defaults suit a real endpoint across a network).
const FAST: [&str; 6] = ["--silent-ms", "300", "--answer-ms", "400", "--rate", "50"];

fn stop(mut s: Server, dir: &Path) -> serde_json::Value {
    // SIGINT = Ctrl-C: the clean shutdown path writes the state file.
    let pid = s.child.id().to_string();
    Command::new("kill").args(["-INT", &pid]).status().unwrap();
    let status = s.child.wait().unwrap();
    assert!(status.success(), "serve exits cleanly on Ctrl-C");
    serde_json::from_str(&std::fs::read_to_string(dir.join("state.json")).unwrap()).unwrap()
}

fn case<'a>(r: &'a serde_json::Value, name: &str) -> &'a serde_json::Value {
    r["cases"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"].as_str().unwrap().starts_with(name))
        .unwrap_or_else(|| panic!("no case {name}"))
}

#[test]
fn probe_against_serve_on_loopback() {
    let base = Path::new(env!("CARGO_TARGET_TMPDIR")).join("real-network");
    let (fixed_dir, sp3_dir) = (base.join("rollup"), base.join("sp3"));
    for d in [&fixed_dir, &sp3_dir] {
        let _ = std::fs::remove_dir_all(d);
        std::fs::create_dir_all(d).unwrap();
    }
    let fixed = serve("2000-sp3-rollup", &fixed_dir, &[]);
    let sp3 = serve("2000-sp3", &sp3_dir, &[]);
    let (fa, sa) = (fixed.addr.clone(), sp3.addr.clone());
    let (fd, sd) = (fixed_dir.clone(), sp3_dir.clone());
    let t =
        std::thread::spawn(move || probe(&sa, &sd, &[&["--suite", "hostile"], &FAST[..]].concat()));
    let (ok, report) = probe(&fa, &fd, &[&["--suite", "all"], &FAST[..]].concat());
    let (sp3_ok, sp3_report) = t.join().unwrap();

    // The fixed build handles every case but the fairness ones (the setup-time oracle: a fresh
    // caller waits for its CC behind the case's backlog), and both interop runs transferred.
    assert!(!ok, "the unterminated TSDU flood delays others: {report:#}");
    let cases = report["cases"].as_array().unwrap();
    assert!(cases.len() >= 28);
    for c in cases {
        let fair = c["delays_others"] == false;
        assert!(
            c["handled"] == true || !fair,
            "only a case that delays others may be unhandled: {c:#}"
        );
    }
    // Only that a stall of many seconds is reported: no tight wall-clock bound.
    let flood = case(&report, "unterminated-tsdu-flood");
    assert_eq!(flood["delays_others"], true, "{flood:#}");
    let setup = &flood["setup"];
    let worst = setup["during"]
        .as_array()
        .unwrap()
        .iter()
        .chain(std::iter::once(&setup["after"]))
        .map(|s| s.as_u64().unwrap_or(u64::MAX))
        .max()
        .unwrap();
    assert!(worst >= 5000, "a stall of many seconds: {flood:#}");
    for name in ["interop: bind", "interop after"] {
        assert_eq!(case(&report, name)["verdict"], "accepted", "{report:#}");
    }
    assert_eq!(
        case(&report, "rtse-bind-wrong-password")["verdict"],
        "rejected_cleanly"
    );
    let pcap = std::fs::metadata(fixed_dir.join("probe.pcap"))
        .unwrap()
        .len();
    assert!(pcap > 10_000, "the session's pcap: {pcap} octets");
    let state = stop(fixed, &fixed_dir);
    let delivered = state["outcomes"]
        .as_object()
        .unwrap()
        .values()
        .filter(|v| v.as_array().unwrap().iter().any(|o| o == "Delivered"))
        .count();
    let slow = mta_lab_world::hostile_peers::SLOW_READER_MESSAGES;
    assert_eq!(
        delivered,
        6 + slow,
        "two interop runs of 3 messages and the slow reader's: {state:#}"
    );
    assert_eq!(state["blocks"].as_array().unwrap().len(), 0, "{state:#}");

    // 2000 SP3: the give-up-early callers leave the listener refusing (Q811406).
    assert!(!sp3_ok, "{sp3_report:#}");
    let g = case(&sp3_report, "give-up-early");
    assert_eq!(g["listener_after"], false, "{sp3_report:#}");
    let state = stop(sp3, &sp3_dir);
    assert!(
        state["events"]["4283"].as_u64().unwrap_or(0) >= 1,
        "{state:#}"
    );
    let log = std::fs::read_to_string(sp3_dir.join("serve.log")).unwrap();
    assert!(
        log.contains("Bad LPIs in message"),
        "the KB's text in the live log"
    );
}

fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "0" && v != "false")
}

/// KB Q197378 on one machine: the probe's interop MTA has two loopback addresses (127.0.0.3
/// primary, 127.0.0.2) with Stack IP Address Override = 127.0.0.2; serve's connector knows the
/// caller as 127.0.0.2. 5.5 SP2 honours the override (no 9301); 5.5 SP1 lets the transport choose
/// and serve refuses the calls from 127.0.0.3 with 9301.
#[test]
fn multihomed_prober_on_loopback_shows_q197378_on_sp1_only() {
    let base = Path::new(env!("CARGO_TARGET_TMPDIR")).join("real-network-multihomed");
    let conf = base.join("connectors.toml");
    let mut refusals = Vec::new();
    for build in ["5.5-sp2", "5.5-sp1"] {
        let dir = base.join(build);
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(
            &conf,
            "[[connector]]\nname = \"to PEER\"\nlocal_mta_name = \"BETA\"\nremote_mta_name = \"PEER\"\n\
             remote_password = \"peer-pw\"\nstack_address = \"127.0.0.2\"\nidle_timeout_s = 5\n\
             address_space = [\"/C=US/A= /P=PEER/\"]\n",
        )
        .unwrap();
        let s = serve(
            "2000-sp3-rollup",
            &dir,
            &["--config", conf.to_str().unwrap()],
        );
        let (ok, report) = probe(
            &s.addr,
            &dir,
            &[
                "--suite",
                "interop",
                "--build-as",
                build,
                "--source",
                "127.0.0.3",
                "127.0.0.2",
                "--source-override",
                "127.0.0.2",
                "--seed",
                "1",
                "--messages",
                "1",
            ],
        );
        assert!(ok, "{build}: {report:#}");
        let state = stop(s, &dir);
        refusals.push(state["events"]["9301"].as_u64().unwrap_or(0));
    }
    assert_eq!(refusals[0], 0, "5.5 SP2 honours the override");
    assert!(refusals[1] >= 1, "5.5 SP1 calls from 127.0.0.3 are refused");
}

/// An independent OSI stack from PyPI (open61850 0.9.12: its own TPKT, COTP class 0 and session
/// code) completes the transport connect and the session connect against serve.
#[test]
fn independent_client_completes_transport_and_session_connect() {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/interop_open61850.py");
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("real-network-open61850");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let data = Command::new(env!("CARGO_BIN_EXE_mta-lab"))
        .args(["p1", "connect-data"])
        .output()
        .unwrap();
    let data = String::from_utf8(data.stdout).unwrap();
    let s = serve("2000-sp3-rollup", &dir, &[]);
    let (host, port) = s.addr.rsplit_once(':').unwrap();
    let out = match Command::new("python3")
        .arg(&script)
        .args([host, port, data.trim()])
        .output()
    {
        Ok(o) => o,
        Err(e) => {
            assert!(!in_ci(), "python3 is missing (CI installs it): {e}");
            eprintln!("skipped: no python3");
            return;
        }
    };
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    match out.status.code() {
        Some(0) => {}
        Some(2) if !in_ci() => {
            eprintln!("skipped: {text}");
            return;
        }
        _ => panic!("{text}{}", String::from_utf8_lossy(&out.stderr)),
    }
    assert!(text.contains("answered with SPDU 14"), "{text}");
    let state = stop(s, &dir);
    assert_eq!(state["blocks"].as_array().unwrap().len(), 0, "{state:#}");
}
