"""model_backend.checkpoints.compat: each known quirk reproduced in a demo-checkpoint variant, and fixed at load.

A variant is the demo checkpoint with another LLM family in config.json, fresh random weights of
that family, and (for Phi-3) the family's own `modeling_phi3.py` next to the model code, wired
in the way the published InternVL code does it. It then loads through the real
`from_pretrained(..., trust_remote_code=True)` path.
"""

from __future__ import annotations

import json
import re
import threading
from pathlib import Path

import pytest
import torch
import transformers
from safetensors.torch import save_file
from transformers.cache_utils import Cache

from model_backend.checkpoints import compat
from model_backend.checkpoints.loading import load_model
from model_backend.conversation import Conversation, ImageAttachment
from model_backend.demo_checkpoint import DEMO_MARKER, make_demo_checkpoint
from model_backend.engines.base import EngineError
from model_backend.engines.local import LocalEngine
from model_backend.preprocess.images import load_image
from model_backend.settings import GenerationSettings, LoadSpec
from tests.cli_runner import run_cli
from tests.media_factory import make_photo

PHI3_CODE = Path(__file__).parent / "compat_code" / "modeling_phi3.py"
SMALL_LLM = {
    "hidden_size": 64,
    "intermediate_size": 128,
    "num_hidden_layers": 2,
    "num_attention_heads": 4,
    "num_key_value_heads": 2,
    "hidden_act": "silu",
    "max_position_embeddings": 4096,
    "tie_word_embeddings": False,
}
FAMILIES = {
    "Phi3ForCausalLM": {"model_type": "phi3", "original_max_position_embeddings": 4096, "rms_norm_eps": 1e-5},
    "LlamaForCausalLM": {"model_type": "llama", "rope_theta": 500000.0, "rms_norm_eps": 1e-5},
}
QUESTION = "Describe the image."
MAX_TILES = 2


@pytest.fixture(autouse=True)
def _private_cache(tmp_path_factory, monkeypatch):
    monkeypatch.setenv("INTERNVL_STUDIO_CACHE", str(tmp_path_factory.getbasetemp() / "studio-cache"))


def make_variant(directory: Path, architecture: str) -> Path:
    """The demo checkpoint with `architecture` as its LLM (a local, non-demo folder)."""
    from model_backend.demo_checkpoint.files.configuration_internvl_chat import InternVLChatConfig
    from model_backend.demo_checkpoint.files.modeling_internvl_chat import InternVLChatModel

    make_demo_checkpoint(directory)
    config = json.loads((directory / "config.json").read_text())
    old = config["llm_config"]
    ids = {key: old[key] for key in ("vocab_size", "bos_token_id", "eos_token_id", "pad_token_id")}
    config["llm_config"] = {"architectures": [architecture], **SMALL_LLM, **FAMILIES[architecture], **ids}
    del config[DEMO_MARKER]  # loads as a local (fine-tuned) folder, not as the demo
    (directory / "config.json").write_text(json.dumps(config, indent=2))

    if architecture == "Phi3ForCausalLM":  # the family's own LLM code, imported the way InternVL's code does
        (directory / "modeling_phi3.py").write_text(PHI3_CODE.read_text())
        code = directory / "modeling_internvl_chat.py"
        source, count = re.subn(
            r"^( +)llm_class = getattr\(transformers, config\.llm_config\.architectures\[0\]\)$",
            r"\g<0>\n\1if config.llm_config.architectures[0] == 'Phi3ForCausalLM':\n"
            r"\1    from .modeling_phi3 import Phi3ForCausalLM as llm_class",
            code.read_text(),
            flags=re.MULTILINE,
        )
        assert count == 1, "the demo's model code no longer builds its LLM the way this test expects"
        code.write_text(source)

    torch.manual_seed(0)
    chat_config = InternVLChatConfig(**{k: v for k, v in config.items() if k != "model_type"})
    language_model = getattr(transformers, architecture)(chat_config.llm_config)
    model = InternVLChatModel(chat_config, language_model=language_model, use_flash_attn=False)
    state = {name: tensor.contiguous() for name, tensor in model.state_dict().items()}
    save_file(state, str(directory / "model.safetensors"), metadata={"format": "pt"})
    return directory


@pytest.fixture(scope="module")
def phi3_checkpoint(tmp_path_factory) -> Path:
    return make_variant(tmp_path_factory.mktemp("phi3") / "InternVL2-4B-variant", "Phi3ForCausalLM")


@pytest.fixture
def without_shim(monkeypatch):
    """transformers 4.51.3 as shipped, and a compat layer without the Phi-3 entry (restored after the test)."""
    monkeypatch.delattr(Cache, "get_max_length", raising=False)
    monkeypatch.setattr(compat, "QUIRKS", tuple(q for q in compat.QUIRKS if q.shim is None))


def test_pinned_transformers_has_no_get_max_length(without_shim):
    """The premise of the Phi-3 entry; if this fails, transformers changed: revisit the entry."""
    assert transformers.__version__ == compat.PINNED_TRANSFORMERS
    assert not hasattr(transformers.DynamicCache(), "get_max_length")
    assert hasattr(Cache, "get_max_cache_shape")


def test_phi3_code_fails_without_the_shim(phi3_checkpoint, without_shim):
    model = transformers.AutoModel.from_pretrained(
        str(phi3_checkpoint), torch_dtype=torch.float32, use_flash_attn=False, trust_remote_code=True
    ).eval()
    tokenizer = transformers.AutoTokenizer.from_pretrained(str(phi3_checkpoint), trust_remote_code=True, use_fast=False)
    with pytest.raises(AttributeError, match="'DynamicCache' object has no attribute 'get_max_length'"):
        model.chat(tokenizer, _pixels(), QUESTION, {"max_new_tokens": 4, "do_sample": False})


