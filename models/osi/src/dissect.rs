//! A protocol-analyzer view of a TCP byte stream on port 102: TPKT → COTP → session → presentation
//! / ACSE → RTSE → BER payload, printed as an indented tree. Malformed data is shown where it was
//! found (layer, offset, reason) and dissection of that stream stops there, as RFC 1006 framing
//! cannot resynchronise. Used by `mta-lab decode` and by the fuzz seed generator.

use crate::acse;
use crate::cotp::{self, Tpdu};
use crate::presentation::{self as pres, Mode, UserData};
use crate::rtse;
use crate::session::{Tsdu, pi, si};
use crate::tpkt::{self, Reassembler, ReservedPolicy};
use crate::{Malformed, asn};
use std::fmt::Write as _;

/// Association-wide knowledge learned from the connect PPDUs (shared by both directions).
#[derive(Debug, Clone, Default)]
pub struct Context {
    mode: Option<Mode>,
    /// (context id, abstract syntax name) from the CP.
    contexts: Vec<(i64, String)>,
}

impl Context {
    fn name_of(&self, id: i64) -> String {
        self.contexts
            .iter()
            .find(|(i, _)| *i == id)
            .map_or_else(|| "unknown context".to_string(), |(_, n)| n.clone())
    }

    /// The abstract syntax of a negotiated context that is not the X.400 stack's.
    fn foreign(&self, id: i64) -> Option<&str> {
        self.contexts
            .iter()
            .find(|(i, n)| *i == id && !is_x400(n))
            .map(|(_, n)| n.as_str())
    }
}

/// Whether an abstract syntax or application context belongs to the X.400 stack: MHS's arc
/// {joint-iso-itu-t mhs(6)} (X.411's id-ac and id-as), ACSE's abstract syntax, or BER. Port 102
/// is shared with other OSI applications (IEC 61850 MMS); their contexts are foreign, not
/// malformed.
fn is_x400(oid: &str) -> bool {
    oid.starts_with("2.6.")
        || oid == asn::oids::acse().to_string()
        || oid == asn::oids::ber().to_string()
}

/// Names of the foreign object identifiers met on port 102 (those Wireshark's MMS dissector
/// registers).
fn oid_label(oid: &str) -> String {
    match oid {
        "1.0.9506.2.1" => format!("{oid} (MMS abstract syntax, ISO 9506-2)"),
        "1.0.9506.2.3" => format!("{oid} (MMS application context, ISO 9506-2; IEC 61850)"),
        _ => oid.to_string(),
    }
}

/// Dissects one direction of a connection.
#[derive(Debug, Clone)]
pub struct Stream {
    reassembler: Reassembler,
    tsdu: Vec<u8>,
    activity: Option<Vec<u8>>,
    failed: bool,
    /// Every complete TSDU seen (for seed extraction).
    pub tsdus: Vec<Vec<u8>>,
    /// Every presentation PPDU seen, with the SPDU identifier that carried it.
    pub ppdus: Vec<(u8, Vec<u8>)>,
    /// Every RTSE APDU seen (normal-mode tagging).
    pub rtse_apdus: Vec<Vec<u8>>,
    /// Every reassembled transferred APDU.
    pub transfers: Vec<Vec<u8>>,
    /// The first foreign (non-X.400) abstract syntax or application context met, named.
    pub foreign: Option<String>,
}

impl Default for Stream {
    fn default() -> Self {
        Stream {
            reassembler: Reassembler::new(ReservedPolicy::Ignore),
            tsdu: Vec::new(),
            activity: None,
            failed: false,
            tsdus: Vec::new(),
            ppdus: Vec::new(),
            rtse_apdus: Vec::new(),
            transfers: Vec::new(),
            foreign: None,
        }
    }
}

fn quoted(b: &[u8]) -> String {
    if b.iter().all(|c| c.is_ascii_graphic() || *c == b' ') {
        format!("\"{}\"", String::from_utf8_lossy(b))
    } else {
        hex_string(b)
    }
}

