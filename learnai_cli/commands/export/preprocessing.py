"""What an exported model takes: the same raw input as `learnai predict`, with the run's preprocessing inside the
graph, and what its file says about itself (the preprocessing, the class order, what its outputs are).

A CSV run with `standardize: true` trained on (x - mean) / std of each feature, and an image run on (pixel - mean) /
std per channel: the exported graph does that itself, so a consumer feeds raw feature rows, or pixels in [0, 1]
(torchvision's ToTensor), never the statistics by hand. The statistics come from meta.json (recorded when the run
trained), else from the run's data as rebuilt now.
"""

from __future__ import annotations

import json
from typing import Any, Optional

import torch
from torch import nn

METADATA_KEY = "learnai"  # the one metadata entry (JSON) every format that has metadata carries


def input_preprocessing(run_meta: dict[str, Any], data: Any) -> Optional[dict[str, Any]]:
    """{"kind": "standardize" | "normalize", "input": in words, "mean": [...], "std": [...]}, or None when the
    model takes its inputs as they are."""
    info = getattr(data, "info", None) or {}
    standardization = next(
        (s for s in (run_meta.get("standardization"), info.get("standardization")) if _valid(s)), None
    )
    if standardization is not None and isinstance(standardization.get("features"), list):
        return {
            "kind": "standardize",
            "input": f"raw feature rows, columns in this order: {', '.join(map(str, standardization['features']))}",
            "features": list(standardization["features"]),
            "mean": list(standardization["mean"]),
            "std": list(standardization["std"]),
        }
    recorded = (run_meta.get("input_normalization"), info.get("input_normalization"))
    normalization = next((n for n in recorded if _valid(n)), None)
    if normalization is not None:
        return {"kind": "normalize", "input": normalization.get("input", "pixel values in [0, 1]"), **normalization}
    return None


def _valid(recorded: Any) -> bool:
    """A record with as many finite means as positive stds (a damaged meta.json gives no preprocessing, not a crash)."""
    if not isinstance(recorded, dict):
        return False
    mean, std = recorded.get("mean"), recorded.get("std")
    numbers = isinstance(mean, list) and isinstance(std, list) and len(mean) == len(std) > 0
    return numbers and all(isinstance(v, (int, float)) for v in mean + std) and all(s > 0 for s in std)


class Preprocessed(nn.Module):
    """The trained model behind its preprocessing: forward(raw) = model((raw - mean) / std), the statistics
    broadcast over feature columns (N, F) or image channels (N, C, H, W)."""

    def __init__(self, model: nn.Module, preprocessing: dict[str, Any]):
        super().__init__()
        self.model = model
        shape = (-1,) if preprocessing["kind"] == "standardize" else (-1, 1, 1)
        self.register_buffer("mean", torch.tensor(preprocessing["mean"], dtype=torch.float32).view(shape))
        self.register_buffer("std", torch.tensor(preprocessing["std"], dtype=torch.float32).view(shape))

    def forward(self, raw: torch.Tensor) -> torch.Tensor:
        return self.model((raw - self.mean) / self.std)

    def exportable(self) -> nn.Module:
        """The same, around the model's export-friendly twin (the recurrent models' scans over time)."""
        inner = self.model.exportable() if hasattr(self.model, "exportable") else self.model
        twin = Preprocessed.__new__(Preprocessed)
        nn.Module.__init__(twin)
        twin.model = inner
        twin.register_buffer("mean", self.mean)
        twin.register_buffer("std", self.std)
        return twin


def raw_inputs(prepared: torch.Tensor, preprocessing: dict[str, Any]) -> torch.Tensor:
    """The raw inputs that the run's prepared (standardised or normalised) tensors came from."""
    shape = (-1,) if preprocessing["kind"] == "standardize" else (-1, 1, 1)
    mean = torch.tensor(preprocessing["mean"], dtype=prepared.dtype).view(shape)
    std = torch.tensor(preprocessing["std"], dtype=prepared.dtype).view(shape)
    return prepared * std + mean


def file_metadata(
    preprocessing: Optional[dict[str, Any]], inside: bool, class_names: Any, outputs: Optional[str], run_id: str
) -> dict[str, str]:
    """{METADATA_KEY: JSON}: what a consumer of the file needs besides its tensors: the input it takes (and whether
    the preprocessing is inside the graph or is the consumer's to apply, as for the weights formats), the class order
    of its outputs and what they are (raw scores, probabilities, ...)."""
    if preprocessing is None:
        taken = "the model's inputs as they are"
    else:
        taken = (
            preprocessing["input"]
            if inside
            else f"inputs prepared as `preprocessing` says, from {preprocessing['input']}"
        )
    described = {
        "input": taken,
        "preprocessing": preprocessing,
        "preprocessing_inside": inside and preprocessing is not None,
        "class_names": list(class_names) if isinstance(class_names, list) else None,
        "outputs": outputs,
        "run_id": run_id,
    }
    return {METADATA_KEY: json.dumps(described)}
