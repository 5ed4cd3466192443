"""A lean receive path for audio: decode each Opus packet the moment it arrives.

aiortc's receiver holds audio in a fixed jitter buffer (capacity 16, prefetch 4), which alone adds
about 80 ms, then decodes on a thread of its own without loss recovery. For Opus every RTP packet is
a whole frame (RFC 7587 section 4.2), so nothing needs reassembling: `DecodingAudioBuffer` takes
aiortc's buffer's place, decodes a packet newer than the last one at once (recovering a lost one
from in-band FEC, concealing older gaps) and hands the samples to a sink; a late packet, already
concealed, is dropped. Smoothing the arrival jitter is left to the consumer, which reads on its own
clock (the mixer's InputQueue). aiortc's own decoder then receives nothing.

Without libopus, `ImmediateAudioBuffer` keeps aiortc's decoder but still skips its 80 ms wait.
Both take the place of aiortc's buffer through media/internals.py; where that is not possible the
caller reads aiortc's track as it comes (its buffer, its decoder).
"""

from __future__ import annotations

from collections.abc import Callable

from aiortc import RTCRtpReceiver
from aiortc.jitterbuffer import JitterBuffer, JitterFrame
from aiortc.rtp import RtpPacket
from aiortc.utils import uint16_add, uint16_gt

from parley.media import internals
from parley.media.mixer import Samples
from parley.media.opus import OpusDecoder, libopus

# Gaps longer than this (a sender that paused) are not filled in.
MAX_CONCEALED_FRAMES = 5


class ImmediateAudioBuffer(JitterBuffer):
    """Releases each packet to aiortc's decoder at once; drops late ones."""

    def __init__(self) -> None:
        super().__init__(capacity=16)
        self._last_seq: int | None = None

    def add(self, packet: RtpPacket) -> tuple[bool, JitterFrame | None]:
        if self._last_seq is not None and not uint16_gt(packet.sequence_number, self._last_seq):
            return False, None  # late or duplicate
        self._last_seq = packet.sequence_number
        # An Opus RTP payload is the Opus packet itself (RFC 7587 s4.2): nothing to depayload.
        return False, JitterFrame(data=packet.payload, timestamp=packet.timestamp)


class DecodingAudioBuffer(JitterBuffer):
    """Decodes each packet on arrival, with FEC and concealment, into `sink`."""

    def __init__(self, sink: Callable[[Samples], None]) -> None:
        super().__init__(capacity=16)
        self.sink = sink
        self.decoder = OpusDecoder()
        self._last_seq: int | None = None
        self.recovered = 0
        self.concealed = 0
        # The RTP timestamp of the block being handed to the sink (for a consumer that wants
        # to place it on the sender's timeline).
        self.block_timestamp = 0

    def add(self, packet: RtpPacket) -> tuple[bool, JitterFrame | None]:
        seq = packet.sequence_number
        data = packet.payload  # the Opus packet (RFC 7587 s4.2)
        if self._last_seq is not None:
            if not uint16_gt(seq, self._last_seq):
                return False, None  # late or duplicate: its place was already filled
            missing = uint16_add(seq, -self._last_seq) - 1
            if 0 < missing <= MAX_CONCEALED_FRAMES:
                step = self.decoder.last_frame_samples
                for lost in range(missing, 1, -1):
                    self.block_timestamp = (packet.timestamp - lost * step) & 0xFFFFFFFF
                    self.sink(self.decoder.conceal())
                    self.concealed += 1
                self.block_timestamp = (packet.timestamp - step) & 0xFFFFFFFF
                self.sink(self.decoder.recover(data))
                self.recovered += 1
        self._last_seq = seq
        samples = self.decoder.decode(data)
        if samples.size:
            self.block_timestamp = packet.timestamp
            self.sink(samples)
        return False, None


def use_immediate_audio(receiver: RTCRtpReceiver) -> bool:
    """Keeps aiortc's decoding but without its 80 ms wait; False when the buffer could not be
    replaced (aiortc's stays)."""
    return internals.replace_receive_buffer(receiver, ImmediateAudioBuffer())


def use_decoding_audio(
    receiver: RTCRtpReceiver, sink: Callable[[Samples], None]
) -> DecodingAudioBuffer | None:
    """Decodes the receiver's audio on arrival into `sink`; None (nothing changed) when libopus
    is not available or the buffer could not be replaced, and the caller reads aiortc's track
    instead."""
    if libopus() is None:
        return None
    buffer = DecodingAudioBuffer(sink)
    if not internals.replace_receive_buffer(receiver, buffer):
        return None
    return buffer
