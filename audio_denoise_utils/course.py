"""Notebook plumbing shared by the six notebooks: quick mode, budgets, data, runs and checkpoints.

Quick mode (environment variable ``AUDIO_DENOISE_QUICK=1``) makes every notebook use the bundled
sample and tiny budgets, so CI can execute all of them in a few minutes.

In Google Colab every notebook runs on its own virtual machine: nothing one notebook downloaded or
trained exists in the next. :func:`setup` therefore fetches RAVDESS in each notebook (about a
minute, then cached on that VM) and can keep ``data/`` and ``runs/`` on the learner's Google Drive,
where they outlive the VM (notebook 04's checkpoints then reach 05 and 06).

Notebook plumbing: not course material.
"""

from __future__ import annotations

import importlib.metadata
import os
import platform
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import torch

from . import __version__, paths
from .errors import AudioDenoiseError

QUICK_ENV = "AUDIO_DENOISE_QUICK"
T = TypeVar("T")

#: Where Colab mounts Google Drive, and the course's folder inside it (holds data/ and runs/).
DRIVE_MOUNT = "/content/drive"
DRIVE_FOLDER = "MyDrive/audio-denoise-course"
#: In Colab with Drive on, decoded clips are cached on the VM's own disk (faster than Drive).
COLAB_CACHE = "/content/audio-denoise-cache"
#: The run of notebook 04 that notebooks 05 and 06 can use, relative to ``runs/``.
MY_RUN = Path("04_training") / "better" / "best.pt"

# Packages a Colab kernel has loaded before the set-up cell runs (distribution, module).
_PRELOADED = (
    ("ipywidgets", "ipywidgets"),
    ("traitlets", "traitlets"),
    ("ipython", "IPython"),
    ("ipykernel", "ipykernel"),
    ("numpy", "numpy"),
    ("torch", "torch"),
    ("torchaudio", "torchaudio"),
    ("matplotlib", "matplotlib"),
    ("pandas", "pandas"),
    ("scipy", "scipy"),
)


def is_quick() -> bool:
    """Return True when quick mode is on (``AUDIO_DENOISE_QUICK=1``)."""
    return os.environ.get(QUICK_ENV, "0").strip().lower() in {"1", "true", "yes"}


def budget(full: T, quick: T) -> T:
    """Return ``quick`` in quick mode, else ``full`` (epochs, clip counts, ...)."""
    return quick if is_quick() else full


def in_colab() -> bool:
    """Return True in Google Colab (its kernel imports ``google.colab`` before any cell runs)."""
    return "google.colab" in sys.modules


def shipped_checkpoint() -> Path:
    """Return the path of the small checkpoint shipped with the course (``checkpoints/default.pt``)."""
    from .ravdess import project_root

    return project_root() / "checkpoints" / "default.pt"


def my_run_checkpoint() -> Path:
    """Return where notebook 04 writes its best checkpoint: ``<runs>/04_training/better/best.pt``."""
    return paths.runs_root() / MY_RUN


def pick_checkpoint(use_my_run: bool) -> Path:
    """Return the checkpoint a notebook uses and print which; raise when asked for a run that is missing.

    ``use_my_run=False``: the shipped checkpoint. ``True``: notebook 04's best checkpoint, and an
    AudioDenoiseError saying how to get it when it does not exist (never a silent substitute).
    """
    mine = my_run_checkpoint()
    if use_my_run:
        if not mine.is_file():
            where = (
                "In Colab every notebook runs on its own machine, so a run trained in notebook 04 "
                "is not here unless both notebooks keep runs/ on Google Drive: set DRIVE = True in "
                "the set-up cell of 04 and of this notebook, and run 04 again. "
                if in_colab()
                else "Run notebook 04 first (it writes that file). "
            )
            raise AudioDenoiseError(
                f"USE_MY_RUN = True, but there is no checkpoint from notebook 04 at {mine}. "
                f"{where}Or set USE_MY_RUN = False to use the course's shipped model."
            )
        print(f"checkpoint: {mine} (your run from notebook 04)")
        return mine
    path = shipped_checkpoint()
    print(
        f"checkpoint: {path} (shipped with the course, trained on the bundled sample "
        "and six real voices: checkpoints/README.md)"
    )
    if mine.is_file():
        print(f"  (your run from notebook 04 is at {mine}; set USE_MY_RUN = True to use it)")
    return path


@dataclass(frozen=True)
class NotebookContext:
    """What a notebook needs to know about where it runs."""

    device: torch.device
    data_dir: Path
    data_note: str
    quick: bool
    root: Path
    runs: Path
    colab: bool = False


