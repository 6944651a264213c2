"""The offline demo checkpoints: tiny random-weight InternVLs in the hub checkpoints' layout.

`make_demo_checkpoint(dir, family=...)` writes config.json (with `auto_map`), the model's own
code (`files/*.py`, copied verbatim), the family's tokenizer, `model.safetensors` and
`generation_config.json`, so it loads through exactly the path a real checkpoint takes. The
default family, `qwen2` (InternVL2-1B's Qwen2 + Hermes-2 + byte-level BPE), is the `demo`
checkpoint of the app and the CLI; `families.FAMILIES` lists the others (InternLM2, Phi-3,
Qwen2.5, Qwen3), each with its checkpoints' template and tokenizer kind:

>>> from transformers import AutoModel, AutoTokenizer              # doctest: +SKIP
>>> path = demo_checkpoint_path()  # or demo_checkpoint_path("phi3")  # doctest: +SKIP
>>> model = AutoModel.from_pretrained(path, torch_dtype=torch.bfloat16, low_cpu_mem_usage=True,
...     use_flash_attn=False, trust_remote_code=True).eval()         # doctest: +SKIP
>>> tokenizer = AutoTokenizer.from_pretrained(path, trust_remote_code=True, use_fast=False)  # doctest: +SKIP
>>> model.chat(tokenizer, None, "Hello", dict(max_new_tokens=16))   # doctest: +SKIP

Weights come from a fixed seed, so answers are reproducible. The answers are random words;
the end-of-answer token's output row is calibrated so greedy answers usually stop on their own
after a handful of tokens instead of always running to `max_new_tokens`.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from pathlib import Path

import torch
from safetensors.torch import save_file

from model_backend.demo_checkpoint.families import DEFAULT_FAMILY, FAMILIES, Family, get_family
from model_backend.demo_checkpoint.weights import calibrate_eos, init_weights, keep_image_answers, silence_tokens

DEMO_CHECKPOINT_ID = "demo"
DEMO_MARKER = "internvl_studio_demo"
FAMILY_KEY = "internvl_studio_demo_family"
SEED = 20240705

_FILES_DIR = Path(__file__).parent / "files"
_CODE_FILES = (
    "configuration_intern_vit.py",
    "configuration_internvl_chat.py",
    "conversation.py",
    "modeling_intern_vit.py",
    "modeling_internvl_chat.py",
    # InternLM2's LLM code, which InternLM2-based checkpoints ship (modeling_internvl_chat imports it)
    "configuration_internlm2.py",
    "modeling_internlm2.py",
)
_AUTO_MAP = {
    "AutoConfig": "configuration_internvl_chat.InternVLChatConfig",
    "AutoModel": "modeling_internvl_chat.InternVLChatModel",
    "AutoModelForCausalLM": "modeling_internvl_chat.InternVLChatModel",
}


def _config_dict(family: Family, tokenizer) -> dict:
    """config.json contents: InternVL2-1B's fields and shapes, shrunk (hidden 32 ViT, hidden 64 LLM)."""
    vocab_padded = (len(tokenizer) + 63) // 64 * 64  # like real checkpoints, the embedding table is padded
    pad_id = tokenizer.convert_tokens_to_ids(family.pad_token)
    return {
        "architectures": ["InternVLChatModel"],
        "auto_map": _AUTO_MAP,
        "model_type": "internvl_chat",
        DEMO_MARKER: True,
        FAMILY_KEY: family.name,
        "template": family.template,
        "force_image_size": 448,
        "dynamic_image_size": True,
        "use_thumbnail": True,
        "min_dynamic_patch": 1,
        "max_dynamic_patch": 12,
        "downsample_ratio": 0.5,
        "ps_version": "v2",
        "select_layer": -1,
        "use_backbone_lora": 0,
        "use_llm_lora": 0,
        "tie_word_embeddings": False,
        "torch_dtype": "bfloat16",
        "vision_config": {
            "architectures": ["InternVisionModel"],
            "model_type": "intern_vit_6b",
            "image_size": 448,
            "patch_size": 14,
            "hidden_size": 32,
            "num_attention_heads": 2,
            "intermediate_size": 64,
            "num_hidden_layers": 2,
            "qkv_bias": True,
            "norm_type": "layer_norm",
            "layer_norm_eps": 1e-6,
            "torch_dtype": "bfloat16",
        },
        "llm_config": {
            **family.llm,
            "vocab_size": vocab_padded,
            "bos_token_id": tokenizer.convert_tokens_to_ids(family.bos_token) if family.bos_token else pad_id,
            "eos_token_id": tokenizer.convert_tokens_to_ids(family.eos_token),
            "pad_token_id": pad_id,
        },
    }


