//! BER scan throughput on mixed nesting: elements/s and bytes/s through the validating walker.
#![allow(missing_docs)]
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use mta_ber::{Class, Encoder, Limits, Tag, walk};
use std::hint::black_box;

/// A P1-like corpus: many envelopes, each a SET of O/R names, trace elements and per-recipient
/// fields, mixing definite and indefinite lengths, short and long forms.
fn corpus() -> Vec<u8> {
    let mut e = Encoder::new();
    e.constructed(Tag::SEQUENCE, |e| {
        for i in 0..2000u32 {
            let ctx = |n| Tag::new(Class::Context, true, n);
            e.constructed(Tag::new(Class::Context, true, 0), |e| {
                e.constructed(Tag::SET, |e| {
                    e.constructed(Tag::new(Class::Application, true, 4), |e| {
                        e.constructed(Tag::new(Class::Application, true, 3), |e| {
                            e.constructed(Tag::new(Class::Application, true, 1), |e| {
                                e.primitive(Tag::universal(19), b"US");
                            });
                            e.constructed(Tag::new(Class::Application, true, 2), |e| {
                                e.primitive(Tag::universal(19), b"ATTMAIL");
                            });
                        });
                        e.primitive(Tag::universal(22), format!("msg-{i}").as_bytes());
                    });
                    e.indefinite(ctx(2), |e| {
                        for r in 0..=(i % 5) {
                            e.constructed(Tag::SET, |e| {
                                e.constructed(Tag::new(Class::Application, true, 0), |e| {
                                    e.primitive(Tag::new(Class::Context, false, 3), b"ORG");
                                    e.primitive(Tag::new(Class::Context, false, 5), &[r as u8]);
                                });
                                e.primitive(Tag::new(Class::Context, false, 1), &[0x07, 0x80]);
                            });
                        }
                    });
                    e.primitive(Tag::new(Class::Application, false, 7), &[0]);
                });
                e.primitive(Tag::universal(4), &vec![0x5a; (i as usize * 37) % 300]);
            });
        }
    });
    e.finish()
}

fn scan(c: &mut Criterion) {
    let data = corpus();
    let elements = walk(&data, &Limits::default(), &mut ()).unwrap();
    let mut g = c.benchmark_group("ber_scan");
    g.throughput(Throughput::Elements(elements));
    g.bench_function("walk/elements", |b| {
        b.iter(|| walk(black_box(&data), &Limits::default(), &mut ()).unwrap());
    });
    g.throughput(Throughput::Bytes(data.len() as u64));
    g.bench_function("walk/bytes", |b| {
        b.iter(|| walk(black_box(&data), &Limits::default(), &mut ()).unwrap());
    });
    g.finish();
}

criterion_group!(benches, scan);
criterion_main!(benches);
