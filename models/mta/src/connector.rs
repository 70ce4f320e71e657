//! X.400 connectors: configuration (TOML, validated with clear errors), the outbound source-address
//! choice on multihomed machines and inbound caller identification (KB Q197378), and the MTA bind
//! check.
//!
//! **Q197378.** Before 5.5 SP1 the MTA binds outbound sockets to the machine's primary address.
//! From SP1 "the MTA allows the transport to make the selection … The transport uses all available
//! virtual server IP addresses" — modelled as the TCP/IP stack picking one of the machine's
//! addresses per connection, uniformly, from a seeded generator (the simulator seeds it from the
//! run's seed): with two addresses about half the connections. A receiver identifies callers
//! by the stack address configured on its connectors; a caller whose address matches none is
//! refused with 9301, so about half the connections from a two-address SP1 sender fail. SP2 adds
//! honouring the per-connector registry key *Stack IP Address Override*
//! (`connector_honours_source_override`); SP1 ignores the key.

use mta_build::{Profile, SourceAddressRule};
use mta_eventlog::{EventLog, catalogue};
use mta_osi::presentation::Mode;
use serde::Deserialize;
use std::fmt;

/// One connector as written in the configuration file.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConnectorConfig {
    /// Connector name (its RDN; the registry key of the override is named after it).
    pub name: String,
    /// Our MTA name as sent in the bind (1..32 IA5 characters).
    pub local_mta_name: String,
    /// Our password (0..62).
    #[serde(default)]
    pub local_password: String,
    /// The remote MTA's name.
    pub remote_mta_name: String,
    /// The password the remote MTA must present.
    #[serde(default)]
    pub remote_password: String,
    /// Stack address of the remote MTA (IP address or host name).
    pub stack_address: String,
    /// T-selector (text).
    #[serde(default)]
    pub tsap: String,
    /// S-selector (text).
    #[serde(default)]
    pub ssap: String,
    /// P-selector (text).
    #[serde(default)]
    pub psap: String,
    /// "1984" (X.410 mode) or "1988" (normal mode).
    #[serde(default = "default_mode")]
    pub mode: String,
    /// Open retries before non-delivery.
    #[serde(default = "default_retries")]
    pub retry_count: u32,
    /// Seconds between retries.
    #[serde(default = "default_retry_interval")]
    pub retry_interval_s: u32,
    /// Seconds to wait for an association to open.
    #[serde(default = "default_open_timeout")]
    pub open_timeout_s: u32,
    /// Seconds an idle association stays open.
    #[serde(default = "default_idle_timeout")]
    pub idle_timeout_s: u32,
    /// Registry value `…\Parameters\<name>\Stack IP Address Override` (5.5 SP2+).
    #[serde(default)]
    pub stack_ip_address_override: Option<String>,
    /// Address space routed over this connector, as O/R domain strings `/C=US/A= /P=BETA/`
    /// (country, ADMD — a single space for "no ADMD" — and an optional PRMD).
    #[serde(default)]
    pub address_space: Vec<String>,
}

fn default_mode() -> String {
    "1988".into()
}
const fn default_retries() -> u32 {
    144
}
const fn default_retry_interval() -> u32 {
    600
}
const fn default_open_timeout() -> u32 {
    60
}
const fn default_idle_timeout() -> u32 {
    600
}

/// The configuration file: `[[connector]]` tables.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConnectorFile {
    /// Connectors.
    #[serde(default)]
    pub connector: Vec<ConnectorConfig>,
}

/// A configuration error, naming the connector and field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// TOML syntax or type error.
    #[error("connector file: {0}")]
    Syntax(String),
    /// A field value is invalid.
    #[error("connector {connector:?}: {field}: {problem}")]
    Invalid {
        /// Connector name.
        connector: String,
        /// Field.
        field: &'static str,
        /// What is wrong.
        problem: String,
    },
}

/// A routing key: (country, ADMD, PRMD), trimmed and lower-cased.
pub type DomainKey = (String, String, String);

