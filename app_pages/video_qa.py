"""Video QA: sample frames from an uploaded video, preview them, and ask about them."""

import streamlit as st

from components import chat, chat_actions, conversations, model_cache, state, stats, video_input

PAGE = "video"

st.title("Video QA")
settings = state.generation_settings()
live = conversations.current(PAGE)
conversation = live.conversation
answering = chat.answering(live)
conversations.sidebar_list(PAGE, live)
engine = model_cache.current_engine()

video = video_input.attached_video(conversation)
if video is not None:
    st.caption("This conversation is about the video below; clear it to ask about another.")
else:
    video = video_input.video_picker(PAGE)
usable = video is not None and video_input.show_strip(video)

chat.show_history(conversation)
pending_answer = st.container()  # the new answer streams here, above the actions
chat_actions.render(PAGE, live, answering)
stats.context_meter(conversation, engine, settings)

question = st.chat_input("Ask about the video, e.g. “What happens in this clip?”", disabled=answering)
if question:
    if not usable:
        st.error("Upload a video that can be decoded first.")
    else:
        # The video attaches to the first turn only; follow-ups refer to the same frames.
        chat.submit(live, question, video=video_input.video_to_attach(conversation, video))

chat.answer_pending(PAGE, live, engine, settings, pending_answer)
