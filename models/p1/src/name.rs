//! X.411 global domain identifiers and O/R names (MTSAbstractService: `GlobalDomainIdentifier`,
//! `ORName`, `ORAddress`, `BuiltInStandardAttributes`; bounds from MTSUpperBounds).

use crate::Result;
use crate::read::{Text, app, ctx, each, err, expect, kids, string_tag as st, univ};
use mta_ber::{Class, Encoder, Tlv};
use std::fmt;

const NP: &[u32] = &[st::NUMERIC, st::PRINTABLE];

/// `[APPLICATION 1]` CountryName (x121-dcc-code NumericString(3) | iso-3166 PrintableString(2)).
fn parse_country(t: &Tlv<'_>) -> Result<Text> {
    expect(t, app(1, true), "CountryName is not [APPLICATION 1]")?;
    let v = crate::read::explicit(t)?;
    let text = Text::parse(&v, NP, 2, 3)?;
    let len_ok = (text.tag == st::NUMERIC && text.value.len() == 3)
        || (text.tag == st::PRINTABLE && text.value.len() == 2);
    if !len_ok {
        return Err(err(
            v.offset,
            "country name has the wrong size for its type",
        ));
    }
    Ok(text)
}

fn parse_admd(t: &Tlv<'_>) -> Result<Text> {
    expect(
        t,
        app(2, true),
        "AdministrationDomainName is not [APPLICATION 2]",
    )?;
    Text::parse(&crate::read::explicit(t)?, NP, 0, 16)
}

fn emit_wrapped(e: &mut Encoder, tag: mta_ber::Tag, text: &Text) {
    e.constructed(tag, |e| text.emit_universal(e));
}

/// `[APPLICATION 3]` GlobalDomainIdentifier.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct GlobalDomainIdentifier {
    /// Country.
    pub country: Text,
    /// Administration domain (may be a single space, "no ADMD").
    pub admd: Text,
    /// Private domain.
    pub prmd: Option<Text>,
}

impl GlobalDomainIdentifier {
    /// A GDI from printable strings.
    pub fn new(country: &str, admd: &str, prmd: Option<&str>) -> Self {
        GlobalDomainIdentifier {
            country: Text::printable(country),
            admd: Text::printable(admd),
            prmd: prmd.map(Text::printable),
        }
    }

    pub(crate) fn parse(t: &Tlv<'_>) -> Result<Self> {
        expect(
            t,
            app(3, true),
            "GlobalDomainIdentifier is not [APPLICATION 3]",
        )?;
        let mut k = each(t)?;
        match (k.next(), k.next(), k.next(), k.next()) {
            (Some(c), Some(a), p, None) => Ok(GlobalDomainIdentifier {
                country: parse_country(&c)?,
                admd: parse_admd(&a)?,
                prmd: p.map(|p| Text::parse(&p, NP, 1, 16)).transpose()?,
            }),
            _ => Err(err(
                t.offset,
                "GlobalDomainIdentifier needs 2 or 3 components",
            )),
        }
    }

    pub(crate) fn emit(&self, e: &mut Encoder) {
        e.constructed(app(3, true), |e| {
            emit_wrapped(e, app(1, true), &self.country);
            emit_wrapped(e, app(2, true), &self.admd);
            if let Some(p) = &self.prmd {
                p.emit_universal(e);
            }
        });
    }
}

impl fmt::Display for GlobalDomainIdentifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "/C={}/A={}/", self.country, self.admd)?;
        if let Some(p) = &self.prmd {
            write!(f, "P={p}/")?;
        }
        Ok(())
    }
}

/// PersonalName `[5]` SET.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PersonalName {
    /// `[0]` surname (1..40).
    pub surname: Text,
    /// `[1]` given name (1..16).
    pub given_name: Option<Text>,
    /// `[2]` initials (1..5).
    pub initials: Option<Text>,
    /// `[3]` generation qualifier (1..3).
    pub generation: Option<Text>,
}

/// An O/R name: the built-in standard attributes parsed, the rest kept as encoded elements.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct OrName {
    /// Country.
    pub country: Option<Text>,
    /// ADMD.
    pub admd: Option<Text>,
    /// `[0]` network address (X.121, NumericString 1..16).
    pub network_address: Option<Text>,
    /// `[1]` terminal identifier (1..24).
    pub terminal_identifier: Option<Text>,
    /// `[2]` private domain name.
    pub prmd: Option<Text>,
    /// `[3]` organisation (1..64).
    pub organization: Option<Text>,
    /// `[4]` numeric user identifier (1..32).
    pub numeric_user_id: Option<Text>,
    /// `[5]` personal name.
    pub personal_name: Option<PersonalName>,
    /// `[6]` organisational units (1..4 of 1..32).
    pub org_units: Vec<Text>,
    /// Built-in domain-defined attributes (type, value), 1..4.
    pub domain_defined: Vec<(Text, Text)>,
    /// Extension attributes SET, encoded.
    pub extension_attributes: Option<Vec<u8>>,
    /// `[0]` directory name, encoded.
    pub directory_name: Option<Vec<u8>>,
}

