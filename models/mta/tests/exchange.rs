//! Two MTAs exchange messages with reports through the in-process pipe: every (message, recipient)
//! ends delivered or non-delivered exactly once, reports come back, buffer accounting is zero.
#![allow(missing_docs)]

use mta_build::{Build, Profile};
use mta_mta::connector::parse_connectors;
use mta_mta::core::{Mta, MtaConfig, Outcome};
use mta_mta::pipe::MtaPipe;
use mta_p1::{Apdu, ContentType, Envelope, GlobalDomainIdentifier, OrName, Recipient};
use std::collections::BTreeMap;

fn connector(local: &str, remote: &str, addr: &str) -> String {
    format!(
        r#"
[[connector]]
name = "to {remote}"
local_mta_name = "{local}-MTA"
local_password = "{local}-pw"
remote_mta_name = "{remote}-MTA"
remote_password = "{remote}-pw"
stack_address = "{addr}"
mode = "1988"
retry_count = 3
retry_interval_s = 1
address_space = ["/C=US/A= /P={remote}/"]
"#
    )
}

fn mta(build: Build, name: &str, peer: &str, my_addr: &str, peer_addr: &str) -> Mta {
    let p = Profile::of(build);
    Mta::new(
        &p,
        MtaConfig::new(
            name,
            GlobalDomainIdentifier::new("US", " ", Some(name)),
            vec![my_addr.into()],
            parse_connectors(&connector(name, peer, peer_addr)).unwrap(),
        ),
    )
}

fn message(m: &mut Mta, from: &str, to: &str, i: usize) -> Apdu {
    let id = m.new_id("msg");
    let mut recipients = vec![Recipient::responsible(
        OrName::simple("US", " ", to, "ORG", &format!("User{}", i % 7)),
        1,
    )];
    if i.is_multiple_of(4) {
        recipients[0].indicators[1] |= 0x10; // originator wants a delivery report
    }
    if i.is_multiple_of(10) {
        // A second recipient in a domain nobody routes: non-delivered with a report.
        recipients.push(Recipient::responsible(
            OrName::simple("US", " ", "GAMMA", "ORG", "Nobody"),
            2,
        ));
    }
    Apdu::Message {
        envelope: Envelope::new(
            id,
            OrName::simple("US", " ", from, "ORG", "Sender"),
            ContentType::BuiltIn(22),
            recipients,
        ),
        content: vec![(i % 251) as u8; 200 + (i * 37) % 3000],
    }
}

struct Summary {
    finals: usize,
    delivery_reports: usize,
    non_delivery_reports: usize,
}

fn exchange(ba: Build, bb: Build, n: usize) -> (MtaPipe, Summary) {
    let a = mta(ba, "ALPHA", "BETA", "10.0.0.1", "10.0.0.2");
    let b = mta(bb, "BETA", "ALPHA", "10.0.0.2", "10.0.0.1");
    let mut pipe = MtaPipe::new(a, b, ("10.0.0.1".into(), "10.0.0.2".into()));
    for i in 0..n {
        if i.is_multiple_of(2) {
            let m = message(&mut pipe.a, "ALPHA", "BETA", i);
            pipe.a.submit(m);
        } else {
            let m = message(&mut pipe.b, "BETA", "ALPHA", i);
            pipe.b.submit(m);
        }
    }
    let took = pipe.run_until_quiet(10, 3_600_000);
    assert!(
        took.is_some(),
        "{ba} <-> {bb}: not quiescent (A queued {}, B queued {})",
        pipe.a.queued(),
        pipe.b.queued()
    );
    // Exactly once: per (message, recipient) one final outcome over both MTAs, and an MTA never
    // records two outcomes for the same pair.
    let mut all: BTreeMap<(String, String), Vec<Outcome>> = BTreeMap::new();
    for m in [&pipe.a, &pipe.b] {
        for (k, v) in m.outcomes() {
            assert_eq!(v.len(), 1, "{k:?}: {v:?}");
            all.entry(k.clone()).or_default().extend(v);
        }
    }
    let mut finals = 0;
    for (k, v) in &all {
        let f = v
            .iter()
            .filter(|o| matches!(o, Outcome::Delivered | Outcome::NonDelivered))
            .count();
        assert_eq!(f, 1, "{ba} <-> {bb}: {k:?} ended {v:?}");
        finals += 1;
    }
    let reports: Vec<_> = [&pipe.a, &pipe.b]
        .iter()
        .flat_map(|m| m.delivered_reports().to_vec())
        .collect();
    let dr = reports
        .iter()
        .flat_map(|r| &r.recipients)
        .filter(|r| matches!(r.report, mta_p1::ReportType::Delivery { .. }))
        .count();
    let ndr = reports.len()
        - reports
            .iter()
            .filter(|r| {
                r.recipients
                    .iter()
                    .all(|x| matches!(x.report, mta_p1::ReportType::Delivery { .. }))
            })
            .count();
    for m in [&pipe.a, &pipe.b] {
        assert!(
            m.bm.leak_report().is_none(),
            "{ba} <-> {bb}: {:?}",
            m.bm.leak_report()
        );
        assert!(m.log.first_fatal().is_none());
    }
    (
        pipe,
        Summary {
            finals,
            delivery_reports: dr,
            non_delivery_reports: ndr,
        },
    )
}

