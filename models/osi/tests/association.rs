//! The "done when" for the OSI stack: any two builds complete bind → 1 MiB transfer →
//! release through a randomly segmenting pipe in both modes; a strict foreign MTA refuses only
//! Exchange 4.0's CONNECT CONFIRM.

use mta_build::Build;
use mta_osi::association::{AbortReason, Address, Association, Config, Event, Role};
use mta_osi::pair::Pair;
use mta_osi::presentation::Mode;
use mta_osi::tpkt::ReservedPolicy;
use mta_osi::{Layer, Malformed};

fn addr(t: &str) -> Address {
    Address {
        tsap: format!("{t}TSAP").into_bytes(),
        ssap: format!("{t}S").into_bytes(),
        psap: format!("{t}P").into_bytes(),
    }
}

fn payload(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u8).wrapping_mul(31) ^ seed)
        .collect()
}

/// Bind, transfer `apdus`, release; return the pair for inspection.
fn session(a_cfg: Config, b_cfg: Config, apdus: &[Vec<u8>], seed: u64, seg: usize) -> Pair {
    let mut p = Pair::new(
        Association::new(Role::Initiator, a_cfg),
        Association::new(Role::Responder, b_cfg),
        seed,
        seg,
    );
    p.a.bind(&[0x05, 0x00]);
    p.pump(100_000).expect("quiescent");
    let Some(Event::BindRequest { bind, .. }) = p.b_events.first().cloned() else {
        panic!("no bind request: {:?} / {:?}", p.a_events, p.b_events)
    };
    assert_eq!(bind, [0x05, 0x00]);
    p.b.accept_bind(&[0x05, 0x00]);
    p.pump(100_000).expect("quiescent");
    assert_eq!(
        p.a_events.first(),
        Some(&Event::BindAccepted {
            result: vec![0x05, 0x00]
        })
    );
    for apdu in apdus {
        p.a.transfer(apdu.clone());
    }
    p.a.release();
    p.pump(10_000_000).expect("quiescent");
    p
}

fn transferred(events: &[Event]) -> Vec<Vec<u8>> {
    events
        .iter()
        .filter_map(|e| match e {
            Event::Transfer(a) => Some(a.clone()),
            _ => None,
        })
        .collect()
}

#[test]
fn every_build_pair_binds_transfers_and_releases_in_both_modes() {
    let small = vec![payload(1, 1), payload(3000, 2), payload(40_000, 3)];
    for (i, &ba) in Build::ALL.iter().enumerate() {
        for (j, &bb) in Build::ALL.iter().enumerate() {
            for mode in [Mode::X410, Mode::Normal] {
                let seed = (i * 8 + j) as u64;
                let a = Config::exchange(ba, mode, addr("A"), addr("B"));
                let b = Config::exchange(bb, mode, addr("B"), Address::default());
                let p = session(a, b, &small, seed, 1 + (seed as usize % 50));
                assert_eq!(transferred(&p.b_events), small, "{ba} -> {bb} {mode:?}");
                let confirmed = p
                    .a_events
                    .iter()
                    .filter(|e| **e == Event::TransferConfirmed)
                    .count();
                assert_eq!(confirmed, small.len());
                assert_eq!(p.a_events.last(), Some(&Event::Released), "{ba} -> {bb}");
                assert_eq!(p.b_events.last(), Some(&Event::Released), "{ba} -> {bb}");
                assert!(p.a.wants_close() && p.b.wants_close());
            }
        }
    }
}

#[test]
fn one_mib_payload_in_both_modes_with_random_segmentation() {
    let big = vec![payload(1 << 20, 7)];
    for (k, mode) in [Mode::X410, Mode::Normal].into_iter().enumerate() {
        let a = Config::exchange(Build::Ex55Sp3, mode, addr("A"), addr("B"));
        let b = Config::exchange(Build::Ex2000Sp3, mode, addr("B"), Address::default());
        let p = session(a, b, &big, 42 + k as u64, 4096);
        assert_eq!(transferred(&p.b_events), big);
        assert_eq!(p.b.checkpointing(), (16, 3));
        assert!(p.a_to_b > 1 << 20);
    }
}

