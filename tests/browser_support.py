"""What the browser tests share: Chromium flags and the audio levels they assert."""

from __future__ import annotations

SPEECH = (
    "Welcome to the stage. This is a test of live audio in Parley, spoken by a machine "
    "so that every listener in the room can hear a steady stream of words without long pauses."
)
AUTOPLAY = "--autoplay-policy=no-user-gesture-required"
# RMS of the received signal (full scale 1.0): speech at the fake microphone's level gives
# about -20 dBFS; an idle Opus stream decodes to (near) digital silence.
SPEAKING_MIN_RMS = 0.01
SILENCE_MAX_RMS = 0.002
