//! What `mta-lab bench ber` measures: mta-ber's validating walker ([`mta_ber::walk`]) beside the plain
//! reference walker ([`mta_ber::reference::walk`]) on the same generated buffers, four mixes:
//! small primitives, 1 KiB strings 2 % of the time, 30 % indefinite lengths, all definite
//! (elements/s of each, the ratio; the `bench` module prints the table). The two sides run in
//! alternating rounds and each keeps its best round, so a noisy neighbour hurts both alike.
//!
//! It reads the wall clock (that is what it measures); it touches mta-ber only through its two
//! public walkers.

use mta_ber::{Class, Encoder, Limits, Tag};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::Serialize;
use std::hint::black_box;

/// One buffer mix: how the generated P1-like trees are shaped.
#[derive(Debug, Clone, Copy)]
pub struct Mix {
    /// Its name in the table.
    pub name: &'static str,
    /// Percent of primitives that are 1 KiB strings.
    pub big_pct: u32,
    /// Percent of constructed elements in the indefinite form.
    pub indefinite_pct: u32,
    /// Largest small primitive.
    pub small_max: usize,
}

/// The four mixes of the issue that set the goal ("Speed to the limit").
pub const MIXES: [Mix; 4] = [
    Mix {
        name: "small primitives",
        big_pct: 0,
        indefinite_pct: 0,
        small_max: 4,
    },
    Mix {
        name: "1 KiB strings 2 %",
        big_pct: 2,
        indefinite_pct: 0,
        small_max: 16,
    },
    Mix {
        name: "30 % indefinite",
        big_pct: 0,
        indefinite_pct: 30,
        small_max: 16,
    },
    Mix {
        name: "all definite",
        big_pct: 0,
        indefinite_pct: 0,
        small_max: 16,
    },
];

/// One row of the table.
#[derive(Debug, Clone, Serialize)]
pub struct BerRow {
    /// Mix.
    pub mix: &'static str,
    /// Buffers and elements per pass.
    pub buffers: usize,
    /// Elements per pass.
    pub elements: u64,
    /// The reference walker, elements/s (best round).
    pub reference_per_s: f64,
    /// mta-ber's walker, elements/s (best round).
    pub walk_per_s: f64,
    /// walk / reference.
    pub ratio: f64,
}

fn tag(rng: &mut ChaCha8Rng, constructed: bool) -> Tag {
    let class = Class::from_bits(rng.random_range(0..4));
    // One tag in twenty in the high-tag-number form.
    let number = if rng.random_range(0..20) == 0 {
        rng.random_range(31..2000)
    } else {
        rng.random_range(1..31)
    };
    if class == Class::Universal && !constructed {
        return Tag::universal([2, 4, 19, 22][rng.random_range(0..4)]);
    }
    if class == Class::Universal {
        return if number % 2 == 0 {
            Tag::SEQUENCE
        } else {
            Tag::SET
        };
    }
    Tag::new(class, constructed, number)
}

fn node(e: &mut Encoder, rng: &mut ChaCha8Rng, depth: u32, mix: Mix) {
    if depth >= 7 || (depth > 1 && rng.random_range(0..3) == 0) {
        let len = if rng.random_range(0..100) < mix.big_pct {
            1024
        } else {
            rng.random_range(0..=mix.small_max)
        };
        let contents: Vec<u8> = (0..len).map(|i| (i as u8).wrapping_mul(31)).collect();
        let t = tag(rng, false);
        e.primitive(t, &contents);
        return;
    }
    let t = tag(rng, true);
    let children = rng.random_range(1..=5);
    let indefinite = rng.random_range(0..100) < mix.indefinite_pct;
    let body = |e: &mut Encoder| {
        for _ in 0..children {
            node(e, rng, depth + 1, mix);
        }
    };
    if indefinite {
        e.indefinite(t, body);
    } else {
        e.constructed(t, body);
    }
}

/// `n` generated buffers of `mix` (seeded: the same on every machine).
pub fn buffers(mix: Mix, n: usize) -> Vec<Vec<u8>> {
    let mut rng = ChaCha8Rng::seed_from_u64(0x0062_6572_5f6d_6978 ^ u64::from(mix.indefinite_pct));
    (0..n)
        .map(|_| {
            let mut e = Encoder::new();
            node(&mut e, &mut rng, 0, mix);
            e.finish()
        })
        .collect()
}

/// Measure one mix for about `seconds`: alternating rounds, best round of each side.
#[allow(clippy::disallowed_types)] // wall clock: what a benchmark measures
pub fn measure(mix: Mix, seconds: f64) -> BerRow {
    let bufs = buffers(mix, 2000);
    let limits = Limits::default();
    let elements: u64 = bufs
        .iter()
        .map(|b| mta_ber::walk(b, &limits, &mut ()).expect("generated BER is valid"))
        .sum();
    let reference: u64 = bufs
        .iter()
        .map(|b| mta_ber::reference::walk(b, &limits).expect("the walkers agree"))
        .sum();
    assert_eq!(elements, reference, "the walkers count alike");
    let rounds = 6;
    let per_round = seconds / f64::from(rounds * 2);
    let (mut best_walk, mut best_ref) = (0f64, 0f64);
    for _ in 0..rounds {
        best_ref = best_ref.max(rate(per_round, elements, || {
            bufs.iter()
                .map(|b| mta_ber::reference::walk(black_box(b), &limits).unwrap_or(0))
                .sum()
        }));
        best_walk = best_walk.max(rate(per_round, elements, || {
            bufs.iter()
                .map(|b| mta_ber::walk(black_box(b), &limits, &mut ()).unwrap_or(0))
                .sum()
        }));
    }
    BerRow {
        mix: mix.name,
        buffers: bufs.len(),
        elements,
        reference_per_s: best_ref,
        walk_per_s: best_walk,
        ratio: best_walk / best_ref.max(1e-9),
    }
}

/// Elements/s of `pass` (which walks every buffer once and returns the elements) over passes
/// repeated for at least `seconds` (and at least once).
#[allow(clippy::disallowed_types)] // wall clock: what a benchmark measures
fn rate(seconds: f64, elements: u64, mut pass: impl FnMut() -> u64) -> f64 {
    let started = std::time::Instant::now();
    let mut passes = 0u64;
    loop {
        assert_eq!(black_box(pass()), elements);
        passes += 1;
        if started.elapsed().as_secs_f64() >= seconds {
            break;
        }
    }
    (passes * elements) as f64 / started.elapsed().as_secs_f64().max(1e-9)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// For rot only: every mix generates valid BER both walkers count alike, and a tiny budget
    /// measures something. No ratio is asserted (performance lives in the benchmark).
    #[test]
    fn every_mix_measures_on_a_tiny_budget() {
        for mix in MIXES {
            let r = measure(mix, 0.01);
            assert!(r.elements > r.buffers as u64, "{mix:?}");
            assert!(r.walk_per_s > 0.0 && r.reference_per_s > 0.0);
        }
        // The mixes differ as named.
        let indef = buffers(MIXES[2], 50);
        assert!(indef.iter().any(|b| b.windows(2).any(|w| w == [0, 0])));
    }
}
