"""Notebook 04's training-loop exercises: the checks accept the reference and name typical mistakes;
the notebook's solutions are tests/learner_loop.py, function for function."""

from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest
import torch

from audio_denoise_utils import exercises, training
from audio_denoise_utils.exercises import ExerciseError
from audio_denoise_utils.losses import si_sdr

ROOT = Path(__file__).resolve().parents[1]
sys_path_loop = ROOT / "tests" / "learner_loop.py"


def solution_functions(notebook: Path) -> dict[str, str]:
    """Return {name: ast dump} of every function in the notebook's solution blocks."""
    nb = json.loads(notebook.read_text())
    found = {}
    for cell in nb["cells"]:
        if "solution" not in cell.get("metadata", {}).get("tags", []):
            continue
        source = "".join(cell["source"])
        block = source.split("```python\n", 1)[1].split("```", 1)[0]
        for node in ast.parse(block).body:
            if isinstance(node, ast.FunctionDef):
                found[node.name] = ast.dump(node)
    return found


def test_notebook_04_solutions_are_the_learner_loop():
    loop = {
        node.name: ast.dump(node)
        for node in ast.parse(sys_path_loop.read_text()).body
        if isinstance(node, ast.FunctionDef)
    }
    solutions = solution_functions(ROOT / "notebooks" / "04_training.ipynb")
    assert set(loop) <= set(solutions), f"missing in the notebook: {set(loop) - set(solutions)}"
    for name, dump in loop.items():
        assert solutions[name] == dump, f"{name}: notebook 04's solution and learner_loop.py differ"


def test_train_step_check_accepts_the_reference_and_the_learner_loop():
    import importlib.util

    spec = importlib.util.spec_from_file_location("learner_loop", sys_path_loop)
    loop = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(loop)
    exercises.check_train_step(training.train_step)
    exercises.check_train_step(loop.train_step)
    exercises.check_train(exercises.train_reference)
    exercises.check_train(loop.train)


def no_zero_grad(model, noisy, clean, loss_fn, optimizer):
    loss = loss_fn(model(noisy), clean)
    loss.backward()
    optimizer.step()
    return loss.item()


def no_step(model, noisy, clean, loss_fn, optimizer):
    loss = loss_fn(model(noisy), clean)
    optimizer.zero_grad()
    loss.backward()
    return loss.item()


def swapped(model, noisy, clean, loss_fn, optimizer):
    loss = loss_fn(clean, model(noisy))
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    return loss.item()


def tensor_out(model, noisy, clean, loss_fn, optimizer):
    loss = loss_fn(model(noisy), clean)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    return loss


@pytest.mark.parametrize(
    ("wrong", "hint"),
    [
        (no_zero_grad, "zero_grad"),
        (no_step, "optimizer.step()"),
        (swapped, "estimate first"),
        (tensor_out, "loss.item()"),
    ],
)
def test_train_step_check_names_the_mistake(wrong, hint):
    with pytest.raises(ExerciseError, match=hint.replace("(", r"\(").replace(")", r"\)")):
        exercises.check_train_step(wrong)


def no_eval(model, pairs):
    scores = [si_sdr(model(n.unsqueeze(0)), c.unsqueeze(0)) for n, c in pairs]
    return torch.cat(scores).mean().item()


def loop_with(validate=training.validate, same_epoch=False, total=False):
    def train(
        model, train_data, val_pairs, loss_fn, optimizer, epochs, steps_per_epoch, batch_size
    ):
        history = []
        for epoch in range(epochs):
            model.train()
            losses = [
                training.train_step(model, n, c, loss_fn, optimizer)
                for n, c in train_data.batches(
                    0 if same_epoch else epoch, steps_per_epoch, batch_size
                )
            ]
            loss = sum(losses) if total else sum(losses) / len(losses)
            with torch.no_grad():
                history.append((loss, validate(model, val_pairs)))
        return history

    return train


@pytest.mark.parametrize(
    ("wrong", "hint"),
    [
        (loop_with(validate=no_eval), "eval mode"),
        (loop_with(same_epoch=True), "pass the epoch number"),
        (loop_with(total=True), "mean over its steps"),
    ],
)
def test_train_check_names_the_mistake(wrong, hint):
    with pytest.raises(ExerciseError, match=hint):
        exercises.check_train(wrong)
