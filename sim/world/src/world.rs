//! Worlds: the machines of a simulation (Exchange MTAs of chosen builds, possibly multihomed), their
//! connectors, the workload and the timer profile. Built in (`standard`) or loaded from TOML.

use mta_build::Build;
use mta_osi::tpkt::ReservedPolicy;
use serde::Deserialize;
use std::collections::BTreeSet;

/// Scaled timers: X.400 timers are minutes long; a world runs in simulated seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TimerProfile {
    /// How often each MTA's model is ticked (ms of simulated time).
    pub tick_ms: u64,
    /// Connector retry interval (s) — scaled from the default 600 s.
    pub retry_interval_s: u32,
    /// Connector retries before non-delivery.
    pub retry_count: u32,
    /// Association open/response timeout (s) — scaled from the default 60 s.
    pub open_timeout_s: u32,
    /// Upper bound on a run's simulated time (ms).
    pub max_sim_ms: u64,
    /// TCP driver sockets-recovery interval (ms) — scaled from the build table's 30 s.
    pub recovery_interval_ms: u64,
    /// How long an unanswered TCP connect waits before it fails with WSAETIMEDOUT (10060): the
    /// build table's `tcp_connect_timeout_ms` scaled like the other timers, and kept below the
    /// association open timeout, as TCP's SYN retries (about 21 s on Windows) end well before a
    /// connector's 60 s.
    pub connect_timeout_ms: u64,
    /// After a fatal event (or a fault in the session input path) the MTA service stops; the
    /// service-recovery restart brings it back after this long (Windows' "restart the service
    /// after 1 minute", scaled like the open timer). 0: it stays stopped.
    pub service_restart_ms: u64,
}

impl Default for TimerProfile {
    fn default() -> Self {
        TimerProfile {
            tick_ms: 10,
            retry_interval_s: 1,
            retry_count: 20,
            open_timeout_s: 3,
            max_sim_ms: 120_000,
            recovery_interval_ms: 1_000,
            connect_timeout_ms: 2_000,
            service_restart_ms: 3_000,
        }
    }
}

/// One MTA machine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MachineSpec {
    /// Name (also the PRMD it delivers for and its MTA name).
    pub name: String,
    /// Build (a foreign MTA runs the fixed Exchange model of driver and buffers underneath its
    /// conforming OSI stack: 2000 SP3 + rollup).
    pub build: Build,
    /// `Some(policy)`: a foreign (non-Exchange) MTA reading the TPKT reserved octet with `policy`.
    pub foreign: Option<ReservedPolicy>,
    /// Addresses; the first is the primary. More than one = multihomed.
    pub addresses: Vec<String>,
    /// Connector file text (TOML).
    pub connectors: String,
    /// Tunable overrides, `name=value` (as `--set` writes them), applied after the world's timer
    /// profile: each within the tunable's range (`mta-lab builds` lists them).
    pub set: Vec<String>,
}

/// Messages to submit: `count` from `from` to users in `to`'s domain.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Flow {
    /// Sending machine.
    pub from: String,
    /// Receiving machine.
    pub to: String,
    /// Messages.
    pub count: usize,
    /// Content size in octets.
    pub size: usize,
}

/// An X.25 link (RFC 1613 XOT over TCP port 1998) into one machine's X.25 interface: remote
/// MTAs each call it, bind, transfer their messages to its users and release. The machine gets
/// the link's connector (the remote MTA `REMOTE` at X.121 address 31340001, no address space:
/// it has no outbound X.25 route, so reports to the remote are unroutable and discarded,
/// X.411 12.2.1.3).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct X25Link {
    /// Machine called (its primary address).
    pub machine: String,
    /// Remote MTAs calling in every run (an X.25 overload fault adds more at once).
    pub callers: u32,
    /// Messages each remote MTA transfers.
    #[serde(default = "default_x25_messages")]
    pub messages: usize,
    /// Content octets per message (more than a packet crosses as an M-bit sequence).
    #[serde(default = "default_x25_message_size")]
    pub message_size: usize,
}

const fn default_x25_messages() -> usize {
    2
}

const fn default_x25_message_size() -> usize {
    600
}

