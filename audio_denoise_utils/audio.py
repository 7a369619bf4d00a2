"""Audio I/O: any WAV/FLAC file -> mono float32 tensor (1, time) at the target rate, and back.

File I/O goes through soundfile (libsndfile); resampling through ``torchaudio.functional``. Every
problem with a file becomes an :class:`AudioLoadError` whose message names the file.

File I/O plumbing: not course material (notebook 01 explains mono and resampling; this module
only does them safely for any file).
"""

from __future__ import annotations

import hashlib
import math
import os
import warnings
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf
import torch

from . import DEFAULT_SR
from .engine.checks import check_sample_rate
from .engine.headers import MAX_CHANNELS, check_header_fields, check_wav_truncation
from .engine.noise_tools import cut_silent_gaps
from .engine.paths import explain_write_failure
from .errors import AudioDenoiseError, AudioLoadError, InvalidArgumentError, OutputError
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
        check_wav_truncation(p)
    except OSError as exc:
        raise AudioLoadError(f"{p}: cannot read file ({exc.strerror or exc})") from None
    try:
        info = sf.info(str(p))
    except Exception as exc:  # libsndfile raises several types; the message is what matters
        raise AudioLoadError(f"{p}: not a readable audio file ({_short(exc)})") from None
    check_header_fields(p, int(info.samplerate), int(info.channels), int(info.frames))
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
    orig_sr = check_sample_rate(orig_sr, "resample: original sample rate")
    new_sr = check_sample_rate(new_sr, "resample: target sample rate")
    if orig_sr == new_sr:
        return wav
    g = math.gcd(orig_sr, new_sr)
    if (orig_sr // g) * (new_sr // g) > _MAX_SINC_KERNEL:
        return _resample_soxr(wav, orig_sr, new_sr)
    import torchaudio.functional as AF  # imported lazily: torchaudio is slow to import

    return AF.resample(wav, orig_sr, new_sr)


# torchaudio's exact sinc resampler builds a (new/g, orig/g) kernel: for rates with a small common
# divisor (44056 Hz, 44101 Hz) that is gigabytes. Such rates go through soxr (librosa's resampler).
_MAX_SINC_KERNEL = 2_000_000


def _resample_soxr(wav: torch.Tensor, orig_sr: int, new_sr: int) -> torch.Tensor:
    import soxr

    n = wav.shape[-1]
    flat = wav.reshape(-1, n).detach().cpu().double().numpy().T  # soxr wants (time, channels)
    out = soxr.resample(np.ascontiguousarray(flat), orig_sr, new_sr, quality="HQ")
    y = torch.from_numpy(np.ascontiguousarray(out.T)).to(wav.dtype)
    want = math.ceil(n * new_sr / orig_sr)  # the length torchaudio would give
    y = (
        y[..., :want]
        if y.shape[-1] >= want
        else torch.nn.functional.pad(y, (0, want - y.shape[-1]))
    )
    return y.reshape(*wav.shape[:-1], want).to(wav.device)


def load_audio(path: PathLike, sr: int = DEFAULT_SR, mono: bool = True) -> torch.Tensor:
    """Return the file as a float32 tensor (1, time) at ``sr`` (or (channels, time) if not mono)."""
    sr = check_sample_rate(sr, "load_audio: target sample rate")  # before reading anything
    wav, file_sr = read_audio(path)
    if mono:
        wav = to_mono(wav)
    return resample(wav, file_sr, sr).contiguous()


#: Extensions whose container name differs from the extension itself.
_CONTAINERS = {".aif": "AIFF", ".aifc": "AIFF", ".oga": "OGG", ".opus": "OGG"}
#: Sample formats kept from input to output; anything else (MP3, Vorbis...) gets the output's default.
_PLAIN_SUBTYPES = ("PCM_S8", "PCM_U8", "PCM_16", "PCM_24", "PCM_32", "FLOAT", "DOUBLE")


def is_audio_name(path: PathLike) -> bool:
    """Return True if ``path`` ends in an extension soundfile can write (.wav, .flac, .ogg, ...)."""
    suffix = Path(path).suffix.lower()
    return bool(suffix) and (suffix in _CONTAINERS or suffix[1:].upper() in sf.available_formats())


def output_format(path: PathLike, in_subtype: str | None = None) -> tuple[str, str]:
    """Return ``(container, subtype)`` for writing ``path``: the container follows its extension.

    The input's sample format (``in_subtype``) is kept when it is plain PCM or float and the
    container can hold it; otherwise (MP3 in, WAV out) the container's default is used. An
    extension soundfile cannot write raises AudioLoadError naming the file.
    """
    p = Path(path)
    suffix = p.suffix.lower()
    fmt = _CONTAINERS.get(suffix, suffix[1:].upper() or "WAV")
    if fmt not in sf.available_formats():
        raise AudioLoadError(
            f"{p}: cannot write audio with extension {p.suffix!r} (use .wav or .flac)"
        )
    if suffix == ".opus":
        return fmt, "OPUS"
    if in_subtype in _PLAIN_SUBTYPES and sf.check_format(fmt, in_subtype):
        return fmt, in_subtype
    return fmt, sf.default_subtype(fmt)


# Integer PCM arrays are scaled to [-1, 1) by their full scale, as soundfile reads them.
_INT_SCALE = {np.dtype(np.int16): 2.0**15, np.dtype(np.int32): 2.0**31}


def _as_float_frames(wav: torch.Tensor | np.ndarray, p: Path) -> np.ndarray:
    """Return ``wav`` as a float32 (channels, time) array, refusing what has no clear meaning."""
    arr = wav.detach().cpu().numpy() if isinstance(wav, torch.Tensor) else np.asarray(wav)
    if arr.dtype in _INT_SCALE:
        arr = arr.astype(np.float32) / np.float32(_INT_SCALE[arr.dtype])
    elif arr.dtype == np.uint8:
        arr = (arr.astype(np.float32) - 128.0) / 128.0
    elif not np.issubdtype(arr.dtype, np.floating):
        raise InvalidArgumentError(
            f"{p}: cannot save {arr.dtype} samples; pass float audio in [-1, 1] "
            "(or int16/int32 PCM)"
        )
    if arr.ndim == 3 and arr.shape[0] == 1:
        arr = arr[0]  # a batch of one clip, (1, channels, time)
    arr = np.atleast_2d(arr.astype(np.float32, copy=False))
    if arr.ndim != 2:
        raise InvalidArgumentError(
            f"{p}: expected (channels, time) or (time,) audio, got shape {arr.shape}"
        )
    if arr.size == 0:
        raise InvalidArgumentError(f"{p}: refusing to save empty audio (shape {arr.shape})")
    if arr.shape[0] > MAX_CHANNELS:
        raise InvalidArgumentError(
            f"{p}: audio of shape {arr.shape} would have {arr.shape[0]} channels; pass "
            "(channels, time) (for (time, channels) data use wav.T)"
        )
    check_finite(arr, p)
    return arr


def save_audio(
    path: PathLike, wav: torch.Tensor | np.ndarray, sr: int, subtype: str | None = None
) -> Path:
    """Write (channels, time) or (time,) audio to ``path`` atomically and return the path.

    The file appears only once it is complete (written to a temporary file, then renamed), so a
    failure never leaves a half-written output. Float samples are taken as [-1, 1]; int16/int32
    arrays as PCM at their full scale. WAV defaults to 16-bit PCM; samples are clipped at +-1. Empty or
    non-finite audio, other dtypes, an implausible ``sr`` or an unknown extension raise an
    AudioDenoiseError naming ``path`` before anything is written.
    """
    p = Path(path)
    arr = _as_float_frames(wav, p)
    sr = check_sample_rate(sr, f"{p}: sample rate")
    fmt, default = output_format(p)
    if subtype is None:
        subtype = "PCM_16" if fmt == "WAV" else default
    if not sf.check_format(fmt, subtype):
        raise InvalidArgumentError(f"{p}: a {fmt} file cannot hold {subtype} samples")
    with atomic_write(p) as tmp:
        write_frames(tmp, arr, sr, fmt, subtype, shown=p)
    return p


def write_frames(
    target: Path, arr: np.ndarray, sr: int, fmt: str, subtype: str, shown: Path
) -> None:
    """Write float (channels, time) ``arr`` clipped to +-1 to ``target``; errors name ``shown``."""
    try:
        sf.write(target, np.clip(arr.T, -1.0, 1.0), sr, format=fmt, subtype=subtype)
    except sf.LibsndfileError as exc:
        reason = getattr(exc, "error_string", "") or _short(exc)  # without the temporary name
        reason = explain_write_failure(Path(target).parent, reason)
        raise AudioLoadError(f"{shown}: cannot write audio ({reason})") from None


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
                try:
                    with atomic_write(npy, suffix=".npy") as tmp:
                        np.save(tmp, wav.numpy())
                except (OSError, OutputError) as exc:  # read-only or full: keep working from memory
                    reason = getattr(exc, "strerror", None) or exc
                    warnings.warn(
                        f"decode cache {self.cache_dir} cannot be written "
                        f"({reason}); decoded clips stay in memory only "
                        "(set AUDIO_DENOISE_CACHE to a writable folder)",
                        stacklevel=2,
                    )
                    self.cache_dir = None
        self._mem[key] = wav
        if self.max_items is not None and len(self._mem) > self.max_items:
            self._mem.popitem(last=False)
        return wav

    def load_many(self, paths: Iterable[PathLike]) -> list[torch.Tensor]:
        """Return :meth:`load` of every path, in order."""
        return [self.load(p) for p in paths]

    def __len__(self) -> int:
        return len(self._mem)


def load_audio_dir(folder: PathLike, sr: int = DEFAULT_SR) -> list[torch.Tensor]:
    """Return every audio file under ``folder`` as (1, time) at ``sr``, sorted by path."""
    suffixes = {".wav", ".flac", ".ogg", ".aiff", ".aif"}
    files = sorted(p for p in Path(folder).rglob("*") if p.suffix.lower() in suffixes)
    if not files:
        raise AudioDenoiseError(f"{folder}: holds no audio files (.wav, .flac, .ogg, .aiff)")
    return [load_audio(p, sr) for p in files]


def check_noise_dir(folder: PathLike | None) -> None:
    """Raise AudioDenoiseError unless ``folder`` (noise recordings for 'recorded') is a folder."""
    if folder is None or not Path(folder).is_dir():
        raise AudioDenoiseError(
            f"noise kind 'recorded' needs noise_dir, a folder of noise recordings; got {folder!r} "
            "(run `python scripts/fetch_real_noise.py` for data/realnoise/train)"
        )


def load_noise_dir(folder: PathLike | None, sr: int = DEFAULT_SR) -> list[torch.Tensor]:
    """Return every audio file under ``folder`` (noise recordings) as (1, time) at ``sr``.

    Runs of digital silence of a quarter second or more are cut out (game sounds are often padded
    with seconds of it, and a training crop inside such a gap holds no noise to mix); a folder of
    nothing but silence raises AudioDenoiseError naming it.
    """
    check_noise_dir(folder)
    return cut_silent_gaps(load_audio_dir(folder, sr), sr, folder)


def check_speech_dir(folder: PathLike) -> None:
    """Raise AudioDenoiseError unless ``folder`` (extra clean voices for training) is a folder."""
    if not Path(folder).is_dir():
        raise AudioDenoiseError(
            f"{folder}: extra speech for training must be a folder of clean speech recordings "
            "(run `python scripts/fetch_real_speech.py --set train` for data/realspeech_train)"
        )


def load_speech_dir(folder: PathLike, sr: int = DEFAULT_SR) -> list[torch.Tensor]:
    """Return every audio file under ``folder`` (extra clean voices) as (1, time) at ``sr``."""
    check_speech_dir(folder)
    return load_audio_dir(folder, sr)
