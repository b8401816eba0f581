"""The health-reading cost benchmark runs its on/off pairs at a tiny size and writes its JSON and summary section
(timings are not asserted: they are the benchmark's to measure)."""

from __future__ import annotations

import json

import pytest


@pytest.mark.slow
def test_health_overhead_runs_alternating_pairs_and_writes_results(tmp_path, capsys):
    from bench.health_overhead import main  # in this process (its runs are processes): one start-up saved

    assert main(["--configs", "generalfit", "--pairs", "2", "--epochs", "5", "--results", str(tmp_path)]) == 0
    stderr = capsys.readouterr().err
    result = json.loads((tmp_path / "health_overhead.json").read_text())
    assert result["benchmark"] == "health_overhead" and result["pairs_per_config"] == 2
    (row,) = result["rows"]
    assert row["config"] == "generalfit" and row["returncodes"] == [[0, 0], [0, 0]] and len(row["all_ratios"]) == 2
    assert {"median", "low", "high", "q1", "q3"} <= set(row["train_ratio"]) and row["train_ratio"]["median"] > 0
    assert row["readings_per_run"] >= 1 and 0 <= row["reading_share"]["median"] < 1
    assert "pair 1: on" in stderr and "pair 2: on" in stderr

    from bench.summary import write_summary

    summary = write_summary(tmp_path, tmp_path / "BENCHMARKS.md").read_text()
    assert "## health_overhead" in summary and "| generalfit |" in summary


def test_a_reading_times_itself_and_readings_are_at_least_50_steps_apart():
    import torch
    from torch import nn

    from learnai_cli.engine.health import HealthMonitor

    model = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 1))
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    assert [HealthMonitor(model, every).every for every in (1, 10, 30, 50, 200)] == [50, 50, 60, 50, 200]
    monitor = HealthMonitor(model, 10)
    monitor.arm(40)  # a log interval, not a reading's
    assert not monitor.armed and not monitor.hooks and monitor.record(1, 40) is None
    monitor.arm(50)
    model(torch.randn(8, 3)).sum().backward()
    monitor.before_step()
    optimizer.step()
    monitor.after_step()
    record = monitor.record(1, 50)
    assert record["seconds"] > 0 and [a["kind"] for a in record["activations"]] == ["relu"] and not monitor.hooks
