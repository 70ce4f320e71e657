//! Every event the lab logs. Each constructor's doc says where its text comes from: quoted from a KB
//! (byte-for-byte, checked by the tests below) or ours (a plausible text no KB quotes).
//!
//! Component numbers come from the build table (`tag_tcpip_driver`, `tag_pop4`, `tag_kernel`), so the
//! same event prints `[BASE TCP/IP DRVR 10]` on 5.0 and `[BASE TCP/IP DRVR 8]` on 5.5 as Q182619 shows.

use crate::{ComponentTag, Event, EventType, SOURCE};
use mta_build::Profile;

/// Error code POP4 prints for a bad LPI in a message (Q811406).
pub const ERROR_BAD_LPI: u32 = 8464;
/// The code NSI's Error Indication carries for an LPI whose control block now belongs to another
/// connection (ours; POP4 reports it as event 1209, KB 306959).
pub const ERROR_LPI_MISMATCH: u32 = 1209;

fn event(
    id: u32,
    event_type: EventType,
    severity: u8,
    category: &'static str,
    component: ComponentTag,
    lines: Vec<String>,
    at_ms: u64,
) -> Event {
    Event {
        id,
        source: SOURCE,
        event_type,
        severity,
        category,
        component,
        lines,
        fatal: false,
        at_ms,
    }
}

fn il_tcp(p: &Profile, proc_id: Option<u16>) -> ComponentTag {
    ComponentTag {
        name: "BASE IL TCP/IP DRVR",
        number: p.tag_tcpip_driver,
        proc_id,
    }
}

fn tcp(p: &Profile, proc_id: Option<u16>) -> ComponentTag {
    ComponentTag {
        name: "BASE TCP/IP DRVR",
        number: p.tag_tcpip_driver,
        proc_id,
    }
}

fn pop4(p: &Profile) -> ComponentTag {
    ComponentTag {
        name: "POP4 POP4 UP",
        number: p.tag_pop4,
        proc_id: Some(228),
    }
}

/// 9236 "Receive socket closed on CB n / Socket error e" — quoted from Q151626 (4.0).
pub fn receive_socket_closed(p: &Profile, cb: u16, socket_error: u32, at_ms: u64) -> Event {
    event(
        9236,
        EventType::Warning,
        12,
        "Internal Operating System Error",
        il_tcp(p, Some(262)),
        vec![
            format!("Receive socket closed on CB {cb}"),
            format!("Socket error {socket_error}"),
        ],
        at_ms,
    )
}

/// 1279 "Session - Remote initiation of Transport Disconnection / Control block index n, type t" —
/// quoted from Q151626 (4.0).
pub fn remote_transport_disconnect(p: &Profile, cb: u16, cb_type: u8, at_ms: u64) -> Event {
    event(
        1279,
        EventType::Information,
        8,
        "X.400 Service Event",
        ComponentTag {
            name: "PLATFORM KERNEL",
            number: p.tag_kernel,
            proc_id: Some(94),
        },
        vec![
            "Session - Remote initiation of Transport Disconnection".into(),
            format!("Control block index {cb}, type {cb_type}"),
        ],
        at_ms,
    )
}

/// 2036 "Lost connections to locality n" — quoted from Q151626 (4.0).
pub fn lost_connections_to_locality(p: &Profile, locality: u32, at_ms: u64) -> Event {
    event(
        2036,
        EventType::Warning,
        10,
        "Internal Processing Error",
        tcp(p, Some(138)),
        vec![format!("Lost connections to locality {locality}")],
        at_ms,
    )
}

/// 9225 "Bad message type m for socket CB n in state s" — quoted from Q151626 (4.0).
pub fn bad_message_type(p: &Profile, message_type: u16, cb: u16, state: u8, at_ms: u64) -> Event {
    event(
        9225,
        EventType::Error,
        14,
        "Internal Processing Error",
        il_tcp(p, Some(255)),
        vec![format!(
            "Bad message type {message_type} for socket CB {cb} in state {state}"
        )],
        at_ms,
    )
}

