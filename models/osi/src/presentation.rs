//! ISO 8823 / X.226 presentation PPDUs in BER (PROTOCOLS.md section 4): CP-type, CPA-PPDU,
//! CPR-PPDU, ARU/ARP-PPDU and User-data, in normal mode and in X.410-1984 mode.
//!
//! Which PPDU a session user-data field holds follows from the SPDU carrying it (CN → CP, AC → CPA,
//! RF → CPR, AB → ARU/ARP, DT → User-data), so each has its own `parse`.

use crate::asn::{self, Oid, app_c, ctx, ctx_c, put_int};
use crate::{Layer, Malformed, Result};
use mta_ber::{Class, Encoder, Tlv};

const L: Layer = Layer::Presentation;

const fn err(offset: usize, reason: &'static str) -> Malformed {
    Malformed::new(L, offset, reason)
}

/// Mode-selector value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Mode {
    /// x410-1984-mode (0): RTS straight on presentation, no ACSE.
    X410,
    /// normal-mode (1): ACSE + RTSE in presentation contexts.
    Normal,
}

/// One presentation-context-definition-list item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContextItem {
    /// Presentation context identifier (odd, chosen by the initiator).
    pub id: i64,
    /// Abstract syntax.
    pub abstract_syntax: Oid,
    /// Proposed transfer syntaxes.
    pub transfer_syntaxes: Vec<Oid>,
}

/// One presentation-context-definition-result-list item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContextResult {
    /// acceptance 0, user-rejection 1, provider-rejection 2.
    pub result: i64,
    /// Chosen transfer syntax.
    pub transfer_syntax: Option<Oid>,
    /// Provider reason when rejected.
    pub provider_reason: Option<i64>,
}

/// PDV-list presentation-data-values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PdvValue {
    /// `[0]` single-ASN1-type: one encoded element.
    Single(Vec<u8>),
    /// `[1]` octet-aligned.
    OctetAligned(Vec<u8>),
    /// `[2]` arbitrary.
    Arbitrary(Vec<u8>),
}

/// One PDV-list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pdv {
    /// transfer-syntax-name.
    pub transfer_syntax: Option<Oid>,
    /// presentation-context-identifier.
    pub context_id: i64,
    /// Values.
    pub value: PdvValue,
}

/// User-data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UserData {
    /// `[APPLICATION 0]` Simply-encoded-data.
    Simple(Vec<u8>),
    /// `[APPLICATION 1]` Fully-encoded-data.
    Full(Vec<Pdv>),
}

impl UserData {
    /// Fully-encoded data with one single-ASN1-type PDV.
    pub fn single(context_id: i64, element: Vec<u8>) -> Self {
        UserData::Full(vec![Pdv {
            transfer_syntax: None,
            context_id,
            value: PdvValue::Single(element),
        }])
    }

    /// Parse a data-phase user-data PPDU covering `b`.
    pub fn parse(b: &[u8]) -> Result<UserData> {
        Self::from_tlv(&asn::parse_exact(L, b)?)
    }

    fn from_tlv(t: &Tlv<'_>) -> Result<UserData> {
        let tag = t.header.tag;
        if tag.class == Class::Application && tag.number == 0 && !tag.constructed {
            return Ok(UserData::Simple(t.contents.to_vec()));
        }
        if tag != app_c(1) {
            return Err(err(
                t.offset,
                "user data is neither simply nor fully encoded",
            ));
        }
        let mut pdvs = Vec::new();
        for p in asn::children(L, t)? {
            asn::expect(L, &p, asn::SEQUENCE, "PDV-list is not a SEQUENCE")?;
            let mut pdv = Pdv {
                transfer_syntax: None,
                context_id: 0,
                value: PdvValue::OctetAligned(Vec::new()),
            };
            let (mut id, mut val) = (None, None);
            for k in asn::children(L, &p)? {
                let kt = k.header.tag;
                if kt == asn::OID {
                    pdv.transfer_syntax = Some(Oid::parse(L, &k)?);
                } else if kt == asn::INTEGER {
                    id = Some(asn::parse_int(L, &k)?);
                } else if kt.class == Class::Context {
                    val = Some(match (kt.number, kt.constructed) {
                        (0, true) => PdvValue::Single(asn::explicit(L, &k)?.encoded.to_vec()),
                        (1, false) => PdvValue::OctetAligned(k.contents.to_vec()),
                        (2, false) => PdvValue::Arbitrary(k.contents.to_vec()),
                        _ => return Err(err(k.offset, "invalid presentation-data-values")),
                    });
                } else {
                    return Err(err(k.offset, "unexpected PDV-list component"));
                }
            }
            pdv.context_id = id.ok_or(err(p.offset, "PDV-list without context identifier"))?;
            pdv.value = val.ok_or(err(p.offset, "PDV-list without values"))?;
            pdvs.push(pdv);
        }
        Ok(UserData::Full(pdvs))
    }

