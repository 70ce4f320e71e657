//! Independent check: the octets our stack emits, wrapped into a pcap with `text2pcap`, are
//! dissected by Wireshark's tpkt, cotp, ses, pres, acse, rtse and p1 dissectors with no malformed or
//! expert-warning flags. Skipped with a message when tshark is absent and `CI` is unset.

use mta_build::Build;
use mta_osi::association::{Address, Association, Config, Event, Role};
use mta_osi::pair::Pair;
use mta_osi::presentation::Mode;
use std::fmt::Write as _;
use std::process::Command;

fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut v = vec![tag];
    let n = content.len();
    if n < 128 {
        v.push(n as u8);
    } else if n < 256 {
        v.extend_from_slice(&[0x81, n as u8]);
    } else {
        v.extend_from_slice(&[0x82, (n >> 8) as u8, n as u8]);
    }
    v.extend_from_slice(content);
    v
}

fn cat(parts: &[Vec<u8>]) -> Vec<u8> {
    parts.concat()
}

/// A P1 message built by `mta-p1` (so Wireshark checks that encoder too) whose content is an
/// X.420 (1984, P2) IPM with this-IPM and one IA5 text body part.
pub fn p1_message(body: &[u8]) -> Vec<u8> {
    use mta_p1::{
        Apdu, ContentType, Envelope, GlobalDomainIdentifier, MtsIdentifier, OrName, Recipient,
        TraceElement,
    };
    let gdi = GlobalDomainIdentifier::new("US", " ", Some("LAB"));
    let ipm = tlv(
        0xa0,
        &cat(&[
            tlv(0x31, &tlv(0x6b, &tlv(0x13, b"mtalab-ipm-1"))),
            tlv(0x30, &tlv(0xa0, &cat(&[tlv(0x31, &[]), tlv(0x16, body)]))),
        ]),
    );
    Apdu::Message {
        envelope: Envelope {
            trace: vec![TraceElement {
                domain: gdi.clone(),
                arrival: "261123120000Z".into(),
                routing_action: 0,
                attempted: None,
                other: Vec::new(),
            }],
            ..Envelope::new(
                MtsIdentifier::new(gdi, "mtalab-1"),
                OrName::simple("US", " ", "LAB", "MTALAB", "Sender"),
                ContentType::BuiltIn(2),
                vec![Recipient::responsible(
                    OrName::simple("US", " ", "LAB", "MTALAB", "Recipient"),
                    1,
                )],
            )
        },
        content: ipm,
    }
    .emit()
}

/// MTABindArgument, authenticated: initiator name and simple password (`mta-p1`).
pub fn p1_bind(name: &[u8]) -> Vec<u8> {
    mta_p1::Bind::simple(std::str::from_utf8(name).unwrap(), "secret").emit()
}

/// Run one association and return the TCP writes as (from initiator?, octets), in order.
fn capture(mode: Mode) -> Vec<(bool, Vec<u8>)> {
    let addr = |t: &str| Address {
        tsap: t.as_bytes().to_vec(),
        ssap: t.as_bytes().to_vec(),
        psap: t.as_bytes().to_vec(),
    };
    let a = Association::new(
        Role::Initiator,
        Config::exchange(Build::Ex55Sp3, mode, addr("A"), addr("B")),
    );
    let b = Association::new(
        Role::Responder,
        Config::exchange(Build::Ex2000Sp3, mode, addr("B"), Address::default()),
    );
    let mut p = Pair::new(a, b, 1, usize::MAX).recording();
    p.a.bind(&p1_bind(b"INITIATOR"));
    p.pump(10_000).expect("quiescent");
    assert!(matches!(p.b_events.as_slice(), [Event::BindRequest { .. }]));
    p.b.accept_bind(&p1_bind(b"RESPONDER"));
    p.pump(10_000).expect("quiescent");
    if mode == Mode::Normal {
        // Wireshark 4.0 has no X.410-1984-mode data path: packet-pres-template.c dissect_ppdu
        // parses every S-DATA as presentation User-data, so X.410 transfers are checked by our own
        // decoder only; their connect, accept and release phases are checked here.
        p.a.transfer(p1_message(b"hello"));
        p.a.transfer(p1_message(&vec![b'x'; 40_000]));
    }
    p.a.release();
    p.pump(10_000).expect("quiescent");
    assert_eq!(p.b_events.last(), Some(&Event::Released));
    p.writes.take().unwrap_or_default()
}

fn to_text2pcap(writes: &[(bool, Vec<u8>)]) -> String {
    let mut s = String::new();
    for (out, bytes) in writes {
        for seg in bytes.chunks(1400) {
            let _ = writeln!(s, "{}", if *out { "O" } else { "I" });
            for (i, line) in seg.chunks(16).enumerate() {
                let _ = write!(s, "{:06x}", i * 16);
                for b in line {
                    let _ = write!(s, " {b:02x}");
                }
                s.push('\n');
            }
        }
    }
    s
}

#[test]
fn tshark_dissects_both_modes_cleanly() {
    if Command::new("tshark").arg("--version").output().is_err() {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI is set but tshark is missing (.ci/run installs it)"
        );
        eprintln!(
            "SKIPPED: tshark not installed (apt-get install tshark); set CI to make this fatal"
        );
        return;
    }
    let dir = std::env::temp_dir().join(format!("mta-osi-tshark-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut failures = Vec::new();
    for mode in [Mode::Normal, Mode::X410] {
        let txt = dir.join(format!("{mode:?}.txt"));
        let pcap = dir.join(format!("{mode:?}.pcap"));
        std::fs::write(&txt, to_text2pcap(&capture(mode))).unwrap();
        let st = Command::new("text2pcap")
            .args(["-q", "-D", "-4", "10.0.0.1,10.0.0.2", "-T", "40000,102"])
            .arg(&txt)
            .arg(&pcap)
            .status()
            .unwrap();
        assert!(st.success());
        let out = Command::new("tshark")
            .args(["-r"])
            .arg(&pcap)
            .args(["-o", "tcp.desegment_tcp_streams:TRUE", "-V"])
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        std::fs::write(dir.join(format!("{mode:?}.tshark.txt")), text.as_bytes()).unwrap();
        let bad: Vec<&str> = text
            .lines()
            .filter(|l| {
                l.contains("Malformed")
                    || l.contains("Expert Info (Warning")
                    || l.contains("Expert Info (Error")
                    || l.contains("BER Error")
                    || l.contains("Unknown")
            })
            .collect();
        if !bad.is_empty() {
            failures.push(format!(
                "{mode:?}: {} problem lines, e.g. {:?}",
                bad.len(),
                &bad[..bad.len().min(6)]
            ));
        }
        for proto in ["TPKT", "ISO 8073", "ISO 8327", "ISO 8823", "X.411", "X.228"] {
            if proto == "X.228" && mode == Mode::X410 {
                continue; // X.410 mode: RTORQ fields appear under the presentation CP-type
            }
            if !text.contains(proto) {
                failures.push(format!("{mode:?}: no {proto} in the dissection"));
            }
        }
        if mode == Mode::Normal && !text.contains("ISO 8650-1 OSI Association Control") {
            failures.push("normal mode: no ACSE".into());
        }
    }
    if failures.is_empty() {
        let _ = std::fs::remove_dir_all(&dir);
    }
    assert!(
        failures.is_empty(),
        "{failures:#?}\n(full dissections in {})",
        dir.display()
    );
}
