"""Exports that reproduce a conversation outside the app, for a bug report to a model's authors.

- `replay_script`: a zip with `replay.py`, the conversation's images and videos, and a README.
  The script loads the checkpoint with its own code, prepares the media with the InternVL2
  quick start's reference preprocessing, and calls `model.chat` once per answered turn with
  the inputs the app used: the question text and history exactly as `Conversation.build_prompt`
  made them (`Image-k:` / `Frame{i}:` labels included), the same tile budgets, generation
  config and system message. It prints each answer and whether it equals the recorded one.
- `openai_request`: the last question with its whole history as the OpenAI-compatible request
  the app's server engine sends (`OpenAICompatEngine.request_body`, so the body is the same),
  as a shell command (curl) and as a Python script (requests), the media as data URLs.

The generated code is filled into templates in `templates/`, which are ordinary Python
files (linted with the project): only their "recorded" regions are replaced.

>>> bundle = replay_script(conversation, LoadSpec("OpenGVLab/InternVL2-1B"), GenerationSettings())  # doctest: +SKIP
>>> Path("replay.zip").write_bytes(bundle.data)  # doctest: +SKIP
"""

from __future__ import annotations

import hashlib
import io
import json
import platform
import pprint
import re
import shlex
import time
import zipfile
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from i18n import ExplainedError
from model_backend.conversation import Conversation, ImageAttachment, PromptPlan, Turn, edited
from model_backend.engines.openai_messages import FLAVOURS, Flavour
from model_backend.settings import GenerationSettings, LoadSpec, ServerSpec, resolve_dtype

TEMPLATES = Path(__file__).parent / "templates"
RECORDING = ("# ---- recorded by InternVL Studio ----", "# ---- end of recording ----")
IMAGES = ("# ---- the images, as data URLs ----", "# ---- end of the images ----")
#: Where each kind of server listens by default (LMDeploy api_server: 23333; vLLM and transformers serve: 8000).
DEFAULT_BASE_URLS: dict[str, str] = {
    "lmdeploy": "http://127.0.0.1:23333",
    "vllm": "http://127.0.0.1:8000",
    "transformers": "http://127.0.0.1:8000",
    "openai": "https://api.openai.com",
}
SERVER_NAMES: dict[str, str] = {
    "lmdeploy": "LMDeploy api_server",
    "vllm": "vLLM serve",
    "transformers": "transformers serve",
    "openai": "OpenAI API",
}
_OPEN_RANGE = 100000  # the quick start's `get_index` stand-in for an open end of the time range (seconds)
_WIDTH = 100  # generated data is wrapped to this width (the project's line length is 120)


class ExportError(ExplainedError, ValueError):
    """Nothing to export yet; `text` says so (the pages disable the buttons before it comes to that)."""


@dataclass(frozen=True)
class ReplayBundle:
    """The zip (`data`), the text of its `replay.py`, and the names of the files in it."""

    data: bytes
    script: str
    names: tuple[str, ...]


@dataclass(frozen=True)
class OpenAIRequest:
    """One chat-completions request: where it goes, its JSON body, and the two ways to send it."""

    url: str
    body: dict
    curl: str
    python: str


# -- the replay script ---------------------------------------------------------------------------


