"""The benchmark suite runs end to end at tiny sizes and writes its JSON (timings are not asserted)."""

from __future__ import annotations

import json
import subprocess
import sys

from tests.conftest import REPO


def test_benchmarks_run_at_tiny_size_and_write_results(tmp_path):
    done = subprocess.run([sys.executable, "-m", "bench", "--size", "tiny", "--results", str(tmp_path)], cwd=REPO, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    results = {p.stem: json.loads(p.read_text()) for p in tmp_path.glob("*.json")}
    assert set(results) == {"overhead", "time_to_accuracy", "scaling", "startup"}
    for result in results.values():
        assert result["size"] == "tiny" and result["machine"]["torch"]
    overhead = results["overhead"]
    assert overhead["hand_written_loop"]["samples_per_s"] > 0 and overhead["learnai_fp32"]["samples_per_s"] > 0
    assert overhead["data"].startswith("random MNIST-shaped data")
    assert results["time_to_accuracy"]["one_epoch"]["train_seconds"] > 0
    assert set(results["scaling"]["samples_per_s_by_batch_size"]) == {"32", "64"}
    assert (tmp_path / "scaling.png").read_bytes()[:4] == b"\x89PNG"
    assert "learnai --help" in results["startup"]["median_seconds"]

    from bench.summary import write_summary

    summary = write_summary(tmp_path, tmp_path / "BENCHMARKS.md").read_text()
    assert "| hand-written" in summary and "No GPU was available" in summary
