//! Whole associations over X.25 (issue 18): a remote MTA calls the MTA's X.25 interface, binds
//! (judged by the connector whose stack address is the calling DTE's X.121 address), transfers
//! messages larger than a packet as M-bit sequences and releases; the MTA delivers each exactly
//! once. A wrong password is refused as over TCP.
#![allow(missing_docs)]

use mta_build::{Build, Profile};
use mta_mta::connector::parse_connectors;
use mta_mta::core::{Mta, MtaConfig, Outcome};
use mta_mta::x25::{CallEnd, Dte, Gateway, Packet, RemoteMta, transferred_from};
use mta_osi::association::{Address, Config};
use mta_osi::presentation::Mode;
use mta_p1::{
    Apdu, Bind, ContentType, Envelope, GlobalDomainIdentifier, MtsIdentifier, OrName, Recipient,
};

const REMOTE_DTE: &str = "31340001";

fn alpha(build: Build) -> Mta {
    let connector = format!(
        "[[connector]]\nname = \"X.25 to REMOTE\"\nlocal_mta_name = \"ALPHA\"\n\
         local_password = \"ALPHA-pw\"\nremote_mta_name = \"REMOTE\"\nremote_password = \"REMOTE-pw\"\n\
         stack_address = \"{REMOTE_DTE}\"\n"
    );
    Mta::new(
        &Profile::of(build),
        MtaConfig::new(
            "ALPHA",
            GlobalDomainIdentifier::new("US", " ", Some("ALPHA")),
            vec!["10.0.1.1".into()],
            parse_connectors(&connector).unwrap(),
        ),
    )
}

fn message(i: usize, size: usize) -> Apdu {
    let domain = GlobalDomainIdentifier::new("US", " ", Some("REMOTE"));
    let apdu = Apdu::Message {
        envelope: Envelope::new(
            MtsIdentifier::new(domain.clone(), &format!("x25-{i}")),
            OrName::simple("US", " ", "REMOTE", "ORG", "Sender"),
            ContentType::BuiltIn(22),
            vec![Recipient::responsible(
                OrName::simple("US", " ", "ALPHA", "ORG", &format!("User{i}")),
                1,
            )],
        ),
        content: vec![i as u8; size],
    };
    transferred_from(apdu, &domain, "261123000000Z")
}

/// One call from the remote MTA with `password`; run until the call has ended. Returns how it
/// ended and the data packets carried towards the MTA.
fn call(
    mta: &mut Mta,
    gw: &mut Gateway,
    password: &str,
    apdus: Vec<Vec<u8>>,
) -> (CallEnd, Vec<Packet>) {
    let p = mta.profile;
    let dte = Dte::call(
        (1, "31340000", REMOTE_DTE),
        usize::from(p.x25_packet_size),
        usize::from(p.x25_window),
        300,
        0,
    );
    let config = Config::for_profile(&p, Mode::Normal, Address::default(), Address::default());
    let bind = Bind::simple("REMOTE", password).emit();
    let mut remote = RemoteMta::call(dte, config, &bind, apdus, 0);
    let lcn = gw.open_circuit();
    let mut carried = Vec::new();
    for t in (10..60_000).step_by(10) {
        for pk in remote.poll_transmit(t) {
            carried.push(pk.clone());
            gw.arrive(lcn, pk);
        }
        mta.tick(t);
        for pk in gw.tick(t, mta) {
            remote.receive(pk, t);
        }
        if let Some(end) = remote.end() {
            return (end, carried);
        }
    }
    panic!("the call did not end");
}

#[test]
fn a_remote_mta_binds_transfers_and_releases_over_x25() {
    for build in [Build::Ex55, Build::Ex55Sp3, Build::Ex2000Sp3Rollup] {
        let mut mta = alpha(build);
        let mut gw = Gateway::new(&mta.profile.clone(), "ALPHA", mta.responder_config());
        let apdus: Vec<Vec<u8>> = (0..3).map(|i| message(i, 700).emit()).collect();
        let (end, carried) = call(&mut mta, &mut gw, "REMOTE-pw", apdus);
        assert_eq!(end, CallEnd::Released, "{build}: {:?}", gw.log.render());
        assert_eq!((gw.accepted, gw.transfers), (1, 3), "{build}");
        assert!(gw.faults.is_empty(), "{build}: {:?}", gw.faults);
        for i in 0..3 {
            let key = (
                format!(
                    "{}",
                    MtsIdentifier::new(
                        GlobalDomainIdentifier::new("US", " ", Some("REMOTE")),
                        &format!("x25-{i}"),
                    )
                ),
                OrName::simple("US", " ", "ALPHA", "ORG", &format!("User{i}")).to_string(),
            );
            assert_eq!(
                mta.outcomes().get(&key),
                Some(&vec![Outcome::Delivered]),
                "{build} {i}"
            );
        }
        // Each message (over 700 octets) crossed as an M-bit sequence of several packets.
        let more = carried
            .iter()
            .filter(|p| matches!(p, Packet::Data { more: true, .. }))
            .count();
        assert!(more >= 3 * 5, "{build}: {more} packets with M = 1");
        assert!(mta.log.count(9301) == 0);
    }
}

#[test]
fn a_wrong_password_over_x25_is_refused_as_over_tcp() {
    let mut mta = alpha(Build::Ex2000Sp3Rollup);
    let mut gw = Gateway::new(&mta.profile.clone(), "ALPHA", mta.responder_config());
    let (end, _) = call(&mut mta, &mut gw, "wrong", vec![message(0, 10).emit()]);
    assert_eq!(end, CallEnd::Refused);
    assert_eq!(gw.accepted, 0);
    assert!(mta.outcomes().is_empty(), "nothing transferred");
}
