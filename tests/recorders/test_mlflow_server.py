"""learnai against a real MLflow tracking server: the full `mlflow` package runs the server from a venv of its own
(never the project's, whose mlflow-skinny client is what is tested), found through LEARNAI_MLFLOW_SERVER. With a
password in MLFLOW_TRACKING_URI, train, sweep and tune print one JSON object on stdout, MLflow's client reads back
what metrics.csv and config.yaml hold, the password reaches no output, run file or MLflow record, and a server
stopped mid-run costs one warning while the run goes on. One server (it starts in tens of seconds) serves it all."""

from __future__ import annotations

import csv
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
import yaml

from tests.conftest import CONFIGS

pytestmark = [pytest.mark.mlflow_server, pytest.mark.slow]

SERVER_VARIABLE = "LEARNAI_MLFLOW_SERVER"  # the path of the `mlflow` executable of a venv with the full package
PASSWORD = "secret"
MLFLOW = "train.loggers=[csv, mlflow]"
TINY = [str(CONFIGS / "linear_regression.yaml"), "train.epochs=2", "data.n=200", MLFLOW]
START_LIMIT_S = 240  # how long the server may take to answer /health before the test gives up (it takes 20-40 s)
MLFLOW_WARNING = "MLflow: could not"


def _mlflow_executable() -> str:
    given = os.environ.get(SERVER_VARIABLE)
    if not given:
        pytest.skip(f"{SERVER_VARIABLE} is not set: the path of a full mlflow's `mlflow` (docs/developing.md)")
    if not os.access(given, os.X_OK):
        pytest.skip(f"{SERVER_VARIABLE}={given} is not an executable file")
    pytest.importorskip("mlflow", reason="the MLflow client is not installed (pip install -e '.[dev]')")
    return given


def _free_port() -> int:
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    return port


def _without_mlflow_settings() -> dict[str, str]:
    """This environment less the MLFLOW_* and learnai settings a developer's shell may carry."""
    dropped = ("LEARNAI_RUNS_DIR", "LEARNAI_TUNE_STORAGE")
    return {k: v for k, v in os.environ.items() if not k.startswith("MLFLOW_") and k not in dropped}


class Server:
    """`mlflow server` on 127.0.0.1 in its own process group (it starts a uvicorn worker), SQLite store and proxied
    artifacts in `folder`."""

    def __init__(self, executable: str, folder: Path):
        self.port, self.folder, self.log = _free_port(), folder, folder / "server.log"
        self.url = f"http://127.0.0.1:{self.port}"
        self.with_password = f"http://ann:{PASSWORD}@127.0.0.1:{self.port}"
        command = [executable, "server", "--host", "127.0.0.1", "--port", str(self.port), "--workers", "1"]
        command += ["--backend-store-uri", f"sqlite:///{folder / 'mlflow.db'}"]
        command += ["--artifacts-destination", str(folder / "artifacts")]
        # no background job runner (MLflow's GenAI jobs): fewer processes, a faster start
        environment = {**_without_mlflow_settings(), "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"}
        with self.log.open("w") as log:
            self.process = subprocess.Popen(
                command, stdout=log, stderr=subprocess.STDOUT, env=environment, start_new_session=True
            )

    def wait_until_healthy(self) -> None:
        deadline = time.monotonic() + START_LIMIT_S
        while time.monotonic() < deadline:
            assert self.process.poll() is None, f"mlflow server exited: {self.log.read_text()[-3000:]}"
            try:
                with urllib.request.urlopen(f"{self.url}/health", timeout=2) as answer:
                    if answer.status == 200:
                        return
            except OSError:
                time.sleep(0.25)
        self.stop()
        pytest.fail(f"mlflow server gave no /health in {START_LIMIT_S} s: {self.log.read_text()[-3000:]}")

    def stop(self, at_once: bool = False) -> None:
        """SIGTERM to the whole group, SIGKILL to whatever is left after 30 s (at once: SIGKILL, as a crash)."""
        signals = ((signal.SIGKILL, 10),) if at_once else ((signal.SIGTERM, 30), (signal.SIGKILL, 10))
        for sent, wait in signals:
            try:
                os.killpg(self.process.pid, sent)
            except ProcessLookupError:
                return
            try:
                self.process.wait(timeout=wait)
            except subprocess.TimeoutExpired:
                continue


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    started = Server(_mlflow_executable(), tmp_path_factory.mktemp("mlflow-server"))
    try:
        started.wait_until_healthy()
        yield started
    finally:
        started.stop()


