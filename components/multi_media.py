"""Inputs for the multi-image page: several uploads, labelled Image-1..k, with their share of tiles.

The picker says what is wrong with the uploads where it is wrong (too many, unreadable) and hands
the page the one sentence Ask should say instead of asking, so Ask never blames something else
(17 images of 16 are too many, not too few).
"""

from __future__ import annotations

from dataclasses import dataclass

import streamlit as st

from components import language, media, state
from components.language import t
from components.safe_markdown import plain_label
from i18n import Text
from model_backend.conversation import Conversation, ImageAttachment, tiles_per_image

MIN_IMAGES = 2


@dataclass(frozen=True)
class PickedImages:
    """What the uploads give the next question: its images, or (`images` empty) why it cannot be asked."""

    images: tuple[ImageAttachment, ...] = ()
    #: What Ask says instead of asking; None when the images can be asked about.
    blocker: Text | None = None


def images_picker(page: str, limit: int, max_tiles: int) -> PickedImages:
    """The uploaded images (2..limit, all readable), or why not, with the problem shown under the uploader."""
    uploads = st.file_uploader(
        t("multi.upload", limit=limit), type=media.IMAGE_TYPES, accept_multiple_files=True, key=f"uploads_{page}"
    )
    if not uploads:
        return PickedImages(blocker=Text("multi.ask_too_few"))
    if len(uploads) > limit:
        extra = len(uploads) - limit
        message = t("multi.too_many", count=len(uploads), limit=limit, extra=extra)
        if limit < state.MAX_IMAGES_LIMIT:  # at the highest limit, raising it is no way out
            message += " " + t("multi.raise_limit", most=state.MAX_IMAGES_LIMIT)
        st.error(message)
        return PickedImages(blocker=Text("multi.ask_too_many", {"extra": extra, "limit": limit}))
    images = tuple(ImageAttachment(u.getvalue(), u.name) for u in uploads)
    problems = [(image, media.check_image(image.data, image.name)) for image in images]
    broken = [(image, problem) for image, problem in problems if problem is not None]
    for image, problem in broken:
        language.error(problem, prefix=image.name)
    if broken:
        return PickedImages(blocker=Text("multi.ask_unreadable", {"count": len(broken)}))
    if len(images) < MIN_IMAGES:
        st.info(t("multi.add_one_more"))
    show_labelled(images, max_tiles)
    blocker = Text("multi.ask_too_few") if len(images) < MIN_IMAGES else None
    return PickedImages(images, blocker)


def show_labelled(images: tuple[ImageAttachment, ...], max_tiles: int) -> None:
    """Thumbnails captioned `Image-k`, each with the tiles it gets from the shared budget."""
    budget = tiles_per_image(max_tiles, len(images))
    columns = st.columns(min(len(images), 6))
    for number, image in enumerate(images, start=1):
        plan = media.tile_plan(image.data, budget)
        with columns[(number - 1) % len(columns)]:
            # "Image-k" is how the question names the image to the model: the same in every language.
            st.image(media.thumbnail_png(image.data), caption=f"Image-{number}: {plain_label(image.name)}", width=150)
            # The thumbnail comes on top of the budget: "7 tiles of at most 6" read like a bug.
            if plan.thumbnail:
                st.caption(t("multi.tiles_thumbnail", tiles=plan.grid_tiles, budget=budget))
            else:
                st.caption(t("multi.tiles", tiles=plan.grid_tiles, budget=budget))


def first_images(conversation: Conversation) -> tuple[ImageAttachment, ...]:
    """The images of the conversation: they ride on its first turn, later turns refer back to them."""
    return conversation.turns[0].images if conversation.turns else ()


def images_to_attach(conversation: Conversation, picked: tuple[ImageAttachment, ...]) -> tuple[ImageAttachment, ...]:
    """What the next question carries: the images if no turn has been answered yet, else nothing."""
    if any(turn.answered for turn in conversation.turns):
        return ()
    return picked  # a failed first turn is replaced by the next question, which must carry them again
