"""torchvision's model zoo by name, with a new head for your classes and an optionally frozen backbone."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from torch import nn

from learnai_cli.errors import DataError
from learnai_cli.registry import MODELS, PositiveCount

ZooName = Literal["resnet18", "alexnet", "vgg11", "squeezenet1_0", "densenet121", "inception_v3", "mobilenet_v3_small"]


def _replace_head(model: nn.Module, architecture: str, num_classes: int) -> list[nn.Module]:
    """Swap the last classification layer(s) for ones with num_classes outputs; returns the new modules."""
    if architecture.startswith("resnet"):
        model.fc = nn.Linear(model.fc.in_features, num_classes)
        return [model.fc]
    if architecture == "inception_v3":
        model.fc = nn.Linear(model.fc.in_features, num_classes)
        model.AuxLogits.fc = nn.Linear(model.AuxLogits.fc.in_features, num_classes)
        return [model.fc, model.AuxLogits.fc]
    if architecture.startswith("densenet"):
        model.classifier = nn.Linear(model.classifier.in_features, num_classes)
        return [model.classifier]
    if architecture.startswith("squeezenet"):
        model.classifier[1] = nn.Conv2d(model.classifier[1].in_channels, num_classes, kernel_size=1)
        return [model.classifier[1]]
    last = model.classifier[-1]  # alexnet, vgg, mobilenet: a Sequential ending in Linear
    model.classifier[-1] = nn.Linear(last.in_features, num_classes)
    return [model.classifier[-1]]


class MainOutput(nn.Module):
    """inception_v3 returns (logits, aux_logits) while training; learnai trains on the main logits."""

    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = model

    def forward(self, x):
        output = self.model(x)
        return output.logits if hasattr(output, "logits") else output


def _weights_or_error(architecture: str):
    """The default pretrained weights; offline without a cached file that is a clear error, not a hang."""
    from torch.hub import get_dir
    from torchvision.models import get_model_weights

    weights = get_model_weights(architecture).DEFAULT
    cached = Path(get_dir()) / "checkpoints" / Path(weights.url).name
    if not cached.exists():
        try:
            weights.get_state_dict(progress=False)
        except Exception as error:  # no network: urllib, ssl and http errors all end here
            raise DataError(
                f"pretrained weights for {architecture} are not cached and cannot be downloaded "
                f"({type(error).__name__}). "
                f"Put {Path(weights.url).name} (from {weights.url}) in {cached.parent} (torch.hub's cache, set by "
                "$TORCH_HOME), "
                "or set model.pretrained: false"
            ) from None
    return weights


@MODELS.register("zoo")
def zoo(
    architecture: ZooName = "resnet18",
    num_classes: PositiveCount = 10,
    pretrained: bool = False,
    freeze_backbone: bool = False,
) -> nn.Module:
    """A torchvision architecture (resnet18, alexnet, vgg11, ...) with a new num_classes head; optionally pretrained
    and frozen."""
    from torchvision.models import get_model

    weights = _weights_or_error(architecture) if pretrained else None
    extra = {"aux_logits": True, "init_weights": False} if architecture == "inception_v3" and weights is None else {}
    model = get_model(architecture, weights=weights, **extra)
    head = _replace_head(model, architecture, num_classes)
    if freeze_backbone:
        for parameter in model.parameters():
            parameter.requires_grad = False
        for module in head:
            for parameter in module.parameters():
                parameter.requires_grad = True
    return MainOutput(model) if architecture == "inception_v3" else model
