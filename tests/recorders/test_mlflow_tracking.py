"""train.loggers: [mlflow]: runs logged to the local store are read back through MLflow's own client, a resume
continues the same MLflow run, and a missing package or an unusable store is a clear error."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import pytest

from tests.conftest import CONFIGS, REPO, Cli

# The optional extra (in .[dev]); without it only the logger's refusal is tested.
needs_mlflow = pytest.mark.skipif(importlib.util.find_spec("mlflow") is None, reason="mlflow is not installed")
MLFLOW = "train.loggers=[csv, mlflow]"


@pytest.fixture(scope="module")
def local_store(tmp_path_factory):
    """One runs root (so one SQLite store, whose first use builds its tables) for the tests that train."""
    with pytest.MonkeyPatch.context() as patch:
        patch.delenv("MLFLOW_TRACKING_URI", raising=False)
        patch.delenv("MLFLOW_EXPERIMENT_NAME", raising=False)
        runs = tmp_path_factory.mktemp("mlflow") / "runs"
        runs.mkdir()  # there before any test: one that looks at what a run adds around it may come first
        yield Cli(runs)


def client_for(runs_dir):
    from mlflow import MlflowClient

    return MlflowClient(tracking_uri=f"sqlite:///{(runs_dir / 'mlflow.db').resolve()}")


def history(client, run_id: str, metric: str) -> list[tuple[int, float]]:
    return [(m.step, m.value) for m in client.get_metric_history(run_id, metric)]


@pytest.mark.slow
@needs_mlflow
def test_a_run_and_its_resume_read_back_through_the_mlflow_client(local_store):
    cli, runs_dir = local_store, local_store.runs_dir
    trained = cli.json("train", CONFIGS / "toy_classes.yaml", "train.epochs=2", MLFLOW)
    meta = json.loads((runs_dir / trained["run_id"] / "meta.json").read_text())
    client, mlflow_id = client_for(runs_dir), meta["mlflow"]["run_id"]
    assert trained["mlflow"] == meta["mlflow"]  # the summary names the MLflow run
    logged = client.get_run(mlflow_id)
    assert logged.info.status == "FINISHED" and logged.info.run_name == trained["run_id"]
    assert logged.data.tags["learnai.status"] == "completed" and logged.data.tags["learnai.run_id"] == trained["run_id"]
    assert logged.data.tags["learnai.version"] and "mlflow.source.git.commit" in logged.data.tags
    params = logged.data.params
    assert params["train.epochs"] == "2" and params["optimizer.lr"] == "0.01" and params["model.hidden"] == "[5]"
    assert [step for step, _ in history(client, mlflow_id, "val_loss")] == [1, 2]
    assert history(client, mlflow_id, "val_loss")[-1][1] == pytest.approx(trained["final"]["val_loss"])
    assert logged.data.metrics["best_val_accuracy"] == pytest.approx(trained["best"]["value"])
    files = {a.path for folder in ("", "plots", "checkpoints") for a in client.list_artifacts(mlflow_id, folder)}
    assert {"config.yaml", "metrics.csv", "plots/loss.png", "checkpoints/best.pt"} <= files

    resumed = cli.json("train", "--resume", trained["run_id"], "train.epochs=3")
    again = client.get_run(mlflow_id)
    assert resumed["status"] == "completed" and again.info.status == "FINISHED"
    assert [step for step, _ in history(client, mlflow_id, "val_loss")] == [1, 2, 3]  # the same MLflow run goes on
    assert again.data.params["train.epochs"] == "2" and again.data.tags["learnai.train.epochs"] == "3"
    cli.json("train", "--resume", trained["run_id"], "train.epochs=4")
    best = history(client, mlflow_id, "best_val_accuracy")
    assert len(best) == len(set(best)) >= 1  # each end logs the best once, not again when a resume found no better
    assert len(client.search_runs([logged.info.experiment_id])) == 1


@pytest.mark.slow
@needs_mlflow
def test_a_diverged_run_is_a_failed_mlflow_run(local_store):
    cli, runs_dir = local_store, local_store.runs_dir
    diverging = ("optimizer.name=sgd", "optimizer.lr=1e6", "train.epochs=2", "train.log_every_steps=1", MLFLOW)
    assert cli("train", CONFIGS / "linear_regression.yaml", *diverging).exit_code == 1
    [run_id] = [row["id"] for row in cli.json("runs", "--status", "diverged")["runs"]]
    logged = client_for(runs_dir).get_run(json.loads((runs_dir / run_id / "meta.json").read_text())["mlflow"]["run_id"])
    assert logged.info.status == "FAILED" and logged.data.tags["learnai.status"] == "diverged"
    assert "learning rate" in logged.data.tags["learnai.message"]


@pytest.mark.slow
@needs_mlflow
def test_the_trials_of_a_study_are_runs_of_one_experiment_named_after_the_study(local_store):
    """Each trial trains under its own name (<name>_trial<N>): as the experiment, that made one per trial."""
    cli, runs_dir = local_store, local_store.runs_dir
    searched = ("optimizer.lr=choice(0.01, 0.02)", "--trials", "2", "--study", "lr-study", "train.epochs=1", MLFLOW)
    tuned = cli.json("tune", CONFIGS / "toy_classes.yaml", *searched)
    assert tuned["counts"] == {"completed": 2}
    client = client_for(runs_dir)
    experiment = client.get_experiment_by_name("lr-study")
    assert experiment is not None, [e.name for e in client.search_experiments()]
    logged = client.search_runs([experiment.experiment_id])
    assert sorted(run.info.run_name for run in logged) == sorted(trial["run_id"] for trial in tuned["trials"])
    assert {run.data.tags["learnai.study"] for run in logged} == {"lr-study"}
    assert not [e.name for e in client.search_experiments() if "_trial" in e.name]


@needs_mlflow
def test_an_unusable_tracking_store_fails_the_run_before_training_and_dry_runs_send_nothing(cli, monkeypatch):
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "nosuchscheme://tracking.example")
    assert cli("train", CONFIGS / "toy_classes.yaml", MLFLOW, "--dry-run").exit_code == 0
    result = cli("train", CONFIGS / "toy_classes.yaml", "train.epochs=2", MLFLOW)
    assert result.exit_code == 1 and "MLflow tracking store nosuchscheme://tracking.example" in result.stderr
    assert "Traceback" not in result.stderr
    [row] = cli.json("runs")["runs"]
    assert row["status"] == "failed" and row["epochs"] == 0


def test_without_mlflow_installed_the_logger_is_refused_with_the_install_command(cli, monkeypatch):
    monkeypatch.setitem(sys.modules, "mlflow", None)  # what Python does for a package that cannot be imported
    result = cli("config", CONFIGS / "toy_classes.yaml", MLFLOW)
    assert result.exit_code == 2 and "pip install 'learnai[mlflow]'" in result.stderr


@pytest.fixture
def silent_server():
    """A TCP listener on 127.0.0.1 that accepts connections (the kernel does, from its backlog) and never answers."""
    import socket

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    yield listener.getsockname()[1]
    listener.close()


@pytest.fixture
def refused_port() -> int:
    import socket

    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()  # nothing listens there now
    return port


@pytest.fixture
def health_only_server():
    """An HTTP server that answers the health check at once but leaves every API call waiting (a hung server)."""
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    release = threading.Event()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            if self.path.endswith("/health"):
                self.send_response(200)
                self.end_headers()
                self.wfile.write(b"OK")
            else:
                release.wait(60)

        do_POST = do_GET

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server.server_address[1]
    release.set()
    server.shutdown()
    server.server_close()


def test_a_tracking_server_has_the_documented_five_seconds_to_answer_the_check():
    """The tests below shorten the wait (a silent server costs them the whole of it); the default is the docs'."""
    from learnai_cli.recorders import mlflow_tracking

    assert mlflow_tracking.CHECK_SECONDS == 5.0
    assert "give any HTTP answer within 5 seconds" in " ".join((REPO / "docs" / "tracking.md").read_text().split())