def replay_script(conversation: Conversation, load_spec: LoadSpec, settings: GenerationSettings) -> ReplayBundle:
    """A zip that replays every answered turn (and a last one that failed) with `model.chat`.

    Raises `ExportError` when there is no such turn (see `replayable`).
    """
    turns = _replayed(conversation, settings)
    if not turns:
        raise ExportError("export.replay.nothing")
    plans = [plan for _, plan in turns]
    media, budgets = plans[-1].media, plans[-1].max_tiles_per_image
    for plan in plans:  # every turn sees the media of the turns before it, in the same order
        if any(a is not b for a, b in zip(plan.media, media, strict=False)):
            raise RuntimeError("a turn's prompt does not start with the media of the turns before it")
    files = _media_files(media)
    records = [_media_record(item, budget, name) for item, budget, name in zip(media, budgets, files, strict=True)]
    turn_records = [
        {
            "question": plan.question,
            "history": [list(pair) for pair in plan.history],
            "media": list(range(len(plan.media))),
            "app_answer": turn.answer,
            "app_answer_cut_short": turn.stopped or turn.interrupted,
            "app_error": None if turn.error is None else str(turn.error),  # a message of the table: English
        }
        for turn, plan in turns
    ]
    checkpoint = checkpoint_reference(load_spec)
    recording = "\n".join(
        [
            f"CHECKPOINT = {checkpoint!r}",
            f"DTYPE = {resolve_dtype(load_spec.dtype, load_spec.device)!r}",  # what "auto" loaded
            f"DEVICE = {'cpu' if load_spec.device == 'cpu' else 'auto'!r}",
            f"QUANTIZATION = {load_spec.quantization!r}",
            f"FLASH_ATTENTION = {load_spec.flash_attention!r}",
            _assignment("SYSTEM_MESSAGE", settings.system_message(), "  # None: the checkpoint's own system message"),
            _assignment("GENERATION_CONFIG", settings.generation_config()),
            "# The images and videos, in the order of the prompt's <image> placeholders (a video: one per frame).",
            _list_assignment("MEDIA", records),
            "# One model.chat call per turn: the history as the app sent it, the question, the media it sees.",
            _list_assignment("TURNS", turn_records),
        ]
    )
    script = _fill((TEMPLATES / "replay.py").read_text(encoding="utf-8"), RECORDING, recording)
    readme = _readme(checkpoint, load_spec, settings, turn_records, media, files)
    entries = {"replay.py": script.encode("utf-8"), "README.txt": readme.encode("utf-8")}
    entries.update({name: item.data for item, name in zip(media, files, strict=True)})
    return ReplayBundle(_zip(entries), script, tuple(entries))


def replayable(conversation: Conversation) -> bool:
    """Whether `replay_script` has a turn to replay (an answer, or a last question that failed)."""
    turns = conversation.turns
    return any(turn.answered for turn in turns) or bool(turns and turns[-1].error is not None)


def _replayed(conversation: Conversation, settings: GenerationSettings) -> list[tuple[Turn, PromptPlan]]:
    """(turn, the prompt the app built for it) for each answered turn, and for a last turn that failed."""
    chosen = []
    for index, turn in enumerate(conversation.turns):
        failed_last = index == len(conversation.turns) - 1 and not turn.answered and turn.error is not None
        if turn.answered or failed_last:
            asked = Conversation([*conversation.turns[:index], edited(turn, turn.question)])
            chosen.append((turn, asked.build_prompt(settings.max_tiles)))
    return chosen


def checkpoint_reference(load_spec: LoadSpec) -> str:
    """What `from_pretrained` is given: the demo's or a local folder's path, a catalog name's hub id."""
    from model_backend.checkpoints.catalog import find_entry
    from model_backend.checkpoints.loading import DEMO_FAMILY_IDS
    from model_backend.demo_checkpoint import DEMO_CHECKPOINT_ID, demo_checkpoint_path

    name = load_spec.checkpoint.strip()
    if name.lower() == DEMO_CHECKPOINT_ID:
        return str(demo_checkpoint_path())
    if name.lower() in DEMO_FAMILY_IDS:
        return str(demo_checkpoint_path(DEMO_FAMILY_IDS[name.lower()]))
    folder = Path(name).expanduser()
    if folder.is_dir():
        return str(folder.resolve())
    entry = find_entry(name)
    return entry.hub_id if entry is not None else name


def _media_files(media: tuple) -> list[str]:
    """A file name in the zip for each image or video; the same bytes twice share one file."""
    by_digest: dict[str, str] = {}
    names = []
    for item in media:
        digest = hashlib.sha256(item.data).hexdigest()
        if digest not in by_digest:
            by_digest[digest] = f"media/{len(by_digest) + 1}-{_safe_name(item)}"
        names.append(by_digest[digest])
    return names


def _safe_name(item) -> str:
    kind = "image" if isinstance(item, ImageAttachment) else "video"
    name = re.sub(r"[^\w.-]+", "_", Path(item.name).name).strip("._") or kind
    if not Path(name).suffix:
        data = item.data
        suffix = ".jpg" if data.startswith(b"\xff\xd8\xff") else ".png" if data.startswith(b"\x89PNG") else ""
        name += suffix
    return name


