"""The same pages in real Chromium with the remote backend: a real `transformers serve` answers.

Settings switches the app to "OpenAI-compatible server" (URL, listed models, model picked), then
image chat streams, multi-image and video QA answer, Stop keeps the partial answer, and a server
that dies gives a plain-words error with the conversation kept. The tests share one browser
session (settings live in it) and run in order. Screenshot: docs/screenshots/remote-server.png.
"""

from __future__ import annotations

import os
import re
import signal
from urllib.parse import urlparse

import httpx
import psutil
import pytest
from helpers import ask, go, messages, upload, wait_answer_done, wait_idle, wait_until, watch_growth
from playwright.sync_api import expect

from tests.browser.conftest import screenshot, wait_loaded
from tests.media_factory import has_ffmpeg, make_png, make_video
from tests.server_fixture import RunningServer, start_server

pytestmark = [pytest.mark.browser, pytest.mark.server]

CURSOR = "▌"  # the app's streaming cursor: present while an answer is arriving


@pytest.fixture(scope="module")
def remote(browser, server, openai_server: RunningServer):
    """One browser session switched to the shared server: sampling, answers of up to 1500 tokens (~3 s)."""
    context = browser.new_context(viewport={"width": 1400, "height": 1200})
    tab = context.new_page()
    tab.set_default_timeout(60_000)
    try:
        tab.goto(server.url)
        wait_loaded(tab)  # the app starts on the local demo checkpoint
        use_server(tab, openai_server, max_new_tokens=1500, sampling=True)
        yield tab
    finally:
        context.close()


def use_server(page, target: RunningServer, max_new_tokens: int, sampling: bool) -> None:
    """Settings: backend, URL, list the models, pick ours, decoding; Apply; the sidebar names the server."""
    go(page, "Settings")
    page.get_by_text("OpenAI-compatible server", exact=True).click()
    wait_idle(page)
    url = page.get_by_label("Base URL", exact=True)
    url.fill(target.base_url + "/v1")
    url.press("Tab")
    wait_idle(page)
    listing = page.get_by_test_id("stCheckbox").filter(has_text="List the server's models").locator("input")
    if not listing.is_checked():
        page.get_by_text("List the server's models").click()
        wait_idle(page)
    page.get_by_test_id("stSelectbox").filter(has_text="Model").click()
    page.get_by_role("option", name=target.model).click()
    wait_idle(page)
    field = page.get_by_label("Max new tokens")
    field.fill(str(max_new_tokens))
    field.press("Tab")
    wait_idle(page)
    page.get_by_text("Sampling" if sampling else "Greedy", exact=True).click()
    wait_idle(page)
    page.get_by_role("button", name="Apply / Load").click()
    page.get_by_text("Applied.").wait_for()
    sidebar = page.get_by_test_id("stSidebar")
    sidebar.get_by_text(target.base_url + "/v1").wait_for()
    sidebar.get_by_text(target.model).wait_for()
    sidebar.get_by_text("Answers come from an OpenAI-compatible server.").wait_for()


def clear(page) -> None:
    """Clear the image chat's conversation (its button, not the uploader's)."""
    # While a rerun settles, Streamlit may keep a hidden copy of the old button: click the visible one.
    page.locator(".st-key-clear_image button").locator("visible=true").click()
    expect(messages(page)).to_have_count(0, timeout=60_000)  # the outcome: the conversation is empty
    wait_idle(page)


def test_image_chat_streams_from_the_server(remote, openai_server: RunningServer) -> None:
    page = remote
    go(page, "Image chat")
    upload(page, "Upload an image", [("red-panda.png", make_png(320, 240, seed=1), "image/png")])
    page.get_by_text("visual tokens").first.wait_for()  # the tile preview
    # A random model may end its sampled answer after a few tokens: give streaming up to three answers to show.
    questions = ["What is in this picture?", "Describe it in more detail.", "And the colours?"]
    for number, question in enumerate(questions):
        growth = watch_growth(page, 2 * number + 1, cursor=CURSOR)
        ask(page, question)
        lengths = growth.lengths()
        wait_answer_done(page, 2 * number + 2)
        if len(lengths) >= 3 and lengths[-1] > lengths[0]:
            break
    assert len(lengths) >= 3 and lengths[-1] > lengths[0], f"no answer grew across polls: {lengths}"
    assert "tokens/s" in messages(page).nth(2 * number + 1).inner_text()
    sidebar = page.get_by_test_id("stSidebar").inner_text()
    assert openai_server.base_url in sidebar and openai_server.model in sidebar
    # The local model's panel is gone (the server-wide list of loaded checkpoints may stay).
    assert not page.get_by_test_id("stSidebar").get_by_text("Loaded", exact=True).count()
    page.get_by_role("heading", name="Image chat").first.scroll_into_view_if_needed()  # the title on top
    screenshot(page, "remote-server")


