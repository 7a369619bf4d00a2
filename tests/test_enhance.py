"""Chunked denoising: same result as one pass away from seams, any rate and length, bounded reads."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf
import torch

from audio_denoise_utils.enhance import as_method, denoise, denoise_clip, denoise_file
from audio_denoise_utils.errors import AudioLoadError, InvalidArgumentError
from audio_denoise_utils.models import build_model


@pytest.fixture(scope="module")
def model() -> torch.nn.Module:
    torch.manual_seed(0)
    return build_model("mask", channels=32, blocks=2).eval()


def tone(seconds: float, sr: int, seed: int = 0) -> torch.Tensor:
    gen = torch.Generator().manual_seed(seed)
    t = torch.arange(int(seconds * sr)) / sr
    x = torch.sin(2 * torch.pi * 220 * t) * (0.5 + 0.5 * torch.sin(2 * torch.pi * 2 * t))
    return (0.3 * x + 0.05 * torch.randn(t.shape, generator=gen)).unsqueeze(0)


def test_chunked_matches_single_pass(model):
    x = tone(6.0, 16000)
    whole = denoise_clip(model, x, 16000)
    chunked = denoise(model, x, 16000, chunk_seconds=1.5, context_seconds=0.5)
    assert chunked.shape == x.shape
    # With 0.5 s of context the receptive field is covered: seams are close to the one-pass output.
    err = (chunked - whole).abs().max() / whole.abs().max()
    assert err < 0.05, err


@pytest.mark.parametrize("sr", [8000, 16000, 22050, 48000])
def test_any_rate_and_length_roundtrip(model, sr):
    for n in (1, 99, int(0.37 * sr)):
        x = tone(1.0, sr)[:, :n]
        y = denoise(model, x, sr, chunk_seconds=0.2, context_seconds=0.05)
        assert y.shape == x.shape and torch.isfinite(y).all()


def test_denoise_file_streams_in_chunks(model, tmp_path, monkeypatch):
    """A file is read chunk by chunk (never whole) and gives the in-memory result."""
    sr = 16000
    x = tone(5.0, sr, seed=1)
    src, dst = tmp_path / "in.wav", tmp_path / "out.wav"
    sf.write(src, x[0].numpy(), sr, subtype="FLOAT")
    reads = []
    original = sf.SoundFile.read

    def spy(self, frames=-1, *args, **kwargs):
        reads.append(frames)
        return original(self, frames, *args, **kwargs)

    monkeypatch.setattr(sf.SoundFile, "read", spy)
    denoise_file(model, src, dst, chunk_seconds=1.0, context_seconds=0.25)
    # A float input is read twice in chunks: a level pass (above full scale?) and the denoising
    # pass; never whole: at most chunk + context on both sides.
    assert len(reads) == 10 and max(reads) <= int(1.5 * sr)
    out, out_sr = sf.read(dst, dtype="float32")
    assert out_sr == sr and out.shape == (x.shape[-1],)
    expected = denoise(model, x, sr, chunk_seconds=1.0, context_seconds=0.25)[0].numpy()
    np.testing.assert_allclose(out, np.clip(expected, -1, 1), atol=1e-5)


def test_nan_in_a_later_chunk_leaves_no_output(model, tmp_path):
    x = tone(3.0, 16000)[0].numpy()
    x[-100] = np.nan
    src, dst = tmp_path / "nan.wav", tmp_path / "out.wav"
    sf.write(src, x, 16000, subtype="FLOAT")
    with pytest.raises(AudioLoadError, match="nan.wav"):
        denoise_file(model, src, dst, chunk_seconds=1.0, context_seconds=0.1)
    assert list(tmp_path.iterdir()) == [src]  # neither output nor temporary file


@pytest.mark.parametrize("sr", [16000, 44100])
def test_strength_mixes_the_input_back_in(model, sr):
    """strength 1 is the model's output, 0 the input itself, between a straight mix of the two."""
    x = tone(2.0, sr, seed=3)
    full = denoise(model, x, sr, chunk_seconds=0.7, context_seconds=0.2)
    assert torch.equal(
        denoise(model, x, sr, chunk_seconds=0.7, context_seconds=0.2, strength=1.0), full
    )
    dry = denoise(model, x, sr, chunk_seconds=0.7, context_seconds=0.2, strength=0.0)
    torch.testing.assert_close(dry, x)
    mixed = denoise(model, x, sr, chunk_seconds=0.7, context_seconds=0.2, strength=0.75)
    torch.testing.assert_close(mixed, 0.75 * full + 0.25 * x)
    assert not torch.allclose(full, x, atol=1e-3)  # the model does change the audio
    for bad in (-0.1, 1.5, float("nan")):
        with pytest.raises(InvalidArgumentError, match="strength"):
            denoise(model, x, sr, strength=bad)


def test_as_method_shapes(model):
    noisy = tone(0.5, 16000).unsqueeze(0)
    assert as_method(model)(noisy, noisy).shape == noisy.shape


def test_atomic_write_never_replaces_a_pipe_a_device_link_or_a_read_only_file(tmp_path):
    """The library's own guard, below the CLI's early check: save_audio, checkpoints, plots."""
    import os
    import stat

    from audio_denoise_utils.audio import save_audio
    from audio_denoise_utils.errors import OutputError
    from audio_denoise_utils.files import atomic_write

    os.mkfifo(tmp_path / "pipe.wav")
    os.symlink(tmp_path / "pipe.wav", tmp_path / "link.wav")
    (tmp_path / "locked.wav").write_bytes(b"keep")
    (tmp_path / "locked.wav").chmod(0o444)
    for name, needle in [
        ("pipe.wav", "not an ordinary file"),
        ("link.wav", "not an ordinary file"),
        ("locked.wav", "read-only"),
    ]:
        with pytest.raises(OutputError, match=needle):
            save_audio(tmp_path / name, torch.zeros(1, 160), 16000)
        with pytest.raises(OutputError, match=needle), atomic_write(tmp_path / name) as tmp:
            tmp.write_text("never")
    assert stat.S_ISFIFO((tmp_path / "pipe.wav").stat().st_mode)
    assert (tmp_path / "link.wav").is_symlink()
    assert (tmp_path / "locked.wav").read_bytes() == b"keep"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["link.wav", "locked.wav", "pipe.wav"]


def test_atomic_write_gives_normal_permissions_and_cleans_up(tmp_path):
    import os

    from audio_denoise_utils.files import atomic_write

    old = os.umask(0o022)
    try:
        with atomic_write(tmp_path / "ok.txt") as tmp:
            tmp.write_text("done")
        assert (tmp_path / "ok.txt").stat().st_mode & 0o777 == 0o644
        with pytest.raises(RuntimeError), atomic_write(tmp_path / "bad.txt") as tmp:
            tmp.write_text("half")
            raise RuntimeError("failed mid-way")
    finally:
        os.umask(old)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ok.txt"]
