"""The model pickers of the Compare page and of the Batch page's A/B form: where a side's answers come from.

A side picks a source (the session's checkpoint, a demo, the catalog, a hub id, a folder or an
OpenAI-compatible server for admins; the session's checkpoint or the offered ones for users), then
the checkpoint; a local checkpoint comes with its own precision and quantization. `model_picker`
says what was picked as a `Choice`: the target, its name, or why there is none (the access policy's
refusal included).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import streamlit as st

from components import access, model_cache
from components.language import t
from components.model_cache import services
from i18n import Text
from model_backend.checkpoints.catalog import CATALOG
from model_backend.serving.factory import Target
from model_backend.settings import DTYPES, QUANTIZATIONS, LoadSpec, ServerSpec, SettingsError, resolve_dtype

DEMO_IDS = ("demo", "demo-qwen2_5", "demo-phi3", "demo-internlm2", "demo-qwen3")
#: B's default: a demo checkpoint of another family, so a first comparison works offline.
DEFAULT_B = "demo-qwen2_5"
ADMIN_SOURCES = ("current", "demo", "catalog", "hub", "folder", "server")
USER_SOURCES = ("current", "offered")


@dataclass(frozen=True)
class Choice:
    """What a side's picker says: the target to answer with and its name, or why there is none."""

    target: Target | None
    label: str
    problem: Text | None = None


def _source_label(source: str) -> str:
    return {
        "current": t("compare.source.current"),
        "demo": t("compare.source.demo"),
        "catalog": t("compare.source.catalog"),
        "hub": t("compare.source.hub"),
        "folder": t("compare.source.folder"),
        "server": t("compare.source.server"),
        "offered": t("compare.source.offered"),
    }[source]


def model_picker(side: str, prefix: str = "compare", restored: LoadSpec | None = None) -> Choice:
    """Where side `side`'s answers come from: A starts on the session's checkpoint, B on a demo one.

    A local checkpoint comes with its precision and quantization (the session's checkpoint keeps
    its own, set in Settings). `prefix` starts the widgets' keys (the Batch page's A/B form draws
    the same pickers as `batch_ab`). `restored` is what this side last answered with: widgets not
    drawn yet in this session start from it (a widget keeps its own value once drawn)."""
    admin = access.is_admin()
    sources = ADMIN_SOURCES if admin else USER_SOURCES
    seeded = _source_of(restored, sources) if restored is not None else None
    default = seeded or ("current" if side == "a" else ("demo" if admin else "offered"))
    source = st.selectbox(
        t("compare.source"),
        sources,
        index=sources.index(default),
        format_func={
            source: _source_label(source) for source in sources
        }.__getitem__,  # worded now: AppTest calls it off-run
        key=f"{prefix}_{side}_source",
    )
    if source == "current":
        target = model_cache.target()
        if target is None:
            return Choice(None, "", Text("compare.no_current"))
        st.caption(t("compare.current_is", name=target.label))
        return Choice(target, target.label)
    if source == "server":
        return _server_choice(side, prefix)
    seed = restored if seeded == source else None  # the restored spec seeds only its own source's widgets
    if source == "demo":
        wanted = seed.checkpoint if seed is not None else DEFAULT_B if side == "b" else "demo"
        checkpoint = st.selectbox(
            t("compare.demo"), DEMO_IDS, index=DEMO_IDS.index(wanted), key=f"{prefix}_{side}_demo"
        )
        return _local(checkpoint, **_load_options(side, prefix, seed))
    if source in ("catalog", "offered"):
        names = [e.name for e in CATALOG if not e.server_only] if source == "catalog" else _offered()
        wanted = seed.checkpoint if seed is not None else DEFAULT_B if source == "offered" and side == "b" else None
        checkpoint = st.selectbox(
            t("compare.checkpoint"),
            names,
            index=names.index(wanted) if wanted in names else 0,
            key=f"{prefix}_{side}_{source}",
        )
        return _local(checkpoint, **_load_options(side, prefix, seed))
    if source == "hub":
        checkpoint = st.text_input(
            t("compare.hub_id"),
            value=seed.checkpoint if seed is not None else "",
            key=f"{prefix}_{side}_hub",
            placeholder="OpenGVLab/InternVL2-1B",
        )
        allow = st.checkbox(
            t("compare.allow_code"),
            value=seed is not None and seed.allow_remote_code,
            key=f"{prefix}_{side}_allow_code",
            help=t("compare.allow_code_help"),
        )
        return _local(checkpoint, allow_remote_code=allow, **_load_options(side, prefix, seed))
    folder = st.text_input(
        t("compare.folder"), value=seed.checkpoint if seed is not None else "", key=f"{prefix}_{side}_folder"
    )
    options = _load_options(side, prefix, seed)
    if folder.strip() and not Path(folder.strip()).expanduser().is_dir():
        return Choice(None, folder, Text("compare.folder_missing", {"folder": folder.strip()}))
    return _local(folder, **options)


