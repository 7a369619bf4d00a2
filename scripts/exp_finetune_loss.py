"""Experiment (issue 11, session 11; not course code): does a spectral loss term buy PESQ once the model is trained?

The shipped model's PESQ on white noise stays about 0.25 below DeepFilterNet3's however long it trains
(benchmarks/results/recipes.md), and the sweep's compressed-spectrum term bought nothing at 2,000 steps
from scratch. This asks the cheaper question first: starting from the shipped 160-epoch weights, train
``--epochs`` more (the shipped recipe's data and noise, a smaller peak learning rate) with the plain
−SI-SDR loss (the control: what the extra steps alone buy) or with a spectral term added::

    .venv/bin/python scripts/exp_finetune_loss.py --term none --out runs/ft/none.pt
    .venv/bin/python scripts/exp_finetune_loss.py --term logmag --weight 1 --out runs/ft/logmag1.pt
    .venv/bin/python scripts/exp_finetune_loss.py --probe          # gradient norms of each term

Terms, on both signals divided by the clean target's RMS, averaged over three STFT resolutions
(256/64, 512/128, 1024/256):

- ``spec``: the sweep's compressed-spectrum distance (Braun & Tashev 2021; ``scripts/recipe_sweep.py``).
- ``logmag``: spectral convergence plus the L1 distance of log magnitudes (Yamamoto et al. 2020, the
  multi-resolution STFT loss): quiet bins, such as the residual noise in pauses, count as much as loud ones.

The best checkpoint is still chosen by validation SI-SDR, as in every run of the course.
"""

from __future__ import annotations

import argparse
import time

import torch
from recipe_sweep import compressed_spectrum_loss

from audio_denoise_utils import losses, training
from audio_denoise_utils.engine.checkpoints import load_checkpoint
from audio_denoise_utils.engine.runs import train_from_directory
from audio_denoise_utils.training import TrainConfig

RESOLUTIONS = ((256, 64), (512, 128), (1024, 256))


def logmag_loss(estimate: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Return spectral convergence + L1 of log magnitudes, averaged over :data:`RESOLUTIONS`."""
    estimate, target = losses._pair(estimate, target)
    scale = target.pow(2).mean(dim=1, keepdim=True).add(1e-8).rsqrt()
    estimate, target = estimate * scale, target * scale
    total = estimate.new_zeros(())
    for n_fft, hop in RESOLUTIONS:
        window = torch.hann_window(n_fft, device=estimate.device, dtype=estimate.dtype)
        e, t = (
            (
                torch.stft(x, n_fft, hop, window=window, return_complex=True).abs().pow(2) + 1e-7
            ).sqrt()
            for x in (estimate, target)
        )
        sc = torch.linalg.norm(t - e, dim=(1, 2)) / torch.linalg.norm(t, dim=(1, 2))
        total = total + sc.mean() + (t.log() - e.log()).abs().mean()
    return total / len(RESOLUTIONS)


TERMS = {"spec": compressed_spectrum_loss, "logmag": logmag_loss}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--checkpoint", default="runs/e160/e160.pt")
    p.add_argument("--term", choices=["none", *TERMS], default="none")
    p.add_argument("--weight", type=float, default=1.0)
    p.add_argument("--epochs", type=int, default=20)
    p.add_argument("--lr", type=float, default=3e-4)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--out", default="runs/ft/none.pt")
    p.add_argument("--probe", action="store_true", help="print each term's gradient norm and stop")
    args = p.parse_args()

    model, _ = load_checkpoint(args.checkpoint)
    if args.term != "none":
        term, weight = TERMS[args.term], args.weight
        losses.LOSSES["finetune"] = lambda e, t: losses.si_sdr_loss(e, t) + weight * term(e, t)
    config = TrainConfig(
        epochs=args.epochs,
        seed=args.seed,  # other crops and noise than the 160 epochs saw
        lr=args.lr,
        loss="si_sdr" if args.term == "none" else "finetune",
        extra_speech_dir="data/realspeech_train",
        time_budget_s=None,
    )
    if args.probe:
        probe(model, config)
        return
    training.make_model = lambda _config: model  # start from the trained weights
    t0 = time.time()
    result = train_from_directory("data/sample", config, out=args.out, device="cpu", progress=False)
    best = max(result.history.val_si_sdr)
    print(f"{time.time() - t0:.0f} s; best validation SI-SDR {best:.2f} dB", flush=True)


def probe(model: torch.nn.Module, config: TrainConfig) -> None:
    """Print the gradient norm of −SI-SDR and of each term on four training batches."""
    from audio_denoise_utils.ravdess import load_split

    _, train = load_split("data/sample", "train", sr=config.sample_rate)
    data, _ = training.make_data(config, train, [], "cpu")
    params = [q for q in model.parameters() if q.requires_grad]
    for noisy, clean in data.batches(0, 4, config.batch_size, 0):
        row = []
        for name, fn in [("si_sdr", losses.si_sdr_loss), *TERMS.items()]:
            model.zero_grad()
            value = fn(model(noisy), clean)
            grads = torch.autograd.grad(value, params)
            norm = torch.sqrt(sum(g.pow(2).sum() for g in grads))
            row.append(f"{name} {value.item():.3f} |g| {norm.item():.3f}")
        print("; ".join(row), flush=True)


if __name__ == "__main__":
    main()
