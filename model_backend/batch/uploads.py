"""Where a batch run's dataset comes from: uploads saved and checked, or a file under the dataset roots.

Uploads (the dataset file, its media files or a zip) are saved under the data folder, one folder
per run, within a size limit; a zip is refused when it has too many entries or a name that
would land outside the run's folder. Media paths of an uploaded dataset must stay inside that
folder, and those of a dataset on the server inside the configured root it was picked from: a
dataset that names `/etc/passwd` as its image gets an error on that row, never the file.

>>> dataset = save_upload(folder, ("data.jsonl", data), [("a.jpg", jpg)], upload_limit_bytes())  # doctest: +SKIP
>>> load_rows(dataset)[0].images                                                                 # doctest: +SKIP
"""

from __future__ import annotations

import io
import os
import shutil
import stat
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import IO

from model_backend.batch.datasets import DatasetError, Row, read_rows
from model_backend.errors import BackendError

ROOTS_ENV = "INTERNVL_DATASET_ROOTS"
UPLOAD_ENV = "INTERNVL_BATCH_UPLOAD_MB"
DEFAULT_UPLOAD_MB = 1024
#: A zip with more entries than this is refused before anything is extracted.
MAX_ZIP_ENTRIES = 10_000
DATASET_SUFFIXES = (".jsonl", ".json", ".ndjson", ".csv")
#: How far `server_datasets` looks under a root (folders deep, entries seen), so a root holding
#: a million images does not stall the page.
SCAN_DEPTH, SCAN_ENTRIES, SCAN_RESULTS = 4, 20_000, 500
_SKIPPED_ZIP_PARTS = ("__MACOSX",)


class BatchError(BackendError):
    """A batch run cannot start or go on (the upload, the dataset, the model); `text` is for the user."""


@dataclass(frozen=True)
class Dataset:
    """A dataset ready to run: the file, where its media paths start, and where they must stay."""

    path: Path
    media_root: Path
    confine: tuple[Path, ...]
    #: The run's own folder (uploads): deleted with the run. None for a dataset on the server.
    folder: Path | None = None


def upload_limit_bytes() -> int:
    """`$INTERNVL_BATCH_UPLOAD_MB` (default 1024) in bytes: a run's uploads, zips counted unpacked."""
    configured = os.environ.get(UPLOAD_ENV, "").strip()
    return int(float(configured or DEFAULT_UPLOAD_MB) * 1e6)


def dataset_roots() -> list[Path]:
    """The folders admins may pick datasets from: `$INTERNVL_DATASET_ROOTS`, colon-separated."""
    configured = os.environ.get(ROOTS_ENV, "")
    return [Path(part).expanduser().resolve() for part in configured.split(":") if part.strip()]


def server_datasets(roots: Sequence[Path]) -> list[Path]:
    """Dataset files (JSONL, JSON, CSV) under `roots`, a few folders deep, hidden folders skipped."""
    found: list[Path] = []
    seen = 0
    for root in roots:
        pending = [(root, 0)]
        while pending and len(found) < SCAN_RESULTS and seen < SCAN_ENTRIES:
            folder, depth = pending.pop(0)
            try:
                entries = sorted(os.scandir(folder), key=lambda e: e.name)
            except OSError:
                continue
            for entry in entries:
                seen += 1
                if entry.name.startswith("."):
                    continue
                if entry.is_dir(follow_symlinks=False) and depth + 1 < SCAN_DEPTH:
                    pending.append((Path(entry.path), depth + 1))
                elif entry.is_file() and Path(entry.name).suffix.lower() in DATASET_SUFFIXES:
                    found.append(Path(entry.path))
    return found[:SCAN_RESULTS]


def server_dataset(path: Path, roots: Sequence[Path]) -> Dataset:
    """A dataset file on the server; it and its media must lie under one of `roots`."""
    resolved = path.expanduser().resolve()
    root = next((r for r in roots if resolved.is_relative_to(r)), None)
    if root is None or not resolved.is_file():
        raise BatchError("batch.folder_outside", path=str(path), env=ROOTS_ENV)
    return Dataset(resolved, resolved.parent, (root,))


