"""In real Chromium: a data folder the app cannot use gives one clear page, not a traceback on every page."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import launch_app, stop_app

pytestmark = pytest.mark.browser


def test_an_unusable_data_folder_is_one_clear_message_on_every_page(browser, tmp_path) -> None:
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("a file where the data folder should be")
    app = launch_app(tmp_path / "app", {"INTERNVL_DATA_DIR": str(blocked / "data")})
    context = browser.new_context(viewport={"width": 1200, "height": 900})
    try:
        for path in ("/", "/settings", "/batch?run=x"):  # a deep link on a cold server too
            tab = context.new_page()
            tab.goto(app.url + path)
            message = tab.get_by_text("The app's data folder cannot be written on the server")
            expect(message.first).to_be_visible(timeout=120_000)
            assert tab.get_by_test_id("stException").count() == 0
            assert str(blocked) not in tab.get_by_test_id("stMain").inner_text().split("Details")[0]
            tab.close()
    finally:
        context.close()
        stop_app(app)
