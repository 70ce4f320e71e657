//! libFuzzer dictionaries, one per target: the codes, parameter identifiers, tags and length
//! encodings of the protocols the target's input carries, taken from the models' own constants
//! and from the BER the target's seeds contain — never typed in by hand, so they follow the
//! models. `mta-lab corpus seed` writes them to `corpora/dict/<target>.dict` (AFL/libFuzzer
//! dictionary syntax); `cargo test` checks the committed files are current; the nightly, the KB
//! finders and `mta-lab bench` pass them with `-dict=`.
//!
//! Length boundaries are where encoders go wrong (X.690 8.1.3: short form up to 127, long form
//! from 128; one length octet up to 255, two up to 65535; RFC 1006's 16-bit TPKT length; ISO
//! 8327's one- and three-octet length forms, 254/255), so every dictionary that carries a length
//! carries its boundary encodings.

use crate::{TARGETS, Target};
use mta_lpi::MessageType;
use mta_osi::{cotp, session};

/// One dictionary entry: a name (for humans) and its octets.
pub type Token = (String, Vec<u8>);

fn tok(name: impl Into<String>, bytes: &[u8]) -> Token {
    (name.into(), bytes.to_vec())
}

/// The length octets mta-ber's encoder writes for `n` (X.690 8.1.3, minimal form).
fn ber_length(n: usize) -> Vec<u8> {
    let mut v = Vec::new();
    let octet_string = mta_ber::Tag::new(mta_ber::Class::Universal, false, 4);
    mta_ber::write_header(&mut v, octet_string, mta_ber::Length::Definite(n));
    v.remove(0);
    v
}

/// BER length octets at the X.690 boundaries, the indefinite form and end-of-contents.
pub fn ber_lengths() -> Vec<Token> {
    let mut v = Vec::new();
    for n in [0usize, 1, 127, 128, 254, 255, 256, 65535, 65536] {
        v.push(tok(format!("ber_len_{n}"), &ber_length(n)));
    }
    v.push(tok("ber_len_indefinite", &[0x80]));
    v.push(tok("ber_eoc", &[0x00, 0x00]));
    v.push(tok("ber_len_reserved", &[0xff]));
    v.push(tok("ber_len_nonminimal_81_05", &[0x81, 0x05]));
    v.push(tok("ber_high_tag_31", &[0x1f, 0x1f]));
    v.push(tok("ber_high_tag_128", &[0x1f, 0x81, 0x00]));
    v
}

/// The identifier octets of every element in `ber` (a run of top-level elements), each once.
fn identifiers(ber: &[u8], out: &mut Vec<Vec<u8>>) {
    struct Ids<'a> {
        input: &'a [u8],
        out: &'a mut Vec<Vec<u8>>,
    }
    impl Ids<'_> {
        fn add(&mut self, offset: usize) {
            let b = &self.input[offset..];
            let mut n = 1;
            if b[0] & 0x1f == 0x1f {
                while n < b.len() && b[n] & 0x80 != 0 {
                    n += 1;
                }
                n += 1;
            }
            let id = b[..n.min(b.len())].to_vec();
            if !self.out.contains(&id) {
                self.out.push(id);
            }
        }
    }
    impl mta_ber::Visit for Ids<'_> {
        fn primitive(&mut self, item: &mta_ber::Item, _: &[u8]) {
            self.add(item.offset);
        }
        fn enter(&mut self, item: &mta_ber::Item) {
            self.add(item.offset);
        }
    }
    let _ = mta_ber::walk(
        ber,
        &mta_ber::Limits::default(),
        &mut Ids { input: ber, out },
    );
}

/// Identifier octets of the BER in a target's seeds (skipping `skip` leading octets of each).
fn ber_tags_of(target: &str, skip: usize) -> Vec<Token> {
    let t = target_named(target);
    let mut ids = Vec::new();
    for (_, seed) in (t.seeds)() {
        if seed.len() > skip {
            identifiers(&seed[skip..], &mut ids);
        }
    }
    ids.sort();
    ids.iter()
        .map(|id| tok(format!("{target}_tag_{}", hex(id)), id))
        .collect()
}

