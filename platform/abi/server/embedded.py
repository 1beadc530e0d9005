"""Serving an app from a background thread of the current process (tests, embedding).

The listening socket is bound before the thread starts (port 0 picks a free port), so
``url`` is valid as soon as :meth:`ServerThread.start` returns.
"""

from __future__ import annotations

import asyncio
import os
import socket
import threading

from hypercorn.asyncio import serve
from hypercorn.config import Config
from quart import Quart


class ServerThread:
    """Hypercorn on ``host`` in a daemon thread with its own event loop."""

    def __init__(self, app: Quart, host: str = "127.0.0.1", port: int = 0) -> None:
        self.app = app
        self._sock = socket.create_server((host, port))
        self.host, self.port = self._sock.getsockname()[:2]
        self.url = f"http://{self.host}:{self.port}"
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._started = threading.Event()
        self._thread = threading.Thread(target=self._run, name="abi-server", daemon=True)
        self.error: BaseException | None = None

    def _config(self) -> Config:
        config = Config()
        config.bind = [f"fd://{os.dup(self._sock.fileno())}"]  # Hypercorn owns the dup
        config.accesslog = None
        config.errorlog = None
        config.graceful_timeout = 1.0
        config.keep_alive_max_requests = 1_000_000
        return config

    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        self._stop = asyncio.Event()
        self._started.set()
        try:
            loop.run_until_complete(
                serve(self.app, self._config(), shutdown_trigger=self._stop.wait)
            )
        except BaseException as exc:  # surfaced to the owner via .error
            self.error = exc
        finally:
            loop.close()

    def start(self) -> ServerThread:
        self._thread.start()
        self._started.wait()
        return self

    def stop(self, timeout: float = 10.0) -> None:
        if self._loop is not None and self._stop is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(timeout)
        self._sock.close()
