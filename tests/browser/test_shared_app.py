"""The app shared by several people: answers on the server, conversations that survive, access control.

Real `streamlit run` processes, real SQLite, real Chromium. Every wait is on a condition.
"""

from __future__ import annotations

import http.server
import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from helpers import ask, go, messages, set_max_new_tokens, upload, wait_answer_done, wait_idle, wait_until
from playwright.sync_api import expect

from model_backend.conversation import Conversation
from tests.browser.conftest import ROOT, launch_app, screenshot, stop_app, wait_loaded

pytestmark = pytest.mark.browser
LONG = "Tell me a very long story."


def new_tab(browser, url: str, path: str = ""):
    context = browser.new_context(viewport={"width": 1400, "height": 1200})
    tab = context.new_page()
    tab.set_default_timeout(60_000)
    tab.goto(url + path)
    return tab


def answer_text(page, index: int) -> str:
    target = messages(page).nth(index)
    try:
        return target.inner_text(timeout=500) if target.count() else ""
    except Exception:  # redrawn while read
        return ""


def visible(locator):
    """The shown match: while a rerun settles, Streamlit may keep a hidden copy of an element."""
    return locator.locator("visible=true").first


def conversation_link(page) -> str:
    wait_until(lambda: "c=" in page.url, 60, "the conversation id in the URL")
    return page.url


def stored_partial(data_dir: Path) -> str:
    """The partial answer the store holds for a streaming turn ('' if none yet)."""
    database = data_dir / "conversations.sqlite3"
    if not database.exists():
        return ""
    with sqlite3.connect(f"file:{database}?mode=ro", uri=True) as db:
        for (body,) in db.execute("SELECT body FROM conversations"):
            for turn in json.loads(body):
                if turn.get("streaming") and turn.get("answer"):
                    return turn["answer"]
    return ""


def click_stop_if_still_there(page) -> None:
    """Stop the streaming answer; it may have finished on its own just before the click lands."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    stop = page.get_by_role("button", name=re.compile("Stop"))
    try:
        stop.click(timeout=5_000)
    except PlaywrightTimeout:
        assert not stop.count(), "the Stop button is there but cannot be clicked"


def sidebar_residents(page) -> str:
    """The text of the sidebar's list of loaded checkpoints (opened if it is closed)."""
    sidebar = page.get_by_test_id("stSidebar")
    title = re.compile(r"Loaded on this server \(\d\)")
    header = sidebar.get_by_text(title).first
    visible(header).wait_for()
    expander = sidebar.get_by_test_id("stExpander").filter(has_text=title).first
    if "Memory budget" not in expander.inner_text():
        visible(header).click()
        visible(expander.get_by_text("Memory budget")).wait_for()
    # The rows arrive after the caption on a busy server: wait for one Unload button per model.
    count = int(re.search(r"\((\d)\)", header.inner_text()).group(1))
    unload = expander.get_by_role("button", name="Unload").locator("visible=true")
    wait_until(lambda: unload.count() >= count, 60, f"{count} loaded models listed")
    return expander.inner_text()


def test_a_refresh_brings_the_conversation_back(page) -> None:
    ask(page, "Remember this question")
    first = wait_answer_done(page, 2)
    link = conversation_link(page)
    page.reload()
    wait_loaded(page)
    messages(page).filter(has_text="Remember this question").first.wait_for()
    assert wait_answer_done(page, 2).split("first token")[0] == first.split("first token")[0]
    assert page.url == link
    sidebar = page.get_by_test_id("stSidebar")
    visible(sidebar.get_by_text("Conversations", exact=True)).click()
    visible(sidebar.get_by_role("button", name=re.compile("Remember this question"))).wait_for()
    screenshot(page, "conversation-list")


