"""The training engine through real runs: schedulers, accumulation, limits, early stopping, divergence."""

from __future__ import annotations

import json

import pytest
import torch

from tests.conftest import CONFIGS

TOY = CONFIGS / "toy_classes.yaml"
LINEAR = CONFIGS / "linear_regression.yaml"


def epoch_records(run_dir):
    lines = (run_dir / "metrics.jsonl").read_text().splitlines()
    return [r for r in map(json.loads, lines) if r["type"] == "epoch"]


def test_max_steps_and_limit_batches(cli):
    payload = cli.json(
        "train", LINEAR, "train.epochs=50", "train.max_steps=7", "train.limit_batches=3", "train.batch_size=16"
    )
    assert payload["status"] == "completed" and "max_steps=7" in payload["message"]
    assert payload["final"]["step"] == 7 and payload["epochs"] == 3  # 3 + 3 + 1 steps


def test_gradient_accumulation_steps_once_per_group(cli):
    payload = cli.json(
        "train", LINEAR, "train.epochs=1", "data.n=1000", "train.batch_size=100", "train.accumulate_steps=4"
    )
    assert payload["final"]["step"] == 2  # 8 training batches / 4


def test_early_stopping(cli):
    payload = cli.json(
        "train",
        LINEAR,
        "train.epochs=200",
        "train.early_stopping.patience=2",
        "train.early_stopping.min_delta=100",
        "data.n=400",
    )
    assert payload["status"] == "completed" and payload["message"].startswith("early stopping")
    assert payload["epochs"] == 3


def test_a_tie_on_accuracy_goes_to_the_epoch_with_the_lower_val_loss(cli, runs_dir):
    payload = cli.json("train", TOY, "train.epochs=120")  # val_accuracy stays 0.5 for epochs while the loss falls
    records = epoch_records(runs_dir / payload["run_id"])
    top = max(r["val_accuracy"] for r in records)
    tied = [r for r in records if r["val_accuracy"] == top]
    assert len(tied) > 1  # the case this is about
    best = min(tied, key=lambda r: r["val_loss"])
    meta = json.loads((runs_dir / payload["run_id"] / "meta.json").read_text())
    assert meta["best"]["epoch"] == best["epoch"] != tied[0]["epoch"], meta["best"]
    state = torch.load(runs_dir / payload["run_id"] / "checkpoints" / "best.pt", weights_only=True)
    assert state["epoch"] == best["epoch"]


def test_a_tie_does_not_count_as_improvement_for_early_stopping(cli):
    payload = cli.json("train", TOY, "train.epochs=1000", "train.early_stopping.patience=5")
    assert payload["message"].startswith("early stopping") and payload["epochs"] < 1000, payload["message"]


def test_grad_clip_and_deterministic_run_are_reproducible(cli):
    first = cli.json("train", LINEAR, "train.epochs=2", "train.grad_clip=0.5", "train.deterministic=true", "data.n=500")
    second = cli.json(
        "train", LINEAR, "train.epochs=2", "train.grad_clip=0.5", "train.deterministic=true", "data.n=500"
    )
    weights = [torch.load(f"{p['run_dir']}/checkpoints/last.pt", weights_only=True)["model"] for p in (first, second)]
    assert all(torch.equal(weights[0][k], weights[1][k]) for k in weights[0])


def test_divergence_stops_with_exit_1_and_no_nan_best(cli, runs_dir):
    result = cli("train", LINEAR, "optimizer.name=sgd", "optimizer.lr=1e6", "train.epochs=5", "train.log_every_steps=1")
    assert result.exit_code == 1
    assert "diverged" in result.stderr and "lower optimizer.lr" in result.stderr
    run = next(runs_dir.iterdir())
    meta = json.loads((run / "meta.json").read_text())
    assert meta["status"] == "diverged"
    assert not (run / "checkpoints" / "best.pt").exists()


def test_failure_inside_training_is_exit_1_with_traceback_in_the_log(cli, runs_dir, monkeypatch):
    from learnai_cli.engine import trainer

    def broken(self):
        raise RuntimeError("simulated failure inside the loop")

    monkeypatch.setattr(trainer.Trainer, "validate", broken)
    result = cli("train", TOY, "train.epochs=2")
    assert result.exit_code == 1 and "simulated failure" in result.stderr
    run = next(runs_dir.iterdir())
    assert json.loads((run / "meta.json").read_text())["status"] == "failed"
    assert "Traceback" in (run / "train.log").read_text()


