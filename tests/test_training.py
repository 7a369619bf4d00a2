"""Tests for training.py and its engine: fit on tiny synthetic speech is the learner's loop;
device pick, checkpoints, resume, refusals."""

from __future__ import annotations

import dataclasses
import json
import math
import pickle
import random
import re
from pathlib import Path

import learner_loop
import numpy as np
import pytest
import torch
from ddp_train_script import SR, TinyDenoiser, synthetic_speech, tiny_config
from torch import nn

from audio_denoise_utils import AudioDenoiseError, CheckpointError, models, training
from audio_denoise_utils.dataset import NoisyCleanDataset
from audio_denoise_utils.engine import device as engine_device
from audio_denoise_utils.engine import runs as engine_runs
from audio_denoise_utils.losses import build_loss, si_sdr
from audio_denoise_utils.training import (
    History,
    PlainEngine,
    TrainConfig,
    fit,
    load_checkpoint,
    lr_factor,
    make_model,
    pick_device,
    save_checkpoint,
    seed_everything,
)

torch.set_num_threads(1)


@pytest.fixture(scope="module")
def clips() -> tuple[list[torch.Tensor], list[torch.Tensor]]:
    return synthetic_speech(12, seed=1), synthetic_speech(4, seed=2)


@pytest.fixture(scope="module")
def trained(clips, tmp_path_factory):
    """One tiny run (6 epochs) with checkpoints, shared by several tests."""
    out = tmp_path_factory.mktemp("run")
    config = tiny_config(epochs=6, steps_per_epoch=6, out=str(out / "final.pt"))
    model = make_model(config)
    seen: list[int] = []
    history = fit(
        model,
        *clips,
        config,
        device="cpu",
        out_dir=out,
        progress=False,
        callback=lambda h: seen.append(len(h)),
    )
    return model, history, config, out, seen


def equal_states(a: nn.Module, b: nn.Module) -> bool:
    sa, sb = a.state_dict(), b.state_dict()
    return sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)


# --------------------------------------------------------------------------------------------
# Device and seeds
# --------------------------------------------------------------------------------------------


def test_pick_device_cpu_and_errors(monkeypatch, capsys):
    assert pick_device("cpu") == torch.device("cpu")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(engine_device, "_mps_available", lambda: False)
    assert pick_device("auto") == torch.device("cpu")
    assert "No GPU found: training on the CPU" in capsys.readouterr().err
    pick_device("auto", quiet=True)
    assert capsys.readouterr().err == ""
    with pytest.raises(AudioDenoiseError, match="cuda"):
        pick_device("cuda")
    with pytest.raises(AudioDenoiseError, match="mps"):
        pick_device("mps")
    with pytest.raises(AudioDenoiseError, match="unknown device"):
        pick_device("tpu")


def test_seed_everything_repeats_all_global_rngs():
    seed_everything(123)
    first = (random.random(), np.random.rand(), torch.rand(3))
    seed_everything(123)
    again = (random.random(), np.random.rand(), torch.rand(3))
    assert first[:2] == again[:2] and torch.equal(first[2], again[2])


def test_make_model_is_seeded_and_leaves_global_rng_alone():
    torch.manual_seed(7)
    expected = torch.rand(4)
    torch.manual_seed(7)
    a, b = make_model(tiny_config(seed=3)), make_model(tiny_config(seed=3))
    assert torch.equal(torch.rand(4), expected)  # building models drew nothing from global RNG
    assert equal_states(a, b)
    assert not equal_states(a, make_model(tiny_config(seed=4)))


def test_lr_schedules():
    kw = dict(total_steps=100, warmup_steps=10)
    one = [lr_factor(s, schedule="onecycle", **kw) for s in range(100)]
    assert (
        one[0] == pytest.approx(1 / 25) and max(one) == pytest.approx(1.0) and one.index(1.0) == 10
    )
    assert one[-1] < 1e-3 and all(x > y for x, y in zip(one[10:], one[11:], strict=False))
    assert lr_factor(50, schedule="constant", **kw) == 1.0
    with pytest.raises(AudioDenoiseError, match="schedule"):
        lr_factor(0, schedule="steps", **kw)


