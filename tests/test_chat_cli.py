"""`python -m model_backend chat`: one conversation over stdin lines, on the same engine (and caches) as ask."""

from __future__ import annotations

import json
import subprocess
import threading
from pathlib import Path

from model_backend.conversation import Conversation, ImageAttachment
from model_backend.settings import GenerationSettings
from tests.cli_runner import run_cli
from tests.media_factory import make_photo


def run_chat(stdin: str, *args: str) -> subprocess.CompletedProcess[str]:
    flags = ("--model", "demo", "--dtype", "float32", "--device", "cpu", "--max-new-tokens", "12", *args)
    return run_cli("chat", *flags, stdin=stdin)


def test_chat_keeps_the_conversation_and_prints_one_json_line_per_answer(tmp_path: Path, engine) -> None:
    photo = tmp_path / "photo.jpg"
    photo.write_bytes(make_photo(640, 480))
    result = run_chat("What is this?\n\nAnd the colours?\n", "--image", str(photo), "--json")
    assert result.returncode == 0, result.stderr
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["turn"] for r in records] == [1, 2]
    first, second = records
    assert second["prompt_tokens"] > first["prompt_tokens"] + first["new_tokens"]  # the history was sent
    assert second["stages"]["vision_cache_hits"] >= 1  # the photo's features were kept from turn 1
    assert second["stages"]["reused_tokens"] >= first["prompt_tokens"]  # and turn 1's computed prompt

    # The same conversation through the engine in-process gives the same greedy answers.
    conversation = Conversation()
    image = ImageAttachment(photo.read_bytes(), photo.name)
    settings = GenerationSettings(max_new_tokens=12)
    for question, expected in (("What is this?", first), ("And the colours?", second)):
        conversation.ask(question, images=(image,) if not conversation.turns else ())
        conversation.turns[-1].answer = engine.stream(conversation, settings, threading.Event()).text()
        assert conversation.turns[-1].answer == expected["answer"]


def test_no_prefix_reuse_computes_every_prompt_in_full() -> None:
    result = run_chat("Hello\nAnd then?\n", "--json", "--no-prefix-reuse")
    assert result.returncode == 0, result.stderr
    second = [json.loads(line) for line in result.stdout.splitlines()][1]
    assert second["stages"]["reused_tokens"] == 0
    assert second["stages"]["prefill_tokens"] == second["prompt_tokens"]


def test_a_failed_question_is_reported_and_the_chat_goes_on(tmp_path: Path) -> None:
    result = run_chat("Hello\n", "--image", str(tmp_path / "missing.png"))
    assert result.returncode != 0 and "error:" in result.stderr and "Traceback" not in result.stderr
    text = run_chat("One\nTwo\n")
    assert text.returncode == 0, text.stderr
    assert len([line for line in text.stdout.splitlines() if line.strip()]) >= 1
