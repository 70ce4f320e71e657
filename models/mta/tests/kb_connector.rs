//! KB Q197378: a multihomed sender's outbound source address per build, counted in the receiver's
//! event log (9301 per refused connection), with and without Stack IP Address Override.
#![allow(missing_docs)]

use mta_build::{Build, Profile};
use mta_eventlog::EventLog;
use mta_mta::connector::{SourceAddressChooser, identify_caller, parse_connectors};

const SENDER: &str = r#"
[[connector]]
name = "TCP to MTA B"
local_mta_name = "ALPHA"
remote_mta_name = "BETA"
stack_address = "10.0.0.9"
"#;

const RECEIVER: &str = r#"
[[connector]]
name = "TCP to MTA A"
local_mta_name = "BETA"
remote_mta_name = "ALPHA"
stack_address = "10.0.0.1"
"#;

/// `n` connections from a two-address sender of `build`; returns the receiver's 9301 count.
fn refused(build: Build, n: usize, with_override: bool, addresses: &[&str]) -> (usize, u64) {
    let p = Profile::of(build);
    let receiver_profile = Profile::of(Build::Ex55Sp3);
    let mut sender_conn = parse_connectors(SENDER).unwrap().remove(0).config;
    if with_override {
        sender_conn.stack_ip_address_override = Some("10.0.0.1".into());
    }
    let receiver = parse_connectors(RECEIVER).unwrap();
    let mut log = EventLog::new("beta", receiver_profile.event_era, 0);
    let mut chooser = SourceAddressChooser::new(addresses);
    for i in 0..n {
        let src = chooser.choose(&p, &sender_conn);
        let _ = identify_caller(&receiver_profile, &mut log, i as u64, &receiver, &src);
    }
    (log.count(9301), chooser.counters.multihomed_outbound)
}

#[test]
fn q197378_about_half_refused_from_sp1_on_without_the_override() {
    let two = ["10.0.0.1", "10.0.0.2"];
    for build in Build::ALL {
        let p = Profile::of(build);
        let (n9301, trigger) = refused(build, 100, false, &two);
        assert_eq!(trigger, 100, "{build}: trigger");
        let transport_picks =
            p.outbound_source_address == mta_build::SourceAddressRule::TransportChoice;
        let about_half = |n: usize| (35..=65).contains(&n);
        if transport_picks {
            assert!(about_half(n9301), "{build}: {n9301} of 100");
        } else {
            assert_eq!(n9301, 0, "{build}");
        }
        // With the override: SP2+ honour it, SP1 ignores the key.
        let (n9301, _) = refused(build, 100, true, &two);
        if transport_picks && !p.connector_honours_source_override {
            assert!(
                about_half(n9301),
                "{build} with the override ignored: {n9301}"
            );
        } else {
            assert_eq!(n9301, 0, "{build} with override");
        }
    }
}

#[test]
fn q197378_negative_control_single_homed_sender() {
    let (n9301, trigger) = refused(Build::Ex55Sp1, 100, false, &["10.0.0.1"]);
    assert_eq!((n9301, trigger), (0, 0));
}
