"""`train --nproc-per-node`: what can be checked before torchrun starts is checked once, in this process, with one
message and exit 2 (no worker starts, so no message per worker and no torchrun noise)."""

from __future__ import annotations

import pytest

from tests.conftest import CONFIGS

LINEAR = CONFIGS / "linear_regression.yaml"


@pytest.mark.parametrize(
    "arguments, expected",
    [
        (["train.batch_size=5", "--nproc-per-node", "2"], "must divide by 2; use train.batch_size=4 or 6"),
        (["train.batch_size=3", "--nproc-per-node", "4"], "use train.batch_size=4"),
        (
            ["train.batch_size=6", "--nproc-per-node", "2", "--nnodes", "2"],
            "the 4 processes (2 per node on 2 nodes)",
        ),
        (["--nproc-per-node", "2", "--nnodes", "2", "--node-rank", "2"], "the node ranks are 0..1"),
        (["--nproc-per-node", "2", "--master-port", "70000"], "is not a port"),
        (["train.loggers=[nonsense]", "--nproc-per-node", "2"], "train.loggers"),
        (["model.n_in=3", "--nproc-per-node", "2"], "does not fit data"),  # found on one batch, before launching
        (["data.n=20", "train.batch_size=32", "--nproc-per-node", "2"], "is more than the 16 training samples"),
        (["data.n=20", "train.batch_size=32", "--nproc-per-node", "2"], "use train.batch_size=16 or less"),
    ],
)
def test_a_distributed_launch_that_cannot_work_is_one_message_and_exit_2(cli, arguments, expected):
    result = cli("train", LINEAR, "data.n=64", *arguments)  # a later data.n wins
    assert result.exit_code == 2, result.output
    assert expected in result.stderr
    assert result.stderr.count("error:") == 1 and "Traceback" not in result.stderr
    assert not cli.runs_dir.exists() or not any(cli.runs_dir.iterdir())  # no run was started


def test_resuming_a_completed_run_under_torchrun_is_refused_before_launch(cli):
    run_id = cli.json("train", LINEAR, "data.n=64", "train.epochs=1")["run_id"]
    result = cli("train", "--resume", run_id, "--nproc-per-node", "2")
    assert result.exit_code == 2 and "already completed" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    result = cli("train", "--resume", run_id, "train.epochs=3", "train.batch_size=5", "--nproc-per-node", "2")
    assert result.exit_code == 2 and "only train.epochs" in result.stderr  # and the extension is checked as given


@pytest.mark.parametrize(
    "arguments, expected",
    [
        (["train.epochs=1"], "has completed 2 epochs: train.epochs=1 must be more than that"),
        (["train.epochs=2"], "already completed (2 epochs)"),
        ([], "already completed (2 epochs)"),
    ],
)
def test_a_resume_refusal_under_torchrun_is_made_before_launch(cli, arguments, expected):
    """Each of these used to reach the workers (torchrun started two processes that failed) or the lower budget
    only rank 0 noticed; now the launcher says it once, with exit 2, and the run is untouched."""
    from pathlib import Path

    from tests.test_train_further import files_of

    done = cli.json("train", LINEAR, "data.n=64", "train.batch_size=16", "train.epochs=2")
    before = files_of(Path(done["run_dir"]))
    result = cli("train", "--resume", done["run_id"], *arguments, "--nproc-per-node", "2")
    assert result.exit_code == 2 and expected in result.stderr, result.output
    assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr
    assert files_of(Path(done["run_dir"])) == before


def test_a_checkpoint_that_cannot_resume_is_refused_before_launch(cli):
    import torch

    done = cli.json("train", LINEAR, "data.n=64", "train.batch_size=16", "train.epochs=1")
    last = f"{done['run_dir']}/checkpoints/last.pt"
    checkpoint = torch.load(last, weights_only=True)
    del checkpoint["train_state"]
    torch.save(checkpoint, last)
    result = cli("train", "--resume", done["run_id"], "train.epochs=3", "--nproc-per-node", "2")
    assert result.exit_code == 2 and "lacks train_state: it cannot be resumed" in result.stderr, result.output


@pytest.mark.slow
def test_a_run_trained_further_under_torchrun_completes(tmp_path):
    """The checks before launch pass a resume that can go on: 2 gloo processes train the run to its new budget."""
    import json
    import subprocess
    import sys

    runs = ["--runs-dir", str(tmp_path)]
    base = [sys.executable, "-m", "learnai_cli", "train"]
    done = subprocess.run(
        [*base, str(LINEAR), "data.n=64", "train.batch_size=16", "train.epochs=1", *runs, "--json"], capture_output=True
    )
    run_id = json.loads(done.stdout)["run_id"]
    further = subprocess.run(
        [
            *base,
            "--resume",
            run_id,
            "train.epochs=2",
            "--nproc-per-node",
            "2",
            "--master-port",
            "29631",
            *runs,
            "--json",
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert further.returncode == 0, further.stderr
    summary = json.loads(further.stdout)
    assert summary["status"] == "completed" and summary["epochs"] == 2
