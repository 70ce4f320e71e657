//! Checked views of X.411 `GlobalDomainIdentifier` and `ORName` (bounds from MTSUpperBounds).

use super::{Element, Iter, VALIDATED, count_then_check};
use crate::Result;
use crate::read::{TextRef, app, ctx, each, err, expect, explicit, retag, string_tag as st, univ};
use mta_ber::{Children, Class, Tlv};

/// NumericString or PrintableString (country, ADMD and PRMD names).
const NP: &[u32] = &[st::NUMERIC, st::PRINTABLE];

/// `[APPLICATION 1]` CountryName (x121-dcc-code NumericString(3) | iso-3166 PrintableString(2)).
fn parse_country<'a>(t: &Tlv<'a>) -> Result<TextRef<'a>> {
    expect(t, app(1, true), "CountryName is not [APPLICATION 1]")?;
    let v = explicit(t)?;
    let text = TextRef::parse(&v, NP, 2, 3)?;
    let len_ok = (text.tag == st::NUMERIC && text.octets.len() == 3)
        || (text.tag == st::PRINTABLE && text.octets.len() == 2);
    if !len_ok {
        return Err(err(
            v.offset,
            "country name has the wrong size for its type",
        ));
    }
    Ok(text)
}

/// `[APPLICATION 2]` AdministrationDomainName (NumericString | PrintableString, 0..16).
fn parse_admd<'a>(t: &Tlv<'a>) -> Result<TextRef<'a>> {
    expect(
        t,
        app(2, true),
        "AdministrationDomainName is not [APPLICATION 2]",
    )?;
    TextRef::parse(&explicit(t)?, NP, 0, 16)
}

/// `[APPLICATION 3]` GlobalDomainIdentifier.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct GlobalDomainIdentifier<'a> {
    /// Country.
    pub country: TextRef<'a>,
    /// Administration domain (may be a single space, "no ADMD").
    pub admd: TextRef<'a>,
    /// Private domain.
    pub prmd: Option<TextRef<'a>>,
}

impl<'a> GlobalDomainIdentifier<'a> {
    pub(crate) fn parse(t: &Tlv<'a>) -> Result<Self> {
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
                prmd: p.map(|p| TextRef::parse(&p, NP, 1, 16)).transpose()?,
            }),
            _ => Err(err(
                t.offset,
                "GlobalDomainIdentifier needs 2 or 3 components",
            )),
        }
    }
}

/// PersonalName `[5]` SET.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PersonalName<'a> {
    /// `[0]` surname (1..40).
    pub surname: TextRef<'a>,
    /// `[1]` given name (1..16).
    pub given_name: Option<TextRef<'a>>,
    /// `[2]` initials (1..5).
    pub initials: Option<TextRef<'a>>,
    /// `[3]` generation qualifier (1..3).
    pub generation: Option<TextRef<'a>>,
}

impl<'a> PersonalName<'a> {
    fn parse(t: &Tlv<'a>) -> Result<Self> {
        let (mut surname, mut given_name, mut initials, mut generation) = (None, None, None, None);
        for f in each(t)? {
            let tg = f.header.tag;
            if tg.class != Class::Context || tg.constructed {
                return Err(err(f.offset, "unexpected personal-name component"));
            }
            let r = retag(&f, st::PRINTABLE);
            let p = |max| TextRef::parse(&r, &[st::PRINTABLE], 1, max);
            match tg.number {
                0 => surname = Some(p(40)?),
                1 => given_name = Some(p(16)?),
                2 => initials = Some(p(5)?),
                3 => generation = Some(p(3)?),
                _ => return Err(err(f.offset, "unexpected personal-name component")),
            }
        }
        Ok(PersonalName {
            surname: surname.ok_or(err(t.offset, "personal name without surname"))?,
            given_name,
            initials,
            generation,
        })
    }
}

/// An O/R name: the built-in standard attributes checked and borrowed, organisational units and
/// domain-defined attributes read lazily, extension attributes and directory name kept encoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrName<'a> {
    /// Country.
    pub country: Option<TextRef<'a>>,
    /// ADMD.
    pub admd: Option<TextRef<'a>>,
    /// `[0]` network address (X.121, NumericString 1..16).
    pub network_address: Option<TextRef<'a>>,
    /// `[1]` terminal identifier (1..24).
    pub terminal_identifier: Option<TextRef<'a>>,
    /// `[2]` private domain name.
    pub prmd: Option<TextRef<'a>>,
    /// `[3]` organisation (1..64).
    pub organization: Option<TextRef<'a>>,
    /// `[4]` numeric user identifier (1..32).
    pub numeric_user_id: Option<TextRef<'a>>,
    /// `[5]` personal name.
    pub personal_name: Option<PersonalName<'a>>,
    /// Extension attributes SET, encoded.
    pub extension_attributes: Option<&'a [u8]>,
    /// `[0]` directory name, encoded.
    pub directory_name: Option<&'a [u8]>,
    /// The built-in standard attributes from the first `[6]` organisational units on, if any:
    /// the units are read from here.
    org_units: Option<Children<'a>>,
    domain_defined: Iter<'a, (TextRef<'a>, TextRef<'a>)>,
}

/// One OrganizationalUnitName (PrintableString 1..32).
fn org_unit<'a>(u: &Tlv<'a>) -> Result<TextRef<'a>> {
    TextRef::parse(u, &[st::PRINTABLE], 1, 32)
}

