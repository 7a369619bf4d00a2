"""Where the course keeps things: one home folder with ``data/`` and ``runs/``, and a decode cache.

Default paths never depend on the working folder (a notebook runs from ``notebooks/``, a terminal
from anywhere):

- **project**: the course checkout holding ``audio_denoise_utils/`` and ``data/sample/`` (the
  bundled sample and the shipped checkpoint live there).
- **home** (``AUDIO_DENOISE_HOME``): holds ``data/`` (``data/ravdess`` is where ``download``
  writes and what ``train``/``evaluate`` read) and ``runs/`` (checkpoints of training runs).
  Default: the project; for an install without a checkout (or a read-only one), the user's data
  folder (``$XDG_DATA_HOME/audio-denoise``, usually ``~/.local/share/audio-denoise``). In Colab,
  ``course.setup(drive=True)`` points it at Google Drive so that data and runs outlive the VM.
- **cache** (``AUDIO_DENOISE_CACHE``): decoded, resampled clips as ``.npy`` files. Default:
  ``<home>/data/cache`` for a writable checkout or a set home, else the user's cache folder
  (``$XDG_CACHE_HOME/audio-denoise``, usually ``~/.cache/audio-denoise``). Nothing is ever
  written inside the installed package.

Notebook plumbing: not course material.
"""

from __future__ import annotations

import os
from pathlib import Path

HOME_ENV = "AUDIO_DENOISE_HOME"
CACHE_ENV = "AUDIO_DENOISE_CACHE"
ROOT_ENV = "AUDIO_DENOISE_ROOT"  # the project checkout, when it cannot be found otherwise

_PACKAGE_DIR = Path(__file__).resolve().parent


def _is_project(folder: Path) -> bool:
    return (folder / "audio_denoise_utils").is_dir() and (folder / "data" / "sample").is_dir()


def project_root() -> Path | None:
    """Return the course checkout (holding ``audio_denoise_utils/`` and ``data/sample/``), or None.

    Order: ``AUDIO_DENOISE_ROOT``; the package's own parent folder (a checkout or an editable
    install); the nearest folder at or above the working folder that is a checkout (an installed
    package used from inside a checkout). None when the package runs without a checkout.
    """
    env = os.environ.get(ROOT_ENV)
    if env:
        return Path(env).expanduser().resolve()
    if _is_project(_PACKAGE_DIR.parent):
        return _PACKAGE_DIR.parent
    here = Path.cwd().resolve()
    for folder in (here, *here.parents):
        if _is_project(folder):
            return folder
    return None


def _writable(folder: Path) -> bool:
    """Return True if ``folder`` (or the nearest existing folder above it) accepts new files."""
    for candidate in (folder, *folder.parents):
        if candidate.exists():
            return candidate.is_dir() and os.access(candidate, os.W_OK | os.X_OK)
    return False


def _user_dir(xdg_var: str, fallback: str) -> Path:
    base = os.environ.get(xdg_var)
    return Path(base).expanduser() / "audio-denoise" if base else Path.home() / fallback


def home() -> Path:
    """Return the folder holding ``data/`` and ``runs/`` (``AUDIO_DENOISE_HOME``, else the project)."""
    env = os.environ.get(HOME_ENV)
    if env:
        return Path(env).expanduser().resolve()
    project = project_root()
    if project is not None and _writable(project):
        return project
    return _user_dir("XDG_DATA_HOME", ".local/share/audio-denoise")


def data_root() -> Path:
    """Return ``<home>/data``."""
    return home() / "data"


def ravdess_dir() -> Path:
    """Return where RAVDESS is downloaded and looked for: ``<home>/data/ravdess``."""
    return data_root() / "ravdess"


def runs_root() -> Path:
    """Return ``<home>/runs``: training runs and the notebooks' outputs."""
    return home() / "runs"


def sample_dir() -> Path | None:
    """Return the bundled synthetic sample (``<project>/data/sample``), or None without a checkout."""
    project = project_root()
    if project is None or not (project / "data" / "sample").is_dir():
        return None
    return project / "data" / "sample"


def default_checkpoint_out() -> Path:
    """Return where ``train`` writes when no ``--out`` is given: ``<home>/runs/train/model.pt``."""
    return runs_root() / "train" / "model.pt"


def cache_dir() -> Path:
    """Return the decode cache folder: ``AUDIO_DENOISE_CACHE``, else ``<home>/data/cache`` (checkout or set home), else the user's cache."""
    env = os.environ.get(CACHE_ENV)
    if env:
        return Path(env).expanduser().resolve()
    project = project_root()
    if os.environ.get(HOME_ENV) or (project is not None and _writable(project)):
        default = data_root() / "cache"
        if _writable(default):
            return default
    return _user_dir("XDG_CACHE_HOME", ".cache/audio-denoise")


def same_place(a: str | os.PathLike, b: str | os.PathLike) -> bool:
    """Return True if two paths name the same folder (after resolving ``~``, links and ``..``)."""
    return Path(a).expanduser().resolve() == Path(b).expanduser().resolve()


__all__ = [
    "CACHE_ENV",
    "HOME_ENV",
    "ROOT_ENV",
    "cache_dir",
    "data_root",
    "default_checkpoint_out",
    "home",
    "project_root",
    "ravdess_dir",
    "runs_root",
    "sample_dir",
    "same_place",
]
