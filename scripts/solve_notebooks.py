"""Write copies of the notebooks with every exercise stub replaced by its revealed solution.

An exercise stub is a code cell tagged ``exercise``; its solution is the first ```python block of
the next markdown cell tagged ``solution`` (the ``<details>`` block the learner can open). CI runs
the notebooks twice under nbval: as committed (stubs untouched: the notebook continues with the
package's reference) and as written here (every check must pass, see exercises.use).

    python scripts/solve_notebooks.py --out notebooks/.solved
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
CODE_BLOCK = re.compile(r"```python\n(.*?)```", re.DOTALL)


def tags(cell) -> set[str]:
    """Return the cell's tags."""
    return set(cell.get("metadata", {}).get("tags", []))


def solve(nb) -> int:
    """Replace each stub in ``nb`` by its solution in place; return how many were replaced."""
    cells = nb.cells
    solved = 0
    for i, cell in enumerate(cells):
        if cell.cell_type != "code" or "exercise" not in tags(cell):
            continue
        follower = next(
            (c for c in cells[i + 1 :] if c.cell_type == "markdown" and "solution" in tags(c)),
            None,
        )
        match = CODE_BLOCK.search(follower.source) if follower is not None else None
        if match is None:
            raise ValueError(
                f"exercise cell {i} has no solution cell with a ```python block after it"
            )
        cell.source = match.group(1).rstrip("\n")
        solved += 1
    return solved


def main(argv: list[str] | None = None) -> int:
    """Write solved copies of the notebooks into ``--out``; return 0 on success."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument(
        "--out", default="notebooks/.solved", help="output folder (default: %(default)s)"
    )
    p.add_argument("notebooks", nargs="*", help="notebooks (default: all in notebooks/)")
    args = p.parse_args(argv)
    out = (ROOT / args.out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    paths = [Path(n) for n in args.notebooks] or sorted((ROOT / "notebooks").glob("[0-9]*.ipynb"))
    for path in paths:
        nb = nbformat.read(path, as_version=4)
        try:
            n = solve(nb)
        except ValueError as exc:
            print(f"error: {path}: {exc}", file=sys.stderr)
            return 1
        nbformat.write(nb, out / path.name)
        print(f"{path.name}: {n} exercise(s) solved")
    return 0


if __name__ == "__main__":
    sys.exit(main())
