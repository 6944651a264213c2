"""Several history-free questions through one `generate` call of a local checkpoint.

The shape is the checkpoint's own `batch_chat`: each prompt built as for one answer (here by
`LocalEngine.prepare`, so templates, image tokens and tile plans are the same as `stream`'s),
left-padded to the longest, with an attention mask over the real tokens; the images of all
rows are encoded in one batch and go to the `<IMG_CONTEXT>` positions row by row. Each row's
new tokens are cut at the first end-of-answer token and decoded at once, which is how
`model.chat` decodes, so a greedy answer equals the one-by-one answer wherever padding does
not change the arithmetic (pinned in fp32 by tests/test_batch_cli.py).

>>> results = answer_batch(engine, [conversation_a, conversation_b], GenerationSettings())  # doctest: +SKIP
>>> results[0].text, results[0].stats.new_tokens  # doctest: +SKIP
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import torch

from model_backend.conversation import AnswerStats, Conversation
from model_backend.engines.answer_text import AnswerText
from model_backend.engines.vision import VisionTiming
from model_backend.settings import GenerationSettings

if TYPE_CHECKING:
    from model_backend.engines.local import LocalEngine

IMG_CONTEXT_TOKEN = "<IMG_CONTEXT>"


@dataclass
class BatchAnswer:
    """One row's answer: its text and what it cost (time to first token is the batch's)."""

    text: str
    stats: AnswerStats


class _StepClock:
    """A streamer that only records when each generation step's tokens arrived (batch-wide)."""

    def __init__(self) -> None:
        self.steps: list[float] = []
        self._prompt_seen = False

    def put(self, value: torch.Tensor) -> None:
        if not self._prompt_seen:  # the first call carries the prompt
            self._prompt_seen = True
            return
        self.steps.append(time.perf_counter())

    def end(self) -> None:
        pass


def answer_batch(
    engine: LocalEngine, conversations: list[Conversation], settings: GenerationSettings
) -> list[BatchAnswer]:
    """Answer each conversation's pending turn (none may have history) in one `generate` call.

    Raises like `LocalEngine.stream` does; callers that want per-row errors prepare rows
    one by one first (`LocalEngine.prepare`) and batch only those that passed.
    """
    started = time.perf_counter()
    for conversation in conversations:
        if len(conversation.turns) != 1:
            raise ValueError("batched generation takes conversations without history")
    prompts = [engine.prepare(conversation, settings) for conversation in conversations]
    tokenizer = engine.tokenizer
    eos = prompts[0].eos_token_id
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else eos
    length = max(prompt.tokens for prompt in prompts)
    device = prompts[0].input_ids.device
    input_ids = torch.full((len(prompts), length), pad, dtype=prompts[0].input_ids.dtype, device=device)
    attention_mask = torch.zeros((len(prompts), length), dtype=prompts[0].attention_mask.dtype, device=device)
    for index, prompt in enumerate(prompts):  # left padding, as `batch_chat` sets on the tokenizer
        input_ids[index, length - prompt.tokens :] = prompt.input_ids[0]
        attention_mask[index, length - prompt.tokens :] = prompt.attention_mask[0]

    timing = VisionTiming()
    visual = engine.vision.inputs([media for prompt in prompts for media in prompt.media], timing)
    clock = _StepClock()
    config: dict[str, Any] = settings.generation_config()
    config.update(eos_token_id=eos, pad_token_id=pad, streamer=clock)
    engine.model.img_context_token_id = tokenizer.convert_tokens_to_ids(IMG_CONTEXT_TOKEN)
    generate_started = time.perf_counter()
    with torch.no_grad():
        output = engine.model.generate(input_ids=input_ids, attention_mask=attention_mask, **visual, **config)
    prepared_s = generate_started - started

    answers = []
    for index, prompt in enumerate(prompts):
        ids = output[index].tolist()
        count = ids.index(eos) + 1 if eos in ids else len(ids)
        text = AnswerText(prompt.sep)
        decoded = text.feed(tokenizer.decode(ids[:count], skip_special_tokens=True)) + text.finish()
        stats = AnswerStats(
            prompt_tokens=prompt.tokens, visual_tokens=prompt.visual_tokens, new_tokens=count, tiles=prompt.tiles
        )
        if clock.steps:
            stats.time_to_first_token_s = prepared_s + clock.steps[0] - generate_started
            last = clock.steps[min(count, len(clock.steps)) - 1]
            if count > 1 and last > clock.steps[0]:
                stats.tokens_per_s = (count - 1) / (last - clock.steps[0])
        answers.append(BatchAnswer(decoded, stats))
    return answers
