"""The per-epoch record of a training run that :func:`audio_denoise_utils.training.fit` returns.

Engine code: not course material.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import asdict, dataclass, field
from typing import Any

from .checkpoints import plain


@dataclass
class History:
    """Per-epoch training record (lists of equal length); JSON-able through :meth:`to_dict`.

    ``val_loss`` and ``val_si_sdr`` are None for epochs without validation. ``data_time_share``
    is the fraction of step time spent making the batch (cropping + corrupting), so a learner
    can see whether the model or the data pipeline is the bottleneck.
    """

    epoch: list[int] = field(default_factory=list)  # 1-based epoch number
    train_loss: list[float] = field(default_factory=list)
    val_loss: list[float | None] = field(default_factory=list)
    val_si_sdr: list[float | None] = field(default_factory=list)  # dB, higher is better
    lr: list[float] = field(default_factory=list)  # learning rate of the epoch's last step
    epoch_time: list[float] = field(default_factory=list)  # seconds, validation included
    data_time_share: list[float] = field(default_factory=list)
    steps: list[int] = field(default_factory=list)  # steps run (fewer when the budget cut it)

    def __len__(self) -> int:
        return len(self.epoch)

    def append(self, **row: Any) -> None:
        """Add one epoch's values (every field by name)."""
        for f in dataclasses.fields(self):
            getattr(self, f.name).append(row[f.name])

    @property
    def scored(self) -> list[tuple[int, float]]:
        """Return (epoch, validation SI-SDR) of the epochs with a finite score, in order."""
        return [
            (e, s)
            for e, s in zip(self.epoch, self.val_si_sdr, strict=True)
            if s is not None and math.isfinite(s)  # a NaN epoch (e.g. fp16 overflow) never counts
        ]

    @property
    def best_epoch(self) -> int | None:
        """Return the epoch number with the highest validation SI-SDR (None before any)."""
        scored = self.scored
        if not scored:
            return None
        best = max(s for _, s in scored)
        return next(e for e, s in scored if s == best)  # earliest epoch among ties

    @property
    def best_val_si_sdr(self) -> float | None:
        """Return the best validation SI-SDR in dB (None before any validation)."""
        scores = [s for _, s in self.scored]
        return max(scores) if scores else None

    @property
    def last_scored_epoch(self) -> int | None:
        """Return the latest epoch with a finite validation score (what ``keep="last"`` keeps)."""
        scored = self.scored
        return scored[-1][0] if scored else None

    def to_frame(self):  # -> pandas.DataFrame (pandas imported lazily)
        """Return the history as a pandas DataFrame indexed by epoch (missing values NaN)."""
        import pandas as pd

        data = {
            f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.name != "epoch"
        }
        frame = pd.DataFrame(data, index=pd.Index(self.epoch, name="epoch"), dtype="float64")
        frame["steps"] = frame["steps"].astype("int64")
        return frame

    def to_dict(self) -> dict[str, list]:
        """Return the history as a JSON-able dict of lists."""
        return plain(asdict(self))

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> History:
        """Return a history from :meth:`to_dict` output (missing fields become empty lists)."""
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: list(v) for k, v in data.items() if k in names})
