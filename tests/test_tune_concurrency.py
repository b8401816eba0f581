"""Several `learnai tune` processes started at the same moment on one new study: it is created once, each process
joins it, and their trials draw distinct points (seeded per trial), while one process alone is reproducible."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import CONFIGS, REPO

SEARCH = [str(CONFIGS / "generalfit.yaml"), "optimizer.lr=loguniform(1e-3,1e-1)", "train.epochs=2", "data.n=100"]

# Each process does its slow imports first, says it is ready, and waits for all the others, so their study
# creations collide. With "lockless", the storage folder's lock is left out, as between machines: only the
# retries remain. With "aligned", each also waits for the others after counting the study's trials (its sampler's
# seed), so all their samplers start from one seed, as machines joining at one moment (lockless too: it is held then).
STARTER = """import contextlib, os, sys, time
from learnai_cli.cli import run
from learnai_cli.commands.tune import storage, study
import optuna, sqlalchemy.orm  # noqa: F401
barrier, count = sys.argv.pop(1), int(sys.argv.pop(1))
def wait(folder):
    os.makedirs(folder, exist_ok=True)
    open(os.path.join(folder, str(os.getpid())), "w").close()
    deadline = time.time() + 120
    while len(os.listdir(folder)) < count and time.time() < deadline:
        time.sleep(0.01)
wait(barrier)
if sys.argv[1] == "lockless":
    sys.argv.pop(1)
    storage.creation_lock = lambda url: contextlib.nullcontext()
if sys.argv[1] == "aligned":
    sys.argv.pop(1)
    make_sampler = study.make_sampler
    study.make_sampler = lambda *a: wait(barrier + "-seeded") or make_sampler(*a)
run()
"""


def started_together(arguments: list[list[str]], barrier: Path) -> list[subprocess.CompletedProcess]:
    """`learnai ARGUMENTS[i]` in one process each, all starting their command at the same moment."""
    barrier.mkdir()
    environment = {**os.environ, "PYTHONPATH": str(REPO)}
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", STARTER, str(barrier), str(len(arguments)), *command],
            cwd=REPO,
            env=environment,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for command in arguments
    ]
    done = []
    for process in processes:
        out, err = process.communicate(timeout=300)
        done.append(subprocess.CompletedProcess(process.args, process.returncode, out, err))
    return done


@pytest.mark.parametrize("scheme, lock", [("sqlite:///", "locked"), ("journal:", "locked"), ("sqlite:///", "lockless")])
def test_four_processes_starting_one_new_study_together_create_it_once(tmp_path, scheme, lock):
    """Each has its own runs root (as machines do), so only the storage is shared: no study-folder lock helps."""
    storage = f"{scheme}{tmp_path / 'shared.db'}"
    arguments = [
        [*(["lockless"] if lock == "lockless" else []), "tune", *SEARCH, "--study", "c", "--storage", storage]
        + ["--timeout", "0", "--runs-dir", str(tmp_path / f"r{i}")]
        for i in range(4)
    ]
    for result in started_together(arguments, tmp_path / "barrier"):
        assert result.returncode == 0 and "Traceback" not in result.stderr, result.stderr[-3000:]
    import optuna

    from learnai_cli.commands.tune.storage import open_storage

    summaries = optuna.get_all_study_summaries(open_storage(storage))
    assert [s.study_name for s in summaries] == ["c"]
    attrs = optuna.load_study(study_name="c", storage=open_storage(storage)).user_attrs
    assert attrs["config"] == SEARCH[0] and attrs["overrides"] == ["train.epochs=2", "data.n=100"]


def test_creation_is_retried_on_a_concurrent_creation_only_and_a_bounded_number_of_times():
    from sqlalchemy.exc import IntegrityError, OperationalError, ProgrammingError

    from learnai_cli.commands.tune.storage import CREATION_ATTEMPTS, retrying_creation

    races = [
        IntegrityError("INSERT", {}, Exception('duplicate key value violates unique constraint "studies_pkey"')),
        ProgrammingError("CREATE", {}, Exception('relation "studies" already exists')),
        OperationalError("CREATE", {}, Exception("table studies already exists")),
        IntegrityError("INSERT", {}, Exception("UNIQUE constraint failed: alembic_version.version_num")),
    ]
    calls = []

    def create():
        calls.append(1)
        if len(calls) <= len(races):
            raise races[len(calls) - 1]
        return "study"

    assert retrying_creation(create) == "study" and len(calls) == 5
    calls.clear()
    locked = OperationalError("SELECT", {}, Exception("database is locked"))
    with pytest.raises(OperationalError):  # not a race: told at once
        retrying_creation(lambda: calls.append(1) or (_ for _ in ()).throw(locked))
    assert len(calls) == 1
    calls.clear()
    with pytest.raises(IntegrityError):  # a race that never settles: told after the last try
        retrying_creation(lambda: calls.append(1) or (_ for _ in ()).throw(races[0]), attempts=3)
    assert len(calls) == 3 and CREATION_ATTEMPTS >= 5


CMAES = [str(CONFIGS / "linear_regression.yaml"), "optimizer.lr=loguniform(1e-3,1e-1)", "train.batch_size=int(16,64)"]
CMAES += ["train.epochs=1", "data.n=64", "--sampler", "cmaes", "--pruner", "none", "--study", "c"]


def sampled_points(storage: str) -> list[tuple]:
    """Each trial's point, in trial order, and how many of them CMA-ES drew (the rest came from its random sampler)."""
    import optuna

    from learnai_cli.commands.tune.storage import open_storage

    trials = optuna.load_study(study_name="c", storage=open_storage(storage)).trials
    return [(tuple(t.params.values()), "cma:generation" in t.system_attrs) for t in trials]


@pytest.mark.slow
def test_cmaes_processes_joining_one_study_together_sample_distinct_points(tmp_path, cli):
    """The study exists before the machines join it, so their samplers start from one seed (the config's and the
    study's 0 trials): CMA-ES's own generator must still draw each trial's point from that trial's number."""
    storage = f"sqlite:///{tmp_path / 'shared.db'}"
    created = cli("tune", *CMAES, "--storage", storage, "--timeout", "0", "--runs-dir", str(tmp_path / "r"))
    assert created.exit_code == 0, created.stderr  # made in this process: one start-up saved
    arguments = [
        [
            "lockless",
            "aligned",
            "tune",
            *CMAES,
            "--storage",
            storage,
            "--trials",
            "8",
            "--runs-dir",
            str(tmp_path / f"r{i}"),
        ]
        for i in range(2)
    ]
    for result in started_together(arguments, tmp_path / "barrier"):
        assert result.returncode == 0 and "Traceback" not in result.stderr, result.stderr[-3000:]
    points = sampled_points(storage)
    assert len(points) == 8 and sum(by_cma for _, by_cma in points) >= 4, points
    assert len({point for point, _ in points}) == 8, points


@pytest.mark.slow
def test_cmaes_study_is_reproducible_from_the_config_seed(tmp_path, cli):
    """One process, twice, on fresh studies: the same points, CMA-ES's included (both in this process, which also
    shows the first study leaves no random state behind that the second one's points depend on)."""
    runs = []
    for attempt in ("a", "b"):
        storage = f"sqlite:///{tmp_path / attempt}.db"
        result = cli("tune", *CMAES, "--storage", storage, "--trials", "7", "--runs-dir", str(tmp_path / attempt))
        assert result.exit_code == 0, result.stderr[-3000:]
        runs.append(sampled_points(storage))
    assert runs[0] == runs[1] and sum(by_cma for _, by_cma in runs[0]) >= 5, runs
