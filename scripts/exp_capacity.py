"""Experiment (issue 11, session 9; not course code): does a wider model absorb the recorded kind's cost?

Adding real recordings as an eighth noise kind buys real noise and costs the synthetic kinds 0.4 to
1.0 dB at 0 to 10 dB (babble less), at 40 and at 80 epochs alike (benchmarks/results/recipes.md). If
the cost is the 128-channel mask network running out of room, twice the channels (256: 1.7 M
parameters instead of 0.47 M, about twice the time per step on this CPU) should win it back. This
trains the 40-epoch recipe of session 6 with the recorded kind (OpenSFX's 46 recordings, as
``scripts/fetch_real_noise.py --opensfx-only`` makes ``data/realnoise/train``; session 6 used the
same) and ``channels=256``, to compare with the same recipe at 128 channels, with and without the
recorded kind::

    .venv/bin/python scripts/exp_capacity.py --epochs 40 --seed 0 --out runs/wide/w40.pt
    cd benchmarks && python quality.py --checkpoint default=../runs/wide/w40.pt --max-clips 14 \\
        --snr -5 0 5 10 20 --no-baselines --no-peers --pitch \\
        --noise white pink babble hum real tones machine --tag w40 --out ../runs/wide

``--no-recorded`` trains the same wide network on the seven synthetic kinds only (does width pay without
the eighth kind?)::

    .venv/bin/python scripts/exp_capacity.py --no-recorded --epochs 40 --seed 0 --out runs/wide/w40s.pt

The result is in benchmarks/results/recipes.md.
"""

from __future__ import annotations

import sys

from exp_common import train_shipped_recipe_plus

if __name__ == "__main__":
    recorded = "--no-recorded" not in sys.argv
    sys.argv = [a for a in sys.argv if a != "--no-recorded"]
    train_shipped_recipe_plus(
        "recorded" if recorded else None,
        __doc__,
        epochs=40,
        out="runs/wide/w40.pt",
        model_kwargs={"channels": 256},
        **({"noise_dir": "data/realnoise/train"} if recorded else {}),
    )