fn hex_string(b: &[u8]) -> String {
    let mut s = String::with_capacity(b.len() * 2);
    for c in b {
        let _ = write!(s, "{c:02x}");
    }
    s
}

struct Out<'a>(&'a mut String);

impl Out<'_> {
    fn line(&mut self, depth: usize, text: impl AsRef<str>) {
        let _ = writeln!(self.0, "{:width$}{}", "", text.as_ref(), width = depth * 2);
    }
    fn malformed(&mut self, depth: usize, e: &Malformed) {
        self.line(depth, format!("!! malformed: {e}"));
    }
}

impl Stream {
    /// Octets of this direction consumed as complete TPKTs (the rest is an incomplete packet or
    /// follows a framing error).
    pub fn consumed(&self) -> u64 {
        self.reassembler.stream_offset()
    }

    /// Dissect `bytes` (the next octets of this direction), appending the tree to `out`.
    pub fn feed(&mut self, ctx: &mut Context, bytes: &[u8], out: &mut String) {
        if self.failed {
            return;
        }
        let mut o = Out(out);
        self.reassembler.push(bytes);
        loop {
            let at = self.reassembler.stream_offset();
            match self.reassembler.next_frame() {
                Ok(Some(f)) => {
                    o.line(
                        0,
                        format!(
                            "TPKT @{at}: version 3, reserved 0x{:02x}, length {}",
                            f.reserved,
                            f.tpdu.len() + tpkt::HEADER_LEN
                        ),
                    );
                    self.tpdu(ctx, &f.tpdu, &mut o);
                }
                Ok(None) => break,
                Err(e) => {
                    o.malformed(0, &e);
                    self.failed = true;
                    break;
                }
            }
        }
    }

    fn tpdu(&mut self, ctx: &mut Context, b: &[u8], o: &mut Out<'_>) {
        let t = match Tpdu::parse(b) {
            Ok(t) => t,
            Err(e) => return o.malformed(1, &e),
        };
        match &t {
            Tpdu::Cr(c) | Tpdu::Cc(c) => {
                let mut s = format!(
                    "COTP {}: dst-ref 0x{:04x}, src-ref 0x{:04x}, class {}",
                    t.name(),
                    c.dst_ref,
                    c.src_ref,
                    c.class_option >> 4
                );
                for p in &c.params {
                    let _ = match p.code {
                        cotp::param::CALLING_TSAP => {
                            write!(s, ", calling-TSAP {}", quoted(p.value))
                        }
                        cotp::param::CALLED_TSAP => write!(s, ", called-TSAP {}", quoted(p.value)),
                        cotp::param::TPDU_SIZE if p.value.len() == 1 && p.value[0] < 32 => {
                            write!(s, ", TPDU size {}", cotp::tpdu_size(p.value[0]))
                        }
                        _ => write!(s, ", param 0x{:02x} {}", p.code, quoted(p.value)),
                    };
                }
                o.line(1, s);
            }
            Tpdu::Dr(d) => o.line(
                1,
                format!(
                    "COTP DR: dst-ref 0x{:04x}, reason 0x{:02x}",
                    d.dst_ref, d.reason
                ),
            ),
            Tpdu::Er(e) => o.line(
                1,
                format!(
                    "COTP ER: dst-ref 0x{:04x}, cause 0x{:02x}",
                    e.dst_ref, e.cause
                ),
            ),
            Tpdu::Dt { eot, data } => {
                o.line(
                    1,
                    format!(
                        "COTP DT: {} octets{}",
                        data.len(),
                        if *eot { ", EOT" } else { "" }
                    ),
                );
                self.tsdu.extend_from_slice(data);
                if *eot {
                    let tsdu = std::mem::take(&mut self.tsdu);
                    self.session(ctx, &tsdu, o);
                    self.tsdus.push(tsdu);
                }
            }
        }
    }

