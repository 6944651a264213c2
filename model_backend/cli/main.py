"""Headless use: ask a checkpoint (or an OpenAI-compatible server) about images or a video.

    python -m model_backend ask --model demo --image photo.jpg "Describe the image."
    python -m model_backend ask --model OpenGVLab/InternVL2-1B --video clip.mp4 --frames 8 --json "What happens?"
    python -m model_backend ask --server http://127.0.0.1:23333/v1 "Hello"
    printf 'What is this?\nAnd the colours?\n' | python -m model_backend chat --model demo --image photo.jpg --json
    python -m model_backend batch --model demo data.jsonl --out predictions.jsonl --resume
    python -m model_backend make-demo ./demo-checkpoint
    python -m model_backend doctor

The answer streams to stdout as it arrives; with `--json` one JSON object with the answer and
its stats follows on the last line (`stages`: preprocess, vision encoder, prefill and decode
seconds, and cache hits; null from a server). Every failure is one `error: ...` line on stderr and a
non-zero exit code. Ctrl-C stops the answer and exits with 130.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import threading
from dataclasses import replace
from pathlib import Path

from model_backend.cli.batch import run as run_batch_command
from model_backend.conversation import Conversation, ImageAttachment, VideoAttachment
from model_backend.engines.base import Answer, Engine, EngineError
from model_backend.settings import (
    DEVICE_PLACEMENTS,
    DTYPES,
    GENERATION_RANGES,
    QUANTIZATIONS,
    GenerationSettings,
    LoadSpec,
    ServerSpec,
)

EXIT_ERROR = 1
EXIT_INTERRUPTED = 130
DEMO_NOTE = "note: the demo checkpoint has random weights; its answers are random text"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m model_backend", description=__doc__.split("\n\n")[0])
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


def _range(setting: str, default: bool = True) -> str:
    """The setting's allowed range, for its flag's help (as `GenerationSettings` checks it)."""
    low, high = GENERATION_RANGES[setting]
    return f"{low:g} to {high:g}" + (" (default %(default)s)" if default else "")


def _add_generation_flags(parser: argparse.ArgumentParser) -> argparse._ArgumentGroup:
    generation = parser.add_argument_group("generation")
    defaults = GenerationSettings()
    generation.add_argument("--max-tiles", type=int, default=defaults.max_tiles, metavar="N", help=_range("max_tiles"))
    generation.add_argument(
        "--max-new-tokens", type=int, default=defaults.max_new_tokens, metavar="N", help=_range("max_new_tokens")
    )
    generation.add_argument("--greedy", action="store_true", help="greedy decoding (the default)")
    generation.add_argument(
        "--temperature",
        type=float,
        metavar="T",
        help="sample with this temperature, " + _range("temperature", default=False),
    )
    generation.add_argument(
        "--top-p", type=float, metavar="P", help="sample with this nucleus, " + _range("top_p", default=False)
    )
    generation.add_argument(
        "--repetition-penalty",
        type=float,
        default=defaults.repetition_penalty,
        metavar="R",
        help=_range("repetition_penalty"),
    )
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


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command in ("ask", "chat", "batch"):
        if not args.model and not args.server:
            parser.error(f"{args.command} needs --model ID_OR_PATH or --server URL")
        if args.greedy and (args.temperature is not None or args.top_p is not None):
            parser.error("--greedy cannot be combined with --temperature/--top-p")
    try:
        if args.command == "make-demo":
            return _make_demo(args.directory, args.family)
        if args.command == "doctor":
            return _doctor()
        if args.command == "batch":
            return run_batch_command(args, _settings(args), _engine)
        if args.command == "chat":
            return _chat(args)
        return _ask(args)
    except KeyboardInterrupt:
        print("\nerror: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Exception as error:  # every failure becomes one plain line; tracebacks only on request
        if os.environ.get("INTERNVL_STUDIO_DEBUG"):
            raise
        print(f"error: {_describe(error)}", file=sys.stderr)
        return EXIT_ERROR


def _ask(args: argparse.Namespace) -> int:
    settings = _settings(args)
    _tolerant_stdout()
    conversation = Conversation()
    images, video = _media(args)
    conversation.ask(args.question, images=images, video=video)
    engine = _engine(args)
    stop = threading.Event()
    answer = engine.stream(conversation, settings, stop)
    stopped = _print_streamed(answer, stop)
    if args.json:
        print(json.dumps(_record(answer, engine, stopped)), flush=True)
    if stopped:
        print("stopped", file=sys.stderr)
        return EXIT_INTERRUPTED
    return 0


def _chat(args: argparse.Namespace) -> int:
    """Keep one conversation over the questions read from stdin (a prompt on a terminal)."""
    settings = _settings(args)
    _tolerant_stdout()
    images, video = _media(args)
    engine = _engine(args)
    conversation, failed = Conversation(), False
    for question in _questions(prompt=sys.stdin.isatty()):
        first = not any(turn.answered for turn in conversation.turns)
        conversation.ask(question, images=images if first else (), video=video if first else None)
        stop = threading.Event()
        try:
            answer = engine.stream(conversation, settings, stop)
            stopped = _drain(answer, stop) if args.json else _print_streamed(answer, stop)
        except (EngineError, ValueError) as error:  # this question failed; the conversation goes on
            print(f"error: {_describe(error)}", file=sys.stderr)
            failed = True
            continue
        turn = conversation.turns[-1]
        turn.answer, turn.stats, turn.stopped = answer.text(), answer.stats, stopped
        if args.json:
            turns = sum(1 for t in conversation.turns if t.answered)
            print(json.dumps({"turn": turns, **_record(answer, engine, stopped)}), flush=True)
    return EXIT_ERROR if failed else 0


def _questions(prompt: bool):
    """Non-empty lines from stdin; on a terminal each is asked for with a `> ` prompt on stderr."""
    while True:
        if prompt:
            print("> ", end="", file=sys.stderr, flush=True)
        try:
            line = sys.stdin.readline()
        except KeyboardInterrupt:
            return
        if not line:
            return
        if line.strip():
            yield line.strip()


def _drain(answer: Answer, stop: threading.Event) -> bool:
    """Consume an answer without printing it (JSON mode); Ctrl-C stops it. True if stopped."""
    try:
        answer.text()
    except KeyboardInterrupt:
        stop.set()
        answer.text()
        return True
    return False


def _media(args: argparse.Namespace) -> tuple[tuple[ImageAttachment, ...], VideoAttachment | None]:
    images = tuple(ImageAttachment(_read(path, "image"), name=Path(path).name) for path in args.image)
    video = None
    if args.video:
        video = VideoAttachment(
            _read(args.video, "video"),
            name=Path(args.video).name,
            num_frames=args.frames,
            start_s=args.start,
            end_s=args.end,
            tiles_per_frame=args.tiles_per_frame,
        )
    if args.image and not args.server:
        from model_backend.preprocess.images import open_image

        for path in args.image:
            open_image(path)  # a damaged image should fail now, not after a load that may take minutes
    return images, video


def _record(answer: Answer, engine: Engine, stopped: bool) -> dict:
    """The `--json` fields of one answer."""
    stats = answer.stats
    return {
        "answer": answer.text(),  # already drained; returns the joined pieces
        "model": engine.label,
        "prompt_tokens": stats.prompt_tokens,
        "visual_tokens": stats.visual_tokens,
        "tiles": stats.tiles,
        "time_to_first_token_s": stats.time_to_first_token_s,
        "tokens_per_s": stats.tokens_per_s,
        "new_tokens": stats.new_tokens,
        "thinking_tokens": stats.thinking_tokens,
        "peak_gpu_memory_gb": stats.peak_gpu_memory_gb,
        "stages": stats.stages,
        "stopped": stopped,
    }


def _tolerant_stdout() -> None:
    if hasattr(sys.stdout, "reconfigure"):
        sys.stdout.reconfigure(errors="replace")  # a random model's text must not crash a narrow terminal


def _print_streamed(answer: Answer, stop: threading.Event) -> bool:
    """Write pieces as they arrive; Ctrl-C sets `stop` and ends the answer cleanly. True if stopped."""
    stopped = False
    try:
        for piece in answer:
            sys.stdout.write(piece)
            sys.stdout.flush()
    except KeyboardInterrupt:
        stopped = True
        stop.set()
        for piece in answer:  # the engine ends within a token or two once `stop` is set
            sys.stdout.write(piece)
    sys.stdout.write("\n")
    sys.stdout.flush()
    return stopped


def _settings(args: argparse.Namespace) -> GenerationSettings:
    defaults = GenerationSettings()
    sampling = args.temperature is not None or args.top_p is not None
    return GenerationSettings(
        max_new_tokens=args.max_new_tokens,
        do_sample=sampling,
        temperature=defaults.temperature if args.temperature is None else args.temperature,
        top_p=defaults.top_p if args.top_p is None else args.top_p,
        repetition_penalty=args.repetition_penalty,
        system_prompt=args.system,
        max_tiles=args.max_tiles,
        thinking=args.thinking,
        reuse_prefix=not args.no_prefix_reuse,
    )


def _engine(args: argparse.Namespace) -> Engine:
    from model_backend.serving.factory import EngineFactory

    if args.server:
        # Imported here: the remote backend needs httpx and nothing of torch.
        from model_backend.engines.openai_compat import list_models

        server = ServerSpec(base_url=args.server, model=args.server_model or "", api_key=args.api_key)
        if not server.model:
            models = list_models(server)
            if not models:
                raise EngineError(f"the server at {args.server} lists no models: pass --server-model NAME")
            server = replace(server, model=models[0])
        return EngineFactory().get(server)

    spec = LoadSpec(
        checkpoint=args.model,
        dtype=args.dtype,
        quantization=args.quantization,
        device=args.device,
        allow_remote_code=args.allow_remote_code,
    )
    engine = EngineFactory().get(spec)
    loaded = engine.loaded
    if loaded.is_demo:
        print(DEMO_NOTE, file=sys.stderr)
    for notice in loaded.notices:
        print(f"note: {notice}", file=sys.stderr)
    if args.thinking and not loaded.thinking:
        print("note: this model has no thinking mode; --thinking only changes its system prompt", file=sys.stderr)
    image = loaded.image_config  # what the engine tiles with
    if getattr(args, "image", None) and not image.dynamic and args.max_tiles > 1:
        print(f"note: this model does not tile images: each is one {image.image_size}px tile", file=sys.stderr)
    return engine


def _make_demo(directory: Path, family: str) -> int:
    from model_backend.demo_checkpoint import make_demo_checkpoint

    path = make_demo_checkpoint(directory, family)
    print(f"wrote the {family} demo checkpoint to {path}", file=sys.stderr)
    print(path)
    return 0


def _doctor() -> int:
    from model_backend.doctor import exit_code, format_report, run_checks

    checks = run_checks()
    print(format_report(checks), flush=True)
    return exit_code(checks)


def _read(path: str, kind: str) -> bytes:
    file = Path(path)
    if not file.exists():
        raise FileNotFoundError(f"{kind} file not found: {path}")
    if not file.is_file():
        raise IsADirectoryError(f"{kind} path is not a file: {path}")
    return file.read_bytes()


def _describe(error: Exception) -> str:
    """The user-facing message; unexpected exception types keep their name so bugs stay visible."""
    message = str(error) or type(error).__name__
    if type(error).__module__.startswith("model_backend"):  # our errors are written for users
        detail = getattr(error, "detail", None)  # the library's own words, which the app folds away
        return f"{message}\n  details: {detail}" if detail else message
    if isinstance(error, (FileNotFoundError, IsADirectoryError, PermissionError)):
        return message
    return f"{type(error).__name__}: {message}"
