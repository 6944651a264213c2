"""Grounding: boxes parsed from model answers (never evaluated) and drawn at the right pixels."""

from __future__ import annotations

from PIL import Image

from model_backend.text.grounding import Box, draw_boxes, parse_boxes, readable


def test_parses_label_and_several_boxes() -> None:
    text = "Here: <ref>dog</ref><box>[[0, 0, 500, 500], [600,600,900,1000]]</box>"
    text += " and <ref>cat</ref><box>[[1,2,3,4]]</box>"
    assert parse_boxes(text) == [
        Box("dog", 0, 0, 500, 500),
        Box("dog", 600, 600, 900, 1000),
        Box("cat", 1, 2, 3, 4),
    ]


def test_box_without_ref_gets_empty_label() -> None:
    assert parse_boxes("<box>[[10,10,20,20]]</box>") == [Box("", 10, 10, 20, 20)]


def test_swapped_corners_are_ordered_and_big_values_clamped() -> None:
    assert parse_boxes("<ref>x</ref><box>[[900, 1500, 100, 200]]</box>") == [Box("x", 100, 200, 900, 1000)]


def test_garbage_is_ignored_not_evaluated() -> None:
    hostile = "<ref>a</ref><box>[[__import__('os').system('x'), 1, 2, 3]]</box>"
    assert parse_boxes(hostile) == []
    assert parse_boxes("<ref>a</ref><box>[[1.5, 2, 3, 4]]</box>") == []
    assert parse_boxes("<box>[[5,5,5,9]]</box>") == []  # no area
    assert parse_boxes("no boxes here") == []
    assert parse_boxes("<ref>a</ref><box>[[1,2,3,4]]") == []  # unclosed


def test_to_pixels_scales_relative_coordinates() -> None:
    assert Box("", 250, 500, 750, 1000).to_pixels(400, 200) == (100, 100, 300, 200)


def test_draw_boxes_outlines_the_box_and_keeps_the_original() -> None:
    image = Image.new("RGB", (200, 100), "black")
    drawn = draw_boxes(image, [Box("thing", 250, 500, 750, 1000)])
    assert image.getpixel((50, 50)) == (0, 0, 0)
    assert drawn.size == image.size
    assert drawn.getpixel((50, 75)) != (0, 0, 0)  # left edge of the box, x = 50 px
    assert drawn.getpixel((100, 75)) == (0, 0, 0)  # inside the box stays untouched


def test_draw_boxes_accepts_other_modes() -> None:
    assert draw_boxes(Image.new("L", (50, 50)), [Box("", 0, 0, 1000, 1000)]).mode == "RGB"


def test_readable_replaces_tags() -> None:
    assert readable("See <ref>cat</ref><box>[[1,2,3,4]]</box>.") == "See **cat** [1, 2, 3, 4]."
