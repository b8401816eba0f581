"""train.loggers: [mlflow]: the run's params, epoch metrics, tags, status and files in an MLflow tracking store.

The store is MLFLOW_TRACKING_URI when set (a team's server), else a SQLite database in the runs root (MLflow's own
default kind of local store since its file store was deprecated). The run directory stays the record; MLflow gets a
copy. A `--resume` continues the same MLflow run, whose id meta.json keeps.
"""

from __future__ import annotations

import http.client
import importlib.util
import logging
import os
import re
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator, Optional
from urllib.parse import urlsplit, urlunsplit

from learnai_cli import __version__
from learnai_cli.config import flatten
from learnai_cli.engine.callbacks import Callback
from learnai_cli.errors import ConfigError, RunFailed, UsageError, first_line, hide_credentials
from learnai_cli.log import logger
from learnai_cli.numbers import is_number
from learnai_cli.rundir import MLFLOW_ARTIFACTS, MLFLOW_STORE, RunDir

# learnai's statuses as MLflow's run statuses; the exact one is also the tag learnai.status.
# a pruned trial ended as its study meant it to (early, by the pruner): finished, with learnai.status saying pruned
MLFLOW_STATUS = {
    "completed": "FINISHED",
    "pruned": "FINISHED",
    "failed": "FAILED",
    "diverged": "FAILED",
    "interrupted": "KILLED",
}
TAGGED_META = ("sweep", "label", "study", "trial")  # meta.json fields that group runs: copied as learnai.<field> tags
PARAMS_PER_CALL, METRICS_PER_CALL = 100, 1000  # MLflow's limits on one log_batch
# Epoch metrics are sent at most this often (and at the end): a SQLite commit costs tens of ms, and the curriculum's
# runs have thousands of sub-millisecond epochs.
SEND_SECONDS = 2.0
MAX_PARAM_CHARS = 6000  # MLflow's limit on a param value
CHECK_SECONDS = 5.0  # how long a tracking server has to answer the check before the run
# later calls: 10 s a try, one retry after 1 s (MLflow's defaults wait minutes); set these yourself to change them
HTTP_LIMITS = {
    "MLFLOW_HTTP_REQUEST_TIMEOUT": "10",
    "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "1",
    "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR": "1",
}


def require_mlflow() -> None:
    """Exit 2 with the install command when the logger cannot work here, or with what to do when the tracking server
    does not answer (checked before anything is built)."""
    needed = ["mlflow"] if os.environ.get("MLFLOW_TRACKING_URI") else ["mlflow", "sqlalchemy", "alembic"]
    missing = [name for name in needed if not _installed(name)]
    if missing:
        raise ConfigError(
            f"train.loggers: mlflow needs {', '.join(missing)} (not installed): pip install 'learnai[mlflow]' (or "
            "pip install mlflow)"
        )
    if os.environ.get("MLFLOW_TRACKING_URI"):
        check_tracking_server(os.environ["MLFLOW_TRACKING_URI"])


def _installed(package: str) -> bool:
    try:
        return importlib.util.find_spec(package) is not None
    except (ImportError, ValueError):  # a broken installation counts as missing
        return False


def tracking_uri(root: Path) -> str:
    """MLFLOW_TRACKING_URI when set, else the SQLite store in the runs root."""
    return os.environ.get("MLFLOW_TRACKING_URI") or f"sqlite:///{(root / MLFLOW_STORE).resolve()}"


def shown_uri(uri: str) -> str:
    """The URI without a password, for meta.json and messages."""
    parts = urlsplit(uri)
    if parts.password is None:
        return uri
    return urlunsplit(parts._replace(netloc=f"{parts.username}:***@{parts.hostname}:{parts.port or ''}".rstrip(":")))


