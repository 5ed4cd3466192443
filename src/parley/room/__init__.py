"""The live room on this node: WebSocket clients, reaction windows, presence, host grace, and the
media of its live spaces (room/media.py drives the media engine from the store and the bus)."""
