"""learnai tune: a search space checked before any trial, trials as normal runs, pruning, continuing, workers."""

from __future__ import annotations

import csv
import json
import os
import re
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from learnai_cli.commands.tune.search_space import corner_overrides, override, parse
from learnai_cli.errors import UsageError
from tests.conftest import CONFIGS, REPO

TINY = ["train.epochs=3", "data.n=200"]


def test_search_expressions_parse_and_write_values_the_config_reads_back():
    assert parse("optimizer.lr=loguniform(1e-4, 1e-1)").kind == "loguniform"
    hidden = parse("model.hidden=choice([32],[64,32])")
    assert hidden.choices == ([32], [64, 32]) and override("model.hidden", [64, 32]) == "model.hidden=[64, 32]"
    assert parse("train.batch_size=int(16,64)").corners() == [16, 64]
    assert override("optimizer.lr", 1e-05) == "optimizer.lr=1.0e-05"  # '1e-05' would read back as a string in YAML
    corners = corner_overrides([parse("a=uniform(0,0.5)"), parse("b=choice(x,y,z)")])
    inside = "a=0.15915494309189535"  # a fractional value between the bounds: a float range over an integer key fails
    assert corners == [["a=0.0", "b=x"], ["a=0.5", "b=x"], [inside, "b=x"], ["a=0.0", "b=y"], ["a=0.0", "b=z"]]
    for bad, says in [
        ("optimizer.lr=loguniform(0,1)", "0 < a"),
        ("optimizer.lr=uniform(1,0)", "a < b"),
        ("optimizer.lr=lognormal(1,2)", "Did you mean 'loguniform'"),
        ("train.batch_size=int(1.5,3)", "two integers"),
        ("model.hidden=choice()", "one or more values"),
        ("=choice(1)", "key.path=function"),
    ]:
        with pytest.raises(UsageError, match=says):
            parse(bad)


@pytest.mark.parametrize(
    "arguments, says",
    [
        (["optimizer.lrr=loguniform(1e-4,1e-1)"], "Did you mean 'lr'"),
        (["train.batch_sise=choice(32,64)"], "Did you mean 'batch_size'"),
        (["optimizer.lr=loguniform(1e-4,abc)"], "two numbers"),
        (["optimizer.lr=loguniform(1e-3,1"], "'loguniform(1e-3,1' has no closing ')'"),
        (["optimizer.lrr=uniform(0.1,1)"], "[from search expression 'optimizer.lrr=uniform(0.1,1)' (command line)"),
        (["train.batch_size=choice(32,-1)"], "train.batch_size"),  # a choice the config cannot take
        (["optimizer.lr=uniform(0.001,0.1)", "--sampler", "grid"], "--sampler grid needs choice"),
        (["--storage", "nosuchdb://x"], "--storage"),
        (["--storage", "sqlite:///"], "in-memory database"),
        (["--storage", "sqlite:///:memory:"], "in-memory database"),
        ([], "nothing to search"),
        (["train.batch_size=uniform(8,64)"], "search it with int(a,b)"),  # every trial would fail on 25.8
        (["search.x=int(0,3)"], "the search: section itself is not searched"),
        (["train.epochs=int(1,3)", "train.epochs=int(2,4)"], "train.epochs is searched twice"),
        (["train.epochs=int(1,3)", "train.epochs=2"], "train.epochs is both searched (int(1,3), command line) and set"),
        (["--study", "latest"], "'latest' names the newest run"),
        (["--study", ""], "study name '' must start with a letter"),
        (["--study", "a_file"], "a file of that name is in the way"),
    ],
)
def test_a_bad_search_exits_2_before_any_run_directory(cli, runs_dir, arguments, says):
    runs_dir.mkdir()
    (runs_dir / "a_file").write_text("not a study folder")
    searches = [a for a in arguments if "(" in a]
    extra = ["optimizer.lr=loguniform(1e-3,1e-1)"] if arguments and not searches else []
    result = cli("tune", CONFIGS / "generalfit.yaml", *extra, *arguments)
    assert result.exit_code == 2, result.output
    assert says in result.stderr and "Traceback" not in result.stderr
    assert not any(runs_dir.glob("20*")) and (runs_dir / "a_file").read_text() == "not a study folder"


@pytest.mark.parametrize("given", [["configs/generalfit.yaml"], ["optimizer.lr=loguniform(1e-3,1)"], ["--trials", "3"],
                                   ["--study", "s"], ["--workers", "2"], ["--timeout", "5"]])  # fmt: skip
