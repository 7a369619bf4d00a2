"""Transactional install of an extracted archive into a destination folder (RAVDESS downloads).

A re-download must never cost the learner the download they already have. The install
therefore runs in three phases, all inside ``DEST`` (so every move is a rename on one file
system, even when ``DEST`` is a mount point)::

    DEST/.install/new/       1. the archive is extracted here; any failure: delete .install, done
    DEST/.install/journal    2. written before the first move: what is being swapped
    DEST/.install/old/       3. old entries move here, new ones into DEST, then the marker

The marker ``DEST/.complete`` is replaced last, atomically: that single rename is the commit.
Before it, any failure (an exception, Ctrl-C, SIGTERM, a full disk) moves everything back, so
the old marker again describes exactly the old files. The moves run with those signals held, so
only a hard kill or a power cut can stop them half-way; then the journal stays, ``is_complete``
says False, and the next download run finishes the rollback (or the commit) with
:func:`recover` before doing anything else.

Engine code: not course material.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
from collections.abc import Callable, Iterable
from pathlib import Path

from ..errors import DownloadError, UnsafeArchiveError
from ..files import atomic_write
from .signals import signals_deferred

MARKER_NAME = ".complete"
DOWNLOAD_DIR = ".download"
STAGING_DIR = ".install"
JOURNAL_NAME = "journal.json"
#: Names an archive may not use at its top level: they belong to the download machinery.
RESERVED = (MARKER_NAME, DOWNLOAD_DIR, STAGING_DIR)


def read_marker(dest: Path) -> dict | None:
    """Return the parsed ``.complete`` marker of ``dest``, or None if missing or unreadable."""
    try:
        marker = json.loads((dest / MARKER_NAME).read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(marker, dict) or not isinstance(marker.get("entries"), list):
        return None
    return marker


def write_json(path: Path, data: dict) -> None:
    """Write ``data`` as JSON to ``path`` atomically and durably (fsync before the rename)."""
    with atomic_write(path, suffix=".tmp") as tmp:
        tmp.write_text(json.dumps(data, indent=2) + "\n")


def _read_journal(dest: Path) -> dict | None:
    try:
        journal = json.loads((dest / STAGING_DIR / JOURNAL_NAME).read_text())
    except (OSError, ValueError):
        return None
    return journal if isinstance(journal, dict) else None


def swap_pending(dest: Path) -> bool:
    """Return True while an install into ``dest`` stopped half-way: a journal not yet committed."""
    if not (dest / STAGING_DIR / JOURNAL_NAME).exists():
        return False
    journal, marker = _read_journal(dest), read_marker(dest)
    return not (journal and marker and marker.get("install_id") == journal.get("install_id"))


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    else:
        path.unlink(missing_ok=True)


def _rollback(dest: Path, journal: dict) -> None:
    """Undo the moves the journal describes, whatever point they reached (idempotent)."""
    staging = dest / STAGING_DIR
    new, old = staging / "new", staging / "old"
    for entry in journal["entries"]:
        # A new entry no longer in new/ was moved into DEST: move it back out.
        if not os.path.lexists(new / entry) and os.path.lexists(dest / entry):
            os.replace(dest / entry, new / entry)
    for entry in journal["moved_out"]:
        if os.path.lexists(old / entry):
            os.replace(old / entry, dest / entry)


def _rollback_retrying(dest: Path, journal: dict, attempts: int = 3) -> None:
    """Roll back, retrying a transient failure; if it persists the journal stays for recover()."""
    for attempt in range(attempts):
        try:
            _rollback(dest, journal)
            return
        except OSError:
            if attempt == attempts - 1:
                raise


def recover(dest: Path) -> None:
    """Finish an install that was killed half-way: roll back, or forward if it had committed.

    Leftovers of an extraction that never started swapping are simply removed.
    """
    staging = dest / STAGING_DIR
    if not staging.exists():
        return
    journal_path = staging / JOURNAL_NAME
    if journal_path.exists():
        try:
            journal = json.loads(journal_path.read_text())
        except (OSError, ValueError) as exc:
            raise DownloadError(
                f"{dest}: an interrupted install left an unreadable journal ({exc}); "
                f"move {staging} away and run the download again"
            ) from None
        marker = read_marker(dest)
        committed = marker is not None and marker.get("install_id") == journal.get("install_id")
        if not committed:
            with signals_deferred():
                _rollback(dest, journal)
        journal_path.unlink()
    shutil.rmtree(staging)


def install(
    archive: Path,
    dest: Path,
    info: dict,
    extract: Callable[[Path, Path], list[Path]],
    owned: Iterable[str] = (),
) -> list[str]:
    """Install ``archive`` into ``dest`` transactionally and return its top-level entries.

    ``extract(archive, folder)`` unpacks into an empty folder and returns the files written
    (raising for unsafe or unreadable archives). ``info`` goes into the new marker. Entries of
    the previous install (its marker, plus ``owned``) are replaced; any other existing entry of
    the same name is refused (DownloadError), so a learner's own folder is never overwritten.
    """
    recover(dest)
    old_marker = read_marker(dest)
    ours = set(old_marker["entries"]) if old_marker else set()
    ours |= set(owned)
    staging = dest / STAGING_DIR
    new, old = staging / "new", staging / "old"
    journal: dict | None = None
    try:
        new.mkdir(parents=True)
        files = extract(archive, new)
        entries = sorted(p.name for p in new.iterdir())
        for entry in entries:
            if entry in RESERVED or entry.startswith(MARKER_NAME):
                raise UnsafeArchiveError(
                    f"{archive}: entry {entry!r} clashes with the download's own files"
                )
            if os.path.lexists(dest / entry) and entry not in ours:
                raise DownloadError(
                    f"{dest / entry} already exists and was not made by this download; "
                    "move it away or choose another destination"
                )
        present_old = sorted(e for e in ours if os.path.lexists(dest / e))
        old.mkdir()
        plan = {"install_id": secrets.token_hex(8), "entries": entries, "moved_out": present_old}
        write_json(staging / JOURNAL_NAME, plan)
        journal = plan
        marker = {**info, "files": len(files), "entries": entries, "install_id": plan["install_id"]}
        with signals_deferred():  # Ctrl-C / SIGTERM wait until the swap is done or undone
            try:
                for entry in present_old:
                    os.replace(dest / entry, old / entry)
                for entry in entries:
                    os.replace(new / entry, dest / entry)
                write_json(dest / MARKER_NAME, marker)  # the commit
            except BaseException:
                # An interruption may land just after the marker's rename: then it committed.
                if (read_marker(dest) or {}).get("install_id") != plan["install_id"]:
                    _rollback_retrying(dest, plan)
                journal = None  # rolled back: the journal is deleted with the staging folder
                raise
        journal = None  # committed: what is left in staging is only the old files
    finally:
        if journal is None:  # a journal still present means the rollback itself failed
            shutil.rmtree(staging, ignore_errors=True)
    return entries
