"""Errors the CLI turns into a clear message and a documented exit code."""

from __future__ import annotations

import difflib
import reprlib
from typing import Iterable

__all__ = [
    "EXIT_OK", "EXIT_RUN_FAILED", "EXIT_USAGE", "EXIT_INTERRUPTED", "LearnaiError", "ConfigError", "UsageError",
    "DataError", "RunFailed", "Interrupted", "closest", "did_you_mean", "short_repr", "clip",
]  # fmt: skip

# Exit codes shared by every command (README: "Exit codes").
EXIT_OK = 0
EXIT_RUN_FAILED = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130


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


class RunFailed(LearnaiError):
    """Training started but could not finish: diverged, error inside the loop (exit 1)."""

    exit_code = EXIT_RUN_FAILED


class Interrupted(LearnaiError):
    """Ctrl-C or SIGTERM stopped the run (exit 130)."""

    exit_code = EXIT_INTERRUPTED


def closest(word: str, choices: Iterable[str]) -> str | None:
    """The valid name a typo most likely meant, or None."""
    matches = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return matches[0] if matches else None


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """' Did you mean 'x'?' or '' — appended to messages about unknown names."""
    match = closest(word, choices)
    return f" Did you mean '{match}'?" if match else ""


_REPR = reprlib.Repr()
_REPR.maxstring = _REPR.maxother = 60


def short_repr(value) -> str:
    """A bounded repr for messages: huge or deeply shared values must not blow up an error message."""
    return _REPR.repr(value)


def clip(text: str, limit: int = 80) -> str:
    """Text for a message, cut to about `limit` characters, keeping both ends (a path keeps its file name), with a
    note of how long it was."""
    text = str(text)
    if len(text) <= limit:
        return text
    head = (limit - 20) * 2 // 3
    return f"{text[:head]}...{text[head - limit + 20 :]} ({len(text):,} characters)"