def test_show_refuses_what_only_a_search_would_use(cli, runs_dir, given):
    result = cli("tune", "--show", "s", *given)
    assert result.exit_code == 2 and "--show reads a study back and trains nothing" in result.stderr, result.stderr


def test_a_bad_key_in_the_search_section_names_the_section(cli, runs_dir, tmp_path):
    config = tmp_path / "searched.yaml"
    config.write_text((CONFIGS / "generalfit.yaml").read_text() + "search:\n  optimizer.lrr: loguniform(1e-3,1e-1)\n")
    result = cli("tune", config)
    assert result.exit_code == 2 and "Did you mean 'lr'" in result.stderr, result.stderr
    assert "searched.yaml, search:)" in result.stderr and "from override" not in result.stderr, result.stderr


def test_a_best_trial_with_a_list_value_shows_and_reproduces_as_given(cli, runs_dir):
    # [8, 4] holds a space, [csv] looks like Rich markup: the table, --show and the reproduce command keep both.
    arguments = ["model.hidden=choice([8,4])", "train.epochs=2", "train.loggers=[csv]", "--trials", "1"]
    result = cli.json("tune", CONFIGS / "toy_classes.yaml", *arguments, "--study", "lists")
    assert result["best_params"] == {"model.hidden": [8, 4]}, result  # the value itself, as the config reads it
    words = shlex.split(result["reproduce"])
    assert words[:2] == ["learnai", "train"] and "model.hidden=[8, 4]" in words and "train.loggers=[csv]" in words
    assert cli.json("train", *words[2:], "--dry-run")["dry_run"]  # the command runs as printed
    shown = cli("tune", "--show", "lists").stdout
    assert "model.hidden=[8, 4]" in shown and "'train.loggers=[csv]' 'model.hidden=[8, 4]'" in shown, shown


def test_timeout_zero_starts_no_trial(cli, runs_dir):
    result = cli.json("tune", CONFIGS / "generalfit.yaml", "optimizer.lr=loguniform(1e-3,1e-1)", "--timeout", "0")
    assert result["trials"] == [] and not any(runs_dir.glob("20*"))


def test_a_random_search_trains_normal_runs_and_ranks_them(cli, runs_dir):
    result = cli.json(
        "tune", CONFIGS / "generalfit.yaml", "optimizer.lr=loguniform(1e-3,1e-1)", *TINY,
        "--trials", "3", "--sampler", "random", "--study", "lr",
    )  # fmt: skip
    trials = result["trials"]
    assert [t["status"] for t in trials] == ["completed"] * 3 and result["counts"] == {"completed": 3}
    assert [t["value"] for t in trials] == sorted(t["value"] for t in trials)  # val_loss: lowest first
    assert result["best_value"] == trials[0]["value"] and result["best_run_id"] == trials[0]["run_id"]
    assert result["reproduce"].startswith("learnai train ") and trials[0]["params"] in result["reproduce"]
    meta = json.loads((runs_dir / result["best_run_id"] / "meta.json").read_text())
    assert meta["study"] == "lr" and meta["trial"] == result["best_trial"] and meta["status"] == "completed"
    assert "search" not in (runs_dir / result["best_run_id"] / "config.yaml").read_text()
    with open(runs_dir / "lr" / "summary.csv") as file:
        assert [int(row["number"]) for row in csv.DictReader(file)] == [t["number"] for t in trials]
    assert {Path(p).name for p in result["plots"]} >= {"optimization_history.png", "slice.png"}
    assert len(cli.json("runs")["runs"]) == 3  # the study folder is not a run
    shown = cli.json("tune", "--show", "lr")
    assert shown["best_run_id"] == result["best_run_id"] and len(shown["trials"]) == 3
    assert cli("tune", "--show", "nope").exit_code == 2


def test_the_search_section_of_a_config_is_searched_and_a_diverged_trial_does_not_stop_the_study(
    cli, runs_dir, tmp_path
):
    config = tmp_path / "generalfit.yaml"
    search = "search:\n  optimizer.lr: choice(0.01, 10)\n"
    config.write_text((CONFIGS / "generalfit.yaml").read_text() + search)
    assert cli("config", config).exit_code == 0  # learnai train and config accept (and ignore) the section
    result = cli.json("tune", config, "train.epochs=15", "data.n=200", "--sampler", "grid", "--study", "grid")
    assert [t["status"] for t in result["trials"]] == ["completed", "diverged"]  # the grid's size by default
    assert result["best_params"] == {"optimizer.lr": 0.01}
    diverged = result["trials"][1]
    assert json.loads((runs_dir / diverged["run_id"] / "meta.json").read_text())["status"] == "diverged"