    fn session(&mut self, ctx: &mut Context, b: &[u8], o: &mut Out<'_>) {
        let t = match Tsdu::parse(b) {
            Ok(t) => t,
            Err(e) => return o.malformed(2, &e),
        };
        for (i, s) in t.spdus.iter().enumerate() {
            let mut line = format!("SES {}", t.name(i));
            for code in [
                pi::SERIAL,
                pi::ACTIVITY_ID,
                pi::CALLING_SSEL,
                pi::CALLED_SSEL,
            ] {
                if let Some(v) = s.pi(code) {
                    let name = match code {
                        pi::SERIAL => "serial",
                        pi::ACTIVITY_ID => "activity",
                        pi::CALLING_SSEL => "calling-SSEL",
                        _ => "called-SSEL",
                    };
                    let _ = write!(line, ", {name} {}", quoted(v));
                }
            }
            if let Some(v) = s.pi(pi::VERSION) {
                let _ = write!(line, ", versions 0x{:02x}", v.first().copied().unwrap_or(0));
            }
            if let Some(&[h, l]) = s.pi(pi::REQUIREMENTS) {
                let _ = write!(line, ", requirements 0x{:04x}", u16::from_be_bytes([h, l]));
            }
            o.line(2, line);
            let category0 = i == 0 && t.spdus.len() > 1;
            let ud: &[u8] = if category0 {
                &[]
            } else if s.si == si::GT_DT {
                s.user_info
            } else {
                s.user_data()
            };
            if s.si == si::AS {
                self.activity = Some(Vec::new());
            }
            if !ud.is_empty() {
                self.ppdus.push((s.si, ud.to_vec()));
                self.presentation(ctx, s.si, ud, o);
            }
            if s.si == si::AE
                && !category0
                && s.pi(pi::SYNC_TYPE).is_none()
                && let Some(v) = self.activity.take()
            {
                self.transfer(ctx, &v, o);
            }
        }
    }

    fn presentation(&mut self, ctx: &mut Context, spdu: u8, b: &[u8], o: &mut Out<'_>) {
        let x410 = ctx.mode == Some(Mode::X410);
        match spdu {
            si::CN | si::AC => match pres::Connect::parse(b) {
                Ok(c) => {
                    ctx.mode = Some(c.mode);
                    o.line(
                        3,
                        format!(
                            "PRES {}: {:?} mode",
                            if spdu == si::CN { "CP" } else { "CPA" },
                            c.mode
                        ),
                    );
                    if let Some(x) = &c.x410 {
                        Self::rtse_fields(spdu == si::CN, x, o);
                    }
                    if let Some(n) = &c.normal {
                        if let Some(list) = &n.contexts {
                            ctx.contexts.clear();
                            for i in list {
                                let name = i.abstract_syntax.to_string();
                                o.line(4, format!("context {} = {}", i.id, oid_label(&name)));
                                ctx.contexts.push((i.id, name));
                            }
                        }
                        if let Some(r) = &n.results {
                            let res: Vec<String> = r.iter().map(|r| r.result.to_string()).collect();
                            o.line(4, format!("context results [{}]", res.join(", ")));
                        }
                        if let Some(u) = &n.user_data {
                            self.user_data(ctx, u, o);
                        }
                    }
                }
                Err(e) => o.malformed(3, &e),
            },
            si::RF => match pres::Refuse::parse(b) {
                Ok(pres::Refuse::X410(c)) => {
                    o.line(3, "PRES CPR (X.410 mode): RTORJ");
                    Self::rtse_set(rtse::Rtorj::parse_fields(&tlvs(&c)), o);
                }
                Ok(pres::Refuse::Normal(n)) => {
                    o.line(3, "PRES CPR (normal mode)");
                    if let Some(u) = &n.user_data {
                        self.user_data(ctx, u, o);
                    }
                }
                Err(e) => o.malformed(3, &e),
            },
            si::AB => match pres::Abort::parse(b) {
                Ok(pres::Abort::UserX410(c)) => {
                    o.line(3, "PRES ARU (X.410 mode): RTAB");
                    Self::rtse_set(rtse::Rtab::parse_fields(&tlvs(&c)), o);
                }
                Ok(pres::Abort::User(u)) => {
                    o.line(3, "PRES ARU");
                    if let Some(u) = &u {
                        self.user_data(ctx, u, o);
                    }
                }
                Ok(pres::Abort::Provider { reason, event }) => {
                    o.line(3, format!("PRES ARP: reason {reason:?}, event {event:?}"));
                }
                Err(e) => o.malformed(3, &e),
            },
            _ if x410 => self.rtse(ctx, b, o, 3),
            _ => match UserData::parse(b) {
                Ok(u) => {
                    o.line(3, "PRES user-data");
                    self.user_data(ctx, &u, o);
                }
                Err(e) => o.malformed(3, &e),
            },
        }
    }

