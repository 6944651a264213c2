"""The in-process engine: streams answers from a checkpoint loaded with transformers.

It builds the prompt exactly as the checkpoint's own `model.chat` does (same template, same
`<img><IMG_CONTEXT>...</img>` expansion, same end-of-answer token) but streams the tokens from
a worker thread, stops on request, and reports what the answer cost. The one invariant the
tests pin down: with greedy decoding the streamed text equals `model.chat`'s answer.

Shared model state is never changed per request (several browser sessions share one model):
the template is a copy, the system prompt goes into that copy. Only
`model.img_context_token_id` is set, which `generate` needs and which is the same every time.

Images are tiled once (`MediaCache`) and encoded once (`VisionCache`): the engine runs the
checkpoint's own `extract_feature` on the tiles whose features it has not kept, in one batch,
and hands the features to the checkpoint's own `generate(visual_features=...)`, so a follow-up
about the same image runs no vision encoder. The language model's KV cache at the end of an
answer is kept too (`PrefixCache`), so the next prompt that starts the same way (a follow-up, a
regenerate, an edit) prefills only what differs. Every answer records its stages (preprocess,
vision encoder, prefill with computed and reused tokens, decode, cache hits) in
`AnswerStats.stages`.

>>> engine = LocalEngine(load_model(LoadSpec("demo")))  # doctest: +SKIP
>>> conversation = Conversation(); conversation.ask("Hello")  # doctest: +SKIP
>>> engine.stream(conversation, GenerationSettings(), threading.Event()).text()  # doctest: +SKIP
"""

from __future__ import annotations

import copy
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch
from transformers import GenerationMixin, StoppingCriteriaList

from model_backend.checkpoints.compat import describe_code_error
from model_backend.conversation import IMAGE_PLACEHOLDER, AnswerStats, Conversation
from model_backend.engines.ahead import BackgroundWork
from model_backend.engines.answer_text import AnswerText
from model_backend.engines.base import Answer, Capabilities, EngineError
from model_backend.engines.generation_stream import EventStop, TimedStreamer, streamed_pieces
from model_backend.engines.prefix_cache import PrefixCache, TakenPrefix, media_mark
from model_backend.engines.prefix_cache import default_capacity_mb as default_prefix_mb
from model_backend.engines.vision import PromptMedia, VisionStage, VisionTiming
from model_backend.engines.vision_cache import default_capacity_mb
from model_backend.settings import GenerationSettings

if TYPE_CHECKING:
    from model_backend.checkpoints.loading import LoadedModel

IMG_START_TOKEN = "<img>"
IMG_END_TOKEN = "</img>"
IMG_CONTEXT_TOKEN = "<IMG_CONTEXT>"
DEMO_LABEL = "demo checkpoint — random answers"
# How often the consumer wakes up while waiting for a token, to notice a stop request during a
# long prefill (the stopping criterion only runs once the first token exists).
_POLL_S = 0.1


@dataclass
class _Prompt:
    """Everything `generate` needs for one answer, built and checked before generating."""

    input_ids: torch.Tensor
    attention_mask: torch.Tensor
    marks: torch.Tensor  # the positions as `PrefixCache` labels them (images marked by their keys)
    media: list[PromptMedia]
    tiles: list[int]
    visual_tokens: int
    sep: str
    eos_token_id: int
    prepare_s: float

    @property
    def tokens(self) -> int:
        return int(self.input_ids.shape[1])


