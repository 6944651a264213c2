"""Fixtures every test folder may use: the real OpenAI-compatible server (see server_fixture.py).

Defined once here, so a full run starts one shared `transformers serve`, whichever folders ask for it.
"""

from tests.server_fixture import hf_home, openai_server  # noqa: F401  (pytest finds fixtures by name)
