"""Settings, model half: backend, checkpoint (catalog, hub id, folder, demo), precision, devices.

Widgets start from the current frozen settings; nothing changes until the page's Apply button
builds new dataclasses, so a half-filled form never reaches the model.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import streamlit as st

from components import access, model_cache, state
from model_backend.catalog import CATALOG, CatalogEntry, estimate_memory_gb, find_entry, has_6b_vision
from model_backend.checkpoint_size import parameter_count
from model_backend.demo_checkpoint.families import DEFAULT_FAMILY, FAMILIES
from model_backend.loading import DEMO_FAMILY_IDS
from model_backend.settings import DEVICE_PLACEMENTS, DTYPES, QUANTIZATIONS, LoadSpec

SOURCES = ["Catalog", "Hub id", "Local folder", "Demo (offline, random weights)"]
BACKENDS = {"In-process (transformers)": "local", "OpenAI-compatible server": "server"}
QUANT_LABELS = {"none": "none", "8bit": "8-bit (bitsandbytes)", "4bit": "4-bit (bitsandbytes)"}


@dataclass(frozen=True)
class ModelChoice:
    """What the form says; `spec_fields` become a LoadSpec on Apply."""

    spec_fields: dict[str, Any]
    problem: str | None = None


def backend_choice() -> str:
    if not access.is_admin():
        st.caption("Answers come from the checkpoints this server offers; only an admin can change the backend.")
        return "local"
    current = state.backend()
    labels = list(BACKENDS)
    index = list(BACKENDS.values()).index(current)
    label = st.radio("Backend", labels, index=index, horizontal=True, key="backend_choice")
    return BACKENDS[label]


def catalog_table() -> None:
    rows = [
        {
            "checkpoint": e.name,
            "params (B)": e.params_b,
            "LLM": e.llm,
            "vision": e.vision,
            "bf16 GB": round(e.memory_gb("none"), 1),
            "8-bit GB": round(e.memory_gb("8bit"), 1),
            "4-bit GB": round(e.memory_gb("4bit"), 1),
            "thinking": "yes" if e.thinking else "",
            "runs": "server only" if e.server_only else "in-process",
        }
        for e in CATALOG
    ]
    st.dataframe(rows, hide_index=True, width="stretch")


def checkpoint_choice(spec: LoadSpec) -> ModelChoice:
    """Where the weights come from and how to load them."""
    if not access.is_admin():
        return _offered_choice(spec)
    entries = list(CATALOG)
    names = [e.name for e in entries]
    entry = find_entry(spec.checkpoint)
    if spec.checkpoint == "demo" or spec.checkpoint in DEMO_FAMILY_IDS:
        default_source = 3
    elif entry is not None:
        default_source = 0
    elif Path(spec.checkpoint).exists():
        default_source = 2
    else:
        default_source = 1
    source = st.radio("Checkpoint from", SOURCES, index=default_source, horizontal=True, key="ckpt_source")
    allow_code, problem = False, None
    if source == "Catalog":
        if not names:
            return ModelChoice({}, "The catalog is not available: give a hub id or a folder.")
        index = names.index(entry.name) if entry is not None and entry.name in names else 0
        checkpoint = st.selectbox("Checkpoint", names, index=index, key="ckpt_catalog")
        entry = find_entry(checkpoint)
        if entry is not None and entry.server_only:
            problem = f"{entry.name} runs only behind a server ({entry.server_only}): choose the server backend."
            st.warning(problem)
    elif source == "Hub id":
        checkpoint = st.text_input(
            "Hub id (owner/name)", value=spec.checkpoint if default_source == 1 else "", key="ckpt_hub"
        )
        entry = find_entry(checkpoint) if checkpoint else None
        if checkpoint and entry is None:
            st.warning(
                "This checkpoint is not in the catalog. Loading it runs Python code that ships with it, "
                "on this machine, with your permissions. Allow it only for checkpoints you trust."
            )
            allow_code = st.checkbox("Allow this checkpoint's own code", value=spec.allow_remote_code, key="allow_code")
    elif source == "Local folder":
        checkpoint = st.text_input(
            "Checkpoint folder path",
            value=spec.checkpoint if default_source == 2 else "",
            key="ckpt_folder",
            help="e.g. your fine-tuned checkpoint",
        )
        if checkpoint and not Path(checkpoint).is_dir():
            problem = f"The folder {checkpoint} does not exist."
        entry = None
    else:
        checkpoint, entry = _demo_choice(spec), None
        st.info("The demo checkpoints work offline, but their weights are random: their answers are random text.")
    if not checkpoint.strip():
        problem = problem or "Give a checkpoint."
    options = _load_options(spec, entry)
    fields = {"checkpoint": checkpoint.strip(), "allow_remote_code": allow_code, **options}
    _memory_estimate(entry, fields["checkpoint"], fields["quantization"])
    return ModelChoice(fields, problem)


def _demo_choice(spec: LoadSpec) -> str:
    """`demo` (InternVL2-1B's family) or `demo-<family>`: one tiny checkpoint per LLM family."""
    ids = ["demo", *(i for i, family in DEMO_FAMILY_IDS.items() if family != DEFAULT_FAMILY)]
    labels = {"demo": f"{DEFAULT_FAMILY}: {FAMILIES[DEFAULT_FAMILY].stands_for}"}
    labels.update({i: f"{family}: {FAMILIES[family].stands_for}" for i, family in DEMO_FAMILY_IDS.items()})
    index = ids.index(spec.checkpoint) if spec.checkpoint in ids else 0
    return st.selectbox("Demo family", ids, index=index, format_func=labels.get, key="ckpt_demo")


def _offered_choice(spec: LoadSpec) -> ModelChoice:
    """For users who are not admins: the allowed checkpoints and those already loaded, nothing else."""
    resident = [r.spec.checkpoint for r in model_cache.services().pool.residents()]
    offered = list(dict.fromkeys([*resident, *access.policy().allowed_checkpoints()]))
    index = offered.index(spec.checkpoint) if spec.checkpoint in offered else 0
    checkpoint = st.selectbox("Checkpoint", offered, index=index, key="ckpt_offered")
    st.caption("An admin can load other checkpoints, hub ids and folders.")
    entry = find_entry(checkpoint)
    options = _load_options(spec, entry)
    _memory_estimate(entry, checkpoint, options["quantization"])
    return ModelChoice({"checkpoint": checkpoint, "allow_remote_code": False, **options})


def _load_options(spec: LoadSpec, entry: CatalogEntry | None) -> dict[str, Any]:
    precision, quant, device = st.columns(3)
    dtype = precision.selectbox("Precision", DTYPES, index=DTYPES.index(spec.dtype), key="dtype")
    quantization = quant.selectbox(
        "Quantization",
        QUANTIZATIONS,
        index=QUANTIZATIONS.index(spec.quantization),
        format_func=QUANT_LABELS.get,
        key="quant",
    )
    placement = device.selectbox(
        "Device",
        DEVICE_PLACEMENTS,
        index=DEVICE_PLACEMENTS.index(spec.device),
        key="device",
        help="split = spread the LLM layers over every GPU, vision encoder on GPU 0",
    )
    flash = st.checkbox(
        "Flash-attention (falls back to standard attention when unavailable)", spec.flash_attention, key="flash"
    )
    force = False
    if quantization == "4bit" and entry is not None and has_6b_vision(entry):
        st.warning(
            f"{entry.name} uses the 6-billion-parameter vision encoder, which 4-bit quantization breaks "
            "(answers become garbage). Use 8-bit, or load in 4-bit anyway:"
        )
        force = st.checkbox("Load in 4-bit anyway", value=spec.force_4bit, key="force4")
    return {
        "dtype": dtype,
        "quantization": quantization,
        "device": placement,
        "flash_attention": flash,
        "force_4bit": force,
    }


def _memory_estimate(entry: CatalogEntry | None, checkpoint: str, quantization: str) -> None:
    gpu = gpu_memory()
    where = "no GPU: runs on CPU" if gpu is None else f"GPU free {gpu[0]:.1f} of {gpu[1]:.1f} GB"
    if entry is not None:
        params_b, name = entry.params_b, entry.name
    else:  # a folder outside the catalog (a fine-tune): count its parameters from the safetensors headers
        count = parameter_count(checkpoint) if checkpoint != "demo" else None
        if count is None:
            st.caption(f"Memory estimate: unknown for this checkpoint · {where}")
            return
        params_b, name = count / 1e9, f"this folder ({_params_label(count)} parameters)"
    need = estimate_memory_gb(params_b, quantization)
    st.caption(f"Memory estimate: about {need:.1f} GB for {name} ({QUANT_LABELS[quantization]}) · {where}")
    if gpu is not None and need > gpu[0]:
        st.warning(f"About {need:.1f} GB is needed but only {gpu[0]:.1f} GB is free: try 8-/4-bit or split.")


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
