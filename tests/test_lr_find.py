"""learnai lr-find: a repeatable range test that suggests an lr that trains, or declines and says why."""

from __future__ import annotations

import json
import math
import random
import subprocess
import sys
from pathlib import Path

import pytest

from learnai_cli.commands.lr_find.curve import read_curve
from tests.conftest import CONFIGS, REPO

GENERALFIT = CONFIGS / "generalfit.yaml"
DOCUMENTED_GENERALFIT_MSE = 0.003  # docs/shipped-experiments.md: "lr 0.01: test MSE 0.003"


def test_generalfit_suggestion_is_repeatable_and_trains_to_the_documented_result(cli, runs_dir):
    first, second = cli.json("lr-find", GENERALFIT), cli.json("lr-find", GENERALFIT)
    assert first["ok"] and first["suggested_lr"] is not None
    assert first["suggested_lr"] == second["suggested_lr"] and first["losses"] == second["losses"]  # bit for bit
    assert first["lrs"] == second["lrs"] and len(first["lrs"]) == len(first["losses"]) == first["steps_run"]
    assert first["override"] == f"optimizer.lr={first['suggested_lr']:g}" and first["override"] in first["command"]
    assert 1e-4 < first["suggested_lr"] < 0.1 and "falls fastest" in first["reason"]
    for result in (first, second):  # one plot each, never over another, in the runs root's lr_find/ folder
        plot = Path(result["plot"])
        assert plot.parent == runs_dir / "lr_find" and plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert first["plot"] != second["plot"] and not list((runs_dir / "lr_find").glob(".*"))  # no temp file left
    assert cli.json("runs")["runs"] == []  # the range test is not a run and trains none
    trained = cli.json("train", GENERALFIT, first["override"])
    assert trained["ok"], trained
    mse = cli.json("eval", trained["run_id"])["metrics"]["mse"]
    assert mse <= 1.2 * DOCUMENTED_GENERALFIT_MSE, mse  # as good as the shipped lr 0.01 (0.0030)


def test_text_output_names_the_suggestion_the_override_and_the_plot(cli, runs_dir, tmp_path):
    other = tmp_path / "elsewhere"
    result = cli("lr-find", CONFIGS / "rnn_hello.yaml", "--steps", "120", "--runs-dir", other)
    assert result.exit_code == 0, result.stderr
    assert "suggested lr:" in result.stdout and "override: optimizer.lr=" in result.stdout
    assert "try: learnai train" in result.stdout and f"plot: {other / 'lr_find'}" in result.stdout
    assert len(list((other / "lr_find").glob("*_rnn_hello.png"))) == 1 and not runs_dir.exists()


def test_a_runs_root_that_is_a_file_is_refused_before_the_sweep(cli, tmp_path):
    (tmp_path / "a_file").write_text("not a folder")
    result = cli("lr-find", GENERALFIT, "--runs-dir", tmp_path / "a_file")
    assert result.exit_code == 2 and "a_file" in result.stderr and "Traceback" not in result.stderr


def test_start_end_and_steps_shape_the_sweep(cli):
    result = cli.json("lr-find", CONFIGS / "toy_classes.yaml", "--start", "1e-4", "--end", "1", "--steps", "60")
    lrs = result["lrs"]
    assert result["steps"] == 60 and len(lrs) == result["steps_run"] <= 60
    assert math.isclose(lrs[0], 1e-4) and lrs[-1] <= 1 + 1e-9
    assert all(b > a for a, b in zip(lrs, lrs[1:]))  # exponential: a constant ratio from step to step
    assert math.isclose(lrs[1] / lrs[0], lrs[-1] / lrs[-2], rel_tol=1e-9)


DEAD_MODEL = """
from torch import nn
from learnai_cli.registry import MODELS


class DeadRelu(nn.Module):
    '''A linear layer behind a ReLU that never fires: the output is always 0 and no gradient gets through.'''

    def __init__(self):
        super().__init__()
        self.linear = nn.Linear(1, 1)
        nn.init.constant_(self.linear.bias, -1000.0)

    def forward(self, x):
        return nn.functional.relu(self.linear(x))


@MODELS.register("lr_find_dead_relu")
def lr_find_dead_relu() -> nn.Module:
    '''A model whose loss cannot move.'''
    return DeadRelu()
"""


