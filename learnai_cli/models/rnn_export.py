"""The recurrent models rewritten for export: the same weights and outputs, with the time loop as a scan.

torch.export (and the ONNX exporter built on it) unrolls nn.RNN/GRU/LSTM and packed sequences to the example's
length, so an exported model would fail on any other length. Here each layer and direction is a `scan` over time,
which keeps the length a dynamic dimension; padded positions are masked by gathering instead of packing. Under
TorchScript tracing the fused aten op is used instead, which the tracer records once for any length.
"""

from __future__ import annotations

import torch
from torch import nn
from torch._higher_order_ops import scan

CELLS = {
    "GRU": torch.gru_cell,
    "LSTM": torch.lstm_cell,
    "RNN_TANH": torch.rnn_tanh_cell,
    "RNN_RELU": torch.rnn_relu_cell,
}
FUSED = {"GRU": torch.gru, "LSTM": torch.lstm, "RNN_TANH": torch.rnn_tanh, "RNN_RELU": torch.rnn_relu}


class ScanDirection(nn.Module):
    """One direction of one recurrent layer over batch-first inputs: (batch, time, features) -> (batch, time,
    hidden)."""

    def __init__(self, mode: str, weight_ih, weight_hh, bias_ih, bias_hh):
        super().__init__()
        self.mode, self.hidden_size = mode, weight_hh.shape[1]
        self.weight_ih, self.weight_hh = nn.Parameter(weight_ih.detach()), nn.Parameter(weight_hh.detach())
        self.bias_ih = None if bias_ih is None else nn.Parameter(bias_ih.detach())
        self.bias_hh = None if bias_hh is None else nn.Parameter(bias_hh.detach())

    def forward(self, inputs):
        if torch.jit.is_tracing():
            return self._fused(inputs)
        weights, size = (self.weight_ih, self.weight_hh, self.bias_ih, self.bias_hh), self.hidden_size
        cell = CELLS[self.mode]
        lstm = self.mode == "LSTM"

        def step(carry, x_t):
            if lstm:  # (h, c) travel as one tensor: torch.export miscomputes a scan whose carry is a tuple
                hidden, memory = cell(x_t, (carry[:, :size], carry[:, size:]), *weights)
                return torch.cat([hidden, memory], dim=1), hidden.clone()
            hidden = cell(x_t, carry, *weights)
            return hidden, hidden.clone()  # the scan's output may not alias its carry

        state = inputs.new_zeros(inputs.shape[0], 2 * size if lstm else size)
        return scan(step, state, inputs, dim=1)[1]

    def _fused(self, inputs):
        zeros = inputs.new_zeros(1, inputs.shape[0], self.hidden_size)
        state = (zeros, zeros) if self.mode == "LSTM" else zeros
        params = [p for p in (self.weight_ih, self.weight_hh, self.bias_ih, self.bias_hh) if p is not None]
        return FUSED[self.mode](inputs, state, params, self.bias_ih is not None, 1, 0.0, False, False, True)[0]


def directions_of(rnn: nn.RNNBase) -> list[list[ScanDirection]]:
    """An nn.RNN/GRU/LSTM's layers, each a list of its directions (forward, then reverse)."""
    layers = []
    for layer in range(rnn.num_layers):
        directions = []
        for suffix in ("", "_reverse")[: 2 if rnn.bidirectional else 1]:
            names = [f"{kind}_l{layer}{suffix}" for kind in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")]
            directions.append(ScanDirection(rnn.mode, *(getattr(rnn, name, None) for name in names)))
        layers.append(directions)
    return layers


def directions_of_cell(cell: nn.RNNCell) -> list[list[ScanDirection]]:
    """An RNNCell looped over time by hand is a one-layer, one-direction RNN."""
    mode = "RNN_TANH" if cell.nonlinearity == "tanh" else "RNN_RELU"
    return [[ScanDirection(mode, cell.weight_ih, cell.weight_hh, cell.bias_ih, cell.bias_hh)]]


class ScanRecurrent(nn.Module):
    """Stacked (bi)directional layers over right-padded sequences of known lengths; returns every step's output and
    the top layer's final state of each direction, as a packed sequence would give them."""

    def __init__(self, layers: list[list[ScanDirection]]):
        super().__init__()
        self.layers = nn.ModuleList(nn.ModuleList(directions) for directions in layers)

    def forward(self, inputs, lengths):
        steps = torch.arange(inputs.shape[1], device=inputs.device).unsqueeze(0)
        lengths = lengths.unsqueeze(1)
        # Reverses each sequence within its own length (padding stays put): the reverse direction's view of it.
        reverse = torch.where(steps < lengths, lengths - 1 - steps, steps)
        finals: list[torch.Tensor] = []
        for directions in self.layers:
            outputs, finals = [], []
            for index, direction in enumerate(directions):
                output = direction(inputs if index == 0 else _steps(inputs, reverse))
                finals.append(_steps(output, lengths - 1).squeeze(1))
                outputs.append(output if index == 0 else _steps(output, reverse))
            inputs = torch.cat(outputs, dim=2)
        return inputs, finals


def _steps(sequence, index):
    """sequence[b, index[b, k]] for every b and k: (batch, k, features)."""
    return torch.gather(sequence, 1, index.unsqueeze(2).expand(-1, -1, sequence.shape[2]))


class ExportableNameClassifier(nn.Module):
    """models.rnn.NameClassifier without packing: the final state is gathered at each name's last character."""

    def __init__(self, model):
        super().__init__()
        self.embedding, self.head = model.embedding, model.head
        self.recurrent = ScanRecurrent(directions_of(model.rnn))

    def forward(self, x):
        lengths = (x != 0).sum(dim=1).clamp(min=1)
        _, finals = self.recurrent(self.embedding(x), lengths)
        return self.head(torch.cat(finals, dim=1))


class ExportableCharRNN(nn.Module):
    """models.rnn.CharRNN with its RNNCell loop or nn.RNN/LSTM/GRU as scans: (batch, classes, time) per step."""

    def __init__(self, model):
        super().__init__()
        self.embedding, self.head, self.vocab_size = model.embedding, model.head, model.vocab_size
        layers = directions_of_cell(model.cell) if model.cell_type == "rnn_cell" else directions_of(model.rnn)
        self.recurrent = ScanRecurrent(layers)

    def forward(self, x):
        inputs = self.embedding(x) if self.embedding is not None else nn.functional.one_hot(x, self.vocab_size).float()
        lengths = torch.full_like(x[:, 0], x.shape[1])
        outputs, _ = self.recurrent(inputs, lengths)
        return self.head(outputs).transpose(1, 2)
