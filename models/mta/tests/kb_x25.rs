//! KB Q225157: under heavy X.25 traffic the third-party transport hands up a malformed buffer;
//! 5.5 – 5.5 SP2 pass it up and the session connect handling faults (the finding records the span
//! stack), 5.5 SP3+ drop it at the adapter. Negative control: the same calls without pressure.
#![allow(missing_docs)]

use mta_build::{Build, Profile};
use mta_eventlog::EventLog;
use mta_mta::x25::{AcceptEveryBind, CallState, Dte, Gateway, connect_tsdu};
use mta_osi::association::{Address, Config};
use mta_osi::presentation::Mode;

/// Both ends' association configuration (an Exchange MTA of the build).
fn stack(p: &Profile) -> Config {
    Config::for_profile(p, Mode::Normal, Address::default(), Address::default())
}

struct Outcome {
    faults: Vec<mta_mta::fault::Fault>,
    dropped: u64,
    connects: u64,
    malformed: u64,
    log: EventLog,
}

/// `circuits` calls whose CN packets all arrive before the transport is serviced (`burst`), or one
/// call at a time (`!burst`), through the build's X.25 interface.
fn run(build: Build, circuits: u16, burst: bool) -> Outcome {
    let p = Profile::of(build);
    let mut gw = Gateway::new(&p, "mta", stack(&p));
    let mut dtes: Vec<Dte> = (1..=circuits)
        .map(|lcn| {
            gw.accept_call(lcn, "31340001");
            let mut d = Dte::connected(
                lcn,
                usize::from(p.x25_packet_size),
                usize::from(p.x25_window),
                0,
                0,
            );
            // A CONNECT of about 450 octets (AARQ and a bind of 300): four packets of 128.
            d.send_tsdu(&connect_tsdu(stack(&p), 300));
            d
        })
        .collect();
    // Each circuit sends at most a window of packets, then waits for the transport's service
    // (which acknowledges what it counted); every round it sends again from its first
    // unacknowledged packet (go-back-N). `burst`: all circuits at once (heavy traffic);
    // otherwise one circuit after the other.
    let groups: Vec<Vec<usize>> = if burst {
        vec![(0..dtes.len()).collect()]
    } else {
        (0..dtes.len()).map(|i| vec![i]).collect()
    };
    let mut round = 0;
    for group in groups {
        let sending = |d: &Dte| !d.all_acknowledged() && d.state() != CallState::Cleared;
        while group.iter().any(|&i| sending(&dtes[i])) {
            round += 1;
            for &i in &group {
                for pk in dtes[i].poll_transmit(round) {
                    gw.arrive(dtes[i].lcn(), pk);
                }
            }
            for pk in gw.tick(0, &mut AcceptEveryBind::default()) {
                dtes[usize::from(pk.lcn()) - 1].receive(pk, round);
            }
        }
    }
    Outcome {
        faults: gw.faults.iter().map(|(_, f)| f.clone()).collect(),
        dropped: gw.dropped,
        connects: gw.accepted,
        malformed: gw.transport.counters.malformed_buffers,
        log: gw.log,
    }
}

#[test]
fn q225157_heavy_traffic_faults_session_connect_handling_on_55_to_sp2() {
    for build in [
        Build::Ex55,
        Build::Ex55Sp1,
        Build::Ex55Sp2,
        Build::Ex55Sp3,
        Build::Ex2000Sp3,
        Build::Ex2000Sp3Rollup,
    ] {
        let p = Profile::of(build);
        let o = run(build, 10, true);
        assert!(
            o.malformed > 0,
            "{build}: trigger (malformed buffers handed up)"
        );
        if p.x25_adapter_validates_buffers {
            assert!(o.faults.is_empty(), "{build}: {:?}", o.faults);
            assert_eq!(o.dropped, o.malformed, "{build}");
            assert_eq!(o.log.count(9331) as u64, o.malformed);
            assert!(o.connects > 0, "{build}: intact calls still connect");
        } else {
            assert_eq!(
                o.faults.len() as u64,
                o.malformed,
                "{build}: every malformed CN faults"
            );
            let f = &o.faults[0];
            assert_eq!(
                f.spans,
                vec!["oppsin", "oppsitps", "oppssprc", "oppsstdt", "oppsscnc"],
                "{build}: the KB's call stack"
            );
            assert!(f.message.contains("out of range"), "{}", f.message);
        }
    }
}

#[test]
fn q225157_negative_control_no_pressure() {
    for build in [Build::Ex55, Build::Ex55Sp1, Build::Ex55Sp2] {
        let o = run(build, 10, false);
        assert_eq!(o.malformed, 0);
        assert!(o.faults.is_empty());
        assert_eq!(o.connects, 10, "{build}");
    }
}
