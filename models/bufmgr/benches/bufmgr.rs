//! Buffer manager request + release throughput (ops/s).
#![allow(missing_docs)]
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use mta_bufmgr::{BufferManager, Component};
use std::hint::black_box;

fn request_release(c: &mut Criterion) {
    let p = mta_build::Build::Ex55Sp3.profile();
    let mut g = c.benchmark_group("bufmgr");
    g.throughput(Throughput::Elements(1));
    g.bench_function("request_for_len+release", |b| {
        let mut m = BufferManager::for_profile(&p);
        b.iter(|| {
            let h = m
                .request_for_len(Component::TcpDriver, black_box(1500))
                .unwrap();
            m.release(h).unwrap();
        });
    });
    g.throughput(Throughput::Elements(8));
    g.bench_function("request(8,8)+8 releases", |b| {
        let mut m = BufferManager::for_profile(&p);
        b.iter(|| {
            let grant = m.request(Component::TcpDriver, black_box(8), 8).unwrap();
            for h in grant {
                m.release(h).unwrap();
            }
        });
    });
    g.finish();
}

criterion_group!(benches, request_release);
criterion_main!(benches);
