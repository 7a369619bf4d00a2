"""Data safety of audio I/O: a bounded fuzz of the reader, and the writer's refusals.

The fuzz mutates valid WAV and FLAC files (byte flips in header and body, absurd header field
values, truncation) with fixed seeds: every case must end in finite audio or one
AudioDenoiseError line, never another exception.
"""

from __future__ import annotations

import io
import random
import struct
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch

from audio_denoise_utils.audio import load_audio, save_audio
from audio_denoise_utils.enhance import denoise
from audio_denoise_utils.errors import AudioDenoiseError, InvalidArgumentError
from audio_denoise_utils.models import build_model

SR = 16_000


def encoded(fmt: str, subtype: str, frames: int = 600, channels: int = 1, sr: int = SR) -> bytes:
    rng = np.random.default_rng(0)
    data = (0.3 * rng.standard_normal((frames, channels))).astype(np.float32)
    buf = io.BytesIO()
    sf.write(buf, data, sr, format=fmt, subtype=subtype)
    return buf.getvalue()


BASES = {
    "pcm16.wav": encoded("WAV", "PCM_16"),
    "float.wav": encoded("WAV", "FLOAT", channels=2),
    "pcm24.flac": encoded("FLAC", "PCM_24"),
}
# (offset, size) of the WAV fmt/data fields written by libsndfile for a plain PCM/float file.
WAV_FIELDS = {
    "riff size": (4, 4),
    "fmt size": (16, 4),
    "format tag": (20, 2),
    "channels": (22, 2),
    "sample rate": (24, 4),
    "byte rate": (28, 4),
    "block align": (32, 2),
    "bits": (34, 2),
}
ABSURD = [0, 1, 7, 255, 0x7FFF, 0xFFFF, 0x7FFFFFFF, 0xFFFFFFFF, 4_000_000_000, 44_101, 767_999]


def _data_chunk_size_offset(base: bytes) -> int | None:
    i = base.find(b"data")
    return i + 4 if i >= 0 else None


def mutations(seed: int, n: int) -> list[tuple[str, str, bytes]]:
    """``n`` (base name, description, mutated bytes) cases from a fixed seed."""
    rng = random.Random(seed)
    cases = []
    names = sorted(BASES)
    for i in range(n):
        name = names[i % len(names)]
        data = bytearray(BASES[name])
        kind = rng.choice(["flip-header", "flip-body", "field", "truncate", "flip-many"])
        if kind == "field" and name.endswith(".wav"):
            field = rng.choice([*WAV_FIELDS, "data size"])
            off, size = (
                (_data_chunk_size_offset(data), 4) if field == "data size" else WAV_FIELDS[field]
            )
            value = rng.choice(ABSURD) & ((1 << (8 * size)) - 1)
            data[off : off + size] = value.to_bytes(size, "little")
            desc = f"{field}={value}"
        elif (
            kind == "field"
        ):  # FLAC STREAMINFO: sample rate (20 bits), channels, bits, total samples
            off = 8 + 10  # after "fLaC" + block header, min/max block and frame sizes
            packed = rng.choice(ABSURD + [2**36 - 1, 2**35]) & (2**64 - 1)
            data[off : off + 8] = struct.pack(">Q", packed)
            desc = f"streaminfo={packed:#x}"
        elif kind == "truncate":
            cut = rng.randrange(1, len(data))
            data = data[:cut]
            desc = f"truncate at {cut}"
        else:
            lo, hi = (0, 64) if kind == "flip-header" else (0, len(data))
            flips = 1 if kind != "flip-many" else rng.randrange(2, 40)
            for _ in range(flips):
                pos = rng.randrange(lo, min(hi, len(data)))
                data[pos] ^= 1 << rng.randrange(8)
            desc = f"{kind} x{flips}"
        cases.append((name, desc, bytes(data)))
    return cases


def test_fuzzed_wav_and_flac_give_finite_audio_or_one_clean_error(tmp_path):
    outcomes = {"audio": 0, "error": 0}
    problems = []
    for i, (name, desc, data) in enumerate(mutations(seed=7, n=300)):
        path = tmp_path / f"case{i:03d}{Path(name).suffix}"
        path.write_bytes(data)
        try:
            wav = load_audio(path, SR)
        except AudioDenoiseError as exc:
            msg = str(exc)
            if "\n" in msg or str(path) not in msg:
                problems.append(f"{name} {desc}: unclear message {msg!r}")
            outcomes["error"] += 1
            continue
        except Exception as exc:  # noqa: BLE001 - exactly what the test hunts for
            problems.append(f"{name} {desc}: {type(exc).__name__}: {exc}")
            continue
        if not (
            wav.dtype == torch.float32
            and wav.ndim == 2
            and wav.shape[0] == 1
            and wav.shape[1] > 0
            and bool(torch.isfinite(wav).all())
        ):
            problems.append(f"{name} {desc}: bad audio {wav.dtype} {tuple(wav.shape)}")
        outcomes["audio"] += 1
    assert not problems, "\n".join(problems[:20])
    assert outcomes["audio"] > 30 and outcomes["error"] > 30  # both paths really exercised


