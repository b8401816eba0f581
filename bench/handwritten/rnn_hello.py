"""RNN basics by hand: learn "hello" -> "ohlol" character by character, one-hot inputs, nn.RNN(4, 8) and a linear head.

The loop configs/rnn_hello.yaml stands for: CrossEntropyLoss over the 5 steps, Adam lr 0.1, 100 epochs of the one pair,
the same pair scored every epoch.
    python bench/handwritten/rnn_hello.py [--epochs N]
"""

import argparse

import torch
from torch import nn

parser = argparse.ArgumentParser()
parser.add_argument("--epochs", type=int, default=100)
epochs = parser.parse_args().epochs
torch.manual_seed(0)

chars = ["e", "h", "l", "o"]
x_data = [chars.index(c) for c in "hello"]
y_data = [chars.index(c) for c in "ohlol"]
inputs = nn.functional.one_hot(torch.tensor([x_data]), len(chars)).float()  # (batch 1, seq 5, 4)
labels = torch.tensor([y_data])  # (1, 5)


class CharRNN(nn.Module):
    def __init__(self, vocab_size, hidden_size):
        super().__init__()
        self.rnn = nn.RNN(vocab_size, hidden_size, batch_first=True)
        self.fc = nn.Linear(hidden_size, vocab_size)

    def forward(self, x):
        out, _ = self.rnn(x)
        return self.fc(out)  # (batch, seq, classes)


model = CharRNN(len(chars), 8)
criterion = nn.CrossEntropyLoss()
optimizer = torch.optim.Adam(model.parameters(), lr=0.1)

for epoch in range(epochs):
    model.train()
    outputs = model(inputs)
    loss = criterion(outputs.view(-1, len(chars)), labels.view(-1))
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    if (epoch + 1) % 10 == 0:
        print(f"epoch {epoch + 1}: loss {loss.item():.4f}")
    model.eval()
    with torch.no_grad():
        predicted = model(inputs).argmax(dim=2)
        accuracy = (predicted == labels).float().mean().item()

print(
    f"final: loss {loss.item():.4f} accuracy {accuracy:.2f} predicted "
    f"{''.join(chars[i] for i in predicted[0].tolist())}"
)
