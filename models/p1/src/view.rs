//! Checked zero-copy views of X.411 MTS-APDUs: the P1 decoding rules, borrowing from the input.

mod name;

pub use crate::read::TextRef;
pub use name::{GlobalDomainIdentifier, OrName, PersonalName};

use crate::read::{self, app, ctx, each, err, expect, int_in, retag, string_tag as st, univ};
use crate::{Result, ub};
use mta_ber::{Children, Class, Tag, Tlv};
use std::marker::PhantomData;

/// The invariant behind every lazy read: [`Iter`] reads octets that `parse` already read with the
/// same function, which succeeded then and depends on nothing but those octets.
const VALIDATED: &str = "a view's list is re-read with the function that validated it in parse";

/// An element type of a list a view reads lazily ([`Iter`]): how one element is decoded and
/// checked. `parse` runs [`Element::read`] on every element of the list; the iterator runs it
/// again on the same octets. Implemented by this module's list elements only (sealed).
pub trait Element<'a>: Sized + sealed::Sealed {
    /// Decode and check one element of a list.
    fn read(t: &Tlv<'a>) -> Result<Self>;
}

mod sealed {
    /// Only the views' list elements are [`super::Element`]s.
    pub trait Sealed {}
    impl Sealed for super::TraceElement<'_> {}
    impl Sealed for super::Recipient<'_> {}
    impl Sealed for super::ReportRecipient<'_> {}
    impl Sealed for (super::TextRef<'_>, super::TextRef<'_>) {}
}

/// Validate the elements of the constructed `list` with `read`, in order (the first error is
/// returned); how many there are.
#[inline]
fn check_each<'a, T>(list: &Tlv<'a>, read: impl Fn(&Tlv<'a>) -> Result<T>) -> Result<usize> {
    let mut n = 0;
    for e in each(list)? {
        read(&e)?;
        n += 1;
    }
    Ok(n)
}

/// Require `n`, the size of `list`, to be 1..=`max` (`reason` at the list's offset otherwise).
fn check_size(list: &Tlv<'_>, n: usize, max: usize, reason: &'static str) -> Result<usize> {
    if n == 0 || n > max {
        Err(err(list.offset, reason))
    } else {
        Ok(n)
    }
}

/// Require 1..=`max` elements in the constructed `list` (`reason` at its offset otherwise), then
/// validate each with `read`, in order; how many there are.
fn count_then_check<'a, T>(
    list: &Tlv<'a>,
    read: impl Fn(&Tlv<'a>) -> Result<T>,
    max: usize,
    reason: &'static str,
) -> Result<usize> {
    check_size(list, each(list)?.count(), max, reason)?;
    check_each(list, read)
}

/// A validated SEQUENCE OF / SET OF read lazily: each element is decoded again from the input
/// when the iterator reaches it, by the [`Element::read`] that validated it in `parse` (so it
/// cannot fail). A clone continues from the same place.
pub struct Iter<'a, T> {
    elements: Children<'a>,
    left: usize,
    element: PhantomData<fn() -> T>,
}

impl<'a, T: Element<'a>> Iter<'a, T> {
    /// Validate the elements of the constructed `list`, in order (the first error is returned),
    /// then require 1..=`max` of them (`reason` at the list's offset otherwise).
    fn check(list: &Tlv<'a>, max: usize, reason: &'static str) -> Result<Self> {
        let n = check_each(list, T::read)?;
        check_size(list, n, max, reason)?;
        Ok(Self::revisit(list, n))
    }

    /// Require 1..=`max` elements in the constructed `list` (`reason` at its offset otherwise),
    /// then validate each, in order.
    fn count_then_check(list: &Tlv<'a>, max: usize, reason: &'static str) -> Result<Self> {
        let n = count_then_check(list, T::read, max, reason)?;
        Ok(Self::revisit(list, n))
    }
}

impl<'a, T> Iter<'a, T> {
    /// The `n` elements of `list`, already validated.
    fn revisit(list: &Tlv<'a>, n: usize) -> Self {
        Iter {
            elements: list.children(),
            left: n,
            element: PhantomData,
        }
    }

    /// An empty list (an absent optional one).
    fn empty() -> Self {
        Iter {
            elements: Children::default(),
            left: 0,
            element: PhantomData,
        }
    }
}

