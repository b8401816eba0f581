"""`learnai tune`: search a config's settings with Optuna, every trial a normal run, bad trials pruned early.

The search space is checked before any trial starts; each trial's sampled config is validated before it trains.
Trials are asked from the study one at a time under a lock, so several workers (processes here, or machines
sharing one --storage) never run more than --trials between them.
"""

from __future__ import annotations

import math
import shlex
import shutil
import sys
import time
from datetime import datetime
from pathlib import Path
from typing import Any, Optional

from learnai_cli.commands.tune import search_space
from learnai_cli.commands.tune import storage as tune_storage
from learnai_cli.commands.tune import study as tune_study
from learnai_cli.commands.tune.report import continue_message
from learnai_cli.commands.tune.request import Plan, TuneRequest
from learnai_cli.commands.tune.search_space import Param
from learnai_cli.engine.callbacks import Callback
from learnai_cli.errors import ConfigError, Interrupted, RunFailed, UsageError, clip, hide_credentials
from learnai_cli.rundir import STUDY_ASK_LOCK

__all__ = ["TuneRequest", "Plan", "prepare", "run_tune", "run_trials", "TrialReporter", "DEFAULT_TRIALS"]

DEFAULT_TRIALS = 10


def is_search_expression(argument: str) -> bool:
    """key=function(...) is searched; anything else (train.epochs=3) is a plain override applied to every trial."""
    return search_space.is_expression(argument.partition("=")[2])


def prepare(request: TuneRequest) -> Plan:
    """Parse and check the whole search space (every bound and choice validated as a config) before anything is
    created; a mistake is exit 2 naming the key path."""
    from learnai_cli import config as config_module

    searched = [a for a in request.arguments if is_search_expression(a)]
    overrides = [a for a in request.arguments if not is_search_expression(a)]
    raw = config_module.read_yaml(Path(request.config_path))
    given = [search_space.parse(argument) for argument in searched]
    params = search_space.merge(search_space.from_section(raw.get("search"), str(request.config_path)), given)
    _refuse_conflicts(given, params, overrides)
    if not params:
        raise UsageError(
            f"nothing to search: give key=function(...) arguments ({search_space.EXAMPLES}) or a search: section "
            f"in {request.config_path}"
        )
    configs = [_load_corner(request, overrides, corner, params) for corner in search_space.corner_overrides(params)]
    grid = search_space.grid_space(params) if request.sampler == "grid" else None
    trials = request.trials or (math.prod(len(v) for v in grid.values()) if grid else DEFAULT_TRIALS)
    from learnai_cli.rundir import new_study_dir, study_dir

    if request.study is not None:
        folder = study_dir(request.root, request.study)
    else:  # a generated name is never another command's study, even one started in the same second
        folder = new_study_dir(request.root, f"tune_{datetime.now().strftime('%Y-%m-%d_%H-%M-%S')}_{configs[0].name}")
    name = folder.name
    return Plan(params, overrides, configs[0], name, folder, tune_storage.storage_url(request.storage, folder), trials)


def _refuse_conflicts(given: list[Param], params: list[Param], overrides: list[str]) -> None:
    """One definition per key: searched twice on the command line, or searched and also set, is a mistake."""
    seen: dict[str, Param] = {}
    for param in given:
        if param.key in seen:
            raise UsageError(
                f"{param.key} is searched twice on the command line ({seen[param.key].text} and {param.text}); "
                "give one expression per key"
            )
        seen[param.key] = param
    searched = {param.key: param for param in params}
    for override in overrides:
        key = override.partition("=")[0].strip()
        if key in searched:
            raise UsageError(
                f"{key} is both searched ({searched[key].text}, {searched[key].source}) and set ({clip(override)}); "
                "drop one of them"
            )


