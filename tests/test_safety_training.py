"""Data safety of `audio-denoise train`: a trained model is never replaced silently or by a worse one.

An existing --out is refused unless --resume (continue its run) or --overwrite; outputs are
checked before any training; an interrupted run resumes from the command line; and a resumed
run replaces --out only with a better model. Validation scores are scripted (a fake validator)
so "better" and "worse" are certain, while the training itself is real.
"""

from __future__ import annotations

import dataclasses
import time

import pytest
import torch
from signals import write_tiny_ravdess
from test_cli import one_error_line, run

import audio_denoise_utils.training as training
from audio_denoise_utils.training import load_checkpoint

TINY = [
    "--model",
    "conv",
    "--steps-per-epoch",
    "1",
    "--batch-size",
    "2",
    "--device",
    "cpu",
    "--seed",
    "1",
]


@pytest.fixture
def data(tmp_path, monkeypatch):
    monkeypatch.setenv("AUDIO_DENOISE_ROOT", str(tmp_path))  # the decode cache stays in tmp_path
    real_fit = training.fit

    def small_fit(model, train_clips, val_clips, config, **kwargs):
        # Real optimiser steps on short crops: the safety logic, not the model, is under test.
        small = dataclasses.replace(config, segment_seconds=0.25, speed_perturb=())
        return real_fit(model, train_clips, val_clips, small, **kwargs)

    monkeypatch.setattr(training, "fit", small_fit)
    return write_tiny_ravdess(tmp_path / "data", seconds=0.6)


def scripted_validation(monkeypatch, scores: list[float], interrupt_at: int | None = None):
    """Replace validation by the given SI-SDR scores (one per epoch); Ctrl-C at epoch ``interrupt_at``."""
    calls = {"n": 0}

    def fake(model, pairs, engine=None, metric=None):
        calls["n"] += 1
        if interrupt_at is not None and calls["n"] == interrupt_at:
            raise KeyboardInterrupt
        return scores[calls["n"] - 1]

    monkeypatch.setattr(training, "validate", fake)
    return calls


def train(capsys, data, out, *extra):
    return run(capsys, "train", "--data", str(data), "--out", str(out), *TINY, *extra)


def test_existing_out_is_refused_before_any_training(data, tmp_path, capsys, monkeypatch):
    out = tmp_path / "model.pt"
    out.write_bytes(b"a model the learner trained for hours")
    calls = scripted_validation(monkeypatch, [1.0])
    start = time.perf_counter()
    code, _, err = train(capsys, data, out, "--epochs", "1")
    line = one_error_line(err)
    assert code == 1 and str(out) in line and "--resume" in line and "--overwrite" in line
    assert out.read_bytes() == b"a model the learner trained for hours" and calls["n"] == 0
    assert time.perf_counter() - start < 5
    code, _, err = train(capsys, data, out, "--epochs", "1", "--resume")
    assert code == 1 and "nothing to resume" in one_error_line(err)
    code, _, err = train(capsys, data, out, "--epochs", "1", "--resume", "--overwrite")
    assert code == 1 and "exclude" in one_error_line(err)
    code, _, err = run(capsys, "train", "--data", str(data), "--out", str(tmp_path), *TINY)
    assert code == 1 and "is a directory" in one_error_line(err)
    assert out.read_bytes() == b"a model the learner trained for hours"


def test_train_never_writes_into_its_own_data(data, tmp_path, capsys, monkeypatch):
    # A checkpoint over a training clip (even with --overwrite) or a run folder among the clips
    # would destroy the data set: refused before any work, nothing created inside the data.
    clip = sorted(data.rglob("*.wav"))[0]
    before = {p: p.read_bytes() for p in data.rglob("*") if p.is_file()}
    calls = scripted_validation(monkeypatch, [1.0])
    for out in (clip, data / "model.pt", data / "Actor_01" / "new.pt"):
        code, _, err = train(capsys, data, out, "--epochs", "1", "--overwrite")
        line = one_error_line(err)
        assert code == 1 and "inside the training data" in line and str(out) in line
    assert {p: p.read_bytes() for p in data.rglob("*") if p.is_file()} == before
    assert not list(data.rglob("*.run")) and calls["n"] == 0


