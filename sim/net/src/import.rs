//! `mta-lab import CAPTURE.pcap --out DIR`: the TCP port-102 streams of a capture (a field capture
//! taken at a production MTA, or one `mta-lab run --pcap` wrote) become, per connection, a peer
//! script — the caller's writes with their pauses and how the caller left, replayable against a
//! modelled MTA with `mta-lab hostile --script` — and fuzz seeds: the caller's octets for the
//! `inbound_stack` target, and each direction's octets for `mta-lab decode`.
//!
//! Reassembly follows TCP sequence numbers per direction (retransmitted and overlapping octets are
//! taken once, out-of-order segments wait for the gap), from the SYN when the capture has it. A
//! write ends at a segment with PSH (RFC 9293 §3.9.1: the sender's stack sets it on the last
//! segment of what it was given), at the sender's FIN or reset, or at the end of the capture.
//! Every open, write and leaving keeps its frame number (1-based, as Wireshark numbers frames), so
//! the callers of different connections can be put back in the order the capture saw them
//! (`mta-lab hostile --script … --as-captured`). Ethernet and raw-IPv4 link types; IPv4 only.

use etherparse::{NetSlice, SlicedPacket, TransportSlice};
use pcap_file::DataLink;
use pcap_file::pcap::PcapReader;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use std::path::Path;

/// How a caller's connection ended in the capture.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Ending {
    /// The caller sent FIN after the server did (or the server never did).
    Close,
    /// The caller sent FIN first and kept reading.
    HalfClose,
    /// A reset.
    Reset,
    /// Still open when the capture ended.
    Open,
}

/// One write of the caller: after `after_ms` since the previous one (or the connect).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Write {
    /// Pause before it.
    pub after_ms: u64,
    /// The capture's frame that completed it (its order among every connection's packets).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub frame: Option<u64>,
    /// Octets (hex).
    pub hex: String,
}

/// A caller's side of one connection: what `mta-lab hostile --script` replays.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PeerScript {
    /// Schema.
    pub schema: u32,
    /// Caller address in the capture.
    pub client: String,
    /// Server address in the capture.
    pub server: String,
    /// How the caller left.
    pub end: Ending,
    /// The capture's first packet: ms since the Unix epoch (its pcap timestamp).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub origin_ms: Option<u64>,
    /// When the connection opened, ms since the capture's first packet (timed replay).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub opened_ms: Option<u64>,
    /// The capture's frame that opened it (the caller's SYN, or its first packet).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub opened_frame: Option<u64>,
    /// When the caller left (FIN or reset), ms since the capture's first packet.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub closed_ms: Option<u64>,
    /// The capture's frame of the caller's FIN or reset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub closed_frame: Option<u64>,
    /// The caller's writes.
    pub write: Vec<Write>,
}

/// Where in the capture something happened: ms since its first packet, and the frame number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct At {
    /// ms since the capture's first packet.
    pub ms: u64,
    /// Frame number (1-based).
    pub frame: u64,
}

/// One write rebuilt from the capture.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Written {
    /// When its last segment was seen.
    pub at: At,
    /// Octets.
    pub bytes: Vec<u8>,
}

#[derive(Default)]
struct Direction {
    next: Option<u32>,
    /// Segments beyond a gap: octets and their PSH flag.
    pending: BTreeMap<u32, (Vec<u8>, bool)>,
    data: Vec<u8>,
    /// Contiguous octets not yet ended by a PSH, and when the last of them came.
    unpushed: Vec<u8>,
    unpushed_at: Option<At>,
    /// Writes as they were completed.
    writes: Vec<Written>,
    fin_at: Option<At>,
    rst_at: Option<At>,
}

