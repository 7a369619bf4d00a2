"""Experiment (issue 11, session 11; not course code): does a spectral loss term buy PESQ once the model is trained?

The shipped model's PESQ on white noise stays about 0.25 below DeepFilterNet3's however long it trains
(benchmarks/results/recipes.md), and the sweep's compressed-spectrum term bought nothing at 2,000 steps
from scratch. This asks the cheaper question first: starting from the 160-epoch weights (``make
checkpoint``'s first command writes them to runs/checkpoint/pretrained.pt; or ``git show
1c47e2a:checkpoints/default.pt``, the same weights, shipped in session 10), train
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
  It is now the package's ``engine.spectral.stft_loss``; the screening in recipes.md ran this script's first
  version, which took ``|X|`` as ``sqrt(abs(X)**2 + 1e-7)`` rather than from the real and imaginary parts (the
  same values to float precision: the shipped run, made with the package's, scored the same to 0.01).

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
from audio_denoise_utils.engine.spectral import stft_loss
from audio_denoise_utils.training import TrainConfig

TERMS = {"spec": compressed_spectrum_loss, "logmag": stft_loss}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--checkpoint", default="runs/checkpoint/pretrained.pt")
    p.add_argument("--term", choices=["none", *TERMS], default="none")
    p.add_argument("--weight", type=float, default=1.0)
    p.add_argument("--epochs", type=int, default=20)
    p.add_argument("--lr", type=float, default=3e-4)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--out", default="runs/ft/none.pt")
    p.add_argument("--probe", action="store_true", help="print each term's gradient norm and stop")
    args = p.parse_args()

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
        init_from=args.checkpoint,  # start from the trained weights
    )
    if args.probe:
        probe(load_checkpoint(args.checkpoint)[0], config)
        return
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
