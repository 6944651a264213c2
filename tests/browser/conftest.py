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
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.waiting import poll

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

    def healthy_or_exited() -> bool:
        if process.poll() is not None:
            return True  # it will not start: fail at once, with its log
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                return response.status == 200
        except OSError:
            return False

    if not poll(healthy_or_exited, START_TIMEOUT_S, interval_s=0.5) or process.poll() is not None:
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


# Run in every page before the app's own code: notes, from the app's websocket, each script run the page
# asks for (BackMsg.rerun_script, field 11), each run the server starts (ForwardMsg.new_session, field 4)
# and ends (ForwardMsg.script_finished, field 6; 2 = FINISHED_EARLY_FOR_RERUN, cut short for the next
# run). `pending` is true from a request until a run started after it has ended: `helpers.wait_idle`.
RUN_WATCH = """
(() => {
  const runs = { requested: 0, pending: false, started: false };
  window.__streamlitRuns = runs;
  const fields = (data) => {  // a protobuf message's top-level fields: [number, value of a varint or null]
    const bytes = data instanceof ArrayBuffer ? new Uint8Array(data)
      : ArrayBuffer.isView(data) ? new Uint8Array(data.buffer, data.byteOffset, data.byteLength) : null;
    const found = [];
    let at = 0;
    const varint = () => {
      let value = 0, scale = 1, byte;
      do { byte = bytes[at++]; value += (byte & 0x7f) * scale; scale *= 128; } while (byte & 0x80);
      return value;
    };
    while (bytes !== null && at < bytes.length) {
      const tag = varint(), number = Math.floor(tag / 8), wire = tag % 8;
      let value = null;
      if (wire === 0) value = varint();
      else if (wire === 1) at += 8;
      else if (wire === 5) at += 4;
      else if (wire === 2) { const length = varint(); at += length; }
      else break;  // groups: not in Streamlit's messages
      found.push([number, value]);
    }
    return found;
  };
  const Native = window.WebSocket;
  window.WebSocket = class extends Native {
    constructor(...args) {
      super(...args);
      this.addEventListener("message", (event) => {  // added before the app's own listener: runs first
        for (const [number, value] of fields(event.data)) {
          if (number === 4 && runs.pending) runs.started = true;
          if (number === 6 && value !== 2 && runs.started) runs.pending = false;
        }
      });
    }
    send(data) {
      if (fields(data).some(([number]) => number === 11)) {
        runs.requested += 1;
        runs.pending = true;
        runs.started = false;
      }
      return super.send(data);
    }
  };
})();
"""


class WatchedBrowser:
    """The browser, whose every new context runs RUN_WATCH in its pages (what `wait_idle` reads)."""

    def __init__(self, chromium) -> None:
        self._chromium = chromium

    def new_context(self, **options):
        context = self._chromium.new_context(**options)
        context.add_init_script(RUN_WATCH)
        return context

    def __getattr__(self, name: str):
        return getattr(self._chromium, name)


@pytest.fixture(scope="module")
def browser() -> Iterator[WatchedBrowser]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=shutil.which("chromium"), args=CHROMIUM_ARGS)
        yield WatchedBrowser(chromium)
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


SETTLED = """() => Array.from(document.images).every((image) => image.complete)
  && document.getAnimations().every((animation) => animation.playState !== "running"
    || animation.effect.getComputedTiming().iterations === Infinity)"""


def screenshot(page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    # Settled: the fonts loaded, every image loaded (or failed), no transition half-way (spinners go on).
    page.evaluate("() => document.fonts.ready.then(() => true)")
    page.wait_for_function(SETTLED)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)