impl Direction {
    fn segment(&mut self, at: At, seq: u32, syn: bool, psh: bool, payload: &[u8]) {
        if syn {
            self.next = Some(seq.wrapping_add(1));
            return;
        }
        let next = *self.next.get_or_insert(seq);
        if payload.is_empty() {
            return;
        }
        // Offset of this segment relative to what is expected (wrapping arithmetic).
        let off = seq.wrapping_sub(next).cast_signed();
        if off > 0 {
            self.pending.insert(seq, (payload.to_vec(), psh));
            return;
        }
        let skip = off.unsigned_abs() as usize;
        if skip >= payload.len() {
            return; // a retransmission of what we have
        }
        let mut n = next.wrapping_add((payload.len() - skip) as u32);
        self.take(at, &payload[skip..], psh);
        // Drain segments that are now contiguous.
        while let Some((&s, _)) = self.pending.iter().next() {
            let o = s.wrapping_sub(n).cast_signed();
            if o > 0 {
                break;
            }
            let (p, psh) = self.pending.remove(&s).unwrap_or_default();
            let k = o.unsigned_abs() as usize;
            if k < p.len() {
                n = n.wrapping_add((p.len() - k) as u32);
                self.take(at, &p[k..], psh);
            }
        }
        self.next = Some(n);
    }

    /// Contiguous octets: part of the current write, which a PSH ends.
    fn take(&mut self, at: At, octets: &[u8], psh: bool) {
        self.data.extend_from_slice(octets);
        self.unpushed.extend_from_slice(octets);
        self.unpushed_at = Some(at);
        if psh {
            self.push(at);
        }
    }

    /// End the current write (a PSH, the sender leaving, the capture ending).
    fn push(&mut self, at: At) {
        if !self.unpushed.is_empty() {
            let bytes = std::mem::take(&mut self.unpushed);
            self.writes.push(Written { at, bytes });
        }
    }
}

/// One TCP connection to the MTA's port.
pub struct Stream {
    /// Caller.
    pub client: SocketAddr,
    /// Server (the MTA's port).
    pub server: SocketAddr,
    /// The capture's first packet, ms since the Unix epoch.
    pub origin_ms: u64,
    /// When the connection's first packet was seen.
    pub opened: At,
    /// Caller → server writes.
    pub client_writes: Vec<Written>,
    /// All caller → server octets.
    pub client_data: Vec<u8>,
    /// All server → caller octets.
    pub server_data: Vec<u8>,
    /// How the caller left.
    pub end: Ending,
    /// When the caller left (its FIN or reset).
    pub closed: Option<At>,
}

/// A connection being read: first seen, caller → server, server → caller.
type Conn = (At, Direction, Direction);

/// ISO transport over TCP listens on port 102 (RFC 1006).
pub const ISO_TSAP_PORT: u16 = 102;

/// Read the streams to `port` (102 unless the MTA listened elsewhere) of a capture, in the order
/// their connections appear.
pub fn read(path: &Path, port: u16) -> Result<Vec<Stream>, String> {
    let file = std::fs::File::open(path).map_err(|e| format!("{}: {e}", path.display()))?;
    read_from(path, std::io::BufReader::new(file), port)
}

