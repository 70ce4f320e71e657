//! Hostile callers: small peer programs that connect to an MTA and misbehave at one layer each
//! (TPKT, COTP, session, presentation, RTSE bind, P1, timing, connection patterns), as data, and
//! [`play`], which runs one over turmoil TCP. The simulator plays them as a fault of worlds that
//! ask for it (`hostile_callers`); the hostile runner and `probe` (mta-lab-net) play the whole
//! library. Built by the modelled stack itself ([`crate::caller`]); it holds no MTA.

use crate::caller::{good_bind, opening};
use mta_osi::presentation::Mode;
use mta_osi::tpkt::{SendFlags, Writer};
use mta_p1::Bind;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use turmoil::net::TcpStream;

/// One misbehaviour: octets to write (with pauses), then how to end.
#[derive(Debug, Clone)]
pub struct Peer {
    /// Name.
    pub name: &'static str,
    /// Writes, each after the given pause (ms).
    pub writes: Vec<(u64, Vec<u8>)>,
    /// How the connection ends.
    pub end: End,
}

impl Peer {
    /// How long playing it takes at most (its pauses and its ending), for a fault's duration.
    pub fn duration_ms(&self) -> u64 {
        let pauses: u64 = self.writes.iter().map(|(p, _)| *p).sum();
        pauses
            + match self.end {
                End::Close => 100,
                End::HalfClose => HALF_CLOSE_WAIT_MS,
                End::Silent(ms) => ms,
            }
    }
}

/// How long a half-closing peer keeps reading for the MTA's close, at most.
pub const HALF_CLOSE_WAIT_MS: u64 = 10_000;

/// How a peer leaves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum End {
    /// Close normally after the writes.
    Close,
    /// Half-close (shutdown write), keep reading until the MTA closes.
    HalfClose,
    /// Stay connected and silent for this long, then drop.
    Silent(u64),
}

fn tpkt(tpdu: &[u8]) -> Vec<u8> {
    let mut v = Vec::new();
    Writer::conforming().write(&mut v, tpdu, SendFlags::NONE);
    v
}

/// The library (each entry is one peer program), as an owned list (e.g. for the hostile runner).
pub fn library() -> Vec<Peer> {
    programs().to_vec()
}

/// The library, built once per process (plans drawn per seed only index and name it).
pub fn programs() -> &'static [Peer] {
    static LIBRARY: std::sync::OnceLock<Vec<Peer>> = std::sync::OnceLock::new();
    LIBRARY.get_or_init(build_library)
}

