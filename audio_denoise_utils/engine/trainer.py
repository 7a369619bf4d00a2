"""The training engine: everything around the learner's loop that is engineering, not learning.

Engine code: not course material. :func:`audio_denoise_utils.training.fit` is the loop a learner
writes (batches, ``train_step``, ``validate``, a history); it calls the hooks of an engine at the
places where engineering joins in, the way Accelerate or Lightning layer it:

- ``autocast()``: plain, nothing; Engine, bf16/fp16 autocast on CUDA.
- ``backward(loss)``: plain, ``loss.backward()``; Engine, the same on a loss scaled for fp16.
- ``step(optimizer)``: plain, ``optimizer.step()``; Engine, unscale, clip the gradient norm,
  stop on non-finite gradients, step, then advance the learning-rate schedule.
- ``track(batches)``: plain, the batches (timed); Engine, + progress bar, time budget, DDP stop.
- ``shard(pairs)`` / ``mean(values)`` / ``average(value)``: plain, all pairs and plain means;
  Engine under DDP, this process's share and means over all processes.
- ``prepare(...)``: plain, the model to the device; Engine, + DDP wrapper, schedule, AMP scaler,
  resume from a checkpoint.
- ``end_epoch(...)`` / ``should_stop(...)``: plain, nothing / never; Engine, checkpoints,
  progress, the callback, ``stop_after`` and the time budget.

With ``amp="off"``, ``grad_clip=None`` and ``schedule="constant"`` on one CPU process, :class:`Engine`
computes exactly what :class:`PlainEngine` computes (tests/test_training.py checks both against
the hand-written loop in tests/learner_loop.py).
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import math
import os
import time
import warnings
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

import torch
import torch.distributed as dist
from torch import nn

from ..errors import AudioDenoiseError
from .checkpoints import (
    check_resumable,
    load_weights,
    model_name,
    read_checkpoint,
    save_checkpoint,
)
from .device import Dist, pick_device, setup_distributed, synchronize

PathLike = str | os.PathLike
#: What ``config.out`` receives (TrainConfig.keep): the best epoch by validation, or the last.
KEEP_CHOICES = ("best", "last")
#: The largest peak learning rate a run accepts. AdamW moves every weight by about ``lr`` per step,
#: so anything near or above 1 diverges at once, and above ~1e37 its step overflows float32.
MAX_LR = 1.0


class PlainEngine:
    """The hooks of the training loop done the plain way: exactly what a hand-written loop does.

    Besides timing the batches (which changes no number), every hook is the one line a learner
    writes: ``loss.backward()``, ``optimizer.step()``, a plain mean. Use it to check a loop of
    your own against :func:`~audio_denoise_utils.training.fit`.
    """

    def __init__(self, config: Any = None, device: torch.device | str = "cpu") -> None:
        self.config = config
        self.device = torch.device(device)
        self.rank, self.world = 0, 1
        self.start_epoch = 0
        self.lr = math.nan
        self._t_epoch = self._t_tracked = time.perf_counter()
        self._data_time = self._step_time = 0.0
        self._steps = 0

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"

    # -- around the loop ---------------------------------------------------------------------

    @contextlib.contextmanager
    def running(self) -> Iterator[PlainEngine]:
        """Hold the resources of one run (nothing for the plain engine)."""
        yield self

    def adopt(self, model: nn.Module, config: Any) -> Any:
        """Return ``config`` with the model actually trained recorded (name and settings)."""
        config = dataclasses.replace(
            config,
            model=model_name(model),
            model_kwargs=dict(getattr(model, "config", {}) or {}),
        )
        sr = int(config.model_kwargs.get("sample_rate", config.sample_rate))
        if sr != config.sample_rate:
            raise AudioDenoiseError(
                f"the model works at {sr} Hz but the config says sample_rate={config.sample_rate}; "
                "load the clips at the model's rate and set config.sample_rate to match"
            )
        self.config = config
        return config

    def prepare(
        self,
        model: nn.Module,
        optimizer: torch.optim.Optimizer,
        loss_fn: Callable,
        resume_from: PathLike | None = None,
    ) -> tuple[nn.Module, dict[str, Any]]:
        """Move the model (and a module loss) to the device; return (model to train, history dict)."""
        if resume_from is not None:
            raise AudioDenoiseError("the plain engine cannot resume; use Engine")
        model.to(self.device).train()
        if isinstance(loss_fn, nn.Module):
            loss_fn.to(self.device)  # STFT windows live on the training device
        return model, {}

    def epochs(self) -> Iterator[int]:
        """Yield the 0-based epochs to run."""
        for epoch in range(self.start_epoch, self.config.epochs):
            self._begin_epoch(epoch)
            yield epoch

    def _begin_epoch(self, epoch: int) -> None:
        self.epoch = epoch
        self._t_epoch = time.perf_counter()
        self._data_time = self._step_time = 0.0
        self._steps = 0

    def epoch_stats(self) -> dict[str, Any]:
        """Return this epoch's learning rate, seconds, data-time share and steps (History fields)."""
        share = self._data_time / max(self._step_time, 1e-12)
        return {
            "lr": self.lr,
            "epoch_time": time.perf_counter() - self._t_epoch,
            "data_time_share": min(1.0, max(0.0, self.average(share))),
            "steps": self._steps,
        }

    def end_epoch(self, history: Any, model: nn.Module, optimizer: torch.optim.Optimizer) -> None:
        """Run after the epoch's row is in ``history`` (nothing for the plain engine)."""

    def should_stop(self, history: Any) -> bool:
        """Return True to end training after this epoch (the plain engine runs every epoch)."""
        return False

    # -- inside the loop ---------------------------------------------------------------------

    def track(self, batches: Iterable[Any]) -> Iterator[Any]:
        """Yield the batches, timing how long making them and training on them takes."""
        it = iter(batches)
        while True:
            t0 = time.perf_counter()
            try:
                batch = next(it)
            except StopIteration:
                break
            self._wait()
            t1 = time.perf_counter()
            yield batch
            self._wait()
            self._data_time += t1 - t0
            self._step_time += time.perf_counter() - t0
            self._steps += 1
            if self._after_step():
                break
        self._t_tracked = time.perf_counter()

    def _wait(self) -> None:
        """Wait for queued device work before reading the clock (plain: nothing queues)."""

    def _after_step(self) -> bool:
        """Return True to end the epoch early (the plain engine never does)."""
        return False

    def autocast(self) -> contextlib.AbstractContextManager:
        """Return the context the forward pass runs in (plain: none)."""
        return contextlib.nullcontext()

    def backward(self, loss: torch.Tensor) -> None:
        """Compute the gradients of ``loss``."""
        loss.backward()

    def step(self, optimizer: torch.optim.Optimizer) -> None:
        """Update the weights from their gradients."""
        self.lr = optimizer.param_groups[0]["lr"]
        optimizer.step()

    def shard(self, pairs: Sequence[Any]) -> Sequence[Any]:
        """Return the validation pairs this process scores (plain: all of them)."""
        return pairs

    def mean(self, values: Sequence[torch.Tensor]) -> float:
        """Return the mean of per-clip values (plain: over this process's values)."""
        return torch.cat([v.reshape(-1) for v in values]).mean().item()

    def average(self, value: float) -> float:
        """Return ``value`` averaged over processes (plain: ``value``)."""
        return value


