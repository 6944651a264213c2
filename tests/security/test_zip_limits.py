"""Batch uploads: a zip bomb is refused from its directory before a byte is written, a zip that lies about
its sizes is stopped while it unpacks, and links or clashing names are refused with a message."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest

from model_backend.batch.uploads import save_upload
from model_backend.errors import BackendError

DATASET = ("rows.jsonl", b'{"question": "q"}\n')


def _zip(*entries: tuple[str | zipfile.ZipInfo, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in entries:
            archive.writestr(name, data)
    return buffer.getvalue()


def _refusal(tmp_path: Path, zipped: bytes, limit: int = 1_000_000) -> BackendError:
    folder = tmp_path / "run"
    with pytest.raises(BackendError) as caught:
        save_upload(folder, DATASET, [("media.zip", zipped)], limit)
    assert not folder.exists()  # nothing is left behind
    return caught.value


def test_a_bomb_is_refused_from_its_directory_before_anything_is_unpacked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bomb = _zip(("zeros.png", b"\0" * 5_000_000))  # 5 MB of zeros packs into a few KB
    assert len(bomb) < 50_000

    def never(*args: object, **kwargs: object) -> None:
        raise AssertionError("an entry was opened for unpacking")

    monkeypatch.setattr(zipfile.ZipFile, "open", never)
    assert _refusal(tmp_path, bomb).text.key == "batch.upload_too_big"


def test_a_zip_that_understates_its_sizes_is_stopped_while_it_unpacks(tmp_path: Path) -> None:
    honest = _zip(("big.png", b"\0" * 3_000_000))
    # Rewrite the directory's uncompressed size (central directory, offset 24) to claim 10 bytes.
    central = honest.rindex(b"PK\x01\x02")
    lying = honest[: central + 24] + (10).to_bytes(4, "little") + honest[central + 28 :]
    error = _refusal(tmp_path, lying)
    assert error.text.key in ("batch.upload_too_big", "batch.zip_unreadable")  # stopped either way, never written


def test_a_link_entry_is_refused(tmp_path: Path) -> None:
    link = zipfile.ZipInfo("escape.png")
    link.external_attr = 0o120777 << 16  # a symbolic link
    error = _refusal(tmp_path, _zip((link, b"/etc/passwd")))
    assert error.text.key == "batch.zip_not_a_file"
    assert "escape.png" in error.text.render("en")


def test_a_file_and_a_folder_of_the_same_name_are_refused(tmp_path: Path) -> None:
    error = _refusal(tmp_path, _zip(("a", b"file"), ("a/b.png", b"png")))
    assert error.text.key == "batch.zip_clash"