/// A world.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct World {
    /// Name.
    pub name: String,
    /// Machines.
    pub machines: Vec<MachineSpec>,
    /// Workload.
    pub flows: Vec<Flow>,
    /// Timers.
    pub timers: TimerProfile,
    /// The world file's text, for worlds loaded from one (findings embed it to replay).
    pub file: Option<String>,
    /// Relative weights of the fault kinds a seed's plan draws from (crash, hold, partition,
    /// listener down, latency, burst).
    pub fault_weights: [u32; 6],
    /// An X.25 link, if the world has one (seeds may then also draw an X.25 overload).
    pub x25: Option<X25Link>,
    /// Whether seeds may also draw hostile callers (peer programs of the hostile library) at one
    /// of its Exchange MTAs.
    pub hostile_callers: bool,
}

/// Most messages one flow of a world file (or a finding) may submit.
pub const MAX_FLOW_MESSAGES: usize = 10_000;

/// Most octets of content a world file's flows may hold together (every message is built before
/// the run starts).
pub const MAX_WORKLOAD_OCTETS: usize = 256 << 20;

/// Longest timer a world file may set (a simulated day): runs are seconds long, and a bound far
/// beyond keeps time arithmetic from overflowing.
pub const MAX_TIMER_MS: u64 = 86_400_000;

/// Every fault kind equally likely.
pub const ALL_FAULTS: [u32; 6] = [1, 1, 1, 1, 1, 1];

/// A world file.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WorldFile {
    name: String,
    #[serde(default)]
    timers: TimerProfile,
    machine: Vec<MachineFile>,
    #[serde(default)]
    flow: Vec<Flow>,
    /// Relative weights of crash, hold, partition, listener down, latency, burst.
    fault_weights: Option<[u32; 6]>,
    /// An X.25 link.
    x25: Option<X25Link>,
    /// Whether seeds may also draw hostile callers.
    #[serde(default)]
    hostile_callers: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MachineFile {
    name: String,
    build: Option<String>,
    foreign: Option<String>,
    addresses: Vec<String>,
    #[serde(default)]
    connector: Vec<toml::Value>,
    /// Tunable overrides, `name=value`.
    #[serde(default)]
    set: Vec<String>,
}

#[derive(serde::Serialize)]
struct ConnectorTables {
    connector: Vec<toml::Value>,
}

fn connector(
    local: &str,
    remote: &str,
    stack_address: &str,
    source_override: Option<&str>,
    t: &TimerProfile,
) -> String {
    let over = source_override
        .map(|a| format!("stack_ip_address_override = \"{a}\"\n"))
        .unwrap_or_default();
    format!(
        "[[connector]]\nname = \"to {remote}\"\nlocal_mta_name = \"{local}\"\nlocal_password = \"{local}-pw\"\n\
         remote_mta_name = \"{remote}\"\nremote_password = \"{remote}-pw\"\nstack_address = \"{stack_address}\"\n\
         retry_count = {}\nretry_interval_s = {}\nopen_timeout_s = {}\naddress_space = [\"/C=US/A= /P={remote}/\"]\n",
        t.retry_count, t.retry_interval_s, t.open_timeout_s
    ) + &over
}

impl World {
    /// `standard`: MTA ALPHA on a multihomed machine (10.0.1.1 primary, 10.0.1.2) whose connectors
    /// set Stack IP Address Override to its primary address (KB Q197378's resolution), MTA BETA
    /// (10.0.2.1) whose connector names ALPHA's primary address, and a foreign MTA F (10.0.3.1)
    /// that rejects a non-zero TPKT reserved octet (KB Q151626's strict peer). `messages` each way
    /// between ALPHA and BETA, a quarter of that (at least one) each way between F and ALPHA.
    /// Seeds may draw every fault kind and (one run in two) hostile callers.
    pub fn standard(alpha: Build, beta: Build, messages: usize) -> World {
        World::standard_with(alpha, beta, messages, true)
    }

