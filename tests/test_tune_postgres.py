"""learnai tune against a real PostgreSQL server: a throwaway cluster made in a temporary folder, listening only on
a unix socket there, with a password. Two processes started together share one study and one runs root."""

from __future__ import annotations

import glob
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from tests.conftest import CONFIGS, REPO
from tests.test_tune_concurrency import started_together

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

USER, PASSWORD = "learnai", "pg-s3cret-7f3a"
BINARIES = sorted(glob.glob("/usr/lib/postgresql/*/bin"))
SEARCH = [str(CONFIGS / "generalfit.yaml"), "optimizer.lr=loguniform(1e-3,1e-1)", "train.epochs=2", "data.n=100"]


def _server_bin() -> Path:
    found = [Path(b) for b in BINARIES if (Path(b) / "initdb").exists() and (Path(b) / "pg_ctl").exists()]
    if not found:
        pytest.skip("no initdb/pg_ctl under /usr/lib/postgresql/*/bin (apt-get install postgresql)")
    pytest.importorskip("psycopg2", reason="psycopg2 is not installed (pip install psycopg2-binary)")
    pytest.importorskip("optuna")
    return found[-1]


def _as_owner(command: list[str]) -> list[str]:
    """PostgreSQL refuses to run as root: as root, run its tools as the `postgres` user."""
    if os.geteuid() != 0:
        return command
    if shutil.which("runuser") is None:
        pytest.skip("running as root without runuser: cannot start PostgreSQL as the postgres user")
    return ["runuser", "-u", "postgres", "--", *command]


@pytest.fixture
def postgres_url():
    """A started cluster's URL (password included); the cluster is stopped and removed at teardown, always."""
    binaries = _server_bin()
    # Not tmp_path: pytest's folder is private to root (the postgres user could not enter it), and a unix socket's
    # path must stay under about 100 characters.
    folder = Path(tempfile.mkdtemp(prefix="learnai-pg-"))
    data, sockets = folder / "data", folder / "sock"
    sockets.mkdir()
    (folder / "password").write_text(PASSWORD + "\n")
    if os.geteuid() == 0:
        shutil.chown(folder, "postgres", "postgres")
        shutil.chown(sockets, "postgres", "postgres")
        shutil.chown(folder / "password", "postgres", "postgres")
    pg_ctl = [str(binaries / "pg_ctl"), "-D", str(data)]
    try:
        subprocess.run(
            _as_owner([str(binaries / "initdb"), "-D", str(data), "-U", USER, "--pwfile", str(folder / "password")])
            + ["--auth", "scram-sha-256"],
            check=True,
            capture_output=True,
        )
        server = f"-c listen_addresses='' -c unix_socket_directories={sockets}"
        started = subprocess.run(
            _as_owner([*pg_ctl, "-o", server, "-l", str(folder / "server.log"), "-w", "start"]), capture_output=True
        )
        assert started.returncode == 0, (started.stderr, (folder / "server.log").read_text(errors="replace"))
        yield f"postgresql+psycopg2://{USER}:{PASSWORD}@/postgres?host={sockets}"
    finally:
        subprocess.run(_as_owner([*pg_ctl, "-m", "fast", "-w", "stop"]), capture_output=True)
        shutil.rmtree(folder, ignore_errors=True)


def _trial_files(runs: Path) -> list[Path]:
    return sorted(p for p in runs.glob("*/*") if p.name in ("meta.json", "train.log"))


def test_two_processes_on_one_postgres_study_run_exactly_the_trials_asked_and_never_show_the_password(
    tmp_path, postgres_url
):
    import optuna

    from learnai_cli.commands.tune.storage import open_storage

    trials, runs = 5, tmp_path / "runs"
    arguments = [["tune", *SEARCH, "--study", "pg", "--storage", postgres_url, "--trials", str(trials)]] * 2
    results = started_together([[*a, "--runs-dir", str(runs)] for a in arguments], tmp_path / "barrier")
    for result in results:
        assert result.returncode == 0 and "Traceback" not in result.stderr, result.stderr[-3000:]
        assert PASSWORD not in result.stdout + result.stderr

    study = optuna.load_study(study_name="pg", storage=open_storage(postgres_url))
    assert len(study.trials) == trials and all(t.state.name == "COMPLETE" for t in study.trials)
    run_ids = [t.user_attrs.get("run_id") for t in study.trials]
    assert None not in run_ids and len(set(run_ids)) == trials, run_ids
    assert sorted(p.name for p in runs.iterdir() if (p / "meta.json").exists()) == sorted(run_ids)
    files = _trial_files(runs)
    assert len(files) == 2 * trials
    for path in files:
        assert PASSWORD not in path.read_text(errors="replace"), path

    _interrupted_run_shows_a_masked_continue_command(postgres_url, runs, len(files) // 2)


def _interrupted_run_shows_a_masked_continue_command(url: str, runs: Path, runs_before: int) -> None:
    """Ctrl-C once a trial trains: the printed command to continue names the storage with its password masked."""
    command = [
        sys.executable,
        "-c",
        "from learnai_cli.cli import run; run()",
        "tune",
        *SEARCH[:2],
        "train.epochs=200",
        "data.n=2000",
    ]
    process = subprocess.Popen(
        [*command, "--study", "slow", "--storage", url, "--trials", "50", "--runs-dir", str(runs)],
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    while len(list(runs.glob("*/train.log"))) <= runs_before and process.poll() is None:
        time.sleep(0.05)
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=300)
    assert process.returncode == 130 and "continue it with" in err, err[-3000:]
    assert "--storage 'postgresql+psycopg2://***@/postgres?host=" in err and PASSWORD not in out + err
    for path in _trial_files(runs):
        assert PASSWORD not in path.read_text(errors="replace"), path
