"""Data safety of the command line: inputs are sacred, outputs atomic, one line for every bad value.

Each case asserts the exact guarantee: input bytes unchanged, a previous output untouched, no
partial or hidden file left, exactly one ``error:`` line on stderr, and the exit code.
"""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch
from faults import tmpfs
from test_cli import one_error_line, run, speech_like

from audio_denoise_utils.models import build_model
from audio_denoise_utils.training import save_checkpoint

SR = 16_000


@pytest.fixture(scope="module")
def ckpt(tmp_path_factory) -> Path:
    torch.manual_seed(0)
    return save_checkpoint(
        tmp_path_factory.mktemp("ckpt") / "tiny.pt", build_model("mask", channels=32, blocks=2)
    )


@pytest.fixture
def folder(tmp_path) -> Path:
    d = tmp_path / "in"
    d.mkdir()
    sf.write(d / "x.wav", speech_like(0.6), SR, subtype="PCM_16")
    return d


def snapshot(folder: Path) -> dict[str, bytes]:
    """Every file below ``folder`` (hidden ones included), relative path -> bytes."""
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


# --- inputs are sacred ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "command,target",
    [
        ("denoise", "same"),
        ("denoise", "folder"),
        ("denoise", "dotdot"),
        ("denoise", "symlink"),
        ("denoise", "hardlink"),
        ("denoise", "checkpoint"),
        ("corrupt", "same"),
        ("corrupt", "symlink"),
        ("corrupt", "hardlink"),
    ],
)
def test_no_command_writes_over_an_input(ckpt, folder, capsys, command, target):
    src = folder / "x.wav"
    if target == "symlink":
        os.symlink(src, folder / "link.wav")
    if target == "hardlink":
        os.link(src, folder / "hard.wav")
    out = {
        "same": src,
        "folder": folder,
        "dotdot": folder / ".." / folder.name / "x.wav",
        "symlink": folder / "link.wav",
        "hardlink": folder / "hard.wav",
        "checkpoint": ckpt.with_suffix(".wav"),
    }[target]
    before, ckpt_before = snapshot(folder), ckpt.read_bytes()
    if target == "checkpoint":  # a checkpoint reachable under an audio name is an input too
        os.link(ckpt, out)
    args = ["--checkpoint", str(ckpt)] if command == "denoise" else []
    extra = ["--snr", "5"] if command == "corrupt" else []
    code, _, err = run(capsys, command, *args, str(src), "-o", str(out), *extra)
    line = one_error_line(err)
    assert code == 1 and "refusing" in line
    assert snapshot(folder) == before and ckpt.read_bytes() == ckpt_before
    if target == "checkpoint":
        out.unlink()


@pytest.mark.parametrize("command", ["denoise", "corrupt"])
@pytest.mark.parametrize("target", ["fifo", "fifo_link", "read_only"])
def test_a_pipe_device_or_read_only_file_is_never_replaced(
    ckpt, folder, tmp_path, capsys, command, target
):
    """The writers rename a finished file into place, which would turn a named pipe or a device
    (``-o /dev/null`` as root) into an ordinary file, and replace a file made read-only."""
    src = folder / "x.wav"
    out = tmp_path / "out.wav"
    if target == "read_only":
        out.write_bytes(b"keep me")
        out.chmod(0o444)
    else:
        os.mkfifo(tmp_path / "pipe.wav")
        if target == "fifo_link":
            os.symlink(tmp_path / "pipe.wav", out)
        else:
            os.rename(tmp_path / "pipe.wav", out)
    before = snapshot(folder)
    args = ["--checkpoint", str(ckpt)] if command == "denoise" else []
    extra = ["--snr", "5"] if command == "corrupt" else []
    code, _, err = run(capsys, command, *args, str(src), "-o", str(out), *extra)
    line = one_error_line(err)
    assert code == 1 and str(out) in line and "refusing" in line
    assert ("read-only" in line) == (target == "read_only")
    if target == "read_only":
        assert out.read_bytes() == b"keep me" and (out.stat().st_mode & 0o777) == 0o444
    else:
        assert stat.S_ISFIFO(out.stat().st_mode)
    assert snapshot(folder) == before
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []


# --- atomic outputs: failures, full disks, read-only places, signals -------------------------


