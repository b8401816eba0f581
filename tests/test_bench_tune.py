"""The tune benchmark runs its three studies at a tiny size, writes tune.json and a BENCHMARKS.md section."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.conftest import REPO


@pytest.mark.slow
def test_tune_benchmark_runs_both_searches_and_writes_results(tmp_path):
    command = [sys.executable, "-m", "bench.tune", "--size", "tiny", "--results", str(tmp_path)]
    done = subprocess.run(command, cwd=REPO, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    result = json.loads((tmp_path / "tune.json").read_text())
    assert result["benchmark"] == "tune" and result["size"] == "tiny" and result["machine"]["torch"]
    grid, tpe = result["grid"], result["tpe_median_pruning"]
    assert grid["trials"] == tpe["trials"] == 2 and grid["counts"] == {"completed": 2}
    assert set(grid["best_params"]) == {"optimizer.lr"} and grid["best_value"] > 0
    assert grid["epochs_trained"] == 6 and grid["train_seconds"] > 0  # 2 points x 3 epochs, none pruned
    assert result["lesson"]["trials"] == 2 and "--trials 20" in result["lesson"]["command"]

    from bench.summary import write_summary

    summary = write_summary(tmp_path, tmp_path / "BENCHMARKS.md").read_text()
    assert "| TPE + median pruning | 2 (" in summary and "The learning-rate lesson as a search" in summary
