"""The demo checkpoint loads like a hub checkpoint and honours the InternVL `chat` contract."""

from __future__ import annotations

import functools
import json
import os

import pytest
import torch
from transformers import AutoModel, AutoTokenizer

from model_backend.demo_checkpoint import (
    FAMILIES,
    demo_checkpoint_path,
    demo_family,
    is_demo_checkpoint,
    make_demo_checkpoint,
)

GREEDY = {"max_new_tokens": 24, "do_sample": False}


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    return make_demo_checkpoint(tmp_path_factory.mktemp("ckpt") / "demo-under-test")


def _load(path):
    model = AutoModel.from_pretrained(
        str(path), torch_dtype=torch.bfloat16, low_cpu_mem_usage=True, use_flash_attn=False, trust_remote_code=True
    ).eval()
    tokenizer = AutoTokenizer.from_pretrained(str(path), trust_remote_code=True, use_fast=False)
    return model, tokenizer


@pytest.fixture(scope="module")
def loaded(checkpoint):
    return _load(checkpoint)


def _tiles(n: int, seed: int = 0) -> torch.Tensor:
    return torch.randn(n, 3, 448, 448, generator=torch.Generator().manual_seed(seed)).to(torch.bfloat16)


def _capture_prompt(model, monkeypatch) -> list:
    """Record the input_ids that chat hands to generate (the real generate still runs)."""
    seen = []
    original = model.generate

    def spy(*args, **kwargs):
        seen.append(kwargs["input_ids"][0].tolist())
        return original(*args, **kwargs)

    monkeypatch.setattr(model, "generate", spy)
    return seen


def test_layout_matches_hub_checkpoints(checkpoint):
    names = {p.name for p in checkpoint.iterdir()}
    for needed in [
        "config.json",
        "generation_config.json",
        "model.safetensors",
        "tokenizer.json",
        "tokenizer_config.json",
        "configuration_internvl_chat.py",
        "modeling_internvl_chat.py",
        "modeling_intern_vit.py",
        "conversation.py",
    ]:
        assert needed in names
    config = json.loads((checkpoint / "config.json").read_text())
    assert config["auto_map"]["AutoModel"] == "modeling_internvl_chat.InternVLChatModel"
    assert config["auto_map"]["AutoModelForCausalLM"] == "modeling_internvl_chat.InternVLChatModel"
    assert config["auto_map"]["AutoConfig"] == "configuration_internvl_chat.InternVLChatConfig"
    assert config["llm_config"]["architectures"] == ["Qwen2ForCausalLM"]
    assert config["template"] == "Hermes-2"
    assert (config["force_image_size"], config["downsample_ratio"], config["ps_version"]) == (448, 0.5, "v2")
    assert config["dynamic_image_size"] and config["use_thumbnail"] and config["max_dynamic_patch"] == 12
    assert sum(p.stat().st_size for p in checkpoint.iterdir()) < 2_000_000
    assert is_demo_checkpoint(checkpoint)
    assert not is_demo_checkpoint(checkpoint / "missing")


def test_model_exposes_the_internvl_attributes(loaded):
    model, _ = loaded
    assert model.num_image_token == 256
    assert model.template == "Hermes-2"
    assert model.conv_template.sep == "<|im_end|>"
    assert model.system_message == model.conv_template.system_message
    assert model.language_model.config.max_position_embeddings >= 32768
    features = model.extract_feature(_tiles(2))
    assert features.shape == (2, 256, model.language_model.config.hidden_size)


def test_tokenizer_round_trips_text_and_knows_the_special_tokens(loaded):
    _, tokenizer = loaded
    text = "Hello  world, a <ref>cat</ref><box>[[10, 20, 300, 400]]</box> 你好 ok"
    assert tokenizer.decode(tokenizer(text)["input_ids"]) == text
    assert tokenizer.decode(tokenizer(text)["input_ids"], skip_special_tokens=True) == text
    assert tokenizer.eos_token == "<|im_end|>"
    for token in ["<img>", "</img>", "<IMG_CONTEXT>", "<|im_start|>", "<|im_end|>", "<box>"]:
        assert len(tokenizer(token)["input_ids"]) == 1


def test_pure_text_chat_writes_eos_and_appends_history(loaded, monkeypatch):
    model, tokenizer = loaded
    seen = _capture_prompt(model, monkeypatch)
    config = dict(GREEDY)
    history = []
    answer, returned = model.chat(tokenizer, None, "Hello", config, history=history, return_history=True)
    assert isinstance(answer, str) and answer
    assert config["eos_token_id"] == tokenizer.convert_tokens_to_ids("<|im_end|>")
    assert returned is history and history == [("Hello", answer)]
    prompt = tokenizer.decode(seen[0])
    assert prompt == (
        f"<|im_start|>system\n{model.system_message}<|im_end|><|im_start|>user\nHello<|im_end|><|im_start|>assistant\n"
    )
    model.chat(tokenizer, None, "And then?", dict(GREEDY), history=history)
    assert len(history) == 2
    assert f"Hello<|im_end|><|im_start|>assistant\n{answer}<|im_end|>" in tokenizer.decode(seen[1])


