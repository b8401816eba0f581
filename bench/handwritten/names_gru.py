"""Surname -> language by hand: characters as indices, an embedding, a bidirectional GRU over packed sequences, a
linear head.

The loop configs/names_gru.yaml stands for: the 18 language files shipped with learnai, 80/10/10 split, each batch
padded to its longest name, CrossEntropyLoss, Adam lr 0.003, 8 epochs of batch 256, on the GPU when there is one
(as the curriculum's loop does: model and each batch moved to it).
    python bench/handwritten/names_gru.py [--epochs N]
"""

import argparse
import string
import unicodedata
from pathlib import Path

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_sequence
from torch.utils.data import DataLoader, Dataset, random_split

parser = argparse.ArgumentParser()
parser.add_argument("--epochs", type=int, default=8)
epochs = parser.parse_args().epochs
torch.manual_seed(0)
device = torch.device("cuda" if torch.cuda.is_available() else "cpu")

NAMES = Path(__file__).resolve().parents[2] / "learnai_cli" / "data" / "builtin" / "names"
LETTERS = string.ascii_letters + " .,;'-"  # index 0 is padding


def to_indices(name):
    ascii_name = "".join(c for c in unicodedata.normalize("NFD", name) if unicodedata.category(c) != "Mn")
    return [LETTERS.index(c) + 1 for c in ascii_name if c in LETTERS]


class NameDataset(Dataset):
    def __init__(self, folder):
        self.languages = [path.stem for path in sorted(folder.glob("*.txt"))]
        self.names, self.labels = [], []
        for label, language in enumerate(self.languages):
            for line in (folder / f"{language}.txt").read_text(encoding="utf-8").splitlines():
                indices = to_indices(line.strip())
                if indices:
                    self.names.append(torch.tensor(indices))
                    self.labels.append(label)

    def __len__(self):
        return len(self.labels)

    def __getitem__(self, index):
        return self.names[index], self.labels[index]


def pad_batch(batch):
    names, labels = zip(*batch)
    lengths = torch.tensor([len(n) for n in names])
    return pad_sequence(list(names), batch_first=True), lengths, torch.tensor(labels)


dataset = NameDataset(NAMES)
n_test = n_val = round(0.1 * len(dataset))
train_set, val_set, test_set = random_split(dataset, [len(dataset) - n_val - n_test, n_val, n_test])
train_loader = DataLoader(train_set, batch_size=256, shuffle=True, collate_fn=pad_batch)
val_loader = DataLoader(val_set, batch_size=256, collate_fn=pad_batch)


class NameGRU(nn.Module):
    def __init__(self, vocab_size, num_classes, embedding_dim=32, hidden=128):
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, embedding_dim, padding_idx=0)
        self.gru = nn.GRU(embedding_dim, hidden, batch_first=True, bidirectional=True)
        self.fc = nn.Linear(2 * hidden, num_classes)

    def forward(self, x, lengths):
        packed = pack_padded_sequence(self.embedding(x), lengths, batch_first=True, enforce_sorted=False)
        _, hidden = self.gru(packed)  # (2 directions, batch, hidden)
        return self.fc(torch.cat([hidden[0], hidden[1]], dim=1))


model = NameGRU(len(LETTERS) + 1, len(dataset.languages)).to(device)
criterion = nn.CrossEntropyLoss()
optimizer = torch.optim.Adam(model.parameters(), lr=0.003)

for epoch in range(epochs):
    model.train()
    total = 0.0
    for names, lengths, labels in train_loader:
        names, labels = names.to(device), labels.to(device)  # lengths stay on the CPU, as packing wants
        loss = criterion(model(names, lengths), labels)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        total += loss.item() * len(labels)
    model.eval()
    val_total, correct = 0.0, 0
    with torch.no_grad():
        for names, lengths, labels in val_loader:
            names, labels = names.to(device), labels.to(device)
            logits = model(names, lengths)
            val_total += criterion(logits, labels).item() * len(labels)
            correct += (logits.argmax(dim=1) == labels).sum().item()
    print(
        f"epoch {epoch + 1}: train_loss {total / len(train_set):.4f} val_loss {val_total / len(val_set):.4f} "
        f"val_accuracy {correct / len(val_set):.4f}"
    )