@pytest.mark.parametrize("lr", [0.0, -1e-3, float("nan"), 2.0, 1e38])
def test_an_impossible_learning_rate_is_refused_before_training(lr):
    from audio_denoise_utils.engine.trainer import Engine

    # 1e38 used to end in "unexpected RuntimeError" (AdamW's step overflowed float32) mid-epoch.
    with pytest.raises(AudioDenoiseError, match=r"TrainConfig.lr must be above 0 and at most 1"):
        Engine(tiny_config(lr=lr))
    Engine(tiny_config(lr=1.0))  # the largest accepted


# --------------------------------------------------------------------------------------------
# fit
# --------------------------------------------------------------------------------------------


def test_validation_loss_falls_and_beats_the_noisy_input(trained, clips):
    model, history, config, _, seen = trained
    assert history.epoch == list(range(1, 7)) and seen == list(range(1, 7))
    assert history.val_loss[-1] < history.val_loss[0]
    assert history.val_si_sdr[-1] > history.val_si_sdr[0]
    # The model must do better than leaving the validation input as it is.
    pairs = NoisyCleanDataset(
        clips[1],
        training.make_corruption(config, babble_clips=clips[0]),
        train=False,
        seed=config.val_seed,
    )
    noisy = torch.stack([n for n, _ in pairs])
    clean = torch.stack([c for _, c in pairs])
    input_si_sdr = si_sdr(noisy, clean).mean().item()
    with torch.no_grad():
        output_si_sdr = si_sdr(model(noisy), clean).mean().item()
    assert output_si_sdr > input_si_sdr + 1.0
    assert output_si_sdr == pytest.approx(history.val_si_sdr[-1], abs=1e-3)


# The bare settings under which the default Engine must add nothing to the learner's loop.
PLAIN_SETTINGS = dict(schedule="constant", grad_clip=None, amp="off")


def test_fit_is_the_learners_loop(clips):
    """fit and the hand-written loop of notebook 04 (tests/learner_loop.py) must not drift apart:
    the same seeds give the same losses, scores and weights after the same steps."""
    config = tiny_config(epochs=3, steps_per_epoch=4, **PLAIN_SETTINGS)
    train_clips, val_clips = clips
    model = make_model(config)
    corruption = training.make_corruption(config, babble_clips=train_clips)
    segment = round(config.segment_seconds * config.sample_rate)
    train_data = NoisyCleanDataset(
        train_clips, corruption, segment, seed=config.seed, sr=SR,
        speed_perturb=config.speed_perturb, storage=torch.float16,  # as fit stores the clips
    )  # fmt: skip
    val_pairs = list(NoisyCleanDataset(val_clips, corruption, train=False, seed=config.val_seed))
    optimizer = torch.optim.AdamW(
        model.parameters(), lr=config.lr, weight_decay=config.weight_decay
    )
    expected = learner_loop.train(
        model, train_data, val_pairs, build_loss(config.loss), optimizer,
        config.epochs, config.steps_per_epoch, config.batch_size,
    )  # fmt: skip
    assert expected[-1][0] < expected[0][0]  # the loop learns something

    for engine in (PlainEngine(), None):  # None: fit's default Engine
        ours = make_model(config)
        history = fit(ours, *clips, config, device="cpu", progress=False, engine=engine)
        assert history.train_loss == [loss for loss, _ in expected]  # exactly, step by step
        assert history.val_si_sdr == pytest.approx([v for _, v in expected], abs=1e-4)
        assert equal_states(ours, model)
    # The engine's extras are real: clipping and the schedule change the run.
    clipped = make_model(config)
    fit(clipped, *clips, tiny_config(epochs=3, steps_per_epoch=4), device="cpu", progress=False)
    assert not equal_states(clipped, model)


