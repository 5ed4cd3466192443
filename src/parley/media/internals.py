"""The one place that reaches into aiortc, aioice and PyAV past their public APIs.

Each function here is one capability Parley (or its benchmarks) needs and the libraries do not
offer. When an upgrade removes what a capability relies on, the function logs it once (naming the
attribute), reports it in `missing()` (shown by `GET /api/health`) and returns a value that makes
the caller take the stock path: the listeners' fast path falls back to aiortc's sender, the
decoding receive path to aiortc's own buffer and decoder, the FEC request to the codec's defaults.
`tests/media/test_internals.py` checks every capability against the installed versions, and
`pyproject.toml` bounds aiortc, aioice and av until that test passes on a newer release.
"""

from __future__ import annotations

import glob
import logging
import os
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from importlib import metadata
from typing import Any

from aiortc import RTCPeerConnection, RTCRtpReceiver, RTCRtpTransceiver
from aiortc.jitterbuffer import JitterBuffer
from aiortc.rtcdtlstransport import RTCDtlsTransport

log = logging.getLogger(__name__)

# The capabilities, by the name logs and /api/health use.
FEC_REQUEST = "opus_fec_request"
RECEIVE_BUFFER = "decoding_receive_path"
FAST_PATH = "listener_fast_path"
DTLS_SERVER = "dtls_server_role"
BUNDLED_LIBOPUS = "bundled_libopus"
RTP_HOOKS = "rtp_hooks"  # benchmarks only: watch or drop RTP packets of a client
ICE_SOCKETS = "ice_sockets"  # benchmarks only: the UDP protocols of a client's ICE agent


@dataclass(frozen=True)
class Attribute:
    """A private attribute of a library object, as messages name it."""

    library: str
    owner: str
    name: str

    def __str__(self) -> str:
        return f"{self.library} {self.owner}.{self.name}"

    def of(self, obj: Any) -> Any:
        """The attribute's value on `obj`, or None when it is not there."""
        return getattr(obj, self.name, None)

    def on(self, obj: Any) -> bool:
        return hasattr(obj, self.name)


# What the capabilities touch (read at each call, so a test can take one away).
CODECS = Attribute("aiortc", "RTCRtpTransceiver", "_codecs")
JITTER_BUFFER = Attribute("aiortc", "RTCRtpReceiver", "_RTCRtpReceiver__jitter_buffer")
SSRC = Attribute("aiortc", "RTCRtpSender", "_ssrc")
SRTP = Attribute("aiortc", "RTCDtlsTransport", "_tx_srtp")
ICE_CONNECTION = Attribute("aiortc", "RTCIceTransport", "_connection")
NOMINATED = Attribute("aioice", "Connection", "_nominated")
PROTOCOLS = Attribute("aioice", "Connection", "_protocols")
RECEIVE_HOOK = Attribute("aiortc", "RTCRtpReceiver", "_handle_rtp_packet")
SEND_HOOK = Attribute("aiortc", "RTCDtlsTransport", "_send_rtp")
DTLS_ROLE = Attribute("aiortc", "RTCDtlsTransport", "_role")
DTLS_SET_ROLE = Attribute("aiortc", "RTCDtlsTransport", "_set_role")
LIBS_FOLDER = "av.libs"  # where PyAV's wheels keep the FFmpeg libraries they bundle

_missing: dict[str, str] = {}


def versions() -> str:
    found = []
    for name in ("aiortc", "aioice", "av"):
        try:
            found.append(f"{name} {metadata.version(name)}")
        except metadata.PackageNotFoundError:
            found.append(f"{name} (not installed)")
    return ", ".join(found)


def _gone(capability: str, attribute: Attribute | str) -> None:
    """Notes that `capability` lost what it relies on; logged once per process."""
    if capability in _missing:
        return
    _missing[capability] = str(attribute)
    log.warning(
        "internals: %s unavailable: %s is gone with %s; using the stock path",
        capability,
        attribute,
        versions(),
    )


