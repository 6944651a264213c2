"""One `LoadSpec` -> a loaded InternVL model and tokenizer, or an error a user can act on.

The checkpoint's own code (`trust_remote_code`) runs only for catalog hub ids, local folders
and the demo checkpoint, unless the spec allows remote code. Hub ids fail within seconds when
the hub is out of reach (see `model_backend.checkpoints.hub`). Every failure is a `LoadError` subclass (an
`i18n.ExplainedError`) whose message says what happened and what to do; the library's own words,
where there are any, are its `detail`.

>>> loaded = load_model(LoadSpec("demo", dtype="float32", device="cpu"))   # doctest: +SKIP
>>> loaded.model.chat(loaded.tokenizer, None, "Hello", {"max_new_tokens": 8})  # doctest: +SKIP
"""

from __future__ import annotations

import gc
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from i18n import Text
from model_backend.checkpoints import compat, hub
from model_backend.checkpoints.catalog import CatalogEntry, find_entry, has_6b_vision
from model_backend.checkpoints.device_map import SplitError, split_device_map
from model_backend.checkpoints.image_config import ImageConfig
from model_backend.checkpoints.quantization import VIT_6B_HIDDEN, QuantizationUnavailable, bnb_config, bnb_on_cpu
from model_backend.checkpoints.thinking_mode import supports_thinking
from model_backend.demo_checkpoint import DEMO_CHECKPOINT_ID, demo_checkpoint_path, is_demo_checkpoint
from model_backend.demo_checkpoint.families import FAMILIES
from model_backend.errors import BackendError
from model_backend.settings import LoadSpec, resolve_dtype

#: `progress(message, fraction or None)`: the message is a `Text` (the pages word it in the visitor's language).
Progress = Callable[["Text | str", "float | None"], None]

TRANSFORMERS_PIN = "4.51.3"
_HUB_ID = re.compile(r"^[\w.-]+/[\w.-]+$")


class LoadError(BackendError, RuntimeError):
    """The model could not be loaded; `text` is meant for the user, `detail` for a developer."""


class TransformersVersionError(LoadError):
    """The installed transformers cannot run the checkpoints' own code."""


class UntrustedCodeError(LoadError):
    """The checkpoint would run its own Python code and nobody allowed that."""


class QuantizationRefused(LoadError):
    """4-bit was asked for on a model whose InternViT-6B encoder it breaks."""


class CheckpointUnavailable(LoadError):
    """The hub could not be reached, or has no such checkpoint."""


class OutOfMemoryError(LoadError):
    """The weights did not fit into the chosen device's memory."""


class ServerOnlyError(LoadError):
    """The catalog marks this checkpoint as one to serve, not to load in-process."""


#: `demo-<family>` loads that family's demo checkpoint (`demo` is the default family's).
DEMO_FAMILY_IDS: dict[str, str] = {f"{DEMO_CHECKPOINT_ID}-{name}": name for name in FAMILIES}


@dataclass
class LoadedModel:
    """A loaded model with what the engines and the UI need to know about it."""

    model: Any
    tokenizer: Any
    spec: LoadSpec
    path: Path
    entry: CatalogEntry | None
    is_demo: bool
    device: str
    dtype: str
    context_tokens: int
    image_size: int
    dynamic_image_size: bool
    use_thumbnail: bool
    max_dynamic_patch: int
    num_image_token: int
    #: Notes for whoever loaded it (`Text`: the pages word them in the visitor's language, the CLI in English).
    notices: list[Text | str] = field(default_factory=list)
    memory_gb: float | None = None
    min_dynamic_patch: int = 1
    #: The checkpoint has a thinking mode (catalog flag, or a Qwen3 LLM): see `model_backend.text.thinking`.
    thinking: bool = False

    @property
    def image_config(self) -> ImageConfig:
        """How this checkpoint tiles images: what the engine, the CLI and the preview use."""
        return ImageConfig(
            image_size=self.image_size,
            use_thumbnail=self.use_thumbnail,
            dynamic=self.dynamic_image_size,
            tokens_per_tile=self.num_image_token,
            min_tiles=self.min_dynamic_patch,
            max_tiles=self.max_dynamic_patch,
        )


def check_transformers_version(version: str | None = None) -> None:
    """Raise TransformersVersionError unless 4.37.2 <= version < 4.52 (the checkpoints' code needs it)."""
    from packaging.version import Version

    if version is None:
        import transformers

        version = transformers.__version__
    if not Version("4.37.2") <= Version(version) < Version("4.52"):
        raise TransformersVersionError("load.transformers_version", version=version, pin=TRANSFORMERS_PIN)