# --- the writer: refusals and integer PCM ---------------------------------------------------


def test_save_audio_scales_int16_and_refuses_what_it_cannot_mean(tmp_path):
    x = (0.5 * np.sin(np.linspace(0, 200, 8000))).astype(np.float32)
    pcm = np.round(x * 32767).astype(np.int16)
    save_audio(tmp_path / "i16.wav", pcm, SR)
    back, _ = sf.read(tmp_path / "i16.wav", dtype="float32")
    assert np.abs(back - x).max() < 1e-3  # not clipped garbage
    save_audio(tmp_path / "t.wav", torch.from_numpy(pcm), SR)  # a torch int16 tensor too
    assert np.abs(sf.read(tmp_path / "t.wav", dtype="float32")[0] - x).max() < 1e-3
    bad = {
        "empty": (np.zeros(0, np.float32), SR),
        "nan": (np.array([0.1, np.nan], np.float32), SR),
        "bool": (np.ones(10, bool), SR),
        "complex": (np.ones(10, np.complex64), SR),
        "time-major": (np.zeros((8000, 2), np.float32), SR),
        "4-d": (np.zeros((1, 1, 1, 10), np.float32), SR),
        "sr zero": (x, 0),
        "sr absurd": (x, 4_000_000_000),
        "sr float": (x, 16000.5),
    }
    for what, (data, sr) in bad.items():
        with pytest.raises(AudioDenoiseError) as err:
            save_audio(tmp_path / f"{what}.wav", data, sr)
        assert "\n" not in str(err.value), what
        assert not (tmp_path / f"{what}.wav").exists(), what
    assert sorted(p.name for p in tmp_path.iterdir()) == ["i16.wav", "t.wav"]  # no temp files


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(0)
    return build_model("mask", channels=32, blocks=2).eval()


@pytest.mark.parametrize(
    "kwargs,needle",
    [
        ({"chunk_seconds": 0}, "chunk_seconds"),
        ({"chunk_seconds": -1}, "chunk_seconds"),
        ({"chunk_seconds": float("nan")}, "finite"),
        ({"context_seconds": -0.5}, "context_seconds"),
        ({"sr": 0}, "sample rate"),
    ],
)
def test_enhance_refuses_bad_lengths_and_rates(model, kwargs, needle):
    wav = torch.zeros(1, SR)
    sr = kwargs.pop("sr", SR)
    with pytest.raises(InvalidArgumentError, match=needle):
        denoise(model, wav, sr, **kwargs)


@pytest.mark.parametrize(
    "wav,needle",
    [
        (torch.zeros(1, 0), "empty"),
        (torch.zeros(2, 3, 100), "expected"),
        (torch.ones(1, 100, dtype=torch.int16), "floating-point"),
        (torch.tensor([[0.0, float("inf")]]), "NaN or infinite"),
        ([0.0, 0.1], "torch tensor"),
    ],
)
def test_enhance_refuses_bad_audio(model, wav, needle):
    with pytest.raises(InvalidArgumentError, match=needle):
        denoise(model, wav, SR)


def test_enhance_handles_absurd_amplitude_and_keeps_level(model):
    x = 0.3 * torch.randn(1, SR, generator=torch.Generator().manual_seed(0))
    y = denoise(model, x, SR)
    y_loud = denoise(model, x * 1e30, SR)
    assert torch.isfinite(y_loud).all()
    peak = float(x.abs().max())
    # Processed at peak 1 and scaled back: the same result as the input at peak 1, times the level.
    ref = denoise(model, x / peak, SR) * (1e30 * peak)
    assert torch.allclose(y_loud, ref, rtol=1e-4, atol=1e25) and y.shape == y_loud.shape


def test_odd_sample_rates_resample_quickly_and_exactly_in_length(tmp_path):
    for sr in (44_056, 44_101, 767_999):
        path = tmp_path / f"r{sr}.wav"
        sf.write(path, np.zeros(sr // 10, np.float32) + 0.1, sr)
        wav = load_audio(path, SR)
        assert wav.shape == (1, -(-(sr // 10) * SR // sr)) and torch.isfinite(wav).all()
