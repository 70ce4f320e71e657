//! KB Q182619, Q151626 and Q811406 reproduced from realistic event sequences through the TCP
//! driver and POP4, on the builds the KBs name, absent on the others; each with its trigger counter
//! and a negative control (faulty build, trigger absent, no signature).
#![allow(missing_docs)]

use mta_bufmgr::{BufferManager, Component, ControlBlockId};
use mta_build::{Build, Profile};
use mta_eventlog::EventLog;
use mta_lpi::{Lpi, MessageType};
use mta_mta::driver::{Remote, SocketAction, TcpDriver, winsock};
use mta_mta::pop4::Pop4;
use mta_osi::association::{AbortReason, Address, Association, Config, Event, Role};
use mta_osi::presentation::Mode;
use mta_osi::tpkt::{ReservedPolicy, SendFlags, Writer};

fn log_for(p: &Profile) -> EventLog {
    EventLog::new("mta", p.event_era, 829_000_000)
}

fn remote(host: &str, locality: u32) -> Remote {
    Remote {
        host: host.into(),
        port: 102,
        locality,
        source: None,
    }
}

fn tpkt(tpdu: &[u8]) -> Vec<u8> {
    let mut v = Vec::new();
    Writer::conforming().write(&mut v, tpdu, SendFlags::NONE);
    v
}

const CR: [u8; 7] = [0x06, 0xe0, 0x00, 0x00, 0x00, 0x07, 0x00];
const CC: [u8; 7] = [0x06, 0xd0, 0x00, 0x07, 0x00, 0x09, 0x00];

fn dt(i: u8) -> Vec<u8> {
    let mut v = vec![0x02, 0xf0, 0x80];
    v.extend(std::iter::repeat_n(i, 1000));
    v
}

/// POP4's Data message for `lpi`, handed to NSI as the link would.
fn data_request(d: &mut TcpDriver, bm: &mut BufferManager, log: &mut EventLog, lpi: Lpi, b: &[u8]) {
    let h =
        mta_lpi::encode_into_buffer(bm, Component::Pop4, MessageType::DataRequest, lpi, false, b)
            .unwrap();
    d.from_pop4(bm, log, 0, h);
}

fn cb_of(actions: &[SocketAction]) -> ControlBlockId {
    actions
        .iter()
        .find_map(|a| match a {
            SocketAction::Connect { cb, .. } => Some(*cb),
            _ => None,
        })
        .expect("a Connect action")
}

/// An outbound connection that carries traffic, is reset, keeps taking `queued` TPDUs while it
/// recovers, then has its reconnect refused. Returns (log, driver, buffer manager).
fn q182619_sequence(build: Build, queued: usize) -> (EventLog, TcpDriver, BufferManager) {
    let p = Profile::of(build);
    let mut bm = BufferManager::for_profile(&p);
    let mut log = log_for(&p);
    let mut d = TcpDriver::new(&p);
    let lpi = d.connect(remote("beta", 4)).unwrap();
    let cb = cb_of(&d.take_actions());
    data_request(&mut d, &mut bm, &mut log, lpi, &tpkt(&CR));
    d.connected(&mut bm, cb);
    d.received(&mut bm, cb, &tpkt(&CC));
    for i in 0..5 {
        data_request(&mut d, &mut bm, &mut log, lpi, &tpkt(&dt(i)));
    }
    d.remote_closed(&mut bm, &mut log, 1_000, cb, winsock::CONNRESET);
    for i in 0..queued {
        data_request(&mut d, &mut bm, &mut log, lpi, &tpkt(&dt(i as u8)));
    }
    let cap = p.tcp_pending_tpdu_queue as usize;
    assert_eq!(d.queued(lpi), queued.min(cap));
    assert_eq!(d.counters.busy as usize, queued.saturating_sub(cap));
    d.tick(1_000 + p.tcp_recovery_interval_ms);
    assert!(matches!(
        d.take_actions().as_slice(),
        [.., SocketAction::Connect { .. }]
    ));
    d.connect_failed(&mut bm, &mut log, 31_000, cb, winsock::CONNREFUSED);
    (log, d, bm)
}

