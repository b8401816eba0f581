"""A degree-4 polynomial with random target weights, features [x, x^2, x^3, x^4], smooth L1 loss, p -= lr * grad
by hand.

The loop configs/poly4_smooth_l1.yaml stands for: 200,000 points (1,000 validation, 1,000 test), one pass of fresh
batches of 32, lr 0.1, stop as soon as a batch's loss is below 1e-3, then validate.
    python bench/handwritten/poly4_smooth_l1.py [--epochs N]
"""

import argparse

import torch
from torch import nn

parser = argparse.ArgumentParser()
parser.add_argument("--epochs", type=int, default=1)
epochs = parser.parse_args().epochs
torch.manual_seed(0)

n, degree = 200_000, 4
true_w = torch.randn(degree + 1)  # c0 + c1*x + ... + c4*x^4
x = torch.empty(n, 1).uniform_(-1.0, 1.0)
features = torch.cat([x**p for p in range(1, degree + 1)], dim=1)
y = true_w[0] + features @ true_w[1:].view(-1, 1)
order = torch.randperm(n)
test_idx, val_idx, train_idx = order[:1000], order[1000:2000], order[2000:]
x_train, y_train = features[train_idx], y[train_idx]
x_val, y_val = features[val_idx], y[val_idx]


class LinearRegression(nn.Module):
    def __init__(self, n_in, n_out):
        super().__init__()
        self.linear = nn.Linear(n_in, n_out)

    def forward(self, x):
        return self.linear(x)


model = LinearRegression(degree, 1)
criterion = nn.SmoothL1Loss()
lr, batch_size = 0.1, 32

step, done = 0, False
for epoch in range(epochs):
    model.train()
    perm = torch.randperm(len(x_train))
    for start in range(0, len(x_train), batch_size):
        idx = perm[start : start + batch_size]
        loss = criterion(model(x_train[idx]), y_train[idx])
        model.zero_grad()
        loss.backward()
        with torch.no_grad():
            for p in model.parameters():
                p -= lr * p.grad
        step += 1
        if loss.item() < 1e-3:
            done = True
            break
    model.eval()
    with torch.no_grad():
        val_loss = criterion(model(x_val), y_val).item()
    if done:
        break

print(f"stopped at step {step}: loss {loss.item():.6f} val_loss {val_loss:.6f}")
print(f"true {[round(v, 3) for v in true_w.tolist()]}")
print(f"learned {[round(model.linear.bias.item(), 3)] + [round(v, 3) for v in model.linear.weight.view(-1).tolist()]}")