impl<'a, T: Element<'a>> Iterator for Iter<'a, T> {
    type Item = T;

    #[inline]
    fn next(&mut self) -> Option<T> {
        let e = self.elements.next()?;
        self.left = self.left.saturating_sub(1);
        Some(T::read(&e).expect(VALIDATED))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.left, Some(self.left))
    }
}

impl<'a, T: Element<'a>> ExactSizeIterator for Iter<'a, T> {}

impl<T> Clone for Iter<'_, T> {
    fn clone(&self) -> Self {
        Iter {
            elements: self.elements.clone(),
            left: self.left,
            element: PhantomData,
        }
    }
}

/// Two lists are equal when they read the same octets at the same place.
impl<T> PartialEq for Iter<'_, T> {
    fn eq(&self, other: &Self) -> bool {
        self.elements == other.elements && self.left == other.left
    }
}

impl<T> Eq for Iter<'_, T> {}

impl<'a, T: Element<'a> + std::fmt::Debug> std::fmt::Debug for Iter<'a, T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.clone()).finish()
    }
}

/// The encodings of the children of `within` whose tag `keep` selects (the fields a view keeps
/// encoded, not decoded).
fn encoded_where(within: Children<'_>, keep: fn(Tag) -> bool) -> impl Iterator<Item = &[u8]> {
    within
        .filter(move |f| keep(f.header.tag))
        .map(|f| f.encoded)
}

/// `[APPLICATION 4]` MTSIdentifier (message, probe, report and subject identifiers).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct MtsIdentifier<'a> {
    /// Domain that assigned it.
    pub domain: GlobalDomainIdentifier<'a>,
    /// LocalIdentifier, IA5String 1..32.
    pub local: TextRef<'a>,
}

impl<'a> MtsIdentifier<'a> {
    fn parse(t: &Tlv<'a>) -> Result<Self> {
        expect(t, app(4, true), "MTSIdentifier is not [APPLICATION 4]")?;
        let mut k = each(t)?;
        match (k.next(), k.next(), k.next()) {
            (Some(g), Some(l), None) => Ok(MtsIdentifier {
                domain: GlobalDomainIdentifier::parse(&g)?,
                local: TextRef::parse(&l, &[st::IA5], 1, ub::LOCAL_ID)?,
            }),
            _ => Err(err(
                t.offset,
                "MTSIdentifier needs domain and local identifier",
            )),
        }
    }
}

/// ContentType: built-in `[APPLICATION 6]` INTEGER or an extended OID (contents octets).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ContentType<'a> {
    /// BuiltInContentType: unidentified 0, external 1, p2-1984 2, p22-1988 22, …
    BuiltIn(i64),
    /// ExtendedContentType: the OBJECT IDENTIFIER's contents octets.
    Extended(&'a [u8]),
}

impl<'a> ContentType<'a> {
    /// The content type if `t` is one (by its tag), checked; `None` for another field.
    fn parse(t: &Tlv<'a>) -> Result<Option<Self>> {
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
            Ok(Some(ContentType::Extended(t.contents)))
        } else {
            Ok(None)
        }
    }
}

/// TraceInformationElement: the global domain identifier and the DomainSuppliedInformation
/// `arrival-time`, `routing-action` and optional `attempted-domain`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TraceElement<'a> {
    /// Domain that handled the message.
    pub domain: GlobalDomainIdentifier<'a>,
    /// `[0]` arrival time (UTCTime text).
    pub arrival: &'a str,
    /// `[2]` routing action: relayed 0, rerouted 1.
    pub routing_action: i64,
    /// Attempted domain (when rerouted).
    pub attempted: Option<GlobalDomainIdentifier<'a>>,
    supplied: Children<'a>,
}

/// The DomainSuppliedInformation fields kept encoded: `[1]` deferred time, `[APPLICATION 5]`
/// converted EITs, `[3]` other actions.
fn trace_other(t: Tag) -> bool {
    t == ctx(1, false) || t == app(5, true) || t == ctx(3, false)
}

impl<'a> TraceElement<'a> {
    /// The other DomainSuppliedInformation fields (deferred time, converted EITs, other
    /// actions), encoded, in input order.
    pub fn other(&self) -> impl Iterator<Item = &'a [u8]> + use<'a> {
        encoded_where(self.supplied.clone(), trace_other)
    }