/// 9215 "A sockets error e on a connect() call was detected…" — quoted from Q182619 (5.x form;
/// the 4.0 category is ours).
pub fn sockets_connect_error(p: &Profile, winsock_error: u32, cb: u16, at_ms: u64) -> Event {
    event(
        9215,
        EventType::Warning,
        12,
        "Internal Operating System Error",
        il_tcp(p, Some(274)),
        vec![format!(
            "A sockets error {winsock_error} on a connect() call was detected. The MTA will attempt \
             to recover the sockets connection. Control block index: {cb}."
        )],
        at_ms,
    )
}

/// 9404 "A fatal MTA error has occurred. An illegal buffer request has been made…" — quoted from
/// Q182619 (5.0 and 5.5; 4.0 extrapolated, its category is ours). Fatal: the MTA terminates.
pub fn illegal_buffer_request(p: &Profile, headers: u32, elements: u32, at_ms: u64) -> Event {
    let mut e = event(
        9404,
        EventType::Error,
        16,
        "Fatal Error",
        tcp(p, None),
        vec![format!(
            "A fatal MTA error has occurred. An illegal buffer request has been made. The request \
             was for {headers} headers and {elements} elements."
        )],
        at_ms,
    );
    e.fatal = true;
    e
}

/// 4258 "Message received at NSI: cb n / LPI a-b-c / Message type t" — text from KB Q319936 as
/// ARCHITECTURE.md quotes it (slashes as line breaks); the component tag and severity are ours.
pub fn message_received_at_nsi(
    p: &Profile,
    cb: u16,
    lpi: (u16, u16, u16),
    message_type: &str,
    at_ms: u64,
) -> Event {
    event(
        4258,
        EventType::Warning,
        12,
        "Internal Processing Error",
        pop4(p),
        vec![
            format!("Message received at NSI: cb {cb}"),
            format!("LPI {}-{}-{}", lpi.0, lpi.1, lpi.2),
            format!("Message type {message_type}"),
        ],
        at_ms,
    )
}

/// 4283 "Bad LPIs in message / Bad LPI a-b-c / Error code = 8464" — quoted from Q811406 (2000);
/// severity number ours (the KB gives the type, Warning).
pub fn bad_lpi(p: &Profile, lpi: (u16, u16, u16), at_ms: u64) -> Event {
    event(
        4283,
        EventType::Warning,
        12,
        "Internal Processing Error",
        pop4(p),
        vec![
            "Bad LPIs in message".into(),
            format!("Bad LPI {}-{}-{}", lpi.0, lpi.1, lpi.2),
            format!("Error code = {ERROR_BAD_LPI}"),
        ],
        at_ms,
    )
}

/// 1209 "… The incorrect LPI is a - b - c. Control block index n." — the second half is quoted from
/// KB 306959 ("The incorrect LPI is %1 - %2 - %3. Control block index %4."); the first sentence,
/// tag and severity are ours (the KB elides them).
pub fn incorrect_lpi(p: &Profile, lpi: (u16, u16, u16), cb: u16, at_ms: u64) -> Event {
    event(
        1209,
        EventType::Warning,
        12,
        "Internal Processing Error",
        pop4(p),
        vec![format!(
            "An internal message was received with an LPI that does not match its control block. \
             The incorrect LPI is {} - {} - {}. Control block index {cb}.",
            lpi.0, lpi.1, lpi.2
        )],
        at_ms,
    )
}

/// 9331 "A malformed buffer was received from the X.25 transport…" — ours (KB Q225157 says only
/// that SP3 stops passing the invalid data up; it quotes no event). Logged by the X.25 adapter of
/// 5.5 SP3 and later when it drops such a buffer and clears the circuit.
pub fn malformed_transport_buffer(
    p: &Profile,
    circuit: u16,
    declared: usize,
    actual: usize,
    at_ms: u64,
) -> Event {
    event(
        9331,
        EventType::Warning,
        12,
        "Interface",
        ComponentTag {
            name: "BASE X.25 DRVR",
            number: p.tag_tcpip_driver,
            proc_id: None,
        },
        vec![format!(
            "A malformed buffer was received from the X.25 transport and discarded. Circuit \
             {circuit}, declared length {declared}, data length {actual}. The connection will be \
             cleared."
        )],
        at_ms,
    )
}

