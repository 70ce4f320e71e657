//! Full-stack benchmarks: TCP octets → delivered APDU throughput (MiB/s) for a 1 MiB P1-sized
//! transfer in both modes, and complete associations (bind → release) per second.
#![allow(missing_docs)]

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use mta_osi::association::{Address, Association, Config, Event, Role};
use mta_osi::pair::Pair;
use mta_osi::presentation::Mode;
use std::hint::black_box;

fn configs(mode: Mode) -> (Config, Config) {
    let mut a = Config::new(mode, Address::default(), Address::default());
    // A window large enough that the whole transfer is emitted without waiting for acks, so the
    // receive side can be measured on a pre-recorded stream.
    a.window_size = 1 << 20;
    let mut b = Config::new(mode, Address::default(), Address::default());
    b.window_size = 1 << 20;
    (a, b)
}

fn bound_pair(mode: Mode) -> Pair {
    let (a, b) = configs(mode);
    let mut p = Pair::new(
        Association::new(Role::Initiator, a),
        Association::new(Role::Responder, b),
        1,
        1 << 16,
    );
    p.a.bind(&[0x05, 0x00]);
    p.pump(1000).unwrap();
    p.b.accept_bind(&[0x05, 0x00]);
    p.pump(1000).unwrap();
    p
}

fn receive_throughput(c: &mut Criterion) {
    let apdu: Vec<u8> = {
        // One BER element (OCTET STRING) of 1 MiB, like a large P1 content.
        let mut v = vec![0x04, 0x83, 0x10, 0x00, 0x00];
        v.extend((0..1 << 20).map(|i: u32| i as u8));
        v
    };
    let mut g = c.benchmark_group("stack");
    g.throughput(Throughput::Bytes(apdu.len() as u64));
    g.sample_size(20);
    for (mode, name) in [(Mode::Normal, "normal"), (Mode::X410, "x410")] {
        let mut p = bound_pair(mode);
        let receiver = p.b.clone();
        let sender = p.a.clone();
        p.a.transfer(apdu.clone());
        let wire = p.a.transmit();
        g.bench_function(format!("receive_1MiB_apdu_{name}"), |bch| {
            bch.iter(|| {
                let mut b = receiver.clone();
                for chunk in wire.chunks(64 * 1024) {
                    b.receive(black_box(chunk));
                }
                let got = std::iter::from_fn(|| b.poll_event())
                    .any(|e| matches!(e, Event::Transfer(ref a) if a.len() == apdu.len()));
                assert!(got);
            });
        });
        g.bench_function(format!("send_1MiB_apdu_{name}"), |bch| {
            bch.iter(|| {
                let mut a = sender.clone();
                a.transfer(black_box(apdu.clone()));
                let n = a.transmit().len();
                assert!(n > apdu.len());
                n
            });
        });
    }
    g.finish();
}

fn associations_per_second(c: &mut Criterion) {
    let mut g = c.benchmark_group("stack");
    g.throughput(Throughput::Elements(1));
    for (mode, name) in [(Mode::Normal, "normal"), (Mode::X410, "x410")] {
        g.bench_function(format!("association_bind_release_{name}"), |bch| {
            bch.iter(|| {
                let mut p = bound_pair(mode);
                p.a.release();
                p.pump(1000).unwrap();
                assert_eq!(p.b_events.last(), Some(&Event::Released));
            });
        });
    }
    g.finish();
}

criterion_group!(benches, receive_throughput, associations_per_second);
criterion_main!(benches);