def check_tracking_server(uri: str) -> None:
    """An http(s) tracking server must answer within CHECK_SECONDS (any HTTP answer will do, an error status too),
    else a UsageError saying what to do: MLflow's own client would retry a refused connection for minutes, and wait
    on a server that accepted and never answers for longer, while the run shows `running`. The check goes through
    the proxies the environment names (HTTPS_PROXY, NO_PROXY), as MLflow's calls do."""
    import urllib.error
    import urllib.request

    parts = urlsplit(uri)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return  # a database or file store: MLflow opens it at the start of the run
    netloc = parts.hostname if parts.port is None else f"{parts.hostname}:{parts.port}"  # no credentials in it
    health = urlunsplit((parts.scheme, netloc, parts.path.rstrip("/") + "/health", "", ""))
    try:
        with urllib.request.urlopen(health, timeout=CHECK_SECONDS) as answer:
            answer.read(1024)
        return
    except urllib.error.HTTPError:
        return  # it answered (401, 404, ...): MLflow's own calls say more if it is not a tracking server
    except (urllib.error.URLError, OSError, http.client.HTTPException) as error:
        problem = _unreachable(getattr(error, "reason", error))
    raise UsageError(
        f"MLflow tracking server {shown_uri(uri)} (MLFLOW_TRACKING_URI): {problem}; start the server, correct "
        "MLFLOW_TRACKING_URI (unset it for the local store in the runs root), or train without MLflow: "
        "train.loggers=[csv]"
    )


def _unreachable(reason) -> str:
    if isinstance(reason, TimeoutError):  # socket.timeout is TimeoutError
        return f"it sent no answer within {CHECK_SECONDS:g} s"
    if isinstance(reason, ConnectionRefusedError):
        return "nothing listens there (connection refused)"
    return f"cannot reach it ({hide_credentials(first_line(reason))})"


def bound_http_calls() -> None:
    """Every later call to a tracking server gives up after about half a minute (MLflow's defaults: 120 s a try, 7
    retries with backoff); the user's own MLFLOW_HTTP_REQUEST_* settings win."""
    for name, value in HTTP_LIMITS.items():
        os.environ.setdefault(name, value)


def artifact_folder(name: str) -> str:
    """The folder of an experiment's artifacts in the runs root: a name is never a path (`../x`, `/etc`), so any
    character but letters, digits, '.', '_' and '-' becomes '_', with a short hash of the name when it changed."""
    import hashlib

    safe = re.sub(r"[^A-Za-z0-9._-]", "_", name).strip(".") or "experiment"
    if safe == name:
        return safe
    return f"{safe[:80]}-{hashlib.sha256(name.encode()).hexdigest()[:8]}"