def test_failed_denoise_keeps_the_previous_output_and_leaves_nothing(ckpt, folder, capsys):
    out_dir = folder.parent / "out"
    out_dir.mkdir()
    (out_dir / "x.wav").write_bytes(b"previous result")
    nan = speech_like(0.5)
    nan[4000] = np.nan
    sf.write(folder / "x.wav", nan, SR, subtype="FLOAT")  # fails half-way through the file
    code, _, err = run(
        capsys, "denoise", "--checkpoint", str(ckpt), str(folder / "x.wav"), "-o", str(out_dir)
    )
    assert code == 1 and "x.wav" in one_error_line(err) and "NaN" in err
    assert snapshot(out_dir) == {"x.wav": b"previous result"}


@pytest.mark.parametrize("how", ["tmpfs", "patched"])
def test_disk_full_output_keeps_the_previous_file(ckpt, folder, tmp_path, capsys, monkeypatch, how):
    sf.write(folder / "long.wav", np.tile(speech_like(1.0), 4), SR, subtype="PCM_16")  # ~128 kB out
    with tmpfs(tmp_path / "small", size="64k") as mounted:
        if how == "tmpfs" and mounted is None:
            pytest.skip("mounting a tmpfs needs root")
        out = tmp_path / "small" / "long.wav"
        out.write_bytes(b"previous result")
        if how == "patched":
            import errno

            def full(self, *args, **kwargs):
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

            monkeypatch.setattr(sf.SoundFile, "write", full)
        before = snapshot(folder)
        code, _, err = run(
            capsys, "denoise", "--checkpoint", str(ckpt), str(folder / "long.wav"), "-o", str(out)
        )
        line = one_error_line(err)
        assert code == 1 and str(out) in line and "no space left" in line and ".part" not in line
        assert snapshot(out.parent) == {"long.wav": b"previous result"}
        assert snapshot(folder) == before


@pytest.mark.parametrize("how", ["tmpfs", "patched"])
@pytest.mark.parametrize("command", ["denoise", "corrupt", "train"])
def test_read_only_output_place_is_one_line_before_any_work(
    ckpt, folder, tmp_path, capsys, monkeypatch, how, command
):
    with tmpfs(tmp_path / "ro", size="64k", read_only=True) as mounted:
        if how == "tmpfs" and mounted is None:
            pytest.skip("mounting a read-only tmpfs needs root")
        if how == "patched":
            import errno

            import audio_denoise_utils.engine.paths as paths

            def refuse(*args, **kwargs):
                raise OSError(errno.EROFS, os.strerror(errno.EROFS))

            monkeypatch.setattr(paths.tempfile, "mkstemp", refuse)
        out = tmp_path / "ro" / ("m.pt" if command == "train" else "o.wav")
        args = {
            "denoise": [
                "denoise",
                "--checkpoint",
                str(ckpt),
                str(folder / "x.wav"),
                "-o",
                str(out),
            ],
            "corrupt": ["corrupt", str(folder / "x.wav"), "-o", str(out), "--snr", "5"],
            # No data folder at all: the output is checked first, before any audio is looked at.
            "train": [
                "train",
                "--data",
                str(tmp_path / "none"),
                "--out",
                str(out),
                "--epochs",
                "1",
            ],
        }[command]
        start = time.perf_counter()
        code, _, err = run(capsys, *args)
        line = one_error_line(err)
        assert code == 1 and str(out) in line and "read-only" in line
        assert time.perf_counter() - start < 10  # refused up front, not after the work


# A shell starts background jobs with SIGINT ignored (a CI runner may too), and the child inherits
# that: restore Python's own Ctrl-C handler, as an interactive terminal would have it.
SIGNAL_SCRIPT = """
import signal, sys
signal.signal(signal.SIGINT, signal.default_int_handler)
from audio_denoise_utils.cli import main
sys.exit(main(sys.argv[1:]))
"""