fn hex(b: &[u8]) -> String {
    use std::fmt::Write as _;
    b.iter().fold(String::new(), |mut s, x| {
        let _ = write!(s, "{x:02x}");
        s
    })
}

/// RFC 1006 TPKT headers: minimal, longest, the reserved octet KB Q151626's 4.0 sends.
pub fn tpkt() -> Vec<Token> {
    let h = |len: u16, reserved: u8| {
        let [a, b] = len.to_be_bytes();
        vec![mta_osi::tpkt::VERSION, reserved, a, b]
    };
    vec![
        tok("tpkt_min_7", &h(7, 0)),
        tok("tpkt_len_255", &h(255, 0)),
        tok("tpkt_len_256", &h(256, 0)),
        tok("tpkt_max_65535", &h(65535, 0)),
        tok("tpkt_reserved_0x11_q151626", &h(44, 0x11)),
    ]
}

/// ISO 8073 class 0 TPDU codes (with their usual LI) and parameter codes, TPDU sizes 128..8192.
pub fn cotp() -> Vec<Token> {
    let mut v = vec![
        tok("cotp_cr", &[0x06, cotp::code::CR, 0, 0, 0, 0, 0]),
        tok("cotp_cc", &[0x06, cotp::code::CC, 0, 0, 0, 0, 0]),
        tok("cotp_dr", &[0x06, cotp::code::DR, 0, 0, 0, 0, 0]),
        tok("cotp_dt_eot", &[0x02, cotp::code::DT, 0x80]),
        tok("cotp_dt_more", &[0x02, cotp::code::DT, 0x00]),
        tok("cotp_er", &[0x04, cotp::code::ER, 0, 0, 0]),
        tok("cotp_calling_tsap", &[cotp::param::CALLING_TSAP, 0x02]),
        tok("cotp_called_tsap", &[cotp::param::CALLED_TSAP, 0x02]),
        tok("cotp_li_254", &[0xfe]),
        tok("cotp_li_255", &[0xff]),
    ];
    for size in 7..=cotp::MAX_TPDU_SIZE_CODE {
        v.push(tok(
            format!("cotp_tpdu_size_{}", cotp::tpdu_size(size)),
            &[cotp::param::TPDU_SIZE, 0x01, size],
        ));
    }
    v
}

/// ISO 8327 SPDU identifiers and parameter (group) identifiers, and the length forms.
pub fn session() -> Vec<Token> {
    use session::{pi, si};
    let mut v = Vec::new();
    for (name, code) in [
        ("gt_dt", si::GT_DT),
        ("pt", si::PT),
        ("ex", si::EX),
        ("fn", si::FN),
        ("dn", si::DN),
        ("rf", si::RF),
        ("cn", si::CN),
        ("ac", si::AC),
        ("ab", si::AB),
        ("aa", si::AA),
        ("td", si::TD),
        ("ae", si::AE),
        ("aea", si::AEA),
        ("as", si::AS),
        ("mip", si::MIP),
        ("mia", si::MIA),
    ] {
        v.push(tok(format!("spdu_{name}"), &[code]));
    }
    for (name, code) in [
        ("connection_id", pi::CONNECTION_ID),
        ("connect_accept", pi::CONNECT_ACCEPT),
        ("sync_type", pi::SYNC_TYPE),
        ("token_item", pi::TOKEN_ITEM),
        ("transport_disconnect", pi::TRANSPORT_DISCONNECT),
        ("protocol_options", pi::PROTOCOL_OPTIONS),
        ("requirements", pi::REQUIREMENTS),
        ("version", pi::VERSION),
        ("initial_serial", pi::INITIAL_SERIAL),
        ("token_setting", pi::TOKEN_SETTING),
        ("linking", pi::LINKING),
        ("activity_id", pi::ACTIVITY_ID),
        ("serial", pi::SERIAL),
        ("reason", pi::REASON),
        ("calling_ssel", pi::CALLING_SSEL),
        ("called_ssel", pi::CALLED_SSEL),
        ("user_data", pi::USER_DATA),
        ("extended_user_data", pi::EXTENDED_USER_DATA),
    ] {
        v.push(tok(format!("spdu_pi_{name}"), &[code]));
    }
    // ISO 8327-1 8.2.5: one octet up to 254; 0xff then two octets from 255.
    for (name, bytes) in [
        ("len_0", &[0x00][..]),
        ("len_254", &[0xfe]),
        ("len_255", &[0xff, 0x00, 0xff]),
        ("len_256", &[0xff, 0x01, 0x00]),
        ("len_65535", &[0xff, 0xff, 0xff]),
    ] {
        v.push(tok(format!("spdu_{name}"), bytes));
    }
    v
}

