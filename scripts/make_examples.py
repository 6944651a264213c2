"""Draw the example images of the Image chat gallery (small PNGs) and their suggested prompts.

Run `python scripts/make_examples.py` to regenerate `assets/examples/`. The images are drawn
with PIL only (no downloads, no licences to track) and kept flat-coloured so each PNG stays small.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

OUT = Path(__file__).resolve().parent.parent / "assets" / "examples"
SIZE = (480, 360)


def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    return ImageFont.load_default(size=size)


def bar_chart() -> Image.Image:
    image = Image.new("RGB", SIZE, "white")
    draw = ImageDraw.Draw(image)
    draw.text((120, 12), "Fruit sold per day", fill="black", font=_font(22))
    bars = [("Mon", 120, "#4363d8"), ("Tue", 190, "#3cb44b"), ("Wed", 80, "#e6194b"), ("Thu", 240, "#f58231")]
    base = 320
    draw.line((50, base, 450, base), fill="black", width=2)
    draw.line((50, 60, 50, base), fill="black", width=2)
    for i, (day, value, colour) in enumerate(bars):
        x = 80 + i * 95
        draw.rectangle((x, base - value, x + 60, base), fill=colour)
        draw.text((x + 10, base - value - 22), str(value), fill="black", font=_font(16))
        draw.text((x + 12, base + 6), day, fill="black", font=_font(16))
    return image


def street_sign() -> Image.Image:
    image = Image.new("RGB", SIZE, "#87ceeb")
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, 260, 480, 360), fill="#555555")
    draw.rectangle((0, 300, 480, 308), fill="#ffffff")
    draw.rectangle((60, 120, 200, 260), fill="#b5651d")  # a house
    draw.polygon([(50, 120), (130, 60), (210, 120)], fill="#8b0000")
    draw.rectangle((320, 90, 330, 262), fill="#777777")  # sign pole
    draw.rectangle((250, 40, 410, 100), fill="#1a7f37", outline="white", width=4)
    draw.text((268, 50), "MAIN ST", fill="white", font=_font(30))
    draw.regular_polygon((325, 160, 38), 8, rotation=22.5, fill="#cc0000", outline="white")
    draw.text((293, 148), "STOP", fill="white", font=_font(22))
    return image


def shapes() -> Image.Image:
    image = Image.new("RGB", SIZE, "#fafafa")
    draw = ImageDraw.Draw(image)
    for x, y in [(60, 60), (200, 90), (380, 50), (120, 250), (300, 260)]:
        draw.ellipse((x, y, x + 50, y + 50), fill="#e6194b")
    for x, y in [(40, 160), (250, 180), (400, 200)]:
        draw.rectangle((x, y, x + 45, y + 45), fill="#4363d8")
    for x, y in [(150, 160), (330, 120)]:
        draw.polygon([(x, y + 50), (x + 28, y), (x + 56, y + 50)], fill="#3cb44b")
    return image


def receipt() -> Image.Image:
    image = Image.new("RGB", SIZE, "#d9d9d9")
    draw = ImageDraw.Draw(image)
    draw.rectangle((110, 10, 370, 350), fill="white")
    draw.text((128, 30), "CORNER CAFE", fill="black", font=_font(20))
    items = [("Espresso", "2.50"), ("Croissant", "3.20"), ("Orange juice", "4.00"), ("TOTAL", "9.70")]
    for i, (item, price) in enumerate(items):
        y = 100 + i * 40 + (20 if item == "TOTAL" else 0)
        draw.text((128, y), item, fill="black", font=_font(18))
        draw.text((352, y), price, fill="black", font=_font(18), anchor="ra")  # right-aligned prices
    draw.text((150, 300), "Thank you!", fill="#555555", font=_font(18))
    return image


def objects() -> Image.Image:
    image = Image.new("RGB", SIZE, "#e8f5e9")
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, 250, 480, 360), fill="#8d6e63")  # a table
    draw.ellipse((60, 170, 150, 260), fill="#ff9800")  # an orange
    draw.rectangle((200, 120, 260, 255), fill="#90caf9", outline="#1565c0", width=3)  # a glass
    draw.rectangle((320, 200, 440, 255), fill="#fdd835")  # a book
    draw.text((330, 215), "NOVEL", fill="black", font=_font(20))
    return image


EXAMPLES: list[tuple[str, str, Callable[[], Image.Image], str]] = [
    ("bar_chart.png", "Bar chart", bar_chart, "Which day sold the most fruit, and how many?"),
    ("street_sign.png", "Street sign", street_sign, "What do the two signs say?"),
    ("shapes.png", "Shapes", shapes, "How many red circles, blue squares and green triangles are there?"),
    ("receipt.png", "Receipt", receipt, "What is the total on this receipt, and what was the most expensive item?"),
    ("objects.png", "Objects", objects, "Please detect the orange in this image with a bounding box."),
]


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    index = []
    for filename, title, draw, prompt in EXAMPLES:
        draw().quantize(colors=64).save(OUT / filename, optimize=True)  # a palette keeps the PNG small
        index.append({"file": filename, "title": title, "prompt": prompt})
    (OUT / "examples.json").write_text(json.dumps(index, indent=1) + "\n")
    print(f"wrote {len(index)} examples to {OUT}")


if __name__ == "__main__":
    main()
