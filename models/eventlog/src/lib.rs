//! The MSExchangeMTA application event log: [`Event`]s collected per MTA in order, emitted through
//! `tracing`, and rendered in the text framing of the build's era (KB Q151626 for 4.0, Q182619 for
//! 5.x, Q811406 for 2000). [`catalogue`] builds every event the lab logs; each says whether its text
//! is quoted from a KB (and which) or is ours.

pub mod catalogue;
mod time;

pub use mta_build::EventEra;
pub use time::format_nt40_timestamp;

use std::fmt::{self, Write as _};

/// The event source every MTA event carries.
pub const SOURCE: &str = "MSExchangeMTA";

/// Windows event type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum EventType {
    /// Error (fatal MTA errors included).
    Error,
    /// Warning.
    Warning,
    /// Information.
    Information,
}

impl fmt::Display for EventType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            EventType::Error => "Error",
            EventType::Warning => "Warning",
            EventType::Information => "Information",
        })
    }
}

/// The component tag an event carries: `BASE IL TCP/IP DRVR`, its number in this build, and the
/// procedure number where the real MTA prints one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ComponentTag {
    /// Component name as printed.
    pub name: &'static str,
    /// Component number (per build; see the build table's `tag_*` rows).
    pub number: u16,
    /// Procedure number, when printed.
    pub proc_id: Option<u16>,
}

impl ComponentTag {
    /// The 4.0 and 2000 form: `(BASE IL TCP/IP DRVR(22) Proc 262)`.
    fn parenthesised(&self) -> String {
        match self.proc_id {
            Some(p) => format!("({}({}) Proc {p})", self.name, self.number),
            None => format!("({}({}))", self.name, self.number),
        }
    }
}

/// One event-log entry.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Event {
    /// Event ID (9404, 4283, …).
    pub id: u32,
    /// Always [`SOURCE`].
    pub source: &'static str,
    /// Windows event type.
    pub event_type: EventType,
    /// MTA severity number (4.0 "severity 12", 5.x "(12)").
    pub severity: u8,
    /// 4.0 message category ("Internal Operating System Error").
    pub category: &'static str,
    /// Component tag.
    pub component: ComponentTag,
    /// Text lines (one paragraph per line).
    pub lines: Vec<String>,
    /// Whether the MTA terminates after logging it.
    pub fatal: bool,
    /// Simulated time of logging, milliseconds since the log's epoch.
    pub at_ms: u64,
}

impl Event {
    /// The description as the build's era prints it (what a KB quotes).
    pub fn description(&self, era: EventEra, epoch_unix_s: i64) -> String {
        let c = &self.component;
        let mut s = String::new();
        match era {
            EventEra::Nt40 => {
                let _ = writeln!(
                    s,
                    "message NMI{}: {}, severity {}",
                    self.id, self.category, self.severity
                );
                s.push_str(&c.parenthesised());
                let ts = format_nt40_timestamp(
                    epoch_unix_s
                        .saturating_add(i64::try_from(self.at_ms / 1000).unwrap_or(i64::MAX)),
                );
                let _ = write!(s, " {ts}");
                for l in &self.lines {
                    s.push('\n');
                    s.push_str(l);
                }
            }
            EventEra::Ex5x => {
                s.push_str(&self.lines.join("\n"));
                let _ = write!(s, " [{} {}", c.name, c.number);
                if let Some(p) = c.proc_id {
                    let _ = write!(s, " {p}");
                }
                let _ = write!(s, "] ({})", self.severity);
            }
            EventEra::Ex2000 => {
                s.push_str(&c.parenthesised());
                for l in &self.lines {
                    s.push('\n');
                    s.push_str(l);
                }
            }
        }
        s
    }

    /// The whole record as Event Viewer shows it: ID, source, type, then the description.
    pub fn record(&self, era: EventEra, epoch_unix_s: i64) -> String {
        format!(
            "Event ID: {}\nSource: {}\nType: {}\n{}",
            self.id,
            self.source,
            self.event_type,
            self.description(era, epoch_unix_s)
        )
    }
}

/// The event log of one MTA: events in the order logged.
#[derive(Debug, Clone)]
pub struct EventLog {
    era: EventEra,
    epoch_unix_s: i64,
    host: String,
    events: Vec<Event>,
    /// Index of the first fatal event: the stop and "no fatal event" checks ask on every tick and
    /// every read, so the answer is kept, not searched for.
    first_fatal: Option<usize>,
}

impl EventLog {
    /// An empty log for an MTA on `host` whose build prints in `era`; `epoch_unix_s` is the wall time
    /// that simulated time 0 stands for (only used to print 4.0 timestamps).
    pub fn new(host: impl Into<String>, era: EventEra, epoch_unix_s: i64) -> Self {
        EventLog {
            era,
            epoch_unix_s,
            host: host.into(),
            events: Vec::new(),
            first_fatal: None,
        }
    }

    /// Forget every event (a fuzz harness reusing one log between inputs).
    pub fn clear(&mut self) {
        self.events.clear();
        self.first_fatal = None;
    }

    /// Append an event and emit it through `tracing`. The text is rendered only when a
    /// subscriber wants the event (a fuzz harness has none: no formatting on the hot path).
    pub fn log(&mut self, event: Event) {
        let text = || event.description(self.era, self.epoch_unix_s);
        match event.event_type {
            EventType::Error => tracing::error!(
                host = %self.host, event_id = event.id, fatal = event.fatal,
                component = event.component.name, at_ms = event.at_ms, "{}", text()
            ),
            EventType::Warning => tracing::warn!(
                host = %self.host, event_id = event.id,
                component = event.component.name, at_ms = event.at_ms, "{}", text()
            ),
            EventType::Information => tracing::info!(
                host = %self.host, event_id = event.id,
                component = event.component.name, at_ms = event.at_ms, "{}", text()
            ),
        }
        if event.fatal && self.first_fatal.is_none() {
            self.first_fatal = Some(self.events.len());
        }
        self.events.push(event);
    }

    /// All events, oldest first.
    pub fn events(&self) -> &[Event] {
        &self.events
    }

    /// How many events with this ID were logged.
    pub fn count(&self, id: u32) -> usize {
        self.events.iter().filter(|e| e.id == id).count()
    }

    /// The first fatal event, if any (the "no fatal event" oracle).
    pub fn first_fatal(&self) -> Option<&Event> {
        self.first_fatal.map(|i| &self.events[i])
    }

    /// The era this log prints in.
    pub fn era(&self) -> EventEra {
        self.era
    }

    /// Every event rendered as its description, one block per event.
    pub fn render(&self) -> Vec<String> {
        self.events
            .iter()
            .map(|e| e.description(self.era, self.epoch_unix_s))
            .collect()
    }
}
