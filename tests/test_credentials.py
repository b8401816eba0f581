"""Passwords in URLs never reach a message, a run's files or a command line: errors.hide_credentials."""

from __future__ import annotations

import pytest

from learnai_cli.errors import hide_credentials


@pytest.mark.parametrize(
    "text, shown",
    [
        ("http://user:secret@host:5000/x failed", "http://***@host:5000/x failed"),
        ("postgresql+psycopg2://ann:p%40ss@db.example/study", "postgresql+psycopg2://***@db.example/study"),
        ("https://token@mlflow.example", "https://***@mlflow.example"),
        ("two: http://a:b@one and mysql://c:d@two", "two: http://***@one and mysql://***@two"),
        ("'postgresql://u:pw@h/db'", "'postgresql://***@h/db'"),
    ],
)
def test_the_user_and_password_of_every_url_are_hidden(text, shown):
    assert hide_credentials(text) == shown
    assert "secret" not in hide_credentials(text) and ":pw@" not in hide_credentials(text)


@pytest.mark.parametrize(
    "text", ["sqlite:///runs/study.db", "journal:runs/x.log", "see https://example.com/a@b", "user@example.com"]
)
def test_text_without_credentials_is_unchanged(text):
    assert hide_credentials(text) == text