/// [`read`] from a reader (a capture already in memory); `path` names it in errors.
pub fn read_from(path: &Path, file: impl std::io::Read, port: u16) -> Result<Vec<Stream>, String> {
    let mut r =
        PcapReader::new(file).map_err(|e| format!("{}: not a pcap file: {e}", path.display()))?;
    let link = r.header().datalink;
    if !matches!(link, DataLink::ETHERNET | DataLink::RAW | DataLink::IPV4) {
        return Err(format!(
            "{}: link type {link:?} (Ethernet or raw IPv4 only)",
            path.display()
        ));
    }
    let mut order: Vec<(SocketAddr, SocketAddr)> = Vec::new();
    let mut conns: BTreeMap<(SocketAddr, SocketAddr), Conn> = BTreeMap::new();
    let mut t0 = None;
    let mut n = 0usize;
    while let Some(p) = r.next_packet() {
        n += 1;
        let p = p.map_err(|e| format!("{}: packet {n}: {e}", path.display()))?;
        let ts = p.timestamp.as_millis() as u64;
        let at = At {
            ms: ts.saturating_sub(*t0.get_or_insert(ts)),
            frame: n as u64,
        };
        let sliced = if link == DataLink::ETHERNET {
            SlicedPacket::from_ethernet(&p.data)
        } else {
            SlicedPacket::from_ip(&p.data)
        };
        let Ok(s) = sliced else { continue };
        let (Some(NetSlice::Ipv4(ip)), Some(TransportSlice::Tcp(tcp))) = (s.net, s.transport)
        else {
            continue;
        };
        let (src, dst): (Ipv4Addr, Ipv4Addr) =
            (ip.header().source_addr(), ip.header().destination_addr());
        let a = SocketAddr::V4(SocketAddrV4::new(src, tcp.source_port()));
        let b = SocketAddr::V4(SocketAddrV4::new(dst, tcp.destination_port()));
        let (client, server, from_client) = if b.port() == port {
            (a, b, true)
        } else if a.port() == port {
            (b, a, false)
        } else {
            continue;
        };
        let key = (client, server);
        let e = conns.entry(key).or_insert_with(|| {
            order.push(key);
            (at, Direction::default(), Direction::default())
        });
        let dir = if from_client { &mut e.1 } else { &mut e.2 };
        dir.segment(
            at,
            tcp.sequence_number(),
            tcp.syn(),
            tcp.psh(),
            tcp.payload(),
        );
        if tcp.fin() || tcp.rst() {
            dir.push(at);
        }
        if tcp.fin() {
            dir.fin_at.get_or_insert(at);
        }
        if tcp.rst() {
            dir.rst_at.get_or_insert(at);
        }
    }
    let origin_ms = t0.unwrap_or(0);
    Ok(order
        .into_iter()
        .filter_map(|k| conns.remove(&k).map(|v| (k, v)))
        .map(|((client, server), (opened, mut c, s))| {
            // What the capture ended with still unpushed is a write too.
            if let Some(last) = c.unpushed_at {
                c.push(last);
            }
            // The caller's own leaving: its reset, or its FIN. A server's reset ends the
            // connection without the caller leaving (the caller is then "open").
            let end = match (c.rst_at, c.fin_at, s.fin_at) {
                (Some(_), _, _) => Ending::Reset,
                (None, Some(cf), Some(sf)) if cf.frame < sf.frame => Ending::HalfClose,
                (None, Some(_), None) => Ending::HalfClose,
                (None, Some(_), Some(_)) => Ending::Close,
                (None, None, _) => Ending::Open,
            };
            Stream {
                client,
                server,
                origin_ms,
                opened,
                client_writes: c.writes,
                client_data: c.data,
                server_data: s.data,
                end,
                closed: c.rst_at.or(c.fin_at),
            }
        })
        .collect())
}

impl Stream {
    /// The abstract syntax or application context of a foreign (non-X.400) association on the
    /// port, e.g. IEC 61850 MMS, named; `None` for X.400 and for octets that say nothing.
    pub fn foreign(&self) -> Option<String> {
        use mta_osi::dissect::{Direction, dissect};
        let (_, [out, back]) = dissect(&[
            (Direction::Out, self.client_data.clone()),
            (Direction::In, self.server_data.clone()),
        ]);
        out.foreign.or(back.foreign)
    }

    /// The caller's side as a replayable script.
    pub fn script(&self) -> PeerScript {
        let mut last = self.opened.ms;
        PeerScript {
            schema: 1,
            client: self.client.to_string(),
            server: self.server.to_string(),
            end: self.end,
            origin_ms: Some(self.origin_ms),
            opened_ms: Some(self.opened.ms),
            opened_frame: Some(self.opened.frame),
            closed_ms: self.closed.map(|a| a.ms),
            closed_frame: self.closed.map(|a| a.frame),
            write: self
                .client_writes
                .iter()
                .map(|w| {
                    let out = Write {
                        after_ms: w.at.ms.saturating_sub(last),
                        frame: Some(w.at.frame),
                        hex: hex::encode(&w.bytes),
                    };
                    last = w.at.ms;
                    out
                })
                .collect(),
        }
    }
}

