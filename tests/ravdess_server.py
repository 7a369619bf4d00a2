"""A loopback HTTP server for download tests: serves bytes, honours (or ignores) Range, drops
connections on purpose, answers with error codes, and records every request it gets."""

from __future__ import annotations

import re
import socket
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Route:
    """What the server does for one path."""

    body: bytes = b""
    status: int = 200  # anything but 200 is sent as an error response
    honour_range: bool = True  # False: answer every request with 200 and the whole body
    drop_after: int | None = None  # close the socket after this many body bytes ...
    drops: int = 0  # ... on this many requests (the first ones)


@dataclass
class Served:
    """One request as the server saw it."""

    path: str
    range: str | None
    status: int
    bytes_sent: int = 0


@dataclass
class LoopbackServer:
    """Threaded ``http.server`` on 127.0.0.1, port chosen by the OS."""

    routes: dict[str, Route] = field(default_factory=dict)
    requests: list[Served] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:  # keep test output quiet
                pass

            def do_GET(self) -> None:
                server._handle(self)

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        # A short poll interval keeps shutdown (fixture teardown) quick.
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    @property
    def port(self) -> int:
        return self._httpd.server_address[1]

    def url(self, path: str) -> str:
        """Full URL of ``path`` (which may carry a query string) on this server."""
        return f"http://127.0.0.1:{self.port}{path}"

    def add(self, path: str, body: bytes = b"", **options: object) -> str:
        """Serve ``body`` at ``path`` (query string ignored) and return its URL."""
        self.routes[path.split("?", 1)[0]] = Route(body=body, **options)  # type: ignore[arg-type]
        return self.url(path)

    def start(self) -> LoopbackServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)

    def _handle(self, h: BaseHTTPRequestHandler) -> None:
        path = h.path.split("?", 1)[0]
        range_header = h.headers.get("Range")
        route = self.routes.get(path)
        record = Served(path, range_header, 404 if route is None else route.status)
        with self._lock:
            self.requests.append(record)
            drop = route is not None and route.drops > 0
            if drop:
                route.drops -= 1
        if route is None or route.status != 200:
            h.send_error(record.status)
            return
        body, start = route.body, 0
        m = re.fullmatch(r"bytes=(\d+)-", range_header or "")
        if route.honour_range and m:
            start = int(m.group(1))
            if start >= len(body):
                record.status = 416
                h.send_response(416)
                h.send_header("Content-Range", f"bytes */{len(body)}")
                h.send_header("Content-Length", "0")
                h.end_headers()
                return
            record.status = 206
            h.send_response(206)
            h.send_header("Content-Range", f"bytes {start}-{len(body) - 1}/{len(body)}")
        else:
            h.send_response(200)
        chunk = body[start:]
        h.send_header("Content-Type", "application/zip")
        h.send_header("Content-Length", str(len(chunk)))
        h.end_headers()
        if drop and route.drop_after is not None:
            chunk = chunk[: route.drop_after]
        h.wfile.write(chunk)
        h.wfile.flush()
        record.bytes_sent = len(chunk)
        if drop:
            # Cut the connection short of the announced Content-Length.
            h.close_connection = True
            h.connection.shutdown(socket.SHUT_RDWR)
