"""The listeners' fast path: one loop that protects and sends each packet to every listener.

Stock aiortc gives every listener a sender task that wakes for each packet, builds an RtpPacket
object with header extensions, and goes through three layers of coroutines to a UDP send: about
2.4 ms of CPU per listener-second (STACK-NOTES.md). Once a listener's connection is up (ICE and
DTLS done by aiortc), this path writes the 12-byte RTP header itself (RFC 3550 section 5.1),
protects it with the connection's own SRTP session and hands it straight to the UDP socket of the
nominated ICE pair. RTCP, ICE consent and DTLS stay with aiortc.

The route past aiortc's sender (the SRTP session, the nominated pair) comes from
media/internals.py; `FastSender.attach` returns None when it cannot be had, and the engine then
keeps the stock path for that listener.
"""

from __future__ import annotations

import random
import struct

from aiortc import RTCPeerConnection

from parley.media import internals
from parley.media.tracks import Packet

_HEADER = struct.Struct("!BBHII")
_RTP_VERSION_2 = 0x80


class FastSender:
    def __init__(self, route: internals.SendRoute) -> None:
        self.payload_type = route.payload_type
        self.ssrc = route.ssrc
        self.srtp = route.srtp
        self.nominated = route.nominated
        self.sequence_number = random.randrange(1 << 16)
        self.timestamp_origin = random.randrange(1 << 32)
        self.failed = False

    @classmethod
    def attach(cls, pc: RTCPeerConnection) -> FastSender | None:
        """The fast path for a connected listener's audio sender, or None to keep aiortc's."""
        route = internals.listener_send_route(pc)
        return cls(route) if route is not None else None

    def send(self, packet: Packet, payload: bytes) -> None:
        pair = self.nominated.get(1)
        if pair is None or self.failed:
            return
        assert packet.pts is not None
        timestamp = (self.timestamp_origin + packet.pts) & 0xFFFFFFFF
        header = _HEADER.pack(
            _RTP_VERSION_2, self.payload_type, self.sequence_number, timestamp, self.ssrc
        )
        self.sequence_number = (self.sequence_number + 1) & 0xFFFF
        try:
            protected = self.srtp.protect(header + payload)
            pair.protocol.transport.sendto(protected, pair.remote_addr)
        except Exception:
            # A closing connection: the engine removes the session on its state change.
            self.failed = True
