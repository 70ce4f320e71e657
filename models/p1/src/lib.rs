//! X.411 P1, the MTA-to-MTA protocol (MTAAbstractService, X.411:06/1999 module, `IMPLICIT TAGS`):
//! MTS-APDUs (message, probe, report) with their transfer envelopes, report contents, trace
//! information and O/R names, and the MTA bind argument / result / error. BER through `mta_ber`;
//! message content is kept as opaque octets. Decoding validates strictly (tags, character sets,
//! upper bounds, UTCTime syntax) and returns a typed [`Error`] with the offset; it never panics.
//! [`Apdu::parse`] → [`Apdu::emit`] → parse is the identity (the `p1_decode` fuzz target).

mod name;
pub mod read;

pub use name::{GlobalDomainIdentifier, OrName, PersonalName};
pub use read::Text;

use mta_ber::{Class, Encoder, Tlv};
use read::{app, ctx, each, err, expect, int_in, kids, put_int, string_tag as st, univ};

/// A P1 decoding error: where and what.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("P1: offset {offset}: {reason}")]
pub struct Error {
    /// Offset of the offending element.
    pub offset: usize,
    /// What is wrong.
    pub reason: &'static str,
}

/// Result of P1 decoding.
pub type Result<T> = std::result::Result<T, Error>;

/// Upper bounds used (MTSUpperBounds).
pub mod ub {
    /// ub-recipients.
    pub const RECIPIENTS: usize = 32767;
    /// ub-recipients as an INTEGER bound.
    pub const RECIPIENTS_I64: i64 = 32767;
    /// ub-transfers (trace elements).
    pub const TRANSFERS: usize = 512;
    /// ub-local-id-length.
    pub const LOCAL_ID: usize = 32;
    /// ub-mta-name-length.
    pub const MTA_NAME: usize = 32;
    /// ub-password-length.
    pub const PASSWORD: usize = 62;
    /// ub-content-id-length.
    pub const CONTENT_ID: usize = 16;
    /// ub-bit-options.
    pub const BIT_OPTIONS: usize = 16;
    /// ub-built-in-content-type.
    pub const BUILT_IN_CONTENT_TYPE: i64 = 32767;
}

/// `[APPLICATION 4]` MTSIdentifier (message, probe, report and subject identifiers).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct MtsIdentifier {
    /// Domain that assigned it.
    pub domain: GlobalDomainIdentifier,
    /// LocalIdentifier, IA5String 1..32.
    pub local: Text,
}

impl MtsIdentifier {
    /// An identifier.
    pub fn new(domain: GlobalDomainIdentifier, local: &str) -> Self {
        MtsIdentifier {
            domain,
            local: Text::ia5(local),
        }
    }
    fn parse(t: &Tlv<'_>) -> Result<Self> {
        expect(t, app(4, true), "MTSIdentifier is not [APPLICATION 4]")?;
        let mut k = each(t)?;
        match (k.next(), k.next(), k.next()) {
            (Some(g), Some(l), None) => Ok(MtsIdentifier {
                domain: GlobalDomainIdentifier::parse(&g)?,
                local: Text::parse(&l, &[st::IA5], 1, ub::LOCAL_ID)?,
            }),
            _ => Err(err(
                t.offset,
                "MTSIdentifier needs domain and local identifier",
            )),
        }
    }
    fn emit(&self, e: &mut Encoder) {
        e.constructed(app(4, true), |e| {
            self.domain.emit(e);
            self.local.emit_universal(e);
        });
    }
}

impl std::fmt::Display for MtsIdentifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{};{}", self.domain, self.local)
    }
}

/// ContentType: built-in `[APPLICATION 6]` INTEGER or an extended OID (contents octets).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ContentType {
    /// BuiltInContentType: unidentified 0, external 1, p2-1984 2, p22-1988 22, …
    BuiltIn(i64),
    /// ExtendedContentType.
    Extended(Vec<u8>),
}

