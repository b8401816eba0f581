"""Stopping and resuming: a resumed run ends bitwise equal to an uninterrupted one (CPU, deterministic)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from tests.conftest import CONFIGS

LINEAR = CONFIGS / "linear_regression.yaml"
# Small but long enough to be stopped in the middle: 4 epochs of 125 steps, shuffled, mid-epoch checkpoints.
RESUMABLE = [
    "data.n=5000",
    "train.epochs=4",
    "train.batch_size=32",
    "train.checkpoint_every_steps=20",
    "train.log_every_steps=10",
    "train.deterministic=true",
]


def final_state(run_dir: Path) -> tuple[dict, list[dict]]:
    weights = torch.load(run_dir / "checkpoints" / "last.pt", weights_only=True)["model"]
    lines = (run_dir / "metrics.jsonl").read_text().splitlines()
    records = [
        {k: v for k, v in json.loads(line).items() if k not in ("epoch_time", "samples_per_s", "seconds")}
        for line in lines
    ]
    return weights, records


def assert_same_training(reference: Path, resumed: Path) -> None:
    ref_weights, ref_records = final_state(reference)
    weights, records = final_state(resumed)
    assert all(torch.equal(ref_weights[k], weights[k]) for k in ref_weights)
    assert records == ref_records


def stop_at_step(step: int):
    """Patch the trainer so a stop is requested (as SIGTERM would) once `step` optimizer steps are done."""
    from learnai_cli.engine import trainer

    original = trainer.Trainer._optimizer_step

    def stepping(self):
        original(self)
        if self.state.step == step:
            self.stop_signal = "SIGTERM"

    return stepping


@pytest.mark.parametrize("stop_step", [7, 20, 125, 300])
def test_stop_and_resume_equals_uninterrupted(cli, runs_dir, monkeypatch, stop_step):
    reference = cli.json("train", LINEAR, *RESUMABLE)
    from learnai_cli.engine import trainer

    with monkeypatch.context() as patch:
        patch.setattr(trainer.Trainer, "_optimizer_step", stop_at_step(stop_step))
        stopped = cli("train", LINEAR, *RESUMABLE, "--json")
    assert stopped.exit_code == 130
    assert "learnai train --resume" in stopped.stderr
    run_dir = max(p for p in runs_dir.iterdir() if p.name != reference["run_id"])
    meta = json.loads((run_dir / "meta.json").read_text())
    assert meta["status"] == "interrupted" and f"step {stop_step}" in meta["message"]

    resumed = cli.json("train", "--resume", run_dir.name)
    assert resumed["status"] == "completed" and resumed["run_id"] == run_dir.name
    assert_same_training(Path(reference["run_dir"]), run_dir)
    assert len(json.loads((run_dir / "meta.json").read_text())["resumed"]) == 1


def test_resume_of_a_completed_run_is_refused(cli):
    done = cli.json("train", CONFIGS / "toy_classes.yaml", "train.epochs=2")
    again = cli("train", "--resume", done["run_id"])
    assert again.exit_code == 2 and "already completed" in again.stderr and "nothing to resume" in again.stderr


def test_resume_usage_errors(cli):
    assert "give no CONFIG" in cli("train", LINEAR, "--resume", "latest").stderr
    assert "give a CONFIG file" in cli("train").stderr


def test_crashed_run_shows_as_crashed(cli, runs_dir):
    done = cli.json("train", CONFIGS / "toy_classes.yaml", "train.epochs=2")
    meta_path = Path(done["run_dir"]) / "meta.json"
    meta = json.loads(meta_path.read_text())
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    meta.update(status="running", pid=dead.pid)  # what a SIGKILLed run leaves behind
    meta_path.write_text(json.dumps(meta))
    assert cli.json("runs")["runs"][0]["status"] == "crashed"


def with_changes(overrides: list[str], *changes: str) -> list[str]:
    """`overrides` with some keys set otherwise (a key may be given once per command line)."""
    changed = {change.partition("=")[0] for change in changes}
    return [o for o in overrides if o.partition("=")[0] not in changed] + list(changes)


def learnai(*args: str) -> list[str]:
    return [sys.executable, "-m", "learnai_cli", *args]


def latest_step(run_root: Path) -> int:
    """The newest step a training under run_root has logged to metrics.jsonl (0 before the first)."""
    for metrics in run_root.glob("*/metrics.jsonl"):
        lines = [line for line in metrics.read_text().splitlines() if line.endswith("}")]
        return json.loads(lines[-1]).get("step", 0) if lines else 0
    return 0


# (step to stop at, signal): one point per phase of the 1,200-step training (3 epochs of 400), each signal at least once
KILL_POINTS = [
    (30, signal.SIGKILL),  # first epoch, before any epoch ended: resumed from a mid-epoch checkpoint
    (430, signal.SIGTERM),  # second epoch, just after the first epoch's end and validation: a stop checkpoint
    (1030, signal.SIGKILL),  # last epoch, after two epochs' records and best checkpoint; 70+ steps left to run
]


@pytest.mark.slow
def test_killed_at_points_spread_over_training_then_resumed_ends_bitwise_equal(tmp_path, cli):
    """Real processes, real signals: SIGKILL and SIGTERM at a point in each epoch of the training (the reference
    and each resume in-process, to save start-ups), every run ending bitwise equal to an uninterrupted one."""
    harness = with_changes(RESUMABLE, "data.n=8000", "train.epochs=3", "train.batch_size=16")
    reference_root = tmp_path / "reference"
    trained = cli("train", str(LINEAR), *harness, "--runs-dir", str(reference_root), "--json")
    assert trained.exit_code == 0, trained.stderr
    reference = next(reference_root.iterdir())
    for point, (kill_at_step, sig) in enumerate(KILL_POINTS):
        root = tmp_path / f"killed_{point}"
        process = subprocess.Popen(
            learnai("train", str(LINEAR), *harness, "--runs-dir", str(root)),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        while latest_step(root) < kill_at_step and process.poll() is None:
            time.sleep(0.005)
        assert process.poll() is None, f"the training ended before step {kill_at_step}: {process.stderr.read()}"
        os.kill(process.pid, sig)
        process.communicate(timeout=60)
        run_dir = next(root.iterdir())
        status = json.loads((run_dir / "meta.json").read_text())["status"]
        if sig == signal.SIGTERM:
            assert process.returncode == 130 and status == "interrupted"
        else:
            assert process.returncode == -signal.SIGKILL and status == "running"  # `learnai runs` calls it crashed
        resumed = cli("train", "--resume", run_dir.name, "--runs-dir", str(root), "--json")
        assert resumed.exit_code == 0, resumed.stderr
        assert_same_training(reference, run_dir)


def test_second_sigint_stops_at_once_and_leaves_readable_files(tmp_path):
    harness = with_changes(RESUMABLE, "data.n=8000", "train.epochs=50", "train.batch_size=16")
    process = subprocess.Popen(
        learnai("train", str(LINEAR), *harness, "--runs-dir", str(tmp_path)),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    while not list(tmp_path.glob("*/checkpoints/last.pt")) and process.poll() is None:
        time.sleep(0.02)
    process.send_signal(signal.SIGINT)
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 130, stderr
    assert "Traceback" not in stderr
    run_dir = next(tmp_path.iterdir())
    assert json.loads((run_dir / "meta.json").read_text())["status"] == "interrupted"
    torch.load(run_dir / "checkpoints" / "last.pt", weights_only=True)  # intact
    assert not list(run_dir.rglob("*.tmp"))


def test_a_stop_signal_in_the_middle_of_an_epoch_line_stops_the_run_instead_of_failing_it(tmp_path):
    # Block-buffered stderr, as in a user's shell: the handler can land inside the loop's own write of an epoch line.
    # A toy run prints an epoch line every ~0.3 ms, so each of these signals lands in or near one.
    environment = {key: value for key, value in os.environ.items() if key != "PYTHONUNBUFFERED"}
    for attempt in range(3):
        runs = tmp_path / str(attempt)
        process = subprocess.Popen(
            learnai("train", str(CONFIGS / "toy_classes.yaml"), "train.epochs=100000", "--runs-dir", str(runs),
                    "--no-progress"),
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=environment,
        )  # fmt: skip
        next(line for line in process.stderr if line.startswith("epoch 50/"))
        process.send_signal(signal.SIGINT)
        stderr = process.stderr.read()
        assert process.wait(timeout=60) == 130, stderr[-2000:]
        meta = json.loads(next(runs.glob("*/meta.json")).read_text())
        assert meta["status"] == "interrupted" and "SIGINT" in meta["message"], meta


def test_the_stop_message_goes_straight_to_the_terminal_not_through_the_stderr_stream(monkeypatch):
    from learnai_cli.commands.train.stopping import stop_on_signals

    class Busy:
        """A stderr that is in the middle of a write: writing through it again raises, as Python's buffered
        streams do ("reentrant call inside <_io.BufferedWriter name='<stderr>'>")."""

        def __init__(self, descriptor: int):
            self.descriptor = descriptor

        def fileno(self) -> int:
            return self.descriptor

        def write(self, text: str) -> int:
            raise RuntimeError("reentrant call inside <_io.BufferedWriter name='<stderr>'>")

        def flush(self) -> None:
            raise RuntimeError("reentrant call")

    class Trainer:
        stop_signal = None

    read_end, write_end = os.pipe()
    monkeypatch.setattr(sys, "stderr", Busy(write_end))
    trainer = Trainer()
    with stop_on_signals(trainer):
        signal.raise_signal(signal.SIGINT)
    os.close(write_end)
    assert trainer.stop_signal == "SIGINT"
    assert b"SIGINT: finishing the current step" in os.read(read_end, 4096)
    os.close(read_end)


def test_the_printed_continue_command_finds_the_run_from_where_it_was_typed(tmp_path):
    import shlex

    runs = tmp_path / "my runs"  # not ./runs, and with a space: the command must name and quote it
    process = subprocess.Popen(
        learnai("train", str(CONFIGS / "toy_classes.yaml"), "train.epochs=100000", "--runs-dir", str(runs),
                "--no-progress"),
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, cwd=tmp_path,
    )  # fmt: skip
    next(line for line in process.stderr if line.startswith("epoch 20/"))
    process.send_signal(signal.SIGINT)
    stderr = process.stderr.read()
    assert process.wait(timeout=60) == 130, stderr[-2000:]
    printed = next(line for line in stderr.splitlines() if line.startswith("continue with: "))
    command = shlex.split(printed.removeprefix("continue with: "))
    run_id = next(runs.iterdir()).name
    assert command == ["learnai", "train", "--resume", run_id, "--runs-dir", str(runs)], printed
    shown = subprocess.run(learnai("show", run_id, *command[4:], "--json"), capture_output=True, text=True)
    assert shown.returncode == 0 and json.loads(shown.stdout)["status"] == "interrupted", shown.stderr


def test_the_continue_command_leaves_out_the_runs_folder_learnai_uses_anyway(tmp_path, monkeypatch):
    from learnai_cli.rundir.next_steps import runs_dir_arguments

    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("LEARNAI_RUNS_DIR", raising=False)
    assert runs_dir_arguments(tmp_path / "runs") == [] and runs_dir_arguments(Path("runs")) == []
    assert runs_dir_arguments(tmp_path / "other") == ["--runs-dir", str(tmp_path / "other")]
    monkeypatch.setenv("LEARNAI_RUNS_DIR", str(tmp_path / "other"))  # the user's shell has it set
    assert runs_dir_arguments(tmp_path / "other") == []


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_the_json_of_an_interrupted_run_names_its_run_id_and_folder(tmp_path, signum):
    process = subprocess.Popen(
        learnai(
            "train", str(CONFIGS / "toy_classes.yaml"), "train.epochs=100000", "--runs-dir", str(tmp_path), "--json"
        ),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    while not list(tmp_path.glob("*/checkpoints/last.pt")) and process.poll() is None:
        time.sleep(0.02)
    process.send_signal(signum)
    stdout, stderr = process.communicate(timeout=60)
    assert process.returncode == 130, stderr
    payload = json.loads(stdout)
    run_dir = next(tmp_path.iterdir())
    assert payload["run_id"] == run_dir.name and payload["run_dir"] == str(run_dir), payload
    assert payload["status"] == "interrupted" and payload["exit_code"] == 130
    assert f"learnai train --resume {run_dir.name}" in payload["error"]