/// A validated connector.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Connector {
    /// The configuration.
    pub config: ConnectorConfig,
    /// Parsed mode.
    pub mode: Mode,
    /// Parsed address space.
    pub routes: Vec<DomainKey>,
}

/// Parse `/C=US/A= /P=BETA/` into a routing key.
pub fn parse_domain(s: &str) -> Result<DomainKey, String> {
    let (mut c, mut a, mut p) = (None, None, String::new());
    for part in s.split('/').filter(|x| !x.is_empty()) {
        let (k, v) = part
            .split_once('=')
            .ok_or_else(|| format!("{part:?} is not KEY=VALUE"))?;
        // Country, ADMD and PRMD names are PrintableStrings (X.411): a route to anything else
        // would never match an O/R name, and building one for it is a P1 error.
        if !mta_p1::read::is_printable(v) {
            return Err(format!(
                "{part:?}: {v:?} is not a PrintableString (letters, digits, space and '()+,-./:=?)"
            ));
        }
        let v = v.trim().to_ascii_lowercase();
        match k.trim() {
            "C" | "c" => c = Some(v),
            "A" | "a" => a = Some(v),
            "P" | "p" => p = v,
            other => return Err(format!("unknown domain attribute {other:?} (use C, A, P)")),
        }
    }
    match (c, a) {
        (Some(c), Some(a)) if !c.is_empty() => Ok((c, a, p)),
        _ => Err(format!("{s:?} needs at least /C=…/A=…/")),
    }
}

fn invalid(c: &ConnectorConfig, field: &'static str, problem: impl fmt::Display) -> ConfigError {
    ConfigError::Invalid {
        connector: c.name.clone(),
        field,
        problem: problem.to_string(),
    }
}

fn is_ipv4(s: &str) -> bool {
    let parts: Vec<&str> = s.split('.').collect();
    parts.len() == 4
        && parts
            .iter()
            .all(|p| !p.is_empty() && p.len() <= 3 && p.parse::<u8>().is_ok())
}

/// Parse and validate a connector file.
pub fn parse_connectors(text: &str) -> Result<Vec<Connector>, ConfigError> {
    let file: ConnectorFile =
        toml::from_str(text).map_err(|e| ConfigError::Syntax(e.to_string()))?;
    let mut out: Vec<Connector> = Vec::new();
    for c in file.connector {
        if c.name.trim().is_empty() {
            return Err(invalid(&c, "name", "must not be empty"));
        }
        if out.iter().any(|o| o.config.name == c.name) {
            return Err(invalid(&c, "name", "duplicate connector name"));
        }
        for (field, v) in [
            ("local_mta_name", &c.local_mta_name),
            ("remote_mta_name", &c.remote_mta_name),
        ] {
            if v.is_empty() || v.len() > 32 || !v.is_ascii() {
                return Err(invalid(
                    &c,
                    field,
                    "must be 1 to 32 ASCII characters (X.411 MTAName)",
                ));
            }
        }
        for (field, v) in [
            ("local_password", &c.local_password),
            ("remote_password", &c.remote_password),
        ] {
            if v.len() > 62 || !v.is_ascii() {
                return Err(invalid(&c, field, "must be at most 62 ASCII characters"));
            }
        }
        if c.stack_address.trim().is_empty() {
            return Err(invalid(
                &c,
                "stack_address",
                "must name the remote MTA's host or address",
            ));
        }
        if let Some(o) = &c.stack_ip_address_override
            && !is_ipv4(o)
        {
            return Err(invalid(
                &c,
                "stack_ip_address_override",
                format!("{o:?} is not a dotted IPv4 address"),
            ));
        }
        let mode = match c.mode.as_str() {
            "1984" => Mode::X410,
            "1988" => Mode::Normal,
            other => {
                return Err(invalid(
                    &c,
                    "mode",
                    format!("{other:?}: expected \"1984\" or \"1988\""),
                ));
            }
        };
        if c.retry_interval_s == 0 {
            return Err(invalid(&c, "retry_interval_s", "must be at least 1"));
        }
        let routes = c
            .address_space
            .iter()
            .map(|d| parse_domain(d))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| invalid(&c, "address_space", e))?;
        out.push(Connector {
            config: c,
            mode,
            routes,
        });
    }
    Ok(out)
}

