"""Data-parallel training: 2 CPU processes with gloo under torchrun match a single process with the same global batch."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from tests.conftest import CONFIGS

# 2,000 points -> 1,600 to train: 25 global batches of 64, so no partial batch differs between the two.
SETTINGS = ["data.n=2000", "train.epochs=3", "train.batch_size=64", "train.deterministic=true", "optimizer.name=sgd", "optimizer.lr=0.1"]


def final(run_dir: Path):
    weights = torch.load(run_dir / "checkpoints" / "last.pt", weights_only=True)["model"]
    records = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    return weights, [r for r in records if r["type"] == "epoch"]


@pytest.mark.parametrize("launcher", ["learnai", "torchrun"])
def test_two_processes_match_one(tmp_path, launcher):
    single_root, ddp_root = tmp_path / "single", tmp_path / "ddp"
    train = [str(CONFIGS / "linear_regression.yaml"), *SETTINGS]
    subprocess.run([sys.executable, "-m", "learnai_cli", "train", *train, "--runs-dir", str(single_root)], check=True, capture_output=True)
    if launcher == "learnai":
        command = [sys.executable, "-m", "learnai_cli", "train", *train, "--nproc-per-node", "2", "--master-port", "29611", "--runs-dir", str(ddp_root), "--json"]
    else:
        command = [sys.executable, "-m", "torch.distributed.run", "--nproc-per-node=2", "--master-port=29612", "-m", "learnai_cli", "train", *train, "--runs-dir", str(ddp_root), "--json"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["status"] == "completed"  # one JSON object: only rank 0 reports

    (single_dir,), (ddp_dir,) = list(single_root.iterdir()), list(ddp_root.iterdir())
    meta = json.loads((ddp_dir / "meta.json").read_text())
    assert meta["distributed"]["world_size"] == 2 and meta["distributed"]["backend"] == "gloo"
    assert meta["distributed"]["replicas_identical"] is True  # both ranks ended with the same weights
    single_weights, single_epochs = final(single_dir)
    ddp_weights, ddp_epochs = final(ddp_dir)
    for key in single_weights:
        assert torch.allclose(single_weights[key], ddp_weights[key], atol=1e-5), key
    for one, two in zip(single_epochs, ddp_epochs):
        assert one["samples"] == two["samples"] == 1600
        assert two["train_loss"] == pytest.approx(one["train_loss"], rel=1e-4)
        assert two["val_loss"] == pytest.approx(one["val_loss"], rel=1e-4)


def test_global_batch_must_divide_by_processes(tmp_path):
    done = subprocess.run(
        [sys.executable, "-m", "learnai_cli", "train", str(CONFIGS / "linear_regression.yaml"), "train.batch_size=63", "--nproc-per-node", "2", "--master-port", "29613", "--runs-dir", str(tmp_path)],
        capture_output=True, text=True, timeout=300,
    )
    assert done.returncode != 0 and "must divide by the 2 processes" in done.stderr
