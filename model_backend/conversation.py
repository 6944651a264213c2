"""A conversation: turns that carry their own images or video, and the prompt built from them.

Media is kept as raw bytes (what Streamlit's session state and a JSON export can hold), never
as PIL images or tensors. `build_prompt` turns the conversation into what the InternVL `chat`
contract expects: the history as (question, answer) pairs with `<image>` placeholders, the
current question, and the media in placeholder order. The k-th `<image>` of the whole prompt
is the k-th image; a video contributes one placeholder per sampled frame.

A turn whose answer failed keeps the failure as `error`: a `Text` of the `i18n` table (so it is
shown in the visitor's language, also after a restart) or, in records from before the table, a
plain string; `error_detail` holds the technical part. Records store a `Text` as
`{"key": ..., "params": ...}` (see `message_record`).
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace

from pydantic import ValidationError

from i18n import DEFAULT_LANGUAGE, Text, text
from model_backend.conversation_schema import EXPORT_FORMAT, EXPORT_VERSION, MAX_IMPORT_BYTES, ExportDocument
from model_backend.errors import BackendError
from model_backend.settings import MAX_TILES_LIMIT, MAX_VIDEO_FRAMES
from model_backend.text.thinking import split as split_thinking

IMAGE_PLACEHOLDER = "<image>"


class ConversationError(BackendError, ValueError):
    """A conversation cannot be built or imported; `text` says why, `detail` holds a parser's words."""


@dataclass(frozen=True)
class ImageAttachment:
    data: bytes
    name: str = "image"


@dataclass(frozen=True)
class VideoAttachment:
    """A video and how to sample it: `num_frames` segment midpoints inside [start_s, end_s]."""

    data: bytes
    name: str = "video"
    num_frames: int = 8
    start_s: float | None = None
    end_s: float | None = None
    tiles_per_frame: int = 1

    def __post_init__(self) -> None:
        if not 1 <= self.num_frames <= MAX_VIDEO_FRAMES:
            raise ConversationError("conversation.frames", max_frames=MAX_VIDEO_FRAMES, count=self.num_frames)
        if not 1 <= self.tiles_per_frame <= MAX_TILES_LIMIT:
            raise ConversationError(
                "conversation.tiles_per_frame", max_tiles=MAX_TILES_LIMIT, count=self.tiles_per_frame
            )
        if self.start_s is not None and self.end_s is not None and self.end_s <= self.start_s:
            raise ConversationError("conversation.time_range", start=f"{self.start_s:g}", end=f"{self.end_s:g}")


@dataclass
class AnswerStats:
    """What one answer cost. Filled in by an engine while it streams.

    `stages` (local engine; None from a server, and in exports made before it existed) says
    where the time went and what the caches saved: `preprocess_s`, `vision_encoder_s`,
    `prefill_s`, `decode_s` in seconds; `vision_cache_hits`/`vision_cache_misses` (media),
    `tiles_encoded`, `prefill_tokens` (computed) and `reused_tokens` (taken from a kept cache).
    `thinking_tokens` is how many of `new_tokens` were the `<think>…</think>` part (0 in older exports).
    `counted_from_stream` is set when a server sent no token counts (no `usage`): `new_tokens` is then
    the number of text pieces that arrived (a piece may hold more than one token, or a token none), and
    `prompt_tokens` stays None because only the server could count it.
    """

    time_to_first_token_s: float | None = None
    tokens_per_s: float | None = None
    prompt_tokens: int | None = None
    visual_tokens: int | None = None
    new_tokens: int = 0
    tiles: list[int] = field(default_factory=list)
    peak_gpu_memory_gb: float | None = None
    stages: dict[str, float] | None = None
    thinking_tokens: int = 0
    counted_from_stream: bool = False


