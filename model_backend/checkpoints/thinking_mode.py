"""Which checkpoints have a thinking mode (InternVL3.5, on Qwen3 LLMs), told without loading them.

The thinking text itself (the system prompt, splitting an answer) is `model_backend.text.thinking`.
"""

from __future__ import annotations

import json
from pathlib import Path

from model_backend.checkpoints.catalog import CatalogEntry, find_entry
from model_backend.demo_checkpoint.families import FAMILIES

#: LLM classes whose InternVL checkpoints have a thinking mode (InternVL3.5 is built on Qwen3).
THINKING_LLM_ARCHITECTURES = frozenset({"Qwen3ForCausalLM", "Qwen3MoeForCausalLM"})


def supports_thinking(entry: CatalogEntry | None, config: dict | None = None) -> bool:
    """True for checkpoints with a thinking mode: a catalog entry that says so, or a Qwen3 LLM in config.json."""
    if entry is not None and entry.thinking:
        return True
    architectures = ((config or {}).get("llm_config") or {}).get("architectures") or []
    return any(name in THINKING_LLM_ARCHITECTURES for name in architectures)


def has_thinking_mode(checkpoint: str) -> bool:
    """Whether `checkpoint` has a thinking mode, told without loading it (for the Settings page).

    A catalog name or hub id: its catalog flag; `demo-<family>`: that family's LLM; a local
    folder: the LLM architecture in its config.json. Anything else: False.
    """
    name = (checkpoint or "").strip()
    entry = find_entry(name) if name else None
    if entry is not None:
        return entry.thinking
    if name.lower().startswith("demo-"):
        family = FAMILIES.get(name.lower().removeprefix("demo-"))
        return family is not None and supports_thinking(None, {"llm_config": family.llm})
    config_file = Path(name).expanduser() / "config.json"
    try:
        config = json.loads(config_file.read_text(encoding="utf-8")) if name and config_file.is_file() else {}
    except (OSError, ValueError):
        return False
    return isinstance(config, dict) and supports_thinking(None, config)
