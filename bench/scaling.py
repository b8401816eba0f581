"""Benchmark 3: training throughput of mnist_cnn against batch size, model width and CPU threads (second epoch of two:
the first warms up)."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from bench.common import RESULTS, epoch_throughput, learnai_train, mnist_shaped_folder

GRID = {
    "full": {
        "batch_sizes": [32, 64, 128, 256, 512, 1024, 2048, 4096],
        "widths": [[8, 16, 32], [16, 32, 64], [32, 64, 128]],
        "threads": [1, 2],
        "probe_batch": 256,  # the batch size of the width and thread comparisons
        "samples": 16_384,  # per epoch (at least 4 steps)
    },
    # tiny checks the grid runs: bf16 convolutions are slow on a CPU without bf16 units, so few samples
    "tiny": {
        "batch_sizes": [32, 64],
        "widths": [[4, 8, 8], [8, 16, 16]],
        "threads": [1, 2],
        "probe_batch": 32,
        "samples": 128,
    },
}


def throughput(root: Path, runs: Path, batch: int, channels: list[int], threads: int, samples: int) -> float:
    steps = max(4, samples // batch)
    config = {
        "name": "bench_scaling",
        "data": {"name": "mnist", "root": str(root), "download": False, "val_split": 64},
        "model": {"name": "mnist_cnn", "channels": channels},
        "loss": {"name": "cross_entropy"},
        "optimizer": {"name": "adam"},
        "train": {
            "epochs": 2,
            "batch_size": batch,
            "limit_batches": steps,
            "precision": "bf16",
            "channels_last": True,
            "threads": threads,
        },
    }
    return epoch_throughput(learnai_train(config, runs), skip_first=True)["samples_per_s"]  # epoch 1 warms up kernels


def run(size: str, real_mnist: Path | None = None, results_dir: Path = RESULTS) -> dict[str, Any]:
    import torch

    grid = GRID[size]
    samples, probe = grid["samples"], grid["probe_batch"]
    root, data = mnist_shaped_folder(size, real_mnist)
    threads_before = torch.get_num_threads()
    try:
        with tempfile.TemporaryDirectory() as runs:
            default = grid["widths"][len(grid["widths"]) // 2]
            by_batch = {
                b: throughput(root, Path(runs), b, default, threads_before, samples) for b in grid["batch_sizes"]
            }
            by_width = {str(w): throughput(root, Path(runs), probe, w, threads_before, samples) for w in grid["widths"]}
            by_threads = {t: throughput(root, Path(runs), probe, default, t, samples) for t in grid["threads"]}
    finally:
        torch.set_num_threads(threads_before)
    plot = draw(by_batch, by_width, by_threads, results_dir / "scaling.png", probe)
    return {
        "data": data,
        "precision": "bf16 + channels_last, Adam",
        "samples_per_s_by_batch_size": by_batch,
        "probe_batch_size": probe,
        "samples_per_s_by_channels": by_width,
        "samples_per_s_by_threads": by_threads,
        "plot": str(plot),
    }


def draw(by_batch: dict, by_width: dict, by_threads: dict, path: Path, probe_batch: int = 256) -> Path:
    from learnai_cli.plots.figures import plt, save_figure

    figure, axes = plt.subplots(1, 3, figsize=(15, 4))
    axes[0].plot(list(by_batch), list(by_batch.values()), marker="o")
    axes[0].set(xscale="log", xlabel="batch size", ylabel="samples/s", title="mnist_cnn: batch size")
    axes[1].bar(list(by_width), list(by_width.values()))
    axes[1].set(xlabel="channels", title=f"model width (batch {probe_batch})")
    axes[2].bar([str(t) for t in by_threads], list(by_threads.values()))
    axes[2].set(xlabel="CPU threads", title=f"threads (batch {probe_batch})")
    for axis in axes:
        axis.grid(alpha=0.3)
    return save_figure(figure, path)