    fn parse(el: &Tlv<'a>) -> Result<Self> {
        expect(el, univ(16, true), "trace element is not a SEQUENCE")?;
        let mut parts = each(el)?;
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
        let (mut arrival, mut action, mut attempted) = (None, None, None);
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
            } else if !trace_other(ft) {
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
            supplied: dsi.children(),
        })
    }

    /// `[APPLICATION 9]` TraceInformation: 1..ub-transfers elements.
    fn parse_list(t: &Tlv<'a>) -> Result<Iter<'a, Self>> {
        expect(t, app(9, true), "TraceInformation is not [APPLICATION 9]")?;
        Iter::check(
            t,
            ub::TRANSFERS,
            "trace information needs 1 to 512 elements",
        )
    }
}

impl<'a> Element<'a> for TraceElement<'a> {
    #[inline]
    fn read(t: &Tlv<'a>) -> Result<Self> {
        Self::parse(t)
    }
}

/// PerRecipientMessageTransferFields / PerRecipientProbeTransferFields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recipient<'a> {
    /// Recipient O/R name.
    pub name: OrName<'a>,
    /// `[0]` originally-specified-recipient-number (1..32767).
    pub number: i64,
    /// `[1]` per-recipient-indicators BIT STRING contents (8..16 bits): responsibility is bit 0.
    pub indicators: &'a [u8],
    fields: Children<'a>,
}

/// The per-recipient fields kept encoded: `[2]` explicit conversion, `[3]` extensions.
fn recipient_other(t: Tag) -> bool {
    t == ctx(2, false) || t == ctx(3, true)
}

impl<'a> Recipient<'a> {
    /// The responsibility bit (bit 0 of per-recipient-indicators).
    pub fn responsibility(&self) -> bool {
        read::responsibility(self.indicators)
    }

    /// `[2]` explicit conversion and `[3]` extensions, encoded, in input order.
    pub fn other(&self) -> impl Iterator<Item = &'a [u8]> + use<'a> {
        encoded_where(self.fields.clone(), recipient_other)
    }

    fn parse(t: &Tlv<'a>) -> Result<Self> {
        expect(t, univ(17, true), "per-recipient fields are not a SET")?;
        let (mut name, mut number, mut ind) = (None, None, None);
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
                // Only the unused-bits octet: fewer than 8 bits.
                if b.len() < 2 {
                    return Err(err(
                        f.offset,
                        "per-recipient indicators need at least 8 bits",
                    ));
                }
                ind = Some(b);
            } else if !recipient_other(ft) {
                return Err(err(f.offset, "unexpected per-recipient field"));
            }
        }
        Ok(Recipient {
            name: name.ok_or(err(t.offset, "recipient without name"))?,
            number: number.ok_or(err(t.offset, "recipient without number"))?,
            indicators: ind.ok_or(err(t.offset, "recipient without indicators"))?,
            fields: t.children(),
        })
    }
}

impl<'a> Element<'a> for Recipient<'a> {
    #[inline]
    fn read(t: &Tlv<'a>) -> Result<Self> {
        Self::parse(t)
    }
}

/// MessageTransferEnvelope / ProbeTransferEnvelope (the probe has `content_length`, the message
/// `priority` and `deferred_delivery`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Envelope<'a> {
    /// Message / probe identifier.
    pub id: MtsIdentifier<'a>,
    /// Originator.
    pub originator: OrName<'a>,
    /// `[APPLICATION 5]` original encoded information types, encoded.
    pub original_eits: Option<&'a [u8]>,
    /// Content type.
    pub content_type: ContentType<'a>,
    /// `[APPLICATION 10]` content identifier (PrintableString 1..16).
    pub content_identifier: Option<TextRef<'a>>,
    /// `[APPLICATION 7]` priority (message): normal 0, non-urgent 1, urgent 2.
    pub priority: Option<i64>,
    /// `[APPLICATION 8]` per-message indicators BIT STRING contents.
    pub per_message_indicators: Option<&'a [u8]>,
    /// `[0]` deferred delivery time (message) — UTCTime text.
    pub deferred_delivery: Option<&'a str>,
    /// `[0]` content length (probe).
    pub content_length: Option<i64>,
    /// `[1]` per-domain bilateral information, encoded.
    pub bilateral: Option<&'a [u8]>,
    /// `[3]` extensions, encoded.
    pub extensions: Option<&'a [u8]>,
    trace: Iter<'a, TraceElement<'a>>,
    recipients: Iter<'a, Recipient<'a>>,
}

