"""The media engine: WebRTC sessions, the stage mixer, encoding once, fan-out to listeners."""