def test_sigint_and_sigterm_mid_write_leave_no_partial_file(ckpt, tmp_path):
    """Real processes interrupted while their output is being written: old output kept, no temp."""
    long = tmp_path / "long.wav"
    # 12 minutes: with the tiny test model the whole file takes about a second, so the signal
    # must come as soon as the temporary output appears (a fixed wait once let it finish first).
    sf.write(long, np.tile(speech_like(1.0), 720), SR, subtype="PCM_16")
    procs = {}
    for sig in (signal.SIGINT, signal.SIGTERM):
        out_dir = tmp_path / sig.name
        out_dir.mkdir()
        (out_dir / "out.wav").write_bytes(b"previous result")
        cmd = [
            sys.executable,
            "-c",
            SIGNAL_SCRIPT,
            "-q",
            "denoise",
            "--checkpoint",
            str(ckpt),
            str(long),
            "-o",
            str(out_dir / "out.wav"),
        ]
        procs[sig] = (subprocess.Popen(cmd, stderr=subprocess.PIPE, text=True), out_dir)
    deadline = time.monotonic() + 120
    pending = dict(procs)
    while pending and time.monotonic() < deadline:
        for sig, (proc, out_dir) in list(pending.items()):
            if list(out_dir.glob(".out.wav.*")):  # the temporary output exists: mid-write
                proc.send_signal(sig)
                del pending[sig]
        time.sleep(0.05)
    assert not pending, "the output never started"
    for sig, (proc, out_dir) in procs.items():
        _, err = proc.communicate(timeout=60)
        assert proc.returncode == (130 if sig == signal.SIGINT else 143), err
        lines = [line for line in err.splitlines() if line.strip()]
        assert len(lines) == 1 and lines[0].startswith("error: ") and "Traceback" not in err
        assert snapshot(out_dir) == {"out.wav": b"previous result"}
    assert sf.info(str(long)).frames == 720 * SR  # the input untouched


# --- never non-finite audio; the container follows the extension ----------------------------


def test_absurd_amplitude_is_normalised_and_nan_weights_refused(ckpt, folder, tmp_path, capsys):
    loud = folder / "loud.wav"
    sf.write(loud, speech_like(0.5) * 1e30, SR, subtype="FLOAT")
    out = tmp_path / "loud_out.wav"
    code, _, err = run(capsys, "denoise", "--checkpoint", str(ckpt), str(loud), "-o", str(out))
    assert code == 0 and err.startswith("note: ") and "full scale" in err
    data, _ = sf.read(out)
    assert np.isfinite(data).all() and 0 < np.abs(data).max() <= 1.0
    model = build_model("mask", channels=32, blocks=2)
    state = {k: v.clone() for k, v in model.state_dict().items()}
    next(v for v in state.values() if v.is_floating_point()).fill_(float("nan"))
    bad = save_checkpoint(tmp_path / "diverged.pt", model, state_dict=state)
    out2 = tmp_path / "nan_out.wav"
    code, _, err = run(
        capsys, "denoise", "--checkpoint", str(bad), str(folder / "x.wav"), "-o", str(out2)
    )
    assert code == 1 and "diverged.pt" in one_error_line(err) and "NaN" in err
    assert not out2.exists()


@pytest.mark.parametrize(
    "src_ext,out_name",
    [(".mp3", "o.wav"), (".wav", "o.flac"), (".wav", "o.ogg"), (".flac", "o.aiff")],
)
def test_output_container_follows_its_extension(ckpt, tmp_path, capsys, src_ext, out_name):
    src = tmp_path / f"in{src_ext}"
    sf.write(src, speech_like(0.5), SR)
    out = tmp_path / out_name
    code, _, err = run(capsys, "denoise", "--checkpoint", str(ckpt), str(src), "-o", str(out))
    assert code == 0, err
    assert out.is_file()  # a file, not a folder named like one
    info = sf.info(str(out))
    expected = {".wav": "WAV", ".flac": "FLAC", ".ogg": "OGG", ".aiff": "AIFF"}[out.suffix]
    assert info.format == expected and info.samplerate == SR
    assert abs(info.frames - sf.info(str(src)).frames) <= (0 if src_ext != ".mp3" else 2000)


# --- one line, never a traceback, for every bad value -----------------------------------------


def _header_with(base: bytes, offset: int, value: int, size: int = 4) -> bytes:
    b = bytearray(base)
    b[offset : offset + size] = value.to_bytes(size, "little")
    return bytes(b)


