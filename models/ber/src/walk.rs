//! The validating walker and the zero-copy [`Tlv`] view (X.690 8.1.1, 8.1.3, 8.1.5).

use crate::header::parse_short_header;
use crate::{Error, ErrorKind, Header, Length, parse_header};

/// Resource limits for decoding untrusted input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Deepest nesting accepted (the top-level element is depth 0).
    pub max_depth: usize,
    /// Largest definite length accepted.
    pub max_length: usize,
}

impl Default for Limits {
    /// Depth 64 (P1 envelopes nest about 12 deep), length 16 MiB.
    fn default() -> Self {
        Limits {
            max_depth: 64,
            max_length: 16 << 20,
        }
    }
}

/// One element as the walker meets it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Item {
    /// Absolute offset of the identifier octet.
    pub offset: usize,
    /// Nesting depth (top level = 0).
    pub depth: usize,
    /// Identifier and length.
    pub header: Header,
}

/// Callbacks of [`walk`]; all default to doing nothing.
pub trait Visit {
    /// A primitive element and its contents.
    #[inline]
    fn primitive(&mut self, _item: &Item, _contents: &[u8]) {}
    /// A constructed element opens.
    #[inline]
    fn enter(&mut self, _item: &Item) {}
    /// The innermost open constructed element closes: at its definite end, or at the end-of-contents
    /// octets at `eoc` (indefinite form).
    #[inline]
    fn leave(&mut self, _depth: usize, _eoc: Option<usize>) {}
}

impl Visit for () {}

#[derive(Debug, Clone, Copy)]
struct Frame {
    /// Nothing inside may extend past this (own end if definite, else the parent's bound).
    bound: usize,
    /// `Some(offset of identifier)` if indefinite.
    indefinite: Option<usize>,
}

impl Frame {
    /// An unused stack slot.
    const CLOSED: Frame = Frame {
        bound: 0,
        indefinite: None,
    };
}

/// Walk exactly one element starting at `input[start..]`; returns its end offset and the number of
/// elements in it (end-of-contents markers not counted).
///
/// The open constructed elements live in a fixed array on the stack (no allocation per walk)
/// unless `limits.max_depth` is deeper than [`crate::reference::MAX_DEPTH`].
pub fn walk_one<V: Visit>(
    input: &[u8],
    start: usize,
    limits: &Limits,
    visit: &mut V,
) -> Result<(usize, u64), Error> {
    const INLINE: usize = crate::reference::MAX_DEPTH + 1;
    if limits.max_depth < INLINE {
        let mut frames = [Frame::CLOSED; INLINE];
        walk_frames(input, start, limits, visit, &mut frames)
    } else {
        // Each level of nesting takes at least two octets of header, so no walk goes deeper
        // than half the input.
        let deepest = limits.max_depth.min(input.len().saturating_sub(start) / 2);
        let mut frames = vec![Frame::CLOSED; deepest + 1];
        walk_frames(input, start, limits, visit, &mut frames)
    }
}