# -- uploads ---------------------------------------------------------------------------------

#: An uploaded file: its name as the browser gave it, and its bytes (or a binary file to read).
Upload = tuple[str, "bytes | IO[bytes]"]


def save_upload(folder: Path, dataset: Upload | None, media: Sequence[Upload], limit_bytes: int) -> Dataset:
    """Write a run's uploads into `folder`: the dataset, loose media files, zips unpacked.

    Without a separate dataset file, the one dataset file inside the zip is used. Media the dataset
    names by a path (`images/a.jpg`) but that came as a loose file (`a.jpg`: browsers send names
    only) is put at that path. Raises `BatchError` (nothing is left in `folder` then).
    """
    folder.mkdir(parents=True, exist_ok=True)
    try:
        return _save_upload(folder, dataset, media, limit_bytes)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise


def _save_upload(folder: Path, dataset: Upload | None, media: Sequence[Upload], limit_bytes: int) -> Dataset:
    budget = _Budget(limit_bytes)
    for _, data in [*([dataset] if dataset else []), *media]:
        budget.take(_size(data))  # refused before anything is written
    dataset_path = None
    if dataset is not None:
        dataset_path = folder / _plain_name(dataset[0])
        _write(dataset_path, dataset[1])
    zipped: list[Path] = []
    for name, data in media:
        if name.lower().endswith(".zip"):
            budget.give(_size(data))  # a zip counts by what it unpacks to
            zipped += _unzip(name, data, folder, budget)
        else:
            _write(folder / _plain_name(name), data)
    if dataset_path is None:
        inside = [path for path in zipped if path.suffix.lower() in DATASET_SUFFIXES]
        if not inside:
            raise BatchError("batch.no_dataset")
        if len(inside) > 1:
            raise BatchError("batch.many_datasets", count=len(inside))
        dataset_path = inside[0]
    if dataset_path.suffix.lower() not in DATASET_SUFFIXES:
        raise BatchError("batch.dataset_type", name=dataset_path.name)
    _place_references(dataset_path, folder)
    return Dataset(dataset_path, dataset_path.parent, (folder.resolve(),), folder)


class _Budget:
    def __init__(self, limit: int) -> None:
        self.limit, self.left = limit, limit

    def take(self, size: int) -> None:
        self.left -= size
        if self.left < 0:
            raise BatchError("batch.upload_too_big", limit_mb=f"{self.limit / 1e6:,.0f}", env=UPLOAD_ENV)

    def give(self, size: int) -> None:
        self.left += size

    def check(self, size: int) -> None:
        """Refuse `size` more bytes now, without taking them."""
        if size > self.left:
            raise BatchError("batch.upload_too_big", limit_mb=f"{self.limit / 1e6:,.0f}", env=UPLOAD_ENV)


def _is_plain_file(entry: zipfile.ZipInfo) -> bool:
    """Unix mode bits, where the zip has them: a symlink, device or pipe is not a file to unpack."""
    kind = stat.S_IFMT(entry.external_attr >> 16)
    return kind in (0, stat.S_IFREG)  # 0: no type recorded (zips made on Windows, or by Python)


def _size(data: bytes | IO[bytes]) -> int:
    if isinstance(data, bytes | bytearray):
        return len(data)
    position = data.tell()
    end = data.seek(0, os.SEEK_END)
    data.seek(position)
    return end


def _plain_name(name: str) -> str:
    """A browser's file name as a name in the run's folder (only its last part; never `..`)."""
    plain = name.replace("\\", "/").rsplit("/", 1)[-1].strip()
    if plain in ("", ".", "..") or "\x00" in plain:
        raise BatchError("batch.bad_file_name", name=name)
    return plain