#[test]
fn byte_at_a_time_small_transfer() {
    let apdus = vec![payload(5000, 9)];
    for mode in [Mode::X410, Mode::Normal] {
        let a = Config::exchange(Build::Ex40, mode, addr("A"), addr("B"));
        let b = Config::exchange(Build::Ex40, mode, addr("B"), Address::default());
        let p = session(a, b, &apdus, 1, 1);
        assert_eq!(
            transferred(&p.b_events),
            apdus,
            "4.0 <-> 4.0 works ({mode:?})"
        );
    }
}

#[test]
fn strict_foreign_mta_refuses_only_ex40s_connect_confirm() {
    for build in Build::ALL {
        let a = Config::foreign(ReservedPolicy::Reject, Mode::X410, addr("F"), addr("B"));
        let b = Config::exchange(build, Mode::X410, addr("B"), Address::default());
        let mut p = Pair::new(
            Association::new(Role::Initiator, a),
            Association::new(Role::Responder, b),
            3,
            64,
        );
        p.a.bind(&[]);
        p.pump(1000).unwrap();
        if build == Build::Ex40 {
            assert_eq!(
                p.a_events,
                vec![Event::Aborted(AbortReason::ProtocolError(Malformed::new(
                    Layer::Tpkt,
                    1,
                    "reserved octet is not zero"
                )))]
            );
            assert!(p.a.wants_close(), "the strict MTA disconnects");
            assert_eq!(p.b_events, vec![Event::Aborted(AbortReason::TransportLost)]);
        } else {
            assert!(
                matches!(p.b_events.as_slice(), [Event::BindRequest { .. }]),
                "{build}: {:?}",
                p.a_events
            );
        }
    }
}

#[test]
fn lenient_foreign_mta_accepts_ex40() {
    let a = Config::foreign(ReservedPolicy::Ignore, Mode::Normal, addr("F"), addr("B"));
    let b = Config::exchange(Build::Ex40, Mode::Normal, addr("B"), Address::default());
    let p = session(a, b, &[payload(10, 1)], 5, 13);
    assert_eq!(transferred(&p.b_events).len(), 1);
}

#[test]
fn refused_bind_in_both_modes() {
    for mode in [Mode::X410, Mode::Normal] {
        let a = Config::exchange(Build::Ex55, mode, addr("A"), addr("B"));
        let b = Config::exchange(Build::Ex55, mode, addr("B"), Address::default());
        let mut p = Pair::new(
            Association::new(Role::Initiator, a),
            Association::new(Role::Responder, b),
            9,
            17,
        );
        p.a.bind(&[0x05, 0x00]);
        p.pump(1000).unwrap();
        p.b.refuse_bind(2, Some(vec![0x02, 0x01, 0x02]));
        p.pump(1000).unwrap();
        let want = match mode {
            Mode::X410 => Event::BindRefused {
                reason: Some(2),
                user_data: None,
            },
            Mode::Normal => Event::BindRefused {
                reason: None,
                user_data: Some(vec![0x02, 0x01, 0x02]),
            },
        };
        assert_eq!(p.a_events, vec![want]);
        assert!(p.a.wants_close() && p.b.wants_close());
    }
}

#[test]
fn two_way_alternate_turn_please_and_give() {
    let mut a = Config::exchange(Build::Ex55Sp3, Mode::Normal, addr("A"), addr("B"));
    a.twa = true;
    let b = Config::exchange(Build::Ex55Sp3, Mode::Normal, addr("B"), Address::default());
    let mut p = Pair::new(
        Association::new(Role::Initiator, a),
        Association::new(Role::Responder, b),
        11,
        100,
    );
    p.a.bind(&[]);
    p.pump(1000).unwrap();
    p.b.accept_bind(&[]);
    p.pump(1000).unwrap();
    p.b.transfer(payload(100, 1));
    p.pump(1000).unwrap();
    assert!(p.b_events.contains(&Event::TurnGiven));
    assert_eq!(transferred(&p.a_events), vec![payload(100, 1)]);
    p.a.transfer(payload(200, 2));
    p.a.release();
    p.pump(1000).unwrap();
    assert_eq!(transferred(&p.b_events), vec![payload(200, 2)]);
    assert_eq!(p.a_events.last(), Some(&Event::Released));
}

#[test]
fn silent_peer_times_out_and_aborts() {
    let a = Config::exchange(Build::Ex55, Mode::Normal, addr("A"), addr("B"));
    let mut x = Association::new(Role::Initiator, a);
    x.bind(&[]);
    assert_eq!(x.deadline(), Some(60_000));
    x.tick(59_999);
    assert_eq!(x.poll_event(), None);
    x.tick(60_000);
    assert_eq!(x.poll_event(), Some(Event::Aborted(AbortReason::Timeout)));
    assert!(x.wants_close());
}

