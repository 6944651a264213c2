"""Multi-GPU placement for InternVL checkpoints, exactly as the InternVL quick start's `split_model`.

The vision encoder, the projector, the token embeddings, the final norm, the output head and the
LAST LLM layer go on GPU 0 (first and last layer on one device avoids cross-device errors in the
checkpoints' own code); GPU 0 counts as half a GPU because the vision encoder lives there, and
the other layers are spread evenly. Both InternLM2 (`tok_embeddings`, `output`) and Llama/Qwen
(`embed_tokens`, `lm_head`) module names are listed, as in the seeds; names a model lacks are
ignored by transformers.
"""

from __future__ import annotations

import math

from model_backend.errors import BackendError


class SplitError(BackendError, ValueError):
    """A split was asked for that cannot be made (too few GPUs, no layers)."""


def split_device_map(num_layers: int, gpu_count: int, llm_prefix: str = "language_model") -> dict[str, int]:
    """Device map for `AutoModel.from_pretrained(..., device_map=...)` over `gpu_count` GPUs.

    >>> device_map = split_device_map(24, 2)
    >>> device_map["language_model.model.layers.0"], device_map["language_model.model.layers.8"]
    (0, 1)

    Like the seeds, the per-GPU share is rounded up, so the map may name a layer index past the
    last layer (e.g. 24 layers on 4 GPUs); such keys match nothing and are harmless.
    """
    if gpu_count < 2:
        raise SplitError("load.split_too_few_gpus", count=gpu_count)
    if num_layers < 1:
        raise SplitError("load.split_no_layers", count=num_layers)
    per_gpu = math.ceil(num_layers / (gpu_count - 0.5))
    layers_per_gpu = [per_gpu] * gpu_count
    layers_per_gpu[0] = math.ceil(per_gpu * 0.5)
    device_map: dict[str, int] = {}
    layer = 0
    for gpu, count in enumerate(layers_per_gpu):
        for _ in range(count):
            device_map[f"{llm_prefix}.model.layers.{layer}"] = gpu
            layer += 1
    for module in ("model.tok_embeddings", "model.embed_tokens", "output", "model.norm", "lm_head"):
        device_map[f"{llm_prefix}.{module}"] = 0
    device_map["vision_model"] = 0
    device_map["mlp1"] = 0
    device_map[f"{llm_prefix}.model.layers.{num_layers - 1}"] = 0
    return device_map
