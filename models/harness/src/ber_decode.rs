//! `ber_decode`: arbitrary octets through the BER walker, the zero-copy view, the owned tree, the
//! encoder and the dump. Oracles: never panics; for valid input decode → encode → decode is the
//! identity, the predicted encoded size is exact, the view and the tree agree, the dump succeeds;
//! for invalid input every entry point reports the same error at the same offset; and the verdict
//! agrees with an independent BER parser (`asn1-rs` 0.7, BER mode) except for the divergences listed
//! in [`DIVERGENCES`].

use crate::Failure;
use asn1_rs::FromBer;
use mta_ber::{Class, ErrorKind, Limits, Node, Tag, Tlv, Value};
use mta_build::Build;

const TARGET: &str = "ber_decode";

/// Limits for the harness: shallower than asn1-rs's recursion limit (50) so depth is not a
/// divergence, large enough for any input a fuzzer builds.
pub const LIMITS: Limits = Limits {
    max_depth: 40,
    max_length: 1 << 20,
};

/// Where X.690 (and so mta-ber) and asn1-rs 0.7 differ; the differential accepts exactly these.
/// Each entry: (the error mta-ber reports, why asn1-rs accepts the input anyway).
pub const DIVERGENCES: &[(&str, &str)] = &[
    (
        "TagLeadingZero",
        "X.690 8.1.2.4.2 c forbids a 0x80 first subsequent tag octet; asn1-rs decodes it",
    ),
    (
        "TagNotMinimal",
        "X.690 8.1.2.2 requires the one-octet form for tag numbers 0-30; asn1-rs accepts the \
         high-tag-number form for them",
    ),
    (
        "TagOverflow",
        "asn1-rs keeps only the low 32 bits of a tag of up to five subsequent octets; mta-ber \
         rejects numbers above 2^32-1",
    ),
    (
        "UnexpectedEoc",
        "asn1-rs parses `00 00` inside definite-length contents (and at top level) as an ordinary \
         element with tag 0; X.690 8.1.5 allows it only to close an indefinite-length element",
    ),
    (
        "EocByTagNumberOnly",
        "asn1-rs treats any zero-length element with tag number 0 (`40 00`, `80 00`, `c0 00`, or \
         the constructed `20 00`…) as end-of-contents; X.690 8.1.5 requires universal primitive \
         `00 00`, also in long form (`80 81 00`). So asn1-rs closes early on a valid empty `[0]` (`80 00`) and accepts an \
         unterminated element ending in `40 00`; both directions are exempt for inputs holding \
         such an octet pair (found by the smoke campaign, seed 1)",
    ),
    (
        "InvalidEoc",
        "asn1-rs accepts universal tag 0 with a non-zero length or the constructed bit as an \
         ordinary element; X.680 reserves UNIVERSAL 0 for the encoding rules",
    ),
];

/// Name of an error kind (the outcome class and the divergence key).
pub fn kind_name(k: ErrorKind) -> &'static str {
    match k {
        ErrorKind::Truncated { .. } => "Truncated",
        ErrorKind::ReservedLength => "ReservedLength",
        ErrorKind::LengthOverflow { .. } => "LengthOverflow",
        ErrorKind::LengthLimit { .. } => "LengthLimit",
        ErrorKind::IndefinitePrimitive => "IndefinitePrimitive",
        ErrorKind::TagOverflow => "TagOverflow",
        ErrorKind::TagLeadingZero => "TagLeadingZero",
        ErrorKind::TagNotMinimal(_) => "TagNotMinimal",
        ErrorKind::UnexpectedEoc => "UnexpectedEoc",
        ErrorKind::InvalidEoc => "InvalidEoc",
        ErrorKind::MissingEoc { .. } => "MissingEoc",
        ErrorKind::ChildOverrun { .. } => "ChildOverrun",
        ErrorKind::DepthExceeded { .. } => "DepthExceeded",
        ErrorKind::TrailingData(_) => "TrailingData",
        ErrorKind::Empty => "Empty",
    }
}

/// Which independent decoder to compare with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Model {
    /// asn1-rs, as is.
    Asn1Rs,
    /// Canary: asn1-rs with the indefinite-length flag forgotten in its projection.
    Asn1RsForgetsIndefinite,
}

fn fail(what: impl Into<String>) -> Failure {
    Failure::new(TARGET, what)
}

