"""(noisy, clean) training pairs: a torch Dataset for files or tensors, and an on-device clip bank.

- :class:`NoisyCleanDataset` serves ``(noisy (1, T), clean (1, T))`` pairs. Training items get a
  fresh random crop and fresh noise every epoch, reproducibly (seeded by seed, epoch and index);
  evaluation items get the same noise on every call, so validation scores are comparable.
- :func:`collate_pad` batches clips of different lengths.
- :class:`ClipBank` keeps every clean clip in one tensor on the GPU and cuts a batch of random
  crops with one gather: with :class:`~audio_denoise_utils.noise.Corruption` on the same device,
  a training step never waits for a DataLoader.

Clips shorter than the crop are zero-padded (placed at a random offset while training). Padding
rather than tiling: a tiled clip has a click at the seam and repeats the same words, while
silence around speech is what real recordings have (and teaches the model to output silence).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
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


def _as_clip(clip: torch.Tensor, index: int) -> torch.Tensor:
    """Return a clip as float32 (1, time), rejecting anything that is not one mono clip."""
    if clip.dim() == 1:
        clip = clip.unsqueeze(0)
    if clip.dim() != 2 or clip.shape[0] != 1 or clip.shape[1] == 0:
        raise InvalidArgumentError(
            f"clip {index}: expected a non-empty mono clip (1, time), got shape {tuple(clip.shape)}"
        )
    return clip.float()


def _seed_for(*words: int) -> int:
    """Return a 63-bit seed mixed from integers (numpy's SeedSequence: nearby inputs, unrelated seeds)."""
    state = np.random.SeedSequence([w % 2**64 for w in words]).generate_state(2, dtype=np.uint64)
    return int(state[0]) & (2**63 - 1)


class NoisyCleanDataset(Dataset):
    """Pairs ``(noisy (1, T), clean (1, T))`` made from clean clips (tensors or audio files).

    - ``clips``: tensors (1, time) at rate ``sr``, or paths decoded (once) through ``cache``
      (an :class:`~audio_denoise_utils.audio.AudioCache` at ``sr``; one is made when omitted).
    - ``train=True``: a random crop of ``segment`` samples (whole clip when ``segment`` is None;
      a shorter clip lands at a random offset in a zero-filled segment) and fresh noise, both drawn
      from a generator seeded by (``seed``, epoch, index): each epoch differs, a rerun repeats it.
      Call :meth:`set_epoch` at the start of every epoch. With DataLoader workers keep
      ``persistent_workers=False`` (the default) so each epoch's workers see the new epoch.
    - ``train=False``: the whole clip (or a fixed centre crop of ``segment``, zero-padded at the
      end when shorter) and noise seeded by (``seed``, index) only: identical on every call.

    The clean target is the unmodulated clip even when ``corruption.multiplicative`` is set.
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
    ):
        self.items = list(clips)
        if not self.items:
            raise InvalidArgumentError("NoisyCleanDataset: no clips given")
        if segment is not None and segment < 1:
            raise InvalidArgumentError(
                f"NoisyCleanDataset: segment must be positive, got {segment}"
            )
        has_paths = any(not isinstance(c, torch.Tensor) for c in self.items)
        if cache is not None and cache.sr != sr:
            raise InvalidArgumentError(
                f"NoisyCleanDataset: cache decodes at {cache.sr} Hz but sr={sr}"
            )
        self.cache = cache if cache is not None or not has_paths else AudioCache(sr)
        self.corruption = corruption
        self.segment = segment
        self.train = train
        self.seed = check_seed(seed)
        self.sr = sr
        self.epoch = 0

    def __len__(self) -> int:
        return len(self.items)

    def set_epoch(self, epoch: int) -> None:
        """Choose the epoch whose crops and noise training items draw."""
        self.epoch = int(epoch)

    def clip(self, index: int) -> torch.Tensor:
        """Return clean clip ``index`` whole, float32 (1, time)."""
        item = self.items[index]
        if isinstance(item, torch.Tensor):
            return _as_clip(item, index)
        assert self.cache is not None
        return _as_clip(self.cache.load(Path(item)), index)

    def generator(self, index: int) -> torch.Generator:
        """Return the CPU generator item ``index`` draws from (train: per epoch; eval: fixed)."""
        words = (self.seed, 0, self.epoch, index) if self.train else (self.seed, 1, index)
        # A mixed 63-bit seed (internal, not a user's seed): set directly.
        return torch.Generator().manual_seed(_seed_for(*words))

    def _crop(self, clean: torch.Tensor, g: torch.Generator) -> torch.Tensor:
        seg, size = self.segment, clean.shape[-1]
        if seg is None:
            return clean.clone()
        if size >= seg:
            if self.train:
                start = int(torch.randint(0, size - seg + 1, (1,), generator=g))
            else:
                start = (size - seg) // 2
            return clean[:, start : start + seg].clone()
        offset = int(torch.randint(0, seg - size + 1, (1,), generator=g)) if self.train else 0
        out = clean.new_zeros(1, seg)
        out[:, offset : offset + size] = clean
        return out

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Return ``(noisy (1, T), clean (1, T))`` for item ``index``."""
        if not -len(self) <= index < len(self):
            raise IndexError(f"index {index} out of range for {len(self)} clips")
        index %= len(self)
        g = self.generator(index)
        clean = self._crop(self.clip(index), g)
        noisy = self.corruption(clean.unsqueeze(0), generator=g)[0]
        return noisy, clean


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
    """All clean clips in one flat tensor on ``device``, for random crops without a DataLoader.

    ``sample(batch, segment, generator) -> (batch, 1, segment)``: each row picks a clip uniformly
    (every clip equally often, like one pass of :class:`NoisyCleanDataset`) and a uniform start
    inside it; a clip shorter than ``segment`` is placed whole at a random offset among zeros.
    Crops never straddle two clips. The gather is pure index arithmetic on the device.
    """

    def __init__(
        self,
        clips: Sequence[torch.Tensor],
        device: torch.device | str = "cpu",
        sr: int = DEFAULT_SR,
    ):
        flat = [_as_clip(c, i).reshape(-1).cpu() for i, c in enumerate(clips)]
        if not flat:
            raise InvalidArgumentError("ClipBank: no clips given")
        sizes = torch.tensor([c.numel() for c in flat], dtype=torch.int64)
        self._setup(torch.cat(flat), sizes, device, sr)

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
    ) -> ClipBank:
        """Return a bank of ``clips`` followed by their :func:`speed_perturb` copies, in that order.

        The copies are resampled one at a time straight into the bank's buffer, so memory peaks at
        the bank plus one clip, not at the bank plus a list of every copy (on full RAVDESS with
        four factors that list alone is about 1 GB).
        """
        from .audio import resample

        flat = [_as_clip(c, i).reshape(-1) for i, c in enumerate(clips)]
        if not flat:
            raise ValueError("ClipBank: no clips given")
        rates = [round(sr * f) for f in factors if abs(f - 1.0) > 1e-6]
        # torchaudio's resample returns ceil(n * new / old) samples.
        sizes = [c.numel() for c in flat] + [-(-c.numel() * r // sr) for r in rates for c in flat]
        audio = torch.empty(sum(sizes), dtype=torch.float32)
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

    @classmethod
    def from_files(
        cls,
        paths: Sequence[PathLike],
        device: torch.device | str = "cpu",
        sr: int = DEFAULT_SR,
        cache: AudioCache | None = None,
    ) -> ClipBank:
        """Return a bank of the files decoded at ``sr`` (through ``cache`` when given)."""
        cache = cache if cache is not None else AudioCache(sr)
        return cls(cache.load_many(paths), device=device, sr=sr)

    def __len__(self) -> int:
        return int(self.lengths.numel())

    @property
    def total_seconds(self) -> float:
        """Total duration of the clips in seconds."""
        return self.audio.numel() / self.sr

    def sample(
        self,
        batch_size: int,
        segment: int,
        generator: torch.Generator | None = None,
        seed: int | None = None,
    ) -> torch.Tensor:
        """Return ``batch_size`` random clean crops (batch, 1, segment) on the bank's device."""
        if batch_size < 1 or segment < 1:
            raise InvalidArgumentError(
                f"ClipBank.sample: batch_size and segment must be positive, got {batch_size}, {segment}"
            )
        dev = self.device
        g = make_generator(generator, seed, dev)
        which = torch.randint(0, len(self), (batch_size,), generator=g, device=dev)
        size, offset = self.lengths[which], self.offsets[which]
        # A long clip offers size - segment + 1 starts; a short one segment - size + 1 placements,
        # encoded as a negative start (the clip begins that many samples into the crop).
        choices = (size - segment).abs() + 1
        u = torch.rand(
            batch_size,
            generator=g,
            device=dev,
            dtype=torch.float32 if dev.type == "mps" else torch.float64,
        )
        pick = torch.minimum((u * choices).long(), choices - 1)
        start = torch.where(size >= segment, pick, -pick)
        pos = start[:, None] + torch.arange(segment, device=dev)[None, :]
        inside = (pos >= 0) & (pos < size[:, None])
        pos = torch.minimum(pos.clamp_min(0), (size - 1)[:, None])
        crops = torch.where(inside, self.audio[offset[:, None] + pos], self.audio.new_zeros(()))
        return crops.unsqueeze(1)


def speed_perturb(
    clips: Sequence[torch.Tensor], factors: Sequence[float], sr: int = DEFAULT_SR
) -> list[torch.Tensor]:
    """Return extra copies of ``clips`` (each (1, T)) stretched by each factor in ``factors``.

    A clip resampled from ``sr`` to ``sr * f`` and played back at ``sr`` is ``f`` times longer
    (slower), with pitch and formants lowered by ``f``: a cheap way to hear "new voices". With a bundle of
    a dozen synthetic voices this is what lets the model generalise to real speakers (see the
    benchmark in the README). Factor 1.0 is skipped (the originals are already there).
    """
    from .audio import resample

    return [
        resample(c.reshape(1, -1).float(), sr, round(sr * f)).contiguous()
        for f in factors
        if abs(f - 1.0) > 1e-6
        for c in clips
    ]
