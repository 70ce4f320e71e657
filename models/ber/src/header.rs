//! Identifier and length octets (X.690 8.1.2, 8.1.3).

use crate::{Error, ErrorKind};
use std::fmt;

/// Tag class, bits 8-7 of the identifier octet (X.690 8.1.2.2, table 1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Class {
    /// 00
    Universal,
    /// 01
    Application,
    /// 10
    Context,
    /// 11
    Private,
}

impl Class {
    /// From the two class bits.
    pub const fn from_bits(bits: u8) -> Class {
        match bits & 3 {
            0 => Class::Universal,
            1 => Class::Application,
            2 => Class::Context,
            _ => Class::Private,
        }
    }
    /// The two class bits.
    pub const fn bits(self) -> u8 {
        self as u8
    }
}

/// A tag: class, primitive/constructed (bit 6) and number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Tag {
    /// Class.
    pub class: Class,
    /// Constructed encoding (bit 6 = 1).
    pub constructed: bool,
    /// Tag number.
    pub number: u32,
}

impl Tag {
    /// A primitive universal tag.
    pub const fn universal(number: u32) -> Tag {
        Tag {
            class: Class::Universal,
            constructed: false,
            number,
        }
    }
    /// SEQUENCE / SEQUENCE OF (universal 16, constructed).
    pub const SEQUENCE: Tag = Tag {
        class: Class::Universal,
        constructed: true,
        number: 16,
    };
    /// SET / SET OF (universal 17, constructed).
    pub const SET: Tag = Tag {
        class: Class::Universal,
        constructed: true,
        number: 17,
    };
    /// A tag of any class.
    pub const fn new(class: Class, constructed: bool, number: u32) -> Tag {
        Tag {
            class,
            constructed,
            number,
        }
    }
    /// Is this the end-of-contents marker's tag (universal, primitive, 0)?
    pub const fn is_eoc(self) -> bool {
        matches!(self.class, Class::Universal) && !self.constructed && self.number == 0
    }
}

impl fmt::Display for Tag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&crate::tag_name(*self))
    }
}

/// Length octets (X.690 8.1.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Length {
    /// Definite form, short or long.
    Definite(usize),
    /// Indefinite form (0x80), contents end with end-of-contents.
    Indefinite,
}

/// A parsed identifier + length.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    /// The tag.
    pub tag: Tag,
    /// The length.
    pub length: Length,
    /// Octets of identifier plus length.
    pub header_len: usize,
}

/// [`parse_header`]'s common case on its own, to be inlined in the hot loops over validated
/// elements ([`crate::Children`]): a low tag number (not end-of-contents) and a short-form length,
/// the first two of `octets` — nothing to check beyond what these tests say. `None` for any other
/// header, valid or not.
#[inline]
pub(crate) fn parse_short_header(octets: &[u8]) -> Option<Header> {
    match *octets {
        [b0, l0, ..] if b0 & 0x1f != 0x1f && b0 & 0xdf != 0 && l0 < 0x80 => Some(Header {
            tag: Tag {
                class: Class::from_bits(b0 >> 6),
                constructed: b0 & 0x20 != 0,
                number: u32::from(b0 & 0x1f),
            },
            length: Length::Definite(usize::from(l0)),
            header_len: 2,
        }),
        _ => None,
    }
}

