"""learnai plot: --compare, --landscape, --animate (train.record_predictions); the figures' content, on hand-made runs."""

from __future__ import annotations

import json
from pathlib import Path

import matplotlib
import numpy as np
import pytest
import yaml

from learnai_cli.atomic import write_json
from learnai_cli.plots import compare as compare_plots
from learnai_cli.plots import figures as plots
from learnai_cli.rundir import RunDir
from tests.conftest import CONFIGS

PNG, GIF = b"\x89PNG\r\n\x1a\n", b"GIF8"


def test_record_predictions_and_animate(cli, runs_dir):
    payload = cli.json("train", CONFIGS / "generalfit.yaml", "train.record_predictions=true", "train.epochs=5")
    lines = (Path(payload["run_dir"]) / "predictions.jsonl").read_text().splitlines()
    header, epochs = json.loads(lines[0]), [json.loads(line) for line in lines[1:]]
    assert header["type"] == "grid" and len(header["x"]) == 200
    assert [e["epoch"] for e in epochs] == [1, 2, 3, 4, 5] and len(epochs[0]["y"]) == 200
    written = cli.json("plot", payload["run_id"], "--animate")["plots"]
    names = {Path(p).name: Path(p) for p in written}
    assert names["fit.png"].read_bytes()[:8] == PNG and names["training.gif"].read_bytes()[:4] == GIF


def test_animate_without_predictions_is_a_clear_error(cli):
    payload = cli.json("train", CONFIGS / "toy_classes.yaml", "train.epochs=2")
    result = cli("plot", payload["run_id"], "--animate")
    assert result.exit_code == 2 and "train.record_predictions=true" in result.stderr


def test_record_predictions_needs_1d_regression(cli):
    result = cli("train", CONFIGS / "toy_classes.yaml", "train.record_predictions=true")
    assert result.exit_code == 2 and "needs 1-D regression data" in result.stderr


def test_compare_overlays_runs(cli, runs_dir):
    first = cli.json("train", CONFIGS / "toy_classes.yaml", "train.epochs=3")
    second = cli.json("train", CONFIGS / "toy_classes.yaml", "train.epochs=3", "optimizer.lr=0.5")
    written = cli.json("plot", first["run_id"], second["run_id"], "--compare")["plots"]
    assert written == [str(runs_dir / "comparison.png")] and Path(written[0]).read_bytes()[:8] == PNG


def test_landscape_of_the_curriculum_data_and_of_a_config(cli, tmp_path):
    default = cli.json("plot", "--landscape", "-o", str(tmp_path / "a.png"))["plots"][0]
    from_config = cli.json(
        "plot", "--landscape", str(CONFIGS / "linear_regression.yaml"), "-o", str(tmp_path / "b.png")
    )["plots"][0]
    assert Path(default).read_bytes()[:8] == PNG and Path(from_config).read_bytes()[:8] == PNG
    wrong = cli("plot", "--landscape", str(CONFIGS / "toy_classes.yaml"))
    assert wrong.exit_code == 2 and "needs 1-D regression data" in wrong.stderr


# Figures from run directories written by hand, in the trainer's format (RunDir + RunRecorder): no training, no torch.


BASE_CONFIG = {
    "name": "toy",
    "data": {"name": "toy_classes"},
    "model": {"name": "mlp", "in_features": 2, "hidden": [5], "out_features": 3},
    "loss": {"name": "cross_entropy"},
    "optimizer": {"name": "sgd", "lr": 0.1, "momentum": 0.0},
    "train": {"epochs": 6, "batch_size": 6},
}


def write_config(run: RunDir, settings: dict) -> None:
    """config.yaml: BASE_CONFIG with `settings` ({"optimizer.lr": 0.5} sets a key, {"model": {...}} a section)."""
    config = json.loads(json.dumps(BASE_CONFIG))
    for key, value in settings.items():
        *sections, leaf = key.split(".")
        node = config
        for section in sections:
            node = node[section]
        node[leaf] = value
    run.write_config(config)


