"""Benchmark: learnai beside pytorch/examples' MNIST example (bench/examples_mnist.py), on the same real digits.

The example trains its own network for 3 epochs (its documented quick run) on the first 8,000 of the real MNIST
t10k digits and tests on the last 2,000 (when $LEARNAI_MNIST_T10K names the t10k files; random MNIST-shaped digits
otherwise, where accuracy means nothing). learnai runs `learnai train configs/mnist_cnn.yaml --test` on the same
folder (its last 1,000 training digits held out to validate, so it trains on fewer) for the epochs it needs to reach
the target test accuracy; --test tests its best.pt in the same process, as the example tests in its own. Each is
the command a user types, with the threads torch picks; the two run alternately (pair 1 learnai first, pair 2 the
example first, ...) and each pair gives the ratio of process wall seconds learnai / example; the result is their
median, beside the test accuracy each reached. On a CPU without bf16 instructions learnai trains in fp32
(`train.precision=fp32`, as its warning there advises: emulated bf16 is several times slower).

    python -m bench --only versus_examples
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.common import alternate_pairs, user_environment
from bench.real_digits import SOURCE_VARIABLE, default_source, make_real_digits
from bench.versus_lightning import generated_digits
from learnai_cli.experiment.precision import native_on_cpu

REPO = Path(__file__).resolve().parents[1]
PROGRAM = REPO / "bench" / "examples_mnist.py"
TARGET_ACCURACY = 0.985
EXAMPLE_EPOCHS, LEARNAI_EPOCHS, VALIDATE = 3, 4, 1000


def run(size: str, real_mnist: Path | None = None) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="learnai-vs-examples-") as work:
        work = Path(work)
        source = default_source() if size == "full" else None
        if source is not None:
            folder, data = make_real_digits(work / "real", source), "real MNIST t10k digits: first 8,000 train"
        else:
            count = (8000, 2000) if size == "full" else (512, 128)
            folder, data = generated_digits(work / "random", *count), f"random digits (${SOURCE_VARIABLE} unset)"
        pairs, epochs = (3, (EXAMPLE_EPOCHS, LEARNAI_EPOCHS)) if size == "full" else (1, (1, 1))
        validate = VALIDATE if size == "full" else 64
        load_average = [round(load, 2) for load in os.getloadavg()]
        runs = alternate_pairs(
            pairs, lambda: learnai(folder, work, epochs[1], validate), lambda: example(folder, epochs[0])
        )
        ratios = [round(mine["wall_seconds"] / other["wall_seconds"], 3) for mine, other in runs]
        return {
            "data": data,
            "pairs": pairs,
            "load_average": load_average,
            "target_accuracy": TARGET_ACCURACY,
            "epochs": {"example": epochs[0], "learnai": epochs[1]},
            "learnai": [mine for mine, _ in runs],
            "example": [other for _, other in runs],
            "wall_ratios": ratios,
            "median_wall_ratio": statistics.median(ratios),
        }


def learnai(root: Path, work: Path, epochs: int, validate: int) -> dict[str, Any]:
    """`learnai train configs/mnist_cnn.yaml ... --test` (its best checkpoint tested in the same process, as the
    example tests in its own), as a user types it."""
    runs = tempfile.mkdtemp(dir=work)
    settings = [f"data.root={root}", "data.download=false", f"data.val_split={validate}", f"train.epochs={epochs}"]
    settings += [] if native_on_cpu("bf16") is not False else ["train.precision=fp32"]  # as learnai's warning advises
    command = [sys.executable, "-m", "learnai_cli", "train", str(REPO / "configs" / "mnist_cnn.yaml"), *settings]
    started = time.perf_counter()
    summary = json.loads(_run([*command, "--runs-dir", runs, "--no-progress", "--test", "--json"]).stdout)
    return {
        "wall_seconds": round(time.perf_counter() - started, 3),
        "test_accuracy": round(summary["test"]["metrics"]["accuracy"], 4),
        "precision": "bf16" if native_on_cpu("bf16") is not False else "fp32",
    }


def example(root: Path, epochs: int) -> dict[str, Any]:
    started = time.perf_counter()
    done = _run([sys.executable, str(PROGRAM), "--root", str(root), "--epochs", str(epochs)])
    measured = json.loads(done.stdout.strip().splitlines()[-1])
    return {
        "wall_seconds": round(time.perf_counter() - started, 3),
        "test_accuracy": round(measured["test_accuracy"][-1], 4),
        "train_seconds": measured["train_seconds"],
    }


def _run(command: list[str]) -> subprocess.CompletedProcess:
    done = subprocess.run(command, capture_output=True, text=True, env=user_environment(), cwd=REPO)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command[:4])} ... exited {done.returncode}: {done.stderr[-1500:]}")
    return done