def test_interrupted_run_resumes_and_only_a_better_model_replaces_out(
    data, tmp_path, capsys, monkeypatch
):
    out = tmp_path / "model.pt"
    # Epoch 1 scores 5 dB, then Ctrl-C during epoch 2's validation.
    scripted_validation(monkeypatch, [5.0], interrupt_at=2)
    code, _, err = train(capsys, data, out, "--epochs", "3")
    assert code == 130 and "--resume" in one_error_line(err)
    best_after_1 = out.read_bytes()
    assert load_checkpoint(out)[1]["epoch"] == 1
    last = tmp_path / "model.run" / "last.pt"
    assert last.is_file() and not list(tmp_path.rglob(".*.tmp"))
    # Re-running the same command is refused: it would start over and replace the model.
    code, _, err = train(capsys, data, out, "--epochs", "3")
    assert code == 1 and "--resume" in one_error_line(err) and out.read_bytes() == best_after_1
    # Resumed (settings come from the run; --epochs need not be repeated): epochs 2-3 score worse.
    calls = scripted_validation(monkeypatch, [3.0, 4.0])
    code, stdout, err = run(
        capsys, "train", "--data", str(data), "--out", str(out), "--resume", "--device", "cpu"
    )
    assert code == 0 and calls["n"] == 2, err
    assert out.read_bytes() == best_after_1  # never replaced by a worse model
    assert f"kept {out}" in stdout and "unchanged by this run" in stdout and "wrote" not in stdout
    history = torch.load(last, weights_only=True)["history"]
    assert history["epoch"] == [1, 2, 3] and history["val_si_sdr"] == [5.0, 3.0, 4.0]
    # A finished run resumed again is a no-op that says so.
    code, stdout, _ = run(
        capsys, "train", "--data", str(data), "--out", str(out), "--resume", "--device", "cpu"
    )
    assert code == 0 and "already finished" in stdout and out.read_bytes() == best_after_1


def test_resume_replaces_out_with_a_better_model_and_overwrite_starts_afresh(
    data, tmp_path, capsys, monkeypatch
):
    out = tmp_path / "model.pt"
    scripted_validation(monkeypatch, [5.0], interrupt_at=2)
    train(capsys, data, out, "--epochs", "2")
    calls = scripted_validation(monkeypatch, [9.0])
    code, _, err = train(capsys, data, out, "--resume")
    assert code == 0 and calls["n"] == 1, err
    assert load_checkpoint(out)[1]["epoch"] == 2  # the better epoch-2 model
    # A resumed run must keep its schedule: a changed --epochs is refused in one line.
    code, _, err = train(capsys, data, out, "--resume", "--epochs", "7")
    assert code == 1 and "schedule" in one_error_line(err)
    scripted_validation(monkeypatch, [1.0])
    code, _, err = train(capsys, data, out, "--epochs", "1", "--overwrite")
    assert code == 0, err
    assert load_checkpoint(out)[1]["epoch"] == 1  # a new model, as asked


def test_a_fine_tuning_run_resumes_only_as_it_began(data, tmp_path, capsys, monkeypatch):
    start = tmp_path / "start.pt"
    scripted_validation(monkeypatch, [1.0])
    assert train(capsys, data, start, "--epochs", "1")[0] == 0
    out = tmp_path / "fine.pt"
    fine = ("--epochs", "3", "--init-from", str(start), "--loss", "si_sdr+stft")
    # With a loss other than si_sdr validation runs twice an epoch (SI-SDR, then the loss).
    scripted_validation(monkeypatch, [2.0, -2.0], interrupt_at=3)  # Ctrl-C in epoch 2
    assert train(capsys, data, out, *fine)[0] == 130
    start.unlink()  # its weights now live in fine.run/last.pt: the same command still resumes
    calls = scripted_validation(monkeypatch, [3.0, -3.0, 4.0, -4.0])
    code, _, err = train(capsys, data, out, *fine[:-1], "si_sdr", "--resume")
    assert code == 1 and "different loss" in one_error_line(err)
    other = ("--epochs", "3", "--init-from", str(tmp_path / "other.pt"), "--loss", "si_sdr+stft")
    code, _, err = train(capsys, data, out, *other, "--resume")
    assert code == 1 and "different init_from" in one_error_line(err) and calls["n"] == 0
    assert train(capsys, data, out, *fine, "--resume")[0] == 0
    assert load_checkpoint(out)[1]["epoch"] == 3


def test_init_from_inside_the_runs_own_outputs_is_refused(data, tmp_path, capsys, monkeypatch):
    scripted_validation(monkeypatch, [1.0])
    out = tmp_path / "a.pt"
    assert train(capsys, data, out, "--epochs", "1")[0] == 0
    best = tmp_path / "a.run" / "best.pt"
    kept = {p: p.read_bytes() for p in (out, best)}
    for start in (out, best, tmp_path / "a.run" / "last.pt"):
        code, _, err = train(
            capsys, data, out, "--epochs", "1", "--init-from", str(start), "--overwrite"
        )
        assert code == 1 and "this run writes there" in one_error_line(err)
    assert {p: p.read_bytes() for p in kept} == kept


