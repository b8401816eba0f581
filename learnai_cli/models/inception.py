"""Inception modules (parallel 1x1, 5x5, 3x3-3x3 and pooled branches) in a small GoogLeNet-style net."""

from __future__ import annotations

import torch
from torch import nn

from learnai_cli.registry import MODELS, PositiveCount


class InceptionModule(nn.Module):
    """Four branches concatenated on channels; 1x1 convolutions cut the cost of the wide ones."""

    def __init__(self, n_in: int, branch: int = 16):
        super().__init__()
        self.one = nn.Conv2d(n_in, branch, kernel_size=1)
        self.five = nn.Sequential(
            nn.Conv2d(n_in, branch, kernel_size=1), nn.Conv2d(branch, 2 * branch, kernel_size=5, padding=2)
        )
        self.three = nn.Sequential(
            nn.Conv2d(n_in, branch, kernel_size=1),
            nn.Conv2d(branch, 2 * branch, kernel_size=3, padding=1),
            nn.Conv2d(2 * branch, 2 * branch, kernel_size=3, padding=1),
        )
        self.pool = nn.Sequential(nn.AvgPool2d(3, stride=1, padding=1), nn.Conv2d(n_in, branch, kernel_size=1))
        self.out_channels = 6 * branch

    def forward(self, x):
        return torch.cat([self.one(x), self.five(x), self.three(x), self.pool(x)], dim=1)


class InceptionNet(nn.Module):
    def __init__(self, in_channels: int, num_classes: int, image_size: int, branch: int):
        super().__init__()
        self.stem1 = nn.Conv2d(in_channels, 10, kernel_size=5)
        self.inception1 = InceptionModule(10, branch)
        self.stem2 = nn.Conv2d(self.inception1.out_channels, 20, kernel_size=5)
        self.inception2 = InceptionModule(20, branch)
        side = ((image_size - 4) // 2 - 4) // 2
        self.pool = nn.MaxPool2d(2)
        self.head = nn.Linear(self.inception2.out_channels * side * side, num_classes)

    def forward(self, x):
        x = self.inception1(torch.relu(self.pool(self.stem1(x))))
        x = self.inception2(torch.relu(self.pool(self.stem2(x))))
        return self.head(x.flatten(1))


@MODELS.register("inception_net")
def inception_net(
    in_channels: PositiveCount = 1,
    num_classes: PositiveCount = 10,
    image_size: PositiveCount = 28,
    branch: PositiveCount = 16,
) -> nn.Module:
    """A small GoogLeNet-style net: conv, Inception module, conv, Inception module, linear head."""
    return InceptionNet(in_channels, num_classes, image_size, branch)
