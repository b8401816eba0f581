"""pytorch/examples' MNIST example (mnist/main.py), re-typed for the benchmark: its network (two 3x3 convolutions of
32 and 64 channels, max-pool, dropout 0.25, a 9216-128-10 head with dropout 0.5, log-softmax), NLL loss, Adadelta at
lr 1.0 with StepLR(gamma=0.7) per epoch, batch 64 (test batch 1000), seed 1, torchvision's MNIST with ToTensor and
Normalize((0.1307,), (0.3081,)), a progress line every 10 batches and a test pass after every epoch, as the example
does. The only changes: the data folder is an argument, nothing is downloaded, and the last line is JSON (the test
accuracy after each epoch and the training seconds) for bench/versus_examples.py to read.

    python bench/examples_mnist.py --root data --epochs 3
"""

from __future__ import annotations

import argparse
import json
import time

import torch
import torch.nn.functional as F
from torch import nn, optim
from torch.optim.lr_scheduler import StepLR
from torchvision import datasets, transforms


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 32, 3, 1)
        self.conv2 = nn.Conv2d(32, 64, 3, 1)
        self.dropout1 = nn.Dropout(0.25)
        self.dropout2 = nn.Dropout(0.5)
        self.fc1 = nn.Linear(9216, 128)
        self.fc2 = nn.Linear(128, 10)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.conv2(F.relu(self.conv1(x)))), 2)
        x = torch.flatten(self.dropout1(x), 1)
        x = self.dropout2(F.relu(self.fc1(x)))
        return F.log_softmax(self.fc2(x), dim=1)


def train(model, loader, optimizer, epoch, log_interval=10):
    model.train()
    for batch_idx, (data, target) in enumerate(loader):
        optimizer.zero_grad()
        loss = F.nll_loss(model(data), target)
        loss.backward()
        optimizer.step()
        if batch_idx % log_interval == 0:
            print(f"Train Epoch: {epoch} [{batch_idx * len(data)}/{len(loader.dataset)}]\tLoss: {loss.item():.6f}")


def test(model, loader) -> float:
    model.eval()
    test_loss, correct = 0.0, 0
    with torch.no_grad():
        for data, target in loader:
            output = model(data)
            test_loss += F.nll_loss(output, target, reduction="sum").item()
            correct += output.argmax(dim=1).eq(target).sum().item()
    test_loss /= len(loader.dataset)
    print(f"\nTest set: Average loss: {test_loss:.4f}, Accuracy: {correct}/{len(loader.dataset)}\n")
    return correct / len(loader.dataset)


def main() -> None:
    parser = argparse.ArgumentParser(description="PyTorch MNIST Example (pytorch/examples), for the benchmark")
    parser.add_argument("--root", default="../data")
    parser.add_argument("--epochs", type=int, default=3)
    args = parser.parse_args()
    torch.manual_seed(1)
    transform = transforms.Compose([transforms.ToTensor(), transforms.Normalize((0.1307,), (0.3081,))])
    train_loader = torch.utils.data.DataLoader(
        datasets.MNIST(args.root, train=True, download=False, transform=transform), batch_size=64
    )
    test_loader = torch.utils.data.DataLoader(
        datasets.MNIST(args.root, train=False, transform=transform), batch_size=1000
    )
    model = Net()
    optimizer = optim.Adadelta(model.parameters(), lr=1.0)
    scheduler = StepLR(optimizer, step_size=1, gamma=0.7)
    accuracies, train_seconds = [], 0.0
    for epoch in range(1, args.epochs + 1):
        started = time.perf_counter()
        train(model, train_loader, optimizer, epoch)
        train_seconds += time.perf_counter() - started
        accuracies.append(test(model, test_loader))
        scheduler.step()
    print(json.dumps({"test_accuracy": accuracies, "train_seconds": round(train_seconds, 3)}))


if __name__ == "__main__":
    main()