impl OrName {
    /// A name with C, A, P, O and surname (printable strings).
    pub fn simple(country: &str, admd: &str, prmd: &str, org: &str, surname: &str) -> Self {
        OrName {
            country: Some(Text::printable(country)),
            admd: Some(Text::printable(admd)),
            prmd: Some(Text::printable(prmd)),
            organization: Some(Text::printable(org)),
            personal_name: Some(PersonalName {
                surname: Text::printable(surname),
                given_name: None,
                initials: None,
                generation: None,
            }),
            ..OrName::default()
        }
    }

    /// Parse an `[APPLICATION 0]` ORName (or, with `tag`, an implicitly retagged one).
    pub(crate) fn parse_tagged(t: &Tlv<'_>, tag: mta_ber::Tag) -> Result<Self> {
        expect(t, tag, "not an ORName")?;
        let mut rest = each(t)?;
        let Some(bisa) = rest.next() else {
            return Err(err(t.offset, "ORName without built-in standard attributes"));
        };
        let bisa = &bisa;
        expect(
            bisa,
            univ(16, true),
            "built-in standard attributes are not a SEQUENCE",
        )?;
        let mut n = OrName::default();
        for a in each(bisa)? {
            let tg = a.header.tag;
            match (tg.class, tg.number, tg.constructed) {
                (Class::Application, 1, true) if n.country.is_none() => {
                    n.country = Some(parse_country(&a)?);
                }
                (Class::Application, 2, true) if n.admd.is_none() => n.admd = Some(parse_admd(&a)?),
                (Class::Context, 0, false) => {
                    n.network_address =
                        Some(Text::parse(&retag(&a, st::NUMERIC), &[st::NUMERIC], 1, 16)?);
                }
                (Class::Context, 1, false) => {
                    n.terminal_identifier = Some(Text::parse(
                        &retag(&a, st::PRINTABLE),
                        &[st::PRINTABLE],
                        1,
                        24,
                    )?);
                }
                (Class::Context, 2, true) => {
                    n.prmd = Some(Text::parse(&crate::read::explicit(&a)?, NP, 1, 16)?);
                }
                (Class::Context, 3, false) => {
                    n.organization = Some(Text::parse(
                        &retag(&a, st::PRINTABLE),
                        &[st::PRINTABLE],
                        1,
                        64,
                    )?);
                }
                (Class::Context, 4, false) => {
                    n.numeric_user_id =
                        Some(Text::parse(&retag(&a, st::NUMERIC), &[st::NUMERIC], 1, 32)?);
                }
                (Class::Context, 5, true) => n.personal_name = Some(parse_personal(&a)?),
                (Class::Context, 6, true) => {
                    let units = kids(&a)?;
                    if units.is_empty() || units.len() > 4 {
                        return Err(err(a.offset, "1 to 4 organisational units"));
                    }
                    for u in units {
                        n.org_units.push(Text::parse(&u, &[st::PRINTABLE], 1, 32)?);
                    }
                }
                _ => return Err(err(a.offset, "unknown built-in standard attribute")),
            }
        }
        for r in rest {
            let r = &r;
            let tg = r.header.tag;
            if tg == univ(16, true)
                && n.domain_defined.is_empty()
                && n.extension_attributes.is_none()
            {
                let dda = kids(r)?;
                if dda.is_empty() || dda.len() > 4 {
                    return Err(err(r.offset, "1 to 4 domain-defined attributes"));
                }
                for d in dda {
                    match kids(&d)?.as_slice() {
                        [ty, v] => n.domain_defined.push((
                            Text::parse(ty, &[st::PRINTABLE], 1, 8)?,
                            Text::parse(v, &[st::PRINTABLE], 1, 128)?,
                        )),
                        _ => {
                            return Err(err(
                                d.offset,
                                "domain-defined attribute needs type and value",
                            ));
                        }
                    }
                }
            } else if tg == univ(17, true) && n.extension_attributes.is_none() {
                n.extension_attributes = Some(r.encoded.to_vec());
            } else if tg == ctx(0, true) && n.directory_name.is_none() {
                n.directory_name = Some(r.encoded.to_vec());
            } else {
                return Err(err(r.offset, "unexpected ORName component"));
            }
        }
        Ok(n)
    }

