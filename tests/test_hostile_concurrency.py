"""Hostile timing (issue 11), with real processes where locks and signals matter: two resumes of one run
(family 2), gc while a run is starting (3), signals during start-up and a bad config under torchrun (10).
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.hostile import invoke, tiny_config

REPO = Path(__file__).resolve().parents[1]
CONFIGS = REPO / "configs"
ENV = {**os.environ, "PYTHONPATH": str(REPO), "NO_COLOR": "1"}


def learnai(*args, **kwargs) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "learnai_cli", *map(str, args)],
        env=ENV,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        **kwargs,
    )


def finish(process: subprocess.Popen, timeout: float = 180) -> tuple[int, str]:
    try:
        out, err = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        out, err = process.communicate()
        pytest.fail(f"learnai did not finish in {timeout}s:\n{err[-3000:]}")
    return process.returncode, out + err


def wait_for(predicate, timeout: float, what: str, process: subprocess.Popen | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        if process is not None and process.poll() is not None:
            pytest.fail(f"the process ended (exit {process.returncode}) before {what}:\n{finish(process)[1][-3000:]}")
        time.sleep(0.05)
    pytest.fail(f"timed out waiting for {what}")


def epochs_in(run: Path) -> list[int]:
    records = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines() if line.strip()]
    return [r["epoch"] for r in records if r.get("type") == "epoch"]


# --- family 2: two resumes at once; rm and gc refuse a run in use -----------------------------------------


@pytest.mark.slow
def test_two_resumes_of_one_run_at_once_only_one_proceeds(cli, tmp_path):
    epochs = 40  # epochs of 500 steps: long enough to be interrupted on any machine, short to finish
    changes = {"data": {"n": 20_000}, "train": {"epochs": epochs, "batch_size": 32, "log_every_steps": 1000}}
    config = tiny_config(tmp_path / "cfg", "linear_regression", changes)
    runs = cli.runs_dir
    first = learnai("train", config, "--runs-dir", runs, "--no-progress")
    wait_for(lambda: any(runs.glob("*/checkpoints/last.pt")), 120, "the first checkpoint", first)
    run = next(runs.glob("*/checkpoints/last.pt")).parents[1]

    # while it trains, the run is in use: rm and gc must leave it alone
    code, output = invoke(cli, "rm", run.name, "--yes")
    assert "Traceback" not in output and code == 2, output[-3000:]
    assert any(w in output.lower() for w in ("running", "lock")), output
    code, output = invoke(cli, "gc", "--keep-last", "0", "--yes")
    assert "Traceback" not in output and code == 0, output[-3000:]
    assert run.is_dir(), "gc deleted a run that is training"

    first.send_signal(signal.SIGTERM)
    code, output = finish(first)
    assert code == 130, output[-3000:]
    assert "Traceback" not in output
    assert epochs_in(run)[-1] < epochs, "the run finished before it could be interrupted; make it longer"

    one, two = (
        learnai("train", "--resume", run.name, "--runs-dir", runs),
        learnai("train", "--resume", run.name, "--runs-dir", runs),
    )
    (code_one, out_one), (code_two, out_two) = finish(one), finish(two)
    assert "Traceback" not in out_one + out_two, out_one[-2000:] + out_two[-2000:]
    assert sorted([code_one, code_two]) == [0, 2], (
        f"exits {code_one} and {code_two}:\n{out_one[-2000:]}\n---\n{out_two[-2000:]}"
    )
    loser = out_one if code_one == 2 else out_two
    assert re.search(r"lock|pid \d+", loser, re.IGNORECASE), (
        f"the refused resume does not say who holds the run:\n{loser}"
    )
    seen = epochs_in(run)
    assert seen == list(range(1, epochs + 1)), f"metrics.jsonl epochs: {seen}"
    assert json.loads((run / "meta.json").read_text())["status"] == "completed"


# --- family 3: gc while a run is starting -------------------------------------------------------------------


def _run_dir(root: Path, run_id: str, meta: dict | None = None, files: tuple[str, ...] = ()) -> Path:
    path = root / run_id
    (path / "checkpoints").mkdir(parents=True)
    (path / "plots").mkdir()
    for name in files:
        (path / name).write_text("name: starting\n")
    if meta is not None:
        (path / "meta.json").write_text(json.dumps(meta))
    return path


STARTING = {
    "just created": {},
    "config written, no meta yet": {"files": ("config.yaml",)},
    "meta says running in this live process": {
        "meta": {
            "status": "running",
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "started": "2031-01-01T00:00:00",
        }
    },
}


@pytest.mark.parametrize("state", list(STARTING))
def test_gc_never_deletes_a_run_that_is_starting(cli, state):
    old = _run_dir(cli.runs_dir, "2020-01-01_00-00-00_old", meta={"status": "completed", "name": "old"})
    starting = _run_dir(cli.runs_dir, "2031-01-01_00-00-00_starting", **STARTING[state])
    code, output = invoke(cli, "gc", "--keep-last", "0", "--yes")
    assert "Traceback" not in output, output[-3000:]
    assert starting.is_dir(), f"gc deleted a run that is starting ({state})"
    assert code == 0 and not old.exists(), "gc should still remove the finished run beside it"


def test_rm_refuses_a_run_held_by_a_live_process(cli):
    held = _run_dir(cli.runs_dir, "2031-01-01_00-00-00_starting", **STARTING["meta says running in this live process"])
    code, output = invoke(cli, "rm", held.name, "--yes")
    assert "Traceback" not in output and code == 2, output[-3000:]
    assert any(w in output.lower() for w in ("running", "lock")), output
    assert held.is_dir()


@pytest.mark.slow
def test_gc_in_a_loop_never_breaks_a_training_that_is_starting(cli, tmp_path):
    config = tiny_config(tmp_path / "cfg", "linear_regression", {"data": {"n": 64}, "train": {"epochs": 3}})
    process = learnai("train", config, "--runs-dir", cli.runs_dir, "--no-progress")
    sweeps = 0
    while process.poll() is None:
        code, output = invoke(cli, "gc", "--keep-last", "0", "--yes")
        assert "Traceback" not in output, output[-3000:]
        sweeps += 1
    code, output = finish(process)
    assert code == 0 and "Traceback" not in output, (
        f"training under gc exited {code} after {sweeps} gc runs:\n{output[-3000:]}"
    )


# --- family 10: signals during start-up, a bad config under torchrun ---------------------------------------


@pytest.mark.parametrize("signum,delay", [(signal.SIGTERM, 0.5), (signal.SIGTERM, 1.5), (signal.SIGINT, 1.0)])
def test_a_signal_during_start_up_exits_130_without_a_traceback(tmp_path, signum, delay):
    # Long enough that the signal never lands after training, while the run draws its plots and exits.
    config = tiny_config(tmp_path / "cfg", "linear_regression", {"data": {"n": 64}, "train": {"epochs": 3000}})
    process = learnai("train", config, "--runs-dir", tmp_path / "runs", "--no-progress")
    time.sleep(delay)
    assert process.poll() is None, "learnai started faster than the test can signal it"
    process.send_signal(signum)
    code, output = finish(process, timeout=120)
    assert code == 130, f"exit {code} after {signal.Signals(signum).name} at {delay}s:\n{output[-3000:]}"
    assert "Traceback" not in output, output[-3000:]


SWALLOWING_MODEL = '''import os, signal, time
from torch import nn
from learnai_cli.registry import MODELS


@MODELS.register("swallowing_linear")
def swallowing_linear(n_in: int = 1, n_out: int = 1):
    """A linear model whose building swallows a Ctrl-C that arrives meanwhile, as a bare except or a finalizer can."""
    try:
        os.kill(os.getpid(), signal.SIGINT)
        time.sleep(2)
    except KeyboardInterrupt:
        pass
    return nn.Linear(n_in, n_out)
'''


def train_with_plugin_model(tmp_path: Path, source: str, model: str) -> tuple[int, str]:
    """`learnai train` of a tiny config whose model comes from a plugin file with this source."""
    (tmp_path / "cfg").mkdir()
    (tmp_path / "cfg" / "plugin_model.py").write_text(source)
    changes = {"plugins": ["plugin_model.py"], "model": {"name": model}, "train": {"epochs": 3000}}
    config = tiny_config(tmp_path / "cfg", "linear_regression", changes)
    code, output = finish(learnai("train", config, "--runs-dir", tmp_path / "runs", "--no-progress"))
    assert code == 130, output[-3000:]
    assert "Traceback" not in output and "epoch 1/" not in output, output[-3000:]
    return code, output


def test_a_start_up_signal_whose_interrupt_a_library_swallowed_still_stops_the_run(tmp_path):
    train_with_plugin_model(tmp_path, SWALLOWING_MODEL, "swallowing_linear")
    (run,) = (tmp_path / "runs").iterdir()
    assert json.loads((run / "meta.json").read_text())["status"] == "interrupted"


SIGNALLED_IMPORT = """import os, signal, time
from pathlib import Path
from torch import nn
from learnai_cli.registry import MODELS

