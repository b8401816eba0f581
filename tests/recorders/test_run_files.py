"""last.pt by time while epochs are fast: written at the first epoch, at the end and on a stop, best.pt kept exact."""

from __future__ import annotations

import json

import torch

from tests.conftest import CONFIGS

TOY = CONFIGS / "toy_classes.yaml"


def saved_paths(monkeypatch) -> list[str]:
    """Record every checkpoint the run files recorder writes."""
    from learnai_cli.recorders import run_files

    written, original = [], run_files.save_checkpoint

    def recording(path, payload):
        written.append(f"{path.name}@{payload['epoch']}")
        original(path, payload)

    monkeypatch.setattr(run_files, "save_checkpoint", recording)
    return written


def test_fast_epochs_write_last_pt_at_the_first_and_the_last_epoch_only(cli, runs_dir, monkeypatch):
    written = saved_paths(monkeypatch)
    monkeypatch.setattr("learnai_cli.recorders.run_files.CHECKPOINT_SECONDS", 3600.0)
    payload = cli.json("train", TOY, "train.epochs=40")
    assert [w for w in written if w.startswith("last.pt")] == ["last.pt@1", "last.pt@40"]
    best = torch.load(payload["checkpoints"]["best"], weights_only=True)
    meta = json.loads((runs_dir / payload["run_id"] / "meta.json").read_text())
    assert best["epoch"] == meta["best"]["epoch"] == best["best_epoch"]  # the best epoch's own weights


def test_best_weights_are_that_epochs_weights_even_when_written_later(cli, monkeypatch):
    """best.pt of an epoch that was not due for a checkpoint is written later, from a snapshot of that epoch."""
    written = saved_paths(monkeypatch)
    monkeypatch.setattr("learnai_cli.recorders.run_files.CHECKPOINT_SECONDS", 3600.0)
    payload = cli.json("train", TOY, "train.epochs=60", "optimizer.lr=3")  # best: epoch 19 of 60
    best = torch.load(payload["checkpoints"]["best"], weights_only=True)
    assert 1 < best["epoch"] < 60 and f"best.pt@{best['epoch']}" in written  # saved after its epoch ended
    reference = cli.json("train", TOY, f"train.epochs={best['epoch']}", "optimizer.lr=3")
    same_epoch = torch.load(reference["checkpoints"]["last"], weights_only=True)
    assert all(torch.equal(best["model"][k], same_epoch["model"][k]) for k in best["model"])


def test_a_stop_request_writes_last_pt_at_once(cli, runs_dir, monkeypatch):
    from learnai_cli.engine import trainer

    monkeypatch.setattr("learnai_cli.recorders.run_files.CHECKPOINT_SECONDS", 3600.0)
    original = trainer.Trainer.validate

    def stop_at_epoch_7(self):
        if self.state.epoch == 7:
            self.stop_signal = "SIGTERM"
        return original(self)

    monkeypatch.setattr(trainer.Trainer, "validate", stop_at_epoch_7)
    result = cli("train", TOY, "train.epochs=50")
    assert result.exit_code == 130
    run = next(runs_dir.iterdir())
    assert torch.load(run / "checkpoints" / "last.pt", weights_only=True)["epoch"] == 7
