//! `mta-lab probe`: point the lab at a real X.400 endpoint over TCP. Runs every hostile-peer
//! program of [`crate::hostile::library`], a give-up-early caller burst (KB Q811406's callers) and an
//! interop sequence — a modelled MTA of `--build-as` that binds, transfers and releases through the
//! shared stream edge — with a per-case verdict, a listener check after each case, a table, JSON
//! and a pcap of the whole session. Paced (`--rate`); floods only when asked (`--suite load`).

use crate::hostile::{End, Peer};
use crate::setup::{CaseSetup, Sample};
use mta_build::Build;
use mta_lab_world::edge::{self, Node, SharedTap, Tap};
use mta_mta::connector::parse_connectors;
use mta_mta::core::{Mta, MtaConfig, Outcome};
use mta_osi::cotp::code;
use mta_osi::session::si;
use mta_osi::tpkt::Glimpse;
use mta_p1::GlobalDomainIdentifier;
use serde::Serialize;
use std::cell::Cell;
use std::cell::RefCell;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::rc::Rc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// `probe`'s options.
#[derive(clap::Args, Debug, Clone)]
pub struct ProbeArgs {
    /// The endpoint, `host:port`.
    pub target: String,
    /// What to run.
    #[arg(long, value_enum, default_value = "all")]
    pub suite: Suite,
    /// Build of the modelled MTA that plays the interop peer (its stack, bind and source-address
    /// choice).
    #[arg(long, default_value = "2000-sp3-rollup")]
    pub build_as: Build,
    /// Source address(es) to bind outbound connections to (e.g. 127.0.0.2). With two or more the
    /// interop MTA is multihomed and `--build-as` decides which one each connection uses.
    #[arg(long, num_args = 1..)]
    pub source: Vec<IpAddr>,
    /// With `--source`: the interop connector's "Stack IP Address Override" registry value (5.5 SP2
    /// and later honour it; 5.5 SP1 lets the transport choose — KB Q197378).
    #[arg(long)]
    pub source_override: Option<IpAddr>,
    /// Seed of the interop MTA's TCP/IP stack (its source-address choice when multihomed).
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// New connections per second, at most (every case and check counts).
    #[arg(long, default_value_t = 20.0)]
    pub rate: f64,
    /// Connect timeout (ms).
    #[arg(long, default_value_t = 3000)]
    pub connect_timeout_ms: u64,
    /// How long to wait for the endpoint's answer after a case's last write (ms).
    #[arg(long, default_value_t = 1500)]
    pub answer_ms: u64,
    /// How long the silent cases stay connected and silent, and a half-closed case waits for the
    /// endpoint's close (ms).
    #[arg(long, default_value_t = 5000)]
    pub silent_ms: u64,
    /// Callers in the give-up-early case (each sends a CR and hangs up before the answer).
    #[arg(long, default_value_t = 40)]
    pub give_up_callers: u32,
    /// How long a give-up-early caller waits for the CC before hanging up (ms).
    #[arg(long, default_value_t = 20)]
    pub give_up_ms: u64,
    /// Messages the interop MTA transfers.
    #[arg(long, default_value_t = 3)]
    pub messages: usize,
    /// Octets of content per interop message.
    #[arg(long, default_value_t = 1024)]
    pub size: usize,
    /// MTA name the probe binds with (the endpoint's connector must name it).
    #[arg(long, default_value = "PEER")]
    pub mta_name: String,
    /// Password the probe binds with.
    #[arg(long, default_value = "peer-pw")]
    pub password: String,
    /// The endpoint's MTA name / PRMD: interop messages go to users in /C=US/A= /P=<to>/.
    #[arg(long, default_value = "BETA")]
    pub to: String,
    /// Seconds the interop sequence may take.
    #[arg(long, default_value_t = 60)]
    pub interop_timeout_s: u64,
    /// Load suite: connections to open and hold at once.
    #[arg(long, default_value_t = 1000)]
    pub hold: u32,
    /// Load suite: connections in the flood (connect, CR, wait for CC, close).
    #[arg(long, default_value_t = 10_000)]
    pub flood: u32,
    /// Load suite: connections in flight at once.
    #[arg(long, default_value_t = 200)]
    pub concurrency: usize,
    /// A fresh caller's CR→CC above this (ms), during or after a case, makes the case's verdict
    /// "delays others" (and the case not handled).
    #[arg(long, default_value_t = crate::setup::DEFAULT_MAX_SETUP_MS)]
    pub max_setup_ms: u64,
    /// How long each setup-time caller waits for its CC at most (ms); also the listener check's
    /// wait after each case.
    #[arg(long, default_value_t = 30_000)]
    pub setup_wait_ms: u64,
    /// Write the verdicts as JSON here.
    #[arg(long, default_value = "target/mta-lab/probe.json")]
    pub json: PathBuf,
    /// Write a pcap of the whole session here.
    #[arg(long, default_value = "target/mta-lab/probe.pcap")]
    pub pcap: PathBuf,
}

