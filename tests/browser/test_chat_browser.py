"""The app in real Chromium against `streamlit run` with the demo checkpoint.

Image chat streams and stops, multi-image and video QA answer, a corrupt upload is explained,
and switching checkpoints in Settings works (a missing hub id is explained in plain words and
the demo is one click away). Screenshots go to docs/screenshots/.
"""

from __future__ import annotations

import re
import subprocess
import sys

import pytest
from helpers import (
    ANSWER_TIMEOUT_MS,
    ask,
    go,
    messages,
    set_max_new_tokens,
    upload,
    wait_answer_done,
    wait_idle,
    watch_growth,
)
from playwright.sync_api import expect

from tests.browser.conftest import LOAD_TIMEOUT_MS, ROOT, screenshot, wait_loaded
from tests.media_factory import has_ffmpeg, make_png, make_video

pytestmark = pytest.mark.browser


def test_image_chat_streams_tokens_and_shows_stats(page) -> None:
    set_max_new_tokens(page, 400)
    go(page, "Image chat")
    page.get_by_test_id("stButtonGroup").get_by_text("Example").click()
    wait_idle(page)
    page.get_by_text("visual tokens").first.wait_for()
    growth = watch_growth(page, 1)
    ask(page, "What is in this picture?")
    lengths = growth.lengths()
    assert len(lengths) >= 2 and lengths[-1] > lengths[0], f"answer did not grow across polls: {lengths}"
    text = wait_answer_done(page, 2)
    assert "tokens/s" in text
    page.get_by_text(re.compile(r"Context: [\d,]+ prompt")).wait_for()
    screenshot(page, "image-chat")


def test_a_follow_up_about_the_photo_shows_its_stages_and_reused_tokens(page) -> None:
    set_max_new_tokens(page, 16)
    go(page, "Image chat")
    page.get_by_test_id("stButtonGroup").get_by_text("Example").click()
    wait_idle(page)
    ask(page, "What is in this picture?")
    wait_answer_done(page, 2)
    # The image was encoded (ahead of the question): the tile preview now says what that costs here.
    page.get_by_text(re.compile(r"Vision encoder on this machine's CPU: about [\d.]+ s")).wait_for()
    ask(page, "And what colours does it have?")
    caption = wait_answer_done(page, 4)
    reused = re.search(r"([\d,]+) prompt tokens already computed", caption)
    assert reused and int(reused.group(1).replace(",", "")) > 256, caption  # the photo's tokens at least
    assert "vision features reused for 1 image" in caption
    follow_up = messages(page).nth(3)
    follow_up.get_by_text("Where the time went").click()
    stages = follow_up.get_by_test_id("stExpander").filter(has_text="Where the time went").first
    stages.get_by_text(re.compile(r"[\d,]+ tokens computed, [\d,]+ reused")).wait_for()
    table = stages.inner_text()
    assert "skipped: features of 1 image kept" in table, table
    assert re.search(r"Prefill\s+[\d.]+ (ms|s)\s+[\d,]+ tokens computed, (?!0 reused)[\d,]+ reused", table), table
    wait_idle(page)  # the run that streamed the answer has ended: no streaming placeholder left
    screenshot(page, "follow-up-stages")


CURSOR = "▌"  # the app's streaming cursor: present while an answer is arriving
# The demo's random answers end on their own, some within a few tokens (how many can depend on what the
# engine already keeps), so a stop can be tried only on an answer still being written when it lands.
LONG_QUESTIONS = (
    "Tell me a very long story.",
    "Tell me a very long story, again.",
    "Go on with the story, at length.",
    "Now a long poem about the sea.",
    "Describe a whole city, street by street.",
)


def stop_an_answer(page, stop) -> tuple[object, int]:
    """Ask LONG_QUESTIONS in turn until `stop()`, done while an answer is being written, cuts one short;
    return that answer's message and how many messages the conversation has. An answer that ended on its
    own before the stop landed is not a failure of the stop: the next question is tried."""
    for number, question in enumerate(LONG_QUESTIONS):
        ask(page, question)
        answer = messages(page).nth(2 * number + 1)
        caption = answer.get_by_text("new tokens")
        answer.get_by_text(CURSOR).or_(caption).first.wait_for(timeout=ANSWER_TIMEOUT_MS)  # writing, or done
        if not caption.count():
            stop()
        caption.first.wait_for(timeout=ANSWER_TIMEOUT_MS)
        wait_idle(page)  # the run that draws the finished answer has ended
        if answer.get_by_text("Stopped: partial answer").count():
            return answer, 2 * number + 2
    pytest.fail(f"none of {len(LONG_QUESTIONS)} answers was still being written when the stop landed")


def click_stop(page) -> None:
    """Click the shown Stop button, if there still is one: in the page, in one step, since the answer may
    end on its own (and its button go) between a look and a click."""
    page.evaluate(
        """() => Array.from(document.querySelectorAll(".st-key-stop_image button"))
          .find((button) => button.checkVisibility())?.click()"""
    )