def make_run(
    root: Path,
    name: str,
    epochs: int,
    steps_per_epoch: int = 10,
    log_every: int = 1,
    status="completed",
    label=None,
    command=None,
    diverge_at_epoch=None,
    start_loss=1.0,
    config=None,
) -> RunDir:
    """A run directory as the trainer leaves it: config.yaml (BASE_CONFIG, the label's key=value settings, then
    `config`), meta.json, and metrics.jsonl with step and epoch records."""
    run = RunDir.create(root, name)
    settings = {key: yaml.safe_load(value) for key, value in (word.split("=", 1) for word in (label or "").split())}
    write_config(run, {"name": name, "train.epochs": epochs, **settings, **(config or {})})
    meta = {
        "run_id": run.id,
        "name": name,
        "status": status,
        "command": command or ["learnai", "train", f"{name}.yaml"],
    }
    if label is not None:
        meta["label"] = label
    write_json(run.meta_path, meta)
    step, loss = 0, start_loss
    for epoch in range(1, epochs + 1):
        for _ in range(steps_per_epoch):
            step += 1
            loss *= 0.97 if diverge_at_epoch is None or epoch < diverge_at_epoch else 3.0
            if step % log_every == 0:
                run.append_metrics({"type": "step", "epoch": epoch, "step": step, "train_loss": loss, "lr": 0.1})
        if epoch == diverge_at_epoch:
            break  # the trainer raises Diverged: this epoch gets no epoch record
        run.append_metrics(
            {
                "type": "epoch",
                "epoch": epoch,
                "step": step,
                "samples": 320,
                "train_loss": loss,
                "lr": 0.1,
                "val_loss": loss * 1.1,
                "val_accuracy": min(1.0, 0.5 + 0.05 * epoch),
            }
        )
    return run


def drawn_ticks_are_integers(axis) -> bool:
    axis.figure.canvas.draw()
    low, high = axis.get_xlim()
    ticks = [t for t in axis.get_xticks() if low <= t <= high]
    return bool(ticks) and all(float(t).is_integer() for t in ticks)


def lines_of(axis):
    """The plotted curves (not legend proxies), as (x data, y data, colour, linestyle, marker)."""
    return [
        (
            list(ln.get_xdata()),
            list(ln.get_ydata()),
            matplotlib.colors.to_hex(ln.get_color()),
            ln.get_linestyle(),
            ln.get_marker(),
        )
        for ln in axis.get_lines()
    ]


def test_a_one_epoch_run_plots_its_loss_per_step(tmp_path):
    run = make_run(tmp_path, "poly", epochs=1, steps_per_epoch=40)
    figure = plots.loss_figure(run.metrics(), "poly")
    loss_axis, metric_axis = figure.axes[:2]
    assert loss_axis.get_xlabel() == "step" and metric_axis.get_xlabel() == "step"
    (train_x, train_y, *_), (val_x, *_) = lines_of(loss_axis)
    assert train_x == list(range(1, 41)) and len(train_y) == 40  # every logged step, not one dot per epoch
    assert val_x == [40]  # validation at the epoch's last step
    assert drawn_ticks_are_integers(loss_axis)
    assert [p.name for p in plots.plot_run(run)] == ["loss.png"]


def test_a_run_with_few_epochs_plots_steps_and_a_long_one_epochs(tmp_path):
    few = plots.loss_figure(make_run(tmp_path, "few", epochs=3, log_every=2).metrics(), "few")
    assert few.axes[0].get_xlabel() == "step" and lines_of(few.axes[0])[1][0] == [10, 20, 30]
    assert "every 2 steps" in few.axes[0].get_legend().get_texts()[0].get_text()
    many = plots.loss_figure(make_run(tmp_path, "many", epochs=7).metrics(), "many")
    assert many.axes[0].get_xlabel() == "epoch" and lines_of(many.axes[0])[0][0] == [1, 2, 3, 4, 5, 6, 7]
    # Few epochs but no step records inside them (log_every_steps larger than an epoch): per epoch, integer ticks.
    sparse = plots.loss_figure(make_run(tmp_path, "sparse", epochs=3, log_every=1000).metrics(), "sparse")
    assert sparse.axes[0].get_xlabel() == "epoch" and lines_of(sparse.axes[0])[0][0] == [1, 2, 3]
    for figure in (few, many, sparse):
        assert all(drawn_ticks_are_integers(axis) for axis in figure.axes)