def test_declines_on_a_flat_curve_saying_why(cli, tmp_path, runs_dir):
    (tmp_path / "dead.py").write_text(DEAD_MODEL)
    config = tmp_path / "dead.yaml"
    config.write_text(GENERALFIT.read_text().replace("name: mlp", "name: lr_find_dead_relu"))
    lines = [line for line in config.read_text().splitlines() if not line.startswith(("  in_", "  hidden", "  out_"))]
    config.write_text("\n".join(line for line in lines if "activation" not in line) + "\n")
    result = cli.json("lr-find", config, "--plugin", str(tmp_path / "dead.py"))
    assert result["ok"] and result["suggested_lr"] is None and result["override"] is None
    assert result["command"] is None and "never fell meaningfully below its start" in result["reason"]
    assert Path(result["plot"]).read_bytes()[:4] == b"\x89PNG"  # the flat curve is drawn too, without a mark
    text = cli("lr-find", config, "--plugin", str(tmp_path / "dead.py"))
    assert text.exit_code == 0 and "no suggestion: the loss never fell" in text.stdout


def test_declines_on_a_noisy_curve_saying_why(cli):
    overrides = ["data.noise=3", "train.batch_size=4", "data.n=1000"]  # noise far above what the model learns
    result = cli.json("lr-find", CONFIGS / "linear_regression.yaml", *overrides)
    assert result["ok"] and result["suggested_lr"] is None and result["override"] is None, result["reason"]
    assert "too noisy to trust" in result["reason"] and "--steps" in result["reason"]


def test_a_dip_that_noise_alone_makes_is_flat(cli):
    overrides = ["data.noise=1", "train.batch_size=1", "data.n=1000"]  # one sample a step: its loss jumps
    result = cli.json("lr-find", CONFIGS / "linear_regression.yaml", *overrides)
    assert result["suggested_lr"] is None and "a dip the batch-to-batch noise alone makes" in result["reason"]


@pytest.mark.parametrize(
    "arguments, words",
    [
        (["--steps", "5"], "--steps 5 must be between 20 and"),
        (["--start", "0"], "--start 0 must be a positive learning rate"),
        (["--start", "nan"], "--start nan must be a positive"),
        (["--start", "-inf"], "--start -inf must be a positive learning rate: a finite number above 0"),
        (["--start", "inf"], "--start inf must be a positive learning rate: a finite number above 0"),
        (["--start", "-1e-3"], "--start -0.001 must be a positive learning rate"),
        (["--start", "1", "--end", "0.1"], "--end 0.1 must be a finite learning rate above --start 1"),
        (["--start", "1", "--end", "1"], "--end 1 must be a finite learning rate above --start 1"),
        (["--end", "inf"], "--end inf must be a finite learning rate above --start 1e-07"),
        (["--end", "1e400"], "--end inf must be a finite learning rate above --start 1e-07"),
        (["--end", "nan"], "--end nan must be a finite learning rate above --start 1e-07"),
        (["--end", "-1"], "--end -1 must be a finite learning rate above --start 1e-07"),
        (["optimizer.lrr=0.1"], "Did you mean 'lr'"),
        (["--steps", "many"], "Invalid value for '--steps'"),
    ],
)
def test_bad_options_exit_2_with_a_message_and_write_nothing(cli, runs_dir, arguments, words):
    result = cli("lr-find", GENERALFIT, *arguments)
    assert result.exit_code == 2 and words in result.stderr, result.stderr
    assert "Traceback" not in result.stderr and not runs_dir.exists()
    if words.startswith("--"):  # a range refused: one line naming the option, what is wrong and the valid range
        assert len(result.stderr.strip().splitlines()) == 1, result.stderr


def test_a_missing_config_and_json_errors(cli, runs_dir, tmp_path):
    result = cli("lr-find", tmp_path / "nope.yaml", "--json")
    assert result.exit_code == 2 and "nope.yaml" in result.stderr and not runs_dir.exists()
    assert json.loads(result.stdout)["ok"] is False
    bad = cli("lr-find", GENERALFIT, "--end", "1e-9", "--json")
    assert bad.exit_code == 2 and json.loads(bad.stdout)["exit_code"] == 2


