"""Multi-image compare: 2..N images in one question, labelled Image-1..k; follow-ups keep them."""

import streamlit as st

from components import language, multi_media, state
from components.chat_page import ChatPage
from components.language import t

PAGE = "multi"

page = ChatPage.open(PAGE, t("app.page.multi_image"))
conversation = page.conversation

attached = multi_media.first_images(conversation)
if attached:
    st.caption(t("multi.attached", count=len(attached)))
    picked = multi_media.PickedImages(attached)
else:
    picked = multi_media.images_picker(PAGE, state.max_images(), page.settings.max_tiles)

if picked.blocker is None:
    page.encode_ahead(images=multi_media.images_to_attach(conversation, picked.images))

page.show_conversation()

question = st.chat_input(t("multi.ask"), disabled=page.answering)
if question:
    if picked.blocker is not None:
        st.error(language.render(picked.blocker))  # the uploads' own problem, never a guess
    else:
        # Images attach to the first turn only: follow-ups refer to the same Image-k labels.
        page.submit(question, images=multi_media.images_to_attach(conversation, picked.images))

page.answer_pending()
