"""Output-path safety: no command writes over one of its inputs, or discovers too late it cannot write.

Every check runs before any work, so a refused command has changed nothing.

Engine code: not course material.
"""

from __future__ import annotations

import errno
import os
import stat
import tempfile
from collections.abc import Iterable
from pathlib import Path

from ..errors import OutputError
from .signals import signals_deferred

PathLike = str | os.PathLike


def _same_file(a: Path, b: Path) -> bool:
    """True if ``a`` and ``b`` name the same file: same resolved path, or the same inode (hard link)."""
    if a.resolve() == b.resolve():  # symlinks, "..", the input's own folder
        return True
    try:
        return os.path.samefile(a, b)  # hard links, case-insensitive file systems
    except OSError:
        return False  # one of them does not exist (yet): it cannot be the other


def refuse_input_overwrite(
    outputs: Iterable[PathLike], inputs: Iterable[PathLike], what: str = "input"
) -> None:
    """Raise OutputError if any output path resolves to any input (path, symlink or hard link)."""
    ins = [Path(p) for p in inputs]
    for out in map(Path, outputs):
        for src in ins:
            if not _same_file(out, src):
                continue
            if str(out) == str(src):
                raise OutputError(f"{out}: is the {what}; refusing to overwrite it")
            raise OutputError(
                f"{out}: refusing to write there, it is the {what} {src} (same file); "
                "choose another output"
            )


def _existing_ancestor(path: Path) -> Path:
    p = path.absolute()
    while not p.exists() and p != p.parent:
        p = p.parent
    return p


def describe_os_error(exc: OSError) -> str:
    """Return a short reason for an OSError ("no space left on device", "read-only file system")."""
    if exc.errno is not None and exc.errno in errno.errorcode:
        return os.strerror(exc.errno).lower()
    return str(exc) or type(exc).__name__


def check_writable_file(path: PathLike, what: str = "output") -> Path:
    """Return ``path`` if a file can be created there; raise OutputError naming it otherwise.

    The probe creates (and removes) a hidden file in the nearest existing folder, which is the only
    honest test: permission bits say nothing for root, nor about read-only mounts.
    """
    p = Path(path)
    if p.is_dir():
        raise OutputError(f"{p}: is a directory; give a file name for the {what}")
    refuse_special_file(p, what)
    parent = _existing_ancestor(p.parent)
    if not parent.is_dir():
        raise OutputError(f"{p}: cannot create the {what}: {parent} is not a directory")
    probe_dir(parent, p, what)
    return p


def refuse_special_file(path: PathLike, what: str = "output") -> None:
    """Raise OutputError if ``path`` exists and is not an ordinary, writable file.

    The writers put a finished temporary file in its place, which would turn a device (``/dev/null``,
    a disk), a named pipe or a socket into an ordinary file, and would replace a file the user made
    read-only (``chmod a-w``) even as root.
    """
    p = Path(path)
    try:
        st = p.stat()  # follows a symlink: a link to /dev/null is refused too
    except OSError:
        return  # absent (or unreadable: the write itself reports that)
    if not stat.S_ISREG(st.st_mode):
        kind = (
            "a directory"
            if stat.S_ISDIR(st.st_mode)
            else "not an ordinary file (a device, pipe or socket)"
        )
        raise OutputError(f"{p}: is {kind}; refusing to write the {what} there, give a file name")
    if not st.st_mode & 0o222:
        raise OutputError(
            f"{p}: is read-only (no write permission); refusing to replace it, "
            "remove it or choose another name"
        )


def check_writable_dir(path: PathLike, what: str = "output folder") -> Path:
    """Return ``path`` if it is (or can become) a folder we can write into; raise OutputError otherwise."""
    p = Path(path)
    if p.exists() and not p.is_dir():
        raise OutputError(f"{p}: exists and is not a directory (the {what})")
    parent = _existing_ancestor(p)
    if not parent.is_dir():
        raise OutputError(f"{p}: cannot create the {what}: {parent} is not a directory")
    probe_dir(parent, p, what)
    return p


def probe_dir(folder: Path, named: Path, what: str) -> None:
    """Create and delete a hidden file in ``folder``; raise OutputError naming ``named`` on failure."""
    try:
        with signals_deferred():  # a Ctrl-C here must not strand the probe file
            fd, name = tempfile.mkstemp(prefix=".write-probe-", dir=folder)
            os.close(fd)
            os.unlink(name)
    except OSError as exc:
        raise OutputError(f"{named}: cannot write the {what} ({describe_os_error(exc)})") from None


def explain_write_failure(folder: PathLike, fallback: str) -> str:
    """Return why writing into ``folder`` failed when the writer only said "System error".

    libsndfile reports a full disk as "System error."; the file system itself can say more.
    """
    try:
        st = os.statvfs(folder)
    except (OSError, AttributeError):  # AttributeError: no statvfs on Windows
        return fallback
    if st.f_flag & getattr(os, "ST_RDONLY", 1):
        return "read-only file system"
    if st.f_bavail * st.f_frsize < 64 * 1024:
        return "no space left on device"
    return fallback
