"""Settings, model half: backend, checkpoint (catalog, hub id, folder, demo), precision, devices.

A load costs time and memory, so this half changes nothing until the page's Apply button builds
new dataclasses (a half-filled form never reaches the model). Until then the page says that
there are changes not applied, and keeps them (`PENDING`): Streamlit forgets a widget's value
once a run does not draw it, so without this a visit to another page dropped them silently.
The widgets start from those kept changes, else from the active settings.

The first draw puts its widgets up before any slow work: the catalog table (pandas, ~1 s the
first time) is built only when its expander is opened, and the memory line (which asks torch
about the GPU, and reads a folder's safetensors headers) is drawn last.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import streamlit as st

from components import access, model_cache, state
from components.language import render, t
from i18n import Text
from model_backend.checkpoints.catalog import (
    CATALOG,
    DEFAULT_CHECKPOINT,
    CatalogEntry,
    estimate_memory_gb,
    find_entry,
    has_6b_vision,
)
from model_backend.checkpoints.sizes import parameter_count
from model_backend.settings import DEVICE_PLACEMENTS, DTYPES, QUANTIZATIONS, LoadSpec, ServerSpec, resolve_dtype

SOURCES = ("catalog", "hub", "folder", "demo")
BACKENDS = ("local", "server")
DEMO_ID = "demo"
#: Session key of the load form's values not yet applied (a `Pending`).
PENDING = "settings_pending"
#: The load form's widgets (the answer half applies at once and needs no keeping).
FORM_KEYS = (
    "backend_choice", "ckpt_source", "ckpt_catalog", "ckpt_hub", "allow_code", "ckpt_folder", "ckpt_demo",
    "ckpt_offered", "dtype", "quant", "device", "flash", "force4", "url", "api_key", "list", "server_model",
    "server_model_typed",
)  # fmt: skip

Active = tuple[str, "LoadSpec | None", "ServerSpec | None"]


@dataclass(frozen=True)
class ModelChoice:
    """What the form says; `spec_fields` become a LoadSpec on Apply.

    `show_memory` draws the memory line in its place; the page calls it after every widget is drawn.
    """

    spec_fields: dict[str, Any]
    problem: Text | None = None
    show_memory: Callable[[], None] | None = None


@dataclass(frozen=True)
class Pending:
    """The load form's values that differ from `active`, the settings in use when they were kept."""

    active: Active
    values: dict[str, Any]


def _active() -> Active:
    # The raw session value, not state.load_spec(): a server session need not make a LoadSpec.
    return state.backend(), st.session_state.get(state.LOAD_SPEC), state.server_spec()


def start_form() -> None:
    """Forget kept changes once the settings they were made against moved (applied, or the sidebar's demo button)."""
    pending = st.session_state.get(PENDING)
    if pending is not None and pending.active != _active():
        del st.session_state[PENDING]


def initial(key: str, active_value: Any) -> Any:
    """The value a form widget starts from: the change kept for it, else the active setting."""
    pending = st.session_state.get(PENDING)
    return pending.values.get(key, active_value) if pending is not None else active_value


def _index(options: Sequence[Any], key: str, active_value: Any) -> int:
    wanted = initial(key, active_value)
    return options.index(wanted) if wanted in options else options.index(active_value) if active_value in options else 0


def keep_form(differs: bool) -> None:
    """At the end of the page: keep the form's values while they differ from the active settings."""
    if differs:
        values = {key: st.session_state[key] for key in FORM_KEYS if key in st.session_state}
        st.session_state[PENDING] = Pending(_active(), values)
    else:
        st.session_state.pop(PENDING, None)


def applied() -> None:
    st.session_state.pop(PENDING, None)


