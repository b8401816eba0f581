"""Polynomial regression as linear regression: y = 3x^2 + 2x + 1 + noise, features [x, x^2], nn.Linear(2, 1), MSE,
Adam lr 0.05.

The loop configs/polynomial_regression.yaml stands for: 1,000 points, 80/10/10 split, 100 epochs of batch 32.
    python bench/handwritten/polynomial_regression.py [--epochs N]
"""

import argparse

import torch
from torch import nn

parser = argparse.ArgumentParser()
parser.add_argument("--epochs", type=int, default=100)
epochs = parser.parse_args().epochs
torch.manual_seed(0)

n = 1000
x = torch.empty(n, 1).uniform_(-1.0, 1.0)
features = torch.cat([x, x**2], dim=1)
y = 1.0 + 2.0 * x + 3.0 * x**2 + 0.1 * torch.randn(n, 1)
order = torch.randperm(n)
test_idx, val_idx, train_idx = order[:100], order[100:200], order[200:]
x_train, y_train = features[train_idx], y[train_idx]
x_val, y_val = features[val_idx], y[val_idx]


class LinearRegression(nn.Module):
    def __init__(self, n_in, n_out):
        super().__init__()
        self.linear = nn.Linear(n_in, n_out)

    def forward(self, x):
        return self.linear(x)


model = LinearRegression(2, 1)
criterion = nn.MSELoss()
optimizer = torch.optim.Adam(model.parameters(), lr=0.05)
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
        val_loss = criterion(model(x_val), y_val).item()
    train_loss = total / len(x_train)

print(f"epoch {epochs}: train_loss {train_loss:.4f} val_loss {val_loss:.4f}")
print(f"weights {model.linear.weight.data.view(-1).tolist()} bias {model.linear.bias.item():.3f}")