/// [`walk_one`] with `frames` as its stack: at least `limits.max_depth + 1` long, or one longer
/// than half the octets from `start` on (no input nests deeper).
#[inline]
fn walk_frames<V: Visit>(
    input: &[u8],
    start: usize,
    limits: &Limits,
    visit: &mut V,
    frames: &mut [Frame],
) -> Result<(usize, u64), Error> {
    let mut depth = 0usize;
    let mut pos = start;
    let mut count: u64 = 0;
    loop {
        while depth > 0 {
            let f = frames[depth - 1];
            if f.indefinite.is_none() && pos == f.bound {
                depth -= 1;
                visit.leave(depth, None);
            } else {
                break;
            }
        }
        if depth == 0 && count > 0 {
            return Ok((pos, count));
        }
        let bound = if depth == 0 {
            input.len()
        } else {
            frames[depth - 1].bound
        };
        if pos >= bound {
            if let Some(opened_at) = depth.checked_sub(1).and_then(|d| frames[d].indefinite) {
                return Err(Error {
                    offset: opened_at,
                    kind: ErrorKind::MissingEoc { opened_at },
                });
            }
            return Err(Error {
                offset: pos,
                kind: if count == 0 && pos == input.len() && start == 0 {
                    ErrorKind::Empty
                } else {
                    ErrorKind::Truncated { needed: 1 }
                },
            });
        }
        let at = |kind| Error { offset: pos, kind };
        let h = parse_header(input, pos, input.len())?;
        let cstart = pos + h.header_len;
        if cstart > bound {
            return Err(at(ErrorKind::ChildOverrun {
                excess: cstart - bound,
            }));
        }
        if h.tag.is_eoc() {
            if depth > 0 && frames[depth - 1].indefinite.is_some() {
                depth -= 1;
                visit.leave(depth, Some(pos));
                pos = cstart;
                continue;
            }
            return Err(at(ErrorKind::UnexpectedEoc));
        }
        if depth > limits.max_depth {
            return Err(at(ErrorKind::DepthExceeded {
                limit: limits.max_depth,
            }));
        }
        count += 1;
        let item = Item {
            offset: pos,
            depth,
            header: h,
        };
        match h.length {
            Length::Definite(len) => {
                if len > limits.max_length {
                    return Err(at(ErrorKind::LengthLimit {
                        length: len,
                        limit: limits.max_length,
                    }));
                }
                let end = cstart.saturating_add(len);
                if end > bound {
                    return Err(at(if bound == input.len() {
                        ErrorKind::Truncated {
                            needed: end - bound,
                        }
                    } else {
                        ErrorKind::ChildOverrun {
                            excess: end - bound,
                        }
                    }));
                }
                if h.tag.constructed {
                    visit.enter(&item);
                    frames[depth] = Frame {
                        bound: end,
                        indefinite: None,
                    };
                    depth += 1;
                    pos = cstart;
                } else {
                    visit.primitive(&item, &input[cstart..end]);
                    pos = end;
                }
            }
            Length::Indefinite => {
                visit.enter(&item);
                frames[depth] = Frame {
                    bound,
                    indefinite: Some(pos),
                };
                depth += 1;
                pos = cstart;
            }
        }
    }
}

/// Validate that `input` is exactly one BER element; returns the number of elements in it.
pub fn walk<V: Visit>(input: &[u8], limits: &Limits, visit: &mut V) -> Result<u64, Error> {
    if input.is_empty() {
        return Err(Error {
            offset: 0,
            kind: ErrorKind::Empty,
        });
    }
    let (end, count) = walk_one(input, 0, limits, visit)?;
    if end != input.len() {
        return Err(Error {
            offset: end,
            kind: ErrorKind::TrailingData(input.len() - end),
        });
    }
    Ok(count)
}

/// A checked zero-copy view of one BER element.
///
/// [`Tlv::parse`] validates the whole element (all descendants), so [`Tlv::children`] never meets
/// malformed input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tlv<'a> {
    /// Absolute offset of the identifier octet in the original input.
    pub offset: usize,
    /// Identifier and length.
    pub header: Header,
    /// Contents octets (for indefinite length: without the end-of-contents octets).
    pub contents: &'a [u8],
    /// The whole encoding: identifier, length, contents (and end-of-contents).
    pub encoded: &'a [u8],
}

impl<'a> Tlv<'a> {
    /// Parse and validate the first element of `input`; returns it and the remaining octets.
    pub fn parse(input: &'a [u8], limits: &Limits) -> Result<(Tlv<'a>, &'a [u8]), Error> {
        Self::parse_at(input, 0, 0, limits)
    }

