"""Benchmark: a vision run's start-up. The wall seconds of `learnai train configs/mnist_cnn.yaml` (1 epoch on the
8,000 real digits where $LEARNAI_MNIST_T10K names them, generated digits otherwise), eval, predict and export over
`import torch`, and where the train command's time goes: `learnai train` in a fresh interpreter with a timer around
each phase.

    python -m bench --only vision_startup
    python -m bench.vision_startup DATA_ROOT [--repeats 5] [key=value ...]   # the phases alone, as JSON

DATA_ROOT holds MNIST/raw (bench/real_digits.py makes one from the real t10k digits). Each phase is a function of
learnai's own, timed by wrapping it in the child process before the command runs; the medians over the repeats
are printed as JSON (seconds; the machine's load average beside them, since a shared machine makes every figure
noisy).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.common import user_environment
from bench.real_digits import default_source, make_real_digits
from bench.startup import import_torch_seconds, timed

REPO = Path(__file__).resolve().parents[1]
# phase -> the function that does it (module, attribute), as the train command calls it
PHASES = {
    "config validation": ("learnai_cli.config.loading", "validate"),
    "data read + normalisation": ("learnai_cli.experiment.build", "build_data"),
    "model build": ("learnai_cli.experiment.build", "build_model"),
    "first-batch checks": ("learnai_cli.experiment.fit_check", "check_model_fits_data"),
    "precision probe": ("learnai_cli.experiment.fit_check", "resolve_precision"),
    "thread-choice probe": ("learnai_cli.experiment.build", "_thread_count"),
    "training loop (epochs + validation)": ("learnai_cli.commands.train.run", "_run_loop"),
    "plot helper (waiting for the drawing)": ("learnai_cli.plots.process", "PlotProcess.draw"),
}
CHILD = """
import functools, importlib, json, sys, time
started = time.perf_counter()
import torch
seconds = {"import torch": time.perf_counter() - started}
mark = time.perf_counter()
import learnai_cli.cli, learnai_cli.commands.train.run, learnai_cli.experiment.build
seconds["import learnai (cli, train command)"] = time.perf_counter() - mark
def timed(phase, owner, name):
    original = getattr(owner, name)
    @functools.wraps(original)
    def wrapper(*args, **kwargs):
        mark = time.perf_counter()
        try:
            return original(*args, **kwargs)
        finally:
            seconds[phase] = seconds.get(phase, 0.0) + time.perf_counter() - mark
    setattr(owner, name, wrapper)
for phase, (module, attribute) in json.loads(sys.argv[1]).items():
    owner = importlib.import_module(module)
    *classes, name = attribute.split(".")
    for cls in classes:
        owner = getattr(owner, cls)
    timed(phase, owner, name)
sys.argv = ["learnai", *sys.argv[2:]]
try:
    learnai_cli.cli.run()
finally:
    seconds["in process, start to end"] = time.perf_counter() - started
    print("PHASES " + json.dumps(seconds), file=sys.stderr, flush=True)