    fn emit_into(&self, e: &mut Encoder) {
        match self {
            UserData::Simple(v) => {
                e.primitive(
                    mta_ber::Tag {
                        class: Class::Application,
                        constructed: false,
                        number: 0,
                    },
                    v,
                );
            }
            UserData::Full(pdvs) => {
                e.constructed(app_c(1), |e| {
                    for p in pdvs {
                        e.constructed(asn::SEQUENCE, |e| {
                            if let Some(o) = &p.transfer_syntax {
                                e.primitive(asn::OID, &o.0);
                            }
                            put_int(e, asn::INTEGER, p.context_id);
                            match &p.value {
                                PdvValue::Single(v) => {
                                    e.constructed(ctx_c(0), |e| {
                                        e.raw(v);
                                    });
                                }
                                PdvValue::OctetAligned(v) => {
                                    e.primitive(ctx(1), v);
                                }
                                PdvValue::Arbitrary(v) => {
                                    e.primitive(ctx(2), v);
                                }
                            }
                        });
                    }
                });
            }
        }
    }

    /// Encode.
    pub fn emit(&self) -> Vec<u8> {
        let mut e = Encoder::new();
        self.emit_into(&mut e);
        e.finish()
    }

    /// The single-ASN1-type value of the PDV in context `id`, if exactly that is present.
    pub fn single_in(&self, id: i64) -> Option<&[u8]> {
        match self {
            UserData::Full(p) => p.iter().find_map(|p| match &p.value {
                PdvValue::Single(v) if p.context_id == id => Some(v.as_slice()),
                _ => None,
            }),
            UserData::Simple(_) => None,
        }
    }
}

/// Normal-mode parameters of CP, CPA and CPR (one struct: each PPDU uses a subset).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct NormalParams {
    /// `[0]` protocol-version BIT STRING contents.
    pub protocol_version: Option<Vec<u8>>,
    /// `[1]` calling presentation selector.
    pub calling_selector: Option<Vec<u8>>,
    /// `[2]` called presentation selector.
    pub called_selector: Option<Vec<u8>>,
    /// `[3]` responding presentation selector.
    pub responding_selector: Option<Vec<u8>>,
    /// `[4]` presentation-context-definition-list.
    pub contexts: Option<Vec<ContextItem>>,
    /// `[5]` presentation-context-definition-result-list.
    pub results: Option<Vec<ContextResult>>,
    /// `[8]` presentation-requirements BIT STRING contents.
    pub requirements: Option<Vec<u8>>,
    /// `[9]` user-session-requirements BIT STRING contents.
    pub user_session_requirements: Option<Vec<u8>>,
    /// `[10]` provider-reason (CPR).
    pub provider_reason: Option<i64>,
    /// User-data.
    pub user_data: Option<UserData>,
}

