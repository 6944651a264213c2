"""load_model: the demo loads through the real path, and every refusal is early and plain."""

from __future__ import annotations

import math

import pytest
import torch

from i18n import Text
from model_backend.checkpoints import loading
from model_backend.checkpoints.catalog import CATALOG
from model_backend.checkpoints.device_map import SplitError, split_device_map
from model_backend.checkpoints.loading import (
    CheckpointUnavailable,
    LoadError,
    QuantizationRefused,
    TransformersVersionError,
    UntrustedCodeError,
    check_transformers_version,
    load_model,
    release_model,
)
from model_backend.settings import LoadSpec


@pytest.fixture(autouse=True)
def _private_cache(tmp_path_factory, monkeypatch):
    monkeypatch.setenv("INTERNVL_STUDIO_CACHE", str(tmp_path_factory.getbasetemp() / "studio-cache"))


def _no_download(*args, **kwargs):
    raise AssertionError("nothing may be downloaded before the refusal")


def record_hub_calls(monkeypatch) -> tuple[list, list]:
    """Spy on the hub client (calls go through): the timeout of each `model_info` (the probe), and
    `local_files_only` of each `snapshot_download` (False: a real download, with its long retries)."""
    import huggingface_hub

    probes: list[float | None] = []
    downloads: list[bool] = []
    model_info, snapshot_download = huggingface_hub.HfApi.model_info, huggingface_hub.snapshot_download

    def spy_model_info(self, repo_id, *args, **kwargs):
        probes.append(kwargs.get("timeout"))
        return model_info(self, repo_id, *args, **kwargs)

    def spy_snapshot_download(repo_id, *args, **kwargs):
        downloads.append(bool(kwargs.get("local_files_only")))
        return snapshot_download(repo_id, *args, **kwargs)

    monkeypatch.setattr(huggingface_hub.HfApi, "model_info", spy_model_info)
    monkeypatch.setattr(huggingface_hub, "snapshot_download", spy_snapshot_download)
    return probes, downloads


def test_auto_precision_loads_the_faster_cpu_dtype_and_says_so(monkeypatch):
    import torch

    from model_backend import settings

    faster = settings.faster_cpu_dtype()
    loaded = load_model(LoadSpec("demo", device="cpu"))  # dtype "auto", the default
    assert loaded.dtype == faster and loaded.model.language_model.dtype == getattr(torch, faster)
    assert LoadSpec("demo", device="cpu").describe() == faster
    # On a GPU: bfloat16 where it is supported, float16 on older ones.
    monkeypatch.setattr(settings, "cuda_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *args, **kwargs: False)
    assert settings.resolve_dtype("auto") == "float16" and settings.resolve_dtype("auto", device="cpu") == faster
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *args, **kwargs: True)
    assert settings.resolve_dtype("auto") == "bfloat16" and settings.resolve_dtype("float16") == "float16"


def test_demo_loads_through_the_real_path_and_answers():
    seen = []
    spec = LoadSpec("demo", dtype="bfloat16", device="cpu")
    loaded = load_model(spec, lambda m, f: seen.append((m, f)))
    assert loaded.is_demo and loaded.entry is None and loaded.device == "cpu" and loaded.dtype == "bfloat16"
    assert (loaded.context_tokens, loaded.image_size, loaded.num_image_token) == (32768, 448, 256)
    assert loaded.dynamic_image_size and loaded.use_thumbnail and loaded.max_dynamic_patch == 12
    assert (Text("load.progress.weights"), None) in seen
    assert [str(message) for message, _ in seen][-1] == "Loading weights"
    # flash-attn is asked for by default only where CUDA is: only then can "not available" be said.
    flash_notice = any("flash-attn" in str(notice) for notice in loaded.notices)
    assert flash_notice == (spec.flash_attention and not torch.cuda.is_available())
    assert 0 < loaded.memory_gb < 0.01
    answer = loaded.model.chat(loaded.tokenizer, None, "Hello", {"max_new_tokens": 8})
    assert isinstance(answer, str)
    release_model(loaded)
    assert loaded.model is None


def test_demo_loads_in_8bit_on_cpu():
    pytest.importorskip("bitsandbytes")
    loaded = load_model(LoadSpec("demo", quantization="8bit", device="cpu"))
    layer = loaded.model.language_model.model.layers[0].self_attn.q_proj
    assert type(layer).__name__ == "Linear8bitLt"
    assert type(loaded.model.mlp1[1]).__name__ == "Linear"  # the projector stays in 16 bits
    pixels = torch.randn(1, 3, 448, 448).to(torch.bfloat16)
    assert isinstance(loaded.model.chat(loaded.tokenizer, pixels, "Describe.", {"max_new_tokens": 4}), str)


@pytest.mark.parametrize("version", ["4.36.0", "4.52.0", "5.0.0"])
def test_wrong_transformers_version_says_how_to_fix(version):
    with pytest.raises(TransformersVersionError, match=r"pip install transformers==4\.51\.3"):
        check_transformers_version(version)
    check_transformers_version("4.51.3")
    check_transformers_version("4.37.2")


def test_unknown_hub_id_needs_permission_for_its_code(monkeypatch):
    monkeypatch.setattr(loading.hub, "download", _no_download)
    with pytest.raises(UntrustedCodeError, match="allow_remote_code"):
        load_model(LoadSpec("someone/InternVL2-1B-finetune"))


