"""Several runs on one chart (`learnai plot A B --compare`, a sweep's comparison.png), labelled by the settings that
differ between their resolved configs; matplotlib only, no torch."""

from __future__ import annotations

import json
from bisect import bisect_left
from typing import Any

from matplotlib.lines import Line2D

from learnai_cli.errors import UsageError
from learnai_cli.numbers import is_finite_number, is_number
from learnai_cli.plots.figures import (
    FEW_EPOCHS,
    _by_steps,
    _epoch_records,
    _integer_ticks,
    _loss_series,
    _points,
    _step_records,
    _wide_positive,
    plt,
)
from learnai_cli.rundir import RunDir

# Settings a title names when every run shares them, in this order (after any key every run's command line set).
HEADLINE_KEYS = (
    "data.name",
    "model.name",
    "loss.name",
    "optimizer.name",
    "optimizer.lr",
    "scheduler.name",
    "train.epochs",
    "train.batch_size",
)
MAX_LABEL_KEYS = 3  # a legend entry names at most this many differing settings, then "…"
MAX_TITLE, MAX_VALUE = 90, 24  # characters: a title on one line, a value that leaves room for the others
ABSENT = "\0absent"  # a key a run's config lacks (another optimizer takes other arguments)


def run_settings(run: RunDir) -> tuple[dict[str, Any], dict[str, Any], bool]:
    """(settings, overrides, complete): the run's resolved config.yaml by dotted key (complete), else, for a run
    without a readable one, only the key=value overrides of its sweep label or command line (not complete)."""
    from learnai_cli.config import flatten

    overrides = _overrides(run.meta(strict=False))
    try:
        return flatten(run.read_config()), overrides, True
    except UsageError:
        return dict(overrides), overrides, False


def _overrides(meta: dict[str, Any]) -> dict[str, Any]:
    from learnai_cli.config.yaml_reading import load_text

    command = meta.get("command") if isinstance(meta.get("command"), list) else []
    words = str(meta["label"]).split() if meta.get("label") else [str(word) for word in command[2:]]
    found = {}
    for word in words:
        key, sep, text = word.partition("=")
        if not sep or not key or word.startswith("-"):
            continue  # a config path, a run id or an option, not a setting
        try:
            found[key] = load_text(text)  # as the override was read: 0.01 a number, [4] a list
        except Exception:  # not YAML after all (yaml.YAMLError, too deep): the text it is
            found[key] = text
    return found


def _same(value: Any) -> str:
    """What two values compare by: numbers by value (6 == 6.0), anything else as its JSON."""
    if is_number(value):
        return repr(float(value))
    return value if value is ABSENT else json.dumps(value, sort_keys=True, default=str)


def _known(settings: list[tuple[dict, dict, bool]], key: str) -> list[Any]:
    """The key's value in each run that knows it: a run with a config lacks it (ABSENT), one without one may not
    know."""
    return [values.get(key, ABSENT) for values, _, complete in settings if complete or key in values]


def differing_keys(settings: list[tuple[dict, dict, bool]]) -> list[str]:
    """Keys whose value is not the same in every run, the telling ones first: which dataset, model, loss or
    optimizer (section names), then values every run has (optimizer.lr), then keys only some runs have (another
    optimizer's arguments). The experiment's name only when nothing else differs: it names runs, it sets nothing."""
    keys = list(dict.fromkeys(key for values, _, _ in settings for key in values))
    differ = [key for key in keys if len({_same(value) for value in _known(settings, key)}) > 1]

    def rank(key: str) -> tuple[int, int]:
        section_name = key.count(".") == 1 and key.endswith(".name")
        everywhere = ABSENT not in _known(settings, key)
        return (0 if section_name else 1 if everywhere else 2), keys.index(key)

    telling = [key for key in differ if key != "name"]
    return sorted(telling, key=rank) if telling else differ


def _setting(key: str, value: Any) -> str:
    text = f"{value:g}" if isinstance(value, float) else value if isinstance(value, str) else json.dumps(value)
    return f"{key}={text if len(text) <= MAX_VALUE else text[: MAX_VALUE - 1] + '…'}"


