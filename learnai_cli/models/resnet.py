"""Residual networks: blocks that learn y = relu(x + F(x))."""

from __future__ import annotations

import torch
from torch import nn

from learnai_cli.registry import MODELS, PositiveCount


class ResidualBlock(nn.Module):
    """Two 3x3 convolutions F(x) added back onto x: the gradient has a short path through the identity."""

    def __init__(self, channels: int):
        super().__init__()
        self.conv1 = nn.Conv2d(channels, channels, kernel_size=3, padding=1)
        self.conv2 = nn.Conv2d(channels, channels, kernel_size=3, padding=1)

    def forward(self, x):
        return torch.relu(x + self.conv2(torch.relu(self.conv1(x))))


@MODELS.register("residual_net")
def residual_net(
    in_channels: PositiveCount = 1,
    num_classes: PositiveCount = 10,
    image_size: PositiveCount = 28,
    channels: list[PositiveCount] = (16, 32),
) -> nn.Module:
    """conv -> pool -> residual block, per stage (16 then 32 channels by default), then a linear head."""
    layers: list[nn.Module] = []
    n_in, side = in_channels, image_size
    for n_out in channels:
        layers += [nn.Conv2d(n_in, n_out, kernel_size=5, padding=2), nn.MaxPool2d(2), nn.ReLU(), ResidualBlock(n_out)]
        n_in, side = n_out, side // 2
    return nn.Sequential(*layers, nn.Flatten(), nn.Linear(n_in * side * side, num_classes))