@pytest.mark.parametrize("tiles", [1, 7])
def test_one_image_becomes_256_tokens_per_tile(loaded, monkeypatch, tiles):
    model, tokenizer = loaded
    seen = _capture_prompt(model, monkeypatch)
    answer = model.chat(tokenizer, _tiles(tiles), "Describe the image.", dict(GREEDY))
    assert isinstance(answer, str)
    context = tokenizer.convert_tokens_to_ids("<IMG_CONTEXT>")
    assert seen[0].count(context) == 256 * tiles
    assert "user\n<img>" in tokenizer.decode(seen[0]).replace("<IMG_CONTEXT>", "")


def test_two_images_with_num_patches_list(loaded, monkeypatch):
    model, tokenizer = loaded
    seen = _capture_prompt(model, monkeypatch)
    question = "Image-1: <image>\nImage-2: <image>\nWhat differs?"
    history = []
    model.chat(tokenizer, _tiles(3), question, dict(GREEDY), num_patches_list=[1, 2], history=history)
    text = tokenizer.decode(seen[0])
    assert text.count("<img>") == 2
    first, second = text.split("</img>")[:2]
    assert first.count("<IMG_CONTEXT>") == 256 and second.count("<IMG_CONTEXT>") == 512
    with pytest.raises(AssertionError):
        model.chat(tokenizer, _tiles(3), question, dict(GREEDY), num_patches_list=[1, 1])


def test_batch_chat_answers_each_question(loaded):
    model, tokenizer = loaded
    answers = model.batch_chat(
        tokenizer, _tiles(3), ["Describe.", "What color?"], dict(GREEDY), num_patches_list=[1, 2]
    )
    assert len(answers) == 2 and all(isinstance(a, str) for a in answers)


def test_answers_vary_and_sometimes_stop_early(loaded):
    model, tokenizer = loaded
    questions = ["Hello", "Who are you?", "Describe the image in detail.", "What is in the picture?"]
    answers = [model.chat(tokenizer, None, q, {"max_new_tokens": 40, "do_sample": False}) for q in questions]
    assert len(set(answers)) > 1
    lengths = [len(tokenizer(a)["input_ids"]) for a in answers]
    assert min(lengths) < 38, lengths  # at least one answer ended with <|im_end|>


def test_deterministic_across_builds_and_loads(checkpoint, loaded, tmp_path):
    model, tokenizer = loaded
    again = make_demo_checkpoint(tmp_path / "second")
    assert (again / "model.safetensors").read_bytes() == (checkpoint / "model.safetensors").read_bytes()
    model2, tokenizer2 = _load(again)
    for pixels in (None, _tiles(1, seed=3)):
        first = model.chat(tokenizer, pixels, "What is this?", dict(GREEDY))
        assert model2.chat(tokenizer2, pixels, "What is this?", dict(GREEDY)) == first


def test_demo_checkpoint_path_builds_once_atomically(tmp_path, monkeypatch):
    monkeypatch.setenv("INTERNVL_STUDIO_CACHE", str(tmp_path))
    path = demo_checkpoint_path()
    assert path.parent == tmp_path and is_demo_checkpoint(path)
    stamp = os.stat(path / "model.safetensors").st_mtime_ns
    assert demo_checkpoint_path() == path
    assert os.stat(path / "model.safetensors").st_mtime_ns == stamp
    assert [p.name for p in tmp_path.iterdir()] == [path.name]  # no staging folder left behind


# -- one demo checkpoint per LLM family ---------------------------------------------------------

FAMILY_FACTS = {  # family: (template, LLM class, tokenizer class with use_fast=False, separator)
    "qwen2": ("Hermes-2", "Qwen2ForCausalLM", "PreTrainedTokenizerFast", "<|im_end|>"),
    "internlm2": ("internlm2-chat", "InternLM2ForCausalLM", "InternLM2Tokenizer", "<|im_end|>"),
    "phi3": ("phi3-chat", "Phi3ForCausalLM", "LlamaTokenizer", "<|end|>"),
    "qwen2_5": ("internvl2_5", "Qwen2ForCausalLM", "Qwen2Tokenizer", "<|im_end|>\n"),
    "qwen3": ("internvl2_5", "Qwen3ForCausalLM", "Qwen2Tokenizer", "<|im_end|>\n"),
}


@functools.cache
def _family(family: str) -> tuple:
    """(family, folder, model, tokenizer): the family's cached demo, loaded the way hub checkpoints load."""
    path = demo_checkpoint_path(family)
    return (family, path, *_load(path))


