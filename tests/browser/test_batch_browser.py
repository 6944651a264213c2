"""The Batch page in real Chromium against `streamlit run` with the demo checkpoint.

A 50-row JSONL with its images (made here with PIL, sent as loose files: the dataset names them
`images/…`) runs as a server-side job: the progress bar moves while the page stays open, the
results table and its counts come up, the filter keeps the wrong and failed rows, the downloads
hold every row (per-row errors included), and a row opens as a conversation on the chat page.
"""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

import pytest
from helpers import go, upload, wait_idle
from PIL import Image, ImageDraw
from playwright.sync_api import expect

from tests.browser.conftest import screenshot

pytestmark = pytest.mark.browser

ROWS = 50
RUN_TIMEOUT_S = 600
_PROGRESS = re.compile(r"(\d+) of 50 questions answered")


def picture(number: int) -> bytes:
    """A small picture that differs per number (a coloured square on a tinted ground)."""
    image = Image.new("RGB", (160, 120), (40 + 20 * number, 90, 200 - 15 * number))
    ImageDraw.Draw(image).rectangle((20 + 5 * number, 20, 80 + 5 * number, 90), fill=(250, 220 - 20 * number, 30))
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


def dataset() -> bytes:
    """40 rows without a reference, 8 with one a random model cannot give, 2 whose image is missing."""
    records = []
    for n in range(ROWS):
        record: dict = {"id": f"row-{n:02d}", "image": f"images/p{n % 8}.png", "question": f"What is in picture {n}?"}
        if 40 <= n < 48:
            record["answer"] = "a reference answer that a random-weight model will not write"
        if n >= 48:
            record["image"] = "images/missing.png"
        records.append(record)
    return "".join(json.dumps(r) + "\n" for r in records).encode()


def watch_progress(page) -> None:
    """From now on, note in the page each answered count the progress bar shows, at every change."""
    page.evaluate(
        """(pattern) => {
          const seen = [];
          window.__progress = seen;
          const note = () => {
            const bar = document.querySelector("[data-testid=stProgress]");
            const match = bar && bar.innerText.match(new RegExp(pattern));
            if (match && seen[seen.length - 1] !== Number(match[1])) seen.push(Number(match[1]));
          };
          new MutationObserver(note).observe(document.body, { subtree: true, childList: true, characterData: true });
        }""",
        _PROGRESS.pattern,
    )


def test_a_50_row_dataset_runs_with_live_progress_a_table_and_downloads(page, tmp_path: Path) -> None:
    go(page, "Batch")
    page.get_by_text("No runs yet. Upload a dataset and press Start.").wait_for()
    upload(page, "Dataset file", [("pictures.jsonl", dataset(), "application/json")])
    upload(page, "Images and videos", [(f"p{n}.png", picture(n), "image/png") for n in range(8)])
    tokens = page.get_by_label("Max new tokens")
    tokens.fill("8")
    tokens.press("Tab")
    wait_idle(page)
    watch_progress(page)
    page.get_by_role("button", name="Start").click()

    bar = page.get_by_test_id("stProgress").first
    expect(bar).to_have_text(re.compile(r"^Finished"), timeout=RUN_TIMEOUT_S * 1000)
    seen = page.evaluate("() => window.__progress")  # answered counts the bar showed while the page stayed open
    assert seen[-1] == ROWS and len(seen) >= 3, f"the bar did not move while the page was open: {seen}"
    assert seen == sorted(seen)
    page.get_by_text("Finished · 50 of 50 questions answered · errors: 2").wait_for()
    page.get_by_text("50 of 50 results shown.").wait_for()
    page.get_by_test_id("stDataFrame").first.wait_for()
    page.get_by_test_id("stMetric").filter(has_text="Errors").get_by_text("2", exact=True).wait_for()
    page.get_by_test_id("stDataFrame").first.scroll_into_view_if_needed()
    screenshot(page, "batch")

    with page.expect_download() as jsonl_download:
        page.get_by_role("button", name="Download JSONL").click()
    results = [json.loads(line) for line in Path(jsonl_download.value.path()).read_text().splitlines()]
    assert jsonl_download.value.suggested_filename == "pictures.predictions.jsonl"
    assert [r["id"] for r in results] == [f"row-{n:02d}" for n in range(ROWS)]
    assert all(r["prediction"] and r["checkpoint"] == "demo" and r["tiles"] for r in results[:48])
    assert [r["error"] for r in results[48:]] == ["image file not found: images/missing.png"] * 2
    assert all(r["score"] is not None for r in results[40:48]) and results[0]["score"] is None
    with page.expect_download() as csv_download:
        page.get_by_role("button", name="Download CSV").click()
    table = Path(csv_download.value.path()).read_text(encoding="utf-8-sig").splitlines()
    assert table[0].startswith("id,line,turn,image") and len(table) == ROWS + 1

    page.get_by_text("Wrong or failed only").click()
    page.get_by_text("10 of 50 results shown.").wait_for()  # 8 wrong answers and 2 missing images
    wait_idle(page)

    page.get_by_role("button", name="Open as a conversation").click()
    page.get_by_role("heading", name="Image chat").first.wait_for()
    messages = page.get_by_test_id("stChatMessage")
    messages.filter(has_text="What is in picture 40?").first.wait_for()
    messages.nth(1).get_by_text("new tokens").first.wait_for()  # the answer is the run's, with its stats
    assert "?c=" in page.url
