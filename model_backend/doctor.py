"""Environment check: is this machine set up to run InternVL checkpoints, and if not, what to do.

`run_checks()` returns one `Check` per line of the report: Python; torch and its CUDA build; each
GPU with its memory and bf16 support; transformers against the pin and the InternLM2
`GenerationMixin` situation; flash-attn, bitsandbytes and decord; free disk in the Hugging Face
cache; whether the hub answers. Each is "ok", "warning" or "error", with advice when it is not ok.
The CLI prints it (`python -m model_backend doctor`, exit code 1 when any check is an error); the
Settings page can show the same list. Nothing here hangs: the hub probe is one socket connect
with a 2 s timeout, and a check that raises becomes an error line instead of a crash.

>>> checks = run_checks()                        # doctest: +SKIP
>>> print(format_report(checks)); exit_code(checks)  # doctest: +SKIP
"""

from __future__ import annotations

import importlib.metadata
import os
import shutil
import socket
import sys
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

OK, WARNING, ERROR = "ok", "warning", "error"
HUB_TIMEOUT_S = 2.0
DISK_WARNING_GB = 20.0  # InternVL2-8B in bf16 is ~16 GB on disk
DISK_ERROR_GB = 1.0
TESTED_PYTHON = (3, 11)

CheckFunction = Callable[[], "Check | list[Check]"]


@dataclass(frozen=True)
class Check:
    """One line of the report. `advice` says what to do; empty when there is nothing to do."""

    name: str
    status: str  # OK, WARNING or ERROR
    detail: str
    advice: str = ""


def _version(distribution: str) -> str | None:
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return None


def check_python() -> Check:
    version = ".".join(map(str, sys.version_info[:3]))
    detail = f"{version} ({sys.executable})"
    if sys.version_info[:2] != TESTED_PYTHON:  # requires-python is >=3.10, so older ones never get here
        return Check("Python", WARNING, detail, "3.11 is the tested version; others may work")
    return Check("Python", OK, detail)


def check_torch() -> Check:
    try:
        import torch
    except ImportError as error:
        return Check("torch", ERROR, f"not importable ({error})", "pip install -r requirements.txt")
    build = f"CUDA {torch.version.cuda} build" if torch.version.cuda else "CPU-only build"
    return Check("torch", OK, f"{torch.__version__}, {build}")


def check_gpus() -> list[Check]:
    import torch

    if not torch.cuda.is_available():
        advice = "answers run on the CPU (slow for real checkpoints): use a GPU machine or the server backend"
        if not torch.version.cuda:
            advice = "this torch is CPU-only; on a GPU machine install a CUDA build of torch"
        return [Check("GPU", WARNING, "none visible", advice)]
    checks = []
    for index in range(torch.cuda.device_count()):
        props = torch.cuda.get_device_properties(index)
        bf16 = torch.cuda.get_device_capability(index) >= (8, 0)
        detail = f"{props.name}, {props.total_memory / 1024**3:.1f} GiB, bf16 {'yes' if bf16 else 'no'}"
        if bf16:
            checks.append(Check(f"GPU {index}", OK, detail))
        else:
            checks.append(Check(f"GPU {index}", WARNING, detail, "no bf16 on this GPU: choose float16 in Settings"))
    return checks


def check_transformers() -> Check:
    from model_backend.loading import TRANSFORMERS_PIN, TransformersVersionError, check_transformers_version

    version = _version("transformers")
    if version is None:
        return Check("transformers", ERROR, "not installed", f"pip install transformers=={TRANSFORMERS_PIN}")
    try:
        check_transformers_version(version)
    except TransformersVersionError as error:
        return Check("transformers", ERROR, f"{version} (pinned: {TRANSFORMERS_PIN})", str(error))
    if version != TRANSFORMERS_PIN:
        return Check(
            "transformers",
            WARNING,
            f"{version}, within the supported range but not the pinned {TRANSFORMERS_PIN}",
            f"the tested version is {TRANSFORMERS_PIN}: pip install transformers=={TRANSFORMERS_PIN}",
        )
    return Check("transformers", OK, f"{version} (the pinned version)")


def check_generation_mixin() -> Check:
    from model_backend import compat
    from model_backend.loading import TRANSFORMERS_PIN

    name = "InternLM2 generate"
    if compat.generation_mixin_inherited():
        detail = "PreTrainedModel still inherits GenerationMixin: InternLM2-based checkpoints (2B/8B/26B) can answer"
        return Check(name, OK, detail)
    return Check(
        name,
        ERROR,
        "PreTrainedModel no longer inherits GenerationMixin: InternLM2-based checkpoints cannot generate",
        f"pip install transformers=={TRANSFORMERS_PIN}",
    )


def check_flash_attn() -> Check:
    import torch

    version = _version("flash-attn") or _version("flash_attn")
    if version is None:
        if torch.cuda.is_available():
            return Check("flash-attn", WARNING, "not installed", "optional, faster on GPU: pip install flash-attn")
        return Check("flash-attn", OK, "not installed (it needs a GPU; standard attention is used)")
    try:
        import flash_attn  # noqa: F401
    except Exception as error:  # a wheel built for another torch/CUDA fails at import
        return Check(
            "flash-attn", WARNING, f"{version}, but it does not import ({error})", "reinstall it for this torch"
        )
    return Check("flash-attn", OK, version)


