"""A newcomer's walk through the app in real Chromium, in English and then in 简体中文.

Starts `streamlit run app.py` on the demo checkpoint (as the browser tests do), opens Debian's
Chromium with the browser language set to each language in turn, and goes through what a person
meets first (the list began as issue #12's): bad media and imports explained in plain words, too
many images, an empty video range, the chat habits (copy, Esc, a folded long question, the action
row at 390 px, one error per problem), Settings (unapplied changes, the catalog's preselection,
flash-attention off on CPU, the first draw within a second), the frame strip's debounce, no request
leaving the machine, and the context meter while an answer streams. Every item saves a screenshot and prints one line:

    item | language | OK/PROBLEM | what it saw

Expected words come from the app's own string table (`i18n.text`), so the walk reads each
language's messages without copies of them here. Needs ffmpeg (the videos) and Chromium.

    .venv/bin/python scripts/walk_both_languages.py --out /tmp/walk
"""

from __future__ import annotations

import argparse
import io
import re
import shutil
import string
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from PIL import Image  # noqa: E402
from playwright.sync_api import sync_playwright  # noqa: E402

from i18n import TABLE, text  # noqa: E402
from model_backend.conversation import Conversation, ImageAttachment  # noqa: E402
from tests.browser.conftest import CHROMIUM_ARGS, launch_app, stop_app  # noqa: E402
from tests.media_factory import make_photo, make_png, make_video  # noqa: E402

LOCALES = {"en": "en-US", "zh": "zh-CN"}
LOAD_MS = 180_000
ANSWER_MS = 120_000
#: The issue's list, in its order (the walk runs them in another order; see `walk`).
ITEMS = (
    "audio-only mp4",
    "decompression bomb",
    "non-image file",
    "malformed import JSON",
    "17 images, limit 16",
    "video range start = end",
    "copy button",
    "Esc stops",
    "50,000-word question folded",
    "390-px action row",
    "no-model error shown once",
    "Settings unapplied warning",
    "catalog preselect",
    "flash-attention off on CPU",
    "frame strip debounce",
    "Settings first draw < 1 s",
    "no external requests",
    "context meter while streaming",
    "uploader's own words",  # added to issue #12's list: Streamlit's words in every file uploader
)


@dataclass
class Result:
    item: str
    language: str
    ok: bool
    saw: str


class Problem(Exception):
    """What an item saw that the issue lists as a problem."""


# -- media ------------------------------------------------------------------------------------------