def _load_corner(request: TuneRequest, overrides: list[str], corner: list[str], params: list[Param]):
    """The config at one corner of the space; a problem names the search expression, not the corner's value."""
    from learnai_cli import config as config_module

    try:
        return config_module.load(request.config_path, trial_overrides(overrides, corner), plugins=request.plugins)
    except ConfigError as error:
        by_key = {param.key: param for param in params}
        problems = error.problems
        for value in corner:
            param = by_key[value.partition("=")[0]]
            searched = f"[from search expression '{clip(param.key + '=' + param.text)}' ({param.source}), at {value}]"
            problems = [problem.replace(f"[from override '{clip(value)}']", searched) for problem in problems]
            if param.kind in ("uniform", "loguniform"):  # a float range over an integer setting
                problems = [p + _INTEGER_HINT if "integer" in p and param.key in p else p for p in problems]
        raise ConfigError(error.message, problems) from None


_INTEGER_HINT = " (the key takes integers: search it with int(a,b))"


def trial_overrides(overrides: list[str], sampled: list[str]) -> list[str]:
    """A trial's overrides: the plain ones, its sampled values, and no `search:` section in its config.yaml."""
    return [*overrides, *sampled, "search={}"]


def open_plan_study(plan: Plan, request: TuneRequest):
    """The study for this plan, created or continued, with the space and command recorded on it."""
    train = plan.base.train
    grid = search_space.grid_space(plan.params) if request.sampler == "grid" else None
    pruner = tune_study.make_pruner(request.pruner, train.epochs)
    direction = "minimize" if train.mode == "min" else "maximize"
    study = tune_study.open_study(plan.name, plan.url, direction, None, pruner)
    # Reproducible from the config's seed, yet neither two workers nor a continued study draw the same points again
    seed = plan.base.seed + 7919 * (request.worker_index or 0) + len(study.get_trials(deepcopy=False))
    study.sampler = tune_study.make_sampler(request.sampler, seed, grid, plan.trials)
    if "config" not in study.user_attrs:  # "config" last: a process that sees it sees the others (machines at once)
        study.set_user_attr("config_sha256", tune_study.content_hash(request.config_path))
        study.set_user_attr("overrides", plan.overrides)
        study.set_user_attr("monitor", train.monitor)
        study.set_user_attr("config", str(request.config_path))
    else:
        tune_study.check_same_experiment(study, request.config_path, plan.overrides, plan.params)
    study.set_user_attr("search", [f"{p.key}={p.text}" for p in plan.params])  # a continued study may widen it
    return study


def run_tune(request: TuneRequest) -> dict[str, Any]:
    """Run the study to --trials finished trials (or --timeout), in this process or in --workers processes; the
    ranked report."""
    tune_study.require_optuna()
    try:
        plan = prepare(request)
    except KeyboardInterrupt:
        raise Interrupted("interrupted before the study started; nothing was trained") from None
    # study_dir made it just now (or found it empty); new_study_dir claimed it with its lock file. Two commands
    # starting one new study create it (and record its config) once: under the study folder's lock, the storage
    # folder's (another runs root, same file), and retried when another machine made it meanwhile.
    new_folder = {p.name for p in plan.folder.iterdir()} <= {STUDY_ASK_LOCK}
    try:
        with tune_storage.database_errors(plan.url, UsageError), tune_study.ask_lock(plan.folder):
            with tune_storage.creation_lock(plan.url):  # the storage's own folder: other runs roots use it too
                study = tune_storage.retrying_creation(lambda: open_plan_study(plan, request))
    except (KeyboardInterrupt, UsageError) as error:  # a storage that cannot be used, a changed experiment, Ctrl-C
        if new_folder:  # nothing was trained: leave no half-made study behind
            shutil.rmtree(plan.folder, ignore_errors=True)
        if isinstance(error, UsageError):
            raise
        raise Interrupted(f"interrupted before study {plan.name} started a trial; nothing was trained") from None
    with tune_storage.database_errors(plan.url, RunFailed):
        return _search(study, plan, request)


def _search(study, plan: Plan, request: TuneRequest) -> dict[str, Any]:
    from learnai_cli.commands.tune import workers as tune_workers

    if request.workers > 1 and request.worker_index is None:
        tune_workers.run_workers(request, plan)
        study = tune_study.load_study(plan.name, plan.url)
    else:
        try:
            run_trials(study, plan, request)
        except Interrupted:
            if request.worker_index is None:
                _write_report(study, plan)  # what finished so far stays on record
            raise
    if request.worker_index is not None:
        return {"study": plan.name, "worker": request.worker_index}
    report, interrupted = _write_report(study, plan)
    if interrupted:
        storage = f" --storage {shlex.quote(hide_credentials(request.storage))}" if request.storage else ""
        show = f"learnai tune --show {plan.name}{storage}"
        raise Interrupted(f"interrupted after study {plan.name}'s trials ended; its report was written whole: {show}")
    return report