def form_differs(backend: str, choice: ModelChoice | None, server: dict[str, Any] | None) -> bool:
    """Whether Apply would change what answers (another backend, server or checkpoint or load option)."""
    if backend != state.backend():
        return True
    if backend == "server":
        current = state.server_spec()
        if current is None or server is None:
            return True
        wanted = (server["base_url"], server["model"], server["api_key"])
        return (current.base_url, current.model, current.api_key) != wanted
    if choice is None:
        return False
    spec = state.load_spec()
    return any(getattr(spec, name) != value for name, value in choice.spec_fields.items())


def backend_choice() -> str:
    if not access.is_admin():
        st.caption(t("settings.backend.admin_only"))
        return "local"
    labels = {"local": t("settings.backend.local"), "server": t("settings.backend.server")}
    return st.radio(
        t("settings.backend"),
        BACKENDS,
        index=_index(BACKENDS, "backend_choice", state.backend()),
        format_func=labels.__getitem__,
        horizontal=True,
        key="backend_choice",
    )


def known_checkpoints() -> None:
    """The catalog as a table, behind an expander that draws it only when open (pandas costs ~1 s the first time)."""
    known = st.expander(t("settings.known"), key="known_checkpoints", on_change="rerun")
    if known.open:
        with known:
            _catalog_table()


def _catalog_table() -> None:
    yes, server_only, in_process = (
        t("settings.catalog.yes"),
        t("settings.catalog.server_only"),
        t("settings.catalog.in_process"),
    )
    rows = [
        {
            t("settings.catalog.checkpoint"): e.name,
            t("settings.catalog.params"): e.params_b,
            t("settings.catalog.llm"): e.llm,
            t("settings.catalog.vision"): e.vision,
            t("settings.catalog.bf16"): round(e.memory_gb("none"), 1),
            t("settings.catalog.8bit"): round(e.memory_gb("8bit"), 1),
            t("settings.catalog.4bit"): round(e.memory_gb("4bit"), 1),
            t("settings.catalog.thinking"): yes if e.thinking else "",
            t("settings.catalog.runs"): server_only if e.server_only else in_process,
        }
        for e in CATALOG
    ]
    st.dataframe(rows, hide_index=True, width="stretch")


def checkpoint_choice(spec: LoadSpec) -> ModelChoice:
    """Where the weights come from and how to load them."""
    if not access.is_admin():
        return _offered_choice(spec)
    names = [e.name for e in CATALOG]
    active_entry = find_entry(spec.checkpoint)
    if spec.checkpoint == DEMO_ID or (spec.checkpoint.startswith(f"{DEMO_ID}-") and _is_demo_family(spec.checkpoint)):
        active_source = "demo"
    elif active_entry is not None:
        active_source = "catalog"
    elif Path(spec.checkpoint).exists():
        active_source = "folder"
    else:
        active_source = "hub"
    labels = {source: _source_label(source) for source in SOURCES}
    source = st.radio(
        t("settings.source"),
        SOURCES,
        index=_index(SOURCES, "ckpt_source", active_source),
        format_func=labels.__getitem__,
        horizontal=True,
        key="ckpt_source",
    )
    allow_code, problem, entry = False, None, None
    if source == "catalog":
        if not names:
            return ModelChoice({}, Text("settings.catalog_missing"))
        # The active checkpoint when the catalog has it; else the catalog's default, never merely its first row.
        preselected = active_entry if active_entry is not None else find_entry(DEFAULT_CHECKPOINT)
        name = st.selectbox(
            t("settings.checkpoint"),
            names,
            index=_index(names, "ckpt_catalog", preselected.name if preselected else names[0]),
            key="ckpt_catalog",
        )
        entry = find_entry(name)
        # The active one keeps its own spelling (a hub id, a folder named after the entry): no reload on Apply.
        checkpoint = spec.checkpoint if entry is not None and entry == active_entry else name
        if entry is not None and entry.server_only:
            problem = Text("settings.server_only", {"name": entry.name, "reason": entry.server_only})
            st.warning(render(problem))
    elif source == "hub":
        checkpoint = st.text_input(
            t("settings.hub_id"),
            value=initial("ckpt_hub", spec.checkpoint if active_source == "hub" else ""),
            key="ckpt_hub",
        )
        entry = find_entry(checkpoint) if checkpoint else None
        if checkpoint and entry is None:
            st.warning(t("settings.remote_code"))
            allow_code = st.checkbox(
                t("settings.allow_code"), value=initial("allow_code", spec.allow_remote_code), key="allow_code"
            )
    elif source == "folder":
        checkpoint = st.text_input(
            t("settings.folder"),
            value=initial("ckpt_folder", spec.checkpoint if active_source == "folder" else ""),
            key="ckpt_folder",
            help=t("settings.folder_help"),
        )
        if checkpoint and not Path(checkpoint).is_dir():
            problem = Text("settings.folder_missing", {"folder": checkpoint})
    else:
        checkpoint = _demo_choice(spec)
        st.info(t("settings.demo_info"))
    if not checkpoint.strip():
        problem = problem or Text("settings.no_checkpoint")
    options = _load_options(spec, entry)
    fields = {"checkpoint": checkpoint.strip(), "allow_remote_code": allow_code, **options}
    return ModelChoice(fields, problem, _memory_line(entry, fields["checkpoint"], fields["quantization"]))


