"""bitsandbytes settings for InternVL checkpoints, and the CPU workaround for transformers 4.51.

8-bit follows the InternVL quick start (the whole model, 6B vision encoder included); a
300M vision encoder and the projector stay in 16 bits, which costs under 1 GB and keeps image
features exact. 4-bit on a 6B encoder is refused by the loader unless forced.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from i18n import Text
from model_backend.errors import BackendError

VIT_6B_HIDDEN = 3200  # InternViT-6B's width; InternViT-300M is 1024


class QuantizationUnavailable(BackendError, RuntimeError):
    """bitsandbytes is missing; the message says how to install it."""


def bnb_config(quantization: str, config: dict, dtype: Any) -> Any:
    """bitsandbytes settings; a 300M vision encoder and the projector stay in 16 bits (<1 GB, exact features)."""
    try:
        from transformers import BitsAndBytesConfig
    except ImportError as error:  # pragma: no cover - part of transformers
        raise QuantizationUnavailable(Text("load.bitsandbytes_missing"), detail=str(error)) from error
    import importlib.util

    if importlib.util.find_spec("bitsandbytes") is None:
        raise QuantizationUnavailable(Text("load.bitsandbytes_missing"))
    skip = ["lm_head", "output"]  # the output head stays in 16 bits, as transformers does by default
    if config.get("vision_config", {}).get("hidden_size") != VIT_6B_HIDDEN:
        skip += ["vision_model", "mlp1"]
    if quantization == "8bit":
        return BitsAndBytesConfig(load_in_8bit=True, llm_int8_skip_modules=skip)
    return BitsAndBytesConfig(load_in_4bit=True, bnb_4bit_compute_dtype=dtype, llm_int8_skip_modules=skip)


@contextlib.contextmanager
def bnb_on_cpu(kwargs: dict) -> Iterator[None]:
    """Let transformers 4.51 load bitsandbytes models on a CPU-only machine.

    bitsandbytes >= 0.46 has native CPU kernels (8-bit and 4-bit load and generate here), but
    transformers 4.51's backend check still demands Intel's IPEX for "cpu". The check is
    bypassed only for the duration of this load, only without CUDA.
    """
    import torch

    if "quantization_config" not in kwargs or torch.cuda.is_available():
        yield
        return
    import transformers.integrations.bitsandbytes as bnb_integration

    original = bnb_integration._validate_bnb_multi_backend_availability
    bnb_integration._validate_bnb_multi_backend_availability = lambda raise_exception: True
    try:
        yield
    finally:
        bnb_integration._validate_bnb_multi_backend_availability = original