def test_while_a_new_conversations_first_answer_streams_it_is_linked_and_cannot_be_changed(page) -> None:
    set_max_new_tokens(page, 2000)
    go(page, "Image chat")
    ask(page, LONG)
    stop = page.get_by_role("button", name=re.compile("Stop"))
    stop.first.wait_for()  # the first answer is being written
    link = conversation_link(page)  # already linked: not only once the answer ends
    for action in ("Regenerate", "Clear"):  # they would change or drop the answer being written
        expect(visible(page.get_by_role("button", name=action))).to_be_disabled()
    assert stop.count() > 0, "the answer ended before the link and the actions could be checked"
    page.reload()
    wait_loaded(page)
    assert page.url == link
    messages(page).filter(has_text=LONG).first.wait_for()  # the refresh came back to this conversation
    click_stop_if_still_there(page)
    wait_idle(page)


def test_the_conversation_list_starts_searches_renames_and_deletes(page) -> None:
    sidebar = page.get_by_test_id("stSidebar")

    def listed(title: str) -> int:
        return sidebar.get_by_role("button", name=re.compile(title)).locator("visible=true").count()

    ask(page, "About the lighthouse")
    wait_answer_done(page, 2)
    visible(sidebar.get_by_text("Conversations", exact=True)).click()
    visible(sidebar.get_by_role("button", name="New conversation")).click()
    wait_until(lambda: messages(page).count() == 0, 60, "an empty new conversation")
    ask(page, "About the harbour")
    wait_answer_done(page, 2)
    visible(sidebar.get_by_role("button", name=re.compile("About the lighthouse"))).wait_for()
    search = visible(sidebar.get_by_label("Search", exact=True))
    search.fill("harbour")
    search.press("Enter")
    wait_until(lambda: listed("About the lighthouse") == 0, 60, "the search to leave the lighthouse out")
    visible(sidebar.get_by_role("button", name=re.compile("About the harbour"))).wait_for()
    title = visible(sidebar.get_by_label("Rename this conversation", exact=True))
    title.fill("Harbour notes")
    title.press("Enter")
    wait_idle(page)
    visible(sidebar.get_by_role("button", name="Rename")).click()
    visible(sidebar.get_by_role("button", name=re.compile("Harbour notes"))).wait_for()
    search.fill("")
    search.press("Enter")
    visible(sidebar.get_by_role("button", name=re.compile("About the lighthouse"))).wait_for()
    visible(sidebar.get_by_role("button", name="Delete")).click()
    wait_until(lambda: messages(page).count() == 0, 60, "a new conversation in the deleted one's place")
    wait_until(lambda: listed("Harbour notes") == 0, 60, "the deleted conversation to leave the list")
    visible(sidebar.get_by_role("button", name=re.compile("About the lighthouse"))).click()
    messages(page).filter(has_text="About the lighthouse").first.wait_for()


def test_leaving_the_page_mid_answer_does_not_stop_it(page) -> None:
    set_max_new_tokens(page, 4000)
    go(page, "Image chat")
    ask(page, LONG)
    wait_until(lambda: len(answer_text(page, 1)) > 20, what="the first words")
    left_with = len(answer_text(page, 1))
    go(page, "Settings")
    go(page, "Image chat")
    messages(page).filter(has_text=LONG).first.wait_for()

    def went_on() -> bool:
        text = answer_text(page, 1)
        return len(text) > left_with + 40 or "new tokens" in text

    wait_until(went_on, what="the answer to go on (or finish) while the page was away")
    finished_while_away = "new tokens" in answer_text(page, 1)
    if finished_while_away:  # on its own: leaving the page did not stop it
        assert "Stopped" not in answer_text(page, 1)
    else:
        click_stop_if_still_there(page)
        wait_answer_done(page, 2)
    set_max_new_tokens(page, 256)


