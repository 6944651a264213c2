"""Typed settings shared by the Settings page, the CLI flags and both engines.

One frozen dataclass per concern: what to load (`LoadSpec`), how to generate
(`GenerationSettings`) and where a remote server lives (`ServerSpec`). Each validates itself
on construction, so a bad value fails where it is made, with a message a user can act on.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from functools import cache
from typing import Literal

from model_backend.errors import BackendError

Dtype = Literal["auto", "bfloat16", "float16", "float32"]
Quantization = Literal["none", "8bit", "4bit"]
DevicePlacement = Literal["auto", "cpu", "cuda", "split"]

DTYPES: tuple[Dtype, ...] = ("auto", "bfloat16", "float16", "float32")
QUANTIZATIONS: tuple[Quantization, ...] = ("none", "8bit", "4bit")
DEVICE_PLACEMENTS: tuple[DevicePlacement, ...] = ("auto", "cpu", "cuda", "split")

MAX_TILES_LIMIT = 40
#: The allowed range of each numeric answer setting, declared once: `GenerationSettings` checks it,
#: the Settings and Batch pages draw their inputs with it, and the CLI's help states it.
GENERATION_RANGES: dict[str, tuple[int, int] | tuple[float, float]] = {
    "max_new_tokens": (1, 16384),
    "temperature": (0.01, 2.0),
    "top_p": (0.01, 1.0),
    "repetition_penalty": (1.0, 2.0),
    "max_tiles": (1, MAX_TILES_LIMIT),
}
MAX_VIDEO_FRAMES = 64


class SettingsError(BackendError, ValueError):
    """A setting is out of range; the message names the setting and the allowed range."""


@cache
def cuda_available() -> bool:
    """Whether torch sees a CUDA GPU; the flash-attention default, so a CPU machine does not ask for it.

    torch is imported by the first LoadSpec made without an explicit value, not with this module:
    a server-backend run never makes one, so it never pays for torch.
    """
    try:
        import torch
    except ImportError:
        return False
    return bool(torch.cuda.is_available())


def resolve_dtype(dtype: str, device: str = "auto") -> str:
    """The precision a load uses: `dtype` itself, or for "auto" bfloat16 on a GPU that supports it,
    float16 on one that does not (V100 and older), and on a CPU the faster of float32 and bfloat16.

    >>> resolve_dtype("float16"), resolve_dtype("auto", device="cpu") in ("float32", "bfloat16")
    ('float16', True)
    """
    if dtype != "auto":
        return dtype
    if device == "cpu" or not cuda_available():
        return faster_cpu_dtype()
    import torch

    return "bfloat16" if torch.cuda.is_bf16_supported() else "float16"


@cache
def faster_cpu_dtype() -> str:
    """bfloat16 where this CPU multiplies it faster than float32 (AMX, AVX512-BF16), else float32.

    CPUs differ by a factor of several either way: with AMX, bfloat16 gave the first token 3.9x
    sooner than float32 at InternVL2-1B's size; without native bfloat16 it is emulated and slower
    (benchmarks/bench_precision.py, docs/benchmarks.md). So it is measured, once per process, on a
    matrix product of a layer's size (~0.1 s), the best of a few tries for each.
    """
    import time

    import torch

    best = {}
    for name in ("float32", "bfloat16"):
        dtype = getattr(torch, name)
        a, b = torch.randn(256, 1024, dtype=dtype), torch.randn(1024, 1024, dtype=dtype)
        a @ b  # the first product sets the kernel up
        tries = []
        for _ in range(5):
            started = time.perf_counter()
            a @ b
            tries.append(time.perf_counter() - started)
        best[name] = min(tries)
    return "bfloat16" if best["bfloat16"] < best["float32"] else "float32"


@dataclass(frozen=True)
class GenerationSettings:
    """How to answer: decoding, prompt and image budget.

    `system_prompt=None` means the checkpoint's own system message.
    `thinking=True` asks a model with a thinking mode (InternVL3.5) to think first: the system
    prompt becomes the one its model card gives for that (`system_message()`).
    `max_tiles` is the tile budget of one question, shared between its images.
    `reuse_prefix=False` makes a local engine compute the whole prompt every turn, as `model.chat`
    does, instead of prefilling only what follows a kept KV cache (bit-identical logits, slower).

    >>> GenerationSettings(max_new_tokens=64).generation_config()["max_new_tokens"]
    64
    """

    max_new_tokens: int = 512
    do_sample: bool = False
    temperature: float = 0.7
    top_p: float = 0.9
    repetition_penalty: float = 1.0
    system_prompt: str | None = None
    max_tiles: int = 12
    thinking: bool = False
    reuse_prefix: bool = True

    def __post_init__(self) -> None:
        for name, (low, high) in GENERATION_RANGES.items():
            _check_range(name, getattr(self, name), low, high)

    def generation_config(self) -> dict:
        """Keyword arguments for `generate` / `model.chat`; sampling knobs only when sampling."""
        config: dict = {
            "max_new_tokens": self.max_new_tokens,
            "do_sample": self.do_sample,
            "repetition_penalty": self.repetition_penalty,
        }
        if self.do_sample:
            config.update(temperature=self.temperature, top_p=self.top_p)
        return config

    def system_message(self) -> str | None:
        """The system prompt both engines send; None keeps the checkpoint's own.

        With `thinking` on it is the card's thinking prompt, followed by `system_prompt` if one is set.

        >>> GenerationSettings(thinking=True).system_message().startswith("You are an AI assistant")
        True
        """
        if not self.thinking:
            return self.system_prompt
        from model_backend.text.thinking import R1_SYSTEM_PROMPT

        return R1_SYSTEM_PROMPT + (f"\n\n{self.system_prompt}" if self.system_prompt else "")

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class LoadSpec:
    """What to load and how. Hashable, so it can key a model cache.

    `checkpoint` is a catalog name, a hub id (`OpenGVLab/InternVL2-1B`), a local folder or
    `demo` (the offline random-weight checkpoint). `allow_remote_code` lets a checkpoint that
    is neither in the catalog nor a local folder run its own Python code.
    `force_4bit` loads 4-bit even on models whose 6B vision encoder it breaks.
    `flash_attention` defaults to on only where CUDA is present: flash-attn needs a GPU, and asking
    for it on a CPU machine only earned a "not available" notice on every load.
    """

    checkpoint: str
    dtype: Dtype = "auto"
    quantization: Quantization = "none"
    flash_attention: bool = field(default_factory=cuda_available)
    device: DevicePlacement = "auto"
    allow_remote_code: bool = False
    force_4bit: bool = False

    def __post_init__(self) -> None:
        if not self.checkpoint.strip():
            raise SettingsError("invalid.checkpoint")
        _check_choice("dtype", self.dtype, DTYPES)
        _check_choice("quantization", self.quantization, QUANTIZATIONS)
        _check_choice("device", self.device, DEVICE_PLACEMENTS)

    @property
    def label(self) -> str:
        """How results, lists and captions name what answers (every `Target` has one; see `ServerSpec.label`)."""
        return self.checkpoint

    def describe(self) -> str:
        """Short label such as `bfloat16` (what "auto" comes to here) or `4-bit (bitsandbytes)`."""
        if self.quantization == "none":
            return resolve_dtype(self.dtype, self.device)
        return f"{self.quantization[0]}-bit (bitsandbytes)"


@dataclass(frozen=True)
class ServerSpec:
    """An OpenAI-compatible server (LMDeploy `api_server`, vLLM `serve`, `transformers serve`)."""

    base_url: str
    model: str
    api_key: str | None = None
    timeout_s: float = 60.0

    def __post_init__(self) -> None:
        if not self.base_url.startswith(("http://", "https://")):
            raise SettingsError("invalid.server_url", url=self.base_url)

    @property
    def label(self) -> str:
        return f"{self.model} @ {self.base_url}"


def _check_range(name: str, value: float, low: float, high: float) -> None:
    if not low <= value <= high:
        raise SettingsError("invalid.range", name=name, low=low, high=high, value=value)


def _check_choice(name: str, value: str, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise SettingsError("invalid.choice", name=name, choices=", ".join(choices), value=str(value))
