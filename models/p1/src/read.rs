//! Checked reading and writing helpers over `mta_ber` for the P1 types: typed errors with offsets,
//! character-set and upper-bound checks (X.411 `MTSUpperBounds`), UTCTime syntax.

use crate::{Error, Result};
use mta_ber::{Class, Encoder, Limits, Tag, Tlv};

/// Limits for P1 decoding: P1 envelopes nest about 12 deep; 32 leaves room for extensions.
pub const LIMITS: Limits = Limits {
    max_depth: 32,
    max_length: 64 << 20,
};

pub(crate) const fn err(offset: usize, reason: &'static str) -> Error {
    Error { offset, reason }
}

/// Universal string tags used by P1.
pub mod string_tag {
    /// NumericString.
    pub const NUMERIC: u32 = 18;
    /// PrintableString.
    pub const PRINTABLE: u32 = 19;
    /// TeletexString (T61String).
    pub const TELETEX: u32 = 20;
    /// IA5String.
    pub const IA5: u32 = 22;
    /// UTCTime.
    pub const UTC_TIME: u32 = 23;
}

pub(crate) const fn ctx(n: u32, constructed: bool) -> Tag {
    Tag::new(Class::Context, constructed, n)
}
pub(crate) const fn app(n: u32, constructed: bool) -> Tag {
    Tag::new(Class::Application, constructed, n)
}
pub(crate) const fn univ(n: u32, constructed: bool) -> Tag {
    Tag::new(Class::Universal, constructed, n)
}

pub(crate) fn parse_exact(b: &[u8]) -> Result<Tlv<'_>> {
    Tlv::parse_exact(b, &LIMITS).map_err(|e| Error {
        offset: e.offset,
        reason: e.kind.reason(),
    })
}

fn field(e: mta_ber::field::FieldError) -> Error {
    err(e.offset, e.reason)
}

pub(crate) fn kids<'a>(t: &Tlv<'a>) -> Result<Vec<Tlv<'a>>> {
    Ok(each(t)?.collect())
}

pub(crate) fn expect(t: &Tlv<'_>, tag: Tag, reason: &'static str) -> Result<()> {
    mta_ber::field::expect(t, tag, reason).map_err(field)
}

/// The children of a constructed element, without collecting them.
pub(crate) fn each<'a>(t: &Tlv<'a>) -> Result<impl Iterator<Item = Tlv<'a>> + 'a> {
    mta_ber::field::each(t).map_err(field)
}

/// The single element inside an explicit tag.
pub(crate) fn explicit<'a>(t: &Tlv<'a>) -> Result<Tlv<'a>> {
    mta_ber::field::explicit(t).map_err(field)
}

pub(crate) fn int(t: &Tlv<'_>) -> Result<i64> {
    mta_ber::field::int(t).map_err(field)
}

pub(crate) fn int_in(t: &Tlv<'_>, lo: i64, hi: i64, reason: &'static str) -> Result<i64> {
    let v = int(t)?;
    if (lo..=hi).contains(&v) {
        Ok(v)
    } else {
        Err(err(t.offset, reason))
    }
}

pub(crate) use mta_ber::field::int_contents;

pub(crate) fn put_int(e: &mut Encoder, tag: Tag, v: i64) {
    e.primitive(tag, &int_contents(v));
}

/// BIT STRING contents: unused-bits octet 0..=7, no unused bits in an empty string.
pub(crate) fn bit_string(t: &Tlv<'_>, max_bits: usize) -> Result<Vec<u8>> {
    let c = t.contents;
    if t.header.tag.constructed {
        return Err(err(t.offset, "constructed BIT STRING not supported"));
    }
    match c {
        [] => Err(err(t.offset, "BIT STRING without unused-bits octet")),
        [u, ..] if *u > 7 || (c.len() == 1 && *u != 0) => {
            Err(err(t.offset, "BIT STRING unused-bits octet out of range"))
        }
        _ if (c.len() - 1) * 8 - usize::from(c[0]) > max_bits => {
            Err(err(t.offset, "BIT STRING longer than its upper bound"))
        }
        _ => Ok(c.to_vec()),
    }
}