@pytest.mark.slow
def test_the_median_pruner_stops_a_learning_rate_that_cannot_learn(cli, runs_dir):
    # seed=9: the random sampler draws 0.01 three times, then 1e-7 (the first three trials are never pruned); each
    # trial draws from the seed and its trial number
    result = cli.json(
        "tune", CONFIGS / "generalfit.yaml", "optimizer.lr=choice(0.01, 1.0e-7)", "seed=9", "train.epochs=6",
        "--trials", "4", "--sampler", "random", "--study", "pruning",
    )  # fmt: skip
    pruned = [t for t in result["trials"] if t["status"] == "pruned"]
    assert [t["params"] for t in pruned] == ["optimizer.lr=1.0e-07"] and result["counts"]["completed"] == 3
    meta = json.loads((runs_dir / pruned[0]["run_id"] / "meta.json").read_text())
    assert meta["status"] == "pruned" and meta["epochs_completed"] < 6 and "pruned by the median" in meta["message"]
    assert (runs_dir / pruned[0]["run_id"] / "metrics.jsonl").exists()  # its files are kept
    listed = {r["id"]: r["status"] for r in cli.json("runs", "--status", "pruned")["runs"]}
    assert listed == {pruned[0]["run_id"]: "pruned"}


def _tune_process(runs_dir: Path, *arguments: str, **options) -> subprocess.Popen:
    command = [sys.executable, "-m", "learnai_cli", "tune", str(CONFIGS / "generalfit.yaml"), *arguments]
    environment = {**os.environ, "LEARNAI_RUNS_DIR": str(runs_dir), "PYTHONPATH": str(REPO)}
    return subprocess.Popen(command, cwd=REPO, env=environment, text=True, **options)


@pytest.mark.slow
def test_an_interrupted_study_continues_by_name_to_the_requested_number_of_trials(cli, runs_dir):
    search = ["optimizer.lr=loguniform(1e-3,1e-1)", "train.epochs=150", "data.n=200", "--study", "s"]
    process = _tune_process(runs_dir, *search, "--trials", "3", "--no-progress", stderr=subprocess.PIPE)
    lines = iter(process.stderr)
    next(line for line in lines if line.startswith("trial 0:"))
    next(line for line in lines if line.startswith("epoch "))  # trial 1 is training now
    process.send_signal(signal.SIGINT)
    said = process.stderr.read()
    assert process.wait(timeout=60) == 130
    assert "continue it with: learnai tune " in said and "--study s --trials 3" in said, said[-2000:]
    interrupted = cli.json("tune", "--show", "s")
    assert interrupted["counts"] == {"completed": 1, "interrupted": 1}
    result = cli.json("tune", CONFIGS / "generalfit.yaml", *search, "--trials", "3")
    assert result["counts"] == {"completed": 3, "interrupted": 1}
    assert len({t["params"] for t in result["trials"]}) == 4  # the continued study drew new points


