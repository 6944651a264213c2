"""Answer runs: answers on server threads, stop, the fair queue, errors, and no leaks after many stops."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from i18n import Text
from model_backend.conversation import AnswerStats, Conversation, ImageAttachment, Turn
from model_backend.engines.base import STREAM_ONLY, Answer
from model_backend.serving.factory import EngineFactory
from model_backend.serving.runs import RunRegistry, error_message, explain
from model_backend.serving.workspace import Workspace
from model_backend.settings import GenerationSettings
from model_backend.storage.store import ConversationStore
from tests.test_local_engine_streaming import LongAnswer, ask, slow_model  # noqa: F401  (fixture)
from tests.waiting import wait_until


class Saves:
    def __init__(self) -> None:
        self.calls: list[tuple[str | None, str]] = []

    def __call__(self, conversation: Conversation, streaming: Turn | None, partial: str) -> None:
        self.calls.append((None if streaming is None else streaming.question, partial))


def test_a_run_answers_exactly_like_the_engine_and_saves_the_result(engine) -> None:
    settings = GenerationSettings(max_new_tokens=24)
    expected = engine.stream(ask("Describe a lighthouse."), settings, threading.Event()).text()
    conversation, saves = ask("Describe a lighthouse."), Saves()
    run = RunRegistry(EngineFactory()).start("c1", conversation, settings, engine, saves)
    assert run.wait_done(120)
    assert conversation.turns[-1].answer == expected
    assert conversation.turns[-1].stats.new_tokens > 0 and not conversation.turns[-1].stopped
    assert saves.calls[-1] == (None, "")  # the final save has no streaming turn


def test_stop_ends_the_run_within_a_few_tokens_and_keeps_the_partial_answer(engine, slow_model) -> None:  # noqa: F811
    conversation, saves = ask(), Saves()
    runs = RunRegistry(EngineFactory())
    run = runs.start("c1", conversation, LongAnswer(max_new_tokens=400), engine, saves)
    wait_until(lambda: run.view().text, what="the first words of the answer")
    assert saves.calls == [] or saves.calls[-1][0] == conversation.turns[-1].question
    runs.stop("c1")
    assert run.done
    turn = conversation.turns[-1]
    assert turn.stopped and turn.answer and turn.stats.new_tokens < 60
    assert runs.get("c1") is None


def test_answers_beyond_the_cap_wait_in_line_and_can_be_stopped_there(engine, slow_model) -> None:  # noqa: F811
    runs = RunRegistry(EngineFactory(), max_concurrent=1)
    first = runs.start("a", ask(), LongAnswer(max_new_tokens=400), engine, Saves())
    wait_until(lambda: first.view().status == "streaming", what="the first answer to stream")
    waiting_conversation = ask("Second question")
    second = runs.start("b", waiting_conversation, LongAnswer(max_new_tokens=400), engine, Saves())
    wait_until(lambda: second.view().ahead == 1, what="the second answer to wait in line")
    assert second.view().status == "waiting" and second.view().text == ""
    runs.stop("b")
    assert second.done and waiting_conversation.turns[-1].stopped and waiting_conversation.turns[-1].answer == ""
    assert not first.done, "stopping a waiting answer must not touch the running one"
    runs.stop("a")
    assert first.done


class HeldEngine:
    """An engine whose answer starts only when the test releases it, and which reports a 0 s first token
    of its own: whatever the run reports beyond that is time the user spent waiting before the engine."""

    label = "held"
    capabilities = STREAM_ONLY

    def __init__(self) -> None:
        self.release = threading.Event()

    def stream(self, conversation: Conversation, settings: GenerationSettings, stop: threading.Event) -> Answer:
        def pieces(stats: AnswerStats) -> Iterator[str]:
            self.release.wait(120)
            stats.time_to_first_token_s, stats.new_tokens = 0.0, 2
            yield from ("Hel", "lo")

        return Answer(pieces)

    def context_window(self) -> int | None:
        return None


def test_the_first_tokens_time_counts_from_the_question_not_from_the_engine() -> None:
    held = HeldEngine()
    conversation = ask("Wait for me")
    run = RunRegistry(EngineFactory()).start("c1", conversation, GenerationSettings(), held, Saves())
    started = time.monotonic()  # after the run noted when the question was asked
    wait_until(lambda: run.view().status == "streaming", what="the engine to be asked")
    released = time.monotonic()
    held.release.set()
    assert run.wait_done(120)
    # Clock readings in order, not a duration: the first word came after the release, the question before `started`.
    assert conversation.turns[-1].stats.time_to_first_token_s >= released - started > 0


def test_an_error_becomes_the_turns_message_and_the_history_is_kept(engine) -> None:
    conversation = ask("first")
    conversation.turns[-1].answer = "kept"
    conversation.ask("second", images=(ImageAttachment(b"not an image at all", "broken.png"),))
    run = RunRegistry(EngineFactory()).start("c", conversation, GenerationSettings(), engine, Saves())
    assert run.wait_done(60)
    turn = conversation.turns[-1]
    assert turn.error == Text("media.image.upload_not_an_image") and turn.answer is None
    assert turn.error.render("zh") == "这个文件不是本应用能读取的图片。请使用 PNG、JPEG、WebP、GIF 或 BMP 文件。"
    assert turn.error_detail and "cannot identify image file" in turn.error_detail  # the library's words, apart
    assert conversation.turns[0].answer == "kept"


def test_an_unexpected_failure_is_said_in_general_words_with_the_exception_as_detail() -> None:
    message, detail = explain(ZeroDivisionError("division by zero"))
    assert message == Text("engine.unexpected")
    assert message.render("zh") == "回答失败，原因不明。请重试；下方的详细信息可用于报告问题。"
    assert detail == "ZeroDivisionError: division by zero"
    # The batch results and logs get the English words with the detail.
    assert error_message(ZeroDivisionError("division by zero")) == (
        "Answering failed for a reason this app does not know. Try again; the details below help to report it. "
        "(ZeroDivisionError: division by zero)"
    )


def _process_threads() -> int:
    return len(list(Path("/proc/self/task").iterdir()))


def _rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


def test_fifty_stopped_answers_leave_no_threads_or_memory_behind(engine, tmp_path: Path) -> None:
    workspace = Workspace(ConversationStore(tmp_path), RunRegistry(EngineFactory()))

    def one_stopped_answer() -> None:
        live = workspace.draft("alice", "image")
        live.conversation.ask("Tell me a long story")
        run = workspace.answer(live, LongAnswer(max_new_tokens=200), engine)
        wait_until(lambda: run.view().text, what="the first words of the answer")
        workspace.runs.stop(live.id)
        assert run.done

    for _ in range(5):  # warm up allocator pools and thread-local caches
        one_stopped_answer()
    threads, rss = _process_threads(), _rss_mb()
    for _ in range(50):
        one_stopped_answer()
    wait_until(lambda: _process_threads() <= threads, what="the stopped answers' threads to end")
    assert _process_threads() <= threads
    assert _rss_mb() - rss < 60, f"memory grew by {_rss_mb() - rss:.0f} MB over 50 stopped answers"


@pytest.mark.parametrize("restart", [False, True])
def test_the_workspace_brings_a_conversation_back_after_a_restart(engine, tmp_path: Path, restart: bool) -> None:
    workspace = Workspace(ConversationStore(tmp_path), RunRegistry(EngineFactory()))
    live = workspace.draft("alice", "video")
    assert workspace.list("alice") == []  # a draft leaves no entry until it has a question
    live.conversation.ask("Describe a lighthouse.")
    assert workspace.answer(live, GenerationSettings(max_new_tokens=16), engine).wait_done(60)
    if restart:
        workspace = Workspace(ConversationStore(tmp_path), RunRegistry(EngineFactory()))
    again = workspace.open(live.id, "alice")
    assert again.conversation.turns == live.conversation.turns and again.page == "video"
    assert workspace.open(live.id, "bob") is None
