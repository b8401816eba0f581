"""Every shipped config run as a user would, with the result each one is meant to show.

    python -m bench.curriculum           # writes bench/results/curriculum.json (about 5 minutes on 2 CPU cores)

MNIST configs run on the real t10k digits (8,000 train incl. 1,000 validation / 2,000 test),
because the official training set cannot be downloaded where this was measured; Fashion-MNIST
configs are skipped for the same reason. zoo_finetune runs on FakeData (it has nothing to learn).
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

from bench.common import RESULTS, learnai_train, machine
from bench.real_digits import default_source, make_real_digits

CONFIGS = Path(__file__).resolve().parents[1] / "configs"


def run_config(name: str, runs: Path, digits: Path | None) -> dict[str, Any]:
    from learnai_cli.commands.evaluate import evaluate_run
    from learnai_cli.rundir import RunDir

    config = yaml.safe_load((CONFIGS / f"{name}.yaml").read_text())
    dataset = config["data"]["name"]
    if dataset == "fashion_mnist" or (dataset == "mnist" and digits is None):
        return {"config": name, "skipped": f"{dataset} files are not available offline here"}
    if dataset == "image_folder":
        return {"config": name, "skipped": "needs your own image folder (the tests train it on a generated one)"}
    if dataset == "mnist":
        config["data"].update(root=str(digits), download=False, val_split=1000)
    started = time.perf_counter()
    try:
        summary = learnai_train(config, runs)
    except Exception as failure:  # generalfit at a too-high lr diverges on purpose; record whatever happened
        return {"config": name, "status": "failed", "message": str(failure).splitlines()[0]}
    seconds = time.perf_counter() - started
    report = evaluate_run(
        RunDir(Path(summary["run_dir"])), "best" if summary["checkpoints"].get("best") else "last", "test"
    )
    return {
        "config": name,
        "data": "real MNIST t10k digits, 7,000 train / 2,000 test" if dataset == "mnist" else dataset,
        "status": summary["status"],
        "epochs": summary["epochs"],
        "test_metrics": {k: round(v, 4) for k, v in report["metrics"].items()},
        "parameters": report.get("parameters") or None,
        "learned_polynomial": report.get("learned_polynomial"),
        "seconds": round(seconds, 1),
    }


def main() -> int:
    source = default_source()  # $LEARNAI_MNIST_T10K; without it the MNIST configs are skipped
    digits = make_real_digits(Path(tempfile.mkdtemp(prefix="learnai-digits-")), source) if source else None
    names = sys.argv[1:] or sorted(p.stem for p in CONFIGS.glob("*.yaml"))
    results = []
    with tempfile.TemporaryDirectory() as runs:
        for name in names:
            print(f"== {name}", file=sys.stderr, flush=True)
            results.append(run_config(name, Path(runs), digits))
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / "curriculum.json"
    path.write_text(json.dumps({"benchmark": "curriculum", "machine": machine(), "results": results}, indent=2) + "\n")
    print(f"wrote {path}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
