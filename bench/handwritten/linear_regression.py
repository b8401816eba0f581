"""Linear regression by hand: y = 2x + 1 from 10,000 noisy points, nn.Linear(1, 1), MSE, Adam lr 0.05, 30 epochs
of batch 256.

The loop configs/linear_regression.yaml stands for: 80/10/10 split, train + validate every epoch.
    python bench/handwritten/linear_regression.py [--epochs N]
"""

import argparse

import torch
from torch import nn

parser = argparse.ArgumentParser()
parser.add_argument("--epochs", type=int, default=30)
epochs = parser.parse_args().epochs
torch.manual_seed(0)

# Data: x in [0, 2], noise that grows with x; 10% validation, 10% test.
n = 10_000
x = torch.empty(n, 1).uniform_(0.0, 2.0)
y = 2.0 * x + 1.0 + 0.1 * x.abs() * torch.randn(n, 1)
order = torch.randperm(n)
test_idx, val_idx, train_idx = order[:1000], order[1000:2000], order[2000:]
x_train, y_train = x[train_idx], y[train_idx]
x_val, y_val = x[val_idx], y[val_idx]


class LinearRegression(nn.Module):
    def __init__(self, n_in, n_out):
        super().__init__()
        self.linear = nn.Linear(n_in, n_out)

    def forward(self, x):
        return self.linear(x)


model = LinearRegression(1, 1)
criterion = nn.MSELoss()
optimizer = torch.optim.Adam(model.parameters(), lr=0.05)
batch_size = 256

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
        val_loss = criterion(model(x_val), y_val).item()
    train_loss = total / len(x_train)

print(f"epoch {epochs}: train_loss {train_loss:.4f} val_loss {val_loss:.4f}")
print(f"weight {model.linear.weight.item():.3f} bias {model.linear.bias.item():.3f}")
