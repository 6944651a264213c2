"""Driving the app like a user: navigate, upload, ask, read answers."""

from __future__ import annotations

from tests.browser.conftest import wait_loaded
from tests.waiting import wait_until  # noqa: F401  (the browser tests' condition wait too)

ANSWER_TIMEOUT_MS = 120_000
# Every script run the page asked for has run (a run started after the last request has ended: see
# RUN_WATCH in conftest.py), and none runs now (Streamlit's own state, shown on stApp).
IDLE = """() => !window.__streamlitRuns.pending
  && document.querySelector('[data-testid=stApp]')?.dataset.testScriptState === 'notRunning'"""


def runs_requested(page) -> int:
    """How many script runs the page has asked the server for since it was loaded."""
    return page.evaluate("() => window.__streamlitRuns.requested")


def wait_idle(page, timeout_ms: int = 120_000) -> None:
    """Wait until the runs the page asked for (a click, a widget change) have ended and none is running.

    Widgets sent mid-run can be lost. A request is noted in the page as the app sends it, while the
    click or key press that causes it is handled, so no pause is needed for a run to start.
    """
    assert page.evaluate("() => window.__streamlitRuns !== undefined"), "the page was not opened by the browser fixture"
    page.wait_for_function(IDLE, timeout=timeout_ms)


def go(page, title: str) -> None:
    page.get_by_test_id("stSidebarNav").get_by_text(title, exact=True).click()
    page.get_by_role("heading", name=title).first.wait_for()
    wait_idle(page)


def upload(page, label: str, files: list[tuple[str, bytes, str]]) -> None:
    """Put files into the uploader whose label is `label`."""
    uploader = page.get_by_test_id("stFileUploader").filter(has_text=label).first
    payload = [{"name": name, "mimeType": mime, "buffer": data} for name, data, mime in files]
    before = runs_requested(page)
    uploader.locator("input[type=file]").set_input_files(payload)
    # The files go up first; the run that reads them is asked for once they are on the server.
    page.wait_for_function("before => window.__streamlitRuns.requested > before", arg=before, timeout=120_000)
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


class GrowthWatch:
    """The lengths the text of the `index`-th chat message goes through, as the page changes it.

    Noted in the page at every change (a MutationObserver), so none is missed however slow the test
    process is; with `cursor`, only lengths while the streaming cursor shows (text still arriving).
    Noting stops at the message's final stats caption. Start it before asking: `lengths()` waits for
    the caption and returns what was seen.
    """

    START = """([index, cursor]) => {
      const seen = [];
      window.__growth = seen;
      const note = () => {
        const message = document.querySelectorAll("[data-testid=stChatMessage]")[index];
        const text = message ? message.innerText : "";
        if (text && (cursor === null || text.includes(cursor)) && seen[seen.length - 1] !== text.length) {
          seen.push(text.length);
        }
        if (text.includes("new tokens")) observer.disconnect();
      };
      const observer = new MutationObserver(note);
      observer.observe(document.body, { subtree: true, childList: true, characterData: true });
    }"""

    def __init__(self, page, index: int, cursor: str | None = None) -> None:
        self.page, self.index = page, index
        page.evaluate(self.START, [index, cursor])

    def lengths(self) -> list[int]:
        messages(self.page).nth(self.index).get_by_text("new tokens").first.wait_for(timeout=ANSWER_TIMEOUT_MS)
        return self.page.evaluate("() => window.__growth")


def watch_growth(page, index: int, cursor: str | None = None) -> GrowthWatch:
    return GrowthWatch(page, index, cursor)


def set_max_new_tokens(page, tokens: int) -> None:
    go(page, "Settings")
    field = page.get_by_label("Max new tokens")
    field.fill(str(tokens))
    field.press("Tab")
    wait_idle(page)
    page.get_by_role("button", name="Apply / Load").click()
    page.get_by_text("Applied.").wait_for()
    wait_loaded(page)
