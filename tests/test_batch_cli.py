"""`python -m model_backend batch` on the demo checkpoint (fp32, CPU): formats, resume, bad rows, batching.

One test runs the real command in a subprocess (loading, progress bar, summary); the others call
`cli.main` in this process with the session's demo engine handed to the factory, to stay fast.
"""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest

from model_backend.batch.scoring import score
from model_backend.batch.summary import percentile
from model_backend.cli import main as cli
from model_backend.cli.batch import summarize
from model_backend.conversation import Conversation, ImageAttachment
from model_backend.engines.batched import answer_batch
from model_backend.serving.factory import EngineFactory
from model_backend.settings import GenerationSettings
from tests.cli_runner import run_cli_process
from tests.media_factory import make_photo, make_video

FLAGS = ("--model", "demo", "--dtype", "float32", "--device", "cpu", "--max-new-tokens", "6", "--max-tiles", "4")
SETTINGS = GenerationSettings(max_new_tokens=6, max_tiles=4)


@pytest.fixture(scope="module")
def media(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("batch")
    (folder / "images").mkdir()
    (folder / "images" / "a.jpg").write_bytes(make_photo(320, 240, seed=1))
    (folder / "images" / "b.jpg").write_bytes(make_photo(240, 480, seed=2))
    (folder / "images" / "broken.jpg").write_bytes(make_photo(320, 240, seed=3)[:300])
    (folder / "images" / "text.jpg").write_bytes(b"this is not an image")
    (folder / "broken.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42 not really a video")
    make_video(folder / "clip.mp4", seconds=1.0, fps=8)
    return folder


@pytest.fixture
def in_process(engine, monkeypatch: pytest.MonkeyPatch):
    """`cli.main` with the factory answering from the session's demo engine (no reload per call)."""
    monkeypatch.setattr(EngineFactory, "get", lambda self, target, progress=None: engine)
    return engine


def write_jsonl(path: Path, records: list) -> Path:
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in records))
    return path


