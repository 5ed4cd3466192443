"""HTTP and WebSocket edge: parse, authenticate, call an action, shape the answer."""