    /// `standard`, with or without Stack IP Address Override on ALPHA's connectors (`standard`
    /// sets it; the world named `standard-no-override` does not — KB Q197378's default config).
    pub fn standard_with(
        alpha: Build,
        beta: Build,
        messages: usize,
        source_override: bool,
    ) -> World {
        let timers = TimerProfile::default();
        let over = source_override.then_some("10.0.1.1");
        let few = messages.div_ceil(4).max(1);
        let flow = |from: &str, to: &str, count: usize, size: usize| Flow {
            from: from.into(),
            to: to.into(),
            count,
            size,
        };
        World {
            name: if source_override {
                "standard".into()
            } else {
                "standard-no-override".into()
            },
            machines: vec![
                MachineSpec {
                    name: "ALPHA".into(),
                    build: alpha,
                    foreign: None,
                    addresses: vec!["10.0.1.1".into(), "10.0.1.2".into()],
                    connectors: connector("ALPHA", "BETA", "10.0.2.1", over, &timers)
                        + &connector("ALPHA", "F", "10.0.3.1", over, &timers),
                    set: Vec::new(),
                },
                MachineSpec {
                    name: "BETA".into(),
                    build: beta,
                    foreign: None,
                    addresses: vec!["10.0.2.1".into()],
                    connectors: connector("BETA", "ALPHA", "10.0.1.1", None, &timers),
                    set: Vec::new(),
                },
                MachineSpec {
                    name: "F".into(),
                    build: Build::Ex2000Sp3Rollup,
                    foreign: Some(ReservedPolicy::Reject),
                    addresses: vec!["10.0.3.1".into()],
                    connectors: connector("F", "ALPHA", "10.0.1.1", None, &timers),
                    set: Vec::new(),
                },
            ],
            flows: vec![
                flow("ALPHA", "BETA", messages, 2048),
                flow("BETA", "ALPHA", messages, 512),
                flow("F", "ALPHA", few, 1024),
                flow("ALPHA", "F", few, 1024),
            ],
            timers,
            file: None,
            fault_weights: ALL_FAULTS,
            x25: None,
            hostile_callers: true,
        }
    }

    /// `multihomed` / `multihomed-override`: the standard world's ALPHA and BETA only (KB Q197378's
    /// setting: a two-address sender and a receiver that identifies callers by address), without
    /// or with Stack IP Address Override on ALPHA's connector.
    pub fn multihomed(build: Build, messages: usize, source_override: bool) -> World {
        let mut w = World::standard_with(build, build, messages, source_override);
        w.machines.retain(|m| m.foreign.is_none());
        w.flows.retain(|f| f.from != "F" && f.to != "F");
        w.hostile_callers = false;
        w.name = if source_override {
            "multihomed-override".into()
        } else {
            "multihomed".into()
        };
        w
    }

    /// `flood`: one Exchange MTA, VICTIM (10.0.5.1), exchanging `messages` each way with a
    /// foreign lenient MTA PEER (10.0.6.1); the seeds' fault plans draw only bursts of inbound
    /// callers with short connect timeouts, and (one run in two) hostile callers.
    pub fn flood(build: Build, messages: usize) -> World {
        let timers = TimerProfile::default();
        World {
            name: "flood".into(),
            machines: vec![
                MachineSpec {
                    name: "VICTIM".into(),
                    build,
                    foreign: None,
                    addresses: vec!["10.0.5.1".into()],
                    connectors: connector("VICTIM", "PEER", "10.0.6.1", None, &timers),
                    set: Vec::new(),
                },
                MachineSpec {
                    name: "PEER".into(),
                    build: Build::Ex2000Sp3Rollup,
                    foreign: Some(ReservedPolicy::Ignore),
                    addresses: vec!["10.0.6.1".into()],
                    connectors: connector("PEER", "VICTIM", "10.0.5.1", None, &timers),
                    set: Vec::new(),
                },
            ],
            flows: vec![
                Flow {
                    from: "VICTIM".into(),
                    to: "PEER".into(),
                    count: messages,
                    size: 1024,
                },
                Flow {
                    from: "PEER".into(),
                    to: "VICTIM".into(),
                    count: messages,
                    size: 1024,
                },
            ],
            timers,
            file: None,
            fault_weights: [0, 0, 0, 0, 0, 1],
            x25: None,
            hostile_callers: true,
        }
    }

    /// `xot`: the multihomed world's ALPHA and BETA exchanging `messages` each way over TCP, and
    /// an X.25 link into ALPHA (XOT, RFC 1613): three remote MTAs call it in every run, each
    /// binding and transferring two messages of 600 octets (five packets each); the seeds' plans
    /// may add an X.25 overload (many calls at once while the transport is serviced late — KB
    /// Q225157's condition).
    pub fn xot(build: Build, messages: usize) -> World {
        let mut w = World::multihomed(build, messages, true);
        w.name = "xot".into();
        w.x25 = Some(X25Link {
            machine: "ALPHA".into(),
            callers: 3,
            messages: default_x25_messages(),
            message_size: default_x25_message_size(),
        });
        w
    }

