"""model_backend.doctor: a true report of this machine, errors fail the exit code, nothing hangs."""

from __future__ import annotations

import socket
import sys
import threading

import torch
import transformers

from i18n import Text
from model_backend import doctor
from model_backend.doctor import ERROR, OK, WARNING, Check, exit_code, format_report, run_checks
from tests.cli_runner import run_cli
from tests.waiting import wait_until


def _by_name(checks: list[Check]) -> dict[str, Check]:
    return {check.name: check for check in checks}


def test_report_on_this_machine_is_true():
    checks = _by_name(run_checks())
    python = ".".join(map(str, sys.version_info[:3]))
    assert str(checks["Python"].detail).startswith(python)
    assert checks["torch"].status == OK and str(checks["torch"].detail).startswith(torch.__version__)
    assert ("CUDA" in str(checks["torch"].detail)) == bool(torch.version.cuda)
    assert str(checks["transformers"].detail).startswith(transformers.__version__)
    assert checks["InternLM2 generate"].status == OK  # under the pin (4.51.3) InternLM2 code still generates
    if not torch.cuda.is_available():
        assert checks["GPU"].status == WARNING and checks["GPU"].advice
    else:
        assert all(
            "GiB" in str(c.detail) and "bf16" in str(c.detail) for n, c in checks.items() if n.startswith("GPU ")
        )
    for name in ("flash-attn", "bitsandbytes", "decord", "disk", "hub"):
        assert name in checks
    assert all(check.status in (OK, WARNING, ERROR) for check in checks.values())
    assert all(check.advice for check in checks.values() if check.status != OK)


def test_an_error_check_makes_the_exit_code_non_zero():
    def failing() -> Check:
        return Check("injected", ERROR, "broken on purpose", "fix it")

    def crashing() -> Check:
        raise RuntimeError("boom")

    checks = run_checks([doctor.check_python, failing])
    assert exit_code(checks) == 1
    assert "[error]   injected: broken on purpose\n          -> fix it" in format_report(checks)
    crashed = run_checks([crashing])
    assert crashed[0].status == ERROR and "boom" in str(crashed[0].detail) and exit_code(crashed) == 1
    assert exit_code(run_checks([doctor.check_python, doctor.check_torch])) == 0
    assert exit_code([Check("x", WARNING, "only a warning", "do something")]) == 0


def test_wrong_transformers_is_an_error(monkeypatch):
    monkeypatch.setattr(doctor, "_version", lambda name: "4.52.0" if name == "transformers" else None)
    check = doctor.check_transformers()
    assert check.status == ERROR and "pip install transformers==4.51.3" in str(check.advice)


def test_unreachable_hub_is_a_quick_warning(monkeypatch):
    with socket.socket() as probe:  # a port nothing listens on: bound, never listening
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
        check = doctor.check_hub("127.0.0.1", port, timeout=2.0)
    assert check.status == WARNING and check.advice and check.detail.key == "doctor.hub.unreachable"
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        assert doctor.check_hub("127.0.0.1", server.getsockname()[1]).status == OK

    # Quick whatever the network does: a connect that never returns still ends in a warning.
    release, timeouts = threading.Event(), []

    def hanging_connect(address, timeout=None, *args, **kwargs):
        timeouts.append(timeout)
        release.wait()  # the hub never answers, until the test is over
        raise OSError("released by the test")

    monkeypatch.setattr(doctor.socket, "create_connection", hanging_connect)
    try:
        check = doctor.check_hub("hub.example", 443, timeout=0.2)
    finally:
        release.set()
    assert check.status == WARNING and check.advice and check.detail.key == "doctor.hub.timed_out"
    wait_until(lambda: timeouts, what="the probe's connect to be called")
    assert timeouts == [0.2]  # and the connect itself is bounded too


def test_low_disk_is_reported(monkeypatch, tmp_path):
    monkeypatch.setattr(doctor.shutil, "disk_usage", lambda path: type("U", (), {"free": 0.5e9})())
    assert doctor.check_disk(tmp_path / "not" / "created" / "yet").status == ERROR


def test_every_line_has_words_in_both_languages(monkeypatch, tmp_path):
    """The page shows the report in the visitor's language; the CLI prints the same lines in English."""
    monkeypatch.setattr(doctor.shutil, "disk_usage", lambda path: type("U", (), {"free": 5e9})())
    disk = doctor.check_disk(tmp_path)
    assert disk.status == WARNING and isinstance(disk.detail, Text) and isinstance(disk.advice, Text)
    assert str(disk.detail) == f"5.0 GB free for {tmp_path}"
    assert disk.detail.render("zh") == f"{tmp_path} 所在磁盘剩余 5.0 GB"
    assert disk.advice.render("zh") == "只够存放小模型（8B 约 16 GB）：请把 HF_HOME 设到别的磁盘"
    for check in run_checks():
        for words in (check.detail, check.advice):
            if isinstance(words, Text):
                assert words.render("zh") and words.render("en") == str(words)
    assert "GB free for" in format_report([disk])  # the CLI: English


def test_cli_doctor_prints_the_report_and_its_exit_code():
    result = run_cli("doctor")
    lines = result.stdout.splitlines()
    # The hub probe is bounded (test above): the report has its line, whether the hub answered or not.
    assert any(line.split(":")[0].split()[-1] == "hub" for line in lines), result.stdout
    assert any(line.startswith("[ok]      Python: " + ".".join(map(str, sys.version_info[:3]))) for line in lines)
    assert any(line.startswith(f"[ok]      torch: {torch.__version__}") for line in lines)
    assert any(f"transformers: {transformers.__version__}" in line for line in lines)
    has_error = any(line.startswith("[error]") for line in lines)
    assert result.returncode == (1 if has_error else 0), result.stdout + result.stderr
