"""Where training runs: device choice, global seeding and the torchrun process group.

Engine code: not course material. Notebooks call :func:`pick_device` and :func:`seed_everything`
through :mod:`audio_denoise_utils.training`.
"""

from __future__ import annotations

import os
import random
import sys
from dataclasses import dataclass

import numpy as np
import torch
import torch.distributed as dist

from ..errors import AudioDenoiseError
from .checks import check_seed

_CPU_NOTE = (
    "No GPU found: training on the CPU; this is slower (minutes instead of seconds per epoch). "
    "On Colab choose Runtime > Change runtime type > GPU."
)


def pick_device(pref: str | torch.device = "auto", quiet: bool = False) -> torch.device:
    """Return the device to train on: CUDA, then Apple MPS, then the CPU (with a visible note).

    ``pref`` is "auto", "cpu", "cuda" (or "cuda:N") or "mps". Asking for a device that is not
    available raises AudioDenoiseError rather than silently training somewhere else.
    """
    pref_str = str(pref).strip().lower()
    if pref_str == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if _mps_available():
            return torch.device("mps")
        if not quiet:
            print(_CPU_NOTE, file=sys.stderr)
        return torch.device("cpu")
    try:
        device = torch.device(pref_str)
    except RuntimeError as exc:
        raise AudioDenoiseError(
            f"unknown device {pref!r}; use auto, cpu, cuda or mps ({exc})"
        ) from None
    _check_available(device, pref_str)
    return device


def _check_available(device: torch.device, asked: str) -> None:
    """Raise AudioDenoiseError when ``device`` is not usable on this machine."""
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise AudioDenoiseError(
                "device 'cuda' was asked for but no CUDA GPU is available "
                "(use --device auto or cpu, or install a CUDA build of torch)"
            )
        if device.index is not None and device.index >= torch.cuda.device_count():
            raise AudioDenoiseError(
                f"device {asked!r} was asked for but only {torch.cuda.device_count()} "
                "CUDA GPU(s) are visible"
            )
    elif device.type == "mps":
        if not _mps_available():
            raise AudioDenoiseError("device 'mps' was asked for but Apple MPS is not available")
    elif device.type != "cpu":
        raise AudioDenoiseError(f"unsupported device {asked!r}; use auto, cpu, cuda or mps")


def _mps_available() -> bool:
    backend = getattr(torch.backends, "mps", None)
    return bool(backend is not None and backend.is_available())


def seed_everything(seed: int, deterministic: bool = False) -> None:
    """Seed Python's, numpy's and torch's global RNGs (all devices); returns None.

    The package itself never draws from global RNGs; this is for learners' own cells. With
    ``deterministic=True`` torch is also asked for deterministic kernels (slower on GPU; ops
    without a deterministic version only warn).
    """
    seed = check_seed(seed)
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    if deterministic:
        # cuBLAS needs this set before its first use to be deterministic.
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
        torch.backends.cudnn.benchmark = False
        torch.backends.cudnn.deterministic = True
        torch.use_deterministic_algorithms(True, warn_only=True)


def is_main_process() -> bool:
    """Return True on rank 0 of a distributed run, and always in a single-process run."""
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank() == 0
    return int(os.environ.get("RANK", "0")) == 0


@dataclass(frozen=True)
class Dist:
    """This process's place in a torchrun launch (rank 0 of 1 without torchrun)."""

    rank: int = 0
    world: int = 1
    local_rank: int = 0
    owns_group: bool = False  # True when the engine created the process group and must destroy it


def setup_distributed(device: torch.device | None) -> tuple[Dist, torch.device | None]:
    """Join the torchrun process group when WORLD_SIZE > 1; return its layout and pinned device."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1 or not dist.is_available():
        return Dist(), device
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    if device is None:
        device = torch.device("cuda") if torch.cuda.is_available() else torch.device("cpu")
    if device.type == "cuda":
        # One process per GPU: LOCAL_RANK picks this process's GPU.
        device = torch.device("cuda", local_rank)
        torch.cuda.set_device(device)
    owns = False
    if not dist.is_initialized():
        dist.init_process_group(backend="nccl" if device.type == "cuda" else "gloo")
        owns = True
    return Dist(dist.get_rank(), dist.get_world_size(), local_rank, owns), device


def synchronize(device: torch.device) -> None:
    """Wait for the device's queued kernels, so that wall-clock timings measure the work itself."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    elif device.type == "mps":
        torch.mps.synchronize()
