"""Audio I/O: any WAV/FLAC file -> mono float32 tensor (1, time) at the target rate, and back.

File I/O goes through soundfile (libsndfile); resampling through ``torchaudio.functional``. Every
problem with a file becomes an :class:`AudioLoadError` whose message names the file.

File I/O plumbing: not course material (notebook 01 explains mono and resampling; this module
only does them safely for any file).
"""

from __future__ import annotations

import hashlib
import os
import struct
from collections import OrderedDict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np
import soundfile as sf
import torch

from . import DEFAULT_SR
from .errors import AudioLoadError
from .files import atomic_write

PathLike = str | os.PathLike


@dataclass(frozen=True)
class AudioInfo:
    """What a file holds: sample rate, frames, channels, container format and subtype."""

    path: Path
    sample_rate: int
    frames: int
    channels: int
    format: str
    subtype: str

    @property
    def duration(self) -> float:
        """Duration in seconds."""
        return self.frames / self.sample_rate if self.sample_rate else 0.0


def riff_chunks(f: BinaryIO, size: int) -> Iterator[tuple[bytes, int, int]]:
    """Yield ``(chunk_id, offset, declared_length)`` of each chunk of an open RIFF/WAVE file.

    Yields nothing when the file is not RIFF/WAVE. The caller may seek freely between chunks.
    """
    f.seek(0)
    head = f.read(12)
    if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"WAVE":
        return
    pos = 12
    while pos + 8 <= size:
        f.seek(pos)
        chunk_id, chunk_len = struct.unpack("<4sI", f.read(8))
        yield chunk_id, pos, chunk_len
        pos += 8 + chunk_len + (chunk_len & 1)


def _check_wav_truncation(path: Path) -> None:
    """Raise if a RIFF/WAVE file's data chunk declares more bytes than the file holds."""
    size = path.stat().st_size
    with open(path, "rb") as f:
        for chunk_id, pos, chunk_len in riff_chunks(f, size):
            if chunk_id != b"data":
                continue
            # 0 and 0xFFFFFFFF mean "unknown length" (files written by streaming recorders).
            if chunk_len not in (0, 0xFFFFFFFF) and pos + 8 + chunk_len > size:
                raise AudioLoadError(
                    f"{path}: truncated WAV file (header declares {chunk_len} bytes of audio, "
                    f"file holds {size - pos - 8})"
                )
            return


def audio_info(path: PathLike) -> AudioInfo:
    """Return the :class:`AudioInfo` of a file, raising AudioLoadError for anything unreadable."""
    p = Path(path)
    if not p.exists():
        raise AudioLoadError(f"{p}: no such file")
    if p.is_dir():
        raise AudioLoadError(f"{p}: is a directory, not an audio file")
    try:
        if p.stat().st_size == 0:
            raise AudioLoadError(f"{p}: file is empty")
        _check_wav_truncation(p)
    except OSError as exc:
        raise AudioLoadError(f"{p}: cannot read file ({exc.strerror or exc})") from None
    try:
        info = sf.info(str(p))
    except Exception as exc:  # libsndfile raises several types; the message is what matters
        raise AudioLoadError(f"{p}: not a readable audio file ({_short(exc)})") from None
    if info.frames <= 0:
        raise AudioLoadError(f"{p}: contains no audio samples")
    return AudioInfo(
        p, int(info.samplerate), int(info.frames), int(info.channels), info.format, info.subtype
    )


def _short(exc: Exception) -> str:
    msg = str(exc).strip().splitlines()
    return msg[-1] if msg else type(exc).__name__


def check_finite(wav: torch.Tensor | np.ndarray, path: PathLike) -> None:
    """Raise AudioLoadError naming ``path`` if ``wav`` holds NaN or infinite samples."""
    finite = torch.isfinite(wav).all() if isinstance(wav, torch.Tensor) else np.isfinite(wav).all()
    if not bool(finite):
        raise AudioLoadError(f"{path}: contains NaN or infinite samples")


def read_audio(path: PathLike, start: int = 0, frames: int = -1) -> tuple[torch.Tensor, int]:
    """Return ``(wav, sr)`` at the file's own rate: float32 tensor (channels, time), all channels kept."""
    info = audio_info(path)
    try:
        data, sr = sf.read(
            str(info.path), start=start, frames=frames, dtype="float32", always_2d=True
        )
    except Exception as exc:
        raise AudioLoadError(f"{info.path}: could not decode audio ({_short(exc)})") from None
    if data.shape[0] == 0 and frames != 0:
        raise AudioLoadError(f"{info.path}: contains no audio samples")
    check_finite(data, info.path)
    return torch.from_numpy(np.ascontiguousarray(data.T)), int(sr)