def test_interrupt_marks_the_run_and_exits_130(cli, runs_dir, monkeypatch):
    from learnai_cli.engine import trainer

    calls = {"epochs": 0}
    original = trainer.Trainer.validate

    def interrupt_on_second_epoch(self):
        calls["epochs"] += 1
        if calls["epochs"] == 2:
            raise KeyboardInterrupt
        return original(self)

    monkeypatch.setattr(trainer.Trainer, "validate", interrupt_on_second_epoch)
    result = cli("train", TOY, "train.epochs=5")
    assert result.exit_code == 130
    run = next(runs_dir.iterdir())
    meta = json.loads((run / "meta.json").read_text())
    assert meta["status"] == "interrupted" and meta["epochs_completed"] == 1
    assert (run / "checkpoints" / "last.pt").is_file()


def test_cuda_device_without_cuda_is_a_clear_error(cli):
    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    result = cli("train", TOY, "device=cuda")
    assert result.exit_code == 2 and "CUDA is not available" in result.stderr


def test_generalfit_learning_rate_lesson(cli, runs_dir):
    """The curriculum: lr 0.01 converges, lr 1 does not, lr 10 diverges (exit 1, no NaN best.pt)."""
    generalfit = CONFIGS / "generalfit.yaml"
    converged = cli.json("train", generalfit)
    assert converged["final"]["val_mse"] < 0.01
    stuck = cli.json("train", generalfit, "optimizer.lr=1", "train.epochs=50")
    assert stuck["status"] == "completed" and stuck["final"]["val_mse"] > 10 * converged["final"]["val_mse"]
    diverged = cli("train", generalfit, "optimizer.lr=10")
    assert diverged.exit_code == 1
    assert "diverged: loss exploded" in diverged.stderr and "lower optimizer.lr" in diverged.stderr
    run = max(runs_dir.iterdir())
    meta = json.loads((run / "meta.json").read_text())
    assert meta["status"] == "diverged" and "epoch 1" in meta["message"]
    assert not (run / "checkpoints" / "best.pt").exists()


def test_bf16_and_channels_last_train_and_evaluate(cli, mnist_root):
    payload = cli.json(
        "train",
        CONFIGS / "mnist_cnn.yaml",
        f"data.root={mnist_root}",
        "data.val_split=20",
        "train.precision=bf16",
        "train.channels_last=true",
        "train.epochs=2",
    )
    assert payload["status"] == "completed"
    state = torch.load(payload["checkpoints"]["last"], weights_only=True)
    assert state["scaler"] is None and all(
        t.dtype == torch.float32 for t in state["model"].values() if t.is_floating_point()
    )
    assert cli.json("eval", payload["run_id"])["metrics"]["accuracy"] >= 0


def test_fp16_uses_a_grad_scaler_that_resumes(cli, runs_dir, monkeypatch):
    from learnai_cli.engine import trainer

    resumable = [
        "train.precision=fp16",
        "train.deterministic=true",
        "train.epochs=3",
        "data.n=2000",
        "train.grad_clip=1.0",
    ]
    reference = cli.json("train", LINEAR, *resumable)
    state = torch.load(reference["checkpoints"]["last"], weights_only=True)
    assert state["scaler"]["scale"] > 0  # GradScaler state is checkpointed

    original = trainer.Trainer._optimizer_step

    def stop_after_10(self):
        original(self)
        if self.state.step == 10:
            self.stop_signal = "SIGTERM"

    with monkeypatch.context() as patch:
        patch.setattr(trainer.Trainer, "_optimizer_step", stop_after_10)
        assert cli("train", LINEAR, *resumable).exit_code == 130
    stopped = max(p for p in runs_dir.iterdir() if p.name != reference["run_id"])
    assert cli.json("train", "--resume", stopped.name)["status"] == "completed"
    resumed_weights = torch.load(stopped / "checkpoints" / "last.pt", weights_only=True)["model"]
    assert all(torch.equal(resumed_weights[k], v) for k, v in state["model"].items())


@pytest.mark.slow
def test_compiled_model_saves_plain_state_dict_keys(cli):
    payload = cli.json("train", LINEAR, "train.compile=true", "train.epochs=1", "data.n=300")
    assert payload["status"] == "completed"
    state = torch.load(payload["checkpoints"]["last"], weights_only=True)
    assert set(state["model"]) == {"linear.weight", "linear.bias"}  # no _orig_mod. prefix
    assert cli.json("eval", payload["run_id"])["metrics"]["mse"] >= 0


def test_threads_setting(cli):
    before = torch.get_num_threads()
    try:
        assert cli.json("train", LINEAR, "train.threads=1", "train.epochs=1", "data.n=300")["status"] == "completed"
        assert torch.get_num_threads() == 1
    finally:
        torch.set_num_threads(before)
