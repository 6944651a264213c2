"""Multi-image compare: 2..N images in one question, labelled Image-1..k; follow-ups keep them."""

import streamlit as st

from components import multi_media, state
from components.chat_page import ChatPage

PAGE = "multi"

page = ChatPage.open(PAGE, "Multi-image compare")
conversation = page.conversation

attached = multi_media.first_images(conversation)
if attached:
    st.caption(f"This conversation is about {len(attached)} images; clear it to compare others.")
    images = attached
else:
    images = multi_media.images_picker(PAGE, state.max_images(), page.settings.max_tiles)

page.show_conversation()

question = st.chat_input(
    "Compare the images, e.g. “What differs between Image-1 and Image-2?”", disabled=page.answering
)
if question:
    if not images or len(images) < 2:
        st.error("Upload at least two images first.")
    else:
        # Images attach to the first turn only: follow-ups refer to the same Image-k labels.
        page.submit(question, images=multi_media.images_to_attach(conversation, images))

page.answer_pending()