def test_reading_a_curve_needs_no_torch_or_matplotlib():
    code = (
        "import sys\n"
        "import learnai_cli.commands.lr_find.curve, learnai_cli.commands.lr_find.run, learnai_cli.cli.lr_find\n"
        "assert 'torch' not in sys.modules and 'matplotlib' not in sys.modules, 'a heavy import'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=REPO)


def _sweep(loss_at, steps: int = 200, beta: float = 0.839, seed: int = 0):
    """A made-up sweep from 1e-7 to 10: loss_at(log10 lr, rng) per step, smoothed as the range test smooths."""
    rng = random.Random(seed)
    lrs = [1e-7 * 1e8 ** (i / (steps - 1)) for i in range(steps)]
    losses = [loss_at(math.log10(lr), rng) for lr in lrs]
    smoothed, average = [], 0.0
    for step, loss in enumerate(losses):
        average = beta * average + (1 - beta) * loss
        smoothed.append(average / (1 - beta ** (step + 1)))
    return lrs, losses, smoothed, beta


def test_the_rule_finds_a_clean_descent_and_declines_flat_and_noisy_curves():
    def descent(x, rng):  # from 1 to 0.1, steepest at lr 1e-3, with 2% noise
        return 0.1 + 0.9 / (1 + math.exp(3 * (x + 3))) + rng.gauss(0, 0.02)

    reading = read_curve(*_sweep(descent), stopped="end")
    assert reading.suggested_lr is not None and 3e-4 < reading.suggested_lr < 3e-3, reading
    flat = read_curve(*_sweep(lambda x, rng: 1.0 + rng.gauss(0, 0.05)), stopped="end")
    assert flat.suggested_lr is None and "never fell" in flat.reason
    spiky = read_curve(*_sweep(lambda x, rng: rng.expovariate(1.0) ** 3), stopped="end")  # heavy-tailed noise only
    assert spiky.suggested_lr is None, spiky
    negative = read_curve(*_sweep(lambda x, rng: descent(x, rng) - 5), stopped="end")  # e.g. a Gaussian NLL
    assert negative.suggested_lr == reading.suggested_lr
    zero = read_curve(*_sweep(lambda x, rng: 0.0), stopped="end")  # nothing left to fall
    assert zero.suggested_lr is None and "never fell" in zero.reason
    short = read_curve(*_sweep(descent, steps=200)[:1], [0.5] * 3, [0.5] * 3, 0.8, stopped="exploded")
    assert short.suggested_lr is None and "too few" in short.reason


STOPPING_LOSS = """
import torch

CALLS = [0]


def mse_then_ctrl_c(outputs, targets):
    '''MSE, until the 30th call, where the user presses Ctrl-C (as KeyboardInterrupt arrives in Python).'''
    CALLS[0] += 1
    if CALLS[0] == 30:
        raise KeyboardInterrupt
    return torch.nn.functional.mse_loss(outputs, targets)
"""


def test_an_interrupted_sweep_exits_130_and_writes_nothing(cli, tmp_path, runs_dir):
    (tmp_path / "stop_losses.py").write_text(STOPPING_LOSS)
    config = tmp_path / "stopped.yaml"
    source = GENERALFIT.read_text().replace("  name: mse", "  name: stop_losses.py:mse_then_ctrl_c")
    config.write_text("plugins: [stop_losses.py]\n" + source)
    result = cli("lr-find", config, "--json")
    assert result.exit_code == 130 and "stopped the command before it finished" in result.stderr, result.stderr
    assert json.loads(result.stdout)["exit_code"] == 130 and not (runs_dir / "lr_find").exists()


def test_a_one_cycle_peak_set_by_max_lr_is_the_override_named(cli):
    result = cli.json("lr-find", GENERALFIT, "scheduler.name=onecycle", "scheduler.max_lr=0.01", "--steps", "300")
    assert result["override"] == f"scheduler.max_lr={result['suggested_lr']:g}", result["reason"]
    assert result["command"].endswith(f"scheduler.name=onecycle {result['override']}")  # in place of max_lr=0.01