fn build_library() -> Vec<Peer> {
    let (cr, cn) = opening(&good_bind(), Mode::Normal);
    let (cr84, cn84) = opening(&good_bind(), Mode::X410);
    let mut reserved1 = cr.clone();
    reserved1[1] = 1;
    let byte_at_a_time: Vec<(u64, Vec<u8>)> =
        cr.iter().chain(cn.iter()).map(|b| (5, vec![*b])).collect();
    let slowloris: Vec<(u64, Vec<u8>)> = cr.iter().take(20).map(|b| (400, vec![*b])).collect();
    let mut big_tsap = vec![0u8; 0];
    big_tsap.extend_from_slice(&[0xe0, 0, 0, 0, 1, 0, 0xc1, 200]);
    big_tsap.extend(std::iter::repeat_n(b'T', 200));
    let big_tsap_tpdu: Vec<u8> = std::iter::once(big_tsap.len() as u8)
        .chain(big_tsap)
        .collect();
    // A CN whose first PGI claims more than the SPDU holds.
    let mut bad_cn = cn.clone();
    if bad_cn.len() > 14 {
        bad_cn[14] = 0xfe;
    }
    // A CN with a 3-octet length field cut short.
    let cn_bad_len = tpkt(&[0x02, 0xf0, 0x80, 0x0d, 0xff, 0x00]);
    let (_, cn_wrong_pw) = opening(&Bind::simple("PEER", "wrong").emit(), Mode::Normal);
    let (_, cn_wrong_name) = opening(&Bind::simple("INTRUDER", "peer-pw").emit(), Mode::Normal);
    let (_, cn_garbage_bind) = opening(&[0x30, 0x80, 0xff], Mode::X410);
    let bomb: Vec<u8> = std::iter::repeat_n([0x30u8, 0x80], 5000)
        .flatten()
        .collect();
    let (_, cn_bomb) = opening(&bomb[..bomb.len().min(4000)], Mode::X410);
    vec![
        Peer {
            name: "tpkt-reserved-1 (lenient foreign MTA)",
            writes: vec![(0, reserved1), (20, cn.clone())],
            end: End::Close,
        },
        Peer {
            name: "tpkt-length-0",
            writes: vec![(0, vec![3, 0, 0, 0])],
            end: End::Close,
        },
        Peer {
            name: "tpkt-length-below-7",
            writes: vec![(0, vec![3, 0, 0, 5, 2, 0xf0])],
            end: End::Close,
        },
        Peer {
            name: "tpkt-length-beyond-data",
            writes: vec![(0, vec![3, 0, 0xff, 0xff, 2, 0xf0, 0x80])],
            end: End::Close,
        },
        Peer {
            name: "tpkt-version-4",
            writes: vec![(0, vec![4, 0, 0, 7, 2, 0xf0, 0x80])],
            end: End::Close,
        },
        Peer {
            name: "tpkt-byte-at-a-time",
            writes: byte_at_a_time,
            end: End::Close,
        },
        Peer {
            name: "tpkt-coalesced-cr-and-cn",
            writes: vec![(0, [cr.clone(), cn.clone()].concat())],
            end: End::Close,
        },
        Peer {
            name: "cotp-li-beyond-tpdu",
            writes: vec![(0, tpkt(&[0x40, 0xe0, 0, 0, 0, 1, 0]))],
            end: End::Close,
        },
        Peer {
            name: "cotp-unknown-type-ed",
            writes: vec![(0, tpkt(&[0x04, 0x10, 0, 0, 0]))],
            end: End::Close,
        },
        Peer {
            name: "cotp-dt-before-cc",
            writes: vec![(0, tpkt(&[0x02, 0xf0, 0x80, 1, 2, 3]))],
            end: End::Close,
        },
        Peer {
            name: "cotp-cr-oversized-tsap",
            writes: vec![(0, tpkt(&big_tsap_tpdu))],
            end: End::Close,
        },
        Peer {
            name: "session-cn-parameter-overrun",
            writes: vec![(0, cr.clone()), (20, bad_cn)],
            end: End::Close,
        },
        Peer {
            name: "session-cn-truncated-3-octet-length",
            writes: vec![(0, cr.clone()), (20, cn_bad_len)],
            end: End::Close,
        },
        Peer {
            name: "rtse-bind-wrong-password",
            writes: vec![(0, cr.clone()), (20, cn_wrong_pw)],
            end: End::Close,
        },
        Peer {
            name: "rtse-bind-wrong-mta-name",
            writes: vec![(0, cr.clone()), (20, cn_wrong_name)],
            end: End::Close,
        },
        Peer {
            name: "rtse-bind-malformed-ber (1984)",
            writes: vec![(0, cr84.clone()), (20, cn_garbage_bind)],
            end: End::Close,
        },
        Peer {
            name: "ber-indefinite-nesting-bomb (1984)",
            writes: vec![(0, cr84.clone()), (20, cn_bomb)],
            end: End::Close,
        },
        Peer {
            name: "slowloris",
            writes: slowloris,
            end: End::Close,
        },
        Peer {
            name: "connect-and-go-silent",
            writes: vec![],
            end: End::Silent(5_000),
        },
        Peer {
            name: "silent-after-cr",
            writes: vec![(0, cr.clone())],
            end: End::Silent(5_000),
        },
        Peer {
            name: "half-close-after-cr",
            writes: vec![(0, cr.clone())],
            end: End::HalfClose,
        },
        Peer {
            name: "rst-mid-connect",
            writes: vec![(0, cr.clone()), (20, cn[..cn.len() / 2].to_vec())],
            end: End::Close,
        },
        Peer {
            name: "x410-bind-then-vanish",
            writes: vec![(0, cr84), (20, cn84)],
            end: End::Close,
        },
    ]
}

/// Play `p` against `target`:102 over turmoil TCP: connect, write with its pauses, end as it
/// ends. `Err` names the peer when the connect was refused or timed out.
pub async fn play(target: &str, p: &Peer) -> Result<(), String> {
    let Ok(mut s) = TcpStream::connect((target, 102)).await else {
        return Err(format!("{}: connection refused", p.name));
    };
    for (pause, bytes) in &p.writes {
        tokio::time::sleep(Duration::from_millis(*pause)).await;
        if s.write_all(bytes).await.is_err() {
            break;
        }
    }
    match p.end {
        End::Close => {
            tokio::time::sleep(Duration::from_millis(100)).await;
            drop(s);
        }
        End::HalfClose => {
            let _ = s.shutdown().await;
            let mut buf = [0u8; 1024];
            let wait = Duration::from_millis(HALF_CLOSE_WAIT_MS);
            while let Ok(Ok(n)) = tokio::time::timeout(wait, s.read(&mut buf)).await {
                if n == 0 {
                    break;
                }
            }
        }
        End::Silent(ms) => {
            tokio::time::sleep(Duration::from_millis(ms)).await;
            drop(s);
        }
    }
    Ok(())
}
