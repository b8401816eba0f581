"""Under --json, stdout holds the one JSON object and nothing else, whatever a library or plugin prints meanwhile
(MLflow's "View run ... at http://..." lines broke `learnai train --json | jq`): such output goes to stderr."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.conftest import CONFIGS

NOISY_PLUGIN = (
    "import sys\n"
    "from torch import nn\n"
    "from learnai_cli.registry import MODELS\n\n"
    "class Noisy(nn.Sequential):\n"
    "    def forward(self, x):\n"
    "        print('View run noisy at: http://tracking.example/#/runs/1')  # as a library might\n"
    "        sys.stdout.write('more chatter\\n')\n"
    "        return super().forward(x)\n\n"
    "@MODELS.register('noisy_regressor')\n"
    "def noisy(width: int = 4):\n"
    "    '''A regressor that prints on stdout when built and at every forward pass.'''\n"
    "    print('building the noisy model')\n"
    "    return Noisy(nn.Linear(1, width), nn.ReLU(), nn.Linear(width, 1))\n"
)


@pytest.fixture(scope="module")
def noisy_config(tmp_path_factory):
    """One plugin file for the module: a builder name registers once per process."""
    tmp_path = tmp_path_factory.mktemp("noisy")
    (tmp_path / "noisy.py").write_text(NOISY_PLUGIN)
    source = (CONFIGS / "linear_regression.yaml").read_text()
    source = source.replace(
        "model:\n  name: linear_regression\n  n_in: 1\n  n_out: 1\n", "model:\n  name: noisy_regressor\n  width: 4\n"
    )
    path = tmp_path / "noisy.yaml"
    path.write_text("plugins: [noisy.py]\n" + source)
    return path


def one_object(stdout: str) -> dict:
    assert len(stdout.strip().splitlines()) == 1, stdout[:2000]
    return json.loads(stdout)


def test_train_eval_and_predict_print_only_their_json_on_stdout(cli, noisy_config):
    result = cli("train", noisy_config, "train.epochs=2", "--json")
    assert result.exit_code == 0, result.output
    trained = one_object(result.stdout)
    assert trained["status"] == "completed" and "View run noisy" in result.stderr
    for command in (["eval", trained["run_id"], "--json"], ["predict", trained["run_id"], "--json", "--", "0.5"]):
        done = cli(*command)
        assert done.exit_code == 0 and one_object(done.stdout)["ok"], done.output
        assert "more chatter" in done.stderr


def test_a_failing_command_prints_only_its_error_object_on_stdout(cli, noisy_config):
    result = cli("train", noisy_config, "train.epochs=2", "optimizer.lr=1e36", "optimizer.name=sgd", "--json")
    assert result.exit_code == 1
    assert one_object(result.stdout)["ok"] is False and "building the noisy model" in result.stderr


def test_without_json_the_output_stays_on_stdout(cli, noisy_config):
    result = cli("train", noisy_config, "train.epochs=1")
    assert result.exit_code == 0 and "building the noisy model" in result.stdout


def test_the_console_script_pipes_one_object(noisy_config, tmp_path):
    done = subprocess.run(
        [sys.executable, "-m", "learnai_cli", "train", str(noisy_config), "train.epochs=1", "--json"]
        + ["--runs-dir", str(tmp_path / "runs")],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0 and one_object(done.stdout)["status"] == "completed", done.stderr


@pytest.mark.parametrize("command", [["sweep", "optimizer.lr=0.01,0.02"], ["tune", "optimizer.lr=choice(0.01, 0.02)"]])
def test_sweep_and_tune_print_only_their_json_on_stdout(noisy_config, tmp_path, command):
    verb, *arguments = command
    workers = ["--trials", "2", "--workers", "2"] if verb == "tune" else []  # workers are processes of their own
    done = subprocess.run(
        [sys.executable, "-m", "learnai_cli", verb, str(noisy_config), *arguments, "train.epochs=1", *workers]
        + ["--json", "--runs-dir", str(tmp_path / "runs")],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert one_object(done.stdout)["ok"] and "View run noisy" in done.stderr
