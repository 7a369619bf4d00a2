"""Data safety of checkpoints: never a broken model loaded, never an old checkpoint lost on saving.

Non-finite weights are refused with one clear line; a checkpoint damaged anywhere (bounded fuzz
of truncations and byte flips) loads or raises CheckpointError; a save that fails at any step
(full disk, Ctrl-C, crash) leaves the previous checkpoint byte for byte and no temporary file.
"""

from __future__ import annotations

import random

import pytest
import torch
from faults import FileSystemFaults, InjectedCrash, tmpfs

from audio_denoise_utils.engine.runs import resume_config
from audio_denoise_utils.errors import AudioDenoiseError, CheckpointError
from audio_denoise_utils.models import build_model
from audio_denoise_utils.training import (
    TrainConfig,
    load_checkpoint,
    save_checkpoint,
)


def tiny():
    torch.manual_seed(0)
    return build_model("mask", channels=16, blocks=1)


@pytest.mark.parametrize("value", [float("nan"), float("inf"), float("-inf")])
def test_non_finite_weights_are_refused_everywhere(tmp_path, value):
    model = tiny()
    state = {k: v.clone() for k, v in model.state_dict().items()}
    name = [k for k, v in state.items() if v.is_floating_point()][-1]
    state[name].view(-1)[0] = value
    path = save_checkpoint(
        tmp_path / "diverged.pt", model, state_dict=state, train_config=TrainConfig(model="mask")
    )
    with pytest.raises(CheckpointError, match="NaN or infinite") as err:
        load_checkpoint(path)
    assert str(path) in str(err.value) and name in str(err.value) and "\n" not in str(err.value)
    # --resume reads the checkpoint through the same gate before any training starts.
    with pytest.raises(CheckpointError, match="NaN or infinite"):
        resume_config(path)


def test_damaged_checkpoints_load_or_give_one_clean_error(tmp_path):
    good = save_checkpoint(tmp_path / "good.pt", tiny()).read_bytes()
    rng = random.Random(3)
    outcomes = {"loaded": 0, "refused": 0}
    for i in range(60):
        data = bytearray(good)
        if i % 2:
            data = data[: rng.randrange(1, len(data))]
        else:
            for _ in range(rng.randrange(1, 8)):
                pos = rng.randrange(len(data))
                data[pos] ^= 1 << rng.randrange(8)
        path = tmp_path / f"c{i}.pt"
        path.write_bytes(bytes(data))
        try:
            model, _ = load_checkpoint(path)
        except AudioDenoiseError as exc:
            assert str(path) in str(exc) and "\n" not in str(exc), exc
            outcomes["refused"] += 1
            continue
        assert all(torch.isfinite(p).all() for p in model.state_dict().values())
        outcomes["loaded"] += 1  # flips inside weights or padding may leave a valid file
    assert outcomes["refused"] >= 30


def test_a_fault_at_every_step_of_a_save_keeps_the_previous_checkpoint(tmp_path):
    path = save_checkpoint(tmp_path / "model.pt", tiny())
    previous = path.read_bytes()
    newer = build_model("mask", channels=16, blocks=1)  # other weights
    counter = FileSystemFaults()
    with counter.active():
        save_checkpoint(tmp_path / "probe.pt", newer)
    (tmp_path / "probe.pt").unlink()
    steps = len(counter.calls)
    assert steps >= 3  # temporary file, fsync, rename
    for kind in ("enospc", "interrupt", "crash"):
        for k in range(1, steps + 1):
            faults = FileSystemFaults(fail_at=k, kind=kind)
            with faults.active():
                try:
                    save_checkpoint(path, newer)
                    failed = False
                except (OSError, KeyboardInterrupt, InjectedCrash, AudioDenoiseError):
                    failed = True
            if kind == "crash":  # a crashed process cannot clean up: only temp names may be left
                for p in tmp_path.iterdir():
                    if p.name.startswith(".model.pt."):
                        p.unlink()
            if failed:
                assert path.read_bytes() == previous, f"{kind} at {k}"
            else:  # the fault hit a step that tolerates it (mkdir of an existing folder)
                assert load_checkpoint(path)[0].state_dict().keys() == newer.state_dict().keys()
                path.write_bytes(previous)
            assert sorted(p.name for p in tmp_path.iterdir()) == ["model.pt"], f"{kind} at {k}"


def test_disk_full_while_saving_keeps_the_previous_checkpoint(tmp_path):
    with tmpfs(tmp_path / "small", size="64k") as mounted:
        if mounted is None:
            pytest.skip("mounting a tmpfs needs root (the fault sweep covers ENOSPC)")
        path = save_checkpoint(mounted / "model.pt", tiny())
        previous = path.read_bytes()
        big = build_model("mask", channels=64, blocks=2)  # larger than the space left
        with pytest.raises(AudioDenoiseError, match="no space left") as err:
            save_checkpoint(path, big)
        assert str(path) in str(err.value) and ".tmp" not in str(err.value)
        assert path.read_bytes() == previous
        assert sorted(p.name for p in mounted.iterdir()) == ["model.pt"]


def test_files_that_are_not_checkpoints_are_named_as_such(tmp_path):
    # Found by the adversarial review: a WAV or random bytes given as --checkpoint reached torch's
    # legacy unpickler and surfaced as "unexpected IndexError (this is a bug)".
    import numpy as np
    import soundfile as sf

    wav = tmp_path / "x.wav"
    sf.write(wav, np.zeros(1600, dtype=np.float32), 16000)
    rnd = tmp_path / "rnd.pt"
    rnd.write_bytes(random.Random(0).randbytes(3000))
    for path in (wav, rnd):
        with pytest.raises(AudioDenoiseError, match="not a checkpoint") as info:
            load_checkpoint(path)
        assert str(path) in str(info.value) and "\n" not in str(info.value)
