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
from model_backend.cli.flags import build_parser
from model_backend.conversation import Conversation, ImageAttachment, VideoAttachment
from model_backend.engines.base import Answer, Engine, EngineError
from model_backend.settings import (
    GenerationSettings,
    LoadSpec,
    ServerSpec,
)

EXIT_ERROR = 1
EXIT_INTERRUPTED = 130
DEMO_NOTE = "note: the demo checkpoint has random weights; its answers are random text"


def main(argv: list[str] | None = None) -> int:
    parser = build_parser(__doc__.split("\n\n")[0])
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
