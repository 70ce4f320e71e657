//! X.227 Association Control (ACSE) APDUs, normal mode: AARQ, AARE, RLRQ, RLRE, ABRT, and the
//! EXTERNAL that carries RTSE's APDUs in their user-information (PROTOCOLS.md section 5).
//!
//! The ACSE-1 module uses explicit tags except where marked IMPLICIT: application-context-name `[1]`
//! and result `[2]` are explicit, protocol-version `[0]` and user-information `[30]` implicit.

use crate::asn::{self, Oid, app_c, ctx, ctx_c, put_int};
use crate::{Layer, Malformed, Result};
use mta_ber::{Class, Encoder, Tlv};

const L: Layer = Layer::Acse;

const fn err(offset: usize, reason: &'static str) -> Malformed {
    Malformed::new(L, offset, reason)
}

/// EXTERNAL (X.690 8.18) as ACSE's user-information uses it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct External {
    /// direct-reference (transfer syntax).
    pub direct_reference: Option<Oid>,
    /// indirect-reference (presentation context identifier).
    pub indirect_reference: Option<i64>,
    /// encoding.
    pub encoding: Encoding,
}

/// EXTERNAL encoding CHOICE.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Encoding {
    /// `[0]` single-ASN1-type: one encoded element.
    SingleAsn1(Vec<u8>),
    /// `[1]` octet-aligned.
    OctetAligned(Vec<u8>),
    /// `[2]` arbitrary (BIT STRING contents).
    Arbitrary(Vec<u8>),
}

impl External {
    /// An EXTERNAL carrying one element in presentation context `pcid`.
    pub fn single(pcid: i64, element: Vec<u8>) -> Self {
        External {
            direct_reference: None,
            indirect_reference: Some(pcid),
            encoding: Encoding::SingleAsn1(element),
        }
    }

    /// Decode a parsed EXTERNAL element.
    pub fn parse(t: &Tlv<'_>) -> Result<Self> {
        asn::expect(
            L,
            t,
            asn::EXTERNAL,
            "user-information item is not an EXTERNAL",
        )?;
        let mut x = External {
            direct_reference: None,
            indirect_reference: None,
            encoding: Encoding::OctetAligned(Vec::new()),
        };
        let mut enc = None;
        for k in asn::children(L, t)? {
            let tag = k.header.tag;
            if tag == asn::OID {
                x.direct_reference = Some(Oid::parse(L, &k)?);
            } else if tag == asn::INTEGER {
                x.indirect_reference = Some(asn::parse_int(L, &k)?);
            } else if tag.class == Class::Context {
                enc = Some(match (tag.number, tag.constructed) {
                    (0, true) => Encoding::SingleAsn1(asn::explicit(L, &k)?.encoded.to_vec()),
                    (1, false) => Encoding::OctetAligned(k.contents.to_vec()),
                    (2, false) => Encoding::Arbitrary(k.contents.to_vec()),
                    _ => return Err(err(k.offset, "invalid EXTERNAL encoding")),
                });
            } else {
                return Err(err(k.offset, "unexpected EXTERNAL component"));
            }
        }
        x.encoding = enc.ok_or(err(t.offset, "EXTERNAL without encoding"))?;
        Ok(x)
    }

    /// Append the encoding.
    pub fn emit_into(&self, e: &mut Encoder) {
        e.constructed(asn::EXTERNAL, |e| {
            if let Some(o) = &self.direct_reference {
                e.primitive(asn::OID, &o.0);
            }
            if let Some(i) = self.indirect_reference {
                put_int(e, asn::INTEGER, i);
            }
            match &self.encoding {
                Encoding::SingleAsn1(v) => {
                    e.constructed(ctx_c(0), |e| {
                        e.raw(v);
                    });
                }
                Encoding::OctetAligned(v) => {
                    e.primitive(ctx(1), v);
                }
                Encoding::Arbitrary(v) => {
                    e.primitive(ctx(2), v);
                }
            }
        });
    }
}

/// Which ACSE APDU.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `[APPLICATION 0]` A-ASSOCIATE request.
    Aarq,
    /// `[APPLICATION 1]` A-ASSOCIATE response.
    Aare,
    /// `[APPLICATION 2]` A-RELEASE request.
    Rlrq,
    /// `[APPLICATION 3]` A-RELEASE response.
    Rlre,
    /// `[APPLICATION 4]` A-ABORT.
    Abrt,
}

impl Kind {
    /// Analyzer-style name.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Aarq => "AARQ",
            Kind::Aare => "AARE",
            Kind::Rlrq => "RLRQ",
            Kind::Rlre => "RLRE",
            Kind::Abrt => "ABRT",
        }
    }
}

