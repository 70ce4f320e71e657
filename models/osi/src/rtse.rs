//! X.228 Reliable Transfer (RTSE) APDUs, normal mode and X.410-1984 mode (PROTOCOLS.md section 6):
//! RTORQ, RTOAC, RTORJ, RTTP, RTTR, RTAB.
//!
//! Normal mode tags each APDU (`[16]`..`[22]` IMPLICIT SET); X.410-1984 mode carries the same fields
//! as the presentation x410-mode-parameters or as a bare SET, so every SET-shaped APDU also has
//! `parse_fields` / `emit_fields` over its component list.

use crate::asn::{self, ctx, ctx_c, put_int};
use crate::{Layer, Malformed, Result};
use mta_ber::{Encoder, Tag, Tlv};

const L: Layer = Layer::Rtse;

const fn err(offset: usize, reason: &'static str) -> Malformed {
    Malformed::new(L, offset, reason)
}

/// ConnectionData (X.228): the RTSE user's connect data, or a recovery request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConnectionData {
    /// `open [0]` holding one encoded element (the MTA bind argument or result).
    Open(Vec<u8>),
    /// `open [0] IMPLICIT NULL` (empty open data).
    OpenNull,
    /// `recover [1]` SessionConnectionIdentifier, kept as contents octets.
    Recover(Vec<u8>),
}

impl ConnectionData {
    fn parse(t: &Tlv<'_>) -> Result<Self> {
        let inner = asn::explicit(L, t)?;
        match (inner.header.tag.number, inner.header.tag.constructed) {
            (0, false) if inner.contents.is_empty() => Ok(ConnectionData::OpenNull),
            (0, true) => Ok(ConnectionData::Open(
                asn::explicit(L, &inner)?.encoded.to_vec(),
            )),
            (1, true) => Ok(ConnectionData::Recover(inner.contents.to_vec())),
            _ => Err(err(
                inner.offset,
                "ConnectionData is neither open nor recover",
            )),
        }
    }
    fn emit(&self, e: &mut Encoder, tag: Tag) {
        e.constructed(tag, |e| match self {
            ConnectionData::Open(v) => {
                e.constructed(ctx_c(0), |e| {
                    e.raw(v);
                });
            }
            ConnectionData::OpenNull => {
                e.primitive(ctx(0), &[]);
            }
            ConnectionData::Recover(v) => {
                e.constructed(ctx_c(1), |e| {
                    e.raw(v);
                });
            }
        });
    }
}

/// RTORQapdu: open request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rtorq {
    /// checkpointSize `[0]` in units of 1024 octets (absent = 0: no checkpointing).
    pub checkpoint_size: Option<i64>,
    /// windowSize `[1]` (absent = 3).
    pub window_size: Option<i64>,
    /// dialogueMode `[2]`: monologue 0, twa 1 (absent = monologue).
    pub dialogue_mode: Option<i64>,
    /// connectionDataRQ `[3]`.
    pub connection_data: ConnectionData,
    /// applicationProtocol `[4]` (X.410-1984 mode: 1 = P1).
    pub application_protocol: Option<i64>,
}

/// RTOACapdu: open accept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rtoac {
    /// checkpointSize `[0]`.
    pub checkpoint_size: Option<i64>,
    /// windowSize `[1]`.
    pub window_size: Option<i64>,
    /// connectionDataAC `[2]`.
    pub connection_data: ConnectionData,
}

/// RTORJapdu: open refuse.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rtorj {
    /// refuseReason `[0]` (X.410 mode): busy 0, cannotRecover 1, validationFailure 2,
    /// unacceptableDialogueMode 3.
    pub refuse_reason: Option<i64>,
    /// userDataRJ `[1]`: one encoded element (normal mode: the bind error).
    pub user_data: Option<Vec<u8>>,
}

/// RTABapdu: abort.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rtab {
    /// abortReason `[0]`.
    pub abort_reason: Option<i64>,
    /// reflectedParameter `[1]` BIT STRING contents.
    pub reflected_parameter: Option<Vec<u8>>,
    /// userdataAB `[2]`: one encoded element.
    pub user_data: Option<Vec<u8>>,
}

/// Abort reasons (X.228).
pub mod abort_reason {
    /// Local system problem.
    pub const LOCAL_SYSTEM_PROBLEM: i64 = 0;
    /// Protocol error.
    pub const PROTOCOL_ERROR: i64 = 4;
    /// User error.
    pub const USER_ERROR: i64 = 6;
}

/// An RTSE APDU.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Apdu {
    /// `[16]` RTORQ.
    Rtorq(Rtorq),
    /// `[17]` RTOAC.
    Rtoac(Rtoac),
    /// `[18]` RTORJ.
    Rtorj(Rtorj),
    /// RTTP (turn please) INTEGER priority.
    Rttp(i64),
    /// RTTR (transfer) OCTET STRING: the transferred APDU.
    Rttr(Vec<u8>),
    /// `[22]` RTAB.
    Rtab(Rtab),
}

fn opt_int(e: &mut Encoder, n: u32, v: Option<i64>) {
    if let Some(v) = v {
        put_int(e, ctx(n), v);
    }
}

