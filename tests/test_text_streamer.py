"""ExactTextStreamer: streamed pieces join to exactly `decode(all tokens)`, for every family's tokenizer.

The bug it fixes: transformers' TextIteratorStreamer restarts decoding after each newline, and
a SentencePiece tokenizer drops the space a decode starts with, so code indentation and list
items lost a space in streamed answers of InternLM2- and Phi-3-based checkpoints.
"""

from __future__ import annotations

import pytest
import torch
from transformers import AutoTokenizer, TextIteratorStreamer

from model_backend.demo_checkpoint import FAMILIES
from model_backend.engines.text_streamer import ExactTextStreamer

TEXTS = [
    "def f(x):\n    return x\n\n  - item\n - other",
    "The cat sat.\n The dog <ref>ran</ref><box>[[1, 2, 3, 4]]</box>\n\nA bird 你好世界 ok\n1",
    "  leading and trailing  \n\n\n   \n",
    "emoji 🙂 and é\n é\n",
]


def _tokenizer(family: str, folder):
    FAMILIES[family].save_tokenizer(folder)
    return AutoTokenizer.from_pretrained(str(folder), trust_remote_code=True, use_fast=False)


@pytest.fixture(scope="module", params=list(FAMILIES))
def tokenizer(request, tmp_path_factory):
    return _tokenizer(request.param, tmp_path_factory.mktemp(f"tokenizer-{request.param}"))


def _stream(streamer_class, tokenizer, ids: list[int]) -> str:
    """What a streamer yields when generate hands it a prompt, then `ids` one at a time."""
    streamer = streamer_class(tokenizer, skip_prompt=True, skip_special_tokens=True)
    streamer.put(torch.tensor([[tokenizer.bos_token_id or 0, 5]]))  # the prompt: skipped
    for token in ids:
        streamer.put(torch.tensor([token]))
    streamer.end()
    return "".join(streamer)


@pytest.mark.parametrize("text", TEXTS)
def test_streamed_text_equals_the_full_decode(tokenizer, text):
    ids = tokenizer(text, add_special_tokens=False)["input_ids"]
    assert _stream(ExactTextStreamer, tokenizer, ids) == tokenizer.decode(ids, skip_special_tokens=True)


@pytest.mark.parametrize("family", ["internlm2", "phi3"])
def test_transformers_streamer_loses_the_space_after_a_newline_with_sentencepiece(family, tmp_path):
    """The premise: once this fails, transformers' own streamer got it right."""
    tokenizer = _tokenizer(family, tmp_path)
    ids = tokenizer(TEXTS[0], add_special_tokens=False)["input_ids"]
    full = tokenizer.decode(ids, skip_special_tokens=True)
    assert "\n    return x" in full
    assert "\n   return x" in _stream(TextIteratorStreamer, tokenizer, ids)