/// NSI/POP4 internal-message codes, header length, interfaces (little-endian, as laid out).
pub fn lpi() -> Vec<Token> {
    let mut v: Vec<Token> = MessageType::ALL
        .iter()
        .map(|t| {
            tok(
                format!("lpi_type_{}", t.name().to_lowercase().replace(' ', "_")),
                &t.code().to_le_bytes(),
            )
        })
        .collect();
    v.push(tok(
        "lpi_header_len",
        &(mta_lpi::HEADER_LEN as u16).to_le_bytes(),
    ));
    v.push(tok("lpi_interface_tcp", &1u16.to_le_bytes()));
    v.push(tok("lpi_interface_x25", &2u16.to_le_bytes()));
    v.push(tok("lpi_flag_more", &1u16.to_le_bytes()));
    // Data lengths that fill the first 2048-octet element exactly and one past it.
    for n in [0u32, 2032, 2033, 4080, 65535] {
        v.push(tok(format!("lpi_data_len_{n}"), &n.to_le_bytes()));
    }
    v
}

/// Four-octet `bufmgr_ops` ops at the per-request limits (28/29/30: KB Q182619's boundary) and
/// `request_for_len` at element boundaries.
pub fn bufmgr_ops() -> Vec<Token> {
    use crate::bufmgr_ops::Op;
    let mut v = Vec::new();
    for n in [28u8, 29, 30] {
        v.push(tok(
            format!("request_{n}_{n}"),
            &Op::Request {
                headers: n,
                elements: n,
            }
            .encode(),
        ));
    }
    for len in [2047u16, 2048, 2049, 4096, 57344, 59392, 61440, 65535] {
        v.push(tok(
            format!("request_for_len_{len}"),
            &Op::RequestForLen { len }.encode(),
        ));
    }
    v
}

/// Two-octet `driver_events` / `nsi_pop4` ops that reach the recovery and hang-up paths.
fn driver_ops() -> Vec<Token> {
    vec![
        tok("connect", &[0, 0]),
        tok("connected", &[1, 0]),
        tok("connect_timed_out", &[2, 0x80]),
        tok("connect_refused", &[2, 0]),
        tok("send_dt_max", &[3, 0xff]),
        tok("reset", &[4, 1]),
        tok("receive_cc", &[5, 0]),
        tok("tick_255s", &[6, 0xff]),
        tok("accept", &[7, 0]),
        tok("release", &[8, 0]),
    ]
}

fn nsi_pop4_ops() -> Vec<Token> {
    vec![
        tok("caller", &[0, 0]),
        tok("pop4_tick", &[1, 10]),
        tok("hang_up", &[2, 0]),
        tok("raw_message_16_to_pop4", &[3, 32]),
        tok("raw_message_16_to_nsi", &[3, 33]),
    ]
}

fn x25_up() -> Vec<Token> {
    vec![
        tok("circuits_24", &[23]),
        tok("period_4", &[3]),
        tok("cn_len_254", &[0x7f]),
        tok("cn_len_256", &[0x80]),
        tok("cn_len_510", &[0xff]),
    ]
}

fn association() -> Vec<Token> {
    vec![
        tok("release", &[0xff]),
        tok("transfer_max", &[0x7f]),
        tok("transfer_checkpointed", &[0x7f, 0x7f]),
        tok("tick_63s", &[0xfe]),
        tok("responder_turn", &[0x80]),
    ]
}

