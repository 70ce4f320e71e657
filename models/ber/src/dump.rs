//! Human-readable dump in the layout of `openssl asn1parse` (offset, depth, header length, length,
//! prim/cons, tag, value).

use crate::{Class, Error, Item, Length, Limits, Tag, Visit, walk_one};
use std::fmt::Write as _;

/// Name of a tag as asn1parse prints it: universal names, `appl [ n ]`, `cont [ n ]`, `priv [ n ]`.
pub fn tag_name(tag: Tag) -> String {
    match tag.class {
        Class::Universal => match tag.number {
            0 => "EOC".into(),
            1 => "BOOLEAN".into(),
            2 => "INTEGER".into(),
            3 => "BIT STRING".into(),
            4 => "OCTET STRING".into(),
            5 => "NULL".into(),
            6 => "OBJECT".into(),
            7 => "OBJECT DESCRIPTOR".into(),
            8 => "EXTERNAL".into(),
            9 => "REAL".into(),
            10 => "ENUMERATED".into(),
            12 => "UTF8STRING".into(),
            13 => "RELATIVE-OID".into(),
            16 => "SEQUENCE".into(),
            17 => "SET".into(),
            18 => "NUMERICSTRING".into(),
            19 => "PRINTABLESTRING".into(),
            20 => "T61STRING".into(),
            21 => "VIDEOTEXSTRING".into(),
            22 => "IA5STRING".into(),
            23 => "UTCTIME".into(),
            24 => "GENERALIZEDTIME".into(),
            25 => "GRAPHICSTRING".into(),
            26 => "VISIBLESTRING".into(),
            27 => "GENERALSTRING".into(),
            28 => "UNIVERSALSTRING".into(),
            30 => "BMPSTRING".into(),
            n => format!("univ [ {n} ]"),
        },
        Class::Application => format!("appl [ {} ]", tag.number),
        Class::Context => format!("cont [ {} ]", tag.number),
        Class::Private => format!("priv [ {} ]", tag.number),
    }
}

fn oid_text(c: &[u8]) -> Option<String> {
    if c.is_empty() || c[c.len() - 1] & 0x80 != 0 {
        return None;
    }
    let mut arcs: Vec<u128> = Vec::new();
    let mut v: u128 = 0;
    for &b in c {
        if v > (u128::MAX >> 7) {
            return None;
        }
        v = (v << 7) | u128::from(b & 0x7f);
        if b & 0x80 == 0 {
            arcs.push(v);
            v = 0;
        }
    }
    let first = arcs[0];
    let (a, b) = if first < 40 {
        (0, first)
    } else if first < 80 {
        (1, first - 40)
    } else {
        (2, first - 80)
    };
    let mut s = format!("{a}.{b}");
    for x in &arcs[1..] {
        let _ = write!(s, ".{x}");
    }
    Some(s)
}

fn value_text(tag: Tag, c: &[u8]) -> String {
    let hex = |c: &[u8]| {
        let mut s = String::with_capacity(70);
        for b in c.iter().take(32) {
            let _ = write!(s, "{b:02X}");
        }
        if c.len() > 32 {
            s.push_str("...");
        }
        s
    };
    if tag.class != Class::Universal {
        return if c.is_empty() {
            String::new()
        } else {
            format!("[HEX DUMP]:{}", hex(c))
        };
    }
    match tag.number {
        1 => format!(
            ":{}",
            if c.iter().any(|&b| b != 0) {
                "TRUE"
            } else {
                "FALSE"
            }
        ),
        2 | 10 => format!(":{}", hex(c)),
        5 => String::new(),
        6 => oid_text(c).map_or_else(|| format!(":BAD OBJECT {}", hex(c)), |s| format!(":{s}")),
        12 | 18 | 19 | 20 | 22 | 23 | 24 | 26 | 27 => {
            let s: String = c
                .iter()
                .map(|&b| {
                    if b.is_ascii_graphic() || b == b' ' {
                        char::from(b)
                    } else {
                        '.'
                    }
                })
                .collect();
            format!(":{s}")
        }
        _ if c.is_empty() => String::new(),
        _ => format!("[HEX DUMP]:{}", hex(c)),
    }
}

struct Dumper<'o> {
    out: &'o mut String,
    base_depth: usize,
}

impl Dumper<'_> {
    fn line(&mut self, offset: usize, depth: usize, hl: usize, len: Length, cons: bool, tag: Tag) {
        let l = match len {
            Length::Definite(n) => format!("{n:>4}"),
            Length::Indefinite => "inf ".into(),
        };
        let _ = write!(
            self.out,
            "{offset:>5}:d={:<2} hl={hl} l={l} {}: {:<18}",
            depth + self.base_depth,
            if cons { "cons" } else { "prim" },
            tag_name(tag)
        );
    }
}

impl Visit for Dumper<'_> {
    fn primitive(&mut self, item: &Item, contents: &[u8]) {
        let h = item.header;
        self.line(
            item.offset,
            item.depth,
            h.header_len,
            h.length,
            false,
            h.tag,
        );
        let v = value_text(h.tag, contents);
        let _ = writeln!(self.out, "{v}");
    }
    fn enter(&mut self, item: &Item) {
        let h = item.header;
        self.line(item.offset, item.depth, h.header_len, h.length, true, h.tag);
        self.out.push('\n');
    }
    fn leave(&mut self, depth: usize, eoc: Option<usize>) {
        if let Some(offset) = eoc {
            self.line(
                offset,
                depth + 1,
                2,
                Length::Definite(0),
                false,
                Tag::universal(0),
            );
            self.out.push('\n');
        }
    }
}

