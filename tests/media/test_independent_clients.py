"""WebRTC stacks none of us wrote publish to a space and listen to it: GStreamer's webrtcbin
(tests/tools/gst_webrtc.py, on Debian's GStreamer 1.22), the tone checked by FFT at the far end."""

from __future__ import annotations

import asyncio
import json
import subprocess
import wave
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from media_support import tone_level
from support import CI, Running
from webrtc_client import WebRtcClient

pytestmark = [pytest.mark.integration, pytest.mark.slow]

SYSTEM_PYTHON = "/usr/bin/python3"
GST_CLIENT = Path(__file__).resolve().parent.parent / "tools" / "gst_webrtc.py"
HZ = 440.0


def _require_gstreamer() -> None:
    probe = subprocess.run(
        [SYSTEM_PYTHON, "-c", "import gi; gi.require_version('GstWebRTC', '1.0')"],
        capture_output=True,
        check=False,
    )
    if probe.returncode != 0:
        message = (
            "GStreamer's webrtcbin with PyGObject is not installed (scripts/install.sh --test)"
        )
        if CI:
            pytest.fail(message, pytrace=False)
        pytest.skip(message)


async def _gst(*args: str, timeout_s: float = 60.0) -> dict[str, Any]:
    process = await asyncio.create_subprocess_exec(
        SYSTEM_PYTHON,
        str(GST_CLIENT),
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), timeout_s)
    assert process.returncode == 0, err.decode()[-2000:]
    report: dict[str, Any] = json.loads(out.decode().strip().splitlines()[-1])
    return report


def _read_wav(path: Path) -> np.ndarray:
    with wave.open(str(path)) as wav:
        assert (wav.getframerate(), wav.getnchannels()) == (48000, 1)
        return np.frombuffer(wav.readframes(wav.getnframes()), dtype=np.int16)


async def test_gstreamer_publishes_over_whip_and_listens_over_whep(
    server: Running, tmp_path: Path
) -> None:
    _require_gstreamer()
    host = await server.signup("host")
    listener = await server.signup("listener")
    space = await host.create_space("Independent")
    sid = space["id"]
    await listener.join(sid)
    ours = WebRtcClient(server.base_url, listener.token, sid, "whep")
    assert (await ours.connect()).status_code == 201
    wav = tmp_path / "gstreamer-heard.wav"
    try:
        heard, published = await asyncio.gather(
            _gst(
                "listen",
                f"{server.base_url}/api/spaces/{sid}/whep",
                listener.token,
                "--seconds",
                "7",
                "--wav",
                str(wav),
            ),
            _gst(
                "publish",
                # On air once its audio reaches the server, as a broadcasting tool asks.
                f"{server.base_url}/api/spaces/{sid}/whip?unmute=true",
                host.token,
                "--hz",
                str(HZ),
                "--seconds",
                "6",
            ),
        )
        our_recording = ours.recording.since(0)
    finally:
        await ours.close()
    for report in (heard, published):
        assert report["status"] == 201, report
        assert report["answer_setup"] == ["passive"], report  # Parley is the DTLS server
        assert report["connection"] == "connected", report
        assert report["delete_status"] == 200, report
    # GStreamer's tone reached our listener, and the stage's mix reached GStreamer's.
    assert tone_level(our_recording, HZ) > 0.05
    samples = _read_wav(wav)
    assert samples.size > 48000 * 2
    assert tone_level(samples, HZ) > 0.05
