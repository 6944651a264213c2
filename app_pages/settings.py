"""Settings: which model answers and how; shared by every page.

The answer settings apply as they change; the model (a load) waits for Apply / Load, and the
page says so while the form differs from what is loaded.
"""

import streamlit as st

from components import environment_check, language, model_cache, settings_generation, settings_model, state
from components.language import t
from i18n import ExplainedError, Text
from model_backend.settings import LoadSpec, SettingsError

st.title(t("settings.title"))
settings_model.start_form()

st.subheader(t("settings.model"))
backend = settings_model.backend_choice()
server_fields, choice = None, None
if backend == "server":
    server_fields = settings_generation.server_fields()
else:
    settings_model.known_checkpoints()
    choice = settings_model.checkpoint_choice(state.load_spec())

st.subheader(t("settings.answers"))
st.caption(t("settings.answers_apply_at_once"))
chosen = choice.spec_fields.get("checkpoint") if choice is not None else (server_fields or {}).get("model")
generation_fields = settings_generation.generation_fields(chosen)  # with a thinking switch where it has one
max_images = settings_generation.max_images_field()
settings_generation.apply_answer_settings(generation_fields, max_images)

differs = settings_model.form_differs(backend, choice, server_fields)
if differs:
    st.warning(t("settings.unapplied"), icon=":material/pending:")
if st.button(t("settings.apply"), type="primary"):
    problem: BaseException | Text | None = choice.problem if choice is not None else None
    spec, server = None, None
    if problem is None:
        try:
            server = settings_generation.server_spec(server_fields) if server_fields is not None else None
            spec = LoadSpec(**choice.spec_fields) if choice is not None else None
        except (SettingsError, ExplainedError, TypeError) as error:
            problem = error
    if problem is not None:
        language.error(problem, prefix=t("settings.not_applied"))
    else:
        if server is not None:
            state.use_server(server)
        elif spec is not None:
            state.use_local(spec)
        settings_model.applied()
        st.session_state["settings_applied"] = True
        st.rerun()  # the sidebar loads the new checkpoint, with its progress, on this rerun

if st.session_state.pop("settings_applied", False):
    # The sidebar has tried the load by now (it runs before this page): say how it went.
    if model_cache.load_failure() is None:
        st.success(t("settings.applied"))
    else:
        st.warning(t("settings.applied_not_loaded"), icon=":material/error:")
settings_model.keep_form(differs)
if choice is not None and choice.show_memory is not None:
    choice.show_memory()  # last: it asks torch about the GPU, and every widget is on screen by now

environment_check.render()