fn one_element(t: &Tlv<'_>) -> Result<Vec<u8>> {
    Ok(asn::explicit(L, t)?.encoded.to_vec())
}

impl Rtorq {
    /// Parse the component list (contents of the SET).
    pub fn parse_fields(kids: &[Tlv<'_>], at: usize) -> Result<Self> {
        let mut r = Rtorq {
            checkpoint_size: None,
            window_size: None,
            dialogue_mode: None,
            connection_data: ConnectionData::OpenNull,
            application_protocol: None,
        };
        let mut cd = None;
        for k in kids {
            match (
                k.header.tag.number,
                k.header.tag.constructed,
                k.header.tag.class,
            ) {
                (0, false, mta_ber::Class::Context) => {
                    r.checkpoint_size = Some(asn::parse_int(L, k)?);
                }
                (1, false, mta_ber::Class::Context) => r.window_size = Some(asn::parse_int(L, k)?),
                (2, false, mta_ber::Class::Context) => {
                    r.dialogue_mode = Some(asn::parse_int(L, k)?);
                }
                (3, true, mta_ber::Class::Context) => cd = Some(ConnectionData::parse(k)?),
                (4, false, mta_ber::Class::Context) => {
                    r.application_protocol = Some(asn::parse_int(L, k)?);
                }
                _ => return Err(err(k.offset, "unknown RTORQ component")),
            }
        }
        r.connection_data = cd.ok_or(err(at, "RTORQ without connectionDataRQ"))?;
        Ok(r)
    }
    /// Emit the component list.
    pub fn emit_fields(&self, e: &mut Encoder) {
        opt_int(e, 0, self.checkpoint_size);
        opt_int(e, 1, self.window_size);
        opt_int(e, 2, self.dialogue_mode);
        self.connection_data.emit(e, ctx_c(3));
        opt_int(e, 4, self.application_protocol);
    }
}

impl Rtoac {
    /// Parse the component list.
    pub fn parse_fields(kids: &[Tlv<'_>], at: usize) -> Result<Self> {
        let (mut c, mut w, mut cd) = (None, None, None);
        for k in kids {
            match (
                k.header.tag.number,
                k.header.tag.constructed,
                k.header.tag.class,
            ) {
                (0, false, mta_ber::Class::Context) => c = Some(asn::parse_int(L, k)?),
                (1, false, mta_ber::Class::Context) => w = Some(asn::parse_int(L, k)?),
                (2, true, mta_ber::Class::Context) => cd = Some(ConnectionData::parse(k)?),
                _ => return Err(err(k.offset, "unknown RTOAC component")),
            }
        }
        Ok(Rtoac {
            checkpoint_size: c,
            window_size: w,
            connection_data: cd.ok_or(err(at, "RTOAC without connectionDataAC"))?,
        })
    }
    /// Emit the component list.
    pub fn emit_fields(&self, e: &mut Encoder) {
        opt_int(e, 0, self.checkpoint_size);
        opt_int(e, 1, self.window_size);
        self.connection_data.emit(e, ctx_c(2));
    }
}

impl Rtorj {
    /// Parse the component list.
    pub fn parse_fields(kids: &[Tlv<'_>]) -> Result<Self> {
        let mut r = Rtorj {
            refuse_reason: None,
            user_data: None,
        };
        for k in kids {
            match (
                k.header.tag.number,
                k.header.tag.constructed,
                k.header.tag.class,
            ) {
                (0, false, mta_ber::Class::Context) => {
                    r.refuse_reason = Some(asn::parse_int(L, k)?);
                }
                (1, true, mta_ber::Class::Context) => r.user_data = Some(one_element(k)?),
                _ => return Err(err(k.offset, "unknown RTORJ component")),
            }
        }
        Ok(r)
    }
    /// Emit the component list.
    pub fn emit_fields(&self, e: &mut Encoder) {
        opt_int(e, 0, self.refuse_reason);
        if let Some(u) = &self.user_data {
            e.constructed(ctx_c(1), |e| {
                e.raw(u);
            });
        }
    }
}

impl Rtab {
    /// Parse the component list.
    pub fn parse_fields(kids: &[Tlv<'_>]) -> Result<Self> {
        let mut r = Rtab {
            abort_reason: None,
            reflected_parameter: None,
            user_data: None,
        };
        for k in kids {
            match (
                k.header.tag.number,
                k.header.tag.constructed,
                k.header.tag.class,
            ) {
                (0, false, mta_ber::Class::Context) => r.abort_reason = Some(asn::parse_int(L, k)?),
                (1, false, mta_ber::Class::Context) => {
                    if k.contents.is_empty() || k.contents[0] > 7 {
                        return Err(err(k.offset, "reflectedParameter is not a BIT STRING"));
                    }
                    r.reflected_parameter = Some(k.contents.to_vec());
                }
                (2, true, mta_ber::Class::Context) => r.user_data = Some(one_element(k)?),
                _ => return Err(err(k.offset, "unknown RTAB component")),
            }
        }
        Ok(r)
    }
    /// Emit the component list.
    pub fn emit_fields(&self, e: &mut Encoder) {
        opt_int(e, 0, self.abort_reason);
        if let Some(b) = &self.reflected_parameter {
            e.primitive(ctx(1), b);
        }
        if let Some(u) = &self.user_data {
            e.constructed(ctx_c(2), |e| {
                e.raw(u);
            });
        }
    }
}

impl Apdu {
    /// Parse one RTSE APDU (normal-mode tagging) covering `b`.
    pub fn parse(b: &[u8]) -> Result<Apdu> {
        let t = asn::parse_exact(L, b)?;
        Self::from_tlv(&t)
    }

