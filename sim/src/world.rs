//! Worlds: the machines of a simulation (Exchange MTAs of chosen builds, possibly multihomed), their
//! connectors, the workload and the timer profile. Built in (`standard`) or loaded from TOML.

use mta_build::Build;
use serde::Deserialize;

/// Scaled timers: X.400 timers are minutes long; a world runs in simulated seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
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
}

impl Default for TimerProfile {
    fn default() -> Self {
        TimerProfile {
            tick_ms: 10,
            retry_interval_s: 1,
            retry_count: 20,
            open_timeout_s: 3,
            max_sim_ms: 120_000,
        }
    }
}

/// One MTA machine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MachineSpec {
    /// Name (also the PRMD it delivers for and its MTA name).
    pub name: String,
    /// Build.
    pub build: Build,
    /// Addresses; the first is the primary. More than one = multihomed.
    pub addresses: Vec<String>,
    /// Connector file text (TOML).
    pub connectors: String,
}

/// Messages to submit: `count` from `from` to users in `to`'s domain.
#[derive(Debug, Clone, PartialEq, Eq)]
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
    /// `standard`: MTA ALPHA on a multihomed machine (10.0.1.1 primary, 10.0.1.2) whose connector
    /// sets Stack IP Address Override to its primary address (KB Q197378's resolution), MTA BETA
    /// (10.0.2.1) whose connector names ALPHA's primary address, and `messages` each way.
    pub fn standard(alpha: Build, beta: Build, messages: usize) -> World {
        let timers = TimerProfile::default();
        World {
            name: "standard".into(),
            machines: vec![
                MachineSpec {
                    name: "ALPHA".into(),
                    build: alpha,
                    addresses: vec!["10.0.1.1".into(), "10.0.1.2".into()],
                    connectors: connector("ALPHA", "BETA", "10.0.2.1", Some("10.0.1.1"), &timers),
                },
                MachineSpec {
                    name: "BETA".into(),
                    build: beta,
                    addresses: vec!["10.0.2.1".into()],
                    connectors: connector("BETA", "ALPHA", "10.0.1.1", None, &timers),
                },
            ],
            flows: vec![
                Flow {
                    from: "ALPHA".into(),
                    to: "BETA".into(),
                    count: messages,
                    size: 2048,
                },
                Flow {
                    from: "BETA".into(),
                    to: "ALPHA".into(),
                    count: messages,
                    size: 512,
                },
            ],
            timers,
        }
    }

    /// A one-line description printed with the seed.
    pub fn describe(&self) -> String {
        let m: Vec<String> = self
            .machines
            .iter()
            .map(|m| {
                format!(
                    "{}@{}[{}]",
                    m.name,
                    m.build.cli_name(),
                    m.addresses.join(",")
                )
            })
            .collect();
        let f: Vec<String> = self
            .flows
            .iter()
            .map(|f| format!("{}->{}x{}({}B)", f.from, f.to, f.count, f.size))
            .collect();
        format!(
            "world={} machines={} flows={} timers=tick:{}ms,retry:{}s×{},open:{}s,max:{}ms",
            self.name,
            m.join(" "),
            f.join(" "),
            self.timers.tick_ms,
            self.timers.retry_interval_s,
            self.timers.retry_count,
            self.timers.open_timeout_s,
            self.timers.max_sim_ms
        )
    }
}