def test_a_markdown_image_in_an_imported_answer_is_never_fetched(page) -> None:
    requests: list[str] = []

    class Recorder(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            requests.append(self.path)
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args) -> None:
            pass

    spy = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Recorder)
    threading.Thread(target=spy.serve_forever, daemon=True).start()
    leak = f"http://127.0.0.1:{spy.server_port}/leak.png?data=secret"
    try:
        conversation = Conversation()
        conversation.ask(f"Look ![question pixel]({leak}&from=question)").answer = f"Sure ![tracking pixel]({leak})"
        go(page, "Image chat")
        visible(page.get_by_role("button", name=re.compile("Import"))).click()
        upload(page, "A JSON export", [("leak.json", conversation.to_json().encode(), "application/json")])
        page.get_by_text("image: tracking pixel").first.wait_for()
        page.get_by_text("image: question pixel").first.wait_for()
        # Control: the same spy is reachable from the page, so silence means nothing was asked.
        page.evaluate(f"fetch({json.dumps(leak + '&control=1')}, {{mode: 'no-cors'}}).catch(() => null)")
        wait_until(lambda: any("control=1" in r for r in requests), 30, "the control request")
        assert [r for r in requests if "control=1" not in r] == []
    finally:
        spy.shutdown()


def test_two_sessions_on_two_checkpoints_answer_without_evicting_each_other(browser, server, tmp_path) -> None:
    folder = tmp_path / "finetune"
    subprocess.run([sys.executable, "-m", "model_backend", "make-demo", str(folder)], cwd=ROOT, check=True)
    first, second = new_tab(browser, server.url), new_tab(browser, server.url)
    try:
        wait_loaded(first)
        wait_loaded(second)
        go(second, "Settings")
        visible(second.get_by_text("Local folder", exact=True)).click()
        wait_idle(second)
        second.get_by_label("Checkpoint folder path", exact=True).fill(str(folder))
        second.get_by_label("Checkpoint folder path", exact=True).press("Tab")
        wait_idle(second)
        visible(second.get_by_role("button", name="Apply / Load")).click()
        second.get_by_test_id("stSidebar").get_by_text(str(folder)).first.wait_for()
        wait_loaded(second)
        go(second, "Image chat")
        for round_number in (1, 2):
            ask(first, f"First tab, round {round_number}")
            ask(second, f"Second tab, round {round_number}")
            wait_answer_done(first, 2 * round_number)
            wait_answer_done(second, 2 * round_number)
        for tab in (first, second):
            tab.reload()
            wait_loaded(tab)
            text = sidebar_residents(tab)
            assert "Loaded on this server (2)" in text and str(folder) in text

        # A failed load in the second session leaves both loaded models in place for the first.
        go(second, "Settings")
        visible(second.get_by_text("Hub id", exact=True)).click()
        wait_idle(second)
        second.get_by_label("Hub id (owner/name)", exact=True).fill("OpenGVLab/No-Such-Model-1B")
        second.get_by_label("Hub id (owner/name)", exact=True).press("Tab")
        wait_idle(second)
        visible(second.get_by_text("Allow this checkpoint's own code")).click()
        visible(second.get_by_role("button", name="Apply / Load")).click()
        visible(second.get_by_test_id("stSidebar").get_by_text("Could not download")).wait_for(timeout=60_000)
        ask(first, "Still there?")
        wait_answer_done(first, 6)
        assert "Loaded on this server (2)" in sidebar_residents(first)
        screenshot(first, "two-checkpoints")
    finally:
        first.context.close()
        second.context.close()


def test_six_sessions_at_once_answer_without_cross_talk(browser, server) -> None:
    tabs = [new_tab(browser, server.url) for _ in range(6)]
    try:
        for tab in tabs:
            wait_loaded(tab)
        for number, tab in enumerate(tabs):
            box = tab.get_by_test_id("stChatInputTextArea")
            box.fill(f"Question from visitor {number}")
            box.press("Enter")
        for number, tab in enumerate(tabs):
            wait_answer_done(tab, 2)
            bubbles = tab.get_by_test_id("stChatMessage").all_inner_texts()
            questions = [b.strip().splitlines()[-1] for b in bubbles if "visitor" in b]  # less the avatar icon
            assert questions == [f"Question from visitor {number}"], questions
    finally:
        for tab in tabs:
            tab.context.close()


@pytest.fixture
def own_app(tmp_path: Path) -> Iterator[dict]:
    """An app of the test's own (so it may be killed), and the folder that outlives it."""
    handle = {"folder": tmp_path / "app", "server": launch_app(tmp_path / "app")}
    yield handle
    stop_app(handle["server"])