@dataclass
class Turn:
    question: str
    images: tuple[ImageAttachment, ...] = ()
    video: VideoAttachment | None = None
    answer: str | None = None
    stopped: bool = False
    #: Why the answer failed: a `Text` (shown in the visitor's language), or words from an older record.
    error: Text | str | None = None
    stats: AnswerStats | None = None
    #: The server went away while this answer streamed; `answer` holds what was written by then.
    interrupted: bool = False
    #: The technical side of `error` (an exception's or a server's words), for the "Details" fold.
    error_detail: str | None = None

    def __post_init__(self) -> None:
        if self.images and self.video is not None:
            raise ConversationError("conversation.images_and_video")

    @property
    def answered(self) -> bool:
        return self.answer is not None

    @property
    def problem(self) -> BackendError | None:
        """`error` with its detail, as one error `components.language.error` shows (message, then Details)."""
        if self.error is None:
            return None
        return BackendError(self.error, detail=self.error_detail)


@dataclass(frozen=True)
class PromptPlan:
    """The prompt of the last turn, in the shape of InternVL's `model.chat` arguments.

    `media` lists every image and video in placeholder order (a video stands for all its
    frames); `max_tiles_per_image[i]` is the tile limit of `media[i]` (per frame for a video).
    """

    history: tuple[tuple[str, str], ...]
    question: str
    media: tuple[ImageAttachment | VideoAttachment, ...]
    max_tiles_per_image: tuple[int, ...]


