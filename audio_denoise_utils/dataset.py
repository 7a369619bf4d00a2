"""(noisy, clean) pairs for training and validation: one pipeline, from the notebook to ``fit``.

:class:`NoisyCleanDataset` turns clean clips into ``(noisy, clean)`` pairs: a crop of a clip, and
noise added at a random SNR by a :class:`~audio_denoise_utils.noise.Corruption`.

- Training (``train=True``): fresh crops and fresh noise every epoch, reproducibly: the randomness
  of epoch ``e`` comes from a generator seeded by (``seed``, ``e``), so a rerun (or a resumed run)
  draws the same pairs. ``dataset[i]`` is one pair; :meth:`NoisyCleanDataset.batches` draws a
  whole batch of random clips at once, on the training device: this is what
  :func:`~audio_denoise_utils.training.fit` trains on.
- Validation (``train=False``): the whole clip (or a fixed centre crop) and noise fixed per clip,
  identical on every call, so validation scores compare across epochs and runs.

The clips live in a :class:`ClipBank`, one flat tensor on the device, so a batch is cut with one
gather and corrupted where the model runs: a step never waits for a DataLoader. Clips shorter
than the crop are zero-padded (placed at a random offset while training). Padding rather than
tiling: a tiled clip has a click at the seam and repeats the same words, while silence around
speech is what real recordings have (and teaches the model to output silence).
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import Dataset

from . import DEFAULT_SR
from .audio import AudioCache
from .engine.checks import check_seed

# The clip storage (engine code): one flat tensor on the device, speed-perturbed copies.
from .engine.clipbank import ClipBank
from .errors import InvalidArgumentError
from .noise import Corruption

PathLike = str | os.PathLike


def derive_seed(*parts: int) -> int:
    """Return a well-mixed 63-bit seed from integers (e.g. seed, rank, epoch): nearby inputs,
    unrelated seeds."""
    ss = np.random.SeedSequence([int(p) % 2**63 for p in parts])
    return int(ss.generate_state(1, dtype=np.uint64)[0] >> 1)


class NoisyCleanDataset(Dataset):
    """Pairs ``(noisy (1, T), clean (1, T))`` made from clean clips (tensors or audio files).

    - ``clips``: tensors (1, time) at rate ``sr``, or paths decoded once through ``cache`` (an
      :class:`~audio_denoise_utils.audio.AudioCache` at ``sr``; one is made when omitted).
    - ``corruption``: draws the noise (kind, SNR) per clip.
    - ``segment``: crop length in samples (None: whole clips, for validation).
    - ``train=True``: random crops and noise from the epoch's generator (see :meth:`set_epoch`);
      ``train=False``: centre crops and noise seeded per clip only.
    - ``speed_perturb``: extra copies of the clips played at these speeds (training only).
    - ``device``: where the clips are kept and the batches made.
    - ``storage``: the dtype the clips are kept in; ``torch.float16`` halves the memory (its
      rounding error is about 66 dB below the signal); items come out as float32 either way.
    """

    def __init__(
        self,
        clips: Sequence[torch.Tensor] | Sequence[PathLike],
        corruption: Corruption,
        segment: int | None = None,
        train: bool = True,
        seed: int = 0,
        sr: int = DEFAULT_SR,
        cache: AudioCache | None = None,
        speed_perturb: Sequence[float] = (),
        device: torch.device | str = "cpu",
        storage: torch.dtype = torch.float32,
    ):
        items = list(clips)
        if not items:
            raise InvalidArgumentError("NoisyCleanDataset: no clips given")
        if segment is not None and segment < 1:
            raise InvalidArgumentError(
                f"NoisyCleanDataset: segment must be positive, got {segment}"
            )
        if cache is not None and cache.sr != sr:
            raise InvalidArgumentError(
                f"NoisyCleanDataset: cache decodes at {cache.sr} Hz but sr={sr}"
            )
        if any(not isinstance(c, torch.Tensor) for c in items):
            cache = cache if cache is not None else AudioCache(sr)
            items = [c if isinstance(c, torch.Tensor) else cache.load(Path(c)) for c in items]
        self.clips = ClipBank.with_speed_perturbation(items, speed_perturb, device, sr, storage)
        self.n_clips = len(items)  # the originals; speed-perturbed copies follow them
        self.corruption = corruption
        self.segment, self.train, self.seed, self.sr = segment, train, check_seed(seed), sr
        self.epoch = 0

    def __len__(self) -> int:
        return self.n_clips

    def set_epoch(self, epoch: int) -> None:
        """Choose the epoch whose crops and noise training items draw."""
        self.epoch = int(epoch)

    def clip(self, index: int) -> torch.Tensor:
        """Return clean clip ``index`` whole, float32 (1, time), on the dataset's device."""
        return self.clips.clip(index)

    def generator(self, index: int) -> torch.Generator:
        """Return the CPU generator item ``index`` draws from (train: per epoch; eval: fixed)."""
        # A mixed 63-bit seed (internal, not a user's seed): set directly.
        if self.train:
            return torch.Generator().manual_seed(derive_seed(self.seed, 0x17E4, self.epoch, index))
        return torch.Generator().manual_seed(derive_seed(self.seed, 0x5A11D, index))

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Return ``(noisy (1, T), clean (1, T))`` for item ``index``."""
        if not -len(self) <= index < len(self):
            raise IndexError(f"index {index} out of range for {len(self)} clips")
        index %= len(self)
        g = self.generator(index)
        if self.segment is None:
            clean = self.clip(index).cpu()
        else:
            which = torch.tensor([index])
            clean = self.clips.crops(which, self.segment, g if self.train else None)[0].cpu()
        noisy = self.corruption(clean.unsqueeze(0), generator=g)[0]
        return noisy, clean

    def batches(
        self, epoch: int, steps: int, batch_size: int, rank: int = 0
    ) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        """Yield ``steps`` batches ``(noisy, clean)`` (batch_size, 1, segment) of random crops.

        Every crop picks a clip uniformly (speed-perturbed copies included) and a uniform start
        in it; the batch is corrupted on the dataset's device. The randomness comes from one
        generator seeded by (seed, rank, epoch): each epoch and each DDP process differ, a rerun
        repeats them.
        """
        if self.segment is None:
            raise InvalidArgumentError("NoisyCleanDataset.batches needs a segment length")
        g = torch.Generator(device=self.clips.device)
        g.manual_seed(derive_seed(self.seed, rank, epoch))
        for _ in range(steps):
            clean = self.clips.sample(batch_size, self.segment, g)
            yield self.corruption(clean, g), clean


def collate_pad(
    batch: Sequence[tuple[torch.Tensor, torch.Tensor]],
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Return ``(noisy (B, 1, Tmax), clean (B, 1, Tmax), lengths (B,))``, zero-padded at the end."""
    if len(batch) == 0:
        raise InvalidArgumentError("collate_pad: empty batch")
    lengths = torch.tensor([clean.shape[-1] for _, clean in batch], dtype=torch.int64)
    longest = int(lengths.max())
    first = batch[0][0]
    noisy = first.new_zeros(len(batch), 1, longest)
    clean = first.new_zeros(len(batch), 1, longest)
    for i, (n, c) in enumerate(batch):
        noisy[i, :, : n.shape[-1]] = n
        clean[i, :, : c.shape[-1]] = c
    return noisy, clean, lengths
