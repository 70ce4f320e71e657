//! P1 message decode side by side: `mta-p1` (strict: tags, character sets, upper bounds, UTCTime)
//! into its owned types and as its checked zero-copy view, and a rasn model of the same envelope
//! (this file only), on the same bytes in one run.
#![allow(missing_docs)]

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use mta_p1::{
    Apdu, ContentType, Envelope as P1Envelope, GlobalDomainIdentifier, MtsIdentifier,
    OrName as P1OrName, Recipient, TraceElement as P1Trace, view,
};
use std::hint::black_box;

#[allow(clippy::pedantic)] // rasn derive expansions
mod rasn_model {
    use rasn::prelude::*;

    #[derive(AsnType, Decode, Encode, Debug, Clone, PartialEq)]
    #[rasn(choice)]
    pub enum CountryChoice {
        X121(NumericString),
        Iso(PrintableString),
    }
    #[derive(AsnType, Decode, Encode, Debug, Clone, PartialEq)]
    #[rasn(delegate, tag(explicit(application, 1)))]
    pub struct CountryName(pub CountryChoice);

    #[derive(AsnType, Decode, Encode, Debug, Clone, PartialEq)]
    #[rasn(choice)]
    pub enum NumOrPrint {
        Numeric(NumericString),
        Printable(PrintableString),
    }
    #[derive(AsnType, Decode, Encode, Debug, Clone, PartialEq)]
    #[rasn(delegate, tag(explicit(application, 2)))]
    pub struct AdmdName(pub NumOrPrint);

    #[derive(AsnType, Decode, Encode, Debug, Clone, PartialEq)]
    #[rasn(tag(application, 3))]
    pub struct Gdi {
        pub country: CountryName,
        pub admd: AdmdName,
        pub prmd: Option<NumOrPrint>,
    }

    #[derive(AsnType, Decode, Encode, Debug, Clone, PartialEq)]
    #[rasn(tag(application, 4))]
    pub struct MtsId {
        pub gdi: Gdi,
        pub local: Ia5String,
    }

    #[derive(AsnType, Decode, Encode, Debug, Clone, PartialEq)]
    #[rasn(set)]
    pub struct PersonalName {
        #[rasn(tag(0))]
        pub surname: PrintableString,
        #[rasn(tag(1))]
        pub given: Option<PrintableString>,
        #[rasn(tag(2))]
        pub initials: Option<PrintableString>,
        #[rasn(tag(3))]
        pub generation: Option<PrintableString>,
    }

    #[derive(AsnType, Decode, Encode, Debug, Clone, PartialEq)]
    pub struct Bisa {
        pub country: Option<CountryName>,
        pub admd: Option<AdmdName>,
        #[rasn(tag(0))]
        pub network_address: Option<NumericString>,
        #[rasn(tag(1))]
        pub terminal: Option<PrintableString>,
        #[rasn(tag(explicit(2)))]
        pub prmd: Option<NumOrPrint>,
        #[rasn(tag(3))]
        pub org: Option<PrintableString>,
        #[rasn(tag(4))]
        pub numeric_user: Option<NumericString>,
        #[rasn(tag(5))]
        pub personal: Option<PersonalName>,
        #[rasn(tag(6))]
        pub ous: Option<SequenceOf<PrintableString>>,
    }

    #[derive(AsnType, Decode, Encode, Debug, Clone, PartialEq)]
    #[rasn(tag(application, 0))]
    pub struct OrName {
        pub bisa: Bisa,
    }

    #[derive(AsnType, Decode, Encode, Debug, Clone, PartialEq)]
    #[rasn(set)]
    pub struct Dsi {
        #[rasn(tag(0))]
        pub arrival: UtcTime,
        #[rasn(tag(2))]
        pub action: Option<Integer>,
    }

    #[derive(AsnType, Decode, Encode, Debug, Clone, PartialEq)]
    pub struct TraceElement {
        pub gdi: Gdi,
        pub dsi: Dsi,
    }

    #[derive(AsnType, Decode, Encode, Debug, Clone, PartialEq)]
    #[rasn(delegate, tag(application, 9))]
    pub struct Trace(pub SequenceOf<TraceElement>);