def test_unknown_quirk_is_a_plain_message_naming_checkpoint_and_version(phi3_checkpoint, without_shim):
    """Without the entry, the same failure is a quirk the layer does not know: never a bare AttributeError."""
    loaded = load_model(LoadSpec(str(phi3_checkpoint), dtype="float32", device="cpu"))
    assert not any("get_max_length" in str(notice) for notice in loaded.notices)
    engine = LocalEngine(loaded)
    conversation = _conversation()
    with pytest.raises(EngineError) as raised:
        engine.stream(conversation, GenerationSettings(max_new_tokens=4, max_tiles=MAX_TILES), threading.Event()).text()
    message = str(raised.value)
    assert "InternVL2-4B-variant" in message and f"transformers {transformers.__version__}" in message
    assert "modeling_phi3.py" in message and "Try:" in message and "doctor" in message
    assert not message.startswith(("AttributeError", "Generation failed"))
    # The exception's own words are the details, not the message; the message has a Chinese version.
    assert "get_max_length" in raised.value.detail and "get_max_length" not in message
    assert raised.value.detail.startswith("AttributeError: ")
    assert "自带的代码（modeling_phi3.py 第" in raised.value.text.render("zh")


def test_phi3_variant_answers_through_the_real_load_path(phi3_checkpoint):
    loaded = load_model(LoadSpec(str(phi3_checkpoint), dtype="float32", device="cpu"))
    assert any("phi3-get-max-length" in str(notice) for notice in loaded.notices)
    assert type(loaded.model.language_model).__module__.endswith("modeling_phi3")  # the checkpoint's own code
    settings = GenerationSettings(max_new_tokens=12, max_tiles=MAX_TILES)
    expected = loaded.model.chat(loaded.tokenizer, _pixels(), QUESTION, settings.generation_config())
    assert isinstance(expected, str)
    streamed = LocalEngine(loaded).stream(_conversation(), settings, threading.Event()).text()
    assert streamed == expected


def test_phi3_variant_answers_through_the_cli(phi3_checkpoint):
    result = run_cli("ask", "--model", str(phi3_checkpoint), "--dtype", "float32", "--max-new-tokens", "6", "Hello")
    assert result.returncode == 0, result.stderr
    assert "phi3-get-max-length" in result.stderr  # the notice says the shim is in force


def test_shim_is_idempotent_and_only_for_its_family(monkeypatch):
    monkeypatch.delattr(Cache, "get_max_length", raising=False)
    qwen = {"llm_config": {"architectures": ["Qwen2ForCausalLM"]}}
    phi3 = {"llm_config": {"architectures": ["Phi3ForCausalLM"]}}
    assert compat.apply_compat(qwen) == [] and not hasattr(Cache, "get_max_length")
    first = compat.apply_compat(phi3)
    method = Cache.get_max_length
    assert compat.apply_compat(phi3) == first and Cache.get_max_length is method
    assert len(first) == 1 and "transformers 4.49" in str(first[0])
    assert "transformers 从 4.49 起已移除该方法" in first[0].render("zh")
    assert transformers.DynamicCache().get_max_length() is None  # a DynamicCache has no limit


def test_shim_never_replaces_a_method_transformers_has(monkeypatch):
    native = lambda self: 7  # noqa: E731
    monkeypatch.setattr(Cache, "get_max_length", native, raising=False)
    assert compat._add_get_max_length() is False
    assert Cache.get_max_length is native


def test_every_entry_is_documented_and_checked_entries_still_hold():
    docs = (Path(__file__).resolve().parents[1] / "docs" / "compat.md").read_text()
    for quirk in compat.QUIRKS:
        assert quirk.key in docs, f"docs/compat.md does not describe {quirk.key}"
        assert quirk.families and quirk.breaks and quirk.since and quirk.fix
        assert (quirk.shim is None) != (quirk.still_fine is None), quirk.key
        if quirk.still_fine is not None:
            assert quirk.still_fine(), f"{quirk.key}: the reason no shim was needed no longer holds"
        else:
            assert quirk.notice


def test_llama_path_needs_no_shim(tmp_path):
    """InternVL2-Llama3-76B's path: the checkpoint's code builds transformers' own LlamaForCausalLM."""
    folder = make_variant(tmp_path / "llama-variant", "LlamaForCausalLM")
    loaded = load_model(LoadSpec(str(folder), dtype="float32", device="cpu"))
    assert not any("compatibility shim" in str(notice) for notice in loaded.notices)
    settings = GenerationSettings(max_new_tokens=8, max_tiles=MAX_TILES)
    expected = loaded.model.chat(loaded.tokenizer, _pixels(2), QUESTION, settings.generation_config())
    assert LocalEngine(loaded).stream(_conversation(2), settings, threading.Event()).text() == expected


def test_errors_outside_the_checkpoint_code_are_not_called_quirks():
    try:
        getattr(None, "missing")  # noqa: B009  (raised here, in our own code)
    except AttributeError as error:
        assert compat.describe_code_error(error, "x") is None
    assert compat.describe_code_error(ValueError("no"), "x") is None


def _photo(seed: int) -> bytes:
    return make_photo(640, 320, seed=seed)


def _pixels(seed: int = 1) -> torch.Tensor:
    """The tiles the engine makes of `_photo(seed)` (the same preprocessing, so the answers compare)."""
    return load_image(_photo(seed), max_tiles=MAX_TILES, image_size=448, use_thumbnail=True, dynamic=True)


def _conversation(seed: int = 1) -> Conversation:
    conversation = Conversation()
    conversation.ask(QUESTION, images=(ImageAttachment(_photo(seed), name="photo.jpg"),))
    return conversation
