"""Cheap training-health readings at the log interval (never per step): each layer's gradient norm, its update
relative to its weights, the fraction of ReLU units that never fire on a batch, and of sigmoid/tanh outputs that
are saturated. `learnai diagnose` reads them (dead_units, vanishing_gradients, exploding_gradients) from the
`type: "health"` records the recorders write to metrics.jsonl.

Only one batch in a log interval is looked at: forward hooks on the activation modules are armed for that batch
alone, and the weights are copied for that one optimizer step, so the cost is a few tensor reductions and two host
syncs per reading, none on the other steps. Readings are at least MIN_STEPS_APART steps apart: with log intervals
of a step or a few (poly4_smooth_l1 logs every step), not every interval gets one.
"""

from __future__ import annotations

import time
from typing import Any, Optional

import torch
from torch import nn

SATURATED = 0.99  # a tanh beyond +-0.99, a sigmoid below 0.01 or above 0.99, passes almost no gradient
ACTIVATIONS = {nn.ReLU: "relu", nn.Sigmoid: "sigmoid", nn.Tanh: "tanh"}
MAX_LAYERS = 64  # a record names at most this many parameter tensors (the largest), so it stays one short line
MIN_STEPS_APART = 50  # steps between readings at least: a reading costs about one tiny step, so ~1-2% at worst


class HealthMonitor:
    """Armed for the batch whose optimizer step ends a log interval; `record(epoch, step)` is then its reading.

    Readings are at least MIN_STEPS_APART steps apart, counted in steps so a resumed run reads the same steps as an
    uninterrupted one: with log intervals of a step or a few, every k-th interval (k = ceil(MIN_STEPS_APART /
    log_every_steps)), so a reading costs a small share of the steps around it (about 1% on the curriculum); each
    reading times itself (the record's `seconds`).
    """

    def __init__(self, model: nn.Module, log_every_steps: int = MIN_STEPS_APART):
        self.model = model
        self.every = log_every_steps * -(-MIN_STEPS_APART // log_every_steps)  # a multiple of the log interval
        self.armed = False
        self.activations: dict[str, tuple[str, torch.Tensor, int]] = {}
        self.layers: list[dict[str, Any]] = []
        self._before: Optional[list[tuple[str, torch.Tensor, torch.Tensor]]] = None
        self.hooks: list = []  # registered for the armed batch only: other steps run without any
        # found once: the activation modules, and the largest parameter tensors in the model's order
        modules = list(model.named_modules())
        self._activation_modules = [
            (name or "output", module, ACTIVATIONS[type(module)])
            for name, module in modules
            if type(module) in ACTIVATIONS
        ]
        # after the last layer with weights: the model's output (a sigmoid there saturates when it is confident)
        weighted = [
            i for i, (_, module) in enumerate(modules) if next(module.parameters(recurse=False), None) is not None
        ]
        self._outputs = {name or "output" for i, (name, _) in enumerate(modules) if i > max(weighted, default=-1)}
        named = [(n, p) for n, p in model.named_parameters() if p.numel() and p.requires_grad]  # frozen: no grad
        largest = {n for n, _ in sorted(named, key=lambda item: -item[1].numel())[:MAX_LAYERS]}
        self._parameters = [(n, p) for n, p in named if n in largest]
        self.spent = 0.0  # seconds the armed reading has taken so far

    def arm(self, step: int) -> None:
        """Read the batch whose optimizer step will be `step` (1-based), when that step is due a reading."""
        if self.armed or step % self.every:
            return
        now = time.perf_counter()
        self.armed, self.activations, self.layers, self._before = True, {}, [], None
        self.hooks = [
            module.register_forward_hook(self._hook(name, kind)) for name, module, kind in self._activation_modules
        ]
        self.spent = time.perf_counter() - now

    def before_step(self) -> None:
        """Gradients are there and the weights have not moved yet: copy the weights of those with a gradient."""
        if not self.armed:
            return
        now = time.perf_counter()
        self._before = [(name, p, p.detach().clone()) for name, p in self._parameters if p.grad is not None]
        self.spent += time.perf_counter() - now

    def after_step(self) -> None:
        """The step is taken: each tensor's gradient norm, weight norm and update/weight ratio (one host sync)."""
        if not self.armed or self._before is None:
            return
        now = time.perf_counter()
        if self._before:
            with torch.no_grad():
                grads = torch._foreach_norm([p.grad.detach().float() for _, p, _ in self._before])
                weights = torch._foreach_norm([old.float() for _, _, old in self._before])
                moved = torch._foreach_norm([(p.detach() - old).float() for _, p, old in self._before])
                values = torch.stack([torch.stack(grads), torch.stack(weights), torch.stack(moved)]).cpu().tolist()
            for (name, _, _), grad, weight, update in zip(self._before, *values):
                ratio = update / weight if weight > 0 else None
                self.layers.append({"name": name, "grad_norm": grad, "weight_norm": weight, "update_ratio": ratio})
        self._before = None
        self.spent += time.perf_counter() - now

    def record(self, epoch: int, step: int) -> Optional[dict[str, Any]]:
        """The `type: "health"` record of the armed batch (None when nothing was read), and disarm."""
        if not self.armed:
            return None
        now = time.perf_counter()
        self.armed = False
        self.close()
        activations = _activation_records(self.activations)
        for reading in activations:
            reading["output"] = reading["name"] in self._outputs
        self.activations = {}
        finite = [layer for layer in self.layers if _finite(layer["grad_norm"])]
        self.spent += time.perf_counter() - now
        if not self.layers and not activations:
            return None
        return {
            "type": "health",
            "epoch": epoch,
            "step": step,
            "seconds": round(self.spent, 6),  # the reading's own cost (bench/health_overhead.py sums them)
            "layers": finite,
            "activations": activations,
        }

    def close(self) -> None:
        for hook in self.hooks:
            hook.remove()
        self.hooks = []

    def _hook(self, name: str, kind: str):
        def read(module, inputs, output) -> None:
            if not self.armed or not isinstance(output, torch.Tensor) or output.dim() < 2 or not output.numel():
                return
            now = time.perf_counter()
            with torch.no_grad():
                self.activations[name] = (kind, _activation_tensor(kind, output.detach()), int(output.shape[1]))
            self.spent += time.perf_counter() - now

        return read


def _activation_tensor(kind: str, output: torch.Tensor) -> torch.Tensor:
    """On the device, no host sync: a ReLU's fraction of units (features, or channels of an image) that are zero
    for every sample of the batch; a sigmoid's or tanh's fraction of outputs in their flat tails."""
    if kind == "relu":
        fired = (output > 0).transpose(0, 1).reshape(output.shape[1], -1).any(dim=1)
        return 1 - fired.float().mean()
    values = output.float()
    tail = (values.abs() > SATURATED) if kind == "tanh" else ((values < 1 - SATURATED) | (values > SATURATED))
    return tail.float().mean()


def _activation_records(activations: dict[str, tuple[str, torch.Tensor, int]]) -> list[dict[str, Any]]:
    """The activation readings as record entries, read to the host in one sync."""
    if not activations:
        return []
    values = torch.stack([reading.float() for _, reading, _ in activations.values()]).cpu().tolist()
    key = {"relu": "dead_fraction", "sigmoid": "saturated_fraction", "tanh": "saturated_fraction"}
    return [
        {"name": name, "kind": kind, "units": units, key[kind]: value}
        for (name, (kind, _, units)), value in zip(activations.items(), values)
    ]


def _finite(value: Any) -> bool:
    return isinstance(value, float) and value == value and abs(value) != float("inf")