class Engine(PlainEngine):
    """The engine :func:`~audio_denoise_utils.training.fit` uses: AMP, clipping, schedule, DDP,
    progress bars, time budget, checkpoints and resume, layered on :class:`PlainEngine`'s hooks.

    - ``device``: None picks one (``pick_device``); under torchrun each rank takes its GPU.
    - ``out_dir``: receives ``last.pt`` after every epoch and ``best.pt`` (best validation
      SI-SDR); ``config.out``, when set, receives the best weights (no optimiser state), or with
      ``config.keep == "last"`` those of the latest epoch with a finite validation score.
    - ``callback(history)`` runs after every epoch on the main process; returning True stops
      training. ``stop_after=k`` stops after epoch k (the schedule still spans
      ``config.epochs``). ``config.time_budget_s`` stops at the first step past the budget
      (minus the expected validation time); that epoch is validated and saved as done.
    """

    def __init__(
        self,
        config: Any,
        device: torch.device | str | None = None,
        *,
        out_dir: PathLike | None = None,
        progress: bool = True,
        callback: Callable[[Any], Any] | None = None,
        stop_after: int | None = None,
    ) -> None:
        super().__init__(config, "cpu")
        if not 0 < config.lr <= MAX_LR:  # also False for NaN
            raise AudioDenoiseError(
                f"TrainConfig.lr must be above 0 and at most {MAX_LR:g} (the default is 1e-3), "
                f"not {config.lr!r}"
            )
        if getattr(config, "keep", "best") not in KEEP_CHOICES:
            raise AudioDenoiseError(
                f"TrainConfig.keep must be one of {', '.join(KEEP_CHOICES)}, not {config.keep!r}"
            )
        self._asked_device = device
        self.out_dir = Path(out_dir) if out_dir is not None else None
        self.progress = progress
        self.callback = callback
        self.stop_after = stop_after
        self.ddp = Dist()
        self.scheduler: torch.optim.lr_scheduler.LambdaLR | None = None
        self.scaler: torch.amp.GradScaler | None = None
        self.amp_dtype: torch.dtype | None = None
        self._t_start = time.perf_counter()
        self._val_time = 0.0
        self._out_of_time = False
        self._bars: list[Any] = []

    @property
    def main(self) -> bool:
        """True on the process that writes checkpoints and shows progress."""
        return self.ddp.rank == 0

    @contextlib.contextmanager
    def running(self) -> Iterator[Engine]:
        """Pick the device and join the torchrun process group for the run; leave it afterwards."""
        self._t_start = time.perf_counter()
        device = self._asked_device
        if device is not None and not isinstance(device, torch.device):
            device = pick_device(device)
        self.ddp, device = setup_distributed(device)
        self.rank, self.world = self.ddp.rank, self.ddp.world
        self.device = device if device is not None else pick_device("auto", quiet=not self.main)
        try:
            yield self
            if self.world > 1:
                dist.barrier()  # rank 0 may still be writing a checkpoint the others will read
        finally:
            for bar in self._bars:
                bar.close()
            if self.ddp.owns_group and dist.is_initialized():
                dist.destroy_process_group()

    def prepare(
        self,
        model: nn.Module,
        optimizer: torch.optim.Optimizer,
        loss_fn: Callable,
        resume_from: PathLike | None = None,
    ) -> tuple[nn.Module, dict[str, Any]]:
        """Set up device, DDP, schedule, AMP and resume; return (model to train, history dict)."""
        config = self.config
        model.to(self.device).train()
        if isinstance(loss_fn, nn.Module):
            loss_fn.to(self.device)
        net: nn.Module = model
        if self.world > 1:
            ids = [self.device.index] if self.device.type == "cuda" else None
            net = nn.parallel.DistributedDataParallel(model, device_ids=ids)
        self.scheduler = build_scheduler(optimizer, config)
        self.amp_dtype = amp_dtype(config.amp, self.device)
        self.scaler = torch.amp.GradScaler(
            self.device.type, enabled=self.amp_dtype == torch.float16
        )
        history: dict[str, Any] = {}
        if resume_from is not None:
            ckpt = read_checkpoint(resume_from, map_location=self.device)
            check_resumable(ckpt, config, resume_from)
            load_weights(model, ckpt, resume_from)
            for key, obj in (
                ("optimizer", optimizer),
                ("scheduler", self.scheduler),
                ("scaler", self.scaler),
            ):
                if ckpt.get(key):
                    obj.load_state_dict(ckpt[key])
            history = ckpt.get("history") or {}
            self.start_epoch = int(ckpt.get("epoch", 0))
        if self.main and self.out_dir is not None:
            self.out_dir.mkdir(parents=True, exist_ok=True)
        return net, history

    def _bar(self, iterable: Iterable, **kwargs: Any) -> Any:
        from tqdm.auto import tqdm

        bar = tqdm(
            iterable, disable=not (self.progress and self.main), dynamic_ncols=True, **kwargs
        )
        self._bars.append(bar)
        return bar

    def epochs(self) -> Iterator[int]:
        """Yield the 0-based epochs still to run, under a progress bar."""
        total = self.config.epochs
        self._epochs_bar = self._bar(
            range(self.start_epoch, total), desc="epochs", initial=self.start_epoch, total=total
        )
        for epoch in self._epochs_bar:
            self._begin_epoch(epoch)
            yield epoch

    def track(self, batches: Iterable[Any]) -> Iterator[Any]:
        """Yield the batches under a progress bar, timed on the device, within the time budget."""
        bar = self._bar(
            batches,
            desc=f"epoch {self.epoch + 1}",
            leave=False,
            total=self.config.steps_per_epoch,
        )
        self._wait()
        yield from super().track(bar)
        bar.close()

    def _wait(self) -> None:
        # CUDA runs asynchronously: wait, so that each timing measures its own work.
        synchronize(self.device)

    def _after_step(self) -> bool:
        budget = self.config.time_budget_s
        if budget is None:
            return False
        over = time.perf_counter() - self._t_start + self._val_time > budget
        self._out_of_time = self._agree(over)
        return self._out_of_time

    def autocast(self) -> contextlib.AbstractContextManager:
        """Return autocast in the configured precision on CUDA (a null context in float32)."""
        if self.amp_dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(device_type=self.device.type, dtype=self.amp_dtype)

    def backward(self, loss: torch.Tensor) -> None:
        """Back-propagate ``loss``, scaled when training in fp16."""
        self._loss = loss.detach()
        self.scaler.scale(loss).backward()

    def step(self, optimizer: torch.optim.Optimizer) -> None:
        """Clip the gradient norm, refuse non-finite gradients, step, advance the schedule."""
        self.lr = optimizer.param_groups[0]["lr"]
        scaler = self.scaler
        scaler.unscale_(optimizer)
        params = [p for group in optimizer.param_groups for p in group["params"]]
        # The norm of the (rank-averaged) gradient is the same on every rank, so all ranks agree
        # on divergence. With fp16 the scaler skips non-finite steps by itself.
        norm = nn.utils.clip_grad_norm_(params, self.config.grad_clip or math.inf)
        if not scaler.is_enabled() and not torch.isfinite(norm):
            raise AudioDenoiseError(
                f"training diverged: non-finite gradients (loss {float(self._loss):.4g}) at "
                f"epoch {self.epoch + 1}; try a lower learning rate (lr={self.config.lr})"
            )
        scaler.step(optimizer)
        scaler.update()
        with warnings.catch_warnings():
            # fp16: the scaler skips the optimiser step on overflow; the schedule still follows
            # the step count, which torch would warn about on every skip.
            warnings.filterwarnings("ignore", "Detected call of `lr_scheduler.step", UserWarning)
            self.scheduler.step()

    def shard(self, pairs: Sequence[Any]) -> Sequence[Any]:
        """Return every world-th validation pair, starting at this process's rank."""
        return pairs[self.rank :: self.world]

    def mean(self, values: Sequence[torch.Tensor]) -> float:
        """Return the mean of the per-clip values of all processes."""
        flat = [v.reshape(-1).double() for v in values]
        sums = torch.zeros(2, dtype=torch.float64, device=self.device)
        if flat:
            cat = torch.cat(flat).to(self.device)
            sums += torch.stack([cat.sum(), torch.tensor(float(cat.numel()), device=self.device)])
        if self.world > 1:
            dist.all_reduce(sums)
        return float(sums[0] / sums[1]) if sums[1] > 0 else math.nan

    def average(self, value: float) -> float:
        """Return ``value`` averaged over all processes."""
        if self.world <= 1:
            return value
        t = torch.tensor([value], dtype=torch.float64, device=self.device)
        dist.all_reduce(t)
        return float(t / self.world)

    def _agree(self, value: bool) -> bool:
        """Return rank 0's ``value`` on every rank, so that all ranks stop at the same step."""
        if self.world <= 1:
            return value
        flag = torch.tensor([1.0 if value else 0.0], device=self.device)
        dist.broadcast(flag, src=0)
        return bool(flag.item())

    def epoch_stats(self) -> dict[str, Any]:
        """Return this epoch's History fields; remembers how long validation took (time budget)."""
        self._val_time = time.perf_counter() - self._t_tracked
        return super().epoch_stats()

    def end_epoch(self, history: Any, model: nn.Module, optimizer: torch.optim.Optimizer) -> None:
        """Write last.pt / best.pt / ``config.out``, update the progress bar, run the callback."""
        self._wants_stop = False
        if not self.main:
            return
        epoch, score = history.epoch[-1], history.val_si_sdr[-1]
        # Without validation clips the latest weights count as the best.
        improved = score is None or history.best_epoch == epoch
        config = self.config
        common = dict(
            optimizer=optimizer,
            scheduler=self.scheduler,
            scaler=self.scaler,
            history=history,
            train_config=config,
        )
        keep_out = improved
        if getattr(config, "keep", "best") == "last":  # every epoch whose weights are not NaN
            keep_out = score is None or math.isfinite(score)
        # last.pt goes last: once it says an epoch is done, --out and best.pt are up to date.
        if config.out and keep_out:
            # For inference: weights, config and history only, so it stays small; resume from
            # out_dir/last.pt.
            save_checkpoint(config.out, model, epoch=epoch, history=history, train_config=config)
        if self.out_dir is not None:
            if improved:
                save_checkpoint(self.out_dir / "best.pt", model, epoch=epoch, **common)
            save_checkpoint(self.out_dir / "last.pt", model, epoch=epoch, **common)
        postfix = {"train": f"{history.train_loss[-1]:.4g}"}
        if score is not None:
            postfix.update(val=f"{history.val_loss[-1]:.4g}", si_sdr=f"{score:.2f}dB")
        self._epochs_bar.set_postfix(postfix)
        if self.callback is not None:
            self._wants_stop = self.callback(history) is True

    def should_stop(self, history: Any) -> bool:
        """Return True (on every rank) after the callback asked, ``stop_after`` or the budget."""
        wants = self._wants_stop or self._out_of_time
        if self.stop_after is not None and history.epoch[-1] >= self.stop_after:
            wants = True
        return self._agree(wants)