@dataclass(frozen=True)
class PreparedLoad:
    """A spec that resolved to a checkpoint folder whose config passed every check; weights not loaded yet."""

    spec: LoadSpec
    path: Path
    entry: CatalogEntry | None
    is_demo: bool
    config: dict

    def estimated_memory_gb(self) -> float | None:
        """What the weights will take, before loading them (None when it cannot be told)."""
        from model_backend.checkpoints.catalog import estimate_memory_gb
        from model_backend.checkpoints.sizes import parameter_count

        if self.entry is not None:
            params_b: float | None = self.entry.params_b
        else:
            parameters = parameter_count(self.path)
            params_b = None if parameters is None else parameters / 1e9
        if params_b is None:
            return None
        estimate = estimate_memory_gb(params_b, self.spec.quantization)
        if self.spec.quantization == "none" and resolve_dtype(self.spec.dtype, self.spec.device) == "float32":
            estimate += 2.0 * params_b  # the estimate counts 2 bytes a weight; float32 takes 4
        return estimate


def prepare_load(spec: LoadSpec, progress: Progress | None = None) -> PreparedLoad:
    """Everything before the weights: version, folder (downloading it if needed), config, quantization.

    A pool calls this before it evicts anything, so a typo or a folder that is not a checkpoint
    fails without touching the models already loaded.
    """
    report = progress or (lambda message, fraction: None)
    check_transformers_version()
    path, entry, is_demo = _resolve(spec, report)
    config = _read_config(path, spec.checkpoint)
    _check_quantization(spec, entry, config)
    return PreparedLoad(spec, path, entry, is_demo, config)


def load_model(spec: LoadSpec, progress: Progress | None = None) -> LoadedModel:
    """Resolve, check and load `spec`; `progress(message, fraction or None)` reports each stage."""
    return load_prepared(prepare_load(spec, progress), progress)


def load_prepared(prepared: PreparedLoad, progress: Progress | None = None) -> LoadedModel:
    """Load the weights and tokenizer of a checked `PreparedLoad`."""
    report = progress or (lambda message, fraction: None)
    spec, path, entry, is_demo, config = prepared.spec, prepared.path, prepared.entry, prepared.is_demo, prepared.config

    import torch

    notices: list[Text | str] = []
    kwargs = _load_kwargs(spec, config, notices)
    notices.extend(compat.apply_compat(config))  # shims for known quirks of the checkpoint's own code
    report(Text("load.progress.weights"), None)
    try:
        from transformers import AutoModel, AutoTokenizer

        with bnb_on_cpu(kwargs):
            model = AutoModel.from_pretrained(str(path), **kwargs).eval()
        tokenizer = AutoTokenizer.from_pretrained(str(path), trust_remote_code=True, use_fast=False)
    except torch.cuda.OutOfMemoryError as error:
        _free_cuda()
        if entry is None:
            raise OutOfMemoryError("load.out_of_memory", detail=str(error), checkpoint=spec.checkpoint) from error
        needed = f"{entry.memory_gb(spec.quantization):.0f}"
        raise OutOfMemoryError(
            "load.out_of_memory_estimate", detail=str(error), checkpoint=spec.checkpoint, gb=needed
        ) from error
    except LoadError:
        raise
    except Exception as error:
        technical = f"{type(error).__name__}: {error}"
        quirk = compat.describe_code_error(error, spec.checkpoint, [path])
        if quirk is not None:
            raise LoadError(quirk, detail=technical) from error
        raise LoadError("load.failed", detail=technical, checkpoint=spec.checkpoint) from error
    llm_config = config.get("llm_config", {})
    image = ImageConfig.from_checkpoint(config, tokens_per_tile=int(model.num_image_token))
    return LoadedModel(
        model=model,
        tokenizer=tokenizer,
        spec=spec,
        path=path,
        entry=entry,
        is_demo=is_demo,
        device=_describe_device(kwargs.get("device_map")),
        dtype=resolve_dtype(spec.dtype, spec.device),
        context_tokens=int(llm_config.get("max_position_embeddings") or (entry.context_tokens if entry else 4096)),
        image_size=image.image_size,
        dynamic_image_size=image.dynamic,
        use_thumbnail=image.use_thumbnail,
        max_dynamic_patch=image.max_tiles,
        num_image_token=image.tokens_per_tile,
        notices=notices,
        memory_gb=model.get_memory_footprint() / 1e9,
        min_dynamic_patch=image.min_tiles,
        thinking=supports_thinking(entry, config),
    )


def release_model(loaded: LoadedModel) -> None:
    """Drop the model's references and give its memory back (GPU memory too)."""
    loaded.model = None
    loaded.tokenizer = None
    gc.collect()
    _free_cuda()


def _free_cuda() -> None:
    import torch

    if torch.cuda.is_available():
        torch.cuda.empty_cache()


