"""Encode while the user types: work done ahead is found by the answer, never slows one, never runs twice.

On the demo checkpoint: after `encode_ahead`, the answer runs no vision encoder and prefills
only the question's tokens, and equals the answer of an engine that did nothing ahead; a question
sent while the job runs waits for it instead of encoding the image again; a job waits while
another answer is generated; the registry starts one job per attachment and cancels a replaced one.
"""

from __future__ import annotations

import threading

import pytest
import torch

from model_backend.checkpoints.loading import load_model
from model_backend.conversation import Conversation, ImageAttachment, Turn
from model_backend.engines.ahead import BackgroundWork
from model_backend.engines.local import LocalEngine
from model_backend.serving.encode_ahead import AheadRegistry
from model_backend.serving.factory import EngineFactory
from model_backend.serving.pool import ModelPool
from model_backend.settings import GenerationSettings, LoadSpec
from tests.media_factory import make_photo

SETTINGS = GenerationSettings(max_new_tokens=12, max_tiles=4)
QUESTION = "What is in this picture?"


@pytest.fixture(scope="module")
def loaded():
    return load_model(LoadSpec("demo", dtype="float32", device="cpu"))


def pending(image: ImageAttachment) -> Conversation:
    """A conversation whose next question, still being typed, carries `image`."""
    return Conversation([Turn(question="", images=(image,))])


def ask(engine: LocalEngine, image: ImageAttachment):
    conversation = Conversation()
    conversation.ask(QUESTION, images=(image,))
    answer = engine.stream(conversation, SETTINGS, threading.Event())
    return answer.text(), answer.stats


def test_an_answer_after_the_work_ahead_prefills_only_the_question(loaded) -> None:
    engine, plain = LocalEngine(loaded), LocalEngine(loaded, vision_cache_mb=0, prefix_cache_mb=0)
    image = ImageAttachment(make_photo(900, 600, seed=4))
    assert engine.encode_ahead(pending(image), SETTINGS, threading.Event())
    text, stats = ask(engine, image)
    assert text == ask(plain, image)[0]
    stages = stats.stages
    assert stages["vision_cache_hits"] == 1 and stages["tiles_encoded"] == 0
    question_tokens = len(loaded.tokenizer(QUESTION, add_special_tokens=False)["input_ids"])
    assert stages["prefill_tokens"] <= question_tokens + 12, "more than the question and the template's tail"
    assert stages["reused_tokens"] > stats.visual_tokens


def test_a_question_sent_while_the_image_is_encoded_waits_for_that_work(loaded, monkeypatch) -> None:
    engine = LocalEngine(loaded)
    image = ImageAttachment(make_photo(900, 600, seed=5))
    encoding, release = threading.Event(), threading.Event()
    real = engine.model.extract_feature
    calls: list[int] = []

    def slow_extract(pixel_values):
        calls.append(int(pixel_values.shape[0]))
        encoding.set()
        release.wait(30)
        return real(pixel_values)

    monkeypatch.setattr(engine.model, "extract_feature", slow_extract)
    job = threading.Thread(target=engine.encode_ahead, args=(pending(image), SETTINGS, threading.Event()))
    job.start()
    assert encoding.wait(30)
    answered: list = []
    asking = threading.Thread(target=lambda: answered.append(ask(engine, image)))
    asking.start()
    release.set()  # the job's encoder finishes only after the question was sent
    asking.join(60)
    job.join(60)
    assert len(calls) == 1, "the image was encoded twice"
    assert answered[0][1].stages["tiles_encoded"] == 0


def test_work_ahead_gives_way_to_an_answer_being_generated_unless_one_waits_for_it() -> None:
    work = BackgroundWork()
    job = work.register(torch.tensor([1, -7, -7, 2]))
    with work.generating():
        cancel = threading.Event()
        threading.Timer(0.2, cancel.set).start()
        # Still waiting when cancelled: it did not start while the answer was generated.
        assert work.wait_idle(job, cancel) is False
        # An answer whose prompt starts with the job's image waits for it: the job goes ahead.
        waiter = threading.Thread(target=work.wait_for_jobs, args=(torch.tensor([1, -7, -7, 2, 5]),))
        waiter.start()
        assert work.wait_idle(job, threading.Event()) is True
    work.finish(job)
    waiter.join(10)
    assert not waiter.is_alive()


def test_the_registry_starts_one_job_per_attachment_and_cancels_a_replaced_one(loaded) -> None:
    pool = ModelPool(budget_gb=100.0)
    registry = AheadRegistry(EngineFactory(pool))
    spec = LoadSpec("demo", dtype="float32", device="cpu")
    first, second = (ImageAttachment(make_photo(640, 480, seed=s)) for s in (1, 2))
    assert registry.start("c1", spec, Conversation(), SETTINGS, (first,)) is None, "it must not load a model"
    pool.get(spec)
    job = registry.start("c1", spec, Conversation(), SETTINGS, (first,))
    assert registry.start("c1", spec, Conversation(), SETTINGS, (first,)) is job  # a rerun: nothing new
    replaced = registry.start("c1", spec, Conversation(), SETTINGS, (second,))
    assert replaced is not job and job.cancel.is_set()
    assert replaced.done.wait(60) and replaced.worked
    engine = pool.peek(spec)
    conversation = Conversation()
    conversation.ask(QUESTION, images=(second,))
    answer = engine.stream(conversation, SETTINGS, threading.Event())
    answer.text()
    assert answer.stats.stages["tiles_encoded"] == 0
    assert registry.start("c2", spec, Conversation(), SETTINGS) is None  # no media: nothing to do


def test_the_encoders_rate_here_gives_the_expected_time_of_a_new_image(loaded) -> None:
    engine = LocalEngine(loaded)
    assert engine.expected_vision_seconds(7) is None  # nothing measured yet
    assert engine.encode_ahead(pending(ImageAttachment(make_photo(900, 600, seed=6))), SETTINGS, threading.Event())
    one, seven = engine.expected_vision_seconds(1), engine.expected_vision_seconds(7)
    assert one is not None and one > 0 and seven == pytest.approx(7 * one)


def test_jobs_run_one_at_a_time_and_a_replaced_one_never_starts(loaded, monkeypatch) -> None:
    """A video's range slider starts a job per value: only the last value's is worth doing."""
    pool = ModelPool(budget_gb=100.0)
    registry = AheadRegistry(EngineFactory(pool))
    spec = LoadSpec("demo", dtype="float32", device="cpu")
    engine = pool.get(spec)
    started, release = threading.Event(), threading.Event()
    seen: list[int] = []

    def slow(conversation, settings, cancel):
        seen.append(len(conversation.turns[-1].images[0].data))
        started.set()
        release.wait(30)
        return True

    monkeypatch.setattr(engine, "encode_ahead", slow)
    photos = [ImageAttachment(make_photo(320 + 32 * i, 240)) for i in range(3)]
    first = registry.start("c", spec, Conversation(), SETTINGS, (photos[0],))
    assert started.wait(30)
    second = registry.start("c", spec, Conversation(), SETTINGS, (photos[1],))  # waits for the first
    third = registry.start("c", spec, Conversation(), SETTINGS, (photos[2],))  # replaces the second
    release.set()
    assert third.done.wait(30) and second.done.wait(30) and first.done.wait(30)
    assert seen == [len(photos[0].data), len(photos[2].data)], "the replaced job ran, or two ran at once"
    assert third.worked and not second.worked
