"""Notebook plumbing shared by the six notebooks: quick mode, budgets, data and checkpoint paths.

Quick mode (environment variable ``AUDIO_DENOISE_QUICK=1``) makes every notebook use the bundled
sample and tiny budgets, so CI can execute all of them in a few minutes.

Notebook plumbing: not course material.
"""

from __future__ import annotations

import os
import platform
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import torch

from . import __version__

QUICK_ENV = "AUDIO_DENOISE_QUICK"
T = TypeVar("T")


def is_quick() -> bool:
    """Return True when quick mode is on (``AUDIO_DENOISE_QUICK=1``)."""
    return os.environ.get(QUICK_ENV, "0").strip().lower() in {"1", "true", "yes"}


def budget(full: T, quick: T) -> T:
    """Return ``quick`` in quick mode, else ``full`` (epochs, clip counts, ...)."""
    return quick if is_quick() else full


def shipped_checkpoint() -> Path:
    """Return the path of the small checkpoint shipped with the course (``checkpoints/default.pt``)."""
    from .ravdess import project_root

    return project_root() / "checkpoints" / "default.pt"


@dataclass(frozen=True)
class NotebookContext:
    """What a notebook needs to know about where it runs."""

    device: torch.device
    data_dir: Path
    data_note: str
    quick: bool
    root: Path


def setup(seed: int = 0, device: str = "auto") -> NotebookContext:
    """Print the environment (versions, device, data source) and return a :class:`NotebookContext`.

    ``data_dir`` is RAVDESS when it has been downloaded into ``data/ravdess``, else the bundled
    sample; in quick mode always the bundled sample.
    """
    from .ravdess import default_data_dir, describe_source, project_root
    from .training import pick_device

    root = project_root()
    data_dir = root / "data" / "sample" if is_quick() else default_data_dir()
    dev = pick_device(device)
    torch.manual_seed(seed)  # notebooks are scripts for learners: make their cells repeatable
    note = describe_source(data_dir)
    print(
        f"audio_denoise_utils {__version__} | torch {torch.__version__} | Python {platform.python_version()}\n"
        f"device: {dev} | quick mode: {'on' if is_quick() else 'off'}\n"
        f"data: {note}"
    )
    return NotebookContext(
        device=dev, data_dir=data_dir, data_note=note, quick=is_quick(), root=root
    )
