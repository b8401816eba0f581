"""`learnai plot`: redraw a run's plots from its files, overlay runs, animate a fit, or draw a loss landscape.

Only the landscape of a config's own data imports torch (to build the data); everything else reads run files.
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

from learnai_cli import rundir
from learnai_cli.errors import UsageError


def plot_runs(root: Path, run_ids: list[str], compare: bool, animate: bool, output: Optional[Path]) -> list[Path]:
    """The plots of each run (and its animation), or one comparison chart of all of them."""
    from learnai_cli import plots

    if not run_ids:
        raise UsageError("give one or more RUN_IDs (see `learnai runs`), or --landscape")
    if output is not None:
        plots.check_output_path(output)
    chosen = [rundir.resolve(root, run_id) for run_id in run_ids]
    if compare:
        return [plots.save_figure(plots.compare_figure(chosen), output or root / rundir.COMPARISON_PLOT)]
    written = []
    for run in chosen:
        drawn = plots.plot_run(run) + (plots.animate_run(run) if animate else [])
        if not drawn:
            raise UsageError(_no_metrics(run))
        if animate and not run.predictions_path.exists():
            raise UsageError(
                f"run {run.id} recorded no predictions: train it with train.record_predictions=true (1-D "
                "regression data)"
            )
        written += drawn
    return written


def _no_metrics(run: rundir.RunDir) -> str:
    meta = run.meta(strict=False)
    status, message = meta.get("status", "unknown"), meta.get("message")
    if status == "running":
        return f"run {run.id} has no metrics to plot yet (it is still running)"
    return f"run {run.id} recorded no metrics to plot (status: {status}" + (f": {message})" if message else ")")


def plot_landscape(arguments: list[str], output: Path) -> Path:
    """The curriculum's landscape, or one over a config's 1-D regression data (that needs torch to build it)."""
    from learnai_cli import plots

    if len(arguments) > 1:
        raise UsageError("--landscape takes at most one config file")
    plots.check_output_path(output)
    if not arguments:
        figure = plots.landscape_figure(plots.LANDSCAPE_X, plots.LANDSCAPE_Y, "x = 1, 2, 3; y = 2, 4, 6")
        return plots.save_figure(figure, output)
    from learnai_cli import config as config_module
    from learnai_cli.commands.experiment import build_data

    experiment_config = config_module.load(Path(arguments[0]))
    data, _ = build_data(experiment_config)
    inputs = getattr(data.train, "inputs", None)
    if inputs is None or inputs.dim() != 2 or inputs.shape[1] != 1:
        data_name = experiment_config.data.name
        raise UsageError(f"--landscape needs 1-D regression data; {arguments[0]} has data '{data_name}'")
    x, y = inputs.view(-1).tolist(), data.train.targets.view(-1).tolist()
    return plots.save_figure(plots.landscape_figure(x, y, experiment_config.name), output)