def _media_record(item, budget: int, name: str) -> dict:
    if isinstance(item, ImageAttachment):
        return {"file": name, "kind": "image", "max_num": budget}
    bound = None
    if item.start_s is not None or item.end_s is not None:  # the app reads a missing end as the video's edge
        start = -_OPEN_RANGE if item.start_s is None else item.start_s
        bound = [start, _OPEN_RANGE if item.end_s is None else item.end_s]
    return {"file": name, "kind": "video", "frames": item.num_frames, "bound": bound, "max_num": budget}


def _readme(checkpoint: str, spec: LoadSpec, settings: GenerationSettings, turns: list, media, files) -> str:
    system = settings.system_message()
    packages = "torch torchvision 'transformers==4.51.3' pillow" + (" decord" if _has_video(media) else "")
    demo = "  (the app's offline demo checkpoint: a folder on the app's machine)" if "demo" in checkpoint else ""
    flash = "on" if spec.flash_attention else "off"
    own = "the checkpoint's own"
    listed = ", ".join(f"{name} ({item.name})" for name, item in zip(files, media, strict=True)) or "none"
    software = ", ".join(f"{package} {_version(package)}" for package in ("torch", "torchvision", "transformers"))
    lines = [
        "Replay of an InternVL Studio conversation",
        "=========================================",
        "",
        "replay.py asks the checkpoint's own model.chat every question of this conversation again,",
        "with the inputs the app used, and says whether each answer equals the one the app recorded.",
        "",
        "Run it (in this folder):",
        f"    pip install {packages}",
        "    python replay.py                  # --checkpoint FOLDER_OR_HUB_ID to use another copy",
        "    python replay.py --json           # one JSON line per turn",
        "",
        "What the app used:",
        f"    checkpoint:     {checkpoint}{demo}",
        f"    loading:        {spec.describe()}, device {spec.device}, flash-attention {flash}",
        f"    max tiles:      {settings.max_tiles} per question, shared between its images",
        f"    generation:     {json.dumps(settings.generation_config())}",
        f"    system prompt:  {own if system is None else json.dumps(system, ensure_ascii=False)}",
        f"    turns replayed: {len(turns)}",
        f"    media:          {listed}",
        f"    software:       Python {platform.python_version()}, {software}",
        "",
        "Notes:",
        "- Greedy answers (do_sample false) repeat on the same hardware, precision and library versions;",
        "  on another GPU or precision a few tokens may differ. Sampled answers differ from run to run.",
        "- The history sent with each question holds the answers the app recorded, as the app sent them.",
        "- The app applies documented shims for known quirks of some checkpoints' code under newer",
        "  transformers; this script runs the checkpoint's code as it is.",
    ]
    return "\n".join(lines) + "\n"


def _has_video(media) -> bool:
    return any(not isinstance(item, ImageAttachment) for item in media)


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "not installed"


# -- the OpenAI-compatible request ---------------------------------------------------------------


def openai_request(
    conversation: Conversation,
    server_model_name: str,
    settings: GenerationSettings,
    *,
    flavour: Flavour = "lmdeploy",
    base_url: str | None = None,
    api_key_env: str | None = None,
) -> OpenAIRequest:
    """The request for the last question with its whole history, as the app's server engine sends it.

    `flavour` is the kind of server (see `openai_messages`); `api_key_env` names the environment
    variable the commands read the API key from (the key itself is never written into them).
    """
    from model_backend.engines.openai_compat import OpenAICompatEngine, _api_root

    if flavour not in FLAVOURS:
        raise ValueError(f"flavour must be one of {', '.join(FLAVOURS)}, got {flavour!r}")
    if api_key_env is not None and not re.fullmatch(r"[A-Za-z_]\w*", api_key_env):
        raise ValueError(f"not an environment variable name: {api_key_env!r}")
    if not conversation.turns:
        raise ExportError("export.request.nothing")
    last = conversation.turns[-1]
    asked = Conversation([*conversation.turns[:-1], edited(last, last.question)])
    base = base_url or DEFAULT_BASE_URLS[flavour]
    body = OpenAICompatEngine(ServerSpec(base, server_model_name), flavour=flavour).request_body(asked, settings)
    url = f"{_api_root(base)}/v1/chat/completions"
    complete = last.answered and not (last.stopped or last.interrupted)
    return OpenAIRequest(
        url=url,
        body=body,
        curl=_curl(url, body, flavour, api_key_env),
        python=_python(url, body, api_key_env, last.answer if complete else None),
    )