def test_bad_files_in_a_batch_are_one_line_each_and_the_good_ones_written(
    ckpt, folder, tmp_path, capsys
):
    base = (folder / "x.wav").read_bytes()
    bad = {
        "sr0.wav": _header_with(base, 24, 0),
        "sr4g.wav": _header_with(base, 24, 4_000_000_000),
        "sr7.wav": _header_with(base, 24, 7),
        "channels0.wav": _header_with(base, 22, 0, 2),
        "channels9999.wav": _header_with(base, 22, 9999, 2),
        "notaudio.wav": b"RIFF" + os.urandom(200),
    }
    for name, data in bad.items():
        (folder / name).write_bytes(data)
    before = snapshot(folder)
    names = ["sr0.wav", "x.wav", *[n for n in bad if n != "sr0.wav"]]
    out = tmp_path / "out"
    code, _, err = run(
        capsys,
        "denoise",
        "--checkpoint",
        str(ckpt),
        *[str(folder / n) for n in names],
        "-o",
        str(out),
    )
    lines = [line for line in err.splitlines() if line.strip()]
    assert code == 1 and "Traceback" not in err
    assert len(lines) == len(bad) and all(line.startswith("error: ") for line in lines)
    for name in bad:
        assert sum(name in line for line in lines) == 1
    assert sorted(p.name for p in out.iterdir()) == ["x.wav"]  # the good one, and nothing hidden
    assert snapshot(folder) == before


@pytest.mark.parametrize(
    "args,needle",
    [
        (["--snr=inf"], "finite"),
        (["--snr=nan"], "finite"),
        (["--snr=1e6"], "at most 100"),
        (["--snr=-1e6"], "at least -50"),
        (["--snr", "-1e6"], "--snr=VALUE"),
        (["--snr", "5", "--seed", "-1e3"], "--seed=VALUE"),  # the hint names the option typed
        (["--snr", "5", "--seed", "-1"], "out of range"),
        (["--snr", "5", "--seed", str(2**64 + 3)], "out of range"),
        (["--snr", "5", "--seed", "x"], "not an integer"),
    ],
)
def test_corrupt_bad_values_are_one_line(folder, tmp_path, capsys, args, needle):
    out = tmp_path / "n.wav"
    code, _, err = run(capsys, "corrupt", str(folder / "x.wav"), "-o", str(out), *args)
    assert code in (1, 2) and needle in one_error_line(err)
    assert not out.exists() and snapshot(tmp_path / "in") == {
        "x.wav": (folder / "x.wav").read_bytes()
    }


def test_an_input_named_like_an_option_gets_a_hint_and_works_after_dashdash(
    ckpt, folder, tmp_path, capsys, monkeypatch
):
    monkeypatch.chdir(folder)
    (folder / "x.wav").rename(folder / "-x.wav")
    out = tmp_path / "n.wav"
    code, _, err = run(capsys, "corrupt", "-x.wav", "-o", str(out), "--snr", "5")
    assert (
        code == 2
        and "(-x.wav is a file: a name that starts with '-' goes after '--')" in one_error_line(err)
    )
    args = ["--checkpoint", str(ckpt), "x2.wav", "-x.wav", "-o", str(tmp_path / "d")]
    (folder / "x2.wav").write_bytes((folder / "-x.wav").read_bytes())
    code, _, err = run(capsys, "denoise", *args)  # argparse: "unrecognized arguments: -x.wav"
    assert code == 2 and "-x.wav is a file" in one_error_line(err)
    code, _, err = run(capsys, "corrupt", "-o", str(out), "--snr", "5")  # input forgotten: no hint
    assert code == 2 and "is a file" not in one_error_line(err)
    code, _, err = run(capsys, "corrupt", "-o", str(out), "--snr", "5", "--", "-x.wav")
    assert code == 0 and out.exists()


def test_corrupt_one_sample_and_float_above_full_scale(folder, tmp_path, capsys):
    one = folder / "one.wav"
    sf.write(one, np.array([0.3], np.float32), SR)
    code, _, err = run(capsys, "corrupt", str(one), "-o", str(tmp_path / "n1.wav"), "--snr", "5")
    assert code == 1 and "one.wav" in one_error_line(err) and not (tmp_path / "n1.wav").exists()
    two = folder / "two.wav"
    sf.write(two, np.array([0.1, -0.1], np.float32), SR)
    out2 = tmp_path / "n2.wav"
    code, _, err = run(
        capsys, "corrupt", str(two), "-o", str(out2), "--snr", "50", "--noise", "machine"
    )
    line = one_error_line(err)  # the band holds no frequency at 2 samples: not "too loud"
    assert code == 1 and "two.wav: 2 samples are too short for machine noise" in line
    assert not out2.exists()
    hot = folder / "hot.wav"
    sf.write(hot, speech_like(1.0) * 8, SR, subtype="FLOAT")  # peaks at 4: above full scale
    out = tmp_path / "hot_noisy.wav"
    code, stdout, err = run(capsys, "corrupt", str(hot), "-o", str(out), "--snr", "20")
    assert code == 0 and err.startswith("note: ") and "full scale" in err
    clean, _ = sf.read(hot, dtype="float64")
    noisy, _ = sf.read(out, dtype="float64")
    clean /= np.abs(clean).max()  # the documented normalisation
    snr = 10 * np.log10(np.sum(clean**2) / np.sum((noisy - clean) ** 2))
    assert abs(snr - 20) < 0.1 and np.abs(noisy).max() <= 1.0


