"""A/B batch runs (`model_backend.batch.ab`): two different demo checkpoints (`demo`, Qwen2, and
`demo-qwen2_5`) over the same dataset, from the CLI and as a server-side job.

Checked: the two really answer differently; each side's prediction is that model's own one-by-one
greedy answer; `agree` and the disagreement count follow the relaxed normalisation; scores match
values worked out by hand; a one-model memory budget runs A then B; cancel and resume keep each
side's answers once; the joint table and its downloads from hand-made results.
"""

from __future__ import annotations

import csv
import io
import json
import sqlite3
import threading
from pathlib import Path

import pytest

from model_backend.batch import run_records
from model_backend.batch.ab import agreement, joint_rows, summarize_ab, to_csv, to_jsonl
from model_backend.batch.registry import DB_NAME, BatchRegistry
from model_backend.batch.scoring import same_answer, score
from model_backend.cli import main as cli
from model_backend.conversation import Conversation, ImageAttachment
from model_backend.serving.factory import EngineFactory
from model_backend.serving.pool import ModelPool
from model_backend.settings import GenerationSettings, LoadSpec
from tests.media_factory import make_photo
from tests.test_batch_jobs import OWNER, SlowEngine, finished, jsonl, wait_until

SETTINGS = GenerationSettings(max_new_tokens=6, max_tiles=4)
SPEC_A = LoadSpec("demo", dtype="float32", device="cpu")
SPEC_B = LoadSpec("demo-qwen2_5", dtype="float32", device="cpu")
FLAGS = ("--model", "demo", "--model-b", "demo-qwen2_5", "--dtype", "float32", "--device", "cpu")
GENERATION = ("--max-new-tokens", "6", "--max-tiles", "4")
PHOTOS = {"a.jpg": make_photo(320, 240, seed=11), "b.jpg": make_photo(240, 320, seed=12)}


@pytest.fixture(scope="module")
def engine_b():
    from model_backend.checkpoints.loading import load_model
    from model_backend.engines.local import LocalEngine

    return LocalEngine(load_model(SPEC_B))


def one_by_one(engine, question: str, images: tuple[str, ...] = (), history: tuple[tuple[str, str], ...] = ()) -> str:
    """What the model answers to this question alone (as `ask` does), earlier turns as history."""
    attached = tuple(ImageAttachment(PHOTOS[name], name=name) for name in images)
    conversation = Conversation()
    for number, (old_question, old_answer) in enumerate(history):
        conversation.ask(old_question, images=attached if number == 0 else ())
        conversation.turns[-1].answer = old_answer
    conversation.ask(question, images=() if history else attached)
    return engine.stream(conversation, SETTINGS, threading.Event()).text()


def records(reference_a: str, reference_b: str) -> list[dict]:
    """Six questions: A's own answer as one reference, B's as another, a conversation, a missing image."""
    return [
        {"id": "own-a", "image": "a.jpg", "question": "What is this?", "answer": reference_a},
        {"id": "own-b", "image": "b.jpg", "question": "What colour?", "answer": reference_b},
        {"id": "pair", "images": ["a.jpg", "b.jpg"], "question": "Same?", "answer": "no"},
        {"id": "text", "question": "Say hello."},
        {
            "id": "talk",
            "image": "b.jpg",
            "conversations": [
                {"from": "human", "value": "<image>\nDescribe."},
                {"from": "gpt", "value": "A photo."},
                {"from": "human", "value": "More?"},
                {"from": "gpt", "value": "No."},
            ],
        },
        {"id": "gone", "image": "missing.jpg", "question": "Where?", "answer": "here"},
    ]


#: (id, turn) -> (question, images, history) as each model gets them alone.
ASKED = {
    ("own-a", 0): ("What is this?", ("a.jpg",), ()),
    ("own-b", 0): ("What colour?", ("b.jpg",), ()),
    ("pair", 0): ("Same?", ("a.jpg", "b.jpg"), ()),
    ("text", 0): ("Say hello.", (), ()),
    ("talk", 0): ("Describe.", ("b.jpg",), ()),
    ("talk", 1): ("More?", ("b.jpg",), (("Describe.", "A photo."),)),
}