/// Which cases `probe` runs.
#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Suite {
    /// The hostile library and the give-up-early burst.
    Hostile,
    /// Bind, transfer, release.
    Interop,
    /// Interop, then hostile, then interop again.
    All,
    /// Hold many connections, transfer while holding, flood; unpaced (only when asked).
    Load,
}

/// What the endpoint did with one case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// It took the input and carried on the protocol (CC, session ACCEPT, transfers confirmed).
    Accepted,
    /// It answered with a protocol refusal (COTP DR/ER, session REFUSE/ABORT) or refused the bind.
    RejectedCleanly,
    /// It closed or reset the connection without a protocol answer.
    ConnectionDropped,
    /// Nothing came back and the connection stayed open.
    NoAnswer,
    /// The connection could not be opened (refused or timed out).
    ListenerGone,
}

impl std::fmt::Display for Verdict {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Verdict::Accepted => "accepted",
            Verdict::RejectedCleanly => "rejected cleanly",
            Verdict::ConnectionDropped => "connection dropped",
            Verdict::NoAnswer => "no answer",
            Verdict::ListenerGone => "listener gone",
        })
    }
}

/// One case's result.
#[derive(Debug, Clone, Serialize)]
pub struct CaseResult {
    /// Case name.
    pub name: String,
    /// What the endpoint did.
    pub verdict: Verdict,
    /// Whether the endpoint still answered a CR with a CC right after the case.
    pub listener_after: bool,
    /// Handled: the case got a verdict other than "listener gone", the listener still answers,
    /// and no fresh caller waited longer than `--max-setup-ms` for its CC.
    pub handled: bool,
    /// Fresh callers' CR→CC times (wall ms) during the case and right after it (the load suite's
    /// cases take none).
    pub setup: Option<CaseSetup>,
    /// A fresh caller waited longer than `--max-setup-ms` for its CC: the case delays others.
    pub delays_others: bool,
    /// What was seen (answer PDUs, how the connection ended, counts).
    pub detail: String,
    /// Milliseconds from the probe's start.
    pub at_ms: u64,
}

/// The whole probe run.
#[derive(Debug, Clone, Serialize)]
pub struct ProbeReport {
    /// Endpoint.
    pub target: String,
    /// Suite.
    pub suite: Suite,
    /// Interop peer's build.
    pub build_as: String,
    /// Cases in order.
    pub cases: Vec<CaseResult>,
    /// Load figures (load suite), name → value.
    pub load: Vec<(String, f64)>,
    /// Whether every case was handled.
    pub all_handled: bool,
    /// The setup-time threshold (`--max-setup-ms`).
    pub max_setup_ms: u64,
}

/// The probe's clock, pacing and capture.
struct Ctx {
    args: ProbeArgs,
    target: SocketAddr,
    #[allow(clippy::disallowed_types)] // real time: the probe talks to a real endpoint
    start: tokio::time::Instant,
    #[allow(clippy::disallowed_types)]
    next_connect: RefCell<tokio::time::Instant>,
    tap: SharedTap,
    next_source: RefCell<usize>,
    /// Interop sequences run so far (each seeds its MTA's stack differently).
    interop_runs: RefCell<u64>,
    /// Wall-clock milliseconds at the start × 1000: the interop MTA's first identifier.
    id_base: u64,
}

impl Ctx {
    fn now_ms(&self) -> u64 {
        self.start.elapsed().as_millis() as u64
    }
    fn record(&self, r: mta_lab_world::pcap::Record) {
        self.tap.borrow_mut().now_ms = self.now_ms();
        edge::tap_record(Some(&self.tap), r);
    }
    /// Wait for the rate limit's next slot (the load suite does not call it).
    async fn pace(&self) {
        if self.args.rate <= 0.0 {
            return;
        }
        let gap = Duration::from_secs_f64(1.0 / self.args.rate);
        let at = *self.next_connect.borrow();
        tokio::time::sleep_until(at).await;
        #[allow(clippy::disallowed_types)]
        let now = tokio::time::Instant::now();
        *self.next_connect.borrow_mut() = now.max(at) + gap;
    }
    /// The source address for the next raw connection (round robin over `--source`).
    fn source(&self) -> Option<IpAddr> {
        if self.args.source.is_empty() {
            return None;
        }
        let mut i = self.next_source.borrow_mut();
        let s = self.args.source[*i % self.args.source.len()];
        *i += 1;
        Some(s)
    }
    /// A paced connection from the next source.
    async fn connect(&self) -> std::io::Result<TcpStream> {
        self.pace().await;
        let t = Duration::from_millis(self.args.connect_timeout_ms);
        crate::tcp::tcp_connect(self.target, self.source(), t).await
    }
}