/// 9301 "A connection was refused: the calling address matches no connector" — ours (KB Q197378
/// names the event, 9301, but does not quote its text).
pub fn unknown_caller(p: &Profile, address: &str, at_ms: u64) -> Event {
    event(
        9301,
        EventType::Warning,
        12,
        "Interface",
        il_tcp(p, None),
        vec![format!(
            "An incoming connection from {address} was refused: the address matches the stack \
             address of no connector."
        )],
        at_ms,
    )
}

/// 9302 "MTA bind refused: wrong password" — ours (no KB quotes it).
pub fn bind_refused_password(p: &Profile, mta_name: &str, at_ms: u64) -> Event {
    event(
        9302,
        EventType::Warning,
        12,
        "Security",
        il_tcp(p, None),
        vec![format!(
            "The MTA {mta_name} tried to bind with a wrong password. The association was refused."
        )],
        at_ms,
    )
}

fn mta_core(p: &Profile) -> ComponentTag {
    ComponentTag {
        name: "MTA CORE",
        number: p.tag_kernel,
        proc_id: None,
    }
}

/// 9151 "An association with MTA x was opened" — ours (no KB quotes association events).
pub fn association_opened(
    p: &Profile,
    peer_mta: &str,
    connector: &str,
    inbound: bool,
    at_ms: u64,
) -> Event {
    event(
        9151,
        EventType::Information,
        4,
        "X.400 Service",
        mta_core(p),
        vec![format!(
            "An {} association with MTA {peer_mta} was opened over connector {connector}.",
            if inbound { "inbound" } else { "outbound" }
        )],
        at_ms,
    )
}

/// 9152 "The association with MTA x was released" — ours.
pub fn association_released(p: &Profile, connector: &str, at_ms: u64) -> Event {
    event(
        9152,
        EventType::Information,
        4,
        "X.400 Service",
        mta_core(p),
        vec![format!(
            "An association over connector {connector} was released."
        )],
        at_ms,
    )
}

/// 9153 "An association could not be opened; retry n of m" — ours.
pub fn association_open_failed(
    p: &Profile,
    connector: &str,
    attempt: u32,
    retries: u32,
    at_ms: u64,
) -> Event {
    event(
        9153,
        EventType::Warning,
        8,
        "X.400 Service",
        mta_core(p),
        vec![format!(
            "An association over connector {connector} could not be opened or was lost. Retry \
             {attempt} of {retries} is scheduled."
        )],
        at_ms,
    )
}

/// 9154 "A non-delivery report was generated" — ours.
pub fn non_delivery_report(
    p: &Profile,
    message: &str,
    recipients: usize,
    reason: i64,
    diagnostic: i64,
    at_ms: u64,
) -> Event {
    event(
        9154,
        EventType::Information,
        6,
        "X.400 Service",
        mta_core(p),
        vec![format!(
            "A non-delivery report was generated for message {message}: {recipients} \
             recipient(s), reason {reason}, diagnostic {diagnostic}."
        )],
        at_ms,
    )
}

/// 9155 "An inbound MTS-APDU was discarded" — ours: the association confirmed the transfer, but
/// the P1 decoder rejected the APDU (the error says where).
pub fn apdu_discarded(p: &Profile, error: &str, at_ms: u64) -> Event {
    event(
        9155,
        EventType::Warning,
        10,
        "X.400 Service",
        mta_core(p),
        vec![format!("An inbound MTS-APDU was discarded: {error}.")],
        at_ms,
    )
}

#[cfg(test)]
mod tests {
    //! KB quotes, byte for byte. Where a KB wraps a line (Q182619 wraps "[BASE IL TCP/IP DRVR" and
    //! prints "ILTCP/IP"), the quote below joins the wrapped lines with one space; nothing else is
    //! changed.
    use super::*;
    use mta_build::{Build, EventEra};

    /// 1996-04-10 17:52:10, the time in Q151626's trace.
    const Q151626_TIME: i64 = 829_158_730;

