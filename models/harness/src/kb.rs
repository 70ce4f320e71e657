//! The KBs' signatures in a harness failure: what a failing input must show, beyond "an oracle
//! fired", to count as reproducing a KB — read from the failure the harness wrote (its message,
//! the fault's span stack, the event ids it logged), never pasted. Used by the KB reproducer tests,
//! `mta-lab kb`'s harness-engine cells and the nightly's triage.

use mta_mta::driver::ACCEPTED_TOO_LATE;

/// Q182619: the fatal 9404 "illegal buffer request" of the TCP driver's recovery, with the request
/// it names (e.g. "29 headers and 29 elements").
pub fn q182619(failure: &str) -> Option<String> {
    failure.contains("fatal event 9404").then(|| {
        failure
            .split("The request was for ")
            .nth(1)
            .and_then(|t| t.split('.').next())
            .unwrap_or("illegal buffer request")
            .to_string()
    })
}

/// Q225157: a fault in the session input path with the KB's call stack.
pub fn q225157(failure: &str) -> Option<String> {
    const STACK: &str = "oppsin -> oppsitps -> oppssprc -> oppsstdt -> oppsscnc";
    (failure.contains("fault in the session input path") && failure.contains(STACK))
        .then(|| STACK.to_string())
}

/// Q811406: control blocks left allocated, some of them closing with an Accept OK that reached NSI
/// after their caller had left (the crossing), and the log shows NSI's 4258 and POP4's 4283.
pub fn q811406(failure: &str) -> Option<String> {
    let logged = logged_ids(failure);
    (failure.contains("control blocks")
        && accepted_too_late(failure) > 0
        && logged.contains(&4258)
        && logged.contains(&4283))
    .then(|| {
        let blocks = failure.split(';').next().unwrap_or(failure).trim();
        format!("{blocks} after 4258 + 4283")
    })
}

/// How many blocks a leak line says were closing with an Accept OK that came after their caller
/// left — the number just before [`ACCEPTED_TOO_LATE`] (a harness's "(3 closing with …" or the
/// simulator's "; 3 with …"); 0 when the line does not say.
pub fn accepted_too_late(line: &str) -> u64 {
    line.split_once(ACCEPTED_TOO_LATE)
        .and_then(|(head, _)| {
            let head = head.trim_end().trim_end_matches("closing");
            head.split([' ', '('])
                .rev()
                .find(|w| !w.is_empty())?
                .parse()
                .ok()
        })
        .unwrap_or(0)
}

/// The KB signature of `kb` (e.g. "Q811406") in `failure`, for the KBs a harness reproduces.
pub fn signature(kb: &str, failure: &str) -> Option<String> {
    match kb {
        "Q182619" => q182619(failure),
        "Q225157" => q225157(failure),
        "Q811406" => q811406(failure),
        _ => None,
    }
}

/// The warnings and errors a harness names after its failure ("…; logged 4258, 4283").
fn logged_ids(failure: &str) -> Vec<u32> {
    failure
        .split("; logged ")
        .nth(1)
        .map(|ids| {
            ids.split(", ")
                .filter_map(|i| i.trim().parse().ok())
                .collect()
        })
        .unwrap_or_default()
}

/// What a failure appends as its evidence: "; logged " and the distinct ids of the warnings and
/// errors `log` holds, in the order first logged (nothing when there are none).
pub fn logged(log: &mta_eventlog::EventLog) -> String {
    let mut ids: Vec<u32> = Vec::new();
    for e in log.events() {
        if e.event_type != mta_eventlog::EventType::Information && !ids.contains(&e.id) {
            ids.push(e.id);
        }
    }
    if ids.is_empty() {
        return String::new();
    }
    let ids: Vec<String> = ids.iter().map(u32::to_string).collect();
    format!("; logged {}", ids.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_signature_needs_its_mechanism() {
        let q182619_failure = "[driver_events] fatal event 9404: A fatal MTA error has occurred. \
            An illegal buffer request has been made. The request was for 29 headers and 29 elements.";
        assert_eq!(
            q182619(q182619_failure).as_deref(),
            Some("29 headers and 29 elements")
        );
        assert!(q182619("buffers outstanding at quiescence").is_none());
        assert!(q225157("fault in the session input path: x (stack )").is_none());
        assert!(q225157(
            "fault in the session input path: y (stack oppsin -> oppsitps -> oppssprc -> oppsstdt -> oppsscnc)"
        )
        .is_some());
        // The blocks alone, or the events alone, are not Q811406.
        assert!(q811406("1 control blocks leaked after every caller left").is_none());
        assert!(q811406("1 control blocks leaked after every caller left; logged 4258").is_none());
        assert!(q811406("the listener no longer accepts; logged 4258, 4283").is_none());
        let leak = |late: u32, logged: &str| {
            format!(
                "1 control blocks leaked after every caller left ({late} closing {ACCEPTED_TOO_LATE}); logged {logged}"
            )
        };
        assert_eq!(
            q811406(&leak(1, "9225, 4258, 4283")).as_deref(),
            Some(
                "1 control blocks leaked after every caller left (1 closing with an Accept OK \
                 that came after the caller left) after 4258 + 4283"
            )
        );
        // Without the crossing (no block whose accept came too late) it is some other leak.
        assert!(q811406(&leak(0, "9225, 4258, 4283")).is_none());
        // The simulator's line shape reads the same way.
        let sim = format!(
            "VICTIM: 12 control blocks still allocated (in Closing); 12 {ACCEPTED_TOO_LATE}"
        );
        assert_eq!(accepted_too_late(&sim), 12);
        assert_eq!(accepted_too_late(&leak(3, "4258")), 3);
        assert_eq!(
            accepted_too_late("BETA: 1 control blocks still allocated (in AwaitCr)"),
            0
        );
    }
}