@needs_mlflow
@pytest.mark.parametrize(
    "kind,said",
    [
        ("silent", "it sent no answer within 0.5 s"),
        ("refused", "nothing listens there (connection refused)"),
        ("silent-https", "it sent no answer within 0.5 s"),
    ],
)
@pytest.mark.parametrize("command", ["train", "config"])
def test_a_tracking_server_that_does_not_answer_is_refused_before_training(
    cli, runs_dir, monkeypatch, silent_server, refused_port, kind, said, command
):
    from learnai_cli.recorders import mlflow_tracking

    monkeypatch.setattr(mlflow_tracking, "CHECK_SECONDS", 0.5)  # the real check, a tenth of the wait (default above)
    port = refused_port if kind == "refused" else silent_server
    scheme = "https" if kind.endswith("https") else "http"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"{scheme}://ann:s3cret@127.0.0.1:{port}/team")
    result = cli(command, CONFIGS / "toy_classes.yaml", MLFLOW, "--json")
    assert result.exit_code == 2, result.output
    message = " ".join(result.stderr.split())
    assert f"MLflow tracking server {scheme}://ann:***@127.0.0.1:{port}/team (MLFLOW_TRACKING_URI): {said}" in message
    assert "train.loggers=[csv]" in message and "s3cret" not in result.output
    assert json.loads(result.stdout)["exit_code"] == 2
    assert not runs_dir.exists() or not any(runs_dir.iterdir())  # no run folder: nothing started


