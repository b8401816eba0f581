"""Logistic regression by hand: hours studied (0-10) -> passed? A linear layer and a sigmoid, binary cross-entropy.

The loop configs/logistic_regression.yaml stands for: 400 students, 80/10/10 split, SGD lr 0.1, 100 epochs of batch 32.
    python bench/handwritten/logistic_regression.py [--epochs N]
"""

import argparse

import torch
from torch import nn

parser = argparse.ArgumentParser()
parser.add_argument("--epochs", type=int, default=100)
epochs = parser.parse_args().epochs
torch.manual_seed(0)

n = 400
hours = torch.empty(n, 1).uniform_(0, 10)
passed = (hours + torch.randn(n, 1) > 5.0).float()
order = torch.randperm(n)
test_idx, val_idx, train_idx = order[:40], order[40:80], order[80:]
x_train, y_train = hours[train_idx], passed[train_idx]
x_val, y_val = hours[val_idx], passed[val_idx]


class LogisticRegression(nn.Module):
    def __init__(self):
        super().__init__()
        self.linear = nn.Linear(1, 1)

    def forward(self, x):
        return torch.sigmoid(self.linear(x))


model = LogisticRegression()
criterion = nn.BCELoss()
optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
batch_size = 32

for epoch in range(epochs):
    model.train()
    perm = torch.randperm(len(x_train))
    total = 0.0
    for start in range(0, len(x_train), batch_size):
        idx = perm[start : start + batch_size]
        loss = criterion(model(x_train[idx]), y_train[idx])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        total += loss.item() * len(idx)
    model.eval()
    with torch.no_grad():
        probs = model(x_val)
        val_loss = criterion(probs, y_val).item()
        accuracy = ((probs > 0.5).float() == y_val).float().mean().item()
    train_loss = total / len(x_train)

print(f"epoch {epochs}: train_loss {train_loss:.4f} val_loss {val_loss:.4f} val_accuracy {accuracy:.4f}")
