"""Running `python -m model_backend` from a test: as a real subprocess, or in this process.

Most CLI tests pin what the commands print and return, which is the same code either way; in this
process they skip the 8-10 s a fresh interpreter spends importing torch, transformers and timm. The
tests that pin what only a real process shows (streaming to a pipe, the exit status the shell sees,
`python -m` finding the package) use `run_cli_process`.
"""

from __future__ import annotations

import contextlib
import io
import os
import subprocess
import sys
from pathlib import Path

from model_backend.cli import main as cli

ROOT = Path(__file__).resolve().parents[1]


def run_cli(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    """`main(args)` here, with stdin, stdout and stderr swapped for strings; argparse's exits become codes."""
    out, err = io.StringIO(), io.StringIO()
    saved_stdin, debug = sys.stdin, os.environ.pop("INTERNVL_STUDIO_DEBUG", None)  # errors as users see them
    sys.stdin = io.StringIO(stdin)
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                code = cli.main(list(args))
            except SystemExit as exit_:  # argparse's usage errors
                code = exit_.code if isinstance(exit_.code, int) else 1
    finally:
        sys.stdin = saved_stdin
        if debug is not None:
            os.environ["INTERNVL_STUDIO_DEBUG"] = debug
    return subprocess.CompletedProcess(["model_backend", *args], code, out.getvalue(), err.getvalue())


def run_cli_process(*args: str, stdin: str | None = None, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """A fresh `python -m model_backend ARGS` process, as a user's shell starts it."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("INTERNVL_STUDIO_DEBUG", None)
    command = [sys.executable, "-m", "model_backend", *args]
    return subprocess.run(command, cwd=ROOT, env=env, input=stdin, capture_output=True, text=True, timeout=timeout)
