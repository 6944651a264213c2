"""The three input formats read into the same rows, and every bad row comes back with its own error."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from model_backend.batch.datasets import DatasetError, Question, read_rows, strip_placeholders


@pytest.fixture
def media(tmp_path: Path) -> Path:
    (tmp_path / "images").mkdir()
    for name in ("a.jpg", "b.jpg"):
        (tmp_path / "images" / name).write_bytes(b"bytes are only read later")
    (tmp_path / "clip.mp4").write_bytes(b"video")
    return tmp_path


def write_jsonl(path: Path, records: list) -> Path:
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in records))
    return path


def test_internvl_conversation_gives_every_human_turn_with_its_reference(media: Path) -> None:
    path = write_jsonl(
        media / "data.jsonl",
        [
            {
                "id": 7,
                "image": ["images/a.jpg", "images/b.jpg"],
                "conversations": [
                    {"from": "human", "value": "Image-1: <image>\nImage-2: <image>\nWhich is brighter?"},
                    {"from": "gpt", "value": "The first."},
                    {"from": "human", "value": "Why?"},
                    {"from": "gpt", "value": "More light."},
                    {"from": "human", "value": "And now?"},
                ],
            },
            {"id": 8, "video": "clip.mp4", "conversations": [{"from": "human", "value": "<video>\nWhat?"}]},
        ],
    )
    first, second = read_rows(path)
    assert first.error is None and first.id == 7 and first.key == "7"
    assert first.questions == [
        Question("Which is brighter?", "The first."),
        Question("Why?", "More light."),
        Question("And now?", None),  # a last question without an answer is still asked
    ]
    assert first.images == [media / "images/a.jpg", media / "images/b.jpg"]
    assert "conversations" not in first.record and first.record["image"] == ["images/a.jpg", "images/b.jpg"]
    assert second.video == media / "clip.mp4" and second.questions == [Question("What?", None)]


def test_flat_jsonl_and_csv_read_alike(media: Path) -> None:
    flat = write_jsonl(
        media / "flat.jsonl",
        [
            {"id": "a", "image": "images/a.jpg", "question": "Q1", "answer": "A1"},
            {"id": "b", "images": ["images/a.jpg", "images/b.jpg"], "question": "Q2", "answer": ["x", "y"]},
            {"id": "c", "video": "clip.mp4", "question": "Q3"},
            {"id": "d", "question": "text only", "answer": "t"},
        ],
    )
    table = media / "table.csv"
    table.write_text(
        "id,image,images,video,question,answer\n"
        "a,images/a.jpg,,,Q1,A1\n"
        "b,,images/a.jpg; images/b.jpg,,Q2,x\n"
        "c,,,clip.mp4,Q3,\n"
        'd,,,,"text only",t\n'
    )
    for path in (flat, table):
        rows = list(read_rows(path))
        assert [r.error for r in rows] == [None] * 4, path
        assert [r.key for r in rows] == ["a", "b", "c", "d"]
        assert rows[0].images == [media / "images/a.jpg"] and rows[0].questions == [Question("Q1", "A1")]
        assert rows[1].images == [media / "images/a.jpg", media / "images/b.jpg"]
        assert rows[2].video == media / "clip.mp4" and rows[2].questions[0].reference is None
        assert rows[3].images == [] and rows[3].video is None
    assert next(iter(read_rows(flat))).record["answer"] == "A1"
    assert list(read_rows(flat))[1].questions[0].reference == ["x", "y"]


def test_media_root_replaces_the_input_folder(media: Path, tmp_path_factory: pytest.TempPathFactory) -> None:
    elsewhere = tmp_path_factory.mktemp("elsewhere")
    path = write_jsonl(elsewhere / "d.jsonl", [{"id": 1, "image": "images/a.jpg", "question": "q"}])
    assert next(iter(read_rows(path))).error == "image file not found: images/a.jpg"
    assert next(iter(read_rows(path, media_root=media))).images == [media / "images/a.jpg"]


def test_every_bad_row_has_its_own_error_and_the_rest_still_reads(media: Path) -> None:
    human = {"from": "human", "value": "<image>\nq"}
    path = write_jsonl(
        media / "bad.jsonl",
        [
            {"id": 1, "image": "images/a.jpg", "question": "fine"},
            '{"id": 2, "image": "images/a.jpg", "quest',  # broken JSON
            "[1, 2]",  # not an object
            {"id": 3, "image": "images/nope.jpg", "question": "q"},
            {"id": 4, "image": "images/a.jpg", "video": "clip.mp4", "question": "q"},
            {"id": 5, "image": "images/a.jpg"},
            {"id": 6, "conversations": [human, human]},
            {"id": 7, "conversations": [{"from": "gpt", "value": "a"}]},
            {"id": 8, "conversations": [{"from": "robot", "value": "a"}]},
            {"id": 9, "conversations": []},
            {"id": 1, "question": "duplicate id"},
            {"id": 10, "image": ["images/a.jpg", 3], "question": "q"},
            {"id": 11, "question": "fine too"},
        ],
    )
    rows = list(read_rows(path))
    errors = {r.key: r.error for r in rows}
    assert rows[0].error is None and errors["11"] is None
    assert errors["line 2"].startswith("broken JSON on line 2")
    assert errors["line 3"] == "line 3 is not a JSON object"
    assert errors["3"] == "image file not found: images/nope.jpg"
    assert "either images or a video" in errors["4"]
    assert errors["5"] == "the row has no question"
    assert "two human turns in a row" in errors["6"]
    assert "without a human question" in errors["7"]
    assert "unknown speaker 'robot'" in errors["8"]
    assert "non-empty list" in errors["9"]
    assert "must be non-empty text" in errors["10"]
    duplicate = next(r for r in rows if r.line == 11)
    assert duplicate.error == "duplicate id 1: ids must be unique"
    bad_question = next(r for r in rows if r.key == "3")
    assert bad_question.questions == [Question("q", None)]  # what is known is kept for the result line


def test_a_file_that_cannot_be_read_at_all_is_one_error(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match="not found"):
        list(read_rows(tmp_path / "missing.jsonl"))
    (tmp_path / "d.tsv").write_text("x")
    with pytest.raises(DatasetError, match="unknown input format"):
        list(read_rows(tmp_path / "d.tsv"))
    (tmp_path / "d.csv").write_text("id,prompt\n1,hi\n")
    with pytest.raises(DatasetError, match="no 'question' column"):
        list(read_rows(tmp_path / "d.csv"))


def test_csv_bad_records(tmp_path: Path) -> None:
    (tmp_path / "d.csv").write_text("id,question,answer\n1,hi,yo\n2,too,many,cells\n3,,x\n")
    rows = list(read_rows(tmp_path / "d.csv"))
    assert rows[0].error is None
    assert "more cells" in rows[1].error
    assert rows[2].error == "the row has no question"


def test_json_list_file(tmp_path: Path) -> None:
    (tmp_path / "d.json").write_text(json.dumps([{"id": 1, "question": "q"}, "junk"]))
    first, second = read_rows(tmp_path / "d.json")
    assert first.error is None and second.error == "the record is not a JSON object"


def test_strip_placeholders() -> None:
    assert strip_placeholders("<image>\nWhat is this?") == "What is this?"
    assert strip_placeholders("Frame1: <video>\nWhat happens?") == "What happens?"
    assert strip_placeholders("Describe <image> here") == "Describe here"
