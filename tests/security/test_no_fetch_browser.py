"""In real Chromium: untrusted text (answers, questions, conversation titles) never makes the browser fetch.

A listener on 127.0.0.1 stands for an attacker's server. A conversation imported from a file carries every
Markdown image trick of tests/security/test_safe_markdown.py in its questions and answers, and its title
(the first question) is drawn as a button label in the conversation list. Once the page has drawn it all,
the listener must have seen no request; a control image added by the test itself proves it would have.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from playwright.sync_api import expect

from model_backend.conversation import Conversation
from tests.browser.helpers import go, messages, upload, wait_idle
from tests.security.tricks import TRICKS
from tests.waiting import wait_until

pytestmark = pytest.mark.browser


class Listener:
    """Counts the requests that reach it, by path."""

    def __init__(self) -> None:
        self.paths: list[str] = []
        listener = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                listener.paths.append(self.path)
                self.send_response(204)
                self.end_headers()

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"


@pytest.fixture
def listener() -> Iterator[Listener]:
    running = Listener()
    thread = threading.Thread(target=running.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield running
    finally:
        running.httpd.shutdown()
        running.httpd.server_close()


def _leaky_conversation(url: str) -> Conversation:
    conversation = Conversation()
    for number, (name, trick) in enumerate(sorted(TRICKS.items())):
        leak = trick.replace("http://127.0.0.1:9", url).replace("leak.png", f"{number}.png")
        turn = conversation.ask(f"{leak} ({name})")
        turn.answer = f"Answer {number}: {leak}"
    return conversation


def test_imported_markdown_images_titles_and_answers_fetch_nothing(page, listener: Listener) -> None:
    conversation = _leaky_conversation(listener.url)
    go(page, "Image chat")
    page.get_by_role("button", name=re.compile("Import")).click()
    upload(page, "A JSON export", [("leaky.json", conversation.to_json().encode(), "application/json")])
    expect(messages(page)).to_have_count(2 * len(conversation.turns), timeout=60_000)
    last = len(conversation.turns) - 1
    expect(messages(page).last).to_contain_text(f"Answer {last}:")
    # The title (the first question) is a button label in the conversation list, drawn even while collapsed.
    sidebar = page.get_by_test_id("stSidebar")
    sidebar.get_by_text("Conversations").first.click()
    expect(sidebar.get_by_role("button", name=re.compile("^▸ "))).to_be_visible()  # this conversation's title
    wait_idle(page)
    page.evaluate("() => document.fonts.ready.then(() => true)")
    page.wait_for_function("() => Array.from(document.images).every((image) => image.complete)")
    assert listener.paths == []
    # Control: an image the test adds itself is fetched, so the silence above is not a broken listener.
    page.evaluate(f"() => {{ const i = new Image(); i.src = '{listener.url}/control.png'; document.body.append(i); }}")
    wait_until(lambda: listener.paths == ["/control.png"], timeout_s=30, what="the control image's request")
