"""Benchmark 1: learnai against the hand-written loop a tutorial would write, same model, data and settings.

The hand-written loop is pytorch/examples' MNIST loop: torchvision's MNIST with
ToTensor + Normalize through a DataLoader (on CUDA with its 1 worker and pinned memory, batches
moved to the GPU), zero_grad / forward / loss / backward / step, loss.item() every 10 batches.
learnai runs the same model (the curriculum's basic_cnn), SGD lr 0.01 momentum 0.5, batch 64,
one epoch, fp32; then once more with its fast settings (bf16 autocast, channels_last) for comparison.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import Any

from bench.common import epoch_throughput, learnai_train, mnist_shaped_folder

BATCH, LR, MOMENTUM = 64, 0.01, 0.5


def hand_written_loop(root: Path, epochs: int = 1) -> dict[str, float]:
    import torch
    import torch.nn.functional as F
    from torch.utils.data import DataLoader
    from torchvision import datasets, transforms

    from learnai_cli import registry

    torch.manual_seed(0)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    transform = transforms.Compose([transforms.ToTensor(), transforms.Normalize((0.1307,), (0.3081,))])
    dataset = datasets.MNIST(str(root), train=True, download=False, transform=transform)
    on_gpu = {"num_workers": 1, "pin_memory": True} if device.type == "cuda" else {}  # as pytorch/examples does
    loader = DataLoader(dataset, batch_size=BATCH, shuffle=True, **on_gpu)
    model = registry.MODELS.build("basic_cnn", {}).to(device)
    optimizer = torch.optim.SGD(model.parameters(), lr=LR, momentum=MOMENTUM)
    model.train()
    started, samples = time.perf_counter(), 0
    for _ in range(epochs):
        for batch_index, (data, target) in enumerate(loader):
            data, target = data.to(device), target.to(device)
            optimizer.zero_grad()
            loss = F.cross_entropy(model(data), target)
            loss.backward()
            optimizer.step()
            samples += len(target)
            if batch_index % 10 == 0:
                loss.item()  # what the tutorial prints
    seconds = time.perf_counter() - started
    return {"samples_per_s": round(samples / seconds, 1), "train_seconds": round(seconds, 3), "train_samples": samples}


def learnai_config(root: Path, fast: bool) -> dict[str, Any]:
    return {
        "name": "bench_overhead",
        "data": {"name": "mnist", "root": str(root), "download": False, "val_split": 64},
        "model": {"name": "basic_cnn"},
        "loss": {"name": "cross_entropy"},
        "optimizer": {"name": "sgd", "lr": LR, "momentum": MOMENTUM},
        "train": {"epochs": 1, "batch_size": BATCH, "precision": "bf16" if fast else "fp32", "channels_last": fast},
    }


def run(size: str, real_mnist: Path | None = None) -> dict[str, Any]:
    root, data = mnist_shaped_folder(size, real_mnist)
    hand = hand_written_loop(root)
    with tempfile.TemporaryDirectory() as runs:
        same = epoch_throughput(learnai_train(learnai_config(root, fast=False), Path(runs)))
        fast = epoch_throughput(learnai_train(learnai_config(root, fast=True), Path(runs)))
    return {
        "data": data,
        "settings": {"model": "basic_cnn", "optimizer": "sgd lr 0.01 momentum 0.5", "batch_size": BATCH, "epochs": 1},
        "hand_written_loop": hand,
        "learnai_fp32": same,
        "learnai_bf16_channels_last": fast,
        "ratio_fp32": round(same["samples_per_s"] / hand["samples_per_s"], 2),
        "ratio_fast": round(fast["samples_per_s"] / hand["samples_per_s"], 2),
    }