def test_stop_keeps_partial_answer_and_the_worker_stops(page) -> None:
    set_max_new_tokens(page, 4000)
    go(page, "Image chat")
    answer, shown = stop_an_answer(page, lambda: click_stop(page))
    # The count is the worker's own, taken once it has ended (the engine joins it first): it stopped.
    kept = answer.inner_text()
    tokens = int(re.search(r"([\d,]+) new tokens", kept).group(1).replace(",", ""))
    assert 0 < tokens < 4000, kept
    # Nothing went on behind the page: after another page's runs, the answer and its count are the same.
    set_max_new_tokens(page, 256)
    go(page, "Image chat")
    expect(messages(page)).to_have_count(shown)
    expect(messages(page).nth(shown - 1)).to_have_text(kept, use_inner_text=True)
    expect(page.get_by_role("button", name=re.compile("Stop"))).to_have_count(0)


def test_escape_stops_the_answer_like_the_stop_button(page) -> None:
    set_max_new_tokens(page, 4000)
    go(page, "Image chat")
    stop_an_answer(page, lambda: page.keyboard.press("Escape"))
    set_max_new_tokens(page, 256)


def test_corrupt_upload_is_explained(page) -> None:
    go(page, "Image chat")
    upload(page, "Upload an image", [("broken.png", b"\x89PNG\r\n\x1a\nthis is not a png", "image/png")])
    page.get_by_test_id("stAlertContentError").filter(has_text="broken.png").wait_for()
    screenshot(page, "error")


def test_multi_image_labels_and_answer(page) -> None:
    go(page, "Multi-image compare")
    files = [
        ("red.png", make_png(320, 240, seed=1), "image/png"),
        ("blue.png", make_png(200, 300, seed=2), "image/png"),
    ]
    upload(page, "Upload 2 to", files)
    page.get_by_text("Image-1: red.png").first.wait_for()
    page.get_by_text("Image-2: blue.png").first.wait_for()
    ask(page, "What differs between Image-1 and Image-2?")
    wait_answer_done(page, 2)
    screenshot(page, "multi-image")


@pytest.mark.skipif(not has_ffmpeg(), reason="ffmpeg makes the test video")
def test_video_qa_strip_and_answer(page, tmp_path) -> None:
    clip = make_video(tmp_path / "clip.mp4", seconds=3, fps=10, size=(320, 240))
    go(page, "Video QA")
    upload(page, "Upload a video", [("clip.mp4", clip.read_bytes(), "video/mp4")])
    page.get_by_text("The 8 frames the model will see").wait_for()
    page.get_by_text(re.compile(r"Frame8 · \d")).first.wait_for()
    ask(page, "What happens in this clip?")
    wait_answer_done(page, 2)
    screenshot(page, "video-qa")


def test_switch_checkpoints_missing_hub_id_then_demo_then_folder(page, tmp_path) -> None:
    go(page, "Settings")
    page.get_by_text("Hub id", exact=True).click()
    wait_idle(page)
    page.get_by_label("Hub id (owner/name)", exact=True).fill("OpenGVLab/No-Such-Model-1B")
    page.get_by_label("Hub id (owner/name)", exact=True).press("Tab")
    wait_idle(page)
    page.get_by_text("Allow this checkpoint's own code").click()
    page.get_by_role("button", name="Apply / Load").click()
    sidebar = page.get_by_test_id("stSidebar")
    sidebar.get_by_text("Could not download").wait_for(timeout=60_000)
    banner = page.get_by_text("The model hub cannot be reached")
    banner.scroll_into_view_if_needed()
    # The page does not call a load that failed "Applied.": it points at the reason.
    page.get_by_text("Applied, but the model could not be loaded").wait_for()
    assert page.get_by_text("Applied. The sidebar shows").count() == 0
    screenshot(page, "settings-missing-checkpoint")
    sidebar.get_by_role("button", name="Use the offline demo checkpoint").click()
    sidebar.get_by_text("random text").first.wait_for(timeout=LOAD_TIMEOUT_MS)
    wait_loaded(page)

    folder = tmp_path / "my-finetune"
    subprocess.run([sys.executable, "-m", "model_backend", "make-demo", str(folder)], cwd=ROOT, check=True)
    go(page, "Settings")
    page.get_by_text("Local folder", exact=True).click()
    wait_idle(page)
    page.get_by_label("Checkpoint folder path", exact=True).fill(str(folder))
    page.get_by_label("Checkpoint folder path", exact=True).press("Tab")
    wait_idle(page)
    page.get_by_role("button", name="Apply / Load").click()
    sidebar.get_by_text(str(folder)).first.wait_for()
    wait_loaded(page)
    page.get_by_text("Known checkpoints").click()
    screenshot(page, "settings")