impl PeerScript {
    /// Read and check a script file.
    pub fn load(path: &Path) -> Result<PeerScript, String> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
        PeerScript::parse(path, &text)
    }

    /// Parse and check a script file's text read from `path` (which errors name): the caller and
    /// server are socket addresses, every write is hex, and the script's times add up to at
    /// most a day (a capture's span; beyond it the replay clock would overflow).
    pub fn parse(path: &Path, text: &str) -> Result<PeerScript, String> {
        let s =
            mta_lab_world::input::parse_toml(path, text, "a peer script", 1, |s: &PeerScript| {
                s.schema
            })?;
        let at = |e: String| format!("{}: {e}", path.display());
        for (field, v) in [("client", &s.client), ("server", &s.server)] {
            v.parse::<SocketAddr>()
                .map_err(|e| at(format!("{field}: {v:?}: {e} (an address:port)")))?;
        }
        let day = mta_lab_world::world::MAX_TIMER_MS;
        let mut t = s.opened_ms.unwrap_or(0);
        for (field, v) in [
            ("opened_ms", s.opened_ms),
            ("closed_ms", s.closed_ms),
            ("origin_ms", s.origin_ms.map(|o| o % 3_600_000)),
        ] {
            if v.unwrap_or(0) > day {
                return Err(at(format!(
                    "{field}: {} exceeds a day ({day} ms)",
                    v.unwrap_or(0)
                )));
            }
        }
        for (i, w) in s.write.iter().enumerate() {
            hex::decode(&w.hex).map_err(|e| at(format!("write {}: hex: {e}", i + 1)))?;
            t = t.saturating_add(w.after_ms);
            if t > day {
                return Err(at(format!(
                    "write {}: after_ms: the writes end {t} ms after the capture began (at most a day, {day} ms)",
                    i + 1
                )));
            }
        }
        Ok(s)
    }
}

