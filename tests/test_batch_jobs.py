"""Batch runs as server-side jobs (`model_backend.batch.registry`): to the end on the demo checkpoint,
kept in SQLite row by row, cancelled within a row, interrupted by a kill and resumed, bad rows with
their own errors, and uploads checked (size, zip entries, names that climb out of the folder).

The demo engine (fp32, CPU) answers where the answers matter; a slow scripted engine where the
timing does (cancel, kill). Every wait is on a condition, never a fixed sleep.
"""

from __future__ import annotations

import io
import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from model_backend.batch import uploads as batch_uploads
from model_backend.batch.export import to_csv, to_jsonl
from model_backend.batch.registry import DB_NAME, BatchRegistry
from model_backend.batch.uploads import BatchError, save_upload, server_dataset, server_datasets
from model_backend.conversation import AnswerStats, Conversation, ImageAttachment
from model_backend.engines.base import STREAM_ONLY, Answer
from model_backend.serving.factory import EngineFactory
from model_backend.serving.runs import FairQueue
from model_backend.settings import GenerationSettings, LoadSpec
from tests.media_factory import make_photo, make_video
from tests.waiting import wait_until

ROOT = Path(__file__).resolve().parents[1]
SETTINGS = GenerationSettings(max_new_tokens=6, max_tiles=4)
OWNER = "browser:tester"


class SlowEngine:
    """A server-like engine (no `vision`) that writes `tokens` words, `delay_s` apart, and honours stop."""

    label = "slow engine"
    capabilities = STREAM_ONLY

    def __init__(self, tokens: int = 4, delay_s: float = 0.01) -> None:
        self.tokens, self.delay_s = tokens, delay_s
        self.asked: list[str] = []
        self.after_stop = 0  # words finished after their row's stop was set

    def context_window(self) -> int | None:
        return None

    def stream(self, conversation: Conversation, settings: GenerationSettings, stop: threading.Event) -> Answer:
        question = conversation.build_prompt(settings.max_tiles).question
        self.asked.append(question)

        def produce(stats: AnswerStats) -> Iterator[str]:
            stats.prompt_tokens, stats.time_to_first_token_s = 10, 0.01
            for number in range(self.tokens):
                if stop.is_set():
                    return
                time.sleep(self.delay_s)  # the behaviour under test: a slow engine, so a row is cut mid-answer
                stats.new_tokens += 1
                self.after_stop += stop.is_set()
                yield f"{question[:8]}-{number} "

        return Answer(produce)


def jsonl(records: list) -> bytes:
    return "".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in records).encode()


@pytest.fixture
def registry(tmp_path: Path) -> Iterator[BatchRegistry]:
    made = BatchRegistry(EngineFactory(), tmp_path / "data")
    yield made
    made.close()


def finished(registry: BatchRegistry, run_id: str, timeout_s: float = 300.0):
    assert registry.wait(run_id, timeout_s), "the run did not end"
    return registry.get(run_id, OWNER)


def test_a_run_answers_every_row_like_ask_and_keeps_them_on_disk(tmp_path: Path, engine) -> None:
    data = tmp_path / "data"
    registry = BatchRegistry(EngineFactory(), data)
    photos = {name: make_photo(320, 240, seed=n) for n, name in enumerate(("a.jpg", "b.jpg"))}
    records = [
        {"id": "one", "image": "images/a.jpg", "question": "What is this?", "answer": "a cat"},
        {"id": "two", "images": ["images/a.jpg", "images/b.jpg"], "question": "Same?", "answer": ["no", "No."]},
        {
            "id": "three",
            "image": "images/b.jpg",
            "conversations": [
                {"from": "human", "value": "<image>\nDescribe."},
                {"from": "gpt", "value": "A photo."},
                {"from": "human", "value": "More?"},
                {"from": "gpt", "value": "No."},
            ],
        },
    ]
    # The browser sends file names only: images/a.jpg arrives as a.jpg and is put where the dataset says.
    run_id = registry.start_upload(OWNER, ("set.jsonl", jsonl(records)), list(photos.items()), engine, SETTINGS)
    run = finished(registry, run_id)
    assert (run.status, run.done, run.total, run.errors) == ("done", 4, 4, 0)
    results = registry.results(run_id, OWNER)
    assert [(r["id"], r["turn"]) for r in results] == [("one", 0), ("two", 0), ("three", 0), ("three", 1)]
    one = results[0]
    assert one["checkpoint"] == engine.label and one["settings"]["max_new_tokens"] == 6 and one["tiles"] == [1]
    assert one["score"] is not None and one["latency_s"] > 0 and one["prompt_tokens"] > 0

    conversation = Conversation()
    conversation.ask("What is this?", images=(ImageAttachment(photos["a.jpg"], name="a.jpg"),))
    assert one["prediction"] == engine.stream(conversation, SETTINGS, threading.Event()).text()  # as `ask` answers

    registry.close()
    reopened = BatchRegistry(EngineFactory(), data)  # a restart: everything is read back from the database
    try:
        assert [r.id for r in reopened.list(OWNER)] == [run_id]
        assert reopened.get(run_id, OWNER).status == "done"
        assert reopened.results(run_id, OWNER) == results
        assert reopened.list("browser:someone-else") == [] and reopened.results(run_id, "browser:someone-else") == []
        assert (data / DB_NAME).is_file()
    finally:
        reopened.close()