def _write_report(study, plan: Plan) -> tuple[dict[str, Any], bool]:
    """summary.csv, summary.json and plots written whole even if Ctrl-C comes meanwhile; and whether one came."""
    from learnai_cli.commands.train.stopping import holding_signals
    from learnai_cli.commands.tune import report as tune_report

    try:
        with holding_signals():
            report = tune_report.write(study, plan.folder)
    except KeyboardInterrupt:
        return report, True
    return report, False


def run_trials(study, plan: Plan, request: TuneRequest) -> None:
    """Ask, train and tell trials until the study has --trials of them or --timeout passed."""
    deadline = time.monotonic() + request.timeout if request.timeout is not None else None  # 0: start none
    while deadline is None or time.monotonic() < deadline:
        with tune_study.ask_lock(plan.folder):
            tune_study.fail_abandoned(study, plan.url, request.root)
            trials = study.get_trials(deepcopy=False)
            if sum(tune_study.counted(t) for t in trials) >= plan.trials:
                return
            tune_study.before_ask(study.sampler, plan.base.seed, len(trials))
            trial = study.ask()
            tune_study.reseed_for_trial(study.sampler, plan.base.seed, trial.number)
            for key, value in tune_study.owner_attrs().items():
                trial.set_user_attr(key, value)
        try:
            run_trial(study, trial, plan, request)
        except KeyboardInterrupt:  # a signal before or after the trial's run: the trial must not stay RUNNING
            settle_from_run(study, trial, request.root)
            raise Interrupted(continue_message(plan, request)) from None
        except Interrupted:  # its run was interrupted (and is kept, as `interrupted`): say how to go on with the study
            raise Interrupted(continue_message(plan, request)) from None


def run_trial(study, trial, plan: Plan, request: TuneRequest) -> None:
    """One trial: sample, validate, train as a normal run tagged with the study, tell the study how it ended."""
    from learnai_cli import config as config_module
    from learnai_cli.commands.train.run import train

    state = _states()
    sampled = [search_space.override(p.key, search_space.suggest(trial, p)) for p in plan.params]
    trial.set_user_attr("overrides", sampled)
    try:
        named = [*trial_overrides(plan.overrides, sampled), f"name={trial_run_name(plan.base.name, trial.number)}"]
        experiment_config = config_module.load(request.config_path, named, plugins=request.plugins)
    except ConfigError as invalid:  # a sampled point the config cannot take: this trial fails, the study goes on
        return _end(study, trial, state.FAIL, "failed", message=invalid.render())
    command = ["learnai", "train", str(request.config_path), *plan.overrides, *sampled]
    trial.set_user_attr("command", command)  # the study's best is reproduced by its own trial's command
    tags = {"study": plan.name, "trial": trial.number, "params": sampled}
    reporter = TrialReporter(trial, experiment_config.train.monitor, request.pruner)
    try:
        summary = train(experiment_config, request.root, command, request.interactive, tags=tags, callbacks=(reporter,))
    except RunFailed as failure:  # diverged or failed: recorded, and the study goes on
        run_id = getattr(failure, "run_id", None)
        status = _run_status(request.root, run_id)
        # Optuna's samplers ignore FAIL trials; a diverged one told as PRUNED (no value) ranks as the worst, so TPE
        # learns to avoid the rates that diverge. Its run and the study's table still say `diverged`.
        told = state.PRUNED if status == "diverged" else state.FAIL
        return _end(study, trial, told, status, run_id=run_id, message=failure.message)
    except Interrupted as stop:  # the run can be resumed, but the study would not see it: continuing trains anew
        run_id = getattr(stop, "run_id", None)
        message = (
            "interrupted; its run is kept, and continuing the study trains a new trial in its place"
            if run_id
            else "interrupted before its run started"
        )
        _end(study, trial, state.FAIL, "interrupted", run_id=run_id, message=message)
        raise
    best = (summary.get("best") or {}).get("value")
    if summary["status"] == "pruned":
        return _end(study, trial, state.PRUNED, "pruned", run_id=summary["run_id"], message=summary["message"])
    if best is None:
        message = f"{experiment_config.train.monitor} was never measured (no validation data?)"
        return _end(study, trial, state.FAIL, "failed", run_id=summary["run_id"], message=message)
    _end(study, trial, state.COMPLETE, "completed", run_id=summary["run_id"], value=best)


