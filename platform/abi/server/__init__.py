"""The HTTP/WebSocket face: a Quart app served by Hypercorn."""
