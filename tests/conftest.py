"""Shared pytest fixtures: small and generic, no network beyond 127.0.0.1."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from ravdess_server import LoopbackServer  # tests/ is on sys.path (pytest rootdir-relative import)


@pytest.fixture
def http_server() -> Iterator[LoopbackServer]:
    """A threaded HTTP server on 127.0.0.1 (port 0); ``add(path, body, ...)`` returns a URL."""
    server = LoopbackServer().start()
    try:
        yield server
    finally:
        server.stop()