    /// Decode an already-parsed element.
    pub fn from_tlv(t: &Tlv<'_>) -> Result<Apdu> {
        let tag = t.header.tag;
        if tag == asn::INTEGER {
            return Ok(Apdu::Rttp(asn::parse_int(L, t)?));
        }
        if tag == asn::OCTET_STRING {
            return Ok(Apdu::Rttr(t.contents.to_vec()));
        }
        if tag.class != mta_ber::Class::Context || !tag.constructed {
            return Err(err(t.offset, "not an RTSE APDU"));
        }
        let kids = asn::children(L, t)?;
        match tag.number {
            16 => Ok(Apdu::Rtorq(Rtorq::parse_fields(&kids, t.offset)?)),
            17 => Ok(Apdu::Rtoac(Rtoac::parse_fields(&kids, t.offset)?)),
            18 => Ok(Apdu::Rtorj(Rtorj::parse_fields(&kids)?)),
            22 => Ok(Apdu::Rtab(Rtab::parse_fields(&kids)?)),
            _ => Err(err(t.offset, "not an RTSE APDU")),
        }
    }

    /// Encode (normal-mode tagging).
    pub fn emit(&self) -> Vec<u8> {
        let mut e = Encoder::new();
        match self {
            Apdu::Rtorq(r) => {
                e.constructed(ctx_c(16), |e| r.emit_fields(e));
            }
            Apdu::Rtoac(r) => {
                e.constructed(ctx_c(17), |e| r.emit_fields(e));
            }
            Apdu::Rtorj(r) => {
                e.constructed(ctx_c(18), |e| r.emit_fields(e));
            }
            Apdu::Rttp(p) => put_int(&mut e, asn::INTEGER, *p),
            Apdu::Rttr(v) => {
                e.primitive(asn::OCTET_STRING, v);
            }
            Apdu::Rtab(r) => {
                e.constructed(ctx_c(22), |e| r.emit_fields(e));
            }
        }
        e.finish()
    }

    /// Analyzer-style name.
    pub fn name(&self) -> &'static str {
        match self {
            Apdu::Rtorq(_) => "RTORQ",
            Apdu::Rtoac(_) => "RTOAC",
            Apdu::Rtorj(_) => "RTORJ",
            Apdu::Rttp(_) => "RTTP",
            Apdu::Rttr(_) => "RTTR",
            Apdu::Rtab(_) => "RTAB",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips() {
        let apdus = [
            Apdu::Rtorq(Rtorq {
                checkpoint_size: Some(16),
                window_size: Some(3),
                dialogue_mode: Some(0),
                connection_data: ConnectionData::Open(vec![0x05, 0x00]),
                application_protocol: Some(1),
            }),
            Apdu::Rtoac(Rtoac {
                checkpoint_size: None,
                window_size: None,
                connection_data: ConnectionData::OpenNull,
            }),
            Apdu::Rtorj(Rtorj {
                refuse_reason: Some(0),
                user_data: Some(vec![0x02, 0x01, 0x02]),
            }),
            Apdu::Rttp(0),
            Apdu::Rttr(vec![0xa0, 0x00]),
            Apdu::Rtab(Rtab {
                abort_reason: Some(abort_reason::PROTOCOL_ERROR),
                reflected_parameter: Some(vec![0x00, 0x80]),
                user_data: None,
            }),
        ];
        for a in apdus {
            let b = a.emit();
            assert_eq!(Apdu::parse(&b).unwrap(), a, "{b:02x?}");
        }
        // RTORQ from PROTOCOLS.md's shape: B0 { 80 01 10, 81 01 03, A3 { A0 { 05 00 } } }.
        let b = [
            0xb0, 0x0e, 0x80, 0x01, 0x10, 0x81, 0x01, 0x03, 0xa3, 0x06, 0xa0, 0x04, 0x05, 0x00,
            0x00, 0x00,
        ];
        assert!(
            Apdu::parse(&b).is_err(),
            "trailing EOC-like octets inside a definite SET"
        );
    }

    /// Besides RTTP (INTEGER) and RTTR (OCTET STRING), only a constructed context-specific element
    /// is an RTSE APDU: a primitive [16] and a constructed universal SET are each refused.
    #[test]
    fn only_constructed_context_elements_are_apdus() {
        let refused = |b: &[u8]| Apdu::parse(b).unwrap_err().reason;
        assert_eq!(refused(&[0x90, 0x00]), "not an RTSE APDU", "primitive [16]");
        assert_eq!(refused(&[0x31, 0x00]), "not an RTSE APDU", "a SET");
    }
}