def _source_digest() -> str:
    """Short hash of everything that shapes the checkpoint, so a code change gets a fresh cache folder."""
    digest = hashlib.sha256()
    here = Path(__file__).parent
    for path in [
        *(_FILES_DIR / name for name in _CODE_FILES),
        _FILES_DIR / "tokenization_internlm2.py",
        *(here / n for n in ("__init__.py", "families.py", "sentencepiece_tokenizers.py", "tokenizer.py")),
        here / "weights.py",
    ]:
        digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


def make_demo_checkpoint(directory: Path, family: str = DEFAULT_FAMILY) -> Path:
    """Write the demo checkpoint of `family` into `directory` (created if needed) and return it. ~1 s."""
    from model_backend.demo_checkpoint.files.configuration_internvl_chat import InternVLChatConfig
    from model_backend.demo_checkpoint.files.modeling_internvl_chat import InternVLChatModel

    spec = get_family(family)
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    for name in _CODE_FILES:
        shutil.copyfile(_FILES_DIR / name, directory / name)
    tokenizer = spec.save_tokenizer(directory)
    config_dict = _config_dict(spec, tokenizer)
    (directory / "config.json").write_text(json.dumps(config_dict, indent=2) + "\n", encoding="utf-8")

    generator = torch.Generator().manual_seed(SEED)
    config = InternVLChatConfig(**{k: v for k, v in config_dict.items() if k not in ("model_type",)})
    model = InternVLChatModel(config, use_flash_attn=False).float().eval().requires_grad_(False)
    init_weights(model, generator)
    control = set(tokenizer.all_special_ids) | set(tokenizer.get_added_vocab().values())  # never generated
    silence_tokens(model, tokenizer, sorted(control))
    eos_id, pad_id = config_dict["llm_config"]["eos_token_id"], config_dict["llm_config"]["pad_token_id"]
    calibrate_eos(model, tokenizer, eos_id)
    keep_image_answers(model, tokenizer, eos_id)

    state = {name: tensor.to(torch.bfloat16).contiguous() for name, tensor in model.state_dict().items()}
    save_file(state, str(directory / "model.safetensors"), metadata={"format": "pt"})
    generation = {"eos_token_id": [eos_id, pad_id], "pad_token_id": pad_id, "transformers_version": "4.51.3"}
    (directory / "generation_config.json").write_text(json.dumps(generation, indent=2) + "\n", encoding="utf-8")
    return directory


def demo_family(path: str | os.PathLike) -> str | None:
    """The family of the demo checkpoint at `path` (None when it is not one)."""
    if not is_demo_checkpoint(path):
        return None
    config = json.loads((Path(path) / "config.json").read_text(encoding="utf-8"))
    return str(config.get(FAMILY_KEY) or DEFAULT_FAMILY)


def is_demo_checkpoint(path: str | os.PathLike) -> bool:
    """True when `path` is a folder written by make_demo_checkpoint (its config.json carries the marker)."""
    try:
        config = json.loads((Path(path) / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return bool(isinstance(config, dict) and config.get(DEMO_MARKER))


def cache_root() -> Path:
    """`$INTERNVL_STUDIO_CACHE`, else `~/.cache/internvl-studio`."""
    configured = os.environ.get("INTERNVL_STUDIO_CACHE")
    return Path(configured).expanduser() if configured else Path.home() / ".cache" / "internvl-studio"


def _is_complete(path: Path, family: Family) -> bool:
    needed = ["config.json", "model.safetensors", *family.tokenizer_files, *_CODE_FILES]
    return demo_family(path) == family.name and all((path / name).is_file() for name in needed)


def demo_checkpoint_path(family: str = DEFAULT_FAMILY) -> Path:
    """The cached demo checkpoint of `family`, written on first use.

    Written to a temporary sibling folder and renamed into place, so a crash or a second process
    never leaves (or sees) a half-written checkpoint. The folder name carries a digest of the
    generating code; it also names the checkpoint's module in transformers' remote-code cache.
    """
    spec = get_family(family)
    prefix = "demo-checkpoint" if spec.name == DEFAULT_FAMILY else f"demo-{spec.name}"
    target = cache_root() / f"{prefix}-{_source_digest()}"
    if _is_complete(target, spec):
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".demo-staging-", dir=target.parent))
    try:
        make_demo_checkpoint(staging, spec.name)
        if target.exists() and not _is_complete(target, spec):
            shutil.rmtree(target, ignore_errors=True)  # a broken leftover from an older layout
        try:
            os.rename(staging, target)
        except OSError:
            if not _is_complete(target, spec):  # not merely a concurrent writer that won the race
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target


__all__ = [
    "DEFAULT_FAMILY",
    "DEMO_CHECKPOINT_ID",
    "FAMILIES",
    "cache_root",
    "demo_checkpoint_path",
    "demo_family",
    "is_demo_checkpoint",
    "make_demo_checkpoint",
]