impl ContentType {
    fn parse(t: &Tlv<'_>) -> Result<Option<Self>> {
        let tag = t.header.tag;
        if tag == app(6, false) {
            Ok(Some(ContentType::BuiltIn(int_in(
                t,
                0,
                ub::BUILT_IN_CONTENT_TYPE,
                "built-in content type out of range",
            )?)))
        } else if tag == univ(6, false) {
            if t.contents.is_empty() || t.contents.last().is_some_and(|b| b & 0x80 != 0) {
                return Err(err(t.offset, "malformed content-type OID"));
            }
            Ok(Some(ContentType::Extended(t.contents.to_vec())))
        } else {
            Ok(None)
        }
    }
    fn emit(&self, e: &mut Encoder) {
        match self {
            ContentType::BuiltIn(v) => put_int(e, app(6, false), *v),
            ContentType::Extended(o) => {
                e.primitive(univ(6, false), o);
            }
        }
    }
}

/// DomainSuppliedInformation `arrival-time`, `routing-action` and the optional attempted domain.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TraceElement {
    /// Domain that handled the message.
    pub domain: GlobalDomainIdentifier,
    /// `[0]` arrival time (UTCTime text).
    pub arrival: String,
    /// `[2]` routing action: relayed 0, rerouted 1.
    pub routing_action: i64,
    /// Attempted domain (when rerouted).
    pub attempted: Option<GlobalDomainIdentifier>,
    /// Other fields (deferred time, converted EITs, other actions), encoded.
    pub other: Vec<Vec<u8>>,
}

fn parse_trace(t: &Tlv<'_>, tag: mta_ber::Tag) -> Result<Vec<TraceElement>> {
    expect(t, tag, "TraceInformation is not [APPLICATION 9]")?;
    let elems: Vec<TraceElement> = each(t)?
        .map(|el| {
            expect(&el, univ(16, true), "trace element is not a SEQUENCE")?;
            let mut parts = each(&el)?;
            let (Some(g), Some(dsi), None) = (parts.next(), parts.next(), parts.next()) else {
                return Err(err(
                    el.offset,
                    "trace element needs domain and supplied information",
                ));
            };
            expect(
                &dsi,
                univ(17, true),
                "domain-supplied information is not a SET",
            )?;
            let (mut arrival, mut action, mut attempted, mut other) =
                (None, None, None, Vec::new());
            for f in each(&dsi)? {
                let ft = f.header.tag;
                if ft == ctx(0, false) {
                    arrival = Some(read::utc_time(&f)?);
                } else if ft == ctx(2, false) {
                    action = Some(int_in(
                        &f,
                        0,
                        1,
                        "routing action must be relayed or rerouted",
                    )?);
                } else if ft == app(3, true) {
                    attempted = Some(GlobalDomainIdentifier::parse(&f)?);
                } else if ft == ctx(1, false) || ft == app(5, true) || ft == ctx(3, false) {
                    other.push(f.encoded.to_vec());
                } else {
                    return Err(err(
                        f.offset,
                        "unexpected domain-supplied information field",
                    ));
                }
            }
            Ok(TraceElement {
                domain: GlobalDomainIdentifier::parse(&g)?,
                arrival: arrival.ok_or(err(dsi.offset, "trace element without arrival time"))?,
                routing_action: action
                    .ok_or(err(dsi.offset, "trace element without routing action"))?,
                attempted,
                other,
            })
        })
        .collect::<Result<_>>()?;
    if elems.is_empty() || elems.len() > ub::TRANSFERS {
        return Err(err(t.offset, "trace information needs 1 to 512 elements"));
    }
    Ok(elems)
}

fn emit_trace(e: &mut Encoder, tag: mta_ber::Tag, trace: &[TraceElement]) {
    e.constructed(tag, |e| {
        for t in trace {
            e.constructed(univ(16, true), |e| {
                t.domain.emit(e);
                e.constructed(univ(17, true), |e| {
                    e.primitive(ctx(0, false), t.arrival.as_bytes());
                    put_int(e, ctx(2, false), t.routing_action);
                    if let Some(a) = &t.attempted {
                        a.emit(e);
                    }
                    for o in &t.other {
                        e.raw(o);
                    }
                });
            });
        }
    });
}