@pytest.fixture(params=list(FAMILY_FACTS))
def family_loaded(request):
    return _family(request.param)


def test_every_family_is_built_and_known():
    assert set(FAMILIES) == set(FAMILY_FACTS)
    with pytest.raises(ValueError, match=r"unknown demo family 'llama9'.*internlm2"):
        demo_checkpoint_path("llama9")


def test_family_has_its_template_llm_and_tokenizer_kind(family_loaded):
    family, path, model, tokenizer = family_loaded
    template, llm_class, tokenizer_class, sep = FAMILY_FACTS[family]
    config = json.loads((path / "config.json").read_text())
    assert config["template"] == model.template == template
    assert config["llm_config"]["architectures"] == [llm_class] == [type(model.language_model).__name__]
    assert type(tokenizer).__name__ == tokenizer_class
    assert model.conv_template.sep == sep
    assert is_demo_checkpoint(path) and demo_family(path) == family
    assert sum(p.stat().st_size for p in path.iterdir()) < 2_000_000
    for token in ["<img>", "</img>", "<IMG_CONTEXT>", "<ref>", "</ref>", "<box>", "</box>", sep.strip()]:
        assert tokenizer.tokenize(f"a{token}b")[-2] == token  # one token, also inside text
    # Grounding survives decoding (the app draws the boxes), image tokens never show.
    text = "a <ref>cat</ref><box>[[1, 2, 3, 4]]</box> and <img><IMG_CONTEXT></img>"
    decoded = tokenizer.decode(tokenizer(text, add_special_tokens=False)["input_ids"], skip_special_tokens=True)
    assert "<ref>" in decoded and "<box>" in decoded and "IMG_CONTEXT" not in decoded


def test_family_answers_text_and_images(family_loaded):
    """Every family's random weights answer (greedy, non-empty) with and without images, and vary."""
    _, _, model, tokenizer = family_loaded
    answers = [
        model.chat(tokenizer, None, "Hello", dict(GREEDY)),
        model.chat(tokenizer, _tiles(1), "Describe the image.", dict(GREEDY)),
        model.chat(tokenizer, _tiles(7, seed=2), "What is in the picture?", dict(GREEDY)),
    ]
    assert all(answers) and len(set(answers)) == 3, answers


def test_internlm2_family_ships_its_own_code_shaped_like_the_published():
    _, path, model, tokenizer = _family("internlm2")
    for name in ("modeling_internlm2.py", "configuration_internlm2.py", "tokenization_internlm2.py", "tokenizer.model"):
        assert (path / name).is_file()
    tokenizer_config = json.loads((path / "tokenizer_config.json").read_text())
    assert tokenizer_config["auto_map"]["AutoTokenizer"][0] == "tokenization_internlm2.InternLM2Tokenizer"
    llm = model.language_model
    assert type(llm).__module__.endswith("modeling_internlm2")  # the checkpoint's code, not transformers'
    assert hasattr(llm.model, "tok_embeddings") and hasattr(llm, "output")
    assert hasattr(llm.model.layers[0].attention, "wqkv") and hasattr(llm.model.layers[0].feed_forward, "w3")
    ids = tokenizer("<|im_start|>user\nHi<|im_end|>")["input_ids"]
    assert ids[0] == tokenizer.bos_token_id == tokenizer.convert_tokens_to_ids("<s>")  # bos prepended


def test_phi3_family_slow_tokenizer_quirk_and_shim():
    """DESIGN 7: the slow Phi-3 tokenizer keeps a lone '▁' before a leading chat token; the
    get_max_length shim of model_backend.checkpoints.compat is applied when the demo loads through load_model."""
    _, path, _, tokenizer = _family("phi3")
    tokens = tokenizer.convert_ids_to_tokens(tokenizer("<|user|>\nHello<|end|>")["input_ids"])
    assert tokens[:3] == ["<s>", "▁", "<|user|>"]
    assert tokens[3] != "<0x0A>"  # and its chat tokens eat the whitespace after them, as Phi-3's do
    from model_backend.checkpoints.loading import load_model
    from model_backend.settings import LoadSpec

    loaded = load_model(LoadSpec(str(path), dtype="float32", device="cpu"))
    assert any("phi3-get-max-length" in str(notice) for notice in loaded.notices)
    assert loaded.is_demo


def test_qwen3_family_knows_think_tokens():
    _, _, _, tokenizer = _family("qwen3")
    ids = tokenizer("<think>hm</think>The answer.", add_special_tokens=False)["input_ids"]
    assert ids[0] == tokenizer.convert_tokens_to_ids("<think>")
    assert tokenizer.decode(ids, skip_special_tokens=True) == "<think>hm</think>The answer."
