//! BER encoder: minimal definite lengths (X.690 8.1.3.3-8.1.3.5), indefinite form on request.

use crate::{Length, Node, Tag, Value};

/// Octets the identifier and length of `tag`/`len` take.
pub fn encoded_header_len(tag: Tag, len: Length) -> usize {
    let id = if tag.number < 31 {
        1
    } else {
        1 + (32 - tag.number.leading_zeros()).div_ceil(7) as usize
    };
    let l = match len {
        Length::Indefinite => 1,
        Length::Definite(n) if n < 0x80 => 1,
        Length::Definite(n) => 1 + (usize::BITS - n.leading_zeros()).div_ceil(8) as usize,
    };
    id + l
}

/// Append identifier and length octets.
pub fn write_header(out: &mut Vec<u8>, tag: Tag, len: Length) {
    let b0 = (tag.class.bits() << 6) | if tag.constructed { 0x20 } else { 0 };
    if tag.number < 31 {
        out.push(b0 | tag.number as u8);
    } else {
        out.push(b0 | 0x1f);
        let septets = (32 - tag.number.leading_zeros()).div_ceil(7);
        for i in (0..septets).rev() {
            let more = if i == 0 { 0 } else { 0x80 };
            out.push(((tag.number >> (7 * i)) & 0x7f) as u8 | more);
        }
    }
    match len {
        Length::Indefinite => out.push(0x80),
        Length::Definite(n) if n < 0x80 => out.push(n as u8),
        Length::Definite(n) => {
            let octets = (usize::BITS - n.leading_zeros()).div_ceil(8);
            out.push(0x80 | octets as u8);
            for i in (0..octets).rev() {
                out.push((n >> (8 * i)) as u8);
            }
        }
    }
}

/// Writes BER into a growing buffer.
#[derive(Debug, Default, Clone)]
pub struct Encoder {
    out: Vec<u8>,
}

impl Encoder {
    /// An empty encoder.
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty encoder with room reserved.
    pub fn with_capacity(n: usize) -> Self {
        Encoder {
            out: Vec::with_capacity(n),
        }
    }

    /// A primitive element.
    pub fn primitive(&mut self, tag: Tag, contents: &[u8]) -> &mut Self {
        write_header(
            &mut self.out,
            Tag {
                constructed: false,
                ..tag
            },
            Length::Definite(contents.len()),
        );
        self.out.extend_from_slice(contents);
        self
    }

    /// A constructed element with definite length; `body` writes the children.
    pub fn constructed(&mut self, tag: Tag, body: impl FnOnce(&mut Encoder)) -> &mut Self {
        let tag = Tag {
            constructed: true,
            ..tag
        };
        let mut inner = Encoder::new();
        body(&mut inner);
        write_header(&mut self.out, tag, Length::Definite(inner.out.len()));
        self.out.extend_from_slice(&inner.out);
        self
    }

    /// A constructed element with indefinite length, closed by end-of-contents.
    pub fn indefinite(&mut self, tag: Tag, body: impl FnOnce(&mut Encoder)) -> &mut Self {
        let tag = Tag {
            constructed: true,
            ..tag
        };
        write_header(&mut self.out, tag, Length::Indefinite);
        body(self);
        self.out.extend_from_slice(&[0, 0]);
        self
    }

    /// Append pre-encoded octets verbatim.
    pub fn raw(&mut self, bytes: &[u8]) -> &mut Self {
        self.out.extend_from_slice(bytes);
        self
    }

    /// Encode a tree.
    pub fn node(&mut self, n: &Node) -> &mut Self {
        match &n.value {
            Value::Primitive(v) => {
                self.primitive(n.tag, v);
            }
            Value::Constructed(kids) => {
                let len = if n.indefinite {
                    Length::Indefinite
                } else {
                    Length::Definite(kids.iter().map(Node::encoded_len).sum())
                };
                write_header(&mut self.out, n.tag, len);
                for k in kids {
                    self.node(k);
                }
                if n.indefinite {
                    self.out.extend_from_slice(&[0, 0]);
                }
            }
        }
        self
    }

    /// The octets written.
    pub fn finish(self) -> Vec<u8> {
        self.out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Class, Limits, parse_header};

    #[test]
    fn headers_are_minimal_and_parse_back() {
        for number in [0u32, 30, 31, 127, 128, 16383, 16384, u32::MAX] {
            for len in [0usize, 127, 128, 255, 256, 65535, 1 << 24] {
                let tag = Tag::new(Class::Private, false, number.max(1));
                let mut out = Vec::new();
                write_header(&mut out, tag, Length::Definite(len));
                assert_eq!(out.len(), encoded_header_len(tag, Length::Definite(len)));
                let h = parse_header(&out, 0, out.len()).unwrap();
                assert_eq!((h.tag, h.length), (tag, Length::Definite(len)));
            }
        }
    }

    #[test]
    fn encoder_builds_what_decoder_reads() {
        let mut e = Encoder::new();
        e.constructed(Tag::SEQUENCE, |e| {
            e.primitive(Tag::universal(2), &[5]);
            e.indefinite(Tag::new(Class::Context, true, 1), |e| {
                e.primitive(Tag::universal(4), b"ab");
            });
        });
        let bytes = e.finish();
        assert_eq!(
            bytes,
            [
                0x30, 0x0b, 0x02, 0x01, 0x05, 0xa1, 0x80, 0x04, 0x02, b'a', b'b', 0x00, 0x00
            ]
        );
        assert_eq!(crate::walk(&bytes, &Limits::default(), &mut ()).unwrap(), 4);
    }

    /// The encoder decides the constructed bit from the method, whatever the tag says.
    #[test]
    fn the_method_decides_primitive_or_constructed() {
        let cons = Tag::new(Class::Context, true, 1);
        let prim = Tag::new(Class::Context, false, 1);
        let mut e = Encoder::new();
        e.primitive(cons, &[7]);
        assert_eq!(e.finish(), [0x81, 0x01, 0x07]);
        let mut e = Encoder::new();
        e.constructed(prim, |e| {
            e.primitive(prim, &[]);
        });
        assert_eq!(e.finish(), [0xa1, 0x02, 0x81, 0x00]);
        let mut e = Encoder::new();
        e.indefinite(prim, |_| {});
        assert_eq!(e.finish(), [0xa1, 0x80, 0x00, 0x00]);
    }
}
