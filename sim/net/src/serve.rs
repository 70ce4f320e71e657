//! `mta-lab serve`: a modelled MTA of any build on real TCP. The same sans-IO `Mta` the simulator
//! runs, behind the shared stream edge ([`mta_lab_world::edge`]) over tokio sockets: listeners on each of
//! the machine's addresses (two or more = multihomed), outbound connections bound to the source
//! address the model chooses (KB Q197378 on loopback: 127.0.0.2, 127.0.0.3, …), the event log
//! live through tracing, and on Ctrl-C (or `--for`) the queue state written out.

use mta_build::Build;
use mta_lab_world::edge::{self, Ends, Node, SharedNode};
use mta_mta::connector::parse_connectors;
use mta_mta::core::{Disk, Mta, MtaConfig, Outcome};
use mta_p1::{Apdu, GlobalDomainIdentifier};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The model tick on real time (ms).
const TICK_MS: u64 = 10;

/// `serve`'s options.
#[derive(clap::Args, Debug, Clone)]
pub struct ServeArgs {
    /// Build of the modelled MTA.
    #[arg(long, default_value = "2000-sp3-rollup")]
    pub build: Build,
    /// Address(es) to listen on, `ip:port` (port 0: any free port). The first is the machine's
    /// primary address; two or more make it multihomed (e.g. 127.0.0.2:10102 127.0.0.3:10102).
    #[arg(long, num_args = 1.., default_value = "127.0.0.1:102")]
    pub listen: Vec<SocketAddr>,
    /// Connector file (`[[connector]]` tables, see models/mta/src/connector.rs). Default: one
    /// connector for the peer `mta-lab probe` plays (MTA name PEER, password peer-pw, calling from
    /// 127.0.0.1).
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// MTA name; the MTA delivers locally for /C=US/A= /P=<name>/.
    #[arg(long, default_value = "BETA")]
    pub name: String,
    /// Registry-style overrides of the build's tunables, e.g. tcp_control_blocks_inbound=2000
    /// (`mta-lab builds` lists them).
    #[arg(long = "set", value_name = "NAME=VALUE")]
    pub set: Vec<String>,
    /// Port connectors dial at their stack address (an Exchange connector always dials 102; on
    /// loopback, MTAs share an unprivileged port and differ by address). Default: the listen port.
    #[arg(long)]
    pub remote_port: Option<u16>,
    /// Where the queue state is written on shutdown (JSON).
    #[arg(long, default_value = "target/mta-lab/serve-state.json")]
    pub state: PathBuf,
    /// Start from a state file written by an earlier `serve` (its queues, identifiers, outcomes).
    #[arg(long)]
    pub restore: Option<PathBuf>,
    /// Log format on stderr.
    #[arg(long, value_enum, default_value = "human")]
    pub log_format: LogFormat,
    /// Shut down after this long (e.g. 30s, 10m), as if Ctrl-C was pressed.
    #[arg(long = "for", value_name = "DURATION")]
    pub run_for: Option<String>,
    /// On shutdown, keep running the model this long (ms) for work in flight to settle.
    #[arg(long, default_value_t = 2000)]
    pub drain_ms: u64,
    /// Seconds between status lines (connections, queues, messages) in the log.
    #[arg(long, default_value_t = 5)]
    pub status_every: u64,
}

/// How `serve` logs.
#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    /// Human-readable lines.
    Human,
    /// One JSON object per line.
    Json,
}

/// The default connector file: the hostile library's and the probe's well-behaved peer.
fn default_connectors(name: &str) -> String {
    format!(
        "[[connector]]\nname = \"to PEER\"\nlocal_mta_name = \"{name}\"\nremote_mta_name = \"PEER\"\n\
         remote_password = \"peer-pw\"\nstack_address = \"127.0.0.1\"\nopen_timeout_s = 10\n\
         retry_count = 3\nretry_interval_s = 5\nidle_timeout_s = 5\naddress_space = [\"/C=US/A= /P=PEER/\"]\n"
    )
}

/// One queued APDU in the state file.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct QueuedApdu {
    /// Its MTS identifier (or "report").
    pub id: String,
    /// Responsible recipients.
    pub recipients: Vec<String>,
    /// The encoded APDU (BER, hex).
    pub hex: String,
}

