"""The listeners' fast path: one loop that protects and sends each packet to every listener.

Stock aiortc gives every listener a sender task that wakes for each packet, builds an RtpPacket
object with header extensions, and goes through three layers of coroutines to a UDP send: about
2.4 ms of CPU per listener-second (STACK-NOTES.md). Once a listener's connection is up (ICE and
DTLS done by aiortc), this path writes the 12-byte RTP header itself (RFC 3550 section 5.1),
protects it with the connection's own SRTP session and hands it straight to the UDP socket of the
nominated ICE pair. RTCP, ICE consent and DTLS stay with aiortc.

It reaches into aiortc/aioice internals; `FastSender.attach` returns None when they are not as
expected, and the engine then keeps the stock path for that listener.
"""

from __future__ import annotations

import logging
import random
import struct
from typing import Any

from aiortc import RTCPeerConnection

from parley.media.tracks import Packet

log = logging.getLogger(__name__)

_HEADER = struct.Struct("!BBHII")
_RTP_VERSION_2 = 0x80


class FastSender:
    def __init__(self, payload_type: int, ssrc: int, dtls: Any, ice_connection: Any) -> None:
        self.payload_type = payload_type
        self.ssrc = ssrc
        self.dtls = dtls
        self.ice_connection = ice_connection
        self.sequence_number = random.randrange(1 << 16)
        self.timestamp_origin = random.randrange(1 << 32)
        self.failed = False

    @classmethod
    def attach(cls, pc: RTCPeerConnection) -> FastSender | None:
        """The fast path for a connected listener's audio sender, or None to keep aiortc's."""
        try:
            transceiver = next(t for t in pc.getTransceivers() if t.kind == "audio")
            sender = transceiver.sender
            dtls = sender.transport
            ice_connection = dtls.transport._connection
            codec = transceiver._codecs[0]
            if codec.mimeType.lower() != "audio/opus" or codec.payloadType is None:
                return None
            if dtls._tx_srtp is None or not ice_connection._nominated:
                return None
            return cls(codec.payloadType, sender._ssrc, dtls, ice_connection)
        except (AttributeError, StopIteration, IndexError):
            log.warning("listener fast path unavailable with this aiortc; using its sender")
            return None

    def send(self, packet: Packet, payload: bytes) -> None:
        pair = self.ice_connection._nominated.get(1)
        if pair is None or self.failed:
            return
        assert packet.pts is not None
        timestamp = (self.timestamp_origin + packet.pts) & 0xFFFFFFFF
        header = _HEADER.pack(
            _RTP_VERSION_2, self.payload_type, self.sequence_number, timestamp, self.ssrc
        )
        self.sequence_number = (self.sequence_number + 1) & 0xFFFF
        try:
            protected = self.dtls._tx_srtp.protect(header + payload)
            pair.protocol.transport.sendto(protected, pair.remote_addr)
        except Exception:
            # A closing connection: the engine removes the session on its state change.
            self.failed = True