def run_labels(runs: list[RunDir]) -> tuple[list[str], list[str]]:
    """A legend label per run naming the settings of its resolved config that differ between the runs (at most
    MAX_LABEL_KEYS, then "…"; its id when none differ), and the settings that matter which all of them share."""
    settings = [run_settings(run) for run in runs]
    differ = differing_keys(settings) if len(runs) > 1 else []
    telling = _telling_keys(settings, differ)[:MAX_LABEL_KEYS]
    labels = []
    for run, (values, _, _) in zip(runs, settings):
        own = [_setting(key, values[key]) for key in telling if key in values]
        more = " …" if any(key in values for key in differ if key not in telling) else ""
        labels.append(" ".join(own) + more if own else run.id)
    labels = [f"{label} [{run.id}]" if labels.count(label) > 1 else label for label, run in zip(labels, runs)]
    return labels, _shared(settings, differ)


def _telling_keys(settings: list[tuple[dict, dict, bool]], differ: list[str]) -> list[str]:
    """The differing keys, in their order, that tell the runs apart: a key counts when it splits runs the keys
    before it left together (model.name after data.name tells nothing when each dataset has its own model)."""
    groups, chosen = [list(range(len(settings)))], []
    for key in differ:
        split = []
        for group in groups:
            by_value: dict[str, list[int]] = {}
            for index in group:
                by_value.setdefault(_same(settings[index][0].get(key, ABSENT)), []).append(index)
            split += by_value.values()
        if len(split) > len(groups):
            groups, chosen = split, [*chosen, key]
    return chosen


def _shared(settings: list[tuple[dict, dict, bool]], differ: list[str]) -> list[str]:
    """The settings every run shares that matter: those every run's command line (or sweep) set, then the
    headline ones (dataset, model, loss, optimizer and learning rate, scheduler, epochs, batch size)."""
    overridden = [key for key in settings[0][1] if all(key in overrides for _, overrides, _ in settings)]
    shared = []
    for key in dict.fromkeys([*overridden, *HEADLINE_KEYS]):
        known = _known(settings, key)
        if key not in differ and known and known[0] is not ABSENT and len({_same(v) for v in known}) == 1:
            shared.append(_setting(key, known[0]))
    return shared


def _title(what: str, shared: list[str]) -> str:
    """'<what> (all: a=1 b=2 …)', the shared settings that fit on one line."""
    shown = []
    for setting in shared:
        if len(f"{what} (all: {' '.join([*shown, setting])} …)") > MAX_TITLE:
            return f"{what} (all: {' '.join(shown)} …)" if shown else what
        shown.append(setting)
    return f"{what} (all: {' '.join(shown)})" if shown else what


def compare_figure(runs: list[RunDir]):
    """Several runs' loss curves on one chart, e.g. the learning-rate lesson.

    One colour per run (train solid, val dashed); a diverged run ends in an 'x' where its last finite loss was
    recorded. Per logged step when every run is only a few epochs long, otherwise per epoch, where a run of a few
    epochs is drawn per logged step at its place in the epochs (as its own loss plot is) and a run of a point or
    two gets dots, so a one-epoch run is never a legend entry with nothing drawn.
    """
    figure, axis = plt.subplots(figsize=(8, 5))
    all_records = [run.metrics() for run in runs]
    logged = [records for records in all_records if records]  # a run that diverged at once logged nothing
    by_steps = bool(logged) and all(_by_steps(records) for records in logged)
    labels, shared = run_labels(runs)
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    values = []
    for index, (run, records, label) in enumerate(zip(runs, all_records, labels)):
        values += _draw_compared_run(
            axis, run.meta(strict=False), records, label, colors[index % len(colors)], by_steps
        )
    if _wide_positive(values):
        axis.set_yscale("log")
    axis.set(xlabel="step" if by_steps else "epoch", ylabel="loss", title=_title("loss by run", shared))
    _integer_ticks(axis)
    _compare_legends(axis, any(run.meta(strict=False).get("status") == "diverged" for run in runs), by_steps)
    axis.grid(alpha=0.3)
    return figure


def compare_metric_figure(runs: list[RunDir], metric: str):
    """One metric per epoch (e.g. val_accuracy), one line per run, from each run's epoch records."""
    figure, axis = plt.subplots(figsize=(8, 5))
    labels, shared = run_labels(runs)
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for index, (run, label) in enumerate(zip(runs, labels)):
        points = _points(_epoch_records(run.metrics()), "epoch", metric)
        if points:
            style = "-o" if len(points) < FEW_EPOCHS else "-"
            axis.plot(*zip(*points), style, color=colors[index % len(colors)], label=label)
        else:  # named in the legend as missing, not drawn as a colour with no line behind it
            axis.plot([], [], linestyle="", label=f"{label} (no {metric} recorded)")
    axis.set(xlabel="epoch", ylabel=metric, title=_title(f"{metric} by run", shared))
    _integer_ticks(axis)
    axis.legend(fontsize="small")
    axis.grid(alpha=0.3)
    return figure


