//! Checked field helpers over [`Tlv`] for the protocol crates built on BER (presentation, ACSE,
//! RTSE, P1): INTEGER contents (X.690 8.3, minimal), explicit tags, child iteration, tag checks.
//! Errors are a location and a static reason; each crate wraps them in its own error type.

use crate::{Children, Tag, Tlv};

/// A field-level violation: where and what.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FieldError {
    /// Offset of the element.
    pub offset: usize,
    /// What is wrong.
    pub reason: &'static str,
}

const fn err(offset: usize, reason: &'static str) -> FieldError {
    FieldError { offset, reason }
}

/// Decode INTEGER contents: 1..=8 octets, minimal two's complement (X.690 8.3.2).
#[inline]
pub fn int(t: &Tlv<'_>) -> Result<i64, FieldError> {
    let c = t.contents;
    if t.header.tag.constructed || c.is_empty() || c.len() > 8 {
        return Err(err(t.offset, "INTEGER of 0 or more than 8 octets"));
    }
    if c.len() > 1 && ((c[0] == 0 && c[1] & 0x80 == 0) || (c[0] == 0xff && c[1] & 0x80 != 0)) {
        return Err(err(t.offset, "INTEGER not minimally encoded"));
    }
    let mut v: i64 = if c[0] & 0x80 != 0 { -1 } else { 0 };
    for &b in c {
        v = (v << 8) | i64::from(b);
    }
    Ok(v)
}

/// Minimal two's-complement contents of an INTEGER.
pub fn int_contents(v: i64) -> Vec<u8> {
    let bytes = v.to_be_bytes();
    let mut start = 0;
    while start < 7 {
        let (a, b) = (bytes[start], bytes[start + 1]);
        if (a == 0 && b & 0x80 == 0) || (a == 0xff && b & 0x80 != 0) {
            start += 1;
        } else {
            break;
        }
    }
    bytes[start..].to_vec()
}

/// The children of a constructed element (an error for a primitive one), without collecting.
#[inline]
pub fn each<'a>(t: &Tlv<'a>) -> Result<Children<'a>, FieldError> {
    if !t.header.tag.constructed {
        return Err(err(t.offset, "expected a constructed element"));
    }
    Ok(t.children())
}

/// The single element inside an explicit tag.
#[inline]
pub fn explicit<'a>(t: &Tlv<'a>) -> Result<Tlv<'a>, FieldError> {
    let mut it = each(t)?;
    match (it.next(), it.next()) {
        (Some(one), None) => Ok(one),
        _ => Err(err(t.offset, "explicit tag must hold exactly one element")),
    }
}

/// Require `t` to carry `tag`.
#[inline]
pub fn expect(t: &Tlv<'_>, tag: Tag, reason: &'static str) -> Result<(), FieldError> {
    if t.header.tag == tag {
        Ok(())
    } else {
        Err(err(t.offset, reason))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Encoder, Limits};

    #[test]
    fn integers_round_trip_and_reject_non_minimal() {
        for v in [
            0i64,
            1,
            127,
            128,
            255,
            256,
            -1,
            -128,
            -129,
            i64::MAX,
            i64::MIN,
        ] {
            let mut e = Encoder::new();
            e.primitive(Tag::universal(2), &int_contents(v));
            let b = e.finish();
            let (t, _) = Tlv::parse(&b, &Limits::default()).unwrap();
            assert_eq!(int(&t), Ok(v));
        }
        let (t, _) = Tlv::parse(&[0x02, 0x02, 0x00, 0x01], &Limits::default()).unwrap();
        assert_eq!(int(&t).unwrap_err().reason, "INTEGER not minimally encoded");
    }

    /// An INTEGER is refused when constructed, empty or longer than 8 octets — each alone.
    #[test]
    fn integers_refuse_each_bad_shape_alone() {
        let refused = |b: &[u8]| {
            let (t, _) = Tlv::parse(b, &Limits::default()).unwrap();
            int(&t).unwrap_err().reason
        };
        let shape = "INTEGER of 0 or more than 8 octets";
        assert_eq!(
            refused(&[0x22, 0x03, 0x02, 0x01, 0x05]),
            shape,
            "constructed"
        );
        assert_eq!(refused(&[0x02, 0x00]), shape, "empty");
        assert_eq!(
            refused(&[0x02, 0x09, 1, 0, 0, 0, 0, 0, 0, 0, 0]),
            shape,
            "9 octets"
        );
    }
}
