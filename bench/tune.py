"""TPE with median pruning against the grid on GeneralFit: the best val_loss each finds and the training it costs.

    python -m bench.tune                 # full size: configs/generalfit.yaml as shipped (200 epochs), ~5 minutes
    python -m bench.tune --size tiny     # seconds: checks the benchmark runs (the test suite does this)

Both searches are `learnai tune` studies over optimizer.lr with the same number of trials, in this process:
the grid trains every point of a log-spaced grid to the end (--sampler grid --pruner none); TPE samples
loguniform over the same range and the median pruner stops trials worse than the median at the same epoch.
A third study is the docs' learning-rate lesson, `learnai tune configs/generalfit.yaml
'optimizer.lr=loguniform(1e-3,10)' --trials 20`, whose table docs/tune.md shows. Results go to
<results>/tune.json and, at full size into bench/results, into BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.common import RESULTS, save

REPO = Path(__file__).resolve().parents[1]
CONFIG = REPO / "configs" / "generalfit.yaml"
NAME = "tune"
GRID_LRS = ["1.0e-04", "3.0e-04", "1.0e-03", "3.0e-03", "1.0e-02", "3.0e-02", "1.0e-01", "3.0e-01", "1.0"]
SIZES = {
    "full": {"overrides": [], "grid": GRID_LRS, "lesson_trials": 20},
    "tiny": {"overrides": ["train.epochs=3", "data.n=200"], "grid": ["1.0e-03", "1.0e-02"], "lesson_trials": 2},
}
LESSON = "optimizer.lr=loguniform(1e-3,10)"


def study(name: str, arguments: list[str], trials: int, sampler: str, pruner: str) -> dict[str, Any]:
    """One `learnai tune` study in a fresh runs root: what it found, and its training time and wall time."""
    from learnai_cli.commands.tune.run import TuneRequest, run_tune
    from learnai_cli.rundir import RunDir

    root = Path(tempfile.mkdtemp(prefix=f"learnai-bench-tune-{name}-"))
    request = TuneRequest(CONFIG, arguments, root, trials=trials, sampler=sampler, pruner=pruner, study=name)
    started = time.perf_counter()
    report = run_tune(request)
    wall = time.perf_counter() - started
    metas = [RunDir(root / row["run_id"]).meta(strict=False) for row in report["trials"] if row["run_id"]]
    return {
        "arguments": arguments,
        "sampler": sampler,
        "pruner": pruner,
        "trials": len(report["trials"]),
        "counts": report["counts"],
        "best_value": report["best_value"],
        "best_params": report["best_params"],
        "epochs_trained": sum(m.get("epochs_completed") or 0 for m in metas),
        "train_seconds": round(sum(m.get("duration_s") or 0.0 for m in metas), 2),
        "wall_seconds": round(wall, 2),
        "ranked": [
            {k: row[k] for k in ("number", "params", "value", "status", "epochs", "duration_s")}
            for row in report["trials"]
        ],
    }


def run(size: str) -> dict[str, Any]:
    setting = SIZES[size]
    grid = setting["grid"]
    low, high = grid[0], grid[-1]
    overrides = setting["overrides"]
    grid_study = study("grid", [f"optimizer.lr=choice({','.join(grid)})", *overrides], len(grid), "grid", "none")
    tpe_study = study("tpe", [f"optimizer.lr=loguniform({low},{high})", *overrides], len(grid), "tpe", "median")
    lesson = study("lesson", [LESSON, *overrides], setting["lesson_trials"], "tpe", "median")
    return {
        "config": "configs/generalfit.yaml",
        "overrides": overrides,
        "monitor": "val_loss (min)",
        "grid": grid_study,
        "tpe_median_pruning": tpe_study,
        "lesson": {**lesson, "command": f"learnai tune configs/generalfit.yaml '{LESSON}' --trials 20"},
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.tune", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--size", choices=sorted(SIZES), default="full")
    parser.add_argument("--results", type=Path, default=RESULTS, help="folder for tune.json (default bench/results)")
    args = parser.parse_args(argv)
    measured = run(args.size)
    print(f"wrote {save(args.results, NAME, {'size': args.size, **measured})}", file=sys.stderr)
    for key in ("grid", "tpe_median_pruning"):
        found = measured[key]
        print(f"{key}: best val_loss {found['best_value']:.4g} with {found['best_params']}, "
              f"{found['epochs_trained']} epochs in {found['train_seconds']} s of training")  # fmt: skip
    if args.size == "full" and args.results == RESULTS:
        from bench.summary import write_summary

        print(f"wrote {write_summary(RESULTS)}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