def _steps_in_epochs(records: list[dict[str, Any]]) -> list[tuple[float, float]] | None:
    """A few-epoch run's logged train losses placed in epochs (step 5 of a 10-step epoch 1 at 0.5), for a chart by
    epoch; None when no epoch record tells how many steps an epoch has."""
    ends = [(0, 0)]  # (step, epoch) at the end of each epoch, from the start
    for record in _epoch_records(records):
        if (
            is_finite_number(record.get("step"))
            and is_finite_number(record.get("epoch"))
            and record["step"] > ends[-1][0]
        ):
            ends.append((record["step"], record["epoch"]))
    if len(ends) < 2:
        return None
    steps, placed = [step for step, _ in ends], []
    for step, loss in _points(_step_records(records), "step", "train_loss"):
        index = min(max(bisect_left(steps, step), 1), len(ends) - 1)  # past the last epoch: at its pace
        (start, first), (end, last) = ends[index - 1], ends[index]
        placed.append((first + (step - start) * (last - first) / (end - start), loss))
    return placed


def _draw_compared_run(axis, meta: dict, records: list[dict], label: str, color, by_steps: bool) -> list[float]:
    """One run's train (solid) and val (dashed) curves; a diverged run ends in an 'x'. Returns the values drawn."""
    _, train, val, _ = _loss_series(records, by_steps)
    stepped = None if by_steps or not _by_steps(records) else _steps_in_epochs(records)
    train = stepped or train
    diverged = meta.get("status") == "diverged"
    if diverged and not by_steps and not stepped:  # its diverging epoch has no epoch record: end on its last step
        last_epoch = max((r["epoch"] for r in _epoch_records(records) if is_finite_number(r.get("epoch"))), default=0)
        tail = [r for r in _step_records(records) if r.get("epoch", 0) > last_epoch]
        if tail:
            train.append((last_epoch + 1, tail[-1]["train_loss"]))
    legend = f"{label} (diverged)" if diverged else label
    where = meta.get("steps") if by_steps else (meta.get("epochs_completed") or 0) + 1
    if diverged and not train:
        legend = f"{label} (diverged at {'step' if by_steps else 'epoch'} {where}, no finite loss logged)"
    dots = "o" if len(train) < FEW_EPOCHS else None  # a point or two: a line alone would draw nothing
    axis.plot(*(zip(*train) if train else ([], [])), "-", color=color, marker=dots, markersize=5, label=legend)
    if val:  # per step there is one val point per epoch: dots, or a single one would not show
        dots = "o" if by_steps or stepped or len(val) < FEW_EPOCHS else None
        axis.plot(*zip(*val), "--", color=color, marker=dots, markersize=5)
    cross = {"color": color, "markersize": 10, "markeredgewidth": 2}
    if diverged and train:
        axis.plot(*train[-1], "x", **cross)
    elif diverged and is_finite_number(where):  # nothing to draw: mark where it happened, on the top edge
        axis.plot([where], [1.0], "x", clip_on=False, transform=axis.get_xaxis_transform(), **cross)
    return [y for _, y in train + val]


def _compare_legends(axis, any_diverged: bool, by_steps: bool) -> None:
    """The runs' legend and a key of line styles, outside the axes so no curve hides behind them."""
    run_legend = axis.legend(fontsize=8, title="run", loc="upper left", bbox_to_anchor=(1.02, 1.0))
    axis.add_artist(run_legend)
    run_legend.set_clip_on(False)  # add_artist clips to the axes: this legend is outside them
    styles = [
        Line2D([], [], color="gray", linestyle="-", label="train"),
        Line2D([], [], color="gray", linestyle="--", marker="o" if by_steps else None, label="val"),
    ]
    if any_diverged:
        styles.append(Line2D([], [], color="gray", marker="x", linestyle="", label="diverged"))
    axis.legend(handles=styles, fontsize=8, loc="lower left", bbox_to_anchor=(1.02, 0.0))