def test_every_panel_has_axis_labels(tmp_path):
    figure = plots.loss_figure(make_run(tmp_path, "run", epochs=6).metrics(), "run")
    assert len(figure.axes) == 2
    for axis in figure.axes:
        assert axis.get_xlabel() and axis.get_ylabel()
    assert figure.axes[1].get_ylabel() == "accuracy"  # the only validation metric, named


def sweep_runs(root: Path) -> list[RunDir]:
    return [
        make_run(root, "lr", epochs=6, label="optimizer.lr=0.01 train.epochs=6"),
        make_run(root, "lr", epochs=6, label="optimizer.lr=0.1 train.epochs=6"),
        make_run(root, "lr", epochs=6, label="optimizer.lr=10 train.epochs=6", status="diverged", diverge_at_epoch=3),
    ]


def test_compare_gives_each_run_one_colour_and_a_short_label(tmp_path):
    figure = compare_plots.compare_figure(sweep_runs(tmp_path))
    axis = figure.axes[0]
    curves = lines_of(axis)
    run_legend = axis.artists[0] if axis.artists else None
    texts = [t.get_text() for t in run_legend.get_texts()]
    assert texts == ["optimizer.lr=0.01", "optimizer.lr=0.1", "optimizer.lr=10 (diverged)"]  # shared setting dropped
    assert "train.epochs=6" in axis.get_title()
    solid = [c for c in curves if c[3] == "-"]
    dashed = [c for c in curves if c[3] == "--"]
    assert len(solid) == 3 and len(dashed) == 3
    assert [c[2] for c in solid] == [c[2] for c in dashed]  # a run's train and val share its colour
    assert len({c[2] for c in solid}) == 3  # and runs differ
    assert axis.get_xlabel() == "epoch" and axis.get_ylabel() == "loss" and drawn_ticks_are_integers(axis)


def test_compare_shows_a_diverged_run_up_to_its_divergence_and_marks_it(tmp_path):
    runs = sweep_runs(tmp_path)
    axis = compare_plots.compare_figure(runs).axes[0]
    colour = [c for c in lines_of(axis) if c[3] == "-"][2][2]
    train = next(c for c in lines_of(axis) if c[3] == "-" and c[2] == colour)
    last_logged = [r for r in runs[2].metrics() if r["type"] == "step"][-1]
    # Two epochs and a part: drawn per logged step, placed in the epochs (step 25 of 10-step epochs at 2.5).
    assert train[0] == pytest.approx([step / 10 for step in range(1, 31)])
    assert train[1][-1] == pytest.approx(last_logged["train_loss"])  # into its last epoch
    (marker,) = [c for c in lines_of(axis) if c[4] == "x"]
    assert marker[2] == colour and marker[0] == [3] and marker[1] == [pytest.approx(last_logged["train_loss"])]
    styles = [t.get_text() for t in axis.get_legend().get_texts()]
    assert styles == ["train", "val", "diverged"]


def test_compare_labels_runs_by_the_settings_their_configs_differ_in(tmp_path):
    # The command lines only name the runs (name=e_gru); their configs say what differs: model, arguments, lr.
    def command(*overrides):
        return ["learnai", "train", "e.yaml", *overrides]

    gru = make_run(
        tmp_path, "e_gru", 6, command=command("name=e_gru"), config={"model": {"name": "gru", "hidden_size": 32}}
    )
    mlp = make_run(tmp_path, "e_mlp", 6, command=command("name=e_mlp"))
    fast = make_run(
        tmp_path, "e_mlp", 6, command=command("name=e_mlp", "optimizer.lr=0.5"), config={"optimizer.lr": 0.5}
    )
    axis = compare_plots.compare_figure([gru, mlp, fast]).axes[0]
    assert [t.get_text() for t in axis.artists[0].get_texts()] == [
        "model.name=gru optimizer.lr=0.1 …",  # which model first, then what every run sets; "…": the model's arguments
        "model.name=mlp optimizer.lr=0.1 …",
        "model.name=mlp optimizer.lr=0.5 …",
    ]
    assert axis.get_title() == "loss by run (all: data.name=toy_classes loss.name=cross_entropy optimizer.name=sgd …)"