def _curl(url: str, body: dict, flavour: str, api_key_env: str | None) -> str:
    lines = [
        f"# The last question of an InternVL Studio conversation, with its history, for {SERVER_NAMES[flavour]}.",
        "# printf is built into the shell, so the body (images inline as data URLs) may be of any size.",
    ]
    command = ["curl", "-sS", "-N", url, "-H", "Content-Type: application/json"]
    auth = ""
    if api_key_env:
        lines.append(f"# Set {api_key_env} to the server's API key first.")
        auth = f' -H "Authorization: Bearer ${api_key_env}"'  # double quotes: the shell fills the key in
    payload = shlex.quote(json.dumps(body, indent=2, ensure_ascii=False))
    lines.append(f"printf '%s' {payload} | {shlex.join(command)}{auth} --data-binary @-")
    return "\n".join(lines) + "\n"


class _Reference:
    """Stands for a data URL in the generated body: `pprint` writes its repr, `DATA_URLS[i]`."""

    def __init__(self, index: int) -> None:
        self.index = index

    def __repr__(self) -> str:
        return f"DATA_URLS[{self.index}]"


def _python(url: str, body: dict, api_key_env: str | None, app_answer: str | None) -> str:
    urls: list[str] = []

    def refer(value: object) -> object:
        if isinstance(value, dict):
            return {key: refer(item) for key, item in value.items()}
        if isinstance(value, list):
            return [refer(item) for item in value]
        if isinstance(value, str) and value.startswith("data:"):
            if value not in urls:
                urls.append(value)
            return _Reference(urls.index(value))
        return value

    literal = pprint.pformat(refer(body), width=_WIDTH - 11, sort_dicts=False).replace("\n", "\n" + " " * 11)
    recording = "\n".join(
        [
            f"URL = {url!r}",
            f"API_KEY_ENV = {api_key_env!r}  # the environment variable that holds the server's API key",
            "# The answer the app recorded (None: it has none, or it was cut short).",
            _assignment("APP_ANSWER", app_answer),
            "",
            "",
            "def request_body() -> dict:",
            '    """The request, as the app sends it; the images are in DATA_URLS at the end of this file."""',
            f"    return {literal}",
            "",
            "",
        ]
    )
    chunks = [_data_url_literal(value) for value in urls]
    images = "DATA_URLS: list[str] = [\n" + "".join(chunks) + "]" if urls else "DATA_URLS: list[str] = []"
    template = (TEMPLATES / "openai_request.py").read_text(encoding="utf-8")
    return _fill(_fill(template, RECORDING, recording), IMAGES, images)


def _data_url_literal(url: str) -> str:
    head, _, data = url.partition(",")
    step = _WIDTH - 12
    parts = [f"        {head + ','!r}\n"] + [f"        {data[i : i + step]!r}\n" for i in range(0, len(data), step)]
    return "    (\n" + "".join(parts) + "    ),\n"


# -- helpers ---------------------------------------------------------------------------------------


def _assignment(name: str, value: object, comment: str = "") -> str:
    text = pprint.pformat(value, width=_WIDTH - len(name) - 3, sort_dicts=False)
    return f"{name} = " + text.replace("\n", "\n" + " " * (len(name) + 3)) + comment


def _list_assignment(name: str, items: list[dict]) -> str:
    """`NAME: list[dict] = [...]` with one block per item, so each turn reads on its own."""
    if not items:
        return f"{name}: list[dict] = []"
    blocks = ["    " + pprint.pformat(item, width=_WIDTH - 4, sort_dicts=False).replace("\n", "\n    ") + ",\n"
              for item in items]  # fmt: skip
    return f"{name}: list[dict] = [\n" + "".join(blocks) + "]"


def _fill(template: str, markers: tuple[str, str], text: str) -> str:
    """The template with the lines between the two marker lines replaced by `text`."""
    start, end = template.index(markers[0] + "\n"), template.index(markers[1])
    return template[: start + len(markers[0]) + 1] + text + "\n" + template[end:]


def _zip(entries: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    stamp = time.localtime()[:6]
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in entries.items():
            info = zipfile.ZipInfo(name, date_time=stamp)
            # Text is compressed; images and videos already are.
            info.compress_type = zipfile.ZIP_DEFLATED if not name.startswith("media/") else zipfile.ZIP_STORED
            info.external_attr = (0o755 if name.endswith(".py") else 0o644) << 16
            archive.writestr(info, data)
    return buffer.getvalue()