/// PerRecipientMessageTransferFields / PerRecipientProbeTransferFields.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Recipient {
    /// Recipient O/R name.
    pub name: OrName,
    /// `[0]` originally-specified-recipient-number (1..32767).
    pub number: i64,
    /// `[1]` per-recipient-indicators BIT STRING contents (8..16 bits): responsibility is bit 0.
    pub indicators: Vec<u8>,
    /// `[2]` explicit conversion and `[3]` extensions, encoded.
    pub other: Vec<Vec<u8>>,
}

impl Recipient {
    /// A recipient this MTA is responsible for (responsibility bit set, originator NDRs wanted).
    pub fn responsible(name: OrName, number: i64) -> Self {
        Recipient {
            name,
            number,
            indicators: vec![0x00, 0x88],
            other: Vec::new(),
        }
    }

    /// The responsibility bit (bit 0 of per-recipient-indicators).
    pub fn responsibility(&self) -> bool {
        self.indicators.get(1).is_some_and(|b| b & 0x80 != 0)
    }

    fn parse(t: &Tlv<'_>) -> Result<Self> {
        expect(t, univ(17, true), "per-recipient fields are not a SET")?;
        let (mut name, mut number, mut ind, mut other) = (None, None, None, Vec::new());
        for f in each(t)? {
            let ft = f.header.tag;
            if ft == app(0, true) {
                name = Some(OrName::parse(&f)?);
            } else if ft == ctx(0, false) {
                number = Some(int_in(
                    &f,
                    1,
                    ub::RECIPIENTS_I64,
                    "recipient number out of range",
                )?);
            } else if ft == ctx(1, false) {
                let b = read::bit_string(&f, ub::BIT_OPTIONS)?;
                if (b.len() - 1) * 8 < 8 {
                    return Err(err(
                        f.offset,
                        "per-recipient indicators need at least 8 bits",
                    ));
                }
                ind = Some(b);
            } else if ft == ctx(2, false) || ft == ctx(3, true) {
                other.push(f.encoded.to_vec());
            } else {
                return Err(err(f.offset, "unexpected per-recipient field"));
            }
        }
        Ok(Recipient {
            name: name.ok_or(err(t.offset, "recipient without name"))?,
            number: number.ok_or(err(t.offset, "recipient without number"))?,
            indicators: ind.ok_or(err(t.offset, "recipient without indicators"))?,
            other,
        })
    }

    fn emit(&self, e: &mut Encoder) {
        e.constructed(univ(17, true), |e| {
            self.name.emit(e);
            put_int(e, ctx(0, false), self.number);
            e.primitive(ctx(1, false), &self.indicators);
            for o in &self.other {
                e.raw(o);
            }
        });
    }
}

/// The optional envelope fields while an envelope is being decoded.
#[derive(Default)]
struct Partial {
    original_eits: Option<Vec<u8>>,
    content_identifier: Option<Text>,
    priority: Option<i64>,
    per_message_indicators: Option<Vec<u8>>,
    deferred_delivery: Option<String>,
    content_length: Option<i64>,
    bilateral: Option<Vec<u8>>,
    extensions: Option<Vec<u8>>,
}

/// Message or probe transfer envelope (the probe has `content_length`, the message `priority` and
/// `deferred_delivery`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Envelope {
    /// Message / probe identifier.
    pub id: MtsIdentifier,
    /// Originator.
    pub originator: OrName,
    /// Original encoded information types, encoded.
    pub original_eits: Option<Vec<u8>>,
    /// Content type.
    pub content_type: ContentType,
    /// `[APPLICATION 10]` content identifier (PrintableString 1..16).
    pub content_identifier: Option<Text>,
    /// `[APPLICATION 7]` priority (message): normal 0, non-urgent 1, urgent 2.
    pub priority: Option<i64>,
    /// `[APPLICATION 8]` per-message indicators BIT STRING contents.
    pub per_message_indicators: Option<Vec<u8>>,
    /// `[0]` deferred delivery time (message) — UTCTime text.
    pub deferred_delivery: Option<String>,
    /// `[0]` content length (probe).
    pub content_length: Option<i64>,
    /// `[1]` per-domain bilateral information, encoded.
    pub bilateral: Option<Vec<u8>>,
    /// `[APPLICATION 9]` trace information (1..512).
    pub trace: Vec<TraceElement>,
    /// `[3]` extensions, encoded.
    pub extensions: Option<Vec<u8>>,
    /// `[2]` per-recipient fields (1..32767).
    pub recipients: Vec<Recipient>,
}