# ---------------------------------------------------------------------------------------------
# Learning-rate schedule and precision
# ---------------------------------------------------------------------------------------------


def lr_factor(step: int, *, total_steps: int, warmup_steps: int, schedule: str) -> float:
    """Return the multiplier of the peak learning rate at optimiser step ``step`` (0-based).

    "onecycle": cosine rise from 1/25 to 1 over the warmup, then cosine decay to 1/250000 (the
    shape of torch's OneCycleLR, without momentum cycling). "constant": 1.
    """
    if schedule == "constant":
        return 1.0
    if schedule != "onecycle":
        raise AudioDenoiseError(f"unknown lr schedule {schedule!r}; use onecycle or constant")
    step = min(step, total_steps)
    start, end = 1 / 25, 1 / 25 / 1e4
    if step < warmup_steps:
        return start + (1 - start) * (1 - math.cos(math.pi * step / warmup_steps)) / 2
    t = (step - warmup_steps) / max(1, total_steps - warmup_steps)
    return end + (1 - end) * (1 + math.cos(math.pi * t)) / 2


def build_scheduler(
    optimizer: torch.optim.Optimizer, config: Any
) -> torch.optim.lr_scheduler.LambdaLR:
    """Return the LambdaLR that follows :func:`lr_factor` for ``config``'s schedule."""
    # A functools.partial of a module-level function keeps the scheduler's state_dict plain
    # (no pickled callables), so checkpoints load with weights_only=True on any torch version.
    total = config.epochs * config.steps_per_epoch
    fn = functools.partial(
        lr_factor,
        total_steps=total,
        warmup_steps=int(round(config.warmup_fraction * total)),
        schedule=config.schedule,
    )
    fn(0)  # fail early on an unknown schedule name
    return torch.optim.lr_scheduler.LambdaLR(optimizer, fn)


def amp_dtype(amp: str, device: torch.device) -> torch.dtype | None:
    """Return the autocast dtype for ``amp`` on ``device`` (None: full float32)."""
    amp = amp.lower()
    if amp not in {"auto", "bf16", "fp16", "off"}:
        raise AudioDenoiseError(f"unknown amp setting {amp!r}; use auto, bf16, fp16 or off")
    if device.type != "cuda" or amp == "off":
        if amp in {"bf16", "fp16"}:
            warnings.warn(f"amp={amp!r} is only used on CUDA; training in float32", stacklevel=3)
        return None
    if amp == "fp16":
        return torch.float16
    if amp == "bf16" or torch.cuda.is_bf16_supported():
        return torch.bfloat16
    return torch.float16  # older GPUs (before Ampere): fp16 with a GradScaler
