"""Errors the CLI turns into a clear message and a documented exit code."""

from __future__ import annotations

import difflib
import os
import re
import reprlib
from typing import Iterable

__all__ = [
    "EXIT_OK",
    "EXIT_RUN_FAILED",
    "EXIT_USAGE",
    "EXIT_INTERRUPTED",
    "EXIT_BROKEN_PIPE",
    "LearnaiError",
    "ConfigError",
    "DataNotHere",
    "UsageError",
    "DataError",
    "RunFailed",
    "ExportFailed",
    "Interrupted",
    "closest",
    "did_you_mean",
    "short_repr",
    "clip",
    "first_line",
    "counted",
    "kind_name",
    "hide_credentials",
]

# Exit codes shared by every command (README: "Exit codes").
EXIT_OK = 0
EXIT_RUN_FAILED = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130
EXIT_BROKEN_PIPE = 141  # the reader of stdout went away (`learnai runs | head`), as a shell reports SIGPIPE


class LearnaiError(Exception):
    """An error with a user-facing message and an exit code; never shown as a traceback."""

    exit_code = EXIT_USAGE

    def __init__(self, message: str, problems: Iterable[str] = ()):
        super().__init__(message)
        self.message = message
        self.problems = list(problems)

    def render(self) -> str:
        lines = [self.message] + [f"  - {p}" for p in self.problems]
        return "\n".join(lines)


class ConfigError(LearnaiError):
    """The config file, an override or a builder section is invalid (exit 2)."""


class UsageError(LearnaiError):
    """A command was called with something that cannot work: unknown run id, bad path (exit 2)."""


class DataError(LearnaiError):
    """A dataset cannot be found or read (exit 2: the user must fix their setup)."""


class DataNotHere(DataError):
    """The data a config names is not on this machine (yet): not downloaded, or nothing at its path. `learnai config`
    checks the rest of such a config; every other DataError is a config that cannot train."""


class RunFailed(LearnaiError):
    """Training started but could not finish: diverged, error inside the loop (exit 1)."""

    exit_code = EXIT_RUN_FAILED


class ExportFailed(LearnaiError):
    """An exported file did not load back or did not match the trained model, so it was not written (exit 1)."""

    exit_code = EXIT_RUN_FAILED

    def __init__(self, message: str, details: dict | None = None):
        super().__init__(message)
        self.details = details or {}  # the input that failed, for --json


class Interrupted(LearnaiError):
    """Ctrl-C or SIGTERM stopped the run (exit 130)."""

    exit_code = EXIT_INTERRUPTED


def closest(word: str, choices: Iterable[str]) -> str | None:
    """The valid name a typo most likely meant, or None: among difflib's close matches, one keyboard slip away
    (a letter added, dropped, changed, or two neighbours swapped) first, then the most similar, then the longest
    shared prefix. difflib alone ties val_mea between val_mae and val_mse and picks by alphabet."""
    choices = list(dict.fromkeys(choices))
    matches = difflib.get_close_matches(word, choices, n=max(1, len(choices)), cutoff=0.6)
    if not matches:
        return None

    def likeness(match: str) -> tuple:
        ratio = difflib.SequenceMatcher(None, word, match).ratio()
        return (_one_slip(word, match), ratio, len(os.path.commonprefix([word, match])))

    return max(matches, key=likeness)


def _one_slip(word: str, other: str) -> bool:
    """At most one edit apart, counting a swap of two neighbouring letters as one edit."""
    if abs(len(word) - len(other)) > 1:
        return False
    start = len(os.path.commonprefix([word, other]))
    end = len(os.path.commonprefix([word[start:][::-1], other[start:][::-1]]))
    left, right = word[start : len(word) - end], other[start : len(other) - end]
    return len(left) <= 1 and len(right) <= 1 or (len(left) == len(right) == 2 and left == right[::-1])


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """' Did you mean 'x'?' or '' — appended to messages about unknown names."""
    match = closest(word, choices)
    return f" Did you mean '{match}'?" if match else ""


_REPR = reprlib.Repr()
_REPR.maxstring = _REPR.maxother = 60


def short_repr(value) -> str:
    """A bounded repr for messages: huge or deeply shared values must not blow up an error message."""
    return _REPR.repr(value)


def counted(count: int, noun: str) -> str:
    """'1 sample', '2 samples', '3 classes'."""
    plural = noun + ("es" if noun.endswith(("s", "sh", "ch", "x")) else "s")
    return f"{count:,} {noun if count == 1 else plural}"


KIND_NAMES = {
    bool: "true/false",
    int: "a whole number",
    float: "a number",
    str: "text",
    list: "a list",
    dict: "a mapping",
}


def kind_name(kind: type) -> str:
    """A type as messages name it ('a whole number', not Python's 'int')."""
    return KIND_NAMES.get(kind, f"a {kind.__name__}")


def clip(text: str, limit: int = 80) -> str:
    """Text for a message, cut to about `limit` characters, keeping both ends (a path keeps its file name), with a
    note of how long it was."""
    text = str(text)
    if len(text) <= limit:
        return text
    head = (limit - 20) * 2 // 3
    return f"{text[:head]}...{text[head - limit + 20 :]} ({len(text):,} characters)"


def first_line(error: BaseException, limit: int = 300) -> str:
    """A library's error as one line: a database error's SQL statement or a report's pages stay out."""
    text = str(error).strip()
    return clip((text.splitlines() or [type(error).__name__])[0], limit) if text else type(error).__name__


# scheme://user:password@host, or scheme://token@host: the part before @ is a secret in every URL a user gives
_CREDENTIALS = re.compile(r"(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*://)(?P<secret>[^/\s@'\"]+)@")


def hide_credentials(text: str) -> str:
    """`text` with the user and password of every URL in it replaced by ***: for anything printed, recorded in a
    run's files or passed on a command line (`postgresql://ann:pw@db/x` -> `postgresql://***@db/x`)."""
    return _CREDENTIALS.sub(lambda match: f"{match['scheme']}***@", text)