def tiles_per_image(max_tiles: int, image_count: int) -> int:
    """Split one question's tile budget between its images (at least one tile each)."""
    return max(1, max_tiles // max(1, image_count))


@dataclass
class Conversation:
    turns: list[Turn] = field(default_factory=list)

    def ask(
        self,
        question: str,
        images: tuple[ImageAttachment, ...] = (),
        video: VideoAttachment | None = None,
    ) -> Turn:
        """Append an unanswered turn and return it."""
        if not question.strip():
            raise ConversationError("conversation.empty_question")
        if self.turns and not self.turns[-1].answered:
            self.turns.pop()  # an unanswered (failed) last turn is replaced, not stacked
        turn = Turn(question=question, images=tuple(images), video=video)
        self.turns.append(turn)
        return turn

    def pending(self) -> Turn:
        """The last turn, which must still be waiting for its answer."""
        if not self.turns or self.turns[-1].answered:
            raise ConversationError("conversation.nothing_pending")
        return self.turns[-1]

    def build_prompt(self, max_tiles: int) -> PromptPlan:
        """The prompt for the pending last turn. Unanswered earlier turns (errors) are left out."""
        current = self.pending()
        turns = [t for t in self.turns[:-1] if t.answered] + [current]
        image_total = sum(len(t.images) for t in turns)
        labelled = image_total > 1
        next_image_number = 1
        questions: list[str] = []
        media: list[ImageAttachment | VideoAttachment] = []
        budgets: list[int] = []
        for turn in turns:
            prefix = ""
            if turn.video is not None:
                prefix = "".join(f"Frame{i + 1}: {IMAGE_PLACEHOLDER}\n" for i in range(turn.video.num_frames))
                media.append(turn.video)
                budgets.append(turn.video.tiles_per_frame)
            for image in turn.images:
                label = f"Image-{next_image_number}: " if labelled else ""
                prefix += f"{label}{IMAGE_PLACEHOLDER}\n"
                next_image_number += 1
                media.append(image)
                budgets.append(tiles_per_image(max_tiles, len(turn.images)))
            questions.append(prefix + turn.question)
        history = tuple((q, t.answer or "") for q, t in zip(questions[:-1], turns[:-1], strict=True))
        return PromptPlan(history, questions[-1], tuple(media), tuple(budgets))

    def truncate_to(self, turn_count: int) -> None:
        """Drop every turn from `turn_count` on (for regenerate and edit-and-resend)."""
        del self.turns[turn_count:]

    # -- export / import -------------------------------------------------------------------

    def to_json(self) -> str:
        """JSON with the media inlined as base64; `from_json` restores it exactly.

        An answer keeps its `<think>…</think>` part verbatim (`model_backend.text.thinking.split` separates it).
        """
        turns = [turn_record(turn, _inline_media) for turn in self.turns]
        return json.dumps({"format": EXPORT_FORMAT, "version": EXPORT_VERSION, "turns": turns}, indent=1)

    @classmethod
    def from_json(cls, text: str | bytes) -> Conversation:
        """The conversation of an export; a file that is not one says which of the ways it is not.

        Not JSON at all, JSON of another program, an export of another format version, or an export
        that is cut short or changed (its JSON breaks off, or a turn lacks what every turn has).
        The parser's own words (a line and column) go to the error's `detail`.
        """
        if len(text) > MAX_IMPORT_BYTES:
            raise ConversationError("conversation.import_too_big", megabytes=MAX_IMPORT_BYTES // 1_000_000)
        try:
            document = json.loads(text)
        except RecursionError as error:  # nested thousands deep: no export looks like that
            raise ConversationError("conversation.import_damaged", detail="JSON nested too deeply") from error
        except (UnicodeDecodeError, json.JSONDecodeError) as error:
            # An export cut short still names its format near the start: that is a damaged export.
            head = text[:200] if isinstance(text, str) else text[:200].decode("utf-8", "replace")
            technical = f"{type(error).__name__}: {error}"
            if EXPORT_FORMAT in head:
                raise ConversationError("conversation.import_damaged", detail=technical) from error
            raise ConversationError("conversation.import_not_json", detail=technical) from error
        if not isinstance(document, dict) or document.get("format") != EXPORT_FORMAT:
            raise ConversationError("conversation.import_foreign", detail=_describe_json(document))
        if document.get("version") != EXPORT_VERSION:
            raise ConversationError("conversation.import_version", version=str(document.get("version")))
        try:
            checked = ExportDocument.model_validate(document)
        except ValidationError as error:
            problems = "; ".join(
                f"{'.'.join(map(str, problem['loc']))}: {problem['msg']}" for problem in error.errors()[:5]
            )
            raise ConversationError("conversation.import_damaged", detail=problems) from error
        except RecursionError as error:
            raise ConversationError("conversation.import_damaged", detail="JSON nested too deeply") from error
        try:
            turns = [turn_from_record(record.model_dump(), _inlined_data) for record in checked.turns]
        except (KeyError, TypeError, ValueError, AttributeError) as error:
            raise ConversationError("conversation.import_damaged", detail=f"{type(error).__name__}: {error}") from error
        return cls(turns)

    def to_markdown(self, language: str = DEFAULT_LANGUAGE) -> str:
        """The conversation as Markdown, its headings and an error's words in `language` (the CLI: English).

        Questions and answers stay as they were written; media keep their file names.
        """
        user, assistant = text(language, "export.md.user"), text(language, "export.md.assistant")
        endings = {
            "stopped": text(language, "export.md.stopped"),
            "interrupted": text(language, "export.md.interrupted"),
        }
        lines = ["# " + text(language, "export.md.title"), ""]
        for number, turn in enumerate(self.turns, start=1):
            media = [image.name for image in turn.images]
            if turn.video is not None:
                media.append(text(language, "export.md.video", name=turn.video.name, frames=turn.video.num_frames))
            lines.append("## " + text(language, "export.md.turn", number=number))
            if media:
                lines.append("*" + text(language, "export.md.attached", media=", ".join(media)) + "*")
            lines += ["", f"**{user}** {turn.question}", ""]
            if turn.answered:
                ending = "stopped" if turn.stopped else "interrupted" if turn.interrupted else None
                suffix = f" *{endings[ending]}*" if ending else ""
                parts = split_thinking(turn.answer or "")
                if parts.thinking or parts.still_thinking:  # collapsed, as the chat shows it
                    summary = text(language, "export.md.thinking")
                    lines += [f"<details><summary>{summary}</summary>", "", parts.thinking, "", "</details>", ""]
                lines += [f"**{assistant}** {parts.answer}{suffix}", ""]
            elif turn.error:
                error = turn.error.render(language) if isinstance(turn.error, Text) else turn.error
                lines += ["**" + text(language, "export.md.error") + f"** {error}", ""]
        return "\n".join(lines)


MediaEncoder = Callable[[bytes], dict]
MediaDecoder = Callable[[dict], bytes]


def turn_record(turn: Turn, encode: MediaEncoder) -> dict:
    """A JSON-ready dict of `turn`; `encode(data)` gives the fields that stand for each media file's bytes."""
    record = {name: value for name, value in vars(turn).items() if name not in ("images", "video", "stats")}
    record["error"] = message_record(turn.error)
    record["stats"] = asdict(turn.stats) if turn.stats is not None else None
    record["images"] = [{"name": image.name, **encode(image.data)} for image in turn.images]
    if turn.video is not None:
        fields = {name: value for name, value in vars(turn.video).items() if name != "data"}
        record["video"] = {**fields, **encode(turn.video.data)}
    else:
        record["video"] = None
    return record


def turn_from_record(record: dict, decode: MediaDecoder) -> Turn:
    """The inverse of `turn_record`; `decode(fields)` gives a media file's bytes back."""
    images = tuple(ImageAttachment(data=decode(image), name=str(image["name"])) for image in record.get("images", []))
    video = None
    if record.get("video"):
        fields = {k: v for k, v in record["video"].items() if k in VIDEO_FIELDS}
        video = VideoAttachment(data=decode(record["video"]), **fields)
    stats = AnswerStats(**record["stats"]) if record.get("stats") else None
    question = record["question"]
    if not isinstance(question, str):
        raise ValueError("a question is not text")
    answer = record.get("answer")
    detail = record.get("error_detail")
    return Turn(
        question=question,
        images=images,
        video=video,
        answer=None if answer is None else str(answer),
        stopped=bool(record.get("stopped", False)),
        error=message_from_record(record.get("error")),
        stats=stats,
        interrupted=bool(record.get("interrupted", False)),
        error_detail=None if detail is None else str(detail),
    )


def message_record(message: Text | str | None) -> dict | str | None:
    """A JSON-ready form of a turn's error: a `Text` as its key and values (with the English, in case
    a later version no longer has the key), words as they are.

    >>> message_record(Text("store.deleted"))["key"]
    'store.deleted'
    """
    if isinstance(message, Text):
        # Values are numbers, strings and Texts (a reason inside a message) by convention; anything
        # else is kept as its text, so a save never fails.
        params = {
            name: value
            if isinstance(value, (str, int, float))
            else message_record(value)
            if isinstance(value, Text)
            else str(value)
            for name, value in message.params.items()
        }
        return {"key": message.key, "params": params, "en": message.render(DEFAULT_LANGUAGE)}
    return message


def message_from_record(value: object) -> Text | str | None:
    """The inverse of `message_record`; plain strings (records from before the table) stay strings."""
    if value is None or isinstance(value, str):
        return value
    if (
        not isinstance(value, dict)
        or not isinstance(value.get("key"), str)
        or not isinstance(value.get("params", {}), dict)
    ):
        raise ValueError(f"an error message is neither text nor a table key: {value!r:.80}")
    params = {
        name: message_from_record(inner) if isinstance(inner, dict) else inner
        for name, inner in value.get("params", {}).items()
    }
    message = Text(value["key"], params)
    try:
        message.render(DEFAULT_LANGUAGE)  # the key exists and its values fill it
    except (KeyError, IndexError, ValueError):
        return str(value.get("en") or value["key"])  # a key of another version: its English words
    return message


def _describe_json(document: object) -> str:
    """What a JSON document that is not an export holds, in a developer's words (for the details)."""
    if isinstance(document, dict):
        keys = ", ".join(repr(key) for key in list(document)[:8])
        return f"a JSON object with the keys {keys or 'none'}; format: {document.get('format')!r}"
    return f"a JSON {type(document).__name__}, not an object"


VIDEO_FIELDS = ("name", "num_frames", "start_s", "end_s", "tiles_per_frame")


def _inline_media(data: bytes) -> dict:
    return {"data": base64.b64encode(data).decode("ascii")}


def _inlined_data(fields: dict) -> bytes:
    return base64.b64decode(fields["data"], validate=True)


def edited(turn: Turn, question: str) -> Turn:
    """A copy of `turn` with a new question and no answer (edit-and-resend)."""
    return replace(
        turn,
        question=question,
        answer=None,
        stopped=False,
        error=None,
        error_detail=None,
        stats=None,
        interrupted=False,
    )
