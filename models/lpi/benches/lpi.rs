//! LPI decoder throughput (decodes/s) over a mix of live, stale and malformed messages.
#![allow(missing_docs)]
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use mta_bufmgr::{ControlBlockTable, Direction};
use mta_lpi::{Interface, Lpi, MessageRepr, MessageType, decode};
use std::hint::black_box;

fn decodes(c: &mut Criterion) {
    let p = mta_build::Build::Ex2000Sp3.profile();
    let mut t = ControlBlockTable::for_profile(&p);
    let live: Vec<_> = (0..10)
        .map(|_| t.allocate(Direction::Inbound).unwrap())
        .collect();
    let mut msgs = Vec::new();
    for (i, cb) in live.iter().enumerate() {
        let lpi = Lpi::new(1, cb.generation + u16::from(i % 3 == 0), cb.index);
        let data = vec![0u8; i * 13];
        let mut m = MessageRepr {
            message_type: MessageType::ALL[i % 9],
            lpi,
            more: false,
            data_len: data.len() as u32,
        }
        .to_bytes(&data);
        if i % 4 == 0 {
            m[12] ^= 1; // malformed data length
        }
        msgs.push(m);
    }
    let mut g = c.benchmark_group("lpi");
    g.throughput(Throughput::Elements(msgs.len() as u64));
    g.bench_function("decode", |b| {
        b.iter(|| {
            for m in &msgs {
                let _ = black_box(decode(black_box(m), &t, Interface::TcpIp));
            }
        });
    });
    g.finish();
}

criterion_group!(benches, decodes);
criterion_main!(benches);
