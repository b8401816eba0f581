"""Training further (`--resume RUN train.epochs=N`) and fine-tuning (`--init-from RUN[:best|last]`)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from tests.conftest import CONFIGS
from tests.test_resume import assert_same_training

TOY = CONFIGS / "toy_classes.yaml"
DETERMINISTIC = "train.deterministic=true"


def files_of(run_dir: Path) -> dict[str, bytes]:
    """Every file of a run but its lock, by path: what a refused command must leave untouched."""
    return {
        str(p.relative_to(run_dir)): p.read_bytes()
        for p in sorted(run_dir.rglob("*"))
        if p.is_file() and p.name != ".lock"
    }


def meta_of(run_dir: Path) -> dict:
    return json.loads((run_dir / "meta.json").read_text())


def weights(path: Path) -> dict:
    return torch.load(path, weights_only=True)["model"]


def test_completed_run_given_more_epochs_equals_a_straight_run(cli):
    straight = cli.json("train", TOY, "train.epochs=8", DETERMINISTIC)
    done = cli.json("train", TOY, "train.epochs=5", DETERMINISTIC)
    run_dir = Path(done["run_dir"])
    further = cli.json("train", "--resume", done["run_id"], "train.epochs=8")
    assert further["status"] == "completed" and further["run_id"] == done["run_id"] and further["epochs"] == 8
    epochs = [r["epoch"] for r in map(json.loads, (run_dir / "metrics.jsonl").read_text().splitlines())]
    assert epochs == list(range(1, 9))  # no duplicates
    assert_same_training(Path(straight["run_dir"]), run_dir)  # bitwise weights, same records
    meta = meta_of(run_dir)
    assert meta["status"] == "completed" and meta["epochs_completed"] == 8
    assert [e["epochs"] for e in meta["extended"]] == [[5, 8]]
    assert "epochs: 8" in (run_dir / "config.yaml").read_text()


@pytest.mark.parametrize(
    "override, expected",
    [
        ("optimizer.lr=0.1", "only train.epochs may be raised (got optimizer.lr=0.1)"),
        ("train.epochs=2", "has completed 3 epochs: train.epochs=2 must be more"),
        ("train.epochs=3", "already completed (3 epochs); nothing to resume. To train it further"),
        ("train.epochs=lots", "train.epochs"),
    ],
)
def test_refused_resume_overrides_change_nothing(cli, override, expected):
    done = cli.json("train", TOY, "train.epochs=3")
    run_dir = Path(done["run_dir"])
    before = files_of(run_dir)
    result = cli("train", "--resume", done["run_id"], override)
    assert result.exit_code == 2 and expected in result.stderr and "Traceback" not in result.stderr
    assert files_of(run_dir) == before


@pytest.mark.parametrize(
    "settings, expected",
    [
        (["scheduler.name=cosine"], "scheduler 'cosine'"),
        (["scheduler.name=onecycle"], "scheduler 'onecycle'"),
        (["train.max_steps=2"], "train.max_steps=2"),
    ],
)
def test_raising_epochs_refused_when_it_cannot_continue(cli, settings, expected):
    done = cli.json("train", TOY, "train.epochs=3", *settings)
    run_dir = Path(done["run_dir"])
    before = files_of(run_dir)
    result = cli("train", "--resume", done["run_id"], "train.epochs=6")
    assert result.exit_code == 2 and expected in result.stderr and "--init-from" in result.stderr
    assert files_of(run_dir) == before


def test_step_scheduler_stretches(cli):
    done = cli.json("train", TOY, "train.epochs=2", "scheduler.name=step", "scheduler.step_size=1")
    assert cli.json("train", "--resume", done["run_id"], "train.epochs=4")["epochs"] == 4


def test_early_stopped_run_trains_on_with_a_fresh_patience(cli):
    # val_accuracy does not move on this toy in a few epochs: patience 1 stops after epoch 2
    stopped = cli.json("train", TOY, "train.epochs=50", "train.early_stopping.patience=1")
    assert stopped["epochs"] == 2 and "early stopping" in stopped["message"]
    same = cli("train", "--resume", stopped["run_id"], "train.epochs=50")  # not raised: a plain resume, refused
    assert same.exit_code == 2 and "already completed" in same.stderr
    further = cli.json("train", "--resume", stopped["run_id"], "train.epochs=60")
    assert further["status"] == "completed" and further["epochs"] == 3  # one more epoch, then patience runs out


def test_init_from_starts_from_the_source_weights(cli, runs_dir):
    source = cli.json("train", TOY, "train.epochs=3", "optimizer.lr=0.5")
    tuned = cli.json("train", TOY, "train.epochs=1", "optimizer.lr=0", "--init-from", source["run_id"])
    tuned_dir, source_dir = Path(tuned["run_dir"]), Path(source["run_dir"])
    best = weights(source_dir / "checkpoints" / "best.pt")
    assert all(torch.equal(best[k], v) for k, v in weights(tuned_dir / "checkpoints" / "last.pt").items())
    init = meta_of(tuned_dir)["init_from"]
    assert init["run_id"] == source["run_id"] and init["checkpoint"].endswith("best.pt")
    assert init["epoch"] == torch.load(source_dir / "checkpoints" / "best.pt", weights_only=True)["epoch"]

    last = cli.json("train", TOY, "train.epochs=1", "optimizer.lr=0", "--init-from", f"{source['run_id']}:last")
    last_weights = weights(source_dir / "checkpoints" / "last.pt")
    assert all(
        torch.equal(last_weights[k], v) for k, v in weights(Path(last["run_dir"]) / "checkpoints/last.pt").items()
    )
    assert meta_of(Path(last["run_dir"]))["init_from"]["epoch"] == 3


def test_init_from_refusals_leave_no_run(cli, runs_dir):
    source = cli.json("train", TOY, "train.epochs=1")
    before = sorted(p.name for p in runs_dir.iterdir())
    mismatch = cli("train", TOY, "model.hidden=[7]", "--init-from", source["run_id"])
    assert mismatch.exit_code == 2 and "'1.weight' has shape" in mismatch.stderr and "Traceback" not in mismatch.stderr
    bad_suffix = cli("train", TOY, "--init-from", f"{source['run_id']}:middle")
    assert bad_suffix.exit_code == 2 and "RUN:last" in bad_suffix.stderr
    unknown = cli("train", TOY, "--init-from", "no-such-run")
    assert unknown.exit_code == 2 and "no run 'no-such-run'" in unknown.stderr
    with_resume = cli("train", "--resume", source["run_id"], "--init-from", source["run_id"])
    assert with_resume.exit_code == 2 and "--init-from" in with_resume.stderr
    dry = cli.json("train", TOY, "--dry-run", "--init-from", source["run_id"])
    assert dry["dry_run"] is True
    assert sorted(p.name for p in runs_dir.iterdir()) == before


@pytest.mark.parametrize("damage", ["deleted", "cut short", "another zip"])
def test_training_further_after_best_pt_was_lost_writes_a_new_best_pt(cli, runs_dir, damage, caplog):
    import zipfile

    run_id = cli.json("train", CONFIGS / "toy_classes.yaml", "train.epochs=3")["run_id"]
    best = runs_dir / run_id / "checkpoints" / "best.pt"
    if damage == "deleted":
        best.unlink()
    elif damage == "cut short":
        best.write_bytes(best.read_bytes()[:100])
    else:
        with zipfile.ZipFile(best, "w") as archive:
            archive.writestr("notes.txt", "not weights")
    result = cli("train", "--resume", run_id, "train.epochs=5", "--json")
    assert result.exit_code == 0, result.stderr
    assert "best.pt is" in caplog.text and "is lost" in caplog.text, caplog.text
    state = torch.load(best, weights_only=True)  # whole again, and it holds the epoch meta.json names as best
    assert state["epoch"] == meta_of(runs_dir / run_id)["best"]["epoch"] and state["epoch"] > 3
    assert cli("eval", run_id).exit_code == 0
