"""Shared fixtures: the real CLI in-process, a runs root per test, small generated MNIST files."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from learnai_cli.cli import app
from learnai_cli.data.idx import write_mnist_folder

REPO = Path(__file__).resolve().parents[1]
CONFIGS = REPO / "configs"

# Idle OpenMP threads sleep at once instead of spinning (libgomp reads this as torch loads it, in the test processes
# and in the processes they start): on 2 shared cores a spinning torch thread burns the CPU another process waits
# for, most of a small run's CPU time. Numbers are unchanged; a value set in the shell is kept.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

# A process that has matplotlib imported draws a training's final plots itself (plots/process.py) instead of starting
# a helper process that imports it again (about 0.5 s of CPU and a 0.46 s wait for each in-process training
# that drew first; measured under cProfile). The helper is still tested: tests/test_plot_process.py removes this module to start real
# helpers, and every `learnai train` the tests run as a subprocess starts one.
import learnai_cli.plots.figures  # noqa: E402, F401


class Cli:
    """Runs `learnai ...` through Typer's CliRunner with the runs root set to a temp folder."""

    def __init__(self, runs_dir: Path):
        self.runs_dir = runs_dir
        self.runner = CliRunner()

    def __call__(self, *args: str):
        return self.runner.invoke(
            app, [str(a) for a in args], env={"LEARNAI_RUNS_DIR": str(self.runs_dir)}, catch_exceptions=False
        )

    def json(self, *args: str) -> dict:
        result = self(*args, "--json")
        return json.loads(result.stdout)


def pytest_xdist_auto_num_workers(config):
    """`-n auto` (pyproject's addopts): one test process per CPU this process may use, at most four; more would
    mostly add start-up (each imports torch) and memory, and many tests start processes of their own."""
    return max(1, min(4, len(os.sched_getaffinity(0))))


def pytest_collection_modifyitems(config, items):
    """Tests marked cuda are skipped on machines without a CUDA GPU (CI); `pytest -m cuda` runs them on one."""
    import torch

    if torch.cuda.is_available():
        return
    no_gpu = pytest.mark.skip(reason="needs a CUDA GPU")
    for item in items:
        if "cuda" in item.keywords:
            item.add_marker(no_gpu)


@pytest.fixture
def runs_dir(tmp_path: Path) -> Path:
    return tmp_path / "runs"


@pytest.fixture
def cli(runs_dir: Path) -> Cli:
    return Cli(runs_dir)


@pytest.fixture(scope="session")
def mnist_root(tmp_path_factory) -> Path:
    """A tiny MNIST-format folder (random digits) that torchvision's own MNIST class reads."""
    root = tmp_path_factory.mktemp("mnist")
    rng = np.random.default_rng(0)
    for dataset in ("MNIST", "FashionMNIST"):
        write_mnist_folder(
            root,
            rng.integers(0, 256, (120, 28, 28), dtype=np.uint8),
            np.arange(120, dtype=np.uint8) % 10,
            rng.integers(0, 256, (40, 28, 28), dtype=np.uint8),
            np.arange(40, dtype=np.uint8) % 10,
            dataset=dataset,
        )
    return root


@pytest.fixture
def config_copy(tmp_path: Path):
    """Copy a shipped config into tmp_path, so a test can edit it."""

    def copy(name: str) -> Path:
        target = tmp_path / f"{name}.yaml"
        shutil.copy(CONFIGS / f"{name}.yaml", target)
        return target

    return copy
