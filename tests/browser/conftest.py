"""One `streamlit run app.py` per test module (demo checkpoint, private cache) and Debian's Chromium.

The app runs exactly as a user starts it; the tests drive it through the page like a person
would, and save screenshots to docs/screenshots/ for the README.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "docs" / "screenshots"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# The 2-core test machines are slow to start Streamlit, import torch and load the demo.
START_TIMEOUT_S = 120
SHARED_CACHE = ROOT / ".cache" / "browser-tests"
LOAD_TIMEOUT_MS = 180_000

pytestmark = pytest.mark.browser


class Server:
    def __init__(self, url: str, process: subprocess.Popen, log: Path) -> None:
        self.url, self.process, self.log = url, process, log

    def log_text(self) -> str:
        return self.log.read_text(errors="replace")

    def cpu_seconds(self) -> float:
        """User+system CPU time of the server process so far (to see whether generation has stopped)."""
        fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def launch_app(folder: Path, extra_env: dict[str, str] | None = None) -> Server:
    """`streamlit run app.py` on a free 127.0.0.1 port, with its data and caches under `folder`."""
    folder.mkdir(parents=True, exist_ok=True)
    port = _free_port()
    env = {
        **os.environ,
        "INTERNVL_MODEL": "demo",
        "INTERNVL_STUDIO_CACHE": str(SHARED_CACHE),  # the demo checkpoint is built once for every app
        "INTERNVL_DATA_DIR": str(folder / "data"),
        **(extra_env or {}),
    }
    log = folder / f"streamlit-{port}.log"
    streamlit = str(Path(sys.executable).with_name("streamlit"))
    command = [streamlit, "run", "app.py", "--server.address", "127.0.0.1", "--server.port", str(port)]
    command += ["--server.headless", "true", "--server.fileWatcherType", "none"]
    with log.open("wb") as sink:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=sink, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                if response.status == 200:
                    break
        except OSError:
            time.sleep(0.5)
    else:
        process.kill()
        pytest.fail(f"streamlit did not start:\n{log.read_text()}")
    return Server(url, process, log)


def stop_app(server: Server) -> None:
    server.process.terminate()
    try:
        server.process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        server.process.kill()
        server.process.wait(timeout=20)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    if shutil.which("chromium") is None:
        pytest.skip("Debian's chromium is not installed")
    running = launch_app(tmp_path_factory.mktemp("server"))
    yield running
    stop_app(running)


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=shutil.which("chromium"), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser, server: Server, request: pytest.FixtureRequest, tmp_path_factory) -> Iterator[object]:
    context = browser.new_context(viewport={"width": 1400, "height": 1200})
    tab = context.new_page()
    tab.set_default_timeout(60_000)
    tab.goto(server.url)
    wait_loaded(tab)
    yield tab
    # The last view of every test, to look at when one fails.
    tab.screenshot(path=str(tmp_path_factory.getbasetemp() / f"last-{request.node.name}.png"))
    context.close()


def wait_loaded(page) -> None:
    """Wait until the sidebar says the model is loaded."""
    page.get_by_test_id("stSidebar").get_by_text("Loaded", exact=True).first.wait_for(timeout=LOAD_TIMEOUT_MS)


def screenshot(page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.wait_for_timeout(500)  # let images and fonts settle
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)
