"""Diabetes by hand: 8 normalised features -> 0/1, a Dataset and a DataLoader as in the curriculum.

The loop configs/diabetes.yaml stands for: the CSV shipped with learnai, 70/15/15 split, an MLP 8 -> 6 -> 4 -> 1 with
sigmoid activations, BCELoss, SGD lr 0.5 momentum 0.9, 100 epochs of batch 32.
    python bench/handwritten/diabetes.py [--epochs N]
"""

import argparse
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset, random_split

parser = argparse.ArgumentParser()
parser.add_argument("--epochs", type=int, default=100)
epochs = parser.parse_args().epochs
torch.manual_seed(0)

CSV = Path(__file__).resolve().parents[2] / "learnai_cli" / "data" / "builtin" / "diabetes.csv.gz"


class DiabetesDataset(Dataset):
    def __init__(self, path):
        table = np.loadtxt(path, delimiter=",", dtype=np.float32)
        self.x = torch.from_numpy(table[:, :-1])
        self.y = torch.from_numpy(table[:, -1:])

    def __len__(self):
        return len(self.y)

    def __getitem__(self, index):
        return self.x[index], self.y[index]


dataset = DiabetesDataset(CSV)
n_test = n_val = round(0.15 * len(dataset))
train_set, val_set, test_set = random_split(dataset, [len(dataset) - n_val - n_test, n_val, n_test])
train_loader = DataLoader(train_set, batch_size=32, shuffle=True)
val_loader = DataLoader(val_set, batch_size=32)


class Model(nn.Module):
    def __init__(self):
        super().__init__()
        self.l1 = nn.Linear(8, 6)
        self.l2 = nn.Linear(6, 4)
        self.l3 = nn.Linear(4, 1)

    def forward(self, x):
        x = torch.sigmoid(self.l1(x))
        x = torch.sigmoid(self.l2(x))
        return torch.sigmoid(self.l3(x))


model = Model()
criterion = nn.BCELoss()
optimizer = torch.optim.SGD(model.parameters(), lr=0.5, momentum=0.9)

for epoch in range(epochs):
    model.train()
    total = 0.0
    for inputs, labels in train_loader:
        loss = criterion(model(inputs), labels)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        total += loss.item() * len(labels)
    model.eval()
    val_total, correct = 0.0, 0
    with torch.no_grad():
        for inputs, labels in val_loader:
            probs = model(inputs)
            val_total += criterion(probs, labels).item() * len(labels)
            correct += ((probs > 0.5).float() == labels).sum().item()
    train_loss = total / len(train_set)

print(
    f"epoch {epochs}: train_loss {train_loss:.4f} val_loss {val_total / len(val_set):.4f} val_accuracy "
    f"{correct / len(val_set):.4f}"
)
