"""Batch runs: every question of a dataset through one engine, one JSONL result line each.

A row's questions become jobs (a multi-turn conversation gives one job per human turn, the
earlier turns with their reference answers as history). A background thread reads and tiles
the media of the next jobs while the current one generates (the tiles land in the engine's
media cache, so `stream` finds them ready). Each result is appended and flushed as soon as it
exists, so a killed run loses nothing and `resume` skips what OUT already holds. A bad row
becomes a result with `error`; the run goes on.

>>> summary = run_batch(engine, rows, Path("out.jsonl"), GenerationSettings(), BatchOptions(), "demo")  # doctest: +SKIP
"""

from __future__ import annotations

import json
import queue
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from model_backend.batch.datasets import Row
from model_backend.batch.scoring import score
from model_backend.conversation import Conversation, ImageAttachment, VideoAttachment
from model_backend.preprocess.errors import MediaError
from model_backend.settings import GenerationSettings


@dataclass(frozen=True)
class BatchOptions:
    """How to run: batching, prefetch depth, and how videos are sampled (as `ask` does)."""

    batch_size: int = 1
    prefetch: int = 4
    frames: int = VideoAttachment.num_frames
    start_s: float | None = None
    end_s: float | None = None
    tiles_per_frame: int = VideoAttachment.tiles_per_frame


@dataclass
class Job:
    """One question of one row, ready to answer (its conversation built) or failed (`error`)."""

    row: Row
    turn: int
    conversation: Conversation | None = None
    error: str | None = None

    @property
    def batchable(self) -> bool:
        return self.conversation is not None and len(self.conversation.turns) == 1


def job_key(key: str, turn: int) -> str:
    return f"{key}\x00{turn}"


def result_key(record: dict) -> str:
    """The (row key, turn) of one result, as `plan_jobs` skips it."""
    row_key = f"line {record['line']}" if record.get("id") is None else str(record["id"])
    return job_key(row_key, int(record.get("turn", 0)))


def done_keys(out: Path) -> set[str]:
    """The (row key, turn) of every result in `out`; a half-written last line does not count."""
    keys: set[str] = set()
    if not out.is_file():
        return keys
    for line in out.read_text(encoding="utf-8", errors="replace").splitlines():
        try:
            keys.add(result_key(json.loads(line)))
        except (json.JSONDecodeError, KeyError, TypeError, ValueError, AttributeError):
            continue
    return keys


def plan_jobs(rows: Iterable[Row], skip: set[str]) -> list[tuple[Row, int]]:
    """(row, question index) for every question not in `skip`; a row with an error counts once."""
    planned = []
    for row in rows:
        for turn in range(max(1, len(row.questions))):
            if job_key(row.key, turn) not in skip:
                planned.append((row, turn))
    return planned


def run_batch(
    engine: Any,
    planned: list[tuple[Row, int]],
    out: Path | None,
    settings: GenerationSettings,
    options: BatchOptions,
    checkpoint: str,
    progress: Callable[[int, int, int], None] | None = None,
    *,
    stop: threading.Event | None = None,
    on_result: Callable[[dict], None] | None = None,
    gate: Callable[[], AbstractContextManager[object]] = nullcontext,
) -> bool:
    """Answer every planned job and append one result line each to `out` (created if missing).

    For callers that run a batch as a server-side job (the app's Batch page):
    - `out=None` writes no file; `on_result` gets each result as soon as it exists (after `out`'s line).
    - `stop`, once set, ends the answer being generated within a token or two and the run after it;
      a cut-short answer is no result (nothing is written for it), so resuming asks it again.
    - `gate()` is entered around each generate call (a row, or a batch of rows): a fair queue there
      lets chat answers of other users take turns with the rows of a long run.
    Returns False when `stop` ended the run before every job was answered.
    """
    from model_backend.serving.runs import error_message

    size = options.batch_size if engine.capabilities.batches else 1
    done = errors = 0
    cancel = stop or threading.Event()
    finished = threading.Event()  # ends the prefetch thread, however the loop ends
    jobs = _prefetched(planned, engine, settings, options, finished)
    with out.open("a+", encoding="utf-8") if out is not None else nullcontext() as file:
        if file is not None:
            end_last_line(file)
        try:
            for group in _groups(jobs, size):
                if cancel.is_set():
                    return False
                # Rows that failed before generating (a missing image) need no turn on the model.
                with gate() if any(job.error is None for job in group) else nullcontext():
                    if cancel.is_set():
                        return False
                    answers = _answer(engine, group, settings, error_message, cancel)
                if cancel.is_set():
                    return False
                for job, record in zip(group, answers, strict=True):
                    result = _result(job, record, settings, checkpoint)
                    if file is not None:
                        file.write(json.dumps(result, ensure_ascii=False) + "\n")
                        file.flush()
                    if on_result is not None:
                        on_result(result)
                    done, errors = done + 1, errors + (result["error"] is not None)
                    if progress:
                        progress(done, len(planned), errors)
        finally:
            finished.set()
    return True