@pytest.mark.parametrize(
    "bad", [["--snr", "nan"], ["--max-clips", "0"], ["--snr", "5", "--max-clips", "-3"]]
)
def test_evaluate_bad_values_are_one_line(ckpt, capsys, bad):
    code, _, err = run(capsys, "evaluate", "--checkpoint", str(ckpt), *bad)
    assert code == 2 and one_error_line(err)


def sample_copy(tmp_path: Path) -> Path:
    """A copy of the bundled sample (RAVDESS layout, 12 actors) to spoil."""
    import shutil

    return Path(
        shutil.copytree(Path(__file__).resolve().parents[1] / "data" / "sample", tmp_path / "ds")
    )


def evaluate_sample_copy(capsys, ckpt: Path, data: Path, clips: int) -> tuple[int, str, str]:
    args = ["--checkpoint", str(ckpt), "--data", str(data), "--snr", "5", "--no-baselines"]
    return run(capsys, "evaluate", *args, "--max-clips", str(clips))


@pytest.mark.parametrize("bad", ["short", "silent", "constant"])
def test_evaluate_refuses_a_test_clip_it_cannot_score(ckpt, tmp_path, capsys, bad):
    """A clip too short for STOI (which then returns a constant 1e-5) or one with no sound would
    give numbers that mean nothing: one line naming the file, no table."""
    data = sample_copy(tmp_path)
    victim = sorted((data / "Actor_12").glob("*.wav"))[3]
    samples = {"short": speech_like(0.3), "silent": np.zeros(SR), "constant": np.full(SR, 0.2)}
    sf.write(victim, samples[bad], SR, subtype="FLOAT")
    code, out, err = evaluate_sample_copy(capsys, ckpt, data, 20)
    line = one_error_line(err)
    assert code == 1 and str(victim) in line and out == ""
    assert ("0.300 s long" in line) == (bad == "short") and ("no sound" in line) == (bad != "short")


def test_a_library_warning_is_one_line_without_source_code(ckpt, tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("AUDIO_DENOISE_DEBUG", raising=False)
    data = sample_copy(tmp_path)
    sf.write(data / "Actor_01" / "my take.wav", speech_like(0.6), SR)
    code, out, err = evaluate_sample_copy(capsys, ckpt, data, 2)
    lines = [line for line in err.splitlines() if line.strip()]
    assert code == 0 and "| noisy |" in out
    assert len(lines) == 1 and lines[0].startswith("warning: ") and "skipped 1 file" in lines[0]
    assert "my take.wav" in lines[0] and "UserWarning" not in err and ".py:" not in err


def test_an_unforeseen_failure_is_one_line_and_the_batch_goes_on(
    ckpt, folder, tmp_path, capsys, monkeypatch
):
    import audio_denoise_utils.enhance as enhance

    sf.write(folder / "y.wav", speech_like(0.4), SR, subtype="PCM_16")
    real = enhance.denoise_file

    def flaky(model, src, dst, *args, **kwargs):
        if Path(src).name == "x.wav":
            raise RuntimeError("something nobody planned for\nsecond line")
        return real(model, src, dst, *args, **kwargs)

    monkeypatch.setattr(enhance, "denoise_file", flaky)
    out = tmp_path / "out"
    code, _, err = run(
        capsys,
        "denoise",
        "--checkpoint",
        str(ckpt),
        str(folder / "x.wav"),
        str(folder / "y.wav"),
        "-o",
        str(out),
    )
    line = one_error_line(err)
    assert code == 1 and "x.wav" in line and "RuntimeError" in line
    assert sorted(p.name for p in out.iterdir()) == ["y.wav"]