/// How a connection's reading side ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ReadEnd {
    Open,
    Eof,
    Reset,
}

/// The protocol units found in an answer: every complete TPKT at its start
/// (`mta_osi::tpkt::glimpse`: its TPDU code and a DT's first SPDU).
fn answer_units(bytes: &[u8]) -> Vec<Glimpse> {
    mta_osi::tpkt::glimpse(bytes)
        .filter(|g| g.complete)
        .collect()
}

fn describe_units(units: &[Glimpse]) -> String {
    if units.is_empty() {
        return "nothing".into();
    }
    let names: Vec<String> = units.iter().map(Glimpse::name).collect();
    names.join(" ")
}

/// Classify an answer: a DR or ER TPDU, or a REFUSE or ABORT SPDU, rejects; a CC or an ACCEPT
/// carries on.
fn classify(answer: &[u8], end: ReadEnd) -> Verdict {
    let units = answer_units(answer);
    let refused = units.iter().any(|g| {
        matches!(g.code, code::DR | code::ER) || matches!(g.first_spdu, Some(si::RF | si::AB))
    });
    let carried_on = units
        .iter()
        .any(|g| g.code == code::CC || g.first_spdu == Some(si::AC));
    if refused {
        Verdict::RejectedCleanly
    } else if carried_on {
        Verdict::Accepted
    } else if end == ReadEnd::Open {
        Verdict::NoAnswer
    } else {
        Verdict::ConnectionDropped
    }
}

/// Run one raw peer program; returns (verdict, detail).
async fn run_peer(ctx: &Ctx, p: &Peer) -> (Verdict, String) {
    let s = match ctx.connect().await {
        Ok(s) => s,
        Err(e) => return (Verdict::ListenerGone, format!("connect: {e}")),
    };
    let (l, r) = (s.local_addr().ok(), s.peer_addr().ok());
    let ends = l.zip(r);
    if let Some((l, r)) = ends {
        ctx.record(mta_lab_world::pcap::Record::Open(l, r));
    }
    let (mut rd, mut wr) = s.into_split();
    let answer: Rc<RefCell<(Vec<u8>, ReadEnd)>> =
        Rc::new(RefCell::new((Vec::new(), ReadEnd::Open)));
    let (a2, tap, start) = (answer.clone(), ctx.tap.clone(), ctx.start);
    // A peer that never reads starts reading only once it has stayed (to classify the answer).
    let unread = match p.end {
        End::Unread(ms) => {
            let wrote: usize = p.writes.iter().map(|(_, b)| b.len()).sum();
            let pauses: u64 = p.writes.iter().map(|(ms, _)| ms).sum();
            tracing::debug!(target: "mta_lab::probe", wrote, "not reading for {} ms", pauses + ms);
            Some(pauses + ms)
        }
        _ => None,
    };
    let reader = tokio::task::spawn_local(async move {
        if let Some(ms) = unread {
            tokio::time::sleep(Duration::from_millis(ms)).await;
        }
        let mut buf = vec![0u8; 16 * 1024];
        loop {
            let (n, end) = match rd.read(&mut buf).await {
                Ok(0) => (0, ReadEnd::Eof),
                Ok(n) => (n, ReadEnd::Open),
                Err(_) => (0, ReadEnd::Reset),
            };
            tap.borrow_mut().now_ms = start.elapsed().as_millis() as u64;
            if let Some((l, r)) = ends {
                let rec = if n > 0 {
                    mta_lab_world::pcap::Record::Data(r, l, buf[..n].to_vec())
                } else {
                    mta_lab_world::pcap::Record::Fin(r, l)
                };
                edge::tap_record(Some(&tap), rec);
            }
            let mut a = a2.borrow_mut();
            a.0.extend_from_slice(&buf[..n]);
            if end != ReadEnd::Open {
                a.1 = end;
                break;
            }
        }
    });
    let mut wrote = 0;
    for (pause, bytes) in &p.writes {
        tokio::time::sleep(Duration::from_millis(*pause)).await;
        if answer.borrow().1 != ReadEnd::Open || wr.write_all(bytes).await.is_err() {
            break;
        }
        if let Some((l, r)) = ends {
            ctx.record(mta_lab_world::pcap::Record::Data(l, r, bytes.clone()));
        }
        wrote += bytes.len();
    }
    let wait = |ms: u64| {
        let a = answer.clone();
        async move {
            let deadline = tokio::time::sleep(Duration::from_millis(ms));
            tokio::pin!(deadline);
            loop {
                tokio::select! {
                    () = &mut deadline => break,
                    () = tokio::time::sleep(Duration::from_millis(10)) => {
                        if a.borrow().1 != ReadEnd::Open { break; }
                    }
                }
            }
        }
    };
    match p.end {
        End::Close => wait(ctx.args.answer_ms).await,
        End::HalfClose => {
            let _ = wr.shutdown().await;
            if let Some((l, r)) = ends {
                ctx.record(mta_lab_world::pcap::Record::Fin(l, r));
            }
            wait(ctx.args.silent_ms).await;
        }
        End::Silent(ms) => wait(ms.min(ctx.args.silent_ms)).await,
        // Stay unread, then read what came for the answer's wait.
        End::Unread(ms) => {
            tokio::time::sleep(Duration::from_millis(ms)).await;
            wait(ctx.args.answer_ms).await;
        }
    }
    reader.abort();
    if p.end != End::HalfClose
        && let Some((l, r)) = ends
    {
        ctx.record(mta_lab_world::pcap::Record::Fin(l, r));
    }
    drop(wr);
    let (bytes, end) = answer.borrow().clone();
    let verdict = classify(&bytes, end);
    let detail = format!(
        "wrote {wrote} octets; answer {} ({} octets); connection {}",
        describe_units(&answer_units(&bytes)),
        bytes.len(),
        match end {
            ReadEnd::Open => "still open when the probe left",
            ReadEnd::Eof => "closed by the endpoint",
            ReadEnd::Reset => "reset",
        }
    );
    (verdict, detail)
}

