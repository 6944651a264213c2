"""The KV prefix cache: what a new prompt may reuse, who owns an entry, and the memory bound.

The store (`PrefixCache`) is tested on small hand-made caches; the engine's use of it on the
demo checkpoint: a follow-up reuses the earlier prompt, a prompt that differs (another image with
the same token ids, another system prompt) does not reuse what differs, the switch in the
generation settings turns it off, and answers equal those of an engine without the cache (the
parity suite compares them with `model.chat` itself).
"""

from __future__ import annotations

import threading

import pytest
import torch
from transformers import DynamicCache

from model_backend.checkpoints.loading import load_model
from model_backend.conversation import Conversation, ImageAttachment
from model_backend.demo_checkpoint import demo_checkpoint_path
from model_backend.engines.local import LocalEngine, prefix_reuse_supported
from model_backend.engines.prefix_cache import PREFIX_CACHE_ENV, PrefixCache, default_capacity_mb
from model_backend.settings import GenerationSettings, LoadSpec
from tests.media_factory import make_photo

GREEDY = GenerationSettings(max_new_tokens=12, max_tiles=2)


def kv(length: int, layers: int = 2, fill: float = 0.0) -> DynamicCache:
    """A cache of `length` positions, one head of width 4 per layer (4 * 4 bytes a position and layer)."""
    cache = DynamicCache()
    for layer in range(layers):
        values = (fill + torch.arange(length).float()).view(1, 1, -1, 1).expand(1, 1, length, 4)
        cache.update(values.clone(), values.clone(), layer)
    return cache


def marks(*values: int) -> torch.Tensor:
    return torch.tensor(values)


def test_an_empty_store_gives_a_fresh_cache() -> None:
    taken = PrefixCache().take(marks(1, 2, 3))
    assert taken.reused == 0 and taken.cache.get_seq_length() == 0


def test_a_prompt_that_continues_an_entry_takes_it_out_of_the_store() -> None:
    store, cache = PrefixCache(), kv(3)
    store.put(marks(1, 2, 3), cache)
    taken = store.take(marks(1, 2, 3, 4, 5))
    assert taken.cache is cache and taken.reused == 3
    assert len(store) == 0 and store.used_bytes == 0
    # One generation at a time: a second prompt meanwhile finds nothing to share.
    assert store.take(marks(1, 2, 3, 4, 5)).reused == 0


def test_a_partly_shared_entry_gives_a_copy_and_stays_unchanged() -> None:
    store, cache = PrefixCache(), kv(4)
    store.put(marks(1, 2, 3, 4), cache)
    taken = store.take(marks(1, 2, 9))
    assert taken.reused == 2 and taken.cache is not cache
    assert taken.cache.get_seq_length() == 2
    taken.cache.key_cache[0].fill_(-1.0)  # the generation writes into its own copy...
    assert cache.key_cache[0][0, 0, :, 0].tolist() == [0.0, 1.0, 2.0, 3.0]  # ...not into the kept entry
    assert len(store) == 1


def test_the_last_position_is_always_computed() -> None:
    """A regenerate sends the very prompt that is kept: generating needs the last position's logits."""
    store = PrefixCache()
    store.put(marks(1, 2, 3, 4), kv(4))
    taken = store.take(marks(1, 2, 3, 4))
    assert taken.reused == 3 and taken.cache.get_seq_length() == 3


def test_the_longest_shared_prefix_wins_and_ties_go_to_the_most_recent() -> None:
    store, short, long, recent = PrefixCache(), kv(2), kv(3, fill=10), kv(3, fill=20)
    store.put(marks(1, 2), short)
    store.put(marks(1, 2, 3), long)
    assert store.take(marks(1, 2, 3, 7)).cache is long
    store.put(marks(1, 2, 5), kv(3))
    store.put(marks(1, 2, 6), recent)
    assert store.take(marks(1, 2, 8)).cache.key_cache[0][0, 0, 0, 0] == 20.0


def test_nothing_shared_is_a_miss_that_leaves_every_entry() -> None:
    store = PrefixCache()
    store.put(marks(1, 2), kv(2))
    assert store.take(marks(7, 2, 3)).reused == 0
    assert len(store) == 1


def test_the_store_keeps_its_memory_and_entry_bounds_in_lru_order() -> None:
    per_position = 2 * 2 * 4 * 4  # layers x (key, value) x width x float32 bytes
    store = PrefixCache(capacity_mb=10 * per_position / 1024**2, max_entries=2)
    store.put(marks(1, 1, 1, 1), kv(4))
    store.put(marks(2, 2, 2, 2), kv(4))
    store.put(marks(3, 3, 3, 3), kv(4))  # a third entry: over the count, the oldest goes
    assert store.take(marks(1, 1, 1, 1, 0)).reused == 0
    assert store.used_bytes == 8 * per_position
    store.put(marks(4, 4, 4, 4, 4, 4), kv(6))  # 14 positions > 10: the oldest goes again
    assert store.take(marks(2, 2, 2, 2, 0)).reused == 0
    assert store.used_bytes == 10 * per_position
    store.put(
        marks(
            5,
        )
        * 11,
        kv(11),
    )  # larger than the whole bound: not kept, nothing evicted
    assert len(store) == 2


def test_a_cache_with_unlabelled_positions_is_not_kept() -> None:
    store = PrefixCache()
    store.put(marks(1, 2), kv(3))
    assert len(store) == 0


