//! POP4 has no access to NSI's state, by construction (issue 19, item 2): `pop4.rs` names neither
//! the TCP driver nor the control-block table nor anything that resolves an LPI against it, so the
//! only way POP4 learns about a connection is an internal message NSI encoded, and the only way it
//! acts on one is a message it encodes. `link.rs` is the one module that carries them.
#![allow(missing_docs)]

use mta_bufmgr::BufferManager;
use mta_build::Build;
use mta_eventlog::EventLog;
use mta_mta::driver::{Remote, SocketAction, TcpDriver};
use mta_osi::association::{Address, Association, Config, Role};
use mta_osi::presentation::Mode;
use std::path::Path;

/// A caller's address as the adapter reports it.
fn remote() -> Remote {
    Remote {
        host: "caller".into(),
        port: 102,
        locality: 5,
        source: None,
    }
}

/// The octets an X.400 caller opens with: its CR in a TPKT.
fn caller_cr() -> Vec<u8> {
    let mut caller = Association::new(
        Role::Initiator,
        Config::new(Mode::X410, Address::default(), Address::default()),
    );
    caller.bind(&[]);
    caller.transmit()
}

fn source(file: &str) -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("src").join(file)).unwrap()
}

/// Code lines (comments and doc comments dropped: they may describe the driver).
fn code(text: &str) -> String {
    text.lines()
        .map(|l| l.split("//").next().unwrap_or(""))
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn pop4_names_nothing_of_nsis_state() {
    let pop4 = code(&source("pop4.rs"));
    for forbidden in [
        "driver",
        "TcpDriver",
        "CbState",
        "ControlBlock",
        "decode_buffer",
        "mta_lpi::decode",
        "link::",
        "super::",
        "crate::",
    ] {
        assert!(
            !pop4.contains(forbidden),
            "pop4.rs names `{forbidden}`: POP4 must reach NSI only through internal messages"
        );
    }
    // What it does use of the internal-message layer: the header parser and the encoder.
    assert!(pop4.contains("MessageRepr::parse_header"));
    assert!(pop4.contains("encode_into_buffer"));
}

#[test]
fn only_the_link_hands_messages_between_the_two() {
    let link = code(&source("link.rs"));
    assert!(link.contains("from_pop4") && link.contains("deliver"));
    for file in ["driver.rs", "pop4.rs"] {
        let text = code(&source(file));
        assert!(
            !text.contains("link::carry"),
            "{file} calls the link itself"
        );
    }
    // The driver never calls POP4.
    assert!(!code(&source("driver.rs")).contains("Pop4"));
}

#[test]
fn a_crossing_leaks_on_2000_sp3_only_and_an_idle_answered_caller_never_does() {
    use mta_mta::link::carry;
    use mta_mta::pop4::Pop4;

    for build in Build::ALL {
        let p = build.profile();
        for hang_up_before_pop4_runs in [true, false] {
            let mut bm = BufferManager::for_profile(&p);
            let mut log = EventLog::new("mta", p.event_era, 0);
            let mut d = TcpDriver::new(&p);
            let mut pop4 = Pop4::new(
                &p,
                Config::exchange(build, Mode::X410, Address::default(), Address::default()),
            );
            let cb = d.accepted(1, remote()).unwrap();
            d.received(&mut bm, cb, &caller_cr());
            let mut now = 0;
            if hang_up_before_pop4_runs {
                d.remote_closed(&mut bm, &mut log, now, cb, 0);
            }
            for _ in 0..5 {
                carry(&mut bm, &mut log, now, &mut d, &mut pop4);
                let _ = pop4.tick(&mut bm, &mut log, now);
                carry(&mut bm, &mut log, now, &mut d, &mut pop4);
                now += p.pop4_tick_ms;
            }
            if !hang_up_before_pop4_runs {
                // POP4 answered while the caller was there: the LPI is POP4's.
                assert_eq!(d.counters.late_accepts, 0, "{build}");
                d.remote_closed(&mut bm, &mut log, now, cb, 0);
                for _ in 0..3 {
                    carry(&mut bm, &mut log, now, &mut d, &mut pop4);
                    let _ = pop4.tick(&mut bm, &mut log, now);
                    carry(&mut bm, &mut log, now, &mut d, &mut pop4);
                    now += p.pop4_tick_ms;
                }
                assert_eq!(d.live_blocks(), 0, "{build}: answered caller");
                assert_eq!(log.count(4283), 0, "{build}");
                continue;
            }
            assert_eq!(d.counters.late_accepts, 1, "{build}");
            assert_eq!(d.counters.bad_lpi_close_requests, 1, "{build}");
            assert_eq!((log.count(4258), log.count(4283)), (1, 1), "{build}");
            let leaked = !p.nsi_bad_lpi_releases_control_block;
            assert_eq!(d.live_blocks(), usize::from(leaked), "{build}");
            assert_eq!(d.blocks_accepted_too_late(), usize::from(leaked), "{build}");
        }
    }
}

#[test]
fn a_caller_that_closes_before_its_cr_is_freed_by_nsi_alone() {
    let p = Build::Ex2000Sp3.profile();
    let mut bm = BufferManager::for_profile(&p);
    let mut log = EventLog::new("mta", p.event_era, 0);
    let mut d = TcpDriver::new(&p);
    let cb = d.accepted(1, remote()).unwrap();
    d.remote_closed(&mut bm, &mut log, 0, cb, 0);
    assert_eq!(d.live_blocks(), 0);
    assert_eq!(d.pending_for_pop4(), 0, "POP4 never hears of it");
    assert_eq!(d.counters.freed_before_indication, 1);
    assert_eq!(log.count(4283), 0);
}

#[test]
fn tpkt_is_read_once_nsi_hands_pop4_the_tpdu() {
    use mta_lpi::{MessageRepr, MessageType};

    let p = Build::Ex2000Sp3Rollup.profile();
    let mut bm = BufferManager::for_profile(&p);
    let mut d = TcpDriver::new(&p);
    let cb = d.accepted(1, remote()).unwrap();
    let octets = caller_cr();
    // Delivered a byte at a time: NSI's reassembler frames it, once.
    for b in &octets {
        d.received(&mut bm, cb, std::slice::from_ref(b));
    }
    let h = d.pop_for_pop4().expect("a Connect Indication");
    let bytes = bm.to_vec(h).unwrap();
    bm.release(h).unwrap();
    let r = MessageRepr::parse_header(&bytes, bytes.len()).unwrap();
    assert_eq!(r.message_type, MessageType::ConnectIndication);
    let data = &bytes[mta_lpi::HEADER_LEN..];
    assert_eq!(data, &octets[4..], "the CR TPDU without its TPKT header");
    assert_eq!(data[1], mta_osi::cotp::code::CR);
    // An association fed that TPDU answers exactly as one fed the TCP octets.
    let responder = || {
        Config::exchange(
            Build::Ex2000Sp3Rollup,
            Mode::X410,
            Address::default(),
            Address::default(),
        )
    };
    let mut by_tpdu = Association::new(Role::Responder, responder());
    by_tpdu.receive_tpdu(data);
    let mut by_octets = Association::new(Role::Responder, responder());
    by_octets.receive(&octets);
    let cc = by_tpdu.transmit();
    assert_eq!(cc, by_octets.transmit());
    assert_eq!(cc[5], mta_osi::cotp::code::CC);
}

#[test]
fn nsi_applies_the_reserved_octet_policy_and_drops_a_connection_whose_framing_is_lost() {
    use mta_osi::tpkt::ReservedPolicy;

    let p = Build::Ex2000Sp3Rollup.profile();
    // A CR whose TPKT carries reserved octet 0x11 (KB Q151626's frame, the other way round).
    let cr = [3u8, 0x11, 0, 11, 6, 0xe0, 0, 0, 0, 7, 0];
    for (policy, kept) in [
        (ReservedPolicy::Ignore, true),
        (ReservedPolicy::Reject, false),
    ] {
        let mut bm = BufferManager::for_profile(&p);
        let mut d = TcpDriver::new(&p).with_reserved_policy(policy);
        let cb = d.accepted(1, remote()).unwrap();
        d.received(&mut bm, cb, &cr);
        let actions = d.take_actions();
        if kept {
            // Every Exchange build: the octet is ignored and POP4 hears of the caller.
            assert_eq!(d.pending_for_pop4(), 1);
            assert!(actions.is_empty());
            assert_eq!(d.counters.framing_errors, 0);
        } else {
            // A strict core: RFC 1006 can only drop the connection; POP4 never heard of it.
            assert_eq!(d.pending_for_pop4(), 0);
            assert_eq!(actions, vec![SocketAction::Close { cb }]);
            assert_eq!(d.live_blocks(), 0);
            assert_eq!(d.counters.framing_errors, 1);
        }
    }
    // Framing lost after the indication (a TPKT of version 4): closed here, POP4 told.
    let mut bm = BufferManager::for_profile(&p);
    let mut d = TcpDriver::new(&p);
    let cb = d.accepted(1, remote()).unwrap();
    d.received(&mut bm, cb, &[3, 0, 0, 11, 6, 0xe0, 0, 0, 0, 7, 0]);
    d.received(&mut bm, cb, &[4, 0, 0, 7, 2, 0xf0, 0x80]);
    assert_eq!(d.take_actions(), vec![SocketAction::Close { cb }]);
    assert_eq!(
        d.pending_for_pop4(),
        2,
        "the Connect Indication, then a Disconnect Indication"
    );
    assert_eq!(d.live_blocks(), 1, "until POP4's Close Request");
}
