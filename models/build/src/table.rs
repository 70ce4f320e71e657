//! The build table: every per-build constant and defect switch, one row each, with its source.
//!
//! Read a row left to right to see how the builds differ:
//! `4.0 | 5.0 | 5.5 | 5.5-sp1 | 5.5-sp2 | 5.5-sp3 | 2000-sp3 | 2000-sp3-rollup`.
//! `mta-lab builds` prints the same table.

use crate::{BUILD_COUNT, Build};
use std::fmt;
use std::str::FromStr;

/// What kind of row a parameter is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RowKind {
    /// A registry-style parameter an administrator can change (`--set name=value`); the KB matrix runs
    /// on the defaults.
    Tunable,
    /// Fixed by the build's code (event-text era, component tag numbers); not overridable.
    Constant,
    /// A defect switch, named after what the fixed build *adds*; not overridable.
    Fix,
}

impl fmt::Display for RowKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            RowKind::Tunable => "tunable",
            RowKind::Constant => "constant",
            RowKind::Fix => "fix",
        })
    }
}

/// One row of the build table, rendered for display.
#[derive(Debug, Clone)]
pub struct Row {
    /// Parameter name (also the `--set` key).
    pub name: &'static str,
    /// Tunable, constant or fix.
    pub kind: RowKind,
    /// One cell per build, in [`Build::ALL`] order.
    pub values: [String; BUILD_COUNT],
    /// Where each value comes from: a KB, a standard, or "our choice" with the reason.
    pub source: &'static str,
    /// What the parameter means.
    pub doc: &'static str,
}

/// A `--set name=value` override that could not be applied.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OverrideError {
    /// No row has this name.
    #[error("unknown parameter {0:?}; tunable parameters: {1}")]
    UnknownName(String, String),
    /// The row exists but is fixed by the build's code.
    #[error("parameter {0:?} is a {1} of the build and cannot be overridden")]
    NotTunable(String, RowKind),
    /// The value does not parse as the row's type.
    #[error("parameter {name:?}: cannot parse {value:?}: {reason}")]
    BadValue {
        /// Parameter name.
        name: String,
        /// Value given.
        value: String,
        /// Parser message.
        reason: String,
    },
    /// Not of the form `name=value`.
    #[error("expected name=value, got {0:?}")]
    Syntax(String),
    /// The value is outside the tunable's valid range.
    #[error("parameter {name:?} = {value}: outside {min}..={max} ({why})")]
    OutOfRange {
        /// Parameter name.
        name: String,
        /// Value given.
        value: String,
        /// Smallest valid value.
        min: u64,
        /// Largest valid value.
        max: u64,
        /// Why these bounds.
        why: &'static str,
    },
}

/// A tunable's valid range and why: `--set` outside it is refused with both (a model run with
/// any value inside it must not panic the lab; `tunable_extremes` in the harness checks that).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Range {
    /// Tunable name.
    pub name: &'static str,
    /// Smallest valid value.
    pub min: u64,
    /// Largest valid value.
    pub max: u64,
    /// Why these bounds.
    pub why: &'static str,
}

