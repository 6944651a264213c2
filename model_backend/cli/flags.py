"""The command line's parser: its commands and their flags. The generation flags state the ranges
`GenerationSettings` checks (`settings.GENERATION_RANGES`); `main` does what they ask."""

from __future__ import annotations

import argparse
from pathlib import Path

from model_backend.conversation import VideoAttachment
from model_backend.settings import (
    DEVICE_PLACEMENTS,
    DTYPES,
    GENERATION_RANGES,
    QUANTIZATIONS,
    GenerationSettings,
    LoadSpec,
)


def build_parser(description: str) -> argparse.ArgumentParser:
    """`python -m model_backend` and its commands: ask, chat, batch, make-demo, doctor."""
    parser = argparse.ArgumentParser(prog="python -m model_backend", description=description)
    commands = parser.add_subparsers(dest="command", required=True)

    ask = commands.add_parser("ask", help="ask one question and stream the answer")
    ask.add_argument("question", metavar="QUESTION")
    _add_model_flags(ask)

    _add_media_flags(ask, "media")
    generation = _add_generation_flags(ask)
    generation.add_argument("--json", action="store_true", help="end with one JSON line: answer and stats")
    _add_server_flags(ask)

    chat = commands.add_parser("chat", help="a conversation: one question per line from stdin, answers streamed")
    _add_model_flags(chat)
    _add_media_flags(chat, "media (sent with the first question)")
    chat_generation = _add_generation_flags(chat)
    chat_generation.add_argument("--json", action="store_true", help="one JSON line per answer instead of its text")
    _add_server_flags(chat)

    batch = commands.add_parser("batch", help="answer every question of a JSONL/CSV dataset into a JSONL file")
    batch.add_argument("input", metavar="INPUT", type=Path, help="InternVL conversation JSONL, flat JSONL or CSV")
    batch.add_argument("--out", metavar="OUT.jsonl", type=Path, help="default: INPUT's name + .predictions.jsonl")
    batch.add_argument("--media-root", metavar="DIR", type=Path, help="media paths are relative to this folder")
    batch.add_argument("--resume", action="store_true", help="skip the rows already in OUT, append the rest")
    batch.add_argument("--overwrite", action="store_true", help="replace an existing OUT")
    batch.add_argument(
        "--batch-size", type=int, default=1, metavar="N", help="rows without history per generate call (local)"
    )
    _add_model_flags(batch)
    batch.add_argument(
        "--model-b", metavar="ID_OR_PATH", help="A/B run: a second checkpoint answers the same questions (joint lines)"
    )
    _add_video_flags(batch.add_argument_group("video rows"))
    _add_generation_flags(batch)
    _add_server_flags(batch)

    demo = commands.add_parser("make-demo", help="write the tiny random-weight demo checkpoint to a folder")
    demo.add_argument("directory", metavar="DIR", type=Path)
    demo.add_argument(
        "--family",
        default="qwen2",
        metavar="NAME",
        help="LLM family: qwen2 (the default demo), internlm2, phi3, qwen2_5 or qwen3 (see docs/families.md)",
    )

    commands.add_parser("doctor", help="check this machine's setup (exit code 1 when a check is an error)")
    return parser


def _add_model_flags(parser: argparse.ArgumentParser) -> None:
    model = parser.add_argument_group("model (in-process)")
    model.add_argument(
        "--model", metavar="ID_OR_PATH", help="catalog name, hub id, local folder, 'demo', 'demo-FAMILY' (demo-phi3)"
    )
    model.add_argument("--dtype", choices=DTYPES, default=LoadSpec.dtype)
    model.add_argument("--quantization", choices=QUANTIZATIONS, default=LoadSpec.quantization)
    model.add_argument("--device", choices=DEVICE_PLACEMENTS, default=LoadSpec.device)
    model.add_argument("--allow-remote-code", action="store_true", help="let an unknown checkpoint run its own code")


def _add_media_flags(parser: argparse.ArgumentParser, title: str) -> None:
    media = parser.add_argument_group(title)
    media.add_argument("--image", action="append", default=[], metavar="FILE", help="repeat for several images")
    media.add_argument("--video", metavar="FILE")
    _add_video_flags(media)


def _add_video_flags(media: argparse._ArgumentGroup) -> None:
    media.add_argument("--frames", type=int, default=VideoAttachment.num_frames, metavar="N")
    media.add_argument("--start", type=float, metavar="S", help="start of the video range, in seconds")
    media.add_argument("--end", type=float, metavar="E", help="end of the video range, in seconds")
    media.add_argument("--tiles-per-frame", type=int, default=VideoAttachment.tiles_per_frame, metavar="N")


#: The numeric generation flags: flag, metavar, type, the words before the range in the help, and
#: whether it has a default (temperature and top-p have none: giving one is what asks for sampling).
_NUMERIC_FLAGS = (
    ("--max-tiles", "N", int, "", True),
    ("--max-new-tokens", "N", int, "", True),
    ("--temperature", "T", float, "sample with this temperature, ", False),
    ("--top-p", "P", float, "sample with this nucleus, ", False),
    ("--repetition-penalty", "R", float, "", True),
)


def _add_generation_flags(parser: argparse.ArgumentParser) -> argparse._ArgumentGroup:
    generation = parser.add_argument_group("generation")
    defaults = GenerationSettings()
    generation.add_argument("--greedy", action="store_true", help="greedy decoding (the default)")
    for flag, metavar, kind, words, has_default in _NUMERIC_FLAGS:
        setting = flag.removeprefix("--").replace("-", "_")
        low, high = GENERATION_RANGES[setting]  # the range GenerationSettings checks
        words += f"{low:g} to {high:g}" + (" (default %(default)s)" if has_default else "")
        default = getattr(defaults, setting) if has_default else None
        generation.add_argument(flag, type=kind, default=default, metavar=metavar, help=words)
    generation.add_argument("--system", metavar="TEXT", help="system prompt instead of the checkpoint's own")
    generation.add_argument(
        "--thinking", action="store_true", help="thinking mode (InternVL3.5): the model card's thinking system prompt"
    )
    generation.add_argument(
        "--no-prefix-reuse",
        action="store_true",
        help="compute the whole prompt every turn, as model.chat does, instead of reusing the kept KV cache "
        "(bit-identical logits, slower follow-ups)",
    )
    return generation


def _add_server_flags(parser: argparse.ArgumentParser) -> None:
    server = parser.add_argument_group("OpenAI-compatible server (instead of --model)")
    server.add_argument("--server", metavar="URL", help="e.g. http://127.0.0.1:23333/v1")
    server.add_argument("--api-key", metavar="KEY")
    server.add_argument("--server-model", metavar="NAME", help="default: the first model the server lists")
