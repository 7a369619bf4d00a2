"""DistributedDataParallel through fit(): two CPU processes (gloo) launched by torchrun.

The script (tests/ddp_train_script.py) records, per rank, the first batch it drew and the hash of
its final weights. Different batches but identical final weights can only happen when the ranks'
gradients were combined at every step: independent training would make the weights diverge.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from ddp_train_script import TinyDenoiser, state_hash
from signals import write_tiny_ravdess

from audio_denoise_utils.training import History, load_checkpoint

SCRIPT = Path(__file__).with_name("ddp_train_script.py")

pytestmark = pytest.mark.skipif(
    not torch.distributed.is_available() or not torch.distributed.is_gloo_available(),
    reason="torch.distributed with gloo is not available",
)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def ddp_run(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("ddp")
    env = {**os.environ, "OMP_NUM_THREADS": "1", "GLOO_SOCKET_IFNAME": "lo"}
    env.pop("WORLD_SIZE", None)
    cmd = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--nnodes=1",
        "--nproc_per_node=2",
        "--master_addr=127.0.0.1",
        f"--master_port={_free_port()}",
        str(SCRIPT),
        "--out",
        str(out),
    ]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, (
        f"torchrun failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}"
    )
    return out


def _reports(out: Path) -> list[dict]:
    return [json.loads((out / f"rank{r}.json").read_text()) for r in (0, 1)]


def test_ranks_see_different_data_but_end_with_identical_weights(ddp_run):
    r0, r1 = _reports(ddp_run)
    assert (r0["world"], r1["world"]) == (2, 2)
    assert r0["first_batch"] != r1["first_batch"]  # each rank sampled its own crops and noise
    assert r0["initial"] == r1["initial"]
    assert r0["final"] != r0["initial"]  # training moved the weights ...
    assert r0["final"] == r1["final"]  # ... identically on both ranks: gradients were averaged
    # Metrics are reduced across ranks, so both ranks report the same history.
    assert r0["train_loss"] == r1["train_loss"] and r0["val_si_sdr"] == r1["val_si_sdr"]
    assert r0["epochs"] == 2 and all(v is not None for v in r0["val_si_sdr"])


def test_only_rank0_writes_a_loadable_checkpoint(ddp_run):
    run = ddp_run / "run"
    assert sorted(p.name for p in run.iterdir()) == ["best.pt", "last.pt"]
    model, ckpt = load_checkpoint(run / "last.pt")
    assert isinstance(model, TinyDenoiser)
    assert not any(k.startswith("module.") for k in ckpt["state_dict"])  # DDP prefix stripped
    assert state_hash(model) == _reports(ddp_run)[0]["final"]
    history = History.from_dict(ckpt["history"])
    assert history.epoch == [1, 2] and history.train_loss == _reports(ddp_run)[0]["train_loss"]


def test_torchrun_runs_the_train_command_with_two_processes(tmp_path):
    """The documented command: torchrun --nproc_per_node 2 -m audio_denoise_utils train ..."""
    data = write_tiny_ravdess(tmp_path / "data")
    env = {**os.environ, "OMP_NUM_THREADS": "1", "GLOO_SOCKET_IFNAME": "lo"}
    env["AUDIO_DENOISE_ROOT"] = str(tmp_path)  # decode cache under tmp_path, shared by both ranks
    env.pop("WORLD_SIZE", None)
    ckpt = tmp_path / "ddp.pt"
    cmd = [
        sys.executable, "-m", "torch.distributed.run", "--nnodes=1", "--nproc_per_node=2",
        "--master_addr=127.0.0.1", f"--master_port={_free_port()}",
        "-m", "audio_denoise_utils", "-q", "train", "--data", str(data), "--model", "conv",
        "--epochs", "1", "--steps-per-epoch", "2", "--batch-size", "2", "--device", "cpu",
        "--out", str(ckpt),
    ]  # fmt: skip
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=180)
    assert proc.returncode == 0, f"{proc.stdout}\n{proc.stderr}"
    assert proc.stdout.count("wrote ") == 1  # the summary comes from rank 0 only
    model, info = load_checkpoint(ckpt)
    assert info["model"]["name"] == "conv" and info["history"]["epoch"] == [1]