/// Every tunable's valid range.
pub const TUNABLE_RANGES: &[Range] = &[
    Range {
        name: "tcp_control_blocks_inbound",
        min: 1,
        max: 16_000,
        why: "at least one caller; inbound + outbound + the listener's slot must fit the table's 16-bit block index",
    },
    Range {
        name: "tcp_control_blocks_outbound",
        min: 1,
        max: 16_000,
        why: "at least one connection out; inbound + outbound + the listener's slot must fit the table's 16-bit block index",
    },
    Range {
        name: "tcp_pending_tpdu_queue",
        min: 1,
        max: 65_535,
        why: "a recovering block queues at least one TPDU",
    },
    Range {
        name: "tcp_recovery_interval_ms",
        min: 1,
        max: 86_400_000,
        why: "a positive timer, at most a day",
    },
    Range {
        name: "tcp_connect_timeout_ms",
        min: 1,
        max: 86_400_000,
        why: "a positive timer, at most a day",
    },
    Range {
        name: "bufmgr_headers",
        min: 1,
        max: 1_000_000,
        why: "a pool of at least one header; at most a million keeps the pool's tables in memory",
    },
    Range {
        name: "bufmgr_elements",
        min: 1,
        max: 65_535,
        why: "a pool of at least one element; element storage is allocated as used, so elements x element size bounds memory",
    },
    Range {
        name: "bufmgr_element_size",
        min: 1,
        max: 65_531,
        why: "a positive size, at most the largest payload one RFC 1006 TPKT can carry",
    },
    Range {
        name: "bufmgr_max_headers_per_request",
        min: 1,
        max: 65_535,
        why: "a request asks for at least one header",
    },
    Range {
        name: "bufmgr_max_elements_per_request",
        min: 1,
        max: 65_535,
        why: "a request asks for at least one element",
    },
    Range {
        name: "pop4_queue_capacity",
        min: 1,
        max: 65_535,
        why: "POP4 holds at least one message",
    },
    Range {
        name: "pop4_messages_per_tick",
        min: 1,
        max: 65_535,
        why: "POP4 processes at least one message per tick, or it never drains",
    },
    Range {
        name: "pop4_tick_ms",
        min: 1,
        max: 60_000,
        why: "a positive scheduler period, at most a minute",
    },
    Range {
        name: "x25_packet_size",
        min: 16,
        max: 4_096,
        why: "X.25 packet sizes run from 16 to 4096 octets",
    },
    Range {
        name: "x25_window",
        min: 1,
        max: 7,
        why: "X.25 modulo-8 sequence numbering allows windows of 1 to 7",
    },
    Range {
        name: "x25_receive_queue_packets",
        min: 1,
        max: 65_535,
        why: "the shared receive queue holds at least one packet",
    },
];

/// The valid range of tunable `name`, if it is one.
pub fn tunable_range(name: &str) -> Option<&'static Range> {
    TUNABLE_RANGES.iter().find(|r| r.name == name)
}

fn check_range(name: &str, value: &str) -> Result<(), OverrideError> {
    let Some(r) = tunable_range(name) else {
        return Ok(());
    };
    let out = || OverrideError::OutOfRange {
        name: name.into(),
        value: value.trim().into(),
        min: r.min,
        max: r.max,
        why: r.why,
    };
    // Not a number at all: the row's own parser says why.
    let Ok(v) = value.trim().parse::<u64>() else {
        return Ok(());
    };
    if (r.min..=r.max).contains(&v) {
        Ok(())
    } else {
        Err(out())
    }
}

/// Which text framing the build's event log uses (see `mta-eventlog`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventEra {
    /// Exchange 4.0: `message NMI9236: …, severity 12` / `(BASE IL TCP/IP DRVR(22) Proc 262)`.
    Nt40,
    /// Exchange 5.x: `… [BASE IL TCP/IP DRVR 10 274] (12)`.
    Ex5x,
    /// Exchange 2000: `(POP4 POP4 UP(7) Proc 228)` then the text lines.
    Ex2000,
}

impl fmt::Display for EventEra {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            EventEra::Nt40 => "nt40",
            EventEra::Ex5x => "ex5x",
            EventEra::Ex2000 => "ex2000",
        })
    }
}

impl FromStr for EventEra {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "nt40" => Ok(EventEra::Nt40),
            "ex5x" => Ok(EventEra::Ex5x),
            "ex2000" => Ok(EventEra::Ex2000),
            _ => Err("expected nt40, ex5x or ex2000".into()),
        }
    }
}

/// How the connector picks the source address of an outbound connection on a multihomed host.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SourceAddressRule {
    /// Always the host's primary address.
    Primary,
    /// The transport picks any of the host's addresses (Q197378: "The transport uses all available
    /// virtual server IP addresses").
    TransportChoice,
}

impl fmt::Display for SourceAddressRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SourceAddressRule::Primary => "primary",
            SourceAddressRule::TransportChoice => "transport-choice",
        })
    }
}

impl FromStr for SourceAddressRule {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "primary" => Ok(SourceAddressRule::Primary),
            "transport-choice" => Ok(SourceAddressRule::TransportChoice),
            _ => Err("expected primary or transport-choice".into()),
        }
    }
}