/// Write, per connection: `conn-N.peer.toml`, `conn-N.inbound_stack` (caller octets, a fuzz seed),
/// `conn-N.client.bin` and `conn-N.server.bin` (for `mta-lab decode`). Returns the files.
pub fn write(streams: &[Stream], out: &Path) -> Result<Vec<String>, String> {
    std::fs::create_dir_all(out).map_err(|e| format!("{}: {e}", out.display()))?;
    let mut files = Vec::new();
    for (i, s) in streams.iter().enumerate() {
        let base = out.join(format!("conn-{i}"));
        let script = toml::to_string(&s.script()).map_err(|e| e.to_string())?;
        for (ext, bytes) in [
            ("peer.toml", script.as_bytes()),
            ("inbound_stack", &s.client_data[..]),
            ("client.bin", &s.client_data[..]),
            ("server.bin", &s.server_data[..]),
        ] {
            let p = base.with_extension(ext);
            std::fs::write(&p, bytes).map_err(|e| format!("{}: {e}", p.display()))?;
            files.push(p.display().to_string());
        }
    }
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::*;
    use mta_build::Build;
    use mta_lab_world::simulate::{Record, run_with};
    use mta_lab_world::world::World;

    /// The capture of seed 1 of the standard world on 2000 SP3 + rollup without faults.
    fn simulated_capture(messages: usize) -> mta_lab_world::pcap::Capture {
        let w = World::standard(Build::Ex2000Sp3Rollup, Build::Ex2000Sp3Rollup, messages);
        let record = Record {
            pcap: true,
            trace: false,
            until: None,
            every_tick: false,
        };
        run_with(&w, 1, mta_lab_world::faults::FaultPlan::none(), record)
            .1
            .capture
    }

    #[test]
    fn a_simulator_pcap_round_trips_octet_for_octet() {
        let capture = simulated_capture(2);
        let dir = std::env::temp_dir().join(format!("mta-lab-import-{}", std::process::id()));
        let _ = std::fs::create_dir_all(&dir);
        let pcap = dir.join("run.pcap");
        mta_lab_world::pcap::write(&pcap, &capture).unwrap();
        let streams = read(&pcap, ISO_TSAP_PORT).unwrap();
        // Every connection of the capture, with exactly the octets each side wrote, and the
        // caller's writes one for one (PSH ends each, also those of more than one segment).
        let mut want: BTreeMap<(SocketAddr, SocketAddr), Vec<u8>> = BTreeMap::new();
        let mut writes: BTreeMap<(SocketAddr, SocketAddr), Vec<Vec<u8>>> = BTreeMap::new();
        for (_, r) in &capture {
            if let mta_lab_world::pcap::Record::Data(from, to, b) = r {
                want.entry((*from, *to)).or_default().extend_from_slice(b);
                writes.entry((*from, *to)).or_default().push(b.clone());
            }
        }
        assert!(
            writes.values().flatten().any(|w| w.len() > 1460),
            "a write of several segments"
        );
        assert!(!streams.is_empty());
        for s in &streams {
            let rebuilt: Vec<Vec<u8>> = s.client_writes.iter().map(|w| w.bytes.clone()).collect();
            assert_eq!(
                rebuilt,
                writes
                    .get(&(s.client, s.server))
                    .cloned()
                    .unwrap_or_default()
            );
            assert!(
                s.client_writes
                    .windows(2)
                    .all(|w| w[0].at.frame < w[1].at.frame)
            );
            assert_eq!(
                s.client_data,
                want.get(&(s.client, s.server)).cloned().unwrap_or_default()
            );
            assert_eq!(
                s.server_data,
                want.get(&(s.server, s.client)).cloned().unwrap_or_default()
            );
            let script = s.script();
            let back: Vec<u8> = script
                .write
                .iter()
                .flat_map(|w| hex::decode(&w.hex).unwrap())
                .collect();
            assert_eq!(back, s.client_data);
        }
        let files = write(&streams, &dir.join("out")).unwrap();
        let first = files.iter().find(|f| f.ends_with(".peer.toml")).unwrap();
        assert_eq!(
            PeerScript::load(Path::new(first)).unwrap(),
            streams[0].script()
        );
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_foreign_association_is_named_and_an_x400_one_is_not() {
        // One simulated run's X.400 connections and, beside them, an IEC 61850 MMS client's
        // connect (open61850's association request, as `mta_osi::dissect`'s test holds it).
        let mut capture = simulated_capture(1);
        let mms = hex::decode(
            "0300001611e00000000100c1020001c2020001c0010a030000bb02f0800db2050613010016010214\
             0200023302000134020001c19c318199a003800101a28191810400000001820400000001a423300f02\
             01010604520100013004060251013010020103060528ca220201300406025101615e305c020101a057\
             6055a107060528ca220203a20706052901876701a30302010ca606060429018767a70302010cbe2f28\
             2d020103a028a826800300fde881010582010583010aa416800101810305f100820c03ee1c00000408\
             000079ef18"
                .replace(char::is_whitespace, ""),
        )
        .unwrap();
        let (client, server): (SocketAddr, SocketAddr) = (
            "10.9.9.9:40000".parse().unwrap(),
            "10.0.2.1:102".parse().unwrap(),
        );
        let end = capture.last().map_or(0, |(t, _)| *t);
        capture.push((end + 1, mta_lab_world::pcap::Record::Open(client, server)));
        capture.push((
            end + 2,
            mta_lab_world::pcap::Record::Data(client, server, mms),
        ));
        capture.push((end + 3, mta_lab_world::pcap::Record::Fin(client, server)));
        let dir = std::env::temp_dir().join(format!("mta-lab-foreign-{}", std::process::id()));
        let _ = std::fs::create_dir_all(&dir);
        let pcap = dir.join("mixed.pcap");
        mta_lab_world::pcap::write(&pcap, &capture).unwrap();
        let streams = read(&pcap, ISO_TSAP_PORT).unwrap();
        let _ = std::fs::remove_dir_all(&dir);
        let foreign: Vec<(SocketAddr, Option<String>)> = streams
            .iter()
            .map(|s| (s.client, s.foreign()))
            .filter(|(_, f)| f.is_some())
            .collect();
        assert_eq!(
            foreign,
            vec![(
                client,
                Some("1.0.9506.2.1 (MMS abstract syntax, ISO 9506-2)".to_string())
            )]
        );
        assert!(streams.len() > 1, "the X.400 connections are there too");
    }

    #[test]
    fn out_of_order_and_retransmitted_segments_are_taken_once() {
        let at = |frame| At { ms: 0, frame };
        let mut d = Direction::default();
        d.segment(at(1), 99, true, false, &[]);
        d.segment(at(2), 104, false, true, b"efg"); // early, ends the write
        d.segment(at(3), 100, false, false, b"abc");
        d.segment(at(4), 100, false, false, b"abc"); // retransmission
        d.segment(at(5), 102, false, false, b"cde"); // overlap
        assert_eq!(d.data, b"abcdefg");
        // One write, completed when the gap closed (frame 5), ended by the early segment's PSH.
        assert_eq!(
            d.writes,
            vec![Written {
                at: at(5),
                bytes: b"abcdefg".to_vec()
            }]
        );
        // Without PSH, octets wait for the next one.
        d.segment(at(6), 107, false, false, b"hi");
        d.segment(at(7), 109, false, true, b"j");
        assert_eq!(d.writes[1].bytes, b"hij");
        assert_eq!(d.writes[1].at, at(7));
    }
}
