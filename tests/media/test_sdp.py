from __future__ import annotations

import pytest

from parley.media.sdp import advertise_address

pytestmark = pytest.mark.unit

ANSWER = """v=0
o=- 1 1 IN IP4 0.0.0.0
c=IN IP4 10.0.0.5
a=candidate:1 1 udp 2130706431 10.0.0.5 51234 typ host
a=candidate:2 1 udp 1694498815 198.51.100.9 51234 typ srflx raddr 10.0.0.5 rport 51234
a=candidate:3 1 udp 16777215 192.0.2.1 3478 typ relay raddr 10.0.0.5 rport 51234
"""


def test_host_candidates_and_connection_carry_the_public_address() -> None:
    out = advertise_address(ANSWER, "203.0.113.7")
    assert "a=candidate:1 1 udp 2130706431 203.0.113.7 51234 typ host" in out
    assert "c=IN IP4 203.0.113.7" in out
    # Reflexive and relay candidates are already public: untouched.
    assert "198.51.100.9 51234 typ srflx raddr 10.0.0.5" in out
    assert "192.0.2.1 3478 typ relay" in out
    assert "o=- 1 1 IN IP4 0.0.0.0" in out
