"""PESQ and STOI through torchmetrics: resampling, and a NaN (with a warning) for clips they cannot score.

Engine code: not course material. :func:`audio_denoise_utils.metrics.pesq` and
:func:`~audio_denoise_utils.metrics.stoi` call it.
"""

from __future__ import annotations

import math
import warnings

import torch

from ..metrics import MetricInputError


def _pesq_rate(sr: int, mode: str) -> int:
    """Return the rate PESQ will run at: 16 kHz for wide-band, 8 or 16 kHz for narrow-band."""
    if mode not in ("wb", "nb"):
        raise MetricInputError(
            f"pesq: mode must be 'wb' (wide-band) or 'nb' (narrow-band), got {mode!r}"
        )
    if mode == "wb" or sr not in (8000, 16000):
        return 16000
    return sr


def pesq_rows(est: torch.Tensor, tgt: torch.Tensor, sr: int, mode: str = "wb") -> torch.Tensor:
    """Return PESQ scores (batch,) of rows ``est`` against ``tgt`` (batch, time): NaN where unscorable.

    PESQ is defined at 8 and 16 kHz only and wide-band mode needs 16 kHz, so other rates are
    resampled to 16 kHz first (with a warning). A clip PESQ cannot score (silent, shorter than
    about 0.25 s, or holding NaN) gets NaN and a warning instead of stopping a whole evaluation.
    """
    from torchmetrics.functional.audio import perceptual_evaluation_speech_quality

    rate = _pesq_rate(sr, mode)
    if rate != sr:
        from ..audio import resample

        warnings.warn(
            f"pesq: resampling {sr} Hz audio to {rate} Hz (PESQ {mode} runs at {rate} Hz)",
            stacklevel=2,
        )
        est, tgt = resample(est.float(), sr, rate), resample(tgt.float(), sr, rate)
    est, tgt = est.detach().cpu().double(), tgt.detach().cpu().double()
    scores = torch.full((est.shape[0],), math.nan)
    for i in range(est.shape[0]):
        if not (torch.isfinite(est[i]).all() and torch.isfinite(tgt[i]).all()):
            warnings.warn(
                f"pesq: clip {i} holds NaN or infinite samples; its score is NaN", stacklevel=2
            )
            continue
        if not (est[i].abs().max() > 0 and tgt[i].abs().max() > 0):
            # pesq would divide by the zero peak; it cannot score silence anyway
            warnings.warn(
                f"pesq: clip {i} is silent and cannot be scored; its score is NaN", stacklevel=2
            )
            continue
        try:
            scores[i] = float(perceptual_evaluation_speech_quality(est[i], tgt[i], rate, mode))
        except Exception as exc:  # pesq raises NoUtterancesError, BufferTooShortError, ...
            warnings.warn(
                f"pesq: clip {i} could not be scored ({type(exc).__name__}: {exc}); its score is NaN",
                stacklevel=2,
            )
    return scores


# pystoi's words when a clip holds fewer than 30 frames of 25.6 ms above its silence threshold: it
# then returns 1e-5, a number that looks like a (terrible) score.
_STOI_TOO_SHORT = "Not enough STFT frames"


def stoi_rows(
    est: torch.Tensor, tgt: torch.Tensor, sr: int, extended: bool = False
) -> torch.Tensor:
    """Return STOI scores (batch,) of rows ``est`` against ``tgt`` (batch, time): NaN where unscorable.

    A clip with under about 0.4 s of speech (pystoi's 30 frames), silent, or holding NaN gets NaN
    and a warning, not pystoi's stand-in 1e-5 or an exception, so an evaluation's means skip it.
    """
    from torchmetrics.functional.audio import short_time_objective_intelligibility

    est, tgt = est.detach().cpu().double(), tgt.detach().cpu().double()
    scores = torch.full((est.shape[0],), math.nan)
    for i in range(est.shape[0]):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                score = float(
                    short_time_objective_intelligibility(est[i], tgt[i], sr, extended=extended)
                )
                failure = ""
            except Exception as exc:  # pystoi fails outright on a few hundred samples
                score, failure = math.nan, f"{type(exc).__name__}: {exc}"
        too_short = [w for w in caught if _STOI_TOO_SHORT in str(w.message)]
        for w in caught:
            if w not in too_short:
                warnings.warn(w.message, w.category, stacklevel=2)
        if too_short or failure or not math.isfinite(score):
            why = failure or "under about 0.4 s of speech, or silent"
            warnings.warn(
                f"stoi: clip {i} could not be scored ({why}); its score is NaN", stacklevel=2
            )
            continue
        scores[i] = score
    return scores