def test_4bit_refused_on_6b_vit_before_any_download(monkeypatch):
    monkeypatch.setattr(loading.hub, "download", _no_download)
    with pytest.raises(QuantizationRefused, match="InternViT-6B"):
        load_model(LoadSpec("InternVL2-26B", quantization="4bit"))
    with pytest.raises(QuantizationRefused):
        load_model(LoadSpec("OpenGVLab/InternVL2_5-78B", quantization="4bit"))


def test_uncached_hub_id_fails_fast_with_a_plain_message(monkeypatch):
    monkeypatch.setenv("HF_HOME", "/nonexistent-hf-home-for-test")
    probes, downloads = record_hub_calls(monkeypatch)
    with pytest.raises(CheckpointUnavailable) as failure:
        load_model(LoadSpec("OpenGVLab/InternVL2-1B"))
    # Fast: the cache was looked at, then one probe bounded by its short timeout; no download was tried.
    assert downloads == [True] and probes == [loading.hub.PROBE_TIMEOUT_S], (downloads, probes)
    message = str(failure.value)
    assert "Could not reach the Hugging Face hub to download OpenGVLab/InternVL2-1B" in message
    assert "local folder" in message and "demo" in message
    assert failure.value.text.render("zh").startswith("无法连接 Hugging Face 模型仓库来下载 OpenGVLab/InternVL2-1B")
    assert failure.value.detail  # what the hub client said, kept for the details


def test_broken_local_folders_give_clear_errors(tmp_path):
    with pytest.raises(LoadError, match=r"no config\.json"):
        load_model(LoadSpec(str(tmp_path)))
    (tmp_path / "config.json").write_text("{not json")
    with pytest.raises(LoadError, match=r"is damaged: its config\.json cannot be read") as caught:
        load_model(LoadSpec(str(tmp_path)))
    assert "Expecting property name" in caught.value.detail and "line 1" not in str(caught.value)
    with pytest.raises(LoadError, match="not a folder on this machine"):
        load_model(LoadSpec("/no/such/folder"))


def test_bad_safetensors_gives_could_not_load(tmp_path):
    from model_backend.demo_checkpoint import make_demo_checkpoint

    folder = make_demo_checkpoint(tmp_path / "broken-demo")
    (folder / "model.safetensors").write_bytes(b"not safetensors")
    with pytest.raises(LoadError, match=r"Could not load .*download the checkpoint again") as caught:
        load_model(LoadSpec(str(folder), device="cpu"))
    assert caught.value.detail and caught.value.detail not in str(caught.value)  # the library's words apart


def test_cuda_and_split_need_gpus():
    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    with pytest.raises(LoadError, match="no GPU is visible"):
        load_model(LoadSpec("demo", device="cuda"))
    with pytest.raises(LoadError, match="at least 2 GPUs"):
        load_model(LoadSpec("demo", device="split"))


def _seed_split_model(num_layers: int, world_size: int) -> dict:
    """The seeds' split_model (000), with the layer table and device count as arguments."""
    device_map = {}
    num_layers_per_gpu = math.ceil(num_layers / (world_size - 0.5))
    num_layers_per_gpu = [num_layers_per_gpu] * world_size
    num_layers_per_gpu[0] = math.ceil(num_layers_per_gpu[0] * 0.5)
    layer_cnt = 0
    for i, num_layer in enumerate(num_layers_per_gpu):
        for _ in range(num_layer):
            device_map[f"language_model.model.layers.{layer_cnt}"] = i
            layer_cnt += 1
    device_map["vision_model"] = 0
    device_map["mlp1"] = 0
    device_map["language_model.model.tok_embeddings"] = 0
    device_map["language_model.model.embed_tokens"] = 0
    device_map["language_model.output"] = 0
    device_map["language_model.model.norm"] = 0
    device_map["language_model.lm_head"] = 0
    device_map[f"language_model.model.layers.{num_layers - 1}"] = 0
    return device_map


@pytest.mark.parametrize("gpus", [2, 4, 8])
@pytest.mark.parametrize("layers", sorted({24, 48, 60, 80} | {e.llm_layers for e in CATALOG}))
def test_split_device_map_matches_the_seeds(gpus, layers):
    device_map = split_device_map(layers, gpus)
    assert device_map == _seed_split_model(layers, gpus)
    assert device_map[f"language_model.model.layers.{layers - 1}"] == 0
    assert {device_map[f"language_model.model.layers.{i}"] for i in range(layers)} <= set(range(gpus))


def test_split_device_map_refuses_one_gpu():
    with pytest.raises(SplitError, match="at least 2 GPUs"):
        split_device_map(24, 1)


def test_a_server_only_checkpoint_is_refused_before_any_download(monkeypatch):
    monkeypatch.setattr(loading.hub, "download", _no_download)
    with pytest.raises(loading.ServerOnlyError, match=r"InternVL3_5-241B-A28B cannot run inside this app.*server") as e:
        load_model(LoadSpec("OpenGVLab/InternVL3_5-241B-A28B"))
    assert "(its bf16 weights take about 480 GB" in str(e.value)  # the catalog's reason, in English for the CLI
    assert "（它的 bf16 权重约 480 GB" in e.value.text.render("zh")  # and in the visitor's language in the app


@pytest.mark.parametrize("family", ["phi3", "qwen3"])
def test_each_family_demo_loads_by_its_id(family):
    loaded = load_model(LoadSpec(f"demo-{family}", dtype="float32", device="cpu"))
    assert loaded.is_demo and loaded.path.name.startswith(f"demo-{family}-")
    assert loaded.thinking == (family == "qwen3")  # Qwen3, as InternVL3.5, has a thinking mode
    assert isinstance(loaded.model.chat(loaded.tokenizer, None, "Hello", {"max_new_tokens": 4}), str)