/// The first octets the endpoint sends within `wait_ms` (`None`: nothing in time or an error;
/// empty: it closed).
async fn first_answer(s: &mut TcpStream, wait_ms: u64) -> Option<Vec<u8>> {
    let mut buf = [0u8; 512];
    let n = tokio::time::timeout(Duration::from_millis(wait_ms), s.read(&mut buf))
        .await
        .ok()?
        .ok()?;
    Some(buf[..n].to_vec())
}

/// Connect, send a CR, wait up to `wait_ms` for the CC; `Ok(true)` when it came. The connection
/// is closed afterwards either way (giving up early when no CC came in time).
async fn cr_cc(ctx: &Ctx, wait_ms: u64) -> std::io::Result<bool> {
    cr_cc_timed(ctx, wait_ms).await.map(|t| t.is_some())
}

/// [`cr_cc`], with the wall ms from the CR to the CC when it came (the pacing wait before the
/// connect not counted).
async fn cr_cc_timed(ctx: &Ctx, wait_ms: u64) -> std::io::Result<Sample> {
    let mut s = ctx.connect().await?;
    let t0 = ctx.now_ms();
    let cr = mta_lab_world::caller::connect_request();
    let ends = s.local_addr().ok().zip(s.peer_addr().ok());
    s.write_all(&cr).await?;
    if let Some((l, r)) = ends {
        ctx.record(mta_lab_world::pcap::Record::Open(l, r));
        ctx.record(mta_lab_world::pcap::Record::Data(l, r, cr));
    }
    let answer = first_answer(&mut s, wait_ms).await;
    if let Some((l, r)) = ends {
        if let Some(b) = answer.as_ref().filter(|b| !b.is_empty()) {
            ctx.record(mta_lab_world::pcap::Record::Data(r, l, b.clone()));
        }
        ctx.record(mta_lab_world::pcap::Record::Fin(l, r));
    }
    let cc = answer.is_some_and(|b| mta_lab_world::caller::is_connect_confirm(&b));
    Ok(cc.then(|| ctx.now_ms() - t0))
}

/// The listener check after a case, timed: a CR is answered with a CC (within `--setup-wait-ms`),
/// and how long that took.
async fn listener_answers(ctx: &Ctx) -> Sample {
    cr_cc_timed(ctx, ctx.args.setup_wait_ms.max(ctx.args.answer_ms))
        .await
        .ok()
        .flatten()
}