def test_compare_labels_skip_settings_that_tell_no_runs_apart(tmp_path):
    toy = [make_run(tmp_path, "toy", 6, config={"optimizer.lr": lr}) for lr in (0.1, 0.5)]
    other = {"data": {"name": "linear"}, "model": {"name": "linear_regression"}, "loss": {"name": "mse"}}
    line = make_run(tmp_path, "line", 6, config=other)
    labels, _ = compare_plots.run_labels([*toy, line])  # model.name and loss.name follow data.name: not named
    assert labels == [
        "data.name=toy_classes optimizer.lr=0.1 …",
        "data.name=toy_classes optimizer.lr=0.5 …",
        "data.name=linear optimizer.lr=0.1 …",
    ]


def test_compare_labels_runs_that_differ_in_nothing_by_their_ids(tmp_path):
    same = [
        make_run(tmp_path, "toy", epochs=6, command=["learnai", "train", "toy.yaml", "train.epochs=6"]) for _ in "ab"
    ]
    axis = compare_plots.compare_figure(same).axes[0]
    assert [t.get_text() for t in axis.artists[0].get_texts()] == [run.id for run in same]
    assert axis.get_title().startswith("loss by run (all: train.epochs=6 data.name=toy_classes model.name=mlp")


def test_compare_of_one_epoch_runs_is_per_step(tmp_path):
    runs = [make_run(tmp_path, "one", epochs=1, steps_per_epoch=30, label=f"optimizer.lr={lr}") for lr in (0.1, 1)]
    axis = compare_plots.compare_figure(runs).axes[0]
    assert axis.get_xlabel() == "step"
    assert [len(c[0]) for c in lines_of(axis) if c[3] == "-"] == [30, 30]
    assert drawn_ticks_are_integers(axis)


def pixels_of(axis, colour: str) -> int:
    """How many pixels inside the axes (legends are outside) are drawn in this colour."""
    import numpy as np

    axis.figure.canvas.draw()
    image = np.asarray(axis.figure.canvas.buffer_rgba())[..., :3].astype(int)
    box = axis.get_window_extent()
    inside = image[int(image.shape[0] - box.y1) : int(image.shape[0] - box.y0), int(box.x0) : int(box.x1)]
    wanted = np.array(matplotlib.colors.to_rgb(colour)) * 255
    return int((np.abs(inside - wanted).sum(axis=-1) < 40).sum())


def test_compare_by_epoch_shows_runs_of_one_epoch(tmp_path):
    # Among 8-epoch runs, a 1-epoch run was a line through one point: a legend entry with nothing drawn.
    cnn = make_run(tmp_path, "cnn", epochs=1, steps_per_epoch=40, config={"model": {"name": "basic_cnn"}})
    quiet = make_run(tmp_path, "quiet", epochs=1, log_every=1000, config={"optimizer.lr": 0.05})  # no step records
    longer = [make_run(tmp_path, "mlp", 8, config={"optimizer.lr": lr}, start_loss=lr * 4) for lr in (0.1, 0.5)]
    axis = compare_plots.compare_figure([cnn, quiet, *longer]).axes[0]
    assert axis.get_xlabel() == "epoch"
    solid = [c for c in lines_of(axis) if c[3] == "-"]
    dashed = [c for c in lines_of(axis) if c[3] == "--"]
    assert solid[0][0] == pytest.approx([step / 40 for step in range(1, 41)])  # its steps, placed in the epoch
    assert solid[1][0] == [1] and solid[1][4] == "o" and all(c[0] == [1] and c[4] == "o" for c in dashed[:2])
    assert [len(c[0]) for c in solid[2:]] == [8, 8] and solid[2][4] == "None"  # long runs stay plain lines
    for curve in solid:
        assert pixels_of(axis, curve[2]) > 20, f"run drawn in {curve[2]} does not show"


def matrix_shown(figure):
    axis = figure.axes[0]
    return axis, axis.images[0].get_array().tolist(), [t.get_text() for t in axis.texts]