class MlflowLogger(Callback):
    """Starts (or continues) the MLflow run at construction; logs each epoch; `record_end` sets the status and
    copies config, metrics, plots and best.pt. A store that fails mid-run costs a warning, never the training."""

    def __init__(self, run: RunDir, resolved_config: dict[str, Any]):
        self.run, self.uri, self.failed = run, tracking_uri(run.path.parent), False
        self.unsent: list[dict[str, Any]] = []  # epoch records not yet sent
        self.last_sent = 0.0  # the first epoch goes at once, so the run shows its first numbers early
        bound_http_calls()
        try:
            self.client = _client(self.uri)
            self.run_id = self._continue_or_start(resolved_config)
        except Exception as error:  # an unreachable server, a bad URI, a store MLflow refuses: before any step
            reason = hide_credentials(first_line(error))  # MLflow's text repeats the URL, password and all
            raise RunFailed(
                f"run {run.id} could not start: MLflow tracking store {shown_uri(self.uri)}: {reason}; check the "
                "store (MLFLOW_TRACKING_URI), or train without MLflow: train.loggers=[csv]"
            )

    def _continue_or_start(self, resolved_config: dict[str, Any]) -> str:
        meta = self.run.meta(strict=False)
        saved = meta.get("mlflow") or {}
        if saved.get("run_id") and saved.get("tracking_uri") == shown_uri(self.uri) and self._exists(saved["run_id"]):
            run_id = saved["run_id"]
            self.client.update_run(run_id, status="RUNNING")
            self._log_params(run_id, resolved_config)
        else:  # a new run, or a resume into another store (or after its run was purged): it gets the epochs so far
            run_id = self._start(resolved_config, meta)
            self._log_params(run_id, resolved_config)
            self._log_epochs(run_id, self.run.epoch_records())
        self.client.set_tag(run_id, "learnai.status", "running")
        experiment_id = self.client.get_run(run_id).info.experiment_id
        self.run.update_meta(
            mlflow={"tracking_uri": shown_uri(self.uri), "experiment_id": experiment_id, "run_id": run_id}
        )
        return run_id

    def _exists(self, run_id: str) -> bool:
        from mlflow.exceptions import MlflowException

        try:
            self.client.get_run(run_id)
            return True
        except MlflowException as error:
            if error.error_code == "RESOURCE_DOES_NOT_EXIST":
                return False
            raise

    def _start(self, resolved_config: dict[str, Any], meta: dict[str, Any]) -> str:
        # a tune trial trains as <name>_trial<N>: its study is the experiment, so a study's trials sit together
        default = meta.get("study") or resolved_config["name"]
        experiment_id = self._experiment(os.environ.get("MLFLOW_EXPERIMENT_NAME") or default)
        tags = {
            "mlflow.runName": self.run.id,
            "mlflow.source.name": "learnai train",
            "learnai.run_id": self.run.id,
            "learnai.run_dir": str(self.run.path.resolve()),
            "learnai.version": __version__,
            **({"mlflow.source.git.commit": meta["git_commit"]} if meta.get("git_commit") else {}),
            **{f"learnai.{key}": str(meta[key]) for key in TAGGED_META if meta.get(key) is not None},
        }
        return self.client.create_run(experiment_id, run_name=self.run.id, tags=tags).info.run_id

    def _experiment(self, name: str) -> str:
        """The experiment's id, creating it (its artifacts beside the runs, for the local store) on first use."""
        from mlflow.exceptions import MlflowException

        found = self.client.get_experiment_by_name(name)
        if found is not None:
            return found.experiment_id
        local = not os.environ.get("MLFLOW_TRACKING_URI")
        location = (
            (self.run.path.parent / MLFLOW_ARTIFACTS / artifact_folder(name)).resolve().as_uri() if local else None
        )
        try:
            return self.client.create_experiment(name, artifact_location=location)
        except MlflowException:  # another process created it meanwhile
            return self.client.get_experiment_by_name(name).experiment_id

    def _log_params(self, run_id: str, resolved_config: dict[str, Any]) -> None:
        """The flattened config; on a resume only keys not yet logged (MLflow refuses changing a param: an extended
        train.epochs becomes the tag learnai.train.epochs)."""
        from mlflow.entities import Param

        logged = self.client.get_run(run_id).data.params
        values = {key: _param_text(value) for key, value in flatten(resolved_config).items()}
        for key, value in values.items():
            if key in logged and logged[key] != value:
                self.client.set_tag(run_id, f"learnai.{key}", value)
        new = [Param(key, value) for key, value in values.items() if key not in logged]
        for start in range(0, len(new), PARAMS_PER_CALL):
            self.client.log_batch(run_id, params=new[start : start + PARAMS_PER_CALL])

    def _log_epochs(self, run_id: str, records: list[dict[str, Any]]) -> None:
        from mlflow.entities import Metric

        now = int(time.time() * 1000)
        metrics = [
            Metric(key, float(value), now, int(record["epoch"]))
            for record in records
            for key, value in record.items()
            if key not in ("type", "epoch", "step") and is_number(value)
        ]
        for start in range(0, len(metrics), METRICS_PER_CALL):
            self.client.log_batch(run_id, metrics=metrics[start : start + METRICS_PER_CALL])

    def on_epoch_end(self, trainer, record: dict[str, Any]) -> None:
        self.unsent.append(record)
        if time.monotonic() - self.last_sent >= SEND_SECONDS:
            self._send()

    def on_fit_end(self, trainer, status: str) -> None:
        self._send()

    def _send(self) -> None:
        records, self.unsent, self.last_sent = self.unsent, [], time.monotonic()
        if records:
            self._safely("log epoch metrics", lambda: self._log_epochs(self.run_id, records))

    def record_end(self, meta: dict[str, Any], plots: list[str]) -> None:
        """After the run's own files are final: status, best value, and the files as artifacts."""
        status = meta.get("status", "failed")
        best = meta.get("best") or {}
        self._safely("log the run's files", lambda: self._log_files(plots))
        if isinstance(best.get("value"), (int, float)) and isinstance(best.get("metric"), str):
            best_step = best.get("epoch") or 0
            self._safely("log the best value", lambda: self._log_best(best["metric"], best["value"], best_step))
        self._safely("set the status", lambda: self._end(status, meta.get("message") or ""))

    def _log_files(self, plots: list[str]) -> None:
        run = self.run
        for path, folder in (
            (run.config_path, None),
            (run.metrics_csv_path, None),
            (run.best_checkpoint, run.checkpoints.name),
        ):
            if path.is_file():
                self.client.log_artifact(self.run_id, str(path), folder)
        for plot in plots:
            self.client.log_artifact(self.run_id, plot, run.plots.name)

    def _log_best(self, metric: str, value: float, epoch: int) -> None:
        history = self.client.get_metric_history(self.run_id, f"best_{metric}")
        if history and (history[-1].step, history[-1].value) == (int(epoch), float(value)):
            return  # a resume that found no better epoch: the best is already there once
        self.client.log_metric(self.run_id, f"best_{metric}", float(value), step=int(epoch))

    def _end(self, status: str, message: str) -> None:
        self.client.set_tag(self.run_id, "learnai.status", status)
        if message:
            self.client.set_tag(self.run_id, "learnai.message", message[:5000])
        with credentials_hidden_in_prints():  # MLflow then prints "View run ... at <the tracking URI>"
            self.client.set_terminated(self.run_id, status=MLFLOW_STATUS.get(status, "FAILED"))

    def _safely(self, what: str, action) -> None:
        """Run one MLflow call; after a first failure warn once and stop sending (the run files are the record)."""
        if self.failed:
            return
        try:
            action()
        except Exception as error:
            self.failed = True
            reason = hide_credentials(first_line(error))  # a database error carries its SQL on the following lines
            warning = (
                f"MLflow: could not {what} ({shown_uri(self.uri)}: {reason}); no more is sent to it for this run, "
                "which goes on (its run folder is the record)"
            )
            logger.warning(warning)
            self.run.log(f"warning: {warning}")


@contextmanager
def credentials_hidden_in_prints() -> Iterator[None]:
    """What is written to sys.stdout meanwhile goes there afterwards with every URL's user and password hidden:
    MLflow's `View run ... at http://user:password@host/...` lines repeat MLFLOW_TRACKING_URI as given."""
    import contextlib
    import io

    caught = io.StringIO()
    try:
        with contextlib.redirect_stdout(caught):
            yield
    finally:
        shown = hide_credentials(caught.getvalue())
        if shown:
            sys.stdout.write(shown)
            sys.stdout.flush()


def _client(uri: str):
    """An MlflowClient for `uri`, with MLflow's start-up chatter (database migrations) kept off the terminal."""
    from mlflow import MlflowClient

    for name in ("mlflow", "alembic"):
        logging.getLogger(name).setLevel(logging.WARNING)
    return MlflowClient(tracking_uri=uri)


def _param_text(value: Optional[Any]) -> str:
    import json

    text = value if isinstance(value, str) else json.dumps(value)
    return text if len(text) <= MAX_PARAM_CHARS else text[: MAX_PARAM_CHARS - 3] + "..."