def results(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def answer(engine, question: str, images: list[Path] = (), history: list[tuple[str, str]] = ()) -> str:
    """What `ask` answers (the engine's stream), for a question with earlier turns as history."""
    conversation = Conversation()
    attachments = tuple(ImageAttachment(p.read_bytes(), name=p.name) for p in images)
    for number, (old_question, old_answer) in enumerate(history):
        conversation.ask(old_question, images=attachments if number == 0 else ())
        conversation.turns[-1].answer = old_answer
    conversation.ask(question, images=() if history else attachments)
    return engine.stream(conversation, SETTINGS, threading.Event()).text()


def test_conversation_jsonl_from_the_shell(media: Path, engine) -> None:
    data = write_jsonl(
        media / "conversations.jsonl",
        [
            {
                "id": 0,
                "image": "images/a.jpg",
                "conversations": [
                    {"from": "human", "value": "<image>\nWhat is this?"},
                    {"from": "gpt", "value": "A cat."},
                    {"from": "human", "value": "What colour is it?"},
                    {"from": "gpt", "value": "black"},
                ],
            },
            {"id": 1, "video": "clip.mp4", "conversations": [{"from": "human", "value": "<video>\nWhat happens?"}]},
        ],
    )
    out = media / "conversations.out.jsonl"
    result = run_cli_process("batch", *FLAGS, "--frames", "2", str(data), "--out", str(out))
    assert result.returncode == 0, result.stderr
    assert "[" + "#" * 30 + "] 3/3" in result.stderr  # the progress bar (text mode reads its \\r as a newline)
    assert "rows: 3  errors: 0  scored: 2" in result.stdout and "latency: p50" in result.stdout
    first, second, video = results(out)
    assert (first["turn"], second["turn"], video["turn"]) == (0, 1, 0)
    assert first["question"] == "What is this?" and first["reference"] == "A cat." and first["image"] == "images/a.jpg"
    for row in (first, second, video):
        assert row["error"] is None and row["checkpoint"] == "demo"
        assert row["settings"]["max_new_tokens"] == 6 and row["settings"]["do_sample"] is False
        assert row["new_tokens"] >= 1 and row["prompt_tokens"] > 0 and row["time_to_first_token_s"] > 0
    assert first["tiles"] == [1] and video["tiles"] == [1, 1]  # 320x240 is closest to 1x1; one tile a frame
    assert first["score"] == score(first["prediction"], "A cat.") and video["score"] is None
    # Another process, the same greedy answers as `ask` gives (turn 2 has turn 1's reference as history).
    image = [media / "images" / "a.jpg"]
    assert first["prediction"] == answer(engine, "What is this?", image)
    assert second["prediction"] == answer(engine, "What colour is it?", image, [("What is this?", "A cat.")])


def test_the_same_row_gives_the_same_prediction_as_ask(media: Path, in_process, capsys) -> None:
    photo = media / "images" / "b.jpg"
    assert cli.main(["ask", *FLAGS, "--image", str(photo), "--json", "Describe the image."]) == 0
    asked = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    data = write_jsonl(media / "one.jsonl", [{"id": "x", "image": "images/b.jpg", "question": "Describe the image."}])
    out = media / "one.out.jsonl"
    assert cli.main(["batch", *FLAGS, str(data), "--out", str(out), "--overwrite"]) == 0
    (row,) = results(out)
    assert row["prediction"] == asked["answer"]
    assert row["tiles"] == asked["tiles"] and row["prompt_tokens"] == asked["prompt_tokens"]


def test_flat_jsonl_and_csv_give_the_same_results(media: Path, in_process) -> None:
    flat = write_jsonl(
        media / "flat.jsonl",
        [
            {"id": "a", "image": "images/a.jpg", "question": "Name it.", "answer": "cat"},
            {"id": "b", "images": ["images/a.jpg", "images/b.jpg"], "question": "Same?", "answer": "no"},
            {"id": "c", "question": "Say hi.", "answer": "hi"},
        ],
    )
    table = media / "table.csv"
    table.write_text(
        "id,image,images,question,answer\na,images/a.jpg,,Name it.,cat\n"
        "b,,images/a.jpg;images/b.jpg,Same?,no\nc,,,Say hi.,hi\n"
    )
    outputs = []
    for data in (flat, table):
        out = data.with_suffix(".out.jsonl")
        assert cli.main(["batch", *FLAGS, str(data), "--out", str(out), "--overwrite"]) == 0
        outputs.append(results(out))
    for from_jsonl, from_csv in zip(*outputs, strict=True):
        assert from_jsonl["prediction"] == from_csv["prediction"] and from_jsonl["error"] is None
        assert from_jsonl["score"] == score(from_jsonl["prediction"], from_jsonl["reference"])
    assert [r["tiles"] for r in outputs[0]] == [[1], [1, 3], []]  # two images share the 4 tiles: 1x2 + thumbnail
    assert outputs[0][1]["prediction"] == answer(in_process, "Same?", [media / "images/a.jpg", media / "images/b.jpg"])


def test_every_bad_row_gets_its_own_error_and_the_run_goes_on(media: Path, in_process, capsys) -> None:
    data = write_jsonl(
        media / "bad.jsonl",
        [
            {"id": 1, "image": "images/a.jpg", "question": "fine", "answer": "x"},
            '{"id": 2, "question": "broken',
            {"id": 3, "image": "images/missing.jpg", "question": "q"},
            {"id": 4, "image": "images/broken.jpg", "question": "q"},
            {"id": 5, "image": "images/text.jpg", "question": "q"},
            {"id": 6, "video": "broken.mp4", "question": "q"},
            {"id": 7, "question": "word " * 33000},  # past the 32k context
            {"id": 8, "question": "show <image> here"},  # literal placeholder is stripped: fine
            {"id": 9, "conversations": [{"from": "gpt", "value": "no question"}]},
            {"id": 1, "question": "duplicate"},
            {"id": 10, "question": "fine as well"},
        ],
    )
    out = media / "bad.out.jsonl"
    assert cli.main(["batch", *FLAGS, str(data), "--out", str(out), "--overwrite"]) == 0
    rows = {(r["id"], r["line"]): r for r in results(out)}
    assert len(rows) == 11
    errors = {key: r["error"] for key, r in rows.items()}
    assert errors[(1, 1)] is None and errors[(8, 8)] is None and errors[(10, 11)] is None
    assert errors[(None, 2)].startswith("broken JSON on line 2")
    assert errors[(3, 3)] == "image file not found: images/missing.jpg"
    assert errors[(4, 4)].startswith("broken.jpg: ") and errors[(5, 5)].startswith("text.jpg: ")
    assert errors[(6, 6)] is not None and "broken.mp4" in errors[(6, 6)]
    assert "context window" in errors[(7, 7)]
    assert "without a human question" in errors[(9, 9)] and "duplicate id" in errors[(1, 10)]
    for key, row in rows.items():
        if row["error"] is not None:
            assert row["prediction"] is None and row["score"] is None, key
    assert "rows: 11  errors: 8" in capsys.readouterr().out


def test_resume_skips_what_out_holds_and_survives_a_cut_last_line(media: Path, in_process, capsys) -> None:
    records = [{"id": n, "question": f"Question {n}?", "answer": "a"} for n in range(4)]
    data = write_jsonl(media / "resume.jsonl", records)
    full = media / "resume.full.jsonl"
    assert cli.main(["batch", *FLAGS, str(data), "--out", str(full), "--overwrite"]) == 0
    expected = results(full)

    out = media / "resume.out.jsonl"  # a run killed while writing its third result
    lines = full.read_text().splitlines(keepends=True)
    out.write_text(lines[0] + lines[1] + lines[2][:25])
    assert cli.main(["batch", *FLAGS, str(data), "--out", str(out)]) == 1  # refuses to replace it
    assert "--resume" in capsys.readouterr().err
    assert cli.main(["batch", *FLAGS, str(data), "--out", str(out), "--resume"]) == 0
    resumed = [
        json.loads(line) for line in out.read_text().splitlines() if line.startswith('{"id"') and line.endswith("}")
    ]
    assert [r["id"] for r in resumed] == [0, 1, 2, 3]
    assert [r["prediction"] for r in resumed] == [r["prediction"] for r in expected]
    assert "rows: 4  errors: 0" in capsys.readouterr().out  # the cut line is not counted
    assert cli.main(["batch", *FLAGS, str(data), "--out", str(out), "--resume"]) == 0  # nothing left to do
    assert len(out.read_text().splitlines()) == 5


def test_batched_greedy_equals_one_by_one_in_fp32(media: Path, in_process) -> None:
    """Left padding and the attention mask leave every row's greedy answer as it was alone."""
    questions = [
        ("Describe.", [media / "images/a.jpg"]),
        ("Describe every part of the picture in detail, please.", [media / "images/b.jpg"]),
        ("Hello", []),
        ("Compare them.", [media / "images/a.jpg", media / "images/b.jpg"]),
    ]
    alone = [answer(in_process, q, images) for q, images in questions]
    conversations = []
    for question, images in questions:
        conversation = Conversation()
        conversation.ask(question, images=tuple(ImageAttachment(p.read_bytes(), name=p.name) for p in images))
        conversations.append(conversation)
    batched = answer_batch(in_process, conversations, SETTINGS)
    assert [b.text for b in batched] == alone
    assert [b.stats.tiles for b in batched] == [[1], [3], [], [1, 3]]  # 4:3 -> 1x1; 1:2 -> 1x2 + thumbnail

    data = write_jsonl(
        media / "batched.jsonl",
        [{"id": n, "image": [str(p) for p in images], "question": q} for n, (q, images) in enumerate(questions)]
        + [{"id": 9, "image": "images/missing.jpg", "question": "q"}],
    )
    out = media / "batched.out.jsonl"
    assert cli.main(["batch", *FLAGS, "--batch-size", "3", str(data), "--out", str(out), "--overwrite"]) == 0
    rows = results(out)
    assert [r["prediction"] for r in rows] == [*alone, None]
    assert rows[-1]["error"] == "image file not found: images/missing.jpg"


def test_summary_counts_and_percentiles(tmp_path: Path) -> None:
    out = tmp_path / "out.jsonl"
    lines = [
        {"id": 1, "error": None, "latency_s": 1.0, "score": {"exact": 1.0, "relaxed": 1.0, "anls": 1.0}},
        {"id": 2, "error": None, "latency_s": 2.0, "score": {"exact": 0.0, "relaxed": 1.0, "anls": 0.5}},
        {"id": 3, "error": None, "latency_s": 3.0, "score": None},
        {"id": 4, "error": None, "latency_s": 4.0, "score": None},
        {"id": 5, "error": "image file not found: x", "latency_s": None, "score": None},
    ]
    out.write_text("".join(json.dumps(line) + "\n" for line in lines) + '{"id": 6, "cut')
    summary = summarize(out)
    assert summary["rows"] == 5 and summary["errors"] == 1 and summary["scored"] == 2
    assert summary["mean_score"] == {"exact": 0.5, "relaxed": 1.0, "anls": 0.75}
    assert summary["latency_p50_s"] == 2.5 and summary["latency_p90_s"] == pytest.approx(3.7)  # 1 + 0.9 * 3
    assert percentile([5.0], 0.9) == 5.0