os.kill(os.getpid(), signal.SIGINT)  # a Ctrl-C that lands while this module is being imported
deadline = time.time() + 1.0
while time.time() < deadline:  # Python bytecode runs meanwhile: a KeyboardInterrupt raised now would cut it short
    pass
Path(__file__).with_name("import-finished").write_text("yes")


@MODELS.register("signalled_linear")
def signalled_linear(n_in: int = 1, n_out: int = 1):
    return nn.Linear(n_in, n_out)
"""


def test_a_signal_inside_an_import_waits_for_the_import_to_finish_then_stops_the_run(tmp_path):
    # Cutting an import short can leave a C extension half-initialised (numpy: "cannot load module more than once
    # per process"), so the next import raised ImportError with a traceback instead of exiting 130.
    train_with_plugin_model(tmp_path, SIGNALLED_IMPORT, "signalled_linear")
    assert (tmp_path / "cfg" / "import-finished").read_text() == "yes"


@pytest.mark.slow
def test_a_bad_config_under_nproc_per_node_is_reported_once_with_exit_2(tmp_path):
    # Long enough that the signal never lands after training, while the run draws its plots and exits.
    config = tiny_config(tmp_path / "cfg", "linear_regression", {"data": {"n": 64}, "train": {"epochs": 3000}})
    with socket.socket() as probe:  # a free port: other tests use torchrun's default 29500 at the same time
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    process = learnai(
        "train",
        config,
        "train.epoch=3",
        "--nproc-per-node",
        "2",
        "--master-port",
        port,
        "--runs-dir",
        tmp_path / "runs",
    )
    code, output = finish(process, timeout=240)
    assert "Traceback" not in output and "ChildFailedError" not in output, output[-4000:]
    assert code == 2, f"exit {code}:\n{output[-3000:]}"
    assert output.count("train.epoch:") == 1, f"the error was printed {output.count('train.epoch:')} times:\n{output}"
    assert not (tmp_path / "runs").exists()
