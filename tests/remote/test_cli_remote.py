"""`python -m model_backend ask --server ...` against the real `transformers serve` (see conftest.py)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.media_factory import make_photo
from tests.server_fixture import ROOT, RunningServer, free_port

pytestmark = pytest.mark.server


def _cli(*args: str) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "model_backend", "ask", *args]
    return subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=120)


def test_ask_streams_an_answer_about_an_image(server: RunningServer, tmp_path: Path) -> None:
    image = tmp_path / "x.jpg"
    image.write_bytes(make_photo(120, 90))
    done = _cli(
        "--server", server.base_url, "--server-model", server.model, "--image", str(image),
        "--max-new-tokens", "6", "--json", "Describe the image.",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    record = json.loads(done.stdout.strip().splitlines()[-1])
    assert record["new_tokens"] == 6
    assert record["answer"]
    assert record["prompt_tokens"] > 20  # the image's tiles are in the prompt
    assert record["model"] == f"server {server.model} @ {server.base_url.removeprefix('http://')}"


def test_ask_without_a_model_name_uses_the_first_listed_model(server: RunningServer) -> None:
    done = _cli("--server", server.base_url + "/v1", "--max-new-tokens", "3", "--json", "Hello")
    assert done.returncode == 0, done.stderr
    assert server.model in json.loads(done.stdout.strip().splitlines()[-1])["model"]


def test_ask_reports_a_server_that_is_not_running() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    done = _cli("--server", url, "--server-model", "m", "Hello")
    assert done.returncode != 0
    assert f"Could not connect to the server at {url}. It may have stopped, or the address may be wrong" in done.stderr