def expected(engine, engine_b) -> dict[tuple[str, int], tuple[str, str]]:
    return {key: (one_by_one(engine, *asked), one_by_one(engine_b, *asked)) for key, asked in ASKED.items()}


def check_joint(rows: list[dict], answers: dict[tuple[str, int], tuple[str, str]]) -> None:
    """The joint rows against the one-by-one answers, `agree` and the hand-worked scores."""
    assert [(r["id"], r["turn"]) for r in rows] == [*ASKED, ("gone", 0)]
    for row in rows[:-1]:
        a, b = answers[(row["id"], row["turn"])]
        assert (row["prediction_a"], row["prediction_b"]) == (a, b), row["id"]
        assert (row["checkpoint_a"], row["checkpoint_b"]) == ("demo", "demo-qwen2_5")
        assert row["error_a"] is None and row["error_b"] is None
        assert row["agree"] is same_answer(a, b)
    assert sum(r["prediction_a"] != r["prediction_b"] for r in rows[:-1]) >= 3, "the two checkpoints answer alike"
    # The reference is A's own answer: A scores 1 everywhere; B by the ANLS formula, worked out here.
    own_a = rows[0]
    assert own_a["score_a"] == {"exact": 1.0, "relaxed": 1.0, "anls": 1.0}
    a, b = own_a["prediction_a"].strip().lower(), own_a["prediction_b"].strip().lower()
    distance = _edits(a, b) / max(len(a), len(b))
    assert own_a["score_b"]["anls"] == pytest.approx(1 - distance if distance < 0.5 else 0.0)
    assert own_a["score_b"]["exact"] == float(own_a["prediction_b"].strip() == own_a["prediction_a"].strip())
    assert rows[1]["score_b"] == {"exact": 1.0, "relaxed": 1.0, "anls": 1.0}  # B's own answer
    assert rows[3]["score_a"] is None and rows[3]["score_b"] is None  # no reference
    gone = rows[-1]
    assert gone["error_a"] == gone["error_b"] == "image file not found: missing.jpg"
    assert gone["agree"] is None and gone["prediction_a"] is None


def _edits(a: str, b: str) -> int:
    """Levenshtein distance, the textbook table (written again here, not the scorer's)."""
    table = [[i + j if i * j == 0 else 0 for j in range(len(b) + 1)] for i in range(len(a) + 1)]
    for i in range(1, len(a) + 1):
        for j in range(1, len(b) + 1):
            table[i][j] = min(table[i - 1][j] + 1, table[i][j - 1] + 1, table[i - 1][j - 1] + (a[i - 1] != b[j - 1]))
    return table[-1][-1]


def write_dataset(folder: Path, engine, engine_b) -> tuple[Path, dict]:
    for name, data in PHOTOS.items():
        (folder / name).write_bytes(data)
    answers = expected(engine, engine_b)
    path = folder / "ab.jsonl"
    path.write_bytes(jsonl(records(answers[("own-a", 0)][0], answers[("own-b", 0)][1])))
    return path, answers


def test_cli_ab_between_two_demo_checkpoints(tmp_path: Path, engine, engine_b, capsys) -> None:
    data, answers = write_dataset(tmp_path, engine, engine_b)
    out = tmp_path / "ab.out.jsonl"
    assert cli.main(["batch", *FLAGS, *GENERATION, str(data), "--out", str(out)]) == 0
    printed = capsys.readouterr()
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    check_joint(rows, answers)
    disagree = sum(r["agree"] is False for r in rows)
    assert "model A:\n  rows: 7  errors: 1  scored: 5" in printed.out
    assert "model B:\n  rows: 7  errors: 1  scored: 5" in printed.out
    assert f"disagree: {disagree} of 6 questions compared" in printed.out
    assert "both models fit in memory together" in printed.err
    assert rows[0]["settings"]["max_new_tokens"] == 6 and "done_a" not in rows[0]

    # --resume: nothing left to ask; the summary is read back from OUT.
    out.write_text("".join(line + "\n" for line in out.read_text().splitlines()[:-2]) + '{"id": "cut')
    assert cli.main(["batch", *FLAGS, *GENERATION, str(data), "--out", str(out), "--resume"]) == 0
    again = [json.loads(line) for line in out.read_text().splitlines() if not line.startswith('{"id": "cut')]
    fields = ("id", "turn", "prediction_a", "prediction_b", "agree")
    assert [tuple(r[f] for f in fields) for r in again] == [tuple(r[f] for f in fields) for r in rows]
    assert f"disagree: {disagree} of 6" in capsys.readouterr().out


