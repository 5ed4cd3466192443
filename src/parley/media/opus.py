"""An Opus decoder with loss recovery, on the libopus that PyAV ships (through ctypes).

PyAV's decoder offers neither in-band FEC nor packet-loss concealment, and aiortc decodes through
it. A receiver that sees a packet missing can do better (RFC 6716 section 4.4, RFC 7587 s3.1):
rebuild the frame just before a received packet from that packet's FEC data, and conceal older
gaps with the decoder's PLC, so a lost packet is a smooth patch rather than a 20 ms hole.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import time
from functools import cache

import numpy as np

from parley.media import internals
from parley.media.mixer import FRAME_SAMPLES, SAMPLE_RATE_HZ, Samples
from parley.telemetry.metrics import OPUS_DECODE

MAX_FRAME_SAMPLES = SAMPLE_RATE_HZ * 120 // 1000  # the longest Opus packet: 120 ms
_OPUS_OK = 0


@cache
def libopus() -> ctypes.CDLL | None:
    """PyAV's bundled libopus, else the system's, else None."""
    candidates = internals.bundled_libopus()
    system = ctypes.util.find_library("opus")
    if system:
        candidates.append(system)
    for path in candidates:
        try:
            lib = ctypes.CDLL(path)
        except OSError:
            continue
        lib.opus_decoder_create.restype = ctypes.c_void_p
        lib.opus_decoder_create.argtypes = [
            ctypes.c_int32,
            ctypes.c_int,
            ctypes.POINTER(ctypes.c_int),
        ]
        lib.opus_decode.restype = ctypes.c_int
        lib.opus_decode.argtypes = [
            ctypes.c_void_p,
            ctypes.c_char_p,
            ctypes.c_int32,
            ctypes.POINTER(ctypes.c_int16),
            ctypes.c_int,
            ctypes.c_int,
        ]
        lib.opus_decoder_destroy.argtypes = [ctypes.c_void_p]
        return lib
    internals.no_libopus()
    return None


class OpusDecoder:
    """Mono 48 kHz decoding of one stream (a stereo stream is mixed down by libopus)."""

    def __init__(self) -> None:
        lib = libopus()
        if lib is None:
            raise RuntimeError("libopus is not available")
        self._lib = lib
        error = ctypes.c_int()
        self._state = lib.opus_decoder_create(SAMPLE_RATE_HZ, 1, ctypes.byref(error))
        if error.value != _OPUS_OK or not self._state:
            raise RuntimeError(f"opus_decoder_create failed ({error.value})")
        self._pcm = np.zeros(MAX_FRAME_SAMPLES, dtype=np.int16)
        self._pcm_pointer = self._pcm.ctypes.data_as(ctypes.POINTER(ctypes.c_int16))
        self.last_frame_samples = FRAME_SAMPLES

    def _run(self, data: bytes | None, frame_samples: int, fec: bool) -> Samples:
        started = time.perf_counter()
        count = self._lib.opus_decode(
            self._state,
            data,
            len(data) if data else 0,
            self._pcm_pointer,
            frame_samples,
            1 if fec else 0,
        )
        # A plain sum (telemetry/metrics.py): per packet, no lock.
        OPUS_DECODE.add(time.perf_counter() - started)
        if count < 0:
            return np.zeros(0, dtype=np.int16)
        return self._pcm[:count].copy()

    def decode(self, payload: bytes) -> Samples:
        samples = self._run(payload, MAX_FRAME_SAMPLES, fec=False)
        if samples.size:
            self.last_frame_samples = samples.size
        return samples

    def recover(self, next_payload: bytes) -> Samples:
        """The frame lost just before `next_payload`, from its in-band FEC (or concealed)."""
        return self._run(next_payload, self.last_frame_samples, fec=True)

    def conceal(self) -> Samples:
        """A frame of packet-loss concealment."""
        return self._run(None, self.last_frame_samples, fec=False)

    def __del__(self) -> None:
        state = getattr(self, "_state", None)
        if state:
            self._lib.opus_decoder_destroy(state)
            self._state = None