impl Envelope {
    /// A message envelope with the mandatory fields; everything optional absent, trace empty
    /// (each MTA appends its element on transfer).
    pub fn new(
        id: MtsIdentifier,
        originator: OrName,
        content_type: ContentType,
        recipients: Vec<Recipient>,
    ) -> Self {
        Envelope {
            id,
            originator,
            original_eits: None,
            content_type,
            content_identifier: None,
            priority: None,
            per_message_indicators: None,
            deferred_delivery: None,
            content_length: None,
            bilateral: None,
            trace: Vec::new(),
            extensions: None,
            recipients,
        }
    }

    /// The recipients this envelope makes the receiving MTA responsible for.
    pub fn responsible_recipients(&self) -> Vec<Recipient> {
        self.recipients
            .iter()
            .filter(|r| r.responsibility())
            .cloned()
            .collect()
    }

    fn parse(t: &Tlv<'_>, probe: bool) -> Result<Self> {
        let mut id = None;
        let mut originator = None;
        let mut content_type = None;
        let mut trace = None;
        let mut recipients = None;
        let mut env = Partial::default();
        for f in each(t)? {
            let ft = f.header.tag;
            if let Some(c) = ContentType::parse(&f)? {
                content_type = Some(c);
            } else if ft == app(4, true) && id.is_none() {
                id = Some(MtsIdentifier::parse(&f)?);
            } else if ft == app(0, true) && originator.is_none() {
                originator = Some(OrName::parse(&f)?);
            } else if ft == app(5, true) {
                env.original_eits = Some(f.encoded.to_vec());
            } else if ft == app(10, false) {
                env.content_identifier = Some(Text::parse(
                    &retag(&f, st::PRINTABLE),
                    &[st::PRINTABLE],
                    1,
                    ub::CONTENT_ID,
                )?);
            } else if ft == app(7, false) && !probe {
                env.priority = Some(int_in(&f, 0, 2, "priority out of range")?);
            } else if ft == app(8, false) {
                env.per_message_indicators = Some(read::bit_string(&f, ub::BIT_OPTIONS)?);
            } else if ft == ctx(0, false) && probe {
                env.content_length = Some(int_in(
                    &f,
                    0,
                    i64::from(i32::MAX),
                    "content length out of range",
                )?);
            } else if ft == ctx(0, false) {
                env.deferred_delivery = Some(read::utc_time(&f)?);
            } else if ft == ctx(1, true) {
                env.bilateral = Some(f.encoded.to_vec());
            } else if ft == app(9, true) && trace.is_none() {
                trace = Some(parse_trace(&f, app(9, true))?);
            } else if ft == ctx(3, true) {
                env.extensions = Some(f.encoded.to_vec());
            } else if ft == ctx(2, true) && recipients.is_none() {
                let rs = each(&f)?
                    .map(|r| Recipient::parse(&r))
                    .collect::<Result<Vec<_>>>()?;
                if rs.is_empty() || rs.len() > ub::RECIPIENTS {
                    return Err(err(f.offset, "1 to 32767 recipients"));
                }
                recipients = Some(rs);
            } else {
                return Err(err(f.offset, "unexpected or repeated envelope field"));
            }
        }
        Ok(Envelope {
            id: id.ok_or(err(t.offset, "envelope without identifier"))?,
            originator: originator.ok_or(err(t.offset, "envelope without originator"))?,
            original_eits: env.original_eits,
            content_type: content_type.ok_or(err(t.offset, "envelope without content type"))?,
            content_identifier: env.content_identifier,
            priority: env.priority,
            per_message_indicators: env.per_message_indicators,
            deferred_delivery: env.deferred_delivery,
            content_length: env.content_length,
            bilateral: env.bilateral,
            trace: trace.ok_or(err(t.offset, "envelope without trace information"))?,
            extensions: env.extensions,
            recipients: recipients.ok_or(err(t.offset, "envelope without recipients"))?,
        })
    }