/// Project asn1-rs's view of `input` onto a [`Node`] tree (exactly one element, no trailing data).
pub fn asn1rs_decode(input: &[u8], model: Model) -> Option<Node> {
    fn one(input: &[u8], depth: usize, model: Model) -> Option<(Node, &[u8])> {
        if depth > LIMITS.max_depth + 1 {
            return None;
        }
        let (rest, any) = asn1_rs::Any::from_ber(input).ok()?;
        let h = &any.header;
        let class = match h.class() {
            asn1_rs::Class::Universal => Class::Universal,
            asn1_rs::Class::Application => Class::Application,
            asn1_rs::Class::ContextSpecific => Class::Context,
            asn1_rs::Class::Private => Class::Private,
        };
        let tag = Tag::new(class, h.is_constructed(), h.tag().0);
        let indefinite = h.length() == asn1_rs::Length::Indefinite && model == Model::Asn1Rs;
        let value = if h.is_constructed() {
            let mut kids = Vec::new();
            let mut data = any.data;
            while !data.is_empty() {
                let (k, r) = one(data, depth + 1, model)?;
                kids.push(k);
                data = r;
            }
            Value::Constructed(kids)
        } else {
            Value::Primitive(any.data.to_vec())
        };
        Some((
            Node {
                tag,
                indefinite,
                value,
            },
            rest,
        ))
    }
    match one(input, 0, model)? {
        (n, []) => Some(n),
        _ => None,
    }
}

/// Whether the input holds an octet pair asn1-rs would take for end-of-contents although X.690 does
/// not: identifier with tag number 0 other than `00`, then length `00` (divergence
/// "EocByTagNumberOnly"). Conservative: the pair may sit inside contents.
pub fn has_non_universal_eoc_lookalike(input: &[u8]) -> bool {
    (0..input.len()).any(|i| {
        let id = input[i];
        if id == 0 || id & 0x1f != 0 {
            return false;
        }
        match input.get(i + 1) {
            Some(0) => true,
            // long-form zero length: 0x81 00, 0x82 00 00, …
            // any long-form length whose octets are all zero (X.690 allows leading zeros)
            Some(&l) if (0x81..=0xfe).contains(&l) => {
                let n = usize::from(l & 0x7f);
                input
                    .get(i + 2..i + 2 + n)
                    .is_some_and(|o| o.iter().all(|&b| b == 0))
            }
            _ => false,
        }
    })
}

fn tree_from_view(t: Tlv<'_>) -> Node {
    Node {
        tag: t.header.tag,
        indefinite: t.header.length == mta_ber::Length::Indefinite,
        value: if t.header.tag.constructed {
            Value::Constructed(t.children().map(tree_from_view).collect())
        } else {
            Value::Primitive(t.contents.to_vec())
        },
    }
}

/// Run a byte input (the fuzz-target entry point). The build does not change BER.
pub fn run_bytes(_build: Build, input: &[u8]) -> Result<&'static str, Failure> {
    run(input, Model::Asn1Rs)
}

/// Run one input against the chosen independent decoder.
pub fn run(input: &[u8], model: Model) -> Result<&'static str, Failure> {
    let walked = mta_ber::walk(input, &LIMITS, &mut ());
    // The plain reference walker (the benchmark's yardstick) accepts exactly what the walker
    // accepts, with the same element count.
    let reference = mta_ber::reference::walk(input, &LIMITS);
    if reference != walked.as_ref().ok().copied() {
        return Err(fail(format!(
            "reference walker {reference:?}, walk {walked:?}"
        )));
    }
    let ours = mta_ber::decode(input, &LIMITS);
    let view = Tlv::parse_exact(input, &LIMITS);
    let (dump_text, dump_err) = mta_ber::dump(input, &LIMITS);
    let theirs = asn1rs_decode(input, model);
    match (&walked, &ours) {
        (Ok(count), Ok(tree)) => {
            if *count != tree.count() {
                return Err(fail(format!(
                    "walk counted {count}, tree has {}",
                    tree.count()
                )));
            }
            let bytes = tree.encode();
            if bytes.len() != tree.encoded_len() {
                return Err(fail("encoded length differs from the prediction"));
            }
            match mta_ber::decode(&bytes, &LIMITS) {
                Ok(again) if again == *tree => {}
                other => return Err(fail(format!("decode(encode(x)) != x: {other:?}"))),
            }
            let view = view.map_err(|e| fail(format!("view rejects what walk accepts: {e}")))?;
            if tree_from_view(view) != *tree {
                return Err(fail("zero-copy view and owned tree disagree"));
            }
            if dump_err.is_some() || dump_text.lines().count() < 1 {
                return Err(fail(format!("dump failed on valid input: {dump_err:?}")));
            }
            let lookalike = has_non_universal_eoc_lookalike(input);
            match theirs {
                Some(t) if t == *tree => Ok("valid"),
                _ if lookalike => Ok("valid-eoc-lookalike"),
                Some(t) => Err(fail(format!(
                    "asn1-rs decodes differently: {t:?} vs {tree:?}"
                ))),
                None => Err(fail("asn1-rs rejects input mta-ber accepts")),
            }
        }
        (Err(e), Err(e2)) => {
            if e != e2 || view.as_ref().err() != Some(e) {
                return Err(fail(format!(
                    "entry points disagree: walk {e}, decode {e2}, view {view:?}"
                )));
            }
            if !matches!(e.kind, ErrorKind::TrailingData(_)) && dump_err != Some(*e) {
                return Err(fail(format!("dump reports {dump_err:?}, walk {e}")));
            }
            let name = kind_name(e.kind);
            let listed = DIVERGENCES.iter().any(|(k, _)| *k == name)
                || has_non_universal_eoc_lookalike(input);
            if theirs.is_some() && !listed {
                return Err(fail(format!(
                    "asn1-rs accepts input mta-ber rejects with {e} (not a listed divergence)"
                )));
            }
            Ok(name)
        }
        _ => Err(fail(format!("walk {walked:?} but decode {ours:?}"))),
    }
}

