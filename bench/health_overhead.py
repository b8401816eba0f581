"""What the health readings (train.health) cost: the curriculum's configs trained with them on and off, in pairs.

    python -m bench.health_overhead                          # every curriculum config, 7 pairs each
    python -m bench.health_overhead --configs toy_classes --pairs 1 --epochs 2   # seconds: checks it runs

Each pair is two fresh `learnai train` processes, one with `train.health=true` and one with `train.health=false`,
run back to back; which goes first alternates from pair to pair (on, off; off, on; ...), so a neighbour that
slows the machine for a while slows both halves of a pair alike. A pair's ratio is the health-on training time over
the health-off one, where training time is the sum of the epochs' `epoch_time` in metrics.jsonl (the training
loop itself, health records written included; start-up and validation excluded). The result per config is the
median of its pairs' ratios with their spread (lowest, highest, and the quartiles), and overall the median of every
pair's ratio. Wall-clock ratios of the whole processes are kept beside them, and the readings' own share: each
health record says how long its reading took (`seconds`), and their sum over the health-on run's training time is
the cost measured without comparing two runs. On a machine shared with other work,
single runs vary by more than the cost measured: many short pairs and the median are the honest figure.
Results go to <results>/health_overhead.json (bench/results by default) and, at full size, into BENCHMARKS.md.
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any

from bench.common import RESULTS, machine
from bench.curriculum_overhead import CONFIGS, chosen_configs, curriculum_parser, learnai_command, timed
from learnai_cli.rundir import all_runs

NAME = "health_overhead"
BUDGET = 1.03  # the issue's bound: the readings may cost at most 3% of training time


def training_seconds(runs_dir: Path) -> tuple[float, int, float]:
    """The one run under runs_dir: its training loop's seconds (every epoch's epoch_time), its health records, and
    the seconds those readings timed themselves taking."""
    (run,) = all_runs(runs_dir)
    records = run.metrics()
    seconds = sum(r.get("epoch_time") or 0.0 for r in records if r.get("type") == "epoch")
    health = [r for r in records if r.get("type") == "health"]
    return seconds, len(health), sum(r.get("seconds") or 0.0 for r in health)


def one_run(config: str, health: bool, epochs: int | None, scratch: Path) -> dict[str, Any]:
    runs_dir = Path(tempfile.mkdtemp(prefix="run-", dir=scratch))
    result = timed(learnai_command(config, runs_dir, epochs) + [f"train.health={str(health).lower()}"])
    train_s, readings, reading_s = training_seconds(runs_dir) if result["returncode"] == 0 else (float("nan"), 0, 0.0)
    return {
        "wall_s": result["seconds"],
        "train_s": train_s,
        "readings": readings,
        "reading_s": reading_s,
        "returncode": result["returncode"],
    }


def spread(ratios: list[float]) -> dict[str, float]:
    """The median ratio, its lowest and highest, and the quartiles (where there are enough pairs)."""
    quartiles = statistics.quantiles(ratios, n=4) if len(ratios) >= 2 else [ratios[0]] * 3
    return {
        "median": round(statistics.median(ratios), 4),
        "low": round(min(ratios), 4),
        "high": round(max(ratios), 4),
        "q1": round(quartiles[0], 4),
        "q3": round(quartiles[2], 4),
    }


def measure(config: str, pairs: int, epochs: int | None, scratch: Path) -> dict[str, Any]:
    """One config's pairs, alternating which half goes first; untimed warm-ups of both first."""
    for health in (True, False):
        one_run(config, health, 1, scratch)  # bytecode caches and page cache warm, as for a user's second run
    done = []
    for pair in range(pairs):
        order = (True, False) if pair % 2 == 0 else (False, True)
        runs = {health: one_run(config, health, epochs, scratch) for health in order}
        on, off = runs[True], runs[False]
        done.append(
            {"on": on, "off": off, "ratio": on["train_s"] / off["train_s"], "wall": on["wall_s"] / off["wall_s"]}
        )
        print(
            f"   {config} pair {pair + 1}: on {on['train_s']:.3f} s, off {off['train_s']:.3f} s of training "
            f"({done[-1]['ratio']:.3f}x; wall {done[-1]['wall']:.3f}x; {on['readings']} readings taking "
            f"{on['reading_s']:.4f} s)",
            file=sys.stderr,
            flush=True,
        )
    ok = [p for p in done if p["on"]["returncode"] == 0 and p["off"]["returncode"] == 0]
    return {
        "config": config,
        "pairs": pairs,
        "readings_per_run": done[-1]["on"]["readings"],
        "train_ratio": spread([p["ratio"] for p in ok]) if ok else None,
        # the readings' own timed seconds over the health-on run's training time: the cost without a second run's
        # noise (what the paired ratio measures through the noise of a shared machine)
        "reading_share": spread([p["on"]["reading_s"] / p["on"]["train_s"] for p in ok if p["on"]["train_s"]])
        if ok
        else None,
        "wall_ratio": spread([p["wall"] for p in ok]) if ok else None,
        "median_train_s": {
            "on": round(statistics.median(p["on"]["train_s"] for p in ok), 4) if ok else None,
            "off": round(statistics.median(p["off"]["train_s"] for p in ok), 4) if ok else None,
        },
        "all_ratios": [round(p["ratio"], 4) for p in done],
        "returncodes": [[p["on"]["returncode"], p["off"]["returncode"]] for p in done],
    }