"""


def phases(root: Path, repeats: int, settings: list[str] = (), warm_up: bool = True) -> dict[str, Any]:
    """Median seconds of each phase of `learnai train configs/mnist_cnn.yaml data.root=ROOT train.epochs=1` (after
    one untimed run unless `warm_up` is false)."""
    runs: list[dict[str, float]] = []
    with tempfile.TemporaryDirectory() as runs_dir:
        arguments = ["train", str(REPO / "configs" / "mnist_cnn.yaml"), f"data.root={root}", "data.download=false"]
        arguments += ["data.val_split=1000", "train.epochs=1", *settings, "--runs-dir", runs_dir, "--no-progress"]
        command = [sys.executable, "-c", CHILD, json.dumps(PHASES), *arguments]
        for index in range(0 if warm_up else 1, repeats + 1):  # the first writes the bytecode caches: not timed
            started = time.perf_counter()
            done = subprocess.run(command, capture_output=True, text=True, env=user_environment(), cwd=REPO)
            wall = time.perf_counter() - started
            line = [line for line in done.stderr.splitlines() if line.startswith("PHASES ")]
            if done.returncode != 0 or not line:
                raise RuntimeError(f"learnai train exited {done.returncode}: {done.stderr[-1500:]}")
            if index:
                runs.append({**json.loads(line[-1][len("PHASES ") :]), "process wall (spawn to exit)": wall})
    return {
        "command": " ".join(["learnai", *arguments[:-3]]).replace(str(REPO) + "/", "").replace(str(root), "DATA"),
        "repeats": repeats,
        "load_average": [round(load, 2) for load in os.getloadavg()],
        "median_seconds": {phase: round(statistics.median(r.get(phase, 0.0) for r in runs), 3) for phase in runs[0]},
        "min_seconds": {phase: round(min(r.get(phase, 0.0) for r in runs), 3) for phase in runs[0]},
        "max_seconds": {phase: round(max(r.get(phase, 0.0) for r in runs), 3) for phase in runs[0]},
    }


def run(size: str, real_mnist: Path | None = None) -> dict[str, Any]:
    return vision_costs(5 if size == "full" else 1, size)


def vision_costs(repeats: int, size: str) -> dict[str, Any]:
    """Wall seconds of train (1 epoch), eval, predict (one image) and export of an MNIST CNN run, the training time
    inside train, `import torch` beside them, and the train command's phases."""
    from PIL import Image

    with tempfile.TemporaryDirectory() as work:
        root, data = _digits(Path(work), size)
        runs, image = ["--runs-dir", str(Path(work) / "runs")], Path(work) / "digit.png"
        Image.new("L", (28, 28), 0).save(image)
        train = ["train", str(REPO / "configs" / "mnist_cnn.yaml"), f"data.root={root}", "data.download=false"]
        train += ["data.val_split=1000" if size == "full" else "data.val_split=64", "train.epochs=1", "--no-progress"]
        warm = size == "full"  # tiny: no untimed warm-ups, its figures only show that each command runs
        seconds = {"learnai train configs/mnist_cnn.yaml train.epochs=1": timed([*train, *runs], repeats, warm)}
        meta = json.loads(next((Path(work) / "runs").glob("20*/meta.json")).read_text())
        commands = {
            "eval": ["eval", "latest"],
            "predict": ["predict", "latest", str(image)],
            "export": ["export", "latest"],
        }
        seconds.update({f"learnai {name}": timed([*each, *runs], repeats, warm) for name, each in commands.items()})
        steps = phases(root, repeats, [] if warm else ["data.val_split=64"], warm_up=warm)
    return {
        "data": data,
        "import_torch": import_torch_seconds(repeats),
        "training_seconds": meta["duration_s"],
        "median_seconds": seconds,
        "phases": steps,
        "load_average": [round(load, 2) for load in os.getloadavg()],
    }


def _digits(work: Path, size: str) -> tuple[Path, str]:
    source = default_source()
    if source is not None and size == "full":
        return make_real_digits(work / "real", source), "the real MNIST t10k digits: first 8,000 train"
    import numpy as np

    from learnai_cli.data.idx import write_mnist_folder

    count, test = (8000, 2000) if size == "full" else (512, 128)
    rng = np.random.default_rng(0)
    images, labels = rng.integers(0, 256, (count + test, 28, 28), dtype=np.uint8), rng.integers(0, 10, count + test)
    write_mnist_folder(work / "random", images[:count], labels[:count], images[count:], labels[count:])
    return work / "random", f"{count:,} generated digits ($LEARNAI_MNIST_T10K unset)"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("root", type=Path, help="a folder holding MNIST/raw")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("settings", nargs="*", help="key=value overrides for the config")
    args = parser.parse_args(argv)
    print(json.dumps(phases(args.root.resolve(), args.repeats, args.settings), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
