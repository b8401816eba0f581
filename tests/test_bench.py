"""The benchmark suite runs end to end at tiny sizes and writes its JSON (timings are not asserted)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.conftest import REPO


@pytest.mark.slow
def test_benchmarks_run_at_tiny_size_and_write_results(tmp_path):
    done = subprocess.run(
        [sys.executable, "-m", "bench", "--size", "tiny", "--results", str(tmp_path)],
        cwd=REPO,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    results = {p.stem: json.loads(p.read_text()) for p in tmp_path.glob("*.json")}
    assert set(results) == {
        "overhead",
        "time_to_accuracy",
        "scaling",
        "startup",
        "vision_startup",
        "versus_lightning",
        "versus_examples",
        "gpu",
    }
    beside = results["versus_lightning"]  # Lightning is no dependency: where it is not installed, a clear skip
    assert "pip install 'learnai[bench]'" in beside["skipped"] if "skipped" in beside else beside["tiny_one_epoch"]
    import torch

    assert ("skipped" in results["gpu"]) != torch.cuda.is_available()  # GPU figures only where there is a GPU
    for result in results.values():
        assert result["size"] == "tiny" and result["machine"]["torch"]
    overhead = results["overhead"]
    for loop in ("hand_written_loop", "learnai_fp32", "learnai_bf16_channels_last"):  # throughput = samples / seconds
        measured = overhead[loop]
        assert measured["samples_per_s"] == pytest.approx(
            measured["train_samples"] / measured["train_seconds"], rel=0.05
        )
    assert overhead["data"].startswith("random MNIST-shaped data")
    epoch = results["time_to_accuracy"]["one_epoch"]
    assert epoch["wall_seconds"] >= epoch["train_seconds"]  # wall time includes data loading and validation
    assert set(results["scaling"]["samples_per_s_by_batch_size"]) == {"32", "64"}
    assert (tmp_path / "scaling.png").read_bytes()[:4] == b"\x89PNG"
    assert "learnai --help" in results["startup"]["median_seconds"]
    fixed = results["startup"]["fixed_cost"]  # the torch commands on a small run, and import torch beside them
    assert set(fixed["median_seconds"]) == {
        "learnai train configs/linear_regression.yaml",
        "learnai eval",
        "learnai predict",
    }
    assert fixed["training_seconds"] > 0 and fixed["import_torch"] > 0  # read from the real run and measured
    vision = results["vision_startup"]  # a vision run's commands, and its train command phase by phase
    assert len(vision["median_seconds"]) == 4 and vision["training_seconds"] > 0
    timed = vision["phases"]["median_seconds"]
    assert timed["data read + normalisation"] > 0 and timed["import torch"] > 0
    assert timed["thread-choice probe"] >= 0  # its idle look overlaps set-up, so it may round to 0.000 s

    examples = results["versus_examples"]  # one pair: learnai and pytorch/examples' program, each with its accuracy
    assert len(examples["wall_ratios"]) == 1 and 0 <= examples["example"][0]["test_accuracy"] <= 1

    from bench.summary import write_summary

    summary = write_summary(tmp_path, tmp_path / "BENCHMARKS.md").read_text()
    assert "Median wall ratio (learnai / example)" in summary
    assert "| hand-written" in summary and "| `learnai eval` |" in summary and "| first-batch checks |" in summary
    gpu = results["overhead"]["machine"]["gpu"]  # the GPU section says what the run found, GPU or not
    assert (f"Measured on a GPU: overhead on {gpu}" if gpu else "No GPU was available") in summary


def test_summary_reports_gpu_figures_when_results_were_measured_on_one(tmp_path):
    from bench.summary import write_summary

    machine = {"date": "d", "cpu": "c", "cores": 2, "torch": "t", "torch_threads": 2, "learnai": "l"}
    startup = {"repeats": 1, "median_seconds": {"learnai --help": 0.2}}
    (tmp_path / "startup.json").write_text(json.dumps({**startup, "machine": {**machine, "gpu": "NVIDIA H200"}}))
    summary = write_summary(tmp_path, tmp_path / "BENCHMARKS.md").read_text()
    assert "Measured on a GPU: startup on NVIDIA H200." in summary and "No GPU" not in summary
