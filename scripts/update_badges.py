"""Rewrite Open-in-Colab badges and Colab set-up cells from pyproject's [tool.audio-denoise-course].

The GitHub path lives in one place (pyproject.toml); run this after changing it. ``--check`` exits
non-zero when any notebook or the README is out of date (a test runs it).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BADGE_RE = re.compile(
    r"https://colab\.research\.google\.com/github/[\w.-]+/[\w.-]+/blob/[\w.-]+/notebooks/([\w.-]+\.ipynb)"
)
REPO_RE = re.compile(r'^(\s*REPO\s*=\s*)"[^"]*"', re.MULTILINE)
BRANCH_RE = re.compile(r'^(\s*BRANCH\s*=\s*)"[^"]*"', re.MULTILINE)


def course_repo() -> tuple[str, str]:
    """Return (github_repo, branch) from pyproject.toml."""
    cfg = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["audio-denoise-course"]
    return cfg["github_repo"], cfg.get("branch", "main")


def rewrite(text: str, repo: str, branch: str) -> str:
    """Return ``text`` with every badge URL and REPO/BRANCH assignment pointing at repo@branch."""
    text = BADGE_RE.sub(
        lambda m: (
            f"https://colab.research.google.com/github/{repo}/blob/{branch}/notebooks/{m.group(1)}"
        ),
        text,
    )
    text = REPO_RE.sub(lambda m: f'{m.group(1)}"{repo}"', text)
    return BRANCH_RE.sub(lambda m: f'{m.group(1)}"{branch}"', text)


def main(argv: list[str] | None = None) -> int:
    """Rewrite (or with --check, verify) notebooks and README; return the exit status."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--check", action="store_true", help="only report files that are out of date")
    args = p.parse_args(argv)
    repo, branch = course_repo()
    stale = []
    for path in [ROOT / "README.md", *sorted((ROOT / "notebooks").glob("*.ipynb"))]:
        if not path.exists():
            continue
        if path.suffix == ".ipynb":
            nb = json.loads(path.read_text())
            changed = False
            for cell in nb["cells"]:
                src = (
                    "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
                )
                new = rewrite(src, repo, branch)
                if new != src:
                    cell["source"], changed = new, True
            if changed:
                stale.append(path)
                if not args.check:
                    path.write_text(json.dumps(nb, indent=1, ensure_ascii=False) + "\n")
        else:
            src = path.read_text()
            new = rewrite(src, repo, branch)
            if new != src:
                stale.append(path)
                if not args.check:
                    path.write_text(new)
    for path in stale:
        print(f"{'out of date' if args.check else 'updated'}: {path.relative_to(ROOT)}")
    return 1 if (args.check and stale) else 0


if __name__ == "__main__":
    sys.exit(main())