/// Run `case` while fresh callers, one after another (paced, `SAMPLE_GAP_MS` apart), time their
/// CR→CC; then the timed listener check. Returns the case's result and its setup samples.
async fn sampled<F: std::future::Future<Output = (Verdict, String)>>(
    ctx: &Ctx,
    name: &str,
    case: F,
) -> ((Verdict, String), CaseSetup) {
    let stop = Cell::new(false);
    let mut setup = CaseSetup::new(name, ctx.args.setup_wait_ms);
    let run = async {
        let r = case.await;
        stop.set(true);
        r
    };
    let samples = async {
        let mut during = Vec::new();
        // Let the case's first octets go out before the first caller.
        tokio::time::sleep(Duration::from_millis(SAMPLE_GAP_MS)).await;
        while !stop.get() {
            during.push(
                cr_cc_timed(ctx, ctx.args.setup_wait_ms)
                    .await
                    .ok()
                    .flatten(),
            );
            tokio::time::sleep(Duration::from_millis(SAMPLE_GAP_MS)).await;
        }
        during
    };
    let (r, during) = tokio::join!(run, samples);
    setup.during = during;
    setup.after = listener_answers(ctx).await;
    (r, setup)
}

/// Pause between two setup samples during a case (ms).
const SAMPLE_GAP_MS: u64 = 100;

/// The give-up-early burst: callers that hang up before the accept (CC) can arrive.
async fn give_up_early(ctx: &Ctx) -> (Verdict, String) {
    let (mut answered, mut gave_up, mut failed) = (0, 0, 0);
    for _ in 0..ctx.args.give_up_callers {
        match cr_cc(ctx, ctx.args.give_up_ms).await {
            Ok(true) => answered += 1,
            Ok(false) => gave_up += 1,
            Err(_) => failed += 1,
        }
    }
    let verdict = if failed == ctx.args.give_up_callers {
        Verdict::ListenerGone
    } else if answered + gave_up > 0 {
        Verdict::Accepted
    } else {
        Verdict::ConnectionDropped
    };
    (
        verdict,
        format!(
            "{} callers, each gone {} ms after its CR: {answered} got the CC in time, {gave_up} hung up first, {failed} could not connect",
            ctx.args.give_up_callers, ctx.args.give_up_ms
        ),
    )
}

/// The interop sequence: a modelled MTA of `--build-as` binds, transfers `--messages` and
/// releases over real TCP.
async fn interop(ctx: &Ctx, messages: usize) -> (Verdict, String) {
    let a = &ctx.args;
    let sources: Vec<String> = if a.source.is_empty() {
        vec!["0.0.0.0".into()]
    } else {
        a.source.iter().map(ToString::to_string).collect()
    };
    let conf = format!(
        "[[connector]]\nname = \"to {to}\"\nlocal_mta_name = \"{name}\"\nlocal_password = \"{pw}\"\n\
         remote_mta_name = \"{to}\"\nstack_address = \"{host}\"\nopen_timeout_s = 10\nretry_count = 2\n\
         retry_interval_s = 2\nidle_timeout_s = 1\naddress_space = [\"/C=US/A= /P={to}/\"]\n{over}",
        to = a.to,
        name = a.mta_name,
        pw = a.password,
        host = ctx.target.ip(),
        over = a
            .source_override
            .map(|o| format!("stack_ip_address_override = \"{o}\"\n"))
            .unwrap_or_default()
    );
    let connectors = match parse_connectors(&conf) {
        Ok(c) => c,
        Err(e) => {
            return (
                Verdict::ConnectionDropped,
                format!("interop configuration: {e}"),
            );
        }
    };
    let cfg = MtaConfig::new(
        &a.mta_name,
        GlobalDomainIdentifier::new("US", " ", Some(&a.mta_name)),
        sources,
        connectors,
    );
    // Identifiers unique across probe runs against the same endpoint (it drops a message id it
    // already took responsibility for): numbered from the wall clock.
    let disk = mta_mta::core::Disk {
        queues: vec![Vec::new()],
        next_id: ctx.id_base + ctx.now_ms() * 1000,
        outcomes: std::collections::BTreeMap::new(),
    };
    let node = Node::shared(Mta::restart(&a.build_as.profile(), cfg, Some(disk)));
    let run = {
        let mut r = ctx.interop_runs.borrow_mut();
        *r += 1;
        *r
    };
    node.borrow_mut()
        .mta
        .seed_transport(a.seed.wrapping_add(run.rotate_left(32)));
    node.borrow_mut().streams.tap = Some(ctx.tap.clone());
    {
        let mut n = node.borrow_mut();
        for i in 0..messages {
            let apdu = mta_lab_world::simulate::message(&mut n.mta, &a.mta_name, &a.to, i, a.size);
            n.mta.submit(apdu);
        }
    }
    let t0 = ctx.now_ms();
    let deadline = t0 + a.interop_timeout_s * 1000;
    let mut tick = tokio::time::interval(Duration::from_millis(10));
    let mut connects = 0;
    let connect_failures: Rc<RefCell<usize>> = Rc::default();
    loop {
        tick.tick().await;
        let now = ctx.now_ms();
        for (cb, remote) in edge::step(&node, now - t0) {
            connects += 1;
            let (n, target, timeout) = (node.clone(), ctx.target, a.connect_timeout_ms);
            let failures = connect_failures.clone();
            ctx.pace().await;
            tokio::task::spawn_local(async move {
                let t = Duration::from_millis(timeout);
                if !crate::tcp::dial(&n, cb, Ok(target), remote.source.as_deref(), t).await {
                    *failures.borrow_mut() += 1;
                }
            });
        }
        let n = node.borrow();
        let done = n.mta.queued() == 0 && n.mta.quiescent();
        if done || now >= deadline {
            break;
        }
    }
    let n = node.borrow();
    let m = &n.mta;
    let count = |o: Outcome| m.outcomes().values().filter(|v| v.contains(&o)).count();
    let (relayed, nondelivered) = (count(Outcome::Relayed), count(Outcome::NonDelivered));
    let ms = ctx.now_ms() - t0;
    let mut ids: Vec<u32> = m.log.events().iter().map(|e| e.id).collect();
    ids.dedup();
    let detail = format!(
        "{relayed}/{messages} transferred, {nondelivered} non-delivered, {} still queued, {connects} connections ({} failed), {ms} ms; {} events here {ids:?}",
        m.queued(),
        connect_failures.borrow(),
        a.build_as
    );
    let failed = *connect_failures.borrow();
    let verdict = if relayed == messages {
        Verdict::Accepted
    } else if connects > 0 && failed == connects {
        Verdict::ListenerGone
    } else if relayed + nondelivered > 0 || m.counters.open_failures > 0 {
        Verdict::RejectedCleanly
    } else {
        Verdict::NoAnswer
    };
    (verdict, detail)
}