    /// A built-in world by name, every Exchange machine on `build`, `messages` per flow.
    pub fn builtin(name: &str, build: Build, messages: usize) -> Option<World> {
        let (b, m) = (build, messages);
        Some(match name {
            "standard" => World::standard(b, b, m),
            "standard-no-override" => World::standard_with(b, b, m, false),
            "multihomed" => World::multihomed(b, m, false),
            "multihomed-override" => World::multihomed(b, m, true),
            "flood" => World::flood(b, m),
            "xot" => World::xot(b, m),
            _ => return None,
        })
    }

    /// A built-in world by name, or a world file (`*.toml`). `build` replaces every Exchange
    /// machine's build when given; `messages` every flow's count when given.
    pub fn named(
        name: &str,
        build: Option<Build>,
        messages: Option<usize>,
    ) -> Result<World, String> {
        let b = build.unwrap_or(Build::Ex2000Sp3Rollup);
        let m = messages.unwrap_or(20);
        let mut w = match name {
            builtin if World::builtin(builtin, b, m).is_some() => {
                World::builtin(builtin, b, m).expect("checked")
            }
            path if std::path::Path::new(path)
                .extension()
                .is_some_and(|e| e.eq_ignore_ascii_case("toml")) =>
            {
                let text = std::fs::read_to_string(path).map_err(|e| format!("{path}: {e}"))?;
                World::from_file(path, &text)?
            }
            other => {
                return Err(format!(
                    "unknown world {other:?} (built in: standard, standard-no-override, multihomed, multihomed-override, flood, xot; or a world file *.toml)"
                ));
            }
        };
        w.set_builds(build);
        if let Some(m) = messages {
            for f in &mut w.flows {
                f.count = m;
            }
        }
        Ok(w)
    }

    /// Replace every Exchange machine's build.
    pub fn set_builds(&mut self, build: Option<Build>) {
        if let Some(b) = build {
            for m in self.machines.iter_mut().filter(|m| m.foreign.is_none()) {
                m.build = b;
            }
        }
    }

    /// A world file's text read from `path`: [`World::from_toml`], errors naming the file.
    pub fn from_file(path: &str, text: &str) -> Result<World, String> {
        World::from_toml(text).map_err(|e| format!("{path}: {e}"))
    }

    /// Parse and validate a world file (see `worlds/README.md`); errors name the machine, flow or
    /// field.
    pub fn from_toml(text: &str) -> Result<World, String> {
        let mut file: WorldFile =
            toml::from_str(text).map_err(|e| format!("not a world file: {e}"))?;
        let mut machines = Vec::new();
        let mut names = BTreeSet::new();
        let mut addresses = BTreeSet::new();
        if file.machine.is_empty() {
            return Err("a world needs at least one [[machine]]".into());
        }
        for m in std::mem::take(&mut file.machine) {
            if m.name.is_empty() || !m.name.chars().all(|c| c.is_ascii_alphanumeric()) {
                return Err(format!(
                    "machine {:?}: names are ASCII letters and digits (they become PRMDs)",
                    m.name
                ));
            }
            if !names.insert(m.name.clone()) {
                return Err(format!("machine {}: defined twice", m.name));
            }
            if m.addresses.is_empty() {
                return Err(format!("machine {}: no addresses", m.name));
            }
            for a in &m.addresses {
                let ip: std::net::Ipv4Addr = a
                    .parse()
                    .map_err(|_| format!("machine {}: {a:?} is not an IPv4 address", m.name))?;
                let o = ip.octets();
                if (o[0], o[1]) == (10, 0) && (7..=10).contains(&o[2]) || (o[0], o[1]) == (10, 255)
                {
                    return Err(format!(
                        "machine {}: {a} is reserved for the simulator's callers and probes (10.0.7.0/24 – 10.0.10.0/24, 10.255.0.0/16)",
                        m.name
                    ));
                }
                if !addresses.insert(a.clone()) {
                    return Err(format!("machine {}: address {a} is used twice", m.name));
                }
            }
            let foreign = match m.foreign.as_deref() {
                None => None,
                Some("strict") => Some(ReservedPolicy::Reject),
                Some("lenient") => Some(ReservedPolicy::Ignore),
                Some(other) => {
                    return Err(format!(
                        "machine {}: foreign = {other:?} (strict or lenient)",
                        m.name
                    ));
                }
            };
            let build = match (&m.build, foreign) {
                (Some(_), Some(_)) => {
                    return Err(format!(
                        "machine {}: a foreign MTA has no Exchange build",
                        m.name
                    ));
                }
                (None, Some(_)) => Build::Ex2000Sp3Rollup,
                (None, None) => {
                    return Err(format!(
                        "machine {}: build missing (or foreign = \"strict\"|\"lenient\")",
                        m.name
                    ));
                }
                (Some(b), None) => b
                    .parse()
                    .map_err(|e| format!("machine {}: build: {e}", m.name))?,
            };
            let connectors = toml::to_string(&ConnectorTables {
                connector: m.connector,
            })
            .map_err(|e| format!("machine {}: connectors: {e}", m.name))?;
            mta_mta::connector::parse_connectors(&connectors)
                .map_err(|e| format!("machine {}: {e}", m.name))?;
            let mut profile = build.profile();
            for o in &m.set {
                profile
                    .set_override(o)
                    .map_err(|e| format!("machine {}: set: {e}", m.name))?;
            }
            machines.push(MachineSpec {
                name: m.name,
                build,
                foreign,
                addresses: m.addresses,
                connectors,
                set: m.set,
            });
        }
        check_workload(&file, &names)?;
        let timers = file.timers;
        check_timers(&timers)?;
        Ok(World {
            name: file.name,
            machines,
            flows: file.flow,
            timers,
            file: Some(text.to_string()),
            fault_weights: file.fault_weights.unwrap_or(ALL_FAULTS),
            x25: file.x25,
            hostile_callers: file.hostile_callers,
        })
    }

