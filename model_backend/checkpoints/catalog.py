"""Known InternVL checkpoints: what they are made of and what they need to run.

Data only, no code paths: the Settings page lists these, the loader maps a catalog name to its
hub id and refuses 4-bit on 6B-ViT models, the device-map code reads `llm_layers`, and the
memory meter compares `memory_gb(quantization)` with the GPU present. Code must never sniff a
model's name (`'4B' in name`); it reads the fields here (or the checkpoint's own config).

Sources: the seeds in `../shared/seeds/` (001: InternVL2.5 README and layer counts; 003:
InternVL2 model card; 004: InternVL-Chat-V1-2 card; 000: InternVL2 layer counts) and
DESIGN.md section 2. The InternVL3 and InternVL3.5 rows are not in the seeds; they were checked
against: the OpenGVLab/InternVL README "Model Zoo" (github.com/OpenGVLab/InternVL, README.md:
InternVL3 vision / language parts, InternVL3.5 vision / language / total parameters); the
InternVL3 quick start (internvl.readthedocs.io/en/latest/internvl3.0/quick_start.html: total
parameters; the InternVL3 report, arXiv:2504.10479 Table 1, rounds some differently, e.g. 2B as
1.9B); the InternVL3.5 report (arXiv:2508.18265 Table 1 and section 2.2: 32K sequences); the
official training scripts, which set the checkpoint's `template` from `--conv_style`
(internvl_chat/shell/internvl3.0/2nd_finetune/*.sh: internvl2_5 for all seven InternVL3 sizes,
the InternLM3-based 9B included, 16384 tokens; internvl_chat_gpt_oss/shell/internvl3_5_qwen3/
*_sft.sh: internvl2_5, 32768; internvl_chat_gpt_oss/shell/internvl3_5_gpt_oss/*.sh:
internvl3_5_gpt_oss, a Harmony-format template registered in internvl_chat_gpt_oss/internvl/
model/internvl_chat/conversation.py); the LLM layer counts from the Qwen2.5 report
(arXiv:2412.15115 Table 1), the Qwen3 report (arXiv:2505.09388 Tables 1-2),
internlm3-8b-instruct's config.json as quoted verbatim in public test fixtures (48) and the
gpt-oss-20b model card (24); transformers v4.55.0's release notes (first release with GPT-OSS;
internvl_chat_gpt_oss/requirements.txt pins transformers==4.55.0). InternVL3.5 has a thinking
mode (`thinking`, see `model_backend.text.thinking`).

>>> find_entry("opengvlab/internvl2-1b").llm
'Qwen2-0.5B-Instruct'
>>> find_entry("InternVL2-26B").vision
'InternViT-6B'
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from i18n import Text

VISION_300M = "InternViT-300M"
VISION_6B = "InternViT-6B"
ImageHandling = Literal["dynamic", "fixed448"]

DEFAULT_CHECKPOINT = "OpenGVLab/InternVL2-1B"

#: Bytes per parameter when loaded. bf16 is exactly 2. bitsandbytes keeps embeddings, norms,
#: the output head and (for 8-bit outlier handling) some values in 16 bits and stores
#: quantization constants, so 8-bit and 4-bit cost a little more than 1 and 0.5 bytes.
BYTES_PER_PARAM: dict[str, float] = {"none": 2.0, "8bit": 1.1, "4bit": 0.6}
#: Fixed overhead in GB: CUDA context, the allocator's reserve and the vision encoder's activations.
FIXED_OVERHEAD_GB = 1.0
#: Per-billion-parameter overhead in GB: KV cache and activations for a few thousand tokens
#: (a 12-tile image is ~3.1k tokens). Grows with the model, not with the quantization.
OVERHEAD_GB_PER_B = 0.05


@dataclass(frozen=True)
class CatalogEntry:
    """One published checkpoint. `params_b` is billions of parameters; `llm_layers` drives multi-GPU maps.

    `context_tokens` is the context the model was trained with (InternVL2: 8k per its model card),
    which is what answers stay good within; the checkpoint's `max_position_embeddings` may be larger.
    `thinking`: the model has a thinking mode switched on by a system prompt.
    `server_only`: why this checkpoint is not loaded in-process (None: it is), a `Text` (English
    in the CLI, the visitor's language in the app); serve it with LMDeploy or vLLM and use the
    OpenAI-compatible backend.
    """

    name: str
    hub_id: str
    family: str
    llm: str
    params_b: float
    llm_layers: int
    vision: str
    template: str
    image_handling: ImageHandling
    context_tokens: int
    thinking: bool = False
    server_only: Text | None = None

    def memory_gb(self, quantization: str = "none") -> float:
        """Estimated GPU memory (GB, 10^9 bytes) to load and chat: weights + overhead.

        `params_b * BYTES_PER_PARAM[quantization] + FIXED_OVERHEAD_GB + OVERHEAD_GB_PER_B * params_b`.
        An estimate to compare against the GPU present, not a measurement.

        >>> round(find_entry("InternVL2-8B").memory_gb("none"), 1)
        17.6
        """
        return estimate_memory_gb(self.params_b, quantization)


def estimate_memory_gb(params_b: float, quantization: str = "none") -> float:
    """The memory estimate for any checkpoint of `params_b` billion parameters (see `memory_gb`)."""
    if quantization not in BYTES_PER_PARAM:
        raise ValueError(f"quantization must be one of {', '.join(BYTES_PER_PARAM)}, got {quantization!r}")
    return params_b * BYTES_PER_PARAM[quantization] + FIXED_OVERHEAD_GB + OVERHEAD_GB_PER_B * params_b


def _entry(name, family, llm, params_b, layers, vision, template, image_handling="dynamic", context=8192, **extra):
    return CatalogEntry(
        name, f"OpenGVLab/{name}", family, llm, params_b, layers, vision, template, image_handling, context, **extra
    )


def _v35(name, llm, params_b, layers, vision=VISION_300M, server_only=None, template="internvl2_5", thinking=True):
    """An InternVL3.5 row: template internvl2_5 (GPT-OSS: its own), 32K context (its SFT window), thinking mode."""
    return _entry(
        name, "InternVL3.5", llm, params_b, layers, vision, template, context=32768, thinking=thinking,
        server_only=server_only,
    )  # fmt: skip


#: Why the largest MoE is not loaded in-process: its bf16 weights alone are about 480 GB.
TOO_BIG_FOR_ONE_GPU = Text("catalog.too_big_for_one_gpu", {"weights_gb": 480, "gpu_gb": 80})
#: The GPT-OSS checkpoint's conversation template (Harmony format, `<|start|>…<|end|>`), not internvl2_5:
#: its training scripts pass `--conv_style internvl3_5_gpt_oss`, which becomes config.json's `template`.
GPT_OSS_TEMPLATE = "internvl3_5_gpt_oss"
#: GPT-OSS's LLM class (GptOssForCausalLM) arrived in transformers 4.55, after our pin.
NEEDS_NEWER_TRANSFORMERS = Text("catalog.needs_newer_transformers", {"needed": "4.55", "pinned": "4.51.3"})


CATALOG: tuple[CatalogEntry, ...] = (
    # InternVL 1.2: one fixed 448x448 image (no tiling), 256 tokens; Nous-Hermes-2-Yi-34B (4k context).
    _entry(
        "InternVL-Chat-V1-2",
        "InternVL-Chat-V1.2",
        "Nous-Hermes-2-Yi-34B",
        40.0,
        60,
        VISION_6B,
        "Hermes-2",
        "fixed448",
        context=4096,
    ),
    # InternVL2 (seed 003): trained with an 8k context window.
    _entry("InternVL2-1B", "InternVL2", "Qwen2-0.5B-Instruct", 0.9, 24, VISION_300M, "Hermes-2"),
    _entry("InternVL2-2B", "InternVL2", "internlm2-chat-1_8b", 2.2, 24, VISION_300M, "internlm2-chat"),
    _entry("InternVL2-4B", "InternVL2", "Phi-3-mini-128k-instruct", 4.2, 32, VISION_300M, "phi3-chat"),
    _entry("InternVL2-8B", "InternVL2", "internlm2_5-7b-chat", 8.1, 32, VISION_300M, "internlm2-chat"),
    _entry("InternVL2-26B", "InternVL2", "internlm2-chat-20b", 25.5, 48, VISION_6B, "internlm2-chat"),
    _entry("InternVL2-40B", "InternVL2", "Nous-Hermes-2-Yi-34B", 40.1, 60, VISION_6B, "Hermes-2"),
    _entry("InternVL2-Llama3-76B", "InternVL2", "Hermes-2-Theta-Llama-3-70B", 76.3, 80, VISION_6B, "internlm2-chat"),
    # InternVL2.5 (seed 001); trained with a 16k context.
    _entry(
        "InternVL2_5-1B", "InternVL2.5", "Qwen2.5-0.5B-Instruct", 0.9, 24, VISION_300M, "internvl2_5", context=16384
    ),
    _entry(
        "InternVL2_5-2B", "InternVL2.5", "internlm2_5-1_8b-chat", 2.2, 24, VISION_300M, "internvl2_5", context=16384
    ),
    _entry("InternVL2_5-4B", "InternVL2.5", "Qwen2.5-3B-Instruct", 3.7, 36, VISION_300M, "internvl2_5", context=16384),
    _entry("InternVL2_5-8B", "InternVL2.5", "internlm2_5-7b-chat", 8.1, 32, VISION_300M, "internvl2_5", context=16384),
    _entry("InternVL2_5-26B", "InternVL2.5", "internlm2_5-20b-chat", 25.5, 48, VISION_6B, "internvl2_5", context=16384),
    _entry("InternVL2_5-38B", "InternVL2.5", "Qwen2.5-32B-Instruct", 38.4, 64, VISION_6B, "internvl2_5", context=16384),
    _entry("InternVL2_5-78B", "InternVL2.5", "Qwen2.5-72B-Instruct", 78.4, 80, VISION_6B, "internvl2_5", context=16384),
    # InternVL3 (not in the seeds; see the module docstring).
    _entry("InternVL3-1B", "InternVL3", "Qwen2.5-0.5B", 0.9, 24, VISION_300M, "internvl2_5", context=16384),
    _entry("InternVL3-2B", "InternVL3", "Qwen2.5-1.5B", 2.1, 28, VISION_300M, "internvl2_5", context=16384),
    _entry("InternVL3-8B", "InternVL3", "Qwen2.5-7B", 7.9, 28, VISION_300M, "internvl2_5", context=16384),
    _entry("InternVL3-9B", "InternVL3", "internlm3-8b-instruct", 9.1, 48, VISION_300M, "internvl2_5", context=16384),
    _entry("InternVL3-14B", "InternVL3", "Qwen2.5-14B", 15.1, 48, VISION_300M, "internvl2_5", context=16384),
    _entry("InternVL3-38B", "InternVL3", "Qwen2.5-32B", 38.4, 64, VISION_6B, "internvl2_5", context=16384),
    _entry("InternVL3-78B", "InternVL3", "Qwen2.5-72B", 78.4, 80, VISION_6B, "internvl2_5", context=16384),
    # InternVL3.5 (model cards; see the module docstring). Total parameters as the cards give them.
    _v35("InternVL3_5-1B", "Qwen3-0.6B", 1.1, 28),
    _v35("InternVL3_5-2B", "Qwen3-1.7B", 2.3, 28),
    _v35("InternVL3_5-4B", "Qwen3-4B", 4.7, 36),
    _v35("InternVL3_5-8B", "Qwen3-8B", 8.5, 36),
    _v35("InternVL3_5-14B", "Qwen3-14B", 15.1, 40),
    _v35("InternVL3_5-38B", "Qwen3-32B", 38.4, 64, VISION_6B),
    _v35("InternVL3_5-30B-A3B", "Qwen3-30B-A3B (MoE, 3B active)", 30.8, 48),
    _v35("InternVL3_5-241B-A28B", "Qwen3-235B-A22B (MoE, 22B active)", 240.7, 94, VISION_6B, TOO_BIG_FOR_ONE_GPU),
    _v35(
        "InternVL3_5-GPT-OSS-20B-A4B-Preview",
        "gpt-oss-20b (MoE)",
        21.2,
        24,
        server_only=NEEDS_NEWER_TRANSFORMERS,
        template=GPT_OSS_TEMPLATE,
        # No source says the <think> system prompt applies to it: its Harmony template reasons in
        # its own channels ("Reasoning: low"), so the app offers no thinking switch for it.
        thinking=False,
    ),
)


def _key(text: str) -> str:
    return text.strip().rstrip("/\\").casefold()


_BY_KEY: dict[str, CatalogEntry] = {}
for _e in CATALOG:
    _BY_KEY[_key(_e.name)] = _e
    _BY_KEY[_key(_e.hub_id)] = _e
    _BY_KEY[_key(f"models--OpenGVLab--{_e.name}")] = _e  # a folder of the Hugging Face cache


def find_entry(name_or_hub_id_or_path: str) -> CatalogEntry | None:
    """The catalog entry for a name, hub id or a folder named after one (case-insensitive), else None.

    An existing local folder counts by its last component, so `/data/InternVL2-1B/` matches while
    a fine-tuned `/data/my-finetune` does not (its own config.json is then the only truth). A hub
    id of another owner (`someone/InternVL2-1B`) never matches: it may hold anything.
    """
    if not name_or_hub_id_or_path or not name_or_hub_id_or_path.strip():
        return None
    key = _key(name_or_hub_id_or_path)
    if key in _BY_KEY:
        return _BY_KEY[key]
    if not Path(name_or_hub_id_or_path.strip()).expanduser().is_dir():
        return None
    return _BY_KEY.get(_key(Path(name_or_hub_id_or_path.strip()).name))


def has_6b_vision(entry: CatalogEntry) -> bool:
    """True for the models whose InternViT-6B encoder BNB 4-bit quantization breaks."""
    return entry.vision == VISION_6B