class LocalEngine:
    """The Engine protocol around a `LoadedModel` (see `model_backend.checkpoints.loading`)."""

    capabilities = Capabilities(batches=True, keeps_media=True, encodes_ahead=True)

    def __init__(
        self,
        loaded: LoadedModel,
        cache_size: int = 8,
        vision_cache_mb: float | None = None,
        prefix_cache_mb: float | None = None,
    ) -> None:
        """Memory for kept vision features and kept KV caches (0: off; None: `INTERNVL_VISION_CACHE_MB`
        and `INTERNVL_PREFIX_CACHE_MB`, else 512 MB each)."""
        self.loaded = loaded
        self.model = loaded.model
        self.tokenizer = loaded.tokenizer
        self.label = DEMO_LABEL if loaded.is_demo else _checkpoint_name(loaded.spec.checkpoint)
        self.image_config = loaded.image_config
        capacity = default_capacity_mb() if vision_cache_mb is None else vision_cache_mb
        self.vision = VisionStage(self.model, self.image_config, cache_size, capacity)
        self.media_cache, self.vision_cache = self.vision.media_cache, self.vision.vision_cache
        self.reuses_prefix = prefix_reuse_supported(self.model)
        prefix_mb = default_prefix_mb() if prefix_cache_mb is None else prefix_cache_mb
        self.prefix_cache = PrefixCache(prefix_mb if self.reuses_prefix else 0)
        self.background = BackgroundWork()
        self._img_context_id = self.tokenizer.convert_tokens_to_ids(IMG_CONTEXT_TOKEN)
        self._cuda_devices = sorted({p.device for p in self.model.parameters() if p.device.type == "cuda"}, key=str)

    @property
    def cache_capacity_gb(self) -> float:
        """The most memory its caches of vision features and KV prefixes will hold."""
        return (self.vision_cache.capacity_bytes + self.prefix_cache.capacity_bytes) / 1024**3

    def expected_vision_seconds(self, tiles: int) -> float | None:
        """On a CPU, what encoding `tiles` tiles will take, from the last encoding's rate here (None: on
        a GPU, where it is quick, or nothing encoded yet)."""
        rate = self.vision.seconds_per_tile
        return None if rate is None or not self.vision.on_cpu else rate * tiles

    def context_window(self) -> int | None:
        return self.loaded.context_tokens

    def stream(self, conversation: Conversation, settings: GenerationSettings, stop: threading.Event) -> Answer:
        """Prepare (media, prompt, context check) now, so errors surface here; generate on iteration."""
        prompt = self.prepare(conversation, settings)
        return Answer(lambda stats: self._generate(prompt, settings, stop, stats))

    def prepare(self, conversation: Conversation, settings: GenerationSettings) -> _Prompt:
        """The pending turn's prompt, media tiled and context checked, as `stream` generates from it.

        Public for batched generation (`model_backend.engines.batched`), which pads several of them.
        """
        prompt = self._prepare(conversation, settings)
        window = self.context_window()
        if window is not None and prompt.tokens + settings.max_new_tokens > window:
            detail = (
                f"prompt {prompt.tokens} tokens ({prompt.visual_tokens} image tokens, tiles {prompt.tiles}) "
                f"+ max_new_tokens {settings.max_new_tokens} > context window {window}"
            )
            sizes = {"prompt_tokens": prompt.tokens, "answer_tokens": settings.max_new_tokens, "limit": window}
            if prompt.visual_tokens:
                raise EngineError(
                    "engine.context_full_images", detail=detail, image_tokens=prompt.visual_tokens, **sizes
                )
            raise EngineError("engine.context_full", detail=detail, **sizes)
        return prompt

    # -- prompt ------------------------------------------------------------------------------

    def _prepare(self, conversation: Conversation, settings: GenerationSettings) -> _Prompt:
        started = time.perf_counter()
        plan = conversation.build_prompt(settings.max_tiles)
        prompt_media = [
            self.vision.prepare(media, budget)
            for media, budget in zip(plan.media, plan.max_tiles_per_image, strict=True)
        ]
        tiles = [count for media in prompt_media for count in media.tiles]

        # A copy of the model's template, filled the way `chat` fills its fresh one.
        template = copy.deepcopy(self.model.conv_template)
        template.messages = []
        template.system_message = settings.system_message() or self.model.system_message
        for question, answer in plan.history:
            template.append_message(template.roles[0], question)
            template.append_message(template.roles[1], answer)
        template.append_message(template.roles[0], plan.question)
        template.append_message(template.roles[1], None)
        query = template.get_prompt()
        tokens_per_tile = self.image_config.tokens_per_tile
        for count in tiles:
            image_tokens = IMG_START_TOKEN + IMG_CONTEXT_TOKEN * tokens_per_tile * count + IMG_END_TOKEN
            query = query.replace(IMAGE_PLACEHOLDER, image_tokens, 1)

        inputs = self.tokenizer(query, return_tensors="pt")
        input_ids = inputs["input_ids"]
        visual_tokens = int((input_ids == self._img_context_id).sum())
        if visual_tokens != tokens_per_tile * sum(tiles):
            # A literal `<image>` typed into a question would shift every image by one.
            raise EngineError(
                "engine.image_marker", detail=f"{visual_tokens} image tokens for {sum(tiles)} tiles of images"
            )
        text_device = self.model.language_model.get_input_embeddings().weight.device
        sep = template.sep.strip()
        return _Prompt(
            input_ids=input_ids.to(text_device),
            attention_mask=inputs["attention_mask"].to(text_device),
            marks=_marks(input_ids[0], self._img_context_id, prompt_media, tokens_per_tile),
            media=prompt_media,
            tiles=tiles,
            visual_tokens=visual_tokens,
            sep=sep,
            eos_token_id=self.tokenizer.convert_tokens_to_ids(sep),
            prepare_s=time.perf_counter() - started,
        )

    # -- generation --------------------------------------------------------------------------

    def _generate(
        self, prompt: _Prompt, settings: GenerationSettings, stop: threading.Event, stats: AnswerStats
    ) -> Iterator[str]:
        stats.prompt_tokens, stats.visual_tokens, stats.tiles = prompt.tokens, prompt.visual_tokens, prompt.tiles
        abort = threading.Event()  # ends the worker when the consumer leaves early or the answer is complete
        streamer = TimedStreamer(self.tokenizer, skip_prompt=True, skip_special_tokens=True, timeout=_POLL_S)
        config: dict[str, Any] = settings.generation_config()
        config.update(
            eos_token_id=prompt.eos_token_id,
            streamer=streamer,
            stopping_criteria=StoppingCriteriaList([EventStop(stop, abort)]),
        )
        cuda_devices = self._cuda_devices
        for device in cuda_devices:
            torch.cuda.reset_peak_memory_stats(device)
        failure: list[BaseException] = []
        self.model.img_context_token_id = self._img_context_id  # idempotent; `generate` asserts it
        taken: list[TakenPrefix] = []
        waited: list[float] = []

        def work() -> None:
            try:
                # Encoding done ahead for this prompt's media: wait for it rather than do it twice.
                waiting = time.perf_counter()
                self.background.wait_for_jobs(prompt.marks, stop, abort)
                waited.append(time.perf_counter() - waiting)
                self.vision.use_kept(prompt.media)
                with self.background.generating():
                    if settings.reuse_prefix and self.prefix_cache.enabled:
                        taken.append(self.prefix_cache.take(prompt.marks))
                        config["past_key_values"] = taken[0].cache  # prefills after what it holds, extends it
                    visual = self.vision.inputs(prompt.media, streamer.vision)
                    if abort.is_set():
                        return  # the consumer left while the vision encoder ran
                    new_tokens = self.model.generate(
                        input_ids=prompt.input_ids, attention_mask=prompt.attention_mask, **visual, **config
                    )
                if taken:
                    self._keep(taken[0], prompt.marks, new_tokens[0])
            except BaseException as error:  # handed to the consumer, which re-raises it
                failure.append(error)
            finally:
                streamer.end()  # wake the consumer even when generate failed before its own end()

        text = AnswerText(prompt.sep)
        thread = threading.Thread(target=work, name="internvl-generate", daemon=True)
        streamer.started = time.perf_counter()
        thread.start()
        try:
            for piece in streamed_pieces(streamer, stop):
                visible = text.feed(piece)
                _update(stats, streamer, prompt)
                if visible:
                    yield visible
                if text.ended or stop.is_set():
                    break
            abort.set()
            thread.join()
            if failure:
                error = failure[0]
                if isinstance(error, Exception):
                    raise _engine_error(error, self.loaded) from error
                raise error  # KeyboardInterrupt / SystemExit in the worker: not an answering failure
            rest = text.finish()
            if rest:
                yield rest
        finally:
            abort.set()  # also when the consumer stops iterating (closed generator, Ctrl-C)
            thread.join()
            _update(stats, streamer, prompt)
            stats.stages = _stages(streamer, prompt, taken[0].reused if taken else 0)
            if waited and waited[0] >= 0.01:
                stats.stages["ahead_wait_s"] = waited[0]  # the question came while its media was being encoded
            if cuda_devices:
                stats.peak_gpu_memory_gb = sum(torch.cuda.max_memory_allocated(d) for d in cuda_devices) / 1024**3

    def _keep(self, taken: TakenPrefix, marks: torch.Tensor, new_tokens: torch.Tensor) -> None:
        """Keep the cache a generation extended; its last new token was never fed back, so the cache
        ends one position short of the marks and the new tokens."""
        held = torch.cat([marks, new_tokens.cpu()])[: taken.cache.get_seq_length()]
        self.prefix_cache.put(held, taken.cache)

    # -- work done ahead ---------------------------------------------------------------------

    def encode_ahead(self, conversation: Conversation, settings: GenerationSettings, cancel: threading.Event) -> bool:
        """Before the question exists: tile the pending turn's media, encode them and prefill the
        prompt up to where the question goes, so the answer finds all of it in the caches.

        `conversation`'s last turn holds the attached media and an empty question. Gives way to
        answers being generated before each stage (`BackgroundWork`); returns False when
        cancelled or nothing was to be done. Errors are the answer's to report: raised here too.
        """
        if cancel.is_set():
            return False
        prompt = self.prepare(conversation, settings)
        if not prompt.media or cancel.is_set():
            return False
        job = self.background.register(prompt.marks)
        try:
            if not self.background.wait_idle(job, cancel):
                return False
            visual = self.vision.inputs(prompt.media, VisionTiming())
            if not (settings.reuse_prefix and self.prefix_cache.enabled):
                return True
            if not self.background.wait_idle(job, cancel):
                return False
            taken = self.prefix_cache.take(prompt.marks)
            self.model.img_context_token_id = self._img_context_id
            with torch.no_grad():
                new_tokens = self.model.generate(
                    input_ids=prompt.input_ids,
                    attention_mask=prompt.attention_mask,
                    **visual,
                    past_key_values=taken.cache,
                    max_new_tokens=1,
                    do_sample=False,
                    eos_token_id=prompt.eos_token_id,
                )
            self._keep(taken, prompt.marks, new_tokens[0])
            return True
        finally:
            self.background.finish(job)