def test_job_ab_row_by_row_then_one_after_the_other(tmp_path: Path, engine, engine_b) -> None:
    data, answers = write_dataset(tmp_path, engine, engine_b)
    pool = ModelPool(budget_gb=64.0)
    registry = BatchRegistry(EngineFactory(pool), tmp_path / "store")
    try:
        media = list(PHOTOS.items())
        run_id = registry.start_upload(OWNER, ("ab.jsonl", data.read_bytes()), media, SPEC_A, SETTINGS, target_b=SPEC_B)
        run = finished(registry, run_id)
        assert (run.status, run.done, run.total, run.errors, run.mode) == ("done", 14, 14, 2, "together")
        assert (run.checkpoint, run.checkpoint_b, run.ab) == ("demo", "demo-qwen2_5", True)
        rows = registry.joint(run_id, OWNER)
        check_joint(rows, answers)
        summary = summarize_ab(rows)
        assert summary["disagree"] == sum(r["agree"] is False for r in rows) and summary["compared"] == 6
        assert summary["a"]["errors"] == summary["b"]["errors"] == 1 and summary["a"]["latency_p50_s"] > 0

        # A budget for one model: B does not fit next to A, so A answers everything, then B.
        pool.budget_gb = 1e-6
        assert pool.evict(SPEC_B)
        run_id = registry.start_upload(OWNER, ("ab.jsonl", data.read_bytes()), media, SPEC_A, SETTINGS, target_b=SPEC_B)
        run = finished(registry, run_id)
        assert (run.status, run.done, run.mode) == ("done", 14, "one_after_other")
        assert [r["prediction_a"] for r in registry.joint(run_id, OWNER)] == [r["prediction_a"] for r in rows]
        assert [r["prediction_b"] for r in registry.joint(run_id, OWNER)] == [r["prediction_b"] for r in rows]
        seqs = {r["side"]: [] for r in registry.results(run_id, OWNER)}
        for result in registry.results(run_id, OWNER):
            seqs[result["side"]].append(result["seq"])
        assert max(seqs["a"]) < min(seqs["b"]) and len(seqs["a"]) == len(seqs["b"]) == 7  # all of A, then B
    finally:
        registry.close()
        pool.close()


def test_a_cancelled_ab_run_resumes_and_keeps_each_side_once(tmp_path: Path) -> None:
    slow_a, slow_b = SlowEngine(tokens=3, delay_s=0.05), SlowEngine(tokens=2, delay_s=0.05)
    slow_b.label = "slow engine b"
    registry = BatchRegistry(EngineFactory(), tmp_path / "store")
    try:
        questions = [{"id": n, "question": f"Question {n}"} for n in range(8)]
        run_id = registry.start_upload(OWNER, ("q.jsonl", jsonl(questions)), [], slow_a, SETTINGS, target_b=slow_b)
        wait_until(lambda: registry.get(run_id, OWNER).done >= 3, what="a few answers")
        registry.cancel(run_id, OWNER)
        run = finished(registry, run_id, timeout_s=10)
        assert run.status == "cancelled" and run.resumable and run.done < 16
        kept = registry.joint(run_id, OWNER)
        assert any(r["done_a"] and r["done_b"] for r in kept)
        registry.resume(run_id, OWNER)
        run = finished(registry, run_id)
        assert (run.status, run.done, run.total) == ("done", 16, 16)
        rows = registry.joint(run_id, OWNER)
        assert [r["id"] for r in rows] == list(range(8))
        assert all(r["prediction_a"].count("-") == 3 and r["prediction_b"].count("-") == 2 for r in rows)
        assert all(r["agree"] is False for r in rows)
        # Resuming asked only what was missing: at most the one answer cut short by the cancel again.
        assert len(slow_a.asked) <= 9 and len(slow_b.asked) <= 9
    finally:
        registry.close()