def _answer(
    engine: Any, group: list[Job], settings: GenerationSettings, describe: Callable, stop: threading.Event
) -> list[dict]:
    """Per job: prediction and stats, or its error. A batch that fails is retried row by row."""
    ready = [job for job in group if job.error is None]
    if len(ready) > 1:
        from model_backend.engines.batched import answer_batch

        started = time.perf_counter()
        try:
            answers = answer_batch(engine, [job.conversation for job in ready], settings)  # type: ignore[misc]
        except Exception:  # one bad row (e.g. past the context) must not fail the others
            answers = None
        if answers is not None:
            latency = time.perf_counter() - started
            by_job = {id(job): _stats(a.text, a.stats, latency) for job, a in zip(ready, answers, strict=True)}
            return [by_job.get(id(job)) or {"error": job.error} for job in group]
    results = []
    for job in group:
        if job.error is not None or stop.is_set():  # after a stop the group's results are dropped anyway
            results.append({"error": job.error})
            continue
        started = time.perf_counter()
        try:
            answer = engine.stream(job.conversation, settings, stop)
            text = answer.text()
        except Exception as error:
            results.append({"error": describe(error)})
            continue
        results.append(_stats(text, answer.stats, time.perf_counter() - started))
    return results


def _stats(text: str, stats: Any, latency_s: float) -> dict:
    return {
        "prediction": text,
        "tiles": stats.tiles,
        "prompt_tokens": stats.prompt_tokens,
        "new_tokens": stats.new_tokens,
        "time_to_first_token_s": stats.time_to_first_token_s,
        "tokens_per_s": stats.tokens_per_s,
        "latency_s": latency_s,
        "error": None,
    }


def _result(job: Job, answer: dict, settings: GenerationSettings, checkpoint: str) -> dict:
    row = job.row
    question = row.questions[job.turn] if job.turn < len(row.questions) else None
    result: dict = {**row.record, "id": row.id, "line": row.line, "turn": job.turn}
    result["question"] = question.text if question else None
    result["reference"] = question.reference if question else None
    result.update(prediction=None, checkpoint=checkpoint, settings=settings.to_dict())
    result.update(tiles=None, prompt_tokens=None, new_tokens=None, time_to_first_token_s=None, tokens_per_s=None)
    result["latency_s"] = None
    result.update(answer)
    has_reference = question is not None and question.reference is not None
    ok = result["error"] is None and has_reference
    result["score"] = score(result["prediction"], question.reference) if ok else None  # type: ignore[union-attr]
    return result


def _groups(jobs: Iterator[Job], size: int) -> Iterator[list[Job]]:
    """Runs of up to `size` history-free jobs; a job with history (or a failed one) goes alone."""
    group: list[Job] = []
    for job in jobs:
        if size > 1 and job.batchable:
            group.append(job)
            if len(group) == size:
                yield group
                group = []
            continue
        if group:
            yield group
            group = []
        yield [job]
    if group:
        yield group


