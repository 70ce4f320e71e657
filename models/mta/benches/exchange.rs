//! Messages per second between two MTAs (full stack: driver, POP4, OSI association, P1, routing,
//! reports) through the in-process pipe.
#![allow(missing_docs)]

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use mta_build::{Build, Profile};
use mta_mta::connector::parse_connectors;
use mta_mta::core::{Mta, MtaConfig};
use mta_mta::pipe::MtaPipe;
use mta_p1::{Apdu, ContentType, Envelope, GlobalDomainIdentifier, OrName, Recipient};

fn mta(name: &str, peer: &str, my_addr: &str, peer_addr: &str) -> Mta {
    let conf = format!(
        "[[connector]]\nname = \"to {peer}\"\nlocal_mta_name = \"{name}\"\nremote_mta_name = \"{peer}\"\nstack_address = \"{peer_addr}\"\naddress_space = [\"/C=US/A= /P={peer}/\"]\n"
    );
    Mta::new(
        &Profile::of(Build::Ex2000Sp3Rollup),
        MtaConfig::new(
            name,
            GlobalDomainIdentifier::new("US", " ", Some(name)),
            vec![my_addr.into()],
            parse_connectors(&conf).unwrap(),
        ),
    )
}

fn run(n: usize, size: usize) {
    let mut a = mta("ALPHA", "BETA", "10.0.0.1", "10.0.0.2");
    let b = mta("BETA", "ALPHA", "10.0.0.2", "10.0.0.1");
    for i in 0..n {
        let id = a.new_id("m");
        a.submit(Apdu::Message {
            envelope: Envelope::new(
                id,
                OrName::simple("US", " ", "ALPHA", "O", "S"),
                ContentType::BuiltIn(22),
                vec![Recipient::responsible(
                    OrName::simple("US", " ", "BETA", "O", &format!("R{}", i % 9)),
                    1,
                )],
            ),
            content: vec![7; size],
        });
    }
    let mut pipe = MtaPipe::new(a, b, ("10.0.0.1".into(), "10.0.0.2".into()));
    assert!(pipe.run_until_quiet(10, 36_000_000).is_some());
}

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("mta");
    g.sample_size(10);
    g.throughput(Throughput::Elements(1000));
    g.bench_function("1000_messages_2KiB_alpha_to_beta", |b| {
        b.iter(|| run(1000, 2048));
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
