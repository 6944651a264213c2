"""Build a tiny native InternVL "-hf" checkpoint with random weights, for `transformers serve`.

Runs under the server venv (transformers 5.x): `.venv-server/bin/python tests/remote/make_hf_checkpoint.py HF_HOME`.
The checkpoint is written in the layout of the Hugging Face hub cache
(`HF_HOME/hub/models--local--tiny-internvl-hf/snapshots/<rev>/`), because `transformers serve` lists in
`/v1/models` only what that cache holds; a plain folder would load but never be listed.

Same classes as a real `OpenGVLab/InternVL3-1B-hf`: InternVLForConditionalGeneration, InternVLProcessor
(GotOcr2ImageProcessor + InternVLVideoProcessor + a fast tokenizer with a ChatML chat template), only tiny:
56x56 tiles of 14px patches (4 image tokens per tile), a 2-layer Qwen2 text model, a BPE vocabulary trained
here in well under a second. No network is used.
"""

from __future__ import annotations

import sys
from pathlib import Path

REPO_ID = "local/tiny-internvl-hf"
REVISION = "1" * 40  # any 40-hex name works as a snapshot folder; refs/main points at it. Bump it to rebuild.
TILE = 56
SPECIAL_TOKENS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>", "<img>", "</img>", "<IMG_CONTEXT>", "<video>"]
SPECIAL_TOKENS += ["<ref>", "</ref>", "<box>", "</box>"]

# The InternVL3-hf chat template in spirit: an image part becomes <IMG_CONTEXT> where it stands, so text parts
# around it (our `Image-1:` / `Frame1:` labels) keep their place; the processor expands it into <img>...</img>.
CHAT_TEMPLATE = (
    "{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\\n' }}"
    "{% if message['content'] is string %}{{ message['content'] }}{% else %}"
    "{% for part in message['content'] %}"
    "{% if part['type'] == 'image' %}{{ '<IMG_CONTEXT>\\n' }}"
    "{% elif part['type'] == 'video' %}{{ '<video>\\n' }}"
    "{% elif part['type'] == 'text' %}{{ part['text'] }}{% endif %}"
    "{% endfor %}{% endif %}{{ '<|im_end|>\\n' }}{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"
)

CORPUS = [
    "The image shows a red panda sitting on a branch.",
    "Image-1: a cat. Image-2: a dog. The two images differ in the animal they show.",
    "Frame1: Frame2: Frame3: the video shows a car driving along a road at sunset.",
    "Describe this image in detail. What is in the picture? Compare the two images.",
    "A person is holding a cup of coffee next to a laptop on a wooden table.",
] * 20


def build_tokenizer():
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=400, special_tokens=SPECIAL_TOKENS, initial_alphabet=pre_tokenizers.ByteLevel.alphabet()
    )
    tokenizer.train_from_iterator(CORPUS, trainer=trainer)
    # The processor reads these four names off the tokenizer (`tokenizer.context_image_token_id` etc.).
    return PreTrainedTokenizerFast(
        tokenizer_object=tokenizer,
        eos_token="<|im_end|>",
        pad_token="<|endoftext|>",
        extra_special_tokens={
            "start_image_token": "<img>",
            "end_image_token": "</img>",
            "context_image_token": "<IMG_CONTEXT>",
            "video_token": "<video>",
        },
    )


def build(folder: Path) -> None:
    import torch
    from transformers import (
        GenerationConfig,
        GotOcr2ImageProcessor,
        InternVLConfig,
        InternVLForConditionalGeneration,
        InternVLProcessor,
        InternVLVideoProcessor,
    )

    tokenizer = build_tokenizer()
    size = {"height": TILE, "width": TILE}
    image_seq_length = (TILE // 14) ** 2 // 4  # pixel shuffle 0.5 keeps a quarter of the patches
    processor = InternVLProcessor(
        image_processor=GotOcr2ImageProcessor(size=size, crop_to_patches=True, max_patches=12),
        video_processor=InternVLVideoProcessor(size=size),
        tokenizer=tokenizer,
        image_seq_length=image_seq_length,
        chat_template=CHAT_TEMPLATE,
    )
    config = InternVLConfig(
        vision_config={
            "hidden_size": 32,
            "num_hidden_layers": 2,
            "num_attention_heads": 2,
            "intermediate_size": 64,
            "image_size": TILE,
            "patch_size": 14,
        },
        text_config={
            "model_type": "qwen2",
            "hidden_size": 64,
            "num_hidden_layers": 2,
            "num_attention_heads": 4,
            "num_key_value_heads": 2,
            "intermediate_size": 128,
            "vocab_size": len(tokenizer),
            "max_position_embeddings": 4096,
            "tie_word_embeddings": True,
        },
        image_token_id=tokenizer.convert_tokens_to_ids("<IMG_CONTEXT>"),
        image_seq_length=image_seq_length,
    )
    torch.manual_seed(0)
    model = InternVLForConditionalGeneration(config).eval()
    eos_id = tokenizer.convert_tokens_to_ids("<|im_end|>")
    # do_sample=True as in many hub checkpoints: `transformers serve` samples only when the checkpoint's own
    # config does (a request's temperature > 0 does not turn sampling on; temperature 0 turns it off). Without
    # it every request is greedy, and this random model's greedy answer is nothing but newlines.
    model.generation_config = GenerationConfig(
        eos_token_id=eos_id, pad_token_id=tokenizer.pad_token_id, do_sample=True, temperature=1.0, top_p=1.0
    )
    folder.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(folder)
    processor.save_pretrained(folder)


def main(hf_home: str) -> Path:
    """Write the checkpoint into the hub cache under `hf_home`; returns the snapshot folder."""
    repo_dir = Path(hf_home) / "hub" / f"models--{REPO_ID.replace('/', '--')}"
    snapshot = repo_dir / "snapshots" / REVISION
    if (snapshot / "config.json").exists():
        return snapshot
    build(snapshot)
    (repo_dir / "refs").mkdir(parents=True, exist_ok=True)
    (repo_dir / "refs" / "main").write_text(REVISION)
    return snapshot


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: make_hf_checkpoint.py HF_HOME")
    print(main(sys.argv[1]))