def _prefetched(
    planned: list[tuple[Row, int]],
    engine: Any,
    settings: GenerationSettings,
    options: BatchOptions,
    stop: threading.Event,
) -> Iterator[Job]:
    """Jobs in order, built (media read, decoded and tiled) on a background thread a few ahead."""
    ready: queue.Queue[Job | None] = queue.Queue(maxsize=max(options.prefetch, options.batch_size))

    def work() -> None:
        media: dict[int, tuple] = {}  # row line -> its attachments (a conversation's turns share them)
        for row, turn in planned:
            job = _build(row, turn, media, engine, settings, options)
            while not stop.is_set():
                try:
                    ready.put(job, timeout=0.1)
                    break
                except queue.Full:
                    continue
            if stop.is_set():
                return
        ready.put(None)

    threading.Thread(target=work, name="batch-prefetch", daemon=True).start()
    while (job := ready.get()) is not None:
        yield job


def _build(row: Row, turn: int, media: dict, engine: Any, settings: GenerationSettings, options: BatchOptions) -> Job:
    job = Job(row, turn, error=row.error)
    if job.error is not None:
        return job
    try:
        if row.line not in media:
            media.clear()  # only the current row's media is kept
            media[row.line] = attachments(row, options)
        images, video = media[row.line]
        conversation = Conversation()
        for number, question in enumerate(row.questions[: turn + 1]):
            turn_media = {"images": images, "video": video} if number == 0 else {}
            conversation.ask(question.text, **turn_media)
            if number < turn:
                reference = question.reference
                conversation.turns[-1].answer = reference[0] if isinstance(reference, list) else reference or ""
        _warm(conversation, engine, settings)
        job.conversation = conversation
    except _NamedMediaError as problem:
        from model_backend.serving.runs import error_message

        job.error = f"{problem.name}: {error_message(problem.error)}"
    except Exception as error:
        from model_backend.serving.runs import error_message

        job.error = error_message(error)
    return job


class _NamedMediaError(Exception):
    """A media file of a row that cannot be used, with the file's name (a row may have several)."""

    def __init__(self, name: str, error: MediaError) -> None:
        super().__init__(f"{name}: {error}")
        self.name, self.error = name, error


def attachments(row: Row, options: BatchOptions) -> tuple[tuple[ImageAttachment, ...], VideoAttachment | None]:
    """A row's images and video, read from disk, the video sampled as `options` say."""
    images = tuple(ImageAttachment(path.read_bytes(), name=path.name) for path in row.images)
    video = None
    if row.video is not None:
        video = VideoAttachment(
            row.video.read_bytes(),
            name=row.video.name,
            num_frames=options.frames,
            start_s=options.start_s,
            end_s=options.end_s,
            tiles_per_frame=options.tiles_per_frame,
        )
    return images, video


def _warm(conversation: Conversation, engine: Any, settings: GenerationSettings) -> None:
    """Decode and tile the media now (a broken file fails here); a local engine keeps the tiles."""
    plan = conversation.build_prompt(settings.max_tiles)
    vision = engine.vision if engine.capabilities.keeps_media else None
    for item, budget in zip(plan.media, plan.max_tiles_per_image, strict=True):
        try:
            if vision is not None:
                vision.prepare(item, budget)
            elif isinstance(item, ImageAttachment):
                from model_backend.preprocess.images import open_image

                open_image(item.data)
        except MediaError as error:
            raise _NamedMediaError(item.name, error) from error


def end_last_line(file: IO[str]) -> None:
    """After a killed run the last line may be cut short: start the next result on a new line."""
    file.seek(0, 2)
    if file.tell() == 0:
        return
    file.seek(file.tell() - 1)
    if file.read(1) != "\n":
        file.write("\n")
