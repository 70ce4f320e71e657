//! The harnesses as `cargo test` property tests (bolero random mode), on every build, plus a
//! proptest-state-machine model test of buffer-manager op sequences. Iterations are modest so CI
//! stays fast; the nightly campaign runs the same harnesses under libFuzzer.
#![allow(missing_docs)]

use mta_build::Build;
use mta_harness::{ber_decode, bufmgr_ops, lpi_decode, p1_decode};

const ITERATIONS: usize = 20_000;

#[test]
fn bufmgr_ops_property() {
    bolero::check!()
        .with_arbitrary::<(u8, Vec<bufmgr_ops::Op>)>()
        .with_iterations(ITERATIONS)
        .for_each(|(b, ops)| {
            let build = Build::ALL[usize::from(*b) % Build::ALL.len()];
            if let Err(f) = bufmgr_ops::run(build, ops, bufmgr_ops::Model::Faithful) {
                panic!("{build}: {f}");
            }
        });
}

#[test]
fn ber_decode_property() {
    bolero::check!()
        .with_type::<Vec<u8>>()
        .with_iterations(ITERATIONS)
        .for_each(|bytes| {
            if let Err(f) = ber_decode::run(bytes, ber_decode::Model::Asn1Rs) {
                panic!("{f}");
            }
        });
}

#[test]
fn ber_decode_property_on_encoder_output() {
    // Random trees encoded by mta-ber are valid BER: the harness must classify them "valid".
    bolero::check!()
        .with_arbitrary::<Vec<(u8, u8, Vec<u8>)>>()
        .with_iterations(ITERATIONS)
        .for_each(|parts| {
            let mut enc = mta_ber::Encoder::new();
            let outer = mta_ber::Tag::SEQUENCE;
            let indefinite = parts.len() % 2 == 1;
            let body = |e: &mut mta_ber::Encoder| {
                for (class, number, contents) in parts {
                    let tag = mta_ber::Tag::new(
                        mta_ber::Class::from_bits(*class),
                        false,
                        u32::from(*number).max(1) * 97 % 40_000 + 1,
                    );
                    e.primitive(tag, contents);
                }
            };
            if indefinite {
                enc.indefinite(outer, body);
            } else {
                enc.constructed(outer, body);
            }
            let bytes = enc.finish();
            assert_eq!(
                ber_decode::run(&bytes, ber_decode::Model::Asn1Rs),
                Ok("valid")
            );
        });
}

#[test]
fn lpi_decode_property() {
    bolero::check!()
        .with_type::<(u8, Vec<u8>)>()
        .with_iterations(ITERATIONS)
        .for_each(|(b, bytes)| {
            let build = Build::ALL[usize::from(*b) % Build::ALL.len()];
            if let Err(f) = lpi_decode::run(build, bytes, lpi_decode::Model::Faithful) {
                panic!("{build}: {f}");
            }
        });
}

#[test]
fn p1_view_agrees_with_owned_decode_on_mutated_seeds() {
    // The p1_decode APDU seeds (message, probe, delivery and non-delivery reports) with up to two
    // octets replaced (by letters or any octet), inserted or removed, or cut short: close to valid
    // APDUs that both decoders go deep and many inputs are still accepted. The checked view must
    // accept exactly what the owned decoder accepts, reject with the same error, and copy into the
    // same APDU; and the whole p1_decode harness (round trip, BER agreement) holds.
    use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
    let seeds: Vec<Vec<u8>> = p1_decode::seeds()
        .into_iter()
        .filter(|(_, b)| mta_p1::Apdu::parse(b).is_ok())
        .map(|(_, b)| b)
        .collect();
    assert_eq!(seeds.len(), 4);
    let accepted = AtomicUsize::new(0);
    bolero::check!()
        .with_type::<(u8, Vec<(u16, u8, u8)>)>()
        .with_iterations(ITERATIONS)
        .for_each(|(seed, edits)| {
            let mut b = seeds[usize::from(*seed & 0x7f) % seeds.len()].clone();
            for &(at, op, v) in edits.iter().take(1 + usize::from(*seed >> 7)) {
                let i = usize::from(at) % (b.len() + 1);
                match (op % 8, i < b.len()) {
                    // A letter: in a string it keeps the APDU valid, elsewhere it breaks it.
                    (0 | 1, true) => b[i] = b'A' + v % 26,
                    (2 | 3, true) => b[i] = v,
                    (4 | 5, _) => b.insert(i, v),
                    (6, true) => {
                        b.remove(i);
                    }
                    (7, _) => b.truncate(i),
                    _ => {}
                }
            }
            let owned = mta_p1::Apdu::parse(&b);
            if let Err(f) = p1_decode::view_agrees(&b, &owned) {
                panic!("{f}");
            }
            if let Err(f) = p1_decode::run_bytes(Build::Ex55, &b) {
                panic!("{f}");
            }
            if owned.is_ok() {
                accepted.fetch_add(1, Relaxed);
            }
        });
    assert!(accepted.load(Relaxed) > 0, "no mutated seed was accepted");
}

