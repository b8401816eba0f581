"""Runs that compile nothing never import torch._dynamo; the shortcut step and gradient clearing equal optimizer.step()
and optimizer.zero_grad() bitwise."""

from __future__ import annotations

import subprocess
import sys

import torch

from learnai_cli import registry
from tests.conftest import CONFIGS, REPO

SETTINGS = {"sgd": {"lr": 0.01, "momentum": 0.9}}
TRAIN_EACH_OPTIMIZER = """
import sys, torch
from learnai_cli import registry
from learnai_cli.engine.lazy_dynamo import clear_gradients, skip_dynamo_import, step_without_dynamo
skip_dynamo_import()
weights = {}
for name in registry.OPTIMIZERS.names():
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.ReLU(), torch.nn.Linear(4, 1))
    optimizer = registry.OPTIMIZERS.build(name, SETTINGS.get(name, {}), params=model.parameters())
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, 2)
    for _ in range(5):
        model(torch.randn(8, 3)).pow(2).mean().backward()
        step_without_dynamo(optimizer)
        clear_gradients(optimizer)
        assert all(p.grad is None for p in model.parameters())
        scheduler.step()
    optimizer.load_state_dict(optimizer.state_dict())
    weights[name] = [p.detach() for p in model.parameters()]
assert "torch._dynamo" not in sys.modules, "torch._dynamo was imported"
torch.save(weights, sys.argv[1])
"""


def test_shortcut_step_imports_no_dynamo_and_equals_optimizer_step(tmp_path):
    saved = tmp_path / "weights.pt"
    script = f"SETTINGS = {SETTINGS!r}\n" + TRAIN_EACH_OPTIMIZER
    done = subprocess.run([sys.executable, "-c", script, str(saved)], cwd=REPO, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    shortcut = torch.load(saved, weights_only=True)
    assert set(shortcut) == {n for n in registry.OPTIMIZERS.names() if n in shortcut}  # plugins of other tests aside
    for name in shortcut:
        torch.manual_seed(0)
        model = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.ReLU(), torch.nn.Linear(4, 1))
        optimizer = registry.OPTIMIZERS.build(name, SETTINGS.get(name, {}), params=model.parameters())
        scheduler = torch.optim.lr_scheduler.StepLR(optimizer, 2)
        for _ in range(5):
            model(torch.randn(8, 3)).pow(2).mean().backward()
            optimizer.step()
            optimizer.zero_grad()
            scheduler.step()
        for mine, torchs in zip(shortcut[name], model.parameters()):
            assert torch.equal(mine, torchs.detach()), name


def test_a_training_run_without_compile_never_imports_dynamo(tmp_path):
    script = (
        "import sys\nfrom learnai_cli.cli import main\nsys.argv = ['learnai', *sys.argv[1:]]\n"
        "try:\n    main()\nexcept SystemExit as done:\n    assert not done.code, done.code\n"
        "assert 'torch._dynamo' not in sys.modules, 'torch._dynamo was imported'\n"
        "assert 'torchvision' not in sys.modules, 'torchvision was imported'\n"
    )
    for config in ("linear_regression", "toy_classes"):
        arguments = ["train", str(CONFIGS / f"{config}.yaml"), "train.epochs=3", "--runs-dir", str(tmp_path)]
        done = subprocess.run([sys.executable, "-c", script, *arguments], cwd=REPO, capture_output=True, text=True)
        assert done.returncode == 0, done.stderr[-2000:]


def test_clearing_gradients_calls_an_optimizers_own_zero_grad():
    from learnai_cli.engine.lazy_dynamo import clear_gradients

    class Counting(torch.optim.SGD):
        calls = []

        def zero_grad(self, set_to_none: bool = True) -> None:
            self.calls.append(set_to_none)
            super().zero_grad(set_to_none)

    model = torch.nn.Linear(2, 1)
    optimizer = Counting(model.parameters(), lr=0.1)
    model(torch.ones(3, 2)).sum().backward()
    clear_gradients(optimizer)
    assert Counting.calls == [True] and all(p.grad is None for p in model.parameters())