def missing() -> dict[str, str]:
    """The capabilities found unavailable so far, with what they missed."""
    return dict(_missing)


# --- the FEC request -------------------------------------------------------------------------
def ask_opus_fec(transceiver: RTCRtpTransceiver, parameters: dict[str, int]) -> bool:
    """Adds fmtp `parameters` (RFC 7587 s6.1: `useinbandfec`, `maxaveragebitrate`) to the Opus
    codec negotiated for `transceiver`, before the answer is written: aiortc answers with its own
    codec's empty parameters and has no API for them. False when it could not."""
    codecs = CODECS.of(transceiver)
    if not isinstance(codecs, list):
        _gone(FEC_REQUEST, CODECS)
        return False
    asked = False
    for codec in codecs:
        if codec.mimeType.lower() == "audio/opus":
            codec.parameters.update(parameters)
            asked = True
    return asked


# --- the decoding receive path -----------------------------------------------------------------
def replace_receive_buffer(receiver: RTCRtpReceiver, buffer: JitterBuffer) -> bool:
    """Puts `buffer` where aiortc's receiver keeps its fixed jitter buffer (aiortc 1.x has no
    option for it), so each packet reaches `buffer.add` on arrival. False when it could not."""
    if not JITTER_BUFFER.on(receiver):
        _gone(RECEIVE_BUFFER, JITTER_BUFFER)
        return False
    setattr(receiver, JITTER_BUFFER.name, buffer)
    return True


# --- the DTLS role ------------------------------------------------------------------------------
def answer_as_dtls_server(transceiver: RTCRtpTransceiver) -> bool:
    """Makes the answer to an `a=setup:actpass` offer say `a=setup:passive`: Parley is the DTLS
    server, as RFC 9725's examples answer, so a client whose DTLS stack only makes RSA
    certificates (GStreamer 1.22) still finds a shared cipher. aiortc always answers `active`
    and has no API for it. Call after the remote offer is set; False when it could not."""
    dtls = transceiver.receiver.transport
    if DTLS_ROLE.of(dtls) is None or not callable(DTLS_SET_ROLE.of(dtls)):
        _gone(DTLS_SERVER, DTLS_ROLE if DTLS_ROLE.of(dtls) is None else DTLS_SET_ROLE)
        return False
    if DTLS_ROLE.of(dtls) != "auto":
        return False  # the offer chose (setup:active made us the server already)
    DTLS_SET_ROLE.of(dtls)("server")
    return True


# --- the listeners' fast path -------------------------------------------------------------------
@dataclass(frozen=True)
class SendRoute:
    """What sending RTP on a connected peer connection takes, without aiortc's sender."""

    payload_type: int
    ssrc: int
    # pylibsrtp.Session of the DTLS transport (its `protect` is public).
    srtp: Any
    # aioice's live map of nominated candidate pairs by component (1: RTP); each pair's
    # `protocol.transport` and `remote_addr` are public.
    nominated: dict[int, Any]


def listener_send_route(pc: RTCPeerConnection) -> SendRoute | None:
    """The route of a connected audio sender's packets; None while the connection is not up, or
    when an internal is gone (then logged once and reported)."""
    transceiver = next((t for t in pc.getTransceivers() if t.kind == "audio"), None)
    if transceiver is None:
        return None
    sender = transceiver.sender
    dtls = sender.transport
    for attribute, owner in ((CODECS, transceiver), (SSRC, sender), (SRTP, dtls)):
        if not attribute.on(owner):
            _gone(FAST_PATH, attribute)
            return None
    connection = ICE_CONNECTION.of(dtls.transport)
    if connection is None:
        _gone(FAST_PATH, ICE_CONNECTION)
        return None
    nominated = NOMINATED.of(connection)
    if not isinstance(nominated, dict):
        _gone(FAST_PATH, NOMINATED)
        return None
    codecs = CODECS.of(transceiver)
    srtp = SRTP.of(dtls)
    if not codecs or codecs[0].mimeType.lower() != "audio/opus" or codecs[0].payloadType is None:
        return None
    if srtp is None or not nominated:
        return None  # not connected yet
    return SendRoute(codecs[0].payloadType, SSRC.of(sender), srtp, nominated)