def test_history_fields_frame_and_json(trained):
    _, history, _, _, _ = trained
    assert all(0.0 <= s <= 1.0 for s in history.data_time_share)
    assert all(t > 0 for t in history.epoch_time) and history.steps == [6] * 6
    assert all(lr > 0 for lr in history.lr) and history.lr[-1] < max(history.lr)  # decayed
    frame = history.to_frame()
    assert list(frame.index) == history.epoch and len(frame) == 6
    assert {"train_loss", "val_loss", "val_si_sdr", "lr", "data_time_share"} <= set(frame.columns)
    assert frame["val_si_sdr"].idxmax() == history.best_epoch
    assert History.from_dict(json.loads(json.dumps(history.to_dict()))) == history


def test_same_seed_same_weights_other_seed_other_weights(clips):
    config = tiny_config(steps_per_epoch=3)
    runs = [fit(None, *clips, config, device="cpu", progress=False) for _ in range(2)]
    models = []
    for _ in range(2):
        m = make_model(config)
        fit(m, *clips, config, device="cpu", progress=False)
        models.append(m)
    assert runs[0].train_loss == runs[1].train_loss
    assert equal_states(*models)
    other = make_model(config)
    fit(other, *clips, tiny_config(steps_per_epoch=3, seed=1), device="cpu", progress=False)
    assert not equal_states(models[0], other)


def test_resume_equals_uninterrupted_run(clips, tmp_path):
    config = tiny_config(epochs=3, steps_per_epoch=3)
    straight = make_model(config)
    h_straight = fit(straight, *clips, config, device="cpu", progress=False)

    first = make_model(config)
    h_first = fit(
        first, *clips, config, device="cpu", out_dir=tmp_path, progress=False, stop_after=1
    )
    assert len(h_first) == 1
    resumed = make_model(config)  # fresh weights: the checkpoint must restore everything
    h_resumed = fit(
        resumed, *clips, config, device="cpu", resume_from=tmp_path / "last.pt", progress=False
    )

    assert equal_states(straight, resumed)
    assert h_resumed.epoch == [1, 2, 3]
    assert h_resumed.train_loss == h_straight.train_loss
    assert h_resumed.val_si_sdr == h_straight.val_si_sdr
    with pytest.raises(CheckpointError, match="last.pt.*schedule"):
        fit(
            make_model(config),
            *clips,
            tiny_config(epochs=5, steps_per_epoch=3),
            device="cpu",
            resume_from=tmp_path / "last.pt",
            progress=False,
        )


def test_init_from_starts_from_a_checkpoints_weights(trained, clips, tmp_path):
    _, _, config, out, _ = trained
    fine = dataclasses.replace(config, init_from=config.out, epochs=1, seed=3, out=None)
    start = make_model(fine)
    assert equal_states(start, load_checkpoint(config.out)[0])  # the trained weights...
    assert not equal_states(start, make_model(dataclasses.replace(fine, init_from=None)))
    history = fit(start, *clips, dataclasses.replace(fine, lr=1e-12), device="cpu", progress=False)
    assert history.val_si_sdr[0] == pytest.approx(trained[1].val_si_sdr[-1], abs=0.05)
    with pytest.raises(AudioDenoiseError, match="holds a 'tiny_test' model, not 'mask'"):
        make_model(dataclasses.replace(fine, model="mask"))


def test_time_budget_stops_cleanly(clips, tmp_path):
    config = tiny_config(
        epochs=50, steps_per_epoch=50, time_budget_s=0.0, out=str(tmp_path / "m.pt")
    )
    history = fit(None, *clips, config, device="cpu", progress=False)
    assert len(history) == 1 and history.steps == [1]
    assert history.val_si_sdr[0] is not None  # the cut epoch is still validated and saved
    _, ckpt = load_checkpoint(tmp_path / "m.pt")
    assert ckpt["epoch"] == 1


def test_callback_can_stop_and_bad_settings_are_refused(clips):
    history = fit(
        None,
        *clips,
        tiny_config(epochs=5, steps_per_epoch=2),
        device="cpu",
        progress=False,
        callback=lambda h: len(h) >= 2,
    )
    assert len(history) == 2
    with pytest.raises(AudioDenoiseError, match="loss"):
        fit(None, *clips, tiny_config(loss="no_such_loss"), device="cpu", progress=False)
    with pytest.raises(AudioDenoiseError, match="noise"):
        fit(None, *clips, tiny_config(noise=("purple",)), device="cpu", progress=False)
    with pytest.raises(AudioDenoiseError, match="8000 Hz"):
        fit(
            None,
            *clips,
            tiny_config(sample_rate=16000, model_kwargs={"sample_rate": SR}),
            device="cpu",
            progress=False,
        )


