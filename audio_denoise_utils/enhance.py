"""Apply a trained model to audio of any length: in memory, or streamed file to file.

Long recordings are processed in chunks with context on both sides and a short cross-fade at each
seam, so memory stays bounded (a one-hour file needs a few hundred MB at most) and the seams are
inaudible. Output keeps the input's sample rate and number of samples (mono).

Engine code (chunked, streamed inference): not course material.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import soundfile as sf
import torch
from torch import nn

from . import DEFAULT_SR
from .audio import PathLike, audio_info, check_finite, output_format, resample
from .engine.checks import check_audio_tensor, check_number, check_sample_rate
from .engine.paths import explain_write_failure
from .errors import AudioDenoiseError, AudioLevelWarning, AudioLoadError
from .files import atomic_write

#: Seconds of audio (at the file's rate) processed per chunk, and context added on each side.
CHUNK_SECONDS = 30.0
CONTEXT_SECONDS = 1.0
#: Cross-fade length at chunk seams; must be shorter than the context.
FADE_SECONDS = 0.05
#: Shorter chunks would make the model see too little audio (and a long file take forever).
MIN_CHUNK_SECONDS = 0.1


def model_sample_rate(model: nn.Module) -> int:
    """Return the sample rate the model was trained at (``model.config['sample_rate']``)."""
    return int(getattr(model, "config", {}).get("sample_rate", DEFAULT_SR))


def check_strength(strength: float) -> float:
    """Return ``strength`` as a float in [0, 1] (InvalidArgumentError otherwise)."""
    return check_number(strength, "strength", low=0.0, high=1.0)


@torch.inference_mode()
def denoise_clip(
    model: nn.Module, wav: torch.Tensor, sr: int, strength: float = 1.0
) -> torch.Tensor:
    """Return ``wav`` (channels, time) at ``sr`` denoised in one pass, same shape and rate.

    Channels are denoised independently (as a batch). Use :func:`denoise` for long audio.
    ``strength`` below 1 mixes the input back in: ``strength * denoised + (1 - strength) * wav``
    (0 returns the input), a lighter touch for faintly noisy recordings (README, *Results per noise
    type*: at 20 dB SNR the full-strength output loses a little speech).
    """
    wav = check_audio_tensor(wav, "audio", ndims=(2,))
    sr = check_sample_rate(sr)
    strength = check_strength(strength)
    model_sr = model_sample_rate(model)
    device = next(model.parameters()).device
    x = resample(wav.float(), sr, model_sr).to(device)
    y = model(x.unsqueeze(1)).squeeze(1).float().cpu()
    y = _fit_length(resample(y, model_sr, sr), wav.shape[-1])
    if strength < 1.0:
        y = strength * y + (1.0 - strength) * wav.float()
    return y


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
    strength: float = 1.0,
) -> torch.Tensor:
    """Return ``wav`` ((channels, time) or (time,)) denoised, same shape and rate, chunk by chunk.

    Audio above full scale (peak > 1) is denoised at peak 1 and scaled back, so the model sees
    the levels it was trained on. The output is checked: a model that produces NaN or infinite
    samples (a broken checkpoint) raises AudioDenoiseError instead of returning them.
    ``strength`` as in :func:`denoise_clip`.
    """
    wav = check_audio_tensor(wav, "audio", ndims=(1, 2))
    sr = check_sample_rate(sr)
    strength = check_strength(strength)
    chunk, context = _chunk_frames(chunk_seconds, context_seconds, sr)
    squeeze = wav.ndim == 1
    x = wav.unsqueeze(0) if squeeze else wav
    peak = float(x.abs().max())
    scale = 1.0 / peak if peak > 1.0 else 1.0
    n = x.shape[-1]
    stitch = _Stitcher(min(int(FADE_SECONDS * sr), context))
    parts = [
        stitch.push(denoise_clip(model, x[:, r0:r1] * scale, sr, strength), r0, k0, k1)
        for r0, r1, k0, k1 in _chunks(n, chunk, context)
    ]
    y = torch.cat(parts, dim=-1)
    _check_model_output(y, "the audio")
    y = y / scale if scale != 1.0 else y
    return y.squeeze(0) if squeeze else y


def _chunk_frames(chunk_seconds: float, context_seconds: float, sr: int) -> tuple[int, int]:
    """Return (chunk, context) in frames after checking both lengths (InvalidArgumentError)."""
    chunk_s = check_number(chunk_seconds, "chunk_seconds", low=MIN_CHUNK_SECONDS, unit="s")
    context_s = check_number(context_seconds, "context_seconds", low=0.0, unit="s")
    return max(1, int(chunk_s * sr)), int(context_s * sr)


def _check_model_output(y: torch.Tensor, what: object) -> None:
    if not bool(torch.isfinite(y).all()):
        raise AudioDenoiseError(
            f"{what}: the model produced NaN or infinite samples (is the checkpoint broken?); "
            "nothing was written"
        )


def output_subtype(in_subtype: str, out_format: str) -> str:
    """Return the output subtype: the input's own when it is plain PCM/float and the format holds it."""
    from .audio import _PLAIN_SUBTYPES

    if in_subtype in _PLAIN_SUBTYPES and sf.check_format(out_format, in_subtype):
        return in_subtype
    return sf.default_subtype(out_format)