impl NormalParams {
    fn parse(t: &Tlv<'_>) -> Result<Self> {
        let mut n = NormalParams::default();
        for k in asn::children(L, t)? {
            let kt = k.header.tag;
            if kt.class == Class::Application {
                n.user_data = Some(UserData::from_tlv(&k)?);
                continue;
            }
            if kt.class != Class::Context {
                return Err(err(k.offset, "unexpected normal-mode parameter"));
            }
            match (kt.number, kt.constructed) {
                (0, false) => n.protocol_version = Some(k.contents.to_vec()),
                (1, false) => n.calling_selector = Some(k.contents.to_vec()),
                (2, false) => n.called_selector = Some(k.contents.to_vec()),
                (3, false) => n.responding_selector = Some(k.contents.to_vec()),
                (4, true) => {
                    let mut items = Vec::new();
                    for i in asn::children(L, &k)? {
                        asn::expect(L, &i, asn::SEQUENCE, "context item is not a SEQUENCE")?;
                        let parts = asn::children(L, &i)?;
                        let [id, abs, ts] = parts.as_slice() else {
                            return Err(err(i.offset, "context item needs id, abstract, transfer"));
                        };
                        asn::expect(L, id, asn::INTEGER, "context id is not an INTEGER")?;
                        asn::expect(L, abs, asn::OID, "abstract syntax is not an OID")?;
                        asn::expect(L, ts, asn::SEQUENCE, "transfer syntaxes not a SEQUENCE")?;
                        let mut tss = Vec::new();
                        for o in asn::children(L, ts)? {
                            asn::expect(L, &o, asn::OID, "transfer syntax is not an OID")?;
                            tss.push(Oid::parse(L, &o)?);
                        }
                        items.push(ContextItem {
                            id: asn::parse_int(L, id)?,
                            abstract_syntax: Oid::parse(L, abs)?,
                            transfer_syntaxes: tss,
                        });
                    }
                    n.contexts = Some(items);
                }
                (5, true) => {
                    let mut items = Vec::new();
                    for i in asn::children(L, &k)? {
                        asn::expect(L, &i, asn::SEQUENCE, "result item is not a SEQUENCE")?;
                        let mut r = ContextResult {
                            result: -1,
                            transfer_syntax: None,
                            provider_reason: None,
                        };
                        for f in asn::children(L, &i)? {
                            match (
                                f.header.tag.class,
                                f.header.tag.number,
                                f.header.tag.constructed,
                            ) {
                                (Class::Context, 0, false) => r.result = asn::parse_int(L, &f)?,
                                (Class::Context, 1, false) => {
                                    r.transfer_syntax = Some(Oid::parse(L, &f)?);
                                }
                                (Class::Context, 2, false) => {
                                    r.provider_reason = Some(asn::parse_int(L, &f)?);
                                }
                                _ => return Err(err(f.offset, "unexpected result item field")),
                            }
                        }
                        if r.result < 0 {
                            return Err(err(i.offset, "result item without result"));
                        }
                        items.push(r);
                    }
                    n.results = Some(items);
                }
                (8, false) => n.requirements = Some(k.contents.to_vec()),
                (9, false) => n.user_session_requirements = Some(k.contents.to_vec()),
                (10, false) => n.provider_reason = Some(asn::parse_int(L, &k)?),
                _ => return Err(err(k.offset, "unsupported normal-mode parameter")),
            }
        }
        Ok(n)
    }

    fn emit_fields(&self, e: &mut Encoder) {
        let prim = |e: &mut Encoder, n: u32, v: &Option<Vec<u8>>| {
            if let Some(v) = v {
                e.primitive(ctx(n), v);
            }
        };
        prim(e, 0, &self.protocol_version);
        prim(e, 1, &self.calling_selector);
        prim(e, 2, &self.called_selector);
        prim(e, 3, &self.responding_selector);
        if let Some(items) = &self.contexts {
            e.constructed(ctx_c(4), |e| {
                for i in items {
                    e.constructed(asn::SEQUENCE, |e| {
                        put_int(e, asn::INTEGER, i.id);
                        e.primitive(asn::OID, &i.abstract_syntax.0);
                        e.constructed(asn::SEQUENCE, |e| {
                            for t in &i.transfer_syntaxes {
                                e.primitive(asn::OID, &t.0);
                            }
                        });
                    });
                }
            });
        }
        if let Some(items) = &self.results {
            e.constructed(ctx_c(5), |e| {
                for r in items {
                    e.constructed(asn::SEQUENCE, |e| {
                        put_int(e, ctx(0), r.result);
                        if let Some(t) = &r.transfer_syntax {
                            e.primitive(ctx(1), &t.0);
                        }
                        if let Some(p) = r.provider_reason {
                            put_int(e, ctx(2), p);
                        }
                    });
                }
            });
        }
        prim(e, 8, &self.requirements);
        prim(e, 9, &self.user_session_requirements);
        if let Some(p) = self.provider_reason {
            put_int(e, ctx(10), p);
        }
        if let Some(u) = &self.user_data {
            u.emit_into(e);
        }
    }
}

