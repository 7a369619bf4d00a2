"""Writing a noisy copy of an audio file at an exact SNR: what ``audio-denoise corrupt`` runs.

Engine code: not course material. The noise itself comes from :mod:`audio_denoise_utils.noise`
(the course's one way to make and mix noise); this module adds file I/O, clipping within full
scale (the noise level solved so the SNR still holds) and byte-reproducible WAV output.
"""

from __future__ import annotations

import math
import os
import warnings
from pathlib import Path

import torch

from ..audio import output_format, read_audio, to_mono, write_frames
from ..errors import AudioDenoiseError, AudioLevelWarning, AudioLoadError, InvalidArgumentError
from ..files import atomic_write
from ..noise import (
    MAX_FILE_SNR_DB,
    MIN_FILE_SNR_DB,
    SYNTHETIC_KINDS,
    amplitude_modulation,
    make_generator,
    measure_snr,
    random_gain,
    synthetic_noise,
)
from .checks import check_number, check_seed
from .headers import riff_chunks
from .noise_tools import has_sound


def _zero_wav_peak_timestamp(path: Path) -> None:
    """Zero the timestamp libsndfile writes into float WAVs' PEAK chunk (same input, same bytes)."""
    with open(path, "r+b") as f:
        for chunk_id, pos, chunk_len in riff_chunks(f, path.stat().st_size):
            if chunk_id == b"PEAK" and chunk_len >= 8:
                f.seek(pos + 12)  # after id, size and version
                f.write(b"\0\0\0\0")
                return
            if chunk_id == b"data":
                return


def _mix_with_clipping(
    reference: torch.Tensor, noise: torch.Tensor, snr_db: float, path: Path
) -> torch.Tensor:
    """Return float32 ``clip(reference + a * noise, -1, 1)`` with ``a`` set so its SNR is ``snr_db``.

    Without clipping ``a`` has a closed form (:func:`mix_at_snr`). A file holds samples in
    [-1, 1], so a loud input at a low SNR would be clipped on writing, lowering the noise and
    raising the SNR. Clipping toward a reference inside [-1, 1] can only shrink each sample's
    error, and the error grows monotonically with ``a``, so ``a`` is found by bisection.
    """
    r = reference.double()
    n = noise.double()
    signal = r.pow(2).sum()

    def mixed(a: float) -> torch.Tensor:
        return (r + a * n).clamp(-1.0, 1.0).float()

    def snr_of(a: float) -> float:
        return float(10 * torch.log10(signal / (mixed(a).double() - r).pow(2).sum()))

    a0 = math.sqrt(float(signal / n.pow(2).sum()) / 10 ** (snr_db / 10))
    if float((r + a0 * n).abs().max()) <= 1.0:
        return mixed(a0)
    lo, hi = a0, 2 * a0  # snr_of(lo) >= snr_db: clipping only removes error
    for _ in range(64):
        if snr_of(hi) <= snr_db:
            break
        lo, hi = hi, 2 * hi
    else:
        raise AudioDenoiseError(
            f"{path}: cannot reach {snr_db:g} dB SNR within full scale (the input is too loud "
            f"for that much noise); ask for a higher SNR"
        )
    for _ in range(100):
        mid = 0.5 * (lo + hi)
        err = snr_of(mid) - snr_db
        if abs(err) < 1e-4:
            return mixed(mid)
        lo, hi = (mid, hi) if err > 0 else (lo, mid)
    return mixed(0.5 * (lo + hi))


def corrupt_file(
    in_path: str | os.PathLike,
    out_path: str | os.PathLike,
    snr_db: float,
    kind: str = "white",
    multiplicative: bool = False,
    seed: int = 0,
    subtype: str | None = None,
) -> float:
    """Write a noisy copy of ``in_path`` to ``out_path`` and return its realised SNR in dB.

    The input keeps its own sample rate; a multi-channel input is averaged to mono and the output
    is mono, with the input's number of samples. ``kind`` is one of :data:`SYNTHETIC_KINDS`
    ("white", "pink", "brown", "hum", "tones", "machine"; made at the file's own rate). The noise
    is scaled so that the written file's SNR against the (mono) input is ``snr_db``; the returned
    value is measured by reading the written file back. WAV outputs default to 32-bit float
    (subtype "FLOAT") so quantisation does not disturb the SNR (within 0.1 dB guaranteed); pass
    ``subtype`` (e.g. "PCM_16") to override, at the price of quantisation noise on quiet inputs
    at high SNR. Samples are kept within [-1, 1]: an input above full scale (a float file peaking
    over 1) is first scaled to peak 1, with an :class:`AudioLevelWarning`, and the SNR is exact
    against that scaled input; where the mix would clip, the noise level is solved numerically so
    the SNR still holds.
    ``snr_db`` must lie in [-50, 100] dB and ``seed`` in [0, 2**32 - 1].

    With ``multiplicative=True`` the input is first scaled by a seeded :func:`random_gain` and
    :func:`amplitude_modulation` (scaled down to full scale if that made it clip), and the SNR is
    measured against that modulated signal.

    The same ``seed`` writes byte-identical files; another seed draws other noise. The file is
    written atomically. An unreadable input raises AudioLoadError naming it; a silent input too
    (its SNR is undefined).
    """
    if kind not in SYNTHETIC_KINDS:
        raise InvalidArgumentError(
            f"corrupt_file: unknown noise kind {kind!r}; choose from {list(SYNTHETIC_KINDS)}"
        )
    snr_db = check_number(snr_db, "SNR", low=MIN_FILE_SNR_DB, high=MAX_FILE_SNR_DB, unit="dB")
    seed = check_seed(seed)
    src, out = Path(in_path), Path(out_path)
    fmt, default_subtype = output_format(out)  # refuse an unwritable extension before any work
    if subtype is None:
        subtype = "FLOAT" if fmt == "WAV" else default_subtype
    wav, sr = read_audio(src)
    reference = to_mono(wav)
    if reference.shape[-1] < 2:
        raise AudioLoadError(f"{src}: holds {reference.shape[-1]} sample; noise needs at least 2")
    if not has_sound(reference):
        raise AudioLoadError(f"{src}: is silent (all samples zero), so an SNR is undefined")
    g = make_generator(seed=seed)
    if multiplicative:
        reference = random_gain(reference, generator=g)
        reference = amplitude_modulation(reference, sr, generator=g)
        peak = float(reference.abs().max())
        if peak > 1.0:
            reference = reference / peak
    noise = synthetic_noise(kind, reference.shape, sr=sr, generator=g)
    if not has_sound(noise):  # a band-limited kind on a few samples: no bin in its band
        raise AudioLoadError(
            f"{src}: {reference.shape[-1]} samples are too short for {kind} noise (its frequency "
            "band holds no component at this length); use a longer clip or another kind"
        )
    peak = float(reference.abs().max())
    if peak > 1.0:
        warnings.warn(
            f"{src}: samples reach {peak:.3g}, above full scale; scaled to peak 1 before adding "
            "noise (the SNR is exact against the scaled input)",
            AudioLevelWarning,
            stacklevel=2,
        )
        reference = reference / peak
    noisy = _mix_with_clipping(reference, noise, snr_db, src)

    # Written under a temporary name first so the PEAK timestamp is fixed before the file appears.
    with atomic_write(out, suffix=out.suffix or ".wav") as tmp:
        write_frames(tmp, noisy.numpy(), sr, fmt, subtype, shown=out)
        _zero_wav_peak_timestamp(tmp)
    written, _ = read_audio(out)
    return float(measure_snr(reference, written)[0])
