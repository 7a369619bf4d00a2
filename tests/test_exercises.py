"""The exercise machinery: stubs fall back to the reference, wrong answers get a hint, solutions run."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from audio_denoise_utils import exercises

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))


def reference_double(x):
    return 2 * x


def check_double(fn):
    exercises.expect_close(fn(3.0), 6.0, "double(3) should be 6: multiply by 2")


def test_use_keeps_a_correct_version(capsys):
    def double(x):
        return x + x

    assert exercises.use(double, reference=reference_double, check=check_double) is double
    assert "your version" in capsys.readouterr().out


def test_use_falls_back_on_a_stub(capsys):
    def double(x):
        raise NotImplementedError

    got = exercises.use(double, reference=reference_double, check=check_double)
    assert got is reference_double
    assert "not written yet" in capsys.readouterr().out


def test_use_gives_the_hint_and_falls_back_on_a_wrong_answer(capsys):
    def double(x):
        return x * x

    got = exercises.use(double, reference=reference_double, check=check_double)
    out = capsys.readouterr().out
    assert got is reference_double
    assert "multiply by 2" in out and "largest difference 3" in out


def test_use_survives_any_error_in_the_learners_code(capsys):
    def double(x):
        return undefined_name  # noqa: F821

    assert exercises.use(double, reference=reference_double, check=check_double) is reference_double
    assert "NameError" in capsys.readouterr().out


def test_expect_solved_turns_a_failing_check_into_an_error(monkeypatch):
    monkeypatch.setenv(exercises.EXPECT_SOLVED_ENV, "1")

    def double(x):
        raise NotImplementedError

    with pytest.raises(exercises.ExerciseError, match="did not pass"):
        exercises.use(double, reference=reference_double, check=check_double)


def _tiny_notebook(tmp_path: Path, with_solution: bool = True) -> Path:
    nb = nbformat.v4.new_notebook()
    stub = nbformat.v4.new_code_cell("def double(x):\n    raise NotImplementedError")
    stub.metadata["tags"] = ["exercise"]
    solution = nbformat.v4.new_markdown_cell(
        "<details><summary>Solution</summary>\n\n```python\ndef double(x):\n    return 2 * x\n```\n</details>"
    )
    solution.metadata["tags"] = ["solution"]
    nb.cells = [stub] + ([solution] if with_solution else [])
    path = tmp_path / "01_tiny.ipynb"
    nbformat.write(nb, path)
    return path


def test_solve_notebooks_replaces_each_stub_by_its_solution(tmp_path):
    path = _tiny_notebook(tmp_path)
    out = tmp_path / "solved"
    cmd = [
        sys.executable,
        str(ROOT / "scripts" / "solve_notebooks.py"),
        "--out",
        str(out),
        str(path),
    ]
    subprocess.run(cmd, check=True, capture_output=True)
    cells = json.loads((out / path.name).read_text())["cells"]
    assert "".join(cells[0]["source"]) == "def double(x):\n    return 2 * x"
    assert "NotImplementedError" in path.read_text()  # the original is untouched


def test_solve_notebooks_refuses_an_exercise_without_solution(tmp_path):
    path = _tiny_notebook(tmp_path, with_solution=False)
    cmd = [
        sys.executable,
        str(ROOT / "scripts" / "solve_notebooks.py"),
        "--out",
        str(tmp_path),
        str(path),
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    assert proc.returncode == 1
    assert "has no solution cell" in proc.stderr


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_every_exercise_has_a_solution_and_a_check(path):
    cells = json.loads(path.read_text())["cells"]
    for i, cell in enumerate(cells):
        if "exercise" not in cell.get("metadata", {}).get("tags", []):
            continue
        later = cells[i + 1 :]
        assert any("solution" in c.get("metadata", {}).get("tags", []) for c in later[:3]), (
            f"{path.name} cell {i}: an exercise needs a solution cell right after it"
        )
        assert any(
            "exercises.use(" in "".join(c["source"]) or "exercises.answer(" in "".join(c["source"])
            for c in later[:4]
        ), f"{path.name} cell {i}: an exercise needs a check cell calling exercises.use or .answer"


def test_answer_says_unanswered_correct_or_wrong_and_raises_only_when_solved(monkeypatch, capsys):
    def is_three(v):
        exercises.expect(v == 3, "count again")

    monkeypatch.delenv(exercises.EXPECT_SOLVED_ENV, raising=False)
    assert exercises.answer("n", ..., is_three) is False
    assert "not answered yet" in capsys.readouterr().out
    assert exercises.answer("n", 4, is_three) is False
    assert "not yet right: count again" in capsys.readouterr().out
    assert exercises.answer("n", 3, is_three) is True
    assert "correct" in capsys.readouterr().out
    assert exercises.answer("pair", (1, 2), lambda v: exercises.expect(v[2], "")) is False
    assert "cannot read (1, 2): IndexError" in capsys.readouterr().out
    monkeypatch.setenv(exercises.EXPECT_SOLVED_ENV, "1")
    for wrong in (..., 4):
        with pytest.raises(exercises.ExerciseError, match="did not pass"):
            exercises.answer("n", wrong, is_three)
    assert exercises.answer("n", 3, is_three) is True