/// An ACSE APDU with the fields the MTA uses; other fields are kept as encoded elements.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Apdu {
    /// Which APDU.
    pub kind: Kind,
    /// protocol-version `[0]` (AARQ/AARE) BIT STRING contents.
    pub protocol_version: Option<Vec<u8>>,
    /// application-context-name `[1]` (AARQ/AARE).
    pub application_context: Option<Oid>,
    /// AARE result `[2]`: accepted 0, rejected-permanent 1, rejected-transient 2.
    pub result: Option<i64>,
    /// AARE result-source-diagnostic `[3]`: (source 1 = service-user / 2 = provider, value).
    pub diagnostic: Option<(u32, i64)>,
    /// RLRQ/RLRE reason `[0]`, ABRT abort-source `[0]`.
    pub reason: Option<i64>,
    /// user-information `[30]`.
    pub user_information: Vec<External>,
    /// Other fields, as encoded elements (AP titles, invocation ids …).
    pub other: Vec<Vec<u8>>,
}

impl Apdu {
    /// An APDU of `kind` with no fields.
    pub fn new(kind: Kind) -> Self {
        Apdu {
            kind,
            protocol_version: None,
            application_context: None,
            result: None,
            diagnostic: None,
            reason: None,
            user_information: Vec::new(),
            other: Vec::new(),
        }
    }

    /// Parse one ACSE APDU covering `b`.
    pub fn parse(b: &[u8]) -> Result<Apdu> {
        let t = asn::parse_exact(L, b)?;
        Self::from_tlv(&t)
    }

    /// Decode a parsed element.
    pub fn from_tlv(t: &Tlv<'_>) -> Result<Apdu> {
        let tag = t.header.tag;
        if tag.class != Class::Application || !tag.constructed {
            return Err(err(t.offset, "not an ACSE APDU"));
        }
        let kind = match tag.number {
            0 => Kind::Aarq,
            1 => Kind::Aare,
            2 => Kind::Rlrq,
            3 => Kind::Rlre,
            4 => Kind::Abrt,
            _ => return Err(err(t.offset, "not an ACSE APDU")),
        };
        let mut a = Apdu::new(kind);
        let assoc = matches!(kind, Kind::Aarq | Kind::Aare);
        for k in asn::children(L, t)? {
            let kt = k.header.tag;
            if kt.class != Class::Context {
                return Err(err(k.offset, "untagged ACSE component"));
            }
            match (kt.number, kt.constructed) {
                (0, false) if assoc => a.protocol_version = Some(k.contents.to_vec()),
                (0, false) => a.reason = Some(asn::parse_int(L, &k)?),
                (1, true) if assoc => {
                    let o = asn::explicit(L, &k)?;
                    asn::expect(L, &o, asn::OID, "application-context-name is not an OID")?;
                    a.application_context = Some(Oid::parse(L, &o)?);
                }
                (2, true) if kind == Kind::Aare => {
                    let r = asn::explicit(L, &k)?;
                    asn::expect(L, &r, asn::INTEGER, "result is not an INTEGER")?;
                    a.result = Some(asn::parse_int(L, &r)?);
                }
                (3, true) if kind == Kind::Aare => {
                    let c = asn::explicit(L, &k)?;
                    let v = asn::explicit(L, &c)?;
                    if !matches!(c.header.tag.number, 1 | 2) || v.header.tag != asn::INTEGER {
                        return Err(err(c.offset, "invalid result-source-diagnostic"));
                    }
                    a.diagnostic = Some((c.header.tag.number, asn::parse_int(L, &v)?));
                }
                (30, true) => {
                    for x in asn::children(L, &k)? {
                        a.user_information.push(External::parse(&x)?);
                    }
                }
                _ => a.other.push(k.encoded.to_vec()),
            }
        }
        if assoc && a.application_context.is_none() {
            return Err(err(t.offset, "AARQ/AARE without application-context-name"));
        }
        if kind == Kind::Aare && (a.result.is_none() || a.diagnostic.is_none()) {
            return Err(err(
                t.offset,
                "AARE without result or result-source-diagnostic",
            ));
        }
        Ok(a)
    }

