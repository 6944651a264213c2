"""InternVL inference without Streamlit: preprocessing, conversations, loading and engines.

Usable from the app, the CLI (`python -m model_backend`) and tests. Heavy modules (torch,
transformers) are imported on first use, so `import model_backend` stays fast.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

_LAZY_EXPORTS = {
    "load_image": "model_backend.preprocess.images",
    "load_video": "model_backend.preprocess.video",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY_EXPORTS:
        return getattr(import_module(_LAZY_EXPORTS[name]), name)
    raise AttributeError(f"module 'model_backend' has no attribute {name!r}")
