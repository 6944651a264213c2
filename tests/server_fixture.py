"""A real OpenAI-compatible server for the tests: `transformers serve` on 127.0.0.1.

It runs from the separate `.venv-server` (transformers 5.x) and serves a tiny random-weight native InternVL
checkpoint that `remote/make_hf_checkpoint.py` writes into a private Hugging Face cache (built once per cache
folder, reused across runs). One server (`openai_server`) is shared by the whole session, by the remote,
app and browser tests alike (tests/conftest.py exposes the fixtures); `start_server` is also used by tests
that need a server of their own to kill.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # plain `pytest` (not `python -m pytest`) leaves the repo root off sys.path
    sys.path.insert(0, str(ROOT))

from tests.waiting import poll  # noqa: E402  (needs the repo root on sys.path)

SERVER_PYTHON = ROOT / ".venv-server" / "bin" / "python"
SERVER_CLI = ROOT / ".venv-server" / "bin" / "transformers"
MAKE_CHECKPOINT = Path(__file__).parent / "remote" / "make_hf_checkpoint.py"
MODEL_ID = "local/tiny-internvl-hf"
#: The `transformers serve` release in requirements/server.txt: the remote tests pin its behaviour (it reports
#: usage only when a request asks for it, and streams a piece per token or two), so upgrading it is deliberate.
SERVER_VERSION = "5.25.0"
START_DEADLINE_S = 90.0  # measured ~9 s on 2 shared cores; the slack is for a loaded CI machine


@dataclass
class RunningServer:
    base_url: str
    model: str
    process: subprocess.Popen
    log_path: Path

    def stop(self) -> None:
        """Terminate the server's whole process group, then kill what is left."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)


def _require_server_venv() -> None:
    if not SERVER_CLI.exists():
        pytest.fail(
            f"{SERVER_CLI} is missing: the remote-backend tests need the server environment. Run `make test` "
            "(or `make .venv-server/.installed`) to create it.",
            pytrace=False,
        )


def server_version() -> str:
    """The transformers release installed in the server environment."""
    _require_server_venv()
    command = [str(SERVER_PYTHON), "-c", "import importlib.metadata as m; print(m.version('transformers'))"]
    return subprocess.run(command, check=True, capture_output=True, text=True, timeout=60).stdout.strip()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def build_checkpoint(hf_home: Path) -> None:
    _require_server_venv()
    command = [str(SERVER_PYTHON), str(MAKE_CHECKPOINT), str(hf_home)]
    subprocess.run(command, check=True, capture_output=True, timeout=300)


def start_server(hf_home: Path, log_dir: Path) -> RunningServer:
    """Start `transformers serve` pinned to the tiny model; returns once /v1/models answers."""
    _require_server_venv()
    port = free_port()
    log_path = log_dir / f"transformers-serve-{port}.log"
    env = dict(os.environ, HF_HOME=str(hf_home), HF_HUB_OFFLINE="1", TOKENIZERS_PARALLELISM="false")
    env.update(OMP_NUM_THREADS="1")  # two shared cores: one for the server, one for the tests
    command = [str(SERVER_CLI), "serve", MODEL_ID, "--host", "127.0.0.1", "--port", str(port)]
    command += ["--device", "cpu", "--dtype", "float32"]
    with log_path.open("wb") as log:
        # Own process group, so stopping it also ends any worker it forked.
        process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    server = RunningServer(f"http://127.0.0.1:{port}", MODEL_ID, process, log_path)

    def answers_or_exited() -> bool:
        if process.poll() is not None:
            return True  # it will not come up: fail at once, with its log
        try:
            return httpx.get(f"{server.base_url}/v1/models", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    if poll(answers_or_exited, START_DEADLINE_S, interval_s=0.3) and process.poll() is None:
        return server
    server.stop()
    tail = log_path.read_text(errors="replace")[-3000:]
    pytest.fail(f"transformers serve did not come up within {START_DEADLINE_S:g} s; log tail:\n{tail}", pytrace=False)


@pytest.fixture(scope="session")
def hf_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A private HF cache holding the tiny checkpoint (a `hub/` folder, or /v1/models fails)."""
    cache = Path(os.environ.get("INTERNVL_TEST_CACHE", ROOT / ".cache" / "tests")) / "hf-home"
    build_checkpoint(cache)
    return cache


@pytest.fixture(scope="session")
def openai_server(hf_home: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    running = start_server(hf_home, tmp_path_factory.mktemp("server-logs"))
    try:
        yield running
    finally:
        running.stop()
