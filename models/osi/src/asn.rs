//! Small X.690 helpers shared by the BER-encoded layers (presentation, ACSE, RTSE): tags, INTEGER
//! and OBJECT IDENTIFIER contents, and a checked element cursor over `mta_ber::Tlv`.

use crate::{Layer, Malformed, Result};
use mta_ber::{Class, Encoder, Limits, Tag, Tlv};
use std::fmt;

/// Limits for every BER parse in this crate (depth 32; lengths up to 16 MiB).
pub const LIMITS: Limits = Limits {
    max_depth: 32,
    max_length: 16 << 20,
};

/// `[n]` context tag, primitive.
pub const fn ctx(n: u32) -> Tag {
    Tag {
        class: Class::Context,
        constructed: false,
        number: n,
    }
}
/// `[n]` context tag, constructed.
pub const fn ctx_c(n: u32) -> Tag {
    Tag {
        class: Class::Context,
        constructed: true,
        number: n,
    }
}
/// `[APPLICATION n]`, constructed.
pub const fn app_c(n: u32) -> Tag {
    Tag {
        class: Class::Application,
        constructed: true,
        number: n,
    }
}
/// Universal constructed tag.
pub const fn univ_c(n: u32) -> Tag {
    Tag {
        class: Class::Universal,
        constructed: true,
        number: n,
    }
}
/// INTEGER.
pub const INTEGER: Tag = Tag::universal(2);
/// OCTET STRING.
pub const OCTET_STRING: Tag = Tag::universal(4);
/// OBJECT IDENTIFIER.
pub const OID: Tag = Tag::universal(6);
/// SET / SET OF.
pub const SET: Tag = univ_c(17);
/// SEQUENCE / SEQUENCE OF.
pub const SEQUENCE: Tag = univ_c(16);
/// EXTERNAL.
pub const EXTERNAL: Tag = univ_c(8);

pub use mta_ber::field::int_contents;

fn field(layer: Layer) -> impl Fn(mta_ber::field::FieldError) -> Malformed {
    move |e| Malformed::new(layer, e.offset, e.reason)
}

/// Decode INTEGER contents (1..=8 octets, minimal).
pub fn parse_int(layer: Layer, t: &Tlv<'_>) -> Result<i64> {
    mta_ber::field::int(t).map_err(field(layer))
}

/// An OBJECT IDENTIFIER, held as its contents octets.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Oid(pub Vec<u8>);

impl Oid {
    /// From arcs (the first two combined as X.690 8.19.4 says).
    pub fn from_arcs(arcs: &[u32]) -> Oid {
        let mut out = Vec::new();
        let mut push = |mut v: u64| {
            let mut tmp = [0u8; 10];
            let mut n = 0;
            loop {
                tmp[n] = (v & 0x7f) as u8;
                v >>= 7;
                n += 1;
                if v == 0 {
                    break;
                }
            }
            for i in (0..n).rev() {
                out.push(tmp[i] | if i > 0 { 0x80 } else { 0 });
            }
        };
        push(u64::from(arcs[0]) * 40 + u64::from(arcs[1]));
        for &a in &arcs[2..] {
            push(u64::from(a));
        }
        Oid(out)
    }

    /// Check the contents of an OBJECT IDENTIFIER element.
    pub fn parse(layer: Layer, t: &Tlv<'_>) -> Result<Oid> {
        let c = t.contents;
        if c.is_empty() || c.last().is_some_and(|b| b & 0x80 != 0) {
            return Err(Malformed::new(
                layer,
                t.offset,
                "OBJECT IDENTIFIER truncated",
            ));
        }
        let mut prev_end = true;
        for &b in c {
            if prev_end && b == 0x80 {
                return Err(Malformed::new(
                    layer,
                    t.offset,
                    "OBJECT IDENTIFIER arc not minimal",
                ));
            }
            prev_end = b & 0x80 == 0;
        }
        Ok(Oid(c.to_vec()))
    }

    /// The arcs.
    pub fn arcs(&self) -> Vec<u64> {
        let mut out = Vec::new();
        let mut v: u64 = 0;
        for &b in &self.0 {
            v = v.wrapping_shl(7) | u64::from(b & 0x7f);
            if b & 0x80 == 0 {
                if out.is_empty() {
                    let first = (v / 40).min(2);
                    out.push(first);
                    out.push(v - first * 40);
                } else {
                    out.push(v);
                }
                v = 0;
            }
        }
        out
    }
}

impl fmt::Display for Oid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let arcs = self.arcs();
        for (i, a) in arcs.iter().enumerate() {
            if i > 0 {
                f.write_str(".")?;
            }
            write!(f, "{a}")?;
        }
        Ok(())
    }
}

/// Well-known object identifiers of the X.400 P1 stack (PROTOCOLS.md section 5).
pub mod oids {
    use super::Oid;
    /// BER transfer syntax {joint-iso-itu-t asn1(1) basic-encoding(1)}.
    pub fn ber() -> Oid {
        Oid::from_arcs(&[2, 1, 1])
    }
    /// ACSE abstract syntax (acse-as-id, X.227).
    pub fn acse() -> Oid {
        Oid::from_arcs(&[2, 2, 1, 0, 1])
    }
    /// id-ac-mts-transfer: the MTA-to-MTA application context (X.411).
    pub fn ac_mts_transfer() -> Oid {
        Oid::from_arcs(&[2, 6, 0, 1, 6])
    }
    /// id-as-mta-rtse: RTSE APDUs carrying the MTA bind and P1 APDUs (X.411).
    pub fn as_mta_rtse() -> Oid {
        Oid::from_arcs(&[2, 6, 0, 2, 12])
    }
    /// id-as-mtse: the MTS-APDU abstract syntax (X.411), referenced by the EXTERNAL in RTTR.
    pub fn as_mtse() -> Oid {
        Oid::from_arcs(&[2, 6, 0, 2, 7])
    }
}

/// The children of a constructed element, requiring it to be constructed.
pub fn children<'a>(layer: Layer, t: &Tlv<'a>) -> Result<Vec<Tlv<'a>>> {
    Ok(mta_ber::field::each(t).map_err(field(layer))?.collect())
}

/// Parse one complete element covering `b`.
pub fn parse_exact(layer: Layer, b: &[u8]) -> Result<Tlv<'_>> {
    Tlv::parse_exact(b, &LIMITS).map_err(|e| Malformed::new(layer, e.offset, ber_reason(&e)))
}

/// A static description of a BER error (the layer error carries `&'static str`).
pub fn ber_reason(e: &mta_ber::Error) -> &'static str {
    e.kind.reason()
}

/// Append an INTEGER with tag `tag`.
pub fn put_int(e: &mut Encoder, tag: Tag, v: i64) {
    e.primitive(tag, &int_contents(v));
}

/// Expect `t` to have `tag`.
pub fn expect(layer: Layer, t: &Tlv<'_>, tag: Tag, reason: &'static str) -> Result<()> {
    mta_ber::field::expect(t, tag, reason).map_err(field(layer))
}

/// The single child of an explicitly tagged element.
pub fn explicit<'a>(layer: Layer, t: &Tlv<'a>) -> Result<Tlv<'a>> {
    mta_ber::field::explicit(t).map_err(field(layer))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn oid_round_trip() {
        let o = oids::as_mta_rtse();
        assert_eq!(o.0, [0x56, 0x00, 0x02, 0x0c]);
        assert_eq!(o.to_string(), "2.6.0.2.12");
        assert_eq!(
            Oid::from_arcs(&[1, 2, 840, 113549]).to_string(),
            "1.2.840.113549"
        );
    }
}