/// One BuiltInDomainDefinedAttribute: type (PrintableString 1..8), value (1..128).
fn domain_defined_attribute<'a>(d: &Tlv<'a>) -> Result<(TextRef<'a>, TextRef<'a>)> {
    let mut k = each(d)?;
    match (k.next(), k.next(), k.next()) {
        (Some(ty), Some(v), None) => Ok((
            TextRef::parse(&ty, &[st::PRINTABLE], 1, 8)?,
            TextRef::parse(&v, &[st::PRINTABLE], 1, 128)?,
        )),
        _ => Err(err(
            d.offset,
            "domain-defined attribute needs type and value",
        )),
    }
}

/// A BuiltInDomainDefinedAttribute: (type, value).
impl<'a> Element<'a> for (TextRef<'a>, TextRef<'a>) {
    fn read(d: &Tlv<'a>) -> Result<Self> {
        domain_defined_attribute(d)
    }
}

impl<'a> OrName<'a> {
    /// `[6]` organisational units (1..4 of 1..32 characters each), read lazily. Every `[6]`
    /// element of the standard attributes contributes its units, in order.
    pub fn org_units(&self) -> impl Iterator<Item = TextRef<'a>> + use<'a> {
        self.org_units
            .clone()
            .into_iter()
            .flatten()
            .filter(|a| a.header.tag == ctx(6, true))
            .flat_map(|a| a.children())
            .map(|u| org_unit(&u).expect(VALIDATED))
    }

    /// Built-in domain-defined attributes (type, value), 1..4, read lazily (none when absent).
    pub fn domain_defined(&self) -> Iter<'a, (TextRef<'a>, TextRef<'a>)> {
        self.domain_defined.clone()
    }

    /// Parse an `[APPLICATION 0]` ORName (or, with `tag`, an implicitly retagged one).
    pub(crate) fn parse_tagged(t: &Tlv<'a>, tag: mta_ber::Tag) -> Result<Self> {
        expect(t, tag, "not an ORName")?;
        let mut rest = each(t)?;
        let Some(bisa) = rest.next() else {
            return Err(err(t.offset, "ORName without built-in standard attributes"));
        };
        let mut n = Self::parse_standard(&bisa)?;
        let mut seen_dda = false;
        for r in rest {
            let tg = r.header.tag;
            if tg == univ(16, true) && !seen_dda && n.extension_attributes.is_none() {
                n.domain_defined =
                    Iter::count_then_check(&r, 4, "1 to 4 domain-defined attributes")?;
                seen_dda = true;
            } else if tg == univ(17, true) && n.extension_attributes.is_none() {
                n.extension_attributes = Some(r.encoded);
            } else if tg == ctx(0, true) && n.directory_name.is_none() {
                n.directory_name = Some(r.encoded);
            } else {
                return Err(err(r.offset, "unexpected ORName component"));
            }
        }
        Ok(n)
    }

    /// The built-in standard attributes SEQUENCE; the name's other components absent.
    fn parse_standard(bisa: &Tlv<'a>) -> Result<Self> {
        expect(
            bisa,
            univ(16, true),
            "built-in standard attributes are not a SEQUENCE",
        )?;
        let mut n = OrName {
            country: None,
            admd: None,
            network_address: None,
            terminal_identifier: None,
            prmd: None,
            organization: None,
            numeric_user_id: None,
            personal_name: None,
            extension_attributes: None,
            directory_name: None,
            org_units: None,
            domain_defined: Iter::empty(),
        };
        let mut attributes = each(bisa)?;
        let mut from = attributes.clone();
        // X.411 BuiltInStandardAttributes is a SEQUENCE: each attribute at most once (a second
        // `[6]` list would otherwise be read as more organisational units than the bound allows).
        let mut seen = 0u16;
        while let Some(a) = attributes.next() {
            let tg = a.header.tag;
            let bit = match (tg.class, tg.number) {
                (Class::Application, n @ 1..=2) => 1u16 << n,
                (Class::Context, n @ 0..=6) => 1u16 << (n + 3),
                _ => 0,
            };
            if seen & bit != 0 {
                return Err(err(a.offset, "repeated built-in standard attribute"));
            }
            seen |= bit;
            let implicit =
                |universal, max| TextRef::parse(&retag(&a, universal), &[universal], 1, max);
            match (tg.class, tg.number, tg.constructed) {
                (Class::Application, 1, true) => {
                    n.country = Some(parse_country(&a)?);
                }
                (Class::Application, 2, true) => n.admd = Some(parse_admd(&a)?),
                (Class::Context, 0, false) => n.network_address = Some(implicit(st::NUMERIC, 16)?),
                (Class::Context, 1, false) => {
                    n.terminal_identifier = Some(implicit(st::PRINTABLE, 24)?);
                }
                (Class::Context, 2, true) => {
                    n.prmd = Some(TextRef::parse(&explicit(&a)?, NP, 1, 16)?);
                }
                (Class::Context, 3, false) => n.organization = Some(implicit(st::PRINTABLE, 64)?),
                (Class::Context, 4, false) => {
                    n.numeric_user_id = Some(implicit(st::NUMERIC, 32)?);
                }
                (Class::Context, 5, true) => n.personal_name = Some(PersonalName::parse(&a)?),
                (Class::Context, 6, true) => {
                    count_then_check(&a, org_unit, 4, "1 to 4 organisational units")?;
                    n.org_units = Some(from.clone());
                }
                _ => return Err(err(a.offset, "unknown built-in standard attribute")),
            }
            from = attributes.clone();
        }
        Ok(n)
    }

    pub(crate) fn parse(t: &Tlv<'a>) -> Result<Self> {
        Self::parse_tagged(t, app(0, true))
    }
}
