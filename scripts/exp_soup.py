"""Experiment (issue 11, session 14; not course code): average the weights of two fine-tuned models.

Both must be fine-tunes of the same model (``make checkpoint``'s 160-epoch weights): the shipped
``checkpoints/default.pt`` and the session-13 run on real noise only (the Makefile's second
``checkpoint`` command with ``--noise recorded --noise-dir runs/morenoise/train --out
runs/ftreconly/ftreconly.pt``; ``scripts/exp_more_noise.py`` builds that folder). Writes
``alpha * a + (1 - alpha) * b`` (a "model soup"), without optimiser state::

    .venv/bin/python scripts/exp_soup.py --b runs/ftreconly/ftreconly.pt --alpha 0.75 --out runs/soup/s75.pt

Score it with ``benchmarks/quality.py --checkpoint s75=runs/soup/s75.pt``. The result (it stays on
the trade the mix share gives) is in benchmarks/results/recipes.md, the section of session 14.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # run from a checkout without installing the package

from audio_denoise_utils.engine.checkpoints import load_checkpoint  # noqa: E402


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--a", type=Path, default=ROOT / "checkpoints" / "default.pt")
    p.add_argument("--b", type=Path, required=True)
    p.add_argument("--alpha", type=float, required=True, help="weight of --a, in [0, 1]")
    p.add_argument("--out", type=Path, required=True)
    args = p.parse_args()
    if not 0 <= args.alpha <= 1:
        p.error(f"--alpha must be in [0, 1], not {args.alpha}")
    if args.out.exists():
        p.error(f"{args.out} exists; choose another --out")
    _, a = load_checkpoint(args.a)
    _, b = load_checkpoint(args.b)
    if a["model"] != b["model"] or a["state_dict"].keys() != b["state_dict"].keys():
        p.error(f"{args.a} and {args.b} are not the same model")
    mixed = {
        k: args.alpha * v + (1 - args.alpha) * b["state_dict"][k] if v.is_floating_point() else v
        for k, v in a["state_dict"].items()
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    soup = {**a, "state_dict": mixed, "optimizer": None, "scheduler": None, "scaler": None}
    soup["extra"] = {**(a.get("extra") or {}), "soup": [str(args.a), str(args.b), args.alpha]}
    torch.save(soup, args.out)
    print(f"wrote {args.out}: {args.alpha} x {args.a} + {1 - args.alpha:g} x {args.b}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
