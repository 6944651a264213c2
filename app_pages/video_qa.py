"""Video QA: sample frames from an uploaded video, preview them, and ask about them."""

import streamlit as st

from components import language, video_input
from components.chat_page import ChatPage
from components.language import t
from i18n import Text

PAGE = "video"

page = ChatPage.open(PAGE, t("app.page.video_qa"))
conversation = page.conversation

attached = video_input.attached_video(conversation)
if attached is not None:
    st.caption(t("video.attached"))
    usable = video_input.show_strip(attached)  # its problem, if any, is shown with the strip
    picked = video_input.PickedVideo(attached if usable else None, None if usable else Text("video.ask_unusable"))
else:
    picked = video_input.video_picker(PAGE)

if picked.blocker is None:
    page.encode_ahead(video=video_input.video_to_attach(conversation, picked.video))

page.show_conversation()

question = st.chat_input(t("video.ask"), disabled=page.answering)
if question:
    if picked.blocker is not None:
        # The picker's own reason (no video, an empty part, an unreadable file), never a guess.
        st.error(language.render(picked.blocker))
    else:
        # The video attaches to the first turn only; follow-ups refer to the same frames.
        page.submit(question, video=video_input.video_to_attach(conversation, picked.video))

page.answer_pending()
