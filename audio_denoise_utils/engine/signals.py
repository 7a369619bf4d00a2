"""SIGTERM handled like Ctrl-C: cleanup code (``finally``, atomic writes) runs on both.

Python turns SIGINT into KeyboardInterrupt but dies on SIGTERM without unwinding, which would
leave temporary files behind. :func:`terminate_gracefully` makes SIGTERM raise too.

Engine code: not course material.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager


class Terminated(KeyboardInterrupt):
    """Raised in the main thread when the process receives SIGTERM (or SIGHUP)."""


def _raise(signum: int, frame: object) -> None:
    raise Terminated(f"received {signal.Signals(signum).name}")


@contextmanager
def terminate_gracefully() -> Iterator[None]:
    """Within the block, SIGTERM and SIGHUP raise :class:`Terminated`; previous handlers are restored."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    names = ("SIGTERM", "SIGHUP")
    old = {}
    for name in names:
        sig = getattr(signal, name, None)
        if sig is not None:
            old[sig] = signal.signal(sig, _raise)
    try:
        yield
    finally:
        for sig, handler in old.items():
            signal.signal(sig, handler)


@contextmanager
def signals_deferred() -> Iterator[None]:
    """Hold SIGINT/SIGTERM/SIGHUP during a few system calls that must not be split (POSIX only).

    Best effort: a signal delivered to another thread can still reach the Python handler early,
    so callers also undo their work on KeyboardInterrupt; this only narrows the window.
    """
    mask = getattr(signal, "pthread_sigmask", None)
    sigs = {getattr(signal, n) for n in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, n)}
    if mask is None or threading.current_thread() is not threading.main_thread():
        yield
        return
    old = mask(signal.SIG_BLOCK, sigs)
    try:
        yield
    finally:
        mask(signal.SIG_SETMASK, old)
