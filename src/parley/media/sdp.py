"""SDP rewriting for deployments behind a 1:1 NAT: advertise the public address."""

from __future__ import annotations

import re

_CANDIDATE = re.compile(
    r"^(a=candidate:\S+ \d+ (?:udp|tcp|UDP|TCP) \d+ )(\S+)( \d+ typ host.*)$", re.MULTILINE
)
_CONNECTION = re.compile(r"^c=IN IP4 \S+$", re.MULTILINE)


def advertise_address(sdp: str, public_ip: str) -> str:
    """Host candidates (and the connection line) carry `public_ip` instead of the local address.

    For a server whose public address maps one to one onto its private one (cloud NAT): ports
    stay as gathered. Relay and reflexive candidates are left alone.
    """
    sdp = _CANDIDATE.sub(lambda m: f"{m.group(1)}{public_ip}{m.group(3)}", sdp)
    return _CONNECTION.sub(f"c=IN IP4 {public_ip}", sdp)
