"""The live room on this node: WebSocket clients, reaction windows, presence and host grace."""
