"""Read question datasets for batch runs: InternVL conversation JSONL, flat JSONL and CSV.

Three shapes, told apart by the file suffix and, for JSONL, by each line's fields:

- InternVL fine-tuning conversations (one JSON object a line, or a `.json` list of them):
  `{"id": 0, "image": "a.jpg" | ["a.jpg", ...] | "video": "clip.mp4",
  "conversations": [{"from": "human", "value": "<image>\\nWhat is this?"}, {"from": "gpt", "value": "A cat."}]}`.
  Every human turn is a question, asked in order with the earlier turns (their reference
  answers) as history; each gpt turn is the reference of the human turn before it. The
  `<image>`/`<video>` placeholders (and `Image-1: ` / `Frame1: ` labels) are taken out of the
  text: the media goes with the first question, placed the way `ask` places it.
- Flat JSONL: `{"id", "image" | "images" | "video", "question", "answer"}`; `answer` may be a
  list of accepted answers (scores take the best).
- CSV with the columns `id, image | images | video, question, answer`; several images are
  separated by `;`.

A row that cannot be used (broken JSON, a missing field, a missing media file, a duplicate id)
is still yielded, with `error` set, so a run reports it and goes on. Media paths are relative
to `media_root` (default: the input file's folder).

>>> rows = list(read_rows("data.jsonl"))  # doctest: +SKIP
>>> rows[0].questions[0].text, rows[0].images  # doctest: +SKIP
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

CSV_MEDIA_SEPARATOR = ";"
_HUMAN = ("human", "user")
_GPT = ("gpt", "assistant")
_PLACEHOLDER = re.compile(r"(?:Image-?\d+:\s*)?<image>[\n ]?|(?:Frame-?\d+:\s*)?<video>[\n ]?")

Reference = str | list[str] | None


class DatasetError(ValueError):
    """The input file as a whole cannot be read (not a single row): missing, unknown format, no question column."""


@dataclass(frozen=True)
class Question:
    text: str
    reference: Reference = None


@dataclass
class Row:
    """One input row: its questions in order, its media paths (resolved), or why it cannot run."""

    line: int  # 1-based line (JSONL), record (CSV, after the header) or list index + 1 (.json)
    id: object = None  # as the input spells it
    record: dict = field(default_factory=dict)  # the input fields echoed into each result
    questions: list[Question] = field(default_factory=list)
    images: list[Path] = field(default_factory=list)
    video: Path | None = None
    error: str | None = None

    @property
    def key(self) -> str:
        """What identifies the row in an output file (for --resume): its id, else its line."""
        return f"line {self.line}" if self.id is None else str(self.id)


def read_rows(
    path: str | Path, media_root: str | Path | None = None, confine: tuple[Path, ...] | None = None
) -> Iterator[Row]:
    """Every row of `path`, bad ones included (with `error`). Raises `DatasetError` for a bad file.

    With `confine` (the folders a server-side run may read), a media path outside them is reported as
    not found, in the same words as a missing file and without looking at it: a row's error never tells
    whether a path exists elsewhere on the server.
    """
    path = Path(path)
    if not path.is_file():
        raise DatasetError(f"input file not found: {path}")
    root = Path(media_root) if media_root is not None else path.parent
    suffix = path.suffix.lower()
    if suffix == ".csv":
        records = _csv_records(path)
    elif suffix in (".jsonl", ".json", ".ndjson"):
        records = _json_records(path)
    else:
        raise DatasetError(f"unknown input format '{suffix}': use .jsonl, .json or .csv")
    seen: set[str] = set()
    for line, record, error in records:
        row = Row(line=line, error=error) if error else _row(line, record, root, confine)
        if row.error is None and row.key in seen:
            row.error = f"duplicate id {row.id!r}: ids must be unique"
        seen.add(row.key)
        yield row


def _json_records(path: Path) -> Iterator[tuple[int, dict, str | None]]:
    text = path.read_text(encoding="utf-8", errors="replace")
    if path.suffix.lower() == ".json" and text.lstrip().startswith("["):
        try:
            items = json.loads(text)
        except json.JSONDecodeError as error:
            raise DatasetError(f"{path.name} is not valid JSON: {error}") from error
        for index, item in enumerate(items, start=1):
            yield (index, item, None) if isinstance(item, dict) else (index, {}, "the record is not a JSON object")
        return
    for number, raw in enumerate(text.splitlines(), start=1):
        if not raw.strip():
            continue
        try:
            record = json.loads(raw)
        except json.JSONDecodeError as error:
            yield number, {}, f"broken JSON on line {number}: {error.msg} (column {error.colno})"
            continue
        if not isinstance(record, dict):
            yield number, {}, f"line {number} is not a JSON object"
            continue
        yield number, record, None


def _csv_records(path: Path) -> Iterator[tuple[int, dict, str | None]]:
    with path.open(newline="", encoding="utf-8-sig", errors="replace") as file:
        reader = csv.DictReader(file)
        columns = [name.strip() for name in reader.fieldnames or []]
        if "question" not in columns:
            raise DatasetError(f"{path.name} has no 'question' column (columns: {', '.join(columns) or 'none'})")
        for number, raw in enumerate(reader, start=1):
            if None in raw:  # more cells than columns
                yield number, {}, f"CSV record {number} has more cells than the header has columns"
                continue
            record = {key.strip(): (value or "").strip() for key, value in raw.items() if key is not None}
            record = {key: value for key, value in record.items() if value != ""}
            if "images" in record:
                record["images"] = [p.strip() for p in record["images"].split(CSV_MEDIA_SEPARATOR) if p.strip()]
            yield number, record, None


def _row(line: int, record: dict, root: Path, confine: tuple[Path, ...] | None) -> Row:
    row = Row(line=line, id=record.get("id"))
    row.record = {key: value for key, value in record.items() if key != "conversations"}
    try:
        if "conversations" in record:
            row.questions = _conversation_questions(record["conversations"])
        else:
            row.questions = [_flat_question(record)]
        row.images, row.video = _media(record, root, confine)
    except ValueError as error:
        row.error = str(error)
    return row


def _media(record: dict, root: Path, confine: tuple[Path, ...] | None) -> tuple[list[Path], Path | None]:
    names: list = []
    for key in ("image", "images"):
        value = record.get(key)
        if value is None:
            continue
        names += value if isinstance(value, list) else [value]
    video = record.get("video")
    if names and video is not None:
        raise ValueError("a row has either images or a video, not both")
    if not all(isinstance(name, str) and name.strip() for name in names):
        raise ValueError("image paths must be non-empty text")
    if video is not None and not (isinstance(video, str) and video.strip()):
        raise ValueError("the video path must be non-empty text")
    images = [_resolve(root, name, "image", confine) for name in names]
    return images, _resolve(root, video, "video", confine) if video is not None else None


def _resolve(root: Path, name: str, kind: str, confine: tuple[Path, ...] | None) -> Path:
    path = Path(name)
    path = path if path.is_absolute() else root / path
    outside = confine is not None and not any(path.resolve().is_relative_to(folder) for folder in confine)
    if outside or not path.is_file():
        raise ValueError(f"{kind} file not found: {name}")
    return path


def _flat_question(record: dict) -> Question:
    question = record.get("question")
    if not isinstance(question, str) or not question.strip():
        raise ValueError("the row has no question")
    return Question(strip_placeholders(question), _reference(record.get("answer")))


def _conversation_questions(turns: object) -> list[Question]:
    if not isinstance(turns, list) or not turns:
        raise ValueError("'conversations' must be a non-empty list of {from, value} turns")
    questions: list[Question] = []
    pending: str | None = None
    for number, turn in enumerate(turns, start=1):
        if not isinstance(turn, dict) or not isinstance(turn.get("value"), str):
            raise ValueError(f"conversation turn {number} needs 'from' and a text 'value'")
        speaker = turn.get("from")
        if speaker in _HUMAN:
            if pending is not None:
                raise ValueError(f"conversation turn {number}: two human turns in a row (no gpt answer between)")
            pending = strip_placeholders(turn["value"])
            if not pending.strip():
                raise ValueError(f"conversation turn {number}: the question is empty")
        elif speaker in _GPT:
            if pending is None:
                raise ValueError(f"conversation turn {number}: a gpt turn without a human question before it")
            questions.append(Question(pending, turn["value"]))
            pending = None
        else:
            raise ValueError(f"conversation turn {number}: unknown speaker {speaker!r} (use human or gpt)")
    if pending is not None:
        questions.append(Question(pending, None))  # a last question without a reference is still asked
    return questions


def _reference(value: object) -> Reference:
    if value is None or value == "":
        return None
    if isinstance(value, list):
        if not value or not all(isinstance(item, str) for item in value):
            raise ValueError("'answer' must be text or a non-empty list of texts")
        return value
    return str(value)


def strip_placeholders(text: str) -> str:
    """The question without `<image>`/`<video>` placeholders and their labels (the prompt adds its own).

    >>> strip_placeholders("Image-1: <image>\\nImage-2: <image>\\nWhich is larger?")
    'Which is larger?'
    """
    return _PLACEHOLDER.sub("", text).strip()