    /// Encode.
    pub fn emit(&self) -> Vec<u8> {
        let mut e = Encoder::new();
        let number = match self.kind {
            Kind::Aarq => 0,
            Kind::Aare => 1,
            Kind::Rlrq => 2,
            Kind::Rlre => 3,
            Kind::Abrt => 4,
        };
        e.constructed(app_c(number), |e| {
            if let Some(v) = &self.protocol_version {
                e.primitive(ctx(0), v);
            }
            if let Some(r) = self.reason {
                put_int(e, ctx(0), r);
            }
            if let Some(o) = &self.application_context {
                e.constructed(ctx_c(1), |e| {
                    e.primitive(asn::OID, &o.0);
                });
            }
            if let Some(r) = self.result {
                e.constructed(ctx_c(2), |e| put_int(e, asn::INTEGER, r));
            }
            if let Some((src, v)) = self.diagnostic {
                e.constructed(ctx_c(3), |e| {
                    e.constructed(ctx_c(src), |e| put_int(e, asn::INTEGER, v));
                });
            }
            for o in &self.other {
                e.raw(o);
            }
            if !self.user_information.is_empty() {
                e.constructed(ctx_c(30), |e| {
                    for x in &self.user_information {
                        x.emit_into(e);
                    }
                });
            }
        });
        e.finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::asn::oids;

    #[test]
    fn aarq_aare_round_trip() {
        let mut q = Apdu::new(Kind::Aarq);
        q.protocol_version = Some(vec![0x07, 0x80]);
        q.application_context = Some(oids::ac_mts_transfer());
        q.user_information.push(External::single(
            3,
            vec![0xb0, 0x04, 0xa3, 0x02, 0x80, 0x00],
        ));
        let b = q.emit();
        assert_eq!(&b[..2], &[0x60, b.len() as u8 - 2]);
        assert_eq!(Apdu::parse(&b).unwrap(), q);
        let mut r = Apdu::new(Kind::Aare);
        r.application_context = Some(oids::ac_mts_transfer());
        r.result = Some(0);
        r.diagnostic = Some((1, 0));
        assert_eq!(Apdu::parse(&r.emit()).unwrap(), r);
        let mut a = Apdu::new(Kind::Abrt);
        a.reason = Some(0);
        assert_eq!(Apdu::parse(&a.emit()).unwrap(), a);
        assert!(
            Apdu::parse(&[0x61, 0x00]).is_err(),
            "AARE needs its mandatory fields"
        );
    }

    /// Only a constructed [APPLICATION 0..4] element is an ACSE APDU: a primitive application
    /// element and a constructed universal one are each refused.
    #[test]
    fn only_constructed_application_elements_are_apdus() {
        let refused = |b: &[u8]| Apdu::parse(b).unwrap_err().reason;
        assert_eq!(
            refused(&[0x40, 0x00]),
            "not an ACSE APDU",
            "primitive [APPLICATION 0]"
        );
        assert_eq!(refused(&[0x30, 0x00]), "not an ACSE APDU", "a SEQUENCE");
        assert_eq!(
            refused(&[0x65, 0x00]),
            "not an ACSE APDU",
            "[APPLICATION 5]"
        );
    }

    /// EXTERNAL's three encodings each parse to their own variant and emit back the same octets.
    #[test]
    fn every_external_encoding_round_trips() {
        for encoding in [
            Encoding::SingleAsn1(vec![0x02, 0x01, 0x05]),
            Encoding::OctetAligned(vec![1, 2, 3]),
            Encoding::Arbitrary(vec![0x00, 0xff]),
        ] {
            let x = External {
                direct_reference: None,
                indirect_reference: Some(3),
                encoding,
            };
            let mut e = Encoder::new();
            x.emit_into(&mut e);
            let b = e.finish();
            let (t, _) = Tlv::parse(&b, &mta_ber::Limits::default()).unwrap();
            assert_eq!(External::parse(&t).unwrap(), x);
        }
    }

    /// Each APDU kind has its own analyser name, as the dissector prints it.
    #[test]
    fn kinds_have_their_analyser_names() {
        let names: Vec<&str> = [Kind::Aarq, Kind::Aare, Kind::Rlrq, Kind::Rlre, Kind::Abrt]
            .into_iter()
            .map(Kind::name)
            .collect();
        assert_eq!(names, ["AARQ", "AARE", "RLRQ", "RLRE", "ABRT"]);
    }

    /// A result-source-diagnostic names its source (1 user, 2 provider) and carries an INTEGER;
    /// any other source, or another type, is refused.
    #[test]
    fn a_diagnostic_needs_a_known_source_and_an_integer() {
        let aare = |diagnostic| {
            let mut r = Apdu::new(Kind::Aare);
            r.application_context = Some(oids::ac_mts_transfer());
            r.result = Some(0);
            r.diagnostic = Some(diagnostic);
            r.emit()
        };
        assert!(Apdu::parse(&aare((2, 1))).is_ok());
        let bad = "invalid result-source-diagnostic";
        assert_eq!(
            Apdu::parse(&aare((3, 0))).unwrap_err().reason,
            bad,
            "source 3"
        );
        let mut not_int = aare((1, 0));
        let at = not_int
            .windows(5)
            .rposition(|w| w == [0xa1, 0x03, 0x02, 0x01, 0x00])
            .expect("[1] { INTEGER 0 }");
        not_int[at + 2] = 0x04;
        assert_eq!(
            Apdu::parse(&not_int).unwrap_err().reason,
            bad,
            "an OCTET STRING"
        );
    }

    /// An AARE needs both its result and its result-source-diagnostic: either alone is refused.
    #[test]
    fn an_aare_needs_result_and_diagnostic_each() {
        let missing = "AARE without result or result-source-diagnostic";
        let mut r = Apdu::new(Kind::Aare);
        r.application_context = Some(oids::ac_mts_transfer());
        r.result = Some(0);
        assert_eq!(
            Apdu::parse(&r.emit()).unwrap_err().reason,
            missing,
            "no diagnostic"
        );
        r.result = None;
        r.diagnostic = Some((1, 0));
        assert_eq!(
            Apdu::parse(&r.emit()).unwrap_err().reason,
            missing,
            "no result"
        );
    }
}