/// Dump every top-level element of `input`. Returns the text (up to the first error) and the error.
pub fn dump(input: &[u8], limits: &Limits) -> (String, Option<Error>) {
    let mut out = String::new();
    let mut pos = 0;
    if input.is_empty() {
        return (
            out,
            Some(Error {
                offset: 0,
                kind: crate::ErrorKind::Empty,
            }),
        );
    }
    while pos < input.len() {
        let mut d = Dumper {
            out: &mut out,
            base_depth: 0,
        };
        match walk_one(input, pos, limits, &mut d) {
            Ok((end, _)) => pos = end,
            Err(e) => return (out, Some(e)),
        }
    }
    (out, None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dump_layout() {
        let b = [
            0x30, 0x0b, 0x02, 0x01, 0x05, 0xa1, 0x80, 0x13, 0x02, b'U', b'S', 0x00, 0x00, 0x06,
            0x04, 0x56, 0x00, 0x01, 0x06,
        ];
        let (text, err) = dump(&b, &Limits::default());
        assert_eq!(err, None);
        let expected = "    0:d=0  hl=2 l=  11 cons: SEQUENCE          
    2:d=1  hl=2 l=   1 prim: INTEGER           :05
    5:d=1  hl=2 l=inf  cons: cont [ 1 ]        
    7:d=2  hl=2 l=   2 prim: PRINTABLESTRING   :US
   11:d=2  hl=2 l=   0 prim: EOC               
   13:d=0  hl=2 l=   4 prim: OBJECT            :2.6.0.1.6
";
        assert_eq!(text, expected);
    }

    #[test]
    fn dump_stops_at_the_error_with_its_offset() {
        let (text, err) = dump(&[0x30, 0x04, 0x02, 0x01, 0x05, 0xff], &Limits::default());
        assert!(text.contains("INTEGER"));
        let err = err.unwrap();
        assert_eq!(err.offset, 5);
        assert_eq!(err.kind, crate::ErrorKind::Truncated { needed: 1 });
    }

    /// OBJECT IDENTIFIER contents render as dotted arcs (X.690 8.19: the first two arcs share
    /// the first subidentifier, 40·X + Y; subidentifiers are base-128, high bit = more), and
    /// contents that are not an OID render as BAD OBJECT instead of a wrong number.
    #[test]
    fn objects_render_as_dotted_arcs_or_as_bad() {
        let object = |contents: &[u8]| {
            let mut b = vec![0x06, contents.len() as u8];
            b.extend_from_slice(contents);
            let (text, err) = dump(&b, &Limits::default());
            assert_eq!(err, None, "{contents:02x?}");
            text.split_once("OBJECT").unwrap().1.trim().to_string()
        };
        assert_eq!(object(&[0x27]), ":0.39");
        assert_eq!(object(&[0x28]), ":1.0");
        assert_eq!(object(&[0x2b, 0x06, 0x01]), ":1.3.6.1");
        assert_eq!(object(&[0x50]), ":2.0");
        assert_eq!(object(&[0x81, 0x00]), ":2.48");
        assert_eq!(
            object(&[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d]),
            ":1.2.840.113549"
        );
        // The largest arc that fits 128 bits, then one past it.
        let mut max = vec![0x2a, 0x83];
        max.extend([0xff; 17]);
        max.push(0x7f);
        assert_eq!(
            object(&max),
            format!(":1.2.{}", u128::MAX),
            "an arc of exactly 128 bits"
        );
        let mut over = vec![0x2a, 0x84];
        over.extend([0x80; 18]);
        over.push(0x00);
        assert!(
            object(&over).starts_with(":BAD OBJECT"),
            "an arc of 129 bits"
        );
        // An arc cut short (its last octet says more follows).
        assert_eq!(object(&[0x2a, 0x81]), ":BAD OBJECT 2A81");
        assert_eq!(object(&[0x81]), ":BAD OBJECT 81");
    }

    /// Universal values render as `openssl asn1parse` prints them: BOOLEAN as TRUE/FALSE, NULL
    /// as nothing (whatever it holds), strings with non-printing octets as dots, other types as
    /// a hex dump cut after 32 octets, empty ones as nothing.
    #[test]
    fn values_render_as_asn1parse_prints_them() {
        let value = |tag: u8, contents: &[u8]| {
            let mut b = vec![tag, contents.len() as u8];
            b.extend_from_slice(contents);
            let (text, err) = dump(&b, &Limits::default());
            assert_eq!(err, None, "{tag:02x} {contents:02x?}");
            let line = text.lines().next().unwrap().to_string();
            // The tag name is padded to 18 columns, then the value.
            let start = line.find("prim: ").unwrap() + "prim: ".len() + 18;
            line[start..].trim().to_string()
        };
        assert_eq!(value(0x01, &[0xff]), ":TRUE");
        assert_eq!(value(0x01, &[0x00]), ":FALSE");
        assert_eq!(value(0x05, &[]), "");
        assert_eq!(value(0x05, &[0x00]), "", "NULL shows no contents");
        assert_eq!(value(0x13, b"a b\x01"), ":a b.");
        assert_eq!(value(0x03, &[0x00, 0xff]), "[HEX DUMP]:00FF");
        assert_eq!(value(0x03, &[]), "", "an empty BIT STRING");
        assert_eq!(
            value(0x04, &[0xab; 32]),
            format!("[HEX DUMP]:{}", "AB".repeat(32))
        );
        assert_eq!(
            value(0x04, &[0xab; 33]),
            format!("[HEX DUMP]:{}...", "AB".repeat(32))
        );
    }
}