def _resolve(spec: LoadSpec, report: Progress) -> tuple[Path, CatalogEntry | None, bool]:
    """(local folder, catalog entry, is demo); downloads catalog or allowed hub ids."""
    checkpoint = spec.checkpoint.strip()
    if checkpoint.lower() == DEMO_CHECKPOINT_ID:
        report(Text("load.progress.demo"), None)
        return demo_checkpoint_path(), None, True
    if checkpoint.lower() in DEMO_FAMILY_IDS:
        family = DEMO_FAMILY_IDS[checkpoint.lower()]
        report(Text("load.progress.demo_family", {"family": family}), None)
        return demo_checkpoint_path(family), None, True
    _refuse_server_only(find_entry(checkpoint))
    folder = Path(checkpoint).expanduser()
    if folder.is_dir():
        return folder.resolve(), find_entry(checkpoint), is_demo_checkpoint(folder)
    entry = find_entry(checkpoint)
    if entry is None and not _HUB_ID.match(checkpoint):
        raise LoadError("load.not_found", checkpoint=checkpoint)
    if entry is None and not spec.allow_remote_code:
        raise UntrustedCodeError("load.untrusted_code", checkpoint=checkpoint)
    repo_id = entry.hub_id if entry is not None else checkpoint
    if spec.quantization == "4bit" and entry is not None:
        _check_quantization(spec, entry, {})  # refuse before downloading tens of gigabytes
    try:
        return Path(hub.download(repo_id, report)), entry, False
    except hub.HubUnavailable as error:
        raise CheckpointUnavailable(error.text, detail=error.detail) from error


def _refuse_server_only(entry: CatalogEntry | None) -> None:
    """Checkpoints the catalog marks server-only fail before any download (see `CatalogEntry.server_only`)."""
    if entry is not None and entry.server_only:
        # The catalog's reason is a Text: worded in the visitor's language inside the message.
        raise ServerOnlyError("load.server_only", checkpoint=entry.name, reason=entry.server_only)


def _read_config(path: Path, name: str) -> dict:
    config_file = path / "config.json"
    if not config_file.is_file():
        raise LoadError("load.no_config", checkpoint=name, path=str(path))
    try:
        config = json.loads(config_file.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise LoadError("load.config_unreadable", detail=f"{config_file}: {error}", checkpoint=name) from error
    if not isinstance(config, dict) or "auto_map" not in config or "llm_config" not in config:
        raise LoadError("load.not_internvl", checkpoint=name)
    return config


def _check_quantization(spec: LoadSpec, entry: CatalogEntry | None, config: dict) -> None:
    if spec.quantization != "4bit" or spec.force_4bit:
        return
    six_b = has_6b_vision(entry) if entry else config.get("vision_config", {}).get("hidden_size") == VIT_6B_HIDDEN
    if six_b:
        raise QuantizationRefused(Text("load.quantization_refused", {"checkpoint": spec.checkpoint}))


def _load_kwargs(spec: LoadSpec, config: dict, notices: list[Text | str]) -> dict:
    """from_pretrained keyword arguments: dtype, attention, quantization and placement."""
    import torch

    dtype_name = resolve_dtype(spec.dtype, spec.device)
    dtype = getattr(torch, dtype_name)
    kwargs: dict[str, Any] = {"torch_dtype": dtype, "low_cpu_mem_usage": True, "trust_remote_code": True}
    cuda = torch.cuda.is_available()
    flash = False
    if spec.flash_attention:
        flash = cuda and _flash_attn_installed()
        if not flash:
            notices.append(Text("load.notice.no_flash_attn"))
    kwargs["use_flash_attn"] = flash

    if spec.device == "cuda" and not cuda:
        raise LoadError("load.no_gpu")
    if spec.device == "split":
        try:
            num_layers = int(config.get("llm_config", {}).get("num_hidden_layers", 0))
            kwargs["device_map"] = split_device_map(num_layers, torch.cuda.device_count() if cuda else 0)
        except SplitError as error:
            raise LoadError(error.text, detail=error.detail) from error
    elif cuda and spec.device in ("auto", "cuda"):
        kwargs["device_map"] = {"": 0}
    elif not cuda and spec.device == "auto" and dtype_name == "float16":
        notices.append(Text("load.notice.cpu_float16"))

    if spec.quantization != "none":
        try:
            kwargs["quantization_config"] = bnb_config(spec.quantization, config, dtype)
        except QuantizationUnavailable as error:
            raise LoadError(error.text, detail=error.detail) from error
        kwargs.setdefault("device_map", {"": 0} if cuda and spec.device != "cpu" else {"": "cpu"})
        if not cuda:
            notices.append(Text("load.notice.bnb_cpu", {"quantization": spec.describe()}))
    return kwargs


def _flash_attn_installed() -> bool:
    try:
        import flash_attn  # noqa: F401
    except Exception:  # ImportError, or a build that does not match this torch
        return False
    return True


def _describe_device(device_map: dict | None) -> str:
    if not device_map:
        return "cpu"
    devices = {value for value in device_map.values()}
    if len(devices) > 1:
        return f"split over {len(devices)} GPUs"
    only = next(iter(devices))
    return "cpu" if only == "cpu" else f"cuda:{only}" if isinstance(only, int) else str(only)