def _load_options(side: str, prefix: str, seed: LoadSpec | None) -> dict[str, str]:
    """This side's precision and quantization (as in Settings; "auto" and none to start with)."""
    precision, quantization = st.columns(2)
    auto = t("settings.precision.auto", dtype=resolve_dtype("auto"))
    quantized = {
        "none": t("settings.quant.none"),
        "8bit": t("settings.quant.8bit"),
        "4bit": t("settings.quant.4bit"),
    }
    dtype = precision.selectbox(
        t("settings.precision"),
        DTYPES,
        index=DTYPES.index(seed.dtype) if seed is not None else 0,
        format_func={d: auto if d == "auto" else d for d in DTYPES}.__getitem__,  # worded now: AppTest calls it off-run
        help=t("settings.precision_help"),
        key=f"{prefix}_{side}_dtype",
    )
    quant = quantization.selectbox(
        t("settings.quantization"),
        QUANTIZATIONS,
        index=QUANTIZATIONS.index(seed.quantization) if seed is not None else 0,
        format_func=quantized.__getitem__,
        key=f"{prefix}_{side}_quant",
    )
    return {"dtype": dtype, "quantization": quant}


def _source_of(spec: LoadSpec, sources: tuple[str, ...]) -> str | None:
    """Which of `sources` offers `spec`: the session's checkpoint, a demo, the catalog, the offered list,
    a folder or a hub id."""
    checkpoint = spec.checkpoint
    if model_cache.target() == spec:
        return "current"
    if "demo" in sources and checkpoint in DEMO_IDS:
        return "demo"
    if "catalog" in sources and checkpoint in {e.name for e in CATALOG if not e.server_only}:
        return "catalog"
    if "offered" in sources:
        return "offered" if checkpoint in _offered() else None
    if "folder" in sources and Path(checkpoint).expanduser().is_dir():
        return "folder"
    return "hub" if "hub" in sources else None


def _offered() -> list[str]:
    """For users who are not admins: the allowed checkpoints and those already loaded."""
    resident = [r.spec.checkpoint for r in services().pool.residents()]
    return list(dict.fromkeys([*resident, *access.policy().allowed_checkpoints()]))


def _local(checkpoint: str, allow_remote_code: bool = False, dtype: str = "auto", quantization: str = "none") -> Choice:
    checkpoint = checkpoint.strip()
    if not checkpoint:
        return Choice(None, "", Text("compare.no_checkpoint"))
    spec = LoadSpec(checkpoint, dtype=dtype, quantization=quantization, allow_remote_code=allow_remote_code)  # type: ignore[arg-type]
    resident = frozenset(r.spec for r in services().pool.residents())
    refusal = access.policy().refusal(spec, access.role(), resident)
    return Choice(None if refusal else spec, checkpoint, refusal)


def _server_choice(side: str, prefix: str) -> Choice:
    url = st.text_input(t("compare.server_url"), key=f"{prefix}_{side}_url", placeholder="http://127.0.0.1:23333/v1")
    name = st.text_input(t("compare.server_model"), key=f"{prefix}_{side}_server_model")
    key = st.text_input(t("compare.server_key"), key=f"{prefix}_{side}_api_key", type="password")
    if not url.strip() or not name.strip():
        return Choice(None, "", Text("compare.server_missing"))
    try:
        spec = ServerSpec(url.strip().rstrip("/"), name.strip(), key.strip() or None)
    except SettingsError as error:
        return Choice(None, url, error.text)
    return Choice(spec, spec.label)