def test_every_bad_row_gets_its_own_error_and_the_run_goes_on(registry: BatchRegistry, tmp_path: Path, engine) -> None:
    outside = tmp_path / "secret.jpg"
    outside.write_bytes(make_photo(64, 64))
    records = [
        {"id": 1, "image": "a.jpg", "question": "fine", "answer": "x"},
        '{"id": 2, "question": "broken',
        {"id": 3, "image": "missing.jpg", "question": "q"},
        {"id": 4, "image": "broken.jpg", "question": "q"},
        {"id": 5, "image": str(outside), "question": "q"},  # an absolute path: never read
        {"id": 6, "image": "../../../secret.jpg", "question": "q"},  # climbing out: never read
        {"id": 7, "question": "fine as well"},
    ]
    media = [("a.jpg", make_photo(320, 240)), ("broken.jpg", make_photo(320, 240)[:300])]
    run_id = registry.start_upload(OWNER, ("bad.jsonl", jsonl(records)), media, engine, SETTINGS)
    run = finished(registry, run_id)
    assert (run.status, run.done, run.errors) == ("done", 7, 5)
    errors = {r["line"]: r["error"] for r in registry.results(run_id, OWNER)}
    assert errors[1] is None and errors[7] is None
    assert errors[2].startswith("broken JSON on line 2")
    assert errors[3] == "image file not found: missing.jpg"
    assert errors[4].startswith("broken.jpg: ")
    # Outside the run's folder reads as missing, whether or not the file exists there: no path oracle.
    assert errors[5] == f"image file not found: {outside}"
    assert errors[6] == "image file not found: ../../../secret.jpg"
    wrong = registry.results(run_id, OWNER, wrong_only=True)
    assert {r["line"] for r in wrong} >= {2, 3, 4, 5, 6}


def test_cancel_stops_within_the_row_and_keeps_what_was_answered(registry: BatchRegistry) -> None:
    slow = SlowEngine(tokens=10_000, delay_s=0.002)  # each row would take 20 s
    records = [{"id": n, "question": f"Question {n}"} for n in range(20)]
    run_id = registry.start_upload(OWNER, ("q.jsonl", jsonl(records)), [], slow, SETTINGS)
    wait_until(lambda: len(slow.asked) >= 1, what="the first row to start")
    registry.cancel(run_id, OWNER)
    run = finished(registry, run_id)
    # Within the row: at most the word under way when the cancel landed, and no other row asked.
    assert slow.after_stop <= 1 and slow.asked == ["Question 0"], (slow.after_stop, slow.asked)
    assert (run.status, run.done) == ("cancelled", 0)  # the cut-short answer is not a result
    assert run.resumable
    assert registry.results(run_id, OWNER) == []