    fn emit_fields(&self, e: &mut Encoder) {
        self.id.emit(e);
        self.originator.emit(e);
        if let Some(x) = &self.original_eits {
            e.raw(x);
        }
        self.content_type.emit(e);
        if let Some(c) = &self.content_identifier {
            c.emit(e, app(10, false));
        }
        if let Some(p) = self.priority {
            put_int(e, app(7, false), p);
        }
        if let Some(b) = &self.per_message_indicators {
            e.primitive(app(8, false), b);
        }
        if let Some(d) = &self.deferred_delivery {
            e.primitive(ctx(0, false), d.as_bytes());
        }
        if let Some(l) = self.content_length {
            put_int(e, ctx(0, false), l);
        }
        if let Some(b) = &self.bilateral {
            e.raw(b);
        }
        emit_trace(e, app(9, true), &self.trace);
        if let Some(x) = &self.extensions {
            e.raw(x);
        }
        e.constructed(ctx(2, true), |e| {
            for r in &self.recipients {
                r.emit(e);
            }
        });
    }
}

fn retag<'a>(t: &Tlv<'a>, universal: u32) -> Tlv<'a> {
    let mut r = *t;
    r.header.tag = univ(universal, false);
    r
}

/// Delivered or not, per recipient (ReportType).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ReportType {
    /// `[0]` delivery: message delivery time.
    Delivery {
        /// UTCTime text.
        delivery_time: String,
    },
    /// `[1]` non-delivery: reason and optional diagnostic.
    NonDelivery {
        /// NonDeliveryReasonCode (0 transfer-failure, 1 unable-to-transfer, …).
        reason: i64,
        /// NonDeliveryDiagnosticCode.
        diagnostic: Option<i64>,
    },
}

/// PerRecipientReportTransferFields.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ReportRecipient {
    /// `[0]` actual recipient name.
    pub actual: OrName,
    /// `[1]` originally-specified-recipient-number.
    pub number: i64,
    /// `[2]` per-recipient indicators.
    pub indicators: Vec<u8>,
    /// `[3]` last trace: arrival time.
    pub arrival: String,
    /// `[3]` last trace: report type.
    pub report: ReportType,
}

/// A report: envelope and content.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Report {
    /// Report identifier.
    pub id: MtsIdentifier,
    /// Report destination.
    pub destination: OrName,
    /// Trace.
    pub trace: Vec<TraceElement>,
    /// Subject (the reported message's identifier).
    pub subject: MtsIdentifier,
    /// Content type of the subject, if given.
    pub content_type: Option<ContentType>,
    /// `[1]` returned content.
    pub returned_content: Option<Vec<u8>>,
    /// Per recipient.
    pub recipients: Vec<ReportRecipient>,
    /// Other envelope/content fields (extensions, subject trace, EITs, …), encoded.
    pub other: Vec<Vec<u8>>,
}

impl Report {
    fn parse(t: &Tlv<'_>) -> Result<Self> {
        let [env, content] = kids(t)?[..] else {
            return Err(err(t.offset, "report needs envelope and content"));
        };
        expect(&env, univ(17, true), "report envelope is not a SET")?;
        expect(&content, univ(17, true), "report content is not a SET")?;
        let (mut id, mut dest, mut trace, mut other) = (None, None, None, Vec::new());
        for f in each(&env)? {
            let ft = f.header.tag;
            if ft == app(4, true) && id.is_none() {
                id = Some(MtsIdentifier::parse(&f)?);
            } else if ft == app(0, true) && dest.is_none() {
                dest = Some(OrName::parse(&f)?);
            } else if ft == app(9, true) && trace.is_none() {
                trace = Some(parse_trace(&f, app(9, true))?);
            } else if ft == ctx(1, true) {
                other.push(f.encoded.to_vec());
            } else {
                return Err(err(f.offset, "unexpected report envelope field"));
            }
        }
        let (mut subject, mut ctype, mut returned, mut recips) = (None, None, None, None);
        for f in each(&content)? {
            let ft = f.header.tag;
            if let Some(c) = ContentType::parse(&f)? {
                ctype = Some(c);
            } else if ft == app(4, true) && subject.is_none() {
                subject = Some(MtsIdentifier::parse(&f)?);
            } else if ft == ctx(1, false) {
                returned = Some(f.contents.to_vec());
            } else if ft == ctx(0, true) && recips.is_none() {
                let rs = each(&f)?
                    .map(|r| parse_report_recipient(&r))
                    .collect::<Result<Vec<_>>>()?;
                if rs.is_empty() || rs.len() > ub::RECIPIENTS {
                    return Err(err(f.offset, "1 to 32767 report recipients"));
                }
                recips = Some(rs);
            } else if ft == app(9, true)
                || ft == app(5, true)
                || ft == app(10, false)
                || ft == ctx(2, true)
                || ft == ctx(3, true)
            {
                other.push(f.encoded.to_vec());
            } else {
                return Err(err(f.offset, "unexpected report content field"));
            }
        }
        Ok(Report {
            id: id.ok_or(err(env.offset, "report without identifier"))?,
            destination: dest.ok_or(err(env.offset, "report without destination"))?,
            trace: trace.ok_or(err(env.offset, "report without trace"))?,
            subject: subject.ok_or(err(content.offset, "report without subject identifier"))?,
            content_type: ctype,
            returned_content: returned,
            recipients: recips.ok_or(err(content.offset, "report without recipients"))?,
            other,
        })
    }

