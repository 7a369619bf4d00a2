"""Compare two `pip freeze` listings: report added packages, fail if any existing one changed.

Usage: python ci/compare_freeze.py [--quiet] BEFORE AFTER
Exit 1 when a package of BEFORE is missing from AFTER or has another version there.
"""

from __future__ import annotations

import re
import sys


def parse(path: str) -> dict[str, str]:
    """Return {normalised name: version or URL} from a freeze file."""
    out = {}
    for line in open(path, encoding="utf-8"):
        line = line.strip()
        if not line or line.startswith(("#", "-e ")):
            continue
        if " @ " in line:
            name, version = line.split(" @ ", 1)
        elif "==" in line:
            name, version = line.split("==", 1)
        else:
            continue
        out[re.sub(r"[-_.]+", "-", name).lower()] = version
    return out


def main(argv: list[str]) -> int:
    """Print the differences; return 1 if anything in BEFORE changed."""
    quiet = "--quiet" in argv
    before, after = (parse(p) for p in argv if p != "--quiet")
    changed = {n: (v, after.get(n)) for n, v in before.items() if after.get(n) != v}
    added = {n: v for n, v in after.items() if n not in before}
    for name, (old, new) in sorted(changed.items()):
        print(f"    CHANGED {name}: {old} -> {new or 'removed'}")
    if not quiet:
        if added:
            for name, version in sorted(added.items()):
                print(f"    added   {name}=={version}")
        else:
            print("    (nothing added)")
        print(f"    {len(added)} added, {len(changed)} changed of {len(before)} already installed")
    return 1 if changed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
