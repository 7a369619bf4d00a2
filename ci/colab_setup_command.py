"""Print the install lines of the notebooks' Colab set-up cell as a shell script (for the Colab CI job).

The lines are taken from the cell itself, so the job runs exactly what a learner's Colab runs: the
``!`` shell lines inside ``if "google.colab" in sys.modules:``, without the ``git clone`` (the CI
checkout is the course) and with ``{sys.executable}`` replaced by the given Python. Exits non-zero
when the six set-up cells differ or the cell has no pip install line.

Usage: python ci/colab_setup_command.py NOTEBOOK PYTHON
"""

from __future__ import annotations

import json
import shlex
import sys
from pathlib import Path


def setup_cell(path: Path) -> str:
    """Return the source of the notebook's set-up cell (its first code cell)."""
    cells = json.loads(path.read_text())["cells"]
    code = next(c for c in cells if c["cell_type"] == "code")
    src = code["source"]
    return "".join(src) if isinstance(src, list) else src


def install_lines(cell: str, python: str) -> list[str]:
    """Return the Colab-only shell lines of ``cell`` that install something, ready for sh."""
    lines, inside = [], False
    for raw in cell.splitlines():
        if raw.startswith('if "google.colab" in sys.modules'):
            inside = True
            continue
        if inside and raw and not raw.startswith(" "):
            break
        line = raw.strip()
        if inside and line.startswith("!") and "git clone" not in line:
            lines.append(line[1:].replace("{sys.executable}", shlex.quote(python)))
    if not any("pip install" in line for line in lines):
        raise SystemExit("colab_setup_command: no pip install line in the Colab set-up cell")
    return lines


def main(argv: list[str]) -> int:
    """Print the install script for notebook ``argv[0]`` and Python ``argv[1]``."""
    notebook, python = Path(argv[0]), argv[1]
    cell = setup_cell(notebook)
    others = sorted(notebook.parent.glob("[0-9][0-9]_*.ipynb"))
    differ = [p.name for p in others if setup_cell(p) != cell]
    if differ:
        raise SystemExit(f"colab_setup_command: set-up cells differ from {notebook.name}: {differ}")
    print("\n".join(install_lines(cell, python)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