#[allow(clippy::disallowed_types)] // the CLI edge: identifiers must differ between runs
fn wall_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// Run the probe.
pub fn run(a: &ProbeArgs) -> Result<ProbeReport, String> {
    mta_p1::check_mta_name(&a.mta_name)?;
    mta_p1::check_password(&a.password)?;
    let target: SocketAddr = std::net::ToSocketAddrs::to_socket_addrs(&a.target)
        .map_err(|e| format!("{}: {e}", a.target))?
        .next()
        .ok_or_else(|| format!("{}: no address", a.target))?;
    if !(a.rate.is_finite() && a.rate >= 0.0) {
        return Err(format!(
            "--rate {}: a number of connections per second",
            a.rate
        ));
    }
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    let local = tokio::task::LocalSet::new();
    let args = a.clone();
    let (report, capture) = local.block_on(&rt, async move {
        #[allow(clippy::disallowed_types)]
        let start = tokio::time::Instant::now();
        let ctx = Ctx {
            args: args.clone(),
            target,
            start,
            next_connect: RefCell::new(start),
            tap: Rc::new(RefCell::new(Tap::default())),
            next_source: RefCell::new(0),
            interop_runs: RefCell::new(0),
            id_base: wall_ms() * 1000,
        };
        let mut cases = Vec::new();
        let mut load = Vec::new();
        let max_setup = args.max_setup_ms;
        let push = move |cases: &mut Vec<CaseResult>, name: String, (verdict, detail): (Verdict, String), listener_after: bool, setup: Option<CaseSetup>, at_ms: u64| {
            let delays_others = setup.as_ref().is_some_and(|s| s.delays_others(max_setup));
            let setup_ms = setup.as_ref().map(CaseSetup::summary).unwrap_or_default();
            tracing::info!(target: "mta_lab::probe", case = %name, %verdict, listener_after, setup_ms, delays_others, "{detail}");
            cases.push(CaseResult {
                handled: verdict != Verdict::ListenerGone && listener_after && !delays_others,
                name,
                verdict,
                listener_after,
                setup,
                delays_others,
                detail,
                at_ms,
            });
        };
        let sampled_push = |cases: &mut Vec<CaseResult>, name: String, (r, setup): ((Verdict, String), CaseSetup), at: u64| {
            push(cases, name, r, setup.after.is_some(), Some(setup), at);
        };
        if matches!(args.suite, Suite::Interop | Suite::All) {
            let (at, name) = (ctx.now_ms(), "interop: bind, transfer, release");
            let r = sampled(&ctx, name, interop(&ctx, args.messages)).await;
            sampled_push(&mut cases, name.into(), r, at);
        }
        if matches!(args.suite, Suite::Hostile | Suite::All) {
            for p in crate::hostile::library() {
                let at = ctx.now_ms();
                let r = sampled(&ctx, p.name, run_peer(&ctx, &p)).await;
                sampled_push(&mut cases, p.name.to_string(), r, at);
            }
            // The burst is itself a run of CR callers on the pacing's every slot: no sampler
            // beside it (its callers would thin the burst out), only the timed check after.
            let (at, name) = (ctx.now_ms(), "give-up-early callers");
            let r = give_up_early(&ctx).await;
            // Let the endpoint process the hang-ups before checking.
            tokio::time::sleep(Duration::from_secs(1)).await;
            let setup = after_only(&ctx, name).await;
            push(&mut cases, name.into(), r, setup.after.is_some(), Some(setup), at);
        }
        if args.suite == Suite::All {
            let (at, name) = (ctx.now_ms(), "interop after the hostile cases");
            let r = sampled(&ctx, name, interop(&ctx, args.messages)).await;
            sampled_push(&mut cases, name.into(), r, at);
        }
        if args.suite == Suite::Load {
            load = load_suite(&ctx, &mut cases, &push).await;
        }
        let all_handled = cases.iter().all(|c| c.handled);
        let capture = std::mem::take(&mut ctx.tap.borrow_mut().capture);
        (
            ProbeReport {
                target: target.to_string(),
                suite: args.suite,
                build_as: args.build_as.to_string(),
                cases,
                load,
                all_handled,
                max_setup_ms: args.max_setup_ms,
            },
            capture,
        )
    });
    for p in [&a.json, &a.pcap] {
        if let Some(dir) = p.parent() {
            std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        }
    }
    let json = serde_json::to_string_pretty(&report).map_err(|e| e.to_string())?;
    std::fs::write(&a.json, json + "\n").map_err(|e| format!("{}: {e}", a.json.display()))?;
    mta_lab_world::pcap::write(&a.pcap, &capture)?;
    Ok(report)
}

