"""Image chat: one image (uploaded, from the gallery, or none), many rounds, grounding boxes drawn."""

import streamlit as st

from components import media
from components.chat_page import ChatPage
from components.language import t

PAGE = "image"

page = ChatPage.open(PAGE, t("app.page.image_chat"))
conversation = page.conversation

picker, preview = st.columns([3, 2])
with picker:
    image, suggested = media.image_picker(PAGE)
with preview:
    if image is not None:
        media.show_tile_preview(image, page.settings.max_tiles)
    elif any(turn.images for turn in conversation.turns):
        st.caption(t("image_chat.earlier_image"))  # follow-ups still see the images asked about before
    else:
        st.caption(t("image_chat.no_image"))

# The image goes with the next question only when it differs from the last one sent.
sent = [img.data for turn in conversation.turns if turn.answered for img in turn.images]
attach = (image,) if image is not None and (not sent or sent[-1] != image.data) else ()
page.encode_ahead(images=attach)

page.show_conversation(draw_boxes=True)

question = st.chat_input(t("image_chat.ask"), disabled=page.answering)
if (
    suggested
    and not conversation.turns
    and st.button(t("image_chat.ask_suggested", question=suggested), key="ask_suggested", icon=":material/lightbulb:")
):
    question = suggested
if question:
    page.submit(question, images=attach)

page.answer_pending()