def trial_run_name(name: str, number: int) -> str:
    """<name>_trial<N>: Optuna numbers a study's trials once across all its machines, so the trial runs of machines
    that start one in the same second still have different run ids in the study's table."""
    from learnai_cli.commands.init import NAME_LIMIT

    tail = f"_trial{number}"
    return name[: NAME_LIMIT - len(tail)] + tail


def _states():
    return tune_study.require_optuna().trial.TrialState


def _end(study, trial, state, status: str, run_id=None, message: str = "", value=None) -> None:
    from learnai_cli.commands.train.stopping import holding_signals

    with holding_signals():  # the trial's status, run id and state land together, or a Ctrl-C would split them
        trial.set_user_attr("status", status)
        if run_id:
            trial.set_user_attr("run_id", run_id)
        if message:
            trial.set_user_attr("message", message.splitlines()[-1][:500])
        study.tell(trial, value if state.name == "COMPLETE" else None, state=state)
    shown = f"{value:.4g}" if value is not None else (message.splitlines()[-1][:120] if message else "")
    sampled = " ".join(trial.user_attrs.get("overrides", []))
    print(f"trial {trial.number}: {status}  {sampled}  {shown}", file=sys.stderr)


def _run_status(root: Path, run_id: Optional[str]) -> str:
    """diverged or failed, as the run recorded it."""
    from learnai_cli.rundir import RunDir

    status = RunDir(root / run_id).meta(strict=False).get("status") if run_id else None
    return status if status in ("diverged", "failed") else "failed"


def settle_from_run(study, trial, root: Path) -> None:
    """A trial cut short between its run and telling the study: told as its run on disk says it ended."""
    from learnai_cli.commands.tune import trials as tune_runs

    if tune_study.finished(study, trial.number):
        return
    found = tune_runs.trial_run(root, study.study_name, trial.number)
    if found is None:
        return _end(study, trial, _states().FAIL, "interrupted", message="interrupted before its run started")
    run_id, meta = found
    status, value = tune_runs.ending(meta)
    state = _states()
    if status == "completed" and value is not None:
        return _end(study, trial, state.COMPLETE, status, run_id=run_id, value=value)
    told = {"pruned": state.PRUNED, "diverged": state.PRUNED, "failed": state.FAIL}.get(status)
    if told is None:  # interrupted, crashed or still being written
        return _end(study, trial, state.FAIL, "interrupted", run_id=run_id, message="interrupted")
    _end(study, trial, told, status, run_id=run_id, message=str(meta.get("message") or ""))


class TrialReporter(Callback):
    """Reports the monitored metric to the trial after each validation; when the pruner says so, the run ends as
    `pruned` once that epoch's files are written."""

    def __init__(self, trial, monitor: str, pruner: str):
        self.trial, self.monitor, self.pruner = trial, monitor, pruner
        self.verdict: Optional[str] = None

    def on_epoch_end(self, trainer, record: dict[str, Any]) -> None:
        value = record.get(self.monitor)
        if not isinstance(value, (int, float)) or not math.isfinite(value):
            return
        self.trial.report(float(value), record["epoch"])
        if record["epoch"] < trainer.settings.epochs and self.trial.should_prune():  # a finished run is not pruned
            self.verdict = f"pruned by the {self.pruner} pruner at epoch {record['epoch']}: {self.monitor} {value:.4g}"

    def on_checkpoint(self, trainer) -> None:
        from learnai_cli.engine.trainer import Pruned

        if self.verdict and trainer.state.batches_done == 0:
            raise Pruned(self.verdict)