def to_mono(wav: torch.Tensor) -> torch.Tensor:
    """Average channels: (channels, time) -> (1, time)."""
    return wav.mean(dim=0, keepdim=True) if wav.shape[0] > 1 else wav


def resample(wav: torch.Tensor, orig_sr: int, new_sr: int) -> torch.Tensor:
    """Return ``wav`` (..., time) resampled from ``orig_sr`` to ``new_sr`` (band-limited sinc)."""
    if orig_sr == new_sr:
        return wav
    import torchaudio.functional as AF  # imported lazily: torchaudio is slow to import

    return AF.resample(wav, orig_sr, new_sr)


def load_audio(path: PathLike, sr: int = DEFAULT_SR, mono: bool = True) -> torch.Tensor:
    """Return the file as a float32 tensor (1, time) at ``sr`` (or (channels, time) if not mono)."""
    wav, file_sr = read_audio(path)
    if mono:
        wav = to_mono(wav)
    return resample(wav, file_sr, sr).contiguous()


def save_audio(
    path: PathLike, wav: torch.Tensor | np.ndarray, sr: int, subtype: str | None = None
) -> Path:
    """Write (channels, time) or (time,) audio to ``path`` atomically and return the path.

    The file appears only once it is complete (written to a temporary file, then renamed), so a
    failure never leaves a half-written output. WAV defaults to 16-bit PCM, clipping at +-1.
    """
    p = Path(path)
    arr = wav.detach().cpu().numpy() if isinstance(wav, torch.Tensor) else np.asarray(wav)
    arr = np.atleast_2d(arr.astype(np.float32, copy=False))
    if arr.ndim != 2:
        raise ValueError(f"expected (channels, time) audio, got shape {arr.shape}")
    check_finite(arr, p)
    fmt = p.suffix.lstrip(".").upper() or "WAV"
    if fmt not in sf.available_formats():
        raise AudioLoadError(
            f"{p}: cannot write audio with extension {p.suffix!r} (use .wav or .flac)"
        )
    if subtype is None and fmt == "WAV":
        subtype = "PCM_16"
    with atomic_write(p) as tmp:
        sf.write(tmp, np.clip(arr.T, -1.0, 1.0), sr, format=fmt, subtype=subtype)
    return p


class AudioCache:
    """Decode-and-resample cache: each file is decoded once, then served from memory (and disk).

    The key is the file's resolved path, size, modification time and the target rate, so an edited
    file is decoded again. With ``cache_dir`` the resampled audio is also stored as ``.npy`` files,
    so a new Python process (the next notebook) skips decoding too.
    """

    def __init__(
        self, sr: int = DEFAULT_SR, cache_dir: PathLike | None = None, max_items: int | None = None
    ):
        self.sr = sr
        self.cache_dir = Path(cache_dir) if cache_dir is not None else None
        self.max_items = max_items
        self._mem: OrderedDict[str, torch.Tensor] = OrderedDict()
        self.decodes = 0  # how many times a file was actually decoded (tests and curious learners)

    def _key(self, path: Path) -> str:
        st = path.stat()
        raw = f"{path.resolve()}|{st.st_size}|{st.st_mtime_ns}|{self.sr}"
        return hashlib.sha1(raw.encode()).hexdigest()

    def load(self, path: PathLike) -> torch.Tensor:
        """Return the mono float32 clip (1, time) at the cache's rate, decoding it at most once."""
        p = Path(path)
        if not p.exists():
            raise AudioLoadError(f"{p}: no such file")
        key = self._key(p)
        if key in self._mem:
            self._mem.move_to_end(key)
            return self._mem[key]
        wav = None
        npy = self.cache_dir / f"{key}.npy" if self.cache_dir is not None else None
        if npy is not None and npy.exists():
            try:
                wav = torch.from_numpy(np.load(npy))
            except (OSError, ValueError):
                wav = None  # a damaged cache file is rebuilt below
        if wav is None:
            wav = load_audio(p, self.sr)
            self.decodes += 1
            if npy is not None:
                # Unique temporary name: several processes (DDP ranks) may fill the cache at once.
                with atomic_write(npy, suffix=".npy") as tmp:
                    np.save(tmp, wav.numpy())
        self._mem[key] = wav
        if self.max_items is not None and len(self._mem) > self.max_items:
            self._mem.popitem(last=False)
        return wav

    def load_many(self, paths: Iterable[PathLike]) -> list[torch.Tensor]:
        """Return :meth:`load` of every path, in order."""
        return [self.load(p) for p in paths]

    def __len__(self) -> int:
        return len(self._mem)