#[test]
fn thousand_messages_with_reports_between_55_sp3_and_2000_sp3_rollup() {
    let (pipe, s) = exchange(Build::Ex55Sp3, Build::Ex2000Sp3Rollup, 1000);
    // 1000 messages, 1 recipient each plus a GAMMA recipient on every 10th.
    assert_eq!(s.finals, 1000 + 100);
    assert_eq!(s.delivery_reports, 250);
    assert_eq!(s.non_delivery_reports, 100);
    assert_eq!(
        pipe.a.counters.transferred + pipe.b.counters.transferred,
        1000 + 250
    );
    // Association and report events (texts ours): opened on both ends, released, one NDR event
    // per non-delivered message.
    for m in [&pipe.a, &pipe.b] {
        assert!(m.log.count(9151) > 0 && m.log.count(9152) > 0);
    }
    assert_eq!(pipe.a.log.count(9154) + pipe.b.log.count(9154), 100);
}

#[test]
fn every_build_pair_exchanges_messages() {
    for ba in Build::ALL {
        for bb in Build::ALL {
            let (_, s) = exchange(ba, bb, 40);
            assert_eq!(s.finals, 44, "{ba} <-> {bb}");
        }
    }
}

#[test]
fn sender_crash_with_disk_kept_loses_nothing_and_duplicates_nothing() {
    for keep in [true, false] {
        let a = mta(
            Build::Ex2000Sp3Rollup,
            "ALPHA",
            "BETA",
            "10.0.0.1",
            "10.0.0.2",
        );
        let b = mta(
            Build::Ex2000Sp3Rollup,
            "BETA",
            "ALPHA",
            "10.0.0.2",
            "10.0.0.1",
        );
        let mut pipe = MtaPipe::new(a, b, ("10.0.0.1".into(), "10.0.0.2".into()));
        let n = 200;
        for i in 0..n {
            let m = message(&mut pipe.a, "ALPHA", "BETA", i * 2 + 1); // no GAMMA recipient
            pipe.a.submit(m);
        }
        while pipe.a.counters.transferred < 50 {
            pipe.step(10);
        }
        let queued_at_crash = pipe.a.queued();
        assert!(queued_at_crash > 0);
        pipe.crash(mta_mta::pipe::Side::A, keep);
        assert!(
            pipe.run_until_quiet(10, 36_000_000).is_some(),
            "keep={keep}"
        );
        let delivered = pipe
            .b
            .outcomes()
            .values()
            .filter(|v| v.as_slice() == [Outcome::Delivered])
            .count();
        assert!(
            pipe.b.outcomes().values().all(|v| v.len() == 1),
            "no duplicates"
        );
        if keep {
            assert_eq!(delivered, n, "disk kept: every message delivered once");
        } else {
            // Disk lost: what was queued is gone (an expected loss, counted, not a finding).
            assert!(
                delivered + queued_at_crash >= n && delivered < n,
                "{delivered} + {queued_at_crash}"
            );
        }
    }
}