def learnai_command(runs: Path, *arguments: str) -> list[str]:
    return [sys.executable, "-m", "learnai_cli", *arguments, "--runs-dir", str(runs)]


def learnai_environment(tracking_uri: str) -> dict[str, str]:
    return {**_without_mlflow_settings(), "MLFLOW_TRACKING_URI": tracking_uri}


def learnai(runs: Path, tracking_uri: str, *arguments: str) -> subprocess.CompletedProcess:
    """A real `learnai` process (its own stdout, not Typer's test runner's) against `tracking_uri`."""
    return subprocess.run(
        learnai_command(runs, *arguments),
        env=learnai_environment(tracking_uri),
        capture_output=True,
        text=True,
        timeout=600,
    )


def one_object(verb: str, done: subprocess.CompletedProcess) -> dict:
    assert done.returncode == 0 and "Traceback" not in done.stderr, (verb, done.stderr[-3000:])
    assert len(done.stdout.strip().splitlines()) == 1, (verb, done.stdout[:3000])
    assert "View run" in done.stderr, (verb, done.stderr[-3000:])  # MLflow's own line went to stderr
    payload = json.loads(done.stdout)
    assert payload["ok"], (verb, payload)
    return payload


def test_train_sweep_and_tune_against_a_real_mlflow_server(server, tmp_path):
    runs = tmp_path / "runs"
    done = {
        "train": learnai(runs, server.with_password, "train", *TINY, "--json"),
        "sweep": learnai(runs, server.with_password, "sweep", *TINY, "optimizer.lr=0.01,0.02", "--json"),
        "tune": learnai(
            runs,
            server.with_password,
            *("tune", *TINY, "optimizer.lr=choice(0.01, 0.02)", "--trials", "2", "--workers", "2", "--json"),
        ),
    }
    printed = {verb: one_object(verb, result) for verb, result in done.items()}
    from mlflow import MlflowClient

    client = MlflowClient(tracking_uri=server.url)  # the server need not enforce the password
    read_back_matches_the_run_folder(client, runs / printed["train"]["run_id"])
    for row in printed["sweep"]["rows"]:
        read_back_matches_the_run_folder(client, runs / row["run_id"])
    the_trials_are_runs_of_the_study_experiment(client, printed["tune"])
    password_is_nowhere(client, server, runs, list(done.values()))

    a_server_stopped_mid_run_costs_one_warning(server, tmp_path / "stopped")  # last: it stops the server


def read_back_matches_the_run_folder(client, run_dir: Path) -> None:
    """Every metrics.csv number at its epoch, every config.yaml key as a param, metrics.csv as an artifact."""
    meta = json.loads((run_dir / "meta.json").read_text())
    run_id = meta["mlflow"]["run_id"]
    logged = client.get_run(run_id)
    assert logged.info.status == "FINISHED" and logged.data.tags["learnai.status"] == "completed"
    assert logged.info.run_name == run_dir.name and logged.data.tags["learnai.run_id"] == run_dir.name
    with (run_dir / "metrics.csv").open(newline="") as file:
        rows = list(csv.DictReader(file))
    assert [int(row["epoch"]) for row in rows] == [1, 2]
    for column in rows[0]:
        if column in ("epoch", "step"):
            continue
        expected = [(int(row["epoch"]), float(row[column])) for row in rows if row[column] != ""]
        history = sorted((m.step, m.value) for m in client.get_metric_history(run_id, column))
        assert [step for step, _ in history] == [step for step, _ in expected], (run_dir.name, column)
        assert [value for _, value in history] == pytest.approx([value for _, value in expected], rel=1e-12)
    config = yaml.safe_load((run_dir / "config.yaml").read_text())
    from learnai_cli.config import flatten

    expected_params = {key: v if isinstance(v, str) else json.dumps(v) for key, v in flatten(config).items()}
    assert logged.data.params == expected_params
    copy = Path(client.download_artifacts(run_id, "metrics.csv", str(run_dir.parent.parent / f"dl-{run_id}")))
    assert copy.read_bytes() == (run_dir / "metrics.csv").read_bytes()  # through the server's artifact proxy