def test_multi_image_compare_answers_from_the_server(remote) -> None:
    page = remote
    go(page, "Multi-image compare")
    files = [
        ("red.png", make_png(320, 240, seed=1), "image/png"),
        ("blue.png", make_png(200, 300, seed=2), "image/png"),
    ]
    upload(page, "Upload 2 to", files)
    page.get_by_text("Image-2: blue.png").first.wait_for()
    ask(page, "What differs between Image-1 and Image-2?")
    text = wait_answer_done(page, 2)
    assert "tokens/s" in text
    assert not page.get_by_test_id("stAlertContentError").count()


@pytest.mark.skipif(not has_ffmpeg(), reason="ffmpeg makes the test video")
def test_video_qa_answers_from_the_server(remote, tmp_path) -> None:
    page = remote
    clip = make_video(tmp_path / "clip.mp4", seconds=3, fps=10, size=(320, 240))
    go(page, "Video QA")
    upload(page, "Upload a video", [("clip.mp4", clip.read_bytes(), "video/mp4")])
    page.get_by_text(re.compile(r"Frame8 · \d")).first.wait_for()
    ask(page, "What happens in this clip?")
    text = wait_answer_done(page, 2)
    assert "tokens/s" in text
    assert not page.get_by_test_id("stAlertContentError").count()


def open_connections(app, target: RunningServer) -> int:
    """The app's open TCP connections to the answer server (a streamed answer holds one)."""
    port = urlparse(target.base_url).port
    connections = psutil.Process(app.process.pid).net_connections(kind="tcp")
    return sum(1 for c in connections if c.raddr and c.raddr.port == port and c.status == psutil.CONN_ESTABLISHED)


def test_stop_keeps_the_partial_answer_and_the_server_stops(remote, server, openai_server: RunningServer) -> None:
    page = remote
    # Greedy never ends on its own here (the random model repeats newlines): 16384 tokens are ~35 s of answer.
    use_server(page, openai_server, max_new_tokens=16384, sampling=False)
    go(page, "Image chat")
    clear(page)
    ask(page, "Tell me a very long story.")
    answer = messages(page).nth(1)
    answer.get_by_text(CURSOR).wait_for()  # tokens are arriving
    page.get_by_role("button", name=re.compile("Stop")).click()
    answer.get_by_text("Stopped: partial answer").wait_for(timeout=30_000)
    wait_idle(page)
    kept = answer.inner_text()
    tokens = int(re.search(r"([\d,]+) new tokens", kept).group(1).replace(",", ""))
    assert 0 < tokens < 16384, kept
    # What the app controls: Stop closes its stream to the server (keep-alive connections are not kept).
    wait_until(lambda: open_connections(server, openai_server) == 0, 60, "the app to close its stream")
    # No more tokens reach the page: after another run of it, the answer and its count are the same.
    go(page, "Settings")
    go(page, "Image chat")
    expect(messages(page)).to_have_count(2)
    expect(messages(page).nth(1)).to_have_text(kept, use_inner_text=True)
    # The server generates one request at a time, so it answers a new one only once the stopped answer's
    # generation has ended (it notices the closed stream at its next token): it is free again, not stuck.
    reply = httpx.post(
        f"{openai_server.base_url}/v1/chat/completions",
        json={"model": openai_server.model, "messages": [{"role": "user", "content": "Hi"}], "max_tokens": 1},
        timeout=600,  # an upper bound for a stuck server to fail the test, not a timing
    )
    assert reply.status_code == 200 and reply.json()["usage"]["completion_tokens"] == 1, reply.text


def test_dead_server_gives_a_clear_error_and_keeps_the_conversation(remote, hf_home, tmp_path) -> None:
    page = remote
    doomed = start_server(hf_home, tmp_path)  # its own server: the shared one must survive
    try:
        use_server(page, doomed, max_new_tokens=200, sampling=True)
        go(page, "Image chat")
        clear(page)
        ask(page, "Hello, second server?")
        wait_answer_done(page, 2)
        os.killpg(doomed.process.pid, signal.SIGKILL)  # a crash, not a clean shutdown
        doomed.process.wait(timeout=10)
        ask(page, "Are you still there?")
        error = page.get_by_test_id("stAlertContentError").filter(has_text="Could not connect")
        error.wait_for(timeout=30_000)
        assert error.inner_text().strip() == (
            f"Could not connect to the server at {doomed.base_url}/v1. It may have stopped, or the address may be "
            "wrong: start the server (or correct its address on the Settings page), then send the question again."
        )
        assert messages(page).filter(has_text="Hello, second server?").count() == 1
        assert "new tokens" in messages(page).nth(1).inner_text()  # the earlier answer is still shown
        page.get_by_test_id("stChatInputTextArea").wait_for()  # and the page still takes questions
    finally:
        doomed.stop()
