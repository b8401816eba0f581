"""The optional loggers (train.loggers: tensorboard, mlflow) are needed to train, never to use a trained run: eval,
predict, export and plot of a run logged with them work where their packages cannot be imported."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import yaml

from tests.conftest import CONFIGS, REPO

# `learnai` in a process where mlflow and tensorboard cannot be imported, as on an install without the extras.
WITHOUT_LOGGERS = """
import sys
for name in ("mlflow", "tensorboard"):  # what Python does for a module that is not there: find_spec None, import fails
    sys.modules[name] = None
from learnai_cli.cli import main
sys.argv = ["learnai", *sys.argv[1:]]
main()
"""


def learnai_without_loggers(runs_dir, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "LEARNAI_RUNS_DIR": str(runs_dir)}
    command = [sys.executable, "-c", WITHOUT_LOGGERS, *args]
    return subprocess.run(command, capture_output=True, text=True, env=env, cwd=REPO, timeout=300)


def logged_run(cli, runs_dir):
    """A trained classifier whose recorded config names both loggers, as a run trained with them would."""
    result = cli.json("train", CONFIGS / "toy_classes.yaml", "train.epochs=2")
    run_dir = runs_dir / result["run_id"]
    config = yaml.safe_load((run_dir / "config.yaml").read_text())
    config["train"]["loggers"] = ["csv", "tensorboard", "mlflow"]
    (run_dir / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    return result["run_id"]


def test_eval_predict_export_and_plot_need_no_logger_packages(cli, runs_dir):
    run_id = logged_run(cli, runs_dir)
    for args in (
        ["eval", run_id, "--json"],
        ["predict", run_id, "0.5,0.5", "--json"],
        ["export", run_id, "--format", "state_dict", "--json"],
        ["plot", run_id, "--json"],
    ):
        done = learnai_without_loggers(runs_dir, *args)
        assert done.returncode == 0, f"{args}: {done.stdout[-2000:]}{done.stderr[-2000:]}"
        assert json.loads(done.stdout)["ok"], args


def test_training_with_a_missing_logger_is_refused_before_anything_is_built(tmp_path):
    runs_dir = tmp_path / "runs"
    for logger, extra in (("mlflow", "learnai[mlflow]"), ("tensorboard", "learnai[tensorboard]")):
        done = learnai_without_loggers(
            runs_dir, "train", CONFIGS / "toy_classes.yaml", f"train.loggers=[csv, {logger}]"
        )
        assert done.returncode == 2, done.stderr[-2000:]
        assert f"train.loggers: {logger} needs" in done.stderr and extra in done.stderr, done.stderr[-2000:]
        assert not runs_dir.exists() or not any(runs_dir.iterdir())  # no run folder was made
    done = learnai_without_loggers(runs_dir, "config", CONFIGS / "toy_classes.yaml", "train.loggers=[csv, mlflow]")
    assert done.returncode == 2 and "train.loggers: mlflow needs" in done.stderr, done.stderr[-2000:]
