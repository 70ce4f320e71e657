//! An owned element tree, built by the walker; what round-trip tests and tools compare.

use crate::{Encoder, Error, Item, Length, Limits, Tag, Visit, walk};

/// Contents of a [`Node`].
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Value {
    /// Contents octets of a primitive element.
    Primitive(Vec<u8>),
    /// Children of a constructed element.
    Constructed(Vec<Node>),
}

/// An element: tag, length form and contents.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Node {
    /// The tag (its `constructed` bit agrees with `value`).
    pub tag: Tag,
    /// Whether the element used the indefinite length form.
    pub indefinite: bool,
    /// Contents.
    pub value: Value,
}

impl Node {
    /// A primitive element.
    pub fn primitive(tag: Tag, contents: impl Into<Vec<u8>>) -> Node {
        Node {
            tag: Tag {
                constructed: false,
                ..tag
            },
            indefinite: false,
            value: Value::Primitive(contents.into()),
        }
    }

    /// A constructed element with definite length.
    pub fn constructed(tag: Tag, children: Vec<Node>) -> Node {
        Node {
            tag: Tag {
                constructed: true,
                ..tag
            },
            indefinite: false,
            value: Value::Constructed(children),
        }
    }

    /// Encode: definite lengths in minimal form, indefinite where the node says so.
    pub fn encode(&self) -> Vec<u8> {
        let mut e = Encoder::with_capacity(self.encoded_len());
        e.node(self);
        e.finish()
    }

    /// Exact size of [`Node::encode`]'s output.
    pub fn encoded_len(&self) -> usize {
        let contents = self.contents_len();
        let len = if self.indefinite {
            Length::Indefinite
        } else {
            Length::Definite(contents)
        };
        crate::encoded_header_len(self.tag, len) + contents + if self.indefinite { 2 } else { 0 }
    }

    /// Octets of contents (children's full encodings for constructed nodes, EOC excluded).
    pub fn contents_len(&self) -> usize {
        match &self.value {
            Value::Primitive(v) => v.len(),
            Value::Constructed(kids) => kids.iter().map(Node::encoded_len).sum(),
        }
    }

    /// Number of elements in this subtree.
    pub fn count(&self) -> u64 {
        1 + match &self.value {
            Value::Primitive(_) => 0,
            Value::Constructed(kids) => kids.iter().map(Node::count).sum(),
        }
    }
}

#[derive(Default)]
struct Builder {
    stack: Vec<Node>,
    done: Option<Node>,
}

impl Builder {
    fn push(&mut self, node: Node) {
        match self.stack.last_mut() {
            Some(Node {
                value: Value::Constructed(kids),
                ..
            }) => kids.push(node),
            _ => self.done = Some(node),
        }
    }
}

impl Visit for Builder {
    fn primitive(&mut self, item: &Item, contents: &[u8]) {
        self.push(Node::primitive(item.header.tag, contents));
    }
    fn enter(&mut self, item: &Item) {
        self.stack.push(Node {
            tag: item.header.tag,
            indefinite: item.header.length == Length::Indefinite,
            value: Value::Constructed(Vec::new()),
        });
    }
    fn leave(&mut self, _depth: usize, _eoc: Option<usize>) {
        let node = self.stack.pop().expect("leave matches enter");
        self.push(node);
    }
}

/// Decode exactly one element into an owned tree.
pub fn decode(input: &[u8], limits: &Limits) -> Result<Node, Error> {
    let mut b = Builder::default();
    walk(input, limits, &mut b)?;
    Ok(b.done.expect("a successful walk yields one element"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Class;

    #[test]
    fn decode_encode_round_trip_and_size_prediction() {
        let inputs: [&[u8]; 3] = [
            &[0x30, 0x06, 0x02, 0x01, 0x05, 0x01, 0x01, 0xff],
            &[
                0x61, 0x80, 0x04, 0x02, b'h', b'i', 0xbf, 0x87, 0x68, 0x00, 0x00, 0x00,
            ],
            // non-minimal long-form length: valid BER, re-encoded minimally
            &[0x04, 0x81, 0x01, 0x2a],
        ];
        for input in inputs {
            let n = decode(input, &Limits::default()).unwrap();
            let bytes = n.encode();
            assert_eq!(bytes.len(), n.encoded_len());
            assert_eq!(decode(&bytes, &Limits::default()).unwrap(), n);
        }
        let n = decode(inputs[1], &Limits::default()).unwrap();
        assert!(n.indefinite);
        assert_eq!(n.tag, Tag::new(Class::Application, true, 1));
        assert_eq!(n.encode(), inputs[1]);
        assert_eq!(
            decode(inputs[2], &Limits::default()).unwrap().encode(),
            [0x04, 0x01, 0x2a]
        );
    }

    /// A node's constructor decides the constructed bit, whatever the tag says.
    #[test]
    fn the_constructor_decides_primitive_or_constructed() {
        let cons = Tag::new(Class::Context, true, 1);
        let prim = Tag::new(Class::Context, false, 1);
        let p = Node::primitive(cons, vec![7]);
        assert_eq!(p.encode(), [0x81, 0x01, 0x07]);
        assert_eq!(
            decode(&p.encode(), &Limits::default()).unwrap(),
            p,
            "as decoded"
        );
        let c = Node::constructed(prim, Vec::new());
        assert_eq!(c.encode(), [0xa1, 0x00]);
        assert_eq!(
            decode(&c.encode(), &Limits::default()).unwrap(),
            c,
            "as decoded"
        );
    }
}
