"""A lean receive path for audio: hand each Opus packet to the decoder as soon as it arrives.

aiortc's receiver holds audio in a fixed jitter buffer (capacity 16, prefetch 4), which alone adds
about 80 ms. For Opus every RTP packet is a whole frame (RFC 7587 section 4.2), so nothing needs
reassembling: a packet newer than the last one released goes out at once, an older one (late,
already concealed) is dropped. Smoothing the arrival jitter is left to the consumer, which reads on
its own clock (the mixer's input queue, a few frames deep).
"""

from __future__ import annotations

from typing import Any

from aiortc.jitterbuffer import JitterBuffer, JitterFrame
from aiortc.rtp import RtpPacket
from aiortc.utils import uint16_gt


class ImmediateAudioBuffer(JitterBuffer):
    def __init__(self) -> None:
        super().__init__(capacity=16)
        self._last_seq: int | None = None

    def add(self, packet: RtpPacket) -> tuple[bool, JitterFrame | None]:
        if self._last_seq is not None and not uint16_gt(packet.sequence_number, self._last_seq):
            return False, None  # late or duplicate
        self._last_seq = packet.sequence_number
        data: bytes = packet._data  # type: ignore[attr-defined]  # set by aiortc's depayloader
        return False, JitterFrame(data=data, timestamp=packet.timestamp)


def use_immediate_audio(receiver: Any) -> None:
    """Swaps an aiortc audio receiver's jitter buffer for the immediate one.

    aiortc (1.x) keeps it in a private attribute and offers no option for it.
    """
    if getattr(receiver, "_RTCRtpReceiver__kind", "audio") != "audio":
        return
    if not hasattr(receiver, "_RTCRtpReceiver__jitter_buffer"):
        raise RuntimeError("this aiortc version has no receiver jitter buffer to replace")
    receiver._RTCRtpReceiver__jitter_buffer = ImmediateAudioBuffer()