def test_a_killed_server_keeps_every_committed_row_and_the_run_resumes(tmp_path: Path) -> None:
    data = tmp_path / "data"
    records = [{"id": n, "question": f"Question {n}", "answer": f"Question {n}"} for n in range(12)]
    dataset = tmp_path / "questions.jsonl"
    dataset.write_bytes(jsonl(records))
    script = (
        "import time\n"
        "from pathlib import Path\n"
        "from model_backend.batch.registry import BatchRegistry\n"
        "from model_backend.serving.factory import EngineFactory\n"
        "from model_backend.settings import GenerationSettings\n"
        "from tests.test_batch_jobs import OWNER, SlowEngine\n"
        f"registry = BatchRegistry(EngineFactory(), Path({str(data)!r}))\n"
        f"upload = ('questions.jsonl', Path({str(dataset)!r}).read_bytes())\n"
        "registry.start_upload(OWNER, upload, [], SlowEngine(tokens=20, delay_s=0.02), GenerationSettings())\n"
        "time.sleep(600)\n"  # the behaviour under test: the "server" stays up until the test kills it
    )
    server = subprocess.Popen([sys.executable, "-c", script], cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)})
    try:
        wait_until(lambda: _stored_results(data) >= 3, timeout_s=120, what="three results on disk")
    finally:
        server.send_signal(signal.SIGKILL)
        server.wait(30)
    kept = _stored_results(data)
    assert 3 <= kept < 12

    registry = BatchRegistry(EngineFactory(), data)  # the restart
    try:
        (run,) = registry.list(OWNER)
        assert (run.status, run.done, run.total) == ("interrupted", kept, 12) and run.resumable
        before = registry.results(run.id, OWNER)
        assert len(before) == kept
        slow = SlowEngine(tokens=2)
        registry.resume(run.id, OWNER, slow)  # an engine object is not stored: the caller gives one
        run = finished(registry, run.id)
        assert (run.status, run.done, run.errors) == ("done", 12, 0)
        after = registry.results(run.id, OWNER)
        assert [r["id"] for r in after] == list(range(12))  # dataset order, no row twice
        assert after[:kept] == before  # the rows answered before the kill are the same rows
        assert len(slow.asked) == 12 - kept  # only the rest was asked
    finally:
        registry.close()


def _stored_results(data: Path) -> int:
    try:
        with sqlite3.connect(data / DB_NAME) as db:
            return int(db.execute("SELECT count(*) FROM results").fetchone()[0])
    except sqlite3.Error:  # not created yet
        return 0


def test_closing_the_registry_leaves_a_going_run_resumable(tmp_path: Path) -> None:
    data = tmp_path / "data"
    registry = BatchRegistry(EngineFactory(), data)
    slow = SlowEngine(tokens=10_000, delay_s=0.002)
    run_id = registry.start_upload(OWNER, ("q.jsonl", jsonl([{"question": "Q?"}] * 3)), [], slow, SETTINGS)
    wait_until(lambda: slow.asked, what="the first row to start")
    registry.close()
    reopened = BatchRegistry(EngineFactory(), data)
    try:
        assert reopened.get(run_id, OWNER).status == "interrupted"
        with pytest.raises(BatchError) as refused:  # the engine object is gone with the old process
            reopened.resume(run_id, OWNER)
        assert refused.value.text.key == "batch.resume_no_model"
    finally:
        reopened.close()


def test_a_stored_checkpoint_comes_back_after_a_restart_and_takes_turns_in_the_chat_queue(
    tmp_path: Path, engine
) -> None:
    spec = LoadSpec("demo", dtype="float32", device="cpu")

    class DemoFactory(EngineFactory):
        """Lends the session's demo engine for the demo spec instead of loading it again."""

        @contextmanager
        def lease(self, target, progress=None):
            assert target == spec
            if progress:
                progress("Loading", 0.5)
            yield engine

    queue = FairQueue(1)
    registry = BatchRegistry(DemoFactory(), tmp_path / "data", queue=queue)
    try:
        chat = object()
        assert queue.enter(spec, chat, threading.Event())  # a chat answer is generating on this model
        run_id = registry.start_upload(OWNER, ("q.jsonl", jsonl([{"question": "Hi"}] * 2)), [], spec, SETTINGS)
        wait_until(lambda: queue._waiting.get(spec), what="the run to wait in the queue")
        assert registry.get(run_id, OWNER).done == 0  # it waits for its turn
        queue.leave(spec)
        run = finished(registry, run_id)
        assert run.status == "done" and run.checkpoint == "demo"
        registry.close()
        registry = BatchRegistry(DemoFactory(), tmp_path / "data", queue=queue)
        page, conversation, settings = registry.conversation(run_id, OWNER, 1)
        assert settings["load_spec"]["checkpoint"] == "demo" and settings["generation"]["max_new_tokens"] == 6
        assert page == "image" and conversation.turns[0].question == "Hi"
    finally:
        registry.close()


