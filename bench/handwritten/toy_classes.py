"""The curriculum's toy problem by hand: 6 samples, 2 features, 3 classes; one hidden layer of 5 with ReLU.

The loop configs/toy_classes.yaml stands for: CrossEntropyLoss, SGD lr 0.01, 1,000 epochs of the whole batch of 6,
loss printed every 200 epochs, accuracy on the same 6 samples (it measures fit) every epoch.
    python bench/handwritten/toy_classes.py [--epochs N]
"""

import argparse

import torch
from torch import nn

parser = argparse.ArgumentParser()
parser.add_argument("--epochs", type=int, default=1000)
epochs = parser.parse_args().epochs
torch.manual_seed(0)

x = torch.tensor([[0, 0], [1, 0], [1, 1], [0, 0], [0, 0], [0, 1]], dtype=torch.float32)
y = torch.tensor([0, 1, 2, 0, 0, 2])


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.hidden = nn.Linear(2, 5)
        self.out = nn.Linear(5, 3)

    def forward(self, x):
        return self.out(torch.relu(self.hidden(x)))


model = Net()
criterion = nn.CrossEntropyLoss()
optimizer = torch.optim.SGD(model.parameters(), lr=0.01)

for epoch in range(epochs):
    model.train()
    loss = criterion(model(x), y)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    if (epoch + 1) % 200 == 0:
        print(f"epoch {epoch + 1}: loss {loss.item():.4f}")
    model.eval()
    with torch.no_grad():
        logits = model(x)
        val_loss = criterion(logits, y).item()
        accuracy = (logits.argmax(dim=1) == y).float().mean().item()

print(f"final: loss {loss.item():.4f} val_loss {val_loss:.4f} accuracy {accuracy:.4f}")
