"""The thread count fits the work: one thread for tiny steps, the idle cores we may use for big ones."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from contextlib import contextmanager

import pytest
import torch
from torch import nn

from learnai_cli.engine import threads


def test_multiply_adds_are_counted_on_linear_conv_and_recurrent_layers():
    linear = nn.Sequential(nn.Linear(8, 6), nn.Sigmoid(), nn.Linear(6, 1))
    assert threads.macs_per_sample(linear, torch.zeros(4, 8)) == 8 * 6 + 6 * 1
    conv = nn.Conv2d(1, 10, 5)  # 10 x 24 x 24 outputs, each 1 x 5 x 5 multiply-adds
    assert threads.macs_per_sample(conv, torch.zeros(2, 1, 28, 28)) == 10 * 24 * 24 * 25
    gru = nn.GRU(32, 64, batch_first=True)  # 3 gates x 64 x (32 + 64) weights, once per step
    assert threads.macs_per_sample(gru, torch.zeros(2, 7, 32)) == 3 * 64 * (32 + 64) * 7


def test_tiny_steps_get_one_thread_and_big_ones_the_idle_cores_we_may_use(monkeypatch):
    assert threads.auto_threads(100, default_threads=8) == 1
    monkeypatch.setattr(threads, "available_cpus", lambda: 2)
    monkeypatch.setattr(threads, "idle_cpus", lambda **_: 2.0)  # what the look at /proc/stat says, fixed here
    assert threads.auto_threads(threads.SMALL_STEP_MACS * 10, default_threads=8) == 2
    assert threads.auto_threads(threads.SMALL_STEP_MACS * 10, default_threads=1) == 1
    monkeypatch.setattr(threads, "idle_cpus", lambda **_: 1.1)  # another process keeps one core busy
    assert threads.auto_threads(threads.SMALL_STEP_MACS * 10, default_threads=8) == 1
    # train.deterministic: the same count however busy the machine is (two runs of a config must match)
    assert threads.auto_threads(threads.SMALL_STEP_MACS * 10, default_threads=8, look_at_load=False) == 2
    monkeypatch.setattr(threads, "idle_cpus", lambda **_: None)  # a system without /proc/stat: the cores we may use
    assert threads.auto_threads(threads.SMALL_STEP_MACS * 10, default_threads=8) == 2


@contextmanager
def spinner_on_one_cpu():
    """A process spinning on one CPU, and this process looking at just that CPU and one other."""
    mine = os.sched_getaffinity(0)
    busy_cpu, other_cpu = sorted(mine)[:2]
    spinner = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        os.sched_setaffinity(spinner.pid, {busy_cpu})
        os.sched_setaffinity(0, {busy_cpu, other_cpu})
        yield spinner.pid
    finally:
        spinner.kill()
        spinner.wait()
        os.sched_setaffinity(0, mine)


@pytest.mark.skipif(len(os.sched_getaffinity(0)) < 2, reason="needs two CPUs")
def test_a_core_kept_busy_by_another_process_is_not_counted_idle():
    with spinner_on_one_cpu():
        idle = threads.idle_cpus(0.5)
    assert idle is not None and idle <= 1.5  # the spinner's CPU is busy; the other one may be idle


def test_available_cpus_respects_the_affinity_mask():
    import os

    assert 1 <= threads.available_cpus() <= len(os.sched_getaffinity(0))


def test_auto_gives_tiny_curriculum_runs_one_thread_and_mnist_the_cores(mnist_root, monkeypatch):
    from learnai_cli import config as config_module
    from learnai_cli.experiment import build_experiment
    from tests.conftest import CONFIGS

    monkeypatch.setattr(threads, "idle_cpus", lambda **_: float(threads.available_cpus()))  # a quiet machine
    before = torch.get_num_threads()
    try:
        build_experiment(config_module.load(CONFIGS / "toy_classes.yaml"))
        assert torch.get_num_threads() == 1
        mnist = [f"data.root={mnist_root}", "data.val_split=20"]
        build_experiment(config_module.load(CONFIGS / "mnist_cnn.yaml", mnist))
        assert torch.get_num_threads() == min(threads.default_threads(), threads.available_cpus())
        build_experiment(config_module.load(CONFIGS / "toy_classes.yaml", ["train.threads=2"]))
        assert torch.get_num_threads() == 2  # an explicit count is used as given
    finally:
        torch.set_num_threads(before)


def test_a_resume_keeps_the_thread_count_its_run_started_with(cli, runs_dir):
    import json

    from tests.conftest import CONFIGS

    trained = cli.json("train", CONFIGS / "toy_classes.yaml", "train.epochs=2")
    meta_path = runs_dir / trained["run_id"] / "meta.json"
    meta = json.loads(meta_path.read_text())
    assert meta["threads"] == 1  # auto: a tiny step
    started_with = min(2, threads.available_cpus())
    meta_path.write_text(json.dumps({**meta, "threads": started_with}))  # as if it had started on an idle machine
    before = torch.get_num_threads()
    try:
        assert cli("train", "--resume", trained["run_id"], "train.epochs=3").exit_code == 0
        assert torch.get_num_threads() == started_with  # the same sums in the same order as before the stop
    finally:
        torch.set_num_threads(before)


def test_the_cpu_of_this_commands_own_helper_counts_as_idle(monkeypatch):
    """The plot helper warms up while the run looks at the CPUs: its CPU time is given back as idle. The look's
    readings are fixed here (whatever else the machine runs): two CPUs over 100 ticks each, 30 of them idle, while
    the helper used 80 ticks."""
    readings = iter([{0: (0, 0), 1: (0, 0)}, {0: (10, 100), 1: (20, 100)}])
    monkeypatch.setattr(threads, "_cpu_times", lambda cpus: next(readings))
    monkeypatch.setattr(threads.os, "sched_getaffinity", lambda pid: {0, 1})
    ticks = iter([1000, 1080])
    monkeypatch.setattr(threads, "_process_ticks", lambda pids: next(ticks) if pids else 0)
    assert threads.idle_cpus(0.0, own_pids=(12345,)) == pytest.approx(0.1 + 0.2 + 0.8)


def test_a_helpers_cpu_ticks_are_read_while_it_runs_and_count_nothing_once_it_has_exited():
    spinner = subprocess.Popen(
        [sys.executable, "-c", "import time\nend = time.time() + 30\nwhile time.time() < end: pass"]
    )
    try:
        deadline = time.monotonic() + 30
        while threads._process_ticks((spinner.pid,)) == 0 and time.monotonic() < deadline:
            time.sleep(0.05)  # however busy the machine, a spinning process is given some CPU
        assert threads._process_ticks((spinner.pid,)) > 0
    finally:
        spinner.kill()
        spinner.wait()
    assert threads._process_ticks((spinner.pid,)) == 0
