"""The UI language in real Chromium: the browser's language first, the switch remembered per browser,
and no request leaving the machine for icons or fonts on any page."""

from __future__ import annotations

import shutil
import subprocess
from urllib.parse import urlparse

import pytest
from helpers import go, upload, wait_idle

from tests.browser.conftest import screenshot

pytestmark = pytest.mark.browser

PAGES = ("image_chat", "multi_image", "video_qa", "settings")


def open_tab(browser, url: str, locale: str):
    context = browser.new_context(viewport={"width": 1400, "height": 1200}, locale=locale)
    tab = context.new_page()
    tab.set_default_timeout(60_000)
    tab.goto(url)
    return tab


def wait_sidebar_says(tab, words: str) -> None:
    tab.get_by_test_id("stSidebar").get_by_text(words, exact=True).first.wait_for(timeout=180_000)


def test_a_chinese_browser_starts_in_chinese(browser, server) -> None:
    tab = open_tab(browser, server.url, "zh-CN")
    try:
        wait_sidebar_says(tab, "已加载")
        nav = tab.get_by_test_id("stSidebarNav")
        for title in ("图片对话", "多图对比", "视频问答", "设置"):
            nav.get_by_text(title, exact=True).wait_for()
        tab.get_by_test_id("stSidebar").get_by_text("模型", exact=True).first.wait_for()
        # Streamlit's own words in the uploader are replaced by a style sheet (pseudo-elements, not text).
        uploader = tab.get_by_test_id("stFileUploader").filter(has_text="上传一张图片").first
        shown = uploader.evaluate(
            """e => ['[data-testid=stBaseButton-secondary] p', '[data-testid=stFileUploaderDropzoneInstructions] span']
                .map(s => getComputedStyle(e.querySelector(s), '::after').content)"""
        )
        assert shown == ['"上传"', '"每个文件不超过 200MB • PNG, JPG, WEBP, BMP, GIF, TIF"']
        screenshot(tab, "chinese-image-chat")
    finally:
        tab.context.close()


def test_the_language_switch_applies_at_once_and_is_remembered_by_the_browser(browser, server) -> None:
    tab = open_tab(browser, server.url, "en-US")
    try:
        wait_sidebar_says(tab, "Loaded")
        tab.get_by_test_id("stSidebar").get_by_text("简体中文", exact=True).click()
        wait_sidebar_says(tab, "已加载")
        tab.get_by_test_id("stSidebarNav").get_by_text("设置", exact=True).wait_for()
        # A reload is a new session: only the cookie can bring the choice back.
        tab.wait_for_function("document.cookie.includes('internvl_studio_language=zh')")
        tab.reload()
        wait_sidebar_says(tab, "已加载")
        tab.get_by_test_id("stSidebar").get_by_text("English", exact=True).click()
        wait_sidebar_says(tab, "Loaded")
        tab.wait_for_function("document.cookie.includes('internvl_studio_language=en')")
        tab.reload()
        wait_sidebar_says(tab, "Loaded")
    finally:
        tab.context.close()


def test_no_page_asks_another_machine_for_anything(browser, server) -> None:
    """Offline use: fonts, icons and the favicon all come from the app's own server."""
    tab = open_tab(browser, server.url, "en-US")
    asked: list[str] = []
    tab.on("request", lambda request: asked.append(request.url))
    try:
        wait_sidebar_says(tab, "Loaded")
        for page in PAGES:
            tab.goto(f"{server.url}/{page}")
            wait_sidebar_says(tab, "Loaded")
            wait_idle(tab)
        local = urlparse(server.url).hostname
        elsewhere = [url for url in asked if urlparse(url).scheme in ("http", "https", "ws", "wss")]
        elsewhere = [url for url in elsewhere if urlparse(url).hostname != local]
        assert asked and elsewhere == []
    finally:
        tab.context.close()


@pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="ffmpeg builds the sound-only file")
def test_bad_files_are_explained_in_chinese_with_the_decoders_words_under_details(browser, server, tmp_path) -> None:
    sound = tmp_path / "sound.mp4"
    cmd = ["ffmpeg", "-loglevel", "error", "-y", "-f", "lavfi", "-i", "sine=duration=1", "-c:a", "aac", str(sound)]
    subprocess.run(cmd, check=True)
    tab = open_tab(browser, server.url, "zh-CN")
    try:
        wait_sidebar_says(tab, "已加载")
        go(tab, "视频问答")
        upload(tab, "上传一个视频", [("sound.mp4", sound.read_bytes(), "video/mp4")])
        alert = tab.get_by_test_id("stAlertContentError").filter(has_text="sound.mp4").first
        alert.get_by_text("这个文件没有画面（可能只有声音）", exact=False).wait_for()
        assert "st_nb" not in alert.inner_text()  # the decoder's own line is not the message
        details = tab.get_by_test_id("stExpander").filter(has_text="详细信息").first
        details.get_by_text("详细信息").click()
        details.get_by_text("st_nb", exact=False).wait_for()  # but it is one click away
        screenshot(tab, "chinese-error")
    finally:
        tab.context.close()
