"""Apply a trained model to audio of any length: in memory, or streamed file to file.

Long recordings are processed in chunks with context on both sides and a short cross-fade at each
seam, so memory stays bounded (a one-hour file needs a few hundred MB at most) and the seams are
inaudible. Output keeps the input's sample rate and number of samples (mono).

Engine code (chunked, streamed inference): not course material.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import soundfile as sf
import torch
from torch import nn

from . import DEFAULT_SR
from .audio import PathLike, audio_info, check_finite, resample
from .errors import AudioLoadError
from .files import atomic_write

#: Seconds of audio (at the file's rate) processed per chunk, and context added on each side.
CHUNK_SECONDS = 30.0
CONTEXT_SECONDS = 1.0
#: Cross-fade length at chunk seams; must be shorter than the context.
FADE_SECONDS = 0.05


def model_sample_rate(model: nn.Module) -> int:
    """Return the sample rate the model was trained at (``model.config['sample_rate']``)."""
    return int(getattr(model, "config", {}).get("sample_rate", DEFAULT_SR))


@torch.inference_mode()
def denoise_clip(model: nn.Module, wav: torch.Tensor, sr: int) -> torch.Tensor:
    """Return ``wav`` (channels, time) at ``sr`` denoised in one pass, same shape and rate.

    Channels are denoised independently (as a batch). Use :func:`denoise` for long audio.
    """
    if wav.ndim != 2:
        raise ValueError(f"expected (channels, time) audio, got shape {tuple(wav.shape)}")
    model_sr = model_sample_rate(model)
    device = next(model.parameters()).device
    x = resample(wav.float(), sr, model_sr).to(device)
    y = model(x.unsqueeze(1)).squeeze(1).float().cpu()
    y = resample(y, model_sr, sr)
    return _fit_length(y, wav.shape[-1])


def _fit_length(x: torch.Tensor, n: int) -> torch.Tensor:
    """Return ``x`` cropped or zero-padded on the right to ``n`` samples."""
    if x.shape[-1] >= n:
        return x[..., :n]
    return torch.nn.functional.pad(x, (0, n - x.shape[-1]))


def _chunks(n: int, chunk: int, context: int) -> Iterator[tuple[int, int, int, int]]:
    """Yield (read_start, read_stop, keep_start, keep_stop) frame ranges covering ``n`` frames."""
    start = 0
    while start < n:
        stop = min(start + chunk, n)
        yield max(0, start - context), min(n, stop + context), start, stop
        start = stop


class _Stitcher:
    """Joins chunk outputs, cross-fading each seam over ``fade`` frames taken from the context."""

    def __init__(self, fade: int):
        self.fade = fade
        self.tail: torch.Tensor | None = None  # previous chunk's output just past its seam

    def push(
        self, out: torch.Tensor, read_start: int, keep_start: int, keep_stop: int
    ) -> torch.Tensor:
        """Return the finished frames [keep_start, keep_stop) of a chunk output (channels, time)."""
        a, b = keep_start - read_start, keep_stop - read_start
        body = out[:, a:b].clone()
        if self.tail is not None and self.fade > 0:
            f = min(self.fade, self.tail.shape[-1], body.shape[-1])
            ramp = torch.linspace(0.0, 1.0, f + 2)[1:-1]
            body[:, :f] = self.tail[:, :f] * (1 - ramp) + body[:, :f] * ramp
        self.tail = out[:, b : b + self.fade].clone()
        return body


def denoise(
    model: nn.Module,
    wav: torch.Tensor,
    sr: int,
    chunk_seconds: float = CHUNK_SECONDS,
    context_seconds: float = CONTEXT_SECONDS,
) -> torch.Tensor:
    """Return ``wav`` ((channels, time) or (time,)) denoised, same shape and rate, chunk by chunk."""
    squeeze = wav.ndim == 1
    x = wav.unsqueeze(0) if squeeze else wav
    check_finite(x, "input audio")
    n = x.shape[-1]
    chunk, context = max(1, int(chunk_seconds * sr)), int(context_seconds * sr)
    stitch = _Stitcher(min(int(FADE_SECONDS * sr), context))
    parts = [
        stitch.push(denoise_clip(model, x[:, r0:r1], sr), r0, k0, k1)
        for r0, r1, k0, k1 in _chunks(n, chunk, context)
    ]
    y = torch.cat(parts, dim=-1) if parts else x.clone()
    return y.squeeze(0) if squeeze else y


def output_subtype(in_subtype: str, out_format: str) -> str:
    """Return the output subtype: the input's own when the output format supports it."""
    if sf.check_format(out_format, in_subtype):
        return in_subtype
    return sf.default_subtype(out_format)


def denoise_file(
    model: nn.Module,
    in_path: PathLike,
    out_path: PathLike,
    chunk_seconds: float = CHUNK_SECONDS,
    context_seconds: float = CONTEXT_SECONDS,
) -> Path:
    """Denoise ``in_path`` into ``out_path`` (mono, the input's rate and length); return out_path.

    The file is streamed chunk by chunk, so memory does not grow with its length. The output is
    written to a temporary file next to ``out_path`` and renamed only when complete: on any error
    (undecodable chunk, NaN samples) no output file is left behind.
    """
    info = audio_info(in_path)
    src, dst = info.path, Path(out_path)
    sr, n = info.sample_rate, info.frames
    chunk, context = max(1, int(chunk_seconds * sr)), int(context_seconds * sr)
    fmt = dst.suffix.lstrip(".").upper() or "WAV"
    if fmt not in sf.available_formats() and dst.suffix.lower() == src.suffix.lower():
        fmt = info.format  # e.g. ".aif": the same container as the input
    if fmt not in sf.available_formats():
        raise AudioLoadError(f"{dst}: cannot write audio with extension {dst.suffix!r}")
    subtype = output_subtype(info.subtype, fmt)
    stitch = _Stitcher(min(int(FADE_SECONDS * sr), context))
    try:
        with (
            atomic_write(dst) as tmp,
            sf.SoundFile(str(src)) as fin,
            sf.SoundFile(tmp, "w", sr, 1, subtype, format=fmt) as fout,
        ):
            for r0, r1, k0, k1 in _chunks(n, chunk, context):
                fin.seek(r0)
                block = fin.read(r1 - r0, dtype="float32", always_2d=True)
                if block.shape[0] != r1 - r0:
                    raise AudioLoadError(
                        f"{src}: truncated audio (could not read frames {r0}-{r1} of {n})"
                    )
                check_finite(block, src)
                mono = torch.from_numpy(np.ascontiguousarray(block.T)).mean(0, keepdim=True)
                out = stitch.push(denoise_clip(model, mono, sr), r0, k0, k1)
                fout.write(np.clip(out[0].numpy(), -1.0, 1.0))
    except sf.LibsndfileError as exc:
        raise AudioLoadError(f"{src}: could not decode audio ({exc})") from None
    return dst


def as_method(model: nn.Module, sr: int = DEFAULT_SR):
    """Return ``fn(noisy (1,1,T), clean) -> (1,1,T)`` denoising with ``model``, for metrics.evaluate."""

    def method(noisy: torch.Tensor, clean: torch.Tensor | None = None) -> torch.Tensor:
        return denoise(model, noisy[0], sr).unsqueeze(0)

    return method
