"""In real Chromium: one client's wrong passwords never lock anyone else out (the throttle is per client).

Both browsers reach the app over loopback, where Streamlit reports no client address, as behind a proxy
on the same machine: the probe that found the global bucket locked the admin out this way.
"""

from __future__ import annotations

import pytest

from tests.browser.conftest import launch_app, stop_app, wait_loaded
from tests.browser.helpers import wait_idle

pytestmark = pytest.mark.browser
USER_PASSWORD, ADMIN_PASSWORD = "open sesame", "admin sesame"


def _tab(browser, url: str):
    tab = browser.new_context(viewport={"width": 1200, "height": 900}).new_page()
    tab.set_default_timeout(60_000)
    tab.goto(url)
    return tab


def _submit(tab, password: str) -> None:
    field = tab.get_by_label("Password", exact=True).locator("visible=true").first
    field.fill(password)
    tab.get_by_role("button", name="Enter").locator("visible=true").first.click()
    wait_idle(tab)  # the run that checked this password has ended


def test_the_admin_logs_in_after_another_clients_twenty_failures(browser, tmp_path) -> None:
    env = {"INTERNVL_PASSWORD": USER_PASSWORD, "INTERNVL_ADMIN_PASSWORD": ADMIN_PASSWORD}
    gated = launch_app(tmp_path / "gated", env)
    attacker = _tab(browser, gated.url)
    admin = None
    try:
        for attempt in range(20):
            _submit(attacker, f"guess {attempt}")
            # Each answer names this attempt's outcome: wrong for the first five, then locked out.
            words = "That password is not right." if attempt < 5 else "Too many wrong passwords"
            attacker.get_by_text(words).locator("visible=true").first.wait_for()
        admin = _tab(browser, gated.url)
        _submit(admin, ADMIN_PASSWORD)
        wait_loaded(admin)
        admin.get_by_test_id("stChatInputTextArea").locator("visible=true").first.wait_for()
        # The attacker is still locked out, even with the right password: the lock-out is theirs.
        _submit(attacker, USER_PASSWORD)
        attacker.get_by_text("Too many wrong passwords").locator("visible=true").first.wait_for()
        assert "locked out for 60 s after 5 wrong passwords" in gated.log_text()
    finally:
        attacker.context.close()
        if admin is not None:
            admin.context.close()
        stop_app(gated)
