"""`python -m model_backend` as a user runs it: the demo checkpoint, real files; a real subprocess for the
streamed answer, the others in this process (tests/cli_runner.py)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.cli_runner import run_cli, run_cli_process
from tests.media_factory import make_photo

JSON_KEYS = {"answer", "prompt_tokens", "visual_tokens", "tiles", "time_to_first_token_s", "tokens_per_s", "model"}


def assert_plain_error(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode != 0
    assert "Traceback" not in result.stderr, result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1, result.stderr
    return errors[0]


@pytest.fixture(scope="module")
def photo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("cli") / "photo.jpg"
    path.write_bytes(make_photo(900, 600))
    return path


def test_ask_streams_the_answer_and_ends_with_one_json_line(photo: Path) -> None:
    result = run_cli_process(
        "ask", "--model", "demo", "--dtype", "float32", "--image", str(photo), "--max-new-tokens", "24", "--json",
        "Describe the image.",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "random" in result.stderr  # the demo checkpoint's note
    lines = result.stdout.rstrip("\n").split("\n")
    record = json.loads(lines[-1])
    assert set(record) >= JSON_KEYS
    assert record["tiles"] == [7]  # 900x600 -> a 3x2 grid plus the thumbnail, within the default 12
    assert record["visual_tokens"] > 0 and record["prompt_tokens"] > record["visual_tokens"]
    assert record["new_tokens"] >= 1 and record["time_to_first_token_s"] > 0
    assert "\n".join(lines[:-1]) == record["answer"], "the streamed text differs from the answer"
    stages = record["stages"]
    assert stages["vision_cache_misses"] == 1 and stages["tiles_encoded"] == 7
    assert all(stages[name] >= 0 for name in ("preprocess_s", "vision_encoder_s", "prefill_s", "decode_s"))
    assert stages["prefill_tokens"] == record["prompt_tokens"]


def test_make_demo_writes_a_loadable_checkpoint(tmp_path: Path) -> None:
    target = tmp_path / "demo-checkpoint"
    result = run_cli("make-demo", str(target))
    assert result.returncode == 0, result.stderr
    assert (target / "config.json").is_file()

    from model_backend.checkpoints.loading import load_model
    from model_backend.settings import LoadSpec

    loaded = load_model(LoadSpec(str(target), dtype="float32", device="cpu"))
    assert hasattr(loaded.model, "chat")


def test_missing_image_file_is_one_error_line(tmp_path: Path) -> None:
    result = run_cli("ask", "--model", "demo", "--image", str(tmp_path / "nope.jpg"), "Describe the image.")
    line = assert_plain_error(result)
    assert "nope.jpg" in line and "not found" in line


def test_corrupt_image_is_one_clear_error_line(tmp_path: Path) -> None:
    bad = tmp_path / "broken.jpg"
    bad.write_bytes(b"\xff\xd8\xff\xe0 this is not really a JPEG")
    result = run_cli("ask", "--model", "demo", "--dtype", "float32", "--image", str(bad), "Describe the image.")
    line = assert_plain_error(result)
    assert "image" in line.lower()


def test_bad_setting_is_one_error_line() -> None:
    result = run_cli("ask", "--model", "demo", "--max-tiles", "99", "Hello")
    line = assert_plain_error(result)
    assert "max_tiles" in line


def test_greedy_and_sampling_flags_conflict() -> None:
    result = run_cli("ask", "--model", "demo", "--greedy", "--temperature", "0.5", "Hello")
    assert result.returncode == 2
    assert "--greedy" in result.stderr and "Traceback" not in result.stderr


def test_unreachable_server_is_one_error_line() -> None:
    result = run_cli("ask", "--server", "http://127.0.0.1:9/v1", "--server-model", "x", "Hello")
    assert_plain_error(result)


def test_bad_video_sampling_is_one_error_line(tmp_path: Path) -> None:
    video = tmp_path / "clip.mp4"
    video.write_bytes(b"checked before decoding")
    line = assert_plain_error(run_cli("ask", "--model", "demo", "--video", str(video), "--tiles-per-frame", "0", "Hi"))
    assert "tiles per frame" in line


def test_ask_answers_with_the_phi3_family_demo() -> None:
    result = run_cli("ask", "--model", "demo-phi3", "--dtype", "float32", "--max-new-tokens", "8", "--json", "Hello")
    assert result.returncode == 0, result.stderr
    record = json.loads(result.stdout.strip().splitlines()[-1])
    assert record["model"].startswith("demo") and record["thinking_tokens"] == 0


def test_ask_thinking_sends_the_cards_prompt_to_a_model_with_that_mode() -> None:
    result = run_cli("ask", "--model", "demo-qwen3", "--dtype", "float32", "--max-new-tokens", "8", "--thinking", "Hi")
    assert result.returncode == 0, result.stderr
    assert "no thinking mode" not in result.stderr
    phi3 = run_cli("ask", "--model", "demo-phi3", "--dtype", "float32", "--max-new-tokens", "4", "--thinking", "Hi")
    assert phi3.returncode == 0 and "this model has no thinking mode" in phi3.stderr


def test_the_generation_flags_state_the_ranges_the_settings_check() -> None:
    from model_backend.settings import GENERATION_RANGES

    result = run_cli("ask", "--help")
    help_text = " ".join(result.stdout.split())
    low, high = GENERATION_RANGES["max_new_tokens"]
    assert f"--max-new-tokens N {low} to {high} (default 512)" in help_text
    assert "sample with this temperature, 0.01 to 2" in help_text
    rejected = run_cli("ask", "--model", "demo", "--max-new-tokens", str(high + 1), "Hi")
    assert "max_new_tokens" in assert_plain_error(rejected)