def _update(stats: AnswerStats, streamer: TimedStreamer, prompt: _Prompt) -> None:
    stats.new_tokens = streamer.new_tokens
    first, last = streamer.first_token_at, streamer.last_token_at
    if first is not None:
        stats.time_to_first_token_s = prompt.prepare_s + (first - streamer.started)
    if first is not None and last is not None and streamer.new_tokens > 1 and last > first:
        stats.tokens_per_s = (streamer.new_tokens - 1) / (last - first)


def _stages(streamer: TimedStreamer, prompt: _Prompt, reused: int) -> dict[str, float]:
    """Where the answer's time went (seconds) and what the caches saved (counts)."""
    stages = {"preprocess_s": prompt.prepare_s, "vision_encoder_s": streamer.vision.encoder_s or 0.0}
    first, last = streamer.first_token_at, streamer.last_token_at
    if first is not None:
        stages["prefill_s"] = first - (streamer.vision.done_at or streamer.started)
    if first is not None and last is not None:
        stages["decode_s"] = last - first
    kept = sum(1 for media in prompt.media if media.kept)
    stages.update(
        vision_cache_hits=kept,
        vision_cache_misses=len(prompt.media) - kept,
        tiles_encoded=streamer.vision.tiles_encoded,
        prefill_tokens=prompt.tokens - reused,
        reused_tokens=reused,
    )
    return stages