    fn parse_at(
        input: &'a [u8],
        start: usize,
        base: usize,
        limits: &Limits,
    ) -> Result<(Tlv<'a>, &'a [u8]), Error> {
        let (end, _) = walk_one(input, start, limits, &mut ()).map_err(|e| Error {
            offset: e.offset + base,
            ..e
        })?;
        let header = parse_header(input, start, end).expect("walk_one validated this header");
        let cstart = start + header.header_len;
        let cend = match header.length {
            Length::Definite(_) => end,
            Length::Indefinite => end - 2,
        };
        Ok((
            Tlv {
                offset: base + start,
                header,
                contents: &input[cstart..cend],
                encoded: &input[start..end],
            },
            &input[end..],
        ))
    }

    /// Parse a single element that must cover all of `input`.
    pub fn parse_exact(input: &'a [u8], limits: &Limits) -> Result<Tlv<'a>, Error> {
        let (tlv, rest) = Self::parse(input, limits)?;
        if rest.is_empty() {
            Ok(tlv)
        } else {
            Err(Error {
                offset: input.len() - rest.len(),
                kind: ErrorKind::TrailingData(rest.len()),
            })
        }
    }

    /// The children of a constructed element (empty for a primitive one).
    pub fn children(&self) -> Children<'a> {
        Children {
            rest: if self.header.tag.constructed {
                self.contents
            } else {
                &[]
            },
            offset: self.offset + self.header.header_len,
        }
    }
}

/// The children of a validated element, in order ([`Tlv::children`]); the default is none.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Children<'a> {
    /// The children not read yet.
    rest: &'a [u8],
    /// Absolute offset of `rest[0]`.
    offset: usize,
}

impl<'a> Children<'a> {
    /// The next child, of indefinite length: a walk finds its end-of-contents.
    fn indefinite(&mut self) -> Tlv<'a> {
        // Children were validated with a depth budget at least as large as any limit we could be
        // given here, so parse them without one.
        let unlimited = Limits {
            max_depth: usize::MAX,
            max_length: usize::MAX,
        };
        let (tlv, rest) = Tlv::parse_at(self.rest, 0, self.offset, &unlimited)
            .expect("children of a validated element are valid");
        self.offset += self.rest.len() - rest.len();
        self.rest = rest;
        tlv
    }
}

impl<'a> Iterator for Children<'a> {
    type Item = Tlv<'a>;

    // Forced: the protocol decoders' field loops take one child per call, most with a two-octet
    // header; left to the inliner this is a call per element (about 15% of mta-p1's view decode).
    #[allow(clippy::inline_always)]
    #[inline(always)]
    fn next(&mut self) -> Option<Tlv<'a>> {
        let rest = self.rest;
        if rest.is_empty() {
            return None;
        }
        // A validated definite-length child is sliced from its header alone; only an
        // indefinite-length child needs a walk to find its end-of-contents.
        let header = match parse_short_header(rest) {
            Some(h) => h,
            None => parse_header(rest, 0, rest.len())
                .expect("children of a validated element are valid"),
        };
        let Length::Definite(len) = header.length else {
            return Some(self.indefinite());
        };
        let (encoded, after) = rest.split_at(header.header_len + len);
        let tlv = Tlv {
            offset: self.offset,
            header,
            contents: &encoded[header.header_len..],
            encoded,
        };
        self.offset += encoded.len();
        self.rest = after;
        Some(tlv)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kind(bytes: &[u8]) -> ErrorKind {
        walk(bytes, &Limits::default(), &mut ()).unwrap_err().kind
    }

    #[test]
    fn definite_and_indefinite_nesting() {
        // SEQUENCE { INTEGER 5, [1] (indef) { OCTET STRING "ab" } }
        let b = [
            0x30, 0x0b, 0x02, 0x01, 0x05, 0xa1, 0x80, 0x04, 0x02, b'a', b'b', 0x00, 0x00,
        ];
        assert_eq!(walk(&b, &Limits::default(), &mut ()).unwrap(), 4);
        let t = Tlv::parse_exact(&b, &Limits::default()).unwrap();
        let kids: Vec<Tlv> = t.children().collect();
        assert_eq!(kids.len(), 2);
        assert_eq!(kids[0].offset, 2);
        assert_eq!(kids[1].offset, 5);
        assert_eq!(kids[1].contents, &[0x04, 0x02, b'a', b'b']);
        let grand: Vec<Tlv> = kids[1].children().collect();
        assert_eq!(grand[0].offset, 7);
        assert_eq!(grand[0].contents, b"ab");
    }