type Push = dyn Fn(&mut Vec<CaseResult>, String, (Verdict, String), bool, Option<CaseSetup>, u64);

/// Connect (unpaced), send a CR and wait up to `wait_ms` for the CC: the stream when it came.
async fn answered_cr(
    target: SocketAddr,
    source: Option<IpAddr>,
    timeout_ms: u64,
    wait_ms: u64,
) -> Option<TcpStream> {
    let mut s = crate::tcp::tcp_connect(target, source, Duration::from_millis(timeout_ms))
        .await
        .ok()?;
    s.write_all(&mta_lab_world::caller::connect_request())
        .await
        .ok()?;
    let answer = first_answer(&mut s, wait_ms).await?;
    mta_lab_world::caller::is_connect_confirm(&answer).then_some(s)
}

/// `n` unpaced callers, `sem` bounding how many are in flight, each sending a CR and waiting for
/// the CC: the answered streams (when `keep`; else each is closed at once), answered and failed.
async fn cr_callers(
    ctx: &Ctx,
    n: u32,
    sem: &Rc<tokio::sync::Semaphore>,
    keep: bool,
) -> (Vec<TcpStream>, u32, u32) {
    let a = &ctx.args;
    let result: Rc<RefCell<(Vec<TcpStream>, u32, u32)>> = Rc::default();
    let mut tasks = Vec::new();
    for _ in 0..n {
        let (result, sem) = (result.clone(), sem.clone());
        let (target, src, timeout, wait) = (
            ctx.target,
            ctx.source(),
            a.connect_timeout_ms,
            a.answer_ms.max(30_000),
        );
        tasks.push(tokio::task::spawn_local(async move {
            let _permit = sem.acquire().await;
            let answered = answered_cr(target, src, timeout, wait).await;
            let mut r = result.borrow_mut();
            match answered {
                Some(s) => {
                    r.1 += 1;
                    if keep {
                        r.0.push(s);
                    }
                }
                None => r.2 += 1,
            }
        }));
    }
    for t in tasks {
        let _ = t.await;
    }
    std::mem::take(&mut *result.borrow_mut())
}