    /// The largest flow (what findings record as "messages per flow").
    pub fn messages_per_flow(&self) -> usize {
        self.flows.iter().map(|f| f.count).max().unwrap_or(0)
    }

    /// A one-line description printed with the seed.
    pub fn describe(&self) -> String {
        let m: Vec<String> = self
            .machines
            .iter()
            .map(|m| format!("{}@{}[{}]", m.name, m.build_name(), m.addresses.join(",")))
            .collect();
        let f: Vec<String> = self
            .flows
            .iter()
            .map(|f| format!("{}->{}x{}({}B)", f.from, f.to, f.count, f.size))
            .collect();
        let x25 = self.x25.as_ref().map_or(String::new(), |x| {
            format!(
                " x25={}x{}calls({}x{}B, XOT)",
                x.machine, x.callers, x.messages, x.message_size
            )
        });
        format!(
            "world={} machines={} flows={}{x25} timers=tick:{}ms,retry:{}s×{},open:{}s,recovery:{}ms,connect:{}ms,restart:{}ms,max:{}ms",
            self.name,
            m.join(" "),
            f.join(" "),
            self.timers.tick_ms,
            self.timers.retry_interval_s,
            self.timers.retry_count,
            self.timers.open_timeout_s,
            self.timers.recovery_interval_ms,
            self.timers.connect_timeout_ms,
            self.timers.service_restart_ms,
            self.timers.max_sim_ms
        )
    }
}

/// A world file's flows, fault weights and X.25 link: ends that exist, a workload a run can
/// build, weights that add up.
fn check_workload(file: &WorldFile, names: &BTreeSet<String>) -> Result<(), String> {
    for (i, f) in file.flow.iter().enumerate() {
        for end in [&f.from, &f.to] {
            if !names.contains(end) {
                return Err(format!("flow {}: no machine named {end:?}", i + 1));
            }
        }
        if f.size > 16 << 20 {
            return Err(format!("flow {}: size {} exceeds 16 MiB", i + 1, f.size));
        }
        if f.count > MAX_FLOW_MESSAGES {
            return Err(format!(
                "flow {}: count {} exceeds {MAX_FLOW_MESSAGES} messages",
                i + 1,
                f.count
            ));
        }
    }
    // Every message is built before the run starts: bound what they hold together.
    let octets = file
        .flow
        .iter()
        .map(|f| f.count.saturating_mul(f.size))
        .fold(0usize, usize::saturating_add);
    if octets > MAX_WORKLOAD_OCTETS {
        return Err(format!(
            "flow: the flows' count × size add up to {octets} octets (at most {MAX_WORKLOAD_OCTETS})"
        ));
    }
    if let Some(w) = file.fault_weights
        && w.iter().try_fold(0u32, |a, &x| a.checked_add(x)).is_none()
    {
        return Err(format!(
            "fault_weights: {w:?} add up to more than {}",
            u32::MAX
        ));
    }
    if let Some(x) = &file.x25 {
        if !names.contains(&x.machine) {
            return Err(format!("x25: no machine named {:?}", x.machine));
        }
        if x.callers > 200 || x.messages > 100 || x.message_size > 1 << 20 {
            return Err("x25: at most 200 callers, 100 messages each and 1 MiB per message".into());
        }
    }
    Ok(())
}

