"""SentencePiece tokenizers for the InternLM2 and Phi-3 demo checkpoints, trained in ~20 ms.

Both train a byte-fallback BPE SentencePiece model (`tokenizer.model`, `<unk>`/`<s>`/`</s>` at
ids 0/1/2, like Llama's and InternLM2's) on the demo corpus and wrap it the way the published
checkpoints do:

- InternLM2 (`internlm2`): the checkpoint's own `InternLM2Tokenizer`
  (`tokenization_internlm2.py`, reached through `auto_map`); its chat tokens `<|im_start|>`,
  `<|im_end|>`, ... are pieces of the SentencePiece model and special tokens.
- Phi-3 (`phi3`): transformers' slow `LlamaTokenizer` (`legacy=False`), with Phi-3's chat tokens
  `<|user|>`, `<|assistant|>`, `<|system|>`, `<|end|>` added as Phi-3 adds them: special in
  the vocabulary, stripping the whitespace after them, yet not "additional special tokens".
  So the slow tokenizer keeps a lone '▁' before a leading chat token and `<|end|>` survives
  `skip_special_tokens=True` (InternVL's `chat` cuts the answer at it).

In both, the image tokens are special (never shown) and the grounding tokens plain added tokens
(kept in answers, so `<ref>..</ref><box>..</box>` survives decoding).
"""

from __future__ import annotations

import io
import json
import shutil
from pathlib import Path

import sentencepiece as spm
from transformers import AddedToken, LlamaTokenizer

from model_backend.demo_checkpoint.tokenizer import CORPUS_LINES, GROUNDING_TOKENS

IMAGE_TOKENS = ["<img>", "</img>", "<IMG_CONTEXT>"]
INTERNLM2_CHAT_TOKENS = [
    "<|plugin|>",
    "<|interpreter|>",
    "<|action_end|>",
    "<|action_start|>",
    "<|im_end|>",
    "<|im_start|>",
]
PHI3_CHAT_TOKENS = ["<|endoftext|>", "<|assistant|>", "<|system|>", "<|end|>", "<|user|>"]
VOCAB_SIZE = 800

_FILES_DIR = Path(__file__).parent / "files"


def train_sentencepiece(user_defined_symbols: list[str] = ()) -> bytes:
    """A serialized SentencePiece BPE model (byte fallback, digits split, whitespace kept as is)."""
    model = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(CORPUS_LINES * 3),
        model_writer=model,
        vocab_size=VOCAB_SIZE,
        model_type="bpe",
        byte_fallback=True,
        character_coverage=1.0,
        split_digits=True,
        unk_id=0,
        bos_id=1,
        eos_id=2,
        pad_id=-1,
        normalization_rule_name="identity",
        remove_extra_whitespaces=False,
        add_dummy_prefix=True,
        allow_whitespace_only_pieces=True,
        user_defined_symbols=list(user_defined_symbols),
        hard_vocab_limit=False,
        num_threads=1,
        minloglevel=2,
    )
    return model.getvalue()


def save_internlm2_tokenizer(directory: Path):
    """tokenizer.model + tokenization_internlm2.py + tokenizer_config.json (auto_map); returns the tokenizer."""
    from model_backend.demo_checkpoint.files.tokenization_internlm2 import InternLM2Tokenizer

    directory = Path(directory)
    (directory / "tokenizer.model").write_bytes(train_sentencepiece(INTERNLM2_CHAT_TOKENS))
    tokenizer = InternLM2Tokenizer(str(directory / "tokenizer.model"), model_max_length=32768)
    tokenizer.add_special_tokens({"additional_special_tokens": INTERNLM2_CHAT_TOKENS + IMAGE_TOKENS})
    tokenizer.add_tokens([AddedToken(t, special=False, normalized=False) for t in GROUNDING_TOKENS])
    tokenizer.save_pretrained(str(directory))
    shutil.copyfile(_FILES_DIR / "tokenization_internlm2.py", directory / "tokenization_internlm2.py")
    _edit_config(directory, auto_map={"AutoTokenizer": ["tokenization_internlm2.InternLM2Tokenizer", None]})
    return tokenizer


def save_phi3_tokenizer(directory: Path) -> LlamaTokenizer:
    """tokenizer.model + tokenizer_config.json for the slow LlamaTokenizer; returns the tokenizer."""
    directory = Path(directory)
    (directory / "tokenizer.model").write_bytes(train_sentencepiece())
    tokenizer = LlamaTokenizer(
        str(directory / "tokenizer.model"),
        eos_token="</s>",
        pad_token="<|endoftext|>",
        legacy=False,
        add_bos_token=True,
        clean_up_tokenization_spaces=False,
        model_max_length=4096,
    )
    chat = [AddedToken(t, special=True, rstrip=t != "<|endoftext|>", normalized=False) for t in PHI3_CHAT_TOKENS]
    tokenizer.add_tokens(chat)
    tokenizer.add_special_tokens({"additional_special_tokens": IMAGE_TOKENS})
    tokenizer.add_tokens([AddedToken(t, special=False, normalized=False) for t in GROUNDING_TOKENS])
    tokenizer.save_pretrained(str(directory))
    _edit_config(directory)
    return tokenizer


def _edit_config(directory: Path, **fields) -> None:
    """Drop what `save_pretrained` writes but a hub checkpoint does not carry (a fast tokenizer.json)."""
    (directory / "tokenizer.json").unlink(missing_ok=True)
    path = directory / "tokenizer_config.json"
    config = json.loads(path.read_text(encoding="utf-8"))
    config.update(fields)
    path.write_text(json.dumps(config, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
