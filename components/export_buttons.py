"""Downloads that reproduce a conversation outside the app: a replay script and an OpenAI request.

Drawn inside the conversation's Export popover (next to Markdown and JSON). The files are made
only when a button is clicked (Streamlit's deferred download): the request decodes a video's
frames, the replay script resolves the checkpoint's folder. See `model_backend.export.replay`.
"""

from __future__ import annotations

import copy
from collections.abc import Callable

import streamlit as st

from components.language import t
from model_backend.conversation import Conversation
from model_backend.export.replay import SERVER_NAMES, checkpoint_reference, openai_request, replay_script, replayable
from model_backend.settings import GenerationSettings, LoadSpec, ServerSpec

#: The kinds of server a request can be written for, the InternVL servers first.
SERVERS = ("lmdeploy", "vllm", "transformers", "openai")
#: The commands read a server's API key from this variable; the key itself is never written into a file.
API_KEY_ENV = "OPENAI_API_KEY"


def render(
    page: str,
    conversation: Conversation,
    load_spec: LoadSpec | None,
    settings: GenerationSettings,
    server_spec: ServerSpec | None,
) -> None:
    """The replay-script and OpenAI-request downloads for `conversation` as it is now.

    `load_spec` is the local model (None when answers come from a server); with a server, the
    replay script names the served model as its checkpoint (its `--checkpoint` flag changes it).
    """
    # A copy of the turns as shown now: an answer still streaming does not end up half in a file.
    snapshot = Conversation([copy.copy(turn) for turn in conversation.turns])
    replay_spec = load_spec or (LoadSpec(server_spec.model) if server_spec is not None else None)
    can_replay = replay_spec is not None and replayable(snapshot)
    st.caption(t("export.reproduce"))
    st.download_button(
        t("export.replay.label"),
        data=_replay_zip(snapshot, replay_spec, settings) if can_replay else b"",
        file_name=f"{page}-replay.zip",
        mime="application/zip",
        key=f"export_replay_{page}",
        on_click="ignore",
        disabled=not can_replay,
        help=t("export.replay.help") if can_replay else t("export.replay.nothing"),
        icon=":material/replay:",
    )
    server = st.selectbox(
        t("export.server.label"), SERVERS, format_func=SERVER_NAMES.__getitem__, key=f"export_server_{page}"
    )
    has_turns = bool(snapshot.turns)
    request = _request(snapshot, load_spec, settings, server_spec, server)
    for kind, label, suffix, mime in (
        ("curl", t("export.request.curl"), "sh", "text/x-shellscript"),
        ("python", t("export.request.python"), "py", "text/x-python"),
    ):
        st.download_button(
            label,
            data=(lambda kind=kind: getattr(request(), kind)) if has_turns else b"",
            file_name=f"{page}-request.{suffix}",
            mime=mime,
            key=f"export_{kind}_{page}",
            on_click="ignore",
            disabled=not has_turns,
            help=t("export.request.help", server=SERVER_NAMES[server]) if has_turns else t("export.request.nothing"),
            icon=":material/terminal:" if kind == "curl" else ":material/code:",
        )


def _replay_zip(conversation: Conversation, spec: LoadSpec, settings: GenerationSettings) -> Callable[[], bytes]:
    return lambda: replay_script(conversation, spec, settings).data


def _request(
    conversation: Conversation,
    load_spec: LoadSpec | None,
    settings: GenerationSettings,
    server_spec: ServerSpec | None,
    server: str,
) -> Callable:
    """Makes the request when a button is clicked: for the server in use or, without one, a local default."""

    def make():
        if server_spec is not None:
            model, base_url = server_spec.model, server_spec.base_url
        else:  # without a server, the model's name is what a server started from this checkpoint calls it
            model = checkpoint_reference(load_spec) if load_spec is not None else "internvl"
            base_url = None
        api_key_env = API_KEY_ENV if server_spec is not None and server_spec.api_key else None
        return openai_request(conversation, model, settings, flavour=server, base_url=base_url, api_key_env=api_key_env)

    return make
