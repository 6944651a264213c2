"""The demo checkpoint's families: one tiny checkpoint per LLM family of the InternVL catalog.

Each family has its checkpoints' template, LLM class and tokenizer kind, so every code path a
real checkpoint of that family takes (prompt format, tokenization and decoding, the LLM's own
generation code, the compat shims of `model_backend.checkpoints.compat`) runs offline:

| family | stands for | LLM class | template | tokenizer (`use_fast=False`) |
| --- | --- | --- | --- | --- |
| `qwen2` (default) | InternVL2-1B | Qwen2ForCausalLM | Hermes-2 | byte-level BPE (tokenizer.json) |
| `internlm2` | InternVL2-2B/8B/26B | InternLM2ForCausalLM * | internlm2-chat | InternLM2Tokenizer * (SentencePiece) |
| `phi3` | InternVL2-4B | Phi3ForCausalLM | phi3-chat | LlamaTokenizer (SentencePiece) |
| `qwen2_5` | InternVL2.5-1B, InternVL3 | Qwen2ForCausalLM | internvl2_5 | Qwen2Tokenizer (byte-level BPE) |
| `qwen3` | InternVL3.5 | Qwen3ForCausalLM | internvl2_5 | Qwen2Tokenizer, with `<think>` `</think>` |

(* the checkpoint's own code, as InternLM2-based checkpoints ship it; docs/families.md says more.)
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from i18n import Text
from model_backend.demo_checkpoint import sentencepiece_tokenizers, tokenizer

DEFAULT_FAMILY = "qwen2"

# The LLM's size in every family: hidden 64, 2 layers, 4 heads (2 KV heads).
_SMALL = {
    "hidden_size": 64,
    "intermediate_size": 128,
    "num_hidden_layers": 2,
    "num_attention_heads": 4,
    "num_key_value_heads": 2,
    "hidden_act": "silu",
    "tie_word_embeddings": False,
    "torch_dtype": "bfloat16",
}
_QWEN = {
    "max_position_embeddings": 32768,  # a 64-frame video is 16k+ visual tokens
    "rope_theta": 1000000.0,
    "rms_norm_eps": 1e-6,
    "use_sliding_window": False,
    "sliding_window": None,
}


@dataclass(frozen=True)
class Family:
    """How to build one family's demo checkpoint."""

    name: str
    #: The published checkpoints it stands for: model names, with any English word of it a `Text`
    #: (str() gives the English, as the CLI prints it; the app renders it in the visitor's language).
    stands_for: str | Text
    template: str
    llm: dict[str, Any]  # llm_config without the vocabulary and token ids
    save_tokenizer: Callable[[Path], Any]  # writes the tokenizer files, returns the tokenizer
    eos_token: str  # the template separator's token: InternVL's `chat` stops on it
    pad_token: str
    bos_token: str | None = None  # the LLM config's bos (None: the pad token, as Qwen2's configs have)
    tokenizer_files: tuple[str, ...] = ("tokenizer_config.json",)


FAMILIES: dict[str, Family] = {
    family.name: family
    for family in (
        Family(
            name="qwen2",
            stands_for="InternVL2-1B (Qwen2-0.5B, Hermes-2)",
            template="Hermes-2",
            llm={"architectures": ["Qwen2ForCausalLM"], "model_type": "qwen2", **_SMALL, **_QWEN},
            save_tokenizer=tokenizer.save_tokenizer,
            eos_token=tokenizer.EOS_TOKEN,
            pad_token=tokenizer.PAD_TOKEN,
            tokenizer_files=("tokenizer.json", "tokenizer_config.json"),
        ),
        Family(
            name="internlm2",
            stands_for="InternVL2-2B/8B/26B (InternLM2, internlm2-chat)",
            template="internlm2-chat",
            llm={
                "architectures": ["InternLM2ForCausalLM"],
                "model_type": "internlm2",
                **_SMALL,
                "max_position_embeddings": 32768,
                "rope_theta": 1000000.0,
                "rms_norm_eps": 1e-5,
                "bias": False,
                "rope_scaling": None,
            },
            save_tokenizer=sentencepiece_tokenizers.save_internlm2_tokenizer,
            eos_token="<|im_end|>",
            pad_token="</s>",
            bos_token="<s>",
            tokenizer_files=("tokenizer.model", "tokenizer_config.json", "tokenization_internlm2.py"),
        ),
        Family(
            name="phi3",
            stands_for="InternVL2-4B (Phi-3-mini, phi3-chat)",
            template="phi3-chat",
            llm={
                "architectures": ["Phi3ForCausalLM"],
                "model_type": "phi3",
                **_SMALL,
                "max_position_embeddings": 32768,
                "original_max_position_embeddings": 32768,
                "rope_theta": 10000.0,
                "rms_norm_eps": 1e-5,
                "rope_scaling": None,
                "sliding_window": None,
            },
            save_tokenizer=sentencepiece_tokenizers.save_phi3_tokenizer,
            eos_token="<|end|>",
            pad_token="<|endoftext|>",
            bos_token="<s>",
            tokenizer_files=("tokenizer.model", "tokenizer_config.json"),
        ),
        Family(
            name="qwen2_5",
            stands_for=Text(
                "settings.demo_stands_for_two",
                {"first": "InternVL2.5-1B", "second": "InternVL3-1B/2B/8B", "details": "Qwen2.5, internvl2_5"},
            ),
            template="internvl2_5",
            llm={"architectures": ["Qwen2ForCausalLM"], "model_type": "qwen2", **_SMALL, **_QWEN},
            save_tokenizer=tokenizer.save_qwen2_tokenizer,
            eos_token=tokenizer.EOS_TOKEN,
            pad_token=tokenizer.PAD_TOKEN,
            tokenizer_files=("vocab.json", "merges.txt", "tokenizer_config.json"),
        ),
        Family(
            name="qwen3",
            stands_for="InternVL3.5 (Qwen3, internvl2_5)",
            template="internvl2_5",
            llm={
                "architectures": ["Qwen3ForCausalLM"],
                "model_type": "qwen3",
                **_SMALL,
                **_QWEN,
                "head_dim": 16,
                "attention_bias": False,
                "max_position_embeddings": 40960,
            },
            save_tokenizer=lambda directory: tokenizer.save_qwen2_tokenizer(directory, ["<think>", "</think>"]),
            eos_token=tokenizer.EOS_TOKEN,
            pad_token=tokenizer.PAD_TOKEN,
            tokenizer_files=("vocab.json", "merges.txt", "tokenizer_config.json"),
        ),
    )
}


def get_family(name: str) -> Family:
    """The family called `name`; a ValueError lists the known ones."""
    try:
        return FAMILIES[name]
    except KeyError:
        raise ValueError(f"unknown demo family {name!r}: choose one of {', '.join(FAMILIES)}") from None
