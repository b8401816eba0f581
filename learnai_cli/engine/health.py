"""Cheap training-health readings at the log interval (never per step): each layer's gradient norm, its update
relative to its weights, the fraction of ReLU units that never fire on a batch, and of sigmoid/tanh outputs that
are saturated. `learnai diagnose` reads them (dead_units, vanishing_gradients, exploding_gradients) from the
`type: "health"` records the recorders write to metrics.jsonl.

Only one batch in each log interval is looked at: forward hooks on the activation modules are armed for that batch
alone, and the weights are copied for that one optimizer step, so the cost is a few tensor reductions per interval.
"""

from __future__ import annotations

from typing import Any, Optional

import torch
from torch import nn

SATURATED = 0.99  # a tanh beyond +-0.99, a sigmoid below 0.01 or above 0.99, passes almost no gradient
ACTIVATIONS = {nn.ReLU: "relu", nn.Sigmoid: "sigmoid", nn.Tanh: "tanh"}
MAX_LAYERS = 64  # a record names at most this many parameter tensors (the largest), so it stays one short line


class HealthMonitor:
    """Armed for the batch whose optimizer step ends a log interval; `record(epoch, step)` is then its reading."""

    def __init__(self, model: nn.Module):
        self.model = model
        self.armed = False
        self.activations: dict[str, dict[str, Any]] = {}
        self.layers: list[dict[str, Any]] = []
        self._before: Optional[list[tuple[str, torch.Tensor, torch.Tensor]]] = None
        self.hooks: list = []  # registered for the armed batch only: other steps run without any

    def arm(self) -> None:
        if self.armed:
            return
        self.armed, self.activations, self.layers, self._before = True, {}, [], None
        self.hooks = [
            module.register_forward_hook(self._hook(name or "output", ACTIVATIONS[type(module)]))
            for name, module in self.model.named_modules()
            if type(module) in ACTIVATIONS
        ]

    def before_step(self) -> None:
        """Gradients are there and the weights have not moved yet: read the gradient norms, copy the weights."""
        if not self.armed:
            return
        named = [(n, p) for n, p in self.model.named_parameters() if p.grad is not None and p.numel()]
        largest = {n for n, _ in sorted(named, key=lambda item: -item[1].numel())[:MAX_LAYERS]}
        named = [(n, p) for n, p in named if n in largest]  # in the model's order: input side first
        self._before = [(name, p, p.detach().clone()) for name, p in named]

    def after_step(self) -> None:
        """The step is taken: each tensor's gradient norm, weight norm and update/weight ratio."""
        if not self.armed or self._before is None:
            return
        with torch.no_grad():
            grads = torch._foreach_norm([p.grad.detach().float() for _, p, _ in self._before])
            weights = torch._foreach_norm([old.float() for _, _, old in self._before])
            moved = torch._foreach_norm([(p.detach() - old).float() for _, p, old in self._before])
            values = torch.stack([torch.stack(grads), torch.stack(weights), torch.stack(moved)]).cpu().tolist()
        for (name, _, _), grad, weight, update in zip(self._before, *values):
            ratio = update / weight if weight > 0 else None
            self.layers.append({"name": name, "grad_norm": grad, "weight_norm": weight, "update_ratio": ratio})
        self._before = None

    def record(self, epoch: int, step: int) -> Optional[dict[str, Any]]:
        """The `type: "health"` record of the armed batch (None when nothing was read), and disarm."""
        self.armed = False
        self.close()
        if not self.layers and not self.activations:
            return None
        finite = [layer for layer in self.layers if _finite(layer["grad_norm"])]
        return {
            "type": "health",
            "epoch": epoch,
            "step": step,
            "layers": finite,
            "activations": [{"name": name, **reading} for name, reading in self.activations.items()],
        }

    def close(self) -> None:
        for hook in self.hooks:
            hook.remove()
        self.hooks = []

    def _hook(self, name: str, kind: str):
        def read(module, inputs, output) -> None:
            if not self.armed or not isinstance(output, torch.Tensor) or output.dim() < 2 or not output.numel():
                return
            with torch.no_grad():
                self.activations[name] = _activation_reading(kind, output.detach())

        return read


def _activation_reading(kind: str, output: torch.Tensor) -> dict[str, Any]:
    """ReLU: the fraction of units (features, or channels of an image) that are zero for every sample of the batch;
    sigmoid/tanh: the fraction of outputs in their flat tails."""
    if kind == "relu":
        fired = (output > 0).transpose(0, 1).reshape(output.shape[1], -1).any(dim=1)
        return {"kind": kind, "units": int(fired.numel()), "dead_fraction": float(1 - fired.float().mean())}
    values = output.float()
    tail = (values.abs() > SATURATED) if kind == "tanh" else ((values < 1 - SATURATED) | (values > SATURATED))
    return {"kind": kind, "units": int(output.shape[1]), "saturated_fraction": float(tail.float().mean())}


def _finite(value: Any) -> bool:
    return isinstance(value, float) and value == value and abs(value) != float("inf")
