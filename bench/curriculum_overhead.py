"""The curriculum's configs as whole processes: `learnai train` against the plain PyTorch loop a learner writes by hand.

    python -m bench.curriculum_overhead                      # every config, 3 repeats, quiet machine
    python -m bench.curriculum_overhead --busy               # the same with a busy neighbour spinning on one core
    python -m bench.curriculum_overhead --configs toy_classes,rnn_hello --repeats 1 --epochs 2   # seconds

For each config both commands run as fresh interpreters, alternating (learnai first on even repeats, the
hand-written script first on odd ones), and the median wall-clock seconds of each is kept. They run as from a
user's shell (without the PYTHONDONTWRITEBYTECODE and PYTHONUNBUFFERED that sandboxes and CI set), each after one
untimed 1-epoch warm-up, so Python's bytecode caches exist as they do from a user's second run on:

    python -m learnai_cli train configs/<name>.yaml --runs-dir <tmp> --no-progress [train.epochs=N]
    python bench/handwritten/<name>.py [--epochs N]

The hand-written scripts (bench/handwritten/) build the same model, data, loss, optimizer, epochs and batch size,
train and validate every epoch, and print the final loss; they import only torch, numpy and the standard library.
`python -c "import torch"` is timed too: the floor under both. Results go to <results>/curriculum_overhead.json,
under "quiet" or "busy" (a later run replaces only the configs it ran), and, at full size into bench/results,
into BENCHMARKS.md.
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
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from bench.common import NOT_A_USERS_SHELL, RESULTS, machine, user_environment

REPO = Path(__file__).resolve().parents[1]
HANDWRITTEN = Path(__file__).resolve().parent / "handwritten"
CONFIGS = [
    "linear_regression",
    "polynomial_regression",
    "poly4_smooth_l1",
    "generalfit",
    "toy_classes",
    "toy_manual_vs_autograd",
    "logistic_regression",
    "diabetes",
    "rnn_hello",
    "names_gru",
]
NAME = "curriculum_overhead"


def _environment() -> dict[str, str]:
    """The child processes import this checkout's learnai_cli, whatever the caller's PYTHONPATH, in a user's
    environment (bytecode cached, buffered output)."""
    paths = [str(REPO)] + [
        p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p and Path(p).resolve() != REPO
    ]
    return user_environment(PYTHONPATH=os.pathsep.join(paths))


def learnai_command(config: str, runs_dir: Path, epochs: int | None) -> list[str]:
    command = [
        sys.executable,
        "-m",
        "learnai_cli",
        "train",
        str(REPO / "configs" / f"{config}.yaml"),
        "--runs-dir",
        str(runs_dir),
        "--no-progress",
    ]
    return command + ([f"train.epochs={epochs}"] if epochs else [])


def handwritten_command(config: str, epochs: int | None) -> list[str]:
    return [sys.executable, str(HANDWRITTEN / f"{config}.py")] + (["--epochs", str(epochs)] if epochs else [])


def timed(command: list[str]) -> dict[str, Any]:
    """Wall-clock seconds of one process from spawn to exit, its exit code and its last line of output."""
    started = time.perf_counter()
    done = subprocess.run(command, check=False, cwd=REPO, env=_environment(), capture_output=True, text=True)
    seconds = time.perf_counter() - started
    lines = [line.strip() for line in done.stdout.splitlines() if line.strip()]
    finals = [
        line for line in lines if line.startswith("final")
    ] or lines  # learnai ends with its run dir: keep its final metrics
    result = {"seconds": seconds, "returncode": done.returncode, "last_line": finals[-1] if finals else ""}
    if done.returncode != 0:
        result["stderr_tail"] = done.stderr[-2000:]
        print(f"   exit {done.returncode}: {' '.join(command)}\n{done.stderr[-2000:]}", file=sys.stderr, flush=True)
    return result


@contextmanager
def busy_neighbour(enabled: bool) -> Iterator[int | None]:
    """A separate CPU-bound Python process spinning on one core while the block runs (its pid), or nothing."""
    if not enabled:
        yield None
        return
    # It spins only while its parent lives: a benchmark killed by a signal (no finally) must not leave it running
    # and make every later "quiet" measurement a busy one.
    spin = f"import os\nwhile os.getppid() == {os.getpid()}: pass"
    spinner = subprocess.Popen([sys.executable, "-c", spin])
    try:
        time.sleep(0.5)  # let it get going before the first measurement
        yield spinner.pid
    finally:
        spinner.kill()
        spinner.wait()


def compare(config: str, repeats: int, epochs: int | None, runs_dir: Path) -> dict[str, Any]:
    """One table row: median seconds of each process over `repeats` alternating runs."""
    learnai, handwritten = [], []
    for command in (learnai_command(config, runs_dir, 1), handwritten_command(config, 1)):
        timed(command)  # untimed warm-up: bytecode caches written and files in the page cache, as for a user's 2nd run
    for repeat in range(repeats):
        order = [("learnai", learnai), ("handwritten", handwritten)]
        for which, runs in order if repeat % 2 == 0 else order[::-1]:
            command = (
                learnai_command(config, runs_dir, epochs) if which == "learnai" else handwritten_command(config, epochs)
            )
            runs.append(timed(command))
            print(
                f"   {config} {which}: {runs[-1]['seconds']:.2f} s (exit {runs[-1]['returncode']})",
                file=sys.stderr,
                flush=True,
            )
    learnai_s = round(statistics.median(r["seconds"] for r in learnai), 3)
    handwritten_s = round(statistics.median(r["seconds"] for r in handwritten), 3)
    return {
        "config": config,
        "learnai_s": learnai_s,
        "handwritten_s": handwritten_s,
        "ratio": round(learnai_s / handwritten_s, 2),
        "repeats": repeats,
        "learnai_all_s": [round(r["seconds"], 3) for r in learnai],
        "handwritten_all_s": [round(r["seconds"], 3) for r in handwritten],
        "returncodes": {
            "learnai": [r["returncode"] for r in learnai],
            "handwritten": [r["returncode"] for r in handwritten],
        },
        "last_lines": {"learnai": learnai[-1]["last_line"], "handwritten": handwritten[-1]["last_line"]},
    }


def import_torch_seconds(repeats: int) -> float:
    return round(statistics.median(timed([sys.executable, "-c", "import torch"])["seconds"] for _ in range(repeats)), 3)


def run(configs: list[str], repeats: int = 3, busy: bool = False, epochs: int | None = None) -> dict[str, Any]:
    """Measure every config (quietly, or beside a busy neighbour); the rows and the facts around them."""
    load_before = os.getloadavg()
    with busy_neighbour(busy), tempfile.TemporaryDirectory(prefix="learnai-bench-runs-") as runs_dir:
        floor = import_torch_seconds(max(repeats, 3) if epochs is None else repeats)  # a smoke run: its repeats
        rows = []
        for config in configs:
            print(f"== {config}", file=sys.stderr, flush=True)
            rows.append(compare(config, repeats, epochs, Path(runs_dir)))
    return {
        "machine": {
            **machine(),
            "busy": busy,
            "load_average_before": [round(v, 2) for v in load_before],
            "load_average_after": [round(v, 2) for v in os.getloadavg()],
        },
        "busy": busy,
        "environment": f"{' and '.join(NOT_A_USERS_SHELL)} unset, as in a user's shell; one untimed 1-epoch warm-up "
        "of each command first",
        "epochs_override": epochs,
        "import_torch_s": floor,
        "rows": rows,
    }


def save(results_dir: Path, measured: dict[str, Any]) -> Path:
    """Merge into <results>/curriculum_overhead.json: this mode's rows replace the same configs' earlier rows."""
    path = results_dir / f"{NAME}.json"
    data = json.loads(path.read_text()) if path.exists() else {"benchmark": NAME}
    mode = "busy" if measured["busy"] else "quiet"
    previous = data.get(mode, {})
    if previous.get("epochs_override") != measured["epochs_override"]:
        previous = {}  # rows measured at another size do not belong in the same table
    kept = {row["config"]: row for row in previous.get("rows", [])}
    kept.update({row["config"]: row for row in measured["rows"]})
    order = {name: index for index, name in enumerate(CONFIGS)}
    data[mode] = {**measured, "rows": sorted(kept.values(), key=lambda row: order.get(row["config"], len(order)))}
    data["machine"] = measured["machine"]
    results_dir.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2) + "\n")
    return path


def curriculum_parser(prog: str, results_name: str) -> argparse.ArgumentParser:
    """The options every curriculum benchmark takes (which configs, smoke-run epochs, where results go)."""
    parser = argparse.ArgumentParser(
        prog=prog, description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--configs", default=",".join(CONFIGS), help="comma-separated config names (default: all)")
    parser.add_argument(
        "--epochs", type=int, default=None, help="override every config's epochs (train.epochs=N): smoke runs"
    )
    parser.add_argument(
        "--results", type=Path, default=RESULTS, help=f"folder for {results_name} (default bench/results)"
    )
    return parser


def chosen_configs(parser: argparse.ArgumentParser, args: argparse.Namespace, count: str) -> list[str]:
    """The --configs named, checked; `count` names the option that must be at least 1 (--repeats, --pairs)."""
    configs = [name.strip() for name in args.configs.split(",") if name.strip()]
    unknown = [name for name in configs if name not in CONFIGS]
    if unknown:
        parser.error(f"unknown configs {unknown}; choose from {', '.join(CONFIGS)}")
    if getattr(args, count.lstrip("-")) < 1:
        parser.error(f"{count} must be at least 1")
    return configs


def main(argv: list[str] | None = None) -> int:
    parser = curriculum_parser("python -m bench.curriculum_overhead", "curriculum_overhead.json")
    parser.add_argument(
        "--repeats", type=int, default=3, help="runs of each process per config; the median is kept (default 3)"
    )
    parser.add_argument(
        "--busy", action="store_true", help="measure beside a separate CPU-bound process spinning on one core"
    )
    args = parser.parse_args(argv)
    configs = chosen_configs(parser, args, "--repeats")
    measured = run(configs, args.repeats, args.busy, args.epochs)
    print(f"wrote {save(args.results, measured)}", file=sys.stderr)
    print(f"{'config':<24} {'learnai s':>10} {'hand-written s':>15} {'ratio':>7}")
    for row in measured["rows"]:
        print(f"{row['config']:<24} {row['learnai_s']:>10.2f} {row['handwritten_s']:>15.2f} {row['ratio']:>6.2f}x")
    print(f"python -c 'import torch': {measured['import_torch_s']:.2f} s")
    if args.epochs is None and args.results == RESULTS:
        from bench.summary import write_summary

        print(f"wrote {write_summary(RESULTS)}", file=sys.stderr)
    failed = [
        row["config"]
        for row in measured["rows"]
        if any(code != 0 for codes in row["returncodes"].values() for code in codes)
    ]
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