/// Meaningful seed inputs: (file name, bytes).
/// An OCTET STRING of `n` octets in the minimal length form.
fn boundary_octet_string(n: usize) -> Vec<u8> {
    let mut v = Vec::new();
    mta_ber::write_header(
        &mut v,
        Tag::new(Class::Universal, false, 4),
        mta_ber::Length::Definite(n),
    );
    v.extend(std::iter::repeat_n(0x5a, n));
    v
}

/// Meaningful seed inputs: (file name, bytes).
pub fn seeds() -> Vec<(&'static str, Vec<u8>)> {
    vec![
        (
            "p1-orname-country-admd",
            // ORName: [APPLICATION 0] { [APPLICATION 1] PrintableString "US", [APPLICATION 2] "ATTMAIL" }
            vec![
                0x60, 0x12, 0x61, 0x04, 0x13, 0x02, b'U', b'S', 0x62, 0x0a, 0x13, 0x08, b' ', b'A',
                b'T', b'T', b'M', b'A', b'I', b'L',
            ],
        ),
        (
            "aarq-context-oid-2.6.0.1.6",
            // AARQ { [1] { OID id-ac-mts-transfer } }
            vec![0x60, 0x08, 0xa1, 0x06, 0x06, 0x04, 0x56, 0x00, 0x01, 0x06],
        ),
        (
            "indefinite-nested-with-high-tag",
            vec![
                0x30, 0x80, 0xbf, 0x87, 0x68, 0x80, 0x04, 0x01, 0x2a, 0x00, 0x00, 0x02, 0x02, 0x01,
                0x00, 0x00, 0x00,
            ],
        ),
        ("long-form-length", {
            let mut v = vec![0x04, 0x82, 0x01, 0x00];
            v.extend(std::iter::repeat_n(0x5a, 256));
            v
        }),
        ("reserved-length-0xff", vec![0x30, 0xff, 0x00]),
        // X.690 8.1.3 boundaries: the longest short form, the first long forms.
        ("length-boundary-0", vec![0x04, 0x00]),
        ("length-boundary-1", vec![0x04, 0x01, 0x5a]),
        ("length-boundary-127", boundary_octet_string(127)),
        ("length-boundary-128", boundary_octet_string(128)),
        ("length-boundary-254", boundary_octet_string(254)),
        ("length-boundary-255", boundary_octet_string(255)),
        ("missing-eoc", vec![0x30, 0x80, 0x05, 0x00]),
        ("eoc-in-definite", vec![0x30, 0x02, 0x00, 0x00]),
        (
            "child-overrun",
            vec![0x30, 0x03, 0x04, 0x05, 0x00, 0x00, 0x00],
        ),
        (
            // Found by `mta-lab smoke --seed 1`: asn1-rs closes the indefinite SEQUENCE at `40 00`.
            "eoc-lookalike-application-0",
            vec![
                0x30, 0x80, 0xbf, 0x87, 0x68, 0x80, 0x04, 0x01, 0x2a, 0x00, 0x00, 0x02, 0x02, 0x01,
                0x00, 0x40, 0x00,
            ],
        ),
        (
            // Found by `mta-lab smoke --seed 1`: a valid empty [0] that asn1-rs takes for EOC.
            "empty-context-0-in-indefinite",
            vec![0x30, 0x80, 0x02, 0x01, 0x05, 0x80, 0x00, 0x00, 0x00],
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeds_hold() {
        for (name, bytes) in seeds() {
            let out = run(&bytes, Model::Asn1Rs).unwrap_or_else(|f| panic!("{name}: {f}"));
            assert!(!out.is_empty());
        }
        assert_eq!(run(&seeds()[2].1, Model::Asn1Rs), Ok("valid"));
        assert_eq!(run(&seeds()[4].1, Model::Asn1Rs), Ok("ReservedLength"));
    }

    #[test]
    fn canary_broken_projection_is_caught() {
        let err = run(&seeds()[2].1, Model::Asn1RsForgetsIndefinite).unwrap_err();
        assert!(err.what.contains("asn1-rs decodes differently"), "{err}");
    }
}