/// The load suite: hold `--hold` connections (each got its CC), transfer while holding, flood
/// `--flood` connections `--concurrency` at a time, then check the listener and transfer again.
async fn load_suite(ctx: &Ctx, cases: &mut Vec<CaseResult>, push: &Push) -> Vec<(String, f64)> {
    let a = &ctx.args;
    let mut figures = Vec::new();
    // Hold.
    let t0 = ctx.now_ms();
    let sem = Rc::new(tokio::sync::Semaphore::new(a.concurrency.max(1)));
    let (held, _, failures) = cr_callers(ctx, a.hold, &sem, true).await;
    let hold_ms = (ctx.now_ms() - t0).max(1);
    let n_held = held.len();
    figures.push(("connections held at once".into(), n_held as f64));
    figures.push((
        "hold phase accepts/s (CR answered by CC)".into(),
        n_held as f64 * 1000.0 / hold_ms as f64,
    ));
    push(
        cases,
        format!("hold {} connections", a.hold),
        (
            if n_held == a.hold as usize {
                Verdict::Accepted
            } else {
                Verdict::ConnectionDropped
            },
            format!("{n_held} held (CR answered by CC), {failures} failed, in {hold_ms} ms"),
        ),
        true,
        None,
        t0,
    );
    // Transfer while holding.
    let t1 = ctx.now_ms();
    let r = interop(ctx, a.messages).await;
    let ms = (ctx.now_ms() - t1).max(1);
    if r.0 == Verdict::Accepted {
        figures.push((
            "messages/s while holding".into(),
            a.messages as f64 * 1000.0 / ms as f64,
        ));
    }
    push(
        cases,
        format!("interop while {n_held} connections are held"),
        r,
        true,
        None,
        t1,
    );
    // Flood.
    let t2 = ctx.now_ms();
    let (_, ok, refused) = cr_callers(ctx, a.flood, &sem, false).await;
    let flood_ms = (ctx.now_ms() - t2).max(1);
    figures.push(("flood connections answered".into(), f64::from(ok)));
    figures.push((
        "flood accepts/s (CR answered by CC)".into(),
        f64::from(ok) * 1000.0 / flood_ms as f64,
    ));
    drop(held);
    tokio::time::sleep(Duration::from_secs(2)).await;
    let name = format!("flood of {} connections", a.flood);
    let setup = after_only(ctx, &name).await;
    push(
        cases,
        name,
        (
            if ok == a.flood {
                Verdict::Accepted
            } else {
                Verdict::ConnectionDropped
            },
            format!(
                "{ok} answered, {} not, in {flood_ms} ms ({} in flight at most)",
                refused, a.concurrency
            ),
        ),
        setup.after.is_some(),
        Some(setup),
        t2,
    );
    let t3 = ctx.now_ms();
    let r = interop(ctx, a.messages).await;
    let name = "interop after the flood";
    let setup = after_only(ctx, name).await;
    push(
        cases,
        name.into(),
        r,
        setup.after.is_some(),
        Some(setup),
        t3,
    );
    figures
}

/// The timed listener check alone, as a case's setup samples (unpaced cases take no samples
/// during themselves).
async fn after_only(ctx: &Ctx, name: &str) -> CaseSetup {
    CaseSetup {
        after: listener_answers(ctx).await,
        ..CaseSetup::new(name, ctx.args.setup_wait_ms)
    }
}

/// Print the verdict table.
pub fn print_table(r: &ProbeReport) {
    println!(
        "probe {} (interop peer: {}, suite {:?})",
        r.target, r.build_as, r.suite
    );
    println!(
        "{:<44} {:<20} {:<9} {:>15} {:<13} detail",
        "case", "verdict", "listener", "setup p50/max", "others"
    );
    for c in &r.cases {
        println!(
            "{:<44} {:<20} {:<9} {:>15} {:<13} {}",
            c.name,
            c.verdict.to_string(),
            if c.listener_after { "answers" } else { "GONE" },
            c.setup.as_ref().map(CaseSetup::summary).unwrap_or_default(),
            if c.delays_others {
                "DELAYS OTHERS"
            } else {
                "fair"
            },
            c.detail
        );
    }
    println!(
        "setup p50/max: a fresh caller's CR->CC in wall ms over the callers started during the case \
         and the one right after it (\">\": no CC within the wait); above {} ms the case DELAYS OTHERS",
        r.max_setup_ms
    );
    for (k, v) in &r.load {
        println!("load: {k}: {v:.1}");
    }
    let unhandled: Vec<&str> = r
        .cases
        .iter()
        .filter(|c| !c.handled)
        .map(|c| c.name.as_str())
        .collect();
    if unhandled.is_empty() {
        println!(
            "every case handled ({} cases); the listener still accepts",
            r.cases.len()
        );
    } else {
        println!("NOT HANDLED: {}", unhandled.join(", "));
    }
}
