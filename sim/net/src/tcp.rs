//! Real TCP for the shared stream edge ([`mta_lab_world::edge`]): a connect from a chosen source
//! address with a timeout, and dialing a block's outbound connection — the sockets the edge itself
//! never opens (`serve` and `probe` dial here; they accept on their own listeners, then hand the
//! streams to the edge).

use mta_bufmgr::ControlBlockId;
use mta_lab_world::edge::{self, Ends, SharedNode};
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

/// Open a real TCP connection to `target` from `source` (the OS's choice when `None` or
/// unspecified), giving up after `timeout`; Nagle off (TPDUs are small and answered).
pub async fn tcp_connect(
    target: SocketAddr,
    source: Option<IpAddr>,
    timeout: Duration,
) -> std::io::Result<tokio::net::TcpStream> {
    let sock = if target.is_ipv4() {
        tokio::net::TcpSocket::new_v4()?
    } else {
        tokio::net::TcpSocket::new_v6()?
    };
    if let Some(src) = source.filter(|s| !s.is_unspecified()) {
        sock.bind(SocketAddr::new(src, 0))?;
    }
    match tokio::time::timeout(timeout, sock.connect(target)).await {
        Ok(r) => {
            let s = r?;
            let _ = s.set_nodelay(true);
            Ok(s)
        }
        Err(_) => Err(std::io::Error::new(
            std::io::ErrorKind::TimedOut,
            "connect timed out",
        )),
    }
}

/// Open block `cb`'s outbound connection over real TCP, from the source address the model chose,
/// and report the result to the model. Returns whether it connected.
pub async fn dial(
    node: &SharedNode,
    cb: ControlBlockId,
    target: std::io::Result<SocketAddr>,
    source: Option<&str>,
    timeout: Duration,
) -> bool {
    let source = source.and_then(|s| s.parse::<IpAddr>().ok());
    let result = match target {
        Ok(t) => tcp_connect(t, source, timeout).await,
        Err(e) => Err(e),
    };
    let ends = result.as_ref().ok().and_then(|s| {
        Some(Ends {
            local: s.local_addr().ok()?,
            peer: s.peer_addr().ok()?,
            we_opened: true,
            peer_records: false,
        })
    });
    let ok = result.is_ok();
    edge::connected(node, cb, result.map(tokio::io::split), ends);
    ok
}
