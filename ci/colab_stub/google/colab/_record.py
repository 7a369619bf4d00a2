"""Where the stubs record their calls."""

from __future__ import annotations

import os
from pathlib import Path


def record(name: str, line: str) -> None:
    """Append ``line`` to ``$COLAB_STUB_DIR/name`` (or a folder in /tmp)."""
    folder = Path(os.environ.get("COLAB_STUB_DIR", "/tmp/colab-stub"))
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / name, "a", encoding="utf-8") as fh:
        fh.write(line + "\n")