def test_a_row_opens_as_a_conversation_with_its_media_history_and_prediction(
    registry: BatchRegistry, tmp_path: Path
) -> None:
    video = tmp_path / "clip.mp4"
    make_video(video, seconds=1.0, fps=8)
    records = [
        {
            "id": "c",
            "image": "a.jpg",
            "conversations": [
                {"from": "human", "value": "<image>\nWhat?"},
                {"from": "gpt", "value": "A cat."},
                {"from": "human", "value": "Colour?"},
                {"from": "gpt", "value": "black"},
            ],
        },
        {"id": "m", "images": ["a.jpg", "b.jpg"], "question": "Differ?"},
        {"id": "v", "video": "clip.mp4", "question": "Happens?"},
        {"id": "e", "image": "missing.jpg", "question": "Broken?"},
    ]
    media = [
        ("a.jpg", make_photo(64, 48, seed=1)),
        ("b.jpg", make_photo(48, 64, seed=2)),
        ("clip.mp4", video.read_bytes()),
    ]
    run_id = registry.start_upload(OWNER, ("set.jsonl", jsonl(records)), media, SlowEngine(), SETTINGS)
    finished(registry, run_id)
    by_key = {(r["id"], r["turn"]): r for r in registry.results(run_id, OWNER)}

    page, conversation, _ = registry.conversation(run_id, OWNER, by_key[("c", 1)]["seq"])
    first, second = conversation.turns
    assert page == "image" and first.images[0].data == media[0][1]
    assert (first.question, first.answer) == ("What?", "A cat.")  # the history as the run asked it
    assert (second.question, second.answer) == ("Colour?", by_key[("c", 1)]["prediction"])
    assert second.stats.prompt_tokens == 10 and not second.images
    assert registry.conversation(run_id, OWNER, by_key[("m", 0)]["seq"])[0] == "multi"
    page, conversation, _ = registry.conversation(run_id, OWNER, by_key[("v", 0)]["seq"])
    assert page == "video" and conversation.turns[0].video.data == video.read_bytes()
    assert registry.conversation(run_id, "browser:someone-else", 1) is None
    with pytest.raises(BatchError):  # its image is missing: nothing to show
        registry.conversation(run_id, OWNER, by_key[("e", 0)]["seq"])
    assert registry.first_image(run_id, OWNER, by_key[("m", 0)]).name == "a.jpg"


def test_downloads_hold_every_result(registry: BatchRegistry) -> None:
    records = [{"id": n, "question": f"Q{n}", "answer": "x"} for n in range(3)]
    run_id = registry.start_upload(OWNER, ("d.csv.jsonl", jsonl(records)), [], SlowEngine(), SETTINGS)
    finished(registry, run_id)
    results = registry.results(run_id, OWNER)
    lines = [json.loads(line) for line in to_jsonl(results).splitlines()]
    assert [r["id"] for r in lines] == [0, 1, 2] and "seq" not in lines[0] and lines[0]["reference"] == "x"
    table = to_csv(results).splitlines()
    assert table[0].startswith("id,line,turn,image,images,video,question,reference,prediction,error")
    assert len(table) == 4 and table[1].startswith("0,1,0,,,,Q0,x,Q0-0 Q0-1")