def test_the_bound_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(PREFIX_CACHE_ENV, "0")
    assert default_capacity_mb() == 0 and not PrefixCache(default_capacity_mb()).enabled
    monkeypatch.setenv(PREFIX_CACHE_ENV, "lots")
    with pytest.raises(ValueError, match=PREFIX_CACHE_ENV):
        default_capacity_mb()


# -- the engine on the demo checkpoint ------------------------------------------------------------


@pytest.fixture(scope="module")
def loaded():
    return load_model(LoadSpec("demo", dtype="float32", device="cpu"))


def answer(engine: LocalEngine, conversation: Conversation, settings: GenerationSettings = GREEDY):
    streamed = engine.stream(conversation, settings, threading.Event())
    text = streamed.text()
    conversation.turns[-1].answer = text
    return text, streamed.stats.stages


def test_a_follow_up_prefills_only_what_follows_the_first_prompt(loaded) -> None:
    engine, plain = LocalEngine(loaded), LocalEngine(loaded, prefix_cache_mb=0)
    photo = ImageAttachment(make_photo(640, 480))
    results = {}
    for name, each in (("cached", engine), ("plain", plain)):
        conversation = Conversation()
        conversation.ask("Describe the image.", images=(photo,))
        first = answer(each, conversation)
        conversation.ask("What colour is it?")
        results[name] = (first, answer(each, conversation))
    (first, follow_up), (plain_first, plain_follow_up) = results["cached"], results["plain"]
    assert (first[0], follow_up[0]) == (plain_first[0], plain_follow_up[0])
    assert first[1]["reused_tokens"] == 0
    prompt_tokens = first[1]["prefill_tokens"]
    assert follow_up[1]["reused_tokens"] >= prompt_tokens, "the whole first prompt (image included) is kept"
    total = plain_follow_up[1]["prefill_tokens"]
    assert follow_up[1]["prefill_tokens"] + follow_up[1]["reused_tokens"] == total
    assert plain_follow_up[1]["reused_tokens"] == 0


def test_another_image_with_the_same_tokens_is_not_reused(loaded) -> None:
    """Every image position has the same token id: only the image's own mark tells them apart."""
    engine = LocalEngine(loaded)
    question = "Describe the image."
    first = Conversation()
    first.ask(question, images=(ImageAttachment(make_photo(640, 480, seed=1)),))
    prompt = engine.prepare(first, GREEDY)
    image_starts = int((prompt.input_ids[0] == engine._img_context_id).nonzero()[0])
    answer(engine, first)
    second = Conversation()
    second.ask(question, images=(ImageAttachment(make_photo(640, 480, seed=2)),))
    text, stages = answer(engine, second)
    assert stages["reused_tokens"] == image_starts, "reused beyond the text before the image"
    fresh = Conversation()
    fresh.ask(question, images=(ImageAttachment(make_photo(640, 480, seed=2)),))
    assert answer(LocalEngine(loaded, prefix_cache_mb=0), fresh)[0] == text


def test_another_system_prompt_misses_the_cache(loaded) -> None:
    engine = LocalEngine(loaded)
    conversation = Conversation()
    conversation.ask("Tell me about lighthouses.")
    answer(engine, conversation)
    conversation.ask("And about harbours?")
    terse = GenerationSettings(max_new_tokens=12, system_prompt="You answer in one word.")
    text, stages = answer(engine, conversation, terse)
    system_starts = len(loaded.tokenizer("<|im_start|>system\n")["input_ids"])
    assert stages["reused_tokens"] <= system_starts
    fresh = Conversation()
    fresh.ask("Tell me about lighthouses.")
    plain = LocalEngine(loaded, prefix_cache_mb=0)
    answer(plain, fresh)
    fresh.ask("And about harbours?")
    assert answer(plain, fresh, terse)[0] == text


def test_the_generation_setting_turns_reuse_off(loaded) -> None:
    engine = LocalEngine(loaded)
    exact = GenerationSettings(max_new_tokens=12, reuse_prefix=False)
    conversation = Conversation()
    conversation.ask("Tell me about lighthouses.")
    answer(engine, conversation)
    conversation.ask("And about harbours?")
    prompt_tokens = engine.prepare(conversation, exact).tokens
    _, stages = answer(engine, conversation, exact)
    assert stages["reused_tokens"] == 0
    assert stages["prefill_tokens"] == prompt_tokens


def test_a_stopped_answer_leaves_a_cache_the_next_turn_can_use(loaded) -> None:
    engine, plain = LocalEngine(loaded), LocalEngine(loaded, prefix_cache_mb=0)
    texts = []
    for each in (engine, plain):
        conversation = Conversation()
        conversation.ask("Tell me a long story.")
        stop = threading.Event()
        pieces = []
        for piece in each.stream(conversation, GenerationSettings(max_new_tokens=40), stop):
            pieces.append(piece)
            stop.set()  # stop after the first piece, as the Stop button does
        conversation.turns[-1].answer = "".join(pieces)
        conversation.ask("Go on.")
        texts.append(answer(each, conversation))
    assert texts[0][0] == texts[1][0]
    assert texts[0][1]["reused_tokens"] > 0


@pytest.mark.parametrize("family", ["internlm2", "phi3"])
def test_llm_classes_that_cannot_prefill_after_a_cache_keep_it_off(family: str) -> None:
    family_loaded = load_model(LoadSpec(str(demo_checkpoint_path(family)), dtype="float32", device="cpu"))
    assert not prefix_reuse_supported(family_loaded.model)
    assert not LocalEngine(family_loaded).prefix_cache.enabled
