"""In real Chromium, with a shared password: the identity cookie cannot be chosen, a login survives reloads
and new tabs, and logging out revokes the token for good."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from model_backend.conversation import Conversation
from model_backend.storage.store import ConversationStore
from tests.browser.conftest import launch_app, stop_app, wait_loaded
from tests.browser.helpers import go, upload, wait_idle

pytestmark = pytest.mark.browser
PASSWORD = "open sesame"
COOKIE = "internvl_studio_browser"
SECRET_TITLE = "victims secret plan"


def _visible(locator):
    return locator.locator("visible=true").first


def _open(context, url: str):
    tab = context.new_page()
    tab.set_default_timeout(60_000)
    tab.goto(url)
    return tab


def _log_in(tab) -> None:
    _visible(tab.get_by_label("Password", exact=True)).fill(PASSWORD)
    _visible(tab.get_by_role("button", name="Enter")).click()
    wait_loaded(tab)


def _token(context) -> str:
    return next(c["value"] for c in context.cookies() if c["name"] == COOKIE)


def _open_conversation_list(tab):
    """The sidebar's conversation list, opened; its "New" button shows once the list is drawn."""
    sidebar = tab.get_by_test_id("stSidebar")
    _visible(sidebar.get_by_text("Conversations")).click()
    expect(_visible(sidebar.get_by_role("button", name=re.compile("New conversation")))).to_be_visible()
    wait_idle(tab)
    return sidebar


def test_a_chosen_cookie_is_ignored_a_login_persists_and_logout_revokes(browser, tmp_path) -> None:
    gated = launch_app(tmp_path / "gated", {"INTERNVL_PASSWORD": PASSWORD})
    victim = browser.new_context(viewport={"width": 1400, "height": 1100})
    attacker = browser.new_context(viewport={"width": 1400, "height": 1100})
    try:
        tab = _open(victim, gated.url)
        _log_in(tab)
        conversation = Conversation()
        conversation.ask(SECRET_TITLE).answer = "Nobody else may read this."
        go(tab, "Image chat")
        _visible(tab.get_by_role("button", name=re.compile("Import"))).click()
        upload(tab, "A JSON export", [("mine.json", conversation.to_json().encode(), "application/json")])
        expect(tab.get_by_text("Nobody else may read this.").first).to_be_visible()
        token = _token(victim)

        # A reload and a new tab of the same browser stay logged in, with the conversation listed.
        tab.reload()
        wait_loaded(tab)
        listed = _open_conversation_list(tab).get_by_role("button", name=re.compile(SECRET_TITLE))
        expect(_visible(listed)).to_be_visible()
        second = _open(victim, gated.url)
        wait_loaded(second)
        assert _token(victim) == token

        # Another browser that picks a cookie value of its choosing, then logs in, is somebody new.
        attacker.add_cookies([{"name": COOKIE, "value": "A" * 22, "url": gated.url}])
        intruder = _open(attacker, gated.url)
        _log_in(intruder)
        assert SECRET_TITLE not in _open_conversation_list(intruder).inner_text()
        assert _token(attacker) not in ("A" * 22, token)

        # Logging out asks for the password again, and the old token no longer lets anyone in.
        _visible(tab.get_by_role("button", name="Log out")).click()
        expect(_visible(tab.get_by_label("Password", exact=True))).to_be_visible()
        replay = browser.new_context()
        replay.add_cookies([{"name": COOKIE, "value": token, "url": gated.url}])
        stolen = _open(replay, gated.url)
        expect(_visible(stolen.get_by_label("Password", exact=True))).to_be_visible()
        assert stolen.get_by_test_id("stChatInputTextArea").count() == 0
        replay.close()
    finally:
        victim.close()
        attacker.close()
        stop_app(gated)


def test_a_browser_id_from_before_sessions_is_taken_over_once(browser, tmp_path) -> None:
    """Upgrading loses nobody's list: an old cookie that owns conversations becomes a session, once."""
    legacy = "L" * 22
    store = ConversationStore(tmp_path / "open" / "data")
    conversation = Conversation()
    conversation.ask(SECRET_TITLE).answer = "Kept across the upgrade."
    store.save(store.create(f"browser:{legacy}", "image"), f"browser:{legacy}", conversation)
    store.close()
    app = launch_app(tmp_path / "open")
    contexts = []
    try:
        for expected in (True, False):  # the first browser to present it takes it over; a second one does not
            context = browser.new_context(viewport={"width": 1400, "height": 1100})
            contexts.append(context)
            context.add_cookies([{"name": COOKIE, "value": legacy, "url": app.url}])
            tab = _open(context, app.url)
            wait_loaded(tab)
            listed = _open_conversation_list(tab).get_by_role("button", name=re.compile(SECRET_TITLE))
            if expected:
                expect(_visible(listed)).to_be_visible()
                assert _token(context) != legacy  # now a session token the server issued
            else:
                assert listed.count() == 0
    finally:
        for context in contexts:
            context.close()
        stop_app(app)
