"""Benchmark 2: configs/mnist_cnn.yaml, wall-clock for its one epoch and the accuracy it reaches.

On the full official MNIST split (when its files are at --real-mnist) this is the
time to >= 99% test accuracy. Where they are absent, the epoch is timed on random
MNIST-shaped data of the real size (60,000 training images), and accuracy is measured
on the real digits of the 10k test set (8,000 to train for 8 epochs, about the optimizer
steps of one full epoch; the last 2,000 to test).
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

from bench.common import epoch_throughput, learnai_train, mnist_shaped_folder
from bench.real_digits import SOURCE_VARIABLE, default_source, make_real_digits

CONFIG = Path(__file__).resolve().parents[1] / "configs" / "mnist_cnn.yaml"


def shipped_config(root: Path, **data: Any) -> dict[str, Any]:
    config = yaml.safe_load(CONFIG.read_text())
    config["data"].update(root=str(root), download=False, **data)
    return config


def run(size: str, real_mnist: Path | None = None) -> dict[str, Any]:
    from learnai_cli.commands.evaluate import evaluate_run
    from learnai_cli.rundir import RunDir

    held_out = 5000 if size == "full" else 64
    root, data = mnist_shaped_folder(size, real_mnist, extra_train=held_out)
    real = data.startswith("real")
    result: dict[str, Any] = {"config": "configs/mnist_cnn.yaml", "data": data}
    with tempfile.TemporaryDirectory() as runs:
        started = time.perf_counter()
        summary = learnai_train(shipped_config(root) if real else shipped_config(root, val_split=held_out), Path(runs))
        result["one_epoch"] = {
            **epoch_throughput(summary),
            "wall_seconds": round(time.perf_counter() - started, 2),
            "device": RunDir(Path(summary["run_dir"])).meta()["device"],
        }
        if real:
            accuracy = evaluate_run(RunDir(Path(summary["run_dir"])), "last", "test")["metrics"]["accuracy"]
            result["official_test_accuracy"] = accuracy
            result["reached_99"] = accuracy >= 0.99
        result["real_digits"] = real_digits_accuracy(size, Path(runs))
    return result


def real_digits_accuracy(size: str, runs: Path) -> dict[str, Any]:
    from learnai_cli.commands.evaluate import evaluate_run
    from learnai_cli.rundir import RunDir

    source = default_source()
    if source is None:
        return {"skipped": f"set ${SOURCE_VARIABLE} to a folder holding the real MNIST t10k files"}
    root = make_real_digits(Path(tempfile.mkdtemp(prefix="learnai-real-digits-")), source)
    epochs, extra = (8, {}) if size == "full" else (1, {"limit": 512})
    config = shipped_config(root, val_split=1000, **extra)
    config["train"]["epochs"] = epochs
    summary = learnai_train(config, runs)
    report = evaluate_run(RunDir(Path(summary["run_dir"])), "last", "test")
    return {
        "split": "real MNIST t10k digits: first 8,000 train (1,000 of them validate), last 2,000 test",
        "epochs": epochs,
        "test_samples": report["samples"],
        "test_accuracy": round(report["metrics"]["accuracy"], 4),
        "train_seconds": epoch_throughput(summary)["train_seconds"],
    }
