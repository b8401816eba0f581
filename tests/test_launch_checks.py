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
