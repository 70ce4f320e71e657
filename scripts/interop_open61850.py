#!/usr/bin/env python3
"""Independent client: open61850 (PyPI, Apache-2.0, a pure-Python IEC 61850/MMS stack with its own
RFC 1006 TPKT, ISO 8073 class-0 COTP and ISO 8327 session code) connects to `mta-lab serve`.

  python3 scripts/interop_open61850.py HOST PORT CONNECT_DATA_HEX

1. open61850's own association (its session CONNECT, presentation CP, ACSE AARQ, MMS initiate):
   the transport connect must complete (its CR, our CC, TPDU size negotiated) and the session
   CONNECT must get a well-formed session answer. An X.400 MTA refuses MMS's functional units
   (full duplex; RTSE needs half-duplex, exceptions, minor sync, activity management): REFUSE,
   reason 134.
2. A session CONNECT that open61850's session encoder builds with RTSE's functional units, carrying
   an X.400 P-CONNECT (`mta-lab p1 connect-data`): the session connect must complete with ACCEPT,
   decoded by open61850's session parser.

Prints one line per step; exit status 0 when both steps went as stated, 1 otherwise, 2 when
open61850 is not installed.
"""

import sys

try:
    from open61850.mms import association as a
    from open61850.mms.transport import IsoConnection
except ImportError as e:  # pragma: no cover
    print(f"open61850 is not installed ({e}): python3 -m pip install open61850==0.9.12")
    sys.exit(2)

SI_REFUSE, SI_ACCEPT = 12, 14
PI_REASON, PGI_USER_DATA = 50, 193
# ISO 8327 functional units RTSE needs (X.225): half-duplex, exceptions, minor sync, activity mgmt.
RTSE_REQUIREMENTS = (0x0001 | 0x0008 | 0x0040 | 0x0200).to_bytes(2, "big")


def exchange(host, port, spdu):
    """open61850's transport connect (TPKT + COTP CR/CC), one TSDU out, the answering TSDU back."""
    conn = IsoConnection.connect(host, port, timeout=10)
    try:
        conn.send(spdu)
        return conn.recv()
    finally:
        conn.close()


def step_mms_association(host, port):
    answer = exchange(host, port, a.association_request())
    if answer is None:
        return False, "transport connect completed; the session CONNECT got no SPDU back"
    si, items = a._parse_spdu(answer)
    reason = items.get(PI_REASON, b"")
    ok = si == SI_REFUSE and reason[:1] == bytes([134])
    return ok, (
        f"transport connect completed; MMS session CONNECT answered with SPDU {si} "
        f"(REFUSE={SI_REFUSE}), reason {reason.hex() or 'none'}"
    )


def step_x400_session(host, port, user_data):
    item = a._session_parameter(a._PI_PROTOCOL_OPTIONS, b"\x00") + a._session_parameter(
        a._PI_VERSION_NUMBER, b"\x02"
    )
    connect = a._spdu(
        a.SPDU_CONNECT,
        a._session_parameter(a._PGI_CONNECT_ACCEPT_ITEM, item)
        + a._session_parameter(a._PI_SESSION_REQUIREMENTS, RTSE_REQUIREMENTS)
        + a._session_parameter(PGI_USER_DATA, user_data),
    )
    answer = exchange(host, port, connect)
    if answer is None:
        return False, "transport connect completed; the session CONNECT got no SPDU back"
    si, items = a._parse_spdu(answer)
    return si == SI_ACCEPT, (
        f"transport connect completed; X.400 session CONNECT answered with SPDU {si} "
        f"(ACCEPT={SI_ACCEPT}), requirements {items.get(a._PI_SESSION_REQUIREMENTS, b'').hex()}, "
        f"{len(items.get(PGI_USER_DATA, b''))} octets of accept user data"
    )


def main():
    if len(sys.argv) != 4:
        print(__doc__)
        return 2
    host, port, data = sys.argv[1], int(sys.argv[2]), bytes.fromhex(sys.argv[3])
    ok = True
    for name, f in (
        ("open61850 MMS association", lambda: step_mms_association(host, port)),
        ("open61850 session CONNECT with an X.400 P-CONNECT", lambda: step_x400_session(host, port, data)),
    ):
        good, detail = f()
        print(f"{'ok' if good else 'FAILED'}: {name}: {detail}")
        ok = ok and good
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