/// A world file's timers: positive where they must be, at most a simulated day, and the two the
/// world scales into every machine's build table within their tunables' ranges.
fn check_timers(timers: &TimerProfile) -> Result<(), String> {
    if timers.tick_ms == 0 || timers.max_sim_ms == 0 || timers.connect_timeout_ms == 0 {
        return Err("timers: tick_ms, max_sim_ms and connect_timeout_ms must be positive".into());
    }
    for (name, v) in [
        ("tick_ms", timers.tick_ms),
        ("max_sim_ms", timers.max_sim_ms),
        ("service_restart_ms", timers.service_restart_ms),
    ] {
        if v > MAX_TIMER_MS {
            return Err(format!(
                "timers: {name} = {v} exceeds a simulated day ({MAX_TIMER_MS} ms)"
            ));
        }
    }
    // The two timers the world scales into every machine's build table.
    let mut profile = Build::Ex2000Sp3Rollup.profile();
    for (name, v) in [
        ("tcp_recovery_interval_ms", timers.recovery_interval_ms),
        ("tcp_connect_timeout_ms", timers.connect_timeout_ms),
    ] {
        profile
            .set(name, &v.to_string())
            .map_err(|e| format!("timers: {e}"))?;
    }
    Ok(())
}

impl MachineSpec {
    /// The build as recorded in findings: the CLI name, or `foreign-strict` / `foreign-lenient`.
    pub fn build_name(&self) -> &'static str {
        match self.foreign {
            Some(ReservedPolicy::Reject) => "foreign-strict",
            Some(ReservedPolicy::Ignore) => "foreign-lenient",
            None => self.build.cli_name(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
name = "pair"
[timers]
max_sim_ms = 60000
[[machine]]
name = "A"
build = "5.5-sp1"
addresses = ["10.1.0.1", "10.1.0.2"]
[[machine.connector]]
name = "to B"
local_mta_name = "A"
remote_mta_name = "B"
stack_address = "10.1.0.9"
address_space = ["/C=US/A= /P=B/"]
[[machine]]
name = "B"
foreign = "strict"
addresses = ["10.1.0.9"]
[[machine.connector]]
name = "to A"
local_mta_name = "B"
remote_mta_name = "A"
stack_address = "10.1.0.1"
address_space = ["/C=US/A= /P=A/"]
[[flow]]
from = "A"
to = "B"
count = 3
size = 100
"#;

    #[test]
    fn the_shipped_world_files_load() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../worlds");
        let mut n = 0;
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.extension().is_some_and(|x| x == "toml") {
                World::named(p.to_str().unwrap(), None, None).unwrap();
                n += 1;
            }
        }
        assert!(n >= 1);
    }

    #[test]
    fn world_files_load_and_bad_ones_say_where() {
        let w = World::from_toml(GOOD).unwrap();
        assert_eq!(w.machines.len(), 2);
        assert_eq!(w.machines[1].build_name(), "foreign-strict");
        assert_eq!(w.timers.max_sim_ms, 60_000);
        assert_eq!(w.timers.tick_ms, 10, "unset timers keep their defaults");
        for (edit, expect) in [
            (GOOD.replace("5.5-sp1", "5.7"), "machine A: build"),
            (GOOD.replace("\"10.1.0.2\"", "\"10.1.0.9\""), "used twice"),
            (
                GOOD.replace("to = \"B\"", "to = \"C\""),
                "flow 1: no machine named \"C\"",
            ),
            (GOOD.replace("\"strict\"", "\"picky\""), "strict or lenient"),
            (
                GOOD.replace("stack_address = \"10.1.0.9\"", "stack_adress = \"x\""),
                "machine A",
            ),
            (GOOD.replace("10.1.0.2", "10.0.9.2"), "reserved"),
            (
                GOOD.replace("count = 3", "count = 3\ncolour = 1"),
                "not a world file",
            ),
        ] {
            let e = World::from_toml(&edit).unwrap_err();
            assert!(e.contains(expect), "{expect:?} not in {e:?}");
        }
    }
}
