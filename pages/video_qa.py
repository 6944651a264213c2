"""Video QA: sample frames from an uploaded video, preview them, and ask about them."""

import streamlit as st

from components import chat, chat_actions, model_cache, state, stats, video_input

PAGE = "video"

st.title("Video QA")
settings = state.generation_settings()
conversation = state.conversation(PAGE)
engine = model_cache.current_engine()

video = video_input.attached_video(conversation)
if video is not None:
    st.caption("This conversation is about the video below; clear it to ask about another.")
else:
    video = video_input.video_picker(PAGE)
usable = video is not None and video_input.show_strip(video)

chat.show_history(conversation)
pending_answer = st.container()  # the new answer streams here, above the actions
chat_actions.render(PAGE, conversation)
stats.context_meter(conversation, engine, settings)

question = st.chat_input("Ask about the video, e.g. “What happens in this clip?”")
if question:
    if not usable:
        st.error("Upload a video that can be decoded first.")
    else:
        # The video attaches to the first turn only; follow-ups refer to the same frames.
        chat.submit(conversation, question, video=video_input.video_to_attach(conversation, video))

chat.answer_pending(PAGE, conversation, engine, settings, pending_answer)