    #[derive(AsnType, Decode, Encode, Debug, Clone, PartialEq)]
    #[rasn(set)]
    pub struct PerRecipient {
        pub name: OrName,
        #[rasn(tag(0))]
        pub number: Integer,
        #[rasn(tag(1))]
        pub indicators: BitString,
    }

    #[derive(AsnType, Decode, Encode, Debug, Clone, PartialEq)]
    #[rasn(delegate, tag(application, 6))]
    pub struct BuiltInContentType(pub Integer);

    #[derive(AsnType, Decode, Encode, Debug, Clone, PartialEq)]
    #[rasn(delegate, tag(application, 7))]
    pub struct Priority(pub Integer);

    #[derive(AsnType, Decode, Encode, Debug, Clone, PartialEq)]
    #[rasn(set)]
    pub struct Envelope {
        pub id: MtsId,
        pub originator: OrName,
        pub content_type: BuiltInContentType,
        pub priority: Option<Priority>,
        pub trace: Trace,
        #[rasn(tag(2))]
        pub recipients: SequenceOf<PerRecipient>,
    }

    #[derive(AsnType, Decode, Encode, Debug, Clone, PartialEq)]
    #[rasn(tag(0))]
    pub struct Message {
        pub envelope: Envelope,
        pub content: OctetString,
    }
}

fn sample() -> Vec<u8> {
    let gdi = GlobalDomainIdentifier::new("US", " ", Some("LAB"));
    let trace: Vec<P1Trace> = (0..4)
        .map(|i| P1Trace {
            domain: GlobalDomainIdentifier::new("US", " ", Some(&format!("HOP{i}"))),
            arrival: "261123120000Z".into(),
            routing_action: 0,
            attempted: None,
            other: Vec::new(),
        })
        .collect();
    Apdu::Message {
        envelope: P1Envelope {
            priority: Some(0),
            trace,
            ..P1Envelope::new(
                MtsIdentifier::new(gdi, "bench-message-1"),
                P1OrName::simple("US", " ", "LAB", "ALPHA", "Sender"),
                ContentType::BuiltIn(22),
                (1..=8)
                    .map(|i| {
                        Recipient::responsible(
                            P1OrName::simple("US", " ", "LAB", "BETA", &format!("Recipient{i}")),
                            i,
                        )
                    })
                    .collect(),
            )
        },
        content: vec![0x42; 64],
    }
    .emit()
}

/// The view of `bytes` with every field the rasn model decodes read (and kept from the
/// optimiser): identifier, originator, content type, priority, each trace element's domain,
/// arrival and action, each recipient's name, number and indicators; and the content.
fn read_view(bytes: &[u8]) {
    let Ok(view::Apdu::Message { envelope, content }) = view::Apdu::parse(bytes) else {
        panic!("the sample is a message");
    };
    let name = |n: &view::OrName<'_>| {
        black_box(n);
        n.org_units().for_each(|u| {
            black_box(u);
        });
    };
    black_box(&envelope.id.domain);
    black_box(envelope.id.local.as_str());
    name(&envelope.originator);
    black_box(envelope.content_type);
    black_box(envelope.priority);
    for t in envelope.trace() {
        black_box((&t.domain, t.arrival, t.routing_action));
    }
    for r in envelope.recipients() {
        name(&r.name);
        black_box((r.number, r.indicators));
    }
    black_box(content);
}

fn bench(c: &mut Criterion) {
    let bytes = sample();
    assert!(Apdu::parse(&bytes).is_ok());
    assert!(rasn::ber::decode::<rasn_model::Message>(&bytes).is_ok());
    let mut g = c.benchmark_group("p1_envelope_decode");
    g.throughput(Throughput::Elements(1));
    g.bench_function("mta_p1", |b| {
        b.iter(|| Apdu::parse(black_box(&bytes)).unwrap());
    });
    g.bench_function("mta_p1_view", |b| {
        b.iter(|| read_view(black_box(&bytes)));
    });
    g.bench_function("mta_ber_validate_only", |b| {
        b.iter(|| mta_ber::Tlv::parse_exact(black_box(&bytes), &mta_p1::read::LIMITS).unwrap());
    });
    g.bench_function("rasn", |b| {
        b.iter(|| rasn::ber::decode::<rasn_model::Message>(black_box(&bytes)).unwrap());
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
