"""Plugins: user modules and files that register builders; their failures are config errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from learnai_cli import config as config_module
from learnai_cli.errors import ConfigError
from tests.conftest import CONFIGS


def problems_of(path: Path, *overrides: str) -> str:
    with pytest.raises(ConfigError) as caught:
        config_module.load(path, list(overrides))
    return caught.value.render()


def test_plugin_registers_a_model(tmp_path, cli):
    plugin = tmp_path / "my_models.py"
    plugin.write_text(
        "from torch import nn\n"
        "from learnai_cli.registry import MODELS\n\n"
        "@MODELS.register('plugin_tiny_regressor')\n"
        "def tiny(width: int = 4):\n"
        "    '''A two-layer regressor from a plugin.'''\n"
        "    return nn.Sequential(nn.Linear(1, width), nn.ReLU(), nn.Linear(width, 1))\n"
    )
    source = (CONFIGS / "linear_regression.yaml").read_text()
    source = source.replace(
        "model:\n  name: linear_regression\n  n_in: 1\n  n_out: 1\n",
        "model:\n  name: plugin_tiny_regressor\n  width: 8\n",
    )
    path = tmp_path / "with_plugin.yaml"
    path.write_text("plugins: [my_models.py]\n" + source)
    payload = cli.json("train", path, "train.epochs=2")
    assert payload["status"] == "completed"
    report = cli.json("eval", payload["run_id"])  # eval rebuilds the plugin model from the run's config
    assert report["metrics"]["mse"] >= 0


def test_broken_plugin_is_a_config_error(tmp_path):
    plugin = tmp_path / "broken.py"
    plugin.write_text("raise RuntimeError('boom')\n")
    path = tmp_path / "cfg.yaml"
    path.write_text(
        "plugins: [broken.py, missing.py, no_such_module_xyz]\n" + (CONFIGS / "toy_classes.yaml").read_text()
    )
    text = problems_of(path)
    assert "cannot load 'broken.py': RuntimeError: boom" in text
    assert "cannot load 'missing.py'" in text and "cannot load 'no_such_module_xyz'" in text
