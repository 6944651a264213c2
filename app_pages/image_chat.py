"""Image chat: one image (uploaded, from the gallery, or none), many rounds, grounding boxes drawn."""

import streamlit as st

from components import chat, chat_actions, conversations, media, model_cache, state, stats

PAGE = "image"

st.title("Image chat")
settings = state.generation_settings()
live = conversations.current(PAGE)
conversation = live.conversation
answering = chat.answering(live)
conversations.sidebar_list(PAGE, live)
engine = model_cache.current_engine()

picker, preview = st.columns([3, 2])
with picker:
    image, suggested = media.image_picker(PAGE)
with preview:
    if image is not None:
        media.show_tile_preview(image, settings.max_tiles)
    else:
        st.caption("No image: the model answers from text alone.")

chat.show_history(conversation, draw_boxes=True)
pending_answer = st.container()  # the new answer streams here, above the actions
chat_actions.render(PAGE, live, answering)
stats.context_meter(conversation, engine, settings)

question = st.chat_input("Ask about the image, or anything", disabled=answering)
if (
    suggested
    and not conversation.turns
    and st.button(f"Ask: {suggested}", key="ask_suggested", icon=":material/lightbulb:")
):
    question = suggested
if question:
    # The image goes with the question only when it differs from the last one sent.
    sent = [img.data for turn in conversation.turns if turn.answered for img in turn.images]
    attach = (image,) if image is not None and (not sent or sent[-1] != image.data) else ()
    chat.submit(live, question, images=attach)

chat.answer_pending(PAGE, live, engine, settings, pending_answer)
