"""The CUDA path, through the real CLI where it can be: device auto, no host sync per step, every precision with
checkpoint and resume, channels_last, torch.compile, nccl, out-of-memory messages, checkpoints across devices.

Marked cuda: skipped where there is no GPU (CI); run them on a GPU machine with `python -m pytest -m cuda`."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from bench.gpu import host_syncs
from learnai_cli.data.idx import write_mnist_folder
from tests.conftest import CONFIGS
from tests.test_resume import assert_same_training, stop_at_step

pytestmark = pytest.mark.cuda

MNIST_CNN = CONFIGS / "mnist_cnn.yaml"


def tiny(mnist_root: Path, *overrides: str) -> list[str]:
    return [str(MNIST_CNN), f"data.root={mnist_root}", "data.download=false", "data.val_split=20", *overrides]


def trainer_for(mnist_root: Path, *overrides: str):
    """The trainer `learnai train` would build for mnist_cnn, without a run directory (no recorders)."""
    from learnai_cli import config as config_module
    from learnai_cli.commands.train.run import make_trainer
    from learnai_cli.experiment import build_experiment

    path, *settings = tiny(mnist_root, *overrides)
    experiment_config = config_module.load(path, settings)
    return make_trainer(build_experiment(experiment_config), checkpoint=None)


def test_device_auto_trains_on_the_gpu(cli, mnist_root):
    payload = cli.json("train", *tiny(mnist_root, "train.epochs=1"))
    meta = json.loads((Path(payload["run_dir"]) / "meta.json").read_text())
    assert payload["status"] == "completed"
    assert meta["device"] == torch.cuda.get_device_name(0)


def test_model_batches_and_loss_sums_live_on_the_gpu(mnist_root):
    from learnai_cli.engine.callbacks import Callback

    class Where(Callback):
        seen: set = set()

        def on_batch_end(self, trainer) -> None:
            self.seen.add(trainer.state.epoch_loss.device.type)
            self.seen.update(p.device.type for p in trainer.model.parameters())

    trainer = trainer_for(mnist_root, "train.epochs=1")
    trainer.callbacks.append(Where())
    inputs, targets = next(iter(trainer.train_batches))
    assert inputs.device.type == targets.device.type == "cuda"
    trainer.fit()
    assert Where.seen == {"cuda"}


@pytest.mark.parametrize("precision", ["fp32", "bf16", "fp16"])
def test_no_host_sync_inside_the_step_loop(mnist_root, precision):
    """Syncs happen at log intervals and epoch ends, never per step: 12 steps sync as often as 4."""
    settings = ["train.epochs=1", "train.batch_size=8", f"train.precision={precision}", "train.log_every_steps=1000"]
    few = host_syncs(trainer_for(mnist_root, *settings, "train.limit_batches=4"))
    many = host_syncs(trainer_for(mnist_root, *settings, "train.limit_batches=12"))
    logged = host_syncs(trainer_for(mnist_root, *settings[:-1], "train.log_every_steps=2", "train.limit_batches=12"))
    assert many == few, f"{many - few} more host syncs for 8 more steps"
    assert logged > many  # the detector sees the syncs a log interval makes


@pytest.mark.parametrize(
    "settings",
    [
        ["train.precision=fp32"],
        ["train.precision=bf16", "train.channels_last=true"],
        ["train.precision=fp16"],
        ["train.precision=auto", "train.compile=true"],
        ["train.precision=bf16", "train.compile=reduce-overhead"],
    ],
    ids=["fp32", "bf16-channels_last", "fp16", "compile", "reduce-overhead"],
)
def test_precisions_layouts_and_compile_train_and_evaluate(cli, mnist_root, settings):
    payload = cli.json("train", *tiny(mnist_root, "train.epochs=2", *settings))
    assert payload["status"] == "completed" and payload["final"]["train_loss"] is not None
    evaluation = cli.json("eval", payload["run_id"])
    assert 0 <= evaluation["metrics"]["accuracy"] <= 1


@pytest.mark.parametrize("precision", ["fp32", "bf16", "fp16"])
def test_stopped_and_resumed_on_cuda_ends_bitwise_equal(cli, runs_dir, monkeypatch, mnist_root, precision):
    """Deterministic CUDA runs (learnai sets CUBLAS_WORKSPACE_CONFIG itself) resume exactly, the fp16 scaler too."""
    settings = tiny(mnist_root, "train.epochs=3", "train.batch_size=16", "train.deterministic=true")
    settings += [f"train.precision={precision}", "train.log_every_steps=2"]
    reference = cli.json("train", *settings)
    from learnai_cli.engine import trainer

    with monkeypatch.context() as patch:
        patch.setattr(trainer.Trainer, "_optimizer_step", stop_at_step(9))  # mid epoch 2
        stopped = cli("train", *settings, "--json")
    assert stopped.exit_code == 130, stopped.stderr
    run_dir = max(p for p in runs_dir.iterdir() if p.name != reference["run_id"])
    if precision == "fp16":
        assert torch.load(run_dir / "checkpoints" / "last.pt", weights_only=True)["scaler"]["scale"] > 0
    resumed = cli.json("train", "--resume", run_dir.name)
    assert resumed["status"] == "completed"
    assert_same_training(Path(reference["run_dir"]), run_dir)


def test_checkpoints_cross_between_cuda_and_cpu(cli, mnist_root):
    on_gpu = cli.json("train", *tiny(mnist_root, "train.epochs=1", "train.precision=fp32"))
    gpu_eval = cli.json("eval", on_gpu["run_id"])
    cpu_eval = cli.json("eval", on_gpu["run_id"], "--device", "cpu")
    assert cpu_eval["metrics"]["loss"] == pytest.approx(gpu_eval["metrics"]["loss"], rel=1e-3)
    on_cpu = cli.json("train", *tiny(mnist_root, "train.epochs=1", "train.precision=fp32", "device=cpu"))
    moved = cli.json("eval", on_cpu["run_id"], "--device", "cuda")
    stayed = cli.json("eval", on_cpu["run_id"])
    assert moved["metrics"]["loss"] == pytest.approx(stayed["metrics"]["loss"], rel=1e-3)


def learnai(*arguments: str, prelude: str = "") -> subprocess.CompletedProcess:
    """The real CLI in a fresh interpreter; `prelude` runs first (e.g. to cap the GPU memory this process may use)."""
    code = (
        f"import sys, torch\n{prelude}\nfrom learnai_cli.cli import main\nsys.argv = ['learnai', *sys.argv[1:]]\nmain()"
    )
    return subprocess.run([sys.executable, "-c", code, *arguments], capture_output=True, text=True, timeout=600)


def test_ddp_on_one_gpu_uses_nccl(tmp_path, mnist_root):
    done = learnai(
        "train", *tiny(mnist_root, "train.epochs=1"), "--nproc-per-node", "1", "--master-port", "29631",
        "--runs-dir", str(tmp_path), "--json",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    meta = json.loads((next(tmp_path.iterdir()) / "meta.json").read_text())
    assert meta["distributed"] == {**meta["distributed"], "world_size": 1, "backend": "nccl"}
    assert meta["status"] == "completed"


def test_more_processes_than_gpus_is_refused_before_launch(tmp_path, mnist_root):
    count, runs = torch.cuda.device_count(), tmp_path / "runs"
    done = learnai("train", *tiny(mnist_root), "--nproc-per-node", str(count + 1), "--runs-dir", str(runs))
    assert done.returncode == 2 and f"this machine has {count}" in done.stderr
    assert "Traceback" not in done.stderr and not runs.exists()


@pytest.fixture(scope="module")
def mnist_4k(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("mnist4k")
    rng = np.random.default_rng(0)
    images, labels = rng.integers(0, 256, (4096, 28, 28), dtype=np.uint8), np.arange(4096, dtype=np.uint8) % 10
    write_mnist_folder(root, images, labels, images[:64], labels[:64])
    return root


def test_out_of_memory_says_which_batch_size_to_try(tmp_path, mnist_4k):
    cap = "torch.cuda.set_per_process_memory_fraction(256 * 2**20 / torch.cuda.get_device_properties(0).total_memory)"
    done = learnai(
        "train", *tiny(mnist_4k, "train.batch_size=2048", "model.channels=[256,512,1024]", "train.precision=fp32"),
        "--runs-dir", str(tmp_path), prelude=cap,
    )  # fmt: skip
    assert done.returncode == 1, done.stderr
    assert "out of GPU memory at train.batch_size=2048; try train.batch_size=1024" in done.stderr
    assert "Traceback" not in done.stderr
    assert json.loads((next(tmp_path.iterdir()) / "meta.json").read_text())["status"] == "failed"


def test_data_too_big_for_the_gpu_says_how_to_stream_it(tmp_path_factory, tmp_path):
    root = tmp_path_factory.mktemp("mnist64k")
    images = np.random.default_rng(0).integers(0, 256, (65536, 28, 28), dtype=np.uint8)
    labels = np.arange(65536, dtype=np.uint8) % 10
    write_mnist_folder(root, images, labels, images[:64], labels[:64])  # 205 MB as float32 on the GPU
    # 128 MB: room for the model and cuBLAS's workspaces (a 48 MB cap ran out there), not for the data
    cap = "torch.cuda.set_per_process_memory_fraction(128 * 2**20 / torch.cuda.get_device_properties(0).total_memory)"
    done = learnai("train", *tiny(root, "train.precision=fp32"), "--runs-dir", str(tmp_path), prelude=cap)
    assert done.returncode == 2, done.stderr
    assert "does not fit in the memory of cuda" in done.stderr and "data.num_workers" in done.stderr
    assert "Traceback" not in done.stderr


def test_auto_precision_falls_back_to_fp32_where_bf16_cannot_run(cli):
    """diabetes (binary cross-entropy, which autocast refuses) and names_gru (packed sequences) train with auto."""
    for config, data in (("diabetes", "data.limit=64"), ("names_gru", "data.limit=64")):
        payload = cli.json("train", CONFIGS / f"{config}.yaml", "train.epochs=1", data, "train.precision=auto")
        assert payload["status"] == "completed", config
        recorded = (Path(payload["run_dir"]) / "config.yaml").read_text()
        assert "precision: fp32" in recorded or "precision: bf16" in recorded
