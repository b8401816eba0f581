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


def _write_module(folder: Path, name: str) -> None:
    (folder / f"{name}.py").write_text(
        "from subprocess import Popen\n\nLIMIT = 3\n\n\ndef my_loss(outputs, targets):\n"
        "    return ((outputs - targets) ** 2).mean()\n"
    )


def test_module_references_resolve_only_inside_plugins_and_only_what_they_define(tmp_path, monkeypatch):
    from learnai_cli.registry.plugins import ReferenceRefused, resolve_reference

    _write_module(tmp_path, "ref_plugin_mod")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(ReferenceRefused, match="not one of the config's plugins"):
        resolve_reference("ref_plugin_mod:my_loss", tmp_path, plugin_specs=[])
    assert "ref_plugin_mod" not in __import__("sys").modules  # refused before anything was imported
    importlib_module = __import__("importlib").import_module("ref_plugin_mod")
    assert resolve_reference("ref_plugin_mod:my_loss", tmp_path, ["ref_plugin_mod"])[1] is importlib_module.my_loss
    for attribute in ("Popen", "LIMIT"):
        with pytest.raises(ReferenceRefused, match="not a function or class defined in"):
            resolve_reference(f"ref_plugin_mod:{attribute}", tmp_path, ["ref_plugin_mod"])


def test_a_file_reference_resolves_beside_the_config(tmp_path):
    from learnai_cli.registry.plugins import ReferenceRefused, resolve_reference

    _write_module(tmp_path, "beside_losses")
    resolved, target = resolve_reference("beside_losses.py:my_loss", tmp_path)
    assert resolved == f"{tmp_path / 'beside_losses.py'}:my_loss" and target.__name__ == "my_loss"
    with pytest.raises(ReferenceRefused):
        resolve_reference("beside_losses.py:Popen", tmp_path)


def test_a_plugin_calling_sys_exit_is_a_config_problem(tmp_path):
    from learnai_cli.registry.plugins import load_all

    (tmp_path / "exits.py").write_text("import sys\nsys.exit('bye')\n")
    resolved, problems = load_all(["exits.py"], tmp_path)
    assert resolved == [] and "cannot load 'exits.py': SystemExit: bye" in problems[0]