/// An envelope's fields while they are read (the mandatory ones may still be missing).
#[derive(Default)]
struct EnvelopeFields<'a> {
    id: Option<MtsIdentifier<'a>>,
    originator: Option<OrName<'a>>,
    original_eits: Option<&'a [u8]>,
    content_type: Option<ContentType<'a>>,
    content_identifier: Option<TextRef<'a>>,
    priority: Option<i64>,
    per_message_indicators: Option<&'a [u8]>,
    deferred_delivery: Option<&'a str>,
    content_length: Option<i64>,
    bilateral: Option<&'a [u8]>,
    trace: Option<Iter<'a, TraceElement<'a>>>,
    extensions: Option<&'a [u8]>,
    recipients: Option<Iter<'a, Recipient<'a>>>,
}

impl<'a> Envelope<'a> {
    /// `[APPLICATION 9]` trace information (1..512 elements), read lazily.
    pub fn trace(&self) -> Iter<'a, TraceElement<'a>> {
        self.trace.clone()
    }

    /// `[2]` per-recipient fields (1..32767), read lazily.
    pub fn recipients(&self) -> Iter<'a, Recipient<'a>> {
        self.recipients.clone()
    }

    /// The fields of a message or probe envelope `t` (a SET, or the probe's `[2]`).
    fn parse(t: &Tlv<'a>, probe: bool) -> Result<Self> {
        let mut m = EnvelopeFields::default();
        for f in each(t)? {
            let ft = f.header.tag;
            if let Some(c) = ContentType::parse(&f)? {
                m.content_type = Some(c);
            } else if ft == app(4, true) && m.id.is_none() {
                m.id = Some(MtsIdentifier::parse(&f)?);
            } else if ft == app(0, true) && m.originator.is_none() {
                m.originator = Some(OrName::parse(&f)?);
            } else if ft == app(5, true) {
                m.original_eits = Some(f.encoded);
            } else if ft == app(10, false) {
                m.content_identifier = Some(TextRef::parse(
                    &retag(&f, st::PRINTABLE),
                    &[st::PRINTABLE],
                    1,
                    ub::CONTENT_ID,
                )?);
            } else if ft == app(7, false) && !probe {
                m.priority = Some(int_in(&f, 0, 2, "priority out of range")?);
            } else if ft == app(8, false) {
                m.per_message_indicators = Some(read::bit_string(&f, ub::BIT_OPTIONS)?);
            } else if ft == ctx(0, false) && probe {
                m.content_length = Some(int_in(
                    &f,
                    0,
                    i64::from(i32::MAX),
                    "content length out of range",
                )?);
            } else if ft == ctx(0, false) {
                m.deferred_delivery = Some(read::utc_time(&f)?);
            } else if ft == ctx(1, true) {
                m.bilateral = Some(f.encoded);
            } else if ft == app(9, true) && m.trace.is_none() {
                m.trace = Some(TraceElement::parse_list(&f)?);
            } else if ft == ctx(3, true) {
                m.extensions = Some(f.encoded);
            } else if ft == ctx(2, true) && m.recipients.is_none() {
                m.recipients = Some(Iter::check(&f, ub::RECIPIENTS, "1 to 32767 recipients")?);
            } else {
                return Err(err(f.offset, "unexpected or repeated envelope field"));
            }
        }
        Ok(Envelope {
            id: m.id.ok_or(err(t.offset, "envelope without identifier"))?,
            originator: m
                .originator
                .ok_or(err(t.offset, "envelope without originator"))?,
            original_eits: m.original_eits,
            content_type: m
                .content_type
                .ok_or(err(t.offset, "envelope without content type"))?,
            content_identifier: m.content_identifier,
            priority: m.priority,
            per_message_indicators: m.per_message_indicators,
            deferred_delivery: m.deferred_delivery,
            content_length: m.content_length,
            bilateral: m.bilateral,
            trace: m
                .trace
                .ok_or(err(t.offset, "envelope without trace information"))?,
            extensions: m.extensions,
            recipients: m
                .recipients
                .ok_or(err(t.offset, "envelope without recipients"))?,
        })
    }
}

/// ReportType: delivered or not, per recipient.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ReportType<'a> {
    /// `[0]` delivery: message delivery time.
    Delivery {
        /// UTCTime text.
        delivery_time: &'a str,
    },
    /// `[1]` non-delivery: reason and optional diagnostic.
    NonDelivery {
        /// NonDeliveryReasonCode (0 transfer-failure, 1 unable-to-transfer, …).
        reason: i64,
        /// NonDeliveryDiagnosticCode.
        diagnostic: Option<i64>,
    },
}

