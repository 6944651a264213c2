"""InternVL Studio: chat with InternVL vision-language models about images, several images and videos.

The entry file only routes: page config, the shared sidebar (which loads the model with visible
progress), and the four pages. Run with `make run`; `INTERNVL_MODEL` picks the first checkpoint.
"""

import streamlit as st

from components import sidebar

st.set_page_config(page_title="InternVL Studio", layout="wide")  # default favicon: no font fetch offline

pages = [
    st.Page("pages/image_chat.py", title="Image chat", icon=":material/image:", default=True),
    st.Page("pages/multi_image.py", title="Multi-image compare", icon=":material/compare:"),
    st.Page("pages/video_qa.py", title="Video QA", icon=":material/movie:"),
    st.Page("pages/settings.py", title="Settings", icon=":material/settings:"),
]
navigation = st.navigation(pages)
sidebar.render()
navigation.run()
