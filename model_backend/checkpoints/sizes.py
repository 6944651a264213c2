"""How many parameters a checkpoint folder holds, read from its safetensors headers alone.

For checkpoints outside the catalog (a fine-tuned folder, say) the Settings page still wants a
memory estimate before loading. A safetensors file starts with an 8-byte little-endian header
length and a JSON header listing every tensor's shape, so the exact parameter count costs a few
kilobytes of reading, whatever the size of the weights.
"""

from __future__ import annotations

import json
import math
import struct
from pathlib import Path

#: A header larger than this is not a real safetensors header (the format caps it at 100 MB).
MAX_HEADER_BYTES = 100_000_000


def parameter_count(folder: str | Path) -> int | None:
    """Total parameters over `folder/*.safetensors`, or None when there are none or one is unreadable.

    >>> parameter_count("/no/such/folder") is None
    True
    """
    files = sorted(Path(folder).glob("*.safetensors")) if Path(folder).is_dir() else []
    if not files:
        return None
    total = 0
    for file in files:
        count = _file_parameters(file)
        if count is None:
            return None
        total += count
    return total


def _file_parameters(file: Path) -> int | None:
    try:
        with file.open("rb") as handle:
            (length,) = struct.unpack("<Q", handle.read(8))
            if length > MAX_HEADER_BYTES:
                return None
            header = json.loads(handle.read(length))
    except (OSError, struct.error, ValueError):
        return None
    return sum(math.prod(tensor["shape"]) for name, tensor in header.items() if name != "__metadata__")