/// Counters for Q197378.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SourceCounters {
    /// Trigger: outbound connections from a machine with more than one address.
    pub multihomed_outbound: u64,
}

/// The outbound source-address choice of one (possibly multihomed) machine.
#[derive(Debug, Clone)]
pub struct SourceAddressChooser {
    addresses: Vec<String>,
    rng: u64,
    /// Counters.
    pub counters: SourceCounters,
}

impl SourceAddressChooser {
    /// A machine with `addresses` (the first is the primary).
    pub fn new(addresses: &[&str]) -> Self {
        assert!(!addresses.is_empty(), "a machine has at least one address");
        SourceAddressChooser {
            addresses: addresses.iter().map(|s| (*s).to_string()).collect(),
            rng: 0x9e37_79b9_7f4a_7c15,
            counters: SourceCounters::default(),
        }
    }

    /// Seed the transport's choice.
    pub fn seed(&mut self, seed: u64) {
        // splitmix64, so neighbouring seeds give unrelated streams.
        let mut z = seed.wrapping_add(0x9e37_79b9_7f4a_7c15);
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        self.rng = (z ^ (z >> 31)) | 1;
    }

    /// The source address of the next outbound connection over `connector`.
    pub fn choose(&mut self, profile: &Profile, connector: &ConnectorConfig) -> String {
        if self.addresses.len() > 1 {
            self.counters.multihomed_outbound += 1;
        }
        match profile.outbound_source_address {
            SourceAddressRule::Primary => self.addresses[0].clone(),
            SourceAddressRule::TransportChoice => {
                if profile.connector_honours_source_override
                    && let Some(o) = &connector.stack_ip_address_override
                {
                    return o.clone();
                }
                // The transport picks any address of the machine (xorshift64*).
                self.rng ^= self.rng >> 12;
                self.rng ^= self.rng << 25;
                self.rng ^= self.rng >> 27;
                let r = self.rng.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 32;
                self.addresses[(r % self.addresses.len() as u64) as usize].clone()
            }
        }
    }
}

/// Identify an inbound caller by its source address; `None` after logging 9301.
pub fn identify_caller<'a>(
    profile: &Profile,
    log: &mut EventLog,
    now: u64,
    connectors: &'a [Connector],
    source: &str,
) -> Option<&'a Connector> {
    let found = connectors.iter().find(|c| c.config.stack_address == source);
    if found.is_none() {
        log.log(catalogue::unknown_caller(profile, source, now));
    }
    found
}

/// Check an inbound MTA bind against the connector; a wrong password logs 9302.
pub fn check_bind(
    profile: &Profile,
    log: &mut EventLog,
    now: u64,
    connector: &Connector,
    bind: &mta_p1::Bind,
) -> bool {
    let ok = match bind {
        mta_p1::Bind::Authenticated { name, password, .. } => {
            let pw_ok = match password {
                mta_p1::Password::Ia5(p) => *p == connector.config.remote_password,
                mta_p1::Password::Octets(p) => *p == connector.config.remote_password.as_bytes(),
            };
            *name == connector.config.remote_mta_name && pw_ok
        }
        mta_p1::Bind::Unauthenticated => connector.config.remote_password.is_empty(),
    };
    if !ok {
        let name = match bind {
            mta_p1::Bind::Authenticated { name, .. } => name.as_str(),
            mta_p1::Bind::Unauthenticated => "(unauthenticated)",
        };
        log.log(catalogue::bind_refused_password(profile, name, now));
    }
    ok
}

#[cfg(test)]
mod tests {
    use super::*;

    const FILE: &str = r#"
[[connector]]
name = "TCP to MTA B"
local_mta_name = "ALPHA"
local_password = "a-pass"
remote_mta_name = "BETA"
remote_password = "b-pass"
stack_address = "10.0.0.2"
mode = "1984"
stack_ip_address_override = "10.0.0.1"
address_space = ["/C=US/A= /P=BETA/", "/C=DE/A=ADMD/"]
"#;