#[test]
fn q182619_full_pending_queue_and_refused_reconnect_is_fatal_on_40_to_55_sp1() {
    for build in Build::ALL {
        let p = Profile::of(build);
        let (log, d, _) = q182619_sequence(build, 100);
        assert_eq!(
            d.counters.refused_reconnect_with_full_queue, 1,
            "{build}: trigger"
        );
        let era = p.event_era;
        let texts: Vec<String> = log.events().iter().map(|e| e.description(era, 0)).collect();
        assert!(
            texts
                .iter()
                .any(|t| t.contains("A sockets error 10061 on a connect() call")),
            "{build}: {texts:?}"
        );
        let faulty = !p.tcp_recovery_splits_buffer_request;
        assert_eq!(d.fatal().is_some(), faulty, "{build}");
        if faulty {
            let n = p.tcp_pending_tpdu_queue + 1;
            let fatal = d.fatal().unwrap();
            assert_eq!(fatal.id, 9404);
            assert!(fatal.fatal);
            let text = fatal.description(era, 0);
            assert!(
                text.contains(&format!(
                    "The request was for {n} headers and {n} elements."
                )),
                "{build}: {text}"
            );
            let want = match build {
                Build::Ex40 | Build::Ex50 => 30,
                _ => 29,
            };
            assert_eq!(
                n, want,
                "{build}: the KB's numbers follow from build constants"
            );
        }
    }
    // The KB's exact 5.0 and 5.5 texts.
    let (log, _, _) = q182619_sequence(Build::Ex50, 100);
    let t = log
        .first_fatal()
        .unwrap()
        .description(Profile::of(Build::Ex50).event_era, 0);
    assert!(
        t.contains(
            "A fatal MTA error has occurred. An illegal buffer request has been made. The request \
             was for 30 headers and 30 elements. [BASE TCP/IP DRVR 10] (16)"
        ),
        "{t}"
    );
    let (log, _, _) = q182619_sequence(Build::Ex55, 100);
    let t = log
        .first_fatal()
        .unwrap()
        .description(Profile::of(Build::Ex55).event_era, 0);
    assert!(
        t.contains("29 headers and 29 elements. [BASE TCP/IP DRVR 8] (16)"),
        "{t}"
    );
}

#[test]
fn q182619_negative_control_queue_not_full() {
    for build in [Build::Ex40, Build::Ex50, Build::Ex55, Build::Ex55Sp1] {
        let (log, d, _) = q182619_sequence(build, 10);
        assert_eq!(d.counters.refused_reconnect_with_full_queue, 0);
        assert_eq!(d.counters.refused_reconnects, 1);
        assert!(d.fatal().is_none(), "{build}");
        assert_eq!(log.count(9404), 0);
        assert_eq!(log.count(9215), 1);
    }
}

#[test]
fn q182619_fixed_build_gives_up_cleanly_and_frees_every_buffer() {
    let build = Build::Ex55Sp2;
    let p = Profile::of(build);
    let (mut log, mut d, mut bm) = q182619_sequence(build, 100);
    let lpi = Lpi::new(1, 1, 1);
    let cb = ControlBlockId {
        index: 1,
        generation: 1,
    };
    let mut now = 31_000;
    for _ in 1..mta_mta::driver::MAX_RECOVERY_ATTEMPTS {
        now += p.tcp_recovery_interval_ms;
        d.tick(now);
        d.connect_failed(&mut bm, &mut log, now, cb, winsock::CONNREFUSED);
    }
    assert_eq!(d.queued(lpi), 0);
    while let Some(h) = d.pop_for_pop4() {
        bm.release(h).unwrap();
    }
    d.release(&mut bm, lpi);
    assert!(bm.leak_report().is_none(), "{:?}", bm.leak_report());
    assert_eq!(
        log.count(9215),
        mta_mta::driver::MAX_RECOVERY_ATTEMPTS as usize
    );
}

