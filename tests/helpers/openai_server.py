"""A small, real OpenAI-compatible chat-completions server on loopback, for tests.

It speaks the wire protocol (JSON replies, server-sent-event streams ending in ``[DONE]``,
tool calls and their results, bearer keys, ``GET /models``) with a deterministic "model":

- the last message is a tool result -> ``"Tool result: <content>"``;
- tools are offered and the user text names one of them -> a call to that tool with
  arguments ``{"text": <user text>}``;
- otherwise -> ``"Echo: <last user text>"``.

Every request is recorded (``requests``); ``fail_next(n)`` makes the next n requests answer
500. Usage counts words. Runs a ThreadingHTTPServer in a daemon thread.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Recorded:
    path: str
    headers: dict[str, str]
    body: dict[str, Any]


def _words(text: str) -> int:
    return len(text.split())


def _reply_for(body: dict[str, Any]) -> tuple[str, list[dict[str, Any]]]:
    messages = body.get("messages") or []
    last = messages[-1] if messages else {"role": "user", "content": ""}
    if last.get("role") == "tool":
        return f"Tool result: {last.get('content')}", []
    user = str(last.get("content") or "")
    for tool in body.get("tools") or []:
        name = tool["function"]["name"]
        if name in user:
            call = {
                "id": f"call_{len(messages)}",
                "type": "function",
                "function": {"name": name, "arguments": json.dumps({"text": user})},
            }
            return "", [call]
    return f"Echo: {user}", []


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet."""

    def _json(self, status: int, payload: dict[str, Any]) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _authorized(self) -> bool:
        key = self.server.owner.api_key
        if key and self.headers.get("Authorization") != f"Bearer {key}":
            self._json(401, {"error": {"message": "invalid api key", "type": "auth"}})
            return False
        return True

    def do_GET(self) -> None:
        if not self._authorized():
            return
        if self.path.endswith("/models"):
            self._json(200, {"object": "list", "data": [{"id": "echo-1", "object": "model"}]})
        else:
            self._json(404, {"error": {"message": "not found"}})

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = json.loads(self.rfile.read(length) or b"{}")
        owner = self.server.owner
        owner.record(Recorded(self.path, dict(self.headers.items()), body))
        if not self.path.endswith("/chat/completions"):
            self._json(404, {"error": {"message": "not found"}})
            return
        if not self._authorized():
            return
        if owner.take_failure():
            self._json(500, {"error": {"message": "upstream exploded", "type": "server"}})
            return
        content, calls = _reply_for(body)
        prompt = sum(_words(str(m.get("content") or "")) for m in body.get("messages") or [])
        usage = {
            "prompt_tokens": prompt,
            "completion_tokens": _words(content) + len(calls),
            "total_tokens": prompt + _words(content) + len(calls),
        }
        finish = "tool_calls" if calls else "stop"
        if body.get("stream"):
            self._stream(body, content, calls, finish, usage)
            return
        message: dict[str, Any] = {"role": "assistant", "content": content or None}
        if calls:
            message["tool_calls"] = calls
        self._json(
            200,
            {
                "id": "chatcmpl-test",
                "object": "chat.completion",
                "model": body.get("model"),
                "choices": [{"index": 0, "message": message, "finish_reason": finish}],
                "usage": usage,
            },
        )

    def _stream(
        self,
        body: dict[str, Any],
        content: str,
        calls: list[dict[str, Any]],
        finish: str,
        usage: dict[str, int],
    ) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Connection", "close")
        self.end_headers()
        base = {"id": "chatcmpl-test", "object": "chat.completion.chunk", "model": body["model"]}

        def send(choices: list[dict[str, Any]], **extra: Any) -> None:
            chunk = {**base, "choices": choices, **extra}
            self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
            self.wfile.flush()

        send([{"index": 0, "delta": {"role": "assistant"}, "finish_reason": None}])
        words = content.split(" ")
        for i, word in enumerate(words):
            piece = word if i == len(words) - 1 else word + " "
            if piece:
                send([{"index": 0, "delta": {"content": piece}, "finish_reason": None}])
        for index, call in enumerate(calls):
            arguments = call["function"]["arguments"]
            half = len(arguments) // 2
            head = {
                "index": index,
                "id": call["id"],
                "type": "function",
                "function": {"name": call["function"]["name"], "arguments": arguments[:half]},
            }
            tail = {"index": index, "function": {"arguments": arguments[half:]}}
            for piece in (head, tail):
                send([{"index": 0, "delta": {"tool_calls": [piece]}, "finish_reason": None}])
        send([{"index": 0, "delta": {}, "finish_reason": finish}])
        if (body.get("stream_options") or {}).get("include_usage"):
            send([], usage=usage)
        self.wfile.write(b"data: [DONE]\n\n")
        self.wfile.flush()
        self.close_connection = True


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    owner: OpenAIServer


class OpenAIServer:
    """Start with ``with OpenAIServer() as server:``; ``server.base_url`` ends in ``/v1``."""

    def __init__(self, api_key: str | None = None) -> None:
        self.api_key = api_key
        self.requests: list[Recorded] = []
        self._failures = 0
        self._lock = threading.Lock()
        self._httpd = _Server(("127.0.0.1", 0), _Handler)
        self._httpd.owner = self
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def base_url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}/v1"

    def record(self, request: Recorded) -> None:
        with self._lock:
            self.requests.append(request)

    def fail_next(self, count: int) -> None:
        with self._lock:
            self._failures = count

    def take_failure(self) -> bool:
        with self._lock:
            if self._failures > 0:
                self._failures -= 1
                return True
            return False

    def __enter__(self) -> OpenAIServer:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)
