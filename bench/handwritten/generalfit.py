"""GeneralFit by hand: an MLP 1 -> 64 -> 64 -> 1 with ReLU fits y = sin(2x)·exp(-x²/8) + noise on [-4, 4].

The loop configs/generalfit.yaml stands for: 1,000 points, 80/10/10 split, MSE, Adam lr 0.01, 200 epochs of batch 64.
    python bench/handwritten/generalfit.py [--epochs N]
"""

import argparse

import torch
from torch import nn

parser = argparse.ArgumentParser()
parser.add_argument("--epochs", type=int, default=200)
epochs = parser.parse_args().epochs
torch.manual_seed(0)

n = 1000
x = torch.empty(n, 1).uniform_(-4.0, 4.0)
y = torch.sin(2 * x) * torch.exp(-(x**2) / 8) + 0.05 * torch.randn(n, 1)
order = torch.randperm(n)
test_idx, val_idx, train_idx = order[:100], order[100:200], order[200:]
x_train, y_train = x[train_idx], y[train_idx]
x_val, y_val = x[val_idx], y[val_idx]


class GeneralFit(nn.Module):
    def __init__(self):
        super().__init__()
        self.layer1 = nn.Linear(1, 64)
        self.layer2 = nn.Linear(64, 64)
        self.layer3 = nn.Linear(64, 1)

    def forward(self, x):
        x = torch.relu(self.layer1(x))
        x = torch.relu(self.layer2(x))
        return self.layer3(x)


model = GeneralFit()
criterion = nn.MSELoss()
optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
batch_size = 64

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
