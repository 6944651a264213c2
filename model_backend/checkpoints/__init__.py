"""Checkpoints before they answer: the catalog of known InternVL checkpoints and their facts
(`catalog`), the hub and local folders (`hub`), loading with the right dtype, device map and
quantization (`loading`, `device_map`, `quantization`), memory sizes from the weights (`sizes`), the
image settings a checkpoint declares (`image_config`) and the shims its code needs on this
transformers (`compat`)."""