impl<'a> ReportType<'a> {
    /// The `[1]` report-type of a LastTraceInformation (an explicit tag around the choice).
    fn parse(l: &Tlv<'a>) -> Result<Self> {
        let r = read::explicit(l)?;
        let mut fields = each(&r)?;
        let tag = r.header.tag;
        if tag == ctx(0, true) {
            let time = fields
                .next()
                .ok_or(err(r.offset, "delivery report without time"))?;
            return Ok(ReportType::Delivery {
                delivery_time: read::utc_time(&time)?,
            });
        }
        if tag != ctx(1, true) {
            return Err(err(r.offset, "unknown report type"));
        }
        let (mut reason, mut diag) = (None, None);
        for x in fields {
            if x.header.tag == ctx(0, false) {
                reason = Some(int_in(&x, 0, 32767, "reason code out of range")?);
            } else if x.header.tag == ctx(1, false) {
                diag = Some(int_in(&x, 0, 32767, "diagnostic code out of range")?);
            } else {
                return Err(err(x.offset, "unexpected non-delivery field"));
            }
        }
        Ok(ReportType::NonDelivery {
            reason: reason.ok_or(err(r.offset, "non-delivery without reason"))?,
            diagnostic: diag,
        })
    }
}

/// PerRecipientReportTransferFields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportRecipient<'a> {
    /// `[0]` actual recipient name.
    pub actual: OrName<'a>,
    /// `[1]` originally-specified-recipient-number.
    pub number: i64,
    /// `[2]` per-recipient indicators.
    pub indicators: &'a [u8],
    /// `[3]` last trace: arrival time.
    pub arrival: &'a str,
    /// `[3]` last trace: report type.
    pub report: ReportType<'a>,
}

impl<'a> ReportRecipient<'a> {
    fn parse(t: &Tlv<'a>) -> Result<Self> {
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
                last = Some(Self::last_trace(&f)?);
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

    /// `[3]` LastTraceInformation: `[0]` arrival time and `[1]` report type.
    fn last_trace(f: &Tlv<'a>) -> Result<(&'a str, ReportType<'a>)> {
        let (mut arrival, mut report) = (None, None);
        for l in each(f)? {
            if l.header.tag == ctx(0, false) {
                arrival = Some(read::utc_time(&l)?);
            } else if l.header.tag == ctx(1, true) {
                report = Some(ReportType::parse(&l)?);
            } else {
                return Err(err(l.offset, "unexpected last-trace field"));
            }
        }
        Ok((
            arrival.ok_or(err(f.offset, "last trace without arrival"))?,
            report.ok_or(err(f.offset, "last trace without report type"))?,
        ))
    }
}

impl<'a> Element<'a> for ReportRecipient<'a> {
    #[inline]
    fn read(t: &Tlv<'a>) -> Result<Self> {
        Self::parse(t)
    }
}

/// A report: ReportTransferEnvelope and ReportTransferContent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report<'a> {
    /// Report identifier.
    pub id: MtsIdentifier<'a>,
    /// Report destination.
    pub destination: OrName<'a>,
    /// Subject (the reported message's identifier).
    pub subject: MtsIdentifier<'a>,
    /// Content type of the subject, if given.
    pub content_type: Option<ContentType<'a>>,
    /// `[1]` returned content.
    pub returned_content: Option<&'a [u8]>,
    trace: Iter<'a, TraceElement<'a>>,
    recipients: Iter<'a, ReportRecipient<'a>>,
    envelope: Children<'a>,
    content: Children<'a>,
}

/// The report envelope fields kept encoded: `[1]` per-domain bilateral information.
fn report_envelope_other(t: Tag) -> bool {
    t == ctx(1, true)
}

/// The report content fields kept encoded: subject trace, EITs, content identifier, `[2]` and
/// `[3]` (additional information, extensions).
fn report_content_other(t: Tag) -> bool {
    t == app(9, true)
        || t == app(5, true)
        || t == app(10, false)
        || t == ctx(2, true)
        || t == ctx(3, true)
}

impl<'a> Report<'a> {
    /// Trace information (1..512 elements), read lazily.
    pub fn trace(&self) -> Iter<'a, TraceElement<'a>> {
        self.trace.clone()
    }

