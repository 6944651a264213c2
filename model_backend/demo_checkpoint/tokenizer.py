"""The demo checkpoints' byte-level BPE tokenizers (the Qwen families), trained in well under a second.

Byte-level BPE (like Qwen2's) round-trips any text, spaces and non-English included, so the
demo can be fed real prompts. The corpus only decides which merges exist (what a "word" is in
the random answers); it is a few paragraphs about pictures so answers look vaguely on topic.

`save_tokenizer` writes it as tokenizer.json (the default demo, `PreTrainedTokenizerFast` even
with `use_fast=False`); `save_qwen2_tokenizer` writes the same BPE as vocab.json + merges.txt for
transformers' slow `Qwen2Tokenizer`, which is what `use_fast=False` loads for InternVL2.5/3.5.
"""

from __future__ import annotations

import json
from pathlib import Path

from tokenizers import AddedToken, Tokenizer, decoders, models, pre_tokenizers, trainers
from transformers import PreTrainedTokenizerFast, Qwen2Tokenizer

PAD_TOKEN = "<|endoftext|>"
EOS_TOKEN = "<|im_end|>"
#: Control tokens: never shown in answers (`skip_special_tokens=True` drops them).
SPECIAL_TOKENS = [PAD_TOKEN, "<|im_start|>", EOS_TOKEN, "<img>", "</img>", "<IMG_CONTEXT>"]
#: Grounding tokens: added as single tokens but kept in decoded text, so `<ref>..</ref><box>..</box>`
#: answers survive decoding and the app can draw the boxes.
GROUNDING_TOKENS = ["<quad>", "</quad>", "<ref>", "</ref>", "<box>", "</box>"]
VOCAB_SIZE = 1024  # an upper bound; the small corpus yields ~800 tokens

_CORPUS = """
The picture shows a small red boat on a calm lake. Behind it there are green hills and a few white clouds.
A cat is sleeping on a wooden chair next to the window. The light is warm and soft in the afternoon.
In the image, two people are walking along a busy street with shops, cars and a yellow bus.
This photo was taken at night. The city lights reflect on the wet road after the rain.
There is a bowl of fruit on the table: apples, oranges, bananas and a bunch of grapes.
The chart compares the sales of three products over four years. The blue line grows the fastest.
A dog is running across the grass with a ball in its mouth. Children are playing in the park.
The document contains a title, a short paragraph and a table with numbers in two columns.
The mountain is covered with snow, and the sky is clear and blue. A path leads up to the top.
The kitchen has white walls, a large window, a sink and a shelf with cups and plates.
The video starts with a view of the beach, then a person rides a bicycle along the coast.
In the first frame the man opens the door; in the last frame he sits down and reads a book.
The main difference between the two images is the color of the car and the time of day.
The answer is yes. The answer is no. I am not sure, but it looks like a bird on a branch.
Hello! I am a tiny demo model with random weights, so my answers are not meant to be true.
Please describe the image in detail. What is in the picture? How many people can you see?
Count the objects, read the text, find the differences, and explain what happens in the video.
The quick brown fox jumps over the lazy dog. 0 1 2 3 4 5 6 7 8 9 10 100 2024, 3.5, 50%.
Flowers of many colors grow in the garden: red roses, yellow tulips and small white daisies.
A train crosses an old stone bridge over the river while the sun sets behind the trees.
"""
CORPUS_LINES = [line for line in _CORPUS.strip().splitlines() if line]


def train_tokenizer() -> Tokenizer:
    """Train the byte-level BPE; special tokens get the first ids, in SPECIAL_TOKENS order."""
    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=VOCAB_SIZE,
        min_frequency=1,
        special_tokens=SPECIAL_TOKENS,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tokenizer.train_from_iterator(CORPUS_LINES * 3, trainer=trainer)
    tokenizer.add_tokens([AddedToken(token, special=False, normalized=False) for token in GROUNDING_TOKENS])
    return tokenizer


def save_tokenizer(directory: Path) -> PreTrainedTokenizerFast:
    """Write tokenizer.json + tokenizer_config.json (loadable with `use_fast=False` too)."""
    wrapped = PreTrainedTokenizerFast(
        tokenizer_object=train_tokenizer(),
        eos_token=EOS_TOKEN,
        pad_token=PAD_TOKEN,
        additional_special_tokens=SPECIAL_TOKENS[1:],
        clean_up_tokenization_spaces=False,  # keep "a , b" exactly as generated
        model_max_length=32768,
    )
    wrapped.save_pretrained(str(directory))
    # save_pretrained records "PreTrainedTokenizer" (it strips "Fast"), which AutoTokenizer with
    # use_fast=False cannot instantiate; name the class that owns tokenizer.json instead.
    config_path = Path(directory) / "tokenizer_config.json"
    config = json.loads(config_path.read_text(encoding="utf-8"))
    config["tokenizer_class"] = "PreTrainedTokenizerFast"
    config_path.write_text(json.dumps(config, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return wrapped


def save_qwen2_tokenizer(directory: Path, extra_tokens: list[str] = ()) -> Qwen2Tokenizer:
    """vocab.json + merges.txt + tokenizer_config.json for the slow Qwen2Tokenizer; returns it.

    `extra_tokens` are added as plain (shown) tokens, like Qwen3's `<think>` and `</think>`.
    """
    directory = Path(directory)
    trained = train_tokenizer()
    trained.model.save(str(directory))  # vocab.json, merges.txt
    tokenizer = Qwen2Tokenizer(
        str(directory / "vocab.json"),
        str(directory / "merges.txt"),
        eos_token=EOS_TOKEN,
        pad_token=PAD_TOKEN,
        clean_up_tokenization_spaces=False,
        model_max_length=32768,
    )
    tokenizer.add_special_tokens({"additional_special_tokens": SPECIAL_TOKENS[1:]})
    plain = [*GROUNDING_TOKENS, *extra_tokens]
    tokenizer.add_tokens([AddedToken(token, special=False, normalized=False) for token in plain])
    tokenizer.save_pretrained(str(directory))
    (directory / "tokenizer.json").unlink(missing_ok=True)  # the slow files only, as the hub checkpoints have
    return tokenizer
