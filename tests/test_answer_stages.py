"""Every local answer records where its time went (`AnswerStats.stages`), exports keep it, exports
made before it existed still load, and the UI turns it into rows under the answer."""

from __future__ import annotations

import json
import threading
import time

from components.stats import describe, stage_rows
from model_backend.conversation import AnswerStats, Conversation, ImageAttachment
from model_backend.settings import GenerationSettings
from tests.media_factory import make_photo

STAGE_TIMES = ("preprocess_s", "vision_encoder_s", "prefill_s", "decode_s")


def test_every_answer_has_its_stage_timings(engine, loaded) -> None:
    seen: dict[str, float] = {}  # when the model's parts ran (the clock the engine times with)

    def note(name: str):
        def hook(*hook_args) -> None:  # a hook returns None: anything else would replace the inputs or output
            seen.setdefault(name, time.perf_counter())

        return hook

    model = loaded.model
    hooks = [
        model.vision_model.register_forward_pre_hook(note("encoder_start")),
        model.vision_model.register_forward_hook(note("encoder_end")),
        model.language_model.register_forward_pre_hook(note("prefill_start")),
    ]
    conversation = Conversation()
    conversation.ask("Describe the image.", images=(ImageAttachment(make_photo(640, 480, seed=7)),))
    asked = time.perf_counter()
    try:
        answer = engine.stream(conversation, GenerationSettings(max_new_tokens=8, max_tiles=4), threading.Event())
        answer.text()
    finally:
        for hook in hooks:
            hook.remove()
    stats = answer.stats
    assert all(stats.stages[name] >= 0 for name in STAGE_TIMES)
    # The shared engine may already keep a prompt that starts the same way (the system prompt).
    assert stats.stages["prefill_tokens"] + stats.stages["reused_tokens"] == stats.prompt_tokens
    assert stats.stages["prefill_tokens"] > stats.visual_tokens, "a new image's positions are all computed"
    # The first token waits for preprocessing, the encoder and the prefill, and a thread start, no more:
    # what the stages leave out of the wait all lies between the question and the prefill's start, and is
    # neither the preprocessing nor the encoder's run (an ordering of events, whatever the machine's load).
    waited = stats.stages["preprocess_s"] + stats.stages["vision_encoder_s"] + stats.stages["prefill_s"]
    left_out = stats.time_to_first_token_s - waited
    encoder_run = seen["encoder_end"] - seen["encoder_start"] if "encoder_start" in seen else 0.0
    before_prefill = seen["prefill_start"] - asked - stats.stages["preprocess_s"] - encoder_run
    rounding = 1e-6
    assert -rounding <= left_out <= before_prefill + rounding, (left_out, before_prefill, stats.stages)


def test_a_text_answer_has_stages_without_vision(engine) -> None:
    conversation = Conversation()
    conversation.ask("Hello there")
    answer = engine.stream(conversation, GenerationSettings(max_new_tokens=4), threading.Event())
    answer.text()
    stages = answer.stats.stages
    assert stages["vision_encoder_s"] == 0 and stages["vision_cache_hits"] == stages["vision_cache_misses"] == 0
    assert stage_rows(answer.stats)[1][2] == "no images"


def test_exports_keep_stages_and_old_exports_still_load() -> None:
    conversation = Conversation()
    conversation.ask("Hi")
    stages = {"preprocess_s": 0.01, "vision_encoder_s": 0.0, "prefill_s": 0.2, "decode_s": 0.5, "vision_cache_hits": 1}
    conversation.turns[-1].answer = "Hello"
    conversation.turns[-1].stats = AnswerStats(time_to_first_token_s=0.21, new_tokens=5, stages=stages)
    restored = Conversation.from_json(conversation.to_json())
    assert restored.turns[-1].stats == conversation.turns[-1].stats

    old = json.loads(conversation.to_json())
    del old["turns"][0]["stats"]["stages"]  # an export written before stages existed
    assert Conversation.from_json(json.dumps(old)).turns[-1].stats.stages is None


def test_the_caption_and_rows_tell_a_kept_image_from_an_encoded_one() -> None:
    kept = AnswerStats(
        new_tokens=12,
        stages={"preprocess_s": 0.004, "vision_encoder_s": 0.0, "prefill_s": 1.5, "decode_s": 2.0,
                "vision_cache_hits": 1, "vision_cache_misses": 0, "tiles_encoded": 0, "prefill_tokens": 2010,
                "reused_tokens": 0},
    )  # fmt: skip
    rows = dict((name, (time, detail)) for name, time, detail in stage_rows(kept))
    assert rows["Vision encoder"] == (
        "—",
        "skipped: features of 1 image kept from an earlier turn or while the question was typed",
    )
    assert rows["Prefill"] == ("1.50 s", "2,010 tokens computed, 0 reused")
    assert rows["Preprocessing"][0] == "4 ms"
    assert "vision features reused for 1 image" in describe(kept)
    assert stage_rows(AnswerStats()) == [] and "reused" not in describe(AnswerStats())