    /// `[0]` per-recipient fields (1..32767), read lazily.
    pub fn recipients(&self) -> Iter<'a, ReportRecipient<'a>> {
        self.recipients.clone()
    }

    /// The other envelope fields, then the other content fields (extensions, subject trace,
    /// EITs, …), encoded, in input order.
    pub fn other(&self) -> impl Iterator<Item = &'a [u8]> + use<'a> {
        encoded_where(self.envelope.clone(), report_envelope_other)
            .chain(encoded_where(self.content.clone(), report_content_other))
    }

    /// The body of a `[1]` report APDU: envelope SET, content SET.
    fn parse(t: &Tlv<'a>) -> Result<Self> {
        let mut parts = each(t)?;
        let (Some(env), Some(content), None) = (parts.next(), parts.next(), parts.next()) else {
            return Err(err(t.offset, "report needs envelope and content"));
        };
        expect(&env, univ(17, true), "report envelope is not a SET")?;
        expect(&content, univ(17, true), "report content is not a SET")?;
        let (mut id, mut dest, mut trace) = (None, None, None);
        for f in each(&env)? {
            let ft = f.header.tag;
            if ft == app(4, true) && id.is_none() {
                id = Some(MtsIdentifier::parse(&f)?);
            } else if ft == app(0, true) && dest.is_none() {
                dest = Some(OrName::parse(&f)?);
            } else if ft == app(9, true) && trace.is_none() {
                trace = Some(TraceElement::parse_list(&f)?);
            } else if !report_envelope_other(ft) {
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
                returned = Some(f.contents);
            } else if ft == ctx(0, true) && recips.is_none() {
                recips = Some(Iter::check(
                    &f,
                    ub::RECIPIENTS,
                    "1 to 32767 report recipients",
                )?);
            } else if !report_content_other(ft) {
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
            envelope: env.children(),
            content: content.children(),
        })
    }
}

/// An MTS-APDU, checked and borrowed from the input.
///
/// [`Apdu::parse`] applies every P1 decoding rule (the owned [`crate::Apdu::parse`] is this parse
/// followed by a copy, so both accept, and reject with the same [`crate::Error`], the same
/// octets). Fields are slices of the input ([`TextRef`], `&[u8]`, `&str`) or small copies; nothing
/// is allocated. Lists (trace information, per-recipient fields, organisational units,
/// domain-defined attributes) stay as their validated octets and are read lazily ([`Iter`]) by
/// the very function that validated them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Apdu<'a> {
    /// `[0]` message: envelope and opaque content.
    Message {
        /// Envelope.
        envelope: Envelope<'a>,
        /// Content octets.
        content: &'a [u8],
    },
    /// `[1]` report.
    Report(Report<'a>),
    /// `[2]` probe.
    Probe(Envelope<'a>),
}

impl<'a> Apdu<'a> {
    /// Check one MTS-APDU covering `b`: every rule [`crate::Apdu::parse`] applies (that parse
    /// is this one), without copying anything.
    pub fn parse(b: &'a [u8]) -> Result<Self> {
        let t = read::parse_exact(b)?;
        let tag = t.header.tag;
        if tag.class != Class::Context || !tag.constructed {
            return Err(err(0, "not an MTS-APDU"));
        }
        match tag.number {
            0 => {
                let mut parts = each(&t)?;
                let (Some(env), Some(content), None) = (parts.next(), parts.next(), parts.next())
                else {
                    return Err(err(0, "message needs envelope and content"));
                };
                expect(&env, univ(17, true), "message envelope is not a SET")?;
                expect(&content, univ(4, false), "content is not an OCTET STRING")?;
                Ok(Apdu::Message {
                    envelope: Envelope::parse(&env, false)?,
                    content: content.contents,
                })
            }
            1 => Ok(Apdu::Report(Report::parse(&t)?)),
            2 => Ok(Apdu::Probe(Envelope::parse(&t, true)?)),
            _ => Err(err(0, "not an MTS-APDU")),
        }
    }

    /// The MTS identifier (message, report or probe identifier).
    pub fn id(&self) -> &MtsIdentifier<'a> {
        match self {
            Apdu::Message { envelope, .. } | Apdu::Probe(envelope) => &envelope.id,
            Apdu::Report(r) => &r.id,
        }
    }
}
