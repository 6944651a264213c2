"""The catalog's facts agree with the seeds and with each other."""

from __future__ import annotations

import pytest

from model_backend.checkpoints.catalog import CATALOG, DEFAULT_CHECKPOINT, VISION_6B, find_entry, has_6b_vision

SIX_B_VIT = {
    "InternVL-Chat-V1-2",
    "InternVL2-26B",
    "InternVL2-40B",
    "InternVL2-Llama3-76B",
    "InternVL2_5-26B",
    "InternVL2_5-38B",
    "InternVL2_5-78B",
    "InternVL3-38B",
    "InternVL3-78B",
    "InternVL3_5-38B",
    "InternVL3_5-241B-A28B",
}
# Layer counts of the seeds' split_model tables (000: InternVL2, 001: InternVL2.5).
SEED_LAYERS = {
    "InternVL2-1B": 24, "InternVL2-2B": 24, "InternVL2-4B": 32, "InternVL2-8B": 32,
    "InternVL2-26B": 48, "InternVL2-40B": 60, "InternVL2-Llama3-76B": 80,
    "InternVL2_5-1B": 24, "InternVL2_5-2B": 24, "InternVL2_5-4B": 36, "InternVL2_5-8B": 32,
    "InternVL2_5-26B": 48, "InternVL2_5-38B": 64, "InternVL2_5-78B": 80,
}  # fmt: skip
TEMPLATES = {"Hermes-2", "internlm2-chat", "phi3-chat", "internvl2_5", "internvl3_5_gpt_oss"}


@pytest.mark.parametrize("entry", CATALOG, ids=lambda e: e.name)
def test_entry_is_consistent(entry):
    assert entry.hub_id == f"OpenGVLab/{entry.name}"
    assert has_6b_vision(entry) == (entry.name in SIX_B_VIT)
    assert entry.vision in {"InternViT-300M", VISION_6B}
    assert entry.template in TEMPLATES
    assert entry.image_handling == ("fixed448" if entry.name == "InternVL-Chat-V1-2" else "dynamic")
    assert entry.context_tokens >= 4096
    if entry.name in SEED_LAYERS:
        assert entry.llm_layers == SEED_LAYERS[entry.name]
    if entry.family in ("InternVL2.5", "InternVL3", "InternVL3.5"):
        # The GPT-OSS checkpoint is trained with `--conv_style internvl3_5_gpt_oss` (Harmony format).
        gpt_oss = entry.name == "InternVL3_5-GPT-OSS-20B-A4B-Preview"
        assert entry.template == ("internvl3_5_gpt_oss" if gpt_oss else "internvl2_5")
    # InternVL3.5 is the only family with a <think> mode; its GPT-OSS model reasons its own (Harmony) way.
    assert entry.thinking == (entry.family == "InternVL3.5" and entry.template == "internvl2_5")
    if entry.server_only is not None:
        assert entry.family == "InternVL3.5" and "serve" in str(entry.server_only)
    bf16, int8, int4 = (entry.memory_gb(q) for q in ("none", "8bit", "4bit"))
    assert int4 < int8 < bf16
    weights = entry.params_b * 2
    assert weights < bf16 < weights * 1.2 + 1.5


def test_names_are_unique_and_the_default_is_listed():
    assert len({e.name for e in CATALOG}) == len(CATALOG)
    assert find_entry(DEFAULT_CHECKPOINT).name == "InternVL2-1B"


def test_templates_follow_design_section_2():
    by_name = {e.name: e for e in CATALOG}
    assert by_name["InternVL2-1B"].template == "Hermes-2"
    assert by_name["InternVL2-40B"].template == "Hermes-2"
    assert by_name["InternVL-Chat-V1-2"].template == "Hermes-2"
    assert by_name["InternVL2-4B"].template == "phi3-chat"
    for name in ("InternVL2-2B", "InternVL2-8B", "InternVL2-26B", "InternVL2-Llama3-76B"):
        assert by_name[name].template == "internlm2-chat"
    assert by_name["InternVL2-1B"].llm == "Qwen2-0.5B-Instruct"
    assert by_name["InternVL-Chat-V1-2"].llm == "Nous-Hermes-2-Yi-34B"
    assert (by_name["InternVL-Chat-V1-2"].params_b, by_name["InternVL-Chat-V1-2"].llm_layers) == (40.0, 60)


