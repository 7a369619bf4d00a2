"""Experiment (issue 11, session 13; not course code): two more blocks for the fine-tuning stage.

Writes a copy of ``runs/checkpoint/pretrained.pt`` (the weights of ``make checkpoint``'s 160-epoch
first command, which its second command fine-tunes) whose mask network has ``--blocks`` residual
blocks instead of 6. The new blocks come after the old ones (dilations 64 and 128 for 8 blocks: the
receptive field grows from about 1 s to about 4 s) and start as the identity, their last 1x1
convolution zeroed, so the grown model gives exactly the old one's output before fine-tuning
(checked before the file is written). Then fine-tune it with the Makefile's second ``checkpoint``
command, its ``--init-from`` and ``--out`` replaced (``--init-from runs/grow8/init.pt --out
runs/grow8/grow8.pt``, without ``--overwrite``)::

    .venv/bin/python scripts/exp_grow_blocks.py --blocks 8 --out runs/grow8/init.pt

The result (it did not pay) is in benchmarks/results/recipes.md, the section of session 13.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # run from a checkout without installing the package

from audio_denoise_utils.engine.checkpoints import load_checkpoint  # noqa: E402
from audio_denoise_utils.models import build_model, count_parameters  # noqa: E402


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--start", type=Path, default=ROOT / "runs" / "checkpoint" / "pretrained.pt")
    p.add_argument("--blocks", type=int, default=8)
    p.add_argument("--out", type=Path, required=True)
    args = p.parse_args()
    old, ckpt = load_checkpoint(args.start)
    name, config = ckpt["model"]["name"], {**ckpt["model"]["config"], "blocks": args.blocks}
    if args.blocks <= ckpt["model"]["config"]["blocks"]:
        p.error(
            f"--blocks must exceed the {ckpt['model']['config']['blocks']} blocks of {args.start}"
        )
    torch.manual_seed(0)  # the new blocks' other layers: PyTorch's default initialisation
    grown = build_model(name, **config)
    state = grown.state_dict()
    for key in state:
        if key in ckpt["state_dict"]:
            state[key] = ckpt["state_dict"][key]
        elif key.endswith(("body.5.weight", "body.5.bias")):  # a new block's last 1x1 conv
            state[key] = torch.zeros_like(state[key])
    grown.load_state_dict(state)
    x = 0.1 * torch.randn(2, 1, 32000, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        diff = float((old.eval()(x) - grown.eval()(x)).abs().max())
    if diff != 0:
        print(
            f"error: the grown model's output differs by {diff:.1e}; nothing written",
            file=sys.stderr,
        )
        return 1
    train_config = {**ckpt.get("train_config", {})}
    train_config["model_kwargs"] = {**train_config.get("model_kwargs", {}), "blocks": args.blocks}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    torch.save(
        {
            **ckpt,
            "model": {"name": name, "config": config},
            "state_dict": grown.state_dict(),
            "train_config": train_config,
        },
        args.out,
    )
    print(f"wrote {args.out}: {count_parameters(grown):,} parameters, output as before")
    return 0


if __name__ == "__main__":
    sys.exit(main())
