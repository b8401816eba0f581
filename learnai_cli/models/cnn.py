"""Convolutional networks for small images (MNIST-sized, 1x28x28 by default)."""

from __future__ import annotations

from torch import nn

from learnai_cli.registry import MODELS, FractionBelow1, PositiveCount


class BasicCNN(nn.Module):
    """The curriculum's net: conv(k5) -> maxpool 2 -> ReLU, twice, then one linear layer."""

    def __init__(self, in_channels: int, num_classes: int, image_size: int):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(in_channels, 10, kernel_size=5),
            nn.MaxPool2d(2),
            nn.ReLU(),
            nn.Conv2d(10, 20, kernel_size=5),
            nn.MaxPool2d(2),
            nn.ReLU(),
        )
        side = ((image_size - 4) // 2 - 4) // 2
        self.classifier = nn.Linear(20 * side * side, num_classes)  # 320 inputs for 28x28 images

    def forward(self, x):
        return self.classifier(self.features(x).flatten(1))


@MODELS.register("basic_cnn")
def basic_cnn(
    in_channels: PositiveCount = 1, num_classes: PositiveCount = 10, image_size: PositiveCount = 28
) -> nn.Module:
    """Two conv(k5)+maxpool+ReLU blocks (1->10->20 channels) and a linear head (~98-99% on MNIST)."""
    return BasicCNN(in_channels, num_classes, image_size)


def conv_block(n_in: int, n_out: int) -> nn.Sequential:
    """3x3 conv + batch norm + ReLU + 2x2 max-pool: halves the image, deepens the channels."""
    return nn.Sequential(
        nn.Conv2d(n_in, n_out, kernel_size=3, padding=1, bias=False),
        nn.BatchNorm2d(n_out),
        nn.ReLU(inplace=True),
        nn.MaxPool2d(2),
    )


@MODELS.register("mnist_cnn")
def mnist_cnn(
    in_channels: PositiveCount = 1,
    num_classes: PositiveCount = 10,
    image_size: PositiveCount = 28,
    channels: list[PositiveCount] = (16, 32, 64),
    dropout: FractionBelow1 = 0.0,
) -> nn.Module:
    """A small fast CNN (conv-BN-ReLU-pool blocks + linear head) that reaches 99% on MNIST in one epoch."""
    blocks, n_in, side = [], in_channels, image_size
    for n_out in channels:
        blocks.append(conv_block(n_in, n_out))
        n_in, side = n_out, side // 2
    return nn.Sequential(
        *blocks,
        nn.Flatten(),
        nn.Dropout(dropout) if dropout > 0 else nn.Identity(),
        nn.Linear(n_in * side * side, num_classes),
    )


@MODELS.register("deep_cnn")
def deep_cnn(
    in_channels: PositiveCount = 1,
    num_classes: PositiveCount = 10,
    image_size: PositiveCount = 28,
    channels: list[PositiveCount] = (16, 32, 64),
    hidden: list[PositiveCount] = (128, 64),
) -> nn.Module:
    """The curriculum's more complex CNN: 3 conv + 3 ReLU + 3 max-pool, then 3 linear layers."""
    layers: list[nn.Module] = []
    n_in, side = in_channels, image_size
    for n_out in channels:
        layers += [nn.Conv2d(n_in, n_out, kernel_size=3, padding=1), nn.ReLU(), nn.MaxPool2d(2)]
        n_in, side = n_out, side // 2
    sizes = [n_in * side * side, *hidden]
    layers.append(nn.Flatten())
    for a, b in zip(sizes, sizes[1:]):
        layers += [nn.Linear(a, b), nn.ReLU()]
    layers.append(nn.Linear(sizes[-1], num_classes))
    return nn.Sequential(*layers)
