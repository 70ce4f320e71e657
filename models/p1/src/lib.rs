//! X.411 P1, the MTA-to-MTA protocol (MTAAbstractService, X.411:06/1999 module, `IMPLICIT TAGS`):
//! MTS-APDUs (message, probe, report) with their transfer envelopes, report contents, trace
//! information and O/R names, and the MTA bind argument / result / error. BER through `mta_ber`;
//! message content is kept as opaque octets. Decoding validates strictly (tags, character sets,
//! upper bounds, UTCTime syntax) and returns a typed [`Error`] with the offset; it never panics.
//! [`Apdu::parse`] → [`Apdu::emit`] → parse is the identity (the `p1_decode` fuzz target).
//!
//! Two representations of an APDU: the owned types here, and the checked zero-copy views of
//! [`view`], which hold the decoding rules. [`Apdu::parse`] is [`view::Apdu::parse`] followed by a
//! copy (`From<view::…>`), so both accept and reject the same octets with the same [`Error`].

mod name;
pub mod read;
pub mod view;

pub use name::{GlobalDomainIdentifier, OrName, PersonalName};
pub use read::{Text, TextRef};

use mta_ber::Encoder;
use read::{app, ctx, each, err, expect, int_in, put_int, retag, string_tag as st, univ};

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
        read::responsibility(&self.indicators)
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
    /// Decode one MTS-APDU covering `b`: the checked view ([`view::Apdu::parse`], where the
    /// rules are), copied into the owned types.
    pub fn parse(b: &[u8]) -> Result<Apdu> {
        view::Apdu::parse(b).map(Apdu::from)
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

/// Check a string an operator gives as the MTA name of a bind: MTAName is an IA5String of 1 to
/// ub-mta-name-length (32) characters (X.411 MTAAbstractService).
pub fn check_mta_name(name: &str) -> std::result::Result<(), String> {
    if name.is_empty() || name.len() > ub::MTA_NAME || !name.is_ascii() {
        return Err(format!(
            "MTA name of {} octets: an MTAName is 1 to {} ASCII (IA5) characters",
            name.len(),
            ub::MTA_NAME
        ));
    }
    Ok(())
}

/// Check a string an operator gives as a bind password: a simple password is an IA5String of 0
/// to ub-password-length (62) characters.
pub fn check_password(password: &str) -> std::result::Result<(), String> {
    if password.len() > ub::PASSWORD || !password.is_ascii() {
        return Err(format!(
            "password of {} octets: a simple password is 0 to {} ASCII (IA5) characters",
            password.len(),
            ub::PASSWORD
        ));
    }
    Ok(())
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

/// The owned forms, copied from the checked views (which made every decoding decision).
mod from_view {
    use super::{
        Apdu, ContentType, Envelope, MtsIdentifier, Recipient, Report, ReportRecipient, ReportType,
        TraceElement, view,
    };

    impl From<view::MtsIdentifier<'_>> for MtsIdentifier {
        fn from(v: view::MtsIdentifier<'_>) -> Self {
            MtsIdentifier {
                domain: v.domain.into(),
                local: v.local.into(),
            }
        }
    }

    impl From<view::ContentType<'_>> for ContentType {
        fn from(v: view::ContentType<'_>) -> Self {
            match v {
                view::ContentType::BuiltIn(n) => ContentType::BuiltIn(n),
                view::ContentType::Extended(oid) => ContentType::Extended(oid.to_vec()),
            }
        }
    }

    impl From<view::TraceElement<'_>> for TraceElement {
        fn from(v: view::TraceElement<'_>) -> Self {
            TraceElement {
                domain: v.domain.into(),
                arrival: v.arrival.to_owned(),
                routing_action: v.routing_action,
                attempted: v.attempted.map(Into::into),
                other: v.other().map(<[u8]>::to_vec).collect(),
            }
        }
    }

    impl From<view::Recipient<'_>> for Recipient {
        fn from(v: view::Recipient<'_>) -> Self {
            Recipient {
                other: v.other().map(<[u8]>::to_vec).collect(),
                number: v.number,
                indicators: v.indicators.to_vec(),
                name: v.name.into(),
            }
        }
    }

    impl From<view::Envelope<'_>> for Envelope {
        fn from(v: view::Envelope<'_>) -> Self {
            Envelope {
                trace: v.trace().map(Into::into).collect(),
                recipients: v.recipients().map(Into::into).collect(),
                id: v.id.into(),
                originator: v.originator.into(),
                original_eits: v.original_eits.map(<[u8]>::to_vec),
                content_type: v.content_type.into(),
                content_identifier: v.content_identifier.map(Into::into),
                priority: v.priority,
                per_message_indicators: v.per_message_indicators.map(<[u8]>::to_vec),
                deferred_delivery: v.deferred_delivery.map(str::to_owned),
                content_length: v.content_length,
                bilateral: v.bilateral.map(<[u8]>::to_vec),
                extensions: v.extensions.map(<[u8]>::to_vec),
            }
        }
    }

    impl From<view::ReportType<'_>> for ReportType {
        fn from(v: view::ReportType<'_>) -> Self {
            match v {
                view::ReportType::Delivery { delivery_time } => ReportType::Delivery {
                    delivery_time: delivery_time.to_owned(),
                },
                view::ReportType::NonDelivery { reason, diagnostic } => {
                    ReportType::NonDelivery { reason, diagnostic }
                }
            }
        }
    }

    impl From<view::ReportRecipient<'_>> for ReportRecipient {
        fn from(v: view::ReportRecipient<'_>) -> Self {
            ReportRecipient {
                actual: v.actual.into(),
                number: v.number,
                indicators: v.indicators.to_vec(),
                arrival: v.arrival.to_owned(),
                report: v.report.into(),
            }
        }
    }

    impl From<view::Report<'_>> for Report {
        fn from(v: view::Report<'_>) -> Self {
            Report {
                trace: v.trace().map(Into::into).collect(),
                recipients: v.recipients().map(Into::into).collect(),
                other: v.other().map(<[u8]>::to_vec).collect(),
                id: v.id.into(),
                destination: v.destination.into(),
                subject: v.subject.into(),
                content_type: v.content_type.map(Into::into),
                returned_content: v.returned_content.map(<[u8]>::to_vec),
            }
        }
    }

    impl From<view::Apdu<'_>> for Apdu {
        fn from(v: view::Apdu<'_>) -> Self {
            match v {
                view::Apdu::Message { envelope, content } => Apdu::Message {
                    envelope: envelope.into(),
                    content: content.to_vec(),
                },
                view::Apdu::Report(r) => Apdu::Report(r.into()),
                view::Apdu::Probe(e) => Apdu::Probe(e.into()),
            }
        }
    }
}

#[cfg(test)]
mod tests;
