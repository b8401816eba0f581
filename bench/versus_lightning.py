"""Benchmark: learnai beside an idiomatic LightningCLI program (bench/lightning_mnist.py: the same CNN, loss,
optimizer, one-cycle schedule, batch size and precision as configs/mnist_cnn.yaml), each as the command a user types.

The two run alternately (pair 1 learnai first, pair 2 Lightning first, ...), at one thread each (on a shared 2-core
machine a second thread waits on whichever core another process holds: at a load average of 9 both ran 5-20x
slower with 2 threads than with one), on the same IDX folder; each pair gives ratios (learnai / Lightning), and
the result is their median:
- a 1-epoch tiny run (512 generated digits): process wall of `learnai train` and of the Lightning program's fit
  (`--test false`);
- full training (8 epochs on the real digits' first 8,000, 1,000 of them validating, tested on the last 2,000, when
  $LEARNAI_MNIST_T10K names the t10k files; random MNIST-shaped digits otherwise): process wall (learnai: train +
  eval, two commands), training seconds (validation excluded), samples/s, and the test accuracy each reached.

Lightning is not a dependency of learnai (pip install 'learnai[bench]', or set $LEARNAI_BENCH_LIGHTNING_PYTHON to a
Python that has it); without it this benchmark records that it was skipped.

    python -m bench --only versus_lightning
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
from typing import Any, Optional

import numpy as np

from bench.common import alternate_pairs, epoch_throughput, user_environment
from bench.real_digits import SOURCE_VARIABLE, default_source, make_real_digits
from learnai_cli.data.idx import write_mnist_folder

REPO = Path(__file__).resolve().parents[1]
PROGRAM = REPO / "bench" / "lightning_mnist.py"
PYTHON_VARIABLE = "LEARNAI_BENCH_LIGHTNING_PYTHON"
EPOCHS, VALIDATE = 8, 1000


def lightning_python() -> Optional[str]:
    """$LEARNAI_BENCH_LIGHTNING_PYTHON, else this Python, if it can import Lightning and LightningCLI's parser."""
    for python in (os.environ.get(PYTHON_VARIABLE), sys.executable):
        check = [python, "-c", "import lightning, jsonargparse"] if python else None
        if check and subprocess.run(check, capture_output=True).returncode == 0:
            return python
    return None


def run(size: str, real_mnist: Path | None = None) -> dict[str, Any]:
    python = lightning_python()
    if python is None:
        return {
            "skipped": "Lightning is not installed: pip install 'learnai[bench]' (or set "
            f"${PYTHON_VARIABLE} to a Python that has lightning and jsonargparse)"
        }
    pairs, threads = (3, 1) if size == "full" else (1, 1)
    with tempfile.TemporaryDirectory(prefix="learnai-vs-lightning-") as work:
        work = Path(work)
        tiny = generated_digits(work / "tiny", 512 + 64, 128)
        result: dict[str, Any] = {"pairs": pairs, "threads": threads, "lightning_python": python}
        result["load_average"] = [round(load, 2) for load in os.getloadavg()]
        result["tiny_one_epoch"] = pair_up(
            pairs,
            lambda: learnai(tiny, work, 1, 64, threads, test=False),
            lambda: lightning(python, tiny, work, 1, 64, threads, test=False),
        )
        if size == "full":
            source = default_source()
            if source is not None:
                folder, data = make_real_digits(work / "real", source), "real MNIST t10k digits: first 8,000 train"
            else:
                folder, data = (
                    generated_digits(work / "random", 8000, 2000),
                    f"random digits (${SOURCE_VARIABLE} unset)",
                )
            full = pair_up(
                pairs,
                lambda: learnai(folder, work, EPOCHS, VALIDATE, threads),
                lambda: lightning(python, folder, work, EPOCHS, VALIDATE, threads),
            )
            result["full_training"] = {"data": data, "epochs": EPOCHS, **full}
    return result


def generated_digits(root: Path, train: int, test: int) -> Path:
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (train + test, 28, 28), dtype=np.uint8)
    labels = rng.integers(0, 10, train + test, dtype=np.uint8)
    write_mnist_folder(root, images[:train], labels[:train], images[train:], labels[train:])
    return root


def pair_up(pairs: int, ours, theirs) -> dict[str, Any]:
    """Run the two alternately; each pair's ratios learnai / Lightning, and their medians."""
    runs = alternate_pairs(pairs, ours, theirs)
    ratios = [
        {
            key: round(mine[key] / other[key], 3)
            for key in ("wall_seconds", "train_seconds", "samples_per_s")
            if mine.get(key) and other.get(key)
        }
        for mine, other in runs
    ]
    medians = {key: round(statistics.median(r[key] for r in ratios), 3) for key in ratios[0]}
    return {"learnai": [m for m, _ in runs], "lightning": [o for _, o in runs], "ratios": ratios, "median": medians}


def learnai(root: Path, work: Path, epochs: int, validate: int, threads: int, test: bool = True) -> dict[str, Any]:
    """`learnai train configs/mnist_cnn.yaml ...` then (test) `learnai eval RUN --checkpoint last`, as a user types
    them."""
    runs = tempfile.mkdtemp(dir=work)
    settings = [f"data.root={root}", "data.download=false", f"data.val_split={validate}", f"train.epochs={epochs}"]
    command = [sys.executable, "-m", "learnai_cli", "train", str(REPO / "configs" / "mnist_cnn.yaml"), *settings]
    command += [f"train.threads={threads}", "--runs-dir", runs, "--no-progress", "--json"]
    started = time.perf_counter()
    summary = json.loads(_run(command).stdout)
    measured = {"train_command_seconds": round(time.perf_counter() - started, 3), **epoch_throughput(summary)}
    if test:
        evaluate = [sys.executable, "-m", "learnai_cli", "eval", summary["run_id"], "--checkpoint", "last"]
        report = json.loads(_run([*evaluate, "--runs-dir", runs, "--json"]).stdout)
        measured["test_accuracy"] = round(report["metrics"]["accuracy"], 4)
    return {"wall_seconds": round(time.perf_counter() - started, 3), **measured}


def lightning(
    python: str, root: Path, work: Path, epochs: int, validate: int, threads: int, test: bool = True
) -> dict[str, Any]:
    logs = tempfile.mkdtemp(dir=work)
    command = [python, str(PROGRAM), "--data.root", str(root), "--data.val_size", str(validate), "--test", str(test)]
    command += ["--trainer.max_epochs", str(epochs), "--trainer.default_root_dir", logs]
    started = time.perf_counter()
    done = _run(command, OMP_NUM_THREADS=str(threads))
    wall = time.perf_counter() - started
    measured = json.loads(done.stdout.strip().splitlines()[-1])
    samples_per_s = measured["train_samples"] / measured["train_seconds"] if measured["train_seconds"] else None
    return {"wall_seconds": round(wall, 3), **measured, "samples_per_s": samples_per_s and round(samples_per_s, 1)}


def _run(command: list[str], **extra: str) -> subprocess.CompletedProcess:
    done = subprocess.run(command, capture_output=True, text=True, env=user_environment(**extra), cwd=REPO)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command[:4])} ... exited {done.returncode}: {done.stderr[-1500:]}")
    return done