/// Parse identifier and length octets at `input[pos..]`, not reading at or beyond `bound`.
///
/// Errors carry `pos` as offset. Checks the X.690 rules that concern the header alone: high-tag
/// form (minimal, no leading zero septet, fits 32 bits), reserved length 0xFF, length overflow,
/// indefinite primitive, and universal tag 0 (only `00 00` is valid, as end-of-contents).
#[inline]
pub fn parse_header(input: &[u8], pos: usize, bound: usize) -> Result<Header, Error> {
    let err = |kind| Error { offset: pos, kind };
    let avail = bound.min(input.len());
    // The common case first.
    if let Some(h) = input.get(pos..avail).and_then(parse_short_header) {
        return Ok(h);
    }
    if pos >= avail {
        return Err(err(ErrorKind::Truncated { needed: 1 }));
    }
    let b0 = input[pos];
    let class = Class::from_bits(b0 >> 6);
    let constructed = b0 & 0x20 != 0;
    let mut number = u32::from(b0 & 0x1f);
    let mut p = pos + 1;
    if number == 0x1f {
        // X.690 8.1.2.4: high-tag-number form, base-128, bit 8 = more.
        number = 0;
        let first = p;
        loop {
            if p >= avail {
                return Err(err(ErrorKind::Truncated { needed: 1 }));
            }
            let b = input[p];
            if p == first && b == 0x80 {
                return Err(err(ErrorKind::TagLeadingZero));
            }
            if number > (u32::MAX >> 7) {
                return Err(err(ErrorKind::TagOverflow));
            }
            number = (number << 7) | u32::from(b & 0x7f);
            p += 1;
            if b & 0x80 == 0 {
                break;
            }
        }
        if number < 31 {
            return Err(err(ErrorKind::TagNotMinimal(number)));
        }
    }
    if p >= avail {
        return Err(err(ErrorKind::Truncated { needed: 1 }));
    }
    let l0 = input[p];
    p += 1;
    let length = if l0 < 0x80 {
        Length::Definite(usize::from(l0))
    } else if l0 == 0x80 {
        if !constructed {
            return Err(err(ErrorKind::IndefinitePrimitive));
        }
        Length::Indefinite
    } else if l0 == 0xff {
        return Err(err(ErrorKind::ReservedLength));
    } else {
        let n = usize::from(l0 & 0x7f);
        if p + n > avail {
            return Err(err(ErrorKind::Truncated {
                needed: p + n - avail,
            }));
        }
        let mut v: u64 = 0;
        for &b in &input[p..p + n] {
            if v >> 56 != 0 {
                return Err(err(ErrorKind::LengthOverflow { octets: n as u8 }));
            }
            v = (v << 8) | u64::from(b);
        }
        p += n;
        Length::Definite(
            usize::try_from(v).map_err(|_| err(ErrorKind::LengthOverflow { octets: n as u8 }))?,
        )
    };
    let tag = Tag {
        class,
        constructed,
        number,
    };
    // X.690 8.1.5: end-of-contents is exactly the two octets `00 00` (not `00 81 00`).
    if class == Class::Universal && number == 0 && (b0 != 0 || p - pos != 2 || l0 != 0) {
        return Err(err(ErrorKind::InvalidEoc));
    }
    Ok(Header {
        tag,
        length,
        header_len: p - pos,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kind(bytes: &[u8]) -> ErrorKind {
        parse_header(bytes, 0, bytes.len()).unwrap_err().kind
    }

    #[test]
    fn short_and_long_forms() {
        let h = parse_header(&[0x30, 0x03], 0, 2).unwrap();
        assert_eq!(h.tag, Tag::SEQUENCE);
        assert_eq!(h.length, Length::Definite(3));
        let h = parse_header(&[0x04, 0x82, 0x01, 0x00], 0, 4).unwrap();
        assert_eq!((h.length, h.header_len), (Length::Definite(256), 4));
        let h = parse_header(&[0xbf, 0x87, 0x68, 0x80], 0, 4).unwrap();
        assert_eq!(h.tag, Tag::new(Class::Context, true, 1000));
        assert_eq!(h.length, Length::Indefinite);
    }

    #[test]
    fn header_violations() {
        assert_eq!(kind(&[0x04, 0xff]), ErrorKind::ReservedLength);
        assert_eq!(kind(&[0x04, 0x80]), ErrorKind::IndefinitePrimitive);
        assert_eq!(kind(&[0x1f, 0x80, 0x01, 0x00]), ErrorKind::TagLeadingZero);
        assert_eq!(kind(&[0x1f, 0x1e, 0x00]), ErrorKind::TagNotMinimal(30));
        assert_eq!(
            kind(&[0x1f, 0x90, 0x80, 0x80, 0x80, 0x00, 0x00]),
            ErrorKind::TagOverflow
        );
        assert_eq!(kind(&[0x20, 0x00]), ErrorKind::InvalidEoc);
        assert_eq!(kind(&[0x00, 0x01, 0x00]), ErrorKind::InvalidEoc);
        // Found by `mta-lab smoke --seed 7`: a long-form zero length is not an end-of-contents.
        assert_eq!(kind(&[0x00, 0x81, 0x00]), ErrorKind::InvalidEoc);
        assert_eq!(
            kind(&[0x04, 0x89, 1, 0, 0, 0, 0, 0, 0, 0, 0]),
            ErrorKind::LengthOverflow { octets: 9 }
        );
        assert_eq!(
            kind(&[0x04, 0x82, 0x01]),
            ErrorKind::Truncated { needed: 1 }
        );
        assert_eq!(kind(&[0x1f]), ErrorKind::Truncated { needed: 1 });
    }

    /// A long-form length cut short is truncated by exactly the octets missing, however few.
    #[test]
    fn long_form_lengths_cut_short_are_truncated() {
        assert_eq!(kind(&[0x04, 0x81]), ErrorKind::Truncated { needed: 1 });
        assert_eq!(
            kind(&[0x04, 0x83, 0x01]),
            ErrorKind::Truncated { needed: 2 }
        );
        let h = parse_header(&[0x04, 0x81, 0x05], 0, 3).unwrap();
        assert_eq!((h.length, h.header_len), (Length::Definite(5), 3));
    }
}