macro_rules! build_table {
    ($(
        $(#[doc = $doc:literal])+
        $kind:ident $field:ident : $ty:ty = [$($v:expr),+ $(,)?], source = $src:literal;
    )*) => {
        /// Every per-build constant and defect switch of one build (one column of the table), after
        /// any `--set` overrides.
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub struct Profile {
            /// The build this column belongs to.
            pub build: Build,
            $( $(#[doc = $doc])+ pub $field: $ty, )*
        }

        #[allow(non_snake_case)]
        struct Columns { $( $field: [$ty; BUILD_COUNT], )* }

        const COLUMNS: Columns = Columns { $( $field: [$($v),+], )* };

        impl Profile {
            /// The defaults of `build`, straight from the table.
            pub const fn of(build: Build) -> Profile {
                let i = build.index();
                Profile { build, $( $field: COLUMNS.$field[i], )* }
            }

            /// Every row of the table, in declaration order.
            pub fn rows() -> Vec<Row> {
                vec![$(
                    Row {
                        name: stringify!($field),
                        kind: RowKind::$kind,
                        values: COLUMNS.$field.map(|v| v.to_string()),
                        source: $src,
                        doc: concat!($($doc),+).trim_ascii(),
                    },
                )*]
            }

            /// The current value of a row in this profile, rendered as the table renders it.
            pub fn value(&self, name: &str) -> Option<String> {
                match name {
                    $( stringify!($field) => Some(self.$field.to_string()), )*
                    _ => None,
                }
            }

            /// Apply an override written `name=value` (a `--set` argument).
            pub fn set_override(&mut self, assignment: &str) -> Result<(), OverrideError> {
                let (name, value) = assignment
                    .split_once('=')
                    .ok_or_else(|| OverrideError::Syntax(assignment.into()))?;
                self.set(name.trim(), value)
            }

            /// Apply an administrator override (like editing the MTA's registry parameter).
            /// Only [`RowKind::Tunable`] rows can be overridden.
            pub fn set(&mut self, name: &str, value: &str) -> Result<(), OverrideError> {
                match name {
                    $( stringify!($field) => {
                        if RowKind::$kind != RowKind::Tunable {
                            return Err(OverrideError::NotTunable(name.into(), RowKind::$kind));
                        }
                        check_range(name, value)?;
                        self.$field = value.trim().parse::<$ty>().map_err(|e| OverrideError::BadValue {
                            name: name.into(),
                            value: value.into(),
                            reason: e.to_string(),
                        })?;
                        Ok(())
                    } )*
                    _ => Err(OverrideError::UnknownName(name.into(), tunable_names())),
                }
            }
        }

        fn tunable_names() -> String {
            let mut names = Vec::new();
            $( if RowKind::$kind == RowKind::Tunable { names.push(stringify!($field)); } )*
            names.join(", ")
        }
    };
}

build_table! {
    // ---------------------------------------------------------------- TCP driver and control blocks
    /// Inbound TCP control blocks (connections the MTA accepted). Slot 0 of the control-block table
    /// is the listener; connections get the lowest free index from 1.
    Tunable tcp_control_blocks_inbound: u16 = [10, 10, 10, 10, 10, 10, 20, 20],
        source = "MTA registry parameter \"TCP/IP control blocks\", documented default 20 for later \
                  versions (2000); 4.0-5.5: our choice, half of 20 per direction";
    /// Outbound TCP control blocks (connections the MTA opened).
    Tunable tcp_control_blocks_outbound: u16 = [10, 10, 10, 10, 10, 10, 20, 20],
        source = "our choice, mirrors the inbound pool";
    /// TPDUs the driver queues per connection while the connection is down or being recovered.
    Tunable tcp_pending_tpdu_queue: u32 = [29, 29, 28, 28, 28, 28, 28, 28],
        source = "derived from Q182619: equal to the per-request limit, so a full queue plus the \
                  reconnect CR is the first illegal request (30/30 on 4.0/5.0, 29/29 on 5.5)";
    /// Interval between sockets-recovery attempts after a failed connect(), in milliseconds.
    Tunable tcp_recovery_interval_ms: u64 = [30_000, 30_000, 30_000, 30_000, 30_000, 30_000, 30_000, 30_000],
        source = "our choice (X.400 timers are tens of seconds; the simulator scales them)";
    /// How long the driver waits for an outbound connect() before reporting 10060, in milliseconds.
    Tunable tcp_connect_timeout_ms: u64 = [60_000, 60_000, 60_000, 60_000, 60_000, 60_000, 60_000, 60_000],
        source = "our choice";

    // ---------------------------------------------------------------- buffer manager
    /// Buffer headers in the buffer manager's pool.
    Tunable bufmgr_headers: u32 = [256, 256, 512, 512, 512, 512, 1024, 1024],
        source = "our choice (pool grows with the product, as memory did)";
    /// Buffer elements in the buffer manager's pool.
    Tunable bufmgr_elements: u32 = [512, 512, 1024, 1024, 1024, 1024, 2048, 2048],
        source = "our choice";
    /// Octets per buffer element.
    Tunable bufmgr_element_size: u32 = [2048, 2048, 2048, 2048, 2048, 2048, 2048, 2048],
        source = "our choice: one element holds one class-0 TPDU of the 2048-octet size negotiated in \
                  Q151626's CONNECT CONFIRM (parameter C0 = 0x0B)";
    /// Largest number of headers one `request` may ask for.
    Tunable bufmgr_max_headers_per_request: u32 = [29, 29, 28, 28, 28, 28, 28, 28],
        source = "Q182619: the first illegal request is 30 headers on 5.0 (4.0 extrapolated) and 29 on \
                  5.5, so the limit is 29 and 28; later builds keep 5.5's (our choice)";
    /// Largest number of elements one `request` may ask for.
    Tunable bufmgr_max_elements_per_request: u32 = [29, 29, 28, 28, 28, 28, 28, 28],
        source = "Q182619, as for headers (30/30 and 29/29)";

    // ---------------------------------------------------------------- POP4 (upper-layer protocol machine)
    /// Internal messages POP4 can hold waiting for processing.
    Tunable pop4_queue_capacity: u32 = [64, 64, 64, 64, 64, 64, 128, 128],
        source = "our choice";
    /// Internal messages POP4 processes per scheduler tick (its latency under load follows from it).
    Tunable pop4_messages_per_tick: u32 = [8, 8, 8, 8, 8, 8, 8, 8],
        source = "our choice";
    /// POP4 scheduler tick, in milliseconds.
    Tunable pop4_tick_ms: u64 = [100, 100, 100, 100, 100, 100, 100, 100],
        source = "our choice";

    // ---------------------------------------------------------------- X.25 (Q225157)
    /// Whether the build can drive a third-party Winsock X.25 transport (the Cirel card of Q225157).
    Constant x25_winsock_transport: bool = [false, false, true, true, true, true, true, true],
        source = "our choice: Q225157 applies to 5.5 only, so 4.0/5.0 are modelled without it";
    /// X.25 packet size in octets.
    Tunable x25_packet_size: u16 = [128, 128, 128, 128, 128, 128, 128, 128],
        source = "ITU-T X.25 default packet size (128 octets)";
    /// X.25 window size in packets.
    Tunable x25_window: u8 = [2, 2, 2, 2, 2, 2, 2, 2],
        source = "ITU-T X.25 default window size (2)";
    /// Packets the X.25 transport's shared receive queue holds (all virtual circuits together).
    Tunable x25_receive_queue_packets: u32 = [8, 8, 8, 8, 8, 8, 8, 8],
        source = "our choice (a card buffer of 8 default-size packets; Q225157's \"heavy message \
                  traffic\" is more circuits than it can hold windows for)";

    // ---------------------------------------------------------------- event log
    /// Text framing of the event log.
    Constant event_era: EventEra = [
        EventEra::Nt40, EventEra::Ex5x, EventEra::Ex5x, EventEra::Ex5x,
        EventEra::Ex5x, EventEra::Ex5x, EventEra::Ex2000, EventEra::Ex2000,
    ],
        source = "Q151626 (4.0 NMI form), Q182619 (5.0/5.5 bracket form), Q811406 (2000 form)";
    /// Component number printed in TCP/IP driver event tags ("BASE IL TCP/IP DRVR(22)" / "… 10 274").
    Constant tag_tcpip_driver: u16 = [22, 10, 8, 8, 8, 8, 8, 8],
        source = "4.0: Q151626 (22); 5.0: Q182619 (10); 5.5: Q182619 (8); 5.5 SP1-SP3 and 2000: our \
                  choice, kept from 5.5";
    /// Component number printed in POP4 event tags ("POP4 POP4 UP(7)" / "[POP4 POP4 UP 6 228]").
    Constant tag_pop4: u16 = [6, 6, 6, 6, 6, 6, 7, 7],
        source = "5.5 SP3: KB Q266792 (6); 2000: Q811406 (7); 4.0-5.5 SP2: our choice, as 5.5 SP3";
    /// Component number printed in platform-kernel event tags ("PLATFORM KERNEL(6)").
    Constant tag_kernel: u16 = [6, 6, 6, 6, 6, 6, 6, 6],
        source = "4.0: Q151626 (6); later builds: our choice, unchanged";

    // ---------------------------------------------------------------- connectors (Q197378)
    /// How an outbound connection's source address is chosen on a multihomed host.
    Constant outbound_source_address: SourceAddressRule = [
        SourceAddressRule::Primary, SourceAddressRule::Primary, SourceAddressRule::Primary,
        SourceAddressRule::TransportChoice, SourceAddressRule::TransportChoice,
        SourceAddressRule::TransportChoice, SourceAddressRule::TransportChoice,
        SourceAddressRule::TransportChoice,
    ],
        source = "Q197378 (SP1: \"the MTA allows the transport to make the selection\"); before SP1: \
                  our choice (the KB names SP1 only)";

    // ---------------------------------------------------------------- defect switches (what the fix adds)
    /// Q151626: the TPKT writer clears the reserved octet of the CONNECT CONFIRM it sends.
    Fix tpkt_writer_clears_reserved_byte: bool = [false, true, true, true, true, true, true, true],
        source = "Q151626 (4.0 sends 0x11; the KB applies to 4.0 only)";
    /// Q182619: sockets recovery splits the pending queue into requests within the per-request limit.
    Fix tcp_recovery_splits_buffer_request: bool = [false, false, false, false, true, true, true, true],
        source = "Q182619 (4.0, 5.0, 5.5 affected; fixed in \"the latest\" 5.5 service pack, SP2 per \
                  ARCHITECTURE.md)";
    /// Q225157: the X.25 transport adapter validates a buffer before passing it up the stack.
    Fix x25_adapter_validates_buffers: bool = [false, false, false, false, false, true, true, true],
        source = "Q225157 (5.5 affected, first corrected in 5.5 SP3, hotfix 5.5.2586.0)";
    /// Q197378: the connector honours the per-connector "Stack IP Address Override" registry key.
    Fix connector_honours_source_override: bool = [false, false, false, false, true, true, true, true],
        source = "Q197378 (SP1 affected, first corrected in SP2, hotfix 5.5.2431.0)";
    /// Q811406: NSI's bad-LPI error path (a Close Request from POP4 it rejects) releases the
    /// control block the LPI names.
    Fix nsi_bad_lpi_releases_control_block: bool = [true, true, true, true, true, true, false, true],
        source = "Q811406 (2000 SP3 affected, fixed by the March 2003 rollup, 6.0.6394.0); earlier \
                  builds log 4283 but free the block (KB Q319936 shows 5.5 SP4 recovering)";
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_row_has_a_source_and_a_doc() {
        let rows = Profile::rows();
        assert!(rows.len() >= 20);
        for r in &rows {
            assert!(!r.source.trim().is_empty(), "{} has no source", r.name);
            assert!(!r.doc.is_empty(), "{} has no doc", r.name);
        }
    }

    #[test]
    fn q182619_first_illegal_request_follows_from_constants() {
        // A full pending queue plus the reconnect CR, one header and one element each.
        for (b, expected) in [
            (Build::Ex40, 30),
            (Build::Ex50, 30),
            (Build::Ex55, 29),
            (Build::Ex55Sp1, 29),
        ] {
            let p = b.profile();
            let request = p.tcp_pending_tpdu_queue + 1;
            assert_eq!(request, expected, "{b}");
            assert!(request > p.bufmgr_max_headers_per_request);
            assert!(request > p.bufmgr_max_elements_per_request);
            assert!(request - 1 <= p.bufmgr_max_headers_per_request);
        }
    }

    #[test]
    fn fixes_appear_exactly_on_the_builds_the_kbs_name() {
        let fixed = |f: fn(&Profile) -> bool| Build::ALL.map(|b| f(&b.profile()));
        assert_eq!(
            fixed(|p| p.tpkt_writer_clears_reserved_byte),
            [false, true, true, true, true, true, true, true]
        );
        assert_eq!(
            fixed(|p| p.tcp_recovery_splits_buffer_request),
            [false, false, false, false, true, true, true, true]
        );
        assert_eq!(
            fixed(|p| p.x25_adapter_validates_buffers),
            [false, false, false, false, false, true, true, true]
        );
        assert_eq!(
            fixed(|p| p.connector_honours_source_override),
            [false, false, false, false, true, true, true, true]
        );
        assert_eq!(
            fixed(|p| p.nsi_bad_lpi_releases_control_block),
            [true, true, true, true, true, true, false, true]
        );
    }

    #[test]
    fn overrides_apply_to_tunables_only() {
        let mut p = Build::Ex2000Sp3.profile();
        p.set("tcp_control_blocks_inbound", "500").unwrap();
        assert_eq!(p.tcp_control_blocks_inbound, 500);
        assert_eq!(
            p.value("tcp_control_blocks_inbound").as_deref(),
            Some("500")
        );
        assert_eq!(p.value("nope"), None);
        assert!(matches!(
            p.set("nsi_bad_lpi_releases_control_block", "true"),
            Err(OverrideError::NotTunable(..))
        ));
        assert!(matches!(
            p.set("tcp_control_blocks_inbound", "many"),
            Err(OverrideError::BadValue { .. })
        ));
        let err = p.set("no_such_key", "1").unwrap_err();
        assert!(err.to_string().contains("tcp_control_blocks_inbound"));
    }

    #[test]
    fn rows_render_every_build() {
        let rows = Profile::rows();
        let era = rows.iter().find(|r| r.name == "event_era").unwrap();
        assert_eq!(era.values[0], "nt40");
        assert_eq!(era.values[7], "ex2000");
        assert_eq!(era.kind, RowKind::Constant);
    }

    #[test]
    fn every_tunable_has_a_range_holding_every_build_default() {
        let rows = Profile::rows();
        for row in rows.iter().filter(|r| r.kind == RowKind::Tunable) {
            let r = tunable_range(row.name).unwrap_or_else(|| panic!("{} has no range", row.name));
            for v in &row.values {
                let v: u64 = v.parse().unwrap();
                assert!((r.min..=r.max).contains(&v), "{} default {v}", row.name);
            }
        }
        for r in TUNABLE_RANGES {
            let row = rows.iter().find(|row| row.name == r.name);
            assert!(
                row.is_some_and(|row| row.kind == RowKind::Tunable),
                "{}",
                r.name
            );
        }
    }

    #[test]
    fn set_refuses_a_value_outside_the_range_and_names_it() {
        for r in TUNABLE_RANGES {
            let mut p = Build::Ex2000Sp3Rollup.profile();
            for ok in [r.min, r.max] {
                p.set(r.name, &ok.to_string()).unwrap();
                assert_eq!(p.value(r.name), Some(ok.to_string()), "{}", r.name);
            }
            for bad in [r.min.checked_sub(1), r.max.checked_add(1)]
                .into_iter()
                .flatten()
            {
                let e = p.set(r.name, &bad.to_string()).unwrap_err();
                assert!(
                    matches!(e, OverrideError::OutOfRange { .. }),
                    "{}: {e}",
                    r.name
                );
                let text = e.to_string();
                assert!(text.contains(&format!("{}..={}", r.min, r.max)), "{text}");
            }
        }
    }
}
