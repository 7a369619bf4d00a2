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
from .errors import InvalidArgumentError
from .noise import Corruption, make_generator

PathLike = str | os.PathLike


def derive_seed(*parts: int) -> int:
    """Return a well-mixed 63-bit seed from integers (e.g. seed, rank, epoch): nearby inputs,
    unrelated seeds."""
    ss = np.random.SeedSequence([int(p) % 2**63 for p in parts])
    return int(ss.generate_state(1, dtype=np.uint64)[0] >> 1)


def _as_clip(clip: torch.Tensor, index: int) -> torch.Tensor:
    """Return a clip as float32 (1, time), rejecting anything that is not one mono clip."""
    if clip.dim() == 1:
        clip = clip.unsqueeze(0)
    if clip.dim() != 2 or clip.shape[0] != 1 or clip.shape[1] == 0:
        raise InvalidArgumentError(
            f"clip {index}: expected a non-empty mono clip (1, time), got shape {tuple(clip.shape)}"
        )
    return clip.float()


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


class ClipBank:
    """Clean clips stored in one flat tensor on ``device``, cut into crops with one gather.

    :meth:`with_speed_perturbation` adds copies played at other speeds (:func:`speed_perturb`).
    :meth:`sample` draws random crops of random clips; :meth:`crops` cuts crops of chosen clips.
    Crops never straddle two clips.
    """

    def __init__(
        self,
        clips: Sequence[torch.Tensor],
        device: torch.device | str = "cpu",
        sr: int = DEFAULT_SR,
        storage: torch.dtype = torch.float32,
    ):
        flat = [_as_clip(c, i).reshape(-1).cpu() for i, c in enumerate(clips)]
        if not flat:
            raise InvalidArgumentError("ClipBank: no clips given")
        sizes = torch.tensor([c.numel() for c in flat], dtype=torch.int64)
        self._setup(torch.cat(flat).to(storage), sizes, device, sr)

    def _setup(
        self, audio: torch.Tensor, sizes: torch.Tensor, device: torch.device | str, sr: int
    ) -> None:
        self.device = torch.device(device)
        self.sr = sr
        self.audio = audio.to(self.device)
        self.lengths = sizes.to(self.device)
        self.offsets = (torch.cumsum(sizes, 0) - sizes).to(self.device)

    @classmethod
    def with_speed_perturbation(
        cls,
        clips: Sequence[torch.Tensor],
        factors: Sequence[float],
        device: torch.device | str = "cpu",
        sr: int = DEFAULT_SR,
        storage: torch.dtype = torch.float32,
    ) -> ClipBank:
        """Return a bank of ``clips`` followed by their :func:`speed_perturb` copies, in that order.

        The copies are resampled one at a time straight into the bank's buffer, so memory peaks at
        the bank plus one clip, not at the bank plus a list of every copy (on full RAVDESS with
        four factors that list alone is about 1 GB).
        """
        from .audio import resample

        flat = [_as_clip(c, i).reshape(-1) for i, c in enumerate(clips)]
        if not flat:
            raise InvalidArgumentError("ClipBank: no clips given")
        rates = [round(sr * f) for f in factors if abs(f - 1.0) > 1e-6]
        # torchaudio's resample returns ceil(n * new / old) samples.
        sizes = [c.numel() for c in flat] + [-(-c.numel() * r // sr) for r in rates for c in flat]
        audio = torch.empty(sum(sizes), dtype=storage)
        pos = 0
        for c in flat:
            audio[pos : pos + c.numel()] = c
            pos += c.numel()
        i = len(flat)
        for r in rates:
            for c in flat:
                y = resample(c.reshape(1, -1).float().cpu(), sr, r).reshape(-1)
                n = sizes[i]
                audio[pos : pos + min(n, y.numel())] = y[:n]
                audio[pos + y.numel() : pos + n] = 0.0  # only if resample ever returned fewer
                pos += n
                i += 1
        bank = cls.__new__(cls)
        bank._setup(audio, torch.tensor(sizes, dtype=torch.int64), device, sr)
        return bank

    def __len__(self) -> int:
        return int(self.lengths.numel())

    def clip(self, index: int) -> torch.Tensor:
        """Return clip ``index`` whole, (1, time)."""
        start, size = int(self.offsets[index]), int(self.lengths[index])
        return self.audio[start : start + size].reshape(1, -1).float()

    def sample(
        self,
        batch_size: int,
        segment: int,
        generator: torch.Generator | None = None,
        seed: int | None = None,
    ) -> torch.Tensor:
        """Return ``batch_size`` random crops (batch, 1, segment) of uniformly drawn clips."""
        if batch_size < 1 or segment < 1:
            raise InvalidArgumentError(
                f"ClipBank.sample: batch_size and segment must be positive, got {batch_size}, {segment}"
            )
        g = make_generator(generator, seed, self.device)
        which = torch.randint(0, len(self), (batch_size,), generator=g, device=self.device)
        return self.crops(which, segment, g)

    def crops(
        self, which: torch.Tensor, segment: int, generator: torch.Generator | None
    ) -> torch.Tensor:
        """Return crops (len(which), 1, segment) of the clips ``which``.

        With a generator each crop starts uniformly inside its clip, and a clip shorter than
        ``segment`` lands whole at a uniform offset among zeros; without one the crop is the
        centre of the clip, and a short clip starts at 0.
        """
        dev = self.device
        which = which.to(dev)
        size, offset = self.lengths[which], self.offsets[which]
        # A long clip offers size - segment + 1 starts; a short one segment - size + 1 placements,
        # encoded as a negative start (the clip begins that many samples into the crop).
        choices = (size - segment).abs() + 1
        if generator is None:
            pick = torch.where(size >= segment, (size - segment) // 2, torch.zeros_like(size))
        else:
            u = torch.rand(
                len(which),
                generator=generator,
                device=generator.device,
                dtype=torch.float32 if dev.type == "mps" else torch.float64,
            ).to(dev)
            pick = torch.minimum((u * choices).long(), choices - 1)
        start = torch.where(size >= segment, pick, -pick)
        pos = start[:, None] + torch.arange(segment, device=dev)[None, :]
        inside = (pos >= 0) & (pos < size[:, None])
        pos = torch.minimum(pos.clamp_min(0), (size - 1)[:, None])
        crops = torch.where(inside, self.audio[offset[:, None] + pos], self.audio.new_zeros(()))
        return crops.float().unsqueeze(1)


def speed_perturb(
    clips: Sequence[torch.Tensor], factors: Sequence[float], sr: int = DEFAULT_SR
) -> list[torch.Tensor]:
    """Return extra copies of ``clips`` (each (1, T)) stretched by each factor in ``factors``.

    A clip resampled from ``sr`` to ``sr * f`` and played back at ``sr`` is ``f`` times longer
    (slower), with pitch and formants lowered by ``f``: a cheap way to hear "new voices". With a
    bundle of a dozen synthetic voices this is what lets the model generalise to real speakers
    (see the benchmark in the README). Factor 1.0 is skipped (the originals are already there).
    """
    from .audio import resample

    return [
        resample(c.reshape(1, -1).float(), sr, round(sr * f)).contiguous()
        for f in factors
        if abs(f - 1.0) > 1e-6
        for c in clips
    ]