    fn user_data(&mut self, ctx: &mut Context, u: &UserData, o: &mut Out<'_>) {
        match u {
            UserData::Simple(v) => o.line(4, format!("simply-encoded data, {} octets", v.len())),
            UserData::Full(pdvs) => {
                for p in pdvs {
                    let name = ctx.name_of(p.context_id);
                    o.line(4, format!("PDV context {} ({name})", p.context_id));
                    if let pres::PdvValue::Single(v) = &p.value {
                        if name == asn::oids::acse().to_string() {
                            self.acse(ctx, v, o);
                        } else if let Some(syntax) = ctx.foreign(p.context_id) {
                            self.foreign(&oid_label(syntax), v, o, 5);
                        } else {
                            self.rtse(ctx, v, o, 5);
                        }
                    }
                }
            }
        }
    }

    fn acse(&mut self, ctx: &mut Context, b: &[u8], o: &mut Out<'_>) {
        match acse::Apdu::parse(b) {
            Ok(a) => {
                let application = a.application_context.as_ref().map(ToString::to_string);
                let mut s = format!("ACSE {}", a.kind.name());
                if let Some(c) = &application {
                    let _ = write!(s, ", context {}", oid_label(c));
                }
                if let Some(r) = a.result {
                    let _ = write!(s, ", result {r}");
                }
                o.line(5, s);
                for x in &a.user_information {
                    // The user information's own context, else the association's.
                    let foreign = match x.indirect_reference {
                        Some(id) => ctx.foreign(id).map(oid_label),
                        None => application
                            .as_deref()
                            .filter(|c| !is_x400(c))
                            .map(oid_label),
                    };
                    match (&x.encoding, foreign) {
                        (
                            acse::Encoding::SingleAsn1(v) | acse::Encoding::OctetAligned(v),
                            Some(syntax),
                        ) => self.foreign(&syntax, v, o, 6),
                        (acse::Encoding::SingleAsn1(v), None) => self.rtse(ctx, v, o, 6),
                        _ => {}
                    }
                }
            }
            Err(e) => o.malformed(5, &e),
        }
    }

    /// User data of a foreign application (e.g. MMS): named, dumped as BER, never malformed.
    fn foreign(&mut self, syntax: &str, v: &[u8], o: &mut Out<'_>, depth: usize) {
        o.line(
            depth,
            format!(
                "foreign (not X.400): {syntax}; user data as BER, {} octets:",
                v.len()
            ),
        );
        let (dump, err) = mta_ber::dump(v, &asn::LIMITS);
        for l in dump.lines().take(200) {
            o.line(depth + 1, l);
        }
        if let Some(e) = err {
            o.line(depth + 1, format!("(not BER from here: {e})"));
        }
        self.foreign.get_or_insert_with(|| syntax.to_string());
    }

    fn rtse(&mut self, ctx: &Context, b: &[u8], o: &mut Out<'_>, depth: usize) {
        match rtse::Apdu::parse(b) {
            Ok(a) => {
                self.rtse_apdus.push(b.to_vec());
                match &a {
                    rtse::Apdu::Rttr(frag) => {
                        o.line(depth, format!("RTSE RTTR: {} octets", frag.len()));
                        match &mut self.activity {
                            Some(buf) => buf.extend_from_slice(frag),
                            None => self.transfer(ctx, frag, o),
                        }
                    }
                    other => o.line(depth, format!("RTSE {}: {other:?}", other.name())),
                }
            }
            Err(e) => o.malformed(depth, &e),
        }
    }

