"""Fingerprints of the data files a run trained on, so eval, predict, export and resume notice changed data.

The files are the dataset builder's path arguments (Entry.path_arguments); a config's paths are absolute by
then (config.validate). A file is recorded by size and modification time, plus a SHA-256 when it is smaller
than HASH_LIMIT; a folder by the number, total size and newest modification time of the files in it. A change
is a warning, never an error: the data may have been fixed on purpose.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

from learnai_cli.atomic import read_json, write_json
from learnai_cli.log import logger
from learnai_cli.registry import DATASETS

HASH_LIMIT = 64 * 1024 * 1024  # files below this size are hashed too (about 0.1 s)
MAX_FOLDER_FILES = 100_000  # a folder with more files is summarised by its first ones only


def data_paths(dataset: str, kwargs: dict[str, Any]) -> dict[str, str]:
    """{argument: path} for the builder's path arguments that are set."""
    if dataset not in DATASETS:
        return {}
    declared = DATASETS.get(dataset).path_arguments
    return {arg: kwargs[arg] for arg in declared if isinstance(kwargs.get(arg), str) and kwargs[arg]}


def fingerprint(path: str) -> dict[str, Any] | None:
    """What identifies the file or folder at `path` now; None when there is nothing there."""
    target = Path(path)
    try:
        if target.is_file():
            stat = target.stat()
            found: dict[str, Any] = {"kind": "file", "size": stat.st_size, "mtime_ns": stat.st_mtime_ns}
            if stat.st_size < HASH_LIMIT:
                found["sha256"] = _sha256(target)
            return found
        if target.is_dir():
            return {"kind": "folder", **_folder_summary(target)}
    except OSError:
        return None
    return None


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _folder_summary(folder: Path) -> dict[str, int]:
    files = size = newest = 0
    for directory, _, names in os.walk(folder):
        for name in names:
            try:
                stat = os.stat(os.path.join(directory, name))
            except OSError:
                continue
            files, size, newest = files + 1, size + stat.st_size, max(newest, stat.st_mtime_ns)
            if files >= MAX_FOLDER_FILES:
                return {"files": files, "size": size, "mtime_ns": newest}
    return {"files": files, "size": size, "mtime_ns": newest}


def record(destination: Path, dataset: str, kwargs: dict[str, Any]) -> None:
    """Write the fingerprints of the dataset's files to `destination` (a run's data fingerprint file)."""
    paths = data_paths(dataset, kwargs)
    write_json(destination, {arg: {"path": path, **(fingerprint(path) or {})} for arg, path in paths.items()})


def warn_if_changed(recorded_at: Path, dataset: str, kwargs: dict[str, Any]) -> list[str]:
    """Log (and return) a warning for each data file that differs from the one the run trained on."""
    if not recorded_at.is_file():
        return []  # a run from before fingerprints
    recorded = read_json(recorded_at)
    warnings = []
    for arg, path in data_paths(dataset, kwargs).items():
        then = recorded.get(arg) if isinstance(recorded, dict) else None
        if not isinstance(then, dict) or then.get("path") != path or "kind" not in then:
            continue
        now = fingerprint(path)
        if now is None:
            warnings.append(f"data.{arg}: {path} is gone since this run trained")
        elif _differs(then, now):
            warnings.append(
                f"data.{arg}: {path} changed since this run trained ({_what_changed(then, now)}); "
                "results may not match the training data"
            )
    for warning in warnings:
        logger.warning(warning)
    return warnings


def _differs(then: dict[str, Any], now: dict[str, Any]) -> bool:
    if then.get("sha256") and now.get("sha256"):
        return then["sha256"] != now["sha256"]
    return any(then.get(key) != now.get(key) for key in ("kind", "size", "mtime_ns", "files"))


def _what_changed(then: dict[str, Any], now: dict[str, Any]) -> str:
    if then.get("kind") != now.get("kind"):
        return f"was a {then.get('kind')}, now a {now.get('kind')}"
    if then.get("size") != now.get("size"):
        return f"size {then.get('size'):,} -> {now.get('size'):,} bytes"
    if then.get("files") != now.get("files"):
        return f"{then.get('files')} -> {now.get('files')} files"
    return "contents modified" if then.get("sha256") else "modification time"
