"""A WHIP publisher or WHEP listener on GStreamer's webrtcbin: a WebRTC stack none of us wrote.

Run with Debian's Python (it has PyGObject and GStreamer's bindings; the project's .venv has not):

    /usr/bin/python3 tests/tools/gst_webrtc.py publish URL TOKEN --hz 440 --seconds 6
    /usr/bin/python3 tests/tools/gst_webrtc.py listen URL TOKEN --seconds 6 --wav out.wav

`publish` sends a sine tone (Opus, as GStreamer's opusenc makes it) to a WHIP endpoint; `listen`
offers to receive audio from a WHEP endpoint and writes what it decodes to a WAV file. Both offer
with every ICE candidate in the offer (no trickle), as RFC 9725 clients may, end the session with
DELETE on its Location, and print one JSON line of what happened.
"""

from __future__ import annotations

import argparse
import json
import sys
import urllib.error
import urllib.parse
import urllib.request

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstSdp", "1.0")
gi.require_version("GstWebRTC", "1.0")
from gi.repository import GLib, Gst, GstSdp, GstWebRTC  # noqa: E402

OPUS_CAPS = "application/x-rtp,media=audio,encoding-name=OPUS,payload=111,clock-rate=48000"


class Session:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.loop = GLib.MainLoop()
        self.report: dict[str, object] = {"mode": args.mode}
        self.location: str | None = None
        if args.mode == "publish":
            description = (
                f"audiotestsrc is-live=true wave=sine freq={args.hz} volume=0.3 ! audioconvert ! "
                f"audioresample ! audio/x-raw,rate=48000,channels=1 ! opusenc ! "
                f"rtpopuspay pt=111 ! {OPUS_CAPS} ! webrtcbin name=webrtc bundle-policy=max-bundle"
            )
            self.pipeline = Gst.parse_launch(description)
            self.webrtc = self.pipeline.get_by_name("webrtc")
        else:
            self.pipeline = Gst.Pipeline.new("listen")
            self.webrtc = Gst.ElementFactory.make("webrtcbin", "webrtc")
            self.webrtc.set_property("bundle-policy", "max-bundle")
            self.pipeline.add(self.webrtc)
        if args.mode == "listen":
            caps = Gst.Caps.from_string(OPUS_CAPS)
            direction = GstWebRTC.WebRTCRTPTransceiverDirection.RECVONLY
            self.webrtc.emit("add-transceiver", direction, caps)
        self.webrtc.connect("pad-added", self._on_pad)
        self.webrtc.connect("on-negotiation-needed", self._on_negotiation_needed)
        self.webrtc.connect("notify::ice-gathering-state", self._on_gathering)
        self.webrtc.connect("notify::connection-state", self._on_connection)
        bus = self.pipeline.get_bus()
        bus.add_signal_watch()
        bus.connect("message::error", self._on_error)
        self._offered = False

    # --- signalling over HTTP (WHIP / WHEP) ------------------------------------------------------
    def _on_negotiation_needed(self, element: Gst.Element) -> None:
        promise = Gst.Promise.new_with_change_func(self._on_offer_created, None)
        element.emit("create-offer", None, promise)

    def _on_offer_created(self, promise: Gst.Promise, _: object) -> None:
        reply = promise.get_reply()  # held: the offer lives in it
        offer = reply.get_value("offer")
        self.webrtc.emit("set-local-description", offer, Gst.Promise.new())

    def _on_gathering(self, element: Gst.Element, _: object) -> None:
        state = element.get_property("ice-gathering-state")
        if state == GstWebRTC.WebRTCICEGatheringState.COMPLETE and not self._offered:
            self._offered = True
            GLib.idle_add(self._post_offer)

    def _post_offer(self) -> bool:
        offer = self.webrtc.get_property("local-description").sdp.as_text()
        request = urllib.request.Request(
            self.args.url,
            data=offer.encode(),
            method="POST",
            headers={
                "Content-Type": "application/sdp",
                "Authorization": f"Bearer {self.args.token}",
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=20) as response:
                status, answer = response.status, response.read().decode()
                location = response.headers["Location"]
        except urllib.error.HTTPError as error:
            self.report.update(status=error.code, error=error.read().decode()[:300])
            self.loop.quit()
            return False
        except OSError as error:
            self.report.update(status=None, error=str(error))
            self.loop.quit()
            return False
        self.report["status"] = status
        self.report["answer_setup"] = [
            line.split(":", 1)[1] for line in answer.splitlines() if line.startswith("a=setup:")
        ]
        self.location = urllib.parse.urljoin(self.args.url, location)
        _, message = GstSdp.SDPMessage.new_from_text(answer)
        description = GstWebRTC.WebRTCSessionDescription.new(
            GstWebRTC.WebRTCSDPType.ANSWER, message
        )
        self.webrtc.emit("set-remote-description", description, Gst.Promise.new())
        GLib.timeout_add(int(self.args.seconds * 1000), self._finish)
        return False

    def _delete(self) -> None:
        if self.location is None:
            return
        request = urllib.request.Request(
            self.location, method="DELETE", headers={"Authorization": f"Bearer {self.args.token}"}
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                self.report["delete_status"] = response.status
        except urllib.error.HTTPError as error:
            self.report["delete_status"] = error.code

    # --- media -------------------------------------------------------------------------------
    def _on_pad(self, element: Gst.Element, pad: Gst.Pad) -> None:
        if pad.direction != Gst.PadDirection.SRC:
            return
        if self.args.mode == "publish":
            # What a publisher hears back (their mix-minus) is not examined here.
            sink = Gst.parse_bin_from_description("fakesink", True)
        else:
            sink = Gst.parse_bin_from_description(
                "rtpopusdepay ! opusdec ! audioconvert ! audioresample ! "
                f"audio/x-raw,format=S16LE,rate=48000,channels=1 ! wavenc ! "
                f"filesink location={self.args.wav}",
                True,
            )
        self.pipeline.add(sink)
        sink.sync_state_with_parent()
        pad.link(sink.get_static_pad("sink"))
        self.report["receiving"] = True

    def _on_connection(self, element: Gst.Element, _: object) -> None:
        state = element.get_property("connection-state")
        self.report["connection"] = state.value_nick
        if state == GstWebRTC.WebRTCPeerConnectionState.FAILED:
            self.loop.quit()

    def _on_error(self, _: Gst.Bus, message: Gst.Message) -> None:
        error, debug = message.parse_error()
        self.report["gstreamer_error"] = f"{error.message} ({debug})"[:300]
        self.loop.quit()

    def _finish(self) -> bool:
        # EOS first, so the WAV header gets its sizes, then leave the session.
        self.pipeline.send_event(Gst.Event.new_eos())
        self.pipeline.get_bus().timed_pop_filtered(3 * Gst.SECOND, Gst.MessageType.EOS)
        self._delete()
        self.loop.quit()
        return False

    def run(self) -> dict[str, object]:
        self.pipeline.set_state(Gst.State.PLAYING)
        GLib.timeout_add(int((self.args.seconds + 30) * 1000), self.loop.quit)  # a safety net
        self.loop.run()
        self.pipeline.set_state(Gst.State.NULL)
        return self.report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("mode", choices=("publish", "listen"))
    parser.add_argument("url", help="the WHIP or WHEP endpoint")
    parser.add_argument("token", help="a personal API token (Bearer)")
    parser.add_argument("--hz", type=float, default=440.0)
    parser.add_argument("--seconds", type=float, default=6.0)
    parser.add_argument("--wav", default="received.wav")
    args = parser.parse_args()
    Gst.init(None)
    print(json.dumps(Session(args).run()))
    sys.stdout.flush()


if __name__ == "__main__":
    main()