    /// Found by the `input_files` fuzz target: a PRMD with '_' was accepted, and a message to
    /// the routed domain panicked building its O/R name (not a PrintableString).
    #[test]
    fn domains_must_be_printable_strings() {
        let bad = FILE.replace("/P=BETA/", "/P=B_x/");
        let e = parse_connectors(&bad).unwrap_err().to_string();
        assert!(
            e.contains("address_space") && e.contains("PrintableString"),
            "{e}"
        );
        assert!(parse_domain("/C=US/A= /P=B-x.(1)/").is_ok());
    }

    #[test]
    fn parses_and_defaults() {
        let cs = parse_connectors(FILE).unwrap();
        assert_eq!(cs.len(), 1);
        assert_eq!(cs[0].mode, Mode::X410);
        // Fields the file leaves out take the X.400 connector's defaults (Override tab: 144 open
        // retries 600 s apart, 60 s to open, 600 s idle).
        let c = &cs[0].config;
        assert_eq!(
            (
                c.retry_count,
                c.retry_interval_s,
                c.open_timeout_s,
                c.idle_timeout_s
            ),
            (144, 600, 60, 600)
        );
        assert_eq!(
            cs[0].routes,
            vec![
                ("us".into(), String::new(), "beta".into()),
                ("de".into(), "admd".into(), String::new())
            ]
        );
        let e = parse_connectors(&FILE.replace("/C=DE/A=ADMD/", "/X=1/")).unwrap_err();
        assert!(e.to_string().contains("address_space"), "{e}");
        // A country left blank is no route (a blank ADMD is: "a single space for no ADMD").
        let e = parse_connectors(&FILE.replace("/C=DE/A=ADMD/", "/C= /A=ADMD/")).unwrap_err();
        assert!(e.to_string().contains("needs at least /C=…/A=…/"), "{e}");
    }

    #[test]
    fn clear_errors() {
        let e = parse_connectors(&FILE.replace("\"1984\"", "\"1999\"")).unwrap_err();
        assert_eq!(
            e.to_string(),
            "connector \"TCP to MTA B\": mode: \"1999\": expected \"1984\" or \"1988\""
        );
        let e = parse_connectors(&FILE.replace("10.0.0.1", "10.0.0")).unwrap_err();
        assert!(e.to_string().contains("stack_ip_address_override"), "{e}");
        for bad in ["10.0.0.0001", "10.0.0.999"] {
            let e = parse_connectors(&FILE.replace("10.0.0.1", bad)).unwrap_err();
            assert!(
                e.to_string().contains("stack_ip_address_override"),
                "{bad}: {e}"
            );
        }
        for bad in ["", "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456", "BÉTA"] {
            let e = parse_connectors(&FILE.replace("\"BETA\"", &format!("{bad:?}"))).unwrap_err();
            assert!(
                e.to_string()
                    .contains("remote_mta_name: must be 1 to 32 ASCII"),
                "{bad:?}: {e}"
            );
        }
        let e = parse_connectors(&FILE.replace("b-pass", &"p".repeat(63))).unwrap_err();
        assert!(
            e.to_string()
                .contains("remote_password: must be at most 62"),
            "{e}"
        );
        let twice = format!("{FILE}\n{}", FILE.replace("10.0.0.2", "10.0.0.3"));
        let e = parse_connectors(&twice).unwrap_err();
        assert_eq!(
            e.to_string(),
            "connector \"TCP to MTA B\": name: duplicate connector name"
        );
        assert_eq!(
            parse_connectors(&twice.replacen("TCP to MTA B", "TCP to MTA C", 1))
                .unwrap()
                .len(),
            2
        );
        let e = parse_connectors("[[connector]]\nname = 3\n").unwrap_err();
        assert!(matches!(e, ConfigError::Syntax(_)), "{e}");
        let e = parse_connectors(&FILE.replace("mode", "colour")).unwrap_err();
        assert!(e.to_string().contains("unknown field"), "{e}");
    }
}