#[test]
fn every_build_pair_moves_a_one_mib_apdu_in_both_modes() {
    let big = vec![payload(1 << 20, 5)];
    for (i, &ba) in Build::ALL.iter().enumerate() {
        for (j, &bb) in Build::ALL.iter().enumerate() {
            for mode in [Mode::X410, Mode::Normal] {
                let a = Config::exchange(ba, mode, addr("A"), addr("B"));
                let b = Config::exchange(bb, mode, addr("B"), Address::default());
                let p = session(a, b, &big, (i * 8 + j) as u64, 16 * 1024);
                assert!(transferred(&p.b_events) == big, "{ba} -> {bb} {mode:?}");
                assert_eq!(p.a_events.last(), Some(&Event::Released));
            }
        }
    }
}

/// Two ends over a provider's transport service (X.25: whole TSDUs, no TPDUs): move every TSDU
/// across until neither has more; return the events each reported.
fn provider_pump(a: &mut Association, b: &mut Association) -> (Vec<Event>, Vec<Event>) {
    let (mut ea, mut eb) = (Vec::new(), Vec::new());
    loop {
        let mut moved = false;
        while let Some(t) = a.poll_tsdu() {
            b.receive_tsdu(mta_osi::session::TData::new(&t));
            moved = true;
        }
        while let Some(t) = b.poll_tsdu() {
            a.receive_tsdu(mta_osi::session::TData::new(&t));
            moved = true;
        }
        ea.extend(std::iter::from_fn(|| a.poll_event()));
        eb.extend(std::iter::from_fn(|| b.poll_event()));
        if !moved {
            return (ea, eb);
        }
    }
}

#[test]
fn an_association_runs_over_a_providers_transport_service_in_both_modes() {
    for mode in [Mode::X410, Mode::Normal] {
        let a = Config::exchange(Build::Ex55Sp3, mode, addr("A"), addr("B"));
        let b = Config::exchange(Build::Ex2000Sp3, mode, addr("B"), Address::default());
        let mut a = Association::over_provider(Role::Initiator, a, 0);
        let mut b = Association::over_provider(Role::Responder, b, 0);
        a.bind(&[0x05, 0x00]);
        let (_, eb) = provider_pump(&mut a, &mut b);
        assert!(
            matches!(eb.first(), Some(Event::BindRequest { .. })),
            "{eb:?}"
        );
        b.accept_bind(&[0x05, 0x00]);
        let apdus = vec![payload(10, 1), payload(3000, 2)];
        for x in &apdus {
            a.transfer(x.clone());
        }
        a.release();
        let (ea, eb) = provider_pump(&mut a, &mut b);
        assert_eq!(transferred(&eb), apdus, "{mode:?}");
        assert_eq!(
            ea.iter()
                .filter(|e| **e == Event::TransferConfirmed)
                .count(),
            2
        );
        assert_eq!(ea.last(), Some(&Event::Released), "{ea:?}");
        assert!(a.wants_close() || b.wants_close(), "the call is cleared");
        assert!(a.transmit().is_empty(), "no TCP octets over a provider");
    }
}

#[test]
fn over_a_provider_the_networks_clear_aborts_and_octets_are_one_tsdu() {
    let cfg = Config::exchange(Build::Ex55Sp3, Mode::Normal, addr("A"), addr("B"));
    let bcfg = Config::exchange(Build::Ex55Sp3, Mode::Normal, addr("B"), Address::default());
    let mut a = Association::over_provider(Role::Initiator, cfg, 0);
    let mut b = Association::over_provider(Role::Responder, bcfg, 0);
    a.bind(&[]);
    // The CN handed over as octets (`receive`) is taken as one TSDU.
    let cn = a.poll_tsdu().expect("CN");
    b.receive(&cn);
    assert!(matches!(b.poll_event(), Some(Event::BindRequest { .. })));
    b.tcp_closed();
    // As over TCP: the session reports the lost connection, an abort of the bind in progress.
    assert!(matches!(b.poll_event(), Some(Event::Aborted(_))));
    assert_eq!(b.poll_event(), None, "one abort");
    assert!(!b.wants_close(), "the network cleared the call already");
}