@pytest.mark.parametrize(
    "query",
    [
        "InternVL2-1B",
        "internvl2-1b",
        "OpenGVLab/InternVL2-1B",
        " opengvlab/internvl2-1b ",
        "models--OpenGVLab--InternVL2-1B",
    ],
)
def test_find_entry_accepts_names_and_hub_ids(query):
    assert find_entry(query).hub_id == "OpenGVLab/InternVL2-1B"


def test_find_entry_by_local_folder_name_only_for_existing_folders(tmp_path):
    folder = tmp_path / "InternVL2_5-8B"
    folder.mkdir()
    assert find_entry(str(folder) + "/").name == "InternVL2_5-8B"
    assert find_entry(str(tmp_path / "my-finetune")) is None
    assert find_entry("someone/InternVL2-1B") is None  # another owner's repo may hold anything
    assert find_entry("") is None
    assert find_entry("demo") is None


def test_memory_rejects_unknown_quantization():
    with pytest.raises(ValueError, match="quantization"):
        CATALOG[0].memory_gb("2bit")


# The InternVL3 and InternVL3.5 model cards: LLM, total parameters (B), vision encoder; layers: the LLMs' configs.
CARDS = {
    "InternVL3-1B": ("Qwen2.5-0.5B", 0.9, 24, "InternViT-300M"),
    "InternVL3-2B": ("Qwen2.5-1.5B", 2.1, 28, "InternViT-300M"),
    "InternVL3-8B": ("Qwen2.5-7B", 7.9, 28, "InternViT-300M"),
    "InternVL3-9B": ("internlm3-8b-instruct", 9.1, 48, "InternViT-300M"),
    "InternVL3-14B": ("Qwen2.5-14B", 15.1, 48, "InternViT-300M"),
    "InternVL3-38B": ("Qwen2.5-32B", 38.4, 64, VISION_6B),
    "InternVL3-78B": ("Qwen2.5-72B", 78.4, 80, VISION_6B),
    "InternVL3_5-1B": ("Qwen3-0.6B", 1.1, 28, "InternViT-300M"),
    "InternVL3_5-2B": ("Qwen3-1.7B", 2.3, 28, "InternViT-300M"),
    "InternVL3_5-4B": ("Qwen3-4B", 4.7, 36, "InternViT-300M"),
    "InternVL3_5-8B": ("Qwen3-8B", 8.5, 36, "InternViT-300M"),
    "InternVL3_5-14B": ("Qwen3-14B", 15.1, 40, "InternViT-300M"),
    "InternVL3_5-38B": ("Qwen3-32B", 38.4, 64, VISION_6B),
    "InternVL3_5-30B-A3B": ("Qwen3-30B-A3B", 30.8, 48, "InternViT-300M"),
    "InternVL3_5-241B-A28B": ("Qwen3-235B-A22B", 240.7, 94, VISION_6B),
    "InternVL3_5-GPT-OSS-20B-A4B-Preview": ("gpt-oss-20b", 21.2, 24, "InternViT-300M"),
}


@pytest.mark.parametrize("name", CARDS)
def test_internvl3_and_3_5_rows_follow_their_model_cards(name):
    llm, params_b, layers, vision = CARDS[name]
    entry = find_entry(f"OpenGVLab/{name}")
    assert entry.llm.startswith(llm)
    assert (entry.params_b, entry.llm_layers, entry.vision) == (params_b, layers, vision)


def test_only_what_one_gpu_cannot_run_in_process_is_server_only():
    server_only = {e.name for e in CATALOG if e.server_only}
    assert server_only == {"InternVL3_5-241B-A28B", "InternVL3_5-GPT-OSS-20B-A4B-Preview"}
    assert find_entry("InternVL3_5-241B-A28B").memory_gb("none") > 80
    assert find_entry("InternVL3_5-30B-A3B").memory_gb("none") < 80  # the smaller MoE fits one 80 GB GPU