def prefix_reuse_supported(model: Any) -> bool:
    """Whether the checkpoint's LLM can prefill after a kept `DynamicCache`.

    That takes transformers' own input preparation, which slices `inputs_embeds` after the kept
    positions: LLM classes of the checkpoints' own code (InternLM2's legacy tuple cache) and those
    that override it (Phi-3's long/short RoPE switch drops the cache) are left out.
    """
    language_model = getattr(model, "language_model", None)
    return (
        bool(getattr(language_model, "_supports_cache_class", False))
        and type(language_model).prepare_inputs_for_generation is GenerationMixin.prepare_inputs_for_generation
    )


def _marks(input_ids: torch.Tensor, image_token: int, media: list[PromptMedia], tokens_per_tile: int) -> torch.Tensor:
    """The prompt's token ids with each image position replaced by its media's mark."""
    marks = input_ids.cpu().clone()
    positions = (marks == image_token).nonzero().flatten()
    start = 0
    for item in media:
        count = tokens_per_tile * sum(item.tiles)
        marks[positions[start : start + count]] = media_mark(item.key)
        start += count
    return marks


def _engine_error(error: Exception, loaded: LoadedModel) -> EngineError:
    technical = f"{type(error).__name__}: {error}"
    if isinstance(error, torch.OutOfMemoryError) or "can't allocate memory" in str(error):
        return EngineError("engine.out_of_memory", detail=technical)
    # An AttributeError/TypeError from inside the checkpoint's own code: a quirk model_backend.checkpoints.compat lacks.
    quirk = describe_code_error(error, _checkpoint_name(loaded.spec.checkpoint), [loaded.path])
    if quirk is not None:
        return EngineError(quirk, detail=technical)
    return EngineError("engine.failed", detail=technical)


def _checkpoint_name(checkpoint: str) -> str:
    """`OpenGVLab/InternVL2-1B` -> `InternVL2-1B`; a local folder -> its name."""
    return Path(checkpoint.rstrip("/")).name or checkpoint
