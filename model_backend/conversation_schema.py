"""The schema of a conversation export, checked before an imported file is used or stored.

An export comes from a file anybody could have written, so it is validated whole before a single turn is
built from it: known keys only (a misspelt or extra key is a damaged file, not something to ignore), text
and counts within bounds, error messages nested at most a few levels, numbers where numbers belong. What
passes can be stored and opened again without surprises; what does not becomes one plain message.

>>> ExportDocument.model_validate({"format": EXPORT_FORMAT, "version": 1, "turns": []}).turns
[]
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

EXPORT_FORMAT = "internvl-studio/conversation"
EXPORT_VERSION = 1
MAX_IMPORT_BYTES = 300_000_000  # an export inlines its media: a few long videos
MAX_TURNS = 2_000
MAX_TEXT = 2_000_000  # characters of one question, answer or detail
MAX_NAME = 1_000
MAX_IMAGES = 64
MAX_MESSAGE_DEPTH = 4  # a reason inside a message inside a message...

Text = Annotated[str, Field(max_length=MAX_TEXT)]
Name = Annotated[str, Field(max_length=MAX_NAME)]


class _Record(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class MediaRecord(_Record):
    name: Name
    data: str  # base64; decoding checks it


class VideoRecord(MediaRecord):
    num_frames: int = Field(ge=1, le=1_000)
    start_s: float | None = None
    end_s: float | None = None
    tiles_per_frame: int = Field(default=1, ge=1, le=40)


class MessageRecord(_Record):
    key: Name
    params: dict[Name, str | int | float | MessageRecord] = Field(default_factory=dict, max_length=32)
    en: Text | None = None

    @field_validator("params")
    @classmethod
    def _shallow(cls, params: dict) -> dict:
        if _depth(params) > MAX_MESSAGE_DEPTH:
            raise ValueError(f"messages nested more than {MAX_MESSAGE_DEPTH} deep")
        return params


class StatsRecord(_Record):
    time_to_first_token_s: float | None = None
    tokens_per_s: float | None = None
    prompt_tokens: int | None = None
    visual_tokens: int | None = None
    new_tokens: int = 0
    tiles: list[int] = Field(default_factory=list, max_length=MAX_IMAGES * 41)
    peak_gpu_memory_gb: float | None = None
    stages: dict[Name, float] | None = Field(default=None, max_length=64)
    thinking_tokens: int = 0
    counted_from_stream: bool = False


class TurnRecord(_Record):
    question: Text
    answer: Text | None = None
    stopped: bool = False
    error: Text | MessageRecord | None = None
    error_detail: Text | None = None
    stats: StatsRecord | None = None
    interrupted: bool = False
    images: list[MediaRecord] = Field(default_factory=list, max_length=MAX_IMAGES)
    video: VideoRecord | None = None


class ExportDocument(_Record):
    format: Literal["internvl-studio/conversation"]
    version: Literal[1]
    turns: list[TurnRecord] = Field(max_length=MAX_TURNS)


def _depth(params: dict) -> int:
    inner = [value.params for value in params.values() if isinstance(value, MessageRecord)]
    return 1 + max((_depth(nested) for nested in inner), default=0)
