"""Benchmark 5 (CUDA only): configs/mnist_cnn.yaml on the GPU, one epoch over 60,000 MNIST-sized images (data
resident on the GPU), per precision, with cuDNN autotuning and with torch.compile; the whole `learnai train` process
timed wall-clock; and the host syncs the step loop makes. Skipped (recorded as such) where there is no GPU.

    python -m bench --only gpu --results DIR
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

import yaml

from bench.common import learnai_train, mnist_shaped_folder
from bench.time_to_accuracy import CONFIG, shipped_config

VARIANTS = {  # name: train overrides on top of the shipped config (bf16 + channels_last, batch 256, Adam, one-cycle)
    "shipped (bf16, channels_last)": {},
    "fp32": {"precision": "fp32", "channels_last": False},
    "bf16": {"precision": "bf16", "channels_last": False},
    "fp16 (GradScaler)": {"precision": "fp16"},
    "bf16, batch 1024": {"batch_size": 1024},
    "fp32, batch 4096": {"batch_size": 4096, "precision": "fp32", "channels_last": False},
    "bf16, batch 4096": {"batch_size": 4096},
}
WIDER = {"channels": [64, 128, 256]}  # a model 16x the multiply-adds: where bf16 starts to pay
COMPILED = {"compile: true": {"compile": True}, "compile: reduce-overhead": {"compile": "reduce-overhead"}}


def run(size: str, real_mnist: Path | None = None) -> dict[str, Any]:
    import torch

    if not torch.cuda.is_available():
        return {"skipped": "no CUDA GPU here"}
    held_out = 5000 if size == "full" else 64
    root, data = mnist_shaped_folder(size, real_mnist, extra_train=held_out)
    with tempfile.TemporaryDirectory() as runs:
        _epochs(root, held_out, Path(runs), 1)  # warm-up: CUDA context, cuDNN and kernel loading are not measured
        one_epoch = {name: _epochs(root, held_out, Path(runs), 1, **extra) for name, extra in VARIANTS.items()}
        one_epoch["shipped, cudnn.benchmark on"] = _with_cudnn_benchmark(root, held_out, Path(runs))
        for precision in ("fp32", "bf16"):
            wide = {"precision": precision, "channels_last": precision == "bf16"}
            one_epoch[f"channels {WIDER['channels']}, {precision}"] = _epochs(
                root, held_out, Path(runs), 1, model=WIDER, **wide
            )
        compiled = {name: _epochs(root, held_out, Path(runs), 2, **extra) for name, extra in COMPILED.items()}
        process = _whole_process(root, held_out, Path(runs))
    return {
        "data": data,
        "config": "configs/mnist_cnn.yaml",
        "one_epoch": one_epoch,
        "two_epochs_compiled": compiled,
        "whole_process": process,
        "host_syncs": _host_syncs(root, held_out),
        "per_step_profile": _per_step_profile(root, held_out),
    }


def _config(root: Path, held_out: int, epochs: int, model: dict | None = None, **train: Any) -> dict[str, Any]:
    config = shipped_config(root, val_split=held_out)
    config["train"].update(epochs=epochs, **train)
    config["model"].update(model or {})
    return config


def _epochs(root: Path, held_out: int, runs: Path, epochs: int, model: dict | None = None, **train: Any) -> dict:
    """Training seconds per epoch (validation excluded) and the in-process wall-clock of the whole train call."""
    from learnai_cli.rundir import RunDir

    started = time.perf_counter()
    summary = learnai_train(_config(root, held_out, epochs, model, **train), runs)
    wall = round(time.perf_counter() - started, 2)
    records = RunDir(Path(summary["run_dir"])).epoch_records()
    return {
        "epoch_seconds": [r["epoch_time"] for r in records],
        "samples_per_s": [r["samples_per_s"] for r in records],
        "val_accuracy": records[-1].get("val_accuracy"),
        "train_call_wall_seconds": wall,
    }


def _with_cudnn_benchmark(root: Path, held_out: int, runs: Path) -> dict[str, Any]:
    import torch

    torch.backends.cudnn.benchmark = True
    try:
        return _epochs(root, held_out, runs, 1)
    finally:
        torch.backends.cudnn.benchmark = False


def _whole_process(root: Path, held_out: int, runs: Path) -> dict[str, Any]:
    """`learnai train` as a user runs it: a fresh interpreter, import torch, build, one epoch, final plots, exit."""
    config = runs / "mnist_cnn_bench.yaml"
    config.write_text(yaml.safe_dump(_config(root, held_out, 1)))
    command = [sys.executable, "-m", "learnai_cli", "train", str(config), "--no-progress", "--runs-dir", str(runs)]
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True)
    wall = round(time.perf_counter() - started, 2)
    if done.returncode != 0:
        return {"failed": done.stderr[-2000:]}
    return {"command": f"learnai train {CONFIG.name} (60,000 images, 1 epoch)", "wall_seconds": wall}


def _host_syncs(root: Path, held_out: int) -> dict[str, int]:
    """Synchronizing CUDA calls in one fit of 20 and of 200 steps with no log interval inside: equal means none per
    step."""
    return {f"{steps}_steps": host_syncs(_trainer(root, held_out, limit_batches=steps)) for steps in (20, 200)}


def host_syncs(trainer) -> int:
    """How many synchronizing CUDA calls (an .item(), a device-to-host copy...) one fit made (CUDA's sync debug
    mode; it does not see every kind, so the tests also compare counts between fits of different lengths)."""
    import torch

    torch.cuda.synchronize()
    torch.cuda.set_sync_debug_mode("warn")
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            trainer.fit()
    finally:
        torch.cuda.set_sync_debug_mode("default")
    return sum("synchroniz" in str(w.message) for w in caught)


def _per_step_profile(root: Path, held_out: int) -> dict[str, Any]:
    """torch.profiler over fits of 20 and 120 steps (fp32, batch 256); the difference / 100 is one step: kernel
    launches, host (CPU) time and GPU kernel time, and the ops that take the most host time."""
    from torch.profiler import ProfilerActivity, profile

    fits = {}
    for steps in (20, 120):
        trainer = _trainer(root, held_out, limit_batches=steps, precision="fp32", channels_last=False)
        started = time.perf_counter()
        with profile(activities=[ProfilerActivity.CPU, ProfilerActivity.CUDA]) as profiled:
            trainer.fit()
        fits[steps] = (time.perf_counter() - started, profiled.key_averages())
    (short_wall, short), (long_wall, long) = fits[20], fits[120]
    launches = ("cudaLaunchKernel", "cudaLaunchKernelExC", "cuLaunchKernel", "cuLaunchKernelEx")

    def total(events, pick) -> float:
        return sum(pick(e) for e in events)

    def gpu_us(e) -> float:
        return getattr(e, "self_device_time_total", getattr(e, "self_cuda_time_total", 0)) or 0

    host = sorted(long, key=lambda e: e.self_cpu_time_total, reverse=True)[:10]
    return {
        "settings": "mnist_cnn, fp32, batch 256, under torch.profiler (which itself slows the host side)",
        "wall_ms_per_step": round((long_wall - short_wall) * 10, 3),
        "kernel_launches_per_step": round(
            (
                total(long, lambda e: e.count * (e.key in launches))
                - total(short, lambda e: e.count * (e.key in launches))
            )
            / 100,
            1,
        ),
        "gpu_kernel_ms_per_step": round((total(long, gpu_us) - total(short, gpu_us)) / 100 / 1000, 3),
        "top_host_ops_ms_per_step": {e.key: round(e.self_cpu_time_total / 120 / 1000, 3) for e in host},
    }


def _trainer(root: Path, held_out: int, **train: Any):
    from learnai_cli import config as config_module
    from learnai_cli.commands.train.run import make_trainer
    from learnai_cli.experiment import build_experiment

    settings = _config(root, held_out, 1, log_every_steps=10_000, **train)
    return make_trainer(build_experiment(config_module.validate(settings, source="bench")), checkpoint=None)