    fn rtse_fields(request: bool, x: &[u8], o: &mut Out<'_>) {
        let kids = tlvs(x);
        if request {
            Self::rtse_set(rtse::Rtorq::parse_fields(&kids, 0), o);
        } else {
            Self::rtse_set(rtse::Rtoac::parse_fields(&kids, 0), o);
        }
    }

    fn rtse_set<T: std::fmt::Debug>(r: crate::Result<T>, o: &mut Out<'_>) {
        match r {
            Ok(v) => o.line(4, format!("RTSE {v:?}")),
            Err(e) => o.malformed(4, &e),
        }
    }

    fn transfer(&mut self, ctx: &Context, value: &[u8], o: &mut Out<'_>) {
        let apdu = if ctx.mode == Some(Mode::X410) {
            value.to_vec()
        } else {
            match asn::parse_exact(crate::Layer::Rtse, value)
                .and_then(|t| acse::External::parse(&t))
            {
                Ok(acse::External {
                    indirect_reference,
                    encoding: acse::Encoding::SingleAsn1(v) | acse::Encoding::OctetAligned(v),
                    ..
                }) => {
                    let id = indirect_reference.unwrap_or(-1);
                    o.line(
                        5,
                        format!("transfer: EXTERNAL in context {id} ({})", ctx.name_of(id)),
                    );
                    v
                }
                Ok(_) => {
                    o.line(5, "transfer: EXTERNAL with arbitrary encoding");
                    return;
                }
                Err(e) => return o.malformed(5, &e),
            }
        };
        o.line(5, format!("APDU ({} octets):", apdu.len()));
        let (dump, err) = mta_ber::dump(&apdu, &asn::LIMITS);
        for l in dump.lines().take(200) {
            o.line(6, l);
        }
        if let Some(e) = err {
            o.line(6, format!("!! BER: {e}"));
        }
        self.transfers.push(apdu);
    }
}

/// Split X.410-mode SET contents into elements (stopping at the first malformed one).
fn tlvs(c: &[u8]) -> Vec<mta_ber::Tlv<'_>> {
    let mut out = Vec::new();
    let mut rest = c;
    while let Ok((t, r)) = mta_ber::Tlv::parse(rest, &asn::LIMITS) {
        out.push(t);
        rest = r;
        if rest.is_empty() {
            break;
        }
    }
    out
}

/// Dissect a whole capture: a list of (direction, octets) writes in time order.
pub fn dissect(writes: &[(Direction, Vec<u8>)]) -> (String, [Stream; 2]) {
    let mut ctx = Context::default();
    let mut streams = [Stream::default(), Stream::default()];
    let mut out = String::new();
    let mut last = None;
    for (dir, bytes) in writes {
        if last != Some(*dir) {
            let _ = writeln!(out, "== {dir}");
            last = Some(*dir);
        }
        streams[*dir as usize].feed(&mut ctx, bytes, &mut out);
    }
    (out, streams)
}

/// Direction of a write on the connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// Initiator → responder (outbound from the calling MTA).
    Out = 0,
    /// Responder → initiator.
    In = 1,
}

impl std::fmt::Display for Direction {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Direction::Out => "initiator -> responder",
            Direction::In => "responder -> initiator",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::association::{Address, Association, Config, Role};
    use crate::pair::Pair;