def test_confusion_matrix_normalises_imbalanced_classes_by_default():
    imbalanced = [[900, 80, 20], [10, 25, 5], [3, 2, 15]]  # like the names data: one class dwarfs the others
    axis, shown, texts = matrix_shown(plots.confusion_figure(imbalanced, ["Russian", "Czech", "Welsh"], "names"))
    assert [sum(row) for row in shown] == [pytest.approx(1.0)] * 3
    assert shown[2][2] == pytest.approx(0.75) and texts[8] == "0.75"
    assert "(n=1000)" in axis.get_yticklabels()[0].get_text()
    counts = plots.confusion_figure(imbalanced, ["Russian", "Czech", "Welsh"], "names", normalize=False)
    assert matrix_shown(counts)[1] == imbalanced and matrix_shown(counts)[2][0] == "900"


def test_confusion_matrix_keeps_counts_for_balanced_classes():
    balanced = [[40, 10], [12, 38]]
    _, shown, texts = matrix_shown(plots.confusion_figure(balanced, ["no", "yes"], "toy"))
    assert shown == balanced and texts == ["40", "10", "12", "38"]
    _, fractions, _ = matrix_shown(plots.confusion_figure(balanced, ["no", "yes"], "toy", normalize=True))
    assert fractions == [[0.8, 0.2], [pytest.approx(0.24), pytest.approx(0.76)]]


def test_compare_marks_a_run_that_diverged_before_logging_anything(tmp_path):
    runs = sweep_runs(tmp_path)[:2]
    lost = RunDir.create(tmp_path, "lr")  # diverged at step 5 of epoch 1: no metrics.jsonl at all
    write_json(
        lost.meta_path,
        {"status": "diverged", "label": "optimizer.lr=50 train.epochs=6", "epochs_completed": 0, "steps": 5},
    )
    axis = compare_plots.compare_figure([*runs, lost]).axes[0]
    texts = [t.get_text() for t in axis.artists[0].get_texts()]
    assert texts[2] == "optimizer.lr=50 (diverged at epoch 1, no finite loss logged)"
    (marker,) = [c for c in lines_of(axis) if c[4] == "x"]
    assert marker[0] == [1] and marker[2] == [c for c in lines_of(axis) if c[3] == "-"][2][2]


def test_plot_normalize_and_no_normalize_choose_the_confusion_matrix_form(cli, runs_dir):
    run = make_run(runs_dir, "names", epochs=2)
    report = run.eval_report("test", "best")
    report.parent.mkdir()
    matrix = [[900, 80, 20], [10, 25, 5], [3, 2, 15]]  # imbalanced: fractions by default
    write_json(report, {"split": "test", "checkpoint": "best", "confusion_matrix": matrix, "class_names": list("abc")})
    drawn = {}
    for flag in ("--normalize", "--no-normalize", None):
        written = cli.json("plot", run.id, *([flag] if flag else []))["plots"]
        assert str(run.confusion_plot(report)) in written
        drawn[flag] = run.confusion_plot(report).read_bytes()
    assert drawn[None] == drawn["--normalize"] != drawn["--no-normalize"]


def test_plot_normalize_where_no_confusion_matrix_is_drawn_is_a_usage_error(cli, runs_dir, tmp_path):
    run = make_run(runs_dir, "fit", epochs=2)
    for arguments, says in [
        ([run.id, "--normalize"], f"run {run.id} has no confusion matrix to normalise: `learnai eval {run.id}`"),
        ([run.id, run.id, "--compare", "--no-normalize"], "--no-normalize is for a run's confusion matrices"),
        (["--landscape", "--normalize", "-o", tmp_path / "l.png"], "--landscape draws none"),
    ]:
        result = cli("plot", *arguments)
        assert result.exit_code == 2 and says in result.stderr, result.stderr
    assert not (tmp_path / "l.png").exists()


def test_plot_normalize_on_a_regression_run_says_it_has_no_confusion_matrix(cli, runs_dir):
    trained = cli.json("train", CONFIGS / "linear_regression.yaml", "train.epochs=1")
    assert json.loads((Path(trained["run_dir"]) / "meta.json").read_text())["task"] == "regression"
    result = cli("plot", trained["run_id"], "--normalize")
    assert result.exit_code == 2 and "is a regression run" in result.stderr, result.stderr
    assert "learnai eval" not in result.stderr  # eval draws no confusion matrix for it either