/// What `serve` writes on shutdown (and `--restore` reads).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct ServeState {
    /// Schema version.
    pub schema: u32,
    /// Build.
    pub build: String,
    /// MTA name.
    pub name: String,
    /// The machine's addresses.
    pub addresses: Vec<String>,
    /// Milliseconds since start.
    pub uptime_ms: u64,
    /// Per connector (by name): its queue.
    pub queues: BTreeMap<String, Vec<QueuedApdu>>,
    /// The identifier counter.
    pub next_id: u64,
    /// Per "message id | recipient": its outcomes (Delivered, Relayed, NonDelivered).
    pub outcomes: BTreeMap<String, Vec<Outcome>>,
    /// Connections the listeners accepted / the model refused; most open at once.
    pub connections: BTreeMap<String, u64>,
    /// MTA counters.
    pub counters: BTreeMap<String, u64>,
    /// Events logged, by id.
    pub events: BTreeMap<u32, usize>,
    /// Control blocks still allocated.
    pub blocks: Vec<String>,
    /// Why the MTA stopped by itself (its fatal event), if it did: serve exits with the finding
    /// status and this state file holds its queue disk.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stopped: Option<String>,
}

/// Why the MTA must stop now, if it must: a fatal event ends the MTA process (KB Q182619, 9404:
/// "the MTA service stops"); its queue disk survives.
pub fn stop_cause(m: &Mta) -> Option<String> {
    edge::stop_cause(m).map(|c| format!("MTA stopped: {c}"))
}

/// The state-file schema version.
pub const STATE_SCHEMA: u32 = 1;

fn recipients_of(a: &Apdu) -> (String, Vec<String>) {
    match a {
        Apdu::Message { envelope, .. } | Apdu::Probe(envelope) => (
            envelope.id.to_string(),
            envelope
                .recipients
                .iter()
                .filter(|r| r.responsibility())
                .map(|r| r.name.to_string())
                .collect(),
        ),
        Apdu::Report(_) => ("report".into(), Vec::new()),
    }
}