def _source_label(source: str) -> str:
    return {
        "catalog": t("settings.source.catalog"),
        "hub": t("settings.source.hub"),
        "folder": t("settings.source.folder"),
        "demo": t("settings.source.demo"),
    }[source]


def _is_demo_family(checkpoint: str) -> bool:
    # imported here: loading imports torch, which other checkpoints do not need
    from model_backend.checkpoints.loading import DEMO_FAMILY_IDS

    return checkpoint in DEMO_FAMILY_IDS


def _demo_choice(spec: LoadSpec) -> str:
    """`demo` (InternVL2-1B's family) or `demo-<family>`: one tiny checkpoint per LLM family."""
    from model_backend.checkpoints.loading import DEMO_FAMILY_IDS
    from model_backend.demo_checkpoint.families import DEFAULT_FAMILY, FAMILIES  # imports torch: only when chosen

    ids = [DEMO_ID, *(i for i, family in DEMO_FAMILY_IDS.items() if family != DEFAULT_FAMILY)]
    labels = {DEMO_ID: f"{DEFAULT_FAMILY}: {render(FAMILIES[DEFAULT_FAMILY].stands_for)}"}
    labels.update({i: f"{family}: {render(FAMILIES[family].stands_for)}" for i, family in DEMO_FAMILY_IDS.items()})
    return st.selectbox(
        t("settings.demo_family"),
        ids,
        index=_index(ids, "ckpt_demo", spec.checkpoint if spec.checkpoint in ids else DEMO_ID),
        format_func=labels.get,
        key="ckpt_demo",
    )


def _offered_choice(spec: LoadSpec) -> ModelChoice:
    """For users who are not admins: the allowed checkpoints and those already loaded, nothing else."""
    resident = [r.spec.checkpoint for r in model_cache.services().pool.residents()]
    offered = list(dict.fromkeys([*resident, *access.policy().allowed_checkpoints()]))
    active = spec.checkpoint
    if active not in offered:  # the active one under another spelling (a hub id for a catalog name), else the default
        entry = find_entry(active) or find_entry(DEFAULT_CHECKPOINT)
        active = entry.name if entry is not None and entry.name in offered else active
    checkpoint = st.selectbox(
        t("settings.checkpoint"), offered, index=_index(offered, "ckpt_offered", active), key="ckpt_offered"
    )
    st.caption(t("settings.offered"))
    entry = find_entry(checkpoint)
    if entry is not None and entry == find_entry(spec.checkpoint):
        checkpoint = spec.checkpoint
    options = _load_options(spec, entry)
    fields = {"checkpoint": checkpoint, "allow_remote_code": False, **options}
    return ModelChoice(fields, None, _memory_line(entry, checkpoint, options["quantization"]))


