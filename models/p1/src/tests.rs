use super::*;

fn gdi() -> GlobalDomainIdentifier {
    GlobalDomainIdentifier::new("US", " ", Some("LAB"))
}

pub(crate) fn sample_message(n: u32, content: &[u8]) -> Apdu {
    Apdu::Message {
        envelope: Envelope {
            id: MtsIdentifier::new(gdi(), &format!("msg-{n}")),
            originator: OrName::simple("US", " ", "LAB", "ALPHA", "Sender"),
            original_eits: None,
            content_type: ContentType::BuiltIn(22),
            content_identifier: Some(Text::printable("id")),
            priority: Some(2),
            per_message_indicators: Some(vec![0x07, 0x80]),
            deferred_delivery: None,
            content_length: None,
            bilateral: None,
            trace: vec![TraceElement {
                domain: gdi(),
                arrival: "261123120000Z".into(),
                routing_action: 0,
                attempted: None,
                other: Vec::new(),
            }],
            extensions: None,
            recipients: vec![
                Recipient::responsible(OrName::simple("US", " ", "LAB", "BETA", "One"), 1),
                Recipient::responsible(OrName::simple("DE", " ", "X", "GAMMA", "Two"), 2),
            ],
        },
        content: content.to_vec(),
    }
}

#[test]
fn message_round_trip() {
    let m = sample_message(7, b"hello");
    let b = m.emit();
    assert_eq!(b[0], 0xa0);
    assert_eq!(Apdu::parse(&b), Ok(m.clone()));
    assert_eq!(m.id().to_string(), "/C=US/A= /P=LAB/;msg-7");
}

#[test]
fn report_and_probe_round_trip() {
    let Apdu::Message { envelope, .. } = sample_message(1, b"") else {
        unreachable!()
    };
    let r = Apdu::Report(Report {
        id: MtsIdentifier::new(gdi(), "rep-1"),
        destination: envelope.originator.clone(),
        trace: envelope.trace.clone(),
        subject: envelope.id.clone(),
        content_type: Some(ContentType::BuiltIn(22)),
        returned_content: None,
        recipients: vec![
            ReportRecipient {
                actual: envelope.recipients[0].name.clone(),
                number: 1,
                indicators: vec![0x00, 0x80],
                arrival: "261123120001Z".into(),
                report: ReportType::Delivery {
                    delivery_time: "261123120002Z".into(),
                },
            },
            ReportRecipient {
                actual: envelope.recipients[1].name.clone(),
                number: 2,
                indicators: vec![0x00, 0x80],
                arrival: "261123120001Z".into(),
                report: ReportType::NonDelivery {
                    reason: 1,
                    diagnostic: Some(0),
                },
            },
        ],
        other: Vec::new(),
    });
    assert_eq!(Apdu::parse(&r.emit()), Ok(r));
    let mut probe = envelope;
    probe.priority = None;
    probe.content_length = Some(1000);
    let p = Apdu::Probe(probe);
    assert_eq!(Apdu::parse(&p.emit()), Ok(p));
}

#[test]
fn bind_round_trip_and_errors() {
    for b in [Bind::Unauthenticated, Bind::simple("ALPHA-MTA", "secret")] {
        assert_eq!(Bind::parse(&b.emit()), Ok(b));
    }
    assert_eq!(
        parse_bind_error(&emit_bind_error(bind_error::AUTHENTICATION_ERROR)),
        Ok(2)
    );
    let long = Bind::simple(&"x".repeat(33), "p").emit();
    assert_eq!(
        Bind::parse(&long).unwrap_err().reason,
        "string length outside its bounds"
    );
}

#[test]
fn strict_rejections() {
    let good = sample_message(1, b"x").emit();
    // Country name "USA" as PrintableString (must be 2 characters).
    let bad = {
        let mut m = sample_message(1, b"x");
        if let Apdu::Message { envelope, .. } = &mut m {
            envelope.originator.country = Some(Text::printable("USA"));
        }
        m.emit()
    };
    assert!(Apdu::parse(&good).is_ok());
    assert_eq!(
        Apdu::parse(&bad).unwrap_err().reason,
        "country name has the wrong size for its type"
    );
    let bad_time = {
        let mut m = sample_message(1, b"x");
        if let Apdu::Message { envelope, .. } = &mut m {
            envelope.trace[0].arrival = "2611231200".into();
        }
        m.emit()
    };
    assert_eq!(
        Apdu::parse(&bad_time).unwrap_err().reason,
        "invalid UTCTime"
    );
    // Truncations never panic and are reported.
    for cut in 0..good.len() {
        assert!(Apdu::parse(&good[..cut]).is_err());
    }
}