/// A 4.0-style MTA (driver + POP4) accepting a foreign MTA's connection.
struct Mta {
    p: Profile,
    bm: BufferManager,
    log: EventLog,
    driver: TcpDriver,
    pop4: Pop4,
}

impl Mta {
    fn new(build: Build) -> Self {
        let p = Profile::of(build);
        let responder = Config::exchange(build, Mode::X410, Address::default(), Address::default());
        Mta {
            bm: BufferManager::for_profile(&p),
            log: log_for(&p),
            driver: TcpDriver::new(&p),
            pop4: Pop4::new(&p, responder),
            p,
        }
    }
    fn run_pop4(&mut self, now: u64) -> Vec<(Lpi, Event)> {
        let (bm, log) = (&mut self.bm, &mut self.log);
        mta_mta::link::carry(bm, log, now, &mut self.driver, &mut self.pop4);
        let events = self.pop4.tick(bm, log, now);
        mta_mta::link::carry(bm, log, now, &mut self.driver, &mut self.pop4);
        events
    }
    fn sent(&mut self) -> Vec<u8> {
        self.driver
            .take_actions()
            .into_iter()
            .filter_map(|a| match a {
                SocketAction::Send { bytes, .. } => Some(bytes),
                _ => None,
            })
            .flatten()
            .collect()
    }
}

#[test]
fn q151626_strict_foreign_mta_refuses_40s_cc_and_40_logs_the_nmi_sequence() {
    for build in Build::ALL {
        let mut m = Mta::new(build);
        let mut foreign = Association::new(
            Role::Initiator,
            Config::foreign(
                ReservedPolicy::Reject,
                Mode::X410,
                Address::default(),
                Address::default(),
            ),
        );
        let cb = m.driver.accepted(1, remote("swisslife", 4)).unwrap();
        assert_eq!(cb.index, 1, "the first connection is CB 1");
        foreign.bind(&[]);
        m.driver.received(&mut m.bm, cb, &foreign.transmit());
        m.run_pop4(0);
        let cc = m.sent();
        assert_eq!(cc[5], 0xd0, "a CC went out");
        let ex40 = build == Build::Ex40;
        assert_eq!(
            cc[1],
            if ex40 { 0x11 } else { 0 },
            "{build}: reserved octet"
        );
        foreign.receive(&cc);
        let refused = foreign.wants_close();
        assert_eq!(
            refused, ex40,
            "{build}: the strict MTA refuses only 4.0's CC"
        );
        if refused {
            assert!(matches!(
                foreign.poll_event(),
                Some(Event::Aborted(AbortReason::ProtocolError(_)))
            ));
            m.driver.remote_closed(&mut m.bm, &mut m.log, 0, cb, 0);
            let lines: Vec<(u32, Vec<String>)> = m
                .log
                .events()
                .iter()
                .map(|e| (e.id, e.lines.clone()))
                .collect();
            let kb = vec![
                (
                    9236,
                    vec![
                        "Receive socket closed on CB 1".to_string(),
                        "Socket error 0".into(),
                    ],
                ),
                (
                    1279,
                    vec![
                        "Session - Remote initiation of Transport Disconnection".into(),
                        "Control block index 1, type 1".into(),
                    ],
                ),
                (2036, vec!["Lost connections to locality 4".into()]),
                (
                    9225,
                    vec!["Bad message type 769 for socket CB 1 in state 2".into()],
                ),
            ];
            assert_eq!(lines, kb);
            let first = m.log.events()[0].description(m.p.event_era, 0);
            assert!(
                first.starts_with("message NMI9236: Internal Operating System Error, severity 12"),
                "{first}"
            );
            // POP4 then closes its association and the block is freed.
            m.run_pop4(200);
            assert_eq!(m.driver.live_blocks(), 0);
        } else {
            assert!(
                m.log.events().is_empty(),
                "{build}: negative control: no events"
            );
            m.driver.received(&mut m.bm, cb, &foreign.transmit());
            let ev = m.run_pop4(200);
            assert!(
                matches!(ev.as_slice(), [(_, Event::BindRequest { .. })]),
                "{build}: {ev:?}"
            );
        }
    }
}