    fn emit_body(&self, e: &mut Encoder) {
        let (env_other, content_other): (Vec<_>, Vec<_>) =
            self.other.iter().partition(|o| o.first() == Some(&0xa1));
        e.constructed(univ(17, true), |e| {
            self.id.emit(e);
            self.destination.emit(e);
            emit_trace(e, app(9, true), &self.trace);
            for o in &env_other {
                e.raw(o);
            }
        });
        e.constructed(univ(17, true), |e| {
            self.subject.emit(e);
            if let Some(c) = &self.content_type {
                c.emit(e);
            }
            if let Some(r) = &self.returned_content {
                e.primitive(ctx(1, false), r);
            }
            for o in &content_other {
                e.raw(o);
            }
            e.constructed(ctx(0, true), |e| {
                for r in &self.recipients {
                    e.constructed(univ(17, true), |e| {
                        r.actual.emit_tagged(e, ctx(0, true));
                        put_int(e, ctx(1, false), r.number);
                        e.primitive(ctx(2, false), &r.indicators);
                        e.constructed(ctx(3, true), |e| {
                            e.primitive(ctx(0, false), r.arrival.as_bytes());
                            e.constructed(ctx(1, true), |e| match &r.report {
                                ReportType::Delivery { delivery_time } => {
                                    e.constructed(ctx(0, true), |e| {
                                        e.primitive(ctx(0, false), delivery_time.as_bytes());
                                    });
                                }
                                ReportType::NonDelivery { reason, diagnostic } => {
                                    e.constructed(ctx(1, true), |e| {
                                        put_int(e, ctx(0, false), *reason);
                                        if let Some(d) = diagnostic {
                                            put_int(e, ctx(1, false), *d);
                                        }
                                    });
                                }
                            });
                        });
                    });
                }
            });
        });
    }
}