def _quant_label(quantization: str) -> str:
    return {
        "none": t("settings.quant.none"),
        "8bit": t("settings.quant.8bit"),
        "4bit": t("settings.quant.4bit"),
    }[quantization]


def _load_options(spec: LoadSpec, entry: CatalogEntry | None) -> dict[str, Any]:
    precision, quant, device = st.columns(3)
    auto = t("settings.precision.auto", dtype=resolve_dtype("auto"))
    dtype = precision.selectbox(
        t("settings.precision"),
        DTYPES,
        index=_index(DTYPES, "dtype", spec.dtype),
        format_func={d: auto if d == "auto" else d for d in DTYPES}.__getitem__,
        help=t("settings.precision_help"),
        key="dtype",
    )
    quantization = quant.selectbox(
        t("settings.quantization"),
        QUANTIZATIONS,
        index=_index(QUANTIZATIONS, "quant", spec.quantization),
        format_func={q: _quant_label(q) for q in QUANTIZATIONS}.__getitem__,  # worded now: AppTest calls it off-run
        key="quant",
    )
    placement = device.selectbox(
        t("settings.device"),
        DEVICE_PLACEMENTS,
        index=_index(DEVICE_PLACEMENTS, "device", spec.device),
        key="device",
        help=t("settings.device_help"),
    )
    flash = st.checkbox(
        t("settings.flash"), initial("flash", spec.flash_attention), key="flash", help=t("settings.flash_help")
    )
    force = False
    if quantization == "4bit" and entry is not None and has_6b_vision(entry):
        st.warning(t("settings.vit6b_4bit", name=entry.name))
        force = st.checkbox(t("settings.force_4bit"), value=initial("force4", spec.force_4bit), key="force4")
    return {
        "dtype": dtype,
        "quantization": quantization,
        "device": placement,
        "flash_attention": flash,
        "force_4bit": force,
    }


def _memory_line(entry: CatalogEntry | None, checkpoint: str, quantization: str) -> Callable[[], None]:
    """A place for the memory line under the load options, filled by the returned function."""
    return partial(_memory_estimate, st.container(), entry, checkpoint, quantization)


def _memory_estimate(holder: Any, entry: CatalogEntry | None, checkpoint: str, quantization: str) -> None:
    gpu = gpu_memory()
    if gpu is None:
        where = t("settings.memory.no_gpu")
    else:
        where = t("settings.memory.gpu", free=f"{gpu[0]:.1f}", total=f"{gpu[1]:.1f}")
    with holder:
        if entry is not None:
            params_b, name = entry.params_b, entry.name
        else:  # a folder outside the catalog (a fine-tune): count its parameters from the safetensors headers
            count = parameter_count(checkpoint) if checkpoint != DEMO_ID else None
            if count is None:
                st.caption(t("settings.memory.unknown", where=where))
                return
            params_b, name = count / 1e9, t("settings.memory.folder", params=_params_label(count))
        need = estimate_memory_gb(params_b, quantization)
        how = t("settings.memory.unquantized") if quantization == "none" else _quant_label(quantization)
        st.caption(t("settings.memory.estimate", need=f"{need:.1f}", name=name, quantization=how, where=where))
        if gpu is not None and need > gpu[0]:
            st.warning(t("settings.memory.too_big", need=f"{need:.1f}", free=f"{gpu[0]:.1f}"))


def _params_label(count: int) -> str:
    return f"{count / 1e9:.2f} B" if count >= 1e8 else f"{count / 1e6:.2f} M"


def gpu_memory() -> tuple[float, float] | None:
    """(free, total) GB of the current GPU, or None without one."""
    try:
        import torch
    except ImportError:
        return None
    if not torch.cuda.is_available():
        return None
    free, total = torch.cuda.mem_get_info()
    return free / 1e9, total / 1e9