def run(configs: list[str], pairs: int, epochs: int | None) -> dict[str, Any]:
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="learnai-bench-health-") as scratch:
        rows = []
        for config in configs:
            print(f"== {config}", file=sys.stderr, flush=True)
            rows.append(measure(config, pairs, epochs, Path(scratch)))
    return {
        "benchmark": NAME,
        "machine": {
            **machine(),
            "load_average_before": [round(v, 2) for v in load_before],
            "load_average_after": [round(v, 2) for v in os.getloadavg()],
        },
        "epochs_override": epochs,
        "pairs_per_config": pairs,
        "budget_ratio": BUDGET,
        **overall(rows),
        "rows": rows,
    }


def overall(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Every pair's ratio together (median and spread), and the largest config's median reading share."""
    every = [ratio for row in rows for ratio, codes in zip(row["all_ratios"], row["returncodes"]) if codes == [0, 0]]
    shares = [row["reading_share"]["median"] for row in rows if row.get("reading_share")]
    return {
        "overall_train_ratio": spread(every) if every else None,
        "pairs": len(every),
        "largest_reading_share": max(shares) if shares else None,
    }


def save(results_dir: Path, measured: dict[str, Any]) -> Path:
    """Merge into <results>/health_overhead.json: this run's configs replace the same configs' earlier rows (a long
    config can be measured with fewer pairs in a run of its own); the overall figures cover every row kept."""
    path = results_dir / f"{NAME}.json"
    previous = json.loads(path.read_text()) if path.exists() else {}
    same_size = previous.get("epochs_override") == measured["epochs_override"]
    kept = {row["config"]: row for row in previous.get("rows", [])} if same_size else {}
    kept.update({row["config"]: row for row in measured["rows"]})
    order = {name: index for index, name in enumerate(CONFIGS)}
    rows = sorted(kept.values(), key=lambda row: order.get(row["config"], len(order)))
    pairs = sorted({row["pairs"] for row in rows})
    this_run = {
        "date": measured["machine"]["date"],
        "configs": [row["config"] for row in measured["rows"]],
        "pairs": measured["pairs_per_config"],
        "load_average_before": measured["machine"]["load_average_before"],
        "load_average_after": measured["machine"]["load_average_after"],
    }
    earlier = [r for r in previous.get("runs", []) if set(r["configs"]) & set(kept)] if same_size else []
    earlier = [r for r in earlier if not set(r["configs"]) <= set(this_run["configs"])]  # wholly replaced: gone
    merged = {
        **measured,
        **overall(rows),
        "rows": rows,
        "pairs_per_config": pairs[0] if len(pairs) == 1 else pairs,
        "runs": [*earlier, this_run],
        **({"note": previous["note"]} if same_size and previous.get("note") else {}),
    }
    results_dir.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(merged, indent=2) + "\n")
    return path


def main(argv: list[str] | None = None) -> int:
    parser = curriculum_parser("python -m bench.health_overhead", "health_overhead.json")
    parser.description = __doc__
    parser.add_argument("--pairs", type=int, default=7, help="health on/off pairs per config (default 7)")
    args = parser.parse_args(argv)
    configs = chosen_configs(parser, args, "--pairs")
    measured = run(configs, args.pairs, args.epochs)
    path = save(args.results, measured)
    print(f"wrote {path}", file=sys.stderr)
    print(f"{'config':<24} {'pairs':>5} {'median on/off':>14} {'lowest':>8} {'highest':>8} {'readings':>9}")
    for row in measured["rows"]:
        r = row["train_ratio"] or {"median": float("nan"), "low": float("nan"), "high": float("nan")}
        share = (row["reading_share"] or {"median": float("nan")})["median"]
        print(
            f"{row['config']:<24} {row['pairs']:>5} {r['median']:>13.3f}x {r['low']:>7.3f}x {r['high']:>7.3f}x "
            f"{share:>8.2%}"
        )
    if measured["overall_train_ratio"]:
        every = measured["overall_train_ratio"]
        print(f"all pairs here: median {every['median']:.3f}x (quartiles {every['q1']:.3f}-{every['q3']:.3f}x)")
    if args.epochs is None and args.results == RESULTS:
        from bench.summary import write_summary

        print(f"wrote {write_summary(RESULTS)}", file=sys.stderr)
    return 1 if any(codes != [0, 0] for row in measured["rows"] for codes in row["returncodes"]) else 0


if __name__ == "__main__":
    sys.exit(main())
