//! KB Q225157: under heavy X.25 traffic the third-party transport hands up a malformed buffer;
//! 5.5 – 5.5 SP2 pass it up and the session connect handling faults (the finding records the span
//! stack), 5.5 SP3+ drop it at the adapter. Negative control: the same calls without pressure.
#![allow(missing_docs)]

use mta_build::{Build, Profile};
use mta_eventlog::EventLog;
use mta_mta::fault::{SpanStack, catch_fault};
use mta_mta::x25::{AdapterOutcome, Packet, WinsockX25, X25Adapter};
use mta_osi::session::{self, Session};
use tracing_subscriber::layer::SubscriberExt;

/// The CN TSDU a calling MTA sends (connect data ~330 octets: three packets of 128).
fn cn_tsdu(i: u8) -> Vec<u8> {
    let mut s = Session::new(session::Config::new(b"CALLER"));
    s.connect(b"", &vec![i; 300]);
    s.poll_tsdu().unwrap()
}

struct Outcome {
    faults: Vec<mta_mta::fault::Fault>,
    dropped: usize,
    connects: usize,
    malformed: u64,
    log: EventLog,
}

/// `circuits` calls whose CN packets all arrive before the transport is serviced (`burst`), or one
/// call at a time (`!burst`).
fn run(build: Build, circuits: u16, burst: bool) -> Outcome {
    let p = Profile::of(build);
    let mut t = WinsockX25::new(&p);
    let mut a = X25Adapter::new(&p);
    let mut log = EventLog::new("mta", p.event_era, 0);
    let mut out = Outcome {
        faults: Vec::new(),
        dropped: 0,
        connects: 0,
        malformed: 0,
        log: EventLog::new("x", p.event_era, 0),
    };
    let calls: Vec<Vec<Packet>> = (0..circuits)
        .map(|lcn| {
            Packet::segment(
                lcn + 1,
                &cn_tsdu(lcn as u8),
                usize::from(p.x25_packet_size),
                0,
            )
        })
        .collect();
    for lcn in 1..=circuits {
        a.call(lcn);
    }
    let deliver =
        |t: &mut WinsockX25, a: &mut X25Adapter, log: &mut EventLog, out: &mut Outcome| {
            let (bufs, _) = t.service();
            for b in bufs {
                let subscriber = tracing_subscriber::registry().with(SpanStack);
                let r = tracing::subscriber::with_default(subscriber, || {
                    catch_fault(|| a.deliver(log, 0, &b))
                });
                match r {
                    Err(f) => out.faults.push(f),
                    Ok(AdapterOutcome::Dropped { .. }) => out.dropped += 1,
                    Ok(AdapterOutcome::Delivered(ind)) => {
                        out.connects += ind
                            .iter()
                            .filter(|i| matches!(i, session::Indication::Connect { .. }))
                            .count();
                    }
                }
            }
        };
    // Each circuit sends at most a window of packets, then waits for the transport's service
    // (which acknowledges what it counted). `burst`: all circuits at once (heavy traffic);
    // otherwise one circuit after the other.
    let window = usize::from(p.x25_window);
    let groups: Vec<Vec<usize>> = if burst {
        vec![(0..calls.len()).collect()]
    } else {
        (0..calls.len()).map(|i| vec![i]).collect()
    };
    for group in groups {
        // Go-back-N: every round each circuit sends a window from its first unacknowledged packet.
        while group
            .iter()
            .any(|&i| t.accepted(i as u16 + 1) < calls[i].len())
        {
            for &i in &group {
                let base = t.accepted(i as u16 + 1);
                for pk in calls[i].iter().skip(base).take(window) {
                    t.arrive(pk.clone());
                }
            }
            deliver(&mut t, &mut a, &mut log, &mut out);
        }
    }
    out.malformed = t.counters.malformed_buffers;
    out.log = log;
    out
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
            assert_eq!(o.dropped as u64, o.malformed, "{build}");
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