mod bufmgr_state_machine {
    //! proptest-state-machine: the reference model generates legal-and-illegal op sequences with
    //! shrinking; the system under test is the real buffer manager.
    use mta_bufmgr::{BufferError, BufferHandle, BufferManager, Component, Limits};
    use mta_build::Build;
    use proptest::prelude::*;
    use proptest_state_machine::{ReferenceStateMachine, StateMachineTest, prop_state_machine};

    #[derive(Clone, Debug)]
    pub struct RefState {
        limits: Limits,
        live: Vec<u32>, // elements per live buffer, in grant order
    }

    #[derive(Clone, Debug)]
    pub enum Transition {
        Request(u32, u32),
        Release(usize),
    }

    pub struct RefMachine;

    impl ReferenceStateMachine for RefMachine {
        type State = RefState;
        type Transition = Transition;

        fn init_state() -> BoxedStrategy<RefState> {
            Just(RefState {
                limits: Limits::from_profile(&Build::Ex55.profile()),
                live: Vec::new(),
            })
            .boxed()
        }

        fn transitions(state: &RefState) -> BoxedStrategy<Transition> {
            let req = (1u32..32, 0u32..32).prop_map(|(h, e)| Transition::Request(h, e));
            if state.live.is_empty() {
                req.boxed()
            } else {
                let n = state.live.len();
                prop_oneof![req, (0..n).prop_map(Transition::Release)].boxed()
            }
        }

        fn apply(mut state: RefState, t: &Transition) -> RefState {
            match *t {
                Transition::Request(h, e) => {
                    let l = state.limits;
                    let used_h = state.live.len() as u32;
                    let used_e: u32 = state.live.iter().sum();
                    if h <= l.max_headers_per_request
                        && e <= l.max_elements_per_request
                        && h <= l.headers - used_h
                        && e <= l.elements - used_e
                    {
                        for i in 0..h {
                            state.live.push(e / h + u32::from(i < e % h));
                        }
                    }
                }
                Transition::Release(i) => {
                    state.live.remove(i);
                }
            }
            state
        }

        fn preconditions(state: &RefState, t: &Transition) -> bool {
            match *t {
                Transition::Release(i) => i < state.live.len(),
                Transition::Request(..) => true,
            }
        }
    }

    pub struct Sut {
        mgr: BufferManager,
        live: Vec<BufferHandle>,
    }

    impl StateMachineTest for Sut {
        type SystemUnderTest = Sut;
        type Reference = RefMachine;

        fn init_test(r: &RefState) -> Sut {
            Sut {
                mgr: BufferManager::new(r.limits),
                live: Vec::new(),
            }
        }

        fn apply(mut s: Sut, r: &RefState, t: Transition) -> Sut {
            match t {
                Transition::Request(h, e) => match s.mgr.request(Component::Harness, h, e) {
                    Ok(g) => s.live.extend(g),
                    Err(BufferError::IllegalRequest { .. } | BufferError::Exhausted { .. }) => {}
                    Err(other) => panic!("unexpected {other}"),
                },
                Transition::Release(i) => {
                    let h = s.live.remove(i);
                    s.mgr.release(h).unwrap();
                }
            }
            let _ = r;
            s
        }

        fn check_invariants(s: &Sut, r: &RefState) {
            assert_eq!(s.live.len(), r.live.len());
            let counts: Vec<u32> = s
                .live
                .iter()
                .map(|h| s.mgr.element_count(*h).unwrap())
                .collect();
            assert_eq!(counts, r.live);
            assert_eq!(s.mgr.outstanding().elements, r.live.iter().sum::<u32>());
            s.mgr.check_invariants().unwrap();
        }

        fn teardown(mut s: Sut, _r: RefState) {
            for h in std::mem::take(&mut s.live) {
                s.mgr.release(h).unwrap();
            }
            assert!(s.mgr.leak_report().is_none());
        }
    }

    prop_state_machine! {
        #![proptest_config(ProptestConfig { cases: 64, failure_persistence: None, .. ProptestConfig::default() })]
        #[test]
        fn bufmgr_matches_reference(sequential 1..60 => Sut);
    }
}
