"""Fault injection for the data-safety tests: make the k-th file-system operation fail.

``FileSystemFaults`` wraps the calls that change the file system (rename, mkdir, unlink, rmdir,
open for writing, fsync) in the main thread. It counts them, and can make the k-th one fail
with a full disk (ENOSPC) or a Ctrl-C (KeyboardInterrupt), once ("transient") or from then on
("crash": every later call fails too, as if the machine had lost power at that instant). A
clean run counts the calls, so a test can sweep every step of a procedure.

``tmpfs`` mounts a tiny RAM file system (root only) for real "disk full" and "read-only" cases;
it yields None where mounting is not permitted, and tests then skip that variant.
"""

from __future__ import annotations

import builtins
import errno
import io
import os
import shutil
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

_OS_CALLS = ("replace", "rename", "mkdir", "unlink", "rmdir", "fsync", "open", "makedirs")
_WRITE_MODES = set("wxa+")


class InjectedCrash(BaseException):
    """Raised by every call after a "crash" fault: the process is as good as dead."""


class FileSystemFaults:
    """Count file-system changes; make the ``fail_at``-th fail (``kind``: enospc|interrupt|crash)."""

    def __init__(self, fail_at: int | None = None, kind: str = "enospc"):
        self.fail_at, self.kind = fail_at, kind
        self.calls: list[str] = []
        self.crashed = False

    def _check(self, name: str, target: object) -> None:
        if threading.current_thread() is not threading.main_thread():
            return
        if self.crashed:
            raise InjectedCrash(f"{name} after the crash")
        self.calls.append(f"{name} {target}")
        if self.fail_at is None or len(self.calls) != self.fail_at:
            return
        if self.kind == "interrupt":
            raise KeyboardInterrupt(f"injected at {name} {target}")
        if self.kind == "crash":
            self.crashed = True
            raise InjectedCrash(f"injected crash at {name} {target}")
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(target))

    @contextmanager
    def active(self) -> Iterator[FileSystemFaults]:
        originals = {name: getattr(os, name) for name in _OS_CALLS}
        real_open = builtins.open
        real_rmtree = shutil.rmtree

        def wrap(name):
            real = originals[name]

            def call(*args, **kwargs):
                if name == "open":  # os.open: only creating/writing flags change anything
                    flags = args[1] if len(args) > 1 else kwargs.get("flags", 0)
                    if flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT):
                        self._check("os.open", args[0])
                else:
                    self._check(name, args[0] if args else "")
                return real(*args, **kwargs)

            return call

        def open_(file, mode="r", *args, **kwargs):
            if isinstance(mode, str) and _WRITE_MODES & set(mode):
                self._check("open", file)
            return real_open(file, mode, *args, **kwargs)

        def rmtree(path, *args, **kwargs):
            self._check("rmtree", path)
            return real_rmtree(path, *args, **kwargs)

        try:
            for name in _OS_CALLS:
                setattr(os, name, wrap(name))
            builtins.open = io.open = open_
            shutil.rmtree = rmtree
            yield self
        finally:
            for name, real in originals.items():
                setattr(os, name, real)
            builtins.open = io.open = real_open
            shutil.rmtree = real_rmtree


@contextmanager
def tmpfs(path: Path, size: str = "256k", read_only: bool = False) -> Iterator[Path | None]:
    """Mount a tmpfs of ``size`` at ``path`` (made if needed); yield it, or None if not permitted."""
    path.mkdir(parents=True, exist_ok=True)
    opts = f"size={size}" + (",ro" if read_only else "")
    if os.geteuid() != 0 or shutil.which("mount") is None:
        yield None
        return
    proc = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", opts, "tmpfs", str(path)], capture_output=True
    )
    if proc.returncode != 0:
        yield None
        return
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], capture_output=True)
