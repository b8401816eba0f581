"""Data fingerprints: a run notices when the files it trained on changed."""

from __future__ import annotations

import os

from learnai_cli.data import fingerprint


def test_an_unchanged_file_gives_no_warning_and_a_changed_one_names_it(tmp_path):
    data, record = tmp_path / "d.csv", tmp_path / "fingerprint.json"
    data.write_text("1,2,0\n")
    fingerprint.record(record, "diabetes", {"path": str(data)})
    assert fingerprint.warn_if_changed(record, "diabetes", {"path": str(data)}) == []
    os.utime(data, ns=(1, 1))  # touched, same bytes: the hash says it is the same data
    assert fingerprint.warn_if_changed(record, "diabetes", {"path": str(data)}) == []
    data.write_text("1,3,0\n")
    (warning,) = fingerprint.warn_if_changed(record, "diabetes", {"path": str(data)})
    assert str(data) in warning and "changed" in warning
    data.unlink()
    (warning,) = fingerprint.warn_if_changed(record, "diabetes", {"path": str(data)})
    assert "gone" in warning


def test_a_folder_is_summarised_and_a_new_file_in_it_is_noticed(tmp_path):
    folder, record = tmp_path / "images", tmp_path / "fingerprint.json"
    (folder / "cat").mkdir(parents=True)
    (folder / "cat" / "1.png").write_bytes(b"x")
    fingerprint.record(record, "image_folder", {"root": str(folder)})
    assert fingerprint.warn_if_changed(record, "image_folder", {"root": str(folder)}) == []
    (folder / "cat" / "2.png").write_bytes(b"y")
    (warning,) = fingerprint.warn_if_changed(record, "image_folder", {"root": str(folder)})
    assert "1 -> 2 files" in warning or "bytes" in warning


def test_runs_without_a_fingerprint_or_without_data_paths_are_quiet(tmp_path):
    assert fingerprint.warn_if_changed(tmp_path / "missing.json", "diabetes", {"path": "x"}) == []
    fingerprint.record(tmp_path / "f.json", "linear", {"n": 10})
    assert fingerprint.warn_if_changed(tmp_path / "f.json", "linear", {"n": 10}) == []
