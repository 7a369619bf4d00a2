"""The `audio-denoise` command line on good and bad input (in-process, plus one real subprocess)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch
from signals import write_tiny_ravdess
from test_ravdess import make_zip, md5  # the loopback archive builder shared with the data tests

from audio_denoise_utils.cli import main
from audio_denoise_utils.models import build_model
from audio_denoise_utils.training import load_checkpoint, save_checkpoint

SR = 16_000


def speech_like(seconds: float, sr: int = SR, seed: int = 0) -> np.ndarray:
    """A harmonic tone with vibrato and syllable-like on/off envelope, peak 0.5."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * sr)) / sr
    f0 = 110 + 40 * rng.random() + 10 * np.sin(2 * np.pi * 5 * t)
    phase = 2 * np.pi * np.cumsum(f0) / sr
    x = sum(np.sin(k * phase) / k for k in range(1, 12))
    env = np.pad((np.sin(2 * np.pi * 3 * t) > -0.3).astype(float), (0, 400))
    x = x * np.convolve(env, np.ones(400) / 400, mode="same")[: len(t)]
    return (0.5 * x / np.abs(x).max()).astype(np.float32)


def run(capsys, *args: str) -> tuple[int, str, str]:
    code = main(["-q", *args])
    out = capsys.readouterr()
    return code, out.out, out.err


def one_error_line(err: str) -> str:
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert lines[0].startswith("error: ") and "Traceback" not in err
    return lines[0]


# --- download ------------------------------------------------------------------------------


def test_download_good_archive_then_noop(http_server, tmp_path, capsys):
    body, files = make_zip()
    url = http_server.add("/a.zip", body)
    dest = tmp_path / "ravdess"
    code, out, _ = run(capsys, "download", "--dest", str(dest), "--url", url, "--md5", md5(body))
    assert code == 0 and str(dest) in out
    assert {str(p.relative_to(dest)) for p in dest.rglob("*.wav")} == set(files)
    n_requests = len(http_server.requests)
    code, _, _ = run(capsys, "download", "--dest", str(dest), "--url", url, "--md5", md5(body))
    assert code == 0 and len(http_server.requests) == n_requests  # complete: no new request


def test_download_wrong_md5_is_refused_and_leaves_nothing(http_server, tmp_path, capsys):
    body, _ = make_zip()
    url = http_server.add("/a.zip", body)
    dest = tmp_path / "ravdess"
    code, _, err = run(capsys, "download", "--dest", str(dest), "--url", url, "--md5", "0" * 32)
    assert code == 1 and "md5" in one_error_line(err).lower()
    assert not list(tmp_path.rglob("*.wav"))


def test_download_zip_slip_is_refused_and_leaves_nothing(http_server, tmp_path, capsys):
    body, _ = make_zip(extra=[("../evil.wav", b"x")])
    url = http_server.add("/slip.zip", body)
    dest = tmp_path / "deep" / "ravdess"
    code, _, err = run(capsys, "download", "--dest", str(dest), "--url", url, "--md5", md5(body))
    assert code == 1 and "evil.wav" in one_error_line(err)
    assert not list(tmp_path.rglob("*.wav")) and not (tmp_path / "deep" / "evil.wav").exists()


# --- corrupt --------------------------------------------------------------------------------


@pytest.fixture
def clean_wav(tmp_path) -> Path:
    path = tmp_path / "clean.wav"
    sf.write(path, speech_like(1.5), SR, subtype="PCM_16")
    return path


def measured_snr(clean_path: Path, noisy_path: Path) -> float:
    clean, _ = sf.read(clean_path, dtype="float64")
    noisy, _ = sf.read(noisy_path, dtype="float64")
    return 10 * np.log10(np.sum(clean**2) / np.sum((noisy - clean) ** 2))


