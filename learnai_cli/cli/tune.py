"""`learnai tune`: hyperparameter search with Optuna over a config; `--show STUDY` reads a study back."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, List, Optional

import typer

from learnai_cli.cli._shared import (
    JsonOption,
    NoProgressOption,
    PluginOption,
    RunsDirOption,
    complete_from,
    emit,
    reporting_errors,
    stdout,
)
from learnai_cli.commands.tune.study import PRUNERS, SAMPLERS
from learnai_cli.errors import UsageError
from learnai_cli.rundir import runs_root

__all__ = ["tune"]

ArgumentsArgument = typer.Argument(
    None,
    help="key.path=loguniform(a,b) | uniform(a,b) | int(a,b) | choice(v1,v2,...) to search (adds to the config's "
    "search: section); plain key.path=value overrides apply to every trial.",
    show_default=False,
    metavar="KEY=EXPRESSION",
)


def _choice(name: str, valid: tuple[str, ...]):
    def check(value: str) -> str:
        if value not in valid:
            raise typer.BadParameter(f"'{value}' is not one of: {', '.join(valid)}")
        return value

    return check


TrialsOption = typer.Option(
    None,
    "--trials",
    min=1,
    metavar="N",
    help="Finished trials the study should hold (a continued study counts its own). Default: 10; with --sampler "
    "grid, the grid's size.",
)

TimeoutOption = typer.Option(
    None, "--timeout", min=0.0, help="Start no trial after this many seconds.", metavar="SECONDS"
)

SamplerOption = typer.Option(
    "tpe",
    "--sampler",
    callback=_choice("--sampler", SAMPLERS),
    autocompletion=complete_from(SAMPLERS),
    help="How trials are chosen.",
    metavar="|".join(SAMPLERS),
)

PrunerOption = typer.Option(
    "median",
    "--pruner",
    callback=_choice("--pruner", PRUNERS),
    autocompletion=complete_from(PRUNERS),
    help="Which trials end early.",
    metavar="|".join(PRUNERS),
)

StudyOption = typer.Option(None, "--study", help="Study name: an existing one is continued.", metavar="NAME")

StorageOption = typer.Option(
    None,
    "--storage",
    help="Optuna storage URL (postgresql+psycopg2://..., mysql+pymysql://..., journal:PATH); default "
    "$LEARNAI_TUNE_STORAGE, else sqlite in runs/<study>/study.db. Share one URL between machines to search together.",
    metavar="URL",
    envvar="LEARNAI_TUNE_STORAGE",
    show_envvar=False,
)

WorkersOption = typer.Option(1, "--workers", min=1, help="Trials in parallel: processes on this machine.", metavar="K")

ShowOption = typer.Option(None, "--show", help="Print study STUDY's trials; trains nothing.", metavar="STUDY")

WorkerIndexOption = typer.Option(None, "--worker-index", hidden=True, metavar="N")


def tune(
    config_path: Optional[Path] = typer.Argument(None, help="Experiment YAML file.", metavar="CONFIG"),
    arguments: Optional[List[str]] = ArgumentsArgument,
    trials: Optional[int] = TrialsOption,
    timeout: Optional[float] = TimeoutOption,
    sampler: str = SamplerOption,
    pruner: str = PrunerOption,
    study: Optional[str] = StudyOption,
    storage: Optional[str] = StorageOption,
    workers: int = WorkersOption,
    show: Optional[str] = ShowOption,
    worker_index: Optional[int] = WorkerIndexOption,
    no_progress: bool = NoProgressOption,
    plugin: Optional[List[str]] = PluginOption,
    runs_dir: Optional[Path] = RunsDirOption,
    json_output: bool = JsonOption,
) -> None:
    """Search a config's settings with Optuna (TPE, random, grid, CMA-ES), pruning bad trials; each trial is a
    normal run. Prints the trials ranked and the command that reproduces the best."""
    from learnai_cli.commands.tune import report as tune_report
    from learnai_cli.commands.tune.run import TuneRequest, run_tune

    with reporting_errors(json_output):
        if show is not None:
            _refuse_with_show(config_path, arguments, trials, timeout, study, workers)
            emit(tune_report.show(show, storage, runs_root(runs_dir)), json_output, _render)
            return
        if config_path is None:
            raise UsageError("give a CONFIG file to search (e.g. configs/generalfit.yaml), or --show STUDY")
        request = TuneRequest(
            config_path=config_path,
            arguments=list(arguments or []),
            root=runs_root(runs_dir),
            trials=trials,
            timeout=timeout,
            sampler=sampler,
            pruner=pruner,
            study=study,
            storage=storage,
            workers=workers,
            worker_index=worker_index,
            interactive=sys.stderr.isatty() and not json_output and not no_progress,
            plugins=list(plugin or []),
        )
        result = run_tune(request)
        if worker_index is None:
            emit(result, json_output, _render)


def _refuse_with_show(config_path, arguments, trials, timeout, study, workers) -> None:
    """--show reads a study back and trains nothing: options that only matter to a search would be ignored."""
    given = [
        name
        for name, value in (
            ("CONFIG", config_path),
            ("search expressions or overrides", arguments),
            ("--trials", trials),
            ("--timeout", timeout),
            ("--study", study),
        )
        if value
    ]
    given += ["--workers"] if workers != 1 else []
    if given:
        raise UsageError(
            f"--show reads a study back and trains nothing, so {', '.join(given)} would be ignored: give --show STUDY "
            "with only --storage, --runs-dir and --json (or leave out --show to search)"
        )


def _render(result: dict[str, Any]) -> None:
    from learnai_cli.cli.table_fit import Layout, print_table

    rows, styles = [], []
    for row in result["trials"]:
        value = f"{row['value']:.4g}" if row["value"] is not None else ""
        duration = f"{row['duration_s']:.1f}s" if row["duration_s"] is not None else ""
        rows.append(
            (
                str(row["number"]),
                row["params"],
                value,
                row["status"],
                str(row["epochs"] or ""),
                duration,
                row["run_id"] or "",
            )
        )
        styles.append(None if row["status"] == "completed" else ("yellow" if row["status"] == "pruned" else "red"))
    headers = ("#", "params", "value", "status", "epochs", "duration", "run id")
    layout = Layout(whole="run id", drop_order=("duration", "epochs"), right_aligned=("value",), styles=styles)
    print_table(f"study {result['study']} ({result['direction']} {result['monitor']})", headers, rows, layout)
    if result["best_run_id"]:
        stdout.print(
            f"best: trial {result['best_trial']}, {result['monitor']} {result['best_value']:.4g}, "
            f"run {result['best_run_id']}",
            highlight=False,
        )
        stdout.print(f"reproduce: {result['reproduce']}", highlight=False, markup=False)  # [..] is not markup
    else:
        stdout.print("no trial completed yet", highlight=False)
    for key in ("summary_csv", "summary_json"):
        if key in result:
            stdout.print(f"wrote {result[key]}", highlight=False)
    if result.get("plots"):
        stdout.print(f"plots: {Path(result['plots'][0]).parent}", highlight=False)
