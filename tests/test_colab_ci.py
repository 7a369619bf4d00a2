"""The Colab CI job's own pieces (ci/): pins file, set-up cell extraction, the freeze comparison."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
sys.path.insert(0, str(ROOT / "ci"))

import colab_setup_command  # noqa: E402


def test_ci_runs_the_colab_job():
    assert "ci/colab_job.sh" in (ROOT / ".ci" / "run").read_text()


def test_colab_pins_live_in_one_file_with_their_date_and_source():
    text = (ROOT / "ci" / "colab-constraints.txt").read_text()
    pins = dict(
        line.split("==", 1) for line in text.splitlines() if "==" in line and line[0] != "#"
    )
    assert "backend-info" in text and "2026-08-19" in text
    assert pins["ipywidgets"] == "7.7.1" and pins["numpy"] == "2.1.3"
    assert pins["torch"] == "2.11.0" and pins["torchaudio"] == "2.11.0"
    shared = ROOT.parent / "shared" / "colab" / "colab-pins.txt"
    if shared.exists():  # derived from the published subset: every pin there is here too
        for line in shared.read_text().split():
            name, version = line.split("==", 1)
            assert pins.get(name) == version, line


def test_the_six_set_up_cells_are_identical_and_pin_what_colab_has():
    cells = {p.name: colab_setup_command.setup_cell(p) for p in NOTEBOOKS}
    assert len(set(cells.values())) == 1, "set-up cells differ"
    lines = colab_setup_command.install_lines(cells[NOTEBOOKS[0].name], "/venv/bin/python")
    install = [line for line in lines if "pip install" in line]
    assert len(install) == 1 and " -c " in install[0] and "--upgrade" not in install[0]
    assert all(line.startswith("/venv/bin/python -m pip") for line in lines)
    assert not any("git clone" in line for line in lines)
    for name in ("torch", "torchaudio", "numpy", "ipywidgets"):
        assert name not in install[0]


def test_setup_command_refuses_differing_cells(tmp_path):
    for i, extra in enumerate(["", "# changed\n"]):
        nb = json.loads(NOTEBOOKS[i].read_text())
        code = next(c for c in nb["cells"] if c["cell_type"] == "code")
        src = "".join(code["source"]) if isinstance(code["source"], list) else code["source"]
        code["source"] = extra + src
        (tmp_path / NOTEBOOKS[i].name).write_text(json.dumps(nb))
    proc = subprocess.run(
        [sys.executable, str(ROOT / "ci" / "colab_setup_command.py"), str(tmp_path / NOTEBOOKS[0].name), "py"],
        capture_output=True,
        text=True,
    )  # fmt: skip
    assert proc.returncode != 0 and "differ" in proc.stderr


def compare(tmp_path, before: str, after: str) -> subprocess.CompletedProcess:
    (tmp_path / "before.txt").write_text(before)
    (tmp_path / "after.txt").write_text(after)
    return subprocess.run(
        [sys.executable, str(ROOT / "ci" / "compare_freeze.py"), str(tmp_path / "before.txt"), str(tmp_path / "after.txt")],
        capture_output=True,
        text=True,
    )  # fmt: skip


def test_freeze_comparison_fails_on_any_change_and_lists_additions(tmp_path):
    base = "ipywidgets==7.7.1\nnumpy==2.1.3\ntorch==2.11.0\n"
    ok = compare(tmp_path, base, base + "pesq==0.0.4\n")
    assert ok.returncode == 0 and "added   pesq==0.0.4" in ok.stdout
    upgraded = compare(tmp_path, base, base.replace("7.7.1", "8.1.5"))
    assert upgraded.returncode == 1 and "CHANGED ipywidgets: 7.7.1 -> 8.1.5" in upgraded.stdout
    removed = compare(tmp_path, base, "numpy==2.1.3\ntorch==2.11.0\n")
    assert removed.returncode == 1 and "ipywidgets: 7.7.1 -> removed" in removed.stdout
    # Spelling differences (case, - and _) are the same package.
    same = compare(
        tmp_path,
        "Jinja2==3.1.6\ntyping_extensions==4.16.0\n",
        "jinja2==3.1.6\ntyping-extensions==4.16.0\n",
    )
    assert same.returncode == 0  # fmt: skip