# --- PyAV's libopus -----------------------------------------------------------------------------
def bundled_libopus() -> list[str]:
    """The libopus files PyAV's wheel carries (its `av.libs` folder), for ctypes to load."""
    import av

    folder = os.path.join(os.path.dirname(av.__file__), "..", LIBS_FOLDER)
    return sorted(glob.glob(os.path.join(folder, "libopus*.so*")))


def no_libopus() -> None:
    """Notes that no libopus could be loaded at all (neither PyAV's nor the system's)."""
    _gone(BUNDLED_LIBOPUS, f"{LIBS_FOLDER}/libopus*.so (and no system libopus)")


# --- for benchmarks: hooks on a client's packets ------------------------------------------------
RtpHandler = Callable[..., Awaitable[None]]
SendRtp = Callable[[bytes], Awaitable[None]]


def _hooked(capability: str, attribute: Attribute, owner: Any) -> Any:
    original = attribute.of(owner)
    if original is None:
        _gone(capability, attribute)
        raise RuntimeError(f"{attribute} is gone with {versions()}")
    return original


def wrap_rtp_received(receiver: RTCRtpReceiver, wrap: Callable[[RtpHandler], RtpHandler]) -> None:
    """Routes every RTP packet `receiver` gets through `wrap(original)` (called as
    `handler(packet, arrival_time_ms=...)`): to time or drop packets in a client."""
    original = _hooked(RTP_HOOKS, RECEIVE_HOOK, receiver)
    setattr(receiver, RECEIVE_HOOK.name, wrap(original))


def wrap_rtp_sent(transport: RTCDtlsTransport, wrap: Callable[[SendRtp], SendRtp]) -> None:
    """Routes every datagram `transport` sends (RTP and RTCP alike) through `wrap(original)`."""
    original = _hooked(RTP_HOOKS, SEND_HOOK, transport)
    setattr(transport, SEND_HOOK.name, wrap(original))


def ice_protocols(transceiver: RTCRtpTransceiver) -> list[Any]:
    """The aioice `StunProtocol`s (one per local UDP socket) of a transceiver's ICE agent."""
    connection = _hooked(ICE_SOCKETS, ICE_CONNECTION, transceiver.receiver.transport.transport)
    protocols = _hooked(ICE_SOCKETS, PROTOCOLS, connection)
    assert isinstance(protocols, list)
    return protocols


# --- what /api/health shows -------------------------------------------------------------------
async def probe() -> dict[str, str]:
    """Checks, on a fresh peer connection, that what the server's capabilities touch is there;
    returns those found missing (also logged once each). Connection-time state (SRTP keys,
    nominated pairs) is checked by the internals test on a real connection."""
    pc = RTCPeerConnection()
    try:
        transceiver = pc.addTransceiver("audio")
        dtls = transceiver.sender.transport
        checks = (
            (FEC_REQUEST, CODECS, transceiver),
            (FAST_PATH, CODECS, transceiver),
            (FAST_PATH, SSRC, transceiver.sender),
            (FAST_PATH, SRTP, dtls),
            (FAST_PATH, ICE_CONNECTION, dtls.transport),
            (FAST_PATH, NOMINATED, ICE_CONNECTION.of(dtls.transport)),
            (RECEIVE_BUFFER, JITTER_BUFFER, transceiver.receiver),
            (DTLS_SERVER, DTLS_ROLE, dtls),
            (DTLS_SERVER, DTLS_SET_ROLE, dtls),
        )
        for capability, attribute, owner in checks:
            if not attribute.on(owner):
                _gone(capability, attribute)
    finally:
        await pc.close()
    return missing()