impl ServeState {
    /// The state of `node` now.
    pub fn of(node: &Node, build: Build, uptime_ms: u64) -> Self {
        let m = &node.mta;
        let disk = m.disk();
        let queues = m
            .config()
            .connectors
            .iter()
            .zip(&disk.queues)
            .map(|(c, q)| {
                let items = q
                    .iter()
                    .map(|b| {
                        let (id, recipients) = Apdu::parse(b).map_or_else(
                            |_| ("unreadable".into(), Vec::new()),
                            |a| recipients_of(&a),
                        );
                        QueuedApdu {
                            id,
                            recipients,
                            hex: hex::encode(b),
                        }
                    })
                    .collect();
                (c.config.name.clone(), items)
            })
            .collect();
        let mut events = BTreeMap::new();
        for e in m.log.events() {
            *events.entry(e.id).or_default() += 1;
        }
        let c = &m.counters;
        ServeState {
            schema: STATE_SCHEMA,
            build: build.to_string(),
            name: m.config().name.clone(),
            addresses: m.config().addresses.clone(),
            uptime_ms,
            queues,
            next_id: disk.next_id,
            outcomes: disk
                .outcomes
                .iter()
                .map(|((id, r), v)| (format!("{id} | {r}"), v.clone()))
                .collect(),
            connections: [
                ("accepted", node.streams.accepted),
                ("refused", node.streams.refused),
                ("open", node.streams.open_streams),
                ("max_open", node.streams.max_open_streams),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect(),
            counters: [
                ("received", c.received),
                ("transferred", c.transferred),
                ("reports_generated", c.reports_generated),
                ("reports_delivered", c.reports_delivered),
                ("open_failures", c.open_failures),
                ("duplicates", c.duplicates),
                ("loops", c.loops),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .chain(
                m.trigger_counters()
                    .into_iter()
                    .map(|(k, v)| (k.to_string(), v)),
            )
            .collect(),
            events,
            blocks: m.driver.describe_blocks(),
            stopped: stop_cause(m),
        }
    }

    /// Messages delivered locally (recipients with a `Delivered` outcome).
    pub fn delivered(&self) -> usize {
        self.outcomes
            .values()
            .filter(|v| v.contains(&Outcome::Delivered))
            .count()
    }

    /// The disk this state describes, for a restart; queues by connector name.
    fn disk(&self, connectors: &[String]) -> Result<Disk, String> {
        let mut queues = Vec::new();
        for name in connectors {
            let mut q = Vec::new();
            for a in self.queues.get(name).into_iter().flatten() {
                q.push(hex::decode(&a.hex).map_err(|e| format!("queue {name:?}, {}: {e}", a.id))?);
            }
            queues.push(q);
        }
        if let Some(lost) = self.queues.keys().find(|k| !connectors.contains(k)) {
            return Err(format!(
                "queue of connector {lost:?} has no connector in this configuration (its messages would be lost)"
            ));
        }
        let mut outcomes = BTreeMap::new();
        for (k, v) in &self.outcomes {
            let (id, r) = k
                .split_once(" | ")
                .ok_or_else(|| format!("outcome key {k:?}: expected \"id | recipient\""))?;
            outcomes.insert((id.to_string(), r.to_string()), v.clone());
        }
        Ok(Disk {
            queues,
            next_id: self.next_id,
            outcomes,
        })
    }

    /// Read a state file.
    pub fn load(path: &Path) -> Result<Self, String> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
        let s: ServeState =
            serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
        if s.schema != STATE_SCHEMA {
            return Err(format!(
                "{}: state schema {} (this mta-lab reads {STATE_SCHEMA})",
                path.display(),
                s.schema
            ));
        }
        Ok(s)
    }
}

/// Install the tracing subscriber `serve` logs through (default level info; `MTA_LAB_LOG`
/// overrides the filter).
pub fn init_logging(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("MTA_LAB_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let b = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Human => b.init(),
        LogFormat::Json => b.json().flatten_event(true).init(),
    }
}

/// A connector file's text read from `path` (`--config`), parsed and validated; errors name the
/// file, the connector and the field.
pub fn connector_file(
    path: &Path,
    text: &str,
) -> Result<Vec<mta_mta::connector::Connector>, String> {
    parse_connectors(text).map_err(|e| format!("{}: {e}", path.display()))
}

/// Build the model `serve` runs.
pub fn model(a: &ServeArgs) -> Result<Mta, String> {
    let mut profile = a.build.profile();
    for kv in &a.set {
        profile
            .set_override(kv)
            .map_err(|e| format!("--set {kv:?}: {e}"))?;
    }
    if a.name.is_empty() || !a.name.chars().all(|c| c.is_ascii_alphanumeric()) {
        return Err(format!(
            "--name {:?}: ASCII letters and digits only",
            a.name
        ));
    }
    let text = match &a.config {
        Some(p) => std::fs::read_to_string(p).map_err(|e| format!("{}: {e}", p.display()))?,
        None => default_connectors(&a.name),
    };
    let connectors = match &a.config {
        Some(p) => connector_file(p, &text)?,
        None => parse_connectors(&text).map_err(|e| e.to_string())?,
    };
    let mut addresses: Vec<String> = Vec::new();
    for l in &a.listen {
        let ip = l.ip().to_string();
        if !addresses.contains(&ip) {
            addresses.push(ip);
        }
    }
    let cfg = MtaConfig::new(
        &a.name,
        GlobalDomainIdentifier::new("US", " ", Some(&a.name)),
        addresses,
        connectors,
    );
    let disk = match &a.restore {
        Some(p) => {
            let s = ServeState::load(p)?;
            let names: Vec<String> = cfg
                .connectors
                .iter()
                .map(|c| c.config.name.clone())
                .collect();
            Some(
                s.disk(&names)
                    .map_err(|e| format!("{}: {e}", p.display()))?,
            )
        }
        None => None,
    };
    Ok(Mta::restart(&profile, cfg, disk))
}

/// Open an outbound connection for block `cb`, bound to the model's chosen source address.
async fn dial(
    node: SharedNode,
    cb: mta_bufmgr::ControlBlockId,
    remote: mta_mta::driver::Remote,
    port: u16,
    timeout: Duration,
) {
    let target = async {
        tokio::net::lookup_host((remote.host.as_str(), port))
            .await?
            .next()
            .ok_or_else(|| std::io::Error::new(std::io::ErrorKind::NotFound, "no address"))
    }
    .await;
    let ok = crate::tcp::dial(&node, cb, target, remote.source.as_deref(), timeout).await;
    tracing::info!(target: "mta_lab::serve", block = cb.index, host = %remote.host, port, source = ?remote.source, ok, "outbound connect");
}

/// Run `serve` until Ctrl-C (or `--for`); writes the state file and returns it.
pub fn run(a: &ServeArgs) -> Result<ServeState, String> {
    let mta = model(a)?;
    let limit = match &a.run_for {
        Some(d) => Some(Duration::from_secs_f64(
            mta_lab_world::input::parse_duration(d).map_err(|e| format!("--for {e}"))?,
        )),
        None => None,
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    let local = tokio::task::LocalSet::new();
    let node = Node::shared(mta);
    let (build, args) = (a.build, a.clone());
    let state = local.block_on(&rt, async move {
        let mut listeners = Vec::new();
        for addr in &args.listen {
            let l = tokio::net::TcpListener::bind(addr)
                .await
                .map_err(|e| format!("listen on {addr}: {e}"))?;
            listeners.push(l);
        }
        let bound: Vec<String> = listeners
            .iter()
            .filter_map(|l| l.local_addr().ok())
            .map(|a| a.to_string())
            .collect();
        let port = args
            .remote_port
            .or_else(|| listeners.first().and_then(|l| l.local_addr().ok()).map(|a| a.port()))
            .unwrap_or(102);
        {
            let n = node.borrow();
            let p = n.mta.profile;
            tracing::info!(
                target: "mta_lab::serve",
                build = %build, name = %n.mta.config().name,
                connectors = n.mta.config().connectors.len(),
                inbound_blocks = p.tcp_control_blocks_inbound,
                outbound_blocks = p.tcp_control_blocks_outbound,
                queued = n.mta.queued(),
                "serving on {}", bound.join(", ")
            );
        }
        // The one line a script waits for (stdout, flushed): the bound addresses.
        println!("listening {}", bound.join(" "));
        let _ = std::io::Write::flush(&mut std::io::stdout());
        for l in listeners {
            let n = node.clone();
            tokio::task::spawn_local(async move {
                loop {
                    match l.accept().await {
                        Ok((s, peer)) => {
                            let _ = s.set_nodelay(true);
                            let ends = s.local_addr().ok().map(|local| Ends {
                                local,
                                peer,
                                we_opened: false,
                                peer_records: false,
                            });
                            edge::accept(&n, tokio::io::split(s), &peer.ip().to_string(), ends);
                        }
                        Err(e) => {
                            // Out of descriptors and the like: keep the listener, try again.
                            tracing::warn!(target: "mta_lab::serve", error = %e, "accept failed");
                            tokio::time::sleep(Duration::from_millis(50)).await;
                        }
                    }
                }
            });
        }
        #[allow(clippy::disallowed_types)] // real time: serve runs the model on the wall clock
        let start = tokio::time::Instant::now();
        let mut tick = tokio::time::interval(Duration::from_millis(TICK_MS));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        let stop = async {
            match limit {
                Some(d) => tokio::time::sleep(d).await,
                None => std::future::pending().await,
            }
        };
        tokio::pin!(stop);
        let ctrl_c = tokio::signal::ctrl_c();
        tokio::pin!(ctrl_c);
        let mut last_status = (0u64, String::new());
        let connect_timeout = Duration::from_millis(node.borrow().mta.profile.tcp_connect_timeout_ms.min(30_000));
        loop {
            tokio::select! {
                biased;
                _ = &mut ctrl_c => { tracing::info!(target: "mta_lab::serve", "Ctrl-C: shutting down"); break; }
                () = &mut stop => { tracing::info!(target: "mta_lab::serve", "--for elapsed: shutting down"); break; }
                _ = tick.tick() => {
                    let now = start.elapsed().as_millis() as u64;
                    for (cb, remote) in edge::step(&node, now) {
                        tokio::task::spawn_local(dial(node.clone(), cb, remote, port, connect_timeout));
                    }
                    if let Some(cause) = stop_cause(&node.borrow().mta) {
                        // The MTA process ends: no drain, the state file keeps its queue disk.
                        tracing::error!(target: "mta_lab::serve", "{cause}");
                        break;
                    }
                    if now >= last_status.0 + args.status_every * 1000 {
                        let n = node.borrow();
                        let line = format!(
                            "accepted {} refused {} open {} (max {}) blocks {} queued {} received {} delivered {} transferred {}",
                            n.streams.accepted, n.streams.refused, n.streams.open_streams, n.streams.max_open_streams,
                            n.mta.driver.live_blocks(), n.mta.queued(), n.mta.counters.received,
                            n.mta.outcomes().values().filter(|v| v.contains(&Outcome::Delivered)).count(),
                            n.mta.counters.transferred
                        );
                        if line != last_status.1 {
                            tracing::info!(target: "mta_lab::serve", "status: {line}");
                        }
                        last_status = (now, line);
                    }
                }
            }
        }
        // Drain: let the model finish what is in flight (closes crossing the shutdown) for up
        // to --drain-ms, so the state file shows settled blocks and queues (not after a fatal
        // event: that MTA process is gone).
        let drain_until = start.elapsed().as_millis() as u64 + args.drain_ms;
        while stop_cause(&node.borrow().mta).is_none() {
            tick.tick().await;
            let now = start.elapsed().as_millis() as u64;
            for (cb, remote) in edge::step(&node, now) {
                tokio::task::spawn_local(dial(node.clone(), cb, remote, port, connect_timeout));
            }
            let settled = {
                let n = node.borrow();
                n.mta.driver.live_blocks() == 0
            };
            if settled || now >= drain_until {
                break;
            }
        }
        let uptime = start.elapsed().as_millis() as u64;
        Ok::<_, String>(ServeState::of(&node.borrow(), build, uptime))
    })?;
    if let Some(dir) = a.state.parent() {
        std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    }
    let json = serde_json::to_string_pretty(&state).map_err(|e| e.to_string())?;
    std::fs::write(&a.state, json + "\n").map_err(|e| format!("{}: {e}", a.state.display()))?;
    tracing::info!(
        target: "mta_lab::serve",
        state = %a.state.display(),
        queued = state.queues.values().map(Vec::len).sum::<usize>(),
        delivered = state.delivered(),
        "queue state written"
    );
    Ok(state)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        serve: ServeArgs,
    }

    fn args(extra: &[&str]) -> ServeArgs {
        let mut v = vec!["serve", "--listen", "127.0.0.1:0"];
        v.extend_from_slice(extra);
        Cli::parse_from(v).serve
    }

    fn state_disk_queues(s: &ServeState) -> Vec<Vec<Vec<u8>>> {
        s.queues
            .values()
            .map(|q| q.iter().map(|a| hex::decode(&a.hex).unwrap()).collect())
            .collect()
    }

    #[test]
    fn state_file_round_trips_the_queues_through_restore() {
        let a = args(&[]);
        let mut m = model(&a).unwrap();
        for i in 0..3 {
            let apdu = mta_lab_world::simulate::message(&mut m, "BETA", "PEER", i, 100);
            m.submit(apdu);
        }
        assert_eq!(
            m.queued(),
            3,
            "routed to the PEER connector, nobody to transfer to"
        );
        let state = ServeState::of(&Node::shared(m).borrow(), a.build, 1234);
        assert_eq!(state.queues["to PEER"].len(), 3);
        let dir = std::env::temp_dir().join(format!("mta-lab-serve-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("state.json");
        std::fs::write(&path, serde_json::to_string(&state).unwrap()).unwrap();
        let restored = model(&args(&["--restore", path.to_str().unwrap()])).unwrap();
        assert_eq!(restored.queued(), 3);
        assert_eq!(restored.disk().queues, state_disk_queues(&state));
        // A configuration without the queue's connector is refused (its messages would be lost).
        let conf = dir.join("other.toml");
        std::fs::write(
            &conf,
            "[[connector]]\nname = \"other\"\nlocal_mta_name = \"BETA\"\nremote_mta_name = \"X\"\nstack_address = \"127.0.0.9\"\n",
        )
        .unwrap();
        let err = model(&args(&[
            "--restore",
            path.to_str().unwrap(),
            "--config",
            conf.to_str().unwrap(),
        ]))
        .unwrap_err();
        assert!(err.contains("to PEER"), "{err}");
        // Bad input is a clear error.
        std::fs::write(&path, "{").unwrap();
        assert!(model(&args(&["--restore", path.to_str().unwrap()])).is_err());
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_fatal_event_stops_serve_with_its_queue_in_the_state_file() {
        let a = args(&[]);
        let mut m = model(&a).unwrap();
        let apdu = mta_lab_world::simulate::message(&mut m, "BETA", "PEER", 0, 100);
        m.submit(apdu);
        assert_eq!(stop_cause(&m), None, "a healthy MTA keeps running");
        let p = m.profile;
        m.log.log(mta_eventlog::catalogue::illegal_buffer_request(
            &p, 29, 29, 5,
        ));
        let cause = stop_cause(&m).expect("9404 stops the MTA");
        assert!(
            cause.starts_with("MTA stopped: fatal event 9404: "),
            "{cause}"
        );
        let state = ServeState::of(&Node::shared(m).borrow(), a.build, 10);
        assert_eq!(state.stopped.as_deref(), Some(cause.as_str()));
        assert_eq!(state.queues["to PEER"].len(), 1, "the queue disk is kept");
        // Written and read back; a state file without the field (an older serve's) still loads.
        let json = serde_json::to_string(&state).unwrap();
        assert_eq!(serde_json::from_str::<ServeState>(&json).unwrap(), state);
        let mut older: serde_json::Value = serde_json::from_str(&json).unwrap();
        older.as_object_mut().unwrap().remove("stopped");
        let older: ServeState = serde_json::from_value(older).unwrap();
        assert_eq!(older.stopped, None);
    }
}
