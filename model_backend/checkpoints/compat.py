"""Shims for known quirks of checkpoints' own code (`trust_remote_code`) under the pinned transformers.

InternVL checkpoints ship their own Python files, and some of the LLM code in them was written
against older transformers releases. Each known quirk is one `Quirk` entry in `QUIRKS`: which
LLM family has it, what breaks, from which transformers version, and what the shim does. Entries
with `shim=None` were checked and need no shim under the pin; their `still_fine` check says why,
and the tests keep checking it (a transformers bump that breaks one fails a test, not a user).

`apply_compat(config)` runs at load time, with the checkpoint's config.json, and applies only
the shims of that checkpoint's LLM family. Shims are idempotent and only add what transformers
lacks; they never replace something transformers has. docs/compat.md is the same list in prose.

A failure from inside a checkpoint's code that no entry knows becomes a plain message through
`describe_code_error` (the checkpoint, the transformers version, what to try), a `Text` of the
`i18n` table; the exception itself is the caller's `detail`.

>>> [str(note) for note in apply_compat({"llm_config": {"architectures": ["Phi3ForCausalLM"]}})]  # doctest: +SKIP
["compatibility shim phi3-get-max-length: Phi-3's own code calls ..."]
"""

from __future__ import annotations

import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from i18n import Text

PINNED_TRANSFORMERS = "4.51.3"


@dataclass(frozen=True)
class Quirk:
    """One known quirk of a family's own code, and what we do about it."""

    key: str
    families: tuple[str, ...]  # `llm_config.architectures[0]` values of the checkpoints that have it
    checkpoints: str  # the published checkpoints concerned, in words
    breaks: str  # what goes wrong, and where in the checkpoint's code
    since: str  # the transformers version from which it breaks
    fix: str  # what the shim does, or why none is needed
    shim: Callable[[], bool] | None = None  # applies the fix; True when it changed something
    still_fine: Callable[[], bool] | None = None  # for entries without a shim: the reason still holds
    notice: Text | None = None  # the one line a loaded model's notices show while the shim is in force


def _add_get_max_length() -> bool:
    """Give `Cache` the `get_max_length()` that transformers 4.49 removed, as `get_max_cache_shape()`."""
    from transformers.cache_utils import Cache

    if hasattr(Cache, "get_max_length"):  # transformers has it (older versions) or we added it already
        return False

    def get_max_length(self):  # same meaning as before its removal: None for a cache without a limit
        return self.get_max_cache_shape()

    get_max_length.__doc__ = "Added by model_backend.checkpoints.compat: the pre-4.49 name of get_max_cache_shape()."
    Cache.get_max_length = get_max_length
    return True


def generation_mixin_inherited() -> bool:
    """True while `PreTrainedModel` still inherits `GenerationMixin` (transformers < 4.52).

    The InternLM2 (and Phi-3) LLM classes in the checkpoints derive from `PreTrainedModel` only,
    so they have `generate` exactly as long as this holds.
    """
    from transformers import GenerationMixin, PreTrainedModel

    return issubclass(PreTrainedModel, GenerationMixin)


def _seen_tokens_available() -> bool:
    """DynamicCache still counts `seen_tokens` (a deprecated property, but it returns the count)."""
    import torch
    from transformers import DynamicCache

    cache = DynamicCache()
    cache.update(torch.zeros(1, 1, 3, 2), torch.zeros(1, 1, 3, 2), 0)
    return cache.seen_tokens == 3 and cache.get_usable_length(1) == 3


def _llama_is_native() -> bool:
    import transformers

    return hasattr(transformers, "LlamaForCausalLM")