def denoise_file(
    model: nn.Module,
    in_path: PathLike,
    out_path: PathLike,
    chunk_seconds: float = CHUNK_SECONDS,
    context_seconds: float = CONTEXT_SECONDS,
    strength: float = 1.0,
) -> Path:
    """Denoise ``in_path`` into ``out_path`` (mono, the input's rate and length); return out_path.

    The file is streamed chunk by chunk, so memory does not grow with its length. The container
    follows ``out_path``'s extension (MP3 in, WAV out works); the input's sample format is kept
    where that container holds it. A float input above full scale is denoised and written at
    peak 1 (an :class:`AudioLevelWarning` says so). The output is written to a temporary file
    next to ``out_path`` and renamed only when complete: on any error (undecodable chunk, NaN
    samples in or out, a full disk) no output file is left behind and an existing one is kept.
    ``strength`` as in :func:`denoise_clip`.
    """
    strength = check_strength(strength)
    info = audio_info(in_path)
    src, dst = info.path, Path(out_path)
    sr, n = info.sample_rate, info.frames
    chunk, context = _chunk_frames(chunk_seconds, context_seconds, sr)
    fmt, subtype = output_format(dst, info.subtype)
    scale = _input_scale(src, info.subtype, chunk)
    stitch = _Stitcher(min(int(FADE_SECONDS * sr), context))
    try:
        fin = sf.SoundFile(str(src))
    except (sf.LibsndfileError, RuntimeError, TypeError) as exc:
        raise AudioLoadError(f"{src}: could not decode audio ({_reason(exc)})") from None
    with fin, atomic_write(dst) as tmp:
        try:
            fout = sf.SoundFile(tmp, "w", sr, 1, subtype, format=fmt)
        except (sf.LibsndfileError, RuntimeError, TypeError) as exc:
            raise AudioLoadError(
                f"{dst}: cannot write {fmt} audio ({subtype}) ({_reason(exc)})"
            ) from None
        with fout:
            for r0, r1, k0, k1 in _chunks(n, chunk, context):
                block = _read_block(fin, src, r0, r1, n)
                mono = torch.from_numpy(np.ascontiguousarray(block.T)).mean(0, keepdim=True)
                out = stitch.push(denoise_clip(model, mono * scale, sr, strength), r0, k0, k1)
                _check_model_output(out, src)
                try:
                    fout.write(np.clip(out[0].numpy(), -1.0, 1.0))
                except (sf.LibsndfileError, RuntimeError) as exc:
                    reason = explain_write_failure(tmp.parent, _reason(exc))
                    raise AudioLoadError(f"{dst}: cannot write audio ({reason})") from None
    return dst


def _reason(exc: BaseException) -> str:
    """The libsndfile reason without the file name (which may be a temporary one)."""
    text = getattr(exc, "error_string", "")
    lines = str(exc).strip().splitlines()
    return text or (lines[-1] if lines else type(exc).__name__)


def _read_block(fin: sf.SoundFile, src: Path, r0: int, r1: int, n: int) -> np.ndarray:
    try:
        fin.seek(r0)
        block = fin.read(r1 - r0, dtype="float32", always_2d=True)
    except (sf.LibsndfileError, RuntimeError) as exc:
        raise AudioLoadError(f"{src}: could not decode audio ({_reason(exc)})") from None
    if block.shape[0] != r1 - r0:
        raise AudioLoadError(f"{src}: truncated audio (could not read frames {r0}-{r1} of {n})")
    check_finite(block, src)
    return block


def _input_scale(src: Path, subtype: str, chunk: int) -> float:
    """Return 1 / peak for a float file above full scale (else 1), reading it once in blocks."""
    if subtype not in ("FLOAT", "DOUBLE"):
        return 1.0  # integer PCM cannot exceed full scale
    peak = 0.0
    try:
        for block in sf.blocks(str(src), blocksize=chunk, dtype="float32", always_2d=True):
            check_finite(block, src)
            peak = max(peak, float(np.abs(block).max(initial=0.0)))
    except (sf.LibsndfileError, RuntimeError) as exc:
        raise AudioLoadError(f"{src}: could not decode audio ({_reason(exc)})") from None
    if peak <= 1.0:
        return 1.0
    warnings.warn(
        f"{src}: samples reach {peak:.3g}, above full scale; denoised and written at peak 1",
        AudioLevelWarning,
        stacklevel=3,
    )
    return 1.0 / peak


def as_method(model: nn.Module, sr: int = DEFAULT_SR, strength: float = 1.0):
    """Return ``fn(noisy (1,1,T), clean) -> (1,1,T)`` denoising with ``model``, for metrics.evaluate."""
    strength = check_strength(strength)

    def method(noisy: torch.Tensor, clean: torch.Tensor | None = None) -> torch.Tensor:
        return denoise(model, noisy[0], sr, strength=strength).unsqueeze(0)

    return method