def test_an_older_store_gets_the_ab_columns(tmp_path: Path) -> None:
    store = tmp_path / "store"
    store.mkdir()
    with sqlite3.connect(store / DB_NAME) as db:  # the first version's tables, with a run in them
        db.executescript(run_records.SCHEMA)
        db.execute(
            "INSERT INTO runs (id, owner, created, updated, name, dataset, media_root, confine, target, checkpoint,"
            " settings, options, status)"
            " VALUES ('old', ?, 1, 1, 'x.jsonl', 'x', 'x', '[]', '{}', 'demo', ?, '{}', 'done')",
            (OWNER, json.dumps(SETTINGS.to_dict())),
        )
    registry = BatchRegistry(EngineFactory(), store)
    try:
        columns = {row[1] for row in registry._db.execute("PRAGMA table_info(runs)")}
        assert {"target_b", "checkpoint_b", "mode"} <= columns
        old = registry.get("old", OWNER)
        assert (old.checkpoint, old.ab, old.mode) == ("demo", False, None)
    finally:
        registry.close()


def side(side: str, line: int, prediction: str | None, error: str | None = None, **more) -> dict:
    return {
        "id": f"r{line}",
        "line": line,
        "turn": 0,
        "question": f"Q{line}",
        "reference": "cat",
        "side": side,
        "checkpoint": side.upper(),
        "prediction": prediction,
        "error": error,
        "score": None if error else score(prediction, "cat"),
        "latency_s": None if error else 1.0 + line,
        **more,
    }


def test_the_joint_table_agreement_and_downloads_from_hand_made_results() -> None:
    results = [
        side("b", 1, "cat"),
        side("a", 1, "The Cat."),  # the same once normalised
        side("a", 2, "1,234"),
        side("b", 2, "1234."),  # the same number
        side("a", 3, "dog"),
        side("b", 3, "a dog, maybe"),
        side("a", 4, None, "broken"),
        side("b", 4, "cat"),  # one side failed: they do not agree
        side("a", 5, None, "missing"),
        side("b", 5, None, "missing"),  # both failed: nothing to compare
        side("a", 6, "cat"),  # B has not answered yet
    ]
    rows = joint_rows(results)
    assert [r["id"] for r in rows] == ["r1", "r2", "r3", "r4", "r5", "r6"]
    assert [r["agree"] for r in rows] == [True, True, False, False, None, None]
    assert rows[0]["prediction_a"] == "The Cat." and rows[0]["prediction_b"] == "cat"
    assert rows[5]["done_b"] is False and rows[5]["prediction_b"] is None
    assert agreement(None, results[0]) is None
    summary = summarize_ab(rows)
    assert (summary["rows"], summary["compared"], summary["disagree"]) == (6, 4, 2)
    assert summary["a"]["rows"] == 6 and summary["b"]["rows"] == 5
    assert summary["a"]["errors"] == 2 and summary["b"]["errors"] == 1
    # Relaxed against "cat", by hand: The Cat. 1, 1,234 0, dog 0, cat 1 (A); cat 1, 1234. 0, a dog 0, cat 1 (B).
    assert summary["a"]["mean_score"]["relaxed"] == pytest.approx(2 / 4)
    assert summary["b"]["mean_score"]["relaxed"] == pytest.approx(2 / 4)
    # ANLS of "the cat." against "cat": 5 edits over 8 characters is past 0.5, so 0.
    assert rows[0]["score_a"]["anls"] == 0.0 and rows[0]["score_a"]["exact"] == 0.0
    assert summary["b"]["latency_p50_s"] == pytest.approx(3.5)  # 2, 3, 4, 5

    table = list(csv.DictReader(io.StringIO(to_csv(rows))))
    assert [row["agree"] for row in table] == ["yes", "yes", "no", "no", "", ""]
    assert table[0]["prediction_a"] == "The Cat." and table[0]["relaxed_a"] == "1" and table[0]["anls_b"] == "1"
    assert table[3]["error_a"] == "broken" and table[3]["error_b"] == ""
    lines = [json.loads(line) for line in to_jsonl(rows).splitlines()]
    assert lines[2]["agree"] is False and "done_a" not in lines[2] and "side" not in lines[2]
