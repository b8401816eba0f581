"""Run learnai's benchmarks: `python -m bench` (full sizes, writes bench/results/*.json and BENCHMARKS.md).

python -m bench                        # everything, full size (about 10 minutes on 2 CPU cores)
python -m bench --only overhead        # one benchmark
python -m bench --size tiny            # seconds: checks the benchmarks run (the test suite does this)
python -m bench --real-mnist data      # use real MNIST files in data/MNIST/raw where present
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from bench import (
    gpu,
    overhead,
    scaling,
    startup,
    time_to_accuracy,
    versus_examples,
    versus_lightning,
    vision_startup,
)
from bench.common import RESULTS, save
from bench.summary import write_summary

BENCHMARKS = {
    "overhead": overhead,
    "time_to_accuracy": time_to_accuracy,
    "scaling": scaling,
    "startup": startup,
    "vision_startup": vision_startup,
    "versus_examples": versus_examples,  # pytorch/examples' MNIST beside learnai on the real digits
    "versus_lightning": versus_lightning,  # records that it was skipped where Lightning is not installed
    "gpu": gpu,  # records that it was skipped where there is no CUDA GPU
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--size", choices=["full", "tiny"], default="full")
    parser.add_argument("--only", choices=sorted(BENCHMARKS), action="append", help="run only these (repeatable)")
    parser.add_argument(
        "--results", type=Path, default=RESULTS, help="folder for the JSON results (default bench/results)"
    )
    parser.add_argument(
        "--real-mnist", type=Path, default=None, help="root holding MNIST/raw with the real files, if you have them"
    )
    args = parser.parse_args(argv)
    for name in args.only or list(BENCHMARKS):
        print(f"== {name} ({args.size})", file=sys.stderr, flush=True)
        module = BENCHMARKS[name]
        extra = {"results_dir": args.results} if name == "scaling" else {}
        result = module.run(args.size, args.real_mnist, **extra)
        print(f"wrote {save(args.results, name, {'size': args.size, **result})}", file=sys.stderr)
    if args.size == "full" and args.results.resolve() in (RESULTS, RESULTS / "gpu"):  # gpu/: BENCHMARKS.md's GPU part
        print(f"wrote {write_summary(RESULTS)}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
