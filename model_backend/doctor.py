"""Environment check: is this machine set up to run InternVL checkpoints, and if not, what to do.

`run_checks()` returns one `Check` per line of the report: Python; torch and its CUDA build; each
GPU with its memory and bf16 support; transformers against the pin and the InternLM2
`GenerationMixin` situation; flash-attn, bitsandbytes and decord; free disk in the Hugging Face
cache; whether the hub answers. Each is "ok", "warning" or "error", with advice when it is not ok.
The CLI prints it (`python -m model_backend doctor`, exit code 1 when any check is an error); the
Settings page shows the same list in the visitor's language: each line's words are a `Text` (a
key of the `i18n` table and its values), which the CLI renders in English. Nothing here hangs:
the hub probe is one socket connect with a 2 s timeout, and a check that raises becomes an error
line instead of a crash.

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

from i18n import ExplainedError, Text

OK, WARNING, ERROR = "ok", "warning", "error"
HUB_TIMEOUT_S = 2.0
DISK_WARNING_GB = 20.0  # InternVL2-8B in bf16 is ~16 GB on disk
DISK_ERROR_GB = 1.0
TESTED_PYTHON = (3, 11)

CheckFunction = Callable[[], "Check | list[Check]"]
_REQUIREMENTS = Text("doctor.install_requirements")


@dataclass(frozen=True)
class Check:
    """One line of the report. `advice` says what to do; empty when there is nothing to do.

    `detail` and `advice` are `Text` where they have words to translate; a plain str holds only
    data (a version number). `str()` of either is the English the CLI prints.
    """

    name: str
    status: str  # OK, WARNING or ERROR
    detail: Text | str
    advice: Text | str = ""


def _version(distribution: str) -> str | None:
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return None


def check_python() -> Check:
    version = ".".join(map(str, sys.version_info[:3]))
    detail = f"{version} ({sys.executable})"
    if sys.version_info[:2] != TESTED_PYTHON:  # requires-python is >=3.10, so older ones never get here
        return Check("Python", WARNING, detail, Text("doctor.python.untested"))
    return Check("Python", OK, detail)


def check_torch() -> Check:
    try:
        import torch
    except ImportError as error:
        return Check("torch", ERROR, Text("doctor.torch.missing", {"error": str(error)}), _REQUIREMENTS)
    if torch.version.cuda:
        return Check(
            "torch", OK, Text("doctor.torch.cuda_build", {"version": torch.__version__, "cuda": torch.version.cuda})
        )
    return Check("torch", OK, Text("doctor.torch.cpu_build", {"version": torch.__version__}))


def check_gpus() -> list[Check]:
    import torch

    if not torch.cuda.is_available():
        advice = Text("doctor.gpu.cpu_torch") if not torch.version.cuda else Text("doctor.gpu.none_advice")
        return [Check("GPU", WARNING, Text("doctor.gpu.none"), advice)]
    checks = []
    for index in range(torch.cuda.device_count()):
        props = torch.cuda.get_device_properties(index)
        bf16 = torch.cuda.get_device_capability(index) >= (8, 0)
        values = {"name": props.name, "memory": f"{props.total_memory / 1024**3:.1f}"}
        if bf16:
            checks.append(Check(f"GPU {index}", OK, Text("doctor.gpu.bf16", values)))
        else:
            advice = Text("doctor.gpu.no_bf16_advice")
            checks.append(Check(f"GPU {index}", WARNING, Text("doctor.gpu.no_bf16", values), advice))
    return checks


def check_transformers() -> Check:
    from model_backend.checkpoints.loading import TRANSFORMERS_PIN, TransformersVersionError, check_transformers_version

    version = _version("transformers")
    install = Text("doctor.transformers.install", {"pin": TRANSFORMERS_PIN})
    if version is None:
        return Check("transformers", ERROR, Text("doctor.not_installed"), install)
    values = {"version": version, "pin": TRANSFORMERS_PIN}
    try:
        check_transformers_version(version)
    except TransformersVersionError as error:
        return Check("transformers", ERROR, Text("doctor.transformers.unsupported", values), _words(error))
    if version != TRANSFORMERS_PIN:
        return Check(
            "transformers",
            WARNING,
            Text("doctor.transformers.not_pinned", values),
            Text("doctor.transformers.not_pinned_advice", {"pin": TRANSFORMERS_PIN}),
        )
    return Check("transformers", OK, Text("doctor.transformers.pinned", {"version": version}))


def check_generation_mixin() -> Check:
    from model_backend.checkpoints import compat
    from model_backend.checkpoints.loading import TRANSFORMERS_PIN

    name = "InternLM2 generate"
    if compat.generation_mixin_inherited():
        return Check(name, OK, Text("doctor.generate.ok"))
    install = Text("doctor.transformers.install", {"pin": TRANSFORMERS_PIN})
    return Check(name, ERROR, Text("doctor.generate.broken"), install)


def check_flash_attn() -> Check:
    import torch

    version = _version("flash-attn") or _version("flash_attn")
    if version is None:
        if torch.cuda.is_available():
            return Check("flash-attn", WARNING, Text("doctor.not_installed"), Text("doctor.flash.optional"))
        return Check("flash-attn", OK, Text("doctor.flash.not_needed"))
    try:
        import flash_attn  # noqa: F401
    except Exception as error:  # a wheel built for another torch/CUDA fails at import
        broken = Text("doctor.no_import", {"version": version, "error": str(error)})
        return Check("flash-attn", WARNING, broken, Text("doctor.flash.reinstall"))
    return Check("flash-attn", OK, version)


def check_bitsandbytes() -> Check:
    version = _version("bitsandbytes")
    if version is None:
        return Check("bitsandbytes", WARNING, Text("doctor.not_installed"), Text("doctor.bitsandbytes.missing"))
    return Check("bitsandbytes", OK, version)


def check_decord() -> Check:
    version = _version("decord2") or _version("decord")
    if version is None:
        return Check("decord", WARNING, Text("doctor.not_installed"), Text("doctor.decord.missing"))
    try:
        import decord  # noqa: F401
    except Exception as error:
        broken = Text("doctor.no_import", {"version": version, "error": str(error)})
        return Check("decord", WARNING, broken, Text("doctor.decord.reinstall"))
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
    detail = Text("doctor.disk.free", {"free": f"{free_gb:.1f}", "folder": str(folder)})
    if free_gb < DISK_ERROR_GB:
        return Check("disk", ERROR, detail, Text("doctor.disk.full"))
    if free_gb < DISK_WARNING_GB:
        return Check("disk", WARNING, detail, Text("doctor.disk.low"))
    return Check("disk", OK, detail)


def check_hub(host: str | None = None, port: int = 443, timeout: float = HUB_TIMEOUT_S) -> Check:
    """One TCP connect to the hub (HF_ENDPOINT's host, else huggingface.co); unreachable is a warning."""
    if host is None:
        endpoint = os.environ.get("HF_ENDPOINT") or "https://huggingface.co"
        parsed = urlparse(endpoint)
        host, port = parsed.hostname or "huggingface.co", parsed.port or (80 if parsed.scheme == "http" else 443)
    if os.environ.get("HF_HUB_OFFLINE", "").lower() in ("1", "true", "yes"):
        return Check("hub", WARNING, Text("doctor.hub.offline"), Text("doctor.hub.offline_advice"))
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
    where = {"host": host, "port": port}
    if outcome and outcome[0] is None:
        return Check("hub", OK, Text("doctor.hub.reachable", where))
    if outcome:
        detail = Text(
            "doctor.hub.unreachable", {**where, "timeout": f"{timeout:g}", "reason": type(outcome[0]).__name__}
        )
    else:
        detail = Text("doctor.hub.timed_out", {**where, "timeout": f"{timeout:g}"})
    return Check("hub", WARNING, detail, Text("doctor.hub.advice"))


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
            crashed = Text("doctor.crashed", {"error": f"{type(error).__name__}: {error}"})
            report.append(Check(name, ERROR, crashed, _REQUIREMENTS))
            continue
        report.extend(result if isinstance(result, list) else [result])
    return report


def _words(error: Exception) -> Text | str:
    """An error's message as the report shows it: its table entry when it has one, else its English."""
    return error.text if isinstance(error, ExplainedError) else str(error)


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
