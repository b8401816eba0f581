"""How many CPU threads a run should use: as many as help the work per step, never more than the process may use.

A tiny model (the curriculum's 6-sample toy, linear regression, diabetes) gains nothing from a second
thread and loses a lot when another process keeps the other cores busy: every op then waits on a
thread that is not running. Past a few million multiply-adds per step, extra threads pay off.
"""

from __future__ import annotations

import math
import os
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import torch
from torch import nn

# Multiply-adds per optimizer step below which one thread is fastest (about a millisecond on one core).
SMALL_STEP_MACS = 5_000_000
IDLE_LOOK_S = 0.2  # how long a run with several threads in view looks at how busy the CPUs are (20 ticks a CPU)


_DEFAULT_THREADS = torch.get_num_threads()  # torch's own choice, read before learnai sets any count


def default_threads() -> int:
    """torch's own choice of threads (the physical cores), as it was when this module was imported."""
    return _DEFAULT_THREADS


def available_cpus() -> int:
    """CPUs this process may run on: its affinity mask, capped by a cgroup CPU quota (containers)."""
    try:
        count = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        count = os.cpu_count() or 1
    quota = _cgroup_quota()
    return max(1, min(count, quota) if quota else count)


def _cgroup_quota() -> int | None:
    """ceil(quota / period) from cgroup v2's cpu.max ('max 100000' when unlimited)."""
    try:
        quota, period = Path("/sys/fs/cgroup/cpu.max").read_text().split()[:2]
    except (OSError, ValueError):
        return None
    return None if quota == "max" else max(1, math.ceil(int(quota) / int(period)))


def macs_per_sample(model: nn.Module, inputs: torch.Tensor) -> int:
    """Multiply-adds of one forward pass per sample, counted on the matrix-heavy layers (Linear, Conv, RNNs)."""
    with counting_macs(model) as counted, torch.no_grad():
        model(inputs)
    return sum(counted) // max(1, len(inputs) if isinstance(inputs, torch.Tensor) else 1)


@contextmanager
def counting_macs(model: nn.Module):
    """Within it, each forward pass of `model` appends its layers' multiply-adds to the list it yields (so a pass
    the caller makes anyway, such as the fit check, counts them too)."""
    counted: list[int] = []

    def count(module: nn.Module, _inputs, output) -> None:
        output = output[0] if isinstance(output, tuple) else output
        if isinstance(output, nn.utils.rnn.PackedSequence):
            output = output.data
        if isinstance(module, nn.RNNBase):  # every step multiplies input and hidden state by the weights
            weights = sum(p.numel() for name, p in module.named_parameters() if name.startswith("weight"))
            steps = output.numel() // max(1, module.hidden_size * (2 if module.bidirectional else 1))
            counted.append(weights * steps)
        elif isinstance(module, (nn.Linear, nn.modules.conv._ConvNd)) and isinstance(output, torch.Tensor):
            counted.append(output.numel() * module.weight.shape[1:].numel())  # a zero-width layer counts 0

    layers = [m for m in model.modules() if isinstance(m, (nn.Linear, nn.modules.conv._ConvNd, nn.RNNBase))]
    hooks = [layer.register_forward_hook(count) for layer in layers]
    try:
        yield counted
    finally:
        for hook in hooks:
            hook.remove()


def auto_threads(
    step_macs: int,
    default_threads: int,
    own_pids: tuple[int, ...] = (),
    look_at_load: bool = True,
    look: Optional[IdleLook] = None,
) -> int:
    """One thread for small steps; otherwise torch's default (the physical cores) within the CPUs we may use, and
    (look_at_load) no more than are idle now: a thread on a core another process keeps busy makes every op wait for
    it. `own_pids` are this command's helpers (the plot process warming up), whose CPU counts as idle: they are
    about to sleep. `look`: one started earlier (start_idle_look), so the look overlaps the run's own set-up."""
    if step_macs < SMALL_STEP_MACS:
        return 1
    threads = max(1, min(default_threads, available_cpus()))
    idle = idle_cpus(own_pids=own_pids, look=look) if threads > 1 and look_at_load else None
    return threads if idle is None else max(1, min(threads, math.floor(idle + 0.5)))


@dataclass
class IdleLook:
    """The CPUs' and this command's own tick counts at the start of a look at how busy the CPUs are."""

    cpus: list[int]
    before: dict[int, tuple[int, int]]
    own_pids: tuple[int, ...]
    own_before: int
    started: float


def start_idle_look(own_pids: tuple[int, ...] = ()) -> Optional[IdleLook]:
    """Begin a look now, while this process still reads data and checks the model: its own CPU time (and that of
    `own_pids`, its helpers) counts as idle, since it is this run's and the run's threads will have it; None
    where the system does not say."""
    pids = (os.getpid(), *own_pids)
    try:
        cpus = sorted(os.sched_getaffinity(0))
        return IdleLook(cpus, _cpu_times(cpus), pids, _process_ticks(pids), time.monotonic())
    except (AttributeError, OSError, ValueError):
        return None


def idle_cpus(
    seconds: float = IDLE_LOOK_S, own_pids: tuple[int, ...] = (), look: Optional[IdleLook] = None
) -> float | None:
    """How many of the CPUs this process may run on were idle during a look of at least `seconds` (/proc/stat's
    per-CPU times), counting the CPU time of this process and `own_pids` as idle; None where the system does not
    say. With `look` (started earlier) only what is left of the `seconds` is waited for."""
    look = look or start_idle_look(own_pids)
    if look is None:
        return None
    time.sleep(max(0.0, seconds - (time.monotonic() - look.started)))
    try:
        after, own_after = _cpu_times(look.cpus), _process_ticks(look.own_pids)
    except (OSError, ValueError):
        return None
    idle, elapsed = 0.0, 0
    for cpu in look.cpus:
        (idle_0, total_0), (idle_1, total_1) = look.before.get(cpu, (0, 0)), after.get(cpu, (0, 0))
        idle += (idle_1 - idle_0) / (total_1 - total_0) if total_1 > total_0 else 1.0
        elapsed = max(elapsed, total_1 - total_0)
    if elapsed:  # each CPU's ticks advance with the wall clock: our ticks over them is the CPUs we kept busy
        idle += max(0, own_after - look.own_before) / elapsed
    return min(idle, float(len(look.cpus)))


def _process_ticks(pids: tuple[int, ...]) -> int:
    """User + system clock ticks the processes have used (/proc/PID/stat); one that has exited counts 0."""
    ticks = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        ticks += int(fields[11]) + int(fields[12])  # utime, stime: fields 14 and 15 of the whole line
    return ticks


def _cpu_times(cpus: list[int]) -> dict[int, tuple[int, int]]:
    """{cpu: (idle + iowait ticks, all ticks)} from /proc/stat's cpuN lines."""
    wanted, times = {f"cpu{cpu}": cpu for cpu in cpus}, {}
    for line in Path("/proc/stat").read_text().splitlines():
        name, *fields = line.split()
        if name in wanted:
            ticks = [int(field) for field in fields[:8]]  # user nice system idle iowait irq softirq steal
            times[wanted[name]] = (ticks[3] + ticks[4], sum(ticks))
    return times