def _write(path: Path, data: bytes | IO[bytes]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as sink:
        if isinstance(data, bytes | bytearray):
            sink.write(data)
        else:
            data.seek(0)
            shutil.copyfileobj(data, sink)


def _unzip(name: str, data: bytes | IO[bytes], folder: Path, budget: _Budget) -> list[Path]:
    """Extract a zip into `folder`, by the bytes it really unpacks to (not what its headers claim)."""
    source = io.BytesIO(data) if isinstance(data, bytes | bytearray) else data
    try:
        archive = zipfile.ZipFile(source)
    except (zipfile.BadZipFile, OSError) as error:
        raise BatchError("batch.zip_unreadable", detail=str(error), name=name) from error
    with archive:
        entries = archive.infolist()
        if len(entries) > MAX_ZIP_ENTRIES:
            raise BatchError("batch.zip_too_many", name=name, count=f"{len(entries):,}", limit=f"{MAX_ZIP_ENTRIES:,}")
        targets = [(entry, _zip_target(entry.filename, name)) for entry in entries]  # every name checked first
        for entry, parts in targets:
            if parts is not None and not entry.is_dir() and not _is_plain_file(entry):
                raise BatchError("batch.zip_not_a_file", name=name, entry=entry.filename)
        # What the directory claims is refused before a byte is written; the streaming count below
        # catches a zip whose entries unpack to more than they claim.
        budget.check(sum(entry.file_size for entry, parts in targets if parts is not None and not entry.is_dir()))
        written: list[Path] = []
        for entry, parts in targets:
            if parts is None or entry.is_dir():
                continue
            target = folder.joinpath(*parts)
            try:
                target.parent.mkdir(parents=True, exist_ok=True)
            except (FileExistsError, NotADirectoryError) as error:
                raise BatchError("batch.zip_clash", name=name, entry=entry.filename, detail=str(error)) from error
            if target.is_dir():
                raise BatchError("batch.zip_clash", name=name, entry=entry.filename)
            try:
                with archive.open(entry) as packed, target.open("wb") as sink:
                    while chunk := packed.read(1 << 20):
                        budget.take(len(chunk))
                        sink.write(chunk)
            except (zipfile.BadZipFile, OSError, EOFError, NotImplementedError) as error:
                raise BatchError("batch.zip_unreadable", detail=str(error), name=name) from error
            written.append(target)
    return written


def _zip_target(entry_name: str, zip_name: str) -> tuple[str, ...] | None:
    """The path parts an entry is written to; None for entries to skip (macOS metadata).

    A name that is absolute, has a drive, or climbs out with `..` refuses the whole zip: it was
    made to write outside the folder, and no honest dataset needs that.
    """
    path = PurePosixPath(entry_name.replace("\\", "/"))
    parts = tuple(part for part in path.parts if part not in ("", "."))
    unsafe = path.is_absolute() or ".." in parts or "\x00" in entry_name or (parts and ":" in parts[0])
    if unsafe or not parts:
        raise BatchError("batch.zip_unsafe_name", name=zip_name, entry=entry_name)
    if parts[0] in _SKIPPED_ZIP_PARTS or parts[-1] == ".DS_Store":
        return None
    return parts


def _place_references(dataset: Path, folder: Path) -> None:
    """Copy a media file to the path the dataset names it by, when it came without its folders."""
    try:
        rows = list(read_rows(dataset, dataset.parent))
    except DatasetError:
        return  # said when the run starts
    by_name: dict[str, list[Path]] = {}
    for path in folder.rglob("*"):
        if path.is_file():
            by_name.setdefault(path.name, []).append(path)
    for row in rows:
        for wanted in _media_names(row.record):
            relative = PurePosixPath(wanted.replace("\\", "/"))
            if relative.is_absolute() or ".." in relative.parts:
                continue
            target = dataset.parent.joinpath(*relative.parts)
            candidates = by_name.get(relative.name, [])
            if target.exists() or len(candidates) != 1:
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            try:
                os.link(candidates[0], target)
            except OSError:
                shutil.copyfile(candidates[0], target)


def _media_names(record: dict) -> list[str]:
    names: list = []
    for key in ("image", "images", "video"):
        value = record.get(key)
        names += value if isinstance(value, list) else [value]
    return [name for name in names if isinstance(name, str) and name.strip()]


# -- reading a run's rows --------------------------------------------------------------------


def load_rows(dataset: Dataset) -> list[Row]:
    """The dataset's rows; media outside `confine` is never read (the row says its file was not found)."""
    return list(read_rows(dataset.path, dataset.media_root, dataset.confine))  # DatasetError: an unreadable file