@needs_mlflow
def test_a_server_that_hangs_after_the_check_fails_the_start_within_the_bound_and_hides_the_password(
    cli, runs_dir, monkeypatch, health_only_server
):
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"http://ann:s3cret@127.0.0.1:{health_only_server}")
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_TIMEOUT", "1")  # the user's own setting wins over learnai's bound
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    result = cli("train", CONFIGS / "toy_classes.yaml", MLFLOW, "--json")
    assert result.exit_code == 1 and "could not start: MLflow tracking store" in result.stderr, result.output
    payload = json.loads(result.stdout)
    [run_dir] = list(runs_dir.iterdir())
    meta = (run_dir / "meta.json").read_text()
    for text in (result.stdout, result.stderr, meta, (run_dir / "train.log").read_text()):
        assert "s3cret" not in text
    assert payload["run_id"] == run_dir.name and json.loads(meta)["status"] == "failed"


def test_what_mlflow_prints_when_a_run_ends_has_the_urls_password_hidden(capsys):
    """MLflow's set_terminated prints `View run ... at <MLFLOW_TRACKING_URI>/#/...` with the URI as given; the
    logger ends its runs inside this (tests/recorders/test_mlflow_server.py sees it with a real server)."""
    from learnai_cli.recorders.mlflow_tracking import credentials_hidden_in_prints

    with credentials_hidden_in_prints():
        sys.stdout.write("🏃 View run r at: http://ann:s3cret@127.0.0.1:5000/#/experiments/1/runs/x\n")
        print("🧪 View experiment at: https://token@mlflow.example/#/experiments/1")
    out = capsys.readouterr().out
    assert "s3cret" not in out and "token" not in out
    assert out.splitlines() == [
        "🏃 View run r at: http://***@127.0.0.1:5000/#/experiments/1/runs/x",
        "🧪 View experiment at: https://***@mlflow.example/#/experiments/1",
    ]


def test_the_documented_mlflow_server_is_the_version_of_the_client():
    """docs/developing.md's venv for test_mlflow_server.py installs the mlflow that matches mlflow-skinny."""
    import re

    [version] = re.findall(r"^mlflow-skinny==(\S+)$", (REPO / "constraints.txt").read_text(), re.MULTILINE)
    assert f"pip install mlflow=={version} " in (REPO / "docs" / "developing.md").read_text()


def test_learnai_bounds_mlflow_http_calls_unless_the_user_set_them(monkeypatch):
    from learnai_cli.recorders.mlflow_tracking import bound_http_calls

    for name in (
        "MLFLOW_HTTP_REQUEST_TIMEOUT",
        "MLFLOW_HTTP_REQUEST_MAX_RETRIES",
        "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR",
    ):
        monkeypatch.setenv(name, "x")
        monkeypatch.delenv(name)  # restored (absent) after the test
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "3")
    bound_http_calls()
    import os

    assert os.environ["MLFLOW_HTTP_REQUEST_TIMEOUT"] == "10" and os.environ["MLFLOW_HTTP_REQUEST_MAX_RETRIES"] == "3"


@pytest.mark.slow
@needs_mlflow
@pytest.mark.parametrize("name", ["../../escaped", "/ABSOLUTE", "a/b", "..", "with space and ü"])
def test_an_experiment_name_is_a_name_never_a_path(local_store, monkeypatch, tmp_path, name):
    cli, runs_dir = local_store, local_store.runs_dir
    name = name.replace("/ABSOLUTE", str(tmp_path / "absolute"))
    monkeypatch.setenv("MLFLOW_EXPERIMENT_NAME", name)
    around = (runs_dir.parent, runs_dir.parent.parent)
    before = [set(folder.iterdir()) for folder in around]
    trained = cli.json("train", CONFIGS / "toy_classes.yaml", "train.epochs=1", MLFLOW)
    assert trained["status"] == "completed"
    assert [set(folder.iterdir()) for folder in around] == before and not (tmp_path / "absolute").exists()
    client = client_for(runs_dir)
    experiment = client.get_experiment_by_name(name)  # MLflow keeps the name as given
    location = Path(experiment.artifact_location.removeprefix("file://"))
    assert location.parent == (runs_dir / "mlartifacts").resolve(), location
    files = {a.path for a in client.list_artifacts(trained["mlflow"]["run_id"])}
    assert "config.yaml" in files and not list(tmp_path.rglob("config.yaml"))


@pytest.fixture
def not_found_server():
    """An HTTP server that answers every request at once with 404: it answers, so the check lets the run start."""
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(404)
            self.send_header("Content-Length", "0")
            self.end_headers()

        do_POST = do_GET

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


@needs_mlflow
def test_any_http_answer_passes_the_check_and_an_unknown_host_does_not(cli, runs_dir, monkeypatch, not_found_server):
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"http://ann:s3cret@127.0.0.1:{not_found_server}")
    result = cli("train", CONFIGS / "toy_classes.yaml", MLFLOW)
    assert result.exit_code == 1 and "could not start: MLflow tracking store" in result.stderr, result.output
    assert "s3cret" not in result.output
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://ann:s3cret@no-such-host.invalid:5000")
    result = cli("config", CONFIGS / "toy_classes.yaml", MLFLOW)
    assert result.exit_code == 2 and "http://ann:***@no-such-host.invalid:5000" in result.stderr, result.output
    assert "cannot reach it" in result.stderr and "s3cret" not in result.output