def the_trials_are_runs_of_the_study_experiment(client, tuned: dict) -> None:
    experiment = client.get_experiment_by_name(tuned["study"])
    assert experiment is not None, [e.name for e in client.search_experiments()]
    logged = client.search_runs([experiment.experiment_id])
    assert sorted(run.info.run_name for run in logged) == sorted(trial["run_id"] for trial in tuned["trials"])
    assert all(run.info.status == "FINISHED" for run in logged)


def password_is_nowhere(client, server, runs: Path, results: list[subprocess.CompletedProcess]) -> None:
    """Not in any stdout or stderr, any file of any run or study folder, nor anything the server recorded."""
    for result in results:
        assert PASSWORD not in result.stdout and PASSWORD not in result.stderr, result.stderr[-3000:]
    files = [path for path in runs.rglob("*") if path.is_file()]
    assert any(path.name == "train.log" for path in files) and any(path.name == "meta.json" for path in files)
    for path in files + [p for p in (server.folder / "artifacts").rglob("*") if p.is_file()]:
        assert PASSWORD.encode() not in path.read_bytes(), path
    experiments = client.search_experiments()
    for run in client.search_runs([experiment.experiment_id for experiment in experiments]):
        recorded = json.dumps([run.data.tags, run.data.params, run.info.artifact_uri])
        assert PASSWORD not in recorded, run.info.run_name


def a_server_stopped_mid_run_costs_one_warning(server, runs: Path) -> None:
    """The server is stopped once the run's first epoch is in metrics.csv: the run says so once (stderr and
    train.log) and trains to its end, its folder the record (docs/tracking.md, "When the store fails")."""
    epochs = 1000  # long enough (seconds) that the server is stopped while the run still has calls to make
    runs.mkdir()
    with (runs.parent / "stopped.stderr").open("w+") as stderr:  # a file: a full pipe would block the run
        process = subprocess.Popen(
            learnai_command(runs, "train", *TINY, f"train.epochs={epochs}", "data.n=1000", "--json"),
            env=learnai_environment(server.with_password),
            stdout=subprocess.PIPE,
            stderr=stderr,
            text=True,
        )
        while process.poll() is None and not _first_epoch_recorded(runs):
            time.sleep(0.02)
        assert process.poll() is None, "the run ended before the server could be stopped: give it more epochs"
        server.stop(at_once=True)  # gone between two calls, as a crashed or restarted server is
        out, _ = process.communicate(timeout=600)  # a guard against a hang, not a timing
        stderr.seek(0)
        err = stderr.read()
    assert process.returncode == 0, err[-3000:]
    summary = json.loads(out)
    run_dir = runs / summary["run_id"]
    train_log = (run_dir / "train.log").read_text()
    assert summary["status"] == "completed" and summary["epochs"] == epochs
    assert err.count(MLFLOW_WARNING) == 1 and train_log.count(MLFLOW_WARNING) == 1, err[-3000:]
    assert "which goes on" in err and "Traceback" not in err
    assert len((run_dir / "metrics.csv").read_text().splitlines()) == epochs + 1
    for text in (out, err, train_log, (run_dir / "meta.json").read_text()):
        assert PASSWORD not in text


def _first_epoch_recorded(runs: Path) -> bool:
    """metrics.jsonl has an epoch (metrics.csv is written when the run ends)."""
    return any('"type": "epoch"' in path.read_text() for path in runs.glob("*/metrics.jsonl"))
