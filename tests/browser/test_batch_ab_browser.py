"""The Batch page's A/B mode in real Chromium against `streamlit run` with two demo checkpoints.

A = this session's model (`demo`), B = the Compare page's default other demo (`demo-qwen2_5`). A
small dataset (its pictures made here with PIL, one row with a missing image) runs as one
server-side job: the bar counts both sides, the per-model score table and the joint table come up,
"only rows where they disagree" keeps just those, and the JSONL download is the joint table.
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

ROWS = 8
RUN_TIMEOUT_S = 600
_DISAGREE = re.compile(r"The two models disagree on (\d+) of (\d+) questions both answered\.")


def picture(number: int) -> bytes:
    image = Image.new("RGB", (160, 120), (50 + 25 * number, 110, 210 - 20 * number))
    ImageDraw.Draw(image).ellipse((30, 20 + 4 * number, 100, 90), fill=(240, 200 - 15 * number, 40))
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


def dataset() -> bytes:
    """Seven questions about four pictures (references a random model will not give), one missing image."""
    records = [
        {"id": f"q{n}", "image": f"images/p{n % 4}.png", "question": f"What is in picture {n}?", "answer": "a sun"}
        for n in range(ROWS - 1)
    ]
    records.append({"id": "gone", "image": "images/missing.png", "question": "Where is it?", "answer": "here"})
    return "".join(json.dumps(r) + "\n" for r in records).encode()


def test_an_ab_run_shows_one_table_and_the_disagree_filter(page) -> None:
    go(page, "Batch")
    page.get_by_text("A/B: compare two models").click()
    page.get_by_text("Model A", exact=True).wait_for()
    page.get_by_text("Model B", exact=True).wait_for()
    upload(page, "Dataset file", [("pairs.jsonl", dataset(), "application/json")])
    upload(page, "Images and videos", [(f"p{n}.png", picture(n), "image/png") for n in range(4)])
    tokens = page.get_by_label("Max new tokens")
    tokens.fill("8")
    tokens.press("Tab")
    wait_idle(page)
    page.get_by_role("button", name="Start").click()

    bar = page.get_by_test_id("stProgress").first
    expect(bar).to_have_text(re.compile(r"^Finished"), timeout=RUN_TIMEOUT_S * 1000)
    page.get_by_text(f"Finished · A {ROWS} · B {ROWS} of {ROWS} questions answered · errors: 2").wait_for()
    page.get_by_text("Both models fit in memory together: each question goes to A, then to B.").wait_for()
    page.get_by_text(f"{ROWS} of {ROWS} questions shown.").wait_for()
    tables = page.get_by_test_id("stDataFrame")
    tables.nth(1).wait_for()
    assert tables.count() == 2  # the per-model scores and the joint table
    counted = page.get_by_text(_DISAGREE)
    counted.wait_for()
    disagree, compared = (int(n) for n in _DISAGREE.search(counted.inner_text()).groups())
    assert compared == ROWS - 1 and disagree >= 1

    with page.expect_download() as download:
        page.get_by_role("button", name="Download JSONL").click()
    rows = [json.loads(line) for line in Path(download.value.path()).read_text().splitlines()]
    assert download.value.suggested_filename == "pairs.ab.jsonl"
    assert [r["id"] for r in rows] == [f"q{n}" for n in range(ROWS - 1)] + ["gone"]
    assert all(r["checkpoint_a"] == "demo" and r["checkpoint_b"] == "demo-qwen2_5" for r in rows)
    assert all(r["prediction_a"] and r["prediction_b"] for r in rows[:-1])
    assert sum(r["prediction_a"] != r["prediction_b"] for r in rows) >= 1, "the two checkpoints answer alike"
    assert rows[-1]["error_a"] == rows[-1]["error_b"] == "image file not found: images/missing.png"
    assert sum(r["agree"] is False for r in rows) == disagree

    page.get_by_text("Only rows where they disagree").click()
    page.get_by_text(f"{disagree} of {ROWS} questions shown.").wait_for()
    wait_idle(page)
    tables.nth(1).scroll_into_view_if_needed()
    screenshot(page, "batch-ab")
