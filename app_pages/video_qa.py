"""Video QA: sample frames from an uploaded video, preview them, and ask about them."""

import streamlit as st

from components import video_input
from components.chat_page import ChatPage

PAGE = "video"

page = ChatPage.open(PAGE, "Video QA")
conversation = page.conversation

video = video_input.attached_video(conversation)
if video is not None:
    st.caption("This conversation is about the video below; clear it to ask about another.")
else:
    video = video_input.video_picker(PAGE)
usable = video is not None and video_input.show_strip(video)

page.show_conversation()

question = st.chat_input("Ask about the video, e.g. “What happens in this clip?”", disabled=page.answering)
if question:
    if not usable:
        st.error("Upload a video that can be decoded first.")
    else:
        # The video attaches to the first turn only; follow-ups refer to the same frames.
        page.submit(question, video=video_input.video_to_attach(conversation, video))

page.answer_pending()