def test_train_config_round_trips_through_json():
    config = TrainConfig(noise=("white", "pink"), snr_db=(-5.0, 5.0), model_kwargs={"a": 1})
    again = TrainConfig.from_dict(json.loads(json.dumps(config.to_dict())))
    assert again == config


# --------------------------------------------------------------------------------------------
# Checkpoints
# --------------------------------------------------------------------------------------------


def test_checkpoint_round_trip(trained):
    model, history, config, out, _ = trained
    for name in ("last.pt", "best.pt", "final.pt"):
        raw = torch.load(out / name, weights_only=True)
        assert raw["format"] == "audio-denoise-checkpoint" and raw["version"] == 1
    loaded, ckpt = load_checkpoint(out / "last.pt")
    assert isinstance(loaded, TinyDenoiser) and not loaded.training
    assert equal_states(loaded, model) and loaded.config == model.config
    assert ckpt["epoch"] == 6
    assert History.from_dict(ckpt["history"]) == history
    # The stored config records what was trained: the model's own hyper-parameters included.
    stored = TrainConfig.from_dict(ckpt["train_config"])
    assert stored == dataclasses.replace(config, model_kwargs=model.config)
    best, best_ckpt = load_checkpoint(out / "best.pt")
    assert best_ckpt["epoch"] == history.best_epoch
    final, _ = load_checkpoint(out / "final.pt")  # config.out holds the best weights too
    assert equal_states(final, best)
    # No leftover temporary files from the atomic writes.
    assert sorted(p.name for p in out.iterdir()) == ["best.pt", "final.pt", "last.pt"]


def test_checkpoint_of_a_wrapped_model_loads(tmp_path, monkeypatch):
    model = TinyDenoiser()
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)  # a CPU DataParallel wrapper
    save_checkpoint(tmp_path / "dp.pt", nn.DataParallel(model))
    loaded, _ = load_checkpoint(tmp_path / "dp.pt")
    assert equal_states(loaded, model)
    # A state dict saved by hand from a DDP model carries "module." prefixes.
    ckpt = torch.load(tmp_path / "dp.pt", weights_only=True)
    ckpt["state_dict"] = {f"module.{k}": v for k, v in ckpt["state_dict"].items()}
    torch.save(ckpt, tmp_path / "ddp.pt")
    assert equal_states(load_checkpoint(tmp_path / "ddp.pt")[0], model)


@pytest.fixture
def good_checkpoint(tmp_path) -> Path:
    return save_checkpoint(tmp_path / "good.pt", TinyDenoiser(), epoch=3)


def test_refuses_missing_empty_truncated_and_random_files(tmp_path, good_checkpoint):
    with pytest.raises(CheckpointError, match="nope.pt: no such checkpoint"):
        load_checkpoint(tmp_path / "nope.pt")
    (tmp_path / "empty.pt").write_bytes(b"")
    with pytest.raises(CheckpointError, match="empty.pt: empty"):
        load_checkpoint(tmp_path / "empty.pt")
    data = good_checkpoint.read_bytes()
    (tmp_path / "cut.pt").write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match="cut.pt: truncated or corrupt"):
        load_checkpoint(tmp_path / "cut.pt")
    (tmp_path / "noise.pt").write_bytes(np.random.default_rng(0).bytes(4096))
    with pytest.raises(CheckpointError, match="noise.pt"):
        load_checkpoint(tmp_path / "noise.pt")