    #[test]
    fn dissects_a_whole_association() {
        for mode in [Mode::Normal, Mode::X410] {
            let a = Config::new(mode, Address::default(), Address::default());
            let b = Config::new(mode, Address::default(), Address::default());
            let mut p = Pair::new(
                Association::new(Role::Initiator, a),
                Association::new(Role::Responder, b),
                1,
                usize::MAX,
            )
            .recording();
            p.a.bind(&[0x05, 0x00]);
            p.pump(100).unwrap();
            p.b.accept_bind(&[0x05, 0x00]);
            p.pump(100).unwrap();
            p.a.transfer(vec![0x04, 0x02, 0xab, 0xcd]);
            p.a.release();
            p.pump(100).unwrap();
            let writes: Vec<(Direction, Vec<u8>)> = p
                .writes
                .unwrap_or_default()
                .into_iter()
                .map(|(out, b)| (if out { Direction::Out } else { Direction::In }, b))
                .collect();
            let (text, streams) = dissect(&writes);
            assert!(!text.contains("malformed"), "{mode:?}:\n{text}");
            assert_eq!(
                streams[0].transfers,
                vec![vec![0x04, 0x02, 0xab, 0xcd]],
                "{text}"
            );
            assert!(
                text.contains("SES CONNECT") && text.contains("SES ACTIVITY END"),
                "{text}"
            );
        }
    }

    /// The transport connect and session CONNECT of an IEC 61850 MMS client (open61850 0.9.12,
    /// `association_request()`, the client `sim/tests/real_network.rs` runs), one direction.
    const MMS_CONNECT: &str = "0300001611e00000000100c1020001c2020001c0010a030000bb02f0800db205\
        06130100160102140200023302000134020001c19c318199a003800101a28191810400000001820400000001\
        a423300f0201010604520100013004060251013010020103060528ca220201300406025101615e305c020101\
        a0576055a107060528ca220203a20706052901876701a30302010ca606060429018767a70302010cbe2f282d\
        020103a028a826800300fde881010582010583010aa416800101810305f100820c03ee1c00000408000079ef18";

    #[test]
    fn an_mms_association_is_foreign_not_malformed() {
        let hex: String = MMS_CONNECT.split_whitespace().collect();
        let bytes: Vec<u8> = (0..hex.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
            .collect();
        let (text, streams) = dissect(&[(Direction::Out, bytes)]);
        assert!(!text.contains("malformed"), "{text}");
        assert!(
            text.contains("ACSE AARQ, context 1.0.9506.2.3 (MMS application context"),
            "{text}"
        );
        assert!(text.contains("foreign (not X.400): 1.0.9506.2.1"), "{text}");
        assert!(
            text.contains("cont [ 8 ]"),
            "the initiate-RequestPDU dumped: {text}"
        );
        assert_eq!(
            streams[0].foreign.as_deref(),
            Some("1.0.9506.2.1 (MMS abstract syntax, ISO 9506-2)")
        );
    }

    #[test]
    fn a_malformed_rtse_apdu_in_an_x400_context_stays_malformed() {
        let cfg = || Config::new(Mode::Normal, Address::default(), Address::default());
        let mut p = Pair::new(
            Association::new(Role::Initiator, cfg()),
            Association::new(Role::Responder, cfg()),
            1,
            usize::MAX,
        )
        .recording();
        p.a.bind(&[0x05, 0x00]);
        p.pump(100).unwrap();
        let (_, mut connect) = p
            .writes
            .unwrap_or_default()
            .into_iter()
            .find(|(out, b)| *out && b.windows(3).any(|w| w[0] == 0xa0 && w[2] == 0xb0))
            .expect("the CONNECT with the AARQ's single-ASN1-type RTORQ");
        // The RTORQ ([16] SET) retagged [30]: not an RTSE APDU, inside id-as-mta-rtse's context.
        let at = connect
            .windows(3)
            .position(|w| w[0] == 0xa0 && w[2] == 0xb0)
            .unwrap();
        connect[at + 2] = 0xbe;
        let (text, streams) = dissect(&[(Direction::Out, connect)]);
        assert!(text.contains("!! malformed: RTSE"), "{text}");
        assert_eq!(streams[0].foreign, None);
    }

    #[test]
    fn malformed_input_is_located() {
        let (text, _) = dissect(&[(Direction::Out, vec![3, 0, 0, 9, 2, 0xf0, 0x80, 0x0d, 0x05])]);
        assert!(
            text.contains("!! malformed: SES: offset 1: LI exceeds the TSDU"),
            "{text}"
        );
    }
}