fn parse_report_recipient(t: &Tlv<'_>) -> Result<ReportRecipient> {
    expect(t, univ(17, true), "report recipient is not a SET")?;
    let (mut actual, mut number, mut ind, mut last) = (None, None, None, None);
    for f in each(t)? {
        let ft = f.header.tag;
        if ft == ctx(0, true) {
            actual = Some(OrName::parse_tagged(&f, ctx(0, true))?);
        } else if ft == ctx(1, false) {
            number = Some(int_in(
                &f,
                1,
                ub::RECIPIENTS_I64,
                "recipient number out of range",
            )?);
        } else if ft == ctx(2, false) {
            ind = Some(read::bit_string(&f, ub::BIT_OPTIONS)?);
        } else if ft == ctx(3, true) {
            let (mut arrival, mut report) = (None, None);
            for l in each(&f)? {
                if l.header.tag == ctx(0, false) {
                    arrival = Some(read::utc_time(&l)?);
                } else if l.header.tag == ctx(1, true) {
                    let r = read::explicit(&l)?;
                    let fields = kids(&r)?;
                    report = Some(match r.header.tag {
                        tg if tg == ctx(0, true) => ReportType::Delivery {
                            delivery_time: read::utc_time(
                                fields
                                    .first()
                                    .ok_or(err(r.offset, "delivery report without time"))?,
                            )?,
                        },
                        tg if tg == ctx(1, true) => {
                            let (mut reason, mut diag) = (None, None);
                            for x in &fields {
                                if x.header.tag == ctx(0, false) {
                                    reason = Some(int_in(x, 0, 32767, "reason code out of range")?);
                                } else if x.header.tag == ctx(1, false) {
                                    diag =
                                        Some(int_in(x, 0, 32767, "diagnostic code out of range")?);
                                } else {
                                    return Err(err(x.offset, "unexpected non-delivery field"));
                                }
                            }
                            ReportType::NonDelivery {
                                reason: reason
                                    .ok_or(err(r.offset, "non-delivery without reason"))?,
                                diagnostic: diag,
                            }
                        }
                        _ => return Err(err(r.offset, "unknown report type")),
                    });
                } else {
                    return Err(err(l.offset, "unexpected last-trace field"));
                }
            }
            last = Some((
                arrival.ok_or(err(f.offset, "last trace without arrival"))?,
                report.ok_or(err(f.offset, "last trace without report type"))?,
            ));
        } else {
            return Err(err(f.offset, "unexpected report recipient field"));
        }
    }
    let (arrival, report) = last.ok_or(err(t.offset, "report recipient without last trace"))?;
    Ok(ReportRecipient {
        actual: actual.ok_or(err(t.offset, "report recipient without name"))?,
        number: number.ok_or(err(t.offset, "report recipient without number"))?,
        indicators: ind.ok_or(err(t.offset, "report recipient without indicators"))?,
        arrival,
        report,
    })
}

/// An MTS-APDU.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Apdu {
    /// `[0]` message: envelope and opaque content.
    Message {
        /// Envelope.
        envelope: Envelope,
        /// Content octets.
        content: Vec<u8>,
    },
    /// `[1]` report.
    Report(Report),
    /// `[2]` probe.
    Probe(Envelope),
}

impl Apdu {
    /// Decode one MTS-APDU covering `b`.
    pub fn parse(b: &[u8]) -> Result<Apdu> {
        let t = read::parse_exact(b)?;
        let tag = t.header.tag;
        if tag.class != Class::Context || !tag.constructed {
            return Err(err(0, "not an MTS-APDU"));
        }
        match tag.number {
            0 => {
                let [env, content] = kids(&t)?[..] else {
                    return Err(err(0, "message needs envelope and content"));
                };
                expect(&env, univ(17, true), "message envelope is not a SET")?;
                expect(&content, univ(4, false), "content is not an OCTET STRING")?;
                Ok(Apdu::Message {
                    envelope: Envelope::parse(&env, false)?,
                    content: content.contents.to_vec(),
                })
            }
            1 => Ok(Apdu::Report(Report::parse(&t)?)),
            2 => Ok(Apdu::Probe(Envelope::parse(&t, true)?)),
            _ => Err(err(0, "not an MTS-APDU")),
        }
    }

    /// Encode (definite lengths).
    pub fn emit(&self) -> Vec<u8> {
        let mut e = Encoder::new();
        match self {
            Apdu::Message { envelope, content } => {
                e.constructed(ctx(0, true), |e| {
                    e.constructed(univ(17, true), |e| envelope.emit_fields(e));
                    e.primitive(univ(4, false), content);
                });
            }
            Apdu::Report(r) => {
                e.constructed(ctx(1, true), |e| r.emit_body(e));
            }
            Apdu::Probe(env) => {
                e.constructed(ctx(2, true), |e| env.emit_fields(e));
            }
        }
        e.finish()
    }

    /// The MTS identifier (message, report or probe identifier).
    pub fn id(&self) -> &MtsIdentifier {
        match self {
            Apdu::Message { envelope, .. } | Apdu::Probe(envelope) => &envelope.id,
            Apdu::Report(r) => &r.id,
        }
    }
}

/// The MTA's simple credentials.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Password {
    /// IA5String (0..62).
    Ia5(String),
    /// OCTET STRING (0..62).
    Octets(Vec<u8>),
}