MAGIC = {".svg": b"<?xml", ".pdf": b"%PDF", ".jpg": b"\xff\xd8\xff", ".png": PNG, ".PNG": PNG, ".eps": b"%!PS"}


@pytest.mark.parametrize("suffix", sorted(MAGIC))
def test_compare_and_landscape_write_the_format_their_suffix_names(cli, runs_dir, tmp_path, suffix):
    runs = [make_run(runs_dir, "a", epochs=2), make_run(runs_dir, "b", epochs=2)]
    for arguments in ([runs[0].id, runs[1].id, "--compare"], ["--landscape"]):
        out = tmp_path / arguments[-1].strip("-") / f"chart{suffix}"
        assert cli.json("plot", *arguments, "-o", out)["plots"] == [str(out)]
        assert out.read_bytes().startswith(MAGIC[suffix]), out.read_bytes()[:16]


@pytest.mark.parametrize("name", ["chart.txt", "chart", "chart.png.bak"])
def test_plot_refuses_a_suffix_that_names_no_format_and_lists_the_valid_ones(cli, runs_dir, tmp_path, name):
    run = make_run(runs_dir, "a", epochs=2)
    for arguments in ([run.id, run.id, "--compare"], ["--landscape"]):
        result = cli("plot", *arguments, "-o", tmp_path / name)
        assert result.exit_code == 2 and "Traceback" not in result.stderr
        assert str(tmp_path / name) in result.stderr and ".png, .ps, .raw, .rgba, .svg" in result.stderr
    assert list(tmp_path.iterdir()) == [runs_dir]
    shown = " ".join(cli("plot", "--help").stdout.replace("│", " ").split())  # the help as one line of words
    assert "in the format its suffix names: .png, .svg, .pdf, .jpg" in shown, shown


def test_plot_of_a_run_refuses_an_output_it_would_not_write(cli, runs_dir, tmp_path):
    run = make_run(runs_dir, "a", epochs=2)
    result = cli("plot", run.id, "-o", tmp_path / "loss.svg")
    assert result.exit_code == 2 and "-o is where --compare or --landscape write their chart" in result.stderr
    assert not (tmp_path / "loss.svg").exists() and not run.loss_plot.exists()


def _loss_chart_records(scale: float) -> list[dict]:
    return [
        {"type": "epoch", "epoch": e, "train_loss": scale * (1 + 1 / e), "val_loss": scale * (1.1 + 1 / e)}
        for e in range(1, 8)
    ]


@pytest.mark.parametrize(
    "title, scale, once",
    [("run", 1.0, True), ("a" * 90, 1.0, False), ("run", 0.0001, False)],
    ids=["fits", "long-title", "wide-tick-labels"],
)
def test_the_loss_chart_is_rendered_once_unless_its_text_reaches_the_edge(tmp_path, title, scale, once):
    """At its own margins the chart is the figure's size; text that would be cut off there is cropped tight instead,
    whole: the image is then wider (a long title) or differs from the figure's size."""
    from PIL import Image

    path = plots.save_figure(plots.loss_figure(_loss_chart_records(scale), title), tmp_path / "loss.png", True)
    pixels = np.asarray(Image.open(path).convert("RGB"))
    assert (pixels.shape[1] == 660 and pixels.shape[0] == 440) == once  # 6 x 4 inches at 110 dpi
    for edge in (pixels[:2], pixels[-2:], pixels[:, :2], pixels[:, -2:]):  # nothing cut off at any edge
        assert (edge == 255).all()


def test_the_val_loss_rising_band_ends_at_the_last_epoch_not_in_the_margin():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from learnai_cli.plots.diagnosis import draw_marks

    figure, axis = plt.subplots()
    axis.plot(range(1, 11), [1.0 / e for e in range(1, 11)])
    draw_marks(axis, "epoch", {"overfitting_since": 6})
    (band,) = [patch for patch in axis.patches if patch.get_label() == "val loss rising"]
    if hasattr(band, "get_width"):  # a Rectangle (matplotlib 3.9 and newer)
        left, right = band.get_x(), band.get_x() + band.get_width()
    else:  # a Polygon before
        left, right = min(x for x, _ in band.get_xy()), max(x for x, _ in band.get_xy())
    assert (left, right) == (6, 10)
    plt.close(figure)
