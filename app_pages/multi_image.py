"""Multi-image compare: 2..N images in one question, labelled Image-1..k; follow-ups keep them."""

import streamlit as st

from components import chat, chat_actions, conversations, model_cache, multi_media, state, stats

PAGE = "multi"

st.title("Multi-image compare")
settings = state.generation_settings()
live = conversations.current(PAGE)
conversation = live.conversation
answering = chat.answering(live)
conversations.sidebar_list(PAGE, live)
engine = model_cache.current_engine()

attached = multi_media.first_images(conversation)
if attached:
    st.caption(f"This conversation is about {len(attached)} images; clear it to compare others.")
    images = attached
else:
    images = multi_media.images_picker(PAGE, state.max_images(), settings.max_tiles)

chat.show_history(conversation)
pending_answer = st.container()  # the new answer streams here, above the actions
chat_actions.render(PAGE, live, answering)
stats.context_meter(conversation, engine, settings)

question = st.chat_input("Compare the images, e.g. “What differs between Image-1 and Image-2?”", disabled=answering)
if question:
    if not images or len(images) < 2:
        st.error("Upload at least two images first.")
    else:
        # Images attach to the first turn only: follow-ups refer to the same Image-k labels.
        chat.submit(live, question, images=multi_media.images_to_attach(conversation, images))

chat.answer_pending(PAGE, live, engine, settings, pending_answer)