@pytest.mark.parametrize("snr", [0, 2.5, 5, 10, 15, 20])
def test_corrupt_hits_the_requested_snr(clean_wav, tmp_path, capsys, snr):
    out = tmp_path / f"noisy_{snr}.wav"
    code, stdout, _ = run(
        capsys, "corrupt", str(clean_wav), "-o", str(out), "--snr", str(snr), "--seed", "3"
    )
    assert code == 0 and "SNR" in stdout
    assert abs(measured_snr(clean_wav, out) - snr) < 0.1


def test_corrupt_same_seed_same_bytes_other_seed_other_noise(clean_wav, tmp_path, capsys):
    paths = [tmp_path / f"{name}.wav" for name in ("a", "b", "c")]
    for path, seed in zip(paths, ["7", "7", "8"], strict=True):
        assert (
            run(capsys, "corrupt", str(clean_wav), "-o", str(path), "--snr", "5", "--seed", seed)[0]
            == 0
        )
    assert paths[0].read_bytes() == paths[1].read_bytes()
    assert paths[0].read_bytes() != paths[2].read_bytes()


def test_corrupt_missing_input_is_one_line(tmp_path, capsys):
    code, _, err = run(
        capsys, "corrupt", str(tmp_path / "nope.wav"), "-o", str(tmp_path / "o.wav"), "--snr", "5"
    )
    assert code == 1 and "nope.wav" in one_error_line(err)
    assert not (tmp_path / "o.wav").exists()


# --- denoise --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory) -> Path:
    """An (untrained) small mask model: the CLI contract does not depend on the weights."""
    torch.manual_seed(0)
    model = build_model("mask", channels=32, blocks=2)
    return save_checkpoint(tmp_path_factory.mktemp("ckpt") / "tiny.pt", model)


