"""Training clips stored as one flat tensor on the device, cut into crops with one gather.

:class:`ClipBank` is what :class:`~audio_denoise_utils.dataset.NoisyCleanDataset` draws its crops
from: a batch is cut where the model runs, so a step never waits for a DataLoader. The storage
(float16 for full RAVDESS), devices and the speed-perturbed copies are engineering.

Engine code: not course material.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from .. import DEFAULT_SR
from ..errors import InvalidArgumentError
from ..noise import make_generator


def as_clip(clip: torch.Tensor, index: int) -> torch.Tensor:
    """Return a clip as float32 (1, time), rejecting anything that is not one mono clip."""
    if clip.dim() == 1:
        clip = clip.unsqueeze(0)
    if clip.dim() != 2 or clip.shape[0] != 1 or clip.shape[1] == 0:
        raise InvalidArgumentError(
            f"clip {index}: expected a non-empty mono clip (1, time), got shape {tuple(clip.shape)}"
        )
    return clip.float()


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
        flat = [as_clip(c, i).reshape(-1).cpu() for i, c in enumerate(clips)]
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
        from ..audio import resample

        flat = [as_clip(c, i).reshape(-1) for i, c in enumerate(clips)]
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
    from ..audio import resample

    return [
        resample(c.reshape(1, -1).float(), sr, round(sr * f)).contiguous()
        for f in factors
        if abs(f - 1.0) > 1e-6
        for c in clips
    ]
