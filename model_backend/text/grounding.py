"""Grounding answers: find `<ref>label</ref><box>[[x1,y1,x2,y2],...]</box>` and draw the boxes.

InternVL answers grounding questions ("where is the red car?") with boxes in coordinates
0..1000 relative to the image, whatever its pixel size. Parsing is a regex plus `int()` on
digit runs: model output is never evaluated as code.

>>> boxes = parse_boxes("<ref>cat</ref><box>[[10, 20, 500, 1000]]</box>")
>>> boxes[0].label, boxes[0].to_pixels(200, 100)
('cat', (2, 2, 100, 100))
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from PIL import Image, ImageDraw, ImageFont

from model_backend.text.thinking import split

COORDINATE_SCALE = 1000
# A box group with an optional label in front; the label may be missing in some answers.
_GROUP = re.compile(r"(?:<ref>(?P<label>.*?)</ref>\s*)?<box>(?P<boxes>.*?)</box>", re.DOTALL)
# Four integers in brackets; anything else inside <box> is ignored rather than guessed at.
_QUAD = re.compile(r"\[\s*(\d{1,5})\s*,\s*(\d{1,5})\s*,\s*(\d{1,5})\s*,\s*(\d{1,5})\s*\]")
_PALETTE = ("#e6194b", "#3cb44b", "#4363d8", "#f58231", "#911eb4", "#42d4f4", "#f032e6", "#9a6324")


@dataclass(frozen=True)
class Box:
    """One box in 0..1000 coordinates, ordered so that x1 <= x2 and y1 <= y2."""

    label: str
    x1: int
    y1: int
    x2: int
    y2: int

    def to_pixels(self, width: int, height: int) -> tuple[int, int, int, int]:
        """The box in pixels of an image of `width` x `height`."""
        return (
            round(self.x1 * width / COORDINATE_SCALE),
            round(self.y1 * height / COORDINATE_SCALE),
            round(self.x2 * width / COORDINATE_SCALE),
            round(self.y2 * height / COORDINATE_SCALE),
        )


def parse_boxes(text: str) -> list[Box]:
    """Every box of every `<box>` group in `text`, labelled with the `<ref>` just before it.

    Coordinates above 1000 are clamped; boxes with no area are dropped.
    """
    found: list[Box] = []
    for group in _GROUP.finditer(text):
        label = (group.group("label") or "").strip()
        for quad in _QUAD.finditer(group.group("boxes")):
            a, b, c, d = (min(int(v), COORDINATE_SCALE) for v in quad.groups())
            x1, x2 = sorted((a, c))
            y1, y2 = sorted((b, d))
            if x2 > x1 and y2 > y1:
                found.append(Box(label, x1, y1, x2, y2))
    return found


def answer_boxes(text: str) -> list[Box]:
    """The boxes of an answer's answer part: boxes inside `<think>…</think>` are drafts, not drawn.

    >>> len(answer_boxes("<think><box>[[0,0,9,9]]</box>?</think><ref>cat</ref><box>[[10,20,500,1000]]</box>"))
    1
    """
    return parse_boxes(split(text).answer)


def readable(text: str) -> str:
    """The answer with grounding tags turned into plain words, for display: `**cat** [10, 20, 500, 1000]`.

    The chat applies it to the thinking and the answer part separately (`model_backend.text.thinking.split`).
    """

    def replace(group: re.Match[str]) -> str:
        label = (group.group("label") or "").strip()
        quads = ["[" + ", ".join(q) + "]" for q in _QUAD.findall(group.group("boxes"))]
        return " ".join(([f"**{label}**"] if label else []) + quads)

    return _GROUP.sub(replace, text)


def draw_boxes(image: Image.Image, boxes: list[Box]) -> Image.Image:
    """A copy of `image` (RGB) with each box outlined and its label written on a colour tab."""
    canvas = image.convert("RGB")  # convert() always copies, so the caller's image is untouched
    draw = ImageDraw.Draw(canvas)
    width, height = canvas.size
    line = max(2, round(min(width, height) / 200))
    font = ImageFont.load_default(size=max(12, round(min(width, height) / 30)))
    for index, box in enumerate(boxes):
        colour = _PALETTE[index % len(_PALETTE)]
        x1, y1, x2, y2 = box.to_pixels(width, height)
        draw.rectangle((x1, y1, x2, y2), outline=colour, width=line)
        if box.label:
            left, top, right, bottom = draw.textbbox((0, 0), box.label, font=font)
            tab_h = bottom - top + 2 * line
            tab_y = y1 - tab_h if y1 - tab_h >= 0 else y1  # above the box, or inside when at the top edge
            draw.rectangle((x1, tab_y, x1 + right - left + 2 * line, tab_y + tab_h), fill=colour)
            draw.text((x1 + line, tab_y + line - top), box.label, fill="white", font=font)
    return canvas