/// CP-type (in CN) or CPA-PPDU (in AC): same outer shape.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Connect {
    /// Mode selector.
    pub mode: Mode,
    /// `[1]` x410-mode-parameters: contents of the RTORQ (CP) / RTOAC (CPA) SET.
    pub x410: Option<Vec<u8>>,
    /// `[2]` normal-mode-parameters.
    pub normal: Option<NormalParams>,
}

impl Connect {
    /// Parse a CP-type or CPA-PPDU covering `b`.
    pub fn parse(b: &[u8]) -> Result<Connect> {
        let t = asn::parse_exact(L, b)?;
        asn::expect(L, &t, asn::SET, "CP/CPA is not a SET")?;
        let mut mode = None;
        let mut c = Connect {
            mode: Mode::Normal,
            x410: None,
            normal: None,
        };
        for k in asn::children(L, &t)? {
            match (
                k.header.tag.class,
                k.header.tag.number,
                k.header.tag.constructed,
            ) {
                (Class::Context, 0, true) => {
                    let v = asn::explicit(L, &k)?;
                    if v.header.tag != ctx(0) {
                        return Err(err(v.offset, "mode-selector without mode-value"));
                    }
                    mode = Some(match asn::parse_int(L, &v)? {
                        0 => Mode::X410,
                        1 => Mode::Normal,
                        _ => return Err(err(v.offset, "unknown mode-value")),
                    });
                }
                (Class::Context, 1, true) => c.x410 = Some(k.contents.to_vec()),
                (Class::Context, 2, true) => c.normal = Some(NormalParams::parse(&k)?),
                _ => return Err(err(k.offset, "unexpected CP/CPA component")),
            }
        }
        c.mode = mode.ok_or(err(t.offset, "CP/CPA without mode-selector"))?;
        match c.mode {
            Mode::X410 if c.normal.is_some() => {
                Err(err(t.offset, "X.410 mode with normal-mode parameters"))
            }
            Mode::Normal if c.x410.is_some() => {
                Err(err(t.offset, "normal mode with X.410 parameters"))
            }
            _ => Ok(c),
        }
    }

    /// Encode.
    pub fn emit(&self) -> Vec<u8> {
        let mut e = Encoder::new();
        e.constructed(asn::SET, |e| {
            e.constructed(ctx_c(0), |e| {
                put_int(e, ctx(0), i64::from(self.mode == Mode::Normal));
            });
            if let Some(x) = &self.x410 {
                e.constructed(ctx_c(1), |e| {
                    e.raw(x);
                });
            }
            if let Some(n) = &self.normal {
                e.constructed(ctx_c(2), |e| n.emit_fields(e));
            }
        });
        e.finish()
    }
}

/// CPR-PPDU (in RF).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refuse {
    /// X.410-1984 mode: the RTORJ SET contents.
    X410(Vec<u8>),
    /// Normal mode.
    Normal(Box<NormalParams>),
}

impl Refuse {
    /// Parse a CPR-PPDU covering `b`.
    pub fn parse(b: &[u8]) -> Result<Refuse> {
        let t = asn::parse_exact(L, b)?;
        if t.header.tag == asn::SET {
            Ok(Refuse::X410(t.contents.to_vec()))
        } else if t.header.tag == asn::SEQUENCE {
            Ok(Refuse::Normal(Box::new(NormalParams::parse(&t)?)))
        } else {
            Err(err(t.offset, "CPR-PPDU is neither SET nor SEQUENCE"))
        }
    }
    /// Encode.
    pub fn emit(&self) -> Vec<u8> {
        let mut e = Encoder::new();
        match self {
            Refuse::X410(c) => {
                e.constructed(asn::SET, |e| {
                    e.raw(c);
                });
            }
            Refuse::Normal(n) => {
                e.constructed(asn::SEQUENCE, |e| n.emit_fields(e));
            }
        }
        e.finish()
    }
}