    pub(crate) fn parse(t: &Tlv<'_>) -> Result<Self> {
        Self::parse_tagged(t, app(0, true))
    }

    pub(crate) fn emit_tagged(&self, e: &mut Encoder, tag: mta_ber::Tag) {
        e.constructed(tag, |e| {
            e.constructed(univ(16, true), |e| {
                if let Some(c) = &self.country {
                    emit_wrapped(e, app(1, true), c);
                }
                if let Some(a) = &self.admd {
                    emit_wrapped(e, app(2, true), a);
                }
                if let Some(x) = &self.network_address {
                    x.emit(e, ctx(0, false));
                }
                if let Some(x) = &self.terminal_identifier {
                    x.emit(e, ctx(1, false));
                }
                if let Some(p) = &self.prmd {
                    emit_wrapped(e, ctx(2, true), p);
                }
                if let Some(o) = &self.organization {
                    o.emit(e, ctx(3, false));
                }
                if let Some(x) = &self.numeric_user_id {
                    x.emit(e, ctx(4, false));
                }
                if let Some(p) = &self.personal_name {
                    e.constructed(ctx(5, true), |e| {
                        p.surname.emit(e, ctx(0, false));
                        for (i, v) in [&p.given_name, &p.initials, &p.generation]
                            .into_iter()
                            .enumerate()
                        {
                            if let Some(v) = v {
                                v.emit(e, ctx(i as u32 + 1, false));
                            }
                        }
                    });
                }
                if !self.org_units.is_empty() {
                    e.constructed(ctx(6, true), |e| {
                        for u in &self.org_units {
                            u.emit_universal(e);
                        }
                    });
                }
            });
            if !self.domain_defined.is_empty() {
                e.constructed(univ(16, true), |e| {
                    for (t, v) in &self.domain_defined {
                        e.constructed(univ(16, true), |e| {
                            t.emit_universal(e);
                            v.emit_universal(e);
                        });
                    }
                });
            }
            if let Some(x) = &self.extension_attributes {
                e.raw(x);
            }
            if let Some(d) = &self.directory_name {
                e.raw(d);
            }
        });
    }

    pub(crate) fn emit(&self, e: &mut Encoder) {
        self.emit_tagged(e, app(0, true));
    }

    /// The routing key of this name: (country, ADMD, PRMD), lower-cased.
    pub fn domain(&self) -> (String, String, String) {
        let s = |t: &Option<Text>| {
            t.as_ref()
                .map(|t| t.value.trim().to_ascii_lowercase())
                .unwrap_or_default()
        };
        (s(&self.country), s(&self.admd), s(&self.prmd))
    }
}

fn retag<'a>(t: &Tlv<'a>, universal: u32) -> Tlv<'a> {
    let mut r = *t;
    r.header.tag = univ(universal, false);
    r
}

fn parse_personal(t: &Tlv<'_>) -> Result<PersonalName> {
    let mut p = PersonalName {
        surname: Text::printable("x"),
        given_name: None,
        initials: None,
        generation: None,
    };
    let mut surname = None;
    for f in each(t)? {
        let tg = f.header.tag;
        if tg.class != Class::Context || tg.constructed {
            return Err(err(f.offset, "unexpected personal-name component"));
        }
        let r = retag(&f, st::PRINTABLE);
        match tg.number {
            0 => surname = Some(Text::parse(&r, &[st::PRINTABLE], 1, 40)?),
            1 => p.given_name = Some(Text::parse(&r, &[st::PRINTABLE], 1, 16)?),
            2 => p.initials = Some(Text::parse(&r, &[st::PRINTABLE], 1, 5)?),
            3 => p.generation = Some(Text::parse(&r, &[st::PRINTABLE], 1, 3)?),
            _ => return Err(err(f.offset, "unexpected personal-name component")),
        }
    }
    p.surname = surname.ok_or(err(t.offset, "personal name without surname"))?;
    Ok(p)
}

impl fmt::Display for OrName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut put = |k: &str, v: &Option<Text>| -> fmt::Result {
            if let Some(v) = v {
                write!(f, "/{k}={v}")?;
            }
            Ok(())
        };
        put("C", &self.country)?;
        put("A", &self.admd)?;
        put("P", &self.prmd)?;
        put("O", &self.organization)?;
        for u in &self.org_units {
            write!(f, "/OU={u}")?;
        }
        if let Some(p) = &self.personal_name {
            write!(f, "/S={}", p.surname)?;
            if let Some(g) = &p.given_name {
                write!(f, "/G={g}")?;
            }
        }
        f.write_str("/")
    }
}