    #[test]
    fn q151626_nmi_sequence_on_4_0() {
        let p = Build::Ex40.profile();
        assert_eq!(p.event_era, EventEra::Nt40);
        let d = |e: Event| e.description(p.event_era, Q151626_TIME);
        assert_eq!(
            d(receive_socket_closed(&p, 1, 0, 0)),
            "message NMI9236: Internal Operating System Error, severity 12\n\
             (BASE IL TCP/IP DRVR(22) Proc 262) 04-10-96 05:52:10pm\n\
             Receive socket closed on CB 1\n\
             Socket error 0"
        );
        assert_eq!(
            d(remote_transport_disconnect(&p, 1, 1, 0)),
            "message NMI1279: X.400 Service Event, severity 8\n\
             (PLATFORM KERNEL(6) Proc 94) 04-10-96 05:52:10pm\n\
             Session - Remote initiation of Transport Disconnection\n\
             Control block index 1, type 1"
        );
        assert_eq!(
            d(lost_connections_to_locality(&p, 4, 0)),
            "message NMI2036: Internal Processing Error, severity 10\n\
             (BASE TCP/IP DRVR(22) Proc 138) 04-10-96 05:52:10pm\n\
             Lost connections to locality 4"
        );
        assert_eq!(
            d(bad_message_type(&p, 769, 1, 2, 0)),
            "message NMI9225: Internal Processing Error, severity 14\n\
             (BASE IL TCP/IP DRVR(22) Proc 255) 04-10-96 05:52:10pm\n\
             Bad message type 769 for socket CB 1 in state 2"
        );
    }

    #[test]
    fn q182619_texts_on_5_0_and_5_5() {
        let p50 = Build::Ex50.profile();
        let p55 = Build::Ex55.profile();
        assert_eq!(
            sockets_connect_error(&p50, 10061, 6, 0).description(p50.event_era, 0),
            "A sockets error 10061 on a connect() call was detected. The MTA will attempt to \
             recover the sockets connection. Control block index: 6. [BASE IL TCP/IP DRVR 10 274] (12)"
        );
        let fatal50 = illegal_buffer_request(&p50, 30, 30, 0);
        assert!(fatal50.fatal);
        assert_eq!(
            fatal50.description(p50.event_era, 0),
            "A fatal MTA error has occurred. An illegal buffer request has been made. The request \
             was for 30 headers and 30 elements. [BASE TCP/IP DRVR 10] (16)"
        );
        assert_eq!(
            illegal_buffer_request(&p55, 29, 29, 0).description(p55.event_era, 0),
            "A fatal MTA error has occurred. An illegal buffer request has been made. The request \
             was for 29 headers and 29 elements. [BASE TCP/IP DRVR 8] (16)"
        );
    }

    #[test]
    fn q811406_4283_on_2000() {
        let p = Build::Ex2000Sp3.profile();
        let e = bad_lpi(&p, (1, 15, 12), 0);
        assert_eq!(
            e.description(p.event_era, 0),
            "(POP4 POP4 UP(7) Proc 228)\nBad LPIs in message\nBad LPI 1-15-12\nError code = 8464"
        );
        assert_eq!(
            e.record(p.event_era, 0),
            "Event ID: 4283\nSource: MSExchangeMTA\nType: Warning\n\
             (POP4 POP4 UP(7) Proc 228)\nBad LPIs in message\nBad LPI 1-15-12\nError code = 8464"
        );
    }

    #[test]
    fn q319936_4258_and_kb306959_1209_texts() {
        let p = Build::Ex2000Sp3.profile();
        let e = message_received_at_nsi(&p, 12, (1, 15, 12), "Close Request", 0);
        assert_eq!(
            e.lines,
            [
                "Message received at NSI: cb 12",
                "LPI 1-15-12",
                "Message type Close Request"
            ]
        );
        let e = incorrect_lpi(&p, (1, 15, 12), 12, 0);
        assert!(
            e.lines[0].ends_with("The incorrect LPI is 1 - 15 - 12. Control block index 12."),
            "{:?}",
            e.lines
        );
    }

    #[test]
    fn log_keeps_order_and_finds_the_fatal_event() {
        let p = Build::Ex55.profile();
        let mut log = crate::EventLog::new("mta-a", p.event_era, 0);
        log.log(sockets_connect_error(&p, 10061, 6, 10));
        log.log(illegal_buffer_request(&p, 29, 29, 20));
        assert_eq!(log.count(9215), 1);
        assert_eq!(log.first_fatal().map(|e| e.id), Some(9404));
        assert_eq!(log.render().len(), 2);
    }
}
