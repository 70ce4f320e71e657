//! Boundary lengths: every length-carrying field the models *emit* — TPKT length (RFC 1006 §6),
//! COTP LI and parameter lengths (ISO 8073 13.2), session PI/PGI lengths in the one- and
//! three-octet forms (ISO 8327-1 8.2.5), BER definite lengths in short and long form (X.690
//! 8.1.3), the NSI/POP4 header's data length — is built at each boundary length (0, 1, 127, 128,
//! 254, 255, 256, 65535 where the field can hold it), emitted, parsed back and compared. The
//! contents vary (proptest); the lengths are the boundaries, which is where encoders go wrong.
#![allow(missing_docs)]

use mta_build::Build;
use mta_osi::cotp::{self, Connect, Tpdu};
use mta_osi::session::{self, Param, Spdu, Tsdu};
use mta_osi::tpkt::{Reassembler, ReservedPolicy, SendFlags, Writer};
use proptest::prelude::*;

/// The boundary lengths.
const BOUNDARIES: [usize; 8] = [0, 1, 127, 128, 254, 255, 256, 65535];

/// `n` octets derived from a seed (contents vary per case; the length is the boundary).
fn octets(n: usize, seed: u8) -> Vec<u8> {
    (0..n).map(|k| (k as u8).wrapping_mul(31) ^ seed).collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 8, failure_persistence: None, .. ProptestConfig::default() })]

    /// TPKT length field at 7 (the minimum), 127, 128, 254, 255, 256 and 65535 (the maximum).
    #[test]
    fn tpkt_length_at_its_boundaries(seed: u8, reserved in prop_oneof![Just(0u8), Just(0x11u8)]) {
        for total in [7usize, 127, 128, 254, 255, 256, 65535] {
            let tpdu = octets(total - 4, seed);
            let mut stream = Vec::new();
            let flags = if reserved == 0 { SendFlags::NONE } else { SendFlags::CONNECT_RESPONSE };
            Writer::conforming().write(&mut stream, &tpdu, flags);
            prop_assert_eq!(u16::from_be_bytes([stream[2], stream[3]]) as usize, total);
            let mut r = Reassembler::new(ReservedPolicy::Ignore);
            r.push(&stream);
            let f = r.next_frame().unwrap().expect("one frame");
            prop_assert_eq!(&f.tpdu, &tpdu);
            prop_assert_eq!(r.next_frame().unwrap(), None);
        }
    }

    /// COTP: a CR whose LI is each legal boundary (the fixed part is 6 octets, LI at most 254),
    /// with a calling-TSAP parameter of each length that fits; a DT carrying each boundary length.
    #[test]
    fn cotp_li_and_parameter_lengths(seed: u8) {
        for param_len in BOUNDARIES.into_iter().filter(|&n| n <= 254 - 6 - 2) {
            let value = octets(param_len, seed);
            let cr = Tpdu::Cr(Connect {
                dst_ref: 0,
                src_ref: u16::from(seed),
                class_option: 0,
                params: vec![cotp::Param { code: cotp::param::CALLING_TSAP, value: &value }],
                user_data: &[],
            });
            let mut out = Vec::new();
            cr.emit(&mut out);
            prop_assert_eq!(usize::from(out[0]), 6 + 2 + param_len, "LI");
            let back = Tpdu::parse(&out);
            prop_assert_eq!(back.as_ref(), Ok(&cr));
        }
        // LI exactly 254: the fixed part and parameters filling the rest.
        let fill = octets(254 - 6 - 2, seed);
        let cr = Tpdu::Cr(Connect {
            dst_ref: 0,
            src_ref: 1,
            class_option: 0,
            params: vec![cotp::Param { code: cotp::param::CALLED_TSAP, value: &fill }],
            user_data: &[],
        });
        let mut out = Vec::new();
        cr.emit(&mut out);
        prop_assert_eq!(out[0], 254);
        let back = Tpdu::parse(&out);
            prop_assert_eq!(back.as_ref(), Ok(&cr));
        for n in BOUNDARIES {
            let data = octets(n, seed);
            let dt = Tpdu::Dt { eot: seed & 1 == 0, data: &data };
            let mut out = Vec::new();
            dt.emit(&mut out);
            let back = Tpdu::parse(&out);
            prop_assert_eq!(back.as_ref(), Ok(&dt));
        }
    }

    /// Session: a PI of each boundary length in the form the encoder picks (one octet up to 254,
    /// three from 255) and in the three-octet form for every length; the SPDU's own LI crosses the
    /// same boundaries, up to 65535.
    #[test]
    fn session_pi_and_spdu_lengths_in_both_forms(seed: u8) {
        for n in BOUNDARIES {
            // The SPDU's own LI holds at most 65535: a PI (code and 3-octet length, 4 octets)
            // of 65531 fills it exactly — the largest legal PI in one SPDU.
            let n = n.min(65535 - 4);
            let value = octets(n, seed);
            for force_long in [false, true] {
                let mut p = Param::octets(session::pi::USER_DATA, &value);
                p.long_len |= force_long;
                let mut spdu = Spdu::new(session::si::CN, vec![p]);
                spdu.long_len |= force_long;
                let tsdu = Tsdu { spdus: vec![spdu] };
                let mut out = Vec::new();
                tsdu.emit(&mut out);
                let back = Tsdu::parse(&out);
                prop_assert_eq!(back.as_ref(), Ok(&tsdu), "PI of {} octets, long form {}", n, force_long);
                let mut again = Vec::new();
                back.unwrap().emit(&mut again);
                prop_assert_eq!(again, out);
            }
        }
    }

    /// BER: a primitive of each boundary length (and 65536, the first three-octet length), its
    /// header parsed back to the same length and header size, the element walked to its end.
    #[test]
    fn ber_definite_lengths_short_and_long_form(seed: u8, number in 1u32..40_000) {
        for n in BOUNDARIES.into_iter().chain([65536]) {
            let contents = octets(n, seed);
            let tag = mta_ber::Tag::new(mta_ber::Class::Context, false, number);
            let mut enc = mta_ber::Encoder::new();
            enc.primitive(tag, &contents);
            let bytes = enc.finish();
            let h = mta_ber::parse_header(&bytes, 0, bytes.len()).unwrap();
            prop_assert_eq!(h.length, mta_ber::Length::Definite(n));
            prop_assert_eq!(h.header_len + n, bytes.len());
            prop_assert_eq!(h.tag, tag);
            let length_octets = h.header_len - mta_ber::encoded_header_len(tag, mta_ber::Length::Definite(0)) + 1;
            prop_assert_eq!(length_octets, if n < 128 { 1 } else if n < 256 { 2 } else if n < 65536 { 3 } else { 4 });
            prop_assert_eq!(mta_ber::walk(&bytes, &mta_ber::Limits::default(), &mut ()).map_err(|e| e.to_string()), Ok(1));
        }
    }

    /// NSI/POP4 internal messages: the data length field at each boundary, contiguous and laid out
    /// in a buffer-manager buffer (where one request may hold it on the build).
    #[test]
    fn lpi_data_length_at_its_boundaries(seed: u8, b in 0..Build::ALL.len()) {
        use mta_lpi::{Lpi, MessageRepr, MessageType};
        let build = Build::ALL[b];
        let p = build.profile();
        let mut mgr = mta_bufmgr::BufferManager::for_profile(&p);
        let table = mta_bufmgr::ControlBlockTable::for_profile(&p);
        for n in BOUNDARIES {
            let data = octets(n, seed);
            let repr = MessageRepr {
                message_type: MessageType::DataIndication,
                lpi: Lpi::new(1, u16::from(seed), 1),
                more: seed & 1 == 1,
                data_len: n as u32,
            };
            let bytes = repr.to_bytes(&data);
            prop_assert_eq!(MessageRepr::parse_header(&bytes, bytes.len()), Ok(repr));
            match mta_lpi::encode_into_buffer(&mut mgr, mta_bufmgr::Component::Nsi, repr.message_type, repr.lpi, repr.more, &data) {
                Ok(h) => {
                    let d = mta_lpi::decode_buffer(&mgr, h, &table, mta_lpi::Interface::TcpIp).unwrap();
                    prop_assert_eq!(d.repr, repr);
                    prop_assert_eq!(mgr.to_vec(h).unwrap(), bytes.clone());
                    mgr.release(h).unwrap();
                }
                // Larger than one request may hold on this build (the per-request limit).
                Err(mta_bufmgr::BufferError::IllegalRequest { .. }) => {
                    prop_assert!(n + mta_lpi::HEADER_LEN > 28 * 2048);
                }
                Err(e) => prop_assert!(false, "{}", e),
            }
        }
        prop_assert!(mgr.leak_report().is_none());
    }
}