def check_bitsandbytes() -> Check:
    version = _version("bitsandbytes")
    if version is None:
        return Check("bitsandbytes", WARNING, "not installed", "8-bit/4-bit need it: pip install bitsandbytes")
    return Check("bitsandbytes", OK, version)


def check_decord() -> Check:
    version = _version("decord2") or _version("decord")
    if version is None:
        return Check("decord", WARNING, "not installed", "video QA needs it: pip install decord2")
    try:
        import decord  # noqa: F401
    except Exception as error:
        return Check(
            "decord", WARNING, f"{version}, but it does not import ({error})", "pip install --force-reinstall decord2"
        )
    return Check("decord", OK, version)


def hub_cache_folder() -> Path:
    """Where checkpoints are downloaded to (`HF_HUB_CACHE` / `HF_HOME`, else ~/.cache/huggingface/hub)."""
    try:
        from huggingface_hub import constants

        return Path(constants.HF_HUB_CACHE)
    except ImportError:
        return Path(os.environ.get("HF_HOME", Path.home() / ".cache" / "huggingface")) / "hub"


def check_disk(folder: Path | None = None) -> Check:
    folder = folder or hub_cache_folder()
    existing = folder
    while not existing.exists() and existing != existing.parent:  # not created before the first download
        existing = existing.parent
    free_gb = shutil.disk_usage(existing).free / 1e9
    detail = f"{free_gb:.1f} GB free for {folder}"
    if free_gb < DISK_ERROR_GB:
        return Check("disk", ERROR, detail, "free some space or point HF_HOME at a larger disk")
    if free_gb < DISK_WARNING_GB:
        return Check("disk", WARNING, detail, "enough for small checkpoints only (8B is ~16 GB): set HF_HOME elsewhere")
    return Check("disk", OK, detail)


def check_hub(host: str | None = None, port: int = 443, timeout: float = HUB_TIMEOUT_S) -> Check:
    """One TCP connect to the hub (HF_ENDPOINT's host, else huggingface.co); unreachable is a warning."""
    if host is None:
        endpoint = os.environ.get("HF_ENDPOINT") or "https://huggingface.co"
        parsed = urlparse(endpoint)
        host, port = parsed.hostname or "huggingface.co", parsed.port or (80 if parsed.scheme == "http" else 443)
    if os.environ.get("HF_HUB_OFFLINE", "").lower() in ("1", "true", "yes"):
        return Check("hub", WARNING, "HF_HUB_OFFLINE is set: nothing is downloaded", "unset it to download checkpoints")
    outcome: list[BaseException | None] = []

    def connect() -> None:  # in a thread: a name lookup is not bounded by the socket timeout
        try:
            with socket.create_connection((host, port), timeout=timeout):
                outcome.append(None)
        except OSError as error:
            outcome.append(error)

    worker = threading.Thread(target=connect, name="doctor-hub-probe", daemon=True)
    worker.start()
    worker.join(timeout + 0.5)
    if outcome and outcome[0] is None:
        return Check("hub", OK, f"{host}:{port} reachable")
    reason = type(outcome[0]).__name__ if outcome else "timed out"
    return Check(
        "hub",
        WARNING,
        f"{host}:{port} not reachable within {timeout:g} s ({reason})",
        "only cached checkpoints, local folders and the demo can be loaded; check the network or proxy",
    )


CHECKS: tuple[CheckFunction, ...] = (
    check_python,
    check_torch,
    check_gpus,
    check_transformers,
    check_generation_mixin,
    check_flash_attn,
    check_bitsandbytes,
    check_decord,
    check_disk,
    check_hub,
)


def run_checks(checks: Iterable[CheckFunction] = CHECKS) -> list[Check]:
    """Run every check in order; a check that raises becomes an error line that names it."""
    report: list[Check] = []
    for function in checks:
        try:
            result = function()
        except Exception as error:
            name = getattr(function, "__name__", "check").removeprefix("check_")
            report.append(
                Check(
                    name,
                    ERROR,
                    f"the check itself failed: {type(error).__name__}: {error}",
                    "pip install -r requirements.txt",
                )
            )
            continue
        report.extend(result if isinstance(result, list) else [result])
    return report


def format_report(checks: Iterable[Check]) -> str:
    """One line per check: `[ok]      name: detail`, with `-> advice` when there is something to do."""
    lines = []
    for check in checks:
        line = f"[{check.status}]".ljust(10) + f"{check.name}: {check.detail}"
        lines.append(line + (f"\n          -> {check.advice}" if check.advice else ""))
    return "\n".join(lines)


def exit_code(checks: Iterable[Check]) -> int:
    """1 when any check is an error, else 0 (warnings do not fail)."""
    return 1 if any(check.status == ERROR for check in checks) else 0