fn target_named(name: &str) -> &'static Target {
    TARGETS
        .iter()
        .find(|t| t.name == name)
        .expect("a target of the table")
}

/// The dictionary of a target (empty for none).
pub fn tokens(target: &str) -> Vec<Token> {
    let mut v = match target {
        "bufmgr_ops" => bufmgr_ops(),
        "lpi_decode" => lpi(),
        "ber_decode" => [ber_tags_of("ber_decode", 0), ber_tags_of("p1_decode", 0)].concat(),
        "tpkt_stream" => [tpkt(), cotp()].concat(),
        "cotp_parse" => cotp(),
        "session_parse" => session(),
        "presentation_parse" => ber_tags_of("presentation_parse", 1),
        "rtse_parse" => ber_tags_of("rtse_parse", 0),
        "p1_decode" => ber_tags_of("p1_decode", 0),
        "association" => association(),
        "driver_events" => [driver_ops(), tpkt(), cotp()].concat(),
        "nsi_pop4" => [nsi_pop4_ops(), lpi()].concat(),
        "x25_up" => x25_up(),
        "inbound_stack" => [
            tpkt(),
            cotp(),
            session(),
            ber_tags_of("presentation_parse", 1),
            ber_tags_of("rtse_parse", 0),
            ber_tags_of("p1_decode", 0),
        ]
        .concat(),
        _ => Vec::new(),
    };
    if matches!(
        target,
        "ber_decode" | "presentation_parse" | "rtse_parse" | "p1_decode" | "inbound_stack"
    ) {
        v.extend(ber_lengths());
    }
    let mut seen = Vec::new();
    v.retain(|(_, b)| {
        let new = !seen.contains(b);
        seen.push(b.clone());
        new
    });
    v
}

/// A dictionary in libFuzzer/AFL syntax: `name="\xNN…"` per line.
pub fn render(target: &str) -> String {
    use std::fmt::Write as _;
    let mut s = format!(
        "# libFuzzer dictionary of `{target}`, written by `mta-lab corpus seed` from \
         models/harness/src/dict.rs; do not edit.\n"
    );
    for (name, bytes) in tokens(target) {
        let name: String = name
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
            .collect();
        s.push_str(&name);
        s.push_str("=\"");
        for b in bytes {
            let _ = write!(s, "\\x{b:02x}");
        }
        s.push_str("\"\n");
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_target_has_a_dictionary_without_duplicates() {
        for t in TARGETS {
            let v = tokens(t.name);
            assert!(v.len() >= 4, "{}: {} tokens", t.name, v.len());
            for (i, (_, a)) in v.iter().enumerate() {
                assert!(!a.is_empty() && a.len() <= 64, "{}: token size", t.name);
                assert!(
                    v[i + 1..].iter().all(|(_, b)| b != a),
                    "{}: duplicate",
                    t.name
                );
            }
        }
    }

    #[test]
    fn ber_length_boundaries_are_the_x690_forms() {
        let l = ber_lengths();
        let get = |n: &str| l.iter().find(|(k, _)| k == n).unwrap().1.clone();
        assert_eq!(get("ber_len_127"), [0x7f]);
        assert_eq!(get("ber_len_128"), [0x81, 0x80]);
        assert_eq!(get("ber_len_255"), [0x81, 0xff]);
        assert_eq!(get("ber_len_256"), [0x82, 0x01, 0x00]);
        assert_eq!(get("ber_len_65535"), [0x82, 0xff, 0xff]);
    }

    #[test]
    fn tags_come_from_the_seeds_ber() {
        let p1 = tokens("p1_decode");
        // An MTS-APDU's outer SET/SEQUENCE or context tags appear.
        assert!(p1.iter().any(|(n, _)| n.starts_with("p1_decode_tag_")));
        assert!(render("lpi_decode").contains("lpi_type_close_request=\"\\x04\\x02\""));
    }
}
