//! An X.400 caller's opening octets, built by the modelled stack itself: the TPKT-framed COTP
//! CONNECT REQUEST and the session CONNECT carrying AARQ/RTORQ/MTABind (ISO 8073, ISO 8327,
//! X.227/X.228, X.411), and the check that a listener answered with a CONNECT CONFIRM. Shared by
//! the simulator's listener checks and the hostile-peer library; it never touches a socket.

use mta_osi::association::{Address, Association, Config, Role};
use mta_osi::presentation::Mode;
use mta_p1::Bind;

/// A peer's association configuration in `mode` (default addresses).
pub fn peer_config(mode: Mode) -> Config {
    Config::new(mode, Address::default(), Address::default())
}

/// The initiator's first two TSDUs for a bind (CR, then CN after a CC), as a real peer sends them.
pub fn opening(bind: &[u8], mode: Mode) -> (Vec<u8>, Vec<u8>) {
    let mut a = Association::new(Role::Initiator, peer_config(mode));
    let mut b = Association::new(Role::Responder, peer_config(mode));
    a.bind(bind);
    let cr = a.transmit();
    b.receive(&cr);
    a.receive(&b.transmit());
    (cr, a.transmit())
}

/// A well-formed COTP CR in its TPKT, as a normal-mode X.400 caller's first octets.
pub fn connect_request() -> Vec<u8> {
    opening(&good_bind(), Mode::Normal).0
}

/// Whether `bytes` start with a TPKT carrying a COTP CONNECT CONFIRM (the listener's answer).
pub fn is_connect_confirm(bytes: &[u8]) -> bool {
    mta_osi::tpkt::glimpse(bytes)
        .next()
        .is_some_and(|g| g.code == mta_osi::cotp::code::CC)
}

/// The bind every well-behaved peer of the lab sends (`PEER` / `peer-pw`).
pub fn good_bind() -> Vec<u8> {
    Bind::simple("PEER", "peer-pw").emit()
}