class _Evil:
    """Unpickling calls open(marker, "w"): proof that loading ran code from the file."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (open, (str(self.marker), "w"))


@pytest.mark.parametrize("writer", ["torch", "pickle"])
def test_refuses_arbitrary_pickle_without_running_it(tmp_path, writer):
    marker = tmp_path / "pwned"
    path = tmp_path / "evil.pt"
    payload = {"format": "audio-denoise-checkpoint", "version": 1, "x": _Evil(marker)}
    if writer == "torch":
        torch.save(payload, path)
    else:
        path.write_bytes(pickle.dumps(payload, protocol=2))
    with pytest.raises(CheckpointError, match="evil.pt: not a (safe )?checkpoint"):
        load_checkpoint(path)
    assert not marker.exists()
    # Control: an unsafe load of the same file really does run the code.
    if writer == "torch":
        torch.load(path, weights_only=False)
    else:
        pickle.loads(path.read_bytes())
    assert marker.exists()


def test_refuses_foreign_dicts_unknown_models_and_mismatched_weights(tmp_path, good_checkpoint):
    torch.save({"state_dict": {}}, tmp_path / "foreign.pt")
    with pytest.raises(CheckpointError, match="foreign.pt: not an audio-denoise checkpoint"):
        load_checkpoint(tmp_path / "foreign.pt")
    torch.save([1, 2, 3], tmp_path / "list.pt")
    with pytest.raises(CheckpointError, match="list.pt: not an audio-denoise checkpoint"):
        load_checkpoint(tmp_path / "list.pt")

    ckpt = torch.load(good_checkpoint, weights_only=True)
    ckpt["model"]["name"] = "no_such_model"
    torch.save(ckpt, tmp_path / "unknown.pt")
    with pytest.raises(CheckpointError, match="unknown.pt: unknown model 'no_such_model'"):
        load_checkpoint(tmp_path / "unknown.pt")

    ckpt = torch.load(good_checkpoint, weights_only=True)
    ckpt["state_dict"].pop("out.bias")
    torch.save(ckpt, tmp_path / "missing_key.pt")
    with pytest.raises(CheckpointError, match="missing_key.pt: the weights do not fit"):
        load_checkpoint(tmp_path / "missing_key.pt")

    ckpt = torch.load(good_checkpoint, weights_only=True)
    ckpt["model"]["config"]["channels"] = 9  # shapes no longer match the stored weights
    torch.save(ckpt, tmp_path / "shape.pt")
    with pytest.raises(CheckpointError, match="shape.pt: the weights do not fit"):
        load_checkpoint(tmp_path / "shape.pt")

    ckpt = torch.load(good_checkpoint, weights_only=True)
    ckpt["version"] = 99
    torch.save(ckpt, tmp_path / "future.pt")
    with pytest.raises(CheckpointError, match="future.pt: checkpoint version 99"):
        load_checkpoint(tmp_path / "future.pt")


@pytest.mark.parametrize(
    "key,value,needle",
    [
        (None, [("n_fft", 512)], "the model config is not a table"),
        ("compress", math.nan, "compress is nan, not a finite number"),
        ("sample_rate", 10**12, "sample rate 1000000000000 Hz is outside"),
        ("sample_rate", "16k", "sample rate must be an integer"),
        ("channels", {"a": 32}, "channels holds a dict, not a plain value"),
        ("channels", [32, math.inf], "channels is [32, inf], not a finite number"),
        ("bogus", 1, "unexpected keyword argument 'bogus'"),
    ],
)
def test_a_hand_edited_model_config_is_refused_naming_the_file(
    tmp_path, good_checkpoint, key, value, needle
):
    ckpt = torch.load(good_checkpoint, weights_only=True)
    if key is None:
        ckpt["model"]["config"] = value
    else:
        ckpt["model"]["config"][key] = value
    torch.save(ckpt, tmp_path / "edited.pt")
    with pytest.raises(CheckpointError, match=re.escape(needle)) as info:
        load_checkpoint(tmp_path / "edited.pt")
    assert str(info.value).startswith(f"{tmp_path / 'edited.pt'}: ")


def test_is_main_process_outside_torchrun(monkeypatch):
    monkeypatch.delenv("RANK", raising=False)
    assert training.is_main_process()
    monkeypatch.setenv("RANK", "1")
    assert not training.is_main_process()


def test_cuda_fit_with_amp_and_resume(clips, tmp_path, recwarn):
    if not torch.cuda.is_available():
        pytest.skip("needs a CUDA GPU")
    config = tiny_config(epochs=2, steps_per_epoch=3, amp="fp16")
    first = fit(None, *clips, config, device="cuda", out_dir=tmp_path, progress=False, stop_after=1)
    assert len(first) == 1 and all(math.isfinite(x) for x in first.train_loss)
    assert not [w for w in recwarn if "lr_scheduler" in str(w.message)]  # fp16 skips are silent
    ckpt = torch.load(tmp_path / "last.pt", weights_only=True)
    assert ckpt["scaler"]["scale"] > 0  # the GradScaler state travels with the checkpoint
    model, _ = load_checkpoint(tmp_path / "last.pt", map_location="cuda")
    assert next(model.parameters()).is_cuda
    history = fit(
        model, *clips, config, device="cuda", resume_from=tmp_path / "last.pt", progress=False
    )
    assert history.epoch == [1, 2] and history.train_loss[0] == first.train_loss[0]


@models.register_model("tiny_nan_test")
class _NaNDenoiser(TinyDenoiser):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return super().forward(x) * math.nan


def test_divergence_is_reported(clips):
    config = tiny_config(model="tiny_nan_test")
    with pytest.raises(AudioDenoiseError, match="diverged"):
        fit(None, *clips, config, device="cpu", progress=False)


def test_train_from_directory_splits_by_actor_and_writes_the_checkpoint(tmp_path, monkeypatch):
    from audio_denoise_utils.audio import save_audio

    monkeypatch.setenv("AUDIO_DENOISE_ROOT", str(tmp_path))  # the decode cache goes here
    data = tmp_path / "data" / "toy"
    for actor in (1, 2, 3, 4):
        for i, clip in enumerate(synthetic_speech(2, seed=actor)):
            name = f"03-01-0{i + 1}-01-01-01-{actor:02d}.wav"
            save_audio(data / f"Actor_{actor:02d}" / name, clip, SR)
    config = tiny_config(steps_per_epoch=2)
    result = engine_runs.train_from_directory(data, config, out=tmp_path / "m.pt", progress=False)
    assert result.checkpoint == tmp_path / "m.pt" and len(result.history) == 2
    assert "wrote" in str(result) and "val SI-SDR" in str(result)
    assert result.finished and "stopped early" not in str(result)
    _, ckpt = load_checkpoint(tmp_path / "m.pt")
    assert ckpt["train_config"]["out"] == str(tmp_path / "m.pt")
    assert (tmp_path / "data" / "cache").is_dir()
    # A run cut by its time budget says so, and how to continue it.
    cut = dataclasses.replace(config, epochs=4, time_budget_s=0.0)
    result = engine_runs.train_from_directory(data, cut, out=tmp_path / "c.pt", progress=False)
    assert not result.finished
    assert "stopped early, in epoch 1 of 4 (time budget 0 s)" in str(result)
    assert "--resume" in str(result)


def test_a_fine_tuning_run_resumes_without_its_init_checkpoint(tmp_path, monkeypatch):
    """init_from gives a run its first weights; resuming takes them from last.pt instead."""
    from audio_denoise_utils.audio import save_audio

    monkeypatch.setenv("AUDIO_DENOISE_ROOT", str(tmp_path))
    data = tmp_path / "toy"
    for actor in (1, 2, 3, 4):
        for i, clip in enumerate(synthetic_speech(1, seed=actor)):
            save_audio(
                data / f"Actor_{actor:02d}" / f"03-01-0{i + 1}-01-01-01-{actor:02d}.wav", clip, SR
            )
    start = tmp_path / "start.pt"
    engine_runs.train_from_directory(data, tiny_config(epochs=1), out=start, progress=False)
    fine = tiny_config(epochs=3, init_from=str(start), time_budget_s=0.0)  # stops after epoch 1
    run = tmp_path / "fine.run"
    cut = engine_runs.train_from_directory(
        data, fine, out=tmp_path / "fine.pt", run_dir=run, progress=False
    )
    assert not cut.finished
    start.unlink()
    config, done = engine_runs.resume_config(run / "last.pt", {"time_budget_s": None})
    assert done == 1 and config.init_from == str(start)
    result = engine_runs.train_from_directory(
        data,
        config,
        out=tmp_path / "fine.pt",
        run_dir=run,
        resume_from=run / "last.pt",
        progress=False,
    )
    assert result.finished and result.history.epoch == [1, 2, 3]


def test_final_checkpoint_is_lean_and_last_checkpoint_can_resume(trained):
    """config.out is for inference (no optimizer state); out_dir/last.pt carries what resume needs."""
    _, history, _, out, _ = trained
    final = torch.load(out / "final.pt", weights_only=True)
    last = torch.load(out / "last.pt", weights_only=True)
    assert not final.get("optimizer") and last.get("optimizer")
    assert final["history"]["val_si_sdr"] and final["train_config"]["model"] == "tiny_test"
    assert (out / "final.pt").stat().st_size < (out / "last.pt").stat().st_size


def test_train_config_accepts_a_single_noise_kind_as_a_string():
    assert TrainConfig(noise="original").noise == ("original",)
    assert TrainConfig(noise=["white", "pink"]).noise == ("white", "pink")


def test_best_epoch_ignores_nan_validation():
    h = History()
    for epoch, score in ((1, 3.0), (2, float("nan")), (3, 5.0), (4, float("nan"))):
        h.append(epoch=epoch, train_loss=1.0, val_loss=1.0, val_si_sdr=score, lr=1e-3,
                 epoch_time=1.0, data_time_share=0.1, steps=1)  # fmt: skip
    assert h.best_epoch == 3 and h.best_val_si_sdr == 5.0


def test_resuming_from_a_weights_only_checkpoint_is_refused(trained, clips):
    _, _, config, out, _ = trained
    with pytest.raises(CheckpointError, match="weights only"):
        fit(None, *clips, config, device="cpu", resume_from=out / "final.pt", progress=False)


def test_single_snr_is_a_fixed_range():
    assert TrainConfig(snr_db=5).snr_db == (5.0, 5.0)


def test_extra_speech_dir_adds_training_voices_only(clips, tmp_path):
    import soundfile as sf

    from audio_denoise_utils.training import make_data

    train, val = clips
    voices = tmp_path / "voices"
    (voices / "sub").mkdir(parents=True)
    extra = synthetic_speech(3, seed=7)
    for i, clip in enumerate(extra):
        # One in a subfolder, labelled at twice the rate: it comes back resampled to half length.
        rate, where = (2 * SR, voices / "sub") if i == 0 else (SR, voices)
        sf.write(where / f"v{i}.wav", clip[0].numpy(), rate, subtype="FLOAT")
    (voices / "manifest.csv").write_text("file\nv1.wav\n")  # not audio: ignored
    config = tiny_config(extra_speech_dir=str(voices))
    data, val_pairs = make_data(config, train, val)
    assert len(data) == len(train) + len(extra) and len(val_pairs) == len(val)
    added = [data.clips.clip(i) for i in range(len(train), len(data))]
    n = [int(c.shape[-1]) for c in extra]
    assert sorted(int(c.shape[-1]) for c in added) == sorted([n[0] // 2, n[1], n[2]])
    # The files at the config's rate come back sample for sample (up to float16 storage).
    assert torch.allclose(added[1].reshape(-1), extra[1].reshape(-1), atol=1e-3)
    assert torch.allclose(added[2].reshape(-1), extra[2].reshape(-1), atol=1e-3)
    # Babble is made of the training voices: the extra ones too.
    babbly, _ = make_data(tiny_config(noise=("babble",), extra_speech_dir=str(voices)), train, val)
    assert len(babbly.corruption.babble_clips) == len(train) + len(extra)
    without, _ = make_data(tiny_config(), train, val)
    assert len(without) == len(train)
    with pytest.raises(AudioDenoiseError, match="fetch_real_speech.py --set train"):
        make_data(tiny_config(extra_speech_dir=str(tmp_path / "missing")), train, val)
