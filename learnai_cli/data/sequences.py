"""Character sequences: "hello" -> "ohlol" for RNN basics, and surnames by language (shipped with learnai)."""

from __future__ import annotations

import functools
import string
import unicodedata
from importlib import resources
from pathlib import Path
from typing import Optional

import torch
from torch.nn.utils.rnn import pad_sequence
from torch.utils.data import Dataset

from learnai_cli.data.splits import DatasetSplits, TensorSplit
from learnai_cli.errors import DataError, DataNotHere, UsageError
from learnai_cli.log import logger
from learnai_cli.registry import DATASETS

# Surnames are folded to ASCII; index 0 is padding, so the vocabulary has len(NAME_CHARACTERS) + 1 entries.
NAME_CHARACTERS = string.ascii_letters + " .,;'-"
NAME_VOCABULARY_SIZE = len(NAME_CHARACTERS) + 1


@DATASETS.register("hello", task="classification")
def hello(source: str = "hello", target: str = "ohlol") -> DatasetSplits:
    """One character sequence mapped to another of the same length ("hello" -> "ohlol"); val and test are the same
    pair."""
    if len(source) != len(target) or not source:
        raise DataError(f"data.source and data.target must be non-empty and equally long (got '{source}', '{target}')")
    vocabulary = sorted(set(source + target))
    index = {char: i for i, char in enumerate(vocabulary)}
    pair = TensorSplit(torch.tensor([[index[c] for c in source]]), torch.tensor([[index[c] for c in target]]))
    return DatasetSplits(
        train=pair,
        val=pair,
        test=pair,
        class_names=vocabulary,
        info={"vocabulary": vocabulary, "source": source, "target": target},
        encode_input=functools.partial(encode_characters, vocabulary=vocabulary, example=source),
    )


def encode_characters(text: str, vocabulary: list[str], example: str) -> torch.Tensor:
    """For `learnai predict`: a string over the training text's characters as a batch of one sequence of indices."""
    unknown = sorted(set(text) - set(vocabulary))
    if not text or unknown:
        problem = f"has characters it never saw: {', '.join(map(repr, unknown))}" if unknown else "is empty"
        raise UsageError(
            f"the input {problem}; this model reads text made of the characters {''.join(vocabulary)!r} "
            f"(e.g. '{example}', what it was trained on)"
        )
    return torch.tensor([[vocabulary.index(c) for c in text]])


def normalise_name(name: str) -> str:
    """A surname as the names datasets read it, for training and for `predict` alike (the one place this is done):
    accents folded to ASCII (é -> e), characters the vocabulary lacks dropped (a whitespace character becomes a
    space), spaces at either end removed and runs of spaces made one (the shipped files have trailing spaces)."""
    kept = "".join(c if c in NAME_CHARACTERS else " " if c.isspace() else "" for c in _folded(name))
    return " ".join(kept.split())


def encode_name(name: str) -> list[int]:
    """A surname as character indices (1-based), after normalise_name."""
    return [NAME_CHARACTERS.index(c) + 1 for c in normalise_name(name)]


def _folded(name: str) -> str:
    """Accents folded away (é -> e), as the training names were read."""
    return "".join(c for c in unicodedata.normalize("NFD", name) if unicodedata.category(c) != "Mn")


def encode_name_input(text: str) -> torch.Tensor:
    """For `learnai predict`: a surname as a batch of one sequence of character indices, prepared as the training
    names were (normalise_name)."""
    encoded = encode_name(text)
    if not any(c in string.ascii_letters for c in _folded(text)):  # spaces and punctuation alone are no name
        raise UsageError(
            f"'{text}' has no letters this model knows: a surname is written in ASCII letters (accents "
            "are folded away), with space and .,;'- allowed between them, e.g. 'Nakamura'"
        )
    dropped = sorted(c for c in set(_folded(text)) - set(NAME_CHARACTERS) if not c.isspace())
    if dropped:  # not silently: say what the model was given instead
        read = "".join(NAME_CHARACTERS[index - 1] for index in encoded)
        logger.warning(f"predicting for {read!r}: the model has no letter for {', '.join(map(repr, dropped))}")
    return torch.tensor([encoded])


def decode_name_input(encoded: torch.Tensor) -> str:
    """For `learnai eval`: a surname's character indices back as text (padding, index 0, left out)."""
    return "".join(
        NAME_CHARACTERS[index - 1] for index in encoded.reshape(-1).tolist() if 0 < index <= len(NAME_CHARACTERS)
    )


def read_names(folder: Optional[str]) -> tuple[list[list[int]], list[int], list[str]]:
    """Encoded names, their language index, and the language names, from <Language>.txt files (one name a line)."""
    root = Path(folder) if folder else resources.files("learnai_cli.data.builtin") / "names"
    files = sorted(Path(str(root)).glob("*.txt"))
    if not files:
        problem = DataError if Path(str(root)).exists() else DataNotHere
        raise problem(f"no <Language>.txt files in {root}: one file per language, one name per line")
    sequences, labels = [], []
    for label, path in enumerate(files):
        for line in path.read_text(encoding="utf-8").splitlines():
            encoded = encode_name(line)
            if encoded:
                sequences.append(encoded)
                labels.append(label)
    return sequences, labels, [path.stem for path in files]


@DATASETS.register("names", task="classification", paths=("folder",))
def names(folder: Optional[str] = None) -> DatasetSplits:
    """20,074 surnames in 18 languages (shipped with learnai), padded with 0 into one tensor; split stratified."""
    sequences, labels, languages = read_names(folder)
    padded = pad_sequence([torch.tensor(s) for s in sequences], batch_first=True)
    split = TensorSplit(padded, torch.tensor(labels))
    return DatasetSplits(
        train=split, class_names=languages, encode_input=encode_name_input, decode_input=decode_name_input
    )


class VariableLengthNames(Dataset):
    """Each item is a name of its own length; the collate function pads a batch to its own longest name."""

    def __init__(self, sequences: list[list[int]], labels: list[int]):
        self.sequences = [torch.tensor(s) for s in sequences]
        self.targets = labels

    def __len__(self) -> int:
        return len(self.sequences)

    def __getitem__(self, index: int):
        return self.sequences[index], self.targets[index]


def pad_batch(samples: list[tuple[torch.Tensor, int]]) -> tuple[torch.Tensor, torch.Tensor]:
    """collate_fn: pad to the longest sequence in this batch (not the longest overall), 0 = padding."""
    sequences, labels = zip(*samples)
    return pad_sequence(list(sequences), batch_first=True), torch.tensor(labels)


@DATASETS.register("names_variable_length", task="classification", paths=("folder",))
def names_variable_length(folder: Optional[str] = None) -> DatasetSplits:
    """The surnames as variable-length sequences, batched by a collate_fn that pads each batch to its own longest
    name."""
    sequences, labels, languages = read_names(folder)
    return DatasetSplits(
        train=VariableLengthNames(sequences, labels),
        class_names=languages,
        collate_fn=pad_batch,
        encode_input=encode_name_input,
        decode_input=decode_name_input,
    )
