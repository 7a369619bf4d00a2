"""Stub of ``google.colab.drive``."""

from __future__ import annotations

from ._record import record


def mount(mountpoint: str, force_remount: bool = False) -> None:
    """Create the mount point as a plain folder and record the call."""
    from pathlib import Path

    Path(mountpoint, "MyDrive").mkdir(parents=True, exist_ok=True)
    record("mounts.txt", mountpoint)
