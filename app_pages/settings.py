"""Settings: which model answers and how; shared by every page once applied."""

import streamlit as st

from components import environment_check, settings_generation, settings_model, state
from model_backend.settings import LoadSpec, SettingsError

st.title("Settings")

st.subheader("Model")
backend = settings_model.backend_choice()
server_fields, choice = None, None
if backend == "server":
    server_fields = settings_generation.server_fields()
else:
    with st.expander("Known checkpoints", expanded=False):
        settings_model.catalog_table()
    choice = settings_model.checkpoint_choice(state.load_spec())

st.subheader("Answers")
chosen = choice.spec_fields.get("checkpoint") if choice is not None else (server_fields or {}).get("model")
generation_fields = settings_generation.generation_fields(chosen)  # with a thinking switch where it has one
max_images = settings_generation.max_images_field()

if st.button("Apply / Load", type="primary"):
    try:
        if choice is not None and choice.problem:
            raise SettingsError(choice.problem)
        generation, server = settings_generation.build(generation_fields, server_fields)
        spec = LoadSpec(**choice.spec_fields) if choice is not None else None
    except (SettingsError, TypeError) as error:
        st.error(f"Not applied: {error}")
    else:
        st.session_state[state.GENERATION] = generation
        st.session_state[state.MAX_IMAGES] = max_images
        if server is not None:
            state.use_server(server)
        elif spec is not None:
            state.use_local(spec)
        st.session_state["settings_applied"] = True
        st.rerun()  # the sidebar loads the new checkpoint, with its progress, on this rerun

if st.session_state.pop("settings_applied", False):
    st.success("Applied. The sidebar shows the model's load state.")

environment_check.render()
