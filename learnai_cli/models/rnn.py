"""Recurrent networks: a character RNN (cell looped by hand or nn.RNN/LSTM/GRU) and name classifiers."""

from __future__ import annotations

from typing import Literal

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence

from learnai_cli.registry import MODELS, PositiveCount

Cell = Literal["rnn_cell", "rnn", "lstm", "gru"]
RECURRENT = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}
NAME_VOCABULARY_SIZE = 59  # learnai_cli.data.sequences: 58 characters + padding


class CharRNN(nn.Module):
    """Per-character classifier over a sequence; outputs (batch, classes, time) for CrossEntropyLoss."""

    def __init__(self, vocab_size: int, hidden: int, cell: Cell, input_mode: str, embedding_dim: int, num_layers: int):
        super().__init__()
        self.vocab_size, self.cell_type, self.input_mode = vocab_size, cell, input_mode
        self.embedding = nn.Embedding(vocab_size, embedding_dim) if input_mode == "embedding" else None
        width = embedding_dim if self.embedding is not None else vocab_size
        if cell == "rnn_cell":
            self.cell = nn.RNNCell(width, hidden)  # looped over time by hand in forward
        else:
            self.rnn = RECURRENT[cell](width, hidden, num_layers=num_layers, batch_first=True)
        self.head = nn.Linear(hidden, vocab_size)

    def forward(self, x):
        inputs = self.embedding(x) if self.embedding is not None else nn.functional.one_hot(x, self.vocab_size).float()
        if self.cell_type == "rnn_cell":
            state = inputs.new_zeros(inputs.shape[0], self.cell.hidden_size)
            steps = []
            for t in range(inputs.shape[1]):
                state = self.cell(inputs[:, t], state)
                steps.append(state)
            outputs = torch.stack(steps, dim=1)
        else:
            outputs, _ = self.rnn(inputs)
        return self.head(outputs).transpose(1, 2)

    def exportable(self) -> nn.Module:
        """This model with the time loop as a scan, so an export keeps the sequence length dynamic."""
        from learnai_cli.models.rnn_export import ExportableCharRNN

        return ExportableCharRNN(self)


@MODELS.register("char_rnn")
def char_rnn(
    vocab_size: PositiveCount = 4,
    hidden: PositiveCount = 8,
    cell: Cell = "rnn",
    input_mode: Literal["one_hot", "embedding"] = "one_hot",
    embedding_dim: PositiveCount = 8,
    num_layers: PositiveCount = 1,
) -> nn.Module:
    """Character-level RNN: one-hot or embedded characters, RNNCell looped by hand or nn.RNN/LSTM/GRU, per-step
    classes."""
    return CharRNN(vocab_size, hidden, cell, input_mode, embedding_dim, num_layers)


class NameClassifier(nn.Module):
    """Embedding + GRU/LSTM over packed variable-length names (0 = padding) + a linear head on the final state."""

    def __init__(
        self,
        vocab_size: int,
        num_classes: int,
        embedding_dim: int,
        hidden: int,
        cell: str,
        bidirectional: bool,
        num_layers: int,
    ):
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, embedding_dim, padding_idx=0)
        self.rnn = RECURRENT[cell](
            embedding_dim, hidden, num_layers=num_layers, batch_first=True, bidirectional=bidirectional
        )
        self.directions = 2 if bidirectional else 1
        self.head = nn.Linear(hidden * self.directions, num_classes)

    def forward(self, x):
        lengths = (x != 0).sum(dim=1).clamp(min=1)
        x = x[:, : int(lengths.max())]  # padded to the global longest: trim to this batch's longest
        packed = pack_padded_sequence(self.embedding(x), lengths.cpu(), batch_first=True, enforce_sorted=False)
        _, state = self.rnn(packed)
        final = state[0] if isinstance(state, tuple) else state  # LSTM returns (h, c)
        last_layer = final[-self.directions :]  # forward (and backward) final states of the top layer
        return self.head(torch.cat(list(last_layer), dim=1))

    def exportable(self) -> nn.Module:
        """This model without packing, its time loop a scan, so an export keeps the name length dynamic."""
        from learnai_cli.models.rnn_export import ExportableNameClassifier

        return ExportableNameClassifier(self)


@MODELS.register("name_gru")
def name_gru(
    vocab_size: PositiveCount = NAME_VOCABULARY_SIZE,
    num_classes: PositiveCount = 18,
    embedding_dim: PositiveCount = 32,
    hidden: PositiveCount = 128,
    bidirectional: bool = False,
    num_layers: PositiveCount = 1,
) -> nn.Module:
    """Surname -> language: embedding, GRU over packed sequences (bidirectional: both final states concatenated),
    linear head."""
    return NameClassifier(vocab_size, num_classes, embedding_dim, hidden, "gru", bidirectional, num_layers)


@MODELS.register("name_bilstm")
def name_bilstm(
    vocab_size: PositiveCount = NAME_VOCABULARY_SIZE,
    num_classes: PositiveCount = 18,
    embedding_dim: PositiveCount = 32,
    hidden: PositiveCount = 64,
    num_layers: PositiveCount = 1,
) -> nn.Module:
    """A bidirectional LSTM over packed sequences with both final states concatenated (for per-batch padded data)."""
    return NameClassifier(vocab_size, num_classes, embedding_dim, hidden, "lstm", True, num_layers)