def write_inputs(folder: Path) -> dict[str, Path]:
    """Good inputs in several shapes and bad inputs of each kind the CLI must refuse."""
    folder.mkdir(exist_ok=True)
    good = {
        "mono16k.wav": (speech_like(1.3), SR, "PCM_16"),
        "stereo44k.wav": (
            np.stack([speech_like(0.9, 44100), speech_like(0.9, 44100, 1)], 1),
            44100,
            "PCM_16",
        ),
        "float48k.flac": (speech_like(0.7, 48000), 48000, "PCM_24"),
        "silence.wav": (np.zeros(8000, np.float32), SR, "PCM_16"),
        "short.wav": (speech_like(0.01), SR, "PCM_16"),
    }
    paths = {}
    for name, (data, sr, subtype) in good.items():
        paths[name] = folder / name
        sf.write(paths[name], data, sr, subtype=subtype)
    (folder / "empty.wav").write_bytes(b"")
    (folder / "notes.wav").write_text("this is not audio\n" * 20)
    full = (folder / "mono16k.wav").read_bytes()
    (folder / "truncated.wav").write_bytes(full[: len(full) // 2])
    nan = speech_like(0.5)
    nan[100] = np.nan
    sf.write(folder / "nan.wav", nan, SR, subtype="FLOAT")
    for name in ("empty.wav", "notes.wav", "truncated.wav", "nan.wav"):
        paths[name] = folder / name
    return paths


BAD = ("empty.wav", "notes.wav", "truncated.wav", "nan.wav")


def test_denoise_keeps_rate_and_length_and_skips_bad_files(checkpoint, tmp_path, capsys):
    inputs = write_inputs(tmp_path / "in")
    out_dir = tmp_path / "out"
    code, _, err = run(
        capsys,
        "denoise",
        "--checkpoint",
        str(checkpoint),
        *map(str, inputs.values()),
        "-o",
        str(out_dir),
    )
    assert code == 1  # some inputs were bad
    err_lines = [line for line in err.splitlines() if line.strip()]
    assert len(err_lines) == len(BAD) and "Traceback" not in err
    for name in BAD:
        assert sum(name in line for line in err_lines) == 1, err
        assert not (out_dir / name).exists()
    for name, src in inputs.items():
        if name in BAD:
            continue
        info_in, info_out = sf.info(str(src)), sf.info(str(out_dir / name))
        assert (info_out.samplerate, info_out.frames, info_out.channels) == (
            info_in.samplerate,
            info_in.frames,
            1,
        )
        data, _ = sf.read(out_dir / name)
        assert np.isfinite(data).all()
    silent, _ = sf.read(out_dir / "silence.wav")
    assert np.abs(silent).max() < 1e-3
    assert not list(out_dir.glob(".*part"))  # no temporary files left behind


def test_denoise_single_file_output(checkpoint, tmp_path, capsys):
    src = tmp_path / "in.wav"
    sf.write(src, speech_like(2.0), SR)
    out = tmp_path / "cleaned.wav"
    code, stdout, _ = run(
        capsys, "denoise", "--checkpoint", str(checkpoint), str(src), "-o", str(out)
    )
    assert code == 0 and sf.info(str(out)).frames == sf.info(str(src)).frames


def test_denoise_strength_mixes_in_the_original_and_bad_values_are_one_line(
    checkpoint, tmp_path, capsys
):
    src = tmp_path / "in.wav"
    sf.write(src, speech_like(2.0), SR, subtype="FLOAT")
    outs = {}
    for strength in ("1", "0", "0.6"):
        outs[strength] = tmp_path / f"out{strength}.wav"
        args = ["--checkpoint", str(checkpoint), str(src), "-o", str(outs[strength])]
        code, _, _ = run(capsys, "denoise", *args, "--strength", strength)
        assert code == 0
    x, _ = sf.read(src)
    full, dry, mixed = (sf.read(outs[k])[0] for k in ("1", "0", "0.6"))
    np.testing.assert_allclose(dry, x, atol=1e-6)
    np.testing.assert_allclose(mixed, 0.6 * full + 0.4 * x, atol=1e-5)
    assert np.abs(full - x).max() > 1e-3
    for bad in ("1.5", "-1", "nan", "1.0000001"):
        out = tmp_path / "bad.wav"
        args = ["--checkpoint", str(checkpoint), str(src), "-o", str(out)]
        code, _, err = run(capsys, "denoise", *args, "--strength", bad)
        lines = [line for line in err.splitlines() if line.strip()]
        assert code != 0 and len(lines) == 1 and "strength" in lines[0], err
        assert not out.exists()
    assert "got 1.0000001" in lines[0]  # not "must be at most 1, got 1"


def test_denoise_bad_checkpoint_is_one_line(tmp_path, capsys):
    src = tmp_path / "in.wav"
    sf.write(src, speech_like(0.5), SR)
    bogus = tmp_path / "model.pt"
    bogus.write_bytes(b"not a checkpoint")
    code, _, err = run(
        capsys, "denoise", "--checkpoint", str(bogus), str(src), "-o", str(tmp_path / "o.wav")
    )
    assert code == 1 and "model.pt" in one_error_line(err)
    assert not (tmp_path / "o.wav").exists()


def test_module_entry_point_prints_no_traceback(tmp_path):
    """The real process: `python -m audio_denoise_utils` with a missing checkpoint."""
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "audio_denoise_utils",
            "denoise",
            "--checkpoint",
            str(tmp_path / "x.pt"),
            "a.wav",
            "-o",
            str(tmp_path / "o.wav"),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 1
    assert proc.stderr.startswith("error: ") and "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1


# --- train and evaluate ---------------------------------------------------------------------


def test_train_then_evaluate_on_a_tiny_dataset(tmp_path, capsys, monkeypatch):
    data = write_tiny_ravdess(tmp_path / "data")
    monkeypatch.setenv("AUDIO_DENOISE_ROOT", str(tmp_path))  # decode cache goes under tmp_path
    voices = tmp_path / "voices"  # one extra training voice, beside the data
    voices.mkdir()
    sf.write(voices / "extra.wav", speech_like(1.0, seed=5), SR)
    ckpt = tmp_path / "model.pt"
    code, stdout, _ = run(
        capsys,
        "train",
        "--data",
        str(data),
        "--extra-speech",
        str(voices),
        "--model",
        "conv",
        "--epochs",
        "1",
        "--steps-per-epoch",
        "2",
        "--batch-size",
        "2",
        "--out",
        str(ckpt),
        "--device",
        "cpu",
        "--seed",
        "1",
    )
    assert code == 0 and ckpt.exists() and str(ckpt) in stdout
    model, info = load_checkpoint(ckpt)
    assert info["model"]["name"] == "conv"
    assert info["train_config"]["extra_speech_dir"] == str(voices)  # recorded with the model
    code, stdout, _ = run(
        capsys,
        "evaluate",
        "--checkpoint",
        str(ckpt),
        "--data",
        str(data),
        "--snr",
        "5",
        "--json",
        "--max-clips",
        "1",
    )
    assert code == 0
    import json

    rows = json.loads(stdout)
    methods = {row["method"] for row in rows}
    assert {"noisy", "conv", "spectral_gating", "spectral_subtraction", "oracle_irm"} <= methods
    assert all(row["input_snr"] == 5 for row in rows)


def test_unwritable_extension_and_unknown_model_are_one_line(clean_wav, tmp_path, capsys):
    code, _, err = run(
        capsys, "corrupt", str(clean_wav), "-o", str(tmp_path / "noisy.txt"), "--snr", "5"
    )
    assert code == 1 and "noisy.txt" in one_error_line(err)
    assert not list(tmp_path.glob("*noisy*"))
    code, _, err = run(capsys, "train", "--model", "nosuchmodel", "--out", str(tmp_path / "m.pt"))
    assert code == 1 and "nosuchmodel" in one_error_line(err)


def test_denoise_into_an_existing_folder_named_like_a_wav(checkpoint, tmp_path, capsys):
    src = tmp_path / "in.wav"
    sf.write(src, speech_like(0.5), SR)
    folder = tmp_path / "results.wav"
    folder.mkdir()
    code, _, _ = run(
        capsys, "denoise", "--checkpoint", str(checkpoint), str(src), "-o", str(folder)
    )
    assert code == 0 and sf.info(str(folder / "in.wav")).frames == sf.info(str(src)).frames


@pytest.mark.parametrize("budget", ["-5", "nan", "inf"])
def test_train_time_budget_is_zero_or_seconds(tmp_path, capsys, budget):
    out = tmp_path / "m.pt"
    code, _, err = run(capsys, "train", f"--time-budget={budget}", "--out", str(out))
    assert code == 2 and "--time-budget" in one_error_line(err) and not out.exists()


def test_train_extra_speech_must_be_a_folder_outside_the_outputs(tmp_path, capsys):
    out = tmp_path / "m.pt"
    code, _, err = run(capsys, "train", "--extra-speech", str(tmp_path / "nope"), "--out", str(out))
    assert code == 1 and "nope" in one_error_line(err) and "--set train" in err
    voices = tmp_path / "voices"
    voices.mkdir()
    code, _, err = run(
        capsys, "train", "--extra-speech", str(voices), "--out", str(voices / "m.pt")
    )
    assert code == 1 and "inside the training data" in one_error_line(err)
    assert not out.exists() and not list(voices.iterdir())


def test_train_init_from_fine_tunes_a_checkpoint(checkpoint, tmp_path, capsys, monkeypatch):
    data = write_tiny_ravdess(tmp_path / "data")
    monkeypatch.setenv("AUDIO_DENOISE_ROOT", str(tmp_path))
    out = tmp_path / "fine.pt"
    tiny = ("--data", str(data), "--epochs", "1", "--steps-per-epoch", "1", "--batch-size", "2")
    code, _, _ = run(
        capsys, "train", *tiny, "--init-from", str(checkpoint), "--loss", "si_sdr+stft",
        "--lr", "1e-12", "--out", str(out), "--device", "cpu",
    )  # fmt: skip
    assert code == 0
    start, _ = load_checkpoint(checkpoint)
    model, info = load_checkpoint(out)
    config = info["train_config"]
    assert (config["init_from"], config["loss"], config["lr"]) == (
        str(checkpoint),
        "si_sdr+stft",
        1e-12,
    )
    assert model.config == start.config  # the checkpoint's model, not the default one
    for name, value in model.state_dict().items():  # a step of lr 1e-12 leaves its weights
        torch.testing.assert_close(value, start.state_dict()[name], rtol=0, atol=1e-6)


def test_train_init_from_is_checked_and_never_the_file_replaced(checkpoint, tmp_path, capsys):
    out = tmp_path / "m.pt"
    code, _, err = run(capsys, "train", "--init-from", str(tmp_path / "nope.pt"), "--out", str(out))
    assert code == 1 and "nope.pt" in one_error_line(err) and "no such checkpoint" in err
    code, _, err = run(
        capsys, "train", "--init-from", str(checkpoint), "--model", "conv", "--out", str(out)
    )
    assert code == 1 and "holds a 'mask' model" in one_error_line(err)
    mine = tmp_path / "mine.pt"
    mine.write_bytes(checkpoint.read_bytes())
    code, _, err = run(capsys, "train", "--init-from", str(mine), "--out", str(mine), "--overwrite")
    assert code == 1 and "this run writes there" in one_error_line(err)
    assert mine.read_bytes() == checkpoint.read_bytes() and not out.exists()
    code, _, err = run(capsys, "train", "--lr", "0", "--out", str(out))
    assert code == 2 and "above 0" in err and not out.exists()
    # AdamW's step for lr=1e38 overflows float32 ("unexpected RuntimeError" before): refused.
    code, _, err = run(capsys, "train", "--lr", "1e38", "--out", str(out))
    assert code == 2 and "at most 1" in err and "1e38" in err and not out.exists()


def test_train_init_from_sets_the_model(tmp_path, capsys, monkeypatch):
    data = write_tiny_ravdess(tmp_path / "data")
    monkeypatch.setenv("AUDIO_DENOISE_ROOT", str(tmp_path))
    start = save_checkpoint(tmp_path / "conv.pt", build_model("conv", channels=(4, 8)), epoch=1)
    out = tmp_path / "fine.pt"
    tiny = ("--data", str(data), "--epochs", "1", "--steps-per-epoch", "1", "--batch-size", "2")
    code, _, _ = run(capsys, "train", *tiny, "--init-from", str(start), "--out", str(out))
    assert code == 0 and load_checkpoint(out)[1]["model"]["name"] == "conv"  # no --model needed


def test_train_noise_dir_is_checked_before_any_audio_is_decoded(tmp_path, capsys):
    out = tmp_path / "m.pt"
    # No clips here: a check that came after decoding the speech would fail on this instead.
    empty = tmp_path / "no_speech"
    empty.mkdir()
    base = ("train", "--data", str(empty), "--out", str(out))
    code, _, err = run(capsys, *base, "--noise", "recorded", "--noise-dir", str(tmp_path / "nope"))
    assert code == 1 and "nope" in one_error_line(err) and "fetch_real_noise.py" in err
    code, _, err = run(capsys, *base, "--noise", "white", "recorded")
    assert code == 1 and "needs --noise-dir" in one_error_line(err)
    noises = tmp_path / "noises"
    noises.mkdir()
    # A folder given without the kind that reads it would be ignored in silence: refused instead.
    code, _, err = run(capsys, *base, "--noise-dir", str(noises))
    assert code == 1 and "'recorded'" in one_error_line(err) and str(noises) in err
    code, _, err = run(capsys, *base, "--noise", "white", "--noise-dir", str(noises))
    assert code == 1 and "add it to --noise" in one_error_line(err)
    assert not out.exists() and not list(noises.iterdir())