def make_media(folder: Path) -> dict[str, bytes]:
    sound = folder / "sound.mp4"
    subprocess.run(
        ["ffmpeg", "-loglevel", "error", "-y", "-f", "lavfi", "-i", "sine=duration=1", "-c:a", "aac", str(sound)],
        check=True,
    )
    bomb = io.BytesIO()
    Image.new("1", (15_000, 15_000)).save(bomb, format="PNG")  # 225 MP: past Pillow's own 179 MP warning
    conversation = Conversation()
    conversation.ask("What is in this photo?", images=(ImageAttachment(make_photo(64, 48), "photo.jpg"),))
    conversation.turns[-1].answer = "A gradient."
    export = conversation.to_json()
    return {
        "sound.mp4": sound.read_bytes(),
        "bomb.png": bomb.getvalue(),
        "notes.png": b"these are my notes, not a picture",
        "cut.json": export[: len(export) // 2].encode(),
        # One 60 s clip per language (a different size each): the server keeps what it decoded per content.
        "clip60-en.mp4": make_video(folder / "clip60-en.mp4", seconds=60, fps=10, size=(320, 240)).read_bytes(),
        "clip60-zh.mp4": make_video(folder / "clip60-zh.mp4", seconds=60, fps=10, size=(352, 264)).read_bytes(),
        "photo.png": make_png(160, 120, seed=3),
    }


# -- driving the app --------------------------------------------------------------------------------


def fragment(language: str, key: str) -> str:
    """The longest literal part of a string of the table: what any filled-in copy of it contains."""
    parts = [literal for literal, *_ in string.Formatter().parse(TABLE[language][key])]
    pieces = [piece.strip() for part in parts for piece in part.split("**")]  # Markdown bold is not on screen
    return max(pieces, key=len)


class Walker:
    def __init__(self, browser, url: str, language: str, out: Path, media: dict[str, bytes]) -> None:
        self.browser, self.url, self.language, self.out, self.media = browser, url, language, out, media
        self.requests: list[str] = []
        self.context = browser.new_context(viewport={"width": 1400, "height": 1100}, locale=LOCALES[language])
        self.context.on("request", lambda request: self.requests.append(request.url))
        self.tab = self.context.new_page()
        self.tab.set_default_timeout(60_000)
        self.shots = 0

    def t(self, key: str, **params: object) -> str:
        return text(self.language, key, **params)

    def shot(self, item: str, tab=None, full: bool = True) -> None:
        self.shots += 1
        slug = re.sub(r"[^a-z0-9]+", "-", item.lower()).strip("-")
        tab = tab or self.tab
        tab.wait_for_timeout(400)  # images and fonts settle
        tab.screenshot(path=str(self.out / f"{self.language}-{ITEMS.index(item) + 1:02d}-{slug}.png"), full_page=full)

    # the page

    def idle(self, tab=None, timeout_ms: int = 120_000) -> None:
        tab = tab or self.tab
        tab.wait_for_timeout(300)  # a run just asked for has started
        tab.locator("[data-testid=stApp][data-test-script-state=notRunning]").wait_for(timeout=timeout_ms)

    def loaded(self) -> None:
        sidebar = self.tab.get_by_test_id("stSidebar")
        sidebar.get_by_text(self.t("sidebar.loaded"), exact=True).first.wait_for(timeout=LOAD_MS)

    def go(self, page_key: str) -> None:
        title = self.t(page_key)
        self.tab.get_by_test_id("stSidebarNav").get_by_text(title, exact=True).click()
        self.tab.get_by_role("heading", name=title).first.wait_for()
        self.idle()

    def upload(self, label: str, names: list[str], tab=None) -> None:
        tab = tab or self.tab
        uploader = tab.get_by_test_id("stFileUploader").filter(has_text=label).first
        payload = [{"name": n, "mimeType": _mime(n), "buffer": self.media[n]} for n in names]
        uploader.locator("input[type=file]").set_input_files(payload)
        self.idle(tab)

    def upload_many(self, label: str, files: list[tuple[str, bytes]]) -> None:
        uploader = self.tab.get_by_test_id("stFileUploader").filter(has_text=label).first
        payload = [{"name": n, "mimeType": _mime(n), "buffer": data} for n, data in files]
        uploader.locator("input[type=file]").set_input_files(payload)
        self.idle()

    def ask(self, question: str, tab=None, wait_message: bool = True) -> None:
        tab = tab or self.tab
        box = tab.get_by_test_id("stChatInputTextArea")
        box.fill(question)
        box.press("Enter")
        if wait_message:
            tab.get_by_test_id("stChatMessage").filter(has_text=question[:40]).first.wait_for()

    def answer_done(self, count: int, tab=None) -> str:
        tab = tab or self.tab
        answer = tab.get_by_test_id("stChatMessage").nth(count - 1)
        answer.get_by_text(fragment(self.language, "stats.new_tokens")).first.wait_for(timeout=ANSWER_MS)
        return answer.inner_text()

    def errors(self, tab=None) -> list[str]:
        tab = tab or self.tab
        return [e.inner_text() for e in tab.get_by_test_id("stAlertContentError").all()]

    def error_with(self, words: str, timeout_ms: int = 60_000) -> str:
        alert = self.tab.get_by_test_id("stAlertContentError").filter(has_text=words).first
        alert.wait_for(timeout=timeout_ms)
        return alert.inner_text()

    def set_number(self, label_key: str, value: int) -> None:
        field = self.tab.get_by_label(self.t(label_key), exact=True)
        field.fill(str(value))
        field.press("Tab")
        self.idle()

    def max_new_tokens(self, tokens: int) -> None:
        self.go("app.page.settings")
        self.set_number("settings.max_new_tokens", tokens)

    def clear(self) -> None:
        clear = self.tab.get_by_role("button", name=self.t("actions.clear")).locator("visible=true").first
        if clear.count() and clear.is_enabled():
            clear.click()
            self.idle()


def _mime(name: str) -> str:
    return {".mp4": "video/mp4", ".png": "image/png", ".json": "application/json"}[Path(name).suffix]


def check(condition: bool, saw: str) -> str:
    if not condition:
        raise Problem(saw)
    return saw


# -- the items --------------------------------------------------------------------------------------


def audio_only(w: Walker) -> str:
    w.go("app.page.video_qa")
    w.upload(w.t("video.upload"), ["sound.mp4"])
    shown = w.error_with("sound.mp4")
    w.shot("audio-only mp4")
    check("st_nb" not in shown and "video_reader" not in shown, f"decoder's line in the message: {shown!r}")
    check(fragment(w.language, "media.video.no_picture") in shown, f"message: {shown!r}")
    w.ask("What happens?", wait_message=False)
    w.idle()
    ask_says = w.error_with(w.t("video.ask_unusable"))
    return f"{_short(shown)} / Ask: {_short(ask_says)}"


def bomb(w: Walker) -> str:
    w.go("app.page.image_chat")
    w.upload(w.t("image_input.upload"), ["bomb.png"])
    shown = w.error_with("bomb.png")
    w.shot("decompression bomb")
    check("178" not in shown.replace("15000", ""), f"Pillow's limit quoted: {shown!r}")
    check("Decompression" not in shown, f"Pillow's words: {shown!r}")
    return _short(shown)


def non_image(w: Walker) -> str:
    w.go("app.page.image_chat")
    w.upload(w.t("image_input.upload"), ["notes.png"])
    shown = w.error_with("notes.png")
    w.shot("non-image file")
    check("PIL" not in shown, f"developer words: {shown!r}")
    check(fragment(w.language, "media.image.not_an_image") in shown, f"message: {shown!r}")
    return _short(shown)


def malformed_import(w: Walker) -> str:
    w.go("app.page.image_chat")
    w.tab.get_by_role("button", name=w.t("actions.import")).locator("visible=true").first.click()
    body = w.tab.get_by_test_id("stPopoverBody").locator("visible=true").first
    body.get_by_test_id("stFileUploader").locator("input[type=file]").set_input_files(
        [{"name": "cut.json", "mimeType": "application/json", "buffer": w.media["cut.json"]}]
    )
    w.idle()
    w.tab.keyboard.press("Escape")  # close the popover: the message is under the action row
    shown = w.error_with(fragment(w.language, "conversation.import_damaged"))
    w.shot("malformed import JSON")
    check(not re.search(r"line \d+ column", shown), f"the parser's position in the message: {shown!r}")
    return _short(shown)


def too_many_images(w: Walker) -> str:
    w.go("app.page.settings")
    w.set_number("settings.max_images", 16)
    w.go("app.page.multi_image")
    files = [(f"p{n:02d}.png", make_png(48, 36, seed=n)) for n in range(17)]
    w.upload_many(w.t("multi.upload", limit=16), files)
    shown = w.error_with(fragment(w.language, "multi.too_many"))
    w.ask("What differs between Image-1 and Image-2?", wait_message=False)
    w.idle()
    ask_says = w.error_with(w.t("multi.ask_too_many", extra=1, limit=16))
    w.shot("17 images, limit 16")
    check(all(w.t("multi.ask_too_few") not in e for e in w.errors()), f"Ask blames too few: {w.errors()}")
    return f"{_short(shown)} / Ask: {_short(ask_says)}"


def _range_thumbs(w: Walker):
    return w.tab.get_by_test_id("stSlider").filter(has_text=w.t("video.range")).get_by_role("slider")


def empty_range(w: Walker) -> str:
    w.go("app.page.video_qa")
    w.upload(w.t("video.upload"), [f"clip60-{w.language}.mp4"])
    w.tab.get_by_text(fragment(w.language, "video.strip_title")).wait_for(timeout=60_000)
    start = _range_thumbs(w).first
    start.focus()
    start.press("End")  # the start runs into the end: start = end = 60.0 s
    w.idle()
    shown = w.error_with(fragment(w.language, "media.video.empty_range"))
    w.ask("What happens in this clip?", wait_message=False)
    w.idle()
    ask_says = w.error_with(w.t("video.ask_empty_range"))
    w.shot("video range start = end")
    check(all(w.t("video.ask_unusable") not in e for e in w.errors()), f"Ask blames the video: {w.errors()}")
    start.focus()
    start.press("Home")  # the whole clip again
    w.idle()
    return f"{_short(shown)} / Ask: {_short(ask_says)}"


def copy_button(w: Walker) -> str:
    w.go("app.page.image_chat")
    w.clear()
    w.ask("Say something I can copy")
    w.answer_done(2)
    answer = w.tab.get_by_test_id("stChatMessage").nth(1)
    written = answer.get_by_test_id("stMarkdownContainer").first.inner_text()
    answer.get_by_role("button", name=w.t("chat.copy")).click()
    box = w.tab.get_by_test_id("stPopoverBody").get_by_test_id("stCode").locator("visible=true").first
    box.wait_for()
    w.shot("copy button")
    in_box = " ".join(box.inner_text().split())
    check(" ".join(written.split()[:5]) in in_box, f"copy box {in_box[:60]!r} lacks {written[:60]!r}")
    w.tab.keyboard.press("Escape")
    return f"Copy box holds the answer ({len(in_box)} characters)"


def esc_and_meter(w: Walker) -> tuple[tuple[bool, str], tuple[bool, str]]:
    """Esc stops a streaming answer; before it does, the context meter is read while it streams."""
    w.max_new_tokens(4000)
    w.go("app.page.image_chat")
    w.clear()
    w.ask("Tell me a very long story.")
    w.tab.get_by_role("button", name=re.compile(w.t("chat.stop"))).first.wait_for()
    w.tab.get_by_test_id("stChatMessage").last.get_by_test_id("stMarkdownContainer").first.wait_for()
    context_word = w.t("stats.context", prompt="", budget="", window="").split(":")[0].split("：")[0]
    meter = w.tab.get_by_test_id("stProgress").filter(has_text=context_word).first
    meter.wait_for()
    meter_text = meter.inner_text()
    w.shot("context meter while streaming")
    zero = w.t("stats.context_prompt", tokens="0")
    meter = (zero not in meter_text, f"while streaming: {meter_text!r}")
    started = time.monotonic()
    w.tab.keyboard.press("Escape")
    w.tab.get_by_text(w.t("chat.stopped")).last.wait_for(timeout=30_000)
    took = time.monotonic() - started
    w.idle()
    w.shot("Esc stops")
    w.max_new_tokens(64)
    return (True, f"stopped {took:.1f} s after Esc: {w.t('chat.stopped')!r}"), meter


def long_question(w: Walker) -> str:
    w.go("app.page.image_chat")
    w.clear()
    question = " ".join(f"word{n % 1000}" for n in range(50_000))
    w.ask(question[:200] + question[200:], wait_message=False)
    w.tab.get_by_test_id("stChatMessage").first.wait_for()
    w.idle()
    shown = w.tab.get_by_test_id("stChatMessage").first
    shown.get_by_text(fragment(w.language, "chat.show_all")).first.wait_for()
    height = shown.bounding_box()["height"]
    problem = w.error_with(fragment(w.language, "engine.context_full"), timeout_ms=ANSWER_MS)
    w.shot("50,000-word question folded")
    check(height < 600, f"the question takes {height:.0f} px")
    return f"question drawn {height:.0f} px high with '{fragment(w.language, 'chat.show_all')}'; {_short(problem)}"


def phone_row(w: Walker) -> str:
    context = w.browser.new_context(
        viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True, locale=LOCALES[w.language]
    )
    context.on("request", lambda request: w.requests.append(request.url))
    tab = context.new_page()
    tab.set_default_timeout(60_000)
    try:
        tab.goto(w.url)
        tab.get_by_test_id("stChatInput").wait_for(timeout=LOAD_MS)
        w.ask("Hello from a phone", tab=tab)
        w.answer_done(2, tab=tab)
        w.idle(tab)
        boxes = []
        for key in ("actions.regenerate", "actions.edit", "actions.clear", "actions.export", "actions.import"):
            box = tab.get_by_role("button", name=w.t(key)).locator("visible=true").first.bounding_box()
            check(box is not None and box["x"] + box["width"] <= 390, f"{w.t(key)} is off the screen: {box}")
            boxes.append(box)
        height = max(b["y"] + b["height"] for b in boxes) - min(b["y"] for b in boxes)
        lines = len({round(b["y"] / 10) for b in boxes})
        regenerate = tab.get_by_role("button", name=w.t("actions.regenerate")).locator("visible=true").first
        regenerate.scroll_into_view_if_needed()
        w.shot("390-px action row", tab=tab, full=False)
        return check(lines <= 2 and height < 120, f"five actions on {lines} line(s), {height:.0f} px high")
    finally:
        context.close()


def no_model_once(w: Walker) -> str:
    w.go("app.page.settings")
    w.tab.get_by_text(w.t("settings.source.hub"), exact=True).click()
    w.idle()
    hub = w.tab.get_by_label(w.t("settings.hub_id"), exact=True)
    hub.fill("OpenGVLab/No-Such-Model-1B")
    hub.press("Tab")
    w.idle()
    w.tab.get_by_text(w.t("settings.allow_code")).click()
    w.idle()
    w.tab.get_by_role("button", name=w.t("settings.apply")).click()
    sidebar = w.tab.get_by_test_id("stSidebar")
    sidebar.get_by_text(fragment(w.language, "sidebar.download_failed")).first.wait_for(timeout=120_000)
    w.go("app.page.image_chat")
    w.ask("Is anybody there?", wait_message=False)
    w.idle()
    banner = w.error_with(w.t("sidebar.hub_unreachable"))
    w.shot("no-model error shown once")
    message = banner.split("\n", 1)[-1].replace(w.t("sidebar.hub_unreachable"), "").strip(" :：")
    probe = message[:40]
    alerts = [e for e in w.errors() if probe in e]
    in_sidebar = [e.inner_text() for e in sidebar.get_by_test_id("stAlertContentError").all()]
    sidebar.get_by_role("button", name=w.t("sidebar.use_demo")).click()
    w.loaded()
    w.idle()
    return check(
        len(alerts) == 1 and all(probe not in e for e in in_sidebar),
        f"the message {probe!r}… shown {len(alerts)}×; sidebar says {[_short(e) for e in in_sidebar]}",
    )


def settings_unapplied_and_catalog(w: Walker) -> tuple[tuple[bool, str], tuple[bool, str]]:
    w.go("app.page.settings")
    w.tab.get_by_text(w.t("settings.source.catalog"), exact=True).click()
    w.idle()
    select = w.tab.locator(".st-key-ckpt_catalog").first  # the catalog's selectbox (its label, its value)
    shown = select.evaluate("e => e.innerText + ' ' + [...e.querySelectorAll('input')].map(i => i.value).join(' ')")
    chosen = " ".join(shown.replace(w.t("settings.checkpoint"), "", 1).split())
    warning_text = fragment(w.language, "settings.unapplied")
    warned_here = w.tab.get_by_test_id("stAlertContentWarning").filter(has_text=warning_text).count()
    w.shot("catalog preselect")
    catalog = ("InternVL2-1B" in chosen and "V1-2" not in chosen, f"catalog preselects {chosen!r} (the demo is active)")
    w.go("app.page.image_chat")
    w.go("app.page.settings")
    warned_back = w.tab.get_by_test_id("stAlertContentWarning").filter(has_text=warning_text).count()
    kept = w.tab.get_by_test_id("stRadio").filter(has_text=w.t("settings.source")).first
    kept_source = kept.locator("input:checked").first.evaluate("e => e.closest('label').innerText")
    w.shot("Settings unapplied warning")
    unapplied = (
        warned_here == 1 and warned_back == 1 and kept_source.strip() == w.t("settings.source.catalog"),
        f"warning on change: {warned_here}, after leaving and coming back: {warned_back}; source kept: {kept_source!r}",
    )
    w.tab.get_by_text(w.t("settings.source.demo"), exact=True).click()  # back to what is loaded
    w.idle()
    return unapplied, catalog


def flash_off(w: Walker) -> str:
    import torch

    w.go("app.page.settings")
    box = w.tab.get_by_role("checkbox", name=w.t("settings.flash"))
    ticked = box.is_checked()
    notice = fragment(w.language, "load.notice.no_flash_attn")
    notices = w.tab.get_by_test_id("stSidebar").get_by_text(notice).count()
    box.scroll_into_view_if_needed()
    w.shot("flash-attention off on CPU")
    if torch.cuda.is_available():
        return f"CUDA present: ticked={ticked} (the default is on here)"
    return check(
        not ticked and notices == 0, f"ticked={ticked} without CUDA; no-flash notices in the sidebar: {notices}"
    )


def frame_strip(w: Walker) -> str:
    w.go("app.page.video_qa")
    started = time.monotonic()
    w.upload(w.t("video.upload"), [f"clip60-{w.language}.mp4"])
    w.tab.get_by_text(w.t("video.frame_caption", number=8, seconds="").rsplit("·", 1)[0].strip()).first.wait_for()
    w.idle()
    first = time.monotonic() - started
    frames = w.tab.get_by_test_id("stSlider").filter(has_text=w.t("video.frames")).get_by_role("slider").first
    frames.focus()
    started = time.monotonic()
    for _ in range(8):
        frames.press("ArrowRight")
        w.tab.wait_for_timeout(120)  # a person's key repeat
    pressed = time.monotonic() - started
    w.tab.get_by_text(fragment_of(w.t("video.strip_title", count=16))).wait_for(timeout=60_000)
    w.tab.get_by_text(w.t("video.frame_caption", number=16, seconds="").rsplit("·", 1)[0].strip()).first.wait_for()
    w.idle()
    settled = time.monotonic() - started
    w.shot("frame strip debounce")
    return check(
        first < 4.0 and settled - pressed < 3.0,
        f"8 frames of a 60 s clip drawn {first:.1f} s after the upload; 8 key presses ({pressed:.1f} s) "
        f"-> the 16-frame strip {settled - pressed:.1f} s after the last",
    )


def settings_first_draw(w: Walker) -> str:
    w.go("app.page.image_chat")
    nav = w.tab.get_by_test_id("stSidebarNav").get_by_text(w.t("app.page.settings"), exact=True)
    apply = w.tab.get_by_role("button", name=w.t("settings.apply"))
    skeletons = w.tab.get_by_test_id("stMain").get_by_test_id("stSkeleton")
    started = time.monotonic()
    nav.click()
    drawn = whole = None
    while time.monotonic() - started < 15 and whole is None:
        if drawn is None and apply.is_visible():
            drawn = time.monotonic() - started
        if drawn is not None and skeletons.count() == 0:
            whole = time.monotonic() - started
        time.sleep(0.03)
    w.idle()
    w.shot("Settings first draw < 1 s")
    saw = f"Apply / Load drawn {drawn or 99:.2f} s after the click, no skeleton left at {whole or 99:.2f} s"
    return check(drawn is not None and drawn < 1.0, saw)


def no_external_requests(w: Walker) -> str:
    local = urlparse(w.url).hostname
    web = [u for u in w.requests if urlparse(u).scheme in ("http", "https", "ws", "wss")]
    elsewhere = sorted({u for u in web if urlparse(u).hostname != local})
    icon = w.tab.evaluate("[...document.querySelectorAll('link[rel*=icon]')].map(l => l.href)")
    w.shot("no external requests", full=False)
    return check(
        bool(web) and not elsewhere,
        f"{len(web)} requests, all to {local}; favicon {icon}" if not elsewhere else f"requests elsewhere: {elsewhere}",
    )


def uploader_words(w: Walker) -> str:
    w.go("app.page.image_chat")
    uploader = w.tab.get_by_test_id("stFileUploader").filter(has_text=w.t("image_input.upload")).first
    shown = uploader.evaluate(
        """e => [['[data-testid=stBaseButton-secondary] p', '[data-testid=stFileUploaderDropzoneInstructions] span']
            .map(s => e.querySelector(s)).map(x => [x.innerText, getComputedStyle(x, '::after').content])]"""
    )[0]
    words = [after.strip('"') if after not in ("none", "normal", "") else text for text, after in shown]
    w.shot("uploader's own words", full=False)
    expected = "Upload" if w.language == "en" else w.t("uploader.button")
    return check(words[0] == expected and ("per file" in words[1]) == (w.language == "en"), f"reads {words}")


# -- the walk ---------------------------------------------------------------------------------------


def walk(browser, url: str, language: str, out: Path, media: dict[str, bytes]) -> list[Result]:
    w = Walker(browser, url, language, out, media)
    found: dict[str, Result] = {}

    def run(items: tuple[str, ...], step: Callable[[Walker], str | tuple[tuple[bool, str], ...]]) -> None:
        """One step: a string for one item that passed (a `Problem` otherwise), or (ok, saw) per item."""
        try:
            saw = step(w)
            outcomes = saw if isinstance(saw, tuple) else ((True, saw),)
            for item, (ok, words) in zip(items, outcomes, strict=True):
                found[item] = Result(item, language, ok, words)
        except Exception as error:  # a Problem, or a wait that timed out: the item did not pass
            kind = "" if isinstance(error, Problem) else f"{type(error).__name__}: "
            words = f"{kind}{error}".splitlines()[0][:300]
            for item in items:
                found[item] = Result(item, language, False, words)
            try:
                w.shot(items[0])
                w.tab.goto(url)  # start the next item from a fresh page
                w.loaded()
            except Exception:
                pass

    w.tab.goto(url)
    w.loaded()
    w.idle()
    # Settings' first draw before anything else has visited it in this session.
    run(("Settings first draw < 1 s",), settings_first_draw)
    run(("flash-attention off on CPU",), flash_off)
    run(("Settings unapplied warning", "catalog preselect"), settings_unapplied_and_catalog)
    run(("audio-only mp4",), audio_only)
    run(("decompression bomb",), bomb)
    run(("non-image file",), non_image)
    run(("malformed import JSON",), malformed_import)
    run(("17 images, limit 16",), too_many_images)
    run(("frame strip debounce",), frame_strip)  # first: its clip is not decoded yet
    run(("video range start = end",), empty_range)
    run(("copy button",), copy_button)
    run(("Esc stops", "context meter while streaming"), esc_and_meter)
    run(("50,000-word question folded",), long_question)
    run(("390-px action row",), phone_row)
    run(("no-model error shown once",), no_model_once)
    run(("uploader's own words",), uploader_words)
    run(("no external requests",), no_external_requests)
    w.context.close()
    return [found[item] for item in ITEMS]


def fragment_of(words: str) -> str:
    """Filled-in words as the page shows them: without Markdown's bold marks."""
    return words.replace("**", "").strip()


def _short(words: str, size: int = 140) -> str:
    flat = " ".join(words.split())
    return flat if len(flat) <= size else flat[: size - 1] + "…"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=Path("/tmp/walk"), help="folder for the screenshots")
    parser.add_argument("--languages", default="en,zh", help="comma-separated: en, zh")
    args = parser.parse_args()
    if shutil.which("chromium") is None or shutil.which("ffmpeg") is None:
        print("needs Debian's chromium and ffmpeg on PATH", file=sys.stderr)
        return 2
    args.out.mkdir(parents=True, exist_ok=True)
    results: list[Result] = []
    with tempfile.TemporaryDirectory(prefix="walk-") as scratch:
        folder = Path(scratch)
        media = make_media(folder)
        server = launch_app(folder / "app")
        try:
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=shutil.which("chromium"), args=CHROMIUM_ARGS)
                for language in args.languages.split(","):
                    for result in walk(browser, server.url, language, args.out, media):
                        results.append(result)
                        verdict = "OK" if result.ok else "PROBLEM"
                        print(f"{result.item} | {result.language} | {verdict} | {result.saw}", flush=True)
                browser.close()
        finally:
            stop_app(server)
    print(f"screenshots: {args.out}")
    return 0 if all(r.ok for r in results) else 1


if __name__ == "__main__":
    raise SystemExit(main())