/// PrintableString's character set (X.680 41.4) as a lookup table.
const PRINTABLE: [bool; 256] = {
    let mut t = [false; 256];
    let mut i = 0;
    while i < 256 {
        let b = i as u8;
        t[i] = b.is_ascii_alphanumeric()
            || matches!(
                b,
                b' ' | b'\'' | b'(' | b')' | b'+' | b',' | b'-' | b'.' | b'/' | b':' | b'=' | b'?'
            );
        i += 1;
    }
    t
};

fn printable_ok(b: u8) -> bool {
    PRINTABLE[usize::from(b)]
}

/// A character string with its universal type kept (so re-encoding is faithful).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Text {
    /// Universal tag number ([`string_tag`]).
    pub tag: u32,
    /// The characters (inline up to 24 octets: most O/R name parts never allocate).
    pub value: compact_str::CompactString,
}

impl Text {
    /// A PrintableString (panics on characters outside the set: a caller bug).
    pub fn printable(s: &str) -> Text {
        assert!(
            s.bytes().all(printable_ok),
            "{s:?} is not a PrintableString"
        );
        Text {
            tag: string_tag::PRINTABLE,
            value: s.into(),
        }
    }
    /// A NumericString.
    pub fn numeric(s: &str) -> Text {
        assert!(s.bytes().all(|b| b.is_ascii_digit() || b == b' '));
        Text {
            tag: string_tag::NUMERIC,
            value: s.into(),
        }
    }
    /// An IA5String.
    pub fn ia5(s: &str) -> Text {
        assert!(s.is_ascii());
        Text {
            tag: string_tag::IA5,
            value: s.into(),
        }
    }

    /// Decode a primitive string element of one of `allowed` types, `min..=max` characters.
    pub(crate) fn parse(t: &Tlv<'_>, allowed: &[u32], min: usize, max: usize) -> Result<Text> {
        let tag = t.header.tag;
        if tag.class != Class::Universal || tag.constructed || !allowed.contains(&tag.number) {
            return Err(err(t.offset, "unexpected string type"));
        }
        let c = t.contents;
        let ok = match tag.number {
            string_tag::NUMERIC => c.iter().all(|b| b.is_ascii_digit() || *b == b' '),
            string_tag::PRINTABLE => c.iter().copied().all(printable_ok),
            string_tag::IA5 => c.is_ascii(),
            _ => true,
        };
        if !ok {
            return Err(err(t.offset, "character outside the string type's set"));
        }
        if c.len() < min || c.len() > max {
            return Err(err(t.offset, "string length outside its bounds"));
        }
        // Teletex octets are kept one char per octet (Latin-1 view) so nothing is lost; the
        // other types are ASCII (checked above) and copy straight.
        let value = if c.is_ascii() {
            compact_str::CompactString::from_utf8(c).expect("ASCII is UTF-8")
        } else {
            c.iter().map(|&b| char::from(b)).collect()
        };
        Ok(Text {
            tag: tag.number,
            value,
        })
    }

    pub(crate) fn emit(&self, e: &mut Encoder, tag: Tag) {
        let bytes: Vec<u8> = self.value.chars().map(|c| c as u8).collect();
        e.primitive(tag, &bytes);
    }

    pub(crate) fn emit_universal(&self, e: &mut Encoder) {
        self.emit(e, univ(self.tag, false));
    }
}

impl std::fmt::Display for Text {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.value)
    }
}

/// UTCTime (X.680 47): `YYMMDDhhmm[ss](Z|±hhmm)`.
pub(crate) fn utc_time(t: &Tlv<'_>) -> Result<String> {
    let c = t.contents;
    let s = std::str::from_utf8(c).map_err(|_| err(t.offset, "UTCTime is not ASCII"))?;
    let digits = |r: std::ops::Range<usize>| {
        s.get(r)
            .is_some_and(|d| d.bytes().all(|b| b.is_ascii_digit()))
    };
    let base = if digits(10..12) { 12 } else { 10 };
    let tz_ok = match s.get(base..) {
        Some("Z") => true,
        Some(z) if z.len() == 5 && (z.starts_with('+') || z.starts_with('-')) => {
            digits(base + 1..base + 5)
        }
        _ => false,
    };
    if !digits(0..10) || !tz_ok || t.header.tag.constructed {
        return Err(err(t.offset, "invalid UTCTime"));
    }
    Ok(s.to_string())
}
