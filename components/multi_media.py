"""Inputs for the multi-image page: several uploads, labelled Image-1..k, with their share of tiles."""

from __future__ import annotations

import streamlit as st

from components import media
from model_backend.conversation import Conversation, ImageAttachment, tiles_per_image


def images_picker(page: str, limit: int, max_tiles: int) -> tuple[ImageAttachment, ...] | None:
    """The uploaded images (2..limit, all readable), or None with an error shown."""
    uploads = st.file_uploader(
        f"Upload 2 to {limit} images", type=media.IMAGE_TYPES, accept_multiple_files=True, key=f"uploads_{page}"
    )
    if not uploads:
        return None
    if len(uploads) > limit:
        st.error(
            f"{len(uploads)} images uploaded, but at most {limit} fit in one question "
            "(raise “Max images” on the Settings page, or remove some)."
        )
        return None
    images = tuple(ImageAttachment(u.getvalue(), u.name) for u in uploads)
    problems = [p for p in (media.check_image(i.data, i.name) for i in images) if p]
    for problem in problems:
        st.error(problem)
    if problems:
        return None
    if len(images) < 2:
        st.info("Add at least one more image to compare.")
    show_labelled(images, max_tiles)
    return images


def show_labelled(images: tuple[ImageAttachment, ...], max_tiles: int) -> None:
    """Thumbnails captioned `Image-k`, each with the tiles it gets from the shared budget."""
    budget = tiles_per_image(max_tiles, len(images))
    columns = st.columns(min(len(images), 6))
    for number, image in enumerate(images, start=1):
        tiles = media.tile_count(image.data, budget)
        with columns[(number - 1) % len(columns)]:
            st.image(media.thumbnail_png(image.data), caption=f"Image-{number}: {image.name}", width=150)
            st.caption(f"{tiles} tile(s) of at most {budget}")


def first_images(conversation: Conversation) -> tuple[ImageAttachment, ...]:
    """The images of the conversation: they ride on its first turn, later turns refer back to them."""
    return conversation.turns[0].images if conversation.turns else ()


def images_to_attach(conversation: Conversation, picked: tuple[ImageAttachment, ...]) -> tuple[ImageAttachment, ...]:
    """What the next question carries: the images if no turn has been answered yet, else nothing."""
    if any(turn.answered for turn in conversation.turns):
        return ()
    return picked  # a failed first turn is replaced by the next question, which must carry them again