/// MTABindArgument / MTABindResult.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Bind {
    /// `unauthenticated NULL`.
    Unauthenticated,
    /// `authenticated [1] SET { [0] name, [1] credentials, [2] security-context }`.
    Authenticated {
        /// MTAName (IA5String 1..32).
        name: String,
        /// Simple credentials.
        password: Password,
        /// `[2]` security context, encoded.
        security_context: Option<Vec<u8>>,
    },
}

impl Bind {
    /// An authenticated bind with an IA5 password.
    pub fn simple(name: &str, password: &str) -> Self {
        Bind::Authenticated {
            name: name.to_string(),
            password: Password::Ia5(password.to_string()),
            security_context: None,
        }
    }

    /// Decode an MTABindArgument or MTABindResult covering `b`.
    pub fn parse(b: &[u8]) -> Result<Bind> {
        let t = read::parse_exact(b)?;
        if t.header.tag == univ(5, false) {
            return if t.contents.is_empty() {
                Ok(Bind::Unauthenticated)
            } else {
                Err(err(0, "NULL with contents"))
            };
        }
        expect(
            &t,
            ctx(1, true),
            "bind is neither NULL nor [1] authenticated",
        )?;
        let (mut name, mut pw, mut sc) = (None, None, None);
        for f in each(&t)? {
            let ft = f.header.tag;
            if ft == ctx(0, false) {
                name = Some(Text::parse(&retag(&f, st::IA5), &[st::IA5], 1, ub::MTA_NAME)?.value);
            } else if ft == ctx(1, true) {
                let p = read::explicit(&f)?;
                pw = Some(if p.header.tag == univ(st::IA5, false) {
                    Password::Ia5(
                        Text::parse(&p, &[st::IA5], 0, ub::PASSWORD)?
                            .value
                            .into_string(),
                    )
                } else if p.header.tag == univ(4, false) && p.contents.len() <= ub::PASSWORD {
                    Password::Octets(p.contents.to_vec())
                } else {
                    return Err(err(p.offset, "credentials are not a simple password"));
                });
            } else if ft == ctx(2, true) {
                sc = Some(f.encoded.to_vec());
            } else {
                return Err(err(f.offset, "unexpected bind field"));
            }
        }
        Ok(Bind::Authenticated {
            name: name.ok_or(err(0, "bind without MTA name"))?.into_string(),
            password: pw.ok_or(err(0, "bind without credentials"))?,
            security_context: sc,
        })
    }

    /// Encode.
    pub fn emit(&self) -> Vec<u8> {
        let mut e = Encoder::new();
        match self {
            Bind::Unauthenticated => {
                e.primitive(univ(5, false), &[]);
            }
            Bind::Authenticated {
                name,
                password,
                security_context,
            } => {
                e.constructed(ctx(1, true), |e| {
                    e.primitive(ctx(0, false), name.as_bytes());
                    e.constructed(ctx(1, true), |e| match password {
                        Password::Ia5(p) => {
                            e.primitive(univ(st::IA5, false), p.as_bytes());
                        }
                        Password::Octets(p) => {
                            e.primitive(univ(4, false), p);
                        }
                    });
                    if let Some(s) = security_context {
                        e.raw(s);
                    }
                });
            }
        }
        e.finish()
    }
}

/// MTABindError values.
pub mod bind_error {
    /// busy.
    pub const BUSY: i64 = 0;
    /// authentication-error.
    pub const AUTHENTICATION_ERROR: i64 = 2;
    /// unacceptable-dialogue-mode.
    pub const UNACCEPTABLE_DIALOGUE_MODE: i64 = 3;
}

/// Encode an MTABindError.
pub fn emit_bind_error(code: i64) -> Vec<u8> {
    let mut e = Encoder::new();
    put_int(&mut e, univ(2, false), code);
    e.finish()
}

/// Decode an MTABindError.
pub fn parse_bind_error(b: &[u8]) -> Result<i64> {
    let t = read::parse_exact(b)?;
    expect(&t, univ(2, false), "bind error is not an INTEGER")?;
    int_in(&t, 0, 256, "bind error out of range")
}

#[cfg(test)]
mod tests;
