"""Draw the boxes of a grounding answer on the image the question was about."""

from __future__ import annotations

import streamlit as st

from components import media
from components.language import t
from model_backend.conversation import Turn
from model_backend.text.grounding import answer_boxes, draw_boxes


def show(turns: list[Turn], answer: str) -> None:
    """Under an answer with `<box>` tags, the latest single image of `turns` with those boxes drawn.

    Only the answer's boxes: those inside its `<think>` part are the model's drafts.
    """
    boxes = answer_boxes(answer)
    if not boxes:
        return
    image = next((turn.images for turn in reversed(turns) if turn.images), ())
    if len(image) != 1:
        st.caption(t("grounding.no_single_image"))
        return
    if media.check_image(image[0].data, image[0].name) is None:
        st.image(_boxed(image[0].data, answer), caption=t("grounding.boxes", count=len(boxes)), width=480)


@st.cache_data(show_spinner=False, max_entries=32)
def _boxed(data: bytes, answer: str) -> bytes:
    return media.png_bytes(draw_boxes(media.decoded(data), answer_boxes(answer)))  # draw_boxes draws on a copy