/// ARU-PPDU / ARP-PPDU (in AB).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Abort {
    /// ARU, X.410-1984 mode: the RTAB SET contents.
    UserX410(Vec<u8>),
    /// ARU, normal mode `[0]`: user data.
    User(Option<UserData>),
    /// ARP: provider-reason `[0]`, event-identifier `[1]`.
    Provider {
        /// provider-reason.
        reason: Option<i64>,
        /// event-identifier.
        event: Option<i64>,
    },
}

impl Abort {
    /// Parse an abort PPDU covering `b`.
    pub fn parse(b: &[u8]) -> Result<Abort> {
        let t = asn::parse_exact(L, b)?;
        let tag = t.header.tag;
        if tag == asn::SET {
            return Ok(Abort::UserX410(t.contents.to_vec()));
        }
        if tag == ctx_c(0) {
            let mut ud = None;
            for k in asn::children(L, &t)? {
                if k.header.tag.class == Class::Application {
                    ud = Some(UserData::from_tlv(&k)?);
                } else if k.header.tag != ctx_c(0) {
                    return Err(err(k.offset, "unexpected ARU component"));
                }
            }
            return Ok(Abort::User(ud));
        }
        if tag == asn::SEQUENCE {
            let (mut reason, mut event) = (None, None);
            for k in asn::children(L, &t)? {
                match (
                    k.header.tag.class,
                    k.header.tag.number,
                    k.header.tag.constructed,
                ) {
                    (Class::Context, 0, false) => reason = Some(asn::parse_int(L, &k)?),
                    (Class::Context, 1, false) => event = Some(asn::parse_int(L, &k)?),
                    _ => return Err(err(k.offset, "unexpected ARP component")),
                }
            }
            return Ok(Abort::Provider { reason, event });
        }
        Err(err(t.offset, "not an ARU/ARP PPDU"))
    }

    /// Encode.
    pub fn emit(&self) -> Vec<u8> {
        let mut e = Encoder::new();
        match self {
            Abort::UserX410(c) => {
                e.constructed(asn::SET, |e| {
                    e.raw(c);
                });
            }
            Abort::User(ud) => {
                e.constructed(ctx_c(0), |e| {
                    if let Some(u) = ud {
                        u.emit_into(e);
                    }
                });
            }
            Abort::Provider { reason, event } => {
                e.constructed(asn::SEQUENCE, |e| {
                    if let Some(r) = reason {
                        put_int(e, ctx(0), *r);
                    }
                    if let Some(v) = event {
                        put_int(e, ctx(1), *v);
                    }
                });
            }
        }
        e.finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::asn::oids;

    #[test]
    fn cp_round_trip_both_modes() {
        let cp = Connect {
            mode: Mode::Normal,
            x410: None,
            normal: Some(NormalParams {
                calling_selector: Some(b"P".to_vec()),
                called_selector: Some(b"Q".to_vec()),
                contexts: Some(vec![
                    ContextItem {
                        id: 1,
                        abstract_syntax: oids::acse(),
                        transfer_syntaxes: vec![oids::ber()],
                    },
                    ContextItem {
                        id: 3,
                        abstract_syntax: oids::as_mta_rtse(),
                        transfer_syntaxes: vec![oids::ber()],
                    },
                ]),
                user_data: Some(UserData::single(1, vec![0x60, 0x00])),
                ..NormalParams::default()
            }),
        };
        let b = cp.emit();
        assert_eq!(&b[2..7], &[0xa0, 0x03, 0x80, 0x01, 0x01]);
        assert_eq!(Connect::parse(&b).unwrap(), cp);
        let x = Connect {
            mode: Mode::X410,
            x410: Some(vec![0x80, 0x01, 0x00]),
            normal: None,
        };
        assert_eq!(Connect::parse(&x.emit()).unwrap(), x);
        for a in [
            Abort::Provider {
                reason: Some(1),
                event: None,
            },
            Abort::User(Some(UserData::single(1, vec![0x64, 0x00]))),
            Abort::UserX410(vec![0x80, 0x01, 0x04]),
        ] {
            assert_eq!(Abort::parse(&a.emit()).unwrap(), a);
        }
    }
}
