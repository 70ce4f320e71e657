//! X.411 global domain identifiers and O/R names (MTSAbstractService: `GlobalDomainIdentifier`,
//! `ORName`, `ORAddress`, `BuiltInStandardAttributes`; bounds from MTSUpperBounds).

use crate::read::{Text, app, ctx, univ};
use crate::view;
use mta_ber::Encoder;
use std::fmt;

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

impl From<view::GlobalDomainIdentifier<'_>> for GlobalDomainIdentifier {
    fn from(v: view::GlobalDomainIdentifier<'_>) -> Self {
        GlobalDomainIdentifier {
            country: v.country.into(),
            admd: v.admd.into(),
            prmd: v.prmd.map(Text::from),
        }
    }
}

impl From<view::PersonalName<'_>> for PersonalName {
    fn from(v: view::PersonalName<'_>) -> Self {
        PersonalName {
            surname: v.surname.into(),
            given_name: v.given_name.map(Text::from),
            initials: v.initials.map(Text::from),
            generation: v.generation.map(Text::from),
        }
    }
}

impl From<view::OrName<'_>> for OrName {
    fn from(v: view::OrName<'_>) -> Self {
        OrName {
            country: v.country.map(Text::from),
            admd: v.admd.map(Text::from),
            network_address: v.network_address.map(Text::from),
            terminal_identifier: v.terminal_identifier.map(Text::from),
            prmd: v.prmd.map(Text::from),
            organization: v.organization.map(Text::from),
            numeric_user_id: v.numeric_user_id.map(Text::from),
            personal_name: v.personal_name.map(PersonalName::from),
            org_units: v.org_units().map(Text::from).collect(),
            domain_defined: v
                .domain_defined()
                .map(|(t, v)| (t.into(), v.into()))
                .collect(),
            extension_attributes: v.extension_attributes.map(<[u8]>::to_vec),
            directory_name: v.directory_name.map(<[u8]>::to_vec),
        }
    }
}