def test_kill_9_mid_answer_then_restart_brings_everything_back(browser, own_app) -> None:
    data = own_app["folder"] / "data"
    tab = new_tab(browser, own_app["server"].url)
    try:
        wait_loaded(tab)
        ask(tab, "A first question")
        wait_answer_done(tab, 2)
        first_answer = answer_text(tab, 1).split("first token")[0].strip()
        set_max_new_tokens(tab, 4000)
        go(tab, "Image chat")
        ask(tab, LONG)
        wait_until(lambda: len(stored_partial(data)) > 10, what="the partial answer to be saved")
        link = conversation_link(tab)
        os.kill(own_app["server"].process.pid, signal.SIGKILL)
        own_app["server"].process.wait(20)
        kept = stored_partial(data)

        own_app["server"] = launch_app(own_app["folder"])  # cold: the first hit is a deep link
        path = link.split("/", 3)[3]
        tab.goto(f"{own_app['server'].url}/{path}")
        wait_loaded(tab)
        visible(tab.get_by_text("Interrupted: the server stopped")).wait_for()
        assert tab.get_by_test_id("stSidebarNav").get_by_text("Multi-image compare").count() == 1
        assert first_answer in answer_text(tab, 1)
        assert kept[:40].strip() in answer_text(tab, 3)
        visible(tab.get_by_text(re.compile(r"\+ 4,000 answer budget"))).wait_for()  # its settings came back too
        screenshot(tab, "restored-after-restart")
    finally:
        tab.context.close()


def test_a_direct_link_to_a_page_works_on_a_cold_server(browser, own_app) -> None:
    tab = new_tab(browser, own_app["server"].url, "/video_qa")
    try:
        tab.get_by_role("heading", name="Video QA").first.wait_for()
        wait_loaded(tab)
        nav = tab.get_by_test_id("stSidebarNav")
        assert nav.get_by_text("Multi-image compare").count() == 1
        assert nav.get_by_text("video qa", exact=True).count() == 0  # no file-name navigation
    finally:
        tab.context.close()


def test_the_password_gate_lets_in_only_the_right_password(browser, tmp_path) -> None:
    gated = launch_app(tmp_path / "gated", {"INTERNVL_PASSWORD": "open sesame"})
    tab = new_tab(browser, gated.url)
    try:
        field = visible(tab.get_by_label("Password", exact=True))
        field.fill("wrong")
        visible(tab.get_by_role("button", name="Enter")).click()
        visible(tab.get_by_text("That password is not right.")).wait_for()
        assert tab.get_by_test_id("stChatInputTextArea").count() == 0
        field.fill("open sesame")
        visible(tab.get_by_role("button", name="Enter")).click()
        wait_loaded(tab)
        visible(tab.get_by_test_id("stChatInputTextArea")).wait_for()
        # A user (not an admin) may not load hub ids or folders.
        go(tab, "Settings")
        visible(tab.get_by_text("An admin can load other checkpoints")).wait_for()
        assert tab.get_by_text("Local folder", exact=True).count() == 0
    finally:
        tab.context.close()
        stop_app(gated)


def test_a_question_beyond_the_cap_waits_in_line_and_says_so(browser, tmp_path) -> None:
    capped = launch_app(tmp_path / "capped", {"INTERNVL_MAX_CONCURRENT": "1"})
    first, second = new_tab(browser, capped.url), new_tab(browser, capped.url)
    try:
        wait_loaded(first)
        wait_loaded(second)
        set_max_new_tokens(first, 4000)
        go(first, "Image chat")
        ask(first, LONG)
        wait_until(lambda: len(answer_text(first, 1)) > 20, what="the first answer to stream")
        ask(second, "My turn?")
        visible(second.get_by_text("Waiting for the model: 1 answer ahead of yours.")).wait_for()
        screenshot(second, "waiting-in-line")
        click_stop_if_still_there(first)
        wait_answer_done(second, 2)
        assert "Stopped" not in answer_text(second, 1)
    finally:
        first.context.close()
        second.context.close()
        stop_app(capped)
