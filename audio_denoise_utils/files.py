"""Atomic file writes: an output appears complete, or not at all.

Engine code: not course material.
"""

from __future__ import annotations

import errno
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from .engine.paths import refuse_special_file
from .engine.signals import signals_deferred
from .errors import OutputError

# Errors that say "this place cannot take the file", reported against the user's path.
_WRITE_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES, errno.EPERM, errno.EFBIG}


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _output_error(dst: Path, exc: OSError) -> OutputError:
    reason = os.strerror(exc.errno).lower() if exc.errno else str(exc)
    err = OutputError(f"{dst}: cannot write ({reason})")
    err.reason = reason  # for callers that name another path (a download names its folder)
    return err


@contextmanager
def atomic_write(path: str | os.PathLike, suffix: str = ".part") -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it to ``path`` on success, delete it on error.

    A crash, a full disk, Ctrl-C, SIGTERM (see the CLI) or bad input mid-way therefore never
    leaves a half-written output, and an older file at ``path`` stays as it was until the new one
    is complete (and flushed to disk). The file gets the permissions an ordinary new file would
    (``mkstemp`` alone makes it private). ``suffix`` keeps the extension when the writer infers
    the format from the name. A place that cannot take the file (full, read-only, no permission)
    raises OutputError naming ``path``, never the temporary name; so does a ``path`` that is a
    device, a named pipe or a read-only file, which the rename would replace.
    """
    dst = Path(path)
    refuse_special_file(dst)
    tmp: Path | None = None
    try:
        dst.parent.mkdir(parents=True, exist_ok=True)
        with signals_deferred():  # no window where the temporary file exists untracked
            fd, name = tempfile.mkstemp(prefix=f".{dst.name}.", suffix=suffix, dir=dst.parent)
            os.close(fd)
            tmp = Path(name)
        yield tmp
        os.chmod(tmp, 0o666 & ~_umask())
        _fsync(tmp)
        os.replace(tmp, dst)
    except OSError as exc:
        if tmp is not None:
            tmp.unlink(missing_ok=True)
        if exc.errno in _WRITE_ERRNOS or (tmp is not None and exc.filename == str(tmp)):
            raise _output_error(dst, exc) from None
        raise
    except BaseException:
        if tmp is not None:
            tmp.unlink(missing_ok=True)
        raise
