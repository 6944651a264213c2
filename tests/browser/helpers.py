"""Driving the app like a user: navigate, upload, ask, read answers."""

from __future__ import annotations

import time

from tests.browser.conftest import wait_loaded

ANSWER_TIMEOUT_MS = 120_000


def wait_idle(page, timeout_ms: int = 120_000) -> None:
    """Wait until the app's script run has finished (widgets sent mid-run can be lost)."""
    page.wait_for_timeout(300)  # let a just-triggered run start
    page.locator("[data-testid=stApp][data-test-script-state=notRunning]").wait_for(timeout=timeout_ms)


def go(page, title: str) -> None:
    page.get_by_test_id("stSidebarNav").get_by_text(title, exact=True).click()
    page.get_by_role("heading", name=title).first.wait_for()
    wait_idle(page)


def upload(page, label: str, files: list[tuple[str, bytes, str]]) -> None:
    """Put files into the uploader whose label is `label`."""
    uploader = page.get_by_test_id("stFileUploader").filter(has_text=label).first
    payload = [{"name": name, "mimeType": mime, "buffer": data} for name, data, mime in files]
    uploader.locator("input[type=file]").set_input_files(payload)
    wait_idle(page)


def messages(page):
    return page.get_by_test_id("stChatMessage")


def ask(page, question: str) -> None:
    box = page.get_by_test_id("stChatInputTextArea")
    box.fill(question)
    box.press("Enter")
    page.get_by_test_id("stChatMessage").filter(has_text=question).first.wait_for()


def wait_answer_done(page, count: int) -> str:
    """Wait for the `count`-th chat message (an answer) to show its stats caption; return its text."""
    answer = messages(page).nth(count - 1)
    answer.get_by_text("new tokens").first.wait_for(timeout=ANSWER_TIMEOUT_MS)
    return answer.inner_text()


def watch_growth(page, index: int, seconds: float = 30.0, cursor: str | None = None) -> list[int]:
    """Lengths of the `index`-th message's text, polled until it carries its final stats caption.

    With `cursor`, only lengths seen while the streaming cursor shows count (text still arriving).
    """
    lengths: list[int] = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        target = messages(page).nth(index)
        try:
            text = target.inner_text(timeout=200) if target.count() else ""
        except Exception:  # the element is replaced while the page redraws
            text = ""
        streaming = cursor is None or cursor in text
        if text and streaming and (not lengths or len(text) != lengths[-1]):
            lengths.append(len(text))
        if "new tokens" in text:
            break
        time.sleep(0.03)
    return lengths


def set_max_new_tokens(page, tokens: int) -> None:
    go(page, "Settings")
    field = page.get_by_label("Max new tokens")
    field.fill(str(tokens))
    field.press("Tab")
    wait_idle(page)
    page.get_by_role("button", name="Apply / Load").click()
    page.get_by_text("Applied.").wait_for()
    wait_loaded(page)


def wait_until(condition, timeout_s: float = 120.0, what: str = "condition") -> None:
    """Poll `condition` (every 0.1 s) until it holds; fail naming `what` after `timeout_s`."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)
