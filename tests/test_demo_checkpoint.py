"""The demo checkpoint loads like a hub checkpoint and honours the InternVL `chat` contract."""

from __future__ import annotations

import json
import os

import pytest
import torch
from transformers import AutoModel, AutoTokenizer

from model_backend.demo_checkpoint import (
    demo_checkpoint_path,
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