QUIRKS: tuple[Quirk, ...] = (
    Quirk(
        key="phi3-get-max-length",
        families=("Phi3ForCausalLM",),
        checkpoints="InternVL2-4B (and Mini-InternVL-Chat-4B-V1-5), which ship their own modeling_phi3.py",
        breaks=(
            "Phi3ForCausalLM.prepare_inputs_for_generation calls past_key_values.get_max_length() on the "
            "DynamicCache that generate passes from the first step on, so model.chat and every answer fail "
            "with AttributeError: 'DynamicCache' object has no attribute 'get_max_length'"
        ),
        since="4.49 (deprecated with a warning from 4.45; removed in huggingface/transformers#35677)",
        fix=(
            "adds Cache.get_max_length() returning get_max_cache_shape(), its replacement with the same "
            "meaning (None for a DynamicCache, so the code's attention-mask cropping stays off); only when "
            "the method is missing, so it is idempotent and never replaces a method transformers has"
        ),
        shim=_add_get_max_length,
        notice=Text("load.notice.phi3_get_max_length"),
    ),
    Quirk(
        key="phi3-seen-tokens",
        families=("Phi3ForCausalLM",),
        checkpoints="InternVL2-4B",
        breaks=(
            "the same prepare_inputs_for_generation reads past_key_values.seen_tokens, and Phi3Model.forward "
            "calls get_usable_length(); both are deprecated"
        ),
        since="not broken in 4.51.3: both still exist and return the right numbers (a deprecation warning only)",
        fix="checked, no shim needed",
        still_fine=_seen_tokens_available,
    ),
    Quirk(
        key="internlm2-generation-mixin",
        families=("InternLM2ForCausalLM",),
        checkpoints="InternVL2-2B/8B/26B, InternVL-Chat-V1-5, InternVL2.5-2B/8B/26B (their own modeling_internlm2.py)",
        breaks=(
            "InternLM2ForCausalLM derives from PreTrainedModel without GenerationMixin; transformers warns "
            "about it now and from 4.52 on PreTrainedModel no longer brings generate, so the model cannot answer"
        ),
        since="4.52 (a warning from 4.45 to 4.51)",
        fix=(
            "checked, no shim needed: under the pin PreTrainedModel still inherits GenerationMixin and "
            "can_generate() is True. Its cache is the legacy tuple format (past_key_values[0][0]); generate keeps "
            "that format because the class does not declare _supports_cache_class. The version check at "
            "start-up refuses 4.52+"
        ),
        still_fine=generation_mixin_inherited,
    ),
    Quirk(
        key="llama3-76b-native-llm",
        families=("LlamaForCausalLM",),
        checkpoints="InternVL2-Llama3-76B, InternVL-Chat-V1-2 (Nous-Hermes-2-Yi-34B as LlamaForCausalLM)",
        breaks="nothing known: the LLM is transformers' own LlamaForCausalLM, built by the checkpoint's code",
        since="not broken in 4.51.3",
        fix="checked, no shim needed: the LLM code is transformers' own, so it uses the current cache API",
        still_fine=_llama_is_native,
    ),
)


def llm_family(config: dict) -> str | None:
    """The LLM architecture a checkpoint's config.json names (`llm_config.architectures[0]`)."""
    architectures = (config.get("llm_config") or {}).get("architectures") or []
    return str(architectures[0]) if architectures else None


def quirks_for(config: dict) -> list[Quirk]:
    """The known quirks of this checkpoint's family, shims and checked entries alike."""
    family = llm_family(config)
    return [quirk for quirk in QUIRKS if family in quirk.families]


def apply_compat(config: dict) -> list[Text]:
    """Apply the shims of this checkpoint's family; returns one line per shim in force, for the notices.

    Each line names its entry's key ("compatibility shim phi3-get-max-length: ..."), in either language.
    """
    notes = []
    for quirk in quirks_for(config):
        if quirk.shim is None:
            continue
        quirk.shim()
        if quirk.notice is not None:
            notes.append(quirk.notice)
    return notes


def describe_code_error(error: BaseException, checkpoint: str, code_folders: list[Path] | None = None) -> Text | None:
    """A plain message when `error` (AttributeError/TypeError) was raised inside the checkpoint's own code.

    "Inside" means the innermost frame of the traceback is a file of the checkpoint: transformers'
    remote-code module cache (where `trust_remote_code` copies those files) or one of `code_folders`.
    Returns None for any other error, which the caller reports as it did before. The exception's
    own words are not in the message: the caller keeps them as the error's `detail`.
    """
    if not isinstance(error, (AttributeError, TypeError)) or error.__traceback__ is None:
        return None
    frames = traceback.extract_tb(error.__traceback__)
    if not frames:
        return None
    where = Path(frames[-1].filename)
    if not any(_is_within(where, folder) for folder in _remote_code_folders() + list(code_folders or [])):
        return None
    import transformers

    return Text(
        "load.code_quirk",
        {
            "checkpoint": checkpoint,
            "file": where.name,
            "line": frames[-1].lineno or 0,
            "version": transformers.__version__,
            "pin": PINNED_TRANSFORMERS,
        },
    )


def _remote_code_folders() -> list[Path]:
    try:
        from transformers.utils import HF_MODULES_CACHE
    except ImportError:  # pragma: no cover - every supported transformers has it
        return []
    return [Path(HF_MODULES_CACHE)]


def _is_within(path: Path, folder: Path) -> bool:
    try:
        path.resolve().relative_to(Path(folder).resolve())
    except (ValueError, OSError):
        return False
    return True
