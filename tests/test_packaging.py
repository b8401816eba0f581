"""The wheel: every package of the source tree, and the shipped configs as templates, so `learnai init` works from a
plain (non-editable) install that has no configs/ folder."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
import yaml

from tests.conftest import CONFIGS, REPO


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """A wheel built (without network or build isolation) from a copy of the sources, leaving the checkout clean."""
    source = tmp_path_factory.mktemp("source")
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(REPO / name, source / name)
    for folder in ("learnai_cli", "configs"):
        shutil.copytree(REPO / folder, source / folder, ignore=shutil.ignore_patterns("__pycache__"))
    out = tmp_path_factory.mktemp("wheel")
    command = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", out, source]
    subprocess.run([str(c) for c in command], check=True, capture_output=True, timeout=300)
    return next(out.glob("learnai-*.whl"))


def test_the_wheel_holds_every_package_and_every_shipped_config(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    packages = {str(p.relative_to(REPO)) for p in (REPO / "learnai_cli").rglob("__init__.py")}
    assert packages <= names, f"not in the wheel (list them in pyproject.toml): {sorted(packages - names)}"
    templates = {f"learnai_cli/templates/{p.name}" for p in CONFIGS.glob("*.yaml")}
    assert templates and templates <= names
    assert "learnai_cli/data/builtin/diabetes.csv.gz" in names
    report_assets = {"charts.js", "vendor/uPlot.iife.min.js", "vendor/uPlot.min.css", "vendor/uPlot.LICENSE"}
    assert {f"learnai_cli/report/{name}" for name in report_assets} <= names, "learnai report's page needs them inline"


def test_init_from_the_installed_wheel_uses_its_templates(wheel, tmp_path):
    installed = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(installed)
    env = {**os.environ, "PYTHONPATH": str(installed)}  # the unpacked wheel, not the checkout
    command = [sys.executable, "-m", "learnai_cli", "init", "digits", "--from", "mnist_cnn", "--dir", "mine"]
    done = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    written = (tmp_path / "mine" / "digits.yaml").read_text()
    shipped = yaml.safe_load((CONFIGS / "mnist_cnn.yaml").read_text())
    assert yaml.safe_load(written) == {**shipped, "name": "digits"}
    listed = subprocess.run(
        [*command[:4], "x", "--from", "nope"], cwd=tmp_path, env=env, capture_output=True, text=True
    )
    assert listed.returncode == 2 and "Shipped: bilstm_padding" in listed.stderr


def test_the_csv_template_reads_its_builtin_file_from_the_installed_wheel(wheel, tmp_path):
    installed = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(installed)
    env = {**os.environ, "PYTHONPATH": str(installed)}
    learnai = [sys.executable, "-m", "learnai_cli"]
    made = subprocess.run([*learnai, "init", "mine", "--from", "csv_example"], cwd=tmp_path, env=env, text=True)
    assert made.returncode == 0
    checked = subprocess.run(
        [*learnai, "config", "configs/mine.yaml"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120
    )
    assert checked.returncode == 0, checked.stderr
    path = yaml.safe_load(checked.stdout)["data"]["path"]
    assert Path(path).is_file() and Path(path).is_relative_to(installed)