    #[test]
    fn structural_violations() {
        assert_eq!(kind(&[]), ErrorKind::Empty);
        assert_eq!(kind(&[0x00, 0x00]), ErrorKind::UnexpectedEoc);
        assert_eq!(kind(&[0x30, 0x02, 0x00, 0x00]), ErrorKind::UnexpectedEoc);
        assert_eq!(
            kind(&[0x30, 0x80, 0x02, 0x01, 0x00]),
            ErrorKind::MissingEoc { opened_at: 0 }
        );
        assert_eq!(
            kind(&[0x30, 0x03, 0x04, 0x02, 0x00, 0x00]),
            ErrorKind::ChildOverrun { excess: 1 }
        );
        assert_eq!(
            kind(&[0x04, 0x03, 0x00]),
            ErrorKind::Truncated { needed: 2 }
        );
        assert_eq!(kind(&[0x05, 0x00, 0x05]), ErrorKind::TrailingData(1));
        let deep: Vec<u8> = std::iter::repeat_n([0x30u8, 0x80], 70)
            .flatten()
            .chain(std::iter::repeat_n(0u8, 140))
            .collect();
        assert_eq!(kind(&deep), ErrorKind::DepthExceeded { limit: 64 });
        let small = Limits {
            max_depth: 4,
            max_length: 2,
        };
        assert_eq!(
            walk(&[0x04, 0x03, 1, 2, 3], &small, &mut ())
                .unwrap_err()
                .kind,
            ErrorKind::LengthLimit {
                length: 3,
                limit: 2
            }
        );
    }

    /// The walker's limits are inclusive (an element at exactly the deepest depth or the largest
    /// length is accepted, one past is refused), an overrun names its exact excess, and nothing
    /// left to walk is "empty" only for a whole input.
    #[test]
    fn limits_are_inclusive_and_errors_exact() {
        let one = |b: &[u8], start: usize, limits: &Limits| walk_one(b, start, limits, &mut ());
        let tight = Limits {
            max_depth: 2,
            max_length: 2,
        };
        let shallow = Limits {
            max_depth: 2,
            ..Limits::default()
        };
        assert!(
            one(&[0x30, 0x04, 0x30, 0x02, 0x30, 0x00], 0, &shallow).is_ok(),
            "depth 2"
        );
        assert_eq!(
            one(
                &[0x30, 0x06, 0x30, 0x04, 0x30, 0x02, 0x30, 0x00],
                0,
                &shallow
            )
            .unwrap_err()
            .kind,
            ErrorKind::DepthExceeded { limit: 2 }
        );
        assert!(one(&[0x04, 0x02, 1, 2], 0, &tight).is_ok(), "length 2");
        assert_eq!(
            one(&[0x04, 0x03, 1, 2, 3], 0, &tight).unwrap_err().kind,
            ErrorKind::LengthLimit {
                length: 3,
                limit: 2
            }
        );
        let d = Limits::default();
        assert_eq!(
            one(&[0x30, 0x01, 0x04, 0x81, 0x00], 0, &d)
                .unwrap_err()
                .kind,
            ErrorKind::ChildOverrun { excess: 2 },
            "a child header two octets past its parent"
        );
        assert_eq!(
            one(&[0x30, 0x02, 0x04, 0x02, 0xaa, 0xbb], 0, &d)
                .unwrap_err()
                .kind,
            ErrorKind::ChildOverrun { excess: 2 },
            "a child's contents two octets past its parent"
        );
        assert_eq!(one(&[], 0, &d).unwrap_err().kind, ErrorKind::Empty);
        assert_eq!(
            one(&[0x05, 0x00], 2, &d).unwrap_err().kind,
            ErrorKind::Truncated { needed: 1 },
            "nothing left after an element is not an empty input"
        );
    }
}