def zipped(entries: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def test_a_zip_with_the_dataset_and_its_folders_runs(registry: BatchRegistry) -> None:
    archive = zipped(
        {
            "set/data.jsonl": jsonl([{"id": 1, "image": "images/a.jpg", "question": "Q"}]),
            "set/images/a.jpg": make_photo(64, 48),
            "__MACOSX/set/._a.jpg": b"junk",
        }
    )
    run_id = registry.start_upload(OWNER, None, [("set.zip", archive)], SlowEngine(), SETTINGS)
    run = finished(registry, run_id)
    assert (run.name, run.status, run.errors) == ("data.jsonl", "done", 0)
    assert not (registry.uploads / run_id / "__MACOSX").exists()


@pytest.mark.parametrize("entry", ["../evil.txt", "set/../../evil.txt", "/tmp/evil.txt", "C:/evil.txt", "..\\evil.txt"])
def test_a_zip_name_that_climbs_out_is_refused_and_nothing_is_written(tmp_path: Path, entry: str) -> None:
    folder = tmp_path / "run"
    archive = zipped({"data.jsonl": jsonl([{"question": "Q"}]), entry: b"evil"})
    with pytest.raises(BatchError) as refused:
        save_upload(folder, None, [("x.zip", archive)], 10**9)
    assert refused.value.text.key == "batch.zip_unsafe_name" and refused.value.text.params["entry"] == entry
    assert not folder.exists() and not (tmp_path / "evil.txt").exists()


def test_zip_entry_count_and_upload_size_are_limited(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(batch_uploads, "MAX_ZIP_ENTRIES", 5)
    many = zipped({f"{n}.jpg": b"x" for n in range(6)})
    with pytest.raises(BatchError) as refused:
        save_upload(tmp_path / "a", ("d.jsonl", b"{}"), [("many.zip", many)], 10**9)
    assert refused.value.text.key == "batch.zip_too_many"

    bomb = zipped({"zeros.jpg": bytes(5_000_000)})  # a few kB packed, 5 MB unpacked
    assert len(bomb) < 50_000
    with pytest.raises(BatchError) as refused:
        save_upload(tmp_path / "b", ("d.jsonl", b"{}"), [("bomb.zip", bomb)], 1_000_000)
    assert refused.value.text.key == "batch.upload_too_big" and not (tmp_path / "b").exists()

    with pytest.raises(BatchError) as refused:  # loose files: refused before anything is written
        save_upload(tmp_path / "c", ("d.jsonl", b"{}"), [("big.jpg", bytes(2_000_000))], 1_000_000)
    assert refused.value.text.key == "batch.upload_too_big" and not (tmp_path / "c").exists()

    with pytest.raises(BatchError) as refused:
        save_upload(tmp_path / "d", ("d.jsonl", b"{}"), [("bad.zip", b"not a zip")], 10**9)
    assert refused.value.text.key == "batch.zip_unreadable"


def test_an_unreadable_or_empty_dataset_is_refused_at_start(registry: BatchRegistry) -> None:
    with pytest.raises(BatchError) as refused:
        registry.start_upload(OWNER, ("t.csv", b"id,answer\n1,x\n"), [], SlowEngine(), SETTINGS)
    assert refused.value.text.key == "batch.dataset_unreadable" and "question" in refused.value.detail
    with pytest.raises(BatchError) as refused:
        registry.start_upload(OWNER, ("e.jsonl", b"\n"), [], SlowEngine(), SETTINGS)
    assert refused.value.text.key == "batch.dataset_empty"
    with pytest.raises(BatchError) as refused:
        registry.start_upload(OWNER, None, [("a.jpg", make_photo(8, 8))], SlowEngine(), SETTINGS)
    assert refused.value.text.key == "batch.no_dataset"
    assert registry.list(OWNER) == [] and not any(registry.uploads.glob("*"))  # nothing left behind


def test_datasets_on_the_server_come_from_the_configured_roots_only(tmp_path: Path, registry: BatchRegistry) -> None:
    root = tmp_path / "datasets"
    (root / "vqa" / "images").mkdir(parents=True)
    (root / "vqa" / "images" / "a.jpg").write_bytes(make_photo(64, 48))
    (root / "vqa" / "test.jsonl").write_bytes(jsonl([{"image": "images/a.jpg", "question": "Q"}]))
    (root / ".hidden").mkdir()
    (root / ".hidden" / "x.jsonl").write_bytes(b"")
    other = tmp_path / "other.jsonl"
    other.write_bytes(b"")
    assert server_datasets([root]) == [root / "vqa" / "test.jsonl"]
    with pytest.raises(BatchError):
        server_dataset(other, [root])
    with pytest.raises(BatchError):
        server_dataset(root / "vqa" / ".." / ".." / "other.jsonl", [root])
    dataset = server_dataset(root / "vqa" / "test.jsonl", [root])
    run_id = registry.start_dataset(OWNER, dataset, SlowEngine(), SETTINGS)
    assert finished(registry, run_id).errors == 0
    registry.delete(run_id, OWNER)
    assert registry.list(OWNER) == [] and (root / "vqa" / "test.jsonl").is_file()  # the server's files stay
