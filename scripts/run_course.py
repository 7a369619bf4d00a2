"""Execute every notebook headless and write executed copies and HTML into an output folder.

`make course` runs this in full mode on the bundled sample (or RAVDESS when downloaded);
`--quick` sets AUDIO_DENOISE_QUICK=1 for a fast smoke run.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError
from nbconvert import HTMLExporter

ROOT = Path(__file__).resolve().parents[1]


def run_notebook(path: Path, out_dir: Path, timeout: int) -> float:
    """Execute one notebook in its own folder; write .ipynb and .html; return seconds taken."""
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(
        nb,
        timeout=timeout,
        kernel_name="python3",
        resources={"metadata": {"path": str(path.parent)}},
    )
    start = time.perf_counter()
    try:
        client.execute()
    finally:
        nbformat.write(nb, out_dir / path.name)
    html, _ = HTMLExporter().from_notebook_node(nb)
    (out_dir / path.with_suffix(".html").name).write_text(html, encoding="utf-8")
    return time.perf_counter() - start


def main(argv: list[str] | None = None) -> int:
    """Run the notebooks in order; return 0 when all of them executed without error."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", default="build", help="output folder (default: %(default)s)")
    p.add_argument("--quick", action="store_true", help="tiny budgets (AUDIO_DENOISE_QUICK=1)")
    p.add_argument("--timeout", type=int, default=1800, help="seconds allowed per cell")
    p.add_argument("notebooks", nargs="*", help="notebooks to run (default: all in notebooks/)")
    args = p.parse_args(argv)

    os.environ["AUDIO_DENOISE_QUICK"] = "1" if args.quick else "0"
    # The kernel must draw figures inline for the HTML: never inherit a headless backend.
    os.environ.pop("MPLBACKEND", None)
    out_dir = (ROOT / args.out).resolve()
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = [Path(n).resolve() for n in args.notebooks] or sorted(
        (ROOT / "notebooks").glob("[0-9]*.ipynb")
    )
    total, failed = 0.0, []
    for path in paths:
        print(f"running {path.name} ...", flush=True)
        try:
            secs = run_notebook(path, out_dir, args.timeout)
        except CellExecutionError as exc:
            failed.append(path.name)
            print(f"FAILED {path.name}:\n{str(exc)[-3000:]}", file=sys.stderr)
            continue
        total += secs
        print(f"  done in {secs:.0f} s -> {out_dir / path.name}", flush=True)
    print(
        f"{len(paths) - len(failed)}/{len(paths)} notebooks executed in {total:.0f} s; output in {out_dir}"
    )
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
