//! Harness `p1_decode`: X.411 MTS-APDU, MTA bind and bind-error decoding. Oracles: never panics;
//! parse → emit → parse is the identity; what parses is valid BER (the `mta-ber` walker agrees);
//! the checked zero-copy view (`mta_p1::view`) accepts exactly what the owned decoder accepts,
//! rejects with the same error, and copies into what the owned decoder returns.

use crate::Failure;
use mta_build::Build;
use mta_p1::{Apdu, Bind};

const T: &str = "p1_decode";

/// The view of `input` against the owned decode `owned`: the same acceptance, the same error, and
/// on acceptance the same APDU once copied (which reads every lazily read list of the view).
pub fn view_agrees(input: &[u8], owned: &mta_p1::Result<Apdu>) -> Result<(), Failure> {
    let viewed = mta_p1::view::Apdu::parse(input);
    if viewed.as_ref().err() != owned.as_ref().err() {
        return Err(Failure::new(
            T,
            format!(
                "view: {:?}, owned: {:?}",
                viewed.as_ref().err(),
                owned.as_ref().err()
            ),
        ));
    }
    match viewed.map(Apdu::from) {
        Ok(copied) if owned.as_ref() != Ok(&copied) => Err(Failure::new(
            T,
            format!("view copied to {copied:?}, owned decode {owned:?}"),
        )),
        _ => Ok(()),
    }
}

/// Run one input (the build does not change P1 decoding).
pub fn run_bytes(_build: Build, input: &[u8]) -> Result<&'static str, Failure> {
    let owned = Apdu::parse(input);
    view_agrees(input, &owned)?;
    if let Ok(a) = owned {
        let again = Apdu::parse(&a.emit());
        if again.as_ref() != Ok(&a) {
            return Err(Failure::new(T, format!("APDU: parse(emit(x)) = {again:?}")));
        }
        if mta_ber::Tlv::parse_exact(input, &mta_p1::read::LIMITS).is_err() {
            return Err(Failure::new(T, "accepted input the BER walker rejects"));
        }
        return Ok(match a {
            Apdu::Message { .. } => "message",
            Apdu::Report(_) => "report",
            Apdu::Probe(_) => "probe",
        });
    }
    if let Ok(b) = Bind::parse(input) {
        let again = Bind::parse(&b.emit());
        if again.as_ref() != Ok(&b) {
            return Err(Failure::new(T, format!("bind: parse(emit(x)) = {again:?}")));
        }
        return Ok("bind");
    }
    Ok(if mta_p1::parse_bind_error(input).is_ok() {
        "bind-error"
    } else {
        "malformed"
    })
}

/// Seeds: a message, a probe, delivery and non-delivery reports, binds.
pub fn seeds() -> Vec<(&'static str, Vec<u8>)> {
    use mta_p1::{
        ContentType, Envelope, GlobalDomainIdentifier, MtsIdentifier, OrName, Recipient, Report,
        ReportRecipient, ReportType, TraceElement, bind_error, emit_bind_error,
    };
    let gdi = GlobalDomainIdentifier::new("US", " ", Some("LAB"));
    let orig = OrName::simple("US", " ", "LAB", "ALPHA", "Sender");
    let rcpt = OrName::simple("US", " ", "LAB", "BETA", "Recipient");
    let trace = vec![TraceElement {
        domain: gdi.clone(),
        arrival: "261123120000Z".into(),
        routing_action: 0,
        attempted: None,
        other: Vec::new(),
    }];
    let envelope = Envelope {
        id: MtsIdentifier::new(gdi.clone(), "seed-1"),
        originator: orig.clone(),
        original_eits: None,
        content_type: ContentType::BuiltIn(22),
        content_identifier: None,
        priority: Some(0),
        per_message_indicators: None,
        deferred_delivery: None,
        content_length: None,
        bilateral: None,
        trace: trace.clone(),
        extensions: None,
        recipients: vec![Recipient::responsible(rcpt.clone(), 1)],
    };
    let report = |rt: ReportType| {
        Apdu::Report(Report {
            id: MtsIdentifier::new(gdi.clone(), "seed-r"),
            destination: orig.clone(),
            trace: trace.clone(),
            subject: envelope.id.clone(),
            content_type: None,
            returned_content: None,
            recipients: vec![ReportRecipient {
                actual: rcpt.clone(),
                number: 1,
                indicators: vec![0x00, 0x80],
                arrival: "261123120001Z".into(),
                report: rt,
            }],
            other: Vec::new(),
        })
        .emit()
    };
    let mut probe = envelope.clone();
    probe.priority = None;
    probe.content_length = Some(4096);
    vec![
        (
            "message",
            Apdu::Message {
                envelope: envelope.clone(),
                content: b"hello".to_vec(),
            }
            .emit(),
        ),
        ("probe", Apdu::Probe(probe).emit()),
        (
            "delivery-report",
            report(ReportType::Delivery {
                delivery_time: "261123120002Z".into(),
            }),
        ),
        (
            "non-delivery-report",
            report(ReportType::NonDelivery {
                reason: 1,
                diagnostic: Some(0),
            }),
        ),
        (
            "bind-authenticated",
            Bind::simple("ALPHA-MTA", "secret").emit(),
        ),
        ("bind-unauthenticated", Bind::Unauthenticated.emit()),
        (
            "bind-error-authentication",
            emit_bind_error(bind_error::AUTHENTICATION_ERROR),
        ),
    ]
}