def test_a_run_without_a_finite_validation_score_says_nothing_was_written(
    data, tmp_path, capsys, monkeypatch
):
    out = tmp_path / "model.pt"
    scripted_validation(monkeypatch, [float("nan")])
    code, stdout, err = train(capsys, data, out, "--epochs", "1")
    assert code == 1 and "not written" in one_error_line(err) and "smaller --lr" in err
    assert not out.exists() and "wrote" not in stdout
    out.write_bytes(b"a model the learner trained for hours")
    scripted_validation(monkeypatch, [float("nan")])
    code, _, err = train(capsys, data, out, "--epochs", "1", "--overwrite")
    assert code == 1 and "unchanged" in one_error_line(err)
    assert out.read_bytes() == b"a model the learner trained for hours"


def test_keep_last_gives_out_the_last_finite_epoch_and_best_pt_stays_best(
    data, tmp_path, capsys, monkeypatch
):
    # Validation peaks at epoch 1; with --keep last, --out holds epoch 3 (the last finite one,
    # not the NaN epoch 4), best.pt still epoch 1, and the summary line says which it kept.
    out = tmp_path / "model.pt"
    scripted_validation(monkeypatch, [9.0, 5.0, 6.0, float("nan")])
    code, stdout, err = train(capsys, data, out, "--epochs", "4", "--keep", "last")
    assert code == 0, err
    _, info = load_checkpoint(out)
    assert info["epoch"] == 3 and info["train_config"]["keep"] == "last"
    run_dir = tmp_path / "model.run"
    assert load_checkpoint(run_dir / "best.pt")[1]["epoch"] == 1
    assert torch.load(run_dir / "last.pt", weights_only=True)["history"]["epoch"][-1] == 4
    assert "kept the last epoch, 3; best epoch 1" in stdout
    # Without --keep the same scores give the best epoch, as always.
    scripted_validation(monkeypatch, [9.0, 5.0, 6.0])
    code, stdout, _ = train(capsys, data, tmp_path / "best.pt", "--epochs", "3")
    assert code == 0 and load_checkpoint(tmp_path / "best.pt")[1]["epoch"] == 1
    assert "kept" not in stdout
    code, _, err = run(capsys, "train", "--keep", "first", "--out", str(tmp_path / "x.pt"))
    assert code == 2 and "invalid choice" in err


def test_a_resumed_run_keeps_its_keep_setting(data, tmp_path, capsys, monkeypatch):
    # Switching --keep on --resume would leave --out holding an epoch neither setting names.
    out = tmp_path / "model.pt"
    scripted_validation(monkeypatch, [9.0], interrupt_at=2)
    code, _, _ = train(capsys, data, out, "--epochs", "3", "--keep", "last")
    assert code == 130
    before = out.read_bytes()
    resume = ("train", "--data", str(data), "--out", str(out), "--resume", "--device", "cpu")
    code, _, err = run(capsys, *resume, "--keep", "best")
    assert code == 1 and "different keep" in one_error_line(err) and out.read_bytes() == before
    calls = scripted_validation(monkeypatch, [5.0, 6.0])  # worse than epoch 1, kept anyway
    code, stdout, err = run(capsys, *resume)
    assert code == 0 and calls["n"] == 2, err
    assert load_checkpoint(out)[1]["epoch"] == 3 and "kept the last epoch, 3" in stdout
    code, stdout, _ = run(capsys, *resume)
    assert code == 0 and "already finished" in stdout and f"last: {out}" in stdout


def test_out_is_written_before_last_pt(data, tmp_path, capsys, monkeypatch):
    # Once last.pt says an epoch is done, --out holds it too: a Ctrl-C while last.pt is being
    # written leaves --out a step ahead (the resumed run redoes that epoch), never behind.
    import audio_denoise_utils.engine.trainer as trainer

    real_save = trainer.save_checkpoint

    def interrupted_at_last_pt_of_epoch_2(path, *args, **kwargs):
        if str(path).endswith("last.pt") and kwargs.get("epoch") == 2:
            raise KeyboardInterrupt
        return real_save(path, *args, **kwargs)

    monkeypatch.setattr(trainer, "save_checkpoint", interrupted_at_last_pt_of_epoch_2)
    out = tmp_path / "model.pt"
    scripted_validation(monkeypatch, [5.0, 6.0])
    code, _, _ = train(capsys, data, out, "--epochs", "2", "--keep", "last")
    last = tmp_path / "model.run" / "last.pt"
    assert code == 130 and load_checkpoint(out)[1]["epoch"] == 2
    assert torch.load(last, weights_only=True)["epoch"] == 1
    monkeypatch.setattr(trainer, "save_checkpoint", real_save)
    scripted_validation(monkeypatch, [6.0])
    code, _, err = run(
        capsys, "train", "--data", str(data), "--out", str(out), "--resume", "--device", "cpu"
    )
    assert code == 0, err
    assert (
        load_checkpoint(out)[1]["epoch"] == 2 and torch.load(last, weights_only=True)["epoch"] == 2
    )
