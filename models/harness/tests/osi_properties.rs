//! The OSI-stack harnesses as `cargo test` property tests (bolero random mode) across builds, plus
//! structured generators that reach the valid-input paths random bytes rarely hit.
#![allow(missing_docs)]

use mta_build::Build;
use mta_harness::osi;

const ITERATIONS: usize = 5_000;

fn build_of(b: u8) -> Build {
    Build::ALL[usize::from(b) % Build::ALL.len()]
}

#[test]
fn parse_targets_on_random_bytes() {
    let parse_targets = [
        "tpkt_stream",
        "cotp_parse",
        "session_parse",
        "presentation_parse",
        "rtse_parse",
    ];
    for t in mta_harness::TARGETS
        .iter()
        .filter(|t| parse_targets.contains(&t.name))
    {
        let (name, run) = (t.name, t.run);
        bolero::check!()
            .with_type::<(u8, Vec<u8>)>()
            .with_iterations(ITERATIONS)
            .for_each(|(b, bytes)| {
                if let Err(f) = run(build_of(*b), bytes) {
                    panic!("{name}: {f}");
                }
            });
    }
}

#[test]
fn tpkt_stream_of_valid_packets_under_any_segmentation() {
    bolero::check!()
        .with_type::<(u8, u8, Vec<(u8, Vec<u8>)>)>()
        .with_iterations(ITERATIONS)
        .for_each(|(flags, seed, packets)| {
            let mut input = vec![*flags, *seed];
            for (reserved, payload) in packets {
                let mut tpdu = vec![0x02, 0xf0, 0x80];
                tpdu.extend_from_slice(payload);
                input.extend_from_slice(&[3, *reserved]);
                input.extend_from_slice(&((tpdu.len() + 4) as u16).to_be_bytes());
                input.extend_from_slice(&tpdu);
            }
            if let Err(f) = osi::tpkt_stream(Build::Ex55, &input) {
                panic!("{f}");
            }
        });
}

#[test]
fn cotp_connect_tpdus_round_trip() {
    bolero::check!()
        .with_type::<(bool, u16, u16, u8, Vec<(u8, Vec<u8>)>)>()
        .with_iterations(ITERATIONS)
        .for_each(|(cr, dst, src, class, params)| {
            let params: Vec<mta_osi::cotp::Param<'_>> = params
                .iter()
                .take(8)
                .map(|(code, v)| mta_osi::cotp::Param {
                    code: *code,
                    value: &v[..v.len().min(24)],
                })
                .collect();
            let c = mta_osi::cotp::Connect {
                dst_ref: *dst,
                src_ref: *src,
                class_option: *class,
                params,
                user_data: &[],
            };
            let t = if *cr {
                mta_osi::cotp::Tpdu::Cr(c)
            } else {
                mta_osi::cotp::Tpdu::Cc(c)
            };
            let mut b = Vec::new();
            t.emit(&mut b);
            assert_eq!(mta_osi::cotp::Tpdu::parse(&b), Ok(t));
            if let Err(f) = osi::cotp_parse(Build::Ex40, &b) {
                panic!("{f}");
            }
        });
}

#[test]
fn association_scripts() {
    bolero::check!()
        .with_type::<(u8, u8, u8, u8, u8, Vec<u8>)>()
        .with_iterations(300)
        .for_each(|(b, flags, peer, seg, seed, ops)| {
            let mut input = vec![*flags, *peer, *seg, *seed];
            input.extend(ops.iter().take(12));
            if let Err(f) = osi::association(build_of(*b), &input) {
                panic!("{f}");
            }
        });
}