@pytest.mark.slow
def test_two_workers_share_one_study_without_losing_or_repeating_a_trial(cli, runs_dir):
    arguments = ["optimizer.lr=loguniform(1e-3,1e-1)", *TINY, "--study", "w", "--trials", "4", "--workers", "2"]
    arguments += ["--pruner", "none"]
    process = _tune_process(runs_dir, *arguments, "--json", stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out, err = process.communicate(timeout=300)
    assert process.returncode == 0, err
    result = json.loads(out)
    trials = result["trials"]
    assert sorted(t["number"] for t in trials) == [0, 1, 2, 3] and result["counts"] == {"completed": 4}
    assert len({t["run_id"] for t in trials}) == 4
    metas = [json.loads((runs_dir / t["run_id"] / "meta.json").read_text()) for t in trials]
    assert len({m["pid"] for m in metas}) == 2  # trained by both workers
    assert sorted(m["trial"] for m in metas) == [0, 1, 2, 3]


def _training_runs(runs_dir: Path) -> list[Path]:
    """Run directories whose first epoch is on record."""
    return [run for run in runs_dir.glob("20*") if '"type": "epoch"' in _text(run / "metrics.jsonl")]


def _text(path: Path) -> str:
    try:
        return path.read_text()
    except OSError:
        return ""


@pytest.mark.slow
def test_a_terminal_ctrl_c_stops_every_worker_and_each_interrupted_trial_keeps_its_run(cli, runs_dir):
    # A terminal's Ctrl-C goes to the whole process group: the workers must get one SIGINT each, not the terminal's
    # and then another from the parent (a second SIGINT stops at once and the trial lost its run id).
    arguments = ["optimizer.lr=loguniform(1e-3,1e-1)", "train.epochs=5000", "data.n=200", "--trials", "4"]
    arguments += ["--workers", "2", "--pruner", "none", "--no-progress"]
    process = _tune_process(runs_dir, *arguments, stderr=subprocess.PIPE, start_new_session=True)
    deadline = time.monotonic() + 120
    while len(_training_runs(runs_dir)) < 2 and time.monotonic() < deadline and process.poll() is None:
        time.sleep(0.2)
    assert len(_training_runs(runs_dir)) == 2, "both workers should be training"
    os.killpg(process.pid, signal.SIGINT)  # what the terminal does on Ctrl-C
    said = process.stderr.read()
    assert process.wait(timeout=120) == 130, said[-3000:]
    assert "Traceback" not in said, said[-3000:]
    study = re.search(r"--study (tune_\S+)", said)
    assert study, said[-2000:]  # the generated study name, to continue it
    shown = cli.json("tune", "--show", study.group(1))
    interrupted = [t for t in shown["trials"] if t["status"] == "interrupted"]
    assert len(interrupted) == 2 and all(t["run_id"] for t in interrupted), shown["trials"]
    for trial in interrupted:
        assert json.loads((runs_dir / trial["run_id"] / "meta.json").read_text())["status"] == "interrupted"


def test_without_optuna_tune_says_how_to_install_it(cli, runs_dir, monkeypatch):
    monkeypatch.setitem(sys.modules, "optuna", None)  # what an install without the extra looks like to Python
    result = cli("tune", CONFIGS / "generalfit.yaml", "optimizer.lr=loguniform(1e-3,1e-1)")
    assert result.exit_code == 2 and "pip install 'learnai[tune]'" in result.stderr and not runs_dir.exists()


def test_a_trial_whose_process_died_stops_counting_toward_the_trials(tmp_path):
    import optuna

    from learnai_cli.commands.tune.study import counted, fail_abandoned, owner_attrs

    url = f"sqlite:///{tmp_path / 'study.db'}"
    study = optuna.create_study(storage=url)
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    for pid in (os.getpid(), dead.pid):  # this process is alive; the other was killed (here: ended) mid-trial
        trial = study.ask()
        for key, value in {**owner_attrs(), "pid": pid}.items():
            trial.set_user_attr(key, value)
    run = tmp_path / "2026-01-01_00-00-00_killed"  # the run the killed trial had started
    run.mkdir()
    (run / "meta.json").write_text(json.dumps({"study": study.study_name, "trial": 1, "status": "running"}))
    assert fail_abandoned(study, url, tmp_path) == 1
    assert [(t.state.name, counted(t)) for t in study.trials] == [("RUNNING", True), ("FAIL", False)]
    attrs = study.trials[1].user_attrs
    assert (attrs["status"], attrs["run_id"]) == ("crashed", run.name) and "killed" in attrs["message"]


def test_a_continued_study_keeps_its_experiment_and_reproduces_each_trial_by_its_own_command(cli, runs_dir, tmp_path):
    options = ["--study", "same", "--pruner", "none"]
    first = cli(
        "tune", CONFIGS / "generalfit.yaml", "optimizer.lr=uniform(0.01,0.011)", *TINY, *options, "--trials", "1"
    )
    assert first.exit_code == 0, first.stderr
    for config, arguments, says in [
        ("linear_regression.yaml", ["optimizer.lr=uniform(0.01,0.011)", *TINY], "another config"),
        ("generalfit.yaml", ["optimizer.lr=uniform(0.01,0.011)", "train.epochs=2", "data.n=200"],
         "overrides train.epochs=3 data.n=200 (this command: train.epochs=2 data.n=200)"),
        ("generalfit.yaml", ["optimizer.lr=choice(0.01,0.02)", *TINY], "optimizer.lr=uniform(0.01,0.011) (this"),
    ]:  # fmt: skip
        refused = cli("tune", CONFIGS / config, *arguments, *options)
        assert refused.exit_code == 2 and says in refused.stderr, refused.stderr
        assert "Traceback" not in refused.stderr
    copy = tmp_path / "elsewhere.yaml"  # the same config kept elsewhere (another machine's checkout) continues it
    copy.write_text((CONFIGS / "generalfit.yaml").read_text() + "search:\n  data.noise: uniform(0.0,0.1)\n")
    widened = cli.json("tune", copy, "optimizer.lr=uniform(0.005,0.02)", *TINY, *options, "--trials", "2")
    assert widened["counts"] == {"completed": 2}, widened
    by_number = {trial["number"]: trial["command"][2] for trial in widened["trials"]}
    assert by_number == {0: str(CONFIGS / "generalfit.yaml"), 1: str(copy)}  # each trial's own command
    best = next(t for t in widened["trials"] if t["number"] == widened["best_trial"])
    assert widened["reproduce"] == shlex.join(best["command"])


def test_a_trial_cut_short_after_its_run_ended_is_told_as_the_run_ended(tmp_path):
    import optuna

    from learnai_cli.commands.tune.run import settle_from_run

    study = optuna.create_study(study_name="cut")
    completed, unstarted, told = study.ask(), study.ask(), study.ask()
    run = tmp_path / "2026-01-01_00-00-00_generalfit"
    run.mkdir()
    meta = {"study": "cut", "trial": 0, "status": "completed", "best": {"metric": "val_loss", "value": 0.25}}
    (run / "meta.json").write_text(json.dumps(meta))
    study.tell(told, 1.0)
    for trial in (completed, unstarted, told):
        settle_from_run(study, trial, tmp_path)
    found = [(t.state.name, t.value, t.user_attrs.get("status"), t.user_attrs.get("run_id")) for t in study.trials]
    assert found == [
        ("COMPLETE", 0.25, "completed", run.name),  # its run finished before the Ctrl-C: its result counts
        ("FAIL", None, "interrupted", None),  # no run of it on disk
        ("COMPLETE", 1.0, None, None),  # already told: left as it was
    ]


def test_signals_held_during_a_write_interrupt_after_it():
    from learnai_cli.commands.train.stopping import holding_signals

    written = []
    with pytest.raises(KeyboardInterrupt):
        with holding_signals():
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(0.05)  # the signal has arrived by now, and is held
            written.append("summary.csv")
            written.append("summary.json")
    assert written == ["summary.csv", "summary.json"]


@pytest.mark.parametrize("kind", ["sweep", "notes"])
def test_a_study_name_that_is_another_folder_is_refused_and_its_files_kept(cli, runs_dir, kind):
    name = "sweep_2026-01-01_00-00-00_generalfit" if kind == "sweep" else "notes"
    folder = runs_dir / name
    (folder / "plots").mkdir(parents=True)
    (folder / "summary.csv").write_text("point,status\nlr=0.1,completed\n")
    (folder / "plots" / "slice.png").write_bytes(b"my own picture")
    before = {p: p.read_bytes() for p in folder.rglob("*") if p.is_file()}
    result = cli("tune", CONFIGS / "generalfit.yaml", "optimizer.lr=uniform(0.01,0.1)", *TINY, "--study", name)
    assert result.exit_code == 2 and "is not a learnai study" in result.stderr, result.stderr
    assert {p: p.read_bytes() for p in folder.rglob("*") if p.is_file()} == before


def test_a_trial_another_process_is_ending_shows_as_running_until_it_is_told(cli, runs_dir, tmp_path):
    """The process ending a trial records its status and run id a moment before it tells the study (issue 31)."""
    import optuna

    storage = f"sqlite:///{tmp_path / 'shared.db'}"
    search = [CONFIGS / "generalfit.yaml", "optimizer.lr=loguniform(1e-3,1e-1)", "--study", "mid", "--storage", storage]
    assert cli("tune", *search, "--timeout", "0").exit_code == 0
    trial = optuna.load_study(study_name="mid", storage=storage).ask()
    trial.set_user_attr("status", "completed")
    trial.set_user_attr("run_id", "2026-01-01_00-00-00_generalfit_trial0")
    shown = cli("tune", "--show", "mid", "--storage", storage)
    assert shown.exit_code == 0 and "Traceback" not in shown.stderr, shown.stderr
    assert "running" in shown.stdout and "no trial completed yet" in shown.stdout, shown.stdout
