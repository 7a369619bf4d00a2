"""Can reshaping a trained mask at inference buy PESQ? A floor (less suppression) or a power (more).

    python benchmarks/mask_shaping.py --floor 0.05 0.1 0.2 --power 1.5 2 3

Scores ``--checkpoint`` (a mask network, default ``checkpoints/default.pt``) on the real-speech
benchmark clips (``data/realspeech``, evenly spaced ``--max-clips``, white noise at 0/5/10 dB unless
``--noise`` / ``--snr`` say otherwise, the same noise as ``benchmarks/quality.py``) unchanged and with its mask ``m`` replaced by
``floor + (1 - floor) * m`` or by ``m ** power``, or with ``audio-denoise denoise --strength``'s mix
of the input back in (for a 16 kHz input, strength ``1 - f`` gives the same audio as floor ``f``: the
inverse STFT is linear). Nothing is retrained.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch
from quality import ROOT, real_speech_clips, spread

from audio_denoise_utils import metrics
from audio_denoise_utils.enhance import as_method
from audio_denoise_utils.training import load_checkpoint


def shaped(checkpoint: str, floor: float = 0.0, power: float = 1.0):
    """Return the checkpoint's model as an evaluate method, its mask reshaped."""
    model, _ = load_checkpoint(checkpoint)
    model.eval()

    def reshape_mask(module, inputs, logits):  # MaskNet: mask = sigmoid(out(...)) * bound
        m = floor + (1 - floor) * torch.sigmoid(logits) ** power
        m = m.clamp(1e-7, 1 - 1e-7)
        return torch.log(m) - torch.log1p(-m)  # the logits whose sigmoid is the new mask

    if floor or power != 1:
        model.out.register_forward_hook(reshape_mask)
    return as_method(model)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--checkpoint", default=str(ROOT / "checkpoints" / "default.pt"))
    p.add_argument("--real", default=str(ROOT / "data" / "realspeech"))
    p.add_argument("--max-clips", type=int, default=14)
    p.add_argument("--floor", type=float, nargs="*", default=[])
    p.add_argument("--power", type=float, nargs="*", default=[])
    p.add_argument(
        "--strength", type=float, nargs="*", default=[], help="denoise --strength (dry/wet mix)"
    )
    p.add_argument("--snr", type=float, nargs="+", default=[0.0, 5.0, 10.0])
    p.add_argument(
        "--noise", default="white", help="a synthetic noise kind (noise.SYNTHETIC_KINDS)"
    )
    args = p.parse_args()

    clips = real_speech_clips(Path(args.real))
    clips = [clips[i] for i in spread(len(clips), min(args.max_clips, len(clips)))]
    model, _ = load_checkpoint(args.checkpoint)  # unhooked: as trained, and every strength
    model.eval()
    methods = {"as trained": as_method(model)}
    methods |= {f"floor {f:g}": shaped(args.checkpoint, floor=f) for f in args.floor}
    methods |= {f"power {q:g}": shaped(args.checkpoint, power=q) for q in args.power}
    methods |= {f"strength {v:g}": as_method(model, strength=v) for v in args.strength}
    table = metrics.evaluate(
        methods,
        clips,
        snrs=tuple(args.snr),
        noise=args.noise,
        metrics=("si_sdr", "pesq", "stoi"),
        seed=0,
    )
    print(metrics.format_table(table))


if __name__ == "__main__":
    main()
