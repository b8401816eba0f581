"""`learnai tune --workers K`: K processes of the same command against one study, sharing this machine's cores.

Each worker is `python -m learnai_cli tune ... --study NAME --worker-index i` with the storage URL in
$LEARNAI_TUNE_STORAGE (a password in it stays off every command line); it asks the shared
study for trials until --trials are taken. Threads: each worker's torch gets cores // K (OMP_NUM_THREADS), so K
workers never oversubscribe the CPU; with several GPUs, worker i sees only GPU i mod count.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from typing import Any

from learnai_cli.commands.tune.storage import STORAGE_VARIABLE
from learnai_cli.errors import EXIT_INTERRUPTED, Interrupted, RunFailed

__all__ = ["run_workers", "worker_command", "worker_environment"]


def worker_command(request, plan, index: int, deadline: float | None) -> list[str]:
    command = [sys.executable, "-m", "learnai_cli", "tune", str(request.config_path), *request.arguments]
    # the storage URL goes by environment (STORAGE_VARIABLE), never on a command line `ps` shows with its password
    command += ["--study", plan.name, "--trials", str(plan.trials)]
    command += ["--sampler", request.sampler, "--pruner", request.pruner, "--runs-dir", str(request.root)]
    command += [f"--plugin={p}" for p in request.plugins] + ["--worker-index", str(index), "--no-progress"]
    if deadline is not None:
        command += ["--timeout", f"{max(0.0, deadline - time.monotonic()):.1f}"]
    return command


def worker_environment(index: int, workers: int, url: str) -> dict[str, str]:
    """This machine's cores split between the workers; one GPU each when there are several; the study's storage."""
    from learnai_cli.engine.threads import available_cpus

    environment = {**os.environ, STORAGE_VARIABLE: url}
    threads = str(max(1, available_cpus() // workers))
    for variable in ("OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        environment[variable] = threads
    gpus = _gpu_count()
    if gpus > 1 and "CUDA_VISIBLE_DEVICES" not in os.environ:
        environment["CUDA_VISIBLE_DEVICES"] = str(index % gpus)
    return environment


def _gpu_count() -> int:
    import torch

    return torch.cuda.device_count() if torch.cuda.is_available() else 0


def run_workers(request, plan) -> list[int]:
    """Start the workers, wait for all; an interrupt is passed to every worker (each records its run as
    interrupted)."""
    deadline = time.monotonic() + request.timeout if request.timeout is not None else None
    children = [
        subprocess.Popen(
            worker_command(request, plan, i, deadline),
            env=worker_environment(i, request.workers, plan.url),
            start_new_session=True,  # a terminal's Ctrl-C reaches this process only, which passes it on once
            stdout=2,  # what a worker's libraries print (MLflow's "View run ..." lines) goes to stderr: stdout is ours
        )
        for i in range(request.workers)
    ]
    try:
        codes = [child.wait() for child in children]
    except KeyboardInterrupt:
        _stop(children)
        raise Interrupted(_continue(request, plan)) from None
    return _check(codes, request, plan)


def _stop(children: list[Any]) -> None:
    """Each worker gets this process's SIGINT once (it finishes its step and records its run as interrupted);
    another Ctrl-C here is passed on as the worker's second (stop at once)."""
    _interrupt(children)
    while True:
        try:
            for child in children:
                child.wait()
            return
        except KeyboardInterrupt:
            _interrupt(children)


def _interrupt(children: list[Any]) -> None:
    for child in children:
        if child.poll() is None:
            child.send_signal(signal.SIGINT)


def _continue(request, plan) -> str:
    from learnai_cli.commands.tune.report import continue_message

    return continue_message(plan, request)


def _check(codes: list[int], request, plan) -> list[int]:
    if EXIT_INTERRUPTED in codes:
        raise Interrupted(_continue(request, plan))
    if any(codes):
        raise RunFailed(f"worker(s) of study {plan.name} exited with {codes}; their messages are above")
    return codes
