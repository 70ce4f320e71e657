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

#[inline]
pub(crate) fn expect(t: &Tlv<'_>, tag: Tag, reason: &'static str) -> Result<()> {
    mta_ber::field::expect(t, tag, reason).map_err(field)
}

/// The children of a constructed element, without collecting them.
#[inline]
pub(crate) fn each<'a>(t: &Tlv<'a>) -> Result<mta_ber::Children<'a>> {
    mta_ber::field::each(t).map_err(field)
}

/// The single element inside an explicit tag.
#[inline]
pub(crate) fn explicit<'a>(t: &Tlv<'a>) -> Result<Tlv<'a>> {
    mta_ber::field::explicit(t).map_err(field)
}

pub(crate) fn int(t: &Tlv<'_>) -> Result<i64> {
    mta_ber::field::int(t).map_err(field)
}

#[inline]
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
#[inline]
pub(crate) fn bit_string<'a>(t: &Tlv<'a>, max_bits: usize) -> Result<&'a [u8]> {
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
        _ => Ok(c),
    }
}

/// The responsibility bit of per-recipient-indicators BIT STRING contents (bit 0: the first bit
/// after the unused-bits octet).
pub(crate) fn responsibility(indicators: &[u8]) -> bool {
    indicators.get(1).is_some_and(|b| b & 0x80 != 0)
}

/// `t` read as a primitive element of the universal string type `universal` (an implicitly
/// tagged string field).
#[inline]
pub(crate) fn retag<'a>(t: &Tlv<'a>, universal: u32) -> Tlv<'a> {
    let mut r = *t;
    r.header.tag = univ(universal, false);
    r
}

/// Character-set classes of an octet: bit 0 NumericString (digits, space), bit 1 PrintableString
/// (X.680 41.4), bit 2 IA5String (ASCII).
const CHARSET: [u8; 256] = {
    let mut t = [0; 256];
    let mut i = 0;
    while i < 256 {
        let b = i as u8;
        let numeric = b.is_ascii_digit() || b == b' ';
        let printable = b.is_ascii_alphanumeric()
            || matches!(
                b,
                b' ' | b'\'' | b'(' | b')' | b'+' | b',' | b'-' | b'.' | b'/' | b':' | b'=' | b'?'
            );
        t[i] = (numeric as u8) | ((printable as u8) << 1) | ((b.is_ascii() as u8) << 2);
        i += 1;
    }
    t
};

/// The [`CHARSET`] class bit a string type requires of every octet (0: any octet, Teletex).
const fn charset_class(universal: u32) -> u8 {
    match universal {
        string_tag::NUMERIC => 1,
        string_tag::PRINTABLE => 2,
        string_tag::IA5 => 4,
        _ => 0,
    }
}

fn printable_ok(b: u8) -> bool {
    CHARSET[usize::from(b)] & 2 != 0
}

/// Whether `s` is a PrintableString (X.680: letters, digits, space and `'()+,-./:=?`), as
/// [`Text::printable`] requires.
pub fn is_printable(s: &str) -> bool {
    s.bytes().all(printable_ok)
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
        TextRef::parse(t, allowed, min, max).map(Text::from)
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

impl From<TextRef<'_>> for Text {
    fn from(t: TextRef<'_>) -> Text {
        // Teletex octets are kept one char per octet (Latin-1 view) so nothing is lost; the
        // other types are ASCII (checked by the parse) and copy straight.
        let value = match t.as_str() {
            Some(s) => s.into(),
            None => t.octets.iter().map(|&b| char::from(b)).collect(),
        };
        Text { tag: t.tag, value }
    }
}

/// A character string borrowed from the input, with its universal type: what [`Text`] holds,
/// before any copy. Made by the checked views ([`crate::view`]), which validated the character set
/// and the bounds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TextRef<'a> {
    /// Universal tag number ([`string_tag`]).
    pub tag: u32,
    /// The contents octets.
    pub octets: &'a [u8],
}

impl<'a> TextRef<'a> {
    /// Check a primitive string element of one of `allowed` types, `min..=max` characters
    /// (X.680 41: the character set of its type; X.411 `MTSUpperBounds`: the bounds).
    #[inline]
    pub(crate) fn parse(
        t: &Tlv<'a>,
        allowed: &[u32],
        min: usize,
        max: usize,
    ) -> Result<TextRef<'a>> {
        let tag = t.header.tag;
        if tag.class != Class::Universal || tag.constructed || !allowed.contains(&tag.number) {
            return Err(err(t.offset, "unexpected string type"));
        }
        let c = t.contents;
        let class = charset_class(tag.number);
        let ok = class == 0 || c.iter().all(|&b| CHARSET[usize::from(b)] & class != 0);
        if !ok {
            return Err(err(t.offset, "character outside the string type's set"));
        }
        if c.len() < min || c.len() > max {
            return Err(err(t.offset, "string length outside its bounds"));
        }
        Ok(TextRef {
            tag: tag.number,
            octets: c,
        })
    }

    /// The characters as `&str` when they are ASCII: always for Numeric, Printable and IA5
    /// strings; `None` for a Teletex string with octets above 0x7f (see [`Text`] for those).
    pub fn as_str(&self) -> Option<&'a str> {
        if self.octets.is_ascii() {
            std::str::from_utf8(self.octets).ok()
        } else {
            None
        }
    }
}

impl std::fmt::Display for TextRef<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.as_str() {
            Some(s) => f.write_str(s),
            None => self
                .octets
                .iter()
                .try_for_each(|&b| std::fmt::Write::write_char(f, char::from(b))),
        }
    }
}

/// UTCTime (X.680 47): `YYMMDDhhmm[ss](Z|±hhmm)`.
pub(crate) fn utc_time<'a>(t: &Tlv<'a>) -> Result<&'a str> {
    let c = t.contents;
    let digits =
        |r: std::ops::Range<usize>| c.get(r).is_some_and(|d| d.iter().all(u8::is_ascii_digit));
    let base = if digits(10..12) { 12 } else { 10 };
    let tz_ok = match c.get(base..) {
        Some(b"Z") => true,
        Some([b'+' | b'-', _, _, _, _]) => digits(base + 1..base + 5),
        _ => false,
    };
    let valid = digits(0..10) && tz_ok && !t.header.tag.constructed;
    match std::str::from_utf8(c) {
        Err(_) => Err(err(t.offset, "UTCTime is not ASCII")),
        Ok(_) if !valid => Err(err(t.offset, "invalid UTCTime")),
        Ok(s) => Ok(s),
    }
}
