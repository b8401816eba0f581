"""The curriculum overhead benchmark runs both processes at a tiny size and writes its JSON (timings are not asserted)."""

from __future__ import annotations

import json
import os

import pytest

from tests.conftest import REPO


@pytest.mark.slow
def test_curriculum_overhead_runs_both_processes_and_writes_results(tmp_path):
    from bench.curriculum_overhead import main  # in this process (its children are processes): one start-up saved

    arguments = ["--configs", "toy_classes", "--repeats", "1", "--epochs", "2", "--results", str(tmp_path)]
    assert main(arguments) == 0
    result = json.loads((tmp_path / "curriculum_overhead.json").read_text())
    assert result["benchmark"] == "curriculum_overhead" and set(result) >= {"machine", "quiet"} and "busy" not in result
    quiet = result["quiet"]
    assert quiet["busy"] is False and quiet["epochs_override"] == 2 and quiet["import_torch_s"] > 0
    assert {"cpu", "cores", "torch", "python", "date", "busy"} <= set(quiet["machine"])
    (row,) = quiet["rows"]
    assert {"config", "learnai_s", "handwritten_s", "ratio"} <= set(row) and row["config"] == "toy_classes"
    assert row["returncodes"] == {"learnai": [0], "handwritten": [0]}
    assert row["learnai_s"] > 0 and row["handwritten_s"] > 0
    assert row["last_lines"]["handwritten"].startswith("final:") and row["last_lines"]["learnai"].startswith("final:")

    from bench.summary import write_summary

    summary = write_summary(tmp_path, tmp_path / "BENCHMARKS.md").read_text()
    assert "| toy_classes |" in summary and "learnai wall s (quiet)" in summary


def test_every_curriculum_config_has_a_hand_written_loop():
    from bench.curriculum_overhead import CONFIGS, HANDWRITTEN

    assert all(
        (REPO / "configs" / f"{name}.yaml").exists() and (HANDWRITTEN / f"{name}.py").exists() for name in CONFIGS
    )


def test_timed_children_run_as_from_a_users_shell(monkeypatch):
    """A sandbox's PYTHONDONTWRITEBYTECODE would make every learnai run recompile its sources: not what users see."""
    from bench.curriculum_overhead import _environment

    monkeypatch.setenv("PYTHONDONTWRITEBYTECODE", "1")
    monkeypatch.setenv("PYTHONUNBUFFERED", "1")
    monkeypatch.setenv("PYTHONPATH", "/elsewhere")
    environment = _environment()
    assert "PYTHONDONTWRITEBYTECODE" not in environment and "PYTHONUNBUFFERED" not in environment
    assert environment["PYTHONPATH"].split(":") == [str(REPO), "/elsewhere"]
    assert environment["PATH"] == os.environ["PATH"]