def stale_imports() -> list[str]:
    """Return "name loaded -> installed" for packages whose loaded version differs from the one on disk.

    Non-empty after an install upgraded a package the kernel had already imported: the old
    version keeps running until the runtime restarts.
    """
    stale = []
    for dist, module in _PRELOADED:
        mod = sys.modules.get(module)
        loaded = getattr(mod, "__version__", None) if mod is not None else None
        if loaded is None:
            continue
        try:
            installed = importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            continue
        # Compare public versions: a wheel's metadata may omit the local "+cu128" tag.
        if str(loaded).split("+")[0] != installed.split("+")[0]:
            stale.append(f"{dist} {loaded} -> {installed}")
    return stale


def _mount_drive() -> Path:
    from google.colab import drive  # type: ignore[import-not-found]

    drive.mount(DRIVE_MOUNT)
    home = Path(DRIVE_MOUNT) / DRIVE_FOLDER
    (home / "data").mkdir(parents=True, exist_ok=True)
    (home / "runs").mkdir(parents=True, exist_ok=True)
    return home


def _colab_widgets() -> None:
    # Colab renders ipywidgets 7 natively; ipywidgets 8 (only if someone upgraded it) needs
    # Colab's custom widget manager.
    try:
        from .widgets import ipywidgets_major

        if ipywidgets_major() >= 8:
            from google.colab import output  # type: ignore[import-not-found]

            output.enable_custom_widget_manager()
    except ImportError:
        pass


def _fetch_ravdess() -> tuple[Path | None, str]:
    """Download RAVDESS into the data folder (a no-op when complete); return (folder or None, note)."""
    from .ravdess import download_ravdess, is_complete

    dest = paths.ravdess_dir()
    if is_complete(dest):
        return dest, ""
    print(f"fetching RAVDESS into {dest} (208 MB, about a minute; once per machine)")
    try:
        return download_ravdess(dest, progress=True), ""
    except AudioDenoiseError as exc:
        return None, (
            f"RAVDESS could not be downloaded ({exc}). This notebook uses the bundled synthetic "
            "sample instead; run this cell again to retry, or set GET_RAVDESS = False."
        )


def setup(
    seed: int = 0, device: str = "auto", ravdess: bool = True, drive: bool = False
) -> NotebookContext:
    """Print the environment (versions, device, data, where runs go) and return a :class:`NotebookContext`.

    ``data_dir`` is RAVDESS when it is in ``<home>/data/ravdess``, else the bundled sample; in
    quick mode always the bundled sample. In Colab only: ``ravdess=True`` downloads RAVDESS first
    (on by default there, since each notebook has its own machine), ``drive=True`` mounts Google
    Drive and keeps ``data/`` and ``runs/`` in ``MyDrive/audio-denoise-course``. Outside Colab both
    are ignored: nothing is downloaded unless you ask (notebook 01, ``audio-denoise download``).
    """
    from .ravdess import default_data_dir, describe_source, project_root
    from .training import pick_device

    colab = in_colab()
    notes: list[str] = []
    if colab:
        stale = stale_imports()
        if stale:
            notes.append(
                "RESTART NEEDED: the install upgraded packages this runtime had already loaded ("
                + ", ".join(stale)
                + "). Use Runtime > Restart session, then run this cell again."
            )
        if drive:
            os.environ[paths.HOME_ENV] = str(_mount_drive())
            os.environ.setdefault(paths.CACHE_ENV, COLAB_CACHE)
        _colab_widgets()
    quick = is_quick()
    sample = paths.sample_dir()
    if quick:
        if sample is None:
            raise AudioDenoiseError("quick mode needs the course checkout's bundled sample")
        data_dir = sample
        if colab and ravdess:
            notes.append("quick mode: RAVDESS is not fetched, the bundled sample is used")
    elif colab and ravdess:
        fetched, problem = _fetch_ravdess()
        data_dir = fetched if fetched is not None else default_data_dir()
        if problem:
            notes.append(problem)
    else:
        data_dir = default_data_dir()
    dev = pick_device(device)
    torch.manual_seed(seed)  # notebooks are scripts for learners: make their cells repeatable
    note = describe_source(data_dir)
    where = "Colab" if colab else "local"
    if colab:
        where += ", data and runs on Google Drive" if drive else ", data and runs on this VM only"
    print(
        f"audio_denoise_utils {__version__} | torch {torch.__version__} | Python {platform.python_version()}\n"
        f"device: {dev} | quick mode: {'on' if quick else 'off'} | {where}\n"
        f"{note}\n"
        f"Runs and outputs: {paths.runs_root()}"
    )
    for line in notes:
        print(f"NOTE: {line}")
    return NotebookContext(
        device=dev,
        data_dir=data_dir,
        data_note=note,
        quick=quick,
        root=project_root(),
        runs=paths.runs_root(),
        colab=colab,
    )
