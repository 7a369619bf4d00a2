"""audio.py: any WAV/FLAC -> mono float32 (1, T) at 16 kHz; clear errors naming the file; the cache."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf
import torch

from audio_denoise_utils.audio import AudioCache, audio_info, load_audio, read_audio, save_audio
from audio_denoise_utils.errors import AudioLoadError


def sine(seconds: float, sr: int, hz: float = 440.0) -> np.ndarray:
    t = np.arange(int(seconds * sr)) / sr
    return (0.5 * np.sin(2 * np.pi * hz * t)).astype(np.float32)


@pytest.mark.parametrize(
    ("name", "sr", "channels", "subtype"),
    [
        ("mono16.wav", 16000, 1, "PCM_16"),
        ("stereo48.wav", 48000, 2, "PCM_16"),
        ("float22.wav", 22050, 1, "FLOAT"),
        ("int24_44.flac", 44100, 2, "PCM_24"),
        ("int32_8k.wav", 8000, 1, "PCM_32"),
    ],
)
def test_any_file_becomes_mono_float32_at_16k(tmp_path, name, sr, channels, subtype):
    x = sine(0.5, sr)
    data = np.stack([x, -x * 0.5], 1) if channels == 2 else x
    path = tmp_path / name
    sf.write(path, data, sr, subtype=subtype)
    wav = load_audio(path)
    assert wav.dtype == torch.float32 and wav.shape == (1, 8000)
    # The 440 Hz tone survives resampling, and stereo becomes the mean of the channels.
    expected_peak = 0.5 * (1 - 0.5) / 2 if channels == 2 else 0.5  # mean of x and -x/2
    assert abs(float(wav.abs().max()) - expected_peak) < 0.02
    spectrum = torch.fft.rfft(wav[0]).abs()
    assert abs(int(spectrum.argmax()) * 16000 / 8000 - 440) <= 2


def test_read_audio_keeps_rate_and_channels(tmp_path):
    path = tmp_path / "s.wav"
    sf.write(path, np.stack([sine(0.1, 44100), sine(0.1, 44100, 880)], 1), 44100)
    wav, sr = read_audio(path)
    assert sr == 44100 and wav.shape == (2, 4410)


def bad_files(tmp_path):
    good = tmp_path / "good.wav"
    sf.write(good, sine(0.5, 16000), 16000, subtype="PCM_16")
    (tmp_path / "empty.wav").write_bytes(b"")
    (tmp_path / "text.wav").write_text("hello, not audio\n" * 50)
    (tmp_path / "truncated.wav").write_bytes(good.read_bytes()[:5000])
    nan = sine(0.2, 16000)
    nan[10] = np.inf
    sf.write(tmp_path / "inf.wav", nan, 16000, subtype="FLOAT")
    sf.write(tmp_path / "nosamples.wav", np.zeros(0, np.float32), 16000)
    return {
        "empty.wav": "empty",
        "text.wav": "not a readable audio file",
        "truncated.wav": "truncated",
        "inf.wav": "NaN or infinite",
        "nosamples.wav": "no audio samples",
        "missing.wav": "no such file",
    }


def test_bad_files_raise_a_clear_error_naming_the_file(tmp_path):
    for name, problem in bad_files(tmp_path).items():
        with pytest.raises(AudioLoadError) as info:
            load_audio(tmp_path / name)
        message = str(info.value)
        assert name in message and problem in message and "\n" not in message


def test_audio_info_of_a_folder_is_an_error(tmp_path):
    with pytest.raises(AudioLoadError, match="directory"):
        audio_info(tmp_path)


def test_save_audio_round_trip_and_refusals(tmp_path):
    wav = torch.from_numpy(sine(0.25, 16000)).unsqueeze(0)
    path = save_audio(tmp_path / "out.wav", wav, 16000)
    back = load_audio(path)
    assert torch.allclose(back, wav, atol=1 / 32768 + 1e-6)  # 16-bit quantisation only
    with pytest.raises(AudioLoadError, match="NaN"):
        save_audio(tmp_path / "nan.wav", torch.full((1, 10), float("nan")), 16000)
    with pytest.raises(AudioLoadError, match="extension"):
        save_audio(tmp_path / "out.xyz", wav, 16000)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.wav"]  # nothing half-written


def test_a_damaged_read_only_cache_file_is_worked_around_in_memory(tmp_path):
    src = tmp_path / "a.wav"
    sf.write(src, sine(0.3, 48000), 48000)
    first = AudioCache(16000, cache_dir=tmp_path / "cache").load(src)
    (npy,) = (tmp_path / "cache").glob("*.npy")
    npy.write_bytes(b"garbage")
    npy.chmod(0o444)
    fresh = AudioCache(16000, cache_dir=tmp_path / "cache")
    with pytest.warns(UserWarning, match="cannot be written"):
        again = fresh.load(src)
    assert torch.equal(first, again) and fresh.decodes == 1 and npy.read_bytes() == b"garbage"


def test_cache_decodes_each_file_once_and_persists_to_disk(tmp_path):
    paths = []
    for i in range(3):
        paths.append(tmp_path / f"{i}.wav")
        sf.write(paths[-1], sine(0.3, 48000, 200 + 100 * i), 48000)
    cache = AudioCache(16000, cache_dir=tmp_path / "cache")
    first = cache.load_many(paths)
    for _ in range(3):  # later epochs
        again = cache.load_many(paths)
    assert cache.decodes == 3 and all(torch.equal(a, b) for a, b in zip(first, again, strict=True))
    fresh = AudioCache(16000, cache_dir=tmp_path / "cache")  # a new process (the next notebook)
    assert all(torch.equal(a, b) for a, b in zip(first, fresh.load_many(paths), strict=True))
    assert fresh.decodes == 0
    sf.write(paths[0], sine(0.4, 48000), 48000)  # an edited file is decoded again
    assert fresh.load(paths[0]).shape[-1] == int(0.4 * 16000) and fresh.decodes == 1
