"""InternVL Studio: chat with InternVL vision-language models about images, several images and videos.

The entry file only routes: page config, the shared sidebar (which loads the model with visible
progress), and the pages. Run with `make run`; `INTERNVL_MODEL` picks the first checkpoint.
"""

import streamlit as st

from components import access, data_folder, sidebar
from components.language import t

# A local favicon: without one, Streamlit shows the page's Material icon, fetched from fonts.gstatic.com.
st.set_page_config(page_title="InternVL Studio", page_icon="assets/favicon.png", layout="wide")

pages = [
    st.Page("app_pages/image_chat.py", title=t("app.page.image_chat"), icon=":material/image:", default=True),
    st.Page("app_pages/multi_image.py", title=t("app.page.multi_image"), icon=":material/compare:"),
    st.Page("app_pages/video_qa.py", title=t("app.page.video_qa"), icon=":material/movie:"),
    st.Page("app_pages/batch.py", title=t("app.page.batch"), icon=":material/table_view:"),
    st.Page("app_pages/compare.py", title=t("app.page.compare"), icon=":material/difference:"),
    st.Page("app_pages/settings.py", title=t("app.page.settings"), icon=":material/settings:"),
]
# The pages live in app_pages/, not pages/: Streamlit 1.67 treats a folder named `pages` next to
# the entry file as a legacy multipage app until st.navigation has run once, so the first hit on
# a cold server (or a tab reopened after a restart) showed file-name navigation and no sidebar.
navigation = st.navigation(pages)
data_folder.gate()
access.gate()
sidebar.render()
navigation.run()