/// Rounds of callers that connect and send a CR at once; POP4 serves 8 per 100 ms; callers hang up
/// at `timeout_ms`. Returns the MTA and how many connections it refused.
fn q811406_rounds(build: Build, rounds: u64, timeout_ms: u64) -> (Mta, u64) {
    let mut m = Mta::new(build);
    // As many callers per round as the build has inbound blocks.
    let callers = u64::from(m.p.tcp_control_blocks_inbound);
    let mut conn = 0;
    let mut cbs = Vec::new();
    // POP4 runs every 10 ms of simulated time (it gates itself to its 100 ms tick); callers arrive
    // 30 ms into each second, between two POP4 ticks, and hang up `timeout_ms` later.
    for now in (0..rounds * 1000).step_by(10) {
        if now % 1000 == 30 {
            for _ in 0..callers {
                conn += 1;
                if let Some(cb) = m.driver.accepted(conn, remote("caller", 5)) {
                    let mut caller = Association::new(
                        Role::Initiator,
                        Config::new(Mode::X410, Address::default(), Address::default()),
                    );
                    caller.bind(&[]);
                    m.driver.received(&mut m.bm, cb, &caller.transmit());
                    cbs.push(cb);
                }
            }
        }
        if now % 1000 == 30 + timeout_ms {
            // Every caller gives up at its connect timeout (the served ones too: this test has
            // no real peers behind them).
            for cb in cbs.drain(..) {
                m.driver.remote_closed(&mut m.bm, &mut m.log, now, cb, 0);
            }
        }
        m.run_pop4(now);
        let _ = m.driver.take_actions();
    }
    let refused = m.driver.counters.refused_inbound;
    (m, refused)
}

#[test]
fn q811406_late_connect_indication_leaks_the_block_on_2000_sp3_only() {
    for build in Build::ALL {
        let p = Profile::of(build);
        let (m, refused) = q811406_rounds(build, 4, 50);
        let c = m.driver.counters;
        assert!(c.late_accepts > 0, "{build}: the crossing");
        assert!(c.bad_lpi_close_requests > 0, "{build}: trigger");
        // NSI logs 4258 for each Close Request it rejects; POP4 logs 4283 on NSI's answer.
        assert_eq!(m.log.count(4258) as u64, c.bad_lpi_close_requests);
        assert!(m.log.count(4283) as u64 <= c.bad_lpi_close_requests);
        assert!(m.log.count(4283) > 0, "{build}");
        let w = m.log.events().iter().find(|e| e.id == 4283).unwrap();
        let text = w.description(p.event_era, 0);
        assert!(
            text.contains("Bad LPIs in message") && text.contains("Error code = 8464"),
            "{text}"
        );
        let leaks = !p.nsi_bad_lpi_releases_control_block;
        if leaks {
            assert!(text.contains("(POP4 POP4 UP(7) Proc 228)"), "{text}");
            assert_eq!(
                m.driver.table().in_use(mta_bufmgr::Direction::Inbound),
                p.tcp_control_blocks_inbound
            );
            assert!(refused > 0, "{build}: the MTA stopped accepting");
        } else {
            assert_eq!(m.driver.live_blocks(), 0, "{build}");
            assert_eq!(refused, 0, "{build}");
        }
    }
}

#[test]
fn q811406_negative_control_patient_callers() {
    // 2000 SP3, same load, callers that wait 1 s: every indication is answered in time.
    let (m, refused) = q811406_rounds(Build::Ex2000Sp3, 4, 400);
    assert_eq!(m.driver.counters.late_accepts, 0);
    assert_eq!(m.driver.counters.bad_lpi_close_requests, 0);
    assert_eq!(m.log.count(4283), 0);
    assert_eq!(refused, 0);
    assert_eq!(m.driver.live_blocks(), 0);
}
